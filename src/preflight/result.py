"""What a check produces and the reporters format: findings, the lines they point into, notes.

Reporters import only this and ``preflight.findings``: they know rules by the identity stamped
on each finding and by ``Result.rules``, never through the engine or the rule registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from preflight.findings import Finding, RuleInfo, Severity
from preflight.spans import Span


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A finding the user chose to hide, and how: a ``# preflight: ignore`` marker
    ("comment", ``span`` the marker), a ``preflight.dev/ignore`` annotation ("annotation",
    ``span`` its value) or ``per-file-ignores`` in the configuration ("config", no span)."""

    finding: Finding
    kind: str  # "comment" | "annotation" | "config"
    span: Span | None
    reason: str | None  # what the marker says after its codes (`-- probed by the mesh`)


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
    suppressions: list[Suppressed] = field(default_factory=list)  # those findings, and how
    # the root holds a Dockerfile, compose file, manifest or Procfile (else: nothing to check)
    deployable: bool = True
