"""What the database rules share: which URLs reach which engine, under which SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.model.databases import DatabaseModel, DatabaseUse, EffectiveUrl
from preflight.model.graph import Deployment
from preflight.model.urls import effective_drivers
from preflight.spans import Related, Span

ASGI_MODULES = ("fastapi", "starlette", "quart", "litestar", "sanic", "aiohttp")


def is_async_service(graph: Deployment) -> bool:
    """It serves an ASGI app or creates an async engine."""
    for module in graph.files.python.values():
        if any(b.module.split(".")[0] in ASGI_MODULES for b in module.imports):
            return True
        if any(e.factory == "create_async_engine" for e in module.engines):
            return True
    return False


def is_neon(graph: Deployment, url: EffectiveUrl) -> bool:
    return url.url.is_neon or graph.config.database_platform == "neon"


def sqlalchemy_minors(db: DatabaseModel, use: DatabaseUse) -> frozenset[str]:
    """The SQLAlchemy line(s) a fresh build installs: the lock's, else the newest the declared
    constraint admits; both when SQLAlchemy is not declared (another package decides)."""
    deps = db.dependencies_of(use.module)
    if deps is None:
        return frozenset({"2.0", "2.1"})
    minors = deps.sqlalchemy_minors()
    if "sqlalchemy" in deps.locked:
        return minors
    if any(r.name == "sqlalchemy" for r in deps.requirements):
        return frozenset({"2.1"}) if "2.1" in minors else minors
    return frozenset({"2.0", "2.1"})


def drivers(db: DatabaseModel, use: DatabaseUse, url: EffectiveUrl) -> frozenset[str]:
    return effective_drivers(
        url.url, sqlalchemy_minors(db, use), use.engine.factory == "create_async_engine"
    )


def urls(graph: Deployment) -> Iterator[tuple[DatabaseModel, DatabaseUse, EffectiveUrl]]:
    db = graph.databases
    if db is None:
        return
    for use in db.uses:
        for url in use.urls:
            yield db, use, url


def where(url: EffectiveUrl, use: DatabaseUse) -> str:
    name = url.source.name or "the URL"
    return f"`{name}` ({url.source.where})" if url.source.name else url.source.where


def related(
    use: DatabaseUse, url: EffectiveUrl, engine_note: str | None = None
) -> tuple[Related, ...]:
    out = [Related(span, note) for span, note in url.rewrite_spans]
    note = engine_note or f"`{use.engine.factory}` receives this URL"
    out.append(Related(use.engine.span, note))
    return tuple(out)


def engine_span(use: DatabaseUse) -> Span:
    return use.engine.url.span if use.engine.url is not None else use.engine.span
