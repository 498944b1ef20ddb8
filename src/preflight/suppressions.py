"""Inline suppressions: ``# preflight: ignore[PKG001]`` at the end of a line or on the line above.

A comment alone on its line applies to the next line (for a Dockerfile, to the whole next
instruction, continuation lines included); a trailing comment applies to its own line. Dockerfiles
have no trailing comments (``#`` mid-line is part of the instruction), so only the first form is
read there. Without codes, every finding on the line is suppressed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from preflight.spans import Span

_COMMENT = re.compile(r"#\s*preflight:\s*ignore(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)


@dataclass(slots=True)
class Suppression:
    span: Span  # the comment
    codes: tuple[str, ...] | None  # None: all codes
    lines: range  # lines it applies to
    used: set[str] = field(default_factory=set)


def _python_comment_lines(text: str) -> set[int] | None:
    """Lines of a Python file that hold a real ``#`` comment (not a ``#`` inside a string);
    None when the file does not tokenize (then every line is considered)."""
    import io
    import tokenize

    lines: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                lines.add(token.start[0])
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None
    return lines


def find_suppressions(
    path: str, text: str, dockerfile: bool, python: bool = False
) -> list[Suppression]:
    if "preflight" not in text:
        return []
    out: list[Suppression] = []
    lines = text.split("\n")
    comment_lines = _python_comment_lines(text) if python else None
    for index, line in enumerate(lines):
        match = _COMMENT.search(line)
        if match is None:
            continue
        if comment_lines is not None and index + 1 not in comment_lines:
            continue  # the marker inside a string or docstring is not a comment
        own_line = line[: match.start()].strip() == ""
        if dockerfile and not own_line:
            continue
        codes_text = match.group("codes")
        codes = (
            tuple(code.strip().upper() for code in codes_text.split(",") if code.strip())
            if codes_text is not None
            else None
        )
        number = index + 1
        span = Span(path, number, match.start() + 1, number, match.end() + 1)
        if own_line:
            first = number + 1
            while first <= len(lines) and lines[first - 1].lstrip().startswith("#"):
                first += 1  # a stack of comments above one line
            last = first
            if dockerfile:
                while last <= len(lines) and lines[last - 1].rstrip().endswith("\\"):
                    last += 1
            out.append(Suppression(span, codes, range(first, last + 1)))
        else:
            out.append(Suppression(span, codes, range(number, number + 1)))
    return out
