"""The parse step for a whole inventory: one parser per kind, in a process pool when it pays.

Every parser is a pure function of (path, text), so results do not depend on where or in which
order they are computed: ``--jobs 4`` gives the same model as ``--jobs 1``. A parser that raises
(a bug, never the user's fault) becomes a PF001 problem on that file instead of a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from importlib import import_module
from typing import Any

from preflight.discover import KINDS
from preflight.parse import ParseProblem
from preflight.spans import Span

# kind value -> (module, function), from the one table in discover.KINDS
PARSERS: dict[str, tuple[str, str]] = {
    kind.value: info.parser for kind, info in KINDS.items() if info.parser is not None
}
# Below this many files a pool costs more (start-up, pickling) than it saves.
POOL_THRESHOLD = 600

Job = tuple[str, str, str]  # (kind, path, text)


class ParserCrash:
    """What a parser that raised is turned into: one PF001 problem, the file otherwise skipped."""

    def __init__(self, path: str, error: str) -> None:
        self.problems = (
            ParseProblem(
                Span(path, 1), f"preflight could not read this file (internal error: {error})"
            ),
        )


def parse_one(job: Job) -> Any:
    kind, path, text = job
    module_name, function_name = PARSERS[kind]
    parser: Callable[[str, str], Any] = getattr(import_module(module_name), function_name)
    try:
        return parser(path, text)
    except RecursionError:
        return ParserCrash(path, "nested too deeply")
    except Exception as exc:  # a parser bug must not hide the rest of the project
        return ParserCrash(path, f"{type(exc).__name__}: {exc}")


def parse_many(jobs: Sequence[Job], workers: int) -> list[Any]:
    """Results in the order of ``jobs``."""
    if workers <= 1 or len(jobs) < POOL_THRESHOLD:
        return [parse_one(job) for job in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    chunk = max(16, len(jobs) // (workers * 16))
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(parse_one, jobs, chunksize=chunk))


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
