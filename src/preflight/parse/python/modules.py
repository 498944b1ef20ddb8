"""Module facts: imports, settings classes, URL rewrites, engines, blocking calls, bindings.

``_Extractor`` walks one module's tree once per kind of fact; the web facts (routers, routes,
handlers) are read by :mod:`preflight.parse.python.web`, which it starts.
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace

from preflight.parse.python import django as _django
from preflight.parse.python.envreads import ENV_HINTS, env_facts
from preflight.parse.python.nodes import (
    _keyword,
    _span,
    _statements,
    _string,
    _strings,
    dotted,
    walk,
)
from preflight.parse.python.results import (
    BlockingCall,
    ConfigValue,
    EngineCall,
    FunctionUrl,
    ImportBinding,
    ModuleBinding,
    PythonModule,
    SettingsClass,
    SettingsField,
    UrlExpr,
    UrlRewrite,
)
from preflight.parse.python.web import _WebExtractor
from preflight.spans import Span

ENGINE_FACTORIES = frozenset({"create_engine", "create_async_engine"})
_SYNC_ENGINE_METHODS = frozenset({"connect", "begin", "execute", "raw_connection"})
_SESSION_METHODS = frozenset(
    {"exec", "execute", "commit", "query", "scalar", "scalars", "get", "flush", "refresh",
     "delete", "merge", "rollback", "close", "connection"}
)  # fmt: skip
_LIBPQ_MARKERS = ("sslmode", "channel_binding", "difference_update_query", "update_query_")

_ROUTING = re.compile(
    r"include_router|\.mount\(|add_api_route|add_route|add_url_rule|register_blueprint|lask|uart"
    r"|uvicorn\.run|FastAPI\(|Starlette\("  # an app handed to a function (`setup(app)`)
    r"|create_app\("  # `app = create_app()` then `app.run(…)` in a script: a factory's app
)
# gunicorn settings the rules read from a config file (gunicorn.conf.py, `-c file.py`)
_CONFIG_SETTINGS = frozenset(
    {"bind", "reload", "worker_class", "wsgi_app", "workers", "chdir", "worker_tmp_dir"}
)
_CONFIG_HINT = re.compile(r"^(?:bind|reload|worker_class|wsgi_app|worker_tmp_dir)\s*[:=]", re.M)
# `Settings(secret_key=...)`, `Settings(**kwargs)`: a class-like call given keywords
_INIT_CALL = re.compile(r"\b[A-Z]\w*\((?:[^)]*=|\s*\*\*)")


def _top_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements that run at import, in order: module level and the bodies of top-level
    ``if``/``try``/``with`` blocks (not functions or classes)."""
    out: list[ast.stmt] = []
    for node in body:
        if isinstance(node, (ast.If, ast.Try, ast.With)):
            out.append(node)
            for field_name in ("body", "orelse", "finalbody"):
                out.extend(_top_level(getattr(node, field_name, [])))
            for handler in getattr(node, "handlers", []):
                out.extend(_top_level(handler.body))
        else:
            out.append(node)
    return out


def _literal(node: ast.expr | None) -> tuple[str, ...] | None:
    """A literal setting as strings: a string, a list/tuple of strings, a bool or number."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bool, int, float)):
        return (str(node.value),)
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(item) for item in node.elts]
        if all(item is not None and len(item) == 1 for item in items):
            return tuple(item[0] for item in items if item is not None)
    return None


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
        self._assignments: dict[str, ast.expr] | None = None

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
        needs_env = not text or any(h in text for h in ENV_HINTS) or "REQUIRED" in text.upper()
        env = env_facts(self, imports) if needs_env else None
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
            views=tuple(web.views),
            runs=tuple(web.runs),
            config_values=tuple(self.config_values()) if _CONFIG_HINT.search(text) else (),
            required_env=tuple(env.reads) if env else (),
            env_defaults=tuple(env.defaults) if env else (),
            env_instances=tuple(env.instances.values()) if env else (),
            env_file_loads=tuple(env.loads) if env else (),
            env_sets=tuple(env.values) if env else (),
            url_constants=tuple(self.url_constants()) if needs_urls else (),
            init_calls=tuple(self.init_calls()) if needs_init else (),
            # Django: URL lists, settings, `application` (parse/python/django.py)
            django=_django.django_facts(self.path, self.tree)
            if not text or _django.NEEDS.search(text)
            else None,
            names=module_names(self.tree),
        )

    def init_calls(self) -> list[tuple[str, tuple[str, ...], bool]]:
        out: list[tuple[str, tuple[str, ...], bool]] = []
        for node in walk(self.tree):
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
        for child in walk(node):
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
                        "env",
                        self.span(node),
                        env=env,
                        rewrites=tuple(reversed(rewrites)),
                        default=self.env_default(current),
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
            if isinstance(current, ast.BoolOp) and isinstance(current.op, ast.Or):
                first, *rest = current.values  # `os.getenv("X") or DEFAULT_URL`
                env = self.env_read(first)
                if env is not None and len(rest) == 1:
                    return UrlExpr(
                        "env",
                        self.span(node),
                        env=env,
                        rewrites=tuple(reversed(rewrites)),
                        default=self.default_expr(rest[0]),
                    )
                break
            literal = self.constant_string(current)
            if literal is not None and (
                isinstance(current, ast.Constant) or "://" in literal
            ):  # a literal, or a URL built from module constants
                where = current
                if isinstance(current, ast.Name):
                    where = self.assignments().get(current.id, current)
                return UrlExpr(
                    "literal", self.span(where), value=literal, rewrites=tuple(reversed(rewrites))
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

    def env_default(self, call: ast.Call) -> UrlExpr | None:
        """What ``os.getenv("X", D)`` / ``os.environ.get("X", D)`` gives when X is unset."""
        callee = dotted(call.func) or ""
        if not callee.endswith(("environ.get", "getenv", "environ.setdefault")):
            return None
        default = call.args[1] if len(call.args) > 1 else _keyword(call, "default")
        return self.default_expr(default) if default is not None else None

    def default_expr(self, node: ast.expr) -> UrlExpr | None:
        expr = self.url_expr(node)
        return expr if expr.kind in ("literal", "name", "setting") else None

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
        known: dict[str, SettingsClass] = {}
        for node in self.tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            bases = tuple(dotted(base) or "" for base in node.bases)
            if not any(b.endswith("BaseSettings") or b in known for b in bases):
                continue
            # a base of this module (`class AppSettings(BaseSettings): model_config = …`) gives
            # its configuration to the classes that extend it, as pydantic does
            inherited = next((known[b] for b in bases if b in known), None)
            cls = self.settings_class(node, bases, inherited)
            known[node.name] = cls
            out.append(cls)
        return out

    def settings_class(
        self, node: ast.ClassDef, bases: tuple[str, ...], inherited: SettingsClass | None = None
    ) -> SettingsClass:
        prefix, case_sensitive = "", False
        env_file: tuple[str, ...] = ()
        secrets_dir: str | None = None
        nested: str | None = None
        if inherited is not None:
            prefix, case_sensitive = inherited.env_prefix, inherited.case_sensitive
            env_file, secrets_dir = inherited.env_file, inherited.secrets_dir
            nested = inherited.nested_delimiter
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
        checked: set[str] = set()
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
                if (
                    "model_validator" in decorator_names
                    or "root_validator" in decorator_names
                    or item.name in ("model_post_init", "__init__", "__post_init__")
                ):
                    checked.update(_fields_read(item))
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
            checked=tuple(sorted(checked)),
        )

    def field_read(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
        """The ``self.<field>`` a property reads (the first one)."""
        for child in walk(function):
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
            wrapped = node.args[0] if short == "AsyncEngine" and node.args else None
            if isinstance(wrapped, ast.Call) and (dotted(wrapped.func) or "").endswith(
                "create_engine"
            ):
                # `AsyncEngine(create_engine(url))`: what `create_async_engine` does itself
                engines.append(self.engine_call(wrapped, "create_async_engine", target, function))
                for child in (*wrapped.args, *wrapped.keywords, *node.args[1:], *node.keywords):
                    self._walk(child, function, async_def, engines, blocking)
                return
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

    def config_values(self) -> list[ConfigValue]:
        """Module-level assignments of the gunicorn settings rules read, as literals (a
        settings file is data here: it is never imported, so a computed value stays None)."""
        out: list[ConfigValue] = []
        for node in _top_level(self.tree.body):
            if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
                out.append(ConfigValue("*", None, self.span(node)))
                continue
            if isinstance(node, (ast.Expr, ast.Assign, ast.AugAssign)):
                # `locals()[key] = v`, `globals().update(...)`: any setting may be set
                text = ast.dump(node)
                if "id='locals'" in text or "id='globals'" in text or "id='exec'" in text:
                    out.append(ConfigValue("*", None, self.span(node)))
                    continue
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets, value = [node.target], node.value
            elif isinstance(node, ast.AugAssign):
                targets, value = [node.target], None  # `bind += [...]`: computed
            else:
                continue
            for target in targets:
                if isinstance(target, ast.Name) and target.id in _CONFIG_SETTINGS:
                    out.append(ConfigValue(target.id, _literal(value), self.span(node)))
        return out

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
                n for n in walk(function) if isinstance(n, ast.Return) and n.value is not None
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
                expr = replace(expr, rewrites=(*expr.rewrites, *body_rewrites))
                out.append(FunctionUrl(name, expr, self.span(function)))
        return out

    def url_constants(self) -> list[FunctionUrl]:
        """Module-level ``NAME = <URL expression>``: a URL literal (or f-string/concatenation of
        constants), an environment read, a settings attribute."""
        out: list[FunctionUrl] = []
        for name, value in self.assignments().items():
            expr = self.url_expr(value)
            if expr.kind == "literal" and "://" not in (expr.value or ""):
                continue
            if expr.kind in ("literal", "env", "setting"):
                out.append(FunctionUrl(name, expr, self.span(value)))
        return out

    def assignments(self) -> dict[str, ast.expr]:
        """Module-level names assigned exactly once (``NAME = value``), with their value."""
        if self._assignments is None:
            counts: dict[str, int] = {}
            values: dict[str, ast.expr] = {}
            for node in self.tree.body:
                targets: list[ast.expr] = []
                value: ast.expr | None = None
                if isinstance(node, ast.Assign):
                    targets, value = node.targets, node.value
                elif isinstance(node, ast.AnnAssign):
                    targets, value = [node.target], node.value
                elif isinstance(node, ast.AugAssign):
                    targets = [node.target]
                for target in targets:
                    for name in walk(target):
                        if isinstance(name, ast.Name):
                            counts[name.id] = counts.get(name.id, 0) + 1
                if len(targets) == 1 and isinstance(targets[0], ast.Name) and value is not None:
                    values[targets[0].id] = value
            self._assignments = {k: v for k, v in values.items() if counts.get(k) == 1}
        return self._assignments

    def constant_string(self, node: ast.AST, depth: int = 0) -> str | None:
        """The text of a string built from literals and module constants, if it is one."""
        if depth > 8:
            return None
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.Name):
            value = self.assignments().get(node.id)
            return self.constant_string(value, depth + 1) if value is not None else None
        if isinstance(node, ast.JoinedStr):
            parts: list[str] = []
            for part in node.values:
                if isinstance(part, ast.FormattedValue):
                    if part.conversion != -1 or part.format_spec is not None:
                        return None
                    part = part.value
                text = self.constant_string(part, depth + 1)
                if text is None:
                    return None
                parts.append(text)
            return "".join(parts)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left = self.constant_string(node.left, depth + 1)
            right = self.constant_string(node.right, depth + 1) if left is not None else None
            return left + right if left is not None and right is not None else None
        return None


def _fields_read(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The names a validator reads: ``self.x``/``cls.x``/``model.x`` attributes and
    ``values["x"]``/``data.get("x")`` keys (any attribute or string key: over-reading only
    makes a rule quieter)."""
    names: set[str] = set()
    for child in walk(function):
        if isinstance(child, ast.Attribute) and isinstance(child.value, ast.Name):
            names.add(child.attr)
        elif isinstance(child, ast.Subscript):
            key = _string(child.slice)
            if key:
                names.add(key)
        elif isinstance(child, ast.Call) and child.args:
            key = _string(child.args[0])
            if key:
                names.add(key)
    return names


_OPEN_NAMESPACE = frozenset({"globals", "exec", "vars", "locals", "setattr"})


def module_names(tree: ast.Module) -> tuple[str, ...] | None:
    """Every name ``tree`` binds at module level, conditionally or not (a name bound only under
    `if` counts: it may be bound); None when the module may bind names no statement shows."""
    names: set[str] = set()
    for node in walk(tree):  # once over the module: what may bind any name, anywhere
        called = node.func if isinstance(node, ast.Call) else None
        if isinstance(called, ast.Name) and called.id in _OPEN_NAMESPACE:
            return None
        if isinstance(node, ast.Attribute) and node.attr in ("__dict__", "modules"):
            return None  # `sys.modules[__name__].x = …`, `mod.__dict__.update(…)`
        if isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
            names.add(node.target.id)  # a walrus anywhere: counted, it may be module level

    def bind(target: ast.AST) -> None:
        for node in walk(target):
            if isinstance(node, ast.Name):
                names.add(node.id)

    # compound statements nest at most MAX_NESTING deep (parse_python refuses deeper files)
    pending: list[ast.AST] = list(tree.body)
    while pending:
        statement = pending.pop()
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if statement.name == "__getattr__":
                return None
            names.add(statement.name)
            continue
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                names.add(alias.asname or alias.name.split(".")[0])
            continue
        if isinstance(statement, ast.ImportFrom):
            for alias in statement.names:
                if alias.name == "*":
                    return None
                names.add(alias.asname or alias.name)
            continue
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                bind(target)
        elif isinstance(statement, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
            bind(statement.target)
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            for item in statement.items:
                if item.optional_vars is not None:
                    bind(item.optional_vars)
        elif isinstance(statement, ast.ExceptHandler) and statement.name:
            names.add(statement.name)
        for field_name in ("body", "orelse", "finalbody", "handlers", "cases"):
            inner = getattr(statement, field_name, None)
            if isinstance(inner, list):
                pending.extend(item for item in inner if isinstance(item, ast.AST))
    names.update({"__name__", "__file__", "__doc__", "__spec__", "__path__", "__package__"})
    return tuple(sorted(names))  # sorted: the parse cache round-trips it exactly
