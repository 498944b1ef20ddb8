"""Fixes several rules share: declare a missing distribution where the image installs from,
or add an extra to a requirement as it is written (`sqlalchemy` → `sqlalchemy[asyncio]`)."""

from __future__ import annotations

import posixpath
import re

from preflight.findings import Applicability, Autofix, Edit
from preflight.model.facts import Requirement, normalise_name
from preflight.model.project import Environment, Project
from preflight.spans import Span


def declare(environment: Environment, dist: str, project: Project) -> Autofix | None:
    """Add ``dist`` to the dependency list the image installs: the runtime table of the
    project it installs (an entry of `[project.dependencies]`, a key of Poetry's main group),
    else the requirements file it installs. Unsafe: the version is a choice. Where every other
    requirement of the list is pinned (`==`), the added one is pinned too, to the version the
    project already uses (a pin elsewhere in it, else its lock file's), or the message says to
    pin it; else a dev group's or another requirements file's constraint, else the lock file's
    version as a lower bound."""
    name = normalise_name(dist.split("[", 1)[0])
    if environment.runtime_of:
        pyproject = environment.runtime_of[0]
        directory = posixpath.dirname(pyproject.path)
        neighbours: tuple[Requirement, ...] = pyproject.runtime
        poetry = pyproject.runtime_table == "[tool.poetry.dependencies]"
        target = pyproject.path
        where = f"{pyproject.runtime_table} in {pyproject.path}"
    else:
        target_file = environment.where_to_declare()
        listed = project.requirements.get(target_file) if target_file else None
        if target_file is None or not target_file.endswith(".txt") or listed is None:
            return None
        if listed.hashed:  # pip's hash-checking mode would reject a line without hashes
            return None
        directory = posixpath.dirname(target_file)
        neighbours, poetry, target, where = listed.requirements, False, target_file, target_file
    lock = _nearest_lock(project, directory)
    locked = project.locks.get(lock, {}).get(name) if lock else None
    elsewhere = [r for r in _declared_beside(project, directory, target) if r.name == name]
    pinned = _all_pinned(neighbours, poetry)
    exact = next((v for r in elsewhere if (v := _exact_version(r.specifier))), None)
    source = next((r.span.path for r in elsewhere if _exact_version(r.specifier)), None)
    if exact is None and locked is not None:
        exact, source = locked, lock
    constraint = next((r.specifier for r in elsewhere if r.specifier), "")
    note = ""
    if pinned and exact is not None:
        version = f'"{exact}"' if poetry else f"=={exact}"
        note = f", pinned like the others to the version in {source}"
    elif poetry:
        version = f'"{constraint}"' if constraint else f'"^{locked}"' if locked else '"*"'
    else:
        version = constraint or (f">={locked}" if locked else "")
    if pinned and exact is None:
        note = f"; the others there are pinned (`==`): pin `{dist}` to the version you test with"
    if poetry:
        if "[" in dist:
            return None  # Poetry writes extras as a table: left to a person
        entry = f"{dist} = {version}"
        edit = Edit.toml_add(target, "tool.poetry.dependencies", entry)
    elif environment.runtime_of:
        entry = f"{dist}{version}"
        edit = Edit.toml_add(target, "project.dependencies", entry)
    else:
        entry = f"{dist}{version}"
        edit = Edit.append(target, f"{entry}\n")
        compiled = _compiled_from(project, target, dist, exact)
        if compiled is not None:  # pip-compile writes the file: its input gets the package too
            source_in, in_entry = compiled
            return Autofix(
                Applicability.UNSAFE,
                f"Add `{in_entry}` to {source_in} and `{entry}` to {where}{note} (then run "
                f"`pip-compile {posixpath.basename(source_in)}`, which writes {where} from it)",
                (Edit.append(source_in, f"{in_entry}\n"), edit),
            )
    then = ""
    if environment.runtime_of and lock is not None:
        tool = "uv lock" if lock.endswith("uv.lock") else "poetry lock"
        then = f" (then run `{tool}`)"
    return Autofix(Applicability.UNSAFE, f"Add `{entry}` to {where}{note}{then}", (edit,))


def _compiled_from(
    project: Project, target: str, dist: str, exact: str | None
) -> tuple[str, str] | None:
    """The pip-compile input beside a requirements file (`requirements.in` for
    `requirements.txt`) that does not declare ``dist`` yet, and the line it gets: unpinned, as
    inputs are written, unless every requirement there is pinned."""
    source_in = target.removesuffix(".txt") + ".in"
    listed = project.requirements.get(source_in)
    name = normalise_name(dist.split("[", 1)[0])
    if listed is None or any(r.name == name for r in listed.requirements):
        return None
    pinned = exact is not None and _all_pinned(listed.requirements, poetry=False)
    return source_in, f"{dist}=={exact}" if pinned else dist


def _nearest_lock(project: Project, directory: str) -> str | None:
    """The uv.lock or poetry.lock that governs ``directory``: in it or above it (a uv
    workspace locks its members at its root)."""
    while True:
        for name in ("uv.lock", "poetry.lock"):
            path = posixpath.join(directory, name)
            if path in project.locks:
                return path
        if not directory:
            return None
        directory = posixpath.dirname(directory)


def _declared_beside(project: Project, directory: str, target: str) -> list[Requirement]:
    """The requirements declared outside the runtime list of ``target`` but in the same
    project: the dependency groups and extras of the pyproject in ``directory``, and the
    other requirements files there (or in its `requirements/` folder, or beside it when it is
    that folder)."""
    found: list[Requirement] = []
    pyproject = project.pyprojects.get(posixpath.join(directory, "pyproject.toml"))
    for group in pyproject.groups if pyproject is not None else ():
        found.extend(group.requirements)
    near = {directory, posixpath.join(directory, "requirements")}
    if posixpath.basename(directory) == "requirements":
        near.add(posixpath.dirname(directory))
    for path, listed in sorted(project.requirements.items()):
        if path != target and posixpath.dirname(path) in near:
            found.extend(listed.requirements)
    return found


def _exact_version(specifier: str) -> str | None:
    """``23.0.0`` for `==23.0.0` (or Poetry's bare `23.0.0`); None for any range or wildcard."""
    match = re.fullmatch(r"(?:===?)?\s*([0-9][0-9A-Za-z.+!-]*)", specifier.strip())
    return match.group(1) if match is not None else None


def _all_pinned(requirements: tuple[Requirement, ...], poetry: bool) -> bool:
    """Every requirement of the list written with an exact version (`==1.2.3`; a bare Poetry
    version), leaving out what has no version to pin (a URL, a path, a git checkout)."""
    considered = [
        r
        for r in requirements
        if "://" not in r.raw and "@" not in r.raw and (r.specifier or not poetry)
    ]
    return bool(considered) and all(_exact_version(r.specifier) for r in considered)


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
