"""ENV004 sensitive-value-not-secret: a secret as a plain value, ConfigMap or Dockerfile ENV."""

from __future__ import annotations

import re
from collections.abc import Iterator

from preflight.checks import _env
from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.knowledge.sensitive import is_published_credential
from preflight.model.graph import Deployment
from preflight.model.settings import holds_no_secret, is_sensitive_name


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    project = graph.files
    reported: set[tuple[str, int]] = set()
    sensitive_settings: dict[str, str] = {}
    for checked in _env.containers(graph):
        for setting in checked.settings:
            if setting.sensitive:
                for name in setting.env_names:
                    sensitive_settings[name.lower()] = setting.owner
    known = _env.known(graph)
    for manifest in project.manifests.values():
        for workload in manifest.workloads:
            for container in workload.containers:
                for variable in container.env:
                    owner = sensitive_settings.get(variable.name.lower())
                    if not (owner or is_sensitive_name(variable.name)):
                        continue
                    if is_published_credential(variable.name):
                        continue
                    ref = variable.value_from
                    if ref is None and variable.value and not could_leak(variable.value):
                        continue  # `ALLOW_EMPTY_PASSWORD: "yes"` is a switch, not a secret
                    if ref is None and variable.value and not variable.value.startswith("$("):
                        how = "as a plain `value:` in the manifest"
                    elif ref is not None and ref.kind == "configMapKeyRef":
                        if is_published_credential(ref.key or ""):
                            continue  # `DEFAULT_PASSWORD` from key `DEMO_LOGIN_PASSWORD`
                        entry = (known.config_maps.get(ref.name or "") or {}).get(ref.key or "")
                        if entry is not None and entry[1] is not None and not could_leak(entry[1]):
                            continue
                        how = f"from ConfigMap `{ref.name}`"
                    else:
                        continue
                    key = (variable.span.path, variable.span.line)
                    if key not in reported:
                        reported.add(key)
                        yield _finding(ctx, variable.name, how, variable.span)
    for manifest in project.manifests.values():
        for workload in manifest.workloads:
            for container in workload.containers:
                for source in container.env_from:
                    if source.kind != "configMapRef":
                        continue
                    entries = known.config_maps.get(source.name or "") or {}
                    for config_key, (config_span, config_value) in entries.items():
                        if config_value is not None and not could_leak(config_value):
                            continue
                        variable_name = source.prefix + config_key
                        if is_published_credential(variable_name):
                            continue
                        sensitive = is_sensitive_name(variable_name)
                        if sensitive or variable_name.lower() in sensitive_settings:
                            where = (config_span.path, config_span.line)
                            if where not in reported:
                                reported.add(where)
                                how = f"from ConfigMap `{source.name}`"
                                yield _finding(ctx, variable_name, how, config_span)
    for dockerfile in project.dockerfiles.values():
        for stage in dockerfile.stages:
            for name, (value, span) in stage.env.items():
                if not value or not could_leak(value) or is_published_credential(name):
                    continue
                if value and (is_sensitive_name(name) or name.lower() in sensitive_settings):
                    key = (span.path, span.line)
                    if key not in reported:
                        reported.add(key)
                        yield _finding(ctx, name, "by the Dockerfile (`ENV`/`ARG`)", span)


def could_leak(value: str) -> bool:
    """False for a switch or a number and for a placeholder (`CHANGE_ME`, `<generate one>`,
    `db-password`, literally `password`): such a value tells a reader nothing."""
    return not (is_flag(value) or holds_no_secret(value))


_FLAG = re.compile(r"(?i)(?:yes|no|true|false|on|off|enabled?|disabled?|none|null|[0-9]{1,6})")


def is_flag(value: str) -> bool:
    """A switch or a number (`yes`, `false`, `8`, `3600`): a setting about a secret (whether an
    empty password is allowed, a minimum length, a lifetime), never a secret itself."""
    return _FLAG.fullmatch(value.strip().strip("'\"")) is not None


def _finding(ctx: RuleContext, name: str, how: str, span: object) -> Finding:
    from preflight.spans import Span

    assert isinstance(span, Span)
    return ctx.report(
        f"`{name}` is sensitive but is provided {how}: anyone who can read the manifest or pull "
        "the image can read it, and it ends up in version control.",
        span,
        fix=f"Provide `{name}` from a Secret (`valueFrom.secretKeyRef`), at run time.",
        headline=f"Sensitive `{name}` is not provided from a Secret",
    )


RULE = Rule(
    code="ENV004",
    name="sensitive-value-not-secret",
    severity=Severity.WARNING,
    summary="A sensitive setting is a plain value, comes from a ConfigMap, or from the Dockerfile.",
    check=check,
)
