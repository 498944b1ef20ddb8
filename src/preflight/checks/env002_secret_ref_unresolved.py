"""ENV002 secret-ref-unresolved: a Secret/ConfigMap reference names nothing the repo defines."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from preflight.checks import _env
from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.graph import Deployment
from preflight.model.settings import Defined
from preflight.spans import Related, Span


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    project = graph.files
    known = _env.known(graph)
    missing: dict[tuple[str, str], list[tuple[Span, bool]]] = {}  # one finding per name
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
                    if name is None:
                        continue
                    table = known.secrets if kind == "Secret" else known.config_maps
                    if name not in table:
                        missing.setdefault((kind, name), []).append((span, optional))
                    else:
                        yield from _check_key(table[name], kind, name, key, optional, span, ctx)
    for (kind, name), places in missing.items():
        yield from _missing(known, kind, name, places, ctx)


def _missing(
    known: Defined,
    kind: str,
    name: str,
    places: list[tuple[Span, bool]],
    ctx: RuleContext,
) -> Iterator[Finding]:
    table = known.secrets if kind == "Secret" else known.config_maps
    manages = known.manages_secrets if kind == "Secret" else known.manages_config_maps
    (span, _), rest = places[0], places[1:]
    if not manages:
        ctx.silent(
            span,
            f"no {kind} is defined in the repository; `{name}` is assumed to be "
            "created elsewhere (list it under external-secrets to say so)",
        )
        return
    optional = all(is_optional for _, is_optional in places)
    close = difflib.get_close_matches(name, list(table), n=1)
    hint = f" (the repository defines `{close[0]}`)" if close else ""
    also = f", and {len(rest)} more place(s)" if rest else ""
    yield ctx.report(
        f"{kind} `{name}` is referenced here{also} but no manifest, generator, external-secret "
        f"resource, `kubectl create` in the repository or `external-secrets` entry defines "
        f"it{hint}: the pod stays in `CreateContainerConfigError`.",
        span,
        tuple(Related(other, f"also references {kind} `{name}`") for other, _ in rest),
        fix=f"Create the {kind}, fix the name, or list it in `[tool.preflight] external-secrets`.",
        severity=Severity.WARNING if optional else Severity.ERROR,
        headline=f"{kind} `{name}` is not defined",
    )


def _check_key(
    keys: dict[str, tuple[Span, str | None]] | None,
    kind: str,
    name: str,
    key: str | None,
    optional: bool,
    span: Span,
    ctx: RuleContext,
) -> Iterator[Finding]:
    severity = Severity.WARNING if optional else Severity.ERROR
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
        headline=f"{kind} `{name}` has no key `{key}`",
    )


RULE = Rule(
    code="ENV002",
    name="secret-ref-unresolved",
    severity=Severity.ERROR,
    other_severities=(Severity.WARNING,),  # a reference marked `optional: true`
    summary="A secretKeyRef/configMapKeyRef/envFrom names a Secret, ConfigMap or key not defined.",
    check=check,
)
