"""PRB002 probe-path-not-served: an httpGet probe's path is not a GET route of the app."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks import _probes
from preflight.checks.rule import Rule
from preflight.findings import Applicability, Autofix, Edit, Finding, RuleContext, Severity
from preflight.model.graph import Deployment
from preflight.spans import Related


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    for serving in graph.containers:
        app = serving.app
        for probe in serving.run.container.probes:
            if probe.handler != "httpGet" or probe.path is None:
                continue
            span = probe.path_span or probe.span
            if app is None:
                ctx.silent(span, f"{serving.label}: no app resolved ({serving.why})")
                continue
            if not app.complete:
                ctx.silent(span, f"the route table of {app.module} is partial: {app.partial[0]}")
                continue
            if app.serves(probe.path) is not None or app.mounted(probe.path):
                continue
            hints = _probes.suggestions(app, probe.path)
            hint = f" Did you mean {' or '.join(f'`{h}`' for h in hints)}?" if hints else ""
            yield ctx.report(
                f"The {probe.kind} of {serving.label} requests `GET {probe.path}`, but the "
                f"app it runs ({app.module}) has no such route: the probe gets 404 and the pod "
                f"never turns {'ready' if probe.kind != 'livenessProbe' else 'healthy'}.{hint}",
                span,
                (Related(app.span, f"the app `{app.name}`"),),
                f"Point the probe at {f'`{hints[0]}`' if hints else 'a GET route the app serves'}, "
                "or add the route.",
                headline=f"{probe.kind} path `{probe.path}` is not a route of the app",
                # the one route the app serves that the path was close to (`/healthz` for
                # `/health`): unsafe, adding the route may be what the authors meant
                autofix=Autofix(
                    Applicability.UNSAFE,
                    f"Probe `{hints[0]}`",
                    (Edit.replace_text(span.path, span.line, span.col, probe.path, hints[0]),),
                )
                if len(hints) == 1 and probe.path_span is not None
                else None,
            )


RULE = Rule(
    code="PRB002",
    name="probe-path-not-served",
    severity=Severity.ERROR,
    summary="An httpGet probe's path is not a GET route of the app the container runs.",
    check=check,
)
