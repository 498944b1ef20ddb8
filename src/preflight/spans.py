"""Source positions. One type, 1-based lines and columns everywhere; each parser converts once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Span:
    """A region of a file, relative to the checked root (POSIX separators).

    ``line``/``col`` are 1-based; ``end_line``/``end_col`` are 1-based and the end column is
    exclusive (the column just after the last character), as ruff and SARIF count them.
    """

    path: str
    line: int
    col: int = 1
    end_line: int = 0
    end_col: int = 0

    def __post_init__(self) -> None:
        if self.end_line < self.line:
            object.__setattr__(self, "end_line", self.line)
        if self.end_line == self.line and self.end_col < self.col:
            object.__setattr__(self, "end_col", self.col)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Related:
    """A second place a cross-file finding involves, with a note saying what is there."""

    span: Span
    note: str


def span_of_text(path: str, text: str, offset: int, length: int) -> Span:
    """The span of ``text[offset:offset+length]`` in a file whose content is ``text``."""
    line = text.count("\n", 0, offset) + 1
    line_start = text.rfind("\n", 0, offset) + 1
    col = offset - line_start + 1
    end = offset + length
    end_line = text.count("\n", 0, end) + 1
    end_col = end - (text.rfind("\n", 0, end) + 1) + 1
    return Span(path, line, col, end_line, end_col)


def line_span(path: str, text: str, line: int) -> Span:
    """The whole of 1-based ``line`` (without its newline), first non-blank character on."""
    lines = text.splitlines()
    content = lines[line - 1] if 0 < line <= len(lines) else ""
    stripped = content.lstrip()
    col = len(content) - len(stripped) + 1
    return Span(path, line, col, line, len(content) + 1)
