"""ENV010 secret-value-trailing-newline: a Secret value a container reads as a variable ends in
a newline (``echo x | base64`` without ``-n``, or a ``|`` block scalar in ``stringData``).

A host, database name, URL, user, token or password with a trailing newline is a different
value: DNS lookups, connections and comparisons fail. Values that are files by nature (PEM
blocks, ``*.pem``/``*.crt``/``*.key``/``*.json`` keys, multi-line text) and numbers (``int()``
and pydantic's ``int`` ignore surrounding whitespace) are left alone, and so are credentials
every reader of which gets the same newline (the database's container reads the same key).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.graph import Deployment
from preflight.model.kubeenv import kustomize_namespaces, namespaces_of
from preflight.spans import Related, Span

_FILE_KEYS = (".pem", ".crt", ".cert", ".cer", ".key", ".json", ".pub", ".p12", ".jks", ".txt",
              ".yaml", ".yml", ".conf", ".cfg", ".ini", ".xml", ".properties", ".toml")  # fmt: skip
# Names of a value that is a location or an address: every reader gets it wrong, even when the
# same Secret key feeds the server the app connects to.
_ADDRESS = re.compile(r"(?:HOST|HOSTNAME|URL|URI|DSN|ADDR|ADDRESS|ENDPOINT|SERVER|DOMAIN)$")


@dataclass(frozen=True, slots=True)
class _Use:
    variable: str  # the variable it becomes
    span: Span  # the env entry's name, or the envFrom ref
    label: str  # "Deployment `api` container `web`"
    workload: str  # kind/name: who reads it


def trailing_newline(key: str, value: str | None) -> str | None:
    """The newline a value ends in (LF or CR LF), or None when there is none or the value
    is a file by nature, multi-line text, a number, or empty once stripped."""
    if value is None or not value.endswith("\n"):
        return None
    if key.lower().endswith(_FILE_KEYS) or "-----BEGIN" in value:
        return None
    body = value.rstrip("\r\n")
    if not body.strip() or "\n" in body or body.strip().isdigit():
        return None
    return value[len(body) :]


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    project = graph.files
    kustomized = kustomize_namespaces(project)
    uses: dict[tuple[str, str, str], list[_Use]] = {}  # (namespace, Secret, key) -> readers
    open_from: dict[tuple[str, str], list[_Use]] = {}  # (namespace, Secret) -> envFrom readers
    for path, manifest in project.manifests.items():
        for workload in manifest.workloads:
            spaces = namespaces_of(path, workload.namespace, kustomized)
            who = f"{workload.kind} `{workload.name}`"
            for container in workload.containers:
                label = f"{who} container `{container.name}`"
                for variable in container.env:
                    ref = variable.value_from
                    if ref is None or ref.kind != "secretKeyRef" or not ref.name or not ref.key:
                        continue
                    use = _Use(
                        variable.name, variable.span, label, f"{workload.kind}/{workload.name}"
                    )
                    for space in spaces:
                        uses.setdefault((space, ref.name, ref.key), []).append(use)
                for source in container.env_from:
                    if source.kind != "secretRef" or not source.name:
                        continue
                    use = _Use(
                        source.prefix, source.span, label, f"{workload.kind}/{workload.name}"
                    )
                    for space in spaces:
                        open_from.setdefault((space, source.name), []).append(use)
    for path, manifest in project.manifests.items():
        for secret in manifest.secrets:
            name = secret.obj.name
            if not name or secret.encrypted:
                continue
            spaces = namespaces_of(path, secret.obj.namespace, kustomized)
            for key, value in secret.keys.items():
                newline = trailing_newline(key, value.value)
                if newline is None:
                    continue
                readers = [u for s in sorted(spaces) for u in uses.get((s, name, key), [])]
                readers += [
                    _Use(u.variable + key, u.span, u.label, u.workload)
                    for s in sorted(spaces)
                    for u in open_from.get((s, name), [])
                ]
                if not readers:
                    ctx.silent(
                        value.span,
                        f"Secret `{name}` key `{key}` ends in a newline, but "
                        "no container in its namespace reads it as a variable",
                    )
                    continue
                workloads = {u.workload for u in readers}
                if len(workloads) > 1 and not _ADDRESS.search(key.upper()):
                    ctx.silent(
                        value.span,
                        f"Secret `{name}` key `{key}` ends in a newline, but "
                        f"{len(workloads)} workloads read it: every end gets the same value",
                    )
                    continue
                length = len(value.value or "")
                yield _finding(
                    ctx, name, key, value.span, length, value.from_data, newline, readers
                )


def _finding(
    ctx: RuleContext,
    name: str,
    key: str,
    at: Span,
    length: int,
    from_data: bool,
    newline: str,
    readers: list[_Use],
) -> Finding:
    ending = "a CR LF" if newline == "\r\n" else "a newline"
    first = readers[0]
    if from_data:
        how = "the base64 in `data` was made with `echo … | base64`, which encodes the newline"
        fix = (
            f"Re-encode `{key}` without the newline (`printf %s '…' | base64`, or "
            "`echo -n … | base64`), or move it to `stringData` as plain text."
        )
    else:
        how = "a `|` block scalar in `stringData` keeps the final newline"
        fix = f"Write `{key}` with `|-` (strips the final newline) or as a one-line string."
    return ctx.report(
        f"Secret `{name}` key `{key}` decodes to {length} characters ending in {ending} "
        f"({how}). {first.label} reads it as `{first.variable}`, so the app gets the newline "
        f"as part of the value: {_effect(key)}.",
        at,
        tuple(Related(u.span, f"{u.label} reads it as `{u.variable}`") for u in readers),
        fix,
        headline=f"Secret `{name}` key `{key}` ends in a newline",
    )


def _effect(key: str) -> str:
    """What the newline breaks, judged by the key's name."""
    words = set(re.split(r"[_\-.]+", key.upper()))
    if words & {"URL", "URI", "DSN"}:
        return "the URL's last part (a database name, a path) now ends in a newline"
    if words & {"HOST", "HOSTNAME", "SERVER", "ADDR", "ADDRESS", "ENDPOINT", "DOMAIN"}:
        return "a host name with a newline does not resolve"
    if words & {"DB", "DATABASE", "DBNAME", "NAME"}:
        return "the database it names, newline included, does not exist"
    return "it no longer matches the value it is compared with (a user, a password, a token)"


RULE = Rule(
    code="ENV010",
    name="secret-value-trailing-newline",
    severity=Severity.ERROR,
    summary="A Secret value a container reads as a variable ends in a newline.",
    check=check,
)
