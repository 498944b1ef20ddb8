"""DB008 asyncio-extra-missing: SQLAlchemy's asyncio extension without greenlet installed."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks._fixes import add_extra
from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.graph import Deployment
from preflight.spans import Related

# SQLAlchemy extras that pull in greenlet.
_GREENLET_EXTRAS = frozenset(
    {
        "asyncio",
        "postgresql-asyncpg",
        "aiosqlite",
        "aiomysql",
        "asyncmy",
        "postgresql-psycopgbinary",
        "aioodbc",
        "postgresql-psycopg",
    }
)


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    project = graph.files
    db = project.databases
    if db is None:
        return
    for path, module in sorted(project.python.items()):
        span = module.asyncio_extension or next(
            (e.span for e in module.engines if e.factory == "create_async_engine"), None
        )
        if span is None:
            continue
        deps = db.dependencies_of(path)
        if deps is None:
            continue
        names = deps.names()
        if "greenlet" in names or any(
            r.name == "sqlalchemy" and r.extras & _GREENLET_EXTRAS for r in deps.requirements
        ):
            continue
        if "greenlet" in deps.locked:
            ctx.silent(span, "the lock file installs greenlet (an extra or another package)")
            continue
        locked = deps.locked.get("sqlalchemy")
        declared = [r for r in deps.requirements if r.name == "sqlalchemy"]
        if locked is not None:
            if deps.sqlalchemy_minors() != frozenset({"2.1"}):
                continue
            version = f"the lock file's SQLAlchemy {locked}"
        elif declared and deps.sqlalchemy_minors() == frozenset({"2.1"}):
            version = f"`{declared[0].raw}` (SQLAlchemy 2.1 or later)"
        elif declared and "2.1" in deps.sqlalchemy_minors():
            version = f"`{declared[0].raw}` (a fresh build installs SQLAlchemy 2.1 or later)"
        elif declared:
            ctx.silent(span, "SQLAlchemy is held below 2.1, which still installs greenlet")
            continue
        else:
            ctx.silent(span, "another package sets the SQLAlchemy version; 2.0 installs greenlet")
            continue
        yield ctx.report(
            f"{path} uses SQLAlchemy's asyncio extension, but {deps.declared_in} installs neither "
            f"`sqlalchemy[asyncio]` nor `greenlet`; with {version} the import fails at start-up: "
            "`The SQLAlchemy asyncio module requires that the Python 'greenlet' library is "
            "installed`.",
            span,
            (Related(deps.span, "the runtime dependencies"),),
            f"Declare `sqlalchemy[asyncio]` in {deps.declared_in}.",
            headline="`greenlet` (`sqlalchemy[asyncio]`) is not installed",
            autofix=add_extra(declared[0].raw, declared[0].span, "asyncio", bool(deps.locked))
            if declared
            else None,
        )


RULE = Rule(
    code="DB008",
    name="asyncio-extra-missing",
    severity=Severity.ERROR,
    summary="SQLAlchemy's asyncio extension is used without `sqlalchemy[asyncio]` or greenlet.",
    check=check,
)
