"""Shared helpers: write a small project to a temporary directory and lint it."""

from __future__ import annotations

import os
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from preflight.config import Config
from preflight.engine import Result, run

# preflight keeps its parse cache under $XDG_CACHE_HOME: the tests (and the preflight processes
# they start, which inherit this) use a directory of their own, never the user's.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="preflight-tests-cache-")

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
SHARED = REPO.parent / "shared"


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return root


def lint(root: Path, **config: object) -> Result:
    """Lint as `preflight check` does: the root's own configuration, or the one given."""
    from preflight.config import load_config

    configuration = load_config(root)[0]
    if config:  # the root's own configuration, with these keys replaced
        configuration = Config.model_validate({**configuration.model_dump(by_alias=True), **config})
    return run(root, ".", configuration)


@pytest.fixture
def families() -> tuple[str, ...] | None:
    """The rule families a test module checks (override per module); None: every rule."""
    return None


@pytest.fixture
def project(tmp_path: Path, families: tuple[str, ...] | None) -> Callable[..., Result]:
    """``project({"Dockerfile": "...", ...})`` writes the files and returns the lint result."""

    def make(files: dict[str, str], **config: object) -> Result:
        if families is not None and "select" not in config:
            config["select"] = list(families)
        return lint(write_tree(tmp_path, files), **config)

    return make


def codes(result: Result) -> list[str]:
    return [f.code for f in result.findings]
