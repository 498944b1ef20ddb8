"""Fixes several rules share: declare a missing distribution where the image installs from,
or add an extra to a requirement as it is written (`sqlalchemy` → `sqlalchemy[asyncio]`)."""

from __future__ import annotations

import re

from preflight.findings import Applicability, Autofix, Edit
from preflight.model.project import Environment
from preflight.spans import Span


def declare(
    environment: Environment, dist: str, locks: dict[str, dict[str, str]]
) -> Autofix | None:
    """Add ``dist`` to the dependency list the image installs: the runtime table of the
    project it installs (an entry of `[project.dependencies]`, a key of Poetry's main group),
    else the requirements file it installs. Unsafe: the version is a choice (a dev group's
    constraint where one declares it, else the lock file's version as a lower bound)."""
    name = dist.split("[", 1)[0]
    if environment.runtime_of:
        project = environment.runtime_of[0]
        directory = project.path.rpartition("/")[0]
        version = next(
            (
                versions[name]
                for lock, versions in sorted(locks.items())
                if lock.rpartition("/")[0] == directory and name in versions
            ),
            None,
        )
        table = project.runtime_table.strip("[]")
        grouped = next(
            (r.raw.strip() for g in project.groups for r in g.requirements if r.name == name),
            None,
        )
        if grouped is not None and table == "project.dependencies":
            edit = Edit.toml_add(project.path, table, grouped)
        elif table == "tool.poetry.dependencies":
            constraint = f"^{version}" if version else "*"
            entry = f'{dist} = "{constraint}"' if "[" not in dist else None
            if entry is None:
                return None  # Poetry writes extras as a table: left to a person
            edit = Edit.toml_add(project.path, table, entry)
        else:
            edit = Edit.toml_add(project.path, table, f"{dist}>={version}" if version else dist)
        where = f"{project.runtime_table} in {project.path}"
    else:
        target = environment.where_to_declare()
        if target is None or not target.endswith(".txt"):
            return None
        edit, where = Edit.append(target, f"{dist}\n"), target
    then = " (then update the lock file with its tool)" if locks else ""
    return Autofix(Applicability.UNSAFE, f"Add `{dist}` to {where}{then}", (edit,))


def add_extra(raw: str, span: Span, extra: str, locked: bool) -> Autofix | None:
    """`sqlalchemy>=2` → `sqlalchemy[asyncio]>=2` (`sqlalchemy[mypy]` → `[mypy, asyncio]`), at
    the requirement as written: safe, an extra of a dependency already declared. The whole
    requirement is what the engine looks for on its line (a dependency array's string, a
    requirements line): a Poetry table entry (`sqlalchemy = "^2.0"`) is not, and gets no fix."""
    written = raw.strip()
    head = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\s*(\[[^\]]*\]))?", written)
    if head is None:
        return None
    name, extras = head.group(1), head.group(2)
    inside = extras[1:-1].strip() if extras else ""
    if extra in {e.strip().lower() for e in inside.split(",")}:
        return None
    added = f"{name}[{inside}, {extra}]" if inside else f"{name}[{extra}]"
    then = " (then run `uv lock` / `poetry lock` to update the lock file)" if locked else ""
    return Autofix(
        Applicability.SAFE,
        f"Declare `{name}[{extra}]`{then}",
        (
            Edit.replace_text(
                span.path, span.line, span.col, written, added + written[head.end() :]
            ),
        ),
    )
