"""Inline suppressions: ``# preflight: ignore[PKG001]`` at the end of a line or on the line above.

A comment alone on its line applies to the next line (for a Dockerfile, to the whole next
instruction, continuation lines included); a trailing comment applies to its own line. Dockerfiles
have no trailing comments (``#`` mid-line is part of the instruction), so only the first form is
read there. Without codes, every finding on the line is suppressed.

The grammar is strict, because a typo must never widen a suppression: only
``# preflight: ignore`` with nothing after it but whitespace suppresses every code;
``# preflight: ignore[CODE, ...]`` may be followed by whitespace and another ``#`` comment (a
reason). Anything else after ``ignore`` (``ignore[ENV001`` without ``]``, ``ignore [ENV001]``,
``ignore ENV001``, ``ignored``) is malformed: it suppresses nothing and is reported as PF002.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from preflight.spans import Span

# The marker; what follows it decides what kind of suppression it is (see _parse_rest).
_COMMENT = re.compile(r"#\s*preflight\s*:\s*ignore", re.IGNORECASE)
_CODES = re.compile(r"\[(?P<codes>[^\]\n]*)\](?P<after>.*)")
_HOW = (
    "write `# preflight: ignore[CODE, ...]` (the brackets right after `ignore`), "
    "or `# preflight: ignore` alone for every code"
)


@dataclass(slots=True)
class Suppression:
    span: Span  # the comment
    codes: tuple[str, ...] | None  # None: all codes
    lines: range  # lines it applies to
    used: set[str] = field(default_factory=set)
    malformed: str | None = None  # why the comment is not a valid suppression (PF002)


def _parse_rest(rest: str) -> tuple[tuple[str, ...] | None, str | None, int]:
    """(codes, why malformed, length of the suppression text) from the text after ``ignore``.

    codes None: every code. A malformed comment gets codes ``()`` so it suppresses nothing.
    """
    if rest.strip() == "":
        return None, None, 0
    match = _CODES.match(rest)
    if match is None:
        if rest.startswith("["):
            why = "no closing `]`"
        elif rest.lstrip().startswith("["):
            why = "nothing may come between `ignore` and `[`"
        else:
            why = "text after `ignore` that is not a bracketed list of codes"
        return (), why, 0
    after = match.group("after")
    if after.strip() and not re.match(r"\s+#", after):
        return (), "text after the closing `]` (a reason goes in a further `# ...`)", 0
    codes = tuple(code.strip().upper() for code in match.group("codes").split(",") if code.strip())
    if not codes:
        return (), "no codes in the brackets", 0
    return codes, None, match.end("codes") + 1


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
        codes, malformed, length = _parse_rest(line[match.end() :])
        if malformed is not None:
            malformed = f"malformed suppression ({malformed}), so it suppresses nothing: {_HOW}"
        number = index + 1
        span = Span(path, number, match.start() + 1, number, match.end() + length + 1)
        if own_line:
            first = number + 1
            while first <= len(lines) and lines[first - 1].lstrip().startswith("#"):
                first += 1  # a stack of comments above one line
            last = first
            if dockerfile:
                while last <= len(lines) and lines[last - 1].rstrip().endswith("\\"):
                    last += 1
            out.append(Suppression(span, codes, range(first, last + 1), malformed=malformed))
        else:
            out.append(Suppression(span, codes, range(number, number + 1), malformed=malformed))
    return out
