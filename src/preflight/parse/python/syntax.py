"""The stdlib ``ast`` parse of a text, and its result as facts or as a PF001 problem."""

from __future__ import annotations

import ast
import re
import sys
import warnings
from dataclasses import replace

from preflight.parse import ParseProblem
from preflight.parse.python.modules import _Extractor
from preflight.parse.python.nodes import forget_walks
from preflight.parse.python.results import PythonModule
from preflight.spans import Span

_TOO_DEEP = re.compile(r"nested|too many|too complex|stack overflow", re.IGNORECASE)
_HOST = "{}.{}".format(*sys.version_info[:2])


def _ast(path: str, text: str) -> tuple[ast.Module | None, Exception | None]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes is not our business
            return ast.parse(text, filename=path), None
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as exc:
        return None, exc


def _invalid(path: str, exc: Exception | None) -> PythonModule:
    if isinstance(exc, SyntaxError):
        line, col = exc.lineno or 1, exc.offset or 1
        message = f"invalid Python: {exc.msg}"
    else:
        line, col = 1, 1
        message = f"invalid Python: {str(exc) or 'nested too deeply to parse'}"
    return PythonModule(path, problems=(ParseProblem(Span(path, line, max(col, 1)), message),))


def _facts(path: str, tree: ast.Module, text: str, notes: tuple[str, ...] = ()) -> PythonModule:
    try:
        return replace(_Extractor(path, tree, text).module(), notes=notes)
    except RecursionError:
        return PythonModule(
            path, problems=(ParseProblem(Span(path, 1), "Python nested too deeply to read"),)
        )
    finally:
        forget_walks()
