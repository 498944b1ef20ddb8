"""DB005 postgres-scheme: a `postgres://` URL reaches SQLAlchemy, which no longer loads it."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks import _db
from preflight.checks.rule import Rule
from preflight.findings import Applicability, Autofix, Edit, Finding, RuleContext, Severity
from preflight.model.databases import DatabaseModel, DatabaseUse, EffectiveUrl
from preflight.model.graph import Deployment
from preflight.model.urls import LIBPQ_ONLY_PARAMS
from preflight.spans import Span


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    for db, use, url in _db.urls(graph):
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
            autofix=_autofix(db, use, url),
        )


def _autofix(db: DatabaseModel, use: DatabaseUse, url: EffectiveUrl) -> Autofix | None:
    """The scheme rewritten where the URL is written (safe); where it cannot be (a base64
    value), or where that would hand asyncpg the URL's libpq parameters (`sslmode`, which the
    platform's URL carries too), the conversion added to the settings class's validator
    instead (unsafe), when the URL comes through one."""
    driver = _driver(db, use)
    literal = _rewrite(url.source.value, url.source.span, driver)
    libpq = any(name in LIBPQ_ONLY_PARAMS for name in url.original.param_names())
    exposed = driver is not None and driver.endswith("asyncpg") and libpq
    if driver is not None and (literal is None or (exposed and not url.params_handled)):
        return _db.settings_validator(db, use, url, driver) or literal
    return literal


def _driver(db: DatabaseModel, use: DatabaseUse) -> str | None:
    """The scheme that loads a driver the service installs, for a URL that names none:
    `postgresql+asyncpg` for an async engine with asyncpg, `postgresql` for a sync one with
    psycopg2 (SQLAlchemy's default), `postgresql+psycopg` with psycopg 3; None when the
    dependencies do not say (then the URL is not rewritten: the engine would fail on another
    error, DB004's)."""
    deps = db.dependencies_of(use.module)
    names = deps.names() if deps is not None else set()
    order: tuple[tuple[str, str], ...]
    if "async" in use.engine.factory:
        order = (("asyncpg", "postgresql+asyncpg"), ("psycopg", "postgresql+psycopg"))
    else:
        order = (
            ("psycopg2", "postgresql"),
            ("psycopg2-binary", "postgresql"),
            ("psycopg", "postgresql+psycopg"),
        )
    return next((scheme for name, scheme in order if name in names), None)


def _rewrite(value: str, span: Span, driver: str | None) -> Autofix | None:
    """`postgres://` → the scheme with the driver the service installs (`postgresql://`,
    `postgresql+asyncpg://`), and `postgres+driver://` → `postgresql+driver://`, where the URL
    is written on the line of its source (an env file, a Secret's stringData, a default): safe,
    the scheme SQLAlchemy documents for the same database and driver. A base64 `data` value is
    not written there, and gets no fix."""
    scheme = value.strip().strip("'\"").split("://", 1)[0]
    if "://" not in value or not scheme.startswith("postgres") or scheme.startswith("postgresql"):
        return None
    if "+" in scheme:
        new = "postgresql" + scheme[len("postgres") :]
    elif driver is not None:
        new = driver
    else:
        return None
    return Autofix(
        Applicability.SAFE,
        f"Write `{new}://`",
        (Edit.replace_text(span.path, span.line, span.col, scheme + "://", new + "://"),),
    )


RULE = Rule(
    code="DB005",
    name="postgres-scheme",
    severity=Severity.ERROR,
    summary="A `postgres://` URL reaches SQLAlchemy, which rejects that scheme.",
    check=check,
)
