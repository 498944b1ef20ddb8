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
import re
from dataclasses import dataclass
from typing import Literal

from preflight.knowledge.executables import PYTHON_EXECUTABLES
from preflight.model.project import Environment, Launch
from preflight.parse.shell import Invocation, invocations, logical_lines, shell_invocations
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
    # a script the image copied from the repository: (its path in the image, in the
    # repository), whether or not its text was followed
    copied: tuple[str, str] | None = None
    interpreted: bool = False  # the script is read by a shell named in the command (`sh x.sh`)


@dataclass(frozen=True, slots=True)
class Process:
    """What a launch runs, in order: a script's steps follow the step that runs it."""

    launch: Launch
    steps: tuple[Step, ...]


def defers_to_start(wrapper: tuple[str, ...], environment: Environment | None = None) -> bool:
    """``uv run …`` and its kin: what runs is decided (and may be installed) when it starts —
    unless ``uv run --no-sync`` (or ``UV_NO_SYNC`` in the image) runs what is already there."""
    name = posixpath.basename(wrapper[0])
    if not (name in _DEFERRING_RUNNERS and len(wrapper) > 1 and wrapper[1] == "run"):
        return False
    no_sync = "--no-sync" in wrapper or (
        environment is not None and environment.variables.get("UV_NO_SYNC", "") in _TRUE
    )
    return not (name == "uv" and no_sync)


_TRUE = frozenset({"1", "true", "True", "TRUE", "yes", "on"})


def process_of(launch: Launch, shell_scripts: dict[str, str]) -> Process:
    """Follow what ``launch`` runs through ``sh -c`` and the scripts its image copies."""
    return Process(launch, tuple(_Follower(launch, shell_scripts).argv(launch.argv, 0)))


class _Follower:
    def __init__(self, launch: Launch, shell_scripts: dict[str, str]) -> None:
        self.launch = launch
        self.environment = launch.environment or Environment("no image linked")
        self.shell_scripts = shell_scripts
        self.argument_budget = 16  # `"$@"` lines followed, per launch

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
        if any(defers_to_start(wrapper, environment) for wrapper in invocation.wrappers):
            return [Step(invocation, "deferred", None)]
        exe = invocation.executable
        if "$" in exe or not exe:
            why = f"{self.launch.origin}: the program `{exe}` is only known at run time"
            return [Step(invocation, "unknown", None, why=why)]
        name = posixpath.basename(exe)
        if "/" in exe and not any(marker in exe for marker in _VENV_BIN_MARKERS):
            found = self.copied(exe)
            if found is None and not exe.startswith("/"):
                why = (
                    f"`{exe}` (from the working directory {environment.workdir}) is not a file "
                    "the image copies from the repository; not followed"
                )
                return [Step(invocation, "script", None, why=why)]
            if found is None:
                why = f"`{exe}` is not a file the image copies from the repository"
                return [Step(invocation, "script", None, why=why)]
            return self.script(found, invocation, depth)
        if name in PYTHON_EXECUTABLES or name.startswith("python"):
            return [Step(invocation, "python", None)]
        if name in _SHELLS:
            script = _shell_script_argument(invocation.args)
            found = self.copied(invocation.args[script]) if script is not None else None
            if script is not None and found is not None:
                # `sh ./start.sh args`: the shell reads the script (its mode does not matter)
                inner = Invocation(
                    invocation.args[script],
                    invocation.args[script + 1 :],
                    invocation.wrappers,
                    invocation.shell,
                )
                return self.script(found, inner, depth, interpreted=True)
        if "/" in exe:
            found = self.copied(exe)
            if found is not None:
                return self.script(found, invocation, depth)
        if name in environment.files:
            named = [
                (image, repo)
                for image, repo in sorted(environment.copied_paths.items())
                if posixpath.basename(image) == name
            ]
            path = environment.variables.get("PATH", _DEFAULT_PATH).split(":")
            if any("$" in directory for directory in path):  # ENV PATH=/opt/venv/bin:$PATH
                path += _DEFAULT_PATH.split(":")
            # the copy in a PATH directory is the one that runs (`COPY . .` may put another
            # copy in the working directory)
            on_path = next(
                (found for found in named if posixpath.dirname(found[0]) in path),
                named[0] if named else None,
            )
            if on_path is not None:
                return self.script(on_path, invocation, depth)
            return [Step(invocation, "script", None)]
        return [Step(invocation, "program", None)]

    def copied(self, path: str) -> tuple[str, str] | None:
        """(path in the image, path in the repository) of a file the image copied, named as a
        command names it (absolute, or relative to the working directory)."""
        environment = self.environment
        in_image = posixpath.normpath(posixpath.join(environment.workdir, path))
        for candidate in (path, in_image):
            repo_path = environment.copied_paths.get(candidate)
            if repo_path is not None:
                return candidate, repo_path
        return None

    def script(
        self,
        copied: tuple[str, str],
        invocation: Invocation,
        depth: int,
        interpreted: bool = False,
    ) -> list[Step]:
        """The step that runs a repository script, then every program the script runs: what
        it ``exec``s (the server, or the arguments it was given) and what it runs before
        (``alembic upgrade head``, ``python manage.py migrate``), each at its own line."""
        repo_path = copied[1]
        text = self.shell_scripts.get(repo_path)
        if text is None or depth >= _SCRIPT_DEPTH:
            return [Step(invocation, "script", None, copied=copied, interpreted=interpreted)]
        steps = [
            Step(
                invocation,
                "script",
                None,
                script=repo_path,
                copied=copied,
                interpreted=interpreted,
            )
        ]
        installs = _INSTALLS_AT_START.search(_strip_comments(text)) is not None
        guarded = set(_GUARDED.findall(text))
        for number, line in logical_lines(text, skip_heredocs=True):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            found = shell_invocations(stripped)
            if found is None:
                continue
            execs = stripped.startswith("exec ")
            col = line.index(stripped) + 1
            span = Span(repo_path, number, col, number, len(line.rstrip()) + 1)
            for inner in found:
                if inner.executable in _ALL_ARGUMENTS:
                    if invocation.args:
                        # the arguments are the launch's own command (an image's CMD given to
                        # its ENTRYPOINT script): followed as the launch is, a script it names
                        # included. Each time fewer words: this ends.
                        link = Related(span, "the script runs its arguments here")
                        self.argument_budget -= 1
                        if self.argument_budget < 0:
                            continue  # a script handing itself to itself, over and over
                        for step in self.argv(invocation.args, depth):
                            steps.append(_replace(step, chain=(*step.chain, link)))
                    continue
                if not execs and (posixpath.basename(inner.executable) in guarded or installs):
                    why = (
                        f"{repo_path}:{number}: the script installs packages when it starts"
                        if installs
                        else f"{repo_path}:{number}: the script runs "
                        f"`{inner.executable}` only if it is installed"
                    )
                    steps.append(Step(inner, "unknown", span, why=why))
                    continue
                for step in self.invocation(inner, depth + 1):
                    steps.append(_replace(step, at=step.at or span))
        return steps


# A script that installs packages when it starts: what it runs may be installed by then.
_INSTALLS_AT_START = re.compile(
    r"\b(?:pip3?|uv\s+pip|poetry|pipenv|pdm)\s+(?:install|sync|add)\b|\buv\s+(?:sync|add)\b"
)
# `command -v alembic`, `which alembic`, `type alembic`, `hash alembic`: runs it if present.
_GUARDED = re.compile(r"\b(?:command\s+-v|which|type|hash)\s+([A-Za-z0-9_.-]+)")


_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh"})
_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # Docker's
_SHELL_VALUE_OPTIONS = frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"})


def _shell_script_argument(args: tuple[str, ...]) -> int | None:
    """The index of the script file in a shell's arguments (`bash -e ./start.sh`), or None
    when the shell reads commands from somewhere else (`-c`, `-s`, stdin)."""
    index = 0
    while index < len(args):
        word = args[index]
        if word == "--":
            return index + 1 if index + 1 < len(args) else None
        if word in _SHELL_VALUE_OPTIONS:
            index += 2
            continue
        if word.startswith(("-", "+")) and len(word) > 1:
            if "c" in word[1:] or "s" in word[1:] or word.startswith("--"):
                return None  # `-c` text, `-s` stdin; a long option preflight does not know
            index += 1
            continue
        return index
    return None


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not line.lstrip().startswith("#"))


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
        step.copied,
        step.interpreted,
    )
