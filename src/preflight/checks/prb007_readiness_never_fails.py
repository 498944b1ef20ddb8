"""PRB007 readiness-never-fails: the readiness handler swallows the database error."""

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
        if route is None or route.handler is None:
            continue
        handler = route.handler
        if not handler.catches or handler.mentions_failure_status:
            continue
        if reaches_database(handler, route.module, project.python) is not True:
            continue
        yield ctx.report(
            f"`{handler.name}` (the readiness endpoint `{probe.path}`) catches the database error "
            "and still answers 200: Kubernetes never takes the pod out of rotation.",
            handler.span,
            (Related(probe.path_span or probe.span, "the readinessProbe"),),
            "In the except branch, raise `HTTPException(status_code=503)` or return a response "
            "with `status_code=503`.",
            headline=f"Readiness endpoint `{probe.path}` never fails",
        )


RULE = Rule(
    code="PRB007",
    name="readiness-never-fails",
    severity=Severity.WARNING,
    summary="The readiness handler catches the database error and still answers 2xx.",
    check=check,
)
