"""DB003 engine-driver-mismatch: an async engine on a sync driver, or the reverse."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks import _db
from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.databases import EffectiveUrl
from preflight.model.graph import Deployment
from preflight.model.urls import is_async_driver
from preflight.spans import Related


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    reported: set[tuple[int, frozenset[str]]] = set()  # one finding per engine and driver
    for db, use, url in _db.urls(graph):
        drivers = _db.drivers(db, use, url)
        if not drivers or (id(use), drivers) in reported:
            continue
        factory = use.engine.factory
        if factory == "create_async_engine" and not any(is_async_driver(d) for d in drivers):
            error = "`InvalidRequestError: The asyncio extension requires an async driver`"
            fix = "Use an async driver in the URL (`postgresql+asyncpg://`, `sqlite+aiosqlite://`)."
        elif factory == "create_engine" and all(is_async_driver(d) for d in drivers):
            error = "an error on first use: an async driver cannot run under a sync engine"
            fix = "Use `create_async_engine` for this URL, or a sync driver with `create_engine`."
        else:
            continue
        reported.add((id(use), drivers))
        driver = " / ".join(sorted(drivers))
        yield ctx.report(
            f"`{factory}` receives {_db.where(url, use)}, which loads the driver {driver}; "
            f"SQLAlchemy fails with {error}.",
            _db.engine_span(use),
            (
                *(r for r in _db.related(use, url) if r.span != use.engine.span),
                _related_source(url),
            ),
            fix,
            headline=f"`{factory}` gets the {'async' if factory == 'create_engine' else 'sync'} "
            f"driver {driver}",
        )


def _related_source(url: EffectiveUrl) -> Related:
    return Related(url.source.span, f"the URL comes from here ({url.url.display()})")


RULE = Rule(
    code="DB003",
    name="engine-driver-mismatch",
    severity=Severity.ERROR,
    summary="`create_async_engine` gets a sync driver URL, or `create_engine` an async one.",
    check=check,
)
