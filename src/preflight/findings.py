"""What a rule reports, and the metadata every rule declares."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from preflight.spans import Related, Span


class Severity(str, enum.Enum):
    """How bad a finding is: ``error`` (the deploy fails or is insecure), ``warning``, ``info``."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


@dataclass(frozen=True, slots=True)
class Finding:
    code: str  # stamped by RuleContext.report from the rule's registration, never by the rule
    severity: Severity
    message: str
    span: Span
    related: tuple[Related, ...] = ()
    fix: str | None = None
    fingerprint: str = ""  # stable identity across edits (set by the engine; see baseline.py)
    name: str = ""  # the rule's name, stamped with the code by RuleContext.report

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.span.path, self.span.line, self.span.col, self.code, self.message)


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleInfo:
    """A rule's identity (stable once released): what reporters and `preflight rules` show.

    The check itself is in ``preflight.checks.rule.Rule``, which extends this: the layers below
    the rules (findings, reporters) know a rule only by its identity.
    """

    code: str  # e.g. "PKG001"
    name: str  # kebab-case, e.g. "command-not-installed"
    severity: Severity  # what it reports unless a finding says otherwise
    summary: str  # one line, for `preflight rules` and the README table
    # Every severity the rule reports at, when it reports at more than one (ENV003: a missing
    # variable is a warning, a missing .env.example only info). Empty: just ``severity``.
    other_severities: tuple[Severity, ...] = ()

    @property
    def severities(self) -> tuple[Severity, ...]:
        return (self.severity, *self.other_severities)


class UndeclaredSeverity(ValueError):
    """A rule reported at a severity its registration does not declare (a bug in the rule)."""


@dataclass(slots=True)
class RuleContext:
    """What a rule may use besides the model: its options, a way to report a finding (stamped
    with the rule's identity), and a place to say why it is silent."""

    code: str
    options: dict[str, object] = field(default_factory=dict)
    silences: list[tuple[Span | None, str]] = field(default_factory=list)
    severities: tuple[Severity, ...] = (Severity.ERROR,)  # the rule's declared severities
    name: str = ""

    @classmethod
    def of(cls, rule: RuleInfo, options: dict[str, object] | None = None) -> RuleContext:
        return cls(rule.code, dict(options or {}), severities=rule.severities, name=rule.name)

    def report(
        self,
        message: str,
        span: Span,
        related: tuple[Related, ...] = (),
        fix: str | None = None,
        *,
        severity: Severity | None = None,
    ) -> Finding:
        """A finding of this rule: code and severity come from its registration (``severity``
        picks one of the others it declares)."""
        chosen = self.severities[0] if severity is None else severity
        if chosen not in self.severities:
            raise UndeclaredSeverity(
                f"{self.code} reported at {chosen.value}, which its registration does not declare"
            )
        return Finding(self.code, chosen, message, span, related, fix, name=self.name)

    def silent(self, span: Span | None, why: str) -> None:
        """Record that the rule could not be sure here (printed under ``--verbose``)."""
        self.silences.append((span, why))


def matches(code: str, selector: str) -> bool:
    """``PKG`` and ``PKG0`` select ``PKG001``; ``ALL`` selects everything."""
    return selector == "ALL" or code.startswith(selector.upper())
