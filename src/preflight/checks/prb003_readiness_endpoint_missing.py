"""PRB003 readiness-endpoint-missing: a service with a database and no readiness endpoint."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks import _probes
from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.apps import App
from preflight.model.graph import Deployment


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    probed: dict[tuple[str, str], bool] = {}  # app -> some readiness probe reaches a route
    for serving in graph.containers:
        if serving.app is None:
            continue
        key = (serving.app.module, serving.app.name)
        probe = serving.run.container.probe("readinessProbe")
        reached = probe is not None and _probes.route_for(serving.app, probe) is not None
        probed[key] = probed.get(key, False) or reached
    for app, _launch in ((launched.app, launched.span) for launched in graph.launched):
        if not app.complete or not _probes.uses_database(graph, app):
            continue
        if (app.module, app.name) not in probed:
            # readiness gates a pod's traffic: with no Kubernetes workload running the app
            # (compose, a Procfile, Heroku) nothing would probe the endpoint
            ctx.silent(app.span, f"`{app.name}` in {app.module}: no Kubernetes workload runs it")
            continue
        if probed.get((app.module, app.name)) or _has_ready_route(app):
            continue  # a probe that misses it is PRB001/PRB002's finding, not this one
        checking = next((r for r in app.routes if _probes.checks_database(r, graph)), None)
        if checking is not None:  # `/health` that runs `SELECT 1` and fails: readiness by deed
            ctx.silent(
                checking.span, f"`{checking.path}` checks the database: a readiness endpoint"
            )
            continue
        where = f"none of {', '.join(_probes.READY_PATHS)}, under any prefix"
        yield ctx.report(
            f"The app `{app.name}` in {app.module} uses a database but has no readiness endpoint "
            f"({where}): pods count as ready while the database is unreachable, and requests fail.",
            app.span,
            _probes.database_evidence(graph, app),
            fix="Add `GET /ready` that runs `SELECT 1` and answers 503 when it fails, and point "
            "the readinessProbe at it.",
            headline=f"App `{app.name}` uses a database but has no readiness endpoint",
        )


def _has_ready_route(app: App) -> bool:
    for route in app.routes:
        path = route.path.rstrip("/")
        if "GET" in route.methods and any(path.endswith(ready) for ready in _probes.READY_PATHS):
            return True
    return False


RULE = Rule(
    code="PRB003",
    name="readiness-endpoint-missing",
    severity=Severity.ERROR,
    summary="A service that uses a database has no readiness endpoint that probes target.",
    check=check,
)
