"""``.env.example`` / ``.env.sample`` files: the variables a project documents."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from preflight.parse import ParseProblem
from preflight.spans import Span

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$")


@dataclass(frozen=True)
class EnvEntry:
    name: str
    value: str = field(repr=False)  # may be a real secret: never printed
    span: Span


@dataclass(frozen=True)
class EnvFile:
    path: str
    entries: tuple[EnvEntry, ...]
    problems: tuple[ParseProblem, ...]


def parse_env_file(path: str, text: str) -> EnvFile:
    entries: list[EnvEntry] = []
    problems: list[ParseProblem] = []
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            problems.append(
                ParseProblem(
                    Span(path, number, 1, number, len(line) + 1),
                    "not a `NAME=value` line; tools that load this file will reject or skip it",
                )
            )
            continue
        value = match.group(2).strip()
        if value[:1] in ("'", '"') and value.endswith(value[0]) and len(value) >= 2:
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        col = match.start(1) + 1
        entries.append(
            EnvEntry(
                match.group(1), value, Span(path, number, col, number, col + len(match.group(1)))
            )
        )
    return EnvFile(path, tuple(entries), tuple(problems))
