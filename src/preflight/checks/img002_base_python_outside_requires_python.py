"""IMG002 base-python-outside-requires-python: the image's Python is not one the project allows.

``FROM python:3.10-slim`` and ``requires-python = ">=3.11"`` (or Poetry's ``python = "^3.12"``):
``pip install .`` stops with ``ERROR: Package 'x' requires a different Python: 3.10.16 not in
'>=3.11'``, and the image never builds. Also: a virtualenv built in a builder stage on one
Python and copied into a final stage that runs another.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.facts import Pyproject
from preflight.model.graph import Deployment
from preflight.model.imagecontents import StageContents, StagePython
from preflight.model.project import Image
from preflight.spans import Related, Span

CODE = "IMG002"

_PATCHES = range(0, 40)  # a `3.10` tag carries the newest 3.10.x: any of them may be it


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    for path, image in sorted(graph.files.images.items()):
        stages = graph.stages.get(path)
        if not stages:
            continue
        yield from _installs(image, stages, ctx)
        yield from _copied_venvs(image, stages, ctx)


def _stage_at(stages: tuple[StageContents, ...], span: Span) -> StageContents | None:
    if span.path != stages[0].dockerfile:
        return None
    found = None
    for stage in stages:
        if stage.from_span.line <= span.line:
            found = stage
    return found


def _installs(
    image: Image, stages: tuple[StageContents, ...], ctx: RuleContext
) -> Iterator[Finding]:
    seen: set[tuple[str, int]] = set()
    for project, span, via in image.environment.project_installs:
        if project.requires_python is None or project.requires_python_span is None:
            continue
        stage = _stage_at(stages, span)
        if stage is None:
            continue
        key = (project.path, stage.index)
        if key in seen:
            continue
        seen.add(key)
        if "--ignore-requires-python" in stage.words:
            ctx.silent(span, "pip is told to `--ignore-requires-python`")
            continue
        python = _python_running(stage, via, span, ctx)
        if python is None:
            continue
        allowed = allowed_pythons(project.requires_python, project.requires_python_key)
        if allowed is None:
            ctx.silent(
                project.requires_python_span,
                f"`{project.requires_python}` is not a constraint preflight can read",
            )
            continue
        if _fits(python.version, allowed):
            continue
        yield _report(ctx, project, python, via, span, allowed, stage.base)


def _python_running(
    stage: StageContents, via: str, span: Span, ctx: RuleContext
) -> StagePython | None:
    """The Python the install step runs on, when it is certain."""
    python = stage.python
    if python is None:
        ctx.silent(span, f"the Python of this stage is not known: {stage.python_unknown}")
        return None
    through_uv = via.startswith("`uv ")
    if python.managed:
        if through_uv:
            return python
        ctx.silent(span, f"{via} may not run on the Python uv installs here ({python.how})")
        return None
    if stage.uv_managed and (stage.uv_downloads or not through_uv):
        ctx.silent(span, f"{via}: uv picks (and may download) a Python the project allows")
        return None
    return python


def allowed_pythons(constraint: str, key: str) -> list[SpecifierSet] | None:
    """The Python versions a project allows, as one or more specifier sets (any may match);
    None when the constraint cannot be read."""
    try:
        if key != "tool.poetry.dependencies.python":
            return [SpecifierSet(constraint)]
        return [_poetry_specifier(part) for part in constraint.split("||")]
    except (InvalidSpecifier, ValueError):
        return None


_POETRY_TOKEN = re.compile(r"^(\^|~(?!=)|)\s*(\d+(?:\.\d+){0,2})$")


def _poetry_specifier(text: str) -> SpecifierSet:
    """Poetry's ``^3.12``, ``~3.11``, ``>=3.10,<3.13``, ``3.11.*``, ``*`` as PEP 440."""
    parts: list[str] = []
    for token in re.split(r"\s*,\s*|\s+(?=[<>=!~^])", text.strip()):
        token = token.strip()
        if not token or token == "*":
            continue
        match = _POETRY_TOKEN.match(token)
        if match is None:
            parts.append(str(SpecifierSet(token)))
            continue
        operator, version = match.groups()
        numbers = [int(n) for n in version.split(".")]
        if operator == "^":
            upper = (
                [numbers[0] + 1] if numbers[0] else [0, numbers[1] + 1 if len(numbers) > 1 else 1]
            )
        elif operator == "~":
            upper = [numbers[0], numbers[1] + 1] if len(numbers) > 1 else [numbers[0] + 1]
        else:
            raise ValueError(f"bare version `{token}`")  # Poetry reads it as ==; unclear here
        parts.append(f">={version}")
        parts.append("<" + ".".join(str(n) for n in upper))
    return SpecifierSet(",".join(parts))


def _fits(version: str, allowed: list[SpecifierSet]) -> bool:
    """Whether the Python a tag names may satisfy the constraint (any patch of a `3.X` tag)."""
    try:
        candidates = (
            [Version(version)]
            if version.count(".") >= 2
            else [Version(f"{version}.{patch}") for patch in _PATCHES]
        )
    except InvalidVersion:
        return True
    return any(spec.contains(c, prereleases=True) for spec in allowed for c in candidates)


def _shown(version: str) -> str:
    return version if version.count(".") >= 2 else f"{version}.x"


def _error(name: str, constraint: str, python: StagePython, via: str, key: str) -> str:
    shown = _shown(python.version)
    if via.startswith("`uv sync"):
        if python.managed:
            return (
                f'"error: The requested interpreter resolved to Python {shown}, which is '
                f"incompatible with the project's Python requirement: `{constraint}`\""
            )
        return (
            f"`error: No interpreter found for Python {constraint} in virtual environments, "
            "managed installations, or search path`"
        )
    if via.startswith("`uv pip"):
        return (
            f"`Because the current Python version ({shown}) does not satisfy "
            f"Python{constraint} and {name} depends on Python{constraint}, we can conclude "
            f"that {name} cannot be used.`"
        )
    if via.startswith("`poetry"):
        return (
            f"`The currently activated Python version {shown} is not supported by the "
            f"project ({constraint})`, then `Poetry was unable to find a compatible version.`"
        )
    return f"`ERROR: Package '{name}' requires a different Python: {shown} not in '{constraint}'`"


_MINORS = tuple(f"3.{minor}" for minor in range(8, 15))


def _suggested(ref: str, version: str, allowed: list[SpecifierSet]) -> str | None:
    """``ref`` with its Python replaced by the oldest 3.X the constraint allows."""
    fitting = next((m for m in _MINORS if _fits(m, allowed)), None)
    if fitting is None or version not in ref:
        return None
    return ref.replace(version, fitting, 1)


def _report(
    ctx: RuleContext,
    project: Pyproject,
    python: StagePython,
    via: str,
    install: Span,
    allowed: list[SpecifierSet],
    base: str,
) -> Finding:
    constraint = project.requires_python or ""
    name = project.name or project.path
    written = (
        f'`requires-python = "{constraint}"`'
        if project.requires_python_key == "requires-python"
        else f'Poetry\'s `python = "{constraint}"`'
    )
    minor = ".".join(python.version.split(".")[:2])
    message = (
        f"This image runs Python {python.version} ({python.how}), but {project.path} "
        f"declares {written}: {via} stops with {_error(name, constraint, python, via, '')}, "
        "and the image never builds."
    )
    suggestion = _suggested(base, python.version, allowed) if not python.managed else None
    if suggestion is not None:
        fix = f"Build on a Python the project allows (`FROM {suggestion}`)"
    else:
        fix = "Run a Python the project allows"
    fix += f", or widen {written} if the code really runs on Python {minor}."
    related = (
        Related(project.requires_python_span or project.runtime_span, f"allows `{constraint}`"),
        Related(install, f"{via} installs `{name}`, checking its Python"),
    )
    return ctx.report(
        message,
        python.span,
        related,
        fix,
        headline=f"image runs Python {minor}, outside the project's `{constraint}`",
    )


def _copied_venvs(
    image: Image, stages: tuple[StageContents, ...], ctx: RuleContext
) -> Iterator[Finding]:
    """A virtualenv made in one stage and copied into a final stage on another Python."""
    dockerfile = image.dockerfile
    final = dockerfile.final
    if final is None:
        return
    target = stages[final.index]
    if target.python is None or target.python.managed or target.uv_managed:
        return
    for stage in dockerfile.lineage(final):
        for copy in stage.copies:
            source_stage = dockerfile.stage_named(copy.from_ref) if copy.from_ref else None
            if source_stage is None:
                continue
            source = stages[source_stage.index]
            if source.python is None or source.python.managed or source.uv_managed:
                continue
            venv = next(
                (
                    v
                    for v in source.venvs
                    for path in copy.sources
                    if _normpath(path) == v or _normpath(path).startswith(v + "/")
                ),
                None,
            )
            old = ".".join(source.python.version.split(".")[:2])
            new = ".".join(target.python.version.split(".")[:2])
            if venv is None or old == new:
                continue
            yield ctx.report(
                f"The virtualenv `{venv}` is built on Python {old} ({source.python.how}) and "
                f"copied into a final stage that runs Python {new} ({target.python.how}): its "
                f"packages sit in `lib/python{old}/site-packages`, which Python {new} does not "
                "read, so the service fails with `ModuleNotFoundError` (or, where the venv's "
                f"`python` links to `python{old}`, with `no such file or directory`).",
                target.python.span,
                (
                    Related(source.python.span, f"the virtualenv is built on Python {old}"),
                    Related(copy.span, f"copies `{venv}` into Python {new}"),
                ),
                f"Build both stages FROM the same Python (`{source.base}` or `{target.base}`).",
                headline=f"virtualenv built on Python {old} runs on Python {new}",
            )
            return


def _normpath(path: str) -> str:
    import posixpath

    return posixpath.normpath(path)


RULE = Rule(
    code=CODE,
    name="base-python-outside-requires-python",
    severity=Severity.ERROR,
    summary="The image's Python is not one the project's requires-python allows.",
    check=check,
)
