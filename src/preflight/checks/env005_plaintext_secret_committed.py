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
from preflight.knowledge.sensitive import is_sensitive_name
from preflight.model.graph import Deployment
from preflight.model.settings import is_placeholder
from preflight.redact import url_password
from preflight.spans import Related

_PUBLIC_KEY = re.compile(
    r"-----BEGIN (?:[A-Z]+ )?PUBLIC KEY-----|-----BEGIN CERTIFICATE-----|"
    r"^(?:ssh-(?:rsa|ed25519|dss)|ecdsa-sha2-\S+) ",
    re.M,
)
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
_KEY_FILES = (".key", ".pem", ".p12", ".pfx", ".jks", ".keystore")
# A value made only of words that say what it stands for: `db-password`, `my_secret_key`,
# `tu_valor_secreto`. Real credentials are random or at least carry digits or symbols.
_SELF_DESCRIBING = re.compile(r"^[a-z]+(?:[-_.][a-z]+)*$", re.I)
_DESCRIBING_WORDS = re.compile(
    r"pass(?:word)?|pwd|secret|secreto|token|key|clave|valor|value|your|tu|my|mi|here|aqui",
    re.I,
)


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


def describes_itself(value: str) -> bool:
    """`db-password`, `your-secret-key`, `tu_valor_secreto`: a placeholder written as words."""
    text = value.strip()
    if not _SELF_DESCRIBING.match(text):
        return False
    words = re.split(r"[-_.]", text)
    return any(_DESCRIBING_WORDS.fullmatch(word) for word in words)


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    project = graph.files
    for manifest in project.manifests.values():
        for secret in manifest.secrets:
            if secret.encrypted:
                continue
            committed = []
            for key, value in secret.keys.items():
                text = value.value
                if text is None or is_placeholder(text):
                    continue
                why = why_sensitive(key, text)
                if why is None:
                    continue
                if "://" in text:
                    password = url_password(text) or ""
                    if is_placeholder(password) or describes_itself(password):
                        continue
                elif describes_itself(text):
                    continue
                committed.append((key, value, why))
            if not committed:
                continue
            committed.sort(key=lambda item: item[1].span)  # file order: data and stringData mix
            (_, first, _), rest = committed[0], committed[1:]
            names = ", ".join(
                f"`{key}` ({len(value.value or '')} characters)" for key, value, _ in committed
            )
            encoded = " (base64 in `data`)" if any(v.from_data for _, v, _ in committed) else ""
            yield ctx.report(
                f"Secret `{secret.obj.name}` commits {len(committed)} secret value(s){encoded}: "
                f"{names}. Base64 is not encryption: the values are now in version control.",
                first.span,
                tuple(Related(value.span, f"`{key}`: {why}") for key, value, why in rest),
                fix="Rotate the values, replace them with placeholders, and deliver the real ones "
                "with an ExternalSecret, SealedSecret, SOPS or your secret manager.",
            )


RULE = Rule(
    code="ENV005",
    name="plaintext-secret-committed",
    severity=Severity.ERROR,
    summary="A Secret manifest commits real secret values (not placeholders).",
    check=check,
)
