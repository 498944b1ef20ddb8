"""Web facts of one module: routers and apps, routes, includes and mounts, and handlers."""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import TYPE_CHECKING

from preflight.parse.python.nodes import _keyword, _string, dotted, walk
from preflight.parse.python.results import (
    AppRun,
    HandlerInfo,
    IncludeDecl,
    RouteDecl,
    RouterObj,
    ViewClass,
)

if TYPE_CHECKING:
    from preflight.parse.python.modules import _Extractor

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
_APP_CLASSES = frozenset({"FastAPI", "Starlette", "Litestar", "APIRouter", "Router"})
_FLASK_APPS = frozenset({"Flask", "Quart", "APIFlask"})
_FLASK_BLUEPRINTS = frozenset({"Blueprint", "APIBlueprint"})
# A function parameter with one of these in its name may be a Flask app or blueprint.
_ROUTER_WORDS = ("app", "bp", "blueprint", "api", "server", "router")
# Methods whose arguments are routers by design, not a router handed to something else.
_ROUTING_METHODS = frozenset(
    {"register_blueprint", "include_router", "mount", "add_url_rule", "add_api_route", "add_route"}
)
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


def _try_guards_a_call(node: ast.Try) -> bool:
    """The try body makes a call that may reach a backing service (not just logging)."""
    for child in (n for statement in node.body for n in walk(statement)):
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
        self.views: list[ViewClass] = []
        self.runs: list[AppRun] = []
        self._run_scopes: list[tuple[int, str | None]] = []  # each run and its function
        self._factory_apps: set[str] = set()  # module-level names bound to `create_app()`
        text = extractor.text
        # Flask facts (blueprints, handoffs, `app.run`) are looked for where Flask may be used:
        # also a script that runs an app its factory makes elsewhere (`app = create_app()`
        # then `app.run(port=5000)`, with no word of Flask in the file)
        self.flaskish = not text or any(
            w in text for w in ("lask", "uart", "Blueprint", "create_app(")
        )
        self._params: dict[str, tuple[str, ...]] = {}  # function -> its parameters
        # try statement -> it guards a call and swallows the error: asked once per statement,
        # not once per enclosing function (nested defs each walk the try again otherwise)
        self._swallowing: dict[int, bool] = {}

    def run(self) -> None:
        self._body(self.x.tree.body, None, False, None)
        if any(scope is not None for _, scope in self._run_scopes):
            # a server started in `def main()` runs when the file is run if the module calls
            # `main()` at its top level (under `if __name__ == "__main__":` or not)
            called = _called_at_top_level(self.x.tree.body)
            for index, scope in self._run_scopes:
                if scope is not None:
                    as_script = scope in called
                    self.runs[index] = replace(
                        self.runs[index], as_script=as_script, function=scope
                    )

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
                            strict_slashes=_strict_slashes(call),
                        )
                    )
            if cls is None:
                self._params[node.name] = _params(node)
            self.handlers.append(self._handler(node, f"{cls}.{node.name}" if cls else node.name))
            self._body(node.body, node.name if cls is None else scope, in_loop, None)
            return
        if isinstance(node, ast.ClassDef):
            if cls is None:
                self._view_class(node)
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
            if scope is None and callee == "create_app" and isinstance(targets[0], ast.Name):
                self._factory_apps.add(targets[0].id)  # `server = create_app()`
            if len(targets) == 1 and isinstance(targets[0], ast.Name) and callee in _APP_CLASSES:
                kind = "router" if callee in ("APIRouter", "Router") else "app"
                prefix = _string(_keyword(node.value, "prefix")) or ""
                # Litestar takes its routes as `route_handlers=[...]`: not followed
                dynamic = _keyword(node.value, "routes") is not None or callee == "Litestar"
                builtin, maybe = _fastapi_builtin(node.value) if callee == "FastAPI" else ((), ())
                self.routers.append(
                    RouterObj(
                        targets[0].id,
                        kind,
                        prefix,
                        scope,
                        self.x.span(node),
                        dynamic,
                        cls=callee,
                        builtin=builtin,
                        builtin_maybe=maybe,
                    )
                )
            elif (
                len(targets) == 1
                and isinstance(targets[0], ast.Name)
                and callee in (_FLASK_APPS | _FLASK_BLUEPRINTS)
            ):
                self.routers.append(_flask_router(targets[0].id, callee, node, scope, self.x))
        if self.scan_calls:
            for child in walk(node):
                if isinstance(child, ast.Call):
                    self._call(child, scope, in_loop)

    def _call(self, call: ast.Call, scope: str | None, in_loop: bool) -> None:
        func = call.func
        if self.flaskish or self.routers:
            self._handoff(call, scope, in_loop)
        if not isinstance(func, ast.Attribute):
            return
        owner = dotted(func.value)
        if owner is None:
            return
        if owner == "uvicorn" and func.attr == "run":
            self._uvicorn_run(call, scope)
            return
        if self.flaskish and func.attr in ("register_blueprint", "add_url_rule", "run"):
            self._flask_call(call, func.attr, owner, scope, in_loop)
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

    def _flask_call(
        self, call: ast.Call, method: str, owner: str, scope: str | None, in_loop: bool
    ) -> None:
        """``register_blueprint``, ``add_url_rule`` and ``run`` on a Flask app or blueprint."""
        span = self.x.span(call)
        if method == "register_blueprint":
            node = call.args[0] if call.args else _keyword(call, "blueprint")
            if node is None:
                return
            target = dotted(node)
            if isinstance(node, ast.Call):
                callee = dotted(node.func)
                target = f"{callee}()" if callee and callee != "getattr" else None
            prefix_node = _keyword(call, "url_prefix")
            has_kwargs = any(k.arg is None for k in call.keywords)
            prefix: str | None = "" if prefix_node is None else _string(prefix_node)
            if has_kwargs and prefix_node is None:
                prefix = None  # `**options` may carry a url_prefix
            if isinstance(prefix_node, ast.Constant) and prefix_node.value is None:
                prefix, prefix_node = "", None  # url_prefix=None: the blueprint's own
            self.includes.append(
                IncludeDecl(
                    owner,
                    scope,
                    target,
                    prefix,
                    "blueprint",
                    in_loop,
                    span,
                    replaces_prefix=prefix_node is not None,
                )
            )
        elif method == "add_url_rule":
            rule = call.args[0] if call.args else _keyword(call, "rule")
            view = call.args[2] if len(call.args) > 2 else _keyword(call, "view_func")
            handler: str | None = None
            is_view = False
            if isinstance(view, ast.Call) and isinstance(view.func, ast.Attribute):
                if view.func.attr == "as_view":
                    handler, is_view = dotted(view.func.value), True
            elif view is not None:
                handler = dotted(view)
            methods_node = _keyword(call, "methods")
            methods: tuple[str, ...] = ("GET",)
            if isinstance(methods_node, (ast.List, ast.Tuple, ast.Set)):
                methods = tuple((_string(m) or "").upper() for m in methods_node.elts)
            self.routes.append(
                RouteDecl(
                    owner,
                    scope,
                    methods,
                    _string(rule),
                    handler,
                    span,
                    view=is_view,
                    methods_given=methods_node is not None,
                    strict_slashes=_strict_slashes(call),
                )
            )
        elif method == "run" and (
            self._is_router(owner, scope)
            or (scope is None and "app" in owner.lower() and "." not in owner)
            or owner in self._factory_apps
        ):
            port_node = call.args[1] if len(call.args) > 1 else _keyword(call, "port")
            host_node = call.args[0] if call.args else _keyword(call, "host")
            debug_node = call.args[2] if len(call.args) > 2 else _keyword(call, "debug")
            enabled = [k for k, v in _true_keywords(call) if k != "debug"]
            if isinstance(debug_node, ast.Constant) and debug_node.value is True:
                enabled.insert(0, "debug")
            self.runs.append(
                AppRun(
                    owner,
                    _port_text(port_node),
                    scope is None,
                    span,
                    host=_port_text(host_node),
                    enabled=tuple(enabled),
                    keywords=_keyword_names(call),
                )
            )
            self._run_scopes.append((len(self.runs) - 1, scope))

    def _uvicorn_run(self, call: ast.Call, scope: str | None) -> None:
        """``uvicorn.run(app, host=…, port=…, reload=…)``: the server a module starts."""
        target = call.args[0] if call.args else _keyword(call, "app")
        if target is None:
            return
        owner = _string(target) if _string(target) is not None else dotted(target)
        if owner is None:
            return
        self.runs.append(
            AppRun(
                owner,
                _port_text(_keyword(call, "port")),
                scope is None,
                self.x.span(call),
                host=_port_text(_keyword(call, "host")),
                server="uvicorn",
                enabled=tuple(k for k, _ in _true_keywords(call)),
                keywords=_keyword_names(call),
            )
        )
        self._run_scopes.append((len(self.runs) - 1, scope))

    def _is_router(self, name: str, scope: str | None) -> bool:
        return any(r.name == name and r.scope in (scope, None) for r in self.routers)

    def _handoff(self, call: ast.Call, scope: str | None, in_loop: bool) -> None:
        """A Flask app or blueprint handed to a call (``init_routes(app)``, ``Api(app)``): the
        callee may add routes to it."""
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in _ROUTING_METHODS:
            return
        params = self._params.get(scope or "", ())
        arguments = [(str(i), a) for i, a in enumerate(call.args)]
        arguments += [(k.arg, k.value) for k in call.keywords if k.arg is not None]
        for argument, node in arguments:
            if not isinstance(node, ast.Name):
                continue
            handed = node.id in params and any(w in node.id for w in _ROUTER_WORDS)
            if not (handed or self._is_flask(node.id, scope) or self._is_app(node.id, scope)):
                continue
            callee = dotted(func)
            self.includes.append(
                IncludeDecl(
                    node.id,
                    scope,
                    callee,
                    "",
                    "pass",
                    in_loop,
                    self.x.span(call),
                    argument=argument,
                )
            )

    def _is_app(self, name: str, scope: str | None) -> bool:
        """A FastAPI/Starlette app (not a router) of this scope: handed to a function of the
        project, it may get routes there (`_setup_routers(app, settings)`)."""
        return any(
            r.name == name and r.scope in (scope, None) and r.kind == "app" for r in self.routers
        )

    def _is_flask(self, name: str, scope: str | None) -> bool:
        return any(
            r.name == name and r.scope in (scope, None) and r.framework == "flask"
            for r in self.routers
        )

    def _view_class(self, node: ast.ClassDef) -> None:
        bases = tuple(b for b in (dotted(base) for base in node.bases) if b)
        http = tuple(
            _HTTP_METHODS[child.name]
            for child in node.body
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            and child.name in _HTTP_METHODS
        )
        methods: tuple[str, ...] | None = None
        for child in node.body:
            if (
                isinstance(child, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "methods" for t in child.targets)
                and isinstance(child.value, (ast.List, ast.Tuple, ast.Set))
            ):
                methods = tuple((_string(m) or "").upper() for m in child.value.elts)
        if not (http or methods is not None or any(b.endswith("View") for b in bases)):
            return
        self.views.append(ViewClass(node.name, bases, methods, http, self.x.span(node)))

    def _swallows(self, node: ast.Try) -> bool:
        if id(node) not in self._swallowing:
            self._swallowing[id(node)] = _try_guards_a_call(node) and not any(
                isinstance(n, ast.Raise) for h in node.handlers for n in walk(h)
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
        inside = [n for part in (node.args, *node.body) for n in walk(part)]
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
            for child in walk(item):
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
            _params(node),
        )


def _params(node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, ...]:
    return tuple(a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs))


def _strict_slashes(call: ast.Call) -> bool:
    node = _keyword(call, "strict_slashes")
    return not (isinstance(node, ast.Constant) and node.value is False)


def _flask_router(
    name: str, callee: str, node: ast.Assign | ast.AnnAssign, scope: str | None, x: _Extractor
) -> RouterObj:
    """``app = Flask(__name__)`` or ``bp = Blueprint("x", __name__, url_prefix="/api")``."""
    call = node.value
    assert isinstance(call, ast.Call)
    if callee in _FLASK_BLUEPRINTS:
        prefix_node = _keyword(call, "url_prefix")
        prefix = _string(prefix_node)
        dynamic = (
            prefix_node is not None
            and prefix is None
            and not (isinstance(prefix_node, ast.Constant) and prefix_node.value is None)
        )
        return RouterObj(
            name, "router", prefix or "", scope, x.span(node), dynamic, "flask", cls=callee
        )
    static: str | None = "/static"
    url_path = _keyword(call, "static_url_path")
    folder = _keyword(call, "static_folder")
    if url_path is not None:
        static = _string(url_path)
    elif isinstance(folder, ast.Constant) and folder.value is None:
        static = None
    elif folder is not None:
        text = _string(folder)
        static = "/" + text.rstrip("/").rsplit("/", 1)[-1] if text else None
    return RouterObj(name, "app", "", scope, x.span(node), False, "flask", static, cls=callee)


def _true_keywords(call: ast.Call) -> list[tuple[str, ast.expr]]:
    """The keywords a call gives a literal ``True`` (``reload=True``, ``use_reloader=True``)."""
    return [
        (k.arg, k.value)
        for k in call.keywords
        if k.arg is not None and isinstance(k.value, ast.Constant) and k.value.value is True
    ]


# FastAPI's constructor arguments that add documentation routes, with their defaults
# (fastapi/applications.py: `setup()` adds `docs_url` and `swagger_ui_oauth2_redirect_url` and
# `redoc_url` only when `openapi_url` is set, the redirect only when `docs_url` is)
_FASTAPI_DOCS = (
    ("openapi_url", "/openapi.json"),
    ("docs_url", "/docs"),
    ("swagger_ui_oauth2_redirect_url", "/docs/oauth2-redirect"),
    ("redoc_url", "/redoc"),
)


def _fastapi_builtin(call: ast.Call) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The documentation paths `FastAPI(...)` serves, and the default paths of those a
    computed argument (`docs_url=settings.docs_url`, `**options`) decides."""
    if any(k.arg is None for k in call.keywords):
        return (), tuple(default for _, default in _FASTAPI_DOCS)
    paths: dict[str, str | None] = {}
    computed: list[str] = []
    for name, default in _FASTAPI_DOCS:
        node = _keyword(call, name)
        if node is None:
            paths[name] = default
        elif isinstance(node, ast.Constant) and node.value is None:
            paths[name] = None
        elif _string(node) is not None:
            paths[name] = _string(node) or None
        else:
            paths[name] = None
            computed.append(default)
    if paths["openapi_url"] is None and "/openapi.json" not in computed:
        return (), ()
    if paths["docs_url"] is None and "/docs" not in computed:
        paths["swagger_ui_oauth2_redirect_url"] = None
    return tuple(p for p in paths.values() if p), tuple(computed)


def _keyword_names(call: ast.Call) -> tuple[str, ...]:
    return tuple(k.arg if k.arg is not None else "**" for k in call.keywords)


def _called_at_top_level(body: list[ast.stmt]) -> set[str]:
    """Names of functions the module calls outside any function or class (`main()`,
    `asyncio.run(main())`, `cli()` under ``if __name__ == "__main__":``)."""
    called: set[str] = set()
    stack = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(node, (ast.If, ast.With, ast.Try, ast.For, ast.While)):
            for field_name in ("body", "orelse", "finalbody"):
                stack.extend(getattr(node, field_name, []))
            for handler in getattr(node, "handlers", []):
                stack.extend(handler.body)
            continue
        for child in walk(node):
            if isinstance(child, ast.Call):
                for candidate in (child.func, *child.args):
                    name = candidate.id if isinstance(candidate, ast.Name) else None
                    if isinstance(candidate, ast.Call) and isinstance(candidate.func, ast.Name):
                        name = candidate.func.id
                    if name is not None:
                        called.add(name)
    return called


def _port_text(node: ast.expr | None) -> str | None:
    """An ``app.run`` port as a command line would say it (see :class:`AppRun`)."""
    if node is None:
        return None
    if isinstance(node, ast.Call) and dotted(node.func) == "int" and len(node.args) == 1:
        node = node.args[0]
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, str)):
        return str(node.value)
    if isinstance(node, ast.Call) and (dotted(node.func) or "") in (
        "os.environ.get",
        "os.getenv",
        "environ.get",
        "getenv",
    ):
        name = _string(node.args[0]) if node.args else None
        default = node.args[1] if len(node.args) > 1 else None
        if name is not None:
            if isinstance(default, ast.Constant) and isinstance(default.value, (int, str)):
                return f"${{{name}:-{default.value}}}"
            return f"${name}" if default is None else ""
    return ""
