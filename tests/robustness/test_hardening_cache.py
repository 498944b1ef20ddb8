"""Issue 13, the parse cache: a repository under review can never make the cache run code, write
outside its place, hang or exhaust memory reading it, or hold a secret; a cache from another
Python is never used; a warm run keeps nothing it does not need.

Each hostile repository is built in tmp_path; XDG_CACHE_HOME points at a temporary directory.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import pickle
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import preflight.cache as cache_module
from preflight.cache import ParseCache, cache_name, may_hold_secret
from preflight.codec import ALLOWED, CodecError, decode, encode
from preflight.config import Config
from preflight.engine import Result, run
from preflight.parse.dockerfile import Dockerfile

from ._support import (
    PKG001_DOCKERFILE,
    assert_clean_exit,
    measure,
    pkg001_tree,
    preflight_env,
    write_files,
)

HANG_GUARD = 60.0  # seconds: only a guard against a hang, never an assertion on speed


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_files(tmp_path / "repo", pkg001_tree())


def check(root: Path, use_cache: bool = True) -> Result:
    """A run that uses the parse cache: the run record of an earlier run (which would report
    that run's result before any parse) is dropped first (its own tests: test_runcache.py)."""
    home = Path(os.environ.get("XDG_CACHE_HOME", "/nonexistent")) / "preflight" / "parse"
    for record in home.glob("*.run") if home.is_dir() else ():
        record.unlink()
    return run(root, ".", Config(), use_cache=use_cache)


def codes(result: Result) -> list[tuple[str, str, int]]:
    return [(f.code, f.span.path, f.span.line) for f in result.findings]


def cache_path(xdg: Path, root: Path) -> Path:
    return xdg / "preflight" / "parse" / cache_name(root)


def snapshot(directory: Path) -> dict[str, object]:
    """Every entry under ``directory``: a link's target, a file's bytes, or "dir"."""
    out: dict[str, object] = {}
    for path in sorted(directory.rglob("*")):
        name = path.relative_to(directory).as_posix()
        if path.is_symlink():
            out[name] = ("link", os.readlink(path))
        elif path.is_dir():
            out[name] = "dir"
        elif path.is_file():
            out[name] = path.read_bytes()
        else:
            out[name] = stat.S_IFMT(path.lstat().st_mode)
    return out


# -- forging: a cache file exactly as preflight writes it, signed with the real key ------------


def forge(
    xdg: Path,
    root: Path,
    entries: dict[str, bytes],
    *,
    key: bytes | None = None,
    header: dict[str, object] | None = None,
) -> bytes:
    name = cache_name(root)
    real_header = json.loads(cache_module._header(name))
    head = json.dumps({**real_header, **(header or {})}, sort_keys=True) + "\n"
    body = head.encode() + b"".join(
        json.dumps(k).encode() + b"\t" + v + b"\n" for k, v in sorted(entries.items())
    )
    if key is None:
        key = (xdg / "preflight" / "key").read_bytes()
    mac = hmac.new(key, body, hashlib.sha256).hexdigest().encode()
    return mac + b"\n" + body


def no_stages_entry() -> dict[str, bytes]:
    """A Dockerfile entry claiming no stages: if it is used, PKG001 (Dockerfile line 7) vanishes."""
    path = "docker/Dockerfile"
    key = cache_module._entry_key("dockerfile", path, PKG001_DOCKERFILE)
    value = json.dumps(encode(Dockerfile(path, (), ()), path)).encode()
    return {key: value}


def write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o600)


def test_forged_cache_signed_with_the_real_key_is_used(xdg: Path, repo: Path) -> None:
    """The control for the tests below: a well-formed cache changes the result, so when they see
    the finding unchanged, it is because their cache was refused."""
    assert codes(check(repo)) == [("PKG001", "docker/Dockerfile", 7)]
    write_private(cache_path(xdg, repo), forge(xdg, repo, no_stages_entry()))
    assert codes(check(repo)) == []


# -- High 1: never unpickle; an empty key is never a key; other versions are ignored ------------


class _Evil:
    def __init__(self, sentinel: str) -> None:
        self.sentinel = sentinel

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.sentinel, "w"))


def test_a_pickle_signed_with_the_real_key_runs_nothing(
    xdg: Path, repo: Path, tmp_path: Path
) -> None:
    check(repo)
    sentinel = tmp_path / "SENTINEL"
    payload = pickle.dumps(("0.1.0", {"x": _Evil(str(sentinel))}))
    key = (xdg / "preflight" / "key").read_bytes()
    for blob in (
        hmac.new(key, payload, hashlib.sha256).digest() + payload,  # the old format
        forge(xdg, repo, {k: payload for k in no_stages_entry()}),  # a pickle as an entry
        forge(xdg, repo, no_stages_entry())[:-10] + payload,  # a pickle appended
    ):
        write_private(cache_path(xdg, repo), blob)
        assert codes(check(repo)) == [("PKG001", "docker/Dockerfile", 7)]
        assert not sentinel.exists()


@pytest.mark.parametrize(
    "data",
    [
        ["os.system", "touch /tmp/pwned"],
        ["builtins.eval", "__import__('os').system('true')"],
        [10_000, "x"],
        [-1, "x"],
        {"__class__": "Span"},
        ["t", 1],  # a tag that names no type
        [8],  # an allowlisted type with too few fields
        [1, "1", 1, 1, 1],  # a span whose line is not a number
        [5, [2], 1],  # a dict keyed by a list
        [6, "1e999999"],
    ],
)
def test_decoding_builds_only_allowlisted_types(data: object) -> None:
    with pytest.raises(CodecError):
        decode(data, "x.py")


def test_the_allowlist_is_preflights_own_parse_types() -> None:
    modules = {cls.__module__ for cls in ALLOWED}
    assert modules <= {"preflight.spans", "preflight.parse"} | {
        m for m in modules if m.startswith("preflight.parse.")
    }
    assert len(ALLOWED) > 40


@pytest.mark.parametrize(
    "value",
    [__import__("datetime").date(2024, 1, 1), type("S", (str,), {})("x"), object(), b"bytes"],
    ids=["date", "str-subclass", "object", "bytes"],
)
def test_values_that_cannot_round_trip_exactly_are_refused(value: object) -> None:
    with pytest.raises(CodecError):
        encode({"tool": (value,)}, "pyproject.toml")


def _shape(value: object) -> object:
    """``value``'s types and contents, sets in sorted order: two equal results of the same
    types have the same shape (a set's repr depends on its insertion history, not its content,
    so comparing reprs fails at random on equal sets)."""
    import dataclasses

    if isinstance(value, (set, frozenset)):
        return (type(value).__name__, sorted((_shape(v) for v in value), key=repr))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_shape(v) for v in value])
    if isinstance(value, dict):
        return ("dict", [(_shape(k), _shape(v)) for k, v in value.items()])
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return (type(value).__qualname__, [_shape(getattr(value, f.name)) for f in fields])
    return (type(value).__name__, value)


def test_every_fixture_round_trips_exactly() -> None:
    from preflight.discover import discover
    from preflight.parse.run import PARSERS, ParserCrash, parse_one

    fixtures = Path(__file__).resolve().parents[2] / "fixtures"
    count = 0
    for root in sorted(p for p in fixtures.iterdir() if p.is_dir()):
        for source in discover(root).files:
            if source.kind.value not in PARSERS:
                continue
            result = parse_one((source.kind.value, source.path, source.text))
            if isinstance(result, ParserCrash):
                continue
            text = json.dumps(encode(result, source.path))
            back = decode(json.loads(text), source.path)
            assert back == result and _shape(back) == _shape(result), source.path
            count += 1
    assert count > 200


@pytest.mark.parametrize(
    "key_bytes", [b"", b"\0" * 16, b"k" * 33], ids=["empty", "truncated", "too-long"]
)
def test_an_unusable_key_is_replaced_and_never_signs_anything(
    xdg: Path, repo: Path, key_bytes: bytes
) -> None:
    check(repo)
    key_file = xdg / "preflight" / "key"
    write_private(key_file, key_bytes)
    # A cache signed with the unusable key, as a repository or a half-finished first run
    # would leave it.
    write_private(cache_path(xdg, repo), forge(xdg, repo, no_stages_entry(), key=key_bytes))
    assert codes(check(repo)) == [("PKG001", "docker/Dockerfile", 7)]
    new_key = key_file.read_bytes()
    assert len(new_key) == 32 and new_key != key_bytes
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


@pytest.mark.parametrize("kind", ["symlink", "group-readable", "fifo", "directory"])
def test_a_key_that_is_not_a_private_regular_file_is_not_used(
    xdg: Path, repo: Path, tmp_path: Path, kind: str
) -> None:
    check(repo)
    key_file = xdg / "preflight" / "key"
    planted = tmp_path / "planted-key"
    planted.write_bytes(b"p" * 32)
    planted.chmod(0o600)
    key_file.unlink()
    if kind == "symlink":
        key_file.symlink_to(planted)
    elif kind == "group-readable":
        key_file.write_bytes(b"p" * 32)
        key_file.chmod(0o640)
    elif kind == "fifo":
        os.mkfifo(key_file, 0o600)
    else:
        key_file.mkdir(mode=0o700)
    write_private(cache_path(xdg, repo), forge(xdg, repo, no_stages_entry(), key=b"p" * 32))
    assert codes(check(repo)) == [("PKG001", "docker/Dockerfile", 7)]
    assert planted.read_bytes() == b"p" * 32  # a link is replaced, never written through


@pytest.mark.parametrize(
    "header",
    [
        {"python": "cpython-3.12" if sys.version_info[:2] != (3, 12) else "cpython-3.11"},
        {"python": "pypy-" + ".".join(map(str, sys.version_info[:2]))},
        {"preflight": "0.0.0-other"},
        {"schema": "0" * 16},
        {"format": 1},
        {"file": "another-root.json"},
    ],
    ids=["python-version", "implementation", "preflight-version", "schema", "format", "root"],
)
def test_a_cache_from_another_python_preflight_or_root_is_ignored(
    xdg: Path, repo: Path, header: dict[str, object]
) -> None:
    check(repo)
    write_private(cache_path(xdg, repo), forge(xdg, repo, no_stages_entry(), header=header))
    assert codes(check(repo)) == [("PKG001", "docker/Dockerfile", 7)]


def test_each_python_has_its_own_cache(
    xdg: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Medium 17: what parses differs by Python (PEP 695 is DB005's blind spot on 3.11)."""
    check(repo)
    ours = cache_path(xdg, repo)
    monkeypatch.setattr(cache_module, "interpreter", lambda: "cpython-3.99")
    theirs = cache_path(xdg, repo)
    assert theirs != ours
    write_private(ours, forge(xdg, repo, no_stages_entry()))  # poisoned for our Python only
    assert codes(check(repo)) == [("PKG001", "docker/Dockerfile", 7)]
    assert theirs.is_file()
    assert json.loads(theirs.read_bytes().split(b"\n")[1])["python"] == "cpython-3.99"


def test_truncated_or_corrupt_cache_is_ignored(xdg: Path, repo: Path) -> None:
    check(repo)
    good = forge(xdg, repo, no_stages_entry())
    for blob in (b"", good[:-5], good[:64], good.replace(b"Dockerfile", b"Dockerfilf"), b"\n\n"):
        write_private(cache_path(xdg, repo), blob)
        assert codes(check(repo)) == [("PKG001", "docker/Dockerfile", 7)]


def test_concurrent_first_runs_never_share_an_empty_key(repo: Path, tmp_path: Path) -> None:
    env = preflight_env(tmp_path)
    argv = [sys.executable, "-m", "preflight", "check", "--format", "json", str(repo)]
    procs = [
        subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(6)
    ]
    outputs = [proc.communicate(timeout=HANG_GUARD) for proc in procs]
    assert [proc.returncode for proc in procs] == [1] * 6, outputs
    key = Path(env["XDG_CACHE_HOME"]) / "preflight" / "key"
    assert len(key.read_bytes()) == 32
    leftovers = [p.name for p in key.parent.rglob("*.tmp")]
    assert leftovers == []


# -- High 2: nothing is written under the checked root, and no link is followed -----------------


def test_symlinks_planted_in_the_repository_are_never_written_through(
    xdg: Path, repo: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("untouched")
    planted = repo / ".preflight_cache"
    planted.mkdir()
    for pid in range(os.getpid() - 50, os.getpid() + 50):
        (planted / f"parse-v1.bin.{pid}.tmp").symlink_to(outside / "victim")
    (planted / ".gitignore").symlink_to(outside / "created-by-a-dangling-link")
    (planted / "parse-v1.bin").symlink_to(outside / "victim")
    (repo / "linked").symlink_to(outside, target_is_directory=True)
    before_repo, before_outside = snapshot(repo), snapshot(outside)
    check(repo)
    check(repo)
    assert snapshot(repo) == before_repo
    assert snapshot(outside) == before_outside


def test_a_symlinked_cache_directory_in_the_repository_is_not_written_into(
    xdg: Path, repo: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (repo / ".preflight_cache").symlink_to(outside, target_is_directory=True)
    check(repo)
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("inside", ["xdg", "home"])
def test_a_cache_home_inside_the_checked_root_is_refused(
    repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, inside: str
) -> None:
    """The repository would otherwise supply the key (and the cache signed with it)."""
    if inside == "xdg":
        monkeypatch.setenv("XDG_CACHE_HOME", str(repo / ".cache"))
    else:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
        monkeypatch.setenv("HOME", str(repo))
    key = b"\0" * 32
    write_private(repo / ".cache" / "preflight" / "key", key)
    (repo / ".cache" / "preflight").chmod(0o700)
    (repo / ".cache" / "preflight" / "parse").mkdir(mode=0o700)
    write_private(
        repo / ".cache" / "preflight" / "parse" / cache_name(repo),
        forge(tmp_path, repo, no_stages_entry(), key=key),
    )
    before = snapshot(repo)
    result = check(repo)
    assert codes(result) == [("PKG001", "docker/Dockerfile", 7)]
    assert snapshot(repo) == before
    assert any("inside the checked root" in note for note in result.notes)


def test_links_in_the_cache_home_are_replaced_not_followed(
    xdg: Path, repo: Path, tmp_path: Path
) -> None:
    check(repo)
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    target = cache_path(xdg, repo)
    target.unlink()
    target.symlink_to(victim)
    repo.joinpath("app", "extra.py").write_text("from fastapi import FastAPI\n")  # a change
    check(repo)
    assert victim.read_text() == "untouched"
    assert target.is_file() and not target.is_symlink()


@pytest.mark.parametrize("link", ["preflight", "parse"])
def test_a_linked_cache_directory_is_not_used(
    xdg: Path, repo: Path, tmp_path: Path, link: str
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    if link == "preflight":
        xdg.mkdir()
        (xdg / "preflight").symlink_to(elsewhere, target_is_directory=True)
    else:
        (xdg / "preflight").mkdir(parents=True, mode=0o700)
        (xdg / "preflight" / "parse").symlink_to(elsewhere, target_is_directory=True)
    result = check(repo)
    assert codes(result) == [("PKG001", "docker/Dockerfile", 7)]
    assert list(elsewhere.iterdir()) == []
    assert any("not a private directory" in n or "cannot use" in n for n in result.notes)


# -- High 5: only regular files are read, under a size cap --------------------------------------


def _run_cli(root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The CLI with a stdin that never closes (what /proc/self/fd/0 would block on): the test
    holds the pipe's write end open until the process has ended."""
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "preflight", "check", str(root)],
            env=env,
            stdin=read_end,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        os.close(read_end)
        try:
            out, err = proc.communicate(timeout=HANG_GUARD)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.communicate()
            raise AssertionError("preflight hung reading its cache") from None
    finally:
        os.close(write_end)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("plant", ["fifo", "dev-zero", "stdin", "directory"])
@pytest.mark.parametrize("where", ["cache-file", "key", "repository"])
def test_special_files_are_never_read(repo: Path, tmp_path: Path, plant: str, where: str) -> None:
    env = preflight_env(tmp_path)
    xdg = Path(env["XDG_CACHE_HOME"])
    first = _run_cli(repo, env)
    assert first.returncode == 1, first.stderr
    if where == "cache-file":
        target = cache_path(xdg, repo)
    elif where == "key":
        target = xdg / "preflight" / "key"
    else:  # the old in-repository layout: never read at all now
        target = repo / ".preflight_cache" / "parse-v1.bin"
        target.parent.mkdir()
    if target.exists():
        target.unlink()
    if plant == "fifo":
        os.mkfifo(target, 0o600)
    elif plant == "dev-zero":
        target.symlink_to("/dev/zero")
    elif plant == "stdin":
        target.symlink_to("/proc/self/fd/0")
    else:
        target.mkdir(mode=0o700)
    again = _run_cli(repo, env)
    assert again.returncode == 1, again.stderr
    assert "Traceback" not in again.stderr and "internal error" not in again.stderr
    assert again.stdout == first.stdout


def test_a_huge_cache_file_is_not_read(xdg: Path, repo: Path, tmp_path: Path) -> None:
    check(repo)
    target = cache_path(xdg, repo)
    with target.open("r+b") as handle:
        handle.truncate(300 * 1024 * 1024)  # sparse: costs no disk
    result = measure(
        ["check", str(repo)], env={**preflight_env(tmp_path), "XDG_CACHE_HOME": str(xdg)}
    )
    assert_clean_exit(result)
    assert result.rss_mb < 200, str(result)  # read, it would be 300 MB at least


# -- Medium 11: no secret value is ever written to the cache; files are private ---------------

CANARY = "CanaryPw-QX7-cache-4b1d9e"
CANARY_FILES: dict[str, str | bytes] = {
    **pkg001_tree(),
    "k8s/secret.yaml": f"""\
apiVersion: v1
kind: Secret
metadata:
  name: orders
stringData:
  DB_PASSWORD: "{CANARY}"
data:
  TOKEN: {base64.b64encode(CANARY.encode()).decode()}
""",
    "k8s/deployment.yaml": f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: orders}}
spec:
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/example/orders:1
          command: ["gunicorn", "app.main:app"]
          env: [{{name: DB_PASSWORD, value: "{CANARY}"}}]
""",
    ".env.example": f"ANYTHING={CANARY}\n",
    "app/config.py": f"""\
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    database_url: str = "postgresql://app:{CANARY}@db.internal/app"
""",
    "app/db.py": f"""\
from sqlalchemy import create_engine

engine = create_engine("postgresql+asyncpg://u:{CANARY}@db/app")
""",
    "docker/Dockerfile": PKG001_DOCKERFILE.replace(
        "WORKDIR /app\n",
        f"WORKDIR /app\nENV DB_PASSWORD={CANARY}\nENV SENTRY_DSN=https://{CANARY}@sentry.io/1\n",
    ),
    "requirements.txt": f"--index-url https://ci:{CANARY}@pypi.example/simple\nfastapi\n",
    "compose.yaml": f"""\
services:
  api:
    build: {{context: ., dockerfile: docker/Dockerfile}}
    environment: {{API_TOKEN: {CANARY}}}
""",
}


def _forms(value: str) -> list[bytes]:
    import urllib.parse

    raw = value.encode()
    return [
        raw,
        base64.b64encode(raw),
        urllib.parse.quote(value).encode(),
        json.dumps(value).encode(),
    ]


def _all_files(directory: Path) -> Iterator[Path]:
    return (p for p in directory.rglob("*") if p.is_file() and not p.is_symlink())


def test_no_secret_value_reaches_the_cache(xdg: Path, tmp_path: Path) -> None:
    root = write_files(tmp_path / "repo", CANARY_FILES)
    cold = check(root)
    warm = check(root)
    plain = check(root, use_cache=False)
    assert codes(cold) == codes(warm) == codes(plain)
    files = list(_all_files(xdg))
    assert cache_path(xdg, root) in files  # the cache was written: the check below can fail
    assert b"app/main.py" in cache_path(xdg, root).read_bytes()
    for path in files:
        data = path.read_bytes()
        for form in _forms(CANARY):
            assert form not in data, f"{path} holds the canary ({form!r})"
    for path in [*files, *(p for p in xdg.rglob("*") if p.is_dir())]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir() and path != xdg:
            assert mode == 0o700, (path, oct(mode))
        elif path.is_file():
            assert mode == 0o600, (path, oct(mode))


def test_every_file_holding_the_canary_is_judged_secret(tmp_path: Path) -> None:
    from preflight.discover import discover

    root = write_files(tmp_path / "repo", CANARY_FILES)
    holding = [s for s in discover(root).files if CANARY in s.text]
    assert len(holding) == sum(CANARY in str(v) for v in CANARY_FILES.values())
    for source in holding:
        assert may_hold_secret(source.kind.value, source.text), source.path


# -- Low: a warm run keeps nothing it does not need -------------------------------------------


def test_a_warm_run_keeps_no_encoded_copy_and_rewrites_nothing(xdg: Path, repo: Path) -> None:
    check(repo)
    target = cache_path(xdg, repo)
    before = target.stat()
    from preflight.discover import discover
    from preflight.parse.python import worth_parsing
    from preflight.parse.run import PARSERS

    jobs = [  # what build_project parses
        (s.kind.value, s.path, s.text)
        for s in discover(repo).files
        if s.kind.value in PARSERS and (s.kind.value != "python" or worth_parsing(s.text))
    ]
    cache = ParseCache(repo)
    cache.parse(jobs, 1)
    assert cache.hits == len(jobs) > 0
    assert cache._kept == {} and not cache.dirty  # decoded, the encoded form dropped
    cache.save()
    after = target.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_stale_entries_are_dropped(xdg: Path, repo: Path) -> None:
    (repo / "app" / "extra.py").write_text("from fastapi import APIRouter\nrouter = APIRouter()\n")
    check(repo)
    assert b"app/extra.py" in cache_path(xdg, repo).read_bytes()
    (repo / "app" / "extra.py").unlink()
    check(repo)
    assert b"app/extra.py" not in cache_path(xdg, repo).read_bytes()


def test_judged_secret_files() -> None:
    secret = [
        ("env-example", "A=1\n"),
        ("yaml", "kind: Secret\n"),
        ("python", 'URL = "postgresql://u:p@h/db"\n'),
        ("python", 'X = "https://tok@github.com/o/r"\n'),
        ("dockerfile", "ENV DB_PASS=x\n"),
        ("dockerfile", "ENV SIGNING_KEY x\n"),
        ("compose", "environment: {PASS: x}\n"),
        ("requirements", "--extra-index-url https://u:p@h/simple\n"),
    ]
    for kind, text in secret:
        assert may_hold_secret(kind, text), (kind, text)
    plain = [
        ("python", "from fastapi import FastAPI\napp = FastAPI()\n\ndef f():\n    pass\n"),
        ("requirements", "git+https://github.com/o/r@v1.0\nfastapi\n"),
        ("dockerfile", PKG001_DOCKERFILE),
        ("python", "id: Mapped[int] = mapped_column(primary_key=True)\n"),
    ]
    for kind, text in plain:
        assert not may_hold_secret(kind, text), (kind, text)


def test_a_cache_written_by_other_parser_code_is_ignored(
    xdg: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edited parser (editable installs, development) must not be served its old results,
    though the version number is the same: the parsers' code stamp is in the header."""
    check(repo)
    write_private(cache_path(xdg, repo), forge(xdg, repo, no_stages_entry()))
    assert codes(check(repo)) == []  # control: the forged cache is read while the code is the same
    write_private(cache_path(xdg, repo), forge(xdg, repo, no_stages_entry()))
    monkeypatch.setattr(cache_module, "_parsers_stamp", lambda: "edited-parser")
    assert codes(check(repo)) == [("PKG001", "docker/Dockerfile", 7)]
