"""What a rule reports, and the metadata every rule declares."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from preflight.spans import Related, Span

if TYPE_CHECKING:
    from pydantic import BaseModel

    from preflight.model.project import Project


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
    code: str
    severity: Severity
    message: str
    span: Span
    related: tuple[Related, ...] = ()
    fix: str | None = None
    fingerprint: str = ""  # stable identity across edits (set by the engine; see baseline.py)

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.span.path, self.span.line, self.span.col, self.code, self.message)


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule's identity (stable once released) and its check over the project model."""

    code: str  # e.g. "PKG001"
    name: str  # kebab-case, e.g. "command-not-installed"
    severity: Severity
    summary: str  # one line, for `preflight rules` and the README table
    check: Callable[[Project, RuleContext], Iterator[Finding]]
    # The schema of [tool.preflight.rules.<CODE>]: a function returning a pydantic model, so
    # pydantic is imported only when a configuration has something to validate.
    options: Callable[[], type[BaseModel]] | None = None


@dataclass(slots=True)
class RuleContext:
    """What a rule may use besides the model: its options, and a place to say why it is silent."""

    code: str
    options: dict[str, object] = field(default_factory=dict)
    silences: list[tuple[Span | None, str]] = field(default_factory=list)

    def silent(self, span: Span | None, why: str) -> None:
        """Record that the rule could not be sure here (printed under ``--verbose``)."""
        self.silences.append((span, why))
