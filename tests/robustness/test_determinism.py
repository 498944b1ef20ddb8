"""Determinism and paths: byte-identical output whatever the file-system order or working
directory; forward slashes; a missing path or a file path is exit 2 with one clear line."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest

import preflight.discover
from preflight.cli import main

from ._support import FIXTURES, measure, preflight_env, write_files

FORMATS = ["text", "json", "sarif", "github", "junit", "gitlab"]
TREES = ["reference-service", "malformed-files", "pkg001-k8s-command", "env005-committed-secret"]


def _copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / "trees" / name
    shutil.copytree(FIXTURES / name, target, ignore=shutil.ignore_patterns(".preflight_cache"))
    return target


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), out, err


@pytest.mark.parametrize("tree", TREES)
@pytest.mark.parametrize("output_format", FORMATS)
def test_output_does_not_depend_on_file_system_order(
    tree: str,
    output_format: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = _copy(tree, tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    args = [
        "check",
        "--no-cache",
        "--jobs",
        "1",
        "--no-color",
        "--format",
        output_format,
        str(root),
    ]
    reference = _run(capsys, *args)
    real_scandir = os.scandir

    for seed in range(3):
        rng = random.Random(seed)

        def shuffled(path: object, _rng: random.Random = rng) -> object:
            with real_scandir(path) as iterator:  # type: ignore[call-overload]
                entries = list(iterator)
            _rng.shuffle(entries)
            entries.reverse() if _rng.random() < 0.5 else None
            return iter(entries)

        monkeypatch.setattr(preflight.discover.os, "scandir", shuffled)
        assert _run(capsys, *args) == reference, f"seed {seed}"
    monkeypatch.setattr(preflight.discover.os, "scandir", real_scandir)


@pytest.mark.parametrize("tree", TREES[:2])
def test_jobs_and_cache_do_not_change_the_output(tree: str, tmp_path: Path) -> None:
    root = _copy(tree, tmp_path)
    env = preflight_env(tmp_path)
    runs = [
        measure(["check", "--format", "json", "--jobs", "1", "--no-cache", str(root)], env=env),
        measure(["check", "--format", "json", "--jobs", "2", str(root)], env=env),
        measure(["check", "--format", "json", "--jobs", "2", str(root)], env=env),  # cache hit
    ]
    assert {(r.code, r.stdout) for r in runs} == {(runs[0].code, runs[0].stdout)}


def _normalise(text: str, root: str) -> str:
    """Paths are printed as the root given + "/" + the relative path; "." prints them bare."""
    if root in (".", ""):
        return text
    return text.replace(root + "/", "")


@pytest.mark.parametrize("tree", TREES)
@pytest.mark.parametrize("output_format", FORMATS)
def test_output_does_not_depend_on_the_working_directory(
    tree: str,
    output_format: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = _copy(tree, tmp_path).resolve()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    elsewhere = tmp_path / "elsewhere" / "deeper"
    elsewhere.mkdir(parents=True)
    ways = [
        (str(root), elsewhere),  # absolute
        (".", root),  # the root itself
        (f"trees/{tree}", tmp_path),  # relative
        (os.path.relpath(root, elsewhere), elsewhere),  # ../../trees/x
        (str(root) + "/", elsewhere),  # trailing slash
    ]
    outputs = set()
    for given, cwd in ways:
        monkeypatch.chdir(cwd)
        code, out, err = _run(
            capsys,
            "check",
            "--no-cache",
            "--jobs",
            "1",
            "--no-color",
            "--format",
            output_format,
            given,
        )
        assert code in (0, 1), err
        assert "\\" not in out.replace("\\n", "").replace('\\"', ""), out
        outputs.add((code, _normalise(out, Path(given).as_posix())))
    assert len(outputs) == 1, "\n=====\n".join(out for _, out in outputs)


def test_paths_use_forward_slashes_and_are_relative(tmp_path: Path) -> None:
    from preflight.config import Config
    from preflight.engine import run

    root = _copy("malformed-files", tmp_path)
    result = run(root, "repo", Config())
    assert result.findings
    for finding in result.findings:
        for span in (finding.span, *(r.span for r in finding.related)):
            assert "\\" not in span.path and not span.path.startswith(("/", "./")), span
            assert (root / span.path).is_file(), span


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda t: t / "missing", "does not exist"),
        (lambda t: write_files(t, {"Dockerfile": "FROM x\n"}) / "Dockerfile" / "x", "not exist"),
    ],
    ids=["missing", "below-a-file"],
)
def test_bad_path_argument_is_exit_2_with_one_line(
    tmp_path: Path, make: object, message: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    for args in (["check", str(path)], ["check", "--format", "json", str(path)]):
        result = measure(args, env=preflight_env(tmp_path))
        assert result.code == 2, str(result)
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr, lines
        assert str(path) in lines[0]


def test_fifo_path_argument_is_exit_2(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = measure(["check", str(fifo)], env=preflight_env(tmp_path))
    assert result.code == 2 and not result.timed_out, str(result)
    assert len(result.stderr.strip().splitlines()) == 1
