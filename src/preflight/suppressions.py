"""Suppression markers: ``# preflight: ignore[PKG001]`` comments and their grammar.

Where a marker may stand, and what it covers:

* at the end of a line: that line (in Python, a marker after a multi-line string covers the
  whole string);
* alone on its line: the next line that is not a comment (for a Dockerfile, the whole next
  instruction, continuation lines included; elsewhere a line continued with ``\\`` and its
  continuation lines). Dockerfiles have no end-of-line comments (``#`` mid-line is part of the
  instruction), so only this form works there;
* ``# preflight: ignore-file[CODE, ...]`` anywhere in a file: the whole file;
* in YAML, a marker on (or alone above) a key's line covers the key's whole value, and one on a
  list item's line the whole item; a Kubernetes object's ``preflight.dev/ignore`` annotation
  covers the object (both read by ``preflight.filter``, which knows YAML's structure).

The grammar is strict, because a typo must never widen a suppression: only ``ignore`` with
nothing after it (but a reason) suppresses every code; ``ignore[CODE, ...]`` may be followed by
a reason, after ``--`` or a further ``#``. Anything else (``ignore[ENV001`` without ``]``,
``ignore [ENV001]``, ``ignore ENV001``, ``ignored``, ``ignroe[ENV001]``, a bare
``ignore-file``) is malformed: it suppresses nothing and is reported as PF003 with the marker
as it should be written.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Literal

from preflight.spans import Span

Scope = Literal["line", "file", "annotation"]

# The marker; what follows the directive decides what kind of suppression it is.
_COMMENT = re.compile(r"#\s*preflight\s*:\s*(?P<directive>ignore-file|ignore)", re.IGNORECASE)
# Any other `# preflight: word`: a misspelt directive when the word is close to one.
_OTHER = re.compile(r"#\s*preflight\s*:\s*(?P<word>[A-Za-z][\w-]*)")
_DIRECTIVES = ("ignore", "ignore-file")
# What other linters call it: written out of habit, never honoured, always reported.
_FOREIGN = frozenset({"noqa", "disable", "skip", "suppress", "nolint", "nosec", "skip-file"})
_CODES = re.compile(r"\[(?P<codes>[^\]\n]*)\](?P<after>.*)")
# After the codes: nothing, or a reason after `--` or a further `#` comment.
_AFTER_CODES = re.compile(r"\s*--(?P<reason>.*)|\s+#(?P<comment>.*)")
# Nothing after `ignore` but perhaps a reason (`ignore -- generated file`): every code.
_BARE_REASON = re.compile(r"\s*(?:--(?P<reason>.*))?")
_CODE_LIKE = re.compile(r"\b[A-Za-z]{2,4}[0-9]{3}\b")
# An exec-form (JSON) instruction before a Dockerfile's end-of-line marker: the parser reports
# it as PF001 (the comment makes the line shell form), so no second finding is made here.
_JSON_FORM = re.compile(r"^\s*[A-Za-z]+\s+(?:--\S+\s+)*(?P<array>\[.*\])\s*$")
_HOW = "`# preflight: ignore[CODE, ...]`"
EVERY_LINE = range(1, 1 << 31)


@dataclass(slots=True)
class Suppression:
    span: Span  # the marker (or the annotation's value)
    codes: tuple[str, ...] | None  # None: all codes
    lines: range  # lines it applies to
    used: set[str] = field(default_factory=set)
    malformed: str | None = None  # why the marker is not a valid suppression (PF003)
    fix: str | None = None  # how to write it (PF003)
    reason: str | None = None  # what follows the codes: `-- probed by the mesh`
    scope: Scope = "line"


@dataclass(frozen=True, slots=True)
class Parsed:
    """A marker's text after the directive, read."""

    codes: tuple[str, ...] | None  # None: every code; () when malformed
    reason: str | None
    length: int  # characters of the marker proper (directive to `]`)
    malformed: str | None = None
    fix: str | None = None


def _written(directive: str, codes: list[str], reason: str | None) -> str:
    marker = f"# preflight: {directive}[{', '.join(codes)}]" if codes else _HOW
    return f"{marker} -- {reason}" if codes and reason else marker


def _codes_in(text: str) -> list[str]:
    return list(dict.fromkeys(code.upper() for code in _CODE_LIKE.findall(text)))


def _malformed(directive: str, why: str, rest: str, reason: str | None = None) -> Parsed:
    codes = _codes_in(rest)
    if codes:
        fix = f"Write it as `{_written(directive, codes, reason)}`."
    else:
        how = f"`# preflight: {directive}[CODE, ...]`"
        fix = f"Write {how}: the codes in brackets right after `{directive}`."
    return Parsed((), None, 0, why, fix)


def parse_marker(directive: str, rest: str) -> Parsed:
    """The text after ``ignore`` or ``ignore-file`` (see the module docstring)."""
    directive = directive.lower()
    bare = _BARE_REASON.fullmatch(rest)
    if bare is not None:
        if directive == "ignore-file":
            return Parsed(
                (),
                None,
                0,
                "`ignore-file` needs the codes it ignores",
                "Name the codes: `# preflight: ignore-file[CODE, ...]` (to skip a file for "
                "every rule, list it in `exclude` in the configuration).",
            )
        return Parsed(None, (bare.group("reason") or "").strip() or None, 0)
    match = _CODES.match(rest)
    if match is None:
        if rest.startswith("["):
            return _malformed(directive, "no closing `]`", rest)
        if rest.lstrip().startswith("["):
            return _malformed(directive, f"nothing may come between `{directive}` and `[`", rest)
        if _codes_in(rest):
            return _malformed(directive, "no brackets around the codes", rest)
        return _malformed(
            directive, f"text after `{directive}` that is not a bracketed list of codes", rest
        )
    after = match.group("after")
    reason: str | None = None
    if after.strip():
        found = _AFTER_CODES.fullmatch(after)
        if found is None:
            return _malformed(
                directive,
                "text after the closing `]` (a reason goes after `--`)",
                match.group("codes"),
                after.strip(),
            )
        reason = (found.group("reason") or found.group("comment") or "").strip() or None
    codes = tuple(code.strip().upper() for code in match.group("codes").split(",") if code.strip())
    if not codes:
        return Parsed((), None, 0, "no codes in the brackets", f"Write {_HOW} with the codes.")
    return Parsed(codes, reason, match.end("codes") + 1)


def parse_annotation(text: str) -> Parsed:
    """A ``preflight.dev/ignore`` annotation's value: ``"PRB001,ENV004 -- reason"``."""
    value, _, reason = text.partition("--")
    codes = tuple(code.upper() for code in re.split(r"[\s,]+", value.strip()) if code)
    if not codes or not all(re.fullmatch(r"[A-Z]+[0-9]{3}", code) for code in codes):
        found = _codes_in(value)
        fix = (
            f'Write the codes separated by commas: `preflight.dev/ignore: "{",".join(found)}"`.'
            if found
            else 'Write the codes separated by commas: `preflight.dev/ignore: "PRB001,ENV004"`.'
        )
        return Parsed((), None, 0, "the annotation's value is not a list of rule codes", fix)
    return Parsed(codes, reason.strip() or None, len(text))


def _is_exec_form(instruction: str) -> bool:
    """``CMD ["gunicorn", "app:app"]``: a JSON array of strings after the keyword (and flags)."""
    import json

    found = _JSON_FORM.match(instruction)
    if found is None:
        return False
    try:
        value = json.loads(instruction[found.start("array") :])
    except ValueError:
        return False
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _near_directive(word: str) -> str | None:
    """The directive a misspelt one stands for (``ignroe`` → ``ignore``), or None."""
    lower = word.lower()
    if lower in _FOREIGN:
        return "ignore-file" if "file" in lower else "ignore"
    close = difflib.get_close_matches(lower, _DIRECTIVES, n=1, cutoff=0.75)
    return close[0] if close else None


def _python_layout(text: str) -> tuple[set[int], dict[int, int]] | None:
    """Lines of a Python file that hold a real ``#`` comment (not a ``#`` inside a string), and
    for each line a multi-line string ends on, the line it starts on; None when the file does
    not tokenize (then every line is considered)."""
    import io
    import tokenize

    lines: set[int] = set()
    strings: dict[int, int] = {}
    string_types = {tokenize.STRING}
    fstring_start = getattr(tokenize, "FSTRING_START", None)
    fstring_end = getattr(tokenize, "FSTRING_END", None)
    open_fstrings: list[int] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                lines.add(token.start[0])
            elif token.type in string_types and token.end[0] > token.start[0]:
                first, last = token.start[0], token.end[0]
                strings[last] = min(strings.get(last, first), first)
            elif fstring_start is not None and token.type == fstring_start:
                open_fstrings.append(token.start[0])
            elif fstring_end is not None and token.type == fstring_end and open_fstrings:
                start = open_fstrings.pop()
                if token.end[0] > start:
                    strings[token.end[0]] = min(strings.get(token.end[0], start), start)
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None
    return lines, strings


def find_suppressions(path: str, text: str, syntax: str) -> list[Suppression]:
    """The markers of one file whose comments are written in ``syntax`` ("hash", "yaml",
    "dockerfile" or "python"; see ``discover.KINDS``)."""
    if "preflight" not in text:
        return []
    out: list[Suppression] = []
    lines = text.split("\n")
    python = _python_layout(text) if syntax == "python" else None
    for index, line in enumerate(lines):
        if "preflight" not in line:
            continue
        if python is not None and index + 1 not in python[0]:
            continue  # the marker inside a string or docstring is not a comment
        match = _COMMENT.search(line)
        number = index + 1
        if match is None:
            other = _OTHER.search(line)
            near = _near_directive(other.group("word")) if other is not None else None
            if other is None or near is None:
                continue
            rest = line[other.end() :]
            if other.group("word").lower() in _FOREIGN and not (
                rest.lstrip().startswith(("[", ":")) or _CODE_LIKE.search(rest)
            ):
                continue  # `# preflight: skip this step in CI` is prose, not a marker
            parsed = _malformed(near, f"`{other.group('word')}` is not a preflight directive", rest)
            span = Span(path, number, other.start() + 1, number, len(line.rstrip()) + 1)
            out.append(Suppression(span, (), range(0), malformed=parsed.malformed, fix=parsed.fix))
            continue
        own_line = line[: match.start()].strip() == ""
        directive = match.group("directive").lower()
        parsed = parse_marker(directive, line[match.end() :])
        end = match.end() + parsed.length if parsed.malformed is None else len(line.rstrip())
        span = Span(path, number, match.start() + 1, number, end + 1)
        if syntax == "dockerfile" and not own_line:
            if _is_exec_form(line[: match.start()]):
                continue  # PF001: the comment breaks the exec form (see parse.dockerfile)
            marker = line[match.start() :].strip()
            out.append(
                Suppression(
                    Span(path, number, match.start() + 1, number, len(line.rstrip()) + 1),
                    (),
                    range(0),
                    malformed="at the end of a Dockerfile instruction it is part of the "
                    "instruction, not a comment",
                    fix=f"Move `{marker}` alone onto the line above the instruction (a "
                    "Dockerfile has no end-of-line comments).",
                )
            )
            continue
        if parsed.malformed is not None:
            out.append(Suppression(span, (), range(0), malformed=parsed.malformed, fix=parsed.fix))
            continue
        if directive == "ignore-file":
            out.append(
                Suppression(
                    span,
                    parsed.codes,
                    EVERY_LINE,
                    reason=parsed.reason,
                    scope="file",
                )
            )
            continue
        if own_line:
            first = number + 1
            while first <= len(lines) and lines[first - 1].lstrip().startswith("#"):
                first += 1  # a stack of comments above one line
            last = first
            if syntax in ("dockerfile", "hash"):
                while last <= len(lines) and lines[last - 1].rstrip().endswith("\\"):
                    last += 1
            covered = range(first, last + 1)
        else:
            start = python[1].get(number, number) if python is not None else number
            covered = range(start, number + 1)
        out.append(Suppression(span, parsed.codes, covered, reason=parsed.reason))
    return out
