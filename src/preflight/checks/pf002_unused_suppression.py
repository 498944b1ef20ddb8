"""PF002 unused-suppression: a ``# preflight: ignore`` comment that suppresses nothing.

The engine reports it after filtering (only it knows which suppressions were used); the rule is
registered here so it can be selected, ignored and explained like any other.
"""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.graph import Deployment


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    return iter(())


RULE = Rule(
    code="PF002",
    name="unused-suppression",
    severity=Severity.WARNING,
    summary="A `# preflight: ignore` marker or annotation suppresses nothing.",
    check=check,
)
