"""PKG001 command-not-installed: the program a container starts is not installed in its image.

The seed's first incident: the Dockerfile ran ``gunicorn``, which pyproject never declared, and
the container died with ``exec: "gunicorn": executable file not found in $PATH``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from preflight.checks._fixes import declare
from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.facts import Invocation, normalise_name
from preflight.model.graph import Deployment
from preflight.model.processes import Process, Step, defers_to_start
from preflight.model.project import Environment, Launch, Project
from preflight.spans import Related, Span

CODE = "PKG001"


def _options() -> type[Any]:
    """The schema of `[tool.preflight.rules.PKG001]` (pydantic is imported only to validate)."""
    from pydantic import BaseModel, ConfigDict, Field

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid", populate_by_name=True)

        provided_executables: tuple[str, ...] = Field(default=(), alias="provided-executables")

    return Options


@dataclass(frozen=True, slots=True)
class _Missing:
    program: str  # what the user wrote: `gunicorn`, `python -m uvicorn`
    providers: frozenset[str]  # distributions that would provide it
    related: tuple[Related, ...] = ()
    at: Span | None = None  # where the program is named, when not at the launch (a script)


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    project = graph.files
    declared = graph.declarations
    for index, launch in enumerate(project.launches):
        if launch.environment is None:
            ctx.silent(launch.span, f"{launch.origin}: {launch.why_unknown or 'no image linked'}")
            continue
        if not launch.environment.complete:
            span, why = launch.environment.unknown[0]
            ctx.silent(
                launch.span,
                f"{launch.origin}: cannot tell everything the image installs: {why} ({span})",
            )
            continue
        for missing in _missing(graph.processes[index], launch, graph, ctx):
            yield _finding(ctx, launch, missing, declared, graph.files)


def _finding(
    ctx: RuleContext,
    launch: Launch,
    missing: _Missing,
    declared: dict[str, list[tuple[Span, str]]],
    files: Project,
) -> Finding:
    environment = launch.environment
    assert environment is not None
    related: list[Related] = list(missing.related)
    if missing.at is not None:
        related.insert(0, Related(launch.span, f"{launch.origin} runs the script"))
    elsewhere = [
        (span, where)
        for dist in sorted(missing.providers)
        for span, where in declared.get(dist, [])
    ]
    for span, where in elsewhere:
        related.append(
            Related(span, f"declared here, in {where}, which the image does not install")
        )
    for span in environment.install_spans[:3]:
        related.append(Related(span, "what the image installs"))
    dist = sorted(missing.providers)[0] if missing.providers else missing.program
    target = _where_to_declare(environment)
    origin = launch.origin[0].upper() + launch.origin[1:]
    message = f"{origin} runs {missing.program}, but {environment.description} does not install it"
    if elsewhere:
        message += f" (`{dist}` is declared only in {elsewhere[0][1]})"
    headline = f"{missing.program} is not installed in the image"
    extra = _extra_only(missing.program)
    if extra is not None:  # `fastapi run`: the command comes with `fastapi[standard]`
        base, name = extra
        if base in environment.installed():
            message += f" (it installs `{base}` without its `{name}` extra, which provides it)"
            headline = f"{missing.program} needs `{base}[{name}]`, the image has only `{base}`"
        dist = f"{base}[{name}]"
    fix = f"add `{dist}` to {target}" if target else f"install `{dist}` in the image"
    return ctx.report(
        message + ".",
        missing.at or _narrow(launch, missing.program),
        tuple(related),
        fix[0].upper() + fix[1:] + ".",
        headline=headline,
        autofix=declare(environment, dist, files),
    )


def _extra_only(program: str) -> tuple[str, str] | None:
    """(distribution, extra) when the program works only with that extra installed."""
    from preflight.knowledge.executables import EXTRA_ONLY

    name = program.strip("`")
    return EXTRA_ONLY.get(name) if " " not in name else None


def _narrow(launch: Launch, program: str) -> Span:
    """Point at the program's name in the command as written (not always its first word)."""
    import re

    name = program.strip("`").split()[-1]
    span = launch.span
    lines = launch.source.split("\n")
    for offset, line in enumerate(lines):
        start = span.col - 1 if offset == 0 else 0
        match = re.search(rf"(?<![\w./-])(?:[\w./-]*/)?{re.escape(name)}(?![\w.-])", line[start:])
        if match is not None:
            col = start + match.start() + 1
            end = start + match.end() + 1
            return Span(span.path, span.line + offset, col, span.line + offset, end)
    return span


def _where_to_declare(environment: Environment) -> str | None:
    return environment.where_to_declare()


def _installed(environment: Environment) -> set[str]:
    """Distributions present: declared ones, what they bring along, what the base bundles."""
    return environment.installed()


def _missing(
    process: Process, launch: Launch, graph: Deployment, ctx: RuleContext
) -> Iterator[_Missing]:
    """Judge each invocation the process runs (the model followed its scripts)."""
    for step in process.steps:
        for missing in _judge(step, launch, graph, ctx):
            yield _Missing(
                missing.program, missing.providers, (*missing.related, *step.chain), step.at
            )


def _judge(step: Step, launch: Launch, graph: Deployment, ctx: RuleContext) -> Iterator[_Missing]:
    from preflight.knowledge import executables as kn

    environment = launch.environment
    assert environment is not None
    invocation = step.invocation
    if invocation is None:
        ctx.silent(launch.span, step.why or "the command line could not be followed")
        return
    for wrapper in invocation.wrappers:
        name = posixpath.basename(wrapper[0])
        if defers_to_start(wrapper, environment):
            ctx.silent(launch.span, f"`{name} run` may install dependencies when it starts")
            return
        problem = _program_missing(name, environment, graph)
        if problem is not None and name not in _provided(ctx):
            yield _Missing(f"`{name}`", problem)
    if step.why is not None:
        ctx.silent(launch.span, step.why)
    if step.runs == "python":
        yield from _python(invocation, environment, graph, ctx, launch)
    elif step.runs == "program":
        name = posixpath.basename(invocation.executable)
        problem = _program_missing(name, environment, graph)
        if problem is not None and name not in _provided(ctx):
            yield _Missing(f"`{name}`", problem)
        elif name not in kn.CONSOLE_SCRIPTS:
            ctx.silent(launch.span, f"preflight does not know which package provides `{name}`")


def _provided(ctx: RuleContext) -> tuple[str, ...]:
    value = ctx.options.get("provided_executables", ())
    return tuple(str(item) for item in value) if isinstance(value, (list, tuple)) else ()


def _program_missing(
    name: str, environment: Environment, graph: Deployment
) -> frozenset[str] | None:
    """The distributions that would provide ``name`` if it is missing, else None."""
    from preflight.knowledge import executables as kn

    if name in kn.SHELL_BUILTINS or name in kn.BASE_TOOLS or name in kn.PYTHON_EXECUTABLES:
        return None
    if name in environment.files:
        return None
    for installed_project in environment.projects:
        if name in installed_project.scripts:
            return None
    for pyproject in graph.files.pyprojects.values():
        if name in pyproject.scripts:
            return None  # the project's own script; whether it is installed is not certain
    providers = kn.executable_providers(name)
    present = _installed(environment)
    if providers & present:
        return None
    known = name in kn.CONSOLE_SCRIPTS or _declared_somewhere(name, graph)
    if not known:
        return None  # preflight does not know what provides it: stay silent
    if any(
        name in package or any(p in package for p in providers)
        for package in environment.system_packages
    ):
        return None
    return providers


def _declared_somewhere(name: str, graph: Deployment) -> bool:
    return normalise_name(name) in graph.declarations


def _python(
    invocation: Invocation,
    environment: Environment,
    graph: Deployment,
    ctx: RuleContext,
    launch: Launch,
) -> Iterator[_Missing]:
    from preflight.knowledge import executables as kn

    args = invocation.args
    module: str | None = None
    for index, arg in enumerate(args):
        if arg == "-m" and index + 1 < len(args):
            module = args[index + 1]
            break
        if arg.startswith("-m") and len(arg) > 2:
            module = arg[2:]
            break
        if arg in ("-c",) or not arg.startswith("-"):
            return  # a script or inline code: not a module run
    if module is None:
        return
    top = module.split(".", 1)[0]
    if _repo_module(top, graph):
        return
    dist = kn.MODULES.get(top)
    if dist is None:
        ctx.silent(launch.span, f"preflight does not know which package provides module `{top}`")
        return
    if dist == "":
        return  # standard library
    present = _installed(environment)
    if dist in present or normalise_name(top) in present:
        return
    yield _Missing(f"`python -m {module}`", frozenset({dist}))


def _repo_module(top: str, graph: Deployment) -> bool:
    for path in graph.files.python_paths:
        parts = path.split("/")
        if top in parts[:-1] or parts[-1] == f"{top}.py":
            return True
    return False


RULE = Rule(
    code=CODE,
    name="command-not-installed",
    severity=Severity.ERROR,
    summary="The program a container starts is not installed in its image.",
    check=check,
    options=_options,
)
