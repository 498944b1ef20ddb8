""".dockerignore files: which paths of a build context Docker leaves out, and which line decides.

Read as the Docker CLI and BuildKit read them (moby's ``patternmatcher`` and its ``ignorefile``
reader): a line starting with ``#`` in column 1 is a comment; every other line is trimmed, a
blank one skipped; a leading ``!`` makes the pattern an exception; the pattern is cleaned as Go's
``filepath.Clean`` cleans a path (``./`` and ``//`` collapsed, ``..`` resolved, a trailing ``/``
dropped) and a leading ``/`` removed, so patterns are relative to the context's root.

Matching follows Go's ``filepath.Match`` (``*`` and ``?`` never cross ``/``, ``[...]`` classes,
``\\`` escapes) plus ``**``, which matches any number of directories, none included. A path is
excluded when the pattern matches it or one of its parent directories (so excluding a directory
excludes everything in it); patterns are read in order and the last one that matches decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from preflight.spans import Span

MAX_PATTERNS = 10_000
"""Patterns read from one file; a longer file is read up to here (the rest is not judged)."""


@dataclass(frozen=True)
class IgnorePattern:
    """One line of a .dockerignore: the cleaned pattern and whether it is an exception (``!``)."""

    pattern: str  # cleaned, without the `!`
    exception: bool
    span: Span  # the line as written
    written: str  # the line as written, trimmed

    def matches(self, path: str) -> bool:
        """Whether the pattern matches ``path`` itself (not its parents), as moby does."""
        return _compiled(self.pattern).match(path) is not None


@dataclass(frozen=True)
class DockerIgnore:
    path: str
    patterns: tuple[IgnorePattern, ...]
    truncated: bool = False  # more than MAX_PATTERNS lines: the rest were not read
    _cache: dict[str, IgnorePattern | None] = field(default_factory=dict, compare=False, repr=False)

    def excluded_by(self, path: str) -> IgnorePattern | None:
        """The pattern that leaves ``path`` (relative to the context's root, ``/``-separated)
        out of the build context, or None when the context keeps it.

        moby's ``MatchesOrParentMatches``: for each pattern in order, an exclusion is tried
        only while the path is included and an exception only while it is excluded, each
        against the path and then against each of its parent directories."""
        path = path.strip("/")
        if path in self._cache:
            return self._cache[path]
        parts = path.split("/")
        parents = ["/".join(parts[: index + 1]) for index in range(len(parts) - 1)]
        deciding: IgnorePattern | None = None
        for pattern in self.patterns:
            if pattern.exception != (deciding is not None):
                continue
            matched = pattern.matches(path) or any(pattern.matches(p) for p in parents)
            if matched:
                deciding = None if pattern.exception else pattern
        if len(self._cache) < 100_000:
            self._cache[path] = deciding
        return deciding

    def excludes(self, path: str) -> bool:
        return self.excluded_by(path) is not None

    def may_keep_under(self, directory: str) -> bool:
        """Whether an exception pattern could bring back something under ``directory`` after
        a pattern excluded the directory itself (``docs`` then ``!docs/keep.md``)."""
        prefix = directory.strip("/") + "/"
        return any(
            p.exception and (p.pattern.startswith(prefix) or p.pattern.startswith("*"))
            for p in self.patterns
        )


def glob_matches(pattern: str, path: str) -> bool:
    """Whether a COPY/ADD source glob (Go ``filepath.Match``) matches a context path."""
    return _compiled(clean(pattern).lstrip("/") or ".").match(path) is not None


def parse_dockerignore(path: str, text: str) -> DockerIgnore:
    """Never raises: every line is some pattern (an invalid class just matches nothing)."""
    patterns: list[IgnorePattern] = []
    truncated = False
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw[1:] if number == 1 and raw.startswith("\ufeff") else raw
        if line.startswith("#"):
            continue
        stripped = line.strip()
        if not stripped:
            continue
        exception = stripped.startswith("!")
        pattern = stripped[1:].strip() if exception else stripped
        if pattern:
            pattern = clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        if len(patterns) >= MAX_PATTERNS:
            truncated = True
            break
        start = len(line) - len(line.lstrip()) + 1
        span = Span(path, number, start, number, start + len(stripped))
        patterns.append(IgnorePattern(pattern, exception, span, stripped))
    return DockerIgnore(path, tuple(patterns), truncated)


def clean(path: str) -> str:
    """Go's ``filepath.Clean`` for ``/``-separated paths."""
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    cleaned = "/".join(parts)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


_COMPILED: dict[str, re.Pattern[str]] = {}
_NEVER = re.compile(r"(?!)")


MAX_WILDCARDS = 16
"""Wildcards one pattern may hold; a pattern with more matches nothing (a regular expression
with many ``.*`` can backtrack for a very long time: a hostile file must not hang a check)."""


def _compiled(pattern: str) -> re.Pattern[str]:
    found = _COMPILED.get(pattern)
    if found is None and len(pattern) > 4096:
        found = _NEVER
    if found is None:
        regex = _regex(pattern)
        try:
            found = re.compile(regex, re.S) if regex.count("*") <= MAX_WILDCARDS else _NEVER
        except re.error:  # a malformed class: Go's Match reports ErrBadPattern, nothing matches
            found = _NEVER
        if len(_COMPILED) < 50_000:
            _COMPILED[pattern] = found
    return found


def _regex(pattern: str) -> str:
    """moby ``patternmatcher.Pattern.compile`` for ``/`` as the separator."""
    out = ["^"]
    index = 0
    length = len(pattern)
    while index < length:
        char = pattern[index]
        if char == "*":
            if index + 1 < length and pattern[index + 1] == "*":
                index += 2
                if index < length and pattern[index] == "/":
                    index += 1  # `**/` is `**`
                while pattern.startswith("**/", index):  # `**/**/` is `**/`
                    index += 3
                if index >= length:
                    out.append(".*")  # `**` at the end: everything below
                else:
                    out.append("(.*/)?")  # any number of directories, none included
                continue
            while (
                index + 1 < length
                and pattern[index + 1] == "*"
                and (index + 2 >= length or pattern[index + 2] != "*")
            ):
                break
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\":
            if index + 1 < length:
                index += 1
                out.append(re.escape(pattern[index]))
            else:
                out.append(r"\\")
        elif char == "[":
            end = _class_end(pattern, index)
            if end is None:
                return r"(?!)"  # unterminated class: ErrBadPattern
            body = pattern[index + 1 : end]
            negate = body.startswith("^")
            if negate:
                body = body[1:]
            body = body.replace("[", "\\[")
            out.append(f"[^/{body}]" if negate else f"[{body}]")
            index = end
        else:
            out.append(re.escape(char))
        index += 1
    out.append("$")
    return "".join(out)


def _class_end(pattern: str, start: int) -> int | None:
    index = start + 1
    if index < len(pattern) and pattern[index] == "^":
        index += 1
    if index < len(pattern) and pattern[index] == "]":
        return None  # Go rejects an empty class
    while index < len(pattern):
        if pattern[index] == "\\":
            index += 2
            continue
        if pattern[index] == "]":
            return index
        index += 1
    return None
