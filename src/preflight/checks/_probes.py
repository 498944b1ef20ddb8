"""What the probe rules share: containers, their probes, the routes those probes reach."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from preflight.model.apps import App, Route, reaches_database
from preflight.model.databases import DatabaseUse
from preflight.model.facts import Probe
from preflight.model.graph import ContainerNode, Deployment
from preflight.spans import Related

# Distributions through which a Python service talks to a network database (normalised names).
# Not aiosqlite: an SQLite file is not a dependency that can be down while the pod runs.
DATABASE_CLIENTS = frozenset(
    {
        "sqlalchemy",
        "sqlmodel",
        "psycopg",
        "psycopg2",
        "psycopg2-binary",
        "asyncpg",
        "pymysql",
        "mysqlclient",
        "aiomysql",
        "asyncmy",
        "pymongo",
        "motor",
        "beanie",
        "tortoise-orm",
        "peewee",
        "pony",
        "databases",
        "django",
        "flask-sqlalchemy",
        "mongoengine",
        "odmantic",
        "piccolo",
        "ormar",
        "edgedb",
        "cassandra-driver",
        "oracledb",
        "cx-oracle",
        "pyodbc",
        "aioodbc",
    }
)
SERVING_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet"})
READY_PATHS = ("/ready", "/readyz", "/health/ready", "/healthz/ready")


def probes(graph: Deployment, kind: str) -> Iterator[tuple[ContainerNode, Probe]]:
    for serving in graph.containers:
        for probe in serving.run.container.probes:
            if probe.kind == kind:
                yield serving, probe


def route_for(app: App | None, probe: Probe) -> Route | None:
    if app is None or probe.handler != "httpGet" or probe.path is None:
        return None
    return app.serves(probe.path)


def uses_database(graph: Deployment, app: App | None = None) -> bool:
    """The service the app belongs to creates an engine for a network database, or one of its
    routes reaches one.

    An engine counts only when it belongs to the same service as the app: the same governing
    pyproject/requirements (or, without one, the same top-level directory). A monorepo's
    load-test mock does not use the main backend's database. An engine whose every known URL is
    SQLite (`sqlite:///./app.db`) does not count: a file is not a dependency that goes down.
    """
    db = graph.databases
    if app is None:
        return db is not None and any(not _local_only(use) for use in db.uses)
    if _network_uses(graph, app):
        return True
    if graph.service_root(app.module) in graph.database_roots:
        return False  # its engines are SQLite only
    # Without an engine of its own, a handler that looks like it reaches a database counts only
    # when the service installs a database client: a service with none has nothing to check.
    dependencies = graph.files.dependencies.get(app.module)
    if dependencies is None or not dependencies.names() & DATABASE_CLIENTS:
        return False
    return any(
        route.handler is not None
        and reaches_database(route.handler, route.module, graph.files.python) is True
        for route in app.routes
    )


def _network_uses(graph: Deployment, app: App) -> list[DatabaseUse]:
    db = graph.databases
    if db is None:
        return []
    root = graph.service_root(app.module)
    return [
        use for use in db.uses if graph.service_root(use.module) == root and not _local_only(use)
    ]


def _local_only(use: DatabaseUse) -> bool:
    """Every URL the engine is known to get is SQLite (unknown URLs count as a network)."""
    return bool(use.urls) and all(url.url.dialect == "sqlite" for url in use.urls)


# A segment of a health endpoint's path (`/health`, `/api/healthz/db`, `/ping`).
HEALTH_WORDS = frozenset(
    {
        "health",
        "healthz",
        "healthcheck",
        "health-check",
        "health_check",
        "status",
        "ping",
        "heartbeat",
        "live",
        "livez",
        "liveness",
        "alive",
        "ready",
        "readyz",
        "readiness",
    }
)


def checks_database(route: Route, graph: Deployment) -> bool:
    """A health endpoint whose handler reaches the database and fails when it is down (it does
    not catch the error, or it answers a failure status): a readiness endpoint by what it does,
    whatever its name says (`/health` running `SELECT 1`). A business route that queries the
    database (`/products`) is not a health endpoint."""
    handler = route.handler
    if handler is None or "GET" not in route.methods:
        return False
    if not any(part.lower() in HEALTH_WORDS for part in route.path.split("/")):
        return False
    if reaches_database(handler, route.module, graph.files.python) is not True:
        return False
    return not handler.catches or handler.mentions_failure_status


def database_evidence(graph: Deployment, app: App) -> tuple[Related, ...]:
    """Where the service shows it uses a database, for the message's claim to be checkable:
    the engine it creates, or else the first route whose handler talks to one
    (`psycopg2.connect(...)`, `mysql.connection.cursor()`), which is what made
    :func:`uses_database` say so (issue 16: every such claim relates its proof)."""
    for use in _network_uses(graph, app):
        return (Related(use.engine.span, f"`{use.engine.factory}`: the database it uses"),)
    if graph.service_root(app.module) in graph.database_roots:
        return ()  # its engines are SQLite only: no claim is made
    for route in app.routes:
        handler = route.handler
        if handler is not None and reaches_database(handler, route.module, graph.files.python):
            return (
                Related(
                    handler.span,
                    f"`{handler.name}` (`{route.path}`) talks to the database the service uses",
                ),
            )
    return ()


def suggestions(app: App, path: str) -> list[str]:
    # the framework's own documentation routes are never what a probe meant
    gets = sorted({r.path for r in app.routes if "GET" in r.methods and not r.builtin})
    last = path.rstrip("/").rsplit("/", 1)[-1]
    same_end = [p for p in gets if last and p.rstrip("/").rsplit("/", 1)[-1] == last]
    close = difflib.get_close_matches(path, gets, n=3, cutoff=0.5)
    return list(dict.fromkeys([*same_end, *close]))[:3]
