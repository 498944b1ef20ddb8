"""The files an image holds: where COPY and ADD put the build context, stage by stage.

A stage starts from its base: an earlier stage's files (``FROM builder``), nothing (a bare
Python or OS image, whose files hold no service code), or everything unknown (any other image
may ship code). Each COPY/ADD of the build context places repository paths at image paths;
``COPY --from=stage`` takes what that stage holds under the source path. What preflight cannot
follow makes a part of the tree *opaque* — a RUN step that fetches, moves or generates files
(``git clone``, ``cp``, ``tar -x``, a script), ADD of a URL or an archive, a COPY source that is
a variable or that the repository does not hold (a build output, a gitignored file), a COPY from
an image not built here — and a lookup there answers "unknown", never "absent".

``.dockerignore`` is not applied: a file it excludes is taken to be in the image, which can only
make a lookup answer "present" where the image lacks the file (silence, never a false finding).
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass, field
from typing import Literal

from preflight.model.installs import RepoView
from preflight.parse.dockerfile import CopyStep, Dockerfile, RunStep, Stage
from preflight.parse.shell import shell_invocations
from preflight.spans import Span

__all__ = ["ImageTree", "Opaque", "Placed", "Presence", "image_tree"]

Presence = Literal["present", "absent", "unknown"]


@dataclass(frozen=True, slots=True)
class Placed:
    """Repository path ``repo_path`` (a file, or a directory and all under it) is at
    ``image_path`` in the image, put there by the COPY/ADD at ``span``."""

    image_path: str  # absolute, normalised
    repo_path: str  # repository path ("" for the root)
    is_dir: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Opaque:
    """Everything at or under ``image_path`` may exist: preflight cannot say what is there."""

    image_path: str
    why: str
    span: Span


@dataclass(slots=True)
class ImageTree:
    """The files of one Dockerfile's final stage, built in ``context``."""

    dockerfile: str
    context: str
    workdir: str
    workdir_span: Span | None
    placed: tuple[Placed, ...] = ()
    opaque: tuple[Opaque, ...] = ()
    repo: RepoView | None = field(default=None, repr=False)
    # RUN steps that may install the service's own code as a package (`pip install .`, a
    # wheel, `-e`, `uv sync`, `poetry install`): its modules are then importable from anywhere
    local_installs: tuple[Span, ...] = ()
    # what the other stages hold, by stage (its name, or its index): where a file the final
    # stage lacks was put in a build stage
    stages: tuple[tuple[str, tuple[Placed, ...]], ...] = ()

    def presence(self, image_path: str) -> tuple[Presence, Placed | Opaque | None]:
        """Whether a file or directory is at ``image_path``: "present" (with the COPY that put
        it there), "unknown" (with what makes it so) or "absent"."""
        path = _normal(image_path)
        for placed in reversed(self.placed):
            if self._places(placed, path):
                return "present", placed
        for opaque in self.opaque:
            if _covers(opaque.image_path, path):
                return "unknown", opaque
        return "absent", None

    def repo_path(self, image_path: str) -> str | None:
        """The repository file at ``image_path`` (None: not one the build context put there)."""
        path = _normal(image_path)
        for placed in reversed(self.placed):
            if not self._places(placed, path):
                continue
            if not placed.is_dir:
                return placed.repo_path
            rest = path[len(placed.image_path) :].lstrip("/")
            repo = posixpath.join(placed.repo_path, rest) if placed.repo_path else rest
            if self.repo is None or repo in self.repo.paths:
                return repo
        return None

    def where(self, repo_path: str, stage: str | None = None) -> list[tuple[str, Placed]]:
        """Every image path the repository file ``repo_path`` was copied to, with the COPY (in
        the final stage, or in the build stage ``stage``)."""
        out: list[tuple[str, Placed]] = []
        placements = self.placed if stage is None else dict(self.stages).get(stage, ())
        for placed in placements:
            if not placed.is_dir:
                if placed.repo_path == repo_path:
                    out.append((placed.image_path, placed))
                continue
            prefix = f"{placed.repo_path}/" if placed.repo_path else ""
            if repo_path.startswith(prefix):
                out.append((posixpath.join(placed.image_path, repo_path[len(prefix) :]), placed))
        return out

    def _places(self, placed: Placed, path: str) -> bool:
        if placed.image_path == path:
            return True
        if not placed.is_dir or not _covers(placed.image_path, path):
            return False
        if self.repo is None:
            return True
        rest = path[len(placed.image_path) :].lstrip("/")
        repo = posixpath.join(placed.repo_path, rest) if placed.repo_path else rest
        return self.repo.exists(repo)


def image_tree(dockerfile: Dockerfile, context: str, repo: RepoView) -> ImageTree | None:
    """The file tree of ``dockerfile``'s final stage (None: the Dockerfile has no stage)."""
    final = dockerfile.final
    if final is None:
        return None
    builder = _TreeBuilder(dockerfile, context, repo)
    placed, opaque = builder.stage(final)
    return ImageTree(
        dockerfile.path,
        context,
        final.workdir,
        final.workdir_span,
        tuple(placed),
        tuple(opaque),
        repo,
        tuple(builder.local_installs),
        tuple(
            (stage.name or str(stage.index), tuple(builder.stage(stage)[0]))
            for stage in dockerfile.stages[:-1]
        ),
    )


# building ---------------------------------------------------------------------------------------

_Ops = tuple[list[Placed], list[Opaque]]

# Programs a RUN step may start that put no service code in the image: installers (what they
# install is the environment's business, model/installs.py), package managers, users and
# permissions, directories, text tools run in place.
_SAFE_PROGRAMS = frozenset(
    {"pip", "pip3", "uv", "poetry", "pipenv", "pdm", "conda", "mamba", "micromamba", "pipx",
     "apt-get", "apt", "apk", "yum", "dnf", "microdnf", "zypper", "dpkg", "rpm",
     "useradd", "adduser", "groupadd", "addgroup", "usermod", "chown", "chmod", "chgrp",
     "mkdir", "rm", "rmdir", "echo", "printf", "true", "false", "test", "[", "set", "export",
     "cd", "sed", "grep", "find", "ls", "cat", "touch", "update-ca-certificates", "locale-gen",
     "localedef", "ldconfig", "npm", "yarn", "pnpm", "corepack", "playwright",
     "update-alternatives", "gpg", "env", "which", "command", "id", "whoami", "sleep",
     "dpkg-reconfigure", "install-php-extensions", "curl", "pytest", "ruff", "mypy", "flake8",
     "black", "isort", "pylint", "coverage", "tox", "nox", "django-admin", "alembic", "tini",
     "gosu", "su-exec", "exit", "date", "uname"}
)  # fmt: skip
# `python -m X` that install or compile, never generate modules
_SAFE_PYTHON_MODULES = frozenset(
    {"pip", "venv", "compileall", "ensurepip", "uv", "nltk", "spacy", "pytest", "playwright",
     "mypy", "ruff", "flake8", "black", "coverage", "alembic", "django"}
)  # fmt: skip
_ARCHIVE = re.compile(r"\.(?:tar|tgz|tbz2?|txz|tar\.(?:gz|bz2|xz|zst))$", re.I)
_WRITES_PY = re.compile(r">\s*\S*\.py\b")


def _normal(path: str) -> str:
    return posixpath.normpath(path if path.startswith("/") else "/" + path)


def _covers(prefix: str, path: str) -> bool:
    prefix = _normal(prefix)
    return prefix == "/" or path == prefix or path.startswith(prefix + "/")


def _known_base(base: str) -> bool:
    """A base image whose files hold no service code: a bare Python or OS image."""
    from preflight.knowledge import executables as kn

    if "$" in base:
        return False
    name = kn.image_name(base)
    patterns = (*kn.BASE_IMAGES_BARE_PYTHON, *kn.BASE_IMAGES_OS)
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


class _TreeBuilder:
    def __init__(self, dockerfile: Dockerfile, context: str, repo: RepoView) -> None:
        self.dockerfile = dockerfile
        self.context = context
        self.repo = repo
        self.done: dict[int, _Ops] = {}
        self.visiting: set[int] = set()
        self.local_installs: list[Span] = []

    def stage(self, stage: Stage) -> _Ops:
        if stage.index in self.done:
            return self.done[stage.index]
        if stage.index in self.visiting:  # a cycle of --from: nothing known
            return [], [Opaque("/", "stages copy from each other in a cycle", stage.span)]
        self.visiting.add(stage.index)
        placed: list[Placed] = []
        opaque: list[Opaque] = []
        if stage.base_stage is not None:
            base_placed, base_opaque = self.stage(self.dockerfile.stages[stage.base_stage])
            placed.extend(base_placed)
            opaque.extend(base_opaque)
        elif not _known_base(stage.base):
            opaque.append(
                Opaque(
                    "/",
                    f"the base image `{stage.base}` is not built here and may contain code",
                    stage.span,
                )
            )
        steps: list[CopyStep | RunStep] = [*stage.copies, *stage.runs]
        steps.sort(key=lambda step: step.span.line)
        for step in steps:
            if isinstance(step, CopyStep):
                self._copy(step, placed, opaque)
            else:
                self._run(step, opaque)
        self.visiting.discard(stage.index)
        self.done[stage.index] = (placed, opaque)
        return placed, opaque

    def _copy(self, step: CopyStep, placed: list[Placed], opaque: list[Opaque]) -> None:
        dest = _normal(step.dest)
        into_dir = step.dest.endswith("/") or len(step.sources) > 1
        what = "ADD" if step.is_add else "COPY"
        if step.parents:  # keeps each source's directories: not modelled
            opaque.append(Opaque(dest, f"{what} --parents keeps source directories", step.span))
            return
        if step.from_ref is not None:
            self._copy_from(step, dest, into_dir, placed, opaque)
            return
        for source in step.sources:
            if "$" in source or "$" in step.dest:
                opaque.append(Opaque(dest, f"{what} `{source}` names a variable", step.span))
                continue
            if "://" in source or source.startswith("git@"):
                opaque.append(Opaque(dest, f"ADD fetches `{source}` at build time", step.span))
                continue
            repo_source = _repo_norm(posixpath.join(self.context, source))
            if step.is_add and _ARCHIVE.search(source):
                opaque.append(Opaque(dest, f"ADD unpacks the archive `{source}`", step.span))
                continue
            if any(ch in source for ch in "*?["):
                matches = [p for p in self.repo.paths if fnmatch.fnmatch(p, repo_source)]
                if not matches:
                    why = f"{what} `{source}` matches files the repository does not hold"
                    opaque.append(Opaque(dest, why, step.span))
                for match in matches:
                    base = posixpath.basename(match)
                    placed.append(Placed(posixpath.join(dest, base), match, False, step.span))
                continue
            if self.repo.is_dir(repo_source):
                placed.append(Placed(dest, repo_source, True, step.span))
                continue
            if repo_source not in self.repo.paths:
                # a build output, or a file git ignores: made before the build, not known here
                why = f"{what} `{source}` is not a file in the repository (made before the build?)"
                opaque.append(Opaque(dest, why, step.span))
                continue
            base = posixpath.basename(repo_source)
            placed.append(Placed(posixpath.join(dest, base), repo_source, False, step.span))
            if not into_dir:  # `COPY app.py /srv/main.py`, or `COPY app.py .` into a directory
                placed.append(Placed(dest, repo_source, False, step.span))

    def _copy_from(
        self,
        step: CopyStep,
        dest: str,
        into_dir: bool,
        placed: list[Placed],
        opaque: list[Opaque],
    ) -> None:
        ref = step.from_ref or ""
        stage = self.dockerfile.stage_named(ref) if "$" not in ref else None
        if stage is None:
            why = f"COPY --from=`{ref}` takes files from an image not built here"
            opaque.append(Opaque(dest, why, step.span))
            return
        source_placed, source_opaque = self.stage(stage)
        for source in step.sources:
            if "$" in source or any(ch in source for ch in "*?["):
                why = f"COPY --from={ref} `{source}` names files preflight cannot list"
                opaque.append(Opaque(dest, why, step.span))
                continue
            # a source path of COPY --from is relative to the root of the stage
            src = _normal(source)
            target = dest if (not into_dir) else posixpath.join(dest, posixpath.basename(src))
            for item in source_placed:
                if _covers(src, item.image_path):  # under the copied directory (or it)
                    rest = item.image_path[len(src) :].lstrip("/")
                    at = posixpath.join(dest, rest) if rest else target
                    placed.append(Placed(_normal(at), item.repo_path, item.is_dir, step.span))
                elif item.is_dir and _covers(item.image_path, src):  # inside a copied directory
                    rest = src[len(item.image_path) :].lstrip("/")
                    repo = posixpath.join(item.repo_path, rest) if item.repo_path else rest
                    if self.repo.is_dir(repo):
                        placed.append(Placed(dest, repo, True, step.span))
                    elif repo in self.repo.paths:
                        placed.append(Placed(target, repo, False, step.span))
            for hidden in source_opaque:
                if _covers(hidden.image_path, src):
                    why = f"COPY --from={ref} `{source}`: {hidden.why}"
                    opaque.append(Opaque(dest, why, step.span))
                elif _covers(src, hidden.image_path):
                    rest = hidden.image_path[len(src) :].lstrip("/")
                    at = _normal(posixpath.join(dest, rest))
                    opaque.append(Opaque(at, f"COPY --from={ref}: {hidden.why}", step.span))

    def _run(self, step: RunStep, opaque: list[Opaque]) -> None:
        script = step.script
        where = step.workdir or "/"
        if _WRITES_PY.search(script):
            opaque.append(Opaque("/", "a RUN step writes a Python file", step.span))
            return
        found = shell_invocations(script)
        if found is None:
            opaque.append(Opaque("/", "a RUN step's shell text could not be followed", step.span))
            return
        for invocation in found:
            name = posixpath.basename(invocation.executable)
            args = [a for a in invocation.args if not a.startswith("-")]
            flags = [a for a in invocation.args if a.startswith("-")]
            if _installs_local(name, list(invocation.args)):
                self.local_installs.append(step.span)
            if name in _SAFE_PROGRAMS and name != "curl":
                continue
            if name == "curl":
                if any(f in ("-o", "-O", "--output", "--remote-name") or f.startswith("-o")
                       for f in flags):  # fmt: skip
                    opaque.append(
                        Opaque(where, "a RUN step downloads a file (`curl -o`)", step.span)
                    )
                continue
            if name.startswith("python"):
                words = list(invocation.args)
                if words[:1] == ["-m"] and len(words) > 1 and words[1] in _SAFE_PYTHON_MODULES:
                    continue
                if words[:1] == ["-c"] or (words[:1] and words[0].endswith("manage.py")):
                    continue  # `python -c "import nltk; …"`, `manage.py collectstatic`
            if name in ("cp", "mv", "rsync", "ln", "install") and args:
                target = args[-1]
                if "$" not in target:
                    at = _normal(posixpath.join(where, target))
                    opaque.append(Opaque(at, f"a RUN step runs `{name}` into {at}", step.span))
                    continue
            if name == "git" and args[:1] == ["clone"]:
                last = args[-1]  # `git clone [--depth 1] URL [DIR]`
                target = where if "://" in last or "@" in last or len(args) < 3 else last
                if "$" not in target:
                    at = _normal(posixpath.join(where, target))
                    opaque.append(
                        Opaque(at, f"a RUN step clones a repository into {at}", step.span)
                    )
                    continue
            opaque.append(
                Opaque(
                    "/", f"a RUN step runs `{name}`, which may put files in the image", step.span
                )
            )


_PROJECT_INSTALLERS = {
    "uv": ("sync",),
    "poetry": ("install",),
    "pdm": ("install", "sync"),
    "pipenv": ("install", "sync"),
    "flit": ("install",),
    "hatch": ("build",),
}


_PIP_VALUE_FLAGS = frozenset(
    {"-r", "--requirement", "-c", "--constraint", "-i", "--index-url", "--extra-index-url",
     "--target", "-t", "--prefix", "--root", "--cache-dir", "--src", "--trusted-host",
     "--platform", "--python-version", "--only-binary", "--no-binary", "--progress-bar",
     "--timeout", "--retries", "--python", "-p", "--implementation", "--abi", "--log",
     "--proxy", "--cert", "--client-cert", "--exists-action", "--upgrade-strategy",
     "--config-settings", "-C", "--group", "--extra", "--index", "--default-index"}
)  # fmt: skip
_NOT_THE_PROJECT = frozenset({"--no-install-project", "--no-root", "--no-self", "--only-deps"})


def _installs_local(name: str, words: list[str]) -> bool:
    """Whether a program may install a package from a path (the service's own code)."""
    if name.startswith("python") and words[:2] == ["-m", "pip"]:
        name, words = "pip", words[2:]
    elif name.startswith("python") and any(w.endswith("setup.py") for w in words[:1]):
        return True
    if name == "uv" and words[:1] == ["pip"]:
        name, words = "pip", words[1:]
    if name in ("pip", "pip3") or name.startswith("pip3."):
        if words[:1] != ["install"]:
            return False
        index = 1
        while index < len(words):
            word = words[index]
            option, eq, value = word.partition("=")
            index += 1
            if option in ("-e", "--editable"):
                return True
            if option in ("-f", "--find-links"):
                value = value if eq else (words[index] if index < len(words) else "")
                index += 0 if eq else 1
                if "://" not in value:
                    return True  # packages from a directory of wheels in the image
                continue
            if word.startswith("-"):
                if option in _PIP_VALUE_FLAGS and not eq:
                    index += 1
                continue
            if word.startswith((".", "/", "~")) or word.endswith((".whl", ".tar.gz", ".zip")):
                return True
            if "/" in word and "://" not in word and not word.startswith("git+"):
                return True
        return False
    verbs = _PROJECT_INSTALLERS.get(name)
    if verbs is None or not words or words[0] not in verbs:
        return False
    return not any(word.partition("=")[0] in _NOT_THE_PROJECT for word in words)


def _repo_norm(path: str) -> str:
    normalised = posixpath.normpath(path)
    return "" if normalised in (".", "/") else normalised.lstrip("/")
