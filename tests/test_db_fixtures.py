"""The DB fixtures, laid out as users lay them out, beyond what their EXPECTED files state
(tests/test_fixtures.py): the related locations and wording that make a finding actionable."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import FIXTURES, lint


def test_seed_fixture_names_the_validator() -> None:
    (finding,) = lint(FIXTURES / "db002-seed-neon-validator", select=["DB"]).findings
    assert ("app/config.py", 12) in {(r.span.path, r.span.line) for r in finding.related}


def test_db004_names_the_file_the_image_installs_from() -> None:
    """Issue 16: the image installs requirements.txt; a pyproject.toml beside it is never read."""
    (finding,) = lint(
        FIXTURES / "db004-image-installs-requirements-not-pyproject", select=["DB004"]
    ).findings
    assert "in requirements.txt provides it" in finding.message
    assert "pyproject" not in finding.message
    assert ("requirements.txt", 1) in {(r.span.path, r.span.line) for r in finding.related}


def test_db004_is_silent_when_the_image_installs_the_driver(tmp_path: Path) -> None:
    """pyproject.toml lacks the driver, but the image installs requirements.txt, which has it."""
    root = tmp_path / "service"
    shutil.copytree(FIXTURES / "db004-image-installs-requirements-not-pyproject", root)
    requirements = root / "requirements.txt"
    requirements.write_text(requirements.read_text() + "psycopg[binary]==3.2.3\n")
    assert lint(root, select=["DB004"]).findings == []
