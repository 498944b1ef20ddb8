"""ENV005 plaintext-secret-committed: a Secret manifest with real-looking values."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.graph import Deployment
from preflight.model.settings import is_placeholder


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    project = graph.files
    for manifest in project.manifests.values():
        for secret in manifest.secrets:
            for key, value in secret.keys.items():
                if value.value is None or is_placeholder(value.value):
                    continue
                yield ctx.report(
                    f"Secret `{secret.obj.name}` key `{key}` holds a committed value "
                    f"({len(value.value)} characters"
                    f"{', base64 in data' if value.from_data else ''}): "
                    "base64 is not encryption, and the value is now in version control.",
                    value.span,
                    fix="Rotate the value, replace it with a placeholder, and deliver the real one "
                    "with an ExternalSecret, SealedSecret or your secret manager.",
                )


RULE = Rule(
    code="ENV005",
    name="plaintext-secret-committed",
    severity=Severity.ERROR,
    summary="A Secret manifest commits real values (not placeholders).",
    check=check,
)
