"""Run records (preflight.runcache): a run over an unchanged tree reports the last run's result
without reading a file, and any change to what preflight reads makes it run again."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

import preflight.engine as engine
import preflight.parse.run as parse_run
from conftest import FIXTURES, REPO, write_tree
from preflight.config import Config
from preflight.result import Result

PKG001 = FIXTURES / "pkg001-gunicorn-missing"


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cache-home"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return Path(shutil.copytree(PKG001, tmp_path / "repo"))


class Built:
    """Counts the runs that went past the record (parsed, linked and ran the rules)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = engine.build

        def counting(*args: object, **kwargs: object) -> object:
            self.count += 1
            return real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(engine, "build", counting)


def check(root: Path, config: Config | None = None, **kwargs: object) -> Result:
    return engine.run(root, ".", config or Config(), use_cache=True, **kwargs)  # type: ignore[arg-type]


def shown(result: Result) -> list[object]:
    """Everything a reporter prints of a result (notes aside: a reused result says so)."""
    return [
        [
            (f.code, f.severity, f.span, f.message, f.related, f.fix, f.fingerprint, f.autofix)
            for f in result.findings
        ],
        result.sources,
        result.files_checked,
        result.suppressed,
        result.suppressions,
        result.deployable,
        [rule.code for rule in result.rules],
    ]


def records(xdg: Path) -> list[Path]:
    return sorted((xdg / "preflight" / "parse").glob("*.run"))


def test_an_unchanged_tree_reports_the_recorded_result_without_building(
    xdg: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = Built(monkeypatch)
    first = check(repo)
    assert built.count == 1 and len(records(xdg)) == 1
    second = check(repo)
    assert built.count == 1  # nothing parsed, linked or checked
    assert shown(second) == shown(first)
    assert [f.code for f in second.findings] == ["PKG001"]
    assert any("run record" in note for note in second.notes)


def test_an_edit_a_new_file_or_a_removed_one_runs_again(
    xdg: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = Built(monkeypatch)
    check(repo)
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"fastapi', '"gunicorn", "fastapi', 1))
    assert check(repo).findings == [] and built.count == 2
    (repo / "app" / "extra.py").write_text("import os\n")
    check(repo)
    assert built.count == 3
    (repo / "app" / "extra.py").unlink()
    check(repo)
    assert built.count == 4
    check(repo)
    assert built.count == 4


def test_an_edit_that_keeps_size_and_mtime_is_still_seen(
    xdg: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Racily clean: the file was modified just before the recorded walk, so a second edit in
    the same timestamp tick (same size, same mtime) is looked for by content."""
    built = Built(monkeypatch)
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text())  # modified now, just before the walk
    before = os.stat(pyproject)
    assert [f.code for f in check(repo).findings] == ["PKG001"]
    text = pyproject.read_text()
    edited = text.replace("sqlalchemy>=2.0", "gunicorn>=2.0.0", 1)  # the same length
    assert len(edited) == len(text) and edited != text
    pyproject.write_text(edited)
    os.utime(pyproject, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(pyproject)
    same = (after.st_size, after.st_mtime_ns, after.st_ino, after.st_mode)
    assert same == (before.st_size, before.st_mtime_ns, before.st_ino, before.st_mode)
    assert check(repo).findings == []  # gunicorn is declared now
    assert built.count == 2


def test_a_touch_keeps_the_record(xdg: Path, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = Built(monkeypatch)
    first = check(repo)
    later = time.time() + 10
    for path in repo.rglob("*"):
        if path.is_file():
            os.utime(path, (later, later))
    second = check(repo)
    assert built.count == 1 and shown(second) == shown(first)
    check(repo)  # the record now holds the new stats: still no build
    assert built.count == 1


def test_another_configuration_or_selection_is_another_record(
    xdg: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = Built(monkeypatch)
    check(repo)
    assert check(repo, Config(ignore=("PKG001",))).findings == []
    assert engine.run(repo, ".", Config(), ["DB"], use_cache=True).findings == []
    assert built.count == 3
    assert [f.code for f in check(repo).findings] == ["PKG001"]
    assert built.count == 3


def test_a_record_not_signed_with_the_users_key_is_ignored(
    xdg: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = Built(monkeypatch)
    check(repo)
    (record,) = records(xdg)
    body, _, mac = record.read_bytes().rpartition(b"\n")
    data = json.loads(body)
    data["result"]["m"]["findings"] = []  # a forged "all clear"
    record.write_bytes(json.dumps(data).encode() + b"\n" + mac)
    assert [f.code for f in check(repo).findings] == ["PKG001"]
    assert built.count == 2


def test_no_record_holds_a_secret_value(xdg: Path, tmp_path: Path) -> None:
    secret = "s3cr3t-Vh7Qp2Lw9Zx4"
    root = write_tree(
        tmp_path / "svc",
        {
            "Dockerfile": 'FROM python:3.12-slim\nCMD ["uvicorn", "app:app"]\n',
            "k8s/secret.yaml": f"""
                apiVersion: v1
                kind: Secret
                metadata:
                  name: app
                stringData:
                  DATABASE_PASSWORD: {secret}
                  SECRET_KEY: {secret}
            """,
            ".env.example": f"SECRET_KEY={secret}\n",
        },
    )
    result = check(root)
    assert result.findings  # the committed secret is reported (redacted)
    assert check(root).findings == result.findings
    assert records(xdg)
    for path in (xdg / "preflight").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def _fixture_roots() -> list[Path]:
    return sorted(p for p in FIXTURES.iterdir() if p.is_dir())


def _generated_tree(tmp_path: Path) -> Path:
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from generate import generate
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    root = tmp_path / "generated"
    generate(root, 3, 7)
    return root


def _all_ways(root: Path, xdg: Path, monkeypatch: pytest.MonkeyPatch) -> list[list[object]]:
    """One tree checked without a cache and one process, with a parser pool, with a cold cache,
    from its run record, and from the parse cache alone (the record gone)."""
    config = Config()
    out = [shown(engine.run(root, ".", config, workers=1, use_cache=False))]
    with monkeypatch.context() as patch:
        patch.setattr(parse_run, "POOL_THRESHOLD", 1)
        out.append(shown(engine.run(root, ".", config, workers=2, use_cache=False)))
    shutil.rmtree(xdg, ignore_errors=True)
    out.append(shown(engine.run(root, ".", config, workers=1, use_cache=True)))
    out.append(shown(engine.run(root, ".", config, workers=2, use_cache=True)))
    for record in records(xdg):
        record.unlink()
    out.append(shown(engine.run(root, ".", config, workers=1, use_cache=True)))
    return out


def test_every_fixture_gives_one_result_with_and_without_cache_and_jobs(
    xdg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    roots = _fixture_roots()
    assert len(roots) > 100
    for root in roots:
        ways = _all_ways(root, xdg, monkeypatch)
        assert all(way == ways[0] for way in ways[1:]), root.name


def test_a_generated_tree_gives_one_result_with_and_without_cache_and_jobs(
    tmp_path: Path, xdg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _generated_tree(tmp_path)
    ways = _all_ways(root, xdg, monkeypatch)
    assert all(way == ways[0] for way in ways[1:])
    assert ways[0][2] > 100  # files checked: the tree is really there
