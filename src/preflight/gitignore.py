"""Which files git ignores: `.gitignore` patterns, read as git reads them.

A file git ignores is not in the repository: a local `.env` with real credentials is not
"committed", and a `.env` that only exists on a developer's machine is not the project's
example. discover builds one :class:`GitIgnore` while it walks (each directory's `.gitignore`
applies below that directory; the root's `.git/info/exclude` too) and asks it about the files
where committed-or-not matters.

The rules are those of gitignore(5):

- blank lines and lines starting with `#` are skipped; `\\#` and `\\!` escape a leading `#`/`!`;
  trailing spaces are dropped unless escaped with a backslash;
- `!` re-includes what an earlier pattern excluded, except a file whose parent directory is
  excluded (git does not descend into it);
- a trailing `/` matches directories only;
- a pattern with a `/` at its start or in its middle is relative to its `.gitignore`'s
  directory; otherwise it matches a name at any depth below it;
- `*` and `?` do not match `/`, `[...]` is a character class, `**/` matches any leading
  directories, `/**` everything inside, and `/**/` zero or more directories;
- a deeper `.gitignore` takes precedence over a shallower one, and within a file the last
  matching pattern decides.

A file that is tracked although it matches (`git add -f`) cannot be told apart without reading
the index; it is treated as ignored, which only makes the rules that ask quieter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace


@dataclass(frozen=True, slots=True)
class Pattern:
    base: str  # the directory of the .gitignore, relative to the root ("" for the root)
    regex: re.Pattern[str]
    negated: bool
    directory_only: bool
    source: str  # "sub/.gitignore:3" — for --verbose
    # For a .gitignore above the checked root: the root's path relative to that file's
    # directory (``services/api/``), put before every root-relative path it is asked about.
    above: str = ""

    def matches(self, rel: str, is_dir: bool) -> bool:
        if self.directory_only and not is_dir:
            return False
        if self.above:
            rel = self.above + rel
        elif self.base:
            if not rel.startswith(self.base + "/"):
                return False
            rel = rel[len(self.base) + 1 :]
        return self.regex.fullmatch(rel) is not None


@dataclass(slots=True)
class GitIgnore:
    """The ignore patterns seen so far, in precedence order (shallow first)."""

    patterns: list[Pattern] = field(default_factory=list)

    def add(self, base: str, text: str, source: str, above: str = "") -> None:
        """The patterns of one ignore file, whose patterns are relative to ``base`` (below the
        root), or to the directory ``above`` the root (the root's path relative to it)."""
        prefix = above.strip("/") + "/" if above.strip("/") else ""
        for number, line in enumerate(text.splitlines(), start=1):
            pattern = compile_pattern(base, line, f"{source}:{number}")
            if pattern is not None:
                self.patterns.append(replace(pattern, above=prefix) if prefix else pattern)

    def ignored(self, rel: str, is_dir: bool = False, first: int = 0) -> str | None:
        """Where the pattern that ignores ``rel`` is written (``.gitignore:2``), or None.

        A path inside an ignored directory is ignored whatever a later `!` says. The first
        ``first`` parts of ``rel`` (a directory the user named, and its parents) are not asked
        about: only the directories below them, and ``rel`` itself."""
        if not self.patterns:
            return None
        parts = rel.split("/")
        for depth in range(first + 1, len(parts)):
            why = self.decide("/".join(parts[:depth]), True)
            if why is not None:
                return why
        return self.decide(rel, is_dir)

    def decide(self, rel: str, is_dir: bool) -> str | None:
        """Whether ``rel`` itself is ignored, its parent directories being known not to be
        (a walk that never enters an ignored directory asks only this)."""
        # Patterns are kept shallow .gitignore first, each file in line order, so the last
        # match is the deciding one (deeper files and later lines win).
        for pattern in reversed(self.patterns):
            if pattern.matches(rel, is_dir):
                return None if pattern.negated else pattern.source
        return None


def compile_pattern(base: str, line: str, source: str) -> Pattern | None:
    """One line of a `.gitignore`, or None for a blank line or a comment."""
    text = _strip_trailing_spaces(line)
    if not text or text.startswith("#"):
        return None
    negated = text.startswith("!")
    if negated or text.startswith(("\\!", "\\#")):
        text = text[1:]  # the `!` itself, or the backslash that escapes a literal `!`/`#`
    directory_only = text.endswith("/")
    text = text.rstrip("/")
    if not text:
        return None
    anchored = "/" in text  # a slash at the start or in the middle
    text = text.lstrip("/")
    body = _translate(text)
    regex = body if anchored else f"(?:.*/)?{body}"
    return Pattern(base, re.compile(regex, re.S), negated, directory_only, source)


def _strip_trailing_spaces(line: str) -> str:
    text = line.rstrip("\n")
    stripped = text.rstrip(" ")
    if stripped.endswith("\\") and len(stripped) < len(text):
        return stripped[:-1] + " "  # `foo\ ` keeps one escaped space
    return stripped


def _translate(pattern: str) -> str:
    """A gitignore glob as a regular expression matched against a relative path."""
    out: list[str] = []
    index = 0
    length = len(pattern)
    while index < length:
        char = pattern[index]
        if char == "*":
            if pattern.startswith("**", index):
                at_start = index == 0 or pattern[index - 1] == "/"
                after = index + 2
                if at_start and (after == length or pattern[after] == "/"):
                    if after == length:
                        out.append(".*")  # `foo/**`: everything inside
                        index = after
                    else:
                        out.append("(?:.*/)?")  # `**/foo`, `a/**/b`: any directories, or none
                        index = after + 1
                    continue
            out.append("[^/]*")
            index += 1
            while index < length and pattern[index] == "*":
                index += 1  # `**` not between slashes is one `*`
            continue
        if char == "?":
            out.append("[^/]")
        elif char == "\\" and index + 1 < length:
            index += 1
            out.append(re.escape(pattern[index]))
        elif char == "[":
            end = _class_end(pattern, index)
            if end is None:
                out.append(re.escape(char))
            else:
                inner = pattern[index + 1 : end]
                negate = inner[:1] in ("!", "^")
                if negate:
                    inner = inner[1:]
                inner = inner.replace("\\", "\\\\")
                out.append(f"[{'^' if negate else ''}{inner}]")
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


def _class_end(pattern: str, start: int) -> int | None:
    """The index of the `]` closing the class opened at ``start``, or None."""
    index = start + 1
    if index < len(pattern) and pattern[index] in "!^":
        index += 1
    if index < len(pattern) and pattern[index] == "]":
        index += 1  # a `]` first in the class is literal
    while index < len(pattern):
        if pattern[index] == "]":
            return index
        index += 1
    return None
