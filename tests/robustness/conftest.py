"""Robustness suite: the `long_fuzz` marker, and the figures of a fuzz run at the end."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from ._support import EXAMPLES

LONG_FUZZ_ENV = "PREFLIGHT_LONG_FUZZ"


_HYPOTHESIS_HOME: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    # Hypothesis keeps a cache (.hypothesis/) in the working directory even without an example
    # database: keep it out of the repository unless the user chose a place for it.
    if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        _HYPOTHESIS_HOME.append(tempfile.mkdtemp(prefix="preflight-hypothesis-"))
        set_hypothesis_home_dir(_HYPOTHESIS_HOME[-1])
    config.addinivalue_line(
        "markers",
        f"long_fuzz: the long property-based run (10^4+ examples per parser); "
        f"runs only with {LONG_FUZZ_ENV}=1",
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    while _HYPOTHESIS_HOME:
        shutil.rmtree(_HYPOTHESIS_HOME.pop(), ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(LONG_FUZZ_ENV) == "1":
        return
    skip = pytest.mark.skip(reason=f"long fuzz run: set {LONG_FUZZ_ENV}=1 to run it")
    for item in items:
        if item.get_closest_marker("long_fuzz") is not None:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not EXAMPLES:
        return
    terminalreporter.section("preflight fuzz: examples run per target")
    for target, count in sorted(EXAMPLES.items()):
        terminalreporter.write_line(f"{target:<32} {count:>8}")
