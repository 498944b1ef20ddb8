"""PF003 malformed-suppression: a suppression marker preflight cannot read.

``# preflight: ignore PRB004`` (no brackets), ``ignore [PRB004]``, ``ignroe[PRB004]``, a bare
``ignore-file``, a marker at the end of a Dockerfile instruction, a ``preflight.dev/ignore``
annotation that is not a list of codes: each suppresses nothing — never every code — and is
reported with the marker as it should be written. The engine reports it while filtering (the
markers are read there); the rule is registered here so it can be selected, ignored and
explained like any other.
"""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.graph import Deployment


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    return iter(())


RULE = Rule(
    code="PF003",
    name="malformed-suppression",
    severity=Severity.WARNING,
    summary="A `# preflight: ignore` marker is malformed, so it suppresses nothing.",
    check=check,
)
