"""ENV002 secret-ref-unresolved: a Secret/ConfigMap reference names nothing the repo defines."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from preflight.checks import _env
from preflight.checks.rule import Rule
from preflight.findings import Applicability, Autofix, Edit, Finding, RuleContext, Severity
from preflight.model.graph import Deployment
from preflight.model.settings import Defined
from preflight.spans import Related, Span


@dataclass(frozen=True, slots=True)
class _Ref:
    """One reference; the spans of its ``name`` and ``key`` values are what a fix renames
    (None when not written on one line)."""

    kind: str  # "Secret" | "ConfigMap"
    name: str | None
    key: str | None
    optional: bool
    span: Span
    name_span: Span | None
    key_span: Span | None


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    project = graph.files
    known = _env.known(graph)
    missing: dict[tuple[str, str], list[_Ref]] = {}  # one finding per name
    # where a Secret/ConfigMap no manifest holds is created (README, script, CI, generator),
    # said once per name in --verbose
    created = {(c.kind, c.name): c for c in reversed(project.created_objects)}
    in_manifests = {
        (kind, obj.name)
        for manifest in project.manifests.values()
        for kind, objects in (("Secret", manifest.secrets), ("ConfigMap", manifest.config_maps))
        for obj in (o.obj for o in objects)
    }
    told: set[tuple[str, str]] = set()
    for manifest in project.manifests.values():
        for workload in manifest.workloads:
            for container in workload.containers:
                refs: list[_Ref] = []
                for variable in container.env:
                    value_from = variable.value_from
                    if value_from is not None and value_from.kind in _KEY_REFS:
                        refs.append(
                            _Ref(
                                _KEY_REFS[value_from.kind],
                                value_from.name,
                                value_from.key,
                                value_from.optional,
                                value_from.span,
                                value_from.name_span,
                                value_from.key_span,
                            )
                        )
                for source in container.env_from:
                    kind = "Secret" if source.kind == "secretRef" else "ConfigMap"
                    refs.append(
                        _Ref(
                            kind,
                            source.name,
                            None,
                            source.optional,
                            source.span,
                            source.name_span,
                            None,
                        )
                    )
                for ref in refs:
                    if ref.name is None:
                        continue
                    table = known.secrets if ref.kind == "Secret" else known.config_maps
                    if ref.name not in table:
                        missing.setdefault((ref.kind, ref.name), []).append(ref)
                    else:
                        where = created.get((ref.kind, ref.name))
                        named = (ref.kind, ref.name)
                        if where is not None and named not in in_manifests and named not in told:
                            told.add(named)
                            ctx.silent(
                                ref.span,
                                f"{ref.kind} `{ref.name}` is defined outside manifests: "
                                f"{where.how} ({where.span.path}:{where.span.line})",
                            )
                        yield from _check_key(table, ref, ctx)
    for (kind, name), places in missing.items():
        yield from _missing(known, kind, name, places, ctx)


_KEY_REFS = {"secretKeyRef": "Secret", "configMapKeyRef": "ConfigMap"}
_Table = dict[str, dict[str, tuple[Span, str | None]] | None]


def _missing(
    known: Defined,
    kind: str,
    name: str,
    places: list[_Ref],
    ctx: RuleContext,
) -> Iterator[Finding]:
    table = known.secrets if kind == "Secret" else known.config_maps
    manages = known.manages_secrets if kind == "Secret" else known.manages_config_maps
    span, rest = places[0].span, places[1:]
    if not manages:
        ctx.silent(
            span,
            f"no {kind} is defined in the repository; `{name}` is assumed to be "
            "created elsewhere (list it under external-secrets to say so)",
        )
        return
    optional = all(place.optional for place in places)
    close = difflib.get_close_matches(name, list(table), n=1)
    hint = f" (the repository defines `{close[0]}`)" if close else ""
    also = f", and {len(rest)} more place(s)" if rest else ""
    yield ctx.report(
        f"{kind} `{name}` is referenced here{also} but no manifest, generator, external-secret "
        f"resource, `kubectl create` in the repository or `external-secrets` entry defines "
        f"it{hint}: the pod stays in `CreateContainerConfigError`.",
        span,
        tuple(Related(other.span, f"also references {kind} `{name}`") for other in rest),
        fix=f"Create the {kind}, fix the name, or list it in `[tool.preflight] external-secrets`.",
        severity=Severity.WARNING if optional else Severity.ERROR,
        headline=f"{kind} `{name}` is not defined",
        autofix=_renamed_object(table, kind, name, places),
    )


def _check_key(tables: _Table, ref: _Ref, ctx: RuleContext) -> Iterator[Finding]:
    kind, name, key, optional, span = ref.kind, ref.name, ref.key, ref.optional, ref.span
    keys = tables[name or ""]
    severity = Severity.WARNING if optional else Severity.ERROR
    if key is None or keys is None or key in keys:
        return
    close = difflib.get_close_matches(key, list(keys), n=1, cutoff=0.4)
    alike = [k for k in keys if _alike(k, key)]
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
        autofix=_renamed_key(tables, ref),
    )


# How close another name must be for a reference to be ambiguous between it and the one a fix
# would pick (difflib's ratio): then there is no fix.
_CLOSE = 0.8
# What a Secret/ConfigMap key or object name may hold (Kubernetes' own limits), so a renamed
# reference never needs quoting it does not have.
_NAME = re.compile(r"[A-Za-z0-9._-]+")
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9._-]*")
_NOT_PLAIN = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})


def _alike(one: str, other: str) -> bool:
    """The same key but for case and `-`/`_` (`database-url`, `DATABASE_URL`)."""
    return one.lower().replace("-", "_") == other.lower().replace("-", "_")


def _typo(one: str, other: str) -> bool:
    """One character apart — added, dropped, changed, or two neighbours swapped — but for
    case and `-`/`_`, in names of at least four characters, and never a digit (`API_KEY_1` and
    `API_KEY_2` are two credentials, not a typo)."""
    a, b = one.lower().replace("-", "_"), other.lower().replace("-", "_")
    if a == b or min(len(a), len(b)) < 4 or abs(len(a) - len(b)) > 1:
        return False
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    if len(a) != len(b):
        longer, shorter = (a, b) if len(a) > len(b) else (b, a)
        return longer[head + 1 :] == shorter[head:] and not longer[head].isdigit()
    rest_a, rest_b = a[head + 1 :], b[head + 1 :]
    if rest_a == rest_b:  # one changed
        return not (a[head].isdigit() or b[head].isdigit())
    return a[head + 2 :] == b[head + 2 :] and a[head : head + 2] == b[head : head + 2][::-1]


def _renamed_key(tables: _Table, ref: _Ref) -> Autofix | None:
    """The key the Secret has that the reference meant — one alike, or one a typo away (see
    :func:`_typo`) — or the one other Secret holding the key, when that is the only candidate
    (unsafe)."""
    kind, name, key = ref.kind, ref.name, ref.key
    keys = tables.get(name or "")
    if key is None or name is None or keys is None:
        return None
    alike = [k for k in keys if _alike(k, key)]
    mine = alike or [k for k in keys if _typo(k, key)]
    elsewhere = [other for other, held in tables.items() if held is not None and key in held]
    candidates = [(name, k) for k in mine] + [(other, key) for other in elsewhere]
    if len(candidates) != 1:
        return None
    target, new_key = candidates[0]
    if new_key != key:
        edit = _rename(ref.key_span, key, new_key)
        message = f"Use key `{new_key}` of {kind} `{name}`"
    else:
        edit = _rename(ref.name_span, name, target)
        message = f"Use {kind} `{target}`, which has key `{key}`"
    return Autofix(Applicability.UNSAFE, message, (edit,)) if edit is not None else None


def _renamed_object(
    table: _Table,
    kind: str,
    name: str,
    places: list[_Ref],
) -> Autofix | None:
    """Every reference to an undefined Secret renamed to the only one it could mean: the one
    Secret holding every key the references read (no other with a close name, none whose keys
    are unknown), or — for `envFrom`, which names no key — the one a typo away."""
    keys = {place.key for place in places if place.key is not None}
    close = set(difflib.get_close_matches(name, list(table), n=3, cutoff=_CLOSE))
    if keys:
        if any(held is None for held in table.values()):
            return None  # a Secret whose keys preflight cannot see may hold them too
        holders = [other for other, held in table.items() if held and keys <= set(held)]
        if len(holders) != 1 or not close <= set(holders):
            return None
        target = holders[0]
    else:
        typos = [other for other in table if _typo(other, name)]
        if len(typos) != 1 or not close <= set(typos):
            return None
        target = typos[0]
    edits = [_rename(place.name_span, name, target) for place in places]
    if any(edit is None for edit in edits):
        return None
    return Autofix(
        Applicability.UNSAFE,
        f"Use {kind} `{target}`",
        tuple(dict.fromkeys(edit for edit in edits if edit is not None)),
    )


def _rename(span: Span | None, old: str, new: str) -> Edit | None:
    """``old`` written at ``span`` replaced by ``new``: when plain (as wide as its text), only
    by a name YAML reads as the same string; when quoted, by a name without quote or escape."""
    if span is None or not _NAME.fullmatch(new):
        return None
    plain = span.end_col - span.col == len(old)
    if plain and (
        not _PLAIN.fullmatch(new)
        or new.lower() in ("y", "n", "yes", "no", "on", "off", "true", "false", "null")
    ):
        return None
    return Edit.replace_text(span.path, span.line, span.col, old, new)


RULE = Rule(
    code="ENV002",
    name="secret-ref-unresolved",
    severity=Severity.ERROR,
    other_severities=(Severity.WARNING,),  # a reference marked `optional: true`
    summary="A secretKeyRef/configMapKeyRef/envFrom names a Secret, ConfigMap or key not defined.",
    check=check,
)
