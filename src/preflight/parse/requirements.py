"""requirements.txt files (pip's format), and the Requirement fact pyproject shares.

packaging parses each requirement: PEP 508 has enough corners (extras, markers, URLs) that a
hand-written regex would get wrong, and packaging is what pip itself uses.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from preflight.parse import ParseProblem
from preflight.spans import Span

_NORMALISE = re.compile(r"[-_.]+")
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?")


def normalise_name(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return _NORMALISE.sub("-", name).lower()


@dataclass(frozen=True)
class Requirement:
    name: str  # normalised
    extras: frozenset[str]
    specifier: str
    marker: str | None
    raw: str
    span: Span


@dataclass(frozen=True)
class Include:
    """``-r other.txt`` / ``-c constraints.txt``, or a local project path (``.``, ``-e .``)."""

    kind: str  # "requirements" | "constraints" | "project"
    target: str  # as written, relative to the file's directory
    extras: frozenset[str]
    span: Span


@dataclass(frozen=True)
class RequirementsFile:
    path: str
    requirements: tuple[Requirement, ...]
    includes: tuple[Include, ...]
    problems: tuple[ParseProblem, ...]
    # a requirement carries `--hash=`: pip then wants a hash for every line (hash-checking mode)
    hashed: bool = False


def parse_requirement(raw: str, span: Span) -> Requirement | None:
    """A PEP 508 requirement, or None if packaging rejects it."""
    from packaging.markers import InvalidMarker
    from packaging.requirements import InvalidRequirement
    from packaging.requirements import Requirement as PackagingRequirement

    try:
        parsed = PackagingRequirement(raw)
    except (InvalidRequirement, InvalidMarker, ValueError):
        return None
    return Requirement(
        name=normalise_name(parsed.name),
        extras=frozenset(e.lower() for e in parsed.extras),
        specifier=str(parsed.specifier),
        marker=str(parsed.marker) if parsed.marker else None,
        raw=raw,
        span=span,
    )


def _logical_lines(text: str) -> list[tuple[int, int, str]]:
    """(1-based line, column, content) with backslash continuations joined and comments removed."""
    out: list[tuple[int, int, str]] = []
    pending = ""
    start_line = 0
    start_col = 1
    for number, line in enumerate(text.split("\n"), start=1):
        if not pending:
            start_line = number
            start_col = len(line) - len(line.lstrip()) + 1
        # pip strips comments: '#' at line start or preceded by whitespace
        stripped = re.sub(r"(^|\s)#.*$", "", line)
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        content = (pending + stripped).strip()
        pending = ""
        if content:
            out.append((start_line, start_col, content))
    if pending.strip():
        out.append((start_line, start_col, pending.strip()))
    return out


def parse_requirements(path: str, text: str) -> RequirementsFile:
    requirements: list[Requirement] = []
    includes: list[Include] = []
    problems: list[ParseProblem] = []
    hashed = False
    for line, col, content in _logical_lines(text):
        hashed = hashed or "--hash" in content
        span = Span(path, line, col, line, col + len(content))
        if content.startswith("-"):
            editable = _parse_option(content, span, includes)
            if editable is not None:
                requirements.append(editable)
            continue
        # `name @ url` is PEP 508; a bare URL / local path needs #egg= for a name
        if re.match(r"^(\.|/|[a-z+]+://|git\+|file:)", content):
            target = content.split("#", 1)[0].strip()
            if target.startswith((".", "/")) and "://" not in target:
                base, _, extras = target.partition("[")
                includes.append(
                    Include("project", base, _extras_of("[" + extras if extras else ""), span)
                )
                continue
            egg = _EGG.search(content)
            if egg:
                requirements.append(
                    Requirement(
                        normalise_name(egg.group(1)),
                        _extras_of(egg.group(2) or ""),
                        "",
                        None,
                        content,
                        span,
                    )
                )
            continue
        # pip allows per-requirement options after the requirement (--hash=...)
        requirement_text = re.split(r"\s+--?[a-z]", content, maxsplit=1)[0]
        requirement = parse_requirement(requirement_text, span)
        if requirement is None:
            problems.append(
                ParseProblem(span, f"pip cannot parse the requirement `{requirement_text}`")
            )
        else:
            requirements.append(requirement)
    return RequirementsFile(path, tuple(requirements), tuple(includes), tuple(problems), hashed)


def _extras_of(text: str) -> frozenset[str]:
    inner = text.strip().removeprefix("[").removesuffix("]")
    return frozenset(e.strip().lower() for e in inner.split(",") if e.strip())


def _parse_option(content: str, span: Span, includes: list[Include]) -> Requirement | None:
    """Record an include; return the requirement an ``-e URL#egg=name`` line names."""
    try:
        words = shlex.split(content)
    except ValueError:
        words = content.split()
    if not words:
        return None
    option, value = words[0], words[1] if len(words) > 1 else ""
    if "=" in option and option.startswith("--"):
        option, value = option.split("=", 1)
    elif len(option) > 2 and option[:2] in ("-r", "-c", "-e") and not option.startswith("--"):
        option, value = option[:2], option[2:]
    if option in ("-r", "--requirement"):
        includes.append(Include("requirements", value, frozenset(), span))
    elif option in ("-c", "--constraint"):
        includes.append(Include("constraints", value, frozenset(), span))
    elif option in ("-e", "--editable"):
        if value.startswith((".", "/")) and "://" not in value:
            base, _, extras = value.partition("[")
            includes.append(
                Include("project", base, _extras_of("[" + extras if extras else ""), span)
            )
        else:
            egg = _EGG.search(value)
            if egg:
                return Requirement(
                    normalise_name(egg.group(1)),
                    _extras_of(egg.group(2) or ""),
                    "",
                    None,
                    value,
                    span,
                )
    return None
