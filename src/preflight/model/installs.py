"""What a Docker image installs: distributions, system packages and files, traced to each step.

The final stage of a Dockerfile is read together with the stages it is built FROM and the stages
it copies from (``COPY --from=builder /opt/venv /opt/venv``). Every RUN step is split into the
programs it starts (see :mod:`preflight.parse.shell`); installers are understood (pip, uv, poetry,
pipx, apt/apk) and their arguments resolved against the files the image copied from the build
context. Anything this module cannot follow (an unknown base image, a script piped into a shell,
``pipenv``, ``setup.py``) is recorded in :attr:`Environment.unknown`, and rules that would claim
something is *missing* stay silent on such an image.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from preflight.digits import is_ascii_digits
from preflight.model.project import Environment, InstalledDist
from preflight.parse.dockerfile import CopyStep, Dockerfile, RunStep, Stage
from preflight.parse.pyproject import Pyproject
from preflight.parse.requirements import (
    Include,
    Requirement,
    RequirementsFile,
    normalise_name,
    parse_requirement,
)
from preflight.parse.shell import Invocation, shell_invocations
from preflight.spans import Span

# Programs a RUN step may start that install nothing a command could later run.
_HARMLESS = frozenset(
    {
        "echo",
        "printf",
        "mkdir",
        "rm",
        "rmdir",
        "cp",
        "mv",
        "ln",
        "chmod",
        "chown",
        "chgrp",
        "touch",
        "cat",
        "ls",
        "true",
        "false",
        "test",
        "[",
        "sed",
        "grep",
        "find",
        "tar",
        "gzip",
        "gunzip",
        "unzip",
        "curl",
        "wget",
        "useradd",
        "adduser",
        "groupadd",
        "addgroup",
        "usermod",
        "id",
        "whoami",
        "env",
        "printenv",
        "sleep",
        "sort",
        "head",
        "tail",
        "tee",
        "xargs",
        "cut",
        "tr",
        "awk",
        "mawk",
        "gawk",
        "install",
        "stat",
        "du",
        "df",
        "sha256sum",
        "md5sum",
        "date",
        "locale-gen",
        "update-ca-certificates",
        "ldconfig",
        "git",
        "export",
        "dpkg-reconfigure",
        "rm -rf",
        "truncate",
        "basename",
        "dirname",
        "realpath",
        "which",
        "node",
        "npm",
        "npx",
        "yarn",
        "pnpm",
        "mkdocs",
        "collectstatic",
        "strip",
    }
)
# Build tools and system utilities: they may build assets, but not a Python environment.
_HARMLESS_TOOLS = frozenset(
    {"apt-key", "gpg", "seq", "flake8", "ruff", "mypy", "pytest", "black", "isort", "go",
     "cargo", "rustc", "gcc", "g++", "bun", "deno", "playwright", "locale", "dpkg",
     "update-alternatives", "ldd", "file", "patch", "openssl", "ssh-keyscan", "chpasswd",
     "passwd", "setcap", "tini", "sha512sum", "base64", "rsync", "pre-commit"}
)  # fmt: skip
# pip's and `uv pip`'s options that take a value (the word after them is not a requirement)
PIP_VALUE_OPTIONS = frozenset(
    {
        "--abi",
        "--build-constraint",
        "--cache-dir",
        "--cert",
        "--client-cert",
        "--compile-bytecode-level",
        "--config-settings",
        "--constraint",
        "--default-index",
        "--exclude-newer",
        "--exists-action",
        "--extra",
        "--extra-index-url",
        "--find-links",
        "--global-option",
        "--group",
        "--implementation",
        "--index",
        "--index-strategy",
        "--index-url",
        "--keyring-provider",
        "--link-mode",
        "--log",
        "--no-binary",
        "--no-build-isolation-package",
        "--only-binary",
        "--override",
        "--platform",
        "--prefix",
        "--prerelease",
        "--progress-bar",
        "--proxy",
        "--python",
        "--python-platform",
        "--python-version",
        "--refresh-package",
        "--reinstall-package",
        "--report",
        "--requirement",
        "--resolution",
        "--retries",
        "--root",
        "--root-user-action",
        "--src",
        "--target",
        "--timeout",
        "--torch-backend",
        "--trusted-host",
        "--upgrade-strategy",
        "--wheel-dir",
        "-C",
        "-c",
        "-f",
        "-i",
        "-p",
        "-r",
        "-t",
        "-w",
    }
)
# uv's options (sync, pip, export, run, lock) that take a value: the word after them is not
# an argument
UV_VALUE_OPTIONS = frozenset(
    {
        "--extra",
        "--group",
        "--no-group",
        "--only-group",
        "--package",
        "--project",
        "--directory",
        "--python",
        "-p",
        "--index",
        "--index-url",
        "--extra-index-url",
        "--default-index",
        "--find-links",
        "-f",
        "--link-mode",
        "--prune",
        "--python-platform",
        "--exclude-newer",
        "--config-file",
        "--cache-dir",
        "--no-install-package",
        "--reinstall-package",
        "--refresh-package",
        "--keyring-provider",
        "--resolution",
        "--prerelease",
        "--index-strategy",
        "--upgrade-package",
        "-P",
        "--script",
        "--output-format",
        "--no-emit-package",
        "--emit-package",
        "-o",
        "--output-file",
        "--format",
        "--compile-bytecode-level",
    }
)
POETRY_VALUE_OPTIONS = frozenset(
    {
        "--with",
        "--without",
        "--only",
        "-E",
        "--extras",
        "-f",
        "--format",
        "-o",
        "--output",
        "-C",
        "--directory",
        "-P",
        "--project",
    }
)
_SYSTEM_INSTALLERS = {
    "apt-get": "install",
    "apt": "install",
    "aptitude": "install",
    "apk": "add",
    "yum": "install",
    "dnf": "install",
    "microdnf": "install",
    "zypper": "install",
}


@dataclass(slots=True)
class RepoView:
    """The parsed files of the repository an image is built from."""

    pyprojects: Mapping[str, Pyproject]
    requirements: Mapping[str, RequirementsFile]
    paths: frozenset[str]
    _dirs: frozenset[str] | None = field(default=None, repr=False)
    _sorted: list[str] | None = field(default=None, repr=False)

    def is_dir(self, path: str) -> bool:
        if self._dirs is None:
            dirs: set[str] = {""}
            for item in self.paths:
                parts = item.split("/")[:-1]
                for end in range(1, len(parts) + 1):
                    dirs.add("/".join(parts[:end]))
            self._dirs = frozenset(dirs)
        return path in self._dirs

    def under(self, prefix: str) -> list[str]:
        """Paths that start with ``prefix`` (a directory with its slash, or "" for all)."""
        import bisect

        if self._sorted is None:
            self._sorted = sorted(self.paths)
        start = bisect.bisect_left(self._sorted, prefix)
        end = (
            bisect.bisect_left(self._sorted, prefix + "\U0010ffff") if prefix else len(self._sorted)
        )
        return self._sorted[start:end]

    def exists(self, path: str) -> bool:
        return path in self.paths or self.is_dir(path)


@dataclass(frozen=True, slots=True)
class _Copy:
    image_path: str
    repo_path: str
    is_dir: bool


@dataclass(slots=True)
class _ImageFiles:
    """Where files of the build context land in the image (later copies win)."""

    copies: list[_Copy] = field(default_factory=list)
    generated: dict[str, tuple[list[Requirement], str, Span]] = field(default_factory=dict)
    wheelhouses: dict[str, Environment] = field(default_factory=dict)  # `pip wheel -w DIR`

    def resolve(self, image_path: str) -> str | None:
        for copy in reversed(self.copies):
            if image_path == copy.image_path:
                return copy.repo_path
            if copy.is_dir and image_path.startswith(copy.image_path.rstrip("/") + "/"):
                rest = image_path[len(copy.image_path.rstrip("/")) + 1 :]
                return posixpath.join(copy.repo_path, rest) if copy.repo_path else rest
        return None


@dataclass(slots=True)
class _Build:
    """One image's analysis: what every step reads, and where files have landed so far."""

    dockerfile: Dockerfile
    context: str  # the build context directory, relative to the repository root
    repo: RepoView
    files: _ImageFiles = field(default_factory=_ImageFiles)
    visited: set[int] = field(default_factory=set)  # stage indexes already analysed


@dataclass(frozen=True, slots=True)
class _Selection:
    """What of a project an install step installs, and how findings name the step."""

    via: str  # e.g. "`uv sync`", "`pip install -e .`"
    extras: Sequence[str] = ()
    groups: Sequence[str] = ()
    runtime: bool = True  # its runtime dependencies (not only groups)
    install_project: bool = True  # the project itself (not `--no-root`)


def _norm(path: str) -> str:
    normalised = posixpath.normpath(path)
    return "" if normalised in (".", "/") else normalised.lstrip("/")


def _image_path(workdir: str, path: str) -> str:
    joined = path if path.startswith("/") else posixpath.join(workdir or "/", path)
    return posixpath.normpath(joined)


def analyse_image(dockerfile: Dockerfile, context: str, repo: RepoView) -> Environment:
    """The environment the final stage of ``dockerfile`` runs its command in."""
    env = Environment(description=f"the image built from {dockerfile.path}")
    final = dockerfile.final
    if final is None:
        env.unknown.append((Span(dockerfile.path, 1), "the Dockerfile has no stage"))
        return env
    env.workdir = final.workdir
    env.variables = {
        name: value
        for name, (value, _) in final.env.items()
        if value is not None and name not in final.build_args
    }
    _analyse_stage(_Build(dockerfile, context, repo), final, env)
    return env


def _analyse_stage(build: _Build, stage: Stage, env: Environment) -> None:
    lineage = list(reversed(build.dockerfile.lineage(stage)))  # oldest first
    for ancestor in lineage:
        build.visited.add(ancestor.index)
    root = lineage[0]
    if env.base_image is None:
        env.base_image = root.base
        _classify_base(root, env)
    for ancestor in lineage:
        steps: list[CopyStep | RunStep] = [*ancestor.copies, *ancestor.runs]
        steps.sort(key=lambda step: step.span.line)
        for step in steps:
            if isinstance(step, CopyStep):
                _copy(build, step, env)
            else:
                _run(build, step, env)


def _classify_base(root: Stage, env: Environment) -> None:
    from preflight.knowledge import executables as kn

    base = root.base
    if "$" in base:
        env.unknown.append((root.span, f"the base image `{base}` depends on a build argument"))
        return
    name = kn.image_name(base)
    for pattern, bundled in kn.BASE_IMAGES_BUNDLING.items():
        if fnmatch.fnmatch(name, pattern):
            env.base_bundles = (*env.base_bundles, *sorted(bundled))
            return
    if any(fnmatch.fnmatch(name, pattern) for pattern in kn.BASE_IMAGES_BARE_PYTHON):
        return
    if any(fnmatch.fnmatch(name, pattern) for pattern in kn.BASE_IMAGES_OS):
        return
    env.unknown.append(
        (root.span, f"the base image `{base}` is not one preflight knows the contents of")
    )


def _copy(build: _Build, step: CopyStep, env: Environment) -> None:
    if step.from_ref is not None:
        source_stage = build.dockerfile.stage_named(step.from_ref)
        if source_stage is not None:
            # A venv, site-packages or /usr/local copied from a builder: what the builder
            # installed is (at most) what arrives here. Counting all of it never invents a gap.
            # Built assets (a frontend's dist/, a Go binary) cannot change the Python
            # environment, so that stage's unknowns do not make this image unknown.
            carries_python = _carries_python(build.dockerfile, source_stage, step.sources)
            if source_stage.index not in build.visited:
                target = env if carries_python else Environment(description="a build stage")
                _analyse_stage(build, source_stage, target)
            dest_is_dir = step.dest.endswith("/") or len(step.sources) > 1
            for source in step.sources:
                env.files.add(posixpath.basename(source.rstrip("/")))
                source_path = _image_path(source_stage.workdir, source)
                if source_path in build.files.wheelhouses:
                    destination = step.dest.rstrip("/") or "/"
                    build.files.wheelhouses.setdefault(
                        destination, build.files.wheelhouses[source_path]
                    )
                generated = build.files.generated.get(source_path)
                if generated is not None:  # e.g. a requirements.txt `poetry export` wrote
                    dest = step.dest.rstrip("/") or "/"
                    target_path = (
                        posixpath.join(dest, posixpath.basename(source)) if dest_is_dir else dest
                    )
                    build.files.generated[target_path] = generated
                    build.files.generated[posixpath.join(dest, posixpath.basename(source))] = (
                        generated
                    )
            return
        for source in step.sources:  # COPY --from=ghcr.io/astral-sh/uv /uv /uvx /bin/
            env.files.add(posixpath.basename(source.rstrip("/")))
        return
    dest_is_dir = step.dest.endswith("/") or len(step.sources) > 1
    dest = step.dest.rstrip("/") or "/"
    for source in step.sources:
        if "://" in source:  # ADD https://…
            env.files.add(posixpath.basename(source))
            continue
        repo_source = _norm(posixpath.join(build.context, source))
        matches: Iterable[str]
        if any(ch in source for ch in "*?["):
            matches = [p for p in build.repo.paths if fnmatch.fnmatch(p, repo_source)]
        else:
            matches = [repo_source]
        for match in matches:
            if build.repo.is_dir(match):
                build.files.copies.append(_Copy(dest, match, True))
                prefix = match + "/" if match else ""
                for path in build.repo.under(prefix):
                    env.files.add(posixpath.basename(path))
                    env.copied_paths[posixpath.join(dest, path[len(prefix) :])] = path
            else:
                base = posixpath.basename(match)
                env.files.add(base)
                build.files.copies.append(_Copy(posixpath.join(dest, base), match, False))
                env.copied_paths[posixpath.join(dest, base)] = match
                if not dest_is_dir:
                    build.files.copies.append(_Copy(dest, match, False))
                    env.copied_paths[dest] = match


_NOT_PYTHON_BASES = (
    "node",
    "golang",
    "rust",
    "oven/bun",
    "denoland/deno",
    "nginx",
    "caddy",
    "eclipse-temurin",
    "openjdk",
    "maven",
    "gradle",
    "ruby",
    "php",
)
_ASSET_WORDS = (
    "dist",
    "build",
    "static",
    "frontend",
    "assets",
    "public",
    "node_modules",
    ".next",
    "www",
    "html",
    "out",
)


def _carries_python(dockerfile: Dockerfile, stage: Stage, sources: Sequence[str]) -> bool:
    """Whether what a COPY --from takes could hold Python packages (not built assets)."""
    from preflight.knowledge.executables import image_name

    base = image_name(dockerfile.lineage(stage)[-1].base)
    if any(base == name or base.startswith(name + "/") for name in _NOT_PYTHON_BASES):
        return False
    return not all(
        any(part in _ASSET_WORDS for part in source.lower().split("/")) for source in sources
    )


def _run(build: _Build, step: RunStep, env: Environment) -> None:
    for target, source in step.binds:
        build.files.copies.append(
            _Copy(
                target,
                _norm(posixpath.join(build.context, source)),
                build.repo.is_dir(_norm(posixpath.join(build.context, source))),
            )
        )
    found = shell_invocations(step.script)
    if found is None:
        env.unknown.append((step.span, "this RUN step's shell text could not be followed"))
        return
    piped_script = _pipes_into_shell(step.script)
    for invocation in found:
        _invocation(build, invocation, step, env, piped_script)


def _pipes_into_shell(script: str) -> bool:
    import re

    pattern = r"\|\s*(?:\w+=\S*\s+)*(?:/bin/|/usr/bin/|/usr/local/bin/)?(?:sh|bash|dash|python3?)\b"
    return re.search(pattern, script) is not None


def _invocation(
    build: _Build, invocation: Invocation, step: RunStep, env: Environment, piped_script: bool
) -> None:
    exe = posixpath.basename(invocation.executable)
    args = list(invocation.args)
    if exe in ("sh", "bash", "dash", "python", "python3") and args in ([], ["-"]) and piped_script:
        if "astral.sh/uv" in step.script:
            env.files.update({"uv", "uvx"})
        elif "install.python-poetry.org" in step.script:
            env.files.add("poetry")
        else:
            env.unknown.append((step.span, "this RUN step pipes a downloaded script into a shell"))
        return
    if _is_python(exe) and len(args) >= 2 and args[0] == "-m":
        module, rest = args[1], args[2:]
        if module == "pip":
            _pip(build, rest, step, env, "python -m pip")
        elif module in ("venv", "compileall", "ensurepip", "virtualenv"):
            pass
        elif module == "pipx":
            _pipx(rest, step, env)
        elif module == "uv":
            _uv(build, rest, step, env)
        else:
            env.unknown.append((step.span, f"`python -m {module}` in a RUN step is not followed"))
        return
    if _is_python(exe):
        if args and args[0] == "-c":
            if len(args) > 1 and ("install" in args[1] or "pip" in args[1]):
                env.unknown.append((step.span, "`python -c` code that may install packages"))
            return
        if args and posixpath.basename(args[0]) == "manage.py":
            return  # Django management commands (collectstatic, compilemessages) install nothing
        env.unknown.append((step.span, "a Python script run during the build is not followed"))
        return
    if exe.startswith("pip") and exe.rstrip("0123456789.") == "pip":
        _pip(build, args, step, env, exe)
        return
    if exe == "uv":
        _uv(build, args, step, env)
        return
    if exe == "poetry":
        _poetry(build, args, step, env)
        return
    if exe == "pipx":
        _pipx(args, step, env)
        return
    if exe in _SYSTEM_INSTALLERS:
        verb = _SYSTEM_INSTALLERS[exe]
        if verb in args:
            after = args[args.index(verb) + 1 :]
            for word in after:
                if not word.startswith("-") and "=" not in word[:1]:
                    env.system_packages.add(word.split("=")[0].split(":")[0])
            env.install_spans.append(step.span)
        return
    if exe in ("virtualenv",) or exe in _HARMLESS or exe in _HARMLESS_TOOLS:
        return
    if exe in ("apt-get", "apt", "dpkg", "rpm"):
        return
    env.unknown.append((step.span, f"the RUN step starts `{exe}`, which preflight does not follow"))


def _is_python(exe: str) -> bool:
    return exe in ("python", "python3", "pypy3") or (
        exe.startswith("python3.") and is_ascii_digits(exe[8:])
    )


def command_words(
    args: Sequence[str], value_options: frozenset[str]
) -> tuple[list[str], list[tuple[str, str]]]:
    """Positional words and (option, value) pairs of a command line."""
    positional: list[str] = []
    options: list[tuple[str, str]] = []
    index = 0
    while index < len(args):
        word = args[index]
        if word.startswith("-") and len(word) > 1:
            name, eq, value = word.partition("=")
            if eq:
                options.append((name, value))
            elif name in value_options and index + 1 < len(args):
                options.append((name, args[index + 1]))
                index += 1
            elif name.startswith("-r") and len(name) > 2 and not name.startswith("--"):
                options.append(("-r", name[2:]))
            elif name.startswith("-e") and len(name) > 2 and not name.startswith("--"):
                options.append(("-e", name[2:]))
            else:
                options.append((name, ""))
        else:
            positional.append(word)
        index += 1
    return positional, options


def _pip(build: _Build, args: list[str], step: RunStep, env: Environment, how: str) -> None:
    if args[:1] == ["wheel"]:
        # `pip wheel -w /wheels -r requirements.txt`: what a later `pip install /wheels/*` gets.
        _, options = command_words(args[1:], PIP_VALUE_OPTIONS | {"-w", "--wheel-dir", "-r"})
        directory = next((v for n, v in options if n in ("-w", "--wheel-dir")), ".")
        wheels = Environment(description="wheels")
        _pip(build, ["install", *args[1:]], step, wheels, how)
        build.files.wheelhouses[_image_path(step.workdir, directory)] = wheels
        return
    if not args or args[0] not in ("install", "sync"):
        return  # pip download, pip freeze, uv pip compile, …
    sync = args[0] == "sync"
    value_options = PIP_VALUE_OPTIONS | {"-r", "--requirement", "-e", "--editable", "--group"}
    positional, options = command_words(args[1:], value_options)
    env.install_spans.append(step.span)
    for name, value in options:
        if name in ("-r", "--requirement"):
            _requirements_file(build, value, step, env, f"`{how} -r {value}`")
        elif name in ("-e", "--editable"):
            _target(build, value, step, env, f"`{how} -e {value}`")
        elif name == "--group":
            path, _, group = value.rpartition(":")
            selection = _Selection(f"`{how} --group {value}`", groups=(group,), runtime=False)
            _project_at(build, path or ".", step, env, selection)
    for word in positional:
        if sync:
            _requirements_file(build, word, step, env, f"`{how} sync {word}`")
        else:
            _target(build, word, step, env, f"`{how} install {word}`")


def _target(build: _Build, word: str, step: RunStep, env: Environment, via: str) -> None:
    """One positional argument of ``pip install``: a path, an archive or a requirement."""
    path, extras = word, ""
    if "[" in word and word.endswith("]"):
        path, _, extras = word[:-1].partition("[")
    looks_like_path = path.startswith((".", "/", "~")) or "/" in path
    if looks_like_path or path.endswith((".whl", ".tar.gz", ".zip")):
        wheels = build.files.wheelhouses.get(
            _image_path(step.workdir, posixpath.dirname(path) or ".")
        )
        if wheels is not None and any(ch in path for ch in "*?"):
            for dists in wheels.distributions.values():
                for dist in dists:
                    env.add(dist)
            env.unknown.extend(wheels.unknown)
            env.runtime_of.extend(p for p in wheels.runtime_of if p not in env.runtime_of)
            return
        if any(ch in path for ch in "*?") or path.endswith((".whl", ".tar.gz", ".zip")):
            env.unknown.append((step.span, f"{via} installs an archive preflight cannot read"))
            return
        extra_names = tuple(e.strip() for e in extras.split(",") if e.strip())
        _project_at(build, path, step, env, _Selection(via, extras=extra_names))
        return
    if "$" in word:
        env.unknown.append((step.span, f"{via} depends on a variable"))
        return
    requirement = parse_requirement(word, step.span)
    if requirement is None:
        env.unknown.append((step.span, f"{via}: `{word}` is not a requirement preflight can read"))
        return
    env.add_requirement(requirement, via, step.span)


def _requirements_file(build: _Build, path: str, step: RunStep, env: Environment, via: str) -> None:
    image_path = _image_path(step.workdir, path)
    generated = build.files.generated.get(image_path)
    if generated is not None:
        requirements, origin, span = generated
        for requirement in requirements:
            env.add_requirement(requirement, f"{via} ({origin})", span)
        return
    repo_path = build.files.resolve(image_path)
    if repo_path is None or repo_path not in build.repo.requirements:
        env.unknown.append(
            (step.span, f"{via}: cannot tell which file of the repository `{path}` is")
        )
        return
    add_requirements_file(repo_path, build.repo, env, via, set(), step.span)


def add_requirements_file(
    repo_path: str,
    repo: RepoView,
    env: Environment,
    via: str,
    seen: set[str],
    span: Span,
) -> None:
    """What ``pip install -r repo_path`` installs, following ``-r`` includes depth first.

    Iterative (an explicit stack), so a chain of a thousand includes is followed like one."""
    stack: list[tuple[str, Iterator[Include]]] = []

    def enter(path: str) -> None:
        seen.add(path)
        parsed = repo.requirements[path]
        for requirement in parsed.requirements:
            env.add_requirement(requirement, f"{via} ({path})", requirement.span)
        if parsed.problems:
            env.unknown.append((span, f"{path} has lines preflight could not read"))
        stack.append((path, iter(parsed.includes)))

    if repo_path in seen:
        return
    enter(repo_path)
    while stack:
        path, includes = stack[-1]
        include = next(includes, None)
        if include is None:
            stack.pop()
            continue
        target = _norm(posixpath.join(posixpath.dirname(path), include.target))
        if include.kind == "requirements":
            if target in repo.requirements:
                if target not in seen:
                    enter(target)
            else:
                env.unknown.append(
                    (include.span, f"`-r {include.target}` is not in the repository")
                )
        elif include.kind == "project":
            project = repo.pyprojects.get(posixpath.join(target, "pyproject.toml").lstrip("/"))
            if project is None:
                env.unknown.append((include.span, f"`{include.target}` has no pyproject.toml"))
            else:
                selection = _Selection(f"{via} ({path})", extras=tuple(include.extras))
                _add_project(project, env, selection, include.span, repo)


def _project_at(
    build: _Build, path: str, step: RunStep, env: Environment, selection: _Selection
) -> Pyproject | None:
    via = selection.via
    image_dir = _image_path(step.workdir, path)
    repo_dir = build.files.resolve(image_dir)
    if (
        repo_dir is None
        and build.files.resolve(posixpath.join(image_dir, "pyproject.toml")) is not None
    ):
        repo_dir = posixpath.dirname(
            build.files.resolve(posixpath.join(image_dir, "pyproject.toml")) or ""
        )
    if repo_dir is None:
        env.unknown.append(
            (step.span, f"{via}: `{path}` is not a directory copied from the repository")
        )
        return None
    pyproject_path = posixpath.join(repo_dir, "pyproject.toml") if repo_dir else "pyproject.toml"
    project = build.repo.pyprojects.get(pyproject_path)
    if project is None:
        setup = [
            name
            for name in ("setup.py", "setup.cfg", "Pipfile")
            if posixpath.join(repo_dir, name) in build.repo.paths
        ]
        why = f"dependencies in {setup[0]} are not read" if setup else "it has no pyproject.toml"
        env.unknown.append((step.span, f"{via} installs `{repo_dir or '.'}`, but {why}"))
        return None
    if project.problems:
        env.unknown.append((step.span, f"{project.path} could not be read"))
        return project
    _add_project(project, env, selection, step.span, build.repo)
    return project


def _add_project(
    project: Pyproject, env: Environment, selection: _Selection, span: Span, repo: RepoView
) -> None:
    via = selection.via
    if selection.runtime:
        if project not in env.runtime_of:
            env.runtime_of.append(project)
        for requirement in project.runtime:
            env.add_requirement(
                requirement, f"{via} ({project.path} {project.runtime_table})", span
            )
        _add_dynamic(project, env, via, span, repo)
        if selection.install_project:
            env.project_installs.append((project, span, via))
        if selection.install_project and project not in env.projects:
            env.projects.append(project)
            if project.name:
                env.add(InstalledDist(normalise_name(project.name), frozenset(), via, span))
    for kind, names in (("extra", selection.extras), ("group", selection.groups)):
        for name in names:
            group = project.group(kind, name)
            if group is None:
                if kind == "group" and project.group("extra", name) is not None:
                    group = project.group("extra", name)
                else:
                    continue
            assert group is not None
            for requirement in group.requirements:
                env.add_requirement(requirement, f"{via} ({project.path} {kind} `{name}`)", span)


def _add_dynamic(
    project: Pyproject, env: Environment, via: str, span: Span, repo: RepoView
) -> None:
    """``dynamic = ["dependencies"]``: the build backend reads them from requirements files."""
    files = project.dynamic_dependencies
    if files is None:
        return
    if not files:
        env.unknown.append(
            (span, f"{project.path} declares its dependencies dynamic, from a source preflight "
             "does not read")
        )  # fmt: skip
        return
    directory = posixpath.dirname(project.path)
    for name in files:
        path = _norm(posixpath.join(directory, name))
        if path in repo.requirements:
            add_requirements_file(path, repo, env, f"{via} ({project.path} dynamic)", set(), span)
        else:
            env.unknown.append(
                (span, f"{project.path} takes its dependencies from `{name}`, not read here")
            )


def _uv(build: _Build, args: list[str], step: RunStep, env: Environment) -> None:
    if not args:
        return
    command, rest = args[0], args[1:]
    if command == "pip":
        _pip(build, rest, step, env, "uv pip")
        return
    if command == "tool" and rest[:1] == ["install"]:
        _pipx(rest, step, env)
        return
    if command not in ("sync", "export"):
        return  # uv venv, uv lock, uv python install, uv run (runs, installs nothing lasting)
    _positional, options = command_words(rest, UV_VALUE_OPTIONS)
    flags = {name for name, _ in options}
    values = [(name, value) for name, value in options]
    directory = next((v for n, v in values if n in ("--project", "--directory")), ".")
    pyproject_image = posixpath.join(_image_path(step.workdir, directory), "pyproject.toml")
    repo_path = build.files.resolve(pyproject_image)
    project = build.repo.pyprojects.get(repo_path) if repo_path else None
    if project is None:
        env.unknown.append(
            (step.span, f"`uv {command}`: cannot tell which pyproject.toml it reads")
        )
        return
    groups = _uv_groups(project, flags, values)
    extras: list[str] = [v for n, v in values if n == "--extra"]
    if "--all-extras" in flags:
        extras = [g.name for g in project.groups if g.kind == "extra"]
    runtime = not ({"--only-group", "--only-dev"} & flags)
    if command == "export":
        output = next((v for n, v in values if n in ("-o", "--output-file")), None)
        _export(
            build,
            step,
            project,
            _Selection("`uv export`", [], [*groups, *extras], runtime),
            output,
        )
        return
    env.install_spans.append(step.span)
    install_project = "--no-install-project" not in flags
    members = _workspace_members(project, build.repo)
    if members:
        package = next((v for n, v in values if n == "--package"), None)
        if package is not None:
            wanted = normalise_name(package)
            chosen = [m for m in members if m.name and normalise_name(m.name) == wanted]
        else:
            chosen = [*members, project] if project.has_project_table else members
        if not chosen:
            env.unknown.append((step.span, f"`uv sync --package {package}`: no such member"))
            return
        for member in chosen:
            member_groups = _uv_groups(member, flags, values)
            selection = _Selection("`uv sync`", extras, member_groups, runtime, install_project)
            _add_project(member, env, selection, step.span, build.repo)
        return
    selection = _Selection("`uv sync`", extras, groups, runtime, install_project)
    _add_project(project, env, selection, step.span, build.repo)


def _workspace_members(root: Pyproject, repo: RepoView) -> list[Pyproject]:
    """The pyprojects of a uv workspace's members (globs relative to the root's directory)."""
    if not root.workspace_members:
        return []
    base = posixpath.dirname(root.path)
    members: list[Pyproject] = []
    for path, candidate in sorted(repo.pyprojects.items()):
        directory = posixpath.dirname(path)
        if directory == base:
            continue
        relative = posixpath.relpath(directory, base or ".")
        if any(fnmatch.fnmatch(relative, p.rstrip("/")) for p in root.workspace_members):
            members.append(candidate)
    return members


def _export(
    build: _Build, step: RunStep, project: Pyproject, selection: _Selection, output: str | None
) -> None:
    """`uv export` / `poetry export -o FILE`: the requirements a later `pip install -r` gets."""
    if output is None:
        return  # printed to stdout: nothing lands in the image
    requirements: list[Requirement] = list(project.runtime) if selection.runtime else []
    for name in selection.groups:
        group = project.group("group", name) or project.group("extra", name)
        if group is not None:
            requirements.extend(group.requirements)
    build.files.generated[_image_path(step.workdir, output)] = (
        requirements,
        f"exported from {project.path}",
        step.span,
    )


def _uv_groups(project: Pyproject, flags: set[str], values: list[tuple[str, str]]) -> list[str]:
    only = [v for n, v in values if n == "--only-group"]
    if only:
        return only
    if "--only-dev" in flags:
        return ["dev"]
    defaults = project.uv_default_groups
    if "--all-groups" in flags or (defaults is not None and "*" in defaults):
        groups = [g.name for g in project.groups if g.kind == "group"]
    elif "--no-default-groups" in flags:
        groups = []
    else:
        groups = list(
            project.uv_default_groups if project.uv_default_groups is not None else ("dev",)
        )
    if "--no-dev" in flags:
        groups = [g for g in groups if normalise_name(g) != "dev"]
    excluded = {normalise_name(v) for n, v in values if n == "--no-group"}
    groups = [g for g in groups if normalise_name(g) not in excluded]
    groups.extend(v for n, v in values if n == "--group")
    return groups


def _poetry(build: _Build, args: list[str], step: RunStep, env: Environment) -> None:
    if not args or args[0] not in ("install", "export", "sync"):
        if args[:1] in (["config"], ["self"], ["lock"], ["check"], ["build"], ["--version"]):
            return
        if args and args[0] not in ("run", "env", "show"):
            env.unknown.append((step.span, f"`poetry {args[0]}` in a RUN step is not followed"))
        return
    _positional, options = command_words(args[1:], POETRY_VALUE_OPTIONS)
    flags = {name for name, _ in options}
    directory = next((v for n, v in options if n in ("-C", "--directory", "-P", "--project")), ".")
    repo_path = build.files.resolve(
        posixpath.join(_image_path(step.workdir, directory), "pyproject.toml")
    )
    project = build.repo.pyprojects.get(repo_path) if repo_path else None
    if project is None:
        env.unknown.append(
            (step.span, f"`poetry {args[0]}`: cannot tell which pyproject.toml it reads")
        )
        return

    def split(values: Iterable[str]) -> list[str]:
        return [part.strip() for value in values for part in value.split(",") if part.strip()]

    only = split(v for n, v in options if n == "--only")
    with_ = split(v for n, v in options if n == "--with")
    without = {normalise_name(g) for g in split(v for n, v in options if n == "--without")}
    if "--no-dev" in flags:
        without.add("dev")
    extras = split(v for n, v in options if n in ("-E", "--extras"))
    if "--all-extras" in flags:
        extras = [g.name for g in project.groups if g.kind == "extra"]
    if args[0] == "export":
        groups = only or [*with_]  # export takes only the main group unless told otherwise
    elif only:
        groups = only
    else:
        groups = [g.name for g in project.groups if g.kind == "group" and not g.poetry_optional]
        groups.extend(with_)
        if "--all-groups" in flags:
            groups = [g.name for g in project.groups if g.kind == "group"]
    groups = [g for g in groups if normalise_name(g) not in without and normalise_name(g) != "main"]
    runtime = not only or "main" in [normalise_name(g) for g in only]
    if args[0] == "export":
        output = next((v for n, v in options if n in ("-o", "--output")), None)
        _export(
            build,
            step,
            project,
            _Selection("`poetry export`", [], [*groups, *extras], runtime),
            output,
        )
        return
    env.install_spans.append(step.span)
    selection = _Selection("`poetry install`", extras, groups, runtime, "--no-root" not in flags)
    _add_project(project, env, selection, step.span, build.repo)


def _pipx(args: list[str], step: RunStep, env: Environment) -> None:
    if not args or args[0] != "install":
        return
    positional, _ = command_words(
        args[1:], frozenset({"--python", "--index-url", "--pip-args", "--suffix"})
    )
    for word in positional:
        requirement = parse_requirement(word, step.span)
        if requirement is not None:
            env.add_requirement(requirement, f"`pipx install {word}`", step.span)
        else:
            env.unknown.append((step.span, f"`pipx install {word}` is not followed"))
    env.install_spans.append(step.span)
