"""The service's Python, read statically: parsed, never imported or run.

All Python fact extraction lives behind this module (text in, facts out) so its backend can
change. It uses the stdlib ``ast``: read-only fact extraction needs no concrete syntax tree, and
``ast`` parses about ten times faster than libcst and imports in no time (libcst stays the
tool for code edits). Files are parsed only when their text mentions something a rule reads.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass

from preflight.parse import ParseProblem
from preflight.spans import Span

# Substrings whose presence makes a module worth parsing: frameworks, settings, engines,
# environment access. A module with none of them cannot hold a fact any rule reads.
TRIGGERS = (
    "FastAPI",
    "APIRouter",
    "Starlette",
    "BaseSettings",
    "create_engine",
    "create_async_engine",
    "environ",
    "getenv",
    "include_router",
    "add_api_route",
    "fastapi",
    "sqlalchemy",
    "sqlmodel",
    "pydantic",
    "bind",
    "wsgi_app",
    "Depends",
)


@dataclass(frozen=True, slots=True)
class PythonModule:
    path: str
    imports: tuple[str, ...]  # absolute module names imported (relative ones resolved later)
    problems: tuple[ParseProblem, ...]


def worth_parsing(text: str) -> bool:
    return any(trigger in text for trigger in TRIGGERS)


def parse_python(path: str, text: str) -> PythonModule:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes is not our business
            tree = ast.parse(text, filename=path)
    except SyntaxError as exc:
        line = exc.lineno or 1
        col = exc.offset or 1
        return PythonModule(
            path, (), (ParseProblem(Span(path, line, max(col, 1)), f"invalid Python: {exc.msg}"),)
        )
    except (ValueError, RecursionError, MemoryError) as exc:
        return PythonModule(path, (), (ParseProblem(Span(path, 1), f"invalid Python: {exc}"),))
    imports: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            imports.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imports.append(node.module)
    return PythonModule(path, tuple(imports), ())
