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
