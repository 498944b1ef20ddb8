"""DB005 postgres-scheme: a `postgres://` URL reaches SQLAlchemy, which no longer loads it."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks import _db
from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.graph import Deployment


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    for _db_model, use, url in _db.urls(graph):
        if url.url.dialect != "postgres":
            continue
        yield ctx.report(
            f"{_db.where(url, use)} uses the `postgres://` scheme and reaches "
            f"`{use.engine.factory}` "
            "unchanged; SQLAlchemy 1.4+ fails with `NoSuchModuleError: Can't load plugin: "
            "sqlalchemy.dialects:postgres`.",
            url.source.span,
            _db.related(use, url),
            "Write `postgresql://` (with the driver, e.g. `postgresql+asyncpg://`), or rewrite "
            "the scheme in the settings validator before the engine is created.",
            headline="SQLAlchemy rejects the `postgres://` scheme",
        )


RULE = Rule(
    code="DB005",
    name="postgres-scheme",
    severity=Severity.ERROR,
    summary="A `postgres://` URL reaches SQLAlchemy, which rejects that scheme.",
    check=check,
)
