"""Environment reads of one module: which variables its code needs at import, and env files.

A module's code runs at import: its top level and the bodies of its classes (a Flask
``class Config: SECRET_KEY = os.environ["SECRET_KEY"]`` runs when the module is imported), and
the functions that code calls from the same module. Function bodies run later, or never, so a
read there is not a start-up requirement. A read is *required* when it fails without the
variable:

* ``os.environ["X"]`` (``KeyError``); ``os.environ.get``/``os.getenv`` never are;
* django-environ: ``env("X")``, ``env.str("X")``, ``env.bool/int/…("X")``, ``env.db()``
  (``DATABASE_URL``) on an ``environ.Env(...)`` (``ImproperlyConfigured``), unless the call gives
  a default or the ``Env(X=(cast, default))`` scheme does;
* python-decouple: ``config("X")`` (``UndefinedValueError``) unless it gives a default;
* a required-name list (``REQUIRED_ENV_VARS = [...]``).

A read inside ``try: … except``, or under a condition (``if``, a conditional expression, the
right side of ``and``/``or``, a ``match`` case) may not run and is not required; nor is a
variable the module sets itself (``os.environ.setdefault("X", …)``). Env files the code
loads (``read_env``, ``load_dotenv``, decouple's search for ``.env``/``settings.ini``) are
recorded for the model, which decides whether such a file may be in the image.
"""

from __future__ import annotations

import ast
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from preflight.parse.python.nodes import _keyword, _string, dotted, walk
from preflight.parse.python.results import (
    EnvDefault,
    EnvFileLoad,
    EnvInstance,
    EnvRead,
    ImportBinding,
)

if TYPE_CHECKING:
    from preflight.parse.python.modules import _Extractor

# Substrings of a module that may read the environment in one of the forms above.
ENV_HINTS = (
    "environ", "getenv", "decouple", "dotenv", "env(", "env.str", "env.bool",
    "env.int", "env.float", "env.list", "env.tuple", "env.dict", "env.json", "env.url",
    "env.db", "env.cache", "env.email", "env.search", "env.channels", "env.path", "env.bytes",
)  # fmt: skip

# django-environ's readers: the positional index of `default` (`Env.__call__(var, cast,
# default)`, `Env.str(var, default)`, `Env.list(var, cast, default)`), and the variable the
# URL readers read when given none (`Env.db_url(var=DEFAULT_DATABASE_ENV, default)`).
# Source: django-environ 0.12 environ/environ.py.
_ENVIRON_DEFAULT_AT = {
    "__call__": 2, "get_value": 2, "str": 1, "bytes": 1, "bool": 1, "int": 1, "float": 1,
    "json": 1, "url": 1, "path": 1, "list": 2, "tuple": 2, "dict": 2, "db_url": 1, "db": 1,
    "cache_url": 1, "cache": 1, "email_url": 1, "email": 1, "search_url": 1,
    "channels_url": 1, "channels": 1,
}  # fmt: skip
_ENVIRON_URL_VARIABLE = {
    "db_url": "DATABASE_URL", "db": "DATABASE_URL", "cache_url": "CACHE_URL",
    "cache": "CACHE_URL", "email_url": "EMAIL_URL", "email": "EMAIL_URL",
    "search_url": "SEARCH_URL", "channels_url": "CHANNELS_URL", "channels": "CHANNELS_URL",
}  # fmt: skip
_ENV_CLASSES = frozenset({"Env", "FileAwareEnv"})
_DOTENV_LOADERS = frozenset({"load_dotenv", "read_dotenv"})
_DECOUPLE_FILES = ("settings.ini", ".env")  # AutoConfig.SUPPORTED, searched upwards


@dataclass(frozen=True, slots=True)
class _Context:
    # inside `try: … except` (a missing variable is handled), or under a condition (`if DEBUG:`,
    # `a or b`): the read may not run, so the variable is not a start-up requirement
    guarded: bool = False
    tested: frozenset[str] = frozenset()  # strings an enclosing test mentions


def _mentioned(node: ast.AST) -> frozenset[str]:
    return frozenset(
        n.value for n in walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    )


def _is_main_guard(node: ast.If) -> bool:
    test = node.test
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(_string(c) == "__main__" for c in test.comparators)
    )


# Calls that build a path from their arguments; a string given to any other call (an env
# read, `env.str("ENV_PATH")`) is not part of the path.
_PATH_FUNCTIONS = frozenset(
    {"str", "Path", "PurePath", "join", "abspath", "dirname", "realpath", "normpath",
     "expanduser", "fspath", "RepositoryEnv", "RepositoryIni", "Config", "find_dotenv"}
)  # fmt: skip
_PATH_METHODS = frozenset(
    {"join", "path", "joinpath", "abspath", "dirname", "realpath", "normpath", "expanduser",
     "resolve", "fspath", "root", "file", "Path", "PurePath", "RepositoryEnv", "RepositoryIni",
     "Config", "find_dotenv", "with_name"}
)  # fmt: skip


def _last_string(node: ast.AST) -> str | None:
    """The file name a path expression ends in (``os.path.join(BASE, ".env")`` → .env), or None
    when the path is not built from literals alone."""
    found: str | None = None
    at = (-1, -1)
    for child in walk(node):
        if isinstance(child, ast.Call):
            func = child.func
            if not (
                (isinstance(func, ast.Name) and func.id in _PATH_FUNCTIONS)
                or (isinstance(func, ast.Attribute) and func.attr in _PATH_METHODS)
            ):
                return None
        text = _string(child)
        where = (getattr(child, "lineno", 0), getattr(child, "col_offset", 0))
        if text and where > at:  # the last in the source (ast.walk goes breadth first)
            found, at = text, where
    return posixpath.basename(found.rstrip("/")) if found else None


class EnvReads:
    """Reads the environment facts of one module (``_Extractor`` starts it)."""

    def __init__(self, extractor: _Extractor, imports: tuple[ImportBinding, ...]) -> None:
        self.x = extractor
        self.tree = extractor.tree
        self.env_classes = {
            b.local for b in imports if b.module == "environ" and b.name in _ENV_CLASSES
        }
        self.environ_modules = {b.local for b in imports if b.module == "environ" and not b.name}
        self.decouple = {
            b.local for b in imports if b.module == "decouple" and b.name == "config"
        } | {f"{b.local}.config" for b in imports if b.module == "decouple" and not b.name}
        self.decouple_classes = {
            b.local
            for b in imports
            if b.module == "decouple" and b.name in ("AutoConfig", "Config", "RepositoryEnv")
        }
        # names imported from elsewhere (`from .base import env`): maybe an Env instance there
        self.imported = {
            b.local: b.name
            for b in imports
            if b.name is not None
            and "env" in b.name.lower()
            and b.module not in ("environ", "os", "decouple", "dotenv")
        }
        self.instances: dict[str, EnvInstance] = {}
        self.loads: list[EnvFileLoad] = []
        self.reads: list[EnvRead] = []
        self.defaults: list[EnvDefault] = []  # reads with a literal default
        self.set_here: set[str] = set()  # variables the module sets itself
        self.values: list[tuple[str, str]] = []  # …and the literal values it sets them to
        self._followed: set[str] = set()

    # entry ---------------------------------------------------------------------------------

    def run(self) -> None:
        self._instances()
        nodes = list(self._import_time(self.tree.body, _Context()))
        for node, _ in nodes:
            self._note_sets(node)
        for node, context in nodes:
            read = self._read(node, context)
            if read is not None and read.name not in self.set_here:
                self.reads.append(read)
            if not context.guarded and isinstance(node, ast.Call):
                defaulted = self._defaulted(node)
                if defaulted is not None and defaulted.name not in self.set_here:
                    self.defaults.append(defaulted)
        self._listed()
        self._file_loads()

    # where code runs at import -------------------------------------------------------------

    def _import_time(
        self, body: list[ast.stmt], context: _Context
    ) -> Iterator[tuple[ast.AST, _Context]]:
        for statement in body:
            yield from self._visit(statement, context)

    def _visit(self, node: ast.AST, context: _Context) -> Iterator[tuple[ast.AST, _Context]]:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for expr in (*node.decorator_list, *node.args.defaults):
                yield from self._visit(expr, context)
            for default in node.args.kw_defaults:
                if default is not None:
                    yield from self._visit(default, context)
            return
        if isinstance(node, ast.Lambda):
            return
        if isinstance(node, ast.Try) and node.handlers:
            inner = _Context(True, context.tested)
            for statement in node.body:
                yield from self._visit(statement, inner)
            for part in (*node.handlers, *node.orelse, *node.finalbody):
                yield from self._visit(part, context)
            return
        if isinstance(node, ast.If):
            if _is_main_guard(node):
                for statement in node.orelse:
                    yield from self._visit(statement, context)
                return
            yield from self._visit(node.test, context)
            inner = _Context(True, context.tested | _mentioned(node.test))
            for statement in (*node.body, *node.orelse):
                yield from self._visit(statement, inner)
            return
        if isinstance(node, ast.IfExp):
            yield from self._visit(node.test, context)
            inner = _Context(True, context.tested | _mentioned(node.test))
            yield from self._visit(node.body, inner)
            yield from self._visit(node.orelse, inner)
            return
        if isinstance(node, ast.BoolOp):
            yield from self._visit(node.values[0], context)
            for value in node.values[1:]:  # short-circuited: may not run
                yield from self._visit(value, _Context(True, context.tested))
            return
        if isinstance(node, ast.Match):
            yield from self._visit(node.subject, context)
            for case in node.cases:
                for statement in case.body:
                    yield from self._visit(statement, _Context(True, context.tested))
            return
        if isinstance(node, (ast.Call, ast.Subscript)):
            yield node, context
            if isinstance(node, ast.Call):
                callee = node.func
                name = callee.id if isinstance(callee, ast.Name) else None
                function = self.x.functions.get(name or "")
                if function is not None and name not in self._followed:
                    self._followed.add(name or "")  # a function this code calls, once
                    for statement in function.body:
                        yield from self._visit(statement, context)
        for child in ast.iter_child_nodes(node):
            yield from self._visit(child, context)

    # what a node reads ---------------------------------------------------------------------

    def _note_sets(self, node: ast.AST) -> None:
        if isinstance(node, ast.Call):
            callee = dotted(node.func) or ""
            if callee.endswith(("environ.setdefault", "environ.update")) and node.args:
                name = _string(node.args[0])
                if name:
                    self.set_here.add(name)
                    value = _string(node.args[1]) if len(node.args) > 1 else None
                    if value is not None:
                        self.values.append((name, value))
        elif (
            isinstance(node, ast.Subscript)
            and not isinstance(node.ctx, ast.Load)
            and (dotted(node.value) or "").endswith("environ")
        ):
            name = _string(node.slice)
            if name:
                self.set_here.add(name)

    def _read(self, node: ast.AST, context: _Context) -> EnvRead | None:
        if context.guarded:
            return None
        read: EnvRead | None = None
        if isinstance(node, ast.Subscript):
            if isinstance(node.ctx, ast.Load) and (dotted(node.value) or "").endswith("environ"):
                name = _string(node.slice)
                if name:
                    read = EnvRead(name, self.x.span(node), "os.environ", f'os.environ["{name}"]')
        elif isinstance(node, ast.Call):
            read = self._environ_read(node) or self._decouple_read(node)
        if read is None or read.name in context.tested:
            return None
        return read

    def _environ_read(self, call: ast.Call) -> EnvRead | None:
        func = call.func
        if isinstance(func, ast.Name):
            receiver, method = func.id, "__call__"
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            receiver, method = func.value.id, func.attr
        else:
            return None
        local = receiver in self.instances
        if not local and receiver not in self.imported:
            return None
        default_at = _ENVIRON_DEFAULT_AT.get(method)
        if default_at is None or any(k.arg is None for k in call.keywords):
            return None
        if len(call.args) > default_at or _keyword(call, "default") is not None:
            return None  # a default: optional
        variable = call.args[0] if call.args else _keyword(call, "var")
        name = _ENVIRON_URL_VARIABLE.get(method) if variable is None else _string(variable)
        if not name:
            return None
        if local and (
            name in self.instances[receiver].defaults or self.instances[receiver].open_scheme
        ):
            return None  # Env(NAME=(cast, default)), or a scheme preflight cannot see
        shown = receiver if method == "__call__" else f"{receiver}.{method}"
        text = f'{shown}("{name}")' if variable is not None else f"{shown}()"
        imported = None if local else receiver
        return EnvRead(name, self.x.span(call), "django-environ", text, imported)

    def _decouple_read(self, call: ast.Call) -> EnvRead | None:
        callee = dotted(call.func) or ""
        if callee not in self.decouple or not call.args:
            return None
        if len(call.args) > 1 or _keyword(call, "default") is not None:
            return None
        if any(k.arg is None for k in call.keywords):
            return None
        name = _string(call.args[0])
        if not name:
            return None
        return EnvRead(name, self.x.span(call), "decouple", f'{callee}("{name}")')

    def _defaulted(self, call: ast.Call) -> EnvDefault | None:
        """A read given a literal string default: ``os.environ.get("X", "dev")``,
        ``os.getenv("X", "dev")``, ``env("X", default="dev")``, ``env.str("X", "dev")``,
        ``config("X", default="dev")``."""
        callee = dotted(call.func) or ""
        if any(k.arg is None for k in call.keywords) or not call.args:
            return None
        name = _string(call.args[0])
        if not name:
            return None
        default: ast.AST | None
        if callee.endswith("environ.get") or callee in ("getenv", "os.getenv"):
            reader, shown = "os.environ", f'{callee}("{name}", …)'
            default = call.args[1] if len(call.args) > 1 else _keyword(call, "default")
        elif callee in self.decouple:
            reader, shown = "decouple", f'{callee}("{name}", default=…)'
            default = call.args[1] if len(call.args) > 1 else _keyword(call, "default")
        else:
            func = call.func
            if isinstance(func, ast.Name):
                receiver, method = func.id, "__call__"
            elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                receiver, method = func.value.id, func.attr
            else:
                return None
            if receiver not in self.instances and receiver not in self.imported:
                return None
            default_at = _ENVIRON_DEFAULT_AT.get(method)
            if default_at is None or method in _ENVIRON_URL_VARIABLE:
                return None
            default = (
                call.args[default_at] if len(call.args) > default_at else _keyword(call, "default")
            )
            reader = "django-environ"
            called = receiver if method == "__call__" else f"{receiver}.{method}"
            shown = f'{called}("{name}", default=…)'
        text = _string(default)
        if text is None or default is None:
            return None
        return EnvDefault(name, text, self.x.span(default), self.x.span(call), reader, shown)

    # django-environ instances, decouple configs --------------------------------------------

    def _instances(self) -> None:
        for node in self.tree.body:
            if not isinstance(node, ast.Assign) or not isinstance(node.value, ast.Call):
                continue
            if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
                continue
            name, call = node.targets[0].id, node.value
            callee = dotted(call.func) or ""
            head, _, last = callee.rpartition(".")
            is_env = (head in self.environ_modules and last in _ENV_CLASSES) or (
                not head and callee in self.env_classes
            )
            if is_env:
                defaults = tuple(
                    k.arg
                    for k in call.keywords
                    if k.arg is not None
                    and isinstance(k.value, (ast.Tuple, ast.List))
                    and len(k.value.elts) >= 2
                )
                open_scheme = any(k.arg is None for k in call.keywords) or (
                    f"{name}.scheme" in self.x.text
                )
                self.instances[name] = EnvInstance(name, defaults, self.x.span(node), open_scheme)
                self.imported.pop(name, None)
            elif callee.rsplit(".", 1)[-1] in ("AutoConfig", "Config") and (
                callee in self.decouple_classes or callee.startswith("decouple.")
            ):
                self.decouple.add(name)  # `config = AutoConfig(search_path=…)`
                self.loads.append(self._decouple_load(call, node))
            else:
                self.imported.pop(name, None)
        for name in list(self.imported):
            if name in self.x.functions:
                self.imported.pop(name)

    def _decouple_load(self, call: ast.Call, node: ast.AST) -> EnvFileLoad:
        callee = (dotted(call.func) or "").rsplit(".", 1)[-1]
        if callee == "AutoConfig":
            return EnvFileLoad(self.x.span(node), "decouple", _DECOUPLE_FILES, True)
        name = _last_string(call)  # Config(RepositoryEnv("path/.env"))
        return EnvFileLoad(self.x.span(node), "decouple", (name,) if name else (), False)

    # required-name lists, env files ---------------------------------------------------------

    def _listed(self) -> None:
        for node in self.tree.body:
            if not isinstance(node, ast.Assign) or len(node.targets) != 1:
                continue
            target = node.targets[0]
            if not isinstance(node.value, (ast.List, ast.Tuple, ast.Set)):
                continue
            if isinstance(target, ast.Name) and "REQUIRED" in target.id.upper():
                for element in node.value.elts:
                    name = _string(element)
                    if name:
                        self.reads.append(
                            EnvRead(name, self.x.span(element), "list", f"{target.id} lists")
                        )

    def _file_loads(self) -> None:
        decouple_read = any(r.reader == "decouple" for r in self.reads)
        implicit = decouple_read and not any(n.reader == "decouple" for n in self.loads)
        if implicit:  # decouple's `config` searches the module's directory and those above
            first = next(r for r in self.reads if r.reader == "decouple")
            self.loads.append(EnvFileLoad(first.span, "decouple", _DECOUPLE_FILES, True))
        for node in walk(self.tree):
            if not isinstance(node, ast.Call):
                continue
            callee = dotted(node.func) or ""
            last = callee.rsplit(".", 1)[-1]
            given = [*node.args, *(k.value for k in node.keywords)]
            if last == "read_env" and callee != "read_env":
                receiver = callee.rsplit(".", 1)[0]
                head = receiver.split(".", 1)[0]
                if not (
                    receiver in self.instances
                    or receiver in self.imported
                    or head in self.environ_modules
                    or receiver in self.env_classes
                ):
                    continue
                name = _last_string(given[0]) if given else ".env"
                names = (name,) if name else ()
                self.loads.append(EnvFileLoad(self.x.span(node), "django-environ", names, False))
            elif last in _DOTENV_LOADERS:
                path = node.args[0] if node.args else _keyword(node, "dotenv_path")
                if path is None or (
                    isinstance(path, ast.Call) and (dotted(path.func) or "").endswith("find_dotenv")
                ):
                    found = ".env"
                    if isinstance(path, ast.Call) and path.args:
                        found = _last_string(path.args[0]) or ".env"
                    self.loads.append(EnvFileLoad(self.x.span(node), "dotenv", (found,), True))
                    continue
                name = _last_string(path)
                names = (name,) if name else ()
                self.loads.append(EnvFileLoad(self.x.span(node), "dotenv", names, False))


def env_facts(extractor: _Extractor, imports: tuple[ImportBinding, ...]) -> EnvReads:
    reads = EnvReads(extractor, imports)
    reads.run()
    return reads
