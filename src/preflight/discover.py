"""Walk the checked root once and classify every file preflight reads.

Each file of a known kind is read once, here; parsers get its text and never touch the disk.
"""

from __future__ import annotations

import codecs
import enum
import fnmatch
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from preflight.gitignore import GitIgnore
from preflight.gitindex import TrackedModes, tracked_modes
from preflight.knowledge.envfiles import is_example_name

DEFAULT_MAX_FILE_SIZE = 2 * 1024 * 1024

# Directories a deploy never ships from source: VCS metadata, virtualenvs, caches, build output.
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        "node_modules",
        "__pycache__",
        "build",
        "dist",
        ".eggs",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".preflight_cache",
        "site-packages",
        ".terraform",
        ".idea",
        ".vscode",
    }
)


class FileKind(str, enum.Enum):
    PYPROJECT = "pyproject"
    REQUIREMENTS = "requirements"
    DOCKERFILE = "dockerfile"
    COMPOSE = "compose"
    YAML = "yaml"  # a manifest only if its documents have apiVersion and kind
    ENV_EXAMPLE = "env-example"
    ENV_FILE = "env-file"  # .env, .env.server, prod.env: a compose env_file, or the example
    PYTHON = "python"
    GUNICORN_CONFIG = "gunicorn-config"
    PROCFILE = "procfile"
    PREFLIGHT_CONFIG = "preflight-config"
    SHELL = "shell"  # scripts an image may run as its entrypoint
    LOCK = "lock"  # uv.lock / poetry.lock: the versions a build really installs
    MAKEFILE = "makefile"  # build commands (docker build -t …) and the variables they use
    WORKFLOW = "workflow"  # .github/workflows/*.yml: build-push-action and run: steps
    GITLAB_CI = "gitlab-ci"  # .gitlab-ci.yml: build commands in scripts
    SKAFFOLD = "skaffold"  # skaffold.yaml: build artifacts (image, context, Dockerfile)
    KUSTOMIZATION = "kustomization"  # kustomization.yaml: resources and image rewrites
    README = "readme"  # README*.md: the `kubectl create secret` a setup guide runs
    CLOUDBUILD = "cloudbuild"  # cloudbuild.yaml: Google Cloud Build's docker/kaniko steps
    TILTFILE = "tiltfile"  # Tiltfile: docker_build(image, context, dockerfile=, target=)
    BAKE = "bake"  # docker-bake.hcl/.json: targets with tags, context, dockerfile, target
    HELM_VALUES = "helm-values"  # values*.yaml beside a Chart.yaml: the images a chart runs
    DOCKERIGNORE = "dockerignore"  # .dockerignore, Dockerfile.dockerignore: the build context


@dataclass(frozen=True, slots=True)
class KindInfo:
    """How preflight reads a kind of file: its parser, and how a comment is written in it."""

    parser: tuple[str, str] | None  # (module, function): path and text in, facts out
    # How a comment is written: "hash", "yaml" (hash, in a YAML structure), "dockerfile" (own
    # line only) or "python" (tokens); None: the kind has no comments.
    comments: str | None


# The one dispatch table: the parse step, the cache and the filter stage all read it.
KINDS: dict[FileKind, KindInfo] = {
    FileKind.PYPROJECT: KindInfo(("preflight.parse.pyproject", "parse_pyproject"), "hash"),
    FileKind.REQUIREMENTS: KindInfo(("preflight.parse.requirements", "parse_requirements"), "hash"),
    FileKind.DOCKERFILE: KindInfo(("preflight.parse.dockerfile", "parse_dockerfile"), "dockerfile"),
    FileKind.COMPOSE: KindInfo(("preflight.parse.compose", "parse_compose"), "yaml"),
    FileKind.YAML: KindInfo(("preflight.parse.manifests", "parse_manifests"), "yaml"),
    FileKind.ENV_EXAMPLE: KindInfo(("preflight.parse.envfile", "parse_env_file"), "hash"),
    FileKind.ENV_FILE: KindInfo(("preflight.parse.envfile", "parse_env_file"), "hash"),
    FileKind.PYTHON: KindInfo(("preflight.parse.python", "parse_python"), "python"),
    FileKind.GUNICORN_CONFIG: KindInfo(("preflight.parse.python", "parse_python"), "python"),
    FileKind.PROCFILE: KindInfo(("preflight.parse.procfile", "parse_procfile"), "hash"),
    FileKind.PREFLIGHT_CONFIG: KindInfo(None, "hash"),  # read by the config loader
    # followed as text by the rules that run scripts; parsed for the image builds it runs
    FileKind.SHELL: KindInfo(("preflight.parse.buildcmds", "parse_build_script"), "hash"),
    FileKind.LOCK: KindInfo(("preflight.parse.lockfile", "parse_lock"), None),
    FileKind.MAKEFILE: KindInfo(("preflight.parse.buildcmds", "parse_build_script"), "hash"),
    FileKind.WORKFLOW: KindInfo(("preflight.parse.buildcmds", "parse_workflow"), "yaml"),
    FileKind.GITLAB_CI: KindInfo(("preflight.parse.buildcmds", "parse_gitlab_ci"), "yaml"),
    FileKind.SKAFFOLD: KindInfo(("preflight.parse.skaffold", "parse_skaffold"), "yaml"),
    FileKind.KUSTOMIZATION: KindInfo(
        ("preflight.parse.kustomization", "parse_kustomization"), "yaml"
    ),
    FileKind.README: KindInfo(("preflight.parse.buildcmds", "parse_docs"), None),
    FileKind.CLOUDBUILD: KindInfo(("preflight.parse.buildcmds", "parse_cloudbuild"), "yaml"),
    FileKind.TILTFILE: KindInfo(("preflight.parse.buildcmds", "parse_tiltfile"), "hash"),
    FileKind.BAKE: KindInfo(("preflight.parse.buildcmds", "parse_bake"), "hash"),
    FileKind.HELM_VALUES: KindInfo(("preflight.parse.helm", "parse_helm_values"), "yaml"),
    # a `#` starts a comment only in column 1 (elsewhere it is part of a pattern)
    FileKind.DOCKERIGNORE: KindInfo(
        ("preflight.parse.dockerignore", "parse_dockerignore"), "dockerfile"
    ),
}


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str  # relative to the root, POSIX separators
    kind: FileKind
    text: str


@dataclass(frozen=True, slots=True)
class Pending:
    """A file the walk chose to read, not read yet."""

    path: str
    kind: FileKind
    full: str  # its path on disk
    size: int
    entry: os.DirEntry[str]
    skipped_before: int  # how many skip notes the walk had made when it met this file


@dataclass(frozen=True, slots=True)
class ScriptFacts:
    """What a shell script's text does not show: its line endings and its executable bit."""

    crlf_line: int | None  # the first line that ends in CR LF (1-based); None: none does
    executable: bool | None  # None: the mode cannot be read here (Windows)
    mode_from: str  # "the git index" or "the file system"


@dataclass(slots=True)
class Inventory:
    root: Path
    files: list[SourceFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why) for --verbose
    all_paths: set[str] = field(default_factory=set)  # every file walked, read or not
    gitignore: GitIgnore = field(default_factory=GitIgnore)  # the .gitignore files walked
    ignored: set[str] = field(default_factory=set)  # manifests read although git ignores them
    scripts: dict[str, ScriptFacts] = field(default_factory=dict)  # shell scripts, by path
    # The walk's facts about the files it would read (and the extensionless files it looked
    # into for a `#!` line), by path: (size, mtime_ns, inode, mode). What a run record
    # (preflight.runcache) compares to know that nothing preflight reads has changed.
    stats: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    # After a walk that did not read (``discover(read=False)``): what :func:`read_files` reads.
    pending: list[Pending] = field(default_factory=list)
    # With ``read_files(digest=True)``: each read file's content hash (of its bytes on disk).
    digests: dict[str, str] = field(default_factory=dict)
    # The hash of the first bytes of each extensionless file the walk looked into for `#!`.
    heads: dict[str, str] = field(default_factory=dict)

    def of_kind(self, *kinds: FileKind) -> Iterator[SourceFile]:
        return (f for f in self.files if f.kind in kinds)

    def get(self, path: str) -> SourceFile | None:
        if len(self._index) != len(self.files):
            self._index = {f.path: f for f in self.files}
        return self._index.get(path)

    _index: dict[str, SourceFile] = field(default_factory=dict, repr=False)

    def paths(self) -> frozenset[str]:
        return frozenset(f.path for f in self.files)


# Files that are not read at all when git ignores them: a local `.env` is neither the project's
# example nor a committed secret.
_COMMITTED_MATTERS = frozenset({"env-example", "env-file"})


def classify(rel: str) -> FileKind | None:
    """The kind of a file from its path alone (YAML files are confirmed as manifests on parse)."""
    name = rel.rsplit("/", 1)[-1]
    lower = name.lower()
    parent = rel.rsplit("/", 2)[-2] if "/" in rel else ""
    if name == "pyproject.toml":
        return FileKind.PYPROJECT
    if name == "preflight.toml":
        return FileKind.PREFLIGHT_CONFIG
    if name in ("uv.lock", "poetry.lock"):
        return FileKind.LOCK
    if name == ".dockerignore" or name.endswith(".dockerignore"):
        return FileKind.DOCKERIGNORE
    if lower.endswith(".txt") and ("requirements" in lower or parent == "requirements"):
        return FileKind.REQUIREMENTS
    if lower.endswith((".in",)) and "requirements" in lower:
        return FileKind.REQUIREMENTS
    if (
        name in ("Dockerfile", "Containerfile", "dockerfile")
        or name.startswith(("Dockerfile.", "Containerfile."))
        or lower.endswith(".dockerfile")
    ):
        return FileKind.DOCKERFILE
    if name in ("Makefile", "makefile", "GNUmakefile") or lower.endswith(".mk"):
        return FileKind.MAKEFILE
    if name == "Tiltfile" or lower.endswith(".tiltfile"):
        return FileKind.TILTFILE
    if lower.startswith("docker-bake") and lower.endswith((".hcl", ".json")):
        return FileKind.BAKE
    if name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        return FileKind.KUSTOMIZATION
    if lower.endswith((".yml", ".yaml")):
        if rel.startswith(".github/workflows/") and rel.count("/") == 2:
            return FileKind.WORKFLOW
        if rel == ".gitlab-ci.yml" or name == ".gitlab-ci.yml":
            return FileKind.GITLAB_CI
        if lower in ("skaffold.yaml", "skaffold.yml"):
            return FileKind.SKAFFOLD
        if lower.startswith("cloudbuild"):
            return FileKind.CLOUDBUILD
        stem = lower.rsplit(".", 1)[0]
        if stem.startswith(("docker-compose", "compose")):
            return FileKind.COMPOSE
        return FileKind.YAML
    if is_example_name(name):
        return FileKind.ENV_EXAMPLE
    if name == ".env" or name.startswith((".env.", ".env-")) or lower.endswith(".env"):
        return FileKind.ENV_FILE
    if name == "gunicorn.conf.py" or name == "gunicorn_config.py":
        return FileKind.GUNICORN_CONFIG
    if lower.endswith(".py"):
        return FileKind.PYTHON
    if name == "Procfile":
        return FileKind.PROCFILE
    if lower.endswith(".sh"):
        return FileKind.SHELL
    if lower.startswith("readme") and lower.endswith(".md"):
        return FileKind.README
    return None


class PatternSet:
    """fnmatch patterns (case-sensitive, as ``fnmatch.fnmatchcase``) to test many strings
    against, at a cost that does not grow with the number of patterns.

    Calling ``fnmatch`` per pattern per path is quadratic, and with more distinct patterns than
    fnmatch's cache holds every call recompiles its pattern (20,000 excludes took 31 s).
    Instead: patterns without wildcards go in a set; every other pattern is indexed by its
    literal tail (``*.min.js`` → ``.min.js``) or else its literal head (``build*`` → ``build``),
    so a string meets only the patterns whose tail or head it actually has, each compiled once
    on first use. Only patterns with neither (``*x*``) are tried on every string, together, as
    one regular expression compiled once.
    """

    def __init__(self, patterns: Iterable[str]) -> None:
        self._literals: set[str] = set()
        self._by_tail: dict[int, dict[str, list[str]]] = {}
        self._by_head: dict[int, dict[str, list[str]]] = {}
        loose: list[str] = []
        for pattern in dict.fromkeys(patterns):
            first = _WILDCARD.search(pattern)
            if first is None:
                self._literals.add(pattern)
                continue
            head = pattern[: first.start()]
            tail = _LITERAL_TAIL.search(pattern)
            tail_text = tail.group() if tail is not None else ""
            if tail_text:
                self._by_tail.setdefault(len(tail_text), {}).setdefault(tail_text, []).append(
                    pattern
                )
            elif head:
                self._by_head.setdefault(len(head), {}).setdefault(head, []).append(pattern)
            else:
                loose.append(pattern)
        self._loose = (
            re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in loose)) if loose else None
        )
        self._compiled: dict[str, re.Pattern[str]] = {}

    def _candidates(self, text: str) -> Iterator[str]:
        for length, table in self._by_tail.items():
            if length <= len(text):
                yield from table.get(text[len(text) - length :], ())
        for length, table in self._by_head.items():
            if length <= len(text):
                yield from table.get(text[:length], ())

    def matches(self, text: str) -> bool:
        if text in self._literals:
            return True
        for pattern in self._candidates(text):
            compiled = self._compiled.get(pattern)
            if compiled is None:
                compiled = self._compiled[pattern] = re.compile(fnmatch.translate(pattern))
            if compiled.match(text):
                return True
        return self._loose is not None and self._loose.match(text) is not None


_WILDCARD = re.compile(r"[*?\[\]]")
_LITERAL_TAIL = re.compile(r"[^*?\[\]]+\Z")


class Excluder:
    """``exclude`` (and ``per-file-ignores``) patterns: a path is excluded when it, or a
    directory above it, matches a pattern (``*`` also matches ``/``), or when one of its parts
    matches a pattern that has no ``/`` (``node_modules`` anywhere; ``/build`` only at the
    top). A trailing ``/`` and a leading ``./`` on a pattern are ignored.

    Patterns are relative to the directory of the configuration that holds them; ``base`` is
    the checked root's path relative to that directory when the configuration sits above the
    root (``services/api`` for a root two levels down). Only the parts of a path from
    ``first`` (a count of root-relative parts) down are tested: the parts above it — the
    directories above the root, or a path the user named on the command line and its parents
    — are never excluded by a pattern.
    """

    def __init__(self, patterns: Iterable[str], base: str = "") -> None:
        stripped = [_strip_pattern(pattern) for pattern in patterns]
        # a leading `/` anchors a pattern to the configuration's directory (as in .gitignore)
        self._paths = PatternSet(p.lstrip("/") for p in stripped)
        self._parts = PatternSet(p for p in stripped if "/" not in p)
        self._base = base.strip("/")

    def __call__(self, rel: str, first: int = 0) -> bool:
        parts = rel.split("/")
        if any(self._parts.matches(part) for part in parts[first:]):
            return True
        prefix = self._base
        for index, part in enumerate(parts):
            prefix = f"{prefix}/{part}" if prefix else part
            if index >= first and self._paths.matches(prefix):
                return True
        return False


def _strip_pattern(pattern: str) -> str:
    pattern = pattern.rstrip("/")
    while pattern.startswith("./"):
        pattern = pattern[2:]
    return pattern


def shown_name(name: str) -> str:
    """A directory entry's name as preflight shows it and keys it: the name itself when it is
    UTF-8 without a backslash, else with each undecodable byte written ``\\xNN`` and each
    backslash doubled. That is printable in every output format and one-to-one, so two names
    that differ only in undecodable bytes stay two paths (U+FFFD would merge them)."""
    if "\\" not in name:
        try:
            name.encode("utf-8")
            return name  # the common case: os.scandir decoded it without surrogates
        except UnicodeEncodeError:
            pass
    raw = os.fsencode(name).replace(b"\\", b"\\\\")  # 0x5C never occurs inside a UTF-8 sequence
    return raw.decode("utf-8", "backslashreplace")


def real_name(shown: str) -> str:
    """The inverse of :func:`shown_name`: the name as the file system has it."""
    if "\\" not in shown:
        return shown
    out = bytearray()
    index = 0
    while index < len(shown):
        if shown.startswith("\\\\", index):
            out += b"\\"
            index += 2
        elif shown.startswith("\\x", index):
            out.append(int(shown[index + 2 : index + 4], 16))
            index += 4
        else:
            out += shown[index].encode("utf-8")
            index += 1
    return os.fsdecode(bytes(out))


# Byte-order marks of the UTF-16/32 encodings that pip (requirements) and kubectl (manifests)
# decode: Windows editors and PowerShell's `>` write them. Longest first (UTF-32 LE starts
# with UTF-16 LE's mark).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _bom_encoding(data: bytes) -> str | None:
    """The encoding a UTF-16/32 byte-order mark at the start of ``data`` names, if any."""
    return next((encoding for bom, encoding in _BOMS if data.startswith(bom)), None)


# The kinds whose own tools decode a UTF-16/32 byte-order mark: pip (requirements files) and
# kubectl (manifests, kustomizations). Python refuses a UTF-16 source file, so preflight does.
_BOM_KINDS = frozenset({FileKind.REQUIREMENTS, FileKind.YAML, FileKind.KUSTOMIZATION})


def _read_bytes(full: str, size: int) -> tuple[bytes | None, str]:
    """The file's bytes (``size`` as the walk saw it, a hint for one read), with the OS's own
    calls: ``Path.read_bytes`` costs twice as much, and a 2,000-service tree is 100,000 reads
    in the main process."""
    try:
        flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(full, flags)  # non-blocking: a FIFO put in its place never hangs the run
    except OSError as exc:
        return None, f"cannot be read: {exc.strerror}"
    try:
        chunks = [os.read(fd, size + 1)]
        while chunks[-1]:
            chunks.append(os.read(fd, 1 << 20))
        return b"".join(chunks), ""
    except OSError as exc:
        return None, f"cannot be read: {exc.strerror}"
    finally:
        os.close(fd)


def _decode(data: bytes, bom: bool = False) -> tuple[str | None, int | None]:
    """The file's text (None: binary, or not UTF-8), and the first line that ends in CR LF
    (the text has LF only: a script's CR LF is a fact of its own)."""
    encoding = _bom_encoding(data) if bom else None
    if encoding is None and b"\0" in data[:8192]:
        return None, None
    try:
        text = data.decode(encoding or "utf-8-sig")
    except UnicodeDecodeError:
        return None, None
    crlf = data.find(b"\r\n")
    crlf_line = data.count(b"\n", 0, crlf) + 1 if crlf >= 0 else None
    return text.replace("\r\n", "\n").replace("\r", "\n"), crlf_line


def _undecodable(data: bytes, bom: bool) -> str:
    """Why :func:`_decode` gave no text."""
    encoding = _bom_encoding(data) if bom else None
    if encoding is None and b"\0" in data[:8192]:
        return "binary or not UTF-8"
    return f"binary or not {encoding.upper() if encoding else 'UTF-8'}"


def _read_ignore_file(gitignore: GitIgnore, path: str, source: str, base: str, above: str) -> None:
    try:
        if not os.path.isfile(path) or os.path.getsize(path) > DEFAULT_MAX_FILE_SIZE:
            return
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return
    gitignore.add(base, text, source, above)


def _read_ignore_files(gitignore: GitIgnore, rel_dir: str, full_dir: str) -> None:
    """A directory's `.gitignore` (and, at the root, `.git/info/exclude`), before its files."""
    names = [".gitignore"] if rel_dir else [".git/info/exclude", ".gitignore"]
    for name in names:
        source = f"{rel_dir}/{name}" if rel_dir else name
        _read_ignore_file(gitignore, os.path.join(full_dir, name), source, rel_dir, "")


def _read_ignore_files_above(gitignore: GitIgnore, root: Path) -> None:
    """The `.gitignore` files of the directories above the root, up to the top of the git
    repository the root is in (and that repository's `.git/info/exclude`): git applies them to
    the root's files too. Nothing above a root that is not inside a repository."""
    real = Path(os.path.abspath(root))
    if (real / ".git").exists():
        return
    chain: list[Path] = []
    for parent in real.parents:
        chain.append(parent)
        if (parent / ".git").exists():
            break
    else:
        return
    for directory in reversed(chain):  # the repository's top first: deeper files win
        above = real.relative_to(directory).as_posix()
        shown = Path(os.path.relpath(directory, real)).as_posix()
        if directory == chain[-1]:
            exclude = directory / ".git" / "info" / "exclude"
            _read_ignore_file(gitignore, str(exclude), f"{shown}/.git/info/exclude", "", above)
        _read_ignore_file(
            gitignore, str(directory / ".gitignore"), f"{shown}/.gitignore", "", above
        )


def _skipped_directory(entry: os.DirEntry[str], rel: str) -> tuple[bool, str | None]:
    """Whether discovery leaves a directory out by itself, and the note that says so."""
    if entry.name in SKIPPED_DIRS or entry.name.endswith(".egg-info"):
        return True, None
    if "{{" in entry.name or "{%" in entry.name:
        return True, "a project template (cookiecutter/copier)"
    return False, None  # a virtualenv is known when it is listed (see discover)


def _opened(named: Iterable[str]) -> set[str]:
    """Every named path and each directory above it (inside the root)."""
    out: set[str] = set()
    for path in named:
        parts = path.split("/")
        out.update("/".join(parts[: depth + 1]) for depth in range(len(parts)))
    return out


def discover(
    root: Path,
    exclude: Iterable[str] = (),
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    *,
    excluders: Iterable[Excluder] = (),
    respect_gitignore: bool = True,
    named: Iterable[str] = (),
    read: bool = True,
) -> Inventory:
    """Walk ``root`` once; read and classify the files preflight understands (with ``read``
    False, only choose and stat them: :func:`read_files` reads them later).

    ``exclude`` patterns are relative to the root; ``excluders`` carry their own base (a
    configuration above the root). With ``respect_gitignore`` a file or directory git ignores
    (the root's `.gitignore` files, those above it up to the repository's top, and
    `.git/info/exclude`) is not read, as ruff does; without it every file is read except
    ignored env files (a local `.env` is neither committed nor the example), and ignored
    manifests are marked as such (``Inventory.ignored``: not "committed").

    ``named`` are root-relative paths the user named on the command line: each is read (a
    directory: walked) whatever ``exclude``, `.gitignore` or the skipped directories say, as
    ruff checks a file it is given; a directory above a named path that would be left out is
    entered only on the way to it, and what lies below a named directory is left out as usual.
    """
    inventory = Inventory(root=root)
    rules = [Excluder(exclude), *excluders] if exclude else list(excluders)
    if respect_gitignore:
        _read_ignore_files_above(inventory.gitignore, root)
    named_set = {path for path in named if path not in ("", ".")}
    opened = _opened(named_set)
    real_root = os.path.realpath(root)
    # (path shown, path on disk, parts a pattern does not test, only the way to named paths)
    stack: list[tuple[str, str, int, bool]] = [("", str(root), 0, False)]
    while stack:
        rel_dir, full_dir, first, only_named = stack.pop()
        try:
            entries = sorted(os.scandir(full_dir), key=lambda e: e.name)
        except OSError as exc:
            inventory.skipped.append((rel_dir or ".", f"cannot list directory: {exc.strerror}"))
            continue
        # A virtualenv, known by its pyvenv.cfg once listed (not by a stat per directory from
        # its parent: a tree of 100,000 files has 30,000 directories): left out unless named,
        # or entered only on the way to a named path.
        if rel_dir and rel_dir not in named_set and any(e.name == "pyvenv.cfg" for e in entries):
            if rel_dir not in opened:
                inventory.skipped.append((rel_dir, "virtualenv (has pyvenv.cfg)"))
                continue
            only_named = True
        subdirs: list[tuple[str, str, int, bool]] = []
        _read_ignore_files(inventory.gitignore, rel_dir, full_dir)
        for entry in entries:
            # A name that is not UTF-8 arrives surrogate-escaped; it is shown (and keyed) in the
            # escaped form of shown_name; the file itself is read through entry.path.
            name = shown_name(entry.name)
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if only_named and rel not in opened:
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                is_link = entry.is_symlink()
            except OSError:
                continue
            if is_dir:
                if rel in named_set:
                    subdirs.append((rel, entry.path, rel.count("/") + 1, False))
                    continue
                skipped, note = _skipped_directory(entry, rel)
                if not skipped and any(rule(rel, first) for rule in rules):
                    skipped = True
                if not skipped and respect_gitignore:
                    ignored_by = inventory.gitignore.decide(rel, True)
                    if ignored_by is not None:
                        skipped, note = True, f"ignored by git ({ignored_by})"
                if skipped and rel not in opened:
                    if note is not None:
                        inventory.skipped.append((rel, note))
                    continue
                subdirs.append((rel, entry.path, first, only_named or skipped))
                continue
            is_named = rel in named_set
            if not is_named and any(rule(rel, first) for rule in rules):
                continue
            inventory.all_paths.add(rel)
            kind = classify(rel)
            if kind is None and "." not in entry.name and not is_link:
                _record_stat(inventory, rel, entry)  # its first line decides whether it is read
                head = _head(entry)
                if head is not None:
                    inventory.heads[rel] = content_digest(head)
                    if _SHELL_SHEBANG.match(head) is not None:
                        kind = FileKind.SHELL
            if kind is None:
                continue
            if respect_gitignore and not is_named:
                ignored_by = inventory.gitignore.decide(rel, False)
                if ignored_by is not None:
                    inventory.skipped.append((rel, f"ignored by git ({ignored_by})"))
                    continue
            # Read although git ignores it (--no-respect-gitignore, or named): never committed.
            if kind.value in _COMMITTED_MATTERS:
                ignored_by = inventory.gitignore.ignored(rel)
                if ignored_by is not None:
                    inventory.skipped.append((rel, f"ignored by git ({ignored_by}): not committed"))
                    continue
            elif kind is FileKind.YAML and inventory.gitignore.ignored(rel) is not None:
                # still read (a local Secret defines its name), but nothing in it is committed
                inventory.ignored.add(rel)
            if is_link:
                target = os.path.realpath(entry.path)
                if os.path.commonpath([real_root, target]) != real_root:
                    inventory.skipped.append((rel, "symlink that points outside the checked root"))
                    continue
            try:
                info = entry.stat()
            except OSError as exc:
                why = "a symlink that loops or points nowhere" if is_link else exc.strerror
                inventory.skipped.append((rel, f"cannot be read: {why}"))
                continue
            size = info.st_size
            if not os.path.isfile(entry.path):
                why = "a symlink that loops or points nowhere" if is_link else "not a regular file"
                inventory.skipped.append((rel, f"{why} (a FIFO or device is never opened)"))
                continue
            if size > max_file_size:
                inventory.skipped.append(
                    (rel, f"larger than the size cap ({size} > {max_file_size} bytes)")
                )
                continue
            inventory.stats[rel] = (size, info.st_mtime_ns, info.st_ino, info.st_mode)
            pending = Pending(rel, kind, entry.path, size, entry, len(inventory.skipped))
            inventory.pending.append(pending)
        stack.extend(reversed(subdirs))
    if read:
        read_files(inventory)
    return inventory


def _record_stat(inventory: Inventory, rel: str, entry: os.DirEntry[str]) -> None:
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return
    inventory.stats[rel] = (info.st_size, info.st_mtime_ns, info.st_ino, info.st_mode)


def read_files(
    inventory: Inventory, digest: bool = False, overlay: Mapping[str, bytes] | None = None
) -> None:
    """Read what the walk chose (``inventory.pending``), in the walk's order: its text, or a
    note saying why not where the walk met it; with ``digest``, each file's content hash too.
    A file ``overlay`` holds (path → bytes) is read from there instead of the disk."""
    modes: TrackedModes | None = None  # the git index, read at the first script
    modes_read = False
    walk_skipped = inventory.skipped
    unread: list[tuple[int, tuple[str, str]]] = []
    for pending in inventory.pending:
        rel, kind = pending.path, pending.kind
        data: bytes | None
        if overlay is not None and rel in overlay:
            data, why_not = overlay[rel], ""
        else:
            data, why_not = _read_bytes(pending.full, pending.size)
        text, crlf_line = (None, None) if data is None else _decode(data, kind in _BOM_KINDS)
        if data is not None and text is None:
            why_not = _undecodable(data, kind in _BOM_KINDS)
        if text is None or data is None:
            unread.append((pending.skipped_before, (rel, why_not)))
            continue
        if digest:
            inventory.digests[rel] = content_digest(data)
        inventory.files.append(SourceFile(rel, kind, text))
        if kind is FileKind.SHELL:
            if not modes_read:
                modes, modes_read = tracked_modes(inventory.root), True
            inventory.scripts[rel] = _script_facts(rel, pending.entry, crlf_line, modes)
    inventory.pending = []
    if unread:  # each where the walk met it, among the walk's own notes
        merged: list[tuple[str, str]] = []
        position = 0
        for index, note in enumerate(walk_skipped):
            while position < len(unread) and unread[position][0] <= index:
                merged.append(unread[position][1])
                position += 1
            merged.append(note)
        merged.extend(note for _, note in unread[position:])
        inventory.skipped = merged
    inventory.files.sort(key=lambda f: f.path)
    _mark_helm_values(inventory)


def content_digest(data: bytes) -> str:
    """What a run record keeps of a file's bytes to tell an edit from a touch."""
    import hashlib

    return hashlib.blake2b(data, digest_size=16).hexdigest()


# `#!/bin/sh`, `#!/usr/bin/env bash`, `#!/bin/bash -e`: a POSIX shell reads the file
_SHELL_SHEBANG = re.compile(rb"#![ \t]*/\S*?/(?:env[ \t]+(?:-\S+[ \t]+)*)?(?:ba|da|a|k|z)?sh\b")


def _head(entry: os.DirEntry[str]) -> bytes | None:
    """The start of an extensionless file (not a link), where a shell's `#!` line would be
    (cookiecutter-django's `compose/production/django/entrypoint` and `start`: scripts an
    image may run); None when it is not a regular file of at most 1 MiB."""
    try:
        if not entry.is_file(follow_symlinks=False) or entry.stat().st_size > 1024 * 1024:
            return None
        with open(entry.path, "rb") as handle:
            return handle.read(_HEAD_BYTES)
    except OSError:
        return None


_HEAD_BYTES = 128


def read_head(path: Path) -> bytes | None:
    """What :func:`_head` reads of ``path``, for a run record to compare."""
    try:
        with open(path, "rb") as handle:
            return handle.read(_HEAD_BYTES)
    except OSError:
        return None


def _script_facts(
    rel: str, entry: os.DirEntry[str], crlf_line: int | None, modes: TrackedModes | None
) -> ScriptFacts:
    """The mode git records for a script where a repository tracks it, else the file's own
    (git's is what a CI checkout gives `docker build`; the disk's may differ)."""
    if modes is not None and rel in modes.executable:
        return ScriptFacts(crlf_line, modes.executable[rel], "the git index")
    if os.name == "nt":
        return ScriptFacts(crlf_line, None, "the file system")
    try:
        mode = entry.stat().st_mode
    except OSError:
        return ScriptFacts(crlf_line, None, "the file system")
    return ScriptFacts(crlf_line, bool(mode & 0o111), "the file system")


_HELM_VALUES = re.compile(r"values(?:[-._][^/]*)?\.ya?ml")


def _mark_helm_values(inventory: Inventory) -> None:
    """``values*.yaml`` beside a ``Chart.yaml`` is a Helm chart's values, not a manifest."""
    charts = {p.rsplit("/", 1)[0] if "/" in p else "" for p in inventory.all_paths
              if p.rsplit("/", 1)[-1] == "Chart.yaml"}  # fmt: skip
    if not charts:
        return
    for index, source in enumerate(inventory.files):
        directory, _, name = source.path.rpartition("/")
        if (
            source.kind is FileKind.YAML
            and directory in charts
            and _HELM_VALUES.fullmatch(name.lower())
        ):
            inventory.files[index] = SourceFile(source.path, FileKind.HELM_VALUES, source.text)
