"""Hostile trees: each `preflight check` ends with peak RSS < 300 MB, exit 0 or 1.

Every case runs preflight as a subprocess (``python -m preflight check --verbose``) and measures
it with ``os.wait4`` (peak RSS of the process). A case that runs away is killed (its process
group, by id) after a generous hang guard, so a hang fails the test instead of the suite; the
wall time is printed for whoever reads the log, never asserted.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from preflight.discover import discover

from ._support import (
    Measured,
    assert_clean_exit,
    assert_within_bounds,
    measure,
    pkg001_tree,
    preflight_env,
    write_files,
)

TIMINGS: dict[str, str] = {}


def check(root: Path, tmp_path: Path, *extra: str) -> Measured:
    result = measure(
        ["check", "--verbose", "--no-color", *extra, str(root)],
        env=preflight_env(tmp_path),
    )
    print(f"{root.name}: {result.wall:.2f} s, {result.rss_mb:.0f} MB, exit {result.code}")
    return result


def attack(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    return write_files(tmp_path / "repo", {**pkg001_tree(), **files})


def assert_pkg001(result: Measured) -> None:
    assert "docker/Dockerfile:7:" in result.stdout and "PKG001" in result.stdout, str(result)


def _bomb() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(f"  {line}" for line in lines) + "\n"


def test_yaml_alias_bomb_in_a_manifest(tmp_path: Path) -> None:
    root = attack(
        tmp_path,
        {
            "k8s/bomb.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n"
            + _bomb()
        },
    )
    result = check(root, tmp_path)
    assert_clean_exit(result)
    assert_within_bounds(result)
    assert "k8s/bomb.yaml:1:1: PF001" in result.stdout and "aliases" in result.stdout
    assert_pkg001(result)


def test_yaml_alias_bomb_in_compose(tmp_path: Path) -> None:
    root = attack(
        tmp_path, {"compose.yaml": "services:\n  web:\n    image: x\nx-bomb:\n" + _bomb()}
    )
    result = check(root, tmp_path)
    assert_clean_exit(result)
    assert_within_bounds(result)
    assert "compose.yaml:1:1: PF001" in result.stdout and "aliases" in result.stdout
    assert_pkg001(result)


def test_yaml_merge_key_chain_short(tmp_path: Path) -> None:
    body = "".join(f"a{i}: &a{i}\n  <<: *a{i - 1}\n  k{i}: v\n" for i in range(1, 100))
    root = attack(
        tmp_path, {"k8s/merge.yaml": "apiVersion: v1\nkind: ConfigMap\na0: &a0 {k: v}\n" + body}
    )
    result = check(root, tmp_path)
    assert_clean_exit(result)
    assert_within_bounds(result)
    assert_pkg001(result)


def test_yaml_merge_key_chain(tmp_path: Path) -> None:
    body = "".join(f"a{i}: &a{i}\n  <<: *a{i - 1}\n  k{i}: v\n" for i in range(1, 6000))
    root = attack(
        tmp_path, {"k8s/merge.yaml": "apiVersion: v1\nkind: ConfigMap\na0: &a0 {k: v}\n" + body}
    )
    result = check(root, tmp_path)
    assert_clean_exit(result)
    assert_within_bounds(result)
    assert_pkg001(result)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("data: " + "[" * 100_000 + "]" * 100_000 + "\n", id="flow-sequences"),
        pytest.param("data: " + "{a: " * 100_000 + "1" + "}" * 100_000 + "\n", id="flow-maps"),
        pytest.param("data:\n" + "- " * 100_000 + "1\n", id="block-sequences"),
        pytest.param("data: &a\n  x: *a\n", id="self-alias"),
    ],
)
def test_yaml_nested_100000_deep(tmp_path: Path, body: str) -> None:
    root = attack(tmp_path, {"k8s/deep.yaml": "apiVersion: v1\nkind: ConfigMap\n" + body})
    result = check(root, tmp_path)
    assert_clean_exit(result)
    assert_within_bounds(result)
    assert "k8s/deep.yaml:" in result.stdout and "PF001" in result.stdout, str(result)
    assert_pkg001(result)


def test_yaml_file_of_50_mb_is_skipped_with_a_note(tmp_path: Path) -> None:
    root = attack(tmp_path, {})
    line = "  key: " + "v" * 90 + "\n"
    with (_mkdir(root / "k8s") / "big.yaml").open("w") as handle:
        handle.write("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n")
        handle.write(line * (50 * 1024 * 1024 // len(line)))
    assert (root / "k8s" / "big.yaml").stat().st_size >= 50 * 1024 * 1024 - 100
    result = check(root, tmp_path)
    assert_clean_exit(result)
    assert_within_bounds(result)
    assert "note: k8s/big.yaml: skipped (larger than the size cap" in result.stdout, str(result)
    assert_pkg001(result)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _big_toml(head: str) -> str:
    filler = "".join(f'k{i} = "{"v" * 20}"\n' for i in range(50 * 1024 * 1024 // 32))
    return head + "\n[tool.junk]\n" + filler


def test_pyproject_of_50_mb_is_bounded(tmp_path: Path) -> None:
    root = attack(tmp_path, {"pyproject.toml": _big_toml(pkg001_tree()["pyproject.toml"])})  # type: ignore[arg-type]
    result = check(root, tmp_path)
    assert_clean_exit(result)
    assert_within_bounds(result)
    assert "note: pyproject.toml: skipped (larger than the size cap" in result.stdout


@pytest.mark.parametrize("opener", ["(", "["])
def test_python_with_100000_nested_brackets(tmp_path: Path, opener: str) -> None:
    closer = {"(": ")", "[": "]"}[opener]
    source = "from fastapi import FastAPI\n\nx = " + opener * 100_000 + closer * 100_000 + "\n"
    root = attack(tmp_path, {"app/deep.py": source})
    result = check(root, tmp_path)
    assert_clean_exit(result)
    assert_within_bounds(result)
    assert "app/deep.py:" in result.stdout and "PF001" in result.stdout, str(result)
    assert_pkg001(result)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("x = " + "-" * 100_000 + "1", id="unary"),
        pytest.param("x = " + "+".join(["a"] * 100_000), id="binop"),
        pytest.param("x = a" + ".b" * 100_000, id="attributes"),
        pytest.param("x = f" + "()" * 100_000, id="calls"),
    ],
)
def test_python_deep_expressions(tmp_path: Path, body: str) -> None:
    root = attack(tmp_path, {"app/deep.py": "from fastapi import FastAPI\n" + body + "\n"})
    result = check(root, tmp_path)
    assert_clean_exit(result)
    assert_within_bounds(result)
    assert "app/deep.py:" in result.stdout and "PF001" in result.stdout, str(result)
    assert_pkg001(result)


def test_long_line_in_a_file_with_a_finding(tmp_path: Path) -> None:
    root = attack(tmp_path, {})
    dockerfile = root / "docker" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "# " + "a" * 200_000 + "\n")
    result = check(root, tmp_path)
    assert_clean_exit(result)
    assert_within_bounds(result)
    assert_pkg001(result)


def test_manifest_of_10000_documents(tmp_path: Path) -> None:
    docs = "".join(
        f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\ndata:\n  K: v\n"
        for i in range(10_000)
    )
    root = attack(tmp_path, {"k8s/many.yaml": docs})
    result = check(root, tmp_path)
    assert_clean_exit(result)
    assert_within_bounds(result)
    assert_pkg001(result)


def test_manifest_of_10000_deployments(tmp_path: Path) -> None:
    docs = "".join(
        f"---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d{i}\nspec:\n"
        f"  template:\n    spec:\n      containers:\n        - name: web\n          image: x\n"
        f"          command: [gunicorn, app:app]\n"
        for i in range(10_000)
    )
    root = attack(tmp_path, {"k8s/many.yaml": docs})
    result = check(root, tmp_path)
    assert_clean_exit(result)
    assert_within_bounds(result)


@pytest.mark.parametrize(
    ("name", "content", "note"),
    [
        ("Dockerfile.nul", b"FROM python\x00\nCMD x\n", "binary or not UTF-8"),
        ("k8s/invalid.yaml", b"apiVersion: v1\nkind: ConfigMap\n# caf\xe9 \xff\xfe\n", "not UTF-8"),
        ("app/utf16.py", "from fastapi import FastAPI\n".encode("utf-16"), "not UTF-8"),
    ],
    ids=["nul", "invalid-utf8", "utf16"],
)
def test_undecodable_files_are_skipped_with_a_note(
    tmp_path: Path, name: str, content: bytes, note: str
) -> None:
    root = attack(tmp_path, {name: content})
    result = check(root, tmp_path)
    assert_clean_exit(result)
    assert_within_bounds(result)
    assert f"note: {name}: skipped (" in result.stdout and note in result.stdout, str(result)
    assert_pkg001(result)


def test_nul_byte_after_the_first_8_kib(tmp_path: Path) -> None:
    root = attack(
        tmp_path, {"k8s/late.yaml": b"apiVersion: v1\nkind: ConfigMap\n" + b"#" * 9000 + b"\x00\n"}
    )
    result = check(root, tmp_path)
    assert_clean_exit(result)
    assert_within_bounds(result)
    assert_pkg001(result)


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda t: b"\xef\xbb\xbf" + t.encode(), id="bom"),
        pytest.param(lambda t: t.replace("\n", "\r\n").encode(), id="crlf"),
        pytest.param(lambda t: b"\xef\xbb\xbf" + t.replace("\n", "\r\n").encode(), id="bom-crlf"),
        pytest.param(lambda t: t.replace("\n", "\r").encode(), id="cr"),
    ],
)
def test_bom_and_line_endings_keep_findings_and_locations(tmp_path: Path, encode: object) -> None:
    tree = pkg001_tree()
    files = {name: encode(text) for name, text in tree.items()}  # type: ignore[operator,arg-type]
    root = write_files(tmp_path / "repo", files)
    result = check(root, tmp_path)
    assert_clean_exit(result)
    assert_within_bounds(result)
    assert "docker/Dockerfile:7:7: PKG001" in result.stdout, str(result)
    assert "\r" not in result.stdout


def test_symlink_loops(tmp_path: Path) -> None:
    root = attack(tmp_path, {})
    os.symlink("b.yaml", root / "a.yaml")
    os.symlink("a.yaml", root / "b.yaml")
    os.symlink("Dockerfile.self", root / "Dockerfile.self")
    os.symlink(".", root / "here")
    os.symlink("..", root / "app" / "up")
    os.symlink(str(root), root / "app" / "root")
    result = check(root, tmp_path)
    assert_clean_exit(result)
    assert_within_bounds(result)
    assert_pkg001(result)
    assert result.stdout.count(": PKG001 ") == 1, str(result)


def test_symlink_loop_gets_a_note(tmp_path: Path) -> None:
    root = attack(tmp_path, {})
    os.symlink("Dockerfile.self", root / "Dockerfile.self")
    result = check(root, tmp_path)
    assert_clean_exit(result)
    assert "note: Dockerfile.self: skipped" in result.stdout, str(result)


def test_symlink_outside_the_root_is_not_followed(tmp_path: Path) -> None:
    outside = write_files(
        tmp_path / "outside",
        {
            "Dockerfile": 'FROM python\nCMD ["outside-binary"]\n',
            "svc/Dockerfile": 'FROM python\nCMD ["outside-dir-binary"]\n',
        },
    )
    root = attack(tmp_path, {})
    os.symlink(outside / "Dockerfile", root / "Dockerfile")
    os.symlink(outside / "svc", root / "svc")
    os.symlink("../../outside/Dockerfile", root / "docker" / "Dockerfile.rel")
    result = check(root, tmp_path)
    assert_clean_exit(result)
    assert_within_bounds(result)
    assert (
        "note: Dockerfile: skipped (symlink that points outside the checked root)" in result.stdout
    )
    assert "note: docker/Dockerfile.rel: skipped (symlink that points outside" in result.stdout
    assert "outside-binary" not in result.stdout and "outside-dir-binary" not in result.stdout
    assert_pkg001(result)


def test_fifos_do_not_block(tmp_path: Path) -> None:
    root = attack(tmp_path, {})
    for name in ("Dockerfile.fifo", "app/fifo.py", "k8s.yaml", ".env.example", "Procfile"):
        os.mkfifo(root / name)
    result = check(root, tmp_path)
    assert_clean_exit(result)
    assert_within_bounds(result)
    assert_pkg001(result)


def test_fifo_configuration_files_do_not_block(tmp_path: Path) -> None:
    root = write_files(tmp_path / "repo", {"docker/Dockerfile": 'FROM python\nCMD ["x"]\n'})
    os.mkfifo(root / "pyproject.toml")
    os.mkfifo(root / "preflight.toml")
    result = check(root, tmp_path)
    assert_clean_exit(result)
    assert_within_bounds(result)


def test_fifo_gets_a_note(tmp_path: Path) -> None:
    root = attack(tmp_path, {})
    os.mkfifo(root / "Dockerfile.fifo")
    result = check(root, tmp_path)
    assert_clean_exit(result)
    assert "note: Dockerfile.fifo: skipped" in result.stdout, str(result)


def test_unreadable_file_subprocess(tmp_path: Path) -> None:
    """chmod 000: exit 0/1 in bounds. As root the file stays readable (see the next test)."""
    root = attack(tmp_path, {"k8s/secret.yaml": "apiVersion: v1\nkind: ConfigMap\n"})
    (root / "k8s" / "secret.yaml").chmod(0)
    try:
        result = check(root, tmp_path)
    finally:
        (root / "k8s" / "secret.yaml").chmod(0o644)
    assert_clean_exit(result)
    assert_within_bounds(result)
    assert_pkg001(result)
    if os.geteuid() != 0:
        assert "note: k8s/secret.yaml: skipped (" in result.stdout, str(result)


def _unreadable(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make one file unreadable even for root: opening it raises EACCES as chmod 000 would."""
    real = os.open

    def opening(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if os.path.basename(os.fspath(path)) == name:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", opening)


def test_unreadable_file_is_noted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = attack(tmp_path, {"k8s/secret.yaml": "apiVersion: v1\nkind: ConfigMap\n"})
    _unreadable(monkeypatch, "secret.yaml")
    inventory = discover(root)
    assert "k8s/secret.yaml" in dict(inventory.skipped)
    assert "docker/Dockerfile" in [f.path for f in inventory.files]


def test_unreadable_file_note_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = attack(tmp_path, {"k8s/secret.yaml": "apiVersion: v1\nkind: ConfigMap\n"})
    _unreadable(monkeypatch, "secret.yaml")
    reason = dict(discover(root).skipped)["k8s/secret.yaml"]
    assert "binary" not in reason and ("read" in reason or "permission" in reason.lower())


def test_directory_of_100000_empty_files(tmp_path: Path) -> None:
    root = attack(tmp_path, {})
    many = _mkdir(root / "many")
    for index in range(100_000):
        (many / f"m{index}.py").touch()
    result = check(root, tmp_path)
    assert_clean_exit(result)
    assert_within_bounds(result)
    assert_pkg001(result)


@pytest.mark.parametrize("output_format", ["text", "json", "sarif", "github", "junit", "gitlab"])
def test_non_utf8_file_name(tmp_path: Path, output_format: str) -> None:
    root = attack(tmp_path, {})
    (root / os.fsdecode(b"app/bad\xfe.py")).write_text("from fastapi import FastAPI\ndef (:\n")
    result = check(root, tmp_path, "--format", output_format)
    assert_clean_exit(result)
    assert "PKG001" in result.stdout, str(result)
