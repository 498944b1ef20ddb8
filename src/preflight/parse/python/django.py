"""Django facts of one module: URL lists, the settings app resolution reads, the WSGI/ASGI
``application``, class-based views and the methods function views are limited to.

Read statically like everything else: ``urlpatterns = [path("health/", views.health), …]``
becomes a tuple of :class:`DjangoPattern`; what cannot be followed (``router.urls``, a list
built by a call or a comprehension) is kept as an *opaque* entry, so the model can mark the app
partial and rules stay silent instead of guessing.
"""

from __future__ import annotations

import ast
import re

from preflight.parse.python.nodes import _keyword, _span, _string, dotted, walk
from preflight.parse.python.results import (
    DjangoFacts,
    DjangoPattern,
    DjangoSetting,
    DjangoUrlList,
    DjangoView,
)
from preflight.spans import Span

# Worth a look: a module with none of these holds no Django fact.
NEEDS = re.compile(
    r"urlpatterns|ROOT_URLCONF|APPEND_SLASH|MIDDLEWARE|DJANGO_SETTINGS_MODULE|import \*|"
    r"get_wsgi_application|get_asgi_application|WSGIHandler|ASGIHandler|as_view|django|"
    r"rest_framework|request\.path"
)
_ROUTE_CALLS = frozenset({"path", "re_path", "url"})
_SETTINGS = frozenset({"ROOT_URLCONF", "APPEND_SLASH", "MIDDLEWARE", "MIDDLEWARE_CLASSES"})
_APP_CALLS = frozenset(
    {"get_wsgi_application", "get_asgi_application", "WSGIHandler", "ASGIHandler"}
)
_HTTP = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
_REQUIRE = {
    "require_GET": ("GET", "HEAD"),
    "require_POST": ("POST",),
    "require_safe": ("GET", "HEAD"),
}
_DRF_ROUTERS = frozenset({"DefaultRouter", "SimpleRouter"})
_PATTERN_LIMIT = 5_000  # patterns read from one module; past it the rest is one opaque entry


def django_facts(path: str, tree: ast.Module) -> DjangoFacts | None:
    reader = _Reader(path)
    reader.module(tree)
    facts = DjangoFacts(
        tuple(reader.url_lists),
        tuple(reader.settings),
        tuple(reader.applications),
        reader.settings_default,
        tuple(reader.views),
        tuple(reader.view_methods),
        reader.reads_request_path,
        tuple(dict.fromkeys(reader.request_paths)),
        tuple(reader.interfaces),
    )
    return None if facts == DjangoFacts() else facts


class _Reader:
    def __init__(self, path: str) -> None:
        self.path = path
        self.url_lists: list[DjangoUrlList] = []
        self.settings: list[DjangoSetting] = []
        self.applications: list[tuple[str, Span]] = []
        self.interfaces: list[tuple[str, str]] = []
        self.settings_default: str | None = None
        self.views: list[DjangoView] = []
        self.view_methods: list[tuple[str, tuple[str, ...]]] = []
        self.reads_request_path = False
        self.request_paths: list[str] = []
        self.budget = _PATTERN_LIMIT
        # DRF routers made here: name -> (the patterns their registrations add, or None when
        # a registration is not followable, and whether it is a DefaultRouter with a root view)
        self.routers: dict[str, tuple[list[DjangoPattern] | None, bool, Span]] = {}

    def module(self, tree: ast.Module) -> None:
        self._body(tree.body)
        for name, (patterns, default, span) in self.routers.items():
            if not patterns:  # None: a prefix not followed; []: registered elsewhere, if at all
                why = "a ViewSet under a prefix that is not a literal" if patterns is None else (
                    "its ViewSets in another module (none here)"
                )  # fmt: skip
                entries: tuple[DjangoPattern, ...] = (
                    _opaque(span, f"`{name}.urls` (a router's URLs): it registers {why}"),
                )
            else:
                root = (DjangoPattern("route", "", False, span),) if default else ()
                entries = (*root, *patterns)
            self.url_lists.append(DjangoUrlList(f"{name}.urls", entries, span))
        for node in walk(tree):
            if isinstance(node, ast.ClassDef):
                self._class(node)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                methods = self._decorated_methods(node)
                if methods is not None:
                    self.view_methods.append((node.name, methods))
            elif isinstance(node, ast.Call):
                self._environ_call(node)
            elif isinstance(node, ast.Attribute) and node.attr in ("path", "path_info"):
                if (dotted(node.value) or "").endswith("request"):
                    self.reads_request_path = True
            elif isinstance(node, ast.Compare):
                self._path_compare(node)

    # module-level statements --------------------------------------------------------------

    def _body(self, body: list[ast.stmt]) -> None:
        for statement in body:
            if isinstance(statement, (ast.If, ast.Try, ast.With)):
                for name in ("body", "orelse", "finalbody"):
                    self._body(getattr(statement, name, []))
                for handler in getattr(statement, "handlers", []):
                    self._body(handler.body)
                continue
            if isinstance(statement, ast.ImportFrom) and any(
                a.name == "*" for a in statement.names
            ):
                self.settings.append(
                    DjangoSetting(
                        "*", statement.module or "", statement.level, _span(self.path, statement)
                    )
                )
                continue
            self._router(statement)
            self._assignment(statement)
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
                self._list_method(statement.value)

    def _router(self, node: ast.stmt) -> None:
        """``router = DefaultRouter()`` and ``router.register(r"pets", PetViewSet)``: each
        registration serves ``pets/`` and ``pets/<pk>/`` — and whatever ``@action``s the
        ViewSet adds under that prefix, so the prefix counts as served (a mount)."""
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call)
        ):
            callee = (dotted(node.value.func) or "").rsplit(".", 1)[-1]
            if callee in _DRF_ROUTERS:
                self.routers[node.targets[0].id] = (
                    [], callee != "SimpleRouter", _span(self.path, node)
                )  # fmt: skip
            return
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
            return
        call = node.value
        func = call.func
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
            return
        known = self.routers.get(func.value.id)
        if func.attr != "register" or known is None:
            return
        patterns, default, span = known
        prefix = _string(call.args[0]) if call.args else _string(_keyword(call, "prefix"))
        if patterns is None:
            return
        if prefix is None or any(ch in prefix for ch in "^$()[]{}\\?*+|<>"):
            self.routers[func.value.id] = (None, default, span)
            return
        target = dotted(call.args[1]) if len(call.args) > 1 else None
        where = _span(self.path, call)
        patterns.append(
            DjangoPattern("admin", prefix.strip("/") + "/", False, where, target=target)
        )

    def _assignment(self, node: ast.stmt) -> None:
        target: ast.expr | None = None
        value: ast.expr | None = None
        augmented = False
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
            target, value, augmented = node.target, node.value, True
        if not isinstance(target, ast.Name) or value is None:
            return
        name = target.id
        span = _span(self.path, node)
        if name in _SETTINGS and not augmented:
            self.settings.append(DjangoSetting(name, _setting_value(value), 0, span))
            return
        if _mentions_application(value):
            self.applications.append((name, span))
            self.interfaces.append((name, _interface(value)))
            return
        if name == "urlpatterns" or _looks_like_patterns(value):
            patterns = self._sequence(value)
            if augmented or any(u.name == name for u in self.url_lists):
                # `urlpatterns += [...]`: the list so far, then these
                patterns = (DjangoPattern("include", "", False, span, target=name), *patterns)
            self.url_lists.append(DjangoUrlList(name, patterns, span))

    def _list_method(self, call: ast.Call) -> None:
        """``urlpatterns.append(path(...))`` / ``urlpatterns.extend([...])``."""
        func = call.func
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
            return
        name = func.value.id
        if func.attr not in ("append", "extend", "insert") or not call.args:
            return
        if not (name == "urlpatterns" or any(u.name == name for u in self.url_lists)):
            return
        argument = call.args[-1]
        span = _span(self.path, call)
        added = (self._entry(argument),) if func.attr != "extend" else self._sequence(argument)
        previous = DjangoPattern("include", "", False, span, target=name)
        self.url_lists.append(DjangoUrlList(name, (previous, *added), span))

    # URL patterns -------------------------------------------------------------------------

    def _sequence(self, node: ast.expr) -> tuple[DjangoPattern, ...]:
        span = _span(self.path, node)
        if isinstance(node, (ast.List, ast.Tuple)):
            out: list[DjangoPattern] = []
            for element in node.elts:
                if isinstance(element, ast.Starred):
                    out.extend(self._sequence(element.value))
                else:
                    out.append(self._entry(element))
            return tuple(out)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return (*self._sequence(node.left), *self._sequence(node.right))
        if isinstance(node, ast.Call):
            callee = (dotted(node.func) or "").rsplit(".", 1)[-1]
            if callee in ("static", "staticfiles_urlpatterns"):
                return ()  # static files, served only with DEBUG on
            if callee in ("format_suffix_patterns",) and node.args:
                return self._sequence(node.args[0])
            if callee == "i18n_patterns":
                return (_opaque(span, "`i18n_patterns` puts a language prefix before its routes"),)
            if callee in ("list", "tuple") and node.args:
                return self._sequence(node.args[0])
            return (_opaque(span, f"URL patterns built by `{dotted(node.func) or 'a call'}()`"),)
        name = dotted(node)
        if name is not None:
            if name.endswith(".urls") and name[: -len(".urls")] in self.routers:
                return (DjangoPattern("include", "", False, span, target=name),)
            if name.endswith(".urls") and not name.endswith("site.urls"):
                return (_opaque(span, f"`{name}` (a router's URLs) is built at run time"),)
            return (DjangoPattern("include", "", False, span, target=name),)
        return (_opaque(span, "URL patterns built by an expression preflight does not follow"),)

    def _entry(self, node: ast.expr) -> DjangoPattern:
        span = _span(self.path, node)
        self.budget -= 1
        if self.budget < 0:
            return _opaque(span, "more URL patterns than preflight reads from one module")
        if not isinstance(node, ast.Call):
            return _opaque(span, "a URL pattern that is not a `path()` call")
        callee = (dotted(node.func) or "").rsplit(".", 1)[-1]
        if callee not in _ROUTE_CALLS:
            return _opaque(span, f"a URL pattern made by `{dotted(node.func) or 'a call'}()`")
        regex = callee != "path"
        route_node = node.args[0] if node.args else _keyword(node, "route")
        if route_node is None and regex:
            route_node = _keyword(node, "regex")
        route = _string(route_node)
        view = node.args[1] if len(node.args) > 1 else _keyword(node, "view")
        if view is None:
            return _opaque(span, "a URL pattern without a view")
        return self._view(view, route, regex, span)

    def _view(self, view: ast.expr, route: str | None, regex: bool, span: Span) -> DjangoPattern:
        if isinstance(view, ast.Call):
            callee = dotted(view.func) or ""
            short = callee.rsplit(".", 1)[-1]
            if short == "include":
                return self._include(view, route, regex, span)
            if short == "as_view" and isinstance(view.func, ast.Attribute):
                return DjangoPattern(
                    "route", route, regex, span, view=dotted(view.func.value), class_view=True
                )
            if view.args:  # csrf_exempt(views.health), login_required(View.as_view())
                inner = self._view(view.args[0], route, regex, span)
                if inner.kind == "route":
                    return inner
            return DjangoPattern("route", route, regex, span)
        if isinstance(view, ast.Tuple) and view.elts:  # (patterns, app_name, namespace)
            return self._include_target(view.elts[0], route, regex, span)
        name = dotted(view)
        if name is not None and name.endswith("site.urls"):
            return DjangoPattern("admin", route, regex, span, target=name)
        return DjangoPattern("route", route, regex, span, view=name)

    def _include(self, call: ast.Call, route: str | None, regex: bool, span: Span) -> DjangoPattern:
        argument = call.args[0] if call.args else _keyword(call, "arg")
        if argument is None:
            return _opaque(span, "an `include()` of nothing preflight reads")
        return self._include_target(argument, route, regex, span)

    def _include_target(
        self, argument: ast.expr, route: str | None, regex: bool, span: Span
    ) -> DjangoPattern:
        if isinstance(argument, ast.Tuple) and argument.elts:  # include((patterns, "ns"))
            return self._include_target(argument.elts[0], route, regex, span)
        module = _string(argument)
        if module is not None:
            return DjangoPattern(
                "include", route, regex, span, target=module, target_is_module=True
            )
        if isinstance(argument, (ast.List, ast.Tuple, ast.BinOp, ast.Call)):
            children = self._sequence(argument)
            return DjangoPattern("include", route, regex, span, children=children)
        name = dotted(argument)
        if name is not None and name.endswith("site.urls"):
            return DjangoPattern("admin", route, regex, span, target=name)
        if name is not None and name.endswith(".urls"):
            # `include(router.urls)`: a DRF router; `include(api.urls)`: maybe a module
            return DjangoPattern("include", route, regex, span, target=name)
        if name is not None:
            return DjangoPattern("include", route, regex, span, target=name)
        return DjangoPattern("opaque", route, regex, span, why="an `include()` of an expression")

    # settings, application, views ---------------------------------------------------------

    def _environ_call(self, call: ast.Call) -> None:
        """``os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")``."""
        func = call.func
        if not isinstance(func, ast.Attribute) or func.attr != "setdefault":
            return
        if not (dotted(func.value) or "").endswith("environ") or len(call.args) < 2:
            return
        if _string(call.args[0]) == "DJANGO_SETTINGS_MODULE":
            value = _string(call.args[1])
            if value and self.settings_default is None:
                self.settings_default = value

    def _class(self, node: ast.ClassDef) -> None:
        methods = tuple(
            item.name.upper()
            for item in node.body
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in _HTTP
        )
        bases = tuple(b for b in (dotted(base) for base in node.bases) if b)
        if methods or any(b.endswith(("View", "APIView", "ViewSet")) for b in bases):
            self.views.append(DjangoView(node.name, bases, methods, _span(self.path, node)))

    def _decorated_methods(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef
    ) -> tuple[str, ...] | None:
        for decorator in node.decorator_list:
            name = dotted(decorator.func if isinstance(decorator, ast.Call) else decorator) or ""
            short = name.rsplit(".", 1)[-1]
            if short in _REQUIRE and not isinstance(decorator, ast.Call):
                return _REQUIRE[short]
            if short in ("require_http_methods", "api_view") and isinstance(decorator, ast.Call):
                if not decorator.args:
                    return ("GET",) if short == "api_view" else None
                listed = decorator.args[0]
                if isinstance(listed, (ast.List, ast.Tuple, ast.Set)):
                    found = tuple(
                        (_string(e) or "").upper() for e in listed.elts if _string(e) is not None
                    )
                    if len(found) == len(listed.elts):
                        return found
                return None
            if short == "api_view":  # bare @api_view: GET only
                return ("GET",)
        return None

    def _path_compare(self, node: ast.Compare) -> None:
        sides = [node.left, *node.comparators]
        if not any(_is_request_path(side) for side in sides):
            return
        for side in sides:
            for child in walk(side):
                text = _string(child)
                if text is not None and text.startswith("/"):
                    self.request_paths.append(text)


def _is_request_path(node: ast.expr) -> bool:
    name = dotted(node) or ""
    if isinstance(node, ast.Call):  # request.get_full_path()
        name = dotted(node.func) or ""
    return name.endswith(("request.path", "request.path_info", "get_full_path"))


def _opaque(span: Span, why: str) -> DjangoPattern:
    return DjangoPattern("opaque", None, False, span, why=why)


def _setting_value(node: ast.expr) -> str | bool | tuple[str, ...] | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bool)):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_string(e) for e in node.elts]
        if all(item is not None for item in items):
            return tuple(item for item in items if item is not None)
    return None


_ASGI_CALLS = frozenset({"get_asgi_application", "ASGIHandler", "ProtocolTypeRouter"})
_WSGI_CALLS = frozenset({"get_wsgi_application", "WSGIHandler"})
# wrappers that turn one interface into the other (asgiref, a2wsgi)
_CONVERTERS = frozenset({"WsgiToAsgi", "AsgiToWsgi", "ASGIMiddleware", "WSGIMiddleware"})


def _interface(node: ast.expr) -> str:
    """ "asgi" or "wsgi": what every Django application call in ``node`` makes; "" when they
    differ or a converter between the two wraps one."""
    called = {
        (dotted(child.func) or "").rsplit(".", 1)[-1]
        for child in walk(node)
        if isinstance(child, ast.Call)
    }
    if called & _CONVERTERS:
        return ""
    asgi, wsgi = bool(called & _ASGI_CALLS), bool(called & _WSGI_CALLS)
    return "asgi" if asgi and not wsgi else "wsgi" if wsgi and not asgi else ""


def _mentions_application(node: ast.expr) -> bool:
    return any(
        isinstance(child, ast.Call) and (dotted(child.func) or "").rsplit(".", 1)[-1] in _APP_CALLS
        for child in walk(node)
    )


def _looks_like_patterns(node: ast.expr) -> bool:
    """A list whose first element is a ``path()``/``re_path()``/``url()`` call."""
    if isinstance(node, ast.BinOp):
        return _looks_like_patterns(node.left)
    if not isinstance(node, (ast.List, ast.Tuple)) or not node.elts:
        return False
    first = node.elts[0]
    return (
        isinstance(first, ast.Call)
        and (dotted(first.func) or "").rsplit(".", 1)[-1] in _ROUTE_CALLS
        and bool(first.args)
        and isinstance(first.args[0], ast.Constant)
    )
