"""--jobs gives the same answer as one process; the parse cache is signed, fresh and optional.

(The cache's hardening against hostile repositories: tests/robustness/test_hardening_cache.py.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES
from preflight.cli import main
from preflight.config import Config
from preflight.engine import run


def many_services(root: Path, count: int) -> Path:
    for index in range(count):
        shutil.copytree(FIXTURES / "pkg001-gunicorn-missing", root / f"svc{index:03}")
        for extra in range(3):
            (root / f"svc{index:03}" / "app" / f"mod{extra}.py").write_text(
                "from fastapi import APIRouter\nrouter = APIRouter()\n"
            )
    return root


def keys(result: object) -> list[tuple[str, str, int, int, str]]:
    return [(f.code, f.span.path, f.span.line, f.span.col, f.message) for f in result.findings]  # type: ignore[attr-defined]


def test_jobs_give_identical_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import preflight.parse.run as parse_run

    monkeypatch.setattr(parse_run, "POOL_THRESHOLD", 10)  # make the pool engage on a small tree
    root = many_services(tmp_path / "repo", 12)
    one = run(root, ".", Config(), workers=1)
    four = run(root, ".", Config(), workers=4)
    assert keys(one) == keys(four)
    assert len(one.findings) == 12


def test_cache_is_reused_and_gives_identical_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    root = many_services(tmp_path / "repo", 3)
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    first = run(root, ".", Config(), use_cache=True)
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before  # nothing in the repo
    from preflight.cache import ParseCache, cache_name
    from preflight.model.link import build_project

    assert (tmp_path / "home-cache" / "preflight" / "parse" / cache_name(root)).is_file()
    cache = ParseCache(root)
    from preflight.discover import discover

    build_project(discover(root), ".", 1, cache)
    assert cache.hits > 0  # written, signed and read back
    second = run(root, ".", Config(), use_cache=True)
    assert keys(first) == keys(second)
    (root / "svc000" / "pyproject.toml").write_text(
        (root / "svc000" / "pyproject.toml")
        .read_text()
        .replace('"fastapi>=0.115",', '"fastapi>=0.115", "gunicorn",')
    )
    third = run(root, ".", Config(), use_cache=True)
    assert len(third.findings) == 2  # the edited file was re-parsed, not served stale


def test_tampered_cache_is_ignored_not_unpickled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pickle

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    root = many_services(tmp_path / "repo", 1)
    sentinel = tmp_path / "pwned"

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (open, (str(sentinel), "w"))

    (root / ".preflight_cache").mkdir()
    (root / ".preflight_cache" / "parse-v1.bin").write_bytes(b"\0" * 32 + pickle.dumps(Evil()))
    result = run(root, ".", Config(), use_cache=True)
    assert not sentinel.exists()
    assert len(result.findings) == 1


def test_no_cache_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    root = many_services(tmp_path / "repo", 1)
    with pytest.raises(SystemExit):
        main(["check", "-q", "--no-cache", str(root)])
    assert not home.exists()
    with pytest.raises(SystemExit):
        main(["check", "-q", "--jobs", "2", str(root)])
    assert list((home / "preflight" / "parse").iterdir())
    assert not (root / ".preflight_cache").exists()  # never in the checked repository
    capsys.readouterr()
