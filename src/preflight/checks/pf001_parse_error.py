"""PF001 parse-error: a file a deploy reads could not be parsed; rules skipped what it says."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.graph import Deployment


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    project = graph.files
    for problem in project.problems:
        yield ctx.report(
            problem.message,
            problem.span,
            fix=problem.fix
            or "Fix the syntax; until then preflight cannot check what this file says.",
        )


RULE = Rule(
    code="PF001",
    name="parse-error",
    severity=Severity.ERROR,
    summary="A file the deploy reads is malformed, so it was not checked.",
    check=check,
)
