"""PRB001 readiness-probe-missing: a serving container without a readinessProbe."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks import _probes
from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.graph import Deployment


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    for serving in graph.containers:
        run = serving.run
        if run.workload.kind not in _probes.SERVING_KINDS:
            continue
        container = run.container
        if container.probe("readinessProbe") is not None:
            continue
        if container.ports:
            evidence = f"declares containerPort {container.ports[0].port}"
        elif serving.served is not None:
            evidence = f"runs `{serving.served.server}`"
        else:
            continue
        ready = next(
            (p for p in _probes.READY_PATHS if serving.app and serving.app.serves(p)), "/ready"
        )
        yield ctx.report(
            f"{serving.label} {evidence} but has no readinessProbe: Kubernetes sends it "
            "traffic as soon as the process starts, and keeps sending it while the app cannot "
            "serve (its database down, still starting).",
            container.span,
            fix=f"Add a readinessProbe, e.g. `httpGet: {{path: {ready}, port: <server port>}}`, "
            "on an endpoint that checks the database.",
        )


RULE = Rule(
    code="PRB001",
    name="readiness-probe-missing",
    severity=Severity.ERROR,
    summary="A container that serves HTTP has no readinessProbe.",
    check=check,
)
