"""Positions in TOML text. tomllib gives values but no lines; this finds them from the text.

Only what findings need: the line of a table header, of a key inside a table, and of a string
value inside a key's array. It never parses values itself.
"""

from __future__ import annotations

import bisect
import re
import sys
from typing import Any

from preflight.parse import ParseProblem
from preflight.spans import Span

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")


def _normalise_header(raw: str) -> str:
    parts = [
        p.strip().strip("\"'")
        for p in re.split(r"\.(?=(?:[^\"']*[\"'][^\"']*[\"'])*[^\"']*$)", raw)
    ]
    return ".".join(parts)


def load_toml(path: str, text: str) -> tuple[dict[str, Any] | None, ParseProblem | None]:
    """Parse TOML; on failure the problem carries the line and column tomllib reports."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        return tomllib.loads(text), None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line ([0-9]+), column ([0-9]+)\)", message)
        line, col = (int(match.group(1)), int(match.group(2))) if match else (1, 1)
        if match is None and "end of document" in message:
            lines = text.rstrip("\n").split("\n")
            line, col = len(lines), len(lines[-1]) + 1  # where the parser ran out of input
        reason = message.split(" (at ")[0]
        return None, ParseProblem(Span(path, line, col), f"invalid TOML: {reason}")
    except (RecursionError, ValueError) as exc:
        return None, ParseProblem(Span(path, 1, 1), f"invalid TOML: {exc}")


_PART = r"(?:\"[^\"\n]*\"|'[^'\n]*'|[^\s.\"'=#\[\]]+)"
_KEY_LINE = re.compile(rf"^\s*({_PART}(?:\s*\.\s*{_PART})*)\s*=")
_KEY_PART = re.compile(_PART)
_QUOTED = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'")


def _normalise_key(raw: str) -> str:
    """``"a" . b`` → ``a.b``: the key of a ``key = value`` line, quotes and spaces removed."""
    return ".".join(part.strip("\"'") for part in _KEY_PART.findall(raw))


class TomlLocator:
    """Finds where tables, keys and string values sit in one TOML file.

    Each table's keys and each key's strings are indexed once, when first asked for, so
    locating every entry of a long dependency list is linear in the file, not quadratic.
    """

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self.lines = text.split("\n")
        self._tables: list[tuple[str, int]] = [("", 0)]  # (table name, 0-based header line)
        for index, line in enumerate(self.lines):
            match = _HEADER.match(line)
            if match and not line.lstrip().startswith("#"):
                self._tables.append((_normalise_header(match.group(1)), index))
        self._first: dict[str, int] = {}  # table name -> its first position in _tables
        for position, (name, _) in enumerate(self._tables):
            self._first.setdefault(name, position)
        self._keys: dict[tuple[int, int], dict[str, int]] = {}  # range -> key -> first line
        self._strings: dict[str, list[tuple[int, int]]] | None = None  # "x" -> (line, col)s

    def _table_range(self, table: str) -> tuple[int, int] | None:
        position = self._first.get(table)
        if position is None:
            return None
        start = self._tables[position][1]
        end = self._tables[position + 1][1] if position + 1 < len(self._tables) else len(self.lines)
        return start, end

    def _line_span(self, index: int) -> Span:
        """The whole of 0-based line ``index``, first non-blank character on."""
        content = self.lines[index].rstrip("\r") if 0 <= index < len(self.lines) else ""
        stripped = content.lstrip()
        col = len(content) - len(stripped) + 1
        return Span(self.path, index + 1, col, index + 1, len(content) + 1)

    def table(self, table: str) -> Span:
        found = self._table_range(table)
        if found is None or (table == "" and found[0] == 0):
            return self._line_span(0)
        return self._line_span(found[0])

    def _key_index(self, start: int, end: int) -> dict[str, int]:
        index = self._keys.get((start, end))
        if index is None:
            index = {}
            for number in range(start, end):
                match = _KEY_LINE.match(self.lines[number])
                if match is not None:
                    index.setdefault(_normalise_key(match.group(1)), number)
            self._keys[(start, end)] = index
        return index

    def _key_line(self, table: str, key: str) -> int | None:
        """0-based line of ``key = ...`` in ``table`` (also ``a.b = ...`` dotted from a parent)."""
        found = self._table_range(table)
        candidates: list[tuple[tuple[int, int], str]] = []
        if found is not None:
            candidates.append((found, key))
        # dotted keys written in a parent table: [project] ... or top level `project.dependencies`
        parts = table.split(".") if table else []
        for cut in range(len(parts) - 1, -1, -1):
            parent = ".".join(parts[:cut])
            parent_range = self._table_range(parent)
            if parent_range is not None:
                candidates.append((parent_range, ".".join([*parts[cut:], key])))
        for (start, end), dotted in candidates:
            wanted = ".".join(part.strip("\"'") for part in dotted.split("."))
            line = self._key_index(start, end).get(wanted)
            if line is not None:
                return line
        return None

    def key(self, table: str, key: str) -> Span:
        index = self._key_line(table, key)
        if index is None:
            return self.table(table)
        line = self.lines[index]
        col = len(line) - len(line.lstrip()) + 1
        key_len = len(line.split("=", 1)[0].rstrip()) - (col - 1)
        return Span(self.path, index + 1, col, index + 1, col + max(key_len, 1))

    def _string_at(self, needle: str, start: int, end: int) -> tuple[int, int] | None:
        """The first (line, column) of the quoted string ``needle`` in lines [start, end)."""
        if self._strings is None:
            self._strings = {}
            for number, line in enumerate(self.lines):
                for match in _QUOTED.finditer(line):
                    self._strings.setdefault(match.group(0), []).append((number, match.start()))
        places = self._strings.get(needle, [])
        found = bisect.bisect_left(places, (start, -1))
        if found < len(places) and places[found][0] < end:
            return places[found]
        return None

    def string_in(self, table: str, key: str, value: str) -> Span:
        """The span of the string ``value`` inside ``key``'s value (an array, usually)."""
        index = self._key_line(table, key)
        if index is None:
            return self.table(table)
        found = self._table_range(table)
        end = found[1] if found is not None else len(self.lines)
        for quote in ('"', "'"):
            needle = f"{quote}{value}{quote}"
            where = self._string_at(needle, index, max(end, index + 1))
            if where is not None:
                line_index, position = where
                return Span(
                    self.path,
                    line_index + 1,
                    position + 1,
                    line_index + 1,
                    position + 1 + len(needle),
                )
        return self.key(table, key)
