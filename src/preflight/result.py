"""What a check produces and the reporters format: findings, the lines they point into, notes.

Reporters import only this and ``preflight.findings``: they know rules by the identity stamped
on each finding and by ``Result.rules``, never through the engine or the rule registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from preflight.findings import Finding, RuleInfo, Severity


@dataclass(slots=True)
class Result:
    root: str  # as given on the command line
    findings: list[Finding]
    sources: dict[str, list[str]]  # lines of the files findings point into (for the reporter)
    notes: list[str] = field(default_factory=list)  # --verbose: skipped files, silent rules
    files_checked: int = 0
    internal_errors: list[str] = field(default_factory=list)
    rules: tuple[RuleInfo, ...] = ()  # every rule preflight knows (SARIF lists them)
    suppressed: int = 0  # findings hidden by a suppression comment or per-file-ignores
    fail_on: Severity = Severity.ERROR  # the lowest severity that fails the run (--fail-on)
