"""ENV002 secret-ref-unresolved: a Secret/ConfigMap reference names nothing the repo defines."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from preflight.checks import _env
from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.graph import Deployment
from preflight.model.settings import Defined
from preflight.spans import Span


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    project = graph.files
    known = _env.known(graph)
    for manifest in project.manifests.values():
        for workload in manifest.workloads:
            for container in workload.containers:
                refs: list[tuple[str, str | None, str | None, bool, Span]] = []
                for variable in container.env:
                    ref = variable.value_from
                    if ref is not None and ref.kind in ("secretKeyRef", "configMapKeyRef"):
                        kind = "Secret" if ref.kind == "secretKeyRef" else "ConfigMap"
                        refs.append((kind, ref.name, ref.key, ref.optional, ref.span))
                for source in container.env_from:
                    kind = "Secret" if source.kind == "secretRef" else "ConfigMap"
                    refs.append((kind, source.name, None, source.optional, source.span))
                for kind, name, key, optional, span in refs:
                    yield from _check_ref(known, kind, name, key, optional, span, ctx)


def _check_ref(
    known: Defined,
    kind: str,
    name: str | None,
    key: str | None,
    optional: bool,
    span: Span,
    ctx: RuleContext,
) -> Iterator[Finding]:
    if name is None:
        return
    table = known.secrets if kind == "Secret" else known.config_maps
    manages = known.manages_secrets if kind == "Secret" else known.manages_config_maps
    severity = Severity.WARNING if optional else Severity.ERROR
    if name not in table:
        if not manages:
            ctx.silent(
                span,
                f"no {kind} is defined in the repository; `{name}` is assumed to be "
                "created elsewhere (list it under external-secrets to say so)",
            )
            return
        close = difflib.get_close_matches(name, list(table), n=1)
        hint = f" (the repository defines `{close[0]}`)" if close else ""
        yield ctx.report(
            f"{kind} `{name}` is referenced here but no manifest, external-secret resource or "
            f"`external-secrets` entry defines it{hint}: the pod stays in "
            "`CreateContainerConfigError`.",
            span,
            fix=f"Create the {kind}, fix the name, or list it in `[tool.preflight] "
            "external-secrets`.",
            severity=severity,
        )
        return
    keys = table[name]
    if key is None or keys is None or key in keys:
        return
    close = difflib.get_close_matches(key, list(keys), n=1, cutoff=0.4)
    alike = [k for k in keys if k.lower().replace("-", "_") == key.lower().replace("-", "_")]
    suggestions = alike or close
    suggestion = suggestions[0] if suggestions else None
    hint = f"; it has `{suggestion}`" if suggestion else ""
    yield ctx.report(
        f"{kind} `{name}` has no key `{key}`{hint}: the pod stays in `CreateContainerConfigError` "
        f"(`couldn't find key {key} in {kind} {name}`).",
        span,
        fix=f"Use the key the {kind} defines{f' (`{suggestion}`)' if suggestion else ''}, or add "
        f"`{key}` to it.",
        severity=severity,
    )


RULE = Rule(
    code="ENV002",
    name="secret-ref-unresolved",
    severity=Severity.ERROR,
    other_severities=(Severity.WARNING,),  # a reference marked `optional: true`
    summary="A secretKeyRef/configMapKeyRef/envFrom names a Secret, ConfigMap or key not defined.",
    check=check,
)
