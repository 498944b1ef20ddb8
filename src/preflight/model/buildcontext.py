"""What a Docker build can see: the build context (after .dockerignore), and which of its files
each step of the Dockerfile has copied into the image so far.

Two small views, for rules that ask "is this file there when this step runs?":

- ``BuildContext``: the context directory of one Dockerfile, how sure preflight is of it, and
  the .dockerignore that applies (``<Dockerfile>.dockerignore`` beside the Dockerfile first, as
  BuildKit reads it, else ``.dockerignore`` at the context's root). ``state(path)`` says whether
  the context holds a file, leaves it out (and which pattern does), or the repository lacks it.
- ``StageFiles``: where files land in the image, step by step (COPY/ADD from the context, bind
  mounts of one RUN, copies from other stages, downloads and archives), for a stage and the
  stages it is built FROM. ``landing(image_path, before)`` says what put a path there.

``context_gaps`` walks every Dockerfile's needed stages with both views and records each file a
step needs that the build cannot give it: a COPY source the context leaves out or lacks, the
lock file a frozen ``uv sync`` reads, the readme/license a build backend reads and the package
files it looks for when an install step builds the project. Where preflight cannot be sure (the
context is unknown or ambiguous, a file may be generated during the build) it records why, for
``--verbose``, instead of a gap.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from preflight.model.installs import (
    PIP_VALUE_OPTIONS,
    POETRY_VALUE_OPTIONS,
    UV_VALUE_OPTIONS,
    command_words,
)
from preflight.parse.dockerfile import CopyStep, Dockerfile, RunStep, Stage
from preflight.parse.dockerignore import DockerIgnore, IgnorePattern, glob_matches
from preflight.parse.requirements import normalise_name
from preflight.parse.shell import shell_invocations
from preflight.spans import Span

if TYPE_CHECKING:
    from preflight.model.project import Project
    from preflight.parse.pyproject import Pyproject

__all__ = [
    "BuildContext",
    "ContextGap",
    "ContextReport",
    "Landing",
    "StageFiles",
    "context_gaps",
    "contexts_of",
]


# ---------------------------------------------------------------------------------------------
# The context


@dataclass(frozen=True, slots=True)
class BuildContext:
    """The build context of one Dockerfile."""

    dockerfile: str
    directory: str  # repository-relative, "" for the root
    why: str
    certain: bool  # a build names it, or the Dockerfile is at the root and nothing names another
    ignore: DockerIgnore | None
    paths: frozenset[str] = field(repr=False)  # every file of the repository
    dirs: frozenset[str] = field(repr=False)  # every directory of the repository

    def repo_path(self, context_path: str) -> str:
        return _join(self.directory, context_path)

    def state(self, context_path: str) -> tuple[str, IgnorePattern | None]:
        """("present" | "excluded" | "absent", the pattern that excludes it)."""
        context_path = _normal(context_path)
        if self.ignore is not None and context_path:
            pattern = self.ignore.excluded_by(context_path)
            if pattern is not None:
                return "excluded", pattern
        repo = self.repo_path(context_path)
        if repo in self.paths or repo in self.dirs:
            return "present", None
        return "absent", None


def contexts_of(project: Project) -> dict[str, tuple[set[str], list[str]]]:
    """Dockerfile -> (the contexts builds name for it, how each is named)."""
    out: dict[str, tuple[set[str], list[str]]] = {}
    for compose in project.compose_files.values():
        for service in compose.services:
            if service.dockerfile in project.dockerfiles and service.build_context is not None:
                entry = out.setdefault(service.dockerfile, (set(), []))
                entry[0].add(service.build_context)
                entry[1].append(f"compose service `{service.name}` in {compose.path}")
    for build in project.image_builds:
        choices = [(build.dockerfile, build.context)]
        if build.fallback is not None:
            choices.append(build.fallback)
        found = next(((d, c) for d, c in choices if d in project.dockerfiles), None)
        if found is not None:
            entry = out.setdefault(found[0], (set(), []))
            entry[0].add(found[1])
            entry[1].append(build.how)
    return out


def _context(project: Project, path: str, named: tuple[set[str], list[str]] | None,
             dirs: frozenset[str]) -> BuildContext | str:  # fmt: skip
    """The context of the Dockerfile at ``path``, or why it is not known."""
    image = project.images.get(path)
    if named is not None:
        contexts, how = named
        if len(contexts) > 1:
            shown = ", ".join(f"`{c or '.'}`" for c in sorted(contexts))
            return f"its builds use {len(contexts)} different contexts ({shown})"
        directory, why, certain = next(iter(contexts)), f"{how[0]} builds it", True
    elif image is not None:
        directory, why = image.context, image.context_why
        certain = posixpath.dirname(path) == "" and directory == ""
    else:
        return "it is not linked to an image"
    if "$" in directory or "{" in directory or "://" in directory:
        return f"its context `{directory}` is not a directory preflight can read"
    if directory and directory not in dirs:
        return f"its context `{directory}` is not a directory of the repository"
    own = f"{path}.dockerignore"
    beside = _join(directory, ".dockerignore")
    ignore: DockerIgnore | None = None
    for candidate in (own, beside):
        if candidate in project.dockerignores:
            ignore = project.dockerignores[candidate]
            break
        if candidate in project.all_paths:
            return f"{candidate} could not be read"
    return BuildContext(path, directory, why, certain, ignore, project.all_paths, dirs)


# ---------------------------------------------------------------------------------------------
# What has landed in the image


@dataclass(frozen=True, slots=True)
class Landing:
    """Something a step puts at ``image_path``: a file or directory of the context (``source``,
    context-relative), or something else (``source`` None: another stage, a download, an
    archive, a heredoc)."""

    image_path: str  # absolute, normalised, no trailing slash
    source: str | None
    is_dir: bool
    span: Span
    how: str  # "COPY", "ADD", "bind mount", "COPY --from", "download", "archive", "heredoc"
    only_for: Span | None = None  # a bind mount: there only while that RUN runs

    def covers(self, image_path: str) -> bool:
        if image_path == self.image_path:
            return True
        return self.is_dir and image_path.startswith(self.image_path.rstrip("/") + "/")

    def source_of(self, image_path: str) -> str | None:
        """The context path that lands at ``image_path`` (None: not from the context)."""
        if self.source is None:
            return None
        if image_path == self.image_path:
            return self.source
        rest = image_path[len(self.image_path.rstrip("/")) + 1 :]
        return _join(self.source, rest)


@dataclass(slots=True)
class StageFiles:
    """Where files land in the image a stage builds, in step order (its FROM stages first)."""

    landings: list[Landing] = field(default_factory=list)
    runs: list[RunStep] = field(default_factory=list)
    context: BuildContext | None = None  # to tell which files a directory copy brings

    def landing(self, image_path: str, before: Span) -> Landing | None:
        """The last landing at or above ``image_path`` made before the step at ``before``
        (a bind mount counts only for its own RUN)."""
        for landing in reversed(self.landings):
            if landing.only_for is not None:
                if landing.only_for != before:
                    continue
            elif not _before(landing.span, before):
                continue
            if landing.covers(image_path) and self._brings(landing, image_path):
                return landing
        return None

    def _brings(self, landing: Landing, image_path: str) -> bool:
        """A directory copied over a path brings it only if the repository has it there
        (Docker merges directories: an earlier COPY's file stays unless this one overwrites
        it)."""
        if landing.source is None or not landing.is_dir or self.context is None:
            return True
        source = landing.source_of(image_path)
        if source is None:
            return True
        repo = self.context.repo_path(source)
        return repo in self.context.paths or repo in self.context.dirs

    def only_files_under(self, directory: str, before: Span) -> bool:
        """Whether every landing before the step at ``before`` in or above ``directory`` is a
        single file (`COPY pyproject.toml uv.lock ./`), so the directory holds nothing else."""
        for landing in self.landings:
            if landing.only_for is not None:
                if landing.only_for != before:
                    continue
            elif not _before(landing.span, before):
                continue
            path = landing.image_path.rstrip("/") or "/"
            overlaps = (
                path == directory
                or path.startswith(directory.rstrip("/") + "/")
                or directory.startswith(path.rstrip("/") + "/")
            )
            if overlaps and (landing.is_dir or landing.source is None):
                return False
        return True

    def later(self, image_path: str, after: Span) -> Landing | None:
        """The first landing of ``image_path`` from the context after the step at ``after``."""
        for landing in self.landings:
            if (
                landing.only_for is None
                and _before(after, landing.span)
                and landing.covers(image_path)
                and landing.source is not None
                and self._brings(landing, image_path)
            ):
                return landing
        return None

    def written_by_run(self, name: str, before: Span) -> RunStep | None:
        """A RUN before the step that may write ``name`` (its script names it, or fetches or
        unpacks files); None when none does."""
        word = re.compile(r"(?<![\w.-])" + re.escape(name) + r"(?![\w.-])")
        for run in self.runs:
            if not _before(run.span, before):
                continue
            if word.search(run.script) or _FETCHES.search(run.script):
                return run
        return None


_FETCHES = re.compile(r"\bgit\s+clone\b|\bwget\b|\bcurl\b[^\n]*\s-[oO]\b|\btar\s|\bunzip\b")
_ARCHIVE = re.compile(r"\.(?:tar|tgz|tbz2?|txz|tar\.(?:gz|bz2|xz|zst))$")


def _before(first: Span, second: Span) -> bool:
    return (first.path, first.line) < (second.path, second.line) and first.path == second.path


def stage_files(
    dockerfile: Dockerfile, stage: Stage, texts: Mapping[str, str], context: BuildContext
) -> StageFiles:
    """The landings of ``stage`` and the stages it is built FROM (oldest first)."""
    files = StageFiles(context=context)
    lines = texts.get(dockerfile.path, "").split("\n")
    for ancestor in reversed(dockerfile.lineage(stage)):
        for copy in ancestor.copies:
            files.landings.extend(_landings(copy, lines, context))
        for run in ancestor.runs:
            files.runs.append(run)
            for target, source in run.binds:
                normal = _normal(source)
                is_dir = context.repo_path(normal) in context.dirs
                files.landings.append(
                    Landing(_normal_image(target), normal, is_dir, run.span, "bind mount", run.span)
                )
    files.landings.sort(key=lambda landing: landing.span.line)
    files.runs.sort(key=lambda run: run.span.line)
    return files


def _landings(copy: CopyStep, lines: list[str], context: BuildContext) -> Iterator[Landing]:
    dest = copy.dest.rstrip("/") or "/"
    written = lines[copy.span.line - 1] if copy.span.line - 1 < len(lines) else ""
    keyword = "ADD" if copy.is_add else "COPY"
    if "<<" in written:
        yield Landing(dest, None, True, copy.span, "heredoc")
        return
    if "--parents" in written or "--exclude" in written:
        yield Landing(dest, None, True, copy.span, f"{keyword} with --parents or --exclude")
        return
    if copy.from_ref is not None:
        yield Landing(dest, None, True, copy.span, "COPY --from")
        return
    for source in copy.sources:
        if "://" in source or source.startswith("git@"):
            yield Landing(dest, None, True, copy.span, "download")
            continue
        if copy.is_add and _ARCHIVE.search(source):
            yield Landing(dest, None, True, copy.span, "archive")
            continue
        if "$" in source:
            # a variable: it may land anything under the destination
            yield Landing(dest, None, True, copy.span, keyword)
            continue
        if any(ch in source for ch in "*?["):
            yield from _glob_landings(copy, source, dest, context, keyword)
            continue
        normal = _normal(source)
        if context.repo_path(normal) in context.dirs:
            yield Landing(dest, normal, True, copy.span, keyword)  # its contents land at dest
            continue
        # a file lands at dest, or inside dest when that is a directory (written with a `/`,
        # or one that exists already): both are kept
        yield Landing(dest, normal, False, copy.span, keyword)
        yield Landing(
            posixpath.join(dest, posixpath.basename(normal)), normal, False, copy.span, keyword
        )


def _glob_landings(
    copy: CopyStep, source: str, dest: str, context: BuildContext, keyword: str
) -> Iterator[Landing]:
    """What a glob source lands: each context path it matches that the context keeps, into
    dest (`COPY pyproject.toml poetry.lock* ./`)."""
    prefix = context.directory + "/" if context.directory else ""
    pattern = _normal(source)
    if "/" in pattern.rstrip("/") and not pattern.startswith(("*", "?", "[")):
        head = pattern.split("/", 1)[0]
        if any(ch in head for ch in "*?["):
            yield Landing(dest, None, True, copy.span, keyword)
            return
    for path in sorted(context.paths | context.dirs):
        if not path.startswith(prefix) or path == context.directory:
            continue
        relative = path[len(prefix) :]
        if not glob_matches(pattern, relative) or context.state(relative)[0] != "present":
            continue
        if path in context.dirs:
            yield Landing(dest, relative, True, copy.span, keyword)
        else:
            target = posixpath.join(dest, posixpath.basename(relative))
            yield Landing(target, relative, False, copy.span, keyword)


# ---------------------------------------------------------------------------------------------
# Gaps


@dataclass(frozen=True, slots=True)
class ContextGap:
    """A file a build step needs that the build cannot give it."""

    dockerfile: str
    kind: str  # "copy-source" | "lock" | "readme" | "license" | "package"
    state: str  # "excluded" | "absent" | "not-copied"
    step: Span  # the COPY or RUN that needs it
    step_text: str  # "COPY requirements.txt .", "`uv sync --frozen`"
    needed: str  # what is needed, as the user writes it ("README.md", "uv.lock", "app/")
    context: BuildContext
    pattern: IgnorePattern | None = None  # the .dockerignore line that leaves it out
    declared: Span | None = None  # where the pyproject names it (readme = …)
    reader: str = ""  # who reads it: "hatchling", "`uv sync --frozen`", "COPY"
    copied_later: Span | None = None  # the COPY that brings it, after the step


@dataclass(slots=True)
class ContextReport:
    """Every gap found, and where preflight could not judge and why (for --verbose)."""

    gaps: list[ContextGap] = field(default_factory=list)
    unsure: list[tuple[Span | None, str]] = field(default_factory=list)
    contexts: dict[str, BuildContext] = field(default_factory=dict)  # by Dockerfile path


def context_gaps(
    project: Project,
    texts: Mapping[str, str],
    generated: Callable[[str, bool], bool] = lambda path, is_dir: False,
) -> ContextReport:
    """The gaps of every Dockerfile's build. ``generated(path, is_dir)``: whether something
    outside the Docker build may create the path (git ignores it: a local file or an output)."""
    report = ContextReport()
    dirs = _directories(project.all_paths)
    named = contexts_of(project)
    mentioned = _mentioned_names(project, texts)
    for path, dockerfile in sorted(project.dockerfiles.items()):
        if not dockerfile.stages:
            continue
        found = _context(project, path, named.get(path), dirs)
        if isinstance(found, str):
            report.unsure.append(
                (Span(path, 1), f"the build context of {path} is unknown: {found}")
            )
            continue
        report.contexts[path] = found
        for stage in _needed_stages(dockerfile):
            files = stage_files(dockerfile, stage, texts, found)
            _copy_gaps(stage, found, report, generated, mentioned, texts)
            for run in stage.runs:
                _install_gaps(project, dockerfile, stage, run, files, found, report, texts)
    return report


def _needed_stages(dockerfile: Dockerfile) -> list[Stage]:
    """The final stage and every stage it is built FROM or copies from (BuildKit builds only
    these; a `test` stage nothing needs never runs)."""
    final = dockerfile.final
    if final is None:
        return []
    needed: dict[int, Stage] = {}
    stack = [final]
    while stack:
        stage = stack.pop()
        if stage.index in needed:
            continue
        needed[stage.index] = stage
        if stage.base_stage is not None:
            stack.append(dockerfile.stages[stage.base_stage])
        for copy in stage.copies:
            if copy.from_ref is not None:
                source = dockerfile.stage_named(copy.from_ref)
                if source is not None and source.index < stage.index:
                    stack.append(source)
    return [needed[index] for index in sorted(needed)]


_BUILD_OUTPUTS = frozenset(
    {
        "dist",
        "build",
        "out",
        "target",
        "node_modules",
        "static",
        "staticfiles",
        "public",
        "bin",
        ".venv",
        "venv",
        "wheels",
        "site",
        "_build",
        "artifacts",
        "release",
        "vendor",
        "generated",
    }
)


def _copy_gaps(
    stage: Stage,
    context: BuildContext,
    report: ContextReport,
    generated: Callable[[str, bool], bool],
    mentioned: frozenset[str],
    texts: Mapping[str, str],
) -> None:
    lines = texts.get(context.dockerfile, "").split("\n")
    for copy in stage.copies:
        if copy.from_ref is not None:
            continue
        written = lines[copy.span.line - 1] if copy.span.line - 1 < len(lines) else ""
        if "<<" in written:
            continue
        keyword = "ADD" if copy.is_add else "COPY"
        text = f"{keyword} {' '.join(copy.sources)} {copy.dest}"
        for source in copy.sources:
            if "://" in source or source.startswith("git@") or "$" in source:
                continue
            if any(ch in source for ch in "*?["):
                continue  # a glob may match nothing on purpose (`poetry.lock*`)
            normal = _normal(source)
            if normal.startswith("..") or posixpath.basename(normal) == ".dockerignore":
                continue
            state, pattern = context.state(normal) if normal else ("present", None)
            if state == "excluded":
                assert context.ignore is not None
                if context.repo_path(normal) in context.dirs and context.ignore.may_keep_under(
                    normal
                ):
                    report.unsure.append(
                        (
                            copy.span,
                            f"`{normal}` is excluded, but an exception may keep files under it",
                        )
                    )
                    continue
                report.gaps.append(
                    ContextGap(
                        context.dockerfile,
                        "copy-source",
                        "excluded",
                        copy.span,
                        text,
                        normal,
                        context,
                        pattern,
                        reader=keyword,
                    )
                )
            elif state == "absent":
                why = _may_be_made(normal, context, generated, mentioned)
                if why is not None:
                    report.unsure.append((copy.span, f"`{normal}` {why}"))
                    continue
                report.gaps.append(
                    ContextGap(
                        context.dockerfile,
                        "copy-source",
                        "absent",
                        copy.span,
                        text,
                        normal,
                        context,
                        reader=keyword,
                    )
                )


def _may_be_made(
    path: str,
    context: BuildContext,
    generated: Callable[[str, bool], bool],
    mentioned: frozenset[str],
) -> str | None:
    """Why a path the repository lacks may exist when the build runs (None: nothing makes it)."""
    if not context.certain:
        return f"is not in {context.directory or 'the root'}, but the build context is a guess"
    repo = context.repo_path(path)
    parts = repo.split("/")
    for index in range(len(parts)):
        if generated("/".join(parts[: index + 1]), index < len(parts) - 1):
            return (
                "is ignored by git: it may be made before the build (a local file, a build output)"
            )
    if any(part.lower() in _BUILD_OUTPUTS for part in parts):
        return "looks like a build output, made before the image is built"
    name = parts[-1]
    if name in mentioned or parts[0] in mentioned:
        return "is named by a script or CI file of the repository, which may make it"
    if name.startswith(".env") or name.endswith((".pem", ".key", ".crt", ".json")):
        return "looks like a local or secret file, provided where the image is built"
    return None


def _mentioned_names(project: Project, texts: Mapping[str, str]) -> frozenset[str]:
    """Words of the repository's build scripts, CI files and Makefiles (a file they name may
    be one they write before `docker build`)."""
    words: set[str] = set()
    for path, text in texts.items():
        name = posixpath.basename(path)
        lower = name.lower()
        if (
            path in project.dockerfiles
            or path in project.dockerignores
            or lower.endswith((".py", ".toml", ".lock", ".txt", ".md"))
        ):
            continue
        if not (
            lower.endswith((".sh", ".yml", ".yaml", ".mk", ".hcl", ".json"))
            or name in ("Makefile", "makefile", "GNUmakefile", "Tiltfile", "justfile")
        ):
            continue
        for word in re.findall(r"[\w.\-/]+", text[:200_000]):
            words.add(word.strip("./"))
            words.add(posixpath.basename(word))
    return frozenset(words)


# --- install steps ---------------------------------------------------------------------------

_CHANGES_DIRECTORY = re.compile(r"(?:^|[;&|(\s])(?:cd|pushd)\s")
_TRUE = re.compile(r"^(?:1|true|yes|on)$", re.I)


@dataclass(frozen=True, slots=True)
class _Install:
    """An install step that reads a project directory."""

    text: str  # "`uv sync --frozen`"
    directory: str  # image path of the project
    builds_project: bool  # the build backend runs (the project itself is installed)
    needs_lock: str | None  # "uv.lock" when the step refuses to run without one
    tool: str  # "pip" | "uv" | "poetry"


def _installs(run: RunStep, stage_env: Mapping[str, tuple[str | None, Span]]) -> list[_Install]:
    if _CHANGES_DIRECTORY.search(run.script):
        return []  # `cd x && pip install .`: the directory is not followed
    found = shell_invocations(run.script)
    if not found:
        return []
    out: list[_Install] = []
    for invocation in found:
        exe = posixpath.basename(invocation.executable)
        args = list(invocation.args)
        if exe.startswith("python") and args[:2] == ["-m", "pip"]:
            exe, args = "pip", args[2:]
        elif exe.startswith("python") and args[:2] == ["-m", "uv"]:
            exe, args = "uv", args[2:]
        if exe == "uv" and args[:1] == ["pip"]:
            exe, args = "pip", args[1:]
        if exe.rstrip("0123456789.") == "pip":
            out.extend(_pip(args, run))
        elif exe == "uv" and args[:1] in (["sync"], ["export"]):
            out.extend(_uv(args, run, stage_env))
        elif exe == "poetry" and args[:1] in (["install"], ["sync"]):
            out.extend(_poetry(args, run))
    return out


def _words(args: list[str], value_options: frozenset[str]) -> tuple[list[str], dict[str, str]]:
    """installs' reading of a command line, each option's first value by its name."""
    positional, pairs = command_words(args, value_options)
    return positional, dict(reversed(pairs))


def _pip(args: list[str], run: RunStep) -> Iterator[_Install]:
    if not args or args[0] not in ("install", "wheel"):
        return
    positional, options = _words(args[1:], PIP_VALUE_OPTIONS | {"-e", "--editable"})
    targets = list(positional)
    for name in ("-e", "--editable"):
        if name in options:
            targets.append(options[name])
    for word in targets:
        path = word.split("[", 1)[0]
        if not path.startswith((".", "/")) or path.endswith((".whl", ".gz", ".zip")):
            continue
        if "$" in path or any(ch in path for ch in "*?"):
            continue
        verb = "wheel" if args[0] == "wheel" else "install"
        yield _Install(f"`pip {verb} {word}`", _image_path(run.workdir, path), True, None, "pip")


def _uv(
    args: list[str], run: RunStep, stage_env: Mapping[str, tuple[str | None, Span]]
) -> Iterator[_Install]:
    _positional, options = _words(args[1:], UV_VALUE_OPTIONS)
    directory = options.get("--project") or options.get("--directory") or "."
    if "$" in directory:
        return
    env = {name: value for name, (value, _) in stage_env.items() if value is not None}
    inline = dict(re.findall(r"\b(UV_FROZEN|UV_LOCKED|UV_NO_INSTALL_PROJECT)=(\S+)", run.script))
    env.update(inline)
    frozen = "--frozen" in options or bool(_TRUE.match(env.get("UV_FROZEN", "")))
    locked = "--locked" in options or bool(_TRUE.match(env.get("UV_LOCKED", "")))
    needs_lock = None
    if frozen or locked:
        needs_lock = "--frozen" if frozen else "--locked"
    builds = args[0] == "sync" and not (
        {"--no-install-project", "--only-group", "--only-dev", "--no-install-workspace"}
        & set(options)
        or _TRUE.match(env.get("UV_NO_INSTALL_PROJECT", ""))
    )
    flags = " ".join(word for word in args if word in ("--frozen", "--locked"))
    text = f"`uv {args[0]}{' ' + flags if flags else ''}`"
    yield _Install(text, _image_path(run.workdir, directory), builds, needs_lock, "uv")


def _poetry(args: list[str], run: RunStep) -> Iterator[_Install]:
    _positional, options = _words(args[1:], POETRY_VALUE_OPTIONS)
    directory = next(
        (options[n] for n in ("-C", "--directory", "-P", "--project") if n in options), "."
    )
    if "$" in directory:
        return
    builds = "--no-root" not in options
    yield _Install(
        f"`poetry {args[0]}`", _image_path(run.workdir, directory), builds, None, "poetry"
    )


_POETRY_1 = re.compile(
    r"poetry\s*[=~<>]=?\s*['\"]?1\.|poetry\s*<\s*['\"]?2|POETRY_VERSION[= ]['\"]?1\.|"
    r"--version[= ]['\"]?1\.",
    re.I,
)
# Poetry installed by this Dockerfile (else it comes from the base image: version unknown)
_POETRY_INSTALLED = re.compile(
    r"(?:pip3?|pipx|uv\s+pip|uv\s+tool)\s+install\b[^\n&;|]*\bpoetry\b|install\.python-poetry\.org",
    re.I,
)
_NO_ERROR_BACKENDS = ("setuptools", "flit", "pdm", "maturin", "scikit_build", "mesonpy")


def _install_gaps(
    project: Project,
    dockerfile: Dockerfile,
    stage: Stage,
    run: RunStep,
    files: StageFiles,
    context: BuildContext,
    report: ContextReport,
    texts: Mapping[str, str],
) -> None:
    for install in _installs(run, stage.env):
        pyproject_at = posixpath.join(install.directory, "pyproject.toml")
        pyproject, _landing, why = _resolve(project, files, context, pyproject_at, run.span)
        if pyproject is None:
            if install.needs_lock or install.builds_project:
                report.unsure.append((run.span, f"{install.text}: {why}"))
            continue
        if install.needs_lock is not None and install.tool == "uv":
            _lock_gap(project, files, context, report, install, pyproject, run)
        if install.builds_project:
            _build_gaps(project, dockerfile, files, context, report, install, pyproject, run, texts)


def _resolve(
    project: Project, files: StageFiles, context: BuildContext, image_path: str, step: Span
) -> tuple[Pyproject | None, Landing | None, str]:
    landing = files.landing(image_path, step)
    if landing is None:
        return None, None, f"no step before it copies `{image_path}` from the context"
    source = landing.source_of(image_path)
    if source is None:
        return None, landing, f"`{image_path}` comes from {landing.how}, not from the context"
    pyproject = project.pyprojects.get(context.repo_path(source))
    if pyproject is None or pyproject.problems or pyproject.build is None:
        return None, landing, f"`{source}` is not a pyproject.toml preflight read"
    return pyproject, landing, ""


def _lock_gap(
    project: Project,
    files: StageFiles,
    context: BuildContext,
    report: ContextReport,
    install: _Install,
    pyproject: Pyproject,
    run: RunStep,
) -> None:
    repo_dir = posixpath.dirname(pyproject.path)
    above = repo_dir
    while above:
        above = posixpath.dirname(above)
        if _join(above, "uv.lock") in project.all_paths:
            report.unsure.append(
                (
                    run.span,
                    f"{install.text}: {pyproject.path} may be a member of the workspace "
                    f"locked in {_join(above, 'uv.lock')}",
                )
            )
            return
    image_lock = posixpath.join(install.directory, "uv.lock")
    reader = f"{install.text}"
    _record_file_gap(
        report, files, context, install, run, image_lock, "uv.lock", "lock", None, reader
    )


def _record_file_gap(
    report: ContextReport,
    files: StageFiles,
    context: BuildContext,
    install: _Install,
    run: RunStep,
    image_path: str,
    name: str,
    kind: str,
    declared: Span | None,
    reader: str,
) -> None:
    """A file the install at ``run`` reads (`uv.lock`, the readme): a gap when the build
    cannot give it, an unsure note when it may."""
    gap = _file_gap(files, context, image_path, run, name)
    if gap is None:
        return
    state, source, pattern, later, why = gap
    if state == "unsure":
        report.unsure.append((run.span, f"{install.text}: {name} {why}"))
        return
    report.gaps.append(
        ContextGap(
            context.dockerfile,
            kind,
            state,
            run.span,
            install.text,
            source or name,
            context,
            pattern,
            declared,
            reader,
            later,
        )
    )


def _file_gap(
    files: StageFiles, context: BuildContext, image_path: str, run: RunStep, name: str
) -> tuple[str, str | None, IgnorePattern | None, Span | None, str] | None:
    """How a file the step at ``run`` reads is missing: (state, context path, pattern, the
    COPY that brings it later, why unsure); None when it is there."""
    landing = files.landing(image_path, run.span)
    if landing is None:
        maker = files.written_by_run(posixpath.basename(name), run.span)
        if maker is not None:
            return (
                "unsure",
                None,
                None,
                None,
                f"may be written by the RUN at line {maker.span.line}",
            )
        later = files.later(image_path, run.span)
        source = later.source_of(image_path) if later is not None else None
        if source is not None and context.state(source)[0] != "present":
            return None  # a later COPY brings it, and the context lacks it: that COPY's finding
        return "not-copied", source, None, later.span if later else None, ""
    source = landing.source_of(image_path)
    if source is None:
        return (
            "unsure",
            None,
            None,
            None,
            f"may come from the {landing.how} at line {landing.span.line}",
        )
    state, pattern = context.state(source)
    if state == "present":
        return None
    if landing.how != "bind mount" and (not landing.is_dir or source == landing.source):
        return None  # the COPY of the file itself fails first: a copy-source gap
    if state == "absent" and landing.how == "bind mount" and not landing.is_dir:
        return "absent", source, None, None, ""
    if state == "absent":
        return (
            "unsure",
            source,
            None,
            None,
            f"is not in the repository (`{context.repo_path(source)}`)",
        )
    return "excluded", source, pattern, None, ""


def _build_gaps(
    project: Project,
    dockerfile: Dockerfile,
    files: StageFiles,
    context: BuildContext,
    report: ContextReport,
    install: _Install,
    pyproject: Pyproject,
    run: RunStep,
    texts: Mapping[str, str],
) -> None:
    build = pyproject.build
    assert build is not None
    backend = _backend(install, pyproject, dockerfile, texts, report, run)
    if backend is None:
        return
    for name, key, declared in build.files:
        if key in build.dynamic or "$" in name or any(ch in name for ch in "*?["):
            continue
        if key == "license" and backend != "hatchling":
            continue
        image_path = _image_path(install.directory, name)
        _record_file_gap(
            report, files, context, install, run, image_path, name, key, declared, backend
        )
    _package_gap(files, context, report, install, pyproject, run, backend)


def _backend(
    install: _Install,
    pyproject: Pyproject,
    dockerfile: Dockerfile,
    texts: Mapping[str, str],
    report: ContextReport,
    run: RunStep,
) -> str | None:
    """The builder that fails on a missing readme or package ("hatchling", "poetry-core",
    "Poetry"), or None when the step builds nothing or its builder does not fail on one."""
    build = pyproject.build
    assert build is not None
    if install.tool == "poetry":
        if not build.poetry_package_mode:
            return None
        text = texts.get(dockerfile.path, "")
        if not _POETRY_INSTALLED.search(text):
            report.unsure.append(
                (run.span, f"{install.text}: Poetry comes from the base image, in a version "
                 "preflight does not know (1.x only warns when it cannot install the project)")
            )  # fmt: skip
            return None
        if _POETRY_1.search(text):
            report.unsure.append(
                (
                    run.span,
                    f"{install.text}: Poetry 1.x only warns when it cannot install the "
                    "project itself",
                )
            )
            return None
        return "Poetry"
    backend = build.backend or ""
    if install.tool == "uv" and (
        build.uv_package is False or (not build.has_build_system and build.uv_package is not True)
    ):
        return None  # uv installs a project without a build system as a virtual one
    if backend.startswith("hatchling"):
        return "hatchling"
    if backend.startswith("poetry.core"):
        return "poetry-core"
    if backend and not backend.startswith(_NO_ERROR_BACKENDS):
        report.unsure.append(
            (run.span, f"{install.text}: what build backend `{backend}` reads is not known")
        )
    return None


def _package_gap(
    files: StageFiles,
    context: BuildContext,
    report: ContextReport,
    install: _Install,
    pyproject: Pyproject,
    run: RunStep,
    backend: str,
) -> None:
    """hatchling and Poetry look for the package named after the project; before the source is
    copied they find none and stop."""
    build = pyproject.build
    assert build is not None
    if not pyproject.name or build.hatch_selection or build.poetry_packages:
        return
    if backend == "hatchling" and not build.has_build_system:
        return
    module = normalise_name(pyproject.name).replace("-", "_")
    candidates = (
        f"{module}/__init__.py",
        f"src/{module}/__init__.py",
        f"{module}.py",
        f"src/{module}.py",
    )
    if not files.only_files_under(install.directory, run.span):
        return  # a directory was copied there: the package may be in it
    images = [_image_path(install.directory, c) for c in candidates]
    if any(files.landing(image, run.span) is not None for image in images):
        return
    # a later COPY brings the package: the step runs too early (without one, the package is
    # configured some way preflight does not read, or missing everywhere)
    brought = [(image, files.later(image, run.span)) for image in images]
    found = next(((image, later) for image, later in brought if later is not None), None)
    if found is None:
        return
    image_path, later = found
    wanted = candidates[images.index(image_path)]
    package = wanted.removesuffix("/__init__.py")
    if files.written_by_run(posixpath.basename(package), run.span) is not None:
        return
    report.gaps.append(
        ContextGap(
            context.dockerfile,
            "package",
            "not-copied",
            run.span,
            install.text,
            package + ("/" if wanted.endswith("__init__.py") else ""),
            context,
            None,
            None,
            backend,
            later.span if later else None,
        )
    )


# ---------------------------------------------------------------------------------------------


def _normal(path: str) -> str:
    normalised = posixpath.normpath(path.strip())
    return "" if normalised in (".", "/") else normalised.lstrip("/")


def _normal_image(path: str) -> str:
    return posixpath.normpath(path) if path.startswith("/") else posixpath.normpath("/" + path)


def _image_path(workdir: str, path: str) -> str:
    joined = path if path.startswith("/") else posixpath.join(workdir or "/", path)
    return posixpath.normpath(joined)


def _join(directory: str, path: str) -> str:
    return _normal(posixpath.join(directory, path)) if directory else _normal(path)


def _directories(paths: Iterable[str]) -> frozenset[str]:
    dirs: set[str] = {""}
    for item in paths:
        parts = item.split("/")[:-1]
        for end in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:end]))
    return frozenset(dirs)
