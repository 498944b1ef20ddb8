"""What each stage of a Dockerfile holds beyond its base image, and which Python it runs.

Per stage, over the stages it is built FROM (``FROM builder AS final`` inherits): the system
packages its RUN steps install (apt-get/apt/apk/yum/dnf/microdnf/zypper), the files COPY/ADD put
in (``COPY --from=builder /usr/bin/curl``), the words its RUN steps use (a program a step runs was
there, or got there), the steps that may add programs preflight cannot see (a script, a package
list from a variable, conda), and the Python it runs: the base image's tag, or a Python uv
installs and selects (``uv python install 3.12``, ``UV_PYTHON``, ``--python``).

Rules ask "does the stage hold ``curl``?" and "which Python runs ``pip install .`` here?"; what
cannot be seen answers "unknown", never "no".
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from preflight.knowledge.baseimages import (
    ImageTools,
    image_python,
    image_tools,
    packages_providing,
)
from preflight.parse.dockerfile import Dockerfile, RunStep, Stage
from preflight.parse.shell import Invocation, shell_invocations
from preflight.spans import Span

_INSTALLERS = {
    "apt-get": "install",
    "apt": "install",
    "aptitude": "install",
    "apk": "add",
    "yum": "install",
    "dnf": "install",
    "microdnf": "install",
    "zypper": "install",
}
# programs that install other programs preflight cannot list
_OPAQUE_INSTALLERS = frozenset(
    {"conda", "mamba", "micromamba", "nix", "nix-env", "brew", "dpkg", "rpm", "make", "ansible",
     "ansible-playbook", "spack", "guix", "pkg", "port", "snap", "flatpak", "asdf", "mise",
     "pyenv", "xargs", "eval", "source", "."}
)  # fmt: skip
_BIN_TREES = frozenset({"/", "/usr", "/bin", "/usr/bin", "/usr/local", "/usr/local/bin", "."})
_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh"})
_WORD = re.compile(r"[A-Za-z0-9_.+-]+")
_PYTHON_VERSION = re.compile(r"^(?:cpython-|python)?(3\.\d+(?:\.\d+)?)\b")


@dataclass(frozen=True, slots=True)
class StagePython:
    """The Python a stage runs, and where that is decided."""

    version: str  # "3.12" or "3.12.4"
    span: Span  # the FROM line, the `uv python install` step or the ENV that selects it
    how: str  # "the base image `python:3.12-slim`", "`uv python install 3.12`"
    managed: bool = False  # a Python uv (or another tool) installs, not the base image's


@dataclass(frozen=True, slots=True)
class StageContents:
    """One stage of a Dockerfile, with the stages it is built FROM."""

    dockerfile: str
    index: int
    name: str | None
    from_span: Span  # this stage's FROM
    base: str  # the image its oldest ancestor stage starts FROM (ARGs substituted)
    base_span: Span  # that FROM
    base_tools: ImageTools | None  # what that image holds (None: not known)
    packages: Mapping[str, Span]  # system packages installed, by name: the RUN step
    copied: Mapping[str, Span]  # basenames COPY/ADD put in (any source): the instruction
    words: frozenset[str]  # every word its RUN steps use
    opaque: tuple[tuple[Span, str], ...]  # steps that may add programs preflight cannot see
    python: StagePython | None  # None: not known
    python_unknown: str | None = None  # why the Python is not known (for --verbose)
    uv_managed: bool = False  # uv may pick its own Python here (`uv sync`, `uv python install`)
    uv_downloads: bool = True  # uv may download a Python (no UV_PYTHON_DOWNLOADS=never …)
    venvs: tuple[str, ...] = field(default=())  # directories RUN steps create virtualenvs in

    def has_tool(self, tool: str) -> bool | None:
        """True: the stage holds ``tool``; False: it certainly does not; None: unknown."""
        providers = packages_providing(tool)
        if tool in self.copied or tool in self.words or providers & self.packages.keys():
            return True
        if self.base_tools is None:
            return None
        if tool in self.base_tools.present:
            return True
        if self.opaque or tool not in self.base_tools.absent:
            return None
        return False


def stage_contents(dockerfile: Dockerfile) -> tuple[StageContents, ...]:
    """Every stage of ``dockerfile``, each read with the stages it is built FROM."""
    return tuple(_contents(dockerfile, stage) for stage in dockerfile.stages)


def _contents(dockerfile: Dockerfile, stage: Stage) -> StageContents:
    lineage = list(reversed(dockerfile.lineage(stage)))  # oldest first
    root = lineage[0]
    packages: dict[str, Span] = {}
    copied: dict[str, Span] = {}
    words: set[str] = set()
    opaque: list[tuple[Span, str]] = []
    venvs: list[str] = []
    base_python = image_python(root.base)
    python = (
        StagePython(base_python, root.span, f"the base image `{root.base}`")
        if base_python is not None and "$" not in root.base_written
        else None
    )
    python_unknown = None if python else f"the base image `{root.base}` does not name its Python"
    if "$" in root.base_written:
        python_unknown = f"the base image `{root.base_written}` comes from a build argument"
    uv_managed = False
    uv_downloads = True
    for ancestor in lineage:
        for copy in ancestor.copies:
            if not copy.dest.endswith("/") and len(copy.sources) == 1:
                copied.setdefault(posixpath.basename(copy.dest), copy.span)  # renamed
            for source in copy.sources:
                copied.setdefault(posixpath.basename(source.rstrip("/")), copy.span)
                if copy.from_ref is not None and posixpath.normpath(source) in _BIN_TREES:
                    opaque.append((copy.span, f"`{source}` is copied from `{copy.from_ref}`"))
        for variable, (value, span) in ancestor.env.items():
            if (variable, value) in (
                ("UV_PYTHON_DOWNLOADS", "never"),
                ("UV_PYTHON_DOWNLOADS", "manual"),
                ("UV_PYTHON_PREFERENCE", "only-system"),
            ):
                uv_downloads = False
            if variable == "UV_PYTHON" and value:
                uv_managed = True
                version = _PYTHON_VERSION.match(value)
                if version:
                    python = StagePython(version.group(1), span, f"`UV_PYTHON={value}`", True)
                else:
                    python, python_unknown = None, f"`UV_PYTHON={value}` names no version"
        for run in ancestor.runs:
            words.update(_WORD.findall(run.script))
            found = shell_invocations(run.script)
            if found is None:
                opaque.append((run.span, "its shell text could not be followed"))
                continue
            for invocation in found:
                _packages(invocation, run, packages, opaque)
                step_python, managed = _uv_python(invocation, run)
                uv_managed = uv_managed or managed
                if step_python is not None:
                    python = step_python
                if _manages_python(invocation):
                    python, python_unknown = None, f"{run.span.line}: another tool installs Python"
                venv = _venv(invocation, run)
                if venv is not None:
                    venvs.append(venv)
    return StageContents(
        dockerfile.path,
        stage.index,
        stage.name,
        stage.span,
        root.base,
        root.span,
        _base_tools(root),
        packages,
        copied,
        frozenset(words),
        tuple(opaque),
        python,
        python_unknown,
        uv_managed,
        uv_downloads,
        tuple(venvs),
    )


def _base_tools(root: Stage) -> ImageTools | None:
    """What the base image holds; a build argument may pick another image, so one in the
    name, or in a tag that does not spell out its variant (slim, alpine), makes it unknown."""
    written = root.base_written
    if "$" in written:
        name, _, tag = written.rpartition(":") if ":" in written else (written, "", "")
        if "$" in name or not any(word in tag for word in ("slim", "alpine")):
            return None
    return image_tools(root.base)


def _packages(
    invocation: Invocation, run: RunStep, packages: dict[str, Span], opaque: list[tuple[Span, str]]
) -> None:
    exe = posixpath.basename(invocation.executable)
    args = invocation.args
    verb = _INSTALLERS.get(exe)
    if verb is not None:
        if verb in args:
            for word in args[args.index(verb) + 1 :]:
                if "$" in word or "`" in word:
                    opaque.append((run.span, f"`{exe} {verb}` installs packages from a variable"))
                elif not word.startswith("-"):
                    name = word.split("=")[0]
                    if word.endswith(".deb") or word.endswith(".rpm") or "/" in name:
                        opaque.append((run.span, f"`{exe} {verb} {word}` installs a file"))
                    else:
                        packages.setdefault(name.split(":")[0], run.span)
        return
    if exe in _OPAQUE_INSTALLERS:
        opaque.append((run.span, f"`{exe}` may install programs preflight cannot list"))
        return
    if exe in _SHELLS and args and not args[0].startswith("-"):
        opaque.append((run.span, f"the script `{args[0]}` is not followed"))
        return
    if exe.endswith(".sh") or invocation.executable.startswith(("./", "../")):
        opaque.append((run.span, f"the script `{invocation.executable}` is not followed"))


def _uv_python(invocation: Invocation, run: RunStep) -> tuple[StagePython | None, bool]:
    """``uv python install 3.12`` / ``uv venv --python 3.12`` / ``uv sync --python 3.12``: the
    Python it selects (None when it names none) and whether uv manages the Python here."""
    if posixpath.basename(invocation.executable) != "uv" or not invocation.args:
        return None, False
    args = invocation.args
    requested: str | None = None
    for index, word in enumerate(args):
        if word in ("--python", "-p") and index + 1 < len(args):
            requested = args[index + 1]
        elif word.startswith("--python="):
            requested = word.partition("=")[2]
    if args[:2] == ("python", "install"):
        versions = [w for w in args[2:] if not w.startswith("-")]
        requested = versions[0] if len(versions) == 1 else None
        if requested is None:
            return None, True
    elif args[0] not in ("sync", "venv", "run", "pip") or requested is None:
        return None, args[0] in ("sync", "run", "venv")
    version = _PYTHON_VERSION.match(requested.strip("\"'"))
    if version is None:
        return None, True
    return StagePython(version.group(1), run.span, f"`uv {' '.join(args[:2])}`", True), True


def _manages_python(invocation: Invocation) -> bool:
    """Another tool installs its own Python (pyenv, conda, deadsnakes through apt…)."""
    exe = posixpath.basename(invocation.executable)
    if exe in ("pyenv", "conda", "mamba", "micromamba", "asdf", "mise"):
        return True
    if exe in _INSTALLERS:
        return any(re.match(r"^python3(\.\d+)?(?:$|[-=])", w) for w in invocation.args)
    return False


def _venv(invocation: Invocation, run: RunStep) -> str | None:
    """The directory ``python -m venv DIR`` / ``virtualenv DIR`` / ``uv venv DIR`` creates."""
    exe = posixpath.basename(invocation.executable)
    args = list(invocation.args)
    if exe.startswith("python") and args[:2] == ["-m", "venv"]:
        rest = args[2:]
    elif exe == "virtualenv":
        rest = args
    elif exe == "uv" and args[:1] == ["venv"]:
        rest = args[1:]
        if not [w for w in rest if not w.startswith("-")]:
            rest = [".venv"]
    else:
        return None
    positional = [
        w for i, w in enumerate(rest)
        if not w.startswith("-") and (i == 0 or rest[i - 1] not in ("--python", "-p", "--prompt"))
    ]  # fmt: skip
    if not positional:
        return None
    target = positional[-1]
    return posixpath.normpath(
        target if target.startswith("/") else posixpath.join(run.workdir, target)
    )
