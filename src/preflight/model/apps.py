"""Which app a command serves, on which port, and that app's route table — statically.

``uvicorn app.main:app``, ``gunicorn 'app.main:create_app()' -k uvicorn_worker.UvicornWorker``,
``fastapi run app/main.py`` and friends name a module and an object; the object is followed
through factories, ``include_router`` (with prefixes, across the project's own imports) and
``mount``. Anything that cannot be followed — a router built in a loop, an import from outside
the repository — marks the app *partially resolved*: rules that would claim a path is missing
stay silent on it.

Flask and Quart apps (WSGI under gunicorn or waitress, ``flask run``, ``python app.py``) are
resolved the same way, with Flask's own semantics: ``register_blueprint(bp, url_prefix=…)``
replaces the blueprint's prefix (nested blueprints join theirs), ``add_url_rule`` with
``MethodView`` classes, ``<int:id>`` converters, and strict slashes (``/x/`` reaches a rule
``/x/`` and, by a redirect, ``/x``; it does not reach a rule ``/x``).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from preflight.model.databases import module_index, resolve_import
from preflight.model.django import (  # Django projects (it imports App and Route lazily)
    DjangoResolver,
    django_command,
    route_matches,
    with_settings,
)
from preflight.parse.python import (
    AppRun,
    HandlerInfo,
    ImportBinding,
    IncludeDecl,
    PythonModule,
    RouteDecl,
    RouterObj,
    ViewClass,
)
from preflight.parse.shell import invocations
from preflight.spans import Span

SERVERS = frozenset(
    {"uvicorn", "gunicorn", "hypercorn", "granian", "daphne", "fastapi", "flask", "waitress-serve"}
)
_DEFAULT_PORTS = {
    "uvicorn": 8000,
    "gunicorn": 8000,
    "hypercorn": 8000,
    "granian": 8000,
    "daphne": 8000,
    "fastapi": 8000,
    "flask": 5000,
    "waitress-serve": 8080,
}
_MAX_DEPTH = 8
_FACTORY_ARGS = re.compile(r"\(.*\)\s*$", re.DOTALL)  # `create_app('prod')` -> `create_app`
# Routes and includes expanded into one app's route table before it is marked partial.
MAX_EXPANDED = 10_000
_UNKNOWN_NAMES = (
    "db",
    "database",
    "session",
    "engine",
    "conn",
    "sql",
    "pg",
    "ping",
    "check",
    "health",
    "redis",
    "cache",
    "pool",
)


@dataclass(frozen=True, slots=True)
class Route:
    methods: tuple[str, ...]
    path: str
    handler: HandlerInfo | None
    module: str  # where the handler is
    span: Span
    # Flask: a request with a trailing slash does not reach a rule without one (404); a rule
    # with one is reached without it (a redirect). FastAPI redirects both ways.
    strict: bool = False
    regex: str | None = None  # Django: the regex the path after its leading slash must match
    builtin: bool = False  # served by the framework itself (FastAPI's `/docs`), not the project


@dataclass(slots=True)
class App:
    module: str  # the file
    name: str  # the variable
    span: Span
    routes: list[Route] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)  # prefixes served by something opaque
    partial: list[str] = field(default_factory=list)  # why the route table is incomplete
    framework: str = "fastapi"  # "fastapi" (FastAPI, Starlette) or "flask" (Flask, Quart)
    # Django (model/django.py): APPEND_SLASH redirects, the settings module and the files it
    # star-imports (whose environment reads are the app's settings)
    append_slash: bool = False
    settings_module: str | None = None
    settings_files: tuple[str, ...] = ()
    # what a server calls it with: "asgi" (FastAPI, Starlette, Litestar, Quart, Django's
    # asgi application) or "wsgi" (Flask, Django's wsgi application); None when not known
    # (the name is rebound to what wraps it, or the class is not one preflight knows)
    interface: str | None = None
    kind: str = ""  # what makes it, for messages: "FastAPI", "Quart", "Django"

    @property
    def complete(self) -> bool:
        return not self.partial

    def serves(self, path: str, method: str = "GET") -> Route | None:
        """The route a request for ``path`` reaches (FastAPI redirects a trailing slash either
        way; Flask only adds one: a rule ``/x`` is not reached by ``/x/``; Django matches its
        regex, redirecting to the path with a slash when APPEND_SLASH is on)."""
        raw = path.split("?", 1)[0]
        wanted = raw.rstrip("/") or "/"
        slash = wanted != raw
        for route in self.routes:
            if method not in route.methods:
                continue
            if route.regex is not None:  # Django: no redirect to the path without a slash
                if route_matches(route.regex, raw, self.append_slash):
                    return route
                continue
            if route.strict and slash and not route.path.endswith("/"):
                continue
            if _matches(route.path.rstrip("/") or "/", wanted):
                return route
        return None

    def mounted(self, path: str) -> bool:
        return any(path == m or path.startswith(m.rstrip("/") + "/") for m in self.mounts)


def _matches(pattern: str, path: str) -> bool:
    regex = re.sub(r"\\{[^}/]+:path\\}", ".+", re.escape(pattern))
    regex = re.sub(r"\\{[^}/]+\\}", "[^/]+", regex)
    if "<" in regex:  # Flask/Werkzeug converters: <name>, <int:id>, <path:rest>
        regex = re.sub(r"<path:[^>/]+>", ".+", regex)
        regex = re.sub(r"<int:[^>/]+>", "[0-9]+", regex)
        regex = re.sub(r"<float:[^>/]+>", "[0-9]+\\.[0-9]+", regex)
        regex = re.sub(r"<[^>/]+>", "[^/]+", regex)
    return re.fullmatch(regex, path) is not None


@dataclass(frozen=True, slots=True)
class ServerCommand:
    """What a command line serves: the server, the app target, the port it binds."""

    server: str
    target: str | None  # "module:attr" as written, or a path for `fastapi run`
    factory: bool
    port: int | None
    port_from: str  # "--port 8000", "default", "$PORT"
    chdir: str | None
    settings: str | None = None  # DJANGO_SETTINGS_MODULE from the environment or `--settings`
    # the server's own arguments as written (after `python -m X`; `run`/`dev` for fastapi and
    # flask, `runserver` for Django, included)
    # (neither takes part in equality: two commands that serve the same app the same way are
    # the same command)
    args: tuple[str, ...] = field(default=(), compare=False)
    run: AppRun | None = field(default=None, compare=False)  # `python app.py`: its app.run /
    # uvicorn.run call


def server_command(argv: Sequence[str], env: dict[str, str] | None = None) -> ServerCommand | None:
    """The ASGI server an argv starts, if it is one preflight knows."""
    found = invocations(list(argv))
    if not found:
        return None
    for invocation in found:
        django = django_command(invocation.executable, invocation.args, env or {})
        if django is not None:  # manage.py runserver, uwsgi (model/django.py)
            return django
        name = posixpath.basename(invocation.executable)
        module_run = None
        if (
            name.startswith("python")
            and invocation.args[:1] == ("-m",)
            and len(invocation.args) > 1
        ):
            module_run = invocation.args[1]
            args = list(invocation.args[2:])
        else:
            args = list(invocation.args)
        server = module_run or name
        if server == "waitress":  # python -m waitress
            server = "waitress-serve"
        if server not in SERVERS:
            continue
        if server == "flask":
            command = _flask_command(args, env or {})
            if command is None:
                continue  # `flask db upgrade` and other subcommands serve nothing
            return command
        if server == "waitress-serve":
            return _waitress_command(args, env or {})
        return with_settings(_server_command(server, args, env or {}), args, env or {})
    return None


def _server_command(server: str, args: list[str], env: dict[str, str]) -> ServerCommand:
    target: str | None = None
    factory = "--factory" in args
    port: int | None = None
    port_from = "default"
    chdir: str | None = None
    value_options = {
        "--host",
        "--port",
        "-p",
        "--bind",
        "-b",
        "--workers",
        "-w",
        "--worker-class",
        "-k",
        "--chdir",
        "--app-dir",
        "--log-level",
        "--timeout",
        "-t",
        "--config",
        "-c",
        "--root-path",
        "--interface",
        "--env-file",
        "--uds",
        "--fd",
        "--proxy-headers",
        "--forwarded-allow-ips",
        "--limit-concurrency",
        "--backlog",
        "--threads",
        "--graceful-timeout",
        "--keep-alive",
        "--access-logfile",
        "--error-logfile",
        "--max-requests",
        "--max-requests-jitter",
        "--name",
        "-n",
        "--pid",
        "--user",
        "-u",
        "--group",
        "-g",
        "--loop",
        "--http",
        "--ws",
        "--lifespan",
        "--ssl-keyfile",
        "--ssl-certfile",
        "--log-config",
        "--app",
        "--env",
        "-e",
        "--pythonpath",
        # gunicorn's other options that take a value (gunicorn/config.py): without them the
        # value would be taken for the app (`--worker-tmp-dir /dev/shm proj.wsgi:application`)
        "--worker-tmp-dir",
        "--worker-connections",
        "--log-file",
        "--access-logformat",
        "--log-syslog-to",
        "--statsd-host",
        "--statsd-prefix",
        "--certfile",
        "--keyfile",
        "--ca-certs",
        "--limit-request-line",
        "--limit-request-fields",
        "--limit-request-field_size",
        "--umask",
        "--logger-class",
        "--paste",
    }
    index = 0
    if server == "fastapi" and args[:1] in (["run"], ["dev"]):
        index = 1
    while index < len(args):
        word = args[index]
        name, eq, inline = word.partition("=")
        value = inline if eq else (args[index + 1] if index + 1 < len(args) else "")
        if word.startswith("-"):
            if name in ("--port", "-p") and not (server == "granian" and name == "-p"):
                port, port_from = _port(value, env, name)
            elif name in ("--bind", "-b"):
                bound = value.rsplit(":", 1)[-1] if ":" in value else None
                port_from = f"{name} {value}"
                if bound is not None and not value.startswith("unix:"):
                    port, _ = _port(bound, env, name)
            elif name in ("--chdir", "--app-dir"):
                chdir = value
            elif name == "--app":
                target = value
            index += 1 if eq or name not in value_options else 2
            continue
        if target is None:
            target = word
        index += 1
    if port is None and port_from == "default" and server in _DEFAULT_PORTS:
        port = _DEFAULT_PORTS[server]  # only when no port option was given at all
    if target is not None and target.strip("'\"").endswith(")"):
        factory = True  # `app:create_app()`, `app:create_app('production')`
    return ServerCommand(server, target, factory, port, port_from, chdir, args=tuple(args))


# Flask and WSGI servers ---------------------------------------------------------------------

# `flask` options that take a value (global ones before `run`, and `run`'s own)
_FLASK_VALUE_OPTIONS = frozenset(
    {"--app", "-A", "--env-file", "-e", "--host", "-h", "--port", "-p", "--cert", "--key",
     "--extra-files", "--exclude-patterns"}
)  # fmt: skip
_WAITRESS_FLAGS = frozenset(
    {"--call", "--help", "--ipv4", "--ipv6", "--no-ipv4", "--no-ipv6", "--expose-tracebacks",
     "--no-expose-tracebacks", "--log-untrusted-proxy-headers"}
)  # fmt: skip


def _flask_command(args: list[str], env: dict[str, str]) -> ServerCommand | None:
    """``flask [--app X] run [--port P]``: the app from ``--app`` or ``FLASK_APP`` (None: Flask's
    own discovery, ``wsgi.py`` or ``app.py`` in the working directory); the port from
    ``--port``, ``FLASK_RUN_PORT`` or 5000. Any other subcommand serves nothing (None)."""
    target = env.get("FLASK_APP") or None
    port: int | None = None
    port_from = "default"
    running = False
    index = 0
    while index < len(args):
        word = args[index]
        name, eq, inline = word.partition("=")
        value = inline if eq else (args[index + 1] if index + 1 < len(args) else "")
        if word.startswith("-"):
            if name in ("--app", "-A"):
                target = value
            elif running and name in ("--port", "-p"):
                port, port_from = _port(value, env, name)
            index += 1 if eq or name not in _FLASK_VALUE_OPTIONS else 2
            continue
        if not running:
            if word != "run":
                return None
            running = True
        index += 1
    if not running:
        return None
    if port_from == "default" and env.get("FLASK_RUN_PORT"):
        port, port_from = _port(env["FLASK_RUN_PORT"], env, "FLASK_RUN_PORT")
    elif port_from == "default":
        port = _DEFAULT_PORTS["flask"]
    factory = target is not None and target.rstrip().endswith(")")
    return ServerCommand("flask", target, factory, port, port_from, None, args=tuple(args))


def _waitress_command(args: list[str], env: dict[str, str]) -> ServerCommand:
    """``waitress-serve [--port=P | --listen=H:P] [--call] module:object`` (port 8080)."""
    target: str | None = None
    port: int | None = None
    port_from = "default"
    index = 0
    while index < len(args):
        word = args[index]
        name, eq, inline = word.partition("=")
        value = inline if eq else (args[index + 1] if index + 1 < len(args) else "")
        if word.startswith("-"):
            if name == "--port":
                port, port_from = _port(value, env, name)
            elif name == "--listen" and ":" in value and port is None:
                port, _ = _port(value.rsplit(":", 1)[-1], env, name)
                port_from = f"{name} {value}"
            index += 1 if eq or name in _WAITRESS_FLAGS else 2
            continue
        if target is None:
            target = word
        index += 1
    if port_from == "default":
        port = _DEFAULT_PORTS["waitress-serve"]
    factory = "--call" in args or (target is not None and target.rstrip().endswith(")"))
    return ServerCommand("waitress-serve", target, factory, port, port_from, None, args=tuple(args))


def python_run(
    argv: Sequence[str],
    python: dict[str, PythonModule],
    near: str,
    env: dict[str, str],
    image: tuple[str, Mapping[str, str]] | None = None,
) -> ServerCommand | None:
    """``python app.py`` (or ``python -m pkg``) where the module starts a server when run:
    Flask's development server (``app.run(port=…)``) or uvicorn (``uvicorn.run(app, …)``), at
    module level, under ``if __name__ == "__main__":`` or in a function called there; on
    ``port`` or the server's default (5000 for Flask, 8000 for uvicorn).

    ``image`` (its WORKDIR and the image path → repository path of every file it copies) finds
    the script where the image put it (`COPY src/ .` then `python app.py`)."""
    for invocation in invocations(list(argv)) or []:
        if not posixpath.basename(invocation.executable).startswith("python"):
            continue
        words = [w for w in invocation.args if w not in ("-u", "-B", "-O", "-OO")]
        if words[:1] == ["-m"] and len(words) > 1:
            module = _module_run(words[1], python, near, image)
        elif words and words[0].endswith(".py"):
            module = _script_run(words[0], python, near, image)
        else:
            continue
        run = next((r for r in module.runs if r.as_script), None) if module else None
        if module is None or run is None:
            continue
        server = "uvicorn" if run.server == "uvicorn" else "flask"
        port: int | None = _DEFAULT_PORTS[server]
        port_from = "default"
        if run.port is not None:
            port, port_from = _port(
                run.port, env, f"{'app' if server == 'flask' else server}.run port"
            )
        target = run.owner if ":" in run.owner else f"{module.path}:{run.owner}"
        return ServerCommand("python", target, False, port, port_from, None, run=run)
    return None


def _script_run(
    script: str,
    python: dict[str, PythonModule],
    near: str,
    image: tuple[str, Mapping[str, str]] | None,
) -> PythonModule | None:
    path = posixpath.normpath(posixpath.join(near, script)) if near else script
    if image is not None and path not in python:
        workdir, copied = image
        path = copied.get(posixpath.normpath(posixpath.join(workdir, script)), path)
    if path not in python and "/" not in script.lstrip("./"):
        path = script  # run from the repository root
    return python.get(path)


def _module_run(
    name: str,
    python: dict[str, PythonModule],
    near: str,
    image: tuple[str, Mapping[str, str]] | None,
) -> PythonModule | None:
    """The file ``python -m name`` runs: ``name.py``, or ``name/__main__.py`` for a package,
    found from the image's WORKDIR, the build context, or the repository root."""
    relative = name.replace(".", "/")
    for candidate in (f"{relative}.py", f"{relative}/__main__.py"):
        found = _script_run(candidate, python, near, image)
        if found is not None:
            return found
    return None


def _port(value: str, env: dict[str, str], option: str) -> tuple[int | None, str]:
    text = value.strip("\"'")
    # $PORT, ${PORT}, ${PORT:-8000} (shell) and $(PORT) (Kubernetes' own expansion)
    match = re.fullmatch(r"\$[{(]?(\w+)(?::?-([^})]*))?[})]?", text)
    if match:
        name, default = match.group(1), match.group(2)
        resolved = _ascii_port(env.get(name) or default or "")
        return resolved, f"{option} ${name}"
    port = _ascii_port(text)
    return (port, f"{option} {text}") if port is not None else (None, option)


def _ascii_port(text: str) -> int | None:
    """A port written in ASCII digits. ``int()`` and ``str.isdigit()`` also take ``²`` or
    ``٨`` (and raise on the first, or on 5,000 digits): neither is a port a server binds."""
    return int(text) if re.fullmatch(r"[0-9]{1,5}", text) else None


class AppResolver:
    """Turns ``module:attr`` into an :class:`App` with its route table."""

    def __init__(
        self,
        python: dict[str, PythonModule],
        python_paths: Iterable[str],
        files: Iterable[str] = (),
    ) -> None:
        self.python = python
        self.files = frozenset(files)  # every path in the repository (`.flaskenv`)
        self.index = module_index(python)
        # (module, name) -> the modules that import that name, and under which local name
        self._importers: dict[tuple[str, str], list[tuple[str, str]]] | None = None
        self._views: dict[tuple[str, str], tuple[str, ViewClass] | None] = {}
        self._owned_index: dict[
            str, dict[tuple[str, str | None], tuple[list[RouteDecl], list[IncludeDecl]]]
        ] = {}
        self._handler_index: dict[str, dict[str, HandlerInfo]] = {}
        self._routers: dict[
            tuple[str, str, str | None], tuple[str, PythonModule, RouterObj] | None
        ] = {}

    def module_file(self, dotted_name: str, near: str = "") -> str | None:
        relative = dotted_name.replace(".", "/")
        tails = (f"{relative}.py", f"{relative}/__init__.py")
        found: list[str] = []
        if near:
            prefix = near.rstrip("/") + "/"
            found = sorted({p for tail in tails for p in self.index.find_under(tail, prefix)})
        if not found:
            found = sorted({p for tail in tails for p in self.index.find(tail)})
        found.sort(key=lambda p: (p.count("/"), p))
        if len(found) > 1 and found[0].count("/") == found[1].count("/"):
            return None
        return found[0] if found else None

    def resolve(self, served: ServerCommand, near: str = "") -> tuple[App | None, str | None]:
        django = DjangoResolver(self).resolve(served, near)  # a Django project: model/django.py
        if django is not None:
            return django
        target = served.target
        if served.server in ("flask", "python"):
            app, why = self._resolve_flask(served, near)
            run = served.run
            if app is not None and run is not None and run.function is not None:
                # started from `start()`, which may register blueprints, extensions and routes
                # before it runs the server: code preflight does not follow
                app.partial.append(
                    f"the server is started inside `{run.function}()` ({run.span.path}:"
                    f"{run.span.line}), which may add routes first"
                )
            return app, why
        if target is None:
            if served.server == "fastapi":
                for candidate in ("main.py", "app.py", "api.py", "app/main.py", "app/app.py"):
                    path = posixpath.join(near, candidate) if near else candidate
                    if path in self.python:
                        return self._app_in(path, None)
            return None, f"`{served.server}` names no app"
        if served.server == "fastapi" and (target.endswith(".py") or "/" in target):
            path = posixpath.normpath(posixpath.join(near, target)) if near else target
            if path not in self.python:
                return None, f"`{target}` is not a module preflight read"
            return self._app_in(path, None)
        module_name, _, attr = target.partition(":")
        module_name = module_name.strip("'\"")
        attr = _FACTORY_ARGS.sub("", attr.strip("'\"")) or "app"
        module_path = self.module_file(module_name, near)
        if module_path is None or module_path not in self.python:
            return None, f"module `{module_name}` is not a file preflight read"
        return self._app_in(module_path, attr)

    def _resolve_flask(self, served: ServerCommand, near: str) -> tuple[App | None, str | None]:
        """``flask run`` (``--app``/``FLASK_APP``, or Flask's discovery) and ``python app.py``.

        A target is ``module``, ``module:name``, ``module:factory(args)`` or a file path; with
        no name, Flask looks for ``app`` or ``application``, then the one Flask instance, then
        a ``create_app``/``make_app`` factory."""
        target = (served.target or "").strip().strip("'\"")
        if not target:
            if any(posixpath.join(near, ".flaskenv") == p for p in self.files):
                return None, "`flask run` names no app and a .flaskenv may set FLASK_APP"
            for candidate in ("wsgi.py", "app.py"):
                path = posixpath.join(near, candidate) if near else candidate
                if path in self.python:
                    return self._flask_app_in(path, None)
            return None, (
                "`flask run` names no app (no --app or FLASK_APP) and there is no wsgi.py or "
                "app.py where it runs"
            )
        where, _, attr = target.partition(":")
        attr = _FACTORY_ARGS.sub("", attr.strip())
        if where.endswith(".py") or "/" in where:
            path = posixpath.normpath(posixpath.join(near, where)) if near else where
            if path not in self.python and where.endswith(".py"):
                path = self.module_file(where.removesuffix(".py").replace("/", "."), near) or path
        else:
            path = self.module_file(where, near) or ""
        if path not in self.python:
            return None, f"`{where}` is not a module preflight read"
        return self._flask_app_in(path, attr or None)

    def _flask_app_in(self, path: str, attr: str | None) -> tuple[App | None, str | None]:
        if attr:
            return self._app_in(path, attr)
        module = self.python[path]
        names = ["app", "application"]
        names += [r.name for r in module.routers if r.kind == "app" and r.scope is None]
        for name in dict.fromkeys([*names, "create_app", "make_app"]):
            app = self._object(path, module, name, depth=0, visiting=set())
            if app is not None:
                return app, None
        return None, f"Flask finds no app (`app`, `application`, `create_app`) in {path}"

    def _app_in(self, path: str, attr: str | None) -> tuple[App | None, str | None]:
        module = self.python[path]
        names = [attr] if attr else ["app", "application", "api"]
        for name in names:
            app = self._object(path, module, name, depth=0, visiting=set())
            if app is not None:
                return app, None
        return None, f"`{attr or 'app'}` is not an app preflight found in {path}"

    def _object(
        self,
        path: str,
        module: PythonModule,
        name: str,
        depth: int,
        visiting: set[tuple[str, str]],
    ) -> App | None:
        """The app ``name`` is in ``path``: built there, made by a factory, or imported.

        ``visiting`` holds the names on the way here: an import cycle (`a` imports `app` from
        `b`, which imports it from `a`) ends instead of going round to the depth limit."""
        key = (path, name)
        if depth > _MAX_DEPTH or key in visiting:
            return None
        visiting.add(key)
        try:
            return self._object_in(path, module, name, depth, visiting)
        finally:
            visiting.discard(key)

    def _object_in(
        self,
        path: str,
        module: PythonModule,
        name: str,
        depth: int,
        visiting: set[tuple[str, str]],
    ) -> App | None:
        router = next((r for r in module.routers if r.name == name and r.scope is None), None)
        if router is not None and router.kind == "app":
            return self._build(path, module, router)
        factory = next((h for h in module.handlers if h.name == name and h.returns), None)
        if factory is not None and factory.returns:
            inner = next(
                (r for r in module.routers if r.name == factory.returns and r.scope == name), None
            )
            if inner is not None:
                return self._build(path, module, inner)
        binding = next((b for b in module.bindings if b.name == name), None)
        if binding is not None:  # app = create_app()
            callee = binding.call.rsplit(".", 1)[-1]
            found = self._object(path, module, callee, depth + 1, visiting)
            if found is not None:
                return found
            for imported in module.imports:
                if imported.local == binding.call.split(".")[0] and imported.name is not None:
                    other = resolve_import(imported, path, self.python)
                    if other is not None and other in self.python:
                        return self._object(
                            other, self.python[other], imported.name, depth + 1, visiting
                        )
        for imported in module.imports:  # from app.factory import app
            if imported.local == name and imported.name is not None:
                other = resolve_import(imported, path, self.python)
                if other is not None and other in self.python:
                    return self._object(
                        other, self.python[other], imported.name, depth + 1, visiting
                    )
        return None

    def _build(self, path: str, module: PythonModule, router: RouterObj) -> App:
        app = App(path, router.name, router.span, framework=router.framework, kind=router.cls)
        app.interface = _interface(module, router)
        if router.static:
            app.mounts.append(router.static)  # Flask's `/static/<path:filename>`
        for builtin in router.builtin:  # FastAPI's own `/docs`, `/openapi.json`, …
            app.routes.append(
                Route(("GET", "HEAD"), builtin, None, path, router.span, builtin=True)
            )
        app.mounts.extend(router.builtin_maybe)  # moved or disabled by a computed argument
        if router.dynamic_routes:
            app.partial.append(
                f"`{router.name}` takes its routes from a list preflight does not follow"
            )
        budget = [MAX_EXPANDED]
        self._collect(app, path, module, router, "", 0, set(), budget)
        if budget[0] < 0:
            app.partial.append(
                f"`{router.name}` includes routers into more than {MAX_EXPANDED:,} routes; "
                "preflight expands no more of them"
            )
        return app

    def _collect(
        self,
        app: App,
        path: str,
        module: PythonModule,
        router: RouterObj,
        prefix: str,
        depth: int,
        seen: set[tuple[str, str]],
        budget: list[int],
        own_prefix: bool = True,
    ) -> None:
        """Add the routes of ``router`` (and of what it includes) to ``app``.

        A router included N times is expanded N times (its routes are served N times), so a
        chain of routers each including the next several times grows exponentially: every
        route and every include followed spends one unit of ``budget``; past it the app is
        partial and the rules that need its whole route table stay silent."""
        key = (path, f"{router.scope}:{router.name}")
        if depth > _MAX_DEPTH or key in seen or budget[0] < 0:
            return
        seen.add(key)
        try:
            if router.framework == "flask":
                self._collect_flask(
                    app, path, module, router, prefix, depth, seen, budget, own_prefix
                )
            else:
                self._collect_in(app, path, module, router, prefix, depth, seen, budget)
        finally:
            seen.discard(key)

    def _collect_in(
        self,
        app: App,
        path: str,
        module: PythonModule,
        router: RouterObj,
        prefix: str,
        depth: int,
        seen: set[tuple[str, str]],
        budget: list[int],
    ) -> None:
        base = prefix + router.prefix
        routes, includes = self._owned(path, module, router)
        handlers = self._handlers(path, module)
        for route in routes:
            budget[0] -= 1
            if budget[0] < 0:
                return
            if route.path is None:
                app.partial.append(f"a route path in {path}:{route.span.line} is not a literal")
                continue
            handler = handlers.get(route.handler or "")
            app.routes.append(Route(route.methods, base + route.path, handler, path, route.span))
        for include in includes:
            if include.kind == "pass" and router.kind == "app":
                self._handed(app, path, module, include, base, depth, seen, budget)
                continue
            if include.kind not in ("include", "mount"):
                continue  # Flask's register_blueprint: not on a FastAPI app
            budget[0] -= 1
            if budget[0] < 0:
                return
            where = f"{path}:{include.span.line}"
            if include.in_loop or include.target is None or include.prefix is None:
                verb = "included" if include.kind == "include" else "mounted"
                app.partial.append(f"the router {verb} at {where} is built dynamically")
                continue
            resolved = self._router(path, module, include.target, router.scope)
            if resolved is None:
                if include.kind == "mount":
                    app.mounts.append(base + include.prefix)
                else:
                    app.partial.append(
                        f"`{include.target}` ({where}) is not a router preflight found"
                    )
                continue
            target_path, target_module, target_router = resolved
            self._collect(
                app,
                target_path,
                target_module,
                target_router,
                base + include.prefix,
                depth + 1,
                seen,
                budget,
            )

    # Flask ---------------------------------------------------------------------------------

    def _collect_flask(
        self,
        app: App,
        path: str,
        module: PythonModule,
        router: RouterObj,
        prefix: str,
        depth: int,
        seen: set[tuple[str, str]],
        budget: list[int],
        own_prefix: bool,
    ) -> None:
        """A Flask app or blueprint: its routes and registrations, also those made in modules
        that import it (``from app import app`` then ``@app.route``), and in functions it is
        handed to (``init_routes(app)``)."""
        base = _flask_join(prefix, router.prefix) if own_prefix else prefix
        sources = [(path, module, router)]
        if router.scope is None:
            for other, local in self._importers_of(path, router.name):
                pseudo = RouterObj(local, "router", "", None, router.span, framework="flask")
                sources.append((other, self.python[other], pseudo))
        for source_path, source_module, owner in sources:
            routes, includes = self._owned(source_path, source_module, owner)
            handlers = self._handlers(source_path, source_module)
            for route in routes:
                budget[0] -= 1
                if budget[0] < 0:
                    return
                if route.path is None:
                    where = f"{source_path}:{route.span.line}"
                    app.partial.append(f"a route path in {where} is not a literal")
                    continue
                app.routes.append(
                    self._flask_route(route, base, source_path, source_module, handlers)
                )
            for include in includes:
                budget[0] -= 1
                if budget[0] < 0:
                    return
                self._flask_include(
                    app, source_path, source_module, owner, include, base, depth, seen, budget
                )

    def _flask_route(
        self,
        route: RouteDecl,
        base: str,
        path: str,
        module: PythonModule,
        handlers: dict[str, HandlerInfo],
    ) -> Route:
        methods: tuple[str, ...] = route.methods
        handler = handlers.get(route.handler or "")
        where = path
        if route.view and route.handler:
            found = self._view(path, module, route.handler)
            if found is None:  # a class preflight did not read: any method may be served
                methods = methods if route.methods_given else tuple(_ALL_METHODS)
                handler = None
            else:
                where, view = found
                if not route.methods_given:
                    methods = self._view_methods(where, view, 0) or ("GET",)
                view_handlers = self._handlers(where, self.python[where])
                handler = view_handlers.get(f"{view.name}.get") or view_handlers.get(
                    f"{view.name}.dispatch_request"
                )
        # Flask answers HEAD for every GET rule and OPTIONS for every rule.
        extra = (("HEAD",) if "GET" in methods else ()) + ("OPTIONS",)
        methods = tuple(dict.fromkeys((*methods, *extra)))
        full = _flask_join(base, route.path or "")
        return Route(methods, full or "/", handler, where, route.span, strict=route.strict_slashes)

    def _flask_include(
        self,
        app: App,
        path: str,
        module: PythonModule,
        owner: RouterObj,
        include: IncludeDecl,
        base: str,
        depth: int,
        seen: set[tuple[str, str]],
        budget: list[int],
    ) -> None:
        where = f"{path}:{include.span.line}"
        if include.kind == "pass":
            self._handed(app, path, module, include, base, depth, seen, budget)
            return
        if include.kind != "blueprint":
            return
        if include.in_loop or include.target is None or include.prefix is None:
            app.partial.append(f"the blueprint registered at {where} is built dynamically")
            return
        resolved = self._router(path, module, include.target, owner.scope)
        if resolved is None:
            if include.replaces_prefix and include.prefix.strip("/"):
                # every rule of a blueprint registered under a url_prefix lives below it
                app.mounts.append(_flask_join(base, include.prefix))
            else:
                app.partial.append(
                    f"`{include.target}` ({where}) is not a blueprint preflight found"
                )
            return
        target_path, target_module, target_router = resolved
        if include.replaces_prefix:
            prefix, own = _flask_join(base, include.prefix), False
        else:
            prefix, own = base, True
        self._collect(
            app, target_path, target_module, target_router, prefix, depth + 1, seen, budget, own
        )

    def _handed(
        self,
        app: App,
        path: str,
        module: PythonModule,
        include: IncludeDecl,
        base: str,
        depth: int,
        seen: set[tuple[str, str]],
        budget: list[int],
    ) -> None:
        """The app (or blueprint) is handed to a call: a function of the project is followed
        (its parameter is the router there); an extension that adds routes makes it partial."""
        callee = include.target
        where = f"{path}:{include.span.line}"
        if callee is None:
            return
        found = self._function(path, module, callee)
        if found is not None and app.framework != "flask":
            # a FastAPI/Starlette app handed to a function of the project that includes
            # routers on it (`_setup_routers(app, settings)`, the prefix often a setting): not
            # followed, the route table is partial. One that only adds middleware is ignored.
            function_path, function = found
            named = include.argument
            if named.isdigit():
                index = int(named)
                named = function.params[index] if index < len(function.params) else ""
            adds = any(
                decl.owner == named and decl.scope == function.name
                for decl in self.python[function_path].includes
            )
            if adds:
                app.partial.append(
                    f"the app is handed to `{callee}` ({where}), which adds routes to it"
                )
            return
        if found is not None:
            function_path, function = found
            param: str | None = include.argument
            if include.argument.isdigit():
                index = int(include.argument)
                param = function.params[index] if index < len(function.params) else None
            if param is None or param not in function.params or "." in function.name:
                return
            pseudo = RouterObj(param, "router", "", function.name, function.span, framework="flask")
            self._collect(
                app,
                function_path,
                self.python[function_path],
                pseudo,
                base,
                depth + 1,
                seen,
                budget,
            )
            return
        origin = self._origin(path, module, callee.split(".", 1)[0], 0)
        if origin is None and "." in callee:
            # `api.init_app(app)` with `api` made in this function: the module's own imports
            origin = next(
                (
                    b.module
                    for b in module.imports
                    if b.module.split(".", 1)[0] in _ROUTE_EXTENSIONS
                ),
                None,
            )
        if origin is not None and origin.split(".", 1)[0] in _ROUTE_EXTENSIONS:
            app.partial.append(
                f"the app is handed to `{callee}` ({where}), from `{origin}`, which adds routes "
                "preflight does not read"
            )

    def _function(
        self, path: str, module: PythonModule, name: str
    ) -> tuple[str, HandlerInfo] | None:
        """A module-level function of the project: defined here, or imported."""
        local = self._handlers(path, module).get(name)
        if local is not None:
            return path, local
        head, _, attr = name.partition(".")
        for imported in module.imports:
            if imported.local != head:
                continue
            other = self._imported_module(path, imported, attr)
            if other is None:
                return None
            wanted = attr or imported.name or ""
            function = self._handlers(other, self.python[other]).get(wanted)
            return (other, function) if function is not None else None
        return None

    def _imported_module(self, path: str, imported: ImportBinding, attr: str) -> str | None:
        """The file an import names; for `from pkg import mod` then `mod.x`, the submodule."""
        other = resolve_import(imported, path, self.python)
        if imported.name is not None and attr:
            sub = resolve_import(
                replace(imported, module=_join(imported.module, imported.name), name=None),
                path,
                self.python,
            )
            if sub is not None and sub in self.python:
                return sub
        return other if other is not None and other in self.python else None

    def _origin(self, path: str, module: PythonModule, name: str, depth: int) -> str | None:
        """The outside module a name comes from (`Api` from `flask_restx`, or `api = Api()`
        made from it), None when it is the project's own or not known."""
        if depth > 4:
            return None
        for imported in module.imports:
            if imported.local != name:
                continue
            other = resolve_import(imported, path, self.python)
            if other is None or other not in self.python:
                return imported.module
            if imported.name is None:
                return None
            return self._origin(other, self.python[other], imported.name, depth + 1)
        binding = next((b for b in module.bindings if b.name == name), None)
        if binding is not None:
            return self._origin(path, module, binding.call.split(".", 1)[0], depth + 1)
        return None

    def _view(self, path: str, module: PythonModule, name: str) -> tuple[str, ViewClass] | None:
        """The class-based view ``name`` names: in this module, or imported (memoised)."""
        key = (path, name)
        if key not in self._views:
            self._views[key] = None  # a cycle ends here
            self._views[key] = self._find_view(path, module, name)
        return self._views[key]

    def _find_view(
        self, path: str, module: PythonModule, name: str
    ) -> tuple[str, ViewClass] | None:
        local = next((v for v in module.views if v.name == name), None)
        if local is not None:
            return path, local
        head, _, attr = name.partition(".")
        for imported in module.imports:
            if imported.local != head:
                continue
            other = self._imported_module(path, imported, attr)
            if other is None:
                return None
            return self._view(other, self.python[other], attr or imported.name or "")
        return None

    def _view_methods(self, path: str, view: ViewClass, depth: int) -> tuple[str, ...] | None:
        """The methods a view serves: its `methods`, else its HTTP-method functions and its
        bases' (MethodView collects them), else None (Flask's GET). Unknown bases: all."""
        if view.methods is not None:
            return view.methods
        methods = list(view.http_functions)
        for base in view.bases:
            if base.rsplit(".", 1)[-1] in ("MethodView", "View"):
                continue
            found = self._view(path, self.python[path], base) if depth < _MAX_DEPTH else None
            if found is None:
                return tuple(_ALL_METHODS)  # a base preflight did not read
            inherited = self._view_methods(found[0], found[1], depth + 1)
            methods.extend(inherited or ())
        return tuple(dict.fromkeys(methods)) or None

    def _importers_of(self, path: str, name: str) -> list[tuple[str, str]]:
        """The modules that import ``name`` from ``path``, with the local name they bind."""
        if self._importers is None:
            index: dict[tuple[str, str], list[tuple[str, str]]] = {}
            for importer, module in self.python.items():
                for imported in module.imports:
                    if imported.name is None:
                        continue
                    other = resolve_import(imported, importer, self.python)
                    if other is not None and other != importer:
                        index.setdefault((other, imported.name), []).append(
                            (importer, imported.local)
                        )
            self._importers = index
        return [
            (p, local) for p, local in self._importers.get((path, name), []) if p in self.python
        ]

    def _owned(
        self, path: str, module: PythonModule, router: RouterObj
    ) -> tuple[list[RouteDecl], list[IncludeDecl]]:
        """The routes and includes declared on ``router`` (indexed once per module)."""
        index = self._owned_index.get(path)
        if index is None:
            index = {}
            for route in module.routes:
                index.setdefault((route.owner, route.scope), ([], []))[0].append(route)
            for include in module.includes:
                index.setdefault((include.owner, include.scope), ([], []))[1].append(include)
            self._owned_index[path] = index
        return index.get((router.name, router.scope), ([], []))

    def _handlers(self, path: str, module: PythonModule) -> dict[str, HandlerInfo]:
        """The first handler of each name in a module (indexed once per module)."""
        index = self._handler_index.get(path)
        if index is None:
            index = {}
            for handler in module.handlers:
                index.setdefault(handler.name, handler)
            self._handler_index[path] = index
        return index

    def _router(
        self, path: str, module: PythonModule, target: str, scope: str | None
    ) -> tuple[str, PythonModule, RouterObj] | None:
        """The router/app an include names: local, imported, or `module.attr` (memoised)."""
        key = (path, target, scope)
        if key not in self._routers:
            self._routers[key] = None  # an import cycle ends here
            self._routers[key] = self._find_router(path, module, target, scope)
        return self._routers[key]

    def _find_router(
        self, path: str, module: PythonModule, target: str, scope: str | None
    ) -> tuple[str, PythonModule, RouterObj] | None:
        name = target.removesuffix("()")
        for candidate_scope in (scope, None):
            local = next(
                (r for r in module.routers if r.name == name and r.scope == candidate_scope), None
            )
            if local is not None:
                return path, module, local
        head, _, attr = name.partition(".")
        for imported in module.imports:
            if imported.local != head:
                continue
            other = resolve_import(imported, path, self.python)
            if other is None or other not in self.python:
                return None
            other_module = self.python[other]
            wanted = attr or (imported.name or "")
            if imported.name is not None and attr:
                # `from app.api.routes import health` then `health.router`: a submodule
                sub = resolve_import(
                    replace(imported, module=_join(imported.module, imported.name), name=None),
                    path,
                    self.python,
                )
                if sub is not None and sub in self.python:
                    other, other_module = sub, self.python[sub]
            found = next(
                (r for r in other_module.routers if r.name == wanted and r.scope is None), None
            )
            if found is not None:
                return other, other_module, found
            if any(b.local == wanted for b in other_module.imports):
                return self._router(other, other_module, wanted, None)  # re-exported
            return None
        return None


def _interface(module: PythonModule, router: RouterObj) -> str | None:
    """The interface the app speaks, from the class that makes it; None when the module
    rebinds its name to something else (`app = ASGIMiddleware(app)` makes a WSGI app of an
    ASGI one) or the class is not known."""
    from preflight.knowledge.servers import APP_INTERFACES

    if router.scope is None and any(
        b.name == router.name and b.call.rsplit(".", 1)[-1] != router.cls for b in module.bindings
    ):
        return None
    return APP_INTERFACES.get(router.cls)


def _join(module: str, name: str) -> str:
    return f"{module}.{name}" if module else name


_ALL_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
# Outside packages that add routes to a Flask app handed to them (`Api(app)`, `init_app(app)`)
_ROUTE_EXTENSIONS = frozenset(
    {"flask_restx", "flask_restful", "flask_restplus", "flask_smorest", "flasgger", "healthcheck",
     "flask_healthz", "prometheus_flask_exporter", "flask_admin", "connexion", "flask_graphql",
     "graphql_server", "strawberry", "flask_openapi3", "spectree", "flask_appbuilder", "dash",
     "flask_apispec", "flask_jsonrpc", "flask_restless", "flask_rest_jsonapi", "flask_api",
     "flask_security", "flask_dance", "flask_debugtoolbar", "flask_swagger_ui", "apiflask"}
)  # fmt: skip


def _flask_join(prefix: str, rule: str) -> str:
    """Flask's join of a url_prefix and a rule (or of two prefixes): one slash between."""
    if not prefix:
        return rule
    if not rule:
        return prefix
    return prefix.rstrip("/") + "/" + rule.lstrip("/")


def reaches_database(
    handler: HandlerInfo, module: str, python: dict[str, PythonModule], depth: int = 0
) -> bool | None:
    """True: it talks to a database; False: it surely does not; None: cannot tell.

    Calls are followed four deep. Each (function, depth) is answered once per project and each
    callee name looked up once per module, so a handler that calls a function a thousand
    times, which calls another a thousand times, costs thousands of steps, not a billion."""
    return _reach(python).answer(handler, module, depth)


class _Reach:
    """The memo of :func:`reaches_database` for one project's modules."""

    def __init__(self, python: dict[str, PythonModule]) -> None:
        self.python = python  # held, so the identity the cache is keyed by stays this dict's
        self.answers: dict[tuple[str, int, int], bool | None] = {}
        self.functions: dict[tuple[str, str], tuple[str, HandlerInfo] | None] = {}
        self.by_name: dict[str, tuple[dict[str, int], dict[str, int]]] = {}

    def answer(self, handler: HandlerInfo, module: str, depth: int) -> bool | None:
        key = (module, id(handler), depth)
        if key not in self.answers:
            self.answers[key] = self._answer(handler, module, depth)
        return self.answers[key]

    def _answer(self, handler: HandlerInfo, module: str, depth: int) -> bool | None:
        if handler.db_evidence:
            return True
        if depth > 3:
            return None
        unknown = False
        for callee in dict.fromkeys((*handler.calls, *handler.depends)):
            found = self.function(callee, module)
            if found is not None:
                result = self.answer(found[1], found[0], depth + 1)
                if result:
                    return True
                unknown = unknown or result is None
                continue
            short = callee.rsplit(".", 1)[-1]
            if short[:1].isupper() and not any(
                w in short for w in ("Session", "Engine", "Pool", "Connection")
            ):
                continue  # constructing a class (a response model): it talks to nothing
            if any(word in short.lower() for word in _UNKNOWN_NAMES):
                unknown = True
        return None if unknown else False

    def function(self, name: str, module: str) -> tuple[str, HandlerInfo] | None:
        key = (name, module)
        if key not in self.functions:
            self.functions[key] = self._function(name, module)
        return self.functions[key]

    def _first(self, module: str, name: str, short: str) -> HandlerInfo | None:
        """The first handler named ``name``, or ``short``, or ``Class.short``."""
        handlers = self.python[module].handlers
        if module not in self.by_name:
            full: dict[str, int] = {}
            last: dict[str, int] = {}
            for index, handler in enumerate(handlers):
                full.setdefault(handler.name, index)
                last.setdefault(handler.name.rsplit(".", 1)[-1], index)
            self.by_name[module] = (full, last)
        full, last = self.by_name[module]
        found = [i for i in (full.get(name), last.get(short)) if i is not None]
        return handlers[min(found)] if found else None

    def _function(self, name: str, module: str) -> tuple[str, HandlerInfo] | None:
        own = self.python.get(module)
        if own is None:
            return None
        short = name.rsplit(".", 1)[-1]
        handler = self._first(module, name, short)
        if handler is not None:
            return module, handler
        head = name.split(".", 1)[0]
        for imported in own.imports:
            if imported.local in (name, head) and imported.name is not None:
                other = resolve_import(imported, module, self.python)
                if other is not None and other in self.python:
                    wanted = imported.name if imported.local == name else short
                    found = self._first(other, "", wanted)
                    if found is not None:
                        return other, found
        return None


_REACH: list[_Reach] = []  # the last project's memo (rules ask about one project at a time)


def _reach(python: dict[str, PythonModule]) -> _Reach:
    if not _REACH or _REACH[0].python is not python:
        _REACH[:] = [_Reach(python)]
    return _REACH[0]
