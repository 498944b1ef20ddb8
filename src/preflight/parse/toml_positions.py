"""Positions in TOML text. tomllib gives values but no lines; this finds them from the text.

Only what findings need: the line of a table header, of a key inside a table, and of a string
value inside a key's array. It never parses values itself.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from preflight.parse import ParseProblem
from preflight.spans import Span, line_span

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
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        line, col = (int(match.group(1)), int(match.group(2))) if match else (1, 1)
        if match is None and "end of document" in message:
            lines = text.rstrip("\n").split("\n")
            line, col = len(lines), len(lines[-1]) + 1  # where the parser ran out of input
        reason = message.split(" (at ")[0]
        return None, ParseProblem(Span(path, line, col), f"invalid TOML: {reason}")
    except (RecursionError, ValueError) as exc:
        return None, ParseProblem(Span(path, 1, 1), f"invalid TOML: {exc}")


class TomlLocator:
    """Finds where tables, keys and string values sit in one TOML file."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self.lines = text.split("\n")
        self._tables: list[tuple[str, int]] = [("", 0)]  # (table name, 0-based header line)
        for index, line in enumerate(self.lines):
            match = _HEADER.match(line)
            if match and not line.lstrip().startswith("#"):
                self._tables.append((_normalise_header(match.group(1)), index))

    def _table_range(self, table: str) -> tuple[int, int] | None:
        for position, (name, start) in enumerate(self._tables):
            if name == table:
                end = (
                    self._tables[position + 1][1]
                    if position + 1 < len(self._tables)
                    else len(self.lines)
                )
                return start, end
        return None

    def table(self, table: str) -> Span:
        found = self._table_range(table)
        if found is None or (table == "" and found[0] == 0):
            return line_span(self.path, self.text, 1)
        return line_span(self.path, self.text, found[0] + 1)

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
            pattern = re.compile(
                r"^\s*"
                + r"\s*\.\s*".join(rf"[\"']?{re.escape(p)}[\"']?" for p in dotted.split("."))
                + r"\s*="
            )
            for index in range(start, end):
                if pattern.match(self.lines[index]):
                    return index
        return None

    def key(self, table: str, key: str) -> Span:
        index = self._key_line(table, key)
        if index is None:
            return self.table(table)
        line = self.lines[index]
        col = len(line) - len(line.lstrip()) + 1
        key_len = len(line.split("=", 1)[0].rstrip()) - (col - 1)
        return Span(self.path, index + 1, col, index + 1, col + max(key_len, 1))

    def string_in(self, table: str, key: str, value: str) -> Span:
        """The span of the string ``value`` inside ``key``'s value (an array, usually)."""
        index = self._key_line(table, key)
        if index is None:
            return self.table(table)
        found = self._table_range(table)
        end = found[1] if found is not None else len(self.lines)
        for quote in ('"', "'"):
            needle = f"{quote}{value}{quote}"
            for line_index in range(index, max(end, index + 1)):
                line = self.lines[line_index]
                position = line.find(needle)
                if position >= 0:
                    return Span(
                        self.path,
                        line_index + 1,
                        position + 1,
                        line_index + 1,
                        position + 1 + len(needle),
                    )
        return self.key(table, key)
