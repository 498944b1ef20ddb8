"""Parsers: one module per file kind. Text in, facts with spans out; never raise on user input."""

from __future__ import annotations

from dataclasses import dataclass

from preflight.spans import Span


@dataclass(frozen=True)
class ParseProblem:
    """A file that could not be read as its kind; reported as PF001 at ``span``."""

    span: Span
    message: str
    fix: str | None = None  # how to fix it, when the parser knows better than "fix the syntax"
