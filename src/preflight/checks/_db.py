"""What the database rules share: which URLs reach which engine, under which SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.findings import Applicability, Autofix, Edit
from preflight.model.databases import DatabaseModel, DatabaseUse, EffectiveUrl
from preflight.model.graph import Deployment
from preflight.model.urls import LIBPQ_ONLY_PARAMS, effective_drivers
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


# The libpq parameters the validator `settings_validator` writes translates for asyncpg.
_TRANSLATED = frozenset({"sslmode", "channel_binding"})
_SSL_MODES = frozenset({"disable", "allow", "prefer", "require", "verify-ca", "verify-full"})


def settings_validator(
    db: DatabaseModel, use: DatabaseUse, url: EffectiveUrl, scheme: str
) -> Autofix | None:
    """Where the URL comes from the environment through a field of a settings class: a
    pydantic v2 `field_validator` added to that class (a libcst codemod) that rewrites
    `postgres://` to ``scheme`` and, for asyncpg, `sslmode=` to `ssl=` without
    `channel_binding`. Unsafe: code a person should read. None unless the class and field are
    the one pair every URL of the engine comes through, the class is pydantic v2 style (v1 is
    ENV007's), and, for asyncpg, every such URL's libpq parameters are ones it translates."""
    import json

    via = url.settings_field
    if via is None or {u.settings_field for u in use.urls if u.settings_field} != {via}:
        return None
    path, class_name, field_name = via
    classes = [c for p, c in db.settings if p == path and c.name == class_name]
    if len(classes) != 1:
        return None
    settings = classes[0]
    if (
        settings.v1_import is not None
        or settings.pydantic_v1_validators
        or any(base.startswith("pydantic.") for base in settings.bases)
    ):
        return None
    if scheme.endswith("asyncpg"):
        for other in use.urls:
            names = {name for name in other.original.param_names() if name in LIBPQ_ONLY_PARAMS}
            modes = {value for name, value in other.original.query if name == "sslmode"}
            if not names <= _TRANSLATED or not modes <= _SSL_MODES:
                return None
    argument = json.dumps({"class": class_name, "field": field_name, "scheme": scheme})
    return Autofix(
        Applicability.UNSAFE,
        f"Rewrite the URL in a validator of `{class_name}.{field_name}` ({path})",
        (Edit.python_codemod(path, "database-url-validator", argument),),
    )
