"""The service's Python, read statically: parsed, never imported or run.

All Python fact extraction lives behind this module (text in, facts out) so its backend can
change. It uses the stdlib ``ast``: read-only fact extraction needs no concrete syntax tree, and
``ast`` parses about ten times faster than libcst and imports in no time (libcst stays the
tool for code edits). Files are parsed only when their text mentions something a rule reads.

Facts, each with its span:

* imports (``from .db import engine`` kept with its level, resolved against the repo later);
* settings classes (pydantic-settings ``BaseSettings``): fields, the environment names they
  read, defaults, and the validators/properties that rewrite a field's value;
* URL rewrites: ``.replace("postgresql://", "postgresql+asyncpg://")``, ``.set(drivername=…)``,
  f-strings that put a scheme in front, and whether libpq query parameters are handled;
* engines: ``create_engine``/``create_async_engine`` calls, what feeds their URL, their keywords;
* blocking calls inside ``async def`` on names that may be sync engines or sessions.

The package's modules follow its seams: ``results`` (the fact types), ``layout`` (the nesting
scan no parser sees a text before), ``syntax`` (the ``ast`` parse), ``fallback`` (syntax newer
than this interpreter), ``modules`` and ``web`` (the two fact extractors), ``nodes`` (helpers).
"""

from __future__ import annotations

import re

from preflight.parse import ParseProblem
from preflight.parse.python.fallback import FALLBACK_BUDGET, _newer_syntax, fallback_stats
from preflight.parse.python.layout import MAX_NESTING, _layout, _may_nest_deeply
from preflight.parse.python.modules import ENGINE_FACTORIES
from preflight.parse.python.nodes import dotted
from preflight.parse.python.results import (
    AppRun,
    BlockingCall,
    ConfigValue,
    EngineCall,
    EnvDefault,
    EnvFileLoad,
    EnvInstance,
    EnvRead,
    FunctionUrl,
    HandlerInfo,
    ImportBinding,
    IncludeDecl,
    ModuleBinding,
    PythonModule,
    RouteDecl,
    RouterObj,
    SettingsClass,
    SettingsField,
    UrlExpr,
    UrlRewrite,
    ViewClass,
)
from preflight.parse.python.syntax import _TOO_DEEP, _ast, _facts, _invalid
from preflight.spans import Span

__all__ = [
    "ENGINE_FACTORIES",
    "FALLBACK_BUDGET",
    "MAX_NESTING",
    "TRIGGERS",
    "AppRun",
    "BlockingCall",
    "ConfigValue",
    "EngineCall",
    "EnvDefault",
    "EnvFileLoad",
    "EnvInstance",
    "EnvRead",
    "FunctionUrl",
    "HandlerInfo",
    "ImportBinding",
    "IncludeDecl",
    "ModuleBinding",
    "PythonModule",
    "RouteDecl",
    "RouterObj",
    "SettingsClass",
    "SettingsField",
    "UrlExpr",
    "UrlRewrite",
    "ViewClass",
    "dotted",
    "fallback_stats",
    "parse_python",
    "worth_parsing",
]

# Substrings whose presence makes a module worth parsing: frameworks, settings, engines,
# environment access. A module with none of them cannot hold a fact any rule reads.
TRIGGERS = (
    "FastAPI", "APIRouter", "Starlette", "BaseSettings", "create_engine", "create_async_engine",
    "environ", "getenv", "include_router", "add_api_route", "fastapi", "sqlalchemy", "sqlmodel",
    "pydantic", "bind", "wsgi_app", "Depends", "postgres", "drivername", "decouple", "dotenv",
    "env(", "env.str", "env.bool", "env.int", "env.db", "env.url", "env.list",
    "flask", "Flask", "quart", "Quart", "Blueprint", "register_blueprint", "add_url_rule",
    ".route(", "create_app", "make_app", "import app", "uvicorn.run",
    # Django (parse/python/django.py): URLconfs, settings, wsgi/asgi modules, views
    "urlpatterns", "ROOT_URLCONF", "DJANGO_SETTINGS_MODULE", "django", "rest_framework",
    "import *", "worker_class", "Litestar",
)  # fmt: skip


# What CPython says of syntax only Python 2 accepts (`lambda (a, b):`, `print "x"`,
# `except E, e:`, `0777`).
_PYTHON2 = re.compile(
    r"Lambda expression parameters cannot be parenthesized|Missing parentheses in call to "
    r"'(?:print|exec)'|multiple exception types must be parenthesized|leading zeros in decimal"
)


def worth_parsing(text: str) -> bool:
    return any(trigger in text for trigger in TRIGGERS)


def parse_python(path: str, text: str) -> PythonModule:
    # No native parser sees a text before its nesting is known to be modest: CPython's parser
    # takes memory quadratic in the length of an operator chain (20,000 `+` or `elif`: 400 MB,
    # 100,000: 10 GB) and libcst's recursion overflows the C stack (a segfault, no output).
    layout = _layout(text) if _may_nest_deeply(text) else None
    if layout is not None and layout.depth > MAX_NESTING:
        return PythonModule(
            path,
            problems=(
                ParseProblem(
                    Span(path, layout.depth_line),
                    f"Python nested too deeply to parse ({layout.depth_what} about "
                    f"{layout.depth} levels deep; preflight reads at most {MAX_NESTING})",
                ),
            ),
        )
    tree, failure = _ast(path, text)
    if isinstance(failure, SyntaxError):
        if _TOO_DEEP.search(failure.msg or ""):
            return _invalid(path, failure)
        module = _newer_syntax(path, text, failure, layout if layout is not None else _layout(text))
        if module.problems and _PYTHON2.search(module.problems[0].message):
            # valid Python 2 (a service on a python2 image), not a malformed file: not read
            problem = module.problems[0]
            where = f"line {problem.span.line}"
            return PythonModule(path, unread=f"Python 2 syntax ({problem.message}, {where})")
        return module
    if failure is not None or tree is None:
        return _invalid(path, failure)
    return _facts(path, tree, text)
