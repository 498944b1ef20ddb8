"""Where Python web servers listen when the command does not say, and what makes them dev servers.

Each entry says where the fact comes from (the server's own source at the version named); the
versions are the ones the rules RUN001 and RUN004 assume (rules/RUN001.md, rules/RUN004.md).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HostDefault:
    """How a server picks the address it listens on."""

    host: str  # the address it binds when nothing says otherwise
    options: tuple[str, ...]  # the command-line options that name the address
    env: str | None  # the environment variable the option falls back to, if any
    source: str  # where this is documented (shown on the rule page, not in messages)
    env_since: str | None = None  # the first version that reads ``env`` (older ignore it)


# The address each server binds with no option, no config file and no environment variable.
HOST_DEFAULTS: dict[str, HostDefault] = {
    # uvicorn/main.py (0.35): `@click.option("--host", default="127.0.0.1")`, and the command is
    # `@click.command(context_settings={"auto_envvar_prefix": "UVICORN"})`: UVICORN_HOST. The
    # same default for `uvicorn.run(app)` (`def run(app, *, host="127.0.0.1", …)`), which
    # reads no environment variable.
    # UVICORN_* since 0.16.0 (encode/uvicorn#1279, 2021-12).
    "uvicorn": HostDefault(
        "127.0.0.1", ("--host",), "UVICORN_HOST", "uvicorn/main.py", env_since="0.16.0"
    ),
    # gunicorn/config.py (23, 26): `class Bind` defaults to ['127.0.0.1:8000'], or to
    # ['0.0.0.0:$PORT'] when PORT is in the environment; `-b/--bind`, `bind` in the config
    # file, GUNICORN_CMD_ARGS (in that order of precedence: command line, environment, file).
    "gunicorn": HostDefault(
        "127.0.0.1", ("-b", "--bind"), "GUNICORN_CMD_ARGS", "gunicorn/config.py class Bind"
    ),
    # hypercorn/config.py (0.17, 0.18): `_bind = ["127.0.0.1:8000"]`; `-b/--bind`, or `bind` in
    # the `-c` config file; no environment variable.
    "hypercorn": HostDefault("127.0.0.1", ("-b", "--bind"), None, "hypercorn/config.py"),
    # granian/cli.py (1.x, 2.8): `--host` default '127.0.0.1'; `cli(auto_envvar_prefix=
    # 'GRANIAN')`: GRANIAN_HOST.
    # GRANIAN_* since 0.7.0 (emmett-framework/granian#140, 2023-10).
    "granian": HostDefault(
        "127.0.0.1", ("--host",), "GRANIAN_HOST", "granian/cli.py", env_since="0.7.0"
    ),
    # daphne/cli.py (4.x): DEFAULT_HOST = "127.0.0.1", used whenever `-b/--bind` is not given
    # (also with `-p` alone); `-u`, `--fd` and `-e` endpoints bind elsewhere.
    "daphne": HostDefault("127.0.0.1", ("-b", "--bind"), None, "daphne/cli.py"),
    # flask/cli.py (2.x, 3.x): `flask run --host/-h` default "127.0.0.1"; the flask command's
    # auto_envvar_prefix "FLASK" makes it FLASK_RUN_HOST (a .flaskenv may set it too).
    "flask": HostDefault("127.0.0.1", ("--host", "-h"), "FLASK_RUN_HOST", "flask/cli.py"),
    # django/core/management/commands/runserver.py: `default_addr = "127.0.0.1"` (`::1` with
    # `-6`); `runserver 8000` keeps it, `runserver 0:8000` means 0.0.0.0.
    "runserver": HostDefault("127.0.0.1", (), None, "django runserver.py default_addr"),
    # fastapi_cli/cli.py (0.0.5 to 0.0.32): `fastapi run` serves on "0.0.0.0", `fastapi dev`
    # on "127.0.0.1" (`--host`; no environment variable for the host).
    "fastapi run": HostDefault("0.0.0.0", ("--host",), None, "fastapi_cli/cli.py run"),
    "fastapi dev": HostDefault("127.0.0.1", ("--host",), None, "fastapi_cli/cli.py dev"),
    # Flask.run (flask/app.py): `host` defaults to "127.0.0.1" (or SERVER_NAME's host).
    "app.run": HostDefault("127.0.0.1", (), None, "flask/app.py Flask.run"),
    "uvicorn.run": HostDefault("127.0.0.1", (), None, "uvicorn/main.py run"),
}

# Addresses that only the container itself can reach.
LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback", "::1"})

# Programs that receive the outside traffic and forward it to a server on loopback or a socket
# (a container that starts one before the server is a proxy-in-front layout, not a mistake).
REVERSE_PROXIES = frozenset(
    {"nginx", "caddy", "haproxy", "envoy", "traefik", "apache2", "apachectl", "httpd",
     "h2o", "openresty", "lighttpd", "varnishd", "supervisord"}
)  # fmt: skip

# Development modes (RUN004). `--reload`: uvicorn (uvicorn/config.py warns '"workers" flag is
# ignored when reloading is enabled'), gunicorn (config.py Reload: "This setting is intended
# for development"), hypercorn, granian, `fastapi run --reload`. `fastapi dev` is `fastapi run`
# with reload on and host 127.0.0.1. `flask run` and `manage.py runserver` are the frameworks'
# development servers ("DO NOT USE THIS SERVER IN A PRODUCTION SETTING", Django's docs).
RELOAD_SERVERS = frozenset({"uvicorn", "gunicorn", "hypercorn", "granian", "fastapi"})
# Environment variables that switch reloading or the debugger on without the command saying so.
DEV_ENV = {
    "uvicorn": ("UVICORN_RELOAD",),
    "granian": ("GRANIAN_RELOAD",),
    "flask": ("FLASK_DEBUG",),
}

# gunicorn worker classes (RUN003, PKG002) ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkerClass:
    """What a gunicorn worker class serves, and the distribution it imports."""

    interface: str  # "wsgi": calls `app(environ, start_response)`; "asgi": `await app(scope,
    # receive, send)`
    needs: str | None  # the distribution it imports at start (None: gunicorn's own)
    deprecated: bool = False  # uvicorn.workers (deprecated since uvicorn 0.30.0)


# gunicorn/workers/__init__.py (21-23): SUPPORTED_WORKERS maps "sync", "eventlet", "gevent",
# "gevent_wsgi", "gevent_pywsgi", "tornado" and "gthread" to classes of gunicorn.workers. The
# sync, gthread, eventlet and gevent workers all call the app as WSGI: `respiter =
# self.wsgi(environ, resp.start_response)` (gunicorn/workers/sync.py `handle_request`,
# gthread.py, base_async.py); an ASGI app called that way raises `TypeError: __call__()
# missing 1 required positional argument: 'send'` (or "missing 2 … 'receive' and 'send'").
# `-k gevent` imports gevent (ggevent.py: `import gevent` raises RuntimeError "gevent worker
# requires gevent 1.4 or higher" when missing), `-k eventlet` imports eventlet (geventlet.py).
# `tornado` is left out: its worker also serves tornado applications.
# uvicorn/workers.py (0.13-0.35): UvicornWorker and UvicornH11Worker serve ASGI; uvicorn 0.30.0
# (2024-05-28, encode/uvicorn#2302) deprecated the module in favour of the uvicorn-worker
# package (Kludex/uvicorn-worker: uvicorn_worker.UvicornWorker, same classes).
WORKER_CLASSES: dict[str, WorkerClass] = {
    "sync": WorkerClass("wsgi", None),
    "gthread": WorkerClass("wsgi", None),
    "gevent": WorkerClass("wsgi", "gevent"),
    "gevent_wsgi": WorkerClass("wsgi", "gevent"),
    "gevent_pywsgi": WorkerClass("wsgi", "gevent"),
    "eventlet": WorkerClass("wsgi", "eventlet"),
    "gunicorn.workers.sync.SyncWorker": WorkerClass("wsgi", None),
    "gunicorn.workers.gthread.ThreadWorker": WorkerClass("wsgi", None),
    "gunicorn.workers.ggevent.GeventWorker": WorkerClass("wsgi", "gevent"),
    "gunicorn.workers.geventlet.EventletWorker": WorkerClass("wsgi", "eventlet"),
    "uvicorn.workers.UvicornWorker": WorkerClass("asgi", "uvicorn", deprecated=True),
    "uvicorn.workers.UvicornH11Worker": WorkerClass("asgi", "uvicorn", deprecated=True),
    "uvicorn_worker.UvicornWorker": WorkerClass("asgi", "uvicorn-worker"),
    "uvicorn_worker.UvicornH11Worker": WorkerClass("asgi", "uvicorn-worker"),
}
# gunicorn/config.py `class WorkerClass`: default "sync"; `class Threads`: "If it is more than
# one and the sync worker is used, then the gthread worker is used instead" (still WSGI).
DEFAULT_WORKER = "sync"
UVICORN_WORKERS_DEPRECATED_SINCE = "0.30.0"  # encode/uvicorn#2302, released 2024-05-28
UVICORN_WORKER_REPLACEMENT = {
    "uvicorn.workers.UvicornWorker": "uvicorn_worker.UvicornWorker",
    "uvicorn.workers.UvicornH11Worker": "uvicorn_worker.UvicornH11Worker",
}

# Apps by the class that makes them, and the interface a server calls them with. FastAPI,
# Starlette, Litestar and Quart apps are ASGI callables (`async def __call__(self, scope,
# receive, send)`); Flask (and APIFlask, a Flask subclass) is WSGI (`__call__(self, environ,
# start_response)`). Django: `get_asgi_application()`/`ASGIHandler` make an ASGI app,
# `get_wsgi_application()`/`WSGIHandler` a WSGI one (django/core/handlers), as does channels'
# `ProtocolTypeRouter` (ASGI).
APP_INTERFACES: dict[str, str] = {
    "FastAPI": "asgi",
    "Starlette": "asgi",
    "Litestar": "asgi",
    "Quart": "asgi",
    "Flask": "wsgi",
    "APIFlask": "wsgi",
    "get_asgi_application": "asgi",
    "ASGIHandler": "asgi",
    "ProtocolTypeRouter": "asgi",
    "get_wsgi_application": "wsgi",
    "WSGIHandler": "wsgi",
}

# uvicorn options whose value makes it import a package uvicorn itself does not require
# (uvicorn/config.py, 0.20-0.35: LOOP_SETUPS, HTTP_PROTOCOLS, WS_PROTOCOLS are import strings
# loaded at start; `--log-config x.yaml` runs `import yaml`). uvicorn[standard] brings uvloop
# (not on Windows, Cygwin or PyPy), httptools, websockets and PyYAML (uvicorn's pyproject.toml
# `standard` extra), so these are the packages a plain `uvicorn` lacks.
UVICORN_OPTION_PACKAGES: dict[tuple[str, str], str] = {
    ("--loop", "uvloop"): "uvloop",
    ("--http", "httptools"): "httptools",
    ("--ws", "websockets"): "websockets",
    ("--ws", "websockets-sansio"): "websockets",
    ("--ws", "wsproto"): "wsproto",
}
YAML_LOG_CONFIG = (".yaml", ".yml")  # uvicorn `--log-config`: `import yaml` (PyYAML)
