"""ENV005 plaintext-secret-committed: a Secret manifest that commits real secret values.

A Secret holds configuration as well as secrets (hosts, ports, database and user names); only
the keys whose value is a credential count: a sensitive key name (PASSWORD, TOKEN, SECRET_KEY,
API_KEY, …, a `*.key`/`*.pem` file), a URL with a password, or a private key. Public keys,
placeholders (including values that only describe themselves, `db-password`, `your-secret`),
SOPS-encrypted Secrets and SealedSecrets are not plaintext secrets. One finding per Secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.knowledge.images import stock_infrastructure
from preflight.knowledge.sensitive import is_published_credential, is_sensitive_name
from preflight.model.envfiles import env_file_in_secret, loaded_env_files
from preflight.model.graph import Deployment
from preflight.model.project import ContainerRun, Project
from preflight.model.serving import local_image
from preflight.model.settings import holds_no_secret
from preflight.redact import url_password
from preflight.spans import Related, Span

_PUBLIC_KEY = re.compile(
    r"-----BEGIN (?:[A-Z]+ )?PUBLIC KEY-----|-----BEGIN CERTIFICATE-----|"
    r"^(?:ssh-(?:rsa|ed25519|dss)|ecdsa-sha2-\S+) ",
    re.M,
)
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
_KEY_FILES = (".key", ".pem", ".p12", ".pfx", ".jks", ".keystore")


def why_sensitive(key: str, value: str) -> str | None:
    """Why a Secret key's value is a credential, or None when it is configuration."""
    lowered = key.lower()
    if lowered.endswith((".pub", ".crt", ".cert")) or _PUBLIC_KEY.search(value):
        return None
    if _PRIVATE_KEY.search(value):
        return "a private key"
    if "://" in value and url_password(value) is not None:
        return "a URL with a password"
    if lowered.endswith(_KEY_FILES) or is_sensitive_name(key.replace(".", "_")):
        return "a credential by its name"
    return None


def committed_value(key: str, text: str | None) -> str | None:
    """Why a committed value is a secret (see :func:`why_sensitive`), or None: configuration,
    or a value that holds no secret (a placeholder, a self-describing or well-known default, a
    keyboard walk, or a URL whose password is one — judged as ENV004 judges them)."""
    if text is None or holds_no_secret(text):
        return None
    why = why_sensitive(key, text)
    if why is None or is_published_credential(key):
        return None
    return why


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    project = graph.files
    yield from _env_files(project, ctx)
    for manifest in project.manifests.values():
        if manifest.path in project.uncommitted:
            if manifest.secrets:
                ctx.silent(manifest.secrets[0].obj.span, f"{manifest.path} is ignored by git")
            continue  # a local file, not in version control
        for secret in manifest.secrets:
            if secret.encrypted:
                continue
            committed = []
            for key, value in secret.keys.items():
                lines = env_file_in_secret(key, value)
                if lines is not None:  # a whole `.env` file: each of its lines is judged
                    for name, entry in lines:
                        why = committed_value(name, entry.value)
                        if why is not None:
                            committed.append((f"{key}: {name}", entry, why))
                    continue
                why = committed_value(key, value.value)
                if why is not None:
                    committed.append((key, value, why))
            if not committed:
                continue
            committed.sort(key=lambda item: item[1].span)  # file order: data and stringData mix
            (_, first, _), rest = committed[0], committed[1:]
            names = ", ".join(
                f"`{key}` ({len(value.value or '')} characters)" for key, value, _ in committed
            )
            encoded = " (base64 in `data`)" if any(v.from_data for _, v, _ in committed) else ""
            related = tuple(Related(value.span, f"`{key}`: {why}") for key, value, why in rest)
            fix = (
                "Rotate the values, replace them with placeholders, and deliver the real ones "
                "with an ExternalSecret, SealedSecret, SOPS or your secret manager."
            )
            local = _local_cluster_only(project, secret.obj.name or "")
            if local is not None:
                # only a developer's cluster runs the workloads that read it: still committed,
                # and whoever reuses the value elsewhere publishes it, but nothing leaks today
                yield ctx.report(
                    f"Secret `{secret.obj.name}` commits {len(committed)} secret value(s)"
                    f"{encoded}: {names}. Only workloads running {local}, an image no registry "
                    "holds, read it: a local cluster (minikube, kind, `skaffold dev`), but the "
                    "values are in version control for anyone who deploys these files elsewhere.",
                    first.span,
                    related,
                    "Replace the values with placeholders and create the Secret locally "
                    "(`kubectl create secret generic`, a `.env` your dev loop reads); rotate them "
                    "if they are used anywhere else.",
                    severity=Severity.WARNING,
                    headline=f"Secret `{secret.obj.name}` commits {len(committed)} local-cluster "
                    "secret value(s)",
                )
                continue
            note = _readme_note(project, manifest.path, secret.obj.name or "")
            if note is not None:
                yield ctx.report(
                    f"Secret `{secret.obj.name}` commits {len(committed)} secret value(s)"
                    f"{encoded}: {names}. {note.path} (line {note.line}) tells the "
                    "reader to replace them, but whoever applies this file as is deploys a "
                    "published credential.",
                    first.span,
                    (*related, Related(note, "the instruction to replace the values")),
                    fix,
                    severity=Severity.WARNING,
                    headline=f"Secret `{secret.obj.name}` commits {len(committed)} secret "
                    "value(s) a README says to replace",
                )
                continue
            if secret.demo_comment is not None:
                # documented as a demo: still committed (whoever applies the file as is runs
                # with a published credential), but a choice the authors made knowingly
                yield ctx.report(
                    f"Secret `{secret.obj.name}` commits {len(committed)} secret value(s)"
                    f"{encoded}: {names}. Its comment (line {secret.demo_comment}) says they are "
                    "for a demo, but whoever applies this file as is deploys a published "
                    "credential.",
                    first.span,
                    related,
                    fix,
                    severity=Severity.WARNING,
                    headline=f"Secret `{secret.obj.name}` commits {len(committed)} demo secret "
                    "value(s)",
                )
                continue
            yield ctx.report(
                f"Secret `{secret.obj.name}` commits {len(committed)} secret value(s){encoded}: "
                f"{names}. Base64 is not encryption: the values are now in version control.",
                first.span,
                related,
                fix,
                headline=f"Secret `{secret.obj.name}` commits {len(committed)} secret value(s)",
            )


def _readme_note(project: Project, path: str, name: str) -> Span | None:
    """A README paragraph that tells the reader to replace the values of this Secret: it names
    the manifest's file (`secret.yaml`) or the Secret (`app-secret`, when the name is not a
    common word: six characters or more)."""
    base = path.rsplit("/", 1)[-1].lower()
    wanted = {base, path.lower()} | ({name.lower()} if len(name) >= 6 else set())
    return next((n.span for n in project.replace_notes if n.words & wanted), None)


def _local_cluster_only(project: Project, name: str) -> str | None:
    """The image (`api:latest`) when every container of the workloads that use Secret ``name``
    runs either an image only a local build provides (no registry host, no account, not an
    official image) or a stock database image: such manifests are for a developer's cluster,
    as RUN004 reads them. None when one runs a pushed or unknown image, or nothing uses it."""
    users = {id(run.workload): run.workload for run in project.containers if _uses(run, name)}
    local: str | None = None
    for run in project.containers:
        if id(run.workload) not in users or run.container.is_init:
            continue
        image = run.container.image
        if local_image(image):
            local = local or image
        elif image is None or stock_infrastructure(image) is None:
            return None  # a pushed image (or an unknown one) runs anywhere
    return f"`{local}`" if local else None


def _uses(run: ContainerRun, name: str) -> bool:
    """Whether the container reads Secret ``name`` (`env`, `envFrom`, a volume of its pod)."""
    if name in run.workload.secret_volumes.values():
        return True
    for var in run.container.env:
        ref = var.value_from
        if ref is not None and ref.kind == "secretKeyRef" and ref.name == name:
            return True
    return any(ref.kind == "secretRef" and ref.name == name for ref in run.container.env_from)


def _env_files(project: Project, ctx: RuleContext) -> Iterator[Finding]:
    """A committed env file a compose service loads (`env_file: .env.server`) is committed
    configuration like a Secret manifest: one finding per file, values never shown."""
    for env_file, uses in loaded_env_files(project):
        if env_file.path in project.env_examples:
            continue  # an example documents placeholders by its name
        committed = [
            (entry, why)
            for entry in env_file.entries
            if (why := committed_value(entry.name, entry.value)) is not None
        ]
        if not committed:
            continue
        (first, _), rest = committed[0], committed[1:]
        names = ", ".join(f"`{e.name}` ({len(e.value)} characters)" for e, _ in committed)
        use = uses[0]
        yield ctx.report(
            f"{env_file.path}, which compose service `{use.service}` loads, commits "
            f"{len(committed)} secret value(s): {names}. They are now in version control.",
            first.span,
            (
                *(Related(entry.span, f"`{entry.name}`: {why}") for entry, why in rest),
                Related(use.span, f"compose service `{use.service}` loads it here"),
            ),
            fix=f"Rotate the values, commit {env_file.path} with placeholders only (or stop "
            "committing it: add it to .gitignore), and provide the real values at deploy time.",
            headline=f"{env_file.path.rsplit('/', 1)[-1]} commits {len(committed)} secret value(s)",
        )


RULE = Rule(
    code="ENV005",
    name="plaintext-secret-committed",
    severity=Severity.ERROR,
    summary="A Secret manifest commits real secret values (not placeholders).",
    check=check,
    other_severities=(Severity.WARNING,),  # a Secret its own comment calls a demo
)
