"""Helpers for the robustness suite: run preflight as a subprocess and measure it, walk spans."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from hypothesis import HealthCheck, settings

from preflight.spans import Span

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"

# Examples actually run per fuzz target in this session (printed in the terminal summary).
EXAMPLES: Counter[str] = Counter()

NORMAL_EXAMPLES = 300
LONG_EXAMPLES = 10_000

# A hang guard, not a speed limit: CI machines are shared and loaded, so wall time proves
# nothing. Work is bounded by what the cases count (bytes, nodes, routes) and by peak RSS;
# speed is measured in benchmarks/.
HANG_GUARD = 60.0
RSS_LIMIT_MB = 300.0


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,  # nothing written into the repository (.hypothesis/)
        derandomize=False,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )


# The known-bad pair the end-to-end properties rely on: gunicorn runs but is not installed.
PKG001_PYPROJECT = """\
[project]
name = "orders-api"
version = "1.4.0"
requires-python = ">=3.11"
dependencies = ["fastapi>=0.115", "uvicorn[standard]>=0.30"]
"""
PKG001_DOCKERFILE = """\
FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml ./
COPY app ./app
RUN pip install --no-cache-dir .
EXPOSE 8000
CMD ["gunicorn", "app.main:app", "-k", "uvicorn.workers.UvicornWorker", "-b", "0.0.0.0:8000"]
"""
PKG001_APP = """\
from fastapi import FastAPI

app = FastAPI()


@app.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}
"""


def pkg001_tree() -> dict[str, str | bytes]:
    """A small repository where PKG001 fires on Dockerfile line 7 (gunicorn not installed)."""
    return {
        "pyproject.toml": PKG001_PYPROJECT,
        "docker/Dockerfile": PKG001_DOCKERFILE,
        "app/__init__.py": "",
        "app/main.py": PKG001_APP,
    }


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def spans_in(value: object) -> Iterator[Span]:
    """Every Span reachable from a parse result (dataclasses, tuples, lists, dicts)."""
    stack: list[object] = [value]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, (str, bytes, int, float, bool)) or item is None:
            continue
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, Span):
            yield item
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)


def assert_span_ok(span: Span, path: str, text: str | None = None, *, past_end: int = 1) -> None:
    """A usable location: in ``path``, 1-based, and (given the text) not far past its end.

    ``past_end`` lines after the last are tolerated: libyaml reports an error at the end of a
    stream without a final newline on the line after it (see test_resource_attacks for the
    strict version of that property).
    """
    assert span.path == path, span
    assert span.line >= 1, span
    assert span.col >= 1, span
    assert span.end_line >= span.line, span
    if text is not None:
        last = text.count("\n") + 1
        assert span.line <= last + past_end, f"{span} is past the end of the file ({last} lines)"


@dataclasses.dataclass
class Measured:
    code: int
    stdout: str
    stderr: str
    wall: float  # seconds
    rss_mb: float  # peak resident set of the process (and any children it waited for)
    timed_out: bool = False

    def __str__(self) -> str:
        return (
            f"exit {self.code} in {self.wall:.2f} s, peak RSS {self.rss_mb:.0f} MB"
            f"{' (killed: timeout)' if self.timed_out else ''}\n"
            f"--- stdout (tail)\n{self.stdout[-1500:]}\n--- stderr (tail)\n{self.stderr[-1500:]}"
        )


def preflight_env(home: Path) -> dict[str, str]:
    """The environment of a preflight subprocess: its own cache-key directory, no colour."""
    env = dict(os.environ)
    env["XDG_CACHE_HOME"] = str(home / "xdg-cache")
    env["NO_COLOR"] = "1"
    env.pop("PREFLIGHT_LONG_FUZZ", None)
    return env


# A fresh, small process that starts preflight and reports the child's own peak RSS. Measuring
# from pytest directly would be wrong: on Linux a child's ru_maxrss starts at its parent's RSS
# high-water mark at fork, and pytest itself may be hundreds of MB by then.
_LAUNCHER = """
import os, sys
report, argv = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    os.execv(argv[0], argv)
_, status, usage = os.wait4(pid, 0)
with open(report, "w") as handle:
    handle.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
"""


def measure(
    args: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = HANG_GUARD,
) -> Measured:
    """Run ``python -m preflight ARGS``; wall time, and peak RSS from wait4 in a launcher.

    On timeout the whole process group is killed (by its id) so nothing outlives the test.
    A child killed by a signal N exits 128 + N.
    """
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as scratch,
    ):
        report = Path(scratch) / "rss"
        start = time.monotonic()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _LAUNCHER,
                str(report),
                sys.executable,
                "-m",
                "preflight",
                *args,
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            proc.wait()
        finally:
            timer.cancel()
        wall = time.monotonic() - start
        if not timed_out.is_set():  # pool workers left behind by a crash: end them too
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        try:
            rss_kb = float(report.read_text())
        except (OSError, ValueError):
            rss_kb = float("nan")  # killed before it could report
        out.seek(0)
        err.seek(0)
        return Measured(
            proc.returncode if not timed_out.is_set() else -9,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            wall,
            rss_kb / 1024,  # ru_maxrss is in kilobytes on Linux
            timed_out.is_set(),
        )


def assert_clean_exit(result: Measured) -> None:
    """Exit 0 or 1, no traceback, no internal error."""
    assert result.code in (0, 1), str(result)
    assert "Traceback" not in result.stderr, str(result)
    assert "internal error" not in result.stderr, str(result)
    assert "internal error" not in result.stdout, str(result)


def assert_within_bounds(result: Measured) -> None:
    assert not result.timed_out, str(result)
    assert result.rss_mb < RSS_LIMIT_MB, str(result)
