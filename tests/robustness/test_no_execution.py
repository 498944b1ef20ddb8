"""Nothing in the checked tree is executed: every command and format runs over planted code
that would write a sentinel file and open a socket if imported, executed or unpickled."""

from __future__ import annotations

import pickle
import socket
from pathlib import Path

import pytest

from preflight.cli import main

from ._support import assert_clean_exit, measure, pkg001_tree, preflight_env, write_files

FORMATS = ["text", "json", "sarif", "github", "junit", "gitlab"]


def _payload(sentinel: Path, tag: str) -> str:
    return f"""\
import os, socket
open({str(sentinel)!r} + "-{tag}", "w").write("executed")
try:
    socket.create_connection(("127.0.0.1", 9), timeout=0.2)
except OSError:
    pass
os.system("touch " + {str(sentinel)!r} + "-{tag}-system")
"""


class _Evil:
    def __init__(self, sentinel: str) -> None:
        self.sentinel = sentinel

    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return (os.system, (f"touch {self.sentinel}-pickle",))


def _plant(root: Path, sentinel: Path) -> Path:
    files: dict[str, str | bytes] = dict(pkg001_tree())
    # Trigger words (FastAPI, BaseSettings, create_engine, environ) make preflight parse them.
    trigger = "from fastapi import FastAPI  # BaseSettings create_engine environ getenv\n"
    for name in (
        "app/__init__.py", "app/settings.py", "app/db.py", "conftest.py", "setup.py",
        "sitecustomize.py", "usercustomize.py", "gunicorn.conf.py", "app/__main__.py",
        "tests/conftest.py", "manage.py", "noxfile.py",
    ):  # fmt: skip
        files[name] = trigger + _payload(sentinel, name.replace("/", "_"))
    files["evil.pth"] = f"import os; open({str(sentinel)!r} + '-pth', 'w').write('x')\n"
    files["app/main.py"] = (
        pkg001_tree()["app/main.py"]  # type: ignore[operator]
        + "\nimport app.settings\n"
        + _payload(sentinel, "main")
    )
    files["requirements.txt"] = "-e .\n./evil-pkg\nfastapi\n"
    files["scripts/entrypoint.sh"] = f"#!/bin/sh\ntouch {sentinel}-sh\n"
    files["Makefile"] = f"all:\n\ttouch {sentinel}-make\n"
    write_files(root, files)
    cache = root / ".preflight_cache"
    cache.mkdir()
    blob = pickle.dumps(("0", {"x": _Evil(str(sentinel))}))
    (cache / "parse-v1.bin").write_bytes(b"\0" * 32 + blob)  # a forged, unsigned cache
    return root


def _sentinels(sentinel: Path) -> list[str]:
    return sorted(p.name for p in sentinel.parent.glob(sentinel.name + "*"))


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Path, Path]:
    sentinel = tmp_path / "out" / "SENTINEL"
    sentinel.parent.mkdir()
    return _plant(tmp_path / "repo", sentinel), sentinel


def test_every_command_and_format_executes_nothing(
    planted: tuple[Path, Path], tmp_path: Path
) -> None:
    root, sentinel = planted
    env = preflight_env(tmp_path)
    commands: list[list[str]] = [
        ["check", "--format", fmt, "--verbose", "--statistics", str(root)] for fmt in FORMATS
    ]
    commands += [
        ["check", "--write-baseline", str(tmp_path / "baseline.json"), str(root)],
        ["check", "--baseline", str(tmp_path / "baseline.json"), str(root)],
        ["check", "--jobs", "2", "--no-cache", str(root)],
        ["rules"],
        ["rules", "--format", "json"],
        ["explain", "PKG001"],
        ["explain", "PF001"],
    ]
    for args in commands:
        result = measure(args, env=env, cwd=root)
        assert_clean_exit(result)
        assert _sentinels(sentinel) == [], (args, _sentinels(sentinel))
    assert _sentinels(sentinel) == []


def test_check_attempts_no_network_connection(
    planted: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, sentinel = planted
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise AssertionError(f"preflight tried to connect to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: refuse(None, a))  # type: ignore[arg-type]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    for fmt in FORMATS:
        with pytest.raises(SystemExit) as exited:
            main(["check", "--jobs", "1", "--format", fmt, str(root)])
        assert exited.value.code in (0, 1), capsys.readouterr()
    capsys.readouterr()
    assert attempts == []
    assert _sentinels(sentinel) == []
