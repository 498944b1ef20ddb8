"""DB007 blocking-db-call-in-async: a sync engine or Session used inside `async def`."""

from __future__ import annotations

import re
from collections.abc import Iterator

from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.databases import resolve_import
from preflight.model.facts import BlockingCall, PythonModule
from preflight.model.graph import Deployment
from preflight.model.project import Project

_SYNC_SESSION_MODULES = (
    "sqlmodel",
    "sqlalchemy.orm",
    "sqlmodel.orm.session",
    "sqlalchemy.orm.session",
)
_ENGINE_METHODS = frozenset({"connect", "begin", "execute", "raw_connection"})


def _sync_engines(path: str, module: PythonModule, project: Project) -> dict[str, str]:
    """Local names bound to a sync engine -> where it is created."""
    out = {
        e.target: f"{path}:{e.span.line}"
        for e in module.engines
        if e.factory == "create_engine" and e.target
    }
    for binding in module.imports:
        if binding.name is None:
            continue
        target = resolve_import(binding, path, project.python)
        other = project.python.get(target) if target else None
        if other is None:
            continue
        for engine in other.engines:
            if engine.factory == "create_engine" and engine.target == binding.name:
                out[binding.local] = f"{target}:{engine.span.line}"
    return out


def _imports_sync_session(module: PythonModule) -> bool:
    return any(
        b.name == "Session" and b.module in _SYNC_SESSION_MODULES and b.local == "Session"
        for b in module.imports
    )


def _why(call: BlockingCall, engines: dict[str, str], sync_session: bool) -> str | None:
    if call.method in _ENGINE_METHODS and call.receiver in engines:
        where = engines[call.receiver]
        return f"`{call.receiver}.{call.method}()` on the sync engine created at {where}"
    if call.method == "" and call.receiver == "Session" and sync_session:
        return "a sync `Session`"
    annotation = call.receiver_annotation or ""
    if (
        call.method
        and sync_session
        and re.search(r"(?<![\w.])Session\b", annotation)
        and "AsyncSession" not in annotation
    ):
        return f"`{call.receiver}.{call.method}()` on a sync `Session`"
    return None


def _sqlite_only(graph: Deployment, path: str) -> str | None:
    """ "an SQLite file" when every engine of the module's service gets only SQLite URLs."""
    db = graph.databases
    if db is None:
        return None
    root = graph.service_root(path)
    uses = [u for u in db.uses if graph.service_root(u.module) == root]
    if uses and all(u.urls and all(url.url.dialect == "sqlite" for url in u.urls) for u in uses):
        return "an SQLite file"
    return None


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    project = graph.files
    for path, module in sorted(project.python.items()):
        if not module.blocking:
            continue
        engines = _sync_engines(path, module, project)
        sync_session = _imports_sync_session(module)
        local = _sqlite_only(graph, path)
        if local is not None:
            # a call answered from a local file, not a network round trip: the loop stalls for
            # the file's I/O (as PRB003/PRB004 do not count SQLite as a dependency)
            ctx.silent(module.blocking[0].span, f"{path}: the service's database is {local}")
            continue
        seen: set[tuple[str, str]] = set()
        for call in module.blocking:
            why = _why(call, engines, sync_session)
            if why is None or (call.function, call.receiver) in seen:
                continue
            seen.add((call.function, call.receiver))
            yield ctx.report(
                f"`async def {call.function}` makes a blocking database call: {why}. It stalls "
                "the event loop, and every other request on this worker waits.",
                call.span,
                fix="Use `create_async_engine` with `AsyncSession` and `await` the calls, or make "
                f"`{call.function}` a plain `def` so FastAPI runs it in a thread.",
                headline=f"Blocking database call in `async def {call.function}`",
            )


RULE = Rule(
    code="DB007",
    name="blocking-db-call-in-async",
    severity=Severity.WARNING,
    summary="A sync engine or Session is used inside `async def`, blocking the event loop.",
    check=check,
)
