"""DB001 sync-driver-for-neon: an async service reaches Neon through a synchronous driver."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks import _db
from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.graph import Deployment
from preflight.model.urls import is_async_driver


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    project = graph.files
    if project.databases is None or not _db.is_async_service(graph):
        return
    for db, use, url in _db.urls(graph):
        if not _db.is_neon(graph, url) or use.engine.factory != "create_engine":
            continue
        drivers = _db.drivers(db, use, url)
        if not drivers or any(is_async_driver(d) for d in drivers):
            continue
        driver = " / ".join(sorted(drivers))
        yield ctx.report(
            f"{_db.where(url, use)} points at Neon, and `create_engine` opens it with the "
            f"synchronous driver {driver} in an async service: queries made from `async def` "
            "code block the event loop for as long as Neon takes to wake the compute.",
            url.source.span,
            _db.related(use, url, "the synchronous engine is created here"),
            "Use `postgresql+asyncpg://…` with `create_async_engine`, and add `asyncpg` to the "
            "runtime dependencies.",
            headline=f"Sync driver {driver} for Neon in an async service",
        )


RULE = Rule(
    code="DB001",
    name="sync-driver-for-neon",
    severity=Severity.ERROR,
    summary="An async service reaches Neon serverless Postgres through a synchronous driver.",
    check=check,
)
