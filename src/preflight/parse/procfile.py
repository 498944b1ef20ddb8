"""Procfiles (Heroku and buildpack platforms): ``web: gunicorn app:app``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from preflight.spans import Span

_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")


@dataclass(frozen=True)
class ProcessType:
    name: str
    command: str  # shell text
    span: Span  # the command part of the line


def parse_procfile(path: str, text: str) -> tuple[ProcessType, ...]:
    out: list[ProcessType] = []
    for number, line in enumerate(text.split("\n"), start=1):
        match = _LINE.match(line.strip())
        if match is None or line.lstrip().startswith("#"):
            continue
        col = line.index(match.group(2)) + 1
        out.append(
            ProcessType(
                match.group(1),
                match.group(2).strip(),
                Span(path, number, col, number, len(line.rstrip()) + 1),
            )
        )
    return tuple(out)
