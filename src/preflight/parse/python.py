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
"""

from __future__ import annotations

import ast
import bisect
import re
import sys
import textwrap
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from preflight.parse import ParseProblem
from preflight.spans import Span

# Substrings whose presence makes a module worth parsing: frameworks, settings, engines,
# environment access. A module with none of them cannot hold a fact any rule reads.
TRIGGERS = (
    "FastAPI", "APIRouter", "Starlette", "BaseSettings", "create_engine", "create_async_engine",
    "environ", "getenv", "include_router", "add_api_route", "fastapi", "sqlalchemy", "sqlmodel",
    "pydantic", "bind", "wsgi_app", "Depends", "postgres", "drivername",
)  # fmt: skip

ENGINE_FACTORIES = frozenset({"create_engine", "create_async_engine"})
_SYNC_ENGINE_METHODS = frozenset({"connect", "begin", "execute", "raw_connection"})
_SESSION_METHODS = frozenset(
    {"exec", "execute", "commit", "query", "scalar", "scalars", "get", "flush", "refresh",
     "delete", "merge", "rollback", "close", "connection"}
)  # fmt: skip
_LIBPQ_MARKERS = ("sslmode", "channel_binding", "difference_update_query", "update_query_")


@dataclass(frozen=True)
class ImportBinding:
    local: str  # the name bound in this module
    module: str  # as written ("" for `from . import x`)
    name: str | None  # the imported attribute (None for `import x`)
    level: int  # relative import dots
    span: Span


@dataclass(frozen=True)
class UrlRewrite:
    """One step that changes a URL's text: a scheme replaced, a driver set, params handled."""

    span: Span
    old_prefix: str | None = None  # `.replace(old, new)`: applies when the URL contains old
    new_prefix: str | None = None
    drivername: str | None = None  # `.set(drivername=…)`, `URL.create(drivername=…)`
    handles_libpq_params: bool = False  # strips/translates sslmode, channel_binding


@dataclass(frozen=True)
class UrlExpr:
    """What an expression that produces a database URL refers to."""

    kind: str  # "literal" | "setting" | "env" | "name" | "call" | "unknown"
    span: Span
    value: str | None = field(default=None, repr=False)  # a literal URL (may hold a password)
    base: str | None = None  # "setting": the object (`settings`), "call"/"name": the name
    attr: str | None = None  # "setting": the attribute read (`database_url`)
    env: str | None = None  # "env": the variable read
    rewrites: tuple[UrlRewrite, ...] = ()  # applied inline, innermost first


@dataclass(frozen=True)
class EngineCall:
    factory: str  # "create_engine" | "create_async_engine"
    url: UrlExpr | None
    keywords: dict[str, str]  # keyword -> source text of its value
    connect_arg_keys: tuple[str, ...] | None  # keys of a literal connect_args dict
    target: str | None  # the module-level name it is assigned to
    function: str | None  # the function it is created in, if any
    span: Span


@dataclass(frozen=True)
class SettingsField:
    name: str
    env_names: tuple[str, ...]  # lower-cased unless the class is case-sensitive
    annotation: str
    required: bool
    default: str | None = field(repr=False)  # a literal string default
    default_span: Span | None
    secret: bool  # SecretStr and friends
    span: Span
    constraints: tuple[tuple[str, object], ...] = ()  # ("min_length", 32), ("literal", (..))


@dataclass(frozen=True)
class SettingsClass:
    name: str
    span: Span
    bases: tuple[str, ...]
    fields: tuple[SettingsField, ...]
    env_prefix: str
    case_sensitive: bool
    validators: dict[str, tuple[UrlRewrite, ...]]  # field -> rewrites its validators apply
    validator_spans: dict[str, Span]
    derived: dict[str, tuple[str, tuple[UrlRewrite, ...], Span]]  # property -> (field, rewrites)
    pydantic_v1_validators: tuple[Span, ...]  # @validator / @root_validator / class Config
    env_file: tuple[str, ...] = ()
    secrets_dir: str | None = None
    nested_delimiter: str | None = None
    v1_import: Span | None = None  # `from pydantic import BaseSettings`

    def field_named(self, name: str) -> SettingsField | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class BlockingCall:
    """A call inside ``async def`` that blocks the event loop if its receiver is sync."""

    span: Span
    function: str  # the async def it is in
    receiver: str  # the name the call is made on (`engine`, `session`) or the callee
    method: str  # `connect`, `exec`, … ("" for `Session(engine)`)
    receiver_annotation: str | None  # a parameter's annotation (`Session`), if any
    engine_arg: str | None = None  # `Session(engine)`: the engine's name


@dataclass(frozen=True)
class ModuleBinding:
    """A module-level ``name = <call>`` the linker needs (settings instances, sessionmakers)."""

    name: str
    call: str  # the callee's dotted name (`Settings`, `get_settings`, `sessionmaker`)
    args: tuple[str, ...]  # names passed positionally or as bind=/engine=
    span: Span


@dataclass(frozen=True)
class FunctionUrl:
    """A module-level function that returns a URL (``def get_url(): return settings.X``)."""

    name: str
    returns: UrlExpr
    span: Span


# --- web apps: routers, routes, includes, handlers ---------------------------------------------

_HTTP_METHODS = {
    "get": "GET",
    "post": "POST",
    "put": "PUT",
    "delete": "DELETE",
    "patch": "PATCH",
    "head": "HEAD",
    "options": "OPTIONS",
    "trace": "TRACE",
}
_APP_CLASSES = frozenset({"FastAPI", "Starlette", "APIRouter", "Router"})
# Attribute calls that talk to a database (or another backing service) when made on a name.
_DB_CALLS = frozenset(
    {"execute", "exec", "connect", "begin", "scalar", "scalars", "ping", "fetch", "fetchval",
     "fetchrow", "fetchone", "fetchall", "query", "run_sync", "get_bind", "acquire", "exists"}
)  # fmt: skip
_DB_ANNOTATIONS = (
    "Session",
    "AsyncSession",
    "Connection",
    "AsyncConnection",
    "Engine",
    "AsyncEngine",
    "Pool",
)
# Calls that cannot reach a backing service: a handler made only of these checks nothing.
_PURE_CALLS = frozenset(
    {"dict", "list", "str", "int", "len", "JSONResponse", "Response", "PlainTextResponse",
     "HTTPException", "ORJSONResponse", "UJSONResponse", "datetime.now", "datetime.utcnow",
     "time.time", "time.monotonic", "os.getenv", "getattr", "isinstance", "bool", "float"}
)  # fmt: skip


@dataclass(frozen=True)
class RouterObj:
    """``app = FastAPI()`` / ``router = APIRouter(prefix=...)``, module-level or in a function."""

    name: str
    kind: str  # "app" | "router"
    prefix: str
    scope: str | None  # the enclosing function (an app factory), None at module level
    span: Span
    dynamic_routes: bool = False  # routes=[...] given to the constructor (Starlette style)


@dataclass(frozen=True)
class RouteDecl:
    owner: str  # the router/app variable
    scope: str | None
    methods: tuple[str, ...]
    path: str | None  # None: not a literal
    handler: str | None  # the function's name
    span: Span


@dataclass(frozen=True)
class IncludeDecl:
    owner: str
    scope: str | None
    target: str | None  # dotted source text of what is included/mounted (None: not a name)
    prefix: str | None  # None: not a literal
    kind: str  # "include" | "mount"
    in_loop: bool
    span: Span


@dataclass(frozen=True)
class HandlerInfo:
    """What a function does, as far as probes care."""

    name: str  # "f", or "Class.method"
    is_async: bool
    span: Span
    calls: tuple[str, ...]  # dotted callee names in its body
    depends: tuple[str, ...]  # Depends(<target>) of its parameters
    db_evidence: bool  # it talks to a database (a call, a session parameter, SELECT)
    only_pure_calls: bool  # every call is a known pure one (dict, JSONResponse, …)
    catches: bool  # a try/except whose handler neither raises nor returns an error
    mentions_failure_status: bool  # 503 / 5xx / SERVICE_UNAVAILABLE / raise anywhere
    returns: str | None = None  # a factory: the variable it returns


@dataclass(frozen=True)
class PythonModule:
    path: str
    imports: tuple[ImportBinding, ...] = ()
    settings: tuple[SettingsClass, ...] = ()
    engines: tuple[EngineCall, ...] = ()
    blocking: tuple[BlockingCall, ...] = ()
    bindings: tuple[ModuleBinding, ...] = ()
    url_functions: tuple[FunctionUrl, ...] = ()
    asyncio_extension: Span | None = None  # where sqlalchemy.ext.asyncio is used
    routers: tuple[RouterObj, ...] = ()
    routes: tuple[RouteDecl, ...] = ()
    includes: tuple[IncludeDecl, ...] = ()
    handlers: tuple[HandlerInfo, ...] = ()
    required_env: tuple[tuple[str, Span], ...] = ()  # os.environ["X"], REQUIRED_ENV_VARS = [...]
    # Class-like calls given keyword arguments: (class name, keywords, has `**kwargs`).
    init_calls: tuple[tuple[str, tuple[str, ...], bool], ...] = ()
    problems: tuple[ParseProblem, ...] = ()
    unread: str | None = None  # why no facts were read from a valid file (for --verbose)
    notes: tuple[str, ...] = ()  # how the facts were read (for --verbose)


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
        return _newer_syntax(path, text, failure, layout if layout is not None else _layout(text))
    if failure is not None or tree is None:
        return _invalid(path, failure)
    return _facts(path, tree, text)


# Operators, brackets and `elif`s a file may chain before it is "too deep to parse": far above
# anything written by hand, far below where a parser's memory or stack gives out.
MAX_NESTING = 1000
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


# --- how deep a text nests, and where its logical lines start (no parser involved) ----------

_SCAN = re.compile(
    r"(?P<string>(?<!\w)[rRbBuUfFtT]{0,2}(?:'''|\"\"\"|'|\"))"
    r"|(?P<comment>#[^\n]*)"
    r"|(?P<cont>\\\r?\n)"
    r"|(?P<newline>\n)"
    r"|(?P<open>[(\[{])"
    r"|(?P<close>[)\]}])"
    r"|(?P<reset>[,;]|(?<![=!<>:+\-*/%@&|^~])=(?!=))"
    r"|(?P<op>[-+*/%@&|^~<>.]|\b(?:not|await|lambda|if|else|yield|and|or|in|is)\b)"
)
_STRING_END = {
    "'''": re.compile(r"(?:[^\\]|\\.)*?'''", re.DOTALL),
    '"""': re.compile(r'(?:[^\\]|\\.)*?"""', re.DOTALL),
    "'": re.compile(r"(?:[^\\'\n]|\\.)*'?", re.DOTALL),
    '"': re.compile(r'(?:[^\\"\n]|\\.)*"?', re.DOTALL),
}
_NESTING_TOKENS = re.compile(
    r"[-+*/%@&|^~<>.(\[{]|\b(?:not|await|lambda|if|else|yield|and|or|in|is)\b"
)
_LINE_HEAD = re.compile(r"[ \t\f]*(elif\b)?")
_PREFIX = "rRbBuUfFtT"


@dataclass
class _Layout:
    depth: int = 0  # the deepest nesting estimate (an upper bound of the syntax tree's depth)
    depth_line: int = 1
    depth_what: str = "an expression"
    starts: list[int] = field(default_factory=lambda: [1])  # lines that begin a logical line
    lines: int = 1

    def note(self, value: int, line: int, what: str) -> None:
        if value > self.depth:
            self.depth, self.depth_line, self.depth_what = value, line, what

    def logical(self, line: int) -> tuple[int, int]:
        """The first and last physical line of the logical line that holds ``line``."""
        index = max(bisect.bisect_right(self.starts, line) - 1, 0)
        first = self.starts[index]
        following = self.starts[index + 1] if index + 1 < len(self.starts) else self.lines + 1
        return first, max(first, following - 1)


def _may_nest_deeply(text: str) -> bool:
    """Whether :func:`_layout` could find ``text`` too deep: a sound pre-test at C speed.

    Every level of its estimate is an operator, keyword operator or `elif` (one each) or a
    bracket (two), wherever it stands; a text with fewer of them than half the limit cannot
    reach it, and then the character-by-character scan (a fifth of the parse time of a typical
    module) is skipped. Strings and comments are counted too: over-counting only means a scan.
    """
    if len(text) < MAX_NESTING:
        return False
    return (
        2 * len(_NESTING_TOKENS.findall(text)) + 1 >= MAX_NESTING
        or text.count("elif") >= MAX_NESTING
    )


def _layout(text: str) -> _Layout:
    """Estimate, without a parser, how deep the syntax tree of ``text`` nests.

    Every operator, keyword operator and bracket can add a level (a bracket two: its contents,
    and the call or subscript it may be); a comma, semicolon, `=` or
    the end of a logical line ends the chain at its bracket level. The estimate is the sum over
    the open bracket levels of the chain at each, plus the brackets themselves; an f-string
    counts every operator and bracket inside it (its braces hold expressions). A run of `elif`
    (each one nests the next in the tree) counts too. Over-counting is fine: the limit is far
    above real code. It also records where logical lines start, for the fallback below.
    """
    out = _Layout()
    out.lines = text.count("\n") + 1
    if len(text) < MAX_NESTING:  # every level costs at least one character
        out.starts = list(range(1, out.lines + 1))
        return out
    chains = [0]  # the chain length at each open bracket level
    total = 0  # sum(chains) + len(chains) - 1: the estimate where the scan is
    line = 1
    elifs: dict[int, int] = {}  # indentation -> `elif`s in a row at it
    starts = [1]
    pos = 0

    def line_head(at: int) -> None:
        head = _LINE_HEAD.match(text, at)
        if head is None:  # pragma: no cover - the pattern matches the empty string
            return
        is_elif = head.group(1) is not None
        indent = head.end(0) - at - (4 if is_elif else 0)
        if text[head.end(0) : head.end(0) + 1] in ("", "\n", "#") and not is_elif:
            return  # a blank or comment line ends no chain
        for deeper in [i for i in elifs if i >= indent and not is_elif]:
            del elifs[deeper]
        if is_elif:
            elifs[indent] = elifs.get(indent, 0) + 1
            out.note(elifs[indent], line, "an if/elif chain")

    line_head(0)
    while True:
        match = _SCAN.search(text, pos)
        if match is None:
            break
        kind = match.lastgroup
        pos = match.end()
        if kind == "string":
            opener = match.group()
            quote = opener.lstrip(_PREFIX)
            end = _STRING_END[quote].match(text, pos)
            body_end = end.end() if end is not None else len(text)
            if any(c in "fFtT" for c in opener[: len(opener) - len(quote)]):
                inner = len(_NESTING_TOKENS.findall(text, pos, body_end))
                out.note(total + inner, line, "an expression")
            line += text.count("\n", pos, body_end)
            pos = body_end
        elif kind == "newline" or kind == "cont":
            line += 1
            if kind == "newline" and len(chains) == 1:
                chains[0] = 0
                total = 0
                starts.append(line)
                line_head(pos)
        elif kind == "open":  # a level, and a link in the chain around it (`f()()()`)
            chains[-1] += 1
            chains.append(0)
            total += 2
            out.note(total, line, "an expression")
        elif kind == "close":
            if len(chains) > 1:
                total -= chains.pop() + 1
        elif kind == "reset":
            total -= chains[-1]
            chains[-1] = 0
        elif kind == "op":
            chains[-1] += 1
            total += 1
            out.note(total, line, "an expression")
    out.starts = starts
    return out


# --- syntax newer than this interpreter's parser ---------------------------------------------

# libcst (whose grammar tracks newer Pythons) only ever sees one logical line at a time, small
# and shallow: its native parser is superlinear on long chains and crashes on deep ones.
FALLBACK_LINE_BYTES = 4096
FALLBACK_LINE_NESTING = 300
FALLBACK_BUDGET = 64 * 1024  # bytes handed to libcst per file
_FALLBACK_ROUNDS = 4  # re-parses of the file with the newer statements simplified
_NEWER_CANDIDATE = re.compile(
    r"(?m)^[ \t]*(?:type[ \t]+\w|(?:async[ \t]+)?def[ \t]+\w+[ \t]*\[|class[ \t]+\w+[ \t]*\[)"
)
_TYPE_PARAMS = re.compile(r"[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+\w+[ \t]*(?=\[)")
_FIRST_WORD = re.compile(r"[ \t\f]*(\w*)")

# What was handed to libcst in this process (the regression tests bound it by counting).
fallback_stats = {"bytes": 0, "calls": 0}


def _newer_syntax(path: str, text: str, error: SyntaxError, layout: _Layout) -> PythonModule:
    """A file ``ast`` rejects: valid newer Python (PEP 695 generics, ``type X = …``, PEP 758
    ``except A, B:``) or a real mistake (PF001)?

    Each rejected logical line is checked alone with libcst, then simplified to something this
    interpreter reads (type parameters blanked, other statements replaced by a shell) and the
    file parsed again, so the rest of it still yields its facts. Line numbers never move.
    """
    lines = text.split("\n")
    budget = [FALLBACK_BUDGET]
    simplified: set[int] = set()
    # Round one also takes every line that looks like PEP 695: one re-parse usually does.
    pending = {error.lineno or 1}
    for match in _NEWER_CANDIDATE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        if layout.logical(line)[0] == line:  # not a line inside a string or brackets
            pending.add(line)
    for _ in range(_FALLBACK_ROUNDS):
        for line in sorted(pending):
            first, last = layout.logical(line)
            if first in simplified:
                continue
            region = lines[first - 1 : last]
            verdict = _newer_accepts("\n".join(region), budget)
            if verdict:
                lines[first - 1 : last] = _simplified(region)
                simplified.add(first)
            elif line == (error.lineno or 1):
                if verdict is None:  # valid so far, and more newer syntax than is checked
                    return PythonModule(path, unread=_TOO_MUCH_NEWER)
                return _invalid(path, error)
        tree, failure = _ast(path, "\n".join(lines))
        if tree is not None:
            listed = ", ".join(str(n) for n in sorted(simplified))
            note = (
                f"syntax newer than Python {_HOST} (line {listed}, checked with libcst): "
                "read without those constructs"
            )
            return _facts(path, tree, text, (note,))
        if not isinstance(failure, SyntaxError) or _TOO_DEEP.search(failure.msg or ""):
            return _invalid(path, failure)
        if layout.logical(failure.lineno or 1)[0] in simplified:
            return PythonModule(
                path, unread=f"syntax newer than Python {_HOST} that preflight cannot simplify"
            )
        error = failure
        pending = {failure.lineno or 1}
    return PythonModule(path, unread=_TOO_MUCH_NEWER)


_TOO_MUCH_NEWER = (
    f"more statements in syntax newer than Python {_HOST} than preflight checks "
    f"({FALLBACK_BUDGET // 1024} KiB per file)"
)


def _first_word(statement: str) -> str:
    match = _FIRST_WORD.match(statement)
    return match.group(1) if match is not None else ""


def _newer_accepts(statement: str, budget: list[int]) -> bool | None:
    """Whether libcst parses one logical line (made a whole module); None: the file's budget
    is spent, so it was not asked. A line too long or too deep for it is not newer syntax."""
    size = len(statement.encode("utf-8", "surrogatepass"))
    if size > FALLBACK_LINE_BYTES:
        return False
    if size > budget[0]:
        return None
    if len(_NESTING_TOKENS.findall(statement)) > FALLBACK_LINE_NESTING:
        return False
    try:
        import libcst
    except ImportError:  # pragma: no cover - libcst is a dependency
        return False
    body = statement.lstrip(" \t\f")
    word = _first_word(body)
    before = {
        "except": "try:\n    pass\n",
        "finally": "try:\n    pass\n",
        "elif": "if x:\n    pass\n",
        "else": "if x:\n    pass\n",
    }.get(word, "")
    candidates = [before + body + "\n", before + body + "\n    pass\n"]
    if _is_header(body):
        candidates.reverse()
    if word == "case":
        candidates = ["match x:\n" + textwrap.indent(c, "    ") for c in candidates]
    for candidate in candidates:
        if _ast("<statement>", candidate)[0] is not None:
            return False  # this interpreter reads it: whatever is wrong is not new syntax
    for candidate in candidates:
        cost = len(candidate.encode("utf-8", "surrogatepass"))
        if cost > budget[0]:
            return None
        budget[0] -= cost
        fallback_stats["bytes"] += cost
        fallback_stats["calls"] += 1
        try:
            libcst.parse_module(candidate)
        except Exception:  # libcst raises its own ParserSyntaxError, and others on odd input
            continue
        return True
    return False


def _is_header(statement: str) -> bool:
    """Whether a logical line opens an indented block (ends with `:`, comments aside)."""
    last = statement.rstrip().rsplit("\n", 1)[-1]
    return re.sub(r"#[^'\"]*$", "", last).rstrip().endswith(":")


def _simplified(region: list[str]) -> list[str]:
    """The same lines, readable by this interpreter: a generic def/class loses its type
    parameters (blanked, so columns stay), anything else becomes a shell of its kind."""
    head = region[0]
    generic = _TYPE_PARAMS.match(head)
    if generic is not None:
        joined = "\n".join(region)
        depth = 0
        for index in range(generic.end(), len(joined)):
            depth += {"[": 1, "]": -1}.get(joined[index], 0)
            if depth == 0:
                blank = "".join("\n" if c == "\n" else " " for c in joined[generic.end() : index])
                return (joined[: generic.end()] + blank + " " + joined[index + 1 :]).split("\n")
    indent = head[: len(head) - len(head.lstrip(" \t\f"))]
    body = head[len(indent) :]
    word = _first_word(body)
    header = _is_header("\n".join(region))
    shells = {
        "except": "except Exception:",
        "elif": "elif True:",
        "else": "else:",
        "finally": "finally:",
        "try": "try:",
        "case": "case _:",
    }
    named = re.match(r"(async[ \t]+)?(def|class)[ \t]+(\w+)", body)
    if named is not None:
        is_async, kind, name = named.groups()
        shell = (
            f"class {name}:" if kind == "class" else f"{'async ' if is_async else ''}def {name}():"
        )
        return [indent + shell + ("" if header else " pass")] + [""] * (len(region) - 1)
    if header:
        shell = shells.get(word, "if True:")
    else:
        shell = shells[word] + " pass" if word in shells else "pass"
    return [indent + shell] + [""] * (len(region) - 1)


def _span(path: str, node: ast.AST) -> Span:
    line = getattr(node, "lineno", 1)
    col = getattr(node, "col_offset", 0) + 1
    end_line = getattr(node, "end_lineno", None) or line
    end_col = (getattr(node, "end_col_offset", None) or (col - 1)) + 1
    return Span(path, line, col, end_line, end_col)


def dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _string(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


_ROUTING = re.compile(r"include_router|\.mount\(|add_api_route|add_route")
# `Settings(secret_key=...)`, `Settings(**kwargs)`: a class-like call given keywords
_INIT_CALL = re.compile(r"\b[A-Z]\w*\((?:[^)]*=|\s*\*\*)")


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement, nested ones included, without visiting expressions (imports are
    statements, so this finds them at a fraction of ``ast.walk``'s cost)."""
    stack = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        for name in ("body", "orelse", "finalbody"):
            children = getattr(node, name, None)
            if isinstance(children, list):
                stack.extend(reversed([c for c in children if isinstance(c, ast.stmt)]))
        for handler in getattr(node, "handlers", ()):
            stack.extend(reversed(handler.body))
        for case in getattr(node, "cases", ()):
            stack.extend(reversed(case.body))


def _strings(node: ast.AST | None) -> tuple[str, ...]:
    if _string(node) is not None:
        return (_string(node) or "",)
    if isinstance(node, (ast.List, ast.Tuple)):
        return tuple(s for s in (_string(e) for e in node.elts) if s is not None)
    return ()


def _type_constraints(annotation: ast.expr) -> list[tuple[str, object]]:
    """Constraints a type annotation puts on an environment value: Literal choices, int, bool."""
    node = annotation
    if isinstance(node, ast.Subscript) and (dotted(node.value) or "").endswith("Annotated"):
        inner = node.slice
        node = inner.elts[0] if isinstance(inner, ast.Tuple) and inner.elts else node
    if isinstance(node, ast.Subscript) and (dotted(node.value) or "").endswith("Literal"):
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        choices = tuple(i.value for i in items if isinstance(i, ast.Constant))
        if choices and all(isinstance(c, str) for c in choices):
            return [("literal", choices)]
        return []
    name = dotted(node)
    if name in ("int", "PositiveInt", "NonNegativeInt"):
        return [("type", "int")]
    if name in ("float", "PositiveFloat"):
        return [("type", "float")]
    if name == "bool":
        return [("type", "bool")]
    return []


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


class _Extractor:
    def __init__(self, path: str, tree: ast.Module, text: str = "") -> None:
        self.path = path
        self.tree = tree
        self.text = text
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {
            node.name: node
            for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
        self._rewrites: dict[tuple[int, int], list[UrlRewrite]] = {}

    def span(self, node: ast.AST) -> Span:
        return _span(self.path, node)

    def module(self) -> PythonModule:
        # Each extractor walks the tree; one whose facts cannot occur in this text is skipped
        # (most modules of a service are models and schemas: no engine, no environ, no routers).
        text = self.text
        lowered = text.lower()
        imports = self.imports()
        settings = tuple(self.settings_classes())
        engines: list[EngineCall] = []
        blocking: list[BlockingCall] = []
        if not text or any(w in lowered for w in ("engine", "session", ".connect(", ".begin(")):
            engines, blocking = self.engines_and_blocking()
        web = _WebExtractor(self, scan_calls=not text or _ROUTING.search(text) is not None)
        web.run()
        needs_env = not text or "environ" in text or "REQUIRED" in text.upper()
        needs_init = not text or _INIT_CALL.search(text) is not None
        needs_urls = not text or any(w in lowered for w in ("url", "dsn", "database"))
        return PythonModule(
            self.path,
            imports=imports,
            settings=settings,
            engines=tuple(engines),
            blocking=tuple(blocking),
            bindings=tuple(self.bindings()),
            url_functions=tuple(self.url_functions()) if needs_urls else (),
            asyncio_extension=self.asyncio_extension(imports),
            routers=tuple(web.routers),
            routes=tuple(web.routes),
            includes=tuple(web.includes),
            handlers=tuple(web.handlers),
            required_env=tuple(self.required_env()) if needs_env else (),
            init_calls=tuple(self.init_calls()) if needs_init else (),
        )

    def required_env(self) -> list[tuple[str, Span]]:
        """Variables the code cannot start without: module-level ``os.environ["X"]`` (read at
        import) and required-name lists such as the seed's ``REQUIRED_ENV_VARS = [...]``."""
        out: list[tuple[str, Span]] = []
        module_level = [
            n
            for n in self.tree.body
            if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        ]
        guarded: set[int] = set()  # reads inside `try: ... except KeyError` may be absent
        for statement in module_level:
            for child in ast.walk(statement):
                if isinstance(child, ast.Try) and child.handlers:
                    guarded.update(id(n) for b in child.body for n in ast.walk(b))
        for node in (child for statement in module_level for child in ast.walk(statement)):
            if id(node) in guarded:
                continue
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.ctx, ast.Load)
                and (dotted(node.value) or "").endswith("environ")
            ):
                name = _string(node.slice)
                if name:
                    out.append((name, self.span(node)))
        for node in self.tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                listed = isinstance(node.value, (ast.List, ast.Tuple, ast.Set))
                if listed and isinstance(target, ast.Name) and "REQUIRED" in target.id.upper():
                    assert isinstance(node.value, (ast.List, ast.Tuple, ast.Set))
                    for element in node.value.elts:
                        name = _string(element)
                        if name:
                            out.append((name, self.span(element)))
        return out

    def init_calls(self) -> list[tuple[str, tuple[str, ...], bool]]:
        out: list[tuple[str, tuple[str, ...], bool]] = []
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call) and node.keywords:
                name = (dotted(node.func) or "").rsplit(".", 1)[-1]
                if name[:1].isupper():
                    keywords = tuple(k.arg for k in node.keywords if k.arg is not None)
                    out.append((name, keywords, any(k.arg is None for k in node.keywords)))
        return out

    # imports -------------------------------------------------------------------------------

    def imports(self) -> tuple[ImportBinding, ...]:
        out: list[ImportBinding] = []
        for node in _statements(self.tree.body):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.split(".")[0]
                    module = alias.name if alias.asname else alias.name.split(".")[0]
                    out.append(ImportBinding(local, module, None, 0, self.span(node)))
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if alias.name == "*":
                        continue
                    out.append(
                        ImportBinding(
                            alias.asname or alias.name,
                            node.module or "",
                            alias.name,
                            node.level,
                            self.span(node),
                        )
                    )
        return tuple(out)

    def asyncio_extension(self, imports: tuple[ImportBinding, ...]) -> Span | None:
        for binding in imports:
            module = binding.module
            if module.startswith("sqlalchemy.ext.asyncio") or module.startswith(
                "sqlmodel.ext.asyncio"
            ):
                return binding.span
        return None

    # URL expressions and rewrites ----------------------------------------------------------

    def rewrites_in(self, node: ast.AST, depth: int = 0) -> list[UrlRewrite]:
        """Rewrites a function body (and the module functions it calls) applies to a URL.

        Called functions are followed two deep, each distinct callee once per body, and each
        (body, depth) answered once: a body calling `f` a thousand times, where `f` calls `g` a
        thousand times, walks three bodies, not a million."""
        key = (id(node), depth)
        if key not in self._rewrites:
            self._rewrites[key] = self._rewrites_in(node, depth)
        return self._rewrites[key]

    def _rewrites_in(self, node: ast.AST, depth: int) -> list[UrlRewrite]:
        out: list[UrlRewrite] = []
        handles = False
        followed: set[str] = set()
        for child in ast.walk(node):
            if isinstance(child, ast.Constant) and isinstance(child.value, str):
                handles = handles or "sslmode" in child.value or "channel_binding" in child.value
            if isinstance(child, ast.Attribute) and any(
                child.attr.startswith(marker) for marker in _LIBPQ_MARKERS
            ):
                handles = True
            if isinstance(child, ast.Call):
                rewrite = self.rewrite_of(child)
                if rewrite is not None:
                    out.append(rewrite)
                callee = dotted(child.func)
                if (
                    callee in self.functions
                    and callee not in followed
                    and depth < 2
                    and self.functions[callee] is not node
                ):
                    followed.add(callee)
                    out.extend(self.rewrites_in(self.functions[callee], depth + 1))
            if isinstance(child, ast.JoinedStr) and child.values:
                first = child.values[0]
                prefix = _string(first)
                if prefix and "://" in prefix:
                    out.append(UrlRewrite(self.span(child), drivername=prefix.split("://", 1)[0]))
        if handles:
            out.append(UrlRewrite(self.span(node), handles_libpq_params=True))
        return out

    def rewrite_of(self, call: ast.Call) -> UrlRewrite | None:
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr == "replace" and len(call.args) >= 2:
            old, new = _string(call.args[0]), _string(call.args[1])
            if old is not None and new is not None and ("://" in old or "://" in new):
                return UrlRewrite(self.span(call), old_prefix=old, new_prefix=new)
        if isinstance(func, ast.Attribute) and func.attr in ("set", "create", "_replace"):
            driver = _string(_keyword(call, "drivername") or _keyword(call, "scheme"))
            if driver is not None:
                return UrlRewrite(self.span(call), drivername=driver)
        if dotted(func) in ("re.sub", "sub") and len(call.args) >= 2:
            new = _string(call.args[1])
            if new is not None and "://" in new:
                return UrlRewrite(self.span(call), drivername=new.split("://", 1)[0])
        return None

    def url_expr(self, node: ast.AST) -> UrlExpr:
        """Follow an expression to where its URL comes from, collecting inline rewrites."""
        rewrites: list[UrlRewrite] = []
        current: ast.AST = node
        for _ in range(8):
            if isinstance(current, ast.Call):
                rewrite = self.rewrite_of(current)
                callee = dotted(current.func)
                if rewrite is not None and isinstance(current.func, ast.Attribute):
                    rewrites.append(rewrite)
                    current = current.func.value
                    continue
                if (
                    callee in ("str", "make_url", "sqlalchemy.engine.make_url", "URL")
                    and current.args
                ):
                    current = current.args[0]
                    continue
                if isinstance(current.func, ast.Attribute) and current.func.attr in (
                    "get_secret_value",
                    "unicode_string",
                    "render_as_string",
                    "strip",
                ):
                    current = current.func.value
                    continue
                env = self.env_read(current)
                if env is not None:
                    return UrlExpr(
                        "env", self.span(node), env=env, rewrites=tuple(reversed(rewrites))
                    )
                if callee is not None:
                    return UrlExpr(
                        "call", self.span(node), base=callee, rewrites=tuple(reversed(rewrites))
                    )
                break
            if isinstance(current, ast.Subscript):
                env = self.env_read(current)
                if env is not None:
                    return UrlExpr(
                        "env", self.span(node), env=env, rewrites=tuple(reversed(rewrites))
                    )
                break
            literal = _string(current)
            if literal is not None:
                return UrlExpr(
                    "literal", self.span(current), value=literal, rewrites=tuple(reversed(rewrites))
                )
            if isinstance(current, ast.Attribute):
                base = current.value
                base_name = dotted(base)
                if isinstance(base, ast.Call):
                    base_name = dotted(base.func)
                    base_name = f"{base_name}()" if base_name else None
                if base_name is not None:
                    return UrlExpr(
                        "setting",
                        self.span(node),
                        base=base_name,
                        attr=current.attr,
                        rewrites=tuple(reversed(rewrites)),
                    )
                break
            if isinstance(current, ast.Name):
                return UrlExpr(
                    "name", self.span(node), base=current.id, rewrites=tuple(reversed(rewrites))
                )
            break
        return UrlExpr("unknown", self.span(node), rewrites=tuple(reversed(rewrites)))

    def env_read(self, node: ast.AST) -> str | None:
        """``os.environ["X"]``, ``os.environ.get("X")``, ``os.getenv("X")`` → ``X``."""
        if isinstance(node, ast.Subscript) and (dotted(node.value) or "").endswith("environ"):
            return _string(node.slice)
        if isinstance(node, ast.Call):
            callee = dotted(node.func) or ""
            if callee.endswith(("environ.get", "getenv", "environ.setdefault")) and node.args:
                return _string(node.args[0])
        return None

    # settings classes ----------------------------------------------------------------------

    def settings_classes(self) -> list[SettingsClass]:
        out: list[SettingsClass] = []
        known: set[str] = set()
        for node in self.tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            bases = tuple(dotted(base) or "" for base in node.bases)
            if not any(b.endswith("BaseSettings") or b in known for b in bases):
                continue
            known.add(node.name)
            out.append(self.settings_class(node, bases))
        return out

    def settings_class(self, node: ast.ClassDef, bases: tuple[str, ...]) -> SettingsClass:
        prefix, case_sensitive = "", False
        env_file: tuple[str, ...] = ()
        secrets_dir: str | None = None
        nested: str | None = None
        v1: list[Span] = []
        for item in node.body:
            config_call: ast.Call | None = None
            if isinstance(item, (ast.Assign, ast.AnnAssign)):
                targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                if any(isinstance(t, ast.Name) and t.id == "model_config" for t in targets):
                    if isinstance(item.value, ast.Call):
                        config_call = item.value
                    elif isinstance(item.value, ast.Dict):
                        for key, value in zip(item.value.keys, item.value.values, strict=False):
                            if _string(key) == "env_prefix":
                                prefix = _string(value) or prefix
                            if _string(key) == "case_sensitive":
                                case_sensitive = (
                                    isinstance(value, ast.Constant) and value.value is True
                                )
            if config_call is not None:
                prefix = _string(_keyword(config_call, "env_prefix")) or prefix
                flag = _keyword(config_call, "case_sensitive")
                case_sensitive = isinstance(flag, ast.Constant) and flag.value is True
                env_file = _strings(_keyword(config_call, "env_file")) or env_file
                secrets_dir = _string(_keyword(config_call, "secrets_dir")) or secrets_dir
                nested = _string(_keyword(config_call, "env_nested_delimiter")) or nested
            if isinstance(item, ast.ClassDef) and item.name == "Config":
                v1.append(self.span(item))
                for inner in item.body:
                    if not isinstance(inner, ast.Assign):
                        continue
                    names = {t.id for t in inner.targets if isinstance(t, ast.Name)}
                    if "env_prefix" in names:
                        prefix = _string(inner.value) or prefix
                    if "case_sensitive" in names:
                        case_sensitive = (
                            isinstance(inner.value, ast.Constant) and inner.value.value is True
                        )
                    if "env_file" in names:
                        env_file = _strings(inner.value) or env_file
                    if "secrets_dir" in names:
                        secrets_dir = _string(inner.value) or secrets_dir
        fields: list[SettingsField] = []
        validators: dict[str, list[UrlRewrite]] = {}
        validator_spans: dict[str, Span] = {}
        derived: dict[str, tuple[str, tuple[UrlRewrite, ...], Span]] = {}
        for item in node.body:
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                name = item.target.id
                if name == "model_config" or name.startswith("_"):
                    continue
                fields.append(self.settings_field(item, name, prefix, case_sensitive))
            elif isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                decorators = [
                    (dotted(d.func) if isinstance(d, ast.Call) else dotted(d)) or ""
                    for d in item.decorator_list
                ]
                decorator_names = [d.rsplit(".", 1)[-1] for d in decorators]
                if "validator" in decorator_names or "root_validator" in decorator_names:
                    v1.append(self.span(item))
                if "field_validator" in decorator_names or "validator" in decorator_names:
                    for decorator in item.decorator_list:
                        if isinstance(decorator, ast.Call):
                            for arg in decorator.args:
                                target = _string(arg)
                                if target is not None:
                                    validators.setdefault(target, []).extend(self.rewrites_in(item))
                                    validator_spans.setdefault(target, self.span(item))
                if "property" in decorator_names or "computed_field" in decorator_names:
                    source = self.field_read(item)
                    if source is not None:
                        derived[item.name] = (
                            source,
                            tuple(self.rewrites_in(item)),
                            self.span(item),
                        )
        v1_import = next(
            (
                self.span(n)
                for n in self.tree.body
                if isinstance(n, ast.ImportFrom)
                and n.module == "pydantic"
                and any(a.name == "BaseSettings" for a in n.names)
            ),
            None,
        )
        return SettingsClass(
            node.name,
            self.span(node),
            bases,
            tuple(fields),
            prefix,
            case_sensitive,
            {k: tuple(v) for k, v in validators.items()},
            validator_spans,
            derived,
            tuple(v1),
            env_file=env_file,
            secrets_dir=secrets_dir,
            nested_delimiter=nested,
            v1_import=v1_import,
        )

    def field_read(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
        """The ``self.<field>`` a property reads (the first one)."""
        for child in ast.walk(function):
            if (
                isinstance(child, ast.Attribute)
                and isinstance(child.value, ast.Name)
                and child.value.id == "self"
            ):
                return child.attr
        return None

    def settings_field(
        self, item: ast.AnnAssign, name: str, prefix: str, case_sensitive: bool
    ) -> SettingsField:
        annotation = ast.unparse(item.annotation)
        value = item.value
        required = value is None
        default: str | None = None
        default_span: Span | None = None
        aliases: list[str] = []
        constraints: list[tuple[str, object]] = _type_constraints(item.annotation)
        if isinstance(value, ast.Call) and (dotted(value.func) or "").endswith("Field"):
            for key in ("min_length", "max_length", "pattern", "gt", "ge", "lt", "le"):
                node = _keyword(value, key)
                if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
                    constraints.append((key, node.value))
            first = value.args[0] if value.args else _keyword(value, "default")
            has_factory = _keyword(value, "default_factory") is not None
            ellipsis = isinstance(first, ast.Constant) and first.value is Ellipsis
            if (first is None and not has_factory) or ellipsis:
                required = True
            elif first is not None:
                default = _string(first)
                default_span = self.span(first) if default is not None else None
            for key in ("validation_alias", "alias", "env"):
                alias = _keyword(value, key)
                if alias is None:
                    continue
                if _string(alias) is not None:
                    aliases.append(_string(alias) or "")
                elif isinstance(alias, ast.Call) and (dotted(alias.func) or "").endswith(
                    "AliasChoices"
                ):
                    aliases.extend(s for s in (_string(a) for a in alias.args) if s)
                elif isinstance(alias, (ast.List, ast.Tuple, ast.Set)):
                    aliases.extend(s for s in (_string(a) for a in alias.elts) if s)
                break
        elif value is not None:
            default = _string(value)
            default_span = self.span(value) if default is not None else None
            if isinstance(value, ast.Constant) and value.value is Ellipsis:
                required = True
        env_names = tuple(aliases) if aliases else (prefix + name,)
        if not case_sensitive:
            env_names = tuple(n.lower() for n in env_names)
        secret = "Secret" in annotation
        return SettingsField(
            name,
            env_names,
            annotation,
            required,
            default,
            default_span,
            secret,
            self.span(item.target),
            tuple(constraints),
        )

    # engines, bindings, blocking calls ------------------------------------------------------

    def engines_and_blocking(self) -> tuple[list[EngineCall], list[BlockingCall]]:
        engines: list[EngineCall] = []
        blocking: list[BlockingCall] = []
        self._walk(self.tree, None, None, engines, blocking)
        return engines, blocking

    def _walk(
        self,
        node: ast.AST,
        function: str | None,
        async_def: ast.AsyncFunctionDef | None,
        engines: list[EngineCall],
        blocking: list[BlockingCall],
        target: str | None = None,
        awaited: bool = False,
    ) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:  # evaluated where the def is, not inside it
                self._walk(decorator, function, async_def, engines, blocking)
            inner = node if isinstance(node, ast.AsyncFunctionDef) else None
            for child in (node.args, *node.body):
                self._walk(child, node.name, inner, engines, blocking)
            return
        if isinstance(node, ast.Lambda):
            self._walk(node.body, function, None, engines, blocking)
            return
        if isinstance(node, ast.Await):
            self._walk(node.value, function, async_def, engines, blocking, awaited=True)
            return
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            name = None
            if len(targets) == 1:
                name = dotted(targets[0])
            self._walk(node.value, function, async_def, engines, blocking, target=name)
            for t in targets:
                self._walk(t, function, async_def, engines, blocking)
            return
        if isinstance(node, ast.Call):
            callee = dotted(node.func) or ""
            short = callee.rsplit(".", 1)[-1]
            if short in ENGINE_FACTORIES:
                engines.append(self.engine_call(node, short, target, function))
            elif async_def is not None and not awaited:
                call = self.blocking_call(node, async_def)
                if call is not None:
                    blocking.append(call)
            for child in ast.iter_child_nodes(node):
                self._walk(child, function, async_def, engines, blocking)
            return
        if isinstance(node, (ast.AsyncWith, ast.AsyncFor)):
            for child in ast.iter_child_nodes(node):
                awaited_item = isinstance(child, ast.withitem)
                self._walk(child, function, async_def, engines, blocking, awaited=awaited_item)
            return
        if isinstance(node, ast.withitem):
            self._walk(node.context_expr, function, async_def, engines, blocking, awaited=awaited)
            return
        for child in ast.iter_child_nodes(node):
            self._walk(child, function, async_def, engines, blocking)

    def engine_call(
        self, call: ast.Call, factory: str, target: str | None, function: str | None
    ) -> EngineCall:
        url_node = call.args[0] if call.args else _keyword(call, "url")
        # `**options` is kept as the key "**": its keywords are unknown.
        keywords = {k.arg or "**": ast.unparse(k.value) for k in call.keywords}
        connect_args = _keyword(call, "connect_args")
        keys: tuple[str, ...] | None = None
        if isinstance(connect_args, ast.Dict):
            keys = tuple(s for s in (_string(k) for k in connect_args.keys if k is not None) if s)
        elif isinstance(connect_args, ast.Call) and dotted(connect_args.func) == "dict":
            keys = tuple(k.arg for k in connect_args.keywords if k.arg)
        return EngineCall(
            factory,
            self.url_expr(url_node) if url_node is not None else None,
            keywords,
            keys,
            target if function is None else None,
            function,
            self.span(call),
        )

    def blocking_call(self, call: ast.Call, async_def: ast.AsyncFunctionDef) -> BlockingCall | None:
        func = call.func
        annotations = {
            arg.arg: ast.unparse(arg.annotation)
            for arg in (*async_def.args.args, *async_def.args.kwonlyargs)
            if arg.annotation is not None
        }
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            receiver = func.value.id
            if func.attr in _SYNC_ENGINE_METHODS | _SESSION_METHODS:
                return BlockingCall(
                    self.span(call), async_def.name, receiver, func.attr, annotations.get(receiver)
                )
        callee = dotted(func) or ""
        if callee.rsplit(".", 1)[-1] == "Session":
            engine = (
                dotted(call.args[0])
                if call.args
                else dotted(_keyword(call, "bind") or ast.Constant(None))
            )
            return BlockingCall(self.span(call), async_def.name, callee, "", None, engine)
        return None

    def bindings(self) -> list[ModuleBinding]:
        out: list[ModuleBinding] = []
        for node in self.tree.body:
            if not isinstance(node, (ast.Assign, ast.AnnAssign)) or not isinstance(
                node.value, ast.Call
            ):
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if len(targets) != 1 or not isinstance(targets[0], ast.Name):
                continue
            call = node.value
            callee = dotted(call.func)
            if callee is None:
                continue
            args = [dotted(a) for a in call.args]
            args.extend(dotted(k.value) for k in call.keywords if k.arg in ("bind", "engine"))
            out.append(
                ModuleBinding(targets[0].id, callee, tuple(a for a in args if a), self.span(node))
            )
        return out

    def url_functions(self) -> list[FunctionUrl]:
        out: list[FunctionUrl] = []
        for name, function in self.functions.items():
            returns = [
                n for n in ast.walk(function) if isinstance(n, ast.Return) and n.value is not None
            ]
            if len(returns) != 1:
                continue
            value = returns[0].value
            assert value is not None
            expr = self.url_expr(value)
            if expr.kind in ("setting", "env", "literal"):
                body_rewrites = tuple(
                    r for r in self.rewrites_in(function) if r not in expr.rewrites
                )
                expr = UrlExpr(
                    expr.kind,
                    expr.span,
                    expr.value,
                    expr.base,
                    expr.attr,
                    expr.env,
                    (*expr.rewrites, *body_rewrites),
                )
                out.append(FunctionUrl(name, expr, self.span(function)))
        return out


def _try_guards_a_call(node: ast.Try) -> bool:
    """The try body makes a call that may reach a backing service (not just logging)."""
    for child in (n for statement in node.body for n in ast.walk(statement)):
        if not isinstance(child, ast.Call):
            continue
        callee = (dotted(child.func) or "").lower()
        if isinstance(child.func, ast.Attribute) and child.func.attr in _DB_CALLS:
            return True
        if any(
            word in callee
            for word in (
                "db",
                "database",
                "session",
                "engine",
                "conn",
                "ping",
                "check",
                "pool",
                "redis",
                "cache",
            )
        ):
            return True
    return False


def _route_owner_and_method(decorator: ast.expr) -> tuple[str, str, ast.Call] | None:
    if not isinstance(decorator, ast.Call) or not isinstance(decorator.func, ast.Attribute):
        return None
    owner = dotted(decorator.func.value)
    method = decorator.func.attr
    if owner is None or (method not in _HTTP_METHODS and method not in ("api_route", "route")):
        return None
    return owner, method, decorator


class _WebExtractor:
    """Routers, routes and handlers of one module."""

    def __init__(self, extractor: _Extractor, scan_calls: bool = True) -> None:
        self.x = extractor
        self.scan_calls = scan_calls  # look for include_router/mount/add_api_route calls
        self.routers: list[RouterObj] = []
        self.routes: list[RouteDecl] = []
        self.includes: list[IncludeDecl] = []
        self.handlers: list[HandlerInfo] = []
        # try statement -> it guards a call and swallows the error: asked once per statement,
        # not once per enclosing function (nested defs each walk the try again otherwise)
        self._swallowing: dict[int, bool] = {}

    def run(self) -> None:
        self._body(self.x.tree.body, None, False, None)

    def _body(
        self, body: list[ast.stmt], scope: str | None, in_loop: bool, cls: str | None
    ) -> None:
        for statement in body:
            self._statement(statement, scope, in_loop, cls)

    def _statement(self, node: ast.stmt, scope: str | None, in_loop: bool, cls: str | None) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                found = _route_owner_and_method(decorator)
                if found is not None:
                    owner, method, call = found
                    self.routes.append(
                        RouteDecl(
                            owner,
                            scope,
                            self._methods(method, call),
                            self._path(call),
                            node.name,
                            self.x.span(node),
                        )
                    )
            self.handlers.append(self._handler(node, f"{cls}.{node.name}" if cls else node.name))
            self._body(node.body, node.name if cls is None else scope, in_loop, None)
            return
        if isinstance(node, ast.ClassDef):
            self._body(node.body, scope, in_loop, node.name)
            return
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            self._body(node.body, scope, True, cls)
            self._body(node.orelse, scope, in_loop, cls)
            return
        if isinstance(node, (ast.If, ast.With, ast.AsyncWith, ast.Try)):
            for field_name in ("body", "orelse", "finalbody"):
                self._body(getattr(node, field_name, []), scope, in_loop, cls)
            for handler in getattr(node, "handlers", []):
                self._body(handler.body, scope, in_loop, cls)
            return
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Call):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            callee = (dotted(node.value.func) or "").rsplit(".", 1)[-1]
            if len(targets) == 1 and isinstance(targets[0], ast.Name) and callee in _APP_CLASSES:
                kind = "router" if callee in ("APIRouter", "Router") else "app"
                prefix = _string(_keyword(node.value, "prefix")) or ""
                dynamic = _keyword(node.value, "routes") is not None
                self.routers.append(
                    RouterObj(targets[0].id, kind, prefix, scope, self.x.span(node), dynamic)
                )
        if self.scan_calls:
            for child in ast.walk(node):
                if isinstance(child, ast.Call):
                    self._call(child, scope, in_loop)

    def _call(self, call: ast.Call, scope: str | None, in_loop: bool) -> None:
        func = call.func
        if not isinstance(func, ast.Attribute):
            return
        owner = dotted(func.value)
        if owner is None:
            return
        if func.attr == "include_router" and call.args:
            prefix_node = _keyword(call, "prefix")
            prefix = "" if prefix_node is None else _string(prefix_node)
            self.includes.append(
                IncludeDecl(
                    owner,
                    scope,
                    dotted(call.args[0]),
                    prefix,
                    "include",
                    in_loop,
                    self.x.span(call),
                )
            )
        elif func.attr == "mount" and call.args:
            path = _string(call.args[0])
            app = call.args[1] if len(call.args) > 1 else _keyword(call, "app")
            target = dotted(app) if app is not None else None
            if isinstance(app, ast.Call):
                target = f"{dotted(app.func)}()"
            self.includes.append(
                IncludeDecl(owner, scope, target, path, "mount", in_loop, self.x.span(call))
            )
        elif func.attr in ("add_api_route", "add_route") and call.args:
            handler = (
                dotted(call.args[1])
                if len(call.args) > 1
                else dotted(_keyword(call, "endpoint") or ast.Constant(None))
            )
            methods_node = _keyword(call, "methods")
            methods: tuple[str, ...] = ("GET",)
            if isinstance(methods_node, (ast.List, ast.Tuple, ast.Set)):
                methods = tuple((_string(m) or "").upper() for m in methods_node.elts)
            self.routes.append(
                RouteDecl(owner, scope, methods, _string(call.args[0]), handler, self.x.span(call))
            )

    def _swallows(self, node: ast.Try) -> bool:
        if id(node) not in self._swallowing:
            self._swallowing[id(node)] = _try_guards_a_call(node) and not any(
                isinstance(n, ast.Raise) for h in node.handlers for n in ast.walk(h)
            )
        return self._swallowing[id(node)]

    def _methods(self, method: str, call: ast.Call) -> tuple[str, ...]:
        if method in _HTTP_METHODS:
            return (_HTTP_METHODS[method],)
        node = _keyword(call, "methods")
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return tuple((_string(m) or "").upper() for m in node.elts)
        return ("GET",)

    def _path(self, call: ast.Call) -> str | None:
        node = call.args[0] if call.args else _keyword(call, "path")
        return _string(node) if node is not None else None

    def _handler(self, node: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> HandlerInfo:
        calls: list[str] = []
        evidence = False
        pure = True
        # The body and parameters only: decorators (`@router.get(..., responses={503: ...})`)
        # run where the function is defined, not when it handles a request.
        inside = [n for part in (node.args, *node.body) for n in ast.walk(part)]
        for child in inside:
            if isinstance(child, ast.Call):
                callee = dotted(child.func)
                if isinstance(child.func, ast.Attribute) and child.func.attr in _DB_CALLS:
                    evidence = True
                if callee is not None:
                    calls.append(callee)
                if callee is None or (
                    callee not in _PURE_CALLS
                    and not callee.startswith(("logger.", "logging.", "log."))
                    and callee.rsplit(".", 1)[-1] not in _PURE_CALLS
                ):
                    pure = False
            if isinstance(child, ast.Constant) and isinstance(child.value, str):
                evidence = evidence or "select 1" in child.value.lower()
        depends: list[str] = []
        arguments = (*node.args.args, *node.args.kwonlyargs)
        defaults = [*node.args.defaults, *node.args.kw_defaults]
        for item in [*(a.annotation for a in arguments), *defaults]:
            if item is None:
                continue
            for child in ast.walk(item):
                if isinstance(child, ast.Call) and (dotted(child.func) or "").endswith("Depends"):
                    target = dotted(child.args[0]) if child.args else None
                    if target:
                        depends.append(target)
                        pure = False
            text = ast.unparse(item)
            if any(word in text for word in _DB_ANNOTATIONS):
                evidence = True
        catches = False
        failure = False
        for child in inside:
            if isinstance(child, ast.Raise):
                failure = True
            if isinstance(child, ast.Constant) and child.value in (503, 500, 502, 504):
                failure = True
            if isinstance(child, (ast.Name, ast.Attribute)):
                text = child.id if isinstance(child, ast.Name) else child.attr
                if "503" in text or "SERVICE_UNAVAILABLE" in text or "500" in text:
                    failure = True
            if isinstance(child, ast.Try) and child.handlers:
                catches = catches or self._swallows(child)
        returns = None
        for child in node.body:
            if isinstance(child, ast.Return) and isinstance(child.value, ast.Name):
                returns = child.value.id
        return HandlerInfo(
            name,
            isinstance(node, ast.AsyncFunctionDef),
            self.x.span(node),
            tuple(calls),
            tuple(depends),
            evidence,
            pure,
            catches,
            failure,
            returns,
        )
