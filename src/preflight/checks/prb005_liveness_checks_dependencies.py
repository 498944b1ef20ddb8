"""PRB005 liveness-checks-dependencies: the liveness probe's handler reaches the database."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks import _probes
from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.apps import reaches_database
from preflight.model.graph import Deployment
from preflight.spans import Related


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    project = graph.files
    for serving, probe in _probes.probes(graph, "livenessProbe"):
        route = _probes.route_for(serving.app, probe)
        if route is None or route.handler is None:
            continue
        if reaches_database(route.handler, route.module, project.python) is not True:
            continue
        if not _probes.uses_database(graph, serving.app):
            # a SQLite file in each pod, or no database client at all: nothing shared that
            # can go down for every pod at once
            ctx.silent(
                probe.path_span or probe.span,
                f"{serving.label}: its service uses no network database",
            )
            continue
        yield ctx.report(
            f"The livenessProbe of {serving.label} calls `GET {probe.path}`, whose handler "
            f"`{route.handler.name}` reaches the database: when the database is down, every pod "
            "fails liveness and Kubernetes restarts them all at once.",
            probe.path_span or probe.span,
            (Related(route.handler.span, f"`{route.handler.name}` touches the database"),),
            "Point the livenessProbe at an endpoint that checks only the process (e.g. `/health` "
            "returning 200), and keep the database check in the readinessProbe.",
            headline=f"livenessProbe `{probe.path}` checks the database",
        )


RULE = Rule(
    code="PRB005",
    name="liveness-checks-dependencies",
    severity=Severity.WARNING,
    summary="The livenessProbe's handler reaches the database, so an outage restarts every pod.",
    check=check,
)
