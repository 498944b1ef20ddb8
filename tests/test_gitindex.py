"""The git index read in Python (never by running git on the checked repository), and what
discover records about shell scripts: CR LF line endings and the executable bit."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from conftest import write_tree
from preflight.discover import discover
from preflight.gitindex import parse_index, tracked_modes

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(root: Path, *args: str) -> str:
    """The test's own git, on a repository the test made (never on a checked one)."""
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_SYSTEM": os.devnull,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    done = subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def repository(root: Path, version: int | None = None) -> Path:
    write_tree(
        root,
        {
            "run.sh": '#!/bin/sh\nexec "$@"\n',
            "plain.sh": "#!/bin/sh\n",
            "services/api/start.sh": "#!/bin/sh\n",
            "README.md": "x\n",
        },
    )
    (root / "run.sh").chmod(0o755)
    git(root, "init", "-q")
    git(root, "add", ".")
    if version is not None:
        git(root, "update-index", "--index-version", str(version))
    return root


@needs_git
@pytest.mark.parametrize("version", [2, 3, 4])
def test_modes_as_git_records_them(tmp_path: Path, version: int) -> None:
    root = repository(tmp_path, version)
    if version == 3:
        (root / "new.sh").write_text("#!/bin/sh\n", encoding="utf-8")
        git(root, "add", "-N", "new.sh")  # intent-to-add: an entry with extended flags
    modes = tracked_modes(root)
    assert modes is not None
    expected = {
        "run.sh": True,
        "plain.sh": False,
        "services/api/start.sh": False,
        "README.md": False,
    }
    if version == 3:
        expected["new.sh"] = False
    assert modes.executable == expected


@needs_git
def test_a_subdirectory_sees_paths_relative_to_itself(tmp_path: Path) -> None:
    root = repository(tmp_path)
    git(root, "update-index", "--chmod=+x", "services/api/start.sh")
    modes = tracked_modes(root / "services" / "api")
    assert modes is not None
    assert modes.executable == {"start.sh": True}


@needs_git
def test_a_linked_worktree_reads_its_own_index(tmp_path: Path) -> None:
    main = repository(tmp_path / "main")
    git(main, "commit", "-q", "-m", "init")
    git(main, "worktree", "add", "-q", str(tmp_path / "other"))
    modes = tracked_modes(tmp_path / "other")
    assert modes is not None
    assert modes.executable["run.sh"] is True


@needs_git
def test_a_split_index_is_not_guessed_at(tmp_path: Path) -> None:
    root = repository(tmp_path)
    git(root, "update-index", "--split-index")
    assert tracked_modes(root) is None


def test_a_repository_without_an_index_gives_none(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()  # nearer than any repository the temporary directory is in
    assert tracked_modes(tmp_path) is None


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"DIRC",
        b"XXXX" + struct.pack(">II", 2, 0),
        b"DIRC" + struct.pack(">II", 5, 0),  # an unknown version
        b"DIRC" + struct.pack(">II", 2, 3) + b"\0" * 10,  # three entries promised, none there
        b"DIRC" + struct.pack(">II", 4, 1) + b"\0" * 62 + b"\xff\xff\xff",  # a runaway varint
    ],
)
def test_malformed_indexes_give_none(data: bytes) -> None:
    assert parse_index(data) is None


@needs_git
def test_discover_records_crlf_and_the_mode_git_records(tmp_path: Path) -> None:
    root = repository(tmp_path)
    (root / "crlf.sh").write_bytes(b"#!/bin/sh\nset -e\r\nexec gunicorn app:app\r\n")
    (root / "plain.sh").chmod(0o755)  # executable on disk, 100644 in the index
    (root / "untracked.sh").write_text("#!/bin/sh\n", encoding="utf-8")
    (root / "untracked.sh").chmod(0o755)
    (root / "entrypoint").write_text('#!/usr/bin/env bash\nexec "$@"\n', encoding="utf-8")
    (root / "LICENSE").write_text("MIT\n", encoding="utf-8")
    git(root, "add", "crlf.sh", "entrypoint")
    scripts = discover(root).scripts
    assert scripts["crlf.sh"].crlf_line == 2
    assert scripts["run.sh"].crlf_line is None
    assert (scripts["run.sh"].executable, scripts["run.sh"].mode_from) == (True, "the git index")
    assert (scripts["plain.sh"].executable, scripts["plain.sh"].mode_from) == (
        False,
        "the git index",
    )
    untracked = scripts["untracked.sh"]
    assert (untracked.executable, untracked.mode_from) == (True, "the file system")
    assert "entrypoint" in scripts  # an extensionless file with a shell's #! line
    assert "LICENSE" not in scripts


def test_without_git_the_file_system_mode_counts(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.sh": "#!/bin/sh\n", "b.sh": "#!/bin/sh\n"})
    (tmp_path / "b.sh").chmod(0o755)
    scripts = discover(tmp_path).scripts
    if tracked_modes(tmp_path) is not None:
        pytest.skip("the temporary directory is inside a git repository")
    assert scripts["a.sh"].executable is False
    assert scripts["b.sh"].executable is True
    assert scripts["b.sh"].mode_from == "the file system"
