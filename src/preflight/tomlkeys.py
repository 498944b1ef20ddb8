"""Where a key is written in a TOML document: the line a configuration error points to.

tomllib keeps no positions. This scanner reads a document tomllib has already accepted and
records, for every key path, the line that first writes it: a table header (``[tool.preflight]``,
``[[x]]``), a key/value pair (each prefix of a dotted key too: ``a.b = 1`` writes ``a`` and
``a.b``). Multi-line strings and arrays are skipped, so their contents are never taken for keys.
Keys inside an inline table are not recorded: :func:`line_of` falls back to the key that holds
the table, which is on the same line.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def line_of(text: str, path: Sequence[str]) -> int | None:
    """The 1-based line that writes ``path``, or the nearest enclosing key that is written."""
    lines = key_lines(text)
    keys = tuple(path)
    while keys:
        if keys in lines:
            return lines[keys]
        keys = keys[:-1]
    return None


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Every key path the document writes, with the 1-based line that first writes it."""
    found: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    scanner = _ValueScanner()
    for number, line in enumerate(text.splitlines(), start=1):
        if scanner.inside:  # a multi-line string or array continues on this line
            scanner.scan(line, 0)
            continue
        start = len(line) - len(line.lstrip())
        if start == len(line) or line[start] == "#":
            continue
        if line[start] == "[":
            double = line.startswith("[[", start)
            keys, _ = _parse_key(line, start + (2 if double else 1))
            if keys:
                table = tuple(keys)
                for depth in range(1, len(table) + 1):
                    found.setdefault(table[:depth], number)
            continue
        keys, end = _parse_key(line, start)
        if not keys or end >= len(line) or line[end] != "=":
            continue
        for depth in range(1, len(keys) + 1):
            found.setdefault((*table, *keys[:depth]), number)
        scanner.scan(line, end + 1)
    return found


def _parse_key(line: str, position: int) -> tuple[list[str], int]:
    """A dotted key starting at ``position``: its parts and the index after it (and after the
    spaces that follow it). Empty parts when the text there is not a key."""
    parts: list[str] = []
    index = position
    while True:
        index = _skip_spaces(line, index)
        if index >= len(line):
            return [], index
        char = line[index]
        if char in "\"'":
            close = _string_end(line, index)
            if close is None:
                return [], index
            parts.append(_decode(line[index:close]))
            index = close
        else:
            end = index
            while end < len(line) and line[end] in _BARE:
                end += 1
            if end == index:
                return [], index
            parts.append(line[index:end])
            index = end
        index = _skip_spaces(line, index)
        if index < len(line) and line[index] == ".":
            index += 1
            continue
        return parts, index


def _skip_spaces(line: str, index: int) -> int:
    while index < len(line) and line[index] in " \t":
        index += 1
    return index


def _string_end(line: str, start: int) -> int | None:
    """The index after the one-line string opened at ``start`` (escapes in "basic" strings)."""
    quote = line[start]
    index = start + 1
    while index < len(line):
        char = line[index]
        if quote == '"' and char == "\\":
            index += 2
            continue
        if char == quote:
            return index + 1
        index += 1
    return None


def _decode(quoted: str) -> str:
    """A quoted key's text, escapes resolved by TOML's own rules."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        value = tomllib.loads(f"k = {quoted}")["k"]
    except tomllib.TOMLDecodeError:
        return quoted[1:-1]
    return value if isinstance(value, str) else quoted[1:-1]


class _ValueScanner:
    """Follows a value across lines: open brackets and multi-line strings."""

    def __init__(self) -> None:
        self.depth = 0
        self.multiline: str | None = None  # the closing delimiter of an open multi-line string

    @property
    def inside(self) -> bool:
        return self.depth > 0 or self.multiline is not None

    def scan(self, line: str, index: int) -> None:
        while index < len(line):
            if self.multiline is not None:
                close = line.find(self.multiline, index)
                while close >= 0 and self.multiline == '"""' and _escaped(line, close):
                    close = line.find(self.multiline, close + 1)
                if close < 0:
                    return
                index = close + 3
                while index < len(line) and line[index] == self.multiline[0]:
                    index += 1  # up to two quotes may end the string's content
                self.multiline = None
                continue
            char = line[index]
            if char == "#":
                return
            if line.startswith('"""', index) or line.startswith("'''", index):
                self.multiline = line[index : index + 3]
                index += 3
                continue
            if char in "\"'":
                end = _string_end(line, index)
                index = len(line) if end is None else end
                continue
            if char in "[{":
                self.depth += 1
            elif char in "]}":
                self.depth = max(0, self.depth - 1)
            index += 1


def _escaped(line: str, index: int) -> bool:
    """True when the character at ``index`` follows an odd number of backslashes."""
    count = 0
    while index - count - 1 >= 0 and line[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1
