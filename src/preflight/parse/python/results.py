"""What preflight reads from one Python module: the fact types a parse returns.

The model and the cache codec read these; the extractors (``modules``, ``web``) build them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from preflight.parse import ParseProblem
from preflight.spans import Span


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
    # "env": what the read falls back to when the variable is unset (`os.getenv("X", D)`):
    # a literal, or a "name" the model resolves (a module constant, perhaps imported)
    default: UrlExpr | None = None


@dataclass(frozen=True)
class EnvRead:
    """A variable the code reads at import time without a default: it cannot start without it."""

    name: str
    span: Span
    reader: str  # "os.environ" | "django-environ" | "decouple" | "list" (REQUIRED_ENV_VARS)
    text: str  # how the code reads it, for messages: `env.str("SECRET_KEY")`
    # A django-environ read through an `Env` imported from another module (`from .base import
    # env`): the imported name; the model keeps the read only if that module defines the Env
    # and its scheme gives the variable no default.
    imported: str | None = None


@dataclass(frozen=True)
class EnvDefault:
    """A variable the code reads at import with a literal string default
    (``os.environ.get("X", "dev")``, ``env("X", default="dev")``, ``config("X", default=…)``):
    the value it runs with when nothing provides the variable."""

    name: str
    default: str = field(repr=False)  # may be a real secret: never printed
    span: Span  # the default literal
    read: Span  # the whole read
    reader: str  # "os.environ" | "django-environ" | "decouple"
    text: str  # `os.environ.get("SECRET_KEY", …)`, for messages (the default never shown)


@dataclass(frozen=True)
class EnvInstance:
    """A module-level django-environ ``Env(...)`` and the variables its scheme gives a default."""

    name: str
    defaults: tuple[str, ...]
    span: Span
    open_scheme: bool = False  # `Env(**SCHEMA)`, `env.scheme.update(…)`: defaults unknown


@dataclass(frozen=True)
class EnvFileLoad:
    """The code loads an env file into its settings at import (``read_env``, ``load_dotenv``,
    python-decouple's ``config`` searching for ``.env``/``settings.ini``)."""

    span: Span
    reader: str  # "django-environ" | "decouple" | "dotenv"
    # The file names it may read (basenames); () when the path cannot be told.
    names: tuple[str, ...]
    search_up: bool  # also in each directory above the module (decouple, dotenv's find_dotenv)


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
    # fields a `model_validator`/`root_validator`/`model_post_init`/`__init__` of the class
    # reads (`self.secret_key`, `values["secret_key"]`): it may reject their values
    checked: tuple[str, ...] = ()

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


@dataclass(frozen=True)
class RouterObj:
    """``app = FastAPI()`` / ``router = APIRouter(prefix=...)``, module-level or in a function."""

    name: str
    kind: str  # "app" | "router"
    prefix: str
    scope: str | None  # the enclosing function (an app factory), None at module level
    span: Span
    dynamic_routes: bool = False  # routes=[...] given to the constructor (Starlette style)
    # "fastapi" (FastAPI/Starlette: prefixes add up, a trailing slash is redirected both ways)
    # or "flask" (Flask/Quart/Blueprint: a registration's url_prefix replaces the blueprint's,
    # `/x` is not reached by `/x/`)
    framework: str = "fastapi"
    static: str | None = None  # Flask: the static files' URL prefix (None: no static route)
    cls: str = ""  # the class that makes it: "FastAPI", "Starlette", "Litestar", "Flask", "Quart"
    # FastAPI: the documentation routes the app serves itself (`/openapi.json`, `/docs`,
    # `/docs/oauth2-redirect`, `/redoc` unless the constructor moves or disables them), and
    # the default paths of those a computed argument decides (it may serve them)
    builtin: tuple[str, ...] = ()
    builtin_maybe: tuple[str, ...] = ()


@dataclass(frozen=True)
class RouteDecl:
    owner: str  # the router/app variable
    scope: str | None
    methods: tuple[str, ...]
    path: str | None  # None: not a literal
    handler: str | None  # the function's name
    span: Span
    view: bool = False  # Flask: `handler` names a view class (`view_func=Cls.as_view("n")`)
    methods_given: bool = True  # False: no `methods=` (Flask: the view function's own, or GET)
    strict_slashes: bool = True  # Flask `strict_slashes=False`: `/x/` reaches `/x` too


@dataclass(frozen=True)
class IncludeDecl:
    owner: str
    scope: str | None
    target: str | None  # dotted source text of what is included/mounted (None: not a name)
    prefix: str | None  # None: not a literal
    kind: str  # "include" | "mount" | "blueprint" (register_blueprint) | "pass" (see below)
    in_loop: bool
    span: Span
    # "blueprint": `url_prefix=` was given, so it replaces the blueprint's own prefix
    replaces_prefix: bool = False
    # "pass": the router is handed to a call (`init_routes(app)`, `Api(app)`) as this argument
    # (a position "0", "1", … or a keyword name); `target` is the callee
    argument: str = ""


@dataclass(frozen=True)
class ViewClass:
    """A class-based view: ``class Items(MethodView)`` (Flask), its bases and ``methods``."""

    name: str
    bases: tuple[str, ...]
    methods: tuple[str, ...] | None  # a literal `methods = [...]` attribute
    http_functions: tuple[str, ...]  # the HTTP-method-named functions it defines, upper-cased
    span: Span


@dataclass(frozen=True)
class AppRun:
    """``app.run(host=…, port=…)`` (Flask's development server) or ``uvicorn.run(app, …)``,
    the server a module starts when run."""

    owner: str  # the app's name, or the "module:attr" string given to uvicorn.run
    # as a command line would say it: "8080", "${PORT:-5000}" (os.environ.get("PORT", 5000)),
    # "" when it is not understood, None when no port is given (Flask's default, 5000)
    port: str | None
    as_script: bool  # runs when the file is run: module level, `if __name__ == "__main__":`,
    # or a function called there
    span: Span
    host: str | None = None  # like ``port``: "0.0.0.0", "${HOST:-127.0.0.1}", "", None
    server: str = "flask"  # "flask" (app.run) or "uvicorn" (uvicorn.run)
    enabled: tuple[str, ...] = ()  # keywords given a literal True: `debug`, `reload`, …
    keywords: tuple[str, ...] = ()  # every keyword given (`workers`; "**" for `**options`)
    function: str | None = None  # the module-level function that makes the call, if any


@dataclass(frozen=True)
class ConfigValue:
    """A module-level ``name = value`` of a settings file read as data (gunicorn.conf.py's
    ``bind``, ``reload``, ``worker_class``): never imported, so only literals are known."""

    name: str  # "bind"; "*" when the module can set any name (`from x import *`, `locals()`)
    # the literal as strings: ("0.0.0.0:8000",) for a string, one per item for a list,
    # ("True",) for a boolean or number; None when it is computed
    value: tuple[str, ...] | None
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
    params: tuple[str, ...] = ()  # its positional-or-keyword parameters' names


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
    views: tuple[ViewClass, ...] = ()
    runs: tuple[AppRun, ...] = ()
    # module-level settings a server reads from this file when it is its config (gunicorn)
    config_values: tuple[ConfigValue, ...] = ()
    required_env: tuple[EnvRead, ...] = ()  # os.environ["X"], env("X"), REQUIRED_ENV_VARS = [...]
    # reads at import with a literal default: os.environ.get("X", "dev"), env("X", default=…)
    env_defaults: tuple[EnvDefault, ...] = ()
    env_instances: tuple[EnvInstance, ...] = ()  # django-environ `env = environ.Env(...)`
    env_file_loads: tuple[EnvFileLoad, ...] = ()
    # literal values the module puts in its own environment at import
    # (`os.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.settings.production")`)
    env_sets: tuple[tuple[str, str], ...] = ()
    # module-level `NAME = <URL expression>` (a literal URL, an env read): engines given NAME
    url_constants: tuple[FunctionUrl, ...] = ()
    # Class-like calls given keyword arguments: (class name, keywords, has `**kwargs`).
    init_calls: tuple[tuple[str, tuple[str, ...], bool], ...] = ()
    problems: tuple[ParseProblem, ...] = ()
    unread: str | None = None  # why no facts were read from a valid file (for --verbose)
    notes: tuple[str, ...] = ()  # how the facts were read (for --verbose)
    django: DjangoFacts | None = None  # URL lists, settings, wsgi/asgi application
    # every name the module binds at module level (assignments, defs, classes, imports, also
    # under `if`/`try`); None when that is not known: `from x import *`, `globals()`, a module
    # `__getattr__`, `exec`, or a module whose facts were not read
    names: tuple[str, ...] | None = None


# Django ------------------------------------------------------------------------------------
# What a Django project's modules say about the app: URL lists (``urlpatterns``), settings the
# app's resolution reads, ``application = get_wsgi_application()``, class-based views. Read by
# :mod:`preflight.parse.python.django`; resolved into an ``App`` by ``preflight.model.django``.


@dataclass(frozen=True)
class DjangoPattern:
    """One entry of a Django URL list.

    ``kind`` is "route" (``path``/``re_path``/``url`` to a view), "include" (of a module named
    by a string, of a name, of an inline list in ``children``; a list concatenated or starred
    in is an include with route ""), "admin" (``admin.site.urls``: served at its prefix) or
    "opaque" (anything preflight cannot follow: ``router.urls``, a call, a comprehension)."""

    kind: str
    route: str | None  # the route (path) or regex (re_path) text; None: not a literal
    regex: bool
    span: Span
    view: str | None = None  # "route": the view's dotted name (the class, for `.as_view()`)
    class_view: bool = False
    target: str | None = None  # "include": a module name (`target_is_module`) or a dotted name
    target_is_module: bool = False
    children: tuple[DjangoPattern, ...] = ()
    why: str | None = None  # "opaque": what it is, for --verbose


@dataclass(frozen=True)
class DjangoUrlList:
    """A module-level list of URL patterns (``urlpatterns`` and the lists it is built from)."""

    name: str
    patterns: tuple[DjangoPattern, ...]
    span: Span


@dataclass(frozen=True)
class DjangoSetting:
    """A module-level settings assignment resolution reads, or a ``from x import *``."""

    name: str  # ROOT_URLCONF | APPEND_SLASH | MIDDLEWARE | "*" (a star import)
    value: str | bool | tuple[str, ...] | None  # None: not a literal; "*": the module
    level: int  # "*": relative-import dots
    span: Span


@dataclass(frozen=True)
class DjangoView:
    """A class whose methods are named for HTTP methods (a class-based view, maybe)."""

    name: str
    bases: tuple[str, ...]
    methods: tuple[str, ...]  # upper-case: GET, POST, …
    span: Span


@dataclass(frozen=True)
class DjangoFacts:
    url_lists: tuple[DjangoUrlList, ...] = ()
    settings: tuple[DjangoSetting, ...] = ()  # in source order
    applications: tuple[tuple[str, Span], ...] = ()  # `application = get_wsgi_application()`
    settings_default: str | None = None  # os.environ.setdefault("DJANGO_SETTINGS_MODULE", …)
    views: tuple[DjangoView, ...] = ()
    # function views limited to some methods: @require_GET, @require_http_methods, @api_view
    view_methods: tuple[tuple[str, tuple[str, ...]], ...] = ()
    reads_request_path: bool = False  # compares request.path (a middleware that answers paths)
    request_paths: tuple[str, ...] = ()  # the literal paths it compares with
    # the interface each application speaks, by name: "asgi" (`get_asgi_application()`,
    # `ProtocolTypeRouter`), "wsgi" (`get_wsgi_application()`), "" (mixed, or converted)
    application_interfaces: tuple[tuple[str, str], ...] = ()
