"""The process a launch starts: the invocations it really runs, with scripts followed.

A launch's argv is not always what runs: ``sh -c "…"`` runs a command line, ``./start.sh`` runs
a script the image copied from the repository, and that script ``exec``s a server, or the
arguments it was given (``exec "$@"``). ``process_of`` follows that once, in the link stage, so
that a rule judges each invocation (is its program installed?) and never follows a script
itself. Every step records where it is written (a line of a script, or the launch itself) and
the script lines that led there, so a finding can point at the line that runs the program.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Literal

from preflight.knowledge.executables import PYTHON_EXECUTABLES
from preflight.model.project import Environment, Launch
from preflight.parse.shell import Invocation, invocations, shell_invocations
from preflight.spans import Related, Span

__all__ = ["Process", "Step", "defers_to_start", "process_of"]

# How deep scripts are followed: a launch's own script, not the scripts that script runs.
_SCRIPT_DEPTH = 1
_VENV_BIN_MARKERS = ("/bin/",)
_ALL_ARGUMENTS = ('"$@"', "$@", "${@}")
# Runners that decide at start what runs (and may install it first): not followed past.
_DEFERRING_RUNNERS = ("uv", "pdm", "hatch")

# program: a program looked up on PATH; python: the Python interpreter (``-m`` a module, or a
# script); script: a file copied from the repository (its steps follow when it was followed);
# unknown: only known at run time; deferred: started through a runner that decides at start
Runs = Literal["program", "python", "script", "unknown", "deferred"]


@dataclass(frozen=True, slots=True)
class Step:
    """One invocation the process runs, or a point where following it stopped."""

    invocation: Invocation | None  # None: the command line itself could not be split
    runs: Runs
    at: Span | None  # the script line that runs it (None: the launch's own command)
    chain: tuple[Related, ...] = ()  # script lines that handed it its arguments
    why: str | None = None  # why following stopped here (for --verbose)
    script: str | None = None  # the repository path of the script it runs, when followed


@dataclass(frozen=True, slots=True)
class Process:
    """What a launch runs, in order: a script's steps follow the step that runs it."""

    launch: Launch
    steps: tuple[Step, ...]


def defers_to_start(wrapper: tuple[str, ...]) -> bool:
    """``uv run …`` and its kin: what runs is decided (and may be installed) when it starts."""
    name = posixpath.basename(wrapper[0])
    return name in _DEFERRING_RUNNERS and len(wrapper) > 1 and wrapper[1] == "run"


def process_of(launch: Launch, shell_scripts: dict[str, str]) -> Process:
    """Follow what ``launch`` runs through ``sh -c`` and the scripts its image copies."""
    return Process(launch, tuple(_Follower(launch, shell_scripts).argv(launch.argv, 0)))


class _Follower:
    def __init__(self, launch: Launch, shell_scripts: dict[str, str]) -> None:
        self.launch = launch
        self.environment = launch.environment or Environment("no image linked")
        self.shell_scripts = shell_scripts

    def argv(self, argv: tuple[str, ...], depth: int) -> list[Step]:
        found = invocations(argv)
        if found is None:
            why = f"{self.launch.origin}: the command line could not be followed"
            return [Step(None, "unknown", None, why=why)]
        steps: list[Step] = []
        for invocation in found:
            steps.extend(self.invocation(invocation, depth))
        return steps

    def invocation(self, invocation: Invocation, depth: int) -> list[Step]:
        environment = self.environment
        if any(defers_to_start(wrapper) for wrapper in invocation.wrappers):
            return [Step(invocation, "deferred", None)]
        exe = invocation.executable
        if "$" in exe or not exe:
            why = f"{self.launch.origin}: the program `{exe}` is only known at run time"
            return [Step(invocation, "unknown", None, why=why)]
        name = posixpath.basename(exe)
        if "/" in exe and not any(marker in exe for marker in _VENV_BIN_MARKERS):
            repo_path = environment.copied_paths.get(exe)
            if repo_path is None and not exe.startswith("/"):
                why = f"`{exe}` is relative to the working directory; not followed"
                return [Step(invocation, "script", None, why=why)]
            if repo_path is None:
                why = f"`{exe}` is not a file the image copies from the repository"
                return [Step(invocation, "script", None, why=why)]
            return self.script(repo_path, invocation, depth)
        if name in PYTHON_EXECUTABLES or name.startswith("python"):
            return [Step(invocation, "python", None)]
        if "/" in exe:
            repo_path = environment.copied_paths.get(exe)
            if repo_path is not None:
                return self.script(repo_path, invocation, depth)
        if name in environment.files:
            script = next(
                (
                    repo
                    for image, repo in sorted(environment.copied_paths.items())
                    if posixpath.basename(image) == name
                ),
                None,
            )
            if script is not None:
                return self.script(script, invocation, depth)
            return [Step(invocation, "script", None)]
        return [Step(invocation, "program", None)]

    def script(self, repo_path: str, invocation: Invocation, depth: int) -> list[Step]:
        """The step that runs a repository script, then what the script ``exec``s."""
        text = self.shell_scripts.get(repo_path)
        if text is None or depth >= _SCRIPT_DEPTH:
            return [Step(invocation, "script", None)]
        steps = [Step(invocation, "script", None, script=repo_path)]
        for number, line in enumerate(text.split("\n"), start=1):
            stripped = line.strip()
            if not stripped.startswith("exec "):
                continue
            found = shell_invocations(stripped)
            if found is None:
                continue
            col = line.index("exec ") + 1
            span = Span(repo_path, number, col, number, len(line.rstrip()) + 1)
            for inner in found:
                if inner.executable in _ALL_ARGUMENTS:
                    if invocation.args:
                        link = Related(span, "the script runs its arguments here")
                        for step in self.argv(invocation.args, depth + 1):
                            steps.append(_replace(step, chain=(*step.chain, link)))
                    continue
                for step in self.invocation(inner, depth + 1):
                    steps.append(_replace(step, at=step.at or span))
        return steps


def _replace(
    step: Step, *, at: Span | None = None, chain: tuple[Related, ...] | None = None
) -> Step:
    return Step(
        step.invocation,
        step.runs,
        at if at is not None else step.at,
        chain if chain is not None else step.chain,
        step.why,
        step.script,
    )
