"""DB005 postgres-scheme: a `postgres://` URL reaches SQLAlchemy, which no longer loads it."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks import _db
from preflight.checks.rule import Rule
from preflight.findings import Applicability, Autofix, Edit, Finding, RuleContext, Severity
from preflight.model.graph import Deployment
from preflight.spans import Span


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
            autofix=_rewrite(url.source.value, url.source.span),
        )


def _rewrite(value: str, span: Span) -> Autofix | None:
    """`postgres://` → `postgresql://` (and `postgres+driver://` → `postgresql+driver://`)
    where the URL is written on the line of its source (an env file, a Secret's stringData, a
    default): safe, the scheme SQLAlchemy documents for the same database. A base64 `data`
    value is not written there, and gets no fix."""
    scheme = value.strip().strip("'\"").split("://", 1)[0]
    if "://" not in value or not scheme.startswith("postgres") or scheme.startswith("postgresql"):
        return None
    written = scheme + "://"
    return Autofix(
        Applicability.SAFE,
        f"Write `postgresql{written[len('postgres') :]}`",
        (Edit.replace_text(span.path, span.line, span.col, written, "postgresql" + written[8:]),),
    )


RULE = Rule(
    code="DB005",
    name="postgres-scheme",
    severity=Severity.ERROR,
    summary="A `postgres://` URL reaches SQLAlchemy, which rejects that scheme.",
    check=check,
)
