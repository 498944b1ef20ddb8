"""The wheel users install ships everything `preflight explain` needs (not only the source tree)."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

from conftest import FIXTURES, REPO

pytestmark = pytest.mark.e2e


def test_non_editable_install_ships_rule_pages(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / ("Scripts" if sys.platform == "win32" else "bin")
    install = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", str(REPO)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    explain = subprocess.run(
        [str(bin_dir / "preflight"), "explain", "PKG001"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,  # not the source tree
    )
    assert explain.returncode == 0, explain.stderr
    assert explain.stdout.startswith("# PKG001 command-not-installed")
    assert "## Use instead" in explain.stdout
    located = subprocess.run(
        [
            str(bin_dir / "python"),
            "-c",
            "from preflight.pages import pages_dir; print(pages_dir())",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert str(env_dir) in located.stdout  # read from site-packages, not from the checkout
    check = subprocess.run(
        [str(bin_dir / "preflight"), "check", str(FIXTURES / "pkg001-gunicorn-missing"), "-q"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert check.returncode == 1 and "PKG001" in check.stdout
