"""ENV008 service-link-env-collision: a settings field reads a variable the kubelet injects for
a Service of the same namespace (`POSTGRES_PORT=tcp://10.x.x.x:5432`).

Only pydantic-settings fields of the app a container runs (its own command names the app, or
its image is built here or named after a Dockerfile's directory: not a mere guess), only
Services with a cluster IP in the workload's namespace, only when the pod keeps
`enableServiceLinks` and the container's own `env`/`envFrom` does not set the variable. A
number or boolean field fails to parse what is injected (error); a string field gets a
`tcp://` URL where it expected something else (warning).
"""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks import _env
from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.knowledge.kubelet import SHAPE_EXAMPLES
from preflight.model.graph import ContainerNode, Deployment
from preflight.model.kubeenv import (
    InjectedVariable,
    injected_variables,
    kustomize_namespaces,
    namespaces_of,
)
from preflight.model.settings import Setting, value_type
from preflight.spans import Related

_ERRORS = {
    "number": "Input should be a valid integer, unable to parse string as an integer "
    "[type=int_parsing, input_value='{value}', input_type=str]",
    "bool": "Input should be a valid boolean, unable to interpret input "
    "[type=bool_parsing, input_value='{value}', input_type=str]",
}


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    injected = injected_variables(graph.files)
    if not injected:
        if any(True for _ in _env.containers(graph)):
            ctx.silent(
                None,
                "the repository defines no Service with a cluster IP (Services a "
                "Helm chart or another repository creates are not seen)",
            )
        return
    kustomized = kustomize_namespaces(graph.files)
    reported: set[tuple[str, int, str]] = set()
    for checked in _env.containers(graph):
        node = checked.serving
        run = node.run
        if not _runs_this_app(node):
            ctx.silent(run.container.span, f"{node.label}: the app it runs is not known for sure")
            continue
        spaces = namespaces_of(run.manifest, run.workload.namespace, kustomized)
        for setting in checked.settings:
            if setting.field is None or setting.reader != "pydantic-settings":
                continue
            kind = value_type(setting.field.annotation)
            for variable in _colliding(setting, injected, spaces, ctx):
                if kind in ("number", "bool") and variable.shape in ("url", "ip", "protocol"):
                    severity = Severity.ERROR
                elif kind == "str" and variable.shape == "url":
                    severity = Severity.WARNING
                else:
                    continue  # a port number in an int field, an IP in a str one: it parses
                if not run.workload.service_links:
                    ctx.silent(setting.span, f"{node.label} sets `enableServiceLinks: false`")
                    continue
                if any(
                    n.upper() == variable.name.upper() and _set_by_pod(checked, n)
                    for n in checked.env.providers
                ):
                    ctx.silent(setting.span, f"{node.label} sets `{variable.name}` itself")
                    continue
                if checked.env.unknown:
                    ctx.silent(
                        setting.span,
                        f"{node.label}: {checked.env.unknown[0]} (it may set `{variable.name}`)",
                    )
                    continue
                key = (setting.span.path, setting.span.line, variable.name)
                if key in reported:
                    continue
                reported.add(key)
                yield _finding(ctx, node, setting, kind or "str", variable, severity)


def _runs_this_app(node: ContainerNode) -> bool:
    """The container runs an app of this repository: its own command names the app, or its
    image is built here (a build, or the image is named after the directory of a Dockerfile;
    not a guess because a Dockerfile is the only one or the nearest)."""
    if node.app is None:
        return False
    container = node.run.container
    if container.command is not None or container.args is not None:
        return True
    evidence = node.image_evidence
    return evidence is not None and (evidence.strong or evidence.how.startswith("image name"))


def _set_by_pod(checked: _env.Checked, name: str) -> bool:
    """The container's own env/envFrom sets ``name`` (its image's ENV does not win over an
    injected variable: the runtime environment replaces the image's)."""
    return any(p.kind != "Dockerfile ENV" for p in checked.env.providers.get(name, ()))


def _colliding(
    setting: Setting,
    injected: dict[str, list[InjectedVariable]],
    spaces: frozenset[str],
    ctx: RuleContext,
) -> Iterator[InjectedVariable]:
    for name in setting.env_names:
        for variable in injected.get(name if setting.case_sensitive else name.upper(), ()):
            if variable.namespaces & spaces:
                yield variable
                break
            ctx.silent(
                setting.span,
                f"Service `{variable.service.obj.name}` injects `{variable.name}` in namespace "
                f"{', '.join(sorted(variable.namespaces))}, not in "
                f"{', '.join(sorted(spaces))} where the app runs",
            )


def _finding(
    ctx: RuleContext,
    node: ContainerNode,
    setting: Setting,
    kind: str,
    variable: InjectedVariable,
    severity: Severity,
) -> Finding:
    service = variable.service.obj.name
    label = node.label
    example = SHAPE_EXAMPLES[variable.shape].format(port=variable.port or "")
    owner = setting.owner
    if severity is Severity.ERROR:
        error = _ERRORS[kind].format(value=example)
        effect = f"the app dies at start with `{error}`"
    else:
        effect = f"the app gets a URL (`{example}`) where it expects something else"
    return ctx.report(
        f"{owner} ({setting.derivation}) reads `{variable.name}`, and Kubernetes sets "
        f"`{variable.name}={example}` in every pod of the namespace for Service `{service}` "
        f"(`enableServiceLinks` is on by default). {label} runs this app and does not set the "
        f"variable itself, so {effect}.",
        setting.span,
        (
            Related(variable.service.obj.span, f"Service `{service}` injects `{variable.name}`"),
            Related(node.run.container.span, f"{label} runs the app"),
        ),
        f"Rename the setting (or give it an `env_prefix`/alias) so it does not read "
        f"`{variable.name}`, set `{variable.name}` explicitly in the container's `env`, or add "
        "`enableServiceLinks: false` to the pod spec.",
        severity=severity,
        headline=f"`{variable.name}` is injected by Service `{service}`",
    )


RULE = Rule(
    code="ENV008",
    name="service-link-env-collision",
    severity=Severity.ERROR,
    summary="A setting reads a variable Kubernetes injects for a Service of the namespace.",
    check=check,
    other_severities=(Severity.WARNING,),  # a str field gets a tcp:// URL
)
