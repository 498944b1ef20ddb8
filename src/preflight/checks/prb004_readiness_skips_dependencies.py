"""PRB004 readiness-skips-dependencies: the readiness handler never touches the database."""

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
    for serving, probe in _probes.probes(graph, "readinessProbe"):
        route = _probes.route_for(serving.app, probe)
        if route is None or route.handler is None or not _probes.uses_database(graph, serving.app):
            continue
        reach = reaches_database(route.handler, route.module, project.python)
        if reach is not False:
            if reach is None:
                ctx.silent(
                    route.span, f"cannot tell whether `{route.handler.name}` reaches the database"
                )
            continue
        yield ctx.report(
            f"The readinessProbe of {serving.label} calls `GET {probe.path}`, whose handler "
            f"`{route.handler.name}` never reaches the database the service uses: pods stay ready "
            "while the database is down.",
            probe.path_span or probe.span,
            (
                Related(route.handler.span, f"`{route.handler.name}` checks nothing"),
                *(_probes.database_evidence(graph, serving.app) if serving.app else ()),
            ),
            "Run `SELECT 1` (or the pool's ping) in the readiness handler and answer 503 when it "
            "fails.",
            headline=f"readinessProbe `{probe.path}` never checks the database",
        )


RULE = Rule(
    code="PRB004",
    name="readiness-skips-dependencies",
    severity=Severity.WARNING,
    summary="The readiness handler never reaches the database the service uses.",
    check=check,
)
