"""Issue 13: hypothesis builds whole hostile *repositories*, not only hostile file contents.

Each example is a valid base project (pyproject + Dockerfile + app + a Kubernetes Deployment,
where PKG001 fires on docker/Dockerfile line 7) in random line endings, plus a random set of
hostile pieces from a small vocabulary:

- symlinks: to files and directories outside the root (absolute and relative), dangling (inside
  and outside), self-loops, ``a -> b -> a``, a directory cycle, a link to the root or its parent,
  links into ``/dev/zero``, ``/dev/urandom``, ``/proc/self/fd/0``, a chain ending in a device,
  a link to a FIFO; named like every file kind preflight reads, including ``preflight.toml`` and
  ``.gitignore`` at the root (a root ``pyproject.toml`` belongs to the base project, so planted
  ones go one level down);
- FIFOs named like every file kind;
- planted caches: ``.preflight_cache/`` holding pickles that create a sentinel file if ever
  unpickled (the old format, signed with the empty key), a FIFO and device links at the old
  cache names, a dangling ``.gitignore`` link, the directory itself a link outside; and
  separately ``XDG_CACHE_HOME`` (or ``HOME``) pointing INSIDE the repository, with a planted key
  (empty, zeros, FIFO, device) and a cache file (a forged JSON cache signed with that key that
  would hide PKG001, a pickle, a FIFO, a device) — either really inside, or behind the
  repository's ``.cache`` link to a directory outside that holds them;
- odd encodings: UTF-16 with and without BOM, UTF-8 with BOM, Latin-1, NUL bytes, CRLF and
  lone CR, invalid UTF-8; and odd names: undecodable bytes in file and directory names, a
  255-byte name, a ~3 KB path, newline, CR, TAB, ESC/BEL and bidi-override characters;
- modules that write the sentinel when imported (``yaml.py``, ``typer.py``…) at the root, with
  one run started from inside the repository;
- unreadable files and directories (mode 000). The suite runs as root in CI, where mode 000
  does not stop reading: as root the runs that must see it drop CAP_DAC_OVERRIDE and
  CAP_DAC_READ_SEARCH from their capability bounding set (prctl, in the child before exec), so
  the kernel enforces the modes on them exactly as on an ordinary user. Where that is not
  possible those pieces are not generated (and ``test_unreadable_pieces_are_really_unreadable``
  is skipped, saying so).

The property, for every generated repository, over three runs of the real CLI in a subprocess
(``check --verbose``; ``--format json`` from inside the repository; ``--format sarif`` with full
privileges), each with a stdin that never closes and a 60 s hang guard (not a speed limit):

- the exit code is 1 or 2 — never 0, since the base project's PKG001 is always there — and 2
  only with exactly one ``preflight: error:`` line on stderr;
- no traceback, no "internal error", no raw ESC or BEL in any output;
- on exit 1, PKG001 at docker/Dockerfile:7 is reported (text, JSON and SARIF), JSON and SARIF
  parse; nothing from a file outside the root (a canary) reaches any output;
- the sentinel is never created; nothing outside the repository is created or modified (a decoy
  directory beside it, the working directory: names, types, sizes, modes, mtimes, inodes,
  link targets); nothing inside the repository is created or modified either.

The normal suite runs ``HOSTILE_EXAMPLES``; ``PREFLIGHT_LONG_FUZZ=1`` runs
``LONG_HOSTILE_EXAMPLES`` (each example starts three processes, hence the small numbers).
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import functools
import hashlib
import hmac
import json
import os
import pickle
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import preflight.cache as cache_module
from preflight.cache import cache_name
from preflight.codec import encode
from preflight.parse.dockerfile import Dockerfile

from ._support import (
    EXAMPLES,
    HANG_GUARD,
    PKG001_DOCKERFILE,
    fuzz_settings,
    pkg001_tree,
    preflight_env,
)

HOSTILE_EXAMPLES = 25
LONG_HOSTILE_EXAMPLES = 300

CANARY = "c4n4ry0uts1de"  # in every decoy file outside the root: must never be shown
SENTINEL = "SENTINEL-created-by-repository-code"

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders-api
spec:
  replicas: 2
  selector:
    matchLabels:
      app: orders-api
  template:
    metadata:
      labels:
        app: orders-api
    spec:
      containers:
        - name: api
          image: registry.example.com/orders-api:1.4.0
          ports:
            - containerPort: 8000
          readinessProbe:
            httpGet:
              path: /healthz
              port: 8000
          livenessProbe:
            httpGet:
              path: /healthz
              port: 8000
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
            limits:
              memory: 256Mi
"""


def base_tree() -> dict[str, str]:
    return {**{k: str(v) for k, v in pkg001_tree().items()}, "k8s/deployment.yaml": DEPLOYMENT}


# --------------------------------------------------------------------------- the vocabulary

# Where pieces go (never inside docker/: the base project's build context stays as it is).
WHERE = [b"", b"sub/", b"k8s/", b"deep/er/", b"app/"]

# Valid, non-ASCII content for every file kind preflight reads (keyed by file name).
SNIPPETS: dict[bytes, str] = {
    b"Dockerfile": 'FROM python:3.12-slim\nLABEL description="café ☕"\nCMD ["python", "-V"]\n',
    b"pyproject.toml": '[project]\nname = "café"\nversion = "1.0"\ndependencies = ["requests"]\n',
    b"deploy.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cafe\ndata:\n  a: héllo\n",
    b"compose.yaml": 'services:\n  web:\n    image: "café:1"\n    ports: ["8000:8000"]\n',
    b".env.example": "GREETING=héllo\nPORT=8000\n",
    b"requirements.txt": "requests>=2  # café\n",
    b"mod.py": '"""Café."""\nVALUE = "héllo"\n',
    b"docker-entrypoint.sh": '#!/bin/sh\n# café\nexec "$@"\n',
    b"uv.lock": 'version = 1\n\n[[package]]\nname = "cafe"\nversion = "1.0"\n',
    b"Procfile": "web: python -m http.server  # café\n",
    b"gunicorn.conf.py": 'bind = "0.0.0.0:8000"  # café\n',
    b"preflight.toml": 'exclude = ["nothing-here/**"]  # café\n',
    b".gitignore": "*.pyc\n# café\n",
}
NAMES = sorted(SNIPPETS)

# Files that are not valid for their kind, so PF001 names the (odd) path in every format.
BROKEN: dict[bytes, str] = {
    b".yaml": "key: [\n",
    b"Dockerfile": 'FROM python:3.12-slim\nCMD ["gunicorn", "x:app"]\n',  # another PKG001
    b".txt": "https://example.com/p.whl ; bad marker\n",
    b".py": "def (\n",
}

ODD_NAMES = [
    b"\xff\xfe.yaml",
    b"caf\xe9/Dockerfile",
    b"\xff/\xfe/requirements.txt",
    b"n" * 250 + b".yaml",  # 255 bytes: NAME_MAX
    b"/".join([b"d" * 200] * 15) + b"/Dockerfile",  # a path of ~3 KB (PATH_MAX is 4096)
    b"line\nbreak.yaml",
    b"\x1b]0;pwned\x07.yaml",
    b"\x1b[2Jclear/Dockerfile",
    "\u202eevil\u202c.yaml".encode(),
    "\u202e/requirements.txt".encode(),
    b"cr\r.py",
    b"tab\there.py",
    b"back\\slash.yaml",
    b"back\\xff.py",  # looks like preflight's own escape of an undecodable byte
    b"trailing space .yaml",
]

ENCODINGS = [
    "utf-16",  # with BOM
    "utf-16-le",  # without
    "utf-16-be",
    "utf-8-sig",
    "latin-1",
    "nul",
    "crlf",
    "cr",
    "invalid-utf8",
]

LINK_TARGETS = [
    "outside-file",
    "outside-relative",
    "outside-dir",
    "dangling-outside",
    "dangling-inside",
    "self-loop",
    "loop-pair",
    "dir-cycle",
    "root",
    "parent",
    "dev-zero",
    "dev-urandom",
    "stdin",
    "chain-dev-zero",
    "inside-fifo",
    "inside-file",
]

REPO_CACHES = [
    "pickle",  # the old format: HMAC under the empty key, then a pickle
    "pickle-new-name",  # a pickle (and a forged JSON) at the new cache file's name
    "tmp-link",
    "gitignore-dangling",
    "fifo",
    "dev-zero",
    "stdin",
    "dir-link",
]

# The base project's own pyproject.toml: a file, a link to a file inside the root (read), or a
# link to one outside (ignored both as a project and as configuration: PKG001 then goes silent,
# since `pip install .` has no pyproject.toml to install, and --verbose says so).
ROOT_PYPROJECTS = ["file", "file", "link-inside", "link-outside"]

# Where XDG_CACHE_HOME (or HOME) points: outside the repository, inside it, or inside it at a
# `.cache` that is the repository's link to a directory outside (holding a planted cache).
CACHE_HOMES = [
    "outside",
    "outside",
    "outside",
    "xdg-in-repo",
    "home-in-repo",
    "xdg-link-in-repo",
    "home-link-in-repo",
]
PLANTED_KEYS = ["empty", "zeros", "fifo", "dev-zero", "stdin"]
PLANTED_CACHES = ["forged-json", "pickle", "fifo", "dev-zero", "stdin"]

MODULES = [b"yaml.py", b"typer.py", b"rich.py", b"click.py", b"pydantic.py", b"tomli.py"]

# Files outside the root that links point at; each holds the canary.
DECOY: dict[str, str] = {
    "secret.txt": f"{CANARY}\n",
    # Configuration that, if applied, hides PKG001 and skips every file as too large.
    "preflight.toml": f'ignore = ["PKG001"]\nmax-file-size = 10\n# {CANARY}\n',
    "pyproject.toml": (
        f'[project]\nname = "{CANARY}"\nversion = "1"\ndependencies = ["gunicorn"]\n\n'
        '[tool.preflight]\nignore = ["PKG001"]\nmax-file-size = 10\n'
    ),
    "Dockerfile": f'FROM python:3.12-slim\nCMD ["{CANARY}"]\n',
    "deploy.yaml": f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {CANARY}\ndata: [\n",
    "compose.yaml": f"services:\n  {CANARY}:\n    image: [\n",
    ".env.example": f"{CANARY}=1\nBROKEN LINE {CANARY}\n",
    "requirements.txt": f"{CANARY} ; bad marker\n",
    "mod.py": f"def {CANARY}(\n",
    "victim": "untouched\n",
    "dir/Dockerfile": f'FROM python:3.12-slim\nCMD ["{CANARY}"]\n',
}


@dataclasses.dataclass(frozen=True)
class Piece:
    kind: str  # link | fifo | encoded | odd-name | repo-cache | module | unreadable-file/-dir
    where: bytes
    name: bytes
    variant: str


@dataclasses.dataclass(frozen=True)
class Plan:
    ending: str  # line endings of the base project
    bom: bool  # a UTF-8 BOM on every base file
    root_pyproject: str
    cache_home: str  # outside | xdg-in-repo | home-in-repo
    planted_key: str
    planted_cache: str
    pieces: tuple[Piece, ...]

    @property
    def expects_pkg001(self) -> bool:
        return self.root_pyproject != "link-outside"

    @property
    def unreadable(self) -> bool:
        return any(p.kind.startswith("unreadable") for p in self.pieces)


# --------------------------------------------------------------------------- privileges

_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE = 1
_CAP_DAC_READ_SEARCH = 2


def _drop_dac_capabilities() -> None:
    """In the child, before exec: root loses the right to ignore file modes (and keeps it lost
    across exec, since a root exec gets the bounding set). Runs between fork and exec."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _as_unprivileged() -> Callable[[], None] | None:
    return _drop_dac_capabilities if os.geteuid() == 0 else None


@functools.cache
def modes_are_enforced() -> bool:
    """Whether a subprocess started as the runs are started is denied a mode-000 file."""
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe"
        probe.write_text("x")
        probe.chmod(0)
        try:
            result = subprocess.run(
                [sys.executable, "-c", f"open({str(probe)!r}).read()"],
                preexec_fn=_as_unprivileged(),
                capture_output=True,
                timeout=HANG_GUARD,
            )
        except (OSError, subprocess.SubprocessError):
            return False
        return result.returncode != 0 and b"PermissionError" in result.stderr


# --------------------------------------------------------------------------- strategies


def _pieces(unreadable: bool) -> st.SearchStrategy[Piece]:
    where = st.sampled_from(WHERE)
    names = st.sampled_from(NAMES)
    choices = [
        st.builds(Piece, st.just("link"), where, names, st.sampled_from(LINK_TARGETS)),
        st.builds(Piece, st.just("fifo"), where, names, st.just("")),
        st.builds(Piece, st.just("encoded"), where, names, st.sampled_from(ENCODINGS)),
        st.builds(
            Piece,
            st.just("odd-name"),
            where,
            st.sampled_from(ODD_NAMES),
            st.sampled_from(["valid", "broken"]),
        ),
        st.builds(
            Piece,
            st.just("repo-cache"),
            st.sampled_from([b"", b"sub/"]),
            st.just(b".preflight_cache"),
            st.sampled_from(REPO_CACHES),
        ),
        st.builds(Piece, st.just("module"), st.just(b""), st.sampled_from(MODULES), st.just("")),
    ]
    if unreadable:
        choices += [
            st.builds(Piece, st.just("unreadable-file"), where, names, st.just("")),
            st.builds(Piece, st.just("unreadable-dir"), where, st.just(b"locked"), st.just("")),
        ]
    return st.one_of(choices)


def plans() -> st.SearchStrategy[Plan]:
    return st.builds(
        Plan,
        ending=st.sampled_from(["\n", "\r\n", "\r"]),
        bom=st.booleans(),
        root_pyproject=st.sampled_from(ROOT_PYPROJECTS),
        cache_home=st.sampled_from(CACHE_HOMES),
        planted_key=st.sampled_from(PLANTED_KEYS),
        planted_cache=st.sampled_from(PLANTED_CACHES),
        pieces=st.lists(_pieces(modes_are_enforced()), min_size=1, max_size=8).map(tuple),
    )


# --------------------------------------------------------------------------- building


class _Unpickled:
    """Unpickling this creates the sentinel file: it must never happen."""

    def __init__(self, sentinel: str) -> None:
        self.sentinel = sentinel

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.sentinel, "w"))


@dataclasses.dataclass
class Layout:
    base: Path  # holds everything below; removed afterwards
    root: Path  # the repository checked
    outside: Path  # the decoy: links point here; nothing in it may change
    cwd: Path  # the working directory of the runs not started in the repository
    xdg: Path  # XDG_CACHE_HOME when it is outside the repository
    sentinel: Path

    @property
    def broot(self) -> bytes:
        return os.fsencode(self.root)


def _encode(text: str, encoding: str) -> bytes:
    if encoding == "nul":
        return text.replace("\n", "\0\n", 1).encode()
    if encoding == "crlf":
        return text.replace("\n", "\r\n").encode()
    if encoding == "cr":
        return text.replace("\n", "\r").encode()
    if encoding == "invalid-utf8":
        return text.encode() + b"\xff\xfe\xc3(\n"
    return text.encode(encoding, "replace")


def _mkdirs(path: bytes) -> bool:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return False  # a component is a planted link, FIFO or file
    return os.path.isdir(path) and not os.path.islink(path)


def _place(layout: Layout, piece: Piece, index: int) -> bytes:
    """A free path for the piece: where + name, else under a fresh directory of its own."""
    rel = piece.where + piece.name
    path = os.path.join(layout.broot, rel)
    if not os.path.lexists(path) and _mkdirs(os.path.dirname(path)):
        return path
    path = os.path.join(layout.broot, b"dup%d/" % index + piece.name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def _outside_target(layout: Layout, name: bytes) -> Path:
    decoy = layout.outside / os.fsdecode(name)
    return decoy if decoy.is_file() else layout.outside / "secret.txt"


def _plant_link(layout: Layout, piece: Piece, path: bytes, index: int) -> None:
    base = os.path.basename(path)
    parent = os.path.dirname(path)
    depth = os.path.relpath(parent, layout.broot).count(b"/") + (
        0 if os.path.samefile(parent, layout.broot) else 1
    )
    up = b"../" * depth
    variant = piece.variant
    if variant == "outside-file":
        os.symlink(_outside_target(layout, piece.name), path)
    elif variant == "outside-relative":
        target = _outside_target(layout, piece.name).relative_to(layout.base)
        os.symlink(up + b"../" + os.fsencode(target), path)
    elif variant == "outside-dir":
        os.symlink(layout.outside, path)
    elif variant == "dangling-outside":
        os.symlink(layout.outside / f"missing-{index}", path)
    elif variant == "dangling-inside":
        os.symlink(b"nowhere-%d" % index, path)
    elif variant == "self-loop":
        os.symlink(base, path)
    elif variant == "loop-pair":
        os.symlink(base + b".b", path)
        os.symlink(base, path + b".b")
    elif variant == "dir-cycle":
        os.mkdir(path)
        os.symlink(b".", os.path.join(path, b"loop"))
        os.symlink(b"..", os.path.join(path, b"up"))
        os.symlink(b"../" + base, os.path.join(path, b"again"))
        os.symlink(layout.broot, os.path.join(path, b"root"))
        os.symlink(b"../" + base, os.path.join(path, piece.name))  # a directory named a file
    elif variant == "root":
        os.symlink(layout.broot, path)
    elif variant == "parent":
        os.symlink(up + b"..", path)
    elif variant == "dev-zero":
        os.symlink(b"/dev/zero", path)
    elif variant == "dev-urandom":
        os.symlink(b"/dev/urandom", path)
    elif variant == "stdin":
        os.symlink(b"/proc/self/fd/0", path)
    elif variant == "chain-dev-zero":
        os.symlink(base + b".hop", path)
        os.symlink(b"/dev/zero", path + b".hop")
    elif variant == "inside-fifo":
        os.mkfifo(path + b".fifo", 0o644)
        os.symlink(base + b".fifo", path)
    elif variant == "inside-file":
        os.symlink(os.path.relpath(os.path.join(layout.broot, b"docker/Dockerfile"), parent), path)
    else:  # pragma: no cover - the vocabulary is closed
        raise AssertionError(variant)


def _evil_pickle(layout: Layout) -> bytes:
    return pickle.dumps(("0.1.0", {"x": _Unpickled(str(layout.sentinel))}), protocol=2)


def _old_format(payload: bytes, key: bytes = b"") -> bytes:
    """The first cache's file: HMAC-SHA256 (raw) of the payload under ``key``, then a pickle."""
    return hmac.new(key, payload, hashlib.sha256).digest() + payload


def _forged_json(root: Path, key: bytes) -> bytes:
    """A cache file exactly as preflight writes it, signed with ``key``, claiming the base
    Dockerfile has no stages: were it ever used, PKG001 would vanish."""
    name = cache_name(root)
    path = "docker/Dockerfile"
    entry = cache_module._entry_key("dockerfile", path, PKG001_DOCKERFILE)
    value = json.dumps(encode(Dockerfile(path, (), ()), path)).encode()
    body = cache_module._header(name).encode() + json.dumps(entry).encode() + b"\t" + value + b"\n"
    return hmac.new(key, body, hashlib.sha256).hexdigest().encode() + b"\n" + body


def _plant_repo_cache(layout: Layout, piece: Piece, path: bytes) -> None:
    if piece.variant == "dir-link":
        os.symlink(layout.outside, path)
        return
    os.makedirs(path, exist_ok=True)
    old = os.path.join(path, b"parse-v1.bin")
    variant = piece.variant
    if variant == "pickle":
        Path(os.fsdecode(old)).write_bytes(_old_format(_evil_pickle(layout)))
        for pid in (1, 2, os.getpid()):
            Path(os.fsdecode(old + b".%d.tmp" % pid)).write_bytes(_evil_pickle(layout))
    elif variant == "pickle-new-name":
        new = os.path.join(path, os.fsencode(cache_name(layout.root)))
        Path(os.fsdecode(new)).write_bytes(_evil_pickle(layout))
        Path(os.fsdecode(new + b".forged")).write_bytes(_forged_json(layout.root, b""))
    elif variant == "tmp-link":
        for pid in (1, 2, os.getpid()):
            os.symlink(layout.outside / "victim", old + b".%d.tmp" % pid)
        os.symlink(layout.outside / "victim", old)
    elif variant == "gitignore-dangling":
        os.symlink(layout.outside / "created-by-gitignore", os.path.join(path, b".gitignore"))
    elif variant == "fifo":
        os.mkfifo(old, 0o600)
    elif variant == "dev-zero":
        os.symlink(b"/dev/zero", old)
    elif variant == "stdin":
        os.symlink(b"/proc/self/fd/0", old)
    else:  # pragma: no cover
        raise AssertionError(variant)


def _plant_special(target: Path, how: str, data: bytes) -> None:
    if how == "fifo":
        os.mkfifo(target, 0o600)
    elif how == "dev-zero":
        target.symlink_to("/dev/zero")
    elif how == "stdin":
        target.symlink_to("/proc/self/fd/0")
    else:
        target.write_bytes(data)
        target.chmod(0o600)


def _planted_home(layout: Layout, plan: Plan) -> Path:
    """Where the planted cache home is: in the repository, or where its `.cache` link leads."""
    if "link" in plan.cache_home:
        return layout.outside / "cachedir" / "preflight"
    return layout.root / ".cache" / "preflight"


def _plant_cache_home(layout: Layout, plan: Plan) -> None:
    """A cache home inside the repository (or behind its link), as private as a real one, with
    a key and a cache."""
    home = _planted_home(layout, plan)
    (home / "parse").mkdir(parents=True)
    if "link" in plan.cache_home:
        (layout.root / ".cache").symlink_to(home.parent, target_is_directory=True)
    key = {"empty": b"", "zeros": b"\0" * 32}.get(plan.planted_key, b"\0" * 32)
    _plant_special(home / "key", plan.planted_key, key)
    if plan.planted_cache == "forged-json":
        data = _forged_json(layout.root, key)
    else:
        data = _old_format(_evil_pickle(layout), key)
    _plant_special(home / "parse" / cache_name(layout.root), plan.planted_cache, data)


def _make_readable(root: bytes) -> None:
    """0644/0755 for the tree (so a run without DAC override reads what it should)."""
    for path, info in _walk(root):
        if stat.S_ISDIR(info.st_mode):
            os.chmod(path, 0o755)
        elif stat.S_ISREG(info.st_mode):
            os.chmod(path, 0o644)


def build(plan: Plan) -> Layout:
    base = Path(tempfile.mkdtemp(prefix="preflight-hostile-"))
    base.chmod(0o755)
    layout = Layout(
        base,
        base / "repo",
        base / "outside",
        base / "cwd",
        base / "xdg",
        base / "outside" / SENTINEL,
    )
    for directory in (layout.root, layout.outside, layout.cwd):
        directory.mkdir()
    for name, text in DECOY.items():
        (layout.outside / name).parent.mkdir(parents=True, exist_ok=True)
        (layout.outside / name).write_text(text)
    for name, text in base_tree().items():
        path = layout.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text.replace("\n", plan.ending).encode()
        path.write_bytes(b"\xef\xbb\xbf" + data if plan.bom else data)
    pyproject = layout.root / "pyproject.toml"
    if plan.root_pyproject == "link-inside":
        pyproject.rename(layout.root / "pyproject.base")
        pyproject.symlink_to("pyproject.base")
    elif plan.root_pyproject == "link-outside":
        pyproject.unlink()
        pyproject.symlink_to(layout.outside / "pyproject.toml")
    if plan.cache_home != "outside":
        _plant_cache_home(layout, plan)
    locked: list[bytes] = []
    for index, piece in enumerate(plan.pieces):
        if piece.kind == "unreadable-dir":
            directory = os.path.join(layout.broot, piece.where + b"locked%d" % index)
            os.makedirs(directory, exist_ok=True)
            Path(os.fsdecode(directory), "Dockerfile").write_bytes(SNIPPETS[b"Dockerfile"].encode())
            locked.append(directory)
            continue
        path = _place(layout, piece, index)
        if piece.kind == "link":
            _plant_link(layout, piece, path, index)
        elif piece.kind == "fifo":
            os.mkfifo(path, 0o644)
        elif piece.kind == "encoded":
            Path(os.fsdecode(path)).write_bytes(_encode(SNIPPETS[piece.name], piece.variant))
        elif piece.kind == "odd-name":
            if piece.variant == "broken":
                text = next(v for k, v in BROKEN.items() if piece.name.endswith(k))
            else:
                suffix = next(k for k in NAMES if piece.name.endswith(k.rsplit(b".", 1)[-1]))
                text = SNIPPETS[suffix if not piece.name.endswith(b".yaml") else b"deploy.yaml"]
            Path(os.fsdecode(path)).write_bytes(text.encode())
        elif piece.kind == "repo-cache":
            _plant_repo_cache(layout, piece, path)
        elif piece.kind == "module":
            Path(os.fsdecode(path)).write_text(f"open({str(layout.sentinel)!r}, 'w').close()\n")
        elif piece.kind == "unreadable-file":
            Path(os.fsdecode(path)).write_bytes(SNIPPETS[piece.name].encode())
            locked.append(path)
        else:  # pragma: no cover
            raise AssertionError(piece)
    _make_readable(layout.broot)
    if plan.cache_home != "outside":  # a real cache home is private: make the plant look real
        home = _planted_home(layout, plan)
        for directory in (home, home / "parse"):
            directory.chmod(0o700)
        for name in (home / "key", home / "parse" / cache_name(layout.root)):
            if name.is_file() and not name.is_symlink():
                name.chmod(0o600)
    for path in locked:
        os.chmod(path, 0)
    return layout


def destroy(layout: Layout) -> None:
    for path, info in _walk(os.fsencode(layout.base)):
        if stat.S_ISDIR(info.st_mode):
            with contextlib.suppress(OSError):
                os.chmod(path, 0o700)
    shutil.rmtree(layout.base, ignore_errors=True)


# --------------------------------------------------------------------------- observing


def _walk(top: bytes) -> Iterator[tuple[bytes, os.stat_result]]:
    """Every entry under ``top`` (and ``top``), lstat'ed: no link followed, nothing opened."""
    stack = [top]
    yield top, os.lstat(top)
    while stack:
        directory = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue  # unlistable (mode 000 without privileges): recorded as its stat only
        for entry in entries:
            info = entry.stat(follow_symlinks=False)
            yield entry.path, info
            if stat.S_ISDIR(info.st_mode):
                stack.append(entry.path)


def snapshot(top: Path) -> dict[bytes, tuple[object, ...]]:
    """Names, types, modes, sizes, mtimes, inodes and link targets of everything under ``top``."""
    out: dict[bytes, tuple[object, ...]] = {}
    for path, info in _walk(os.fsencode(top)):
        target = os.readlink(path) if stat.S_ISLNK(info.st_mode) else None
        out[path] = (info.st_mode, info.st_size, info.st_mtime_ns, info.st_ino, target)
    return out


def _diff(before: dict[bytes, tuple[object, ...]], after: dict[bytes, tuple[object, ...]]) -> str:
    lines = [f"created {p!r}" for p in after.keys() - before.keys()]
    lines += [f"removed {p!r}" for p in before.keys() - after.keys()]
    lines += [
        f"changed {p!r}: {before[p]} -> {after[p]}"
        for p in before.keys() & after.keys()
        if before[p] != after[p]
    ]
    return "\n".join(sorted(lines))


@dataclasses.dataclass
class Run:
    args: list[str]
    code: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (
            f"preflight {' '.join(self.args)} -> exit {self.code}\n"
            f"--- stdout (tail)\n{self.stdout[-2000:]}\n--- stderr (tail)\n{self.stderr[-2000:]}"
        )


def run_cli(args: list[str], env: dict[str, str], cwd: Path, *, unprivileged: bool = False) -> Run:
    """``python -m preflight ARGS`` (see :func:`spawn`)."""
    argv = [sys.executable, "-m", "preflight", *args]
    return dataclasses.replace(spawn(argv, env, cwd, unprivileged=unprivileged), args=args)


def spawn(
    argv: list[str],
    env: dict[str, str],
    cwd: Path,
    *,
    unprivileged: bool = False,
    guard: float = HANG_GUARD,
) -> Run:
    """Run ``argv`` with a stdin that never closes (a pipe whose write end this process holds
    until the child has exited) and a hang guard that kills the child's process group."""
    read_end, write_end = os.pipe()
    try:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(
                argv,
                stdin=read_end,
                stdout=out,
                stderr=err,
                cwd=cwd,
                env=env,
                start_new_session=True,
                preexec_fn=_as_unprivileged() if unprivileged else None,
            )
            os.close(read_end)
            read_end = -1
            try:
                proc.wait(timeout=guard)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise AssertionError(f"{argv[1:]} hung (killed after {guard} s)") from None
            finally:  # pool workers left behind: end them too (by this group's id only)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
            out.seek(0)
            err.seek(0)
            return Run(
                argv,
                proc.returncode,
                out.read().decode("utf-8", "replace"),
                err.read().decode("utf-8", "replace"),
            )
    finally:
        if read_end >= 0:
            os.close(read_end)
        os.close(write_end)


_TEXT_PKG001 = re.compile(r"docker/Dockerfile:7:\d+: PKG001 ")


def _pkg001_in_json(document: dict[str, object]) -> bool:
    findings = document["findings"]
    assert isinstance(findings, list)
    return any(
        f["code"] == "PKG001" and str(f["path"]).endswith("docker/Dockerfile") and f["line"] == 7
        for f in findings
    )


def _pkg001_in_sarif(document: dict[str, object]) -> bool:
    runs = document["runs"]
    assert isinstance(runs, list)
    for result in runs[0]["results"]:
        if result["ruleId"] != "PKG001":
            continue
        location = result["locations"][0]["physicalLocation"]
        uri = location["artifactLocation"]["uri"]
        if uri.endswith("docker/Dockerfile") and location["region"]["startLine"] == 7:
            return True
    return False


def assert_run_ok(run: Run, fmt: str, expects_pkg001: bool = True) -> None:
    if expects_pkg001:
        assert run.code in (1, 2), f"exit 0 loses the base project's PKG001, or a crash:\n{run}"
    else:
        assert run.code in (0, 1, 2), str(run)
    for stream in (run.stdout, run.stderr):
        assert "Traceback" not in stream, str(run)
        assert "internal error" not in stream, str(run)
        assert "\x1b" not in stream and "\x07" not in stream, f"raw ESC/BEL in output:\n{run!r}"
        assert CANARY not in stream, f"content from outside the root was shown:\n{run}"
        assert "size cap" not in stream, f"configuration from outside the root applied:\n{run}"
    if run.code == 2:
        lines = run.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("preflight: error: "), str(run)
        return
    if not expects_pkg001:
        if fmt == "text":  # --verbose: silent, and why
            assert "PKG001 silent at docker/Dockerfile:7" in run.stdout, str(run)
        else:
            json.loads(run.stdout)
        return
    if fmt == "text":
        assert _TEXT_PKG001.search(run.stdout), f"PKG001 is missing:\n{run}"
    elif fmt == "json":
        assert _pkg001_in_json(json.loads(run.stdout)), f"PKG001 is missing:\n{run}"
    else:
        assert _pkg001_in_sarif(json.loads(run.stdout)), f"PKG001 is missing:\n{run}"


def _environment(layout: Layout, plan: Plan) -> dict[str, str]:
    env = preflight_env(layout.base)
    env["XDG_CACHE_HOME"] = str(layout.xdg)
    env["HOME"] = str(layout.cwd)
    if plan.cache_home.startswith("xdg"):
        env["XDG_CACHE_HOME"] = str(layout.root / ".cache")
    elif plan.cache_home.startswith("home"):
        env.pop("XDG_CACHE_HOME")
        env["HOME"] = str(layout.root)
    return env


def check_plan(plan: Plan) -> None:
    layout = build(plan)
    try:
        env = _environment(layout, plan)
        root = str(layout.root)
        repo_before = snapshot(layout.root)
        outside_before = snapshot(layout.outside)
        cwd_before = snapshot(layout.cwd)
        base_before = sorted(os.listdir(layout.base))

        text = run_cli(["check", "--verbose", root], env, layout.cwd, unprivileged=True)
        as_json = run_cli(["check", "--format", "json", root], env, layout.root, unprivileged=True)
        sarif = run_cli(["check", "--format", "sarif", root], env, layout.cwd)

        assert not layout.sentinel.exists(), "repository code ran (the sentinel exists)"
        assert_run_ok(text, "text", plan.expects_pkg001)
        assert_run_ok(as_json, "json", plan.expects_pkg001)
        assert_run_ok(sarif, "sarif", plan.expects_pkg001)
        assert text.code == as_json.code, f"{text}\n{as_json}"
        if not plan.unreadable:  # the SARIF run has privileges to read mode-000 files
            assert sarif.code == text.code, f"{text}\n{sarif}"
        assert snapshot(layout.root) == repo_before, "written inside the repository:\n" + _diff(
            repo_before, snapshot(layout.root)
        )
        assert snapshot(layout.outside) == outside_before, "written outside the root:\n" + _diff(
            outside_before, snapshot(layout.outside)
        )
        assert snapshot(layout.cwd) == cwd_before, "written into the working directory"
        after = sorted(os.listdir(layout.base))
        expected = sorted({*base_before, "xdg"}) if plan.cache_home == "outside" else base_before
        assert after in (base_before, expected), f"created beside the repository: {after}"
    finally:
        destroy(layout)


# --------------------------------------------------------------------------- the properties


def test_hostile_repositories() -> None:
    @fuzz_settings(HOSTILE_EXAMPLES)
    @given(plans())
    def prop(plan: Plan) -> None:
        EXAMPLES["hostile repositories"] += 1
        check_plan(plan)

    prop()


@pytest.mark.long_fuzz
def test_hostile_repositories_long() -> None:
    @fuzz_settings(LONG_HOSTILE_EXAMPLES)
    @given(plans())
    def prop(plan: Plan) -> None:
        EXAMPLES["hostile repositories"] += 1
        check_plan(plan)

    prop()


# --------------------------------------------------------------------------- the harness itself


def _plan(*pieces: Piece, cache_home: str = "outside") -> Plan:
    return Plan("\n", False, "file", cache_home, "zeros", "forged-json", pieces)


def test_every_piece_can_be_built() -> None:
    """The vocabulary is complete and buildable: each piece on its own makes a repository."""
    pieces = [Piece("link", b"sub/", n, v) for v in LINK_TARGETS for n in (b"Dockerfile",)]
    pieces += [Piece("fifo", b"", n, "") for n in NAMES]
    pieces += [Piece("encoded", b"k8s/", n, e) for n in NAMES for e in ENCODINGS]
    pieces += [Piece("odd-name", b"", n, v) for n in ODD_NAMES for v in ("valid", "broken")]
    pieces += [Piece("repo-cache", b"", b".preflight_cache", v) for v in REPO_CACHES]
    pieces += [Piece("module", b"", m, "") for m in MODULES]
    pieces += [
        Piece("unreadable-file", b"", b"Dockerfile", ""),
        Piece("unreadable-dir", b"", b"", ""),
    ]
    layout = build(_plan(*pieces))
    try:
        paths = {path for path, _ in _walk(layout.broot)}
        assert len(paths) > len(pieces)
        assert any(b"\xff" in p for p in paths) and any(b"\n" in p for p in paths)
        assert any(stat.S_ISFIFO(os.lstat(p).st_mode) for p in paths)
    finally:
        destroy(layout)


def test_a_real_write_or_a_lost_finding_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The property can fail: the snapshot sees a write, and a missing PKG001 fails the run."""
    layout = build(_plan(Piece("fifo", b"sub/", b"Dockerfile", "")))
    try:
        before = snapshot(layout.root)
        (layout.root / "app" / "main.py").write_text("x = 1\n")
        assert _diff(before, snapshot(layout.root)).startswith("changed")
        env = _environment(layout, _plan())
        quiet = run_cli(
            ["check", "--ignore", "PKG001", str(layout.root)], env, layout.cwd, unprivileged=True
        )
        with pytest.raises(AssertionError):
            assert_run_ok(quiet, "text")
    finally:
        destroy(layout)


def test_the_stdin_of_a_run_never_closes(tmp_path: Path) -> None:
    """What a link to /proc/self/fd/0 would read: a child that reads its stdin is killed as hung."""
    reader = [sys.executable, "-c", "import sys; sys.stdin.read()"]
    with pytest.raises(AssertionError, match="hung"):
        spawn(reader, preflight_env(tmp_path), tmp_path, guard=3.0)


def test_unreadable_pieces_are_really_unreadable(tmp_path: Path) -> None:
    """Mode 000 must bite on the runs that check it, or the unreadable pieces prove nothing."""
    if not modes_are_enforced():
        pytest.skip(
            "running as root without the right to drop CAP_DAC_OVERRIDE: mode 000 does not "
            "stop reading, so no unreadable pieces are generated"
        )
    layout = build(_plan(Piece("unreadable-file", b"", b"preflight.toml", "")))
    try:
        env = _environment(layout, _plan())
        result = run_cli(["check", str(layout.root)], env, layout.cwd, unprivileged=True)
        assert result.code == 2, str(result)
        assert "cannot read" in result.stderr and "Permission denied" in result.stderr, str(result)
    finally:
        destroy(layout)


# --------------------------------------------------------------------------- found by the property


@pytest.mark.parametrize("via", ["xdg", "home", "user-link-into-repo"])
def test_a_cache_home_reached_through_a_link_in_the_root_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, via: str
) -> None:
    """``XDG_CACHE_HOME=repo/.cache`` where ``repo/.cache`` is the repository's link to a
    directory outside: resolved, the cache home is outside the root, but the repository chose
    it — it would decide where the key and cache are written, and which are read. Every prefix
    of the path as given must stay out of the root, not only the resolved path.
    """
    from preflight.config import Config
    from preflight.engine import run

    root = tmp_path / "repo"
    for name, text in base_tree().items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "preflight" / "parse").mkdir(parents=True)
    for directory in (elsewhere / "preflight", elsewhere / "preflight" / "parse"):
        directory.chmod(0o700)
    key = b"\0" * 32  # a planted key and a cache signed with it that would hide PKG001
    for path, data in (
        (elsewhere / "preflight" / "key", key),
        (elsewhere / "preflight" / "parse" / cache_name(root), _forged_json(root, key)),
    ):
        path.write_bytes(data)
        path.chmod(0o600)
    if via == "user-link-into-repo":  # the user's own link into the repository, then its link
        (root / "sub").mkdir()
        (root / "sub" / ".cache").symlink_to(elsewhere, target_is_directory=True)
        (tmp_path / "ci").mkdir()
        (tmp_path / "ci" / "work").symlink_to(root / "sub", target_is_directory=True)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "ci" / "work" / ".cache"))
    else:
        (root / ".cache").symlink_to(elsewhere, target_is_directory=True)
        if via == "xdg":
            monkeypatch.setenv("XDG_CACHE_HOME", str(root / ".cache"))
        else:
            monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
            monkeypatch.setenv("HOME", str(root))
    before = snapshot(elsewhere)
    result = run(root, ".", Config(), use_cache=True)
    assert [(f.code, f.span.path, f.span.line) for f in result.findings] == [
        ("PKG001", "docker/Dockerfile", 7)
    ]
    assert snapshot(elsewhere) == before, _diff(before, snapshot(elsewhere))
    assert any("passes through the checked root" in note for note in result.notes), result.notes


def test_a_cache_home_outside_the_root_may_be_reached_through_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user's own links on the way to the cache home (outside the root) are still fine."""
    from preflight.config import Config
    from preflight.engine import run

    root = tmp_path / "repo"
    for name, text in base_tree().items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (tmp_path / "real-cache").mkdir()
    (tmp_path / "cache-link").symlink_to(tmp_path / "real-cache", target_is_directory=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-link"))
    result = run(root, ".", Config(), use_cache=True)
    assert not any("parse cache off" in note for note in result.notes), result.notes
    assert (tmp_path / "real-cache" / "preflight" / "parse" / cache_name(root)).is_file()
