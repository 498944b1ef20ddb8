"""Every place a deploy starts a web server, the environment it starts in, where it listens.

The graph's containers are Kubernetes containers; a server also starts where a compose service
runs it, where an image runs its own CMD with no deploy described here (``docker run``, a
platform that runs the image), and where a Procfile line starts it. ``served`` builds one
:class:`Served` for each, once: the server command (a shell line or an entrypoint script
followed, as PKG001 follows it), the environment that reaches it (literal values, names only
known to be set, and why more may be set), and what decides the address it listens on
(:class:`Listen`) and whether it runs in a development mode (:class:`DevMode`).

A unit that runs its image's own command points at the Dockerfile's CMD (or the script line
that starts the server): that is where the fix goes, whoever runs the image.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from preflight.knowledge.servers import (
    DEFAULT_WORKER,
    HOST_DEFAULTS,
    LOOPBACK_NAMES,
    REVERSE_PROXIES,
)
from preflight.model.apps import App, AppResolver, ServerCommand, python_run, server_command
from preflight.parse.shell import invocations, split_shell
from preflight.spans import Span

if TYPE_CHECKING:
    from preflight.model.graph import ContainerNode
    from preflight.model.processes import Process
    from preflight.model.project import Environment, Image, Launch, Project
    from preflight.parse.compose import ComposeFile, ComposeService
    from preflight.parse.dockerfile import Dockerfile
    from preflight.parse.python import PythonModule

__all__ = [
    "DevMode",
    "GunicornSetting",
    "Listen",
    "Served",
    "ServedEnv",
    "Worker",
    "dev_path",
    "gunicorn_setting",
    "local_image",
    "served",
]

Kind = Literal["kubernetes", "compose", "image", "procfile"]


@dataclass(frozen=True, slots=True)
class ServedEnv:
    """What a server's environment holds: literal values (never printed), every name known to
    be set (a Secret key's value is unknown, the name is not), and why other names may be set
    (an envFrom whose keys preflight cannot see, a platform that sets PORT)."""

    values: Mapping[str, str] = field(default_factory=dict, repr=False)
    names: frozenset[str] = frozenset()
    open: str | None = None

    def get(self, name: str) -> tuple[bool, str | None]:
        """(set, literal value): (True, None) when it is set to a value preflight cannot read,
        (False, None) when it is known not to be set."""
        if name in self.names:
            return True, self.values.get(name)
        return False, None


@dataclass(frozen=True, slots=True)
class Listen:
    """Where a server listens: only on loopback (True), somewhere reachable (False), or not
    known (None, with ``unknown`` saying why)."""

    loopback: bool | None
    address: str = ""  # as the server would bind it: "127.0.0.1:8000", "localhost"
    how: str = ""  # "uvicorn's default (no `--host`)", "`--host localhost`", …
    at: Span | None = None  # where the address is written outside the command
    word: str = ""  # the word of the command that names it ("" when none does)
    unknown: str | None = None


@dataclass(frozen=True, slots=True)
class DevMode:
    """A development mode the server runs in (RUN004)."""

    what: str  # "`--reload`", "`fastapi dev`", "Flask's development server (`flask run`)"
    word: str  # the word of the command to point at ("" when it is not in the command)
    at: Span | None = None  # where it is switched on outside the command (app.run, a config)
    debugger: bool = False  # an interactive debugger: whoever reaches the server runs code
    workers_ignored: str | None = None  # "`--workers 4`" when reloading makes it ignored


@dataclass(frozen=True, slots=True)
class Worker:
    """The gunicorn worker class a server runs with: ``name`` as written (`sync` when nothing
    names one), or None with ``unknown`` saying why it cannot be known."""

    name: str | None
    how: str = ""  # "`-k gevent`", "gunicorn's default, no `-k`", "`worker_class` in …"
    word: str = ""  # the word of the command that names it (the `-k` token; "" when none)
    at: Span | None = None  # the config file line that sets it
    unknown: str | None = None


@dataclass(slots=True)
class Served:
    """A web server one deploy starts."""

    label: str  # how messages name it: "Deployment `api` container `web`"
    kind: Kind
    command: ServerCommand
    span: Span  # the command as written (the launch, or the script line that starts it)
    source: str  # the text from ``span.line`` on, to point at words
    env: ServedEnv
    near: str  # the repository directory its code is in (build context, Procfile directory)
    cwd: str | None  # the directory it starts in, inside the image (None: not known)
    files: Mapping[str, str] | None  # image path -> repository path (None: no image known)
    image_command: bool  # it runs its image's own ENTRYPOINT/CMD
    dockerfile: str | None  # the Dockerfile whose image it runs
    proxy: str | None = None  # a reverse proxy the same command starts as well
    node: ContainerNode | None = None
    compose: tuple[ComposeFile, ComposeService] | None = None
    deployed_by: list[Served] = field(default_factory=list)  # "image": what runs it here
    # "image": the containers and compose services that run the image with a command of their
    # own, and the Helm charts that run it (their templates are not read), as (kind, label)
    overridden_by: list[tuple[str, str]] = field(default_factory=list)
    # the versions its service pins (a lock file, or `==` in its requirements): name -> (version,
    # where that is said)
    versions: dict[str, tuple[str, str]] = field(default_factory=dict)
    alternatives: int = 1  # how many different servers its script may start (`if`/`else`)
    listen: Listen = field(default_factory=lambda: Listen(None, unknown="not computed"))
    dev: DevMode | None = None
    # what in its command line or script changes where it starts or imports from (`cd src &&
    # uvicorn …`, a script's `cd /app/src` or `export PYTHONPATH=…`, `uv run --directory src`):
    # ``cwd`` and the environment are then not the whole story
    moves_dir: str | None = None
    worker: Worker | None = None  # gunicorn's worker class (None for other servers)
    app: App | None = None  # the app it serves, when resolved (None: ``app_why`` says why)
    app_why: str | None = None
    environment: Environment | None = None  # what is installed where it runs (None: unknown)
    launch: Launch | None = None  # the command the deploy gives (``span`` may be a script line)

    def word_span(self, word: str) -> Span:
        """The span of ``word`` in the command as written, or the command's span."""
        return narrow(self.span, self.source, word) if word else self.span

    def option_span(self, word: str) -> Span:
        """The span of ``word`` where it is written: in the command, else in the launch that
        hands it to the script (`exec "$@"` gets its arguments from the CMD)."""
        found = self.word_span(word)
        launch = self.launch
        if found != self.span or not word or launch is None or launch.span == self.span:
            return found
        for written, at in zip(reversed(launch.argv), reversed(launch.word_spans), strict=False):
            if written == word and at is not None:
                if at.end_line == at.line and at.end_col - at.col == len(word) + 2:
                    return Span(at.path, at.line, at.col + 1, at.line, at.end_col - 1)  # "-k"
                return at
        there = narrow(launch.span, launch.source, word)
        return there if there != launch.span else found


def served(
    project: Project,
    containers: list[ContainerNode],
    processes: list[Process],
    resolver: AppResolver | None = None,
) -> list[Served]:
    """One unit per server a deploy starts: Kubernetes containers, compose services, images on
    their own, Procfile processes (in that order), with the app each serves (``resolver``)."""
    builder = _Builder(project, processes)
    out: list[Served] = []
    for node in containers:
        unit = builder.container(node)
        if unit is not None:
            out.append(unit)
    for compose in project.compose_files.values():
        for service in compose.services:
            unit = builder.compose_service(compose, service)
            if unit is not None:
                out.append(unit)
    images: list[Served] = []
    for path, image in sorted(project.images.items()):
        unit = builder.image(path, image)
        if unit is None:
            continue
        unit.deployed_by = [u for u in out if u.image_command and u.dockerfile == path]
        unit.overridden_by = _overriding(project, containers, path)
        images.append(unit)
    out.extend(images)
    out.extend(builder.procfiles())
    pins = _Pins(project)
    for unit in out:
        unit.versions = pins.near(unit.near)
        unit.listen = _listen(unit, project)
        unit.dev = _dev_mode(unit, project)
        unit.worker = _worker(unit, project) if unit.command.server == "gunicorn" else None
        if resolver is not None:
            _app(unit, resolver)
    return out


def _app(unit: Served, resolver: AppResolver) -> None:
    """The app the unit serves: a container's own (resolved with the settings module its
    ConfigMaps give), else the one its command names, found from where its code is."""
    node = unit.node
    if node is not None and node.server_command == unit.command and node.app is not None:
        unit.app = node.app
        return
    if unit.command.server == "python" and unit.command.run is None:
        unit.app_why = "`python` runs no server preflight knows"
        return
    unit.app, unit.app_why = resolver.resolve(unit.command, unit.near)


def _overriding(
    project: Project, containers: list[ContainerNode], path: str
) -> list[tuple[str, str]]:
    """Who runs the image of ``path`` with a command of its own (so not its CMD)."""
    out: list[tuple[str, str]] = []
    for node in containers:
        container = node.run.container
        own = container.command is not None or container.args is not None
        if own and node.run.dockerfile is not None and node.run.dockerfile.path == path:
            out.append(("kubernetes", node.label))
    for compose in project.compose_files.values():
        for service in compose.services:
            own = service.command is not None or service.entrypoint is not None
            if own and service.dockerfile == path:
                out.append(("compose", f"compose service `{service.name}`"))
    for helm in project.helm_images:
        if helm.dockerfile == path:
            out.append(("helm", f"the Helm chart in {helm.chart or '.'}"))
    return out


class _Builder:
    def __init__(self, project: Project, processes: list[Process]) -> None:
        self.project = project
        self.launches: dict[tuple[str, int, int], int] = {}  # launch span -> its index
        self.image_launch: dict[str, int] = {}  # Dockerfile path -> its CMD's launch
        self.processes = processes
        for index, launch in enumerate(project.launches):
            span = launch.span
            self.launches.setdefault((span.path, span.line, span.col), index)
            if launch.origin.startswith("the Dockerfile's"):
                self.image_launch.setdefault(span.path, index)

    # each kind of deploy ---------------------------------------------------------------------

    def container(self, node: ContainerNode) -> Served | None:
        run = node.run
        container = run.container
        image = self.project.images.get(run.dockerfile.path) if run.dockerfile else None
        own = container.command if container.command is not None else container.args
        index: int | None
        if own is not None:
            first = own.item_spans[0] if own.item_spans else own.span
            index = self.launches.get((first.path, first.line, first.col))
        elif run.dockerfile is not None:
            index = self.image_launch.get(run.dockerfile.path)
        else:
            index = None
        if index is None:
            return None
        values: dict[str, str] = {}
        for name, providers in node.env.providers.items():
            value = providers[-1].value
            if value is not None and "$(" not in value:
                values[name] = value
        open_ = node.env.unknown[0] if node.env.unknown else None
        env = ServedEnv(values, frozenset(node.env.providers), open_)
        cwd = container.working_dir or (image.environment.workdir if image else None)
        return self._unit(
            node.label,
            "kubernetes",
            index,
            env,
            run.context,
            cwd,
            image,
            own is None,
            run.dockerfile.path if run.dockerfile else None,
            node=node,
        )

    def compose_service(self, compose: ComposeFile, service: ComposeService) -> Served | None:
        image = self.project.images.get(service.dockerfile) if service.dockerfile else None
        if service.command is not None or service.entrypoint is not None:
            written = service.entrypoint or service.command
            assert written is not None
            index = self._launch_in(compose.path, f"compose service `{service.name}`")
            own = True
        elif image is not None:
            index = self.image_launch.get(image.dockerfile.path)
            own = False
        else:
            return None
        if index is None:
            return None
        env = _compose_env(self.project, service, image.dockerfile if image else None)
        return self._unit(
            f"compose service `{service.name}`",
            "compose",
            index,
            env,
            image.context if image else (service.build_context or ""),
            image.environment.workdir if image else None,
            image,
            not own,
            image.dockerfile.path if image else None,
            compose=(compose, service),
        )

    def image(self, path: str, image: Image) -> Served | None:
        index = self.image_launch.get(path)
        if index is None:
            return None
        env = _image_env(image.dockerfile)
        return self._unit(
            f"the image built from {path}",
            "image",
            index,
            env,
            image.context,
            image.environment.workdir,
            image,
            True,
            path,
        )

    def procfiles(self) -> list[Served]:
        out: list[Served] = []
        for index, launch in enumerate(self.project.launches):
            if not launch.origin.startswith("Procfile process"):
                continue
            # the platform that reads a Procfile (Heroku, Dokku, Scalingo) sets PORT for it
            env = ServedEnv({}, frozenset({"PORT"}))
            near = posixpath.dirname(launch.span.path)
            unit = self._unit(launch.origin, "procfile", index, env, near, None, None, False, None)
            if unit is not None:
                unit.cwd = near
                out.append(unit)
        return out

    # shared ----------------------------------------------------------------------------------

    def _launch_in(self, path: str, origin: str) -> int | None:
        for index, launch in enumerate(self.project.launches):
            if launch.span.path == path and launch.origin == origin:
                return index
        return None

    def _unit(
        self,
        label: str,
        kind: Kind,
        index: int,
        env: ServedEnv,
        near: str,
        cwd: str | None,
        image: Image | None,
        image_command: bool,
        dockerfile: str | None,
        *,
        node: ContainerNode | None = None,
        compose: tuple[ComposeFile, ComposeService] | None = None,
    ) -> Served | None:
        launch = self.project.launches[index]
        process = self.processes[index] if index < len(self.processes) else None
        files = image.environment.copied_paths if image is not None else None
        found = self._server(launch, process, env, near, image)
        if not found:
            return None
        command, span, source = found[0]
        distinct = {(c.server, c.args, c.target) for c, _, _ in found}
        proxy = _proxy_in(process)
        unit = Served(
            label,
            kind,
            command,
            span,
            source,
            env,
            near,
            cwd,
            files,
            image_command,
            dockerfile,
            proxy,
            node,
            compose,
        )
        unit.alternatives = len(distinct)
        unit.moves_dir = _moves_dir(launch, process, self.project.shell_scripts)
        unit.environment = launch.environment
        unit.launch = launch
        return unit

    def _server(
        self,
        launch: Launch,
        process: Process | None,
        env: ServedEnv,
        near: str,
        image: Image | None,
    ) -> list[tuple[ServerCommand, Span, str]]:
        """The servers the launch starts: its own argv, or the steps of the script it runs
        that start one (more than one when the script picks between them: `if`/`case`)."""
        values = dict(env.values)
        python = self.project.python
        in_image = (image.environment.workdir, image.environment.copied_paths) if image else None
        command = server_command(launch.argv, values) or python_run(
            launch.argv, python, near, values, in_image
        )
        if command is not None:
            return [(command, launch.span, launch.source)]
        if process is None:
            return []
        found: list[tuple[ServerCommand, Span, str]] = []
        for step in process.steps:
            if step.invocation is None or step.runs not in ("program", "python"):
                continue
            argv = (step.invocation.executable, *step.invocation.args)
            command = server_command(argv, values)
            if command is None and step.runs == "python":
                command = python_run(argv, python, near, values, in_image)
            if command is None:
                continue
            at = step.at or (step.chain[-1].span if step.chain else None)
            if at is None:
                found.append((command, launch.span, launch.source))
                continue
            lines = self.project.shell_scripts.get(at.path, "").split("\n")
            found.append((command, at, "\n".join(lines[at.line - 1 : at.end_line])))
        return found


_CHANGES_DIR = frozenset({"cd", "pushd"})
_PATH_VARIABLES = ("PYTHONPATH", "UVICORN_APP_DIR", "GUNICORN_CMD_ARGS")
_DIR_OPTIONS = frozenset({"--directory", "-C", "--cwd", "--project", "--chdir", "--app-dir"})


def _moves_dir(launch: Launch, process: Process | None, scripts: Mapping[str, str]) -> str | None:
    """The `cd` (or a runner's `--directory`) in the launch or the scripts it runs, if any."""
    texts = [
        word for index, word in enumerate(launch.argv) if index and launch.argv[index - 1] == "-c"
    ]
    found = list(invocations(list(launch.argv)) or [])
    if process is not None:
        for step in process.steps:
            if step.invocation is not None:
                found.append(step.invocation)
            for path in (step.script, step.at.path if step.at else None):
                if path is not None and path in scripts:
                    texts.append(scripts[path])
    for text in dict.fromkeys(texts):
        for name in _PATH_VARIABLES:
            if re.search(rf"\b{name}=", text):
                return f"`{name}=…` set in its shell text"
        commands = split_shell(text)
        if commands is None:
            return "a shell text preflight cannot split"
        for words in commands:
            first = next((w for w in words if "=" not in w.split("/")[0]), "")
            if first in _CHANGES_DIR:
                return f"`{' '.join(words)}`"
    for invocation in found:
        for wrapper in invocation.wrappers:
            if any(word.partition("=")[0] in _DIR_OPTIONS for word in wrapper[1:]):
                return f"`{' '.join(wrapper)}`"
    return None


class _Pins:
    """The versions each service pins: its lock file's, else `==` requirements, from the
    shallowest dependency file under its directory (each directory's answered once, from an
    index built once: not a scan of every dependency file per service)."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.first: dict[str, str] = {}  # a directory -> the shallowest dependency file below
        for path in sorted(project.dependencies, key=lambda p: (p.count("/"), p)):
            parts = path.split("/")[:-1]
            for depth in range(len(parts) + 1):
                self.first.setdefault("/".join(parts[:depth]), path)
        self.known: dict[str, dict[str, tuple[str, str]]] = {}

    def near(self, near: str) -> dict[str, tuple[str, str]]:
        if near not in self.known:
            path = self.first.get(near)
            self.known[near] = {} if path is None else _pinned_in(self.project, path)
        return dict(self.known[near])


def _pinned_in(project: Project, path: str) -> dict[str, tuple[str, str]]:
    deps = project.dependencies[path]
    out: dict[str, tuple[str, str]] = {
        name: (version, "the lock file") for name, version in deps.locked.items()
    }
    for requirement in deps.requirements:
        spec = requirement.specifier.strip()
        if spec.startswith("==") and "*" not in spec and "," not in spec:
            out.setdefault(requirement.name, (spec[2:].strip(), deps.declared_in))
    return out


def _proxy_in(process: Process | None) -> str | None:
    if process is None:
        return None
    for step in process.steps:
        if step.invocation is None:
            continue
        name = posixpath.basename(step.invocation.executable)
        if name in REVERSE_PROXIES:
            return name
    return None


def _image_env(dockerfile: Dockerfile) -> ServedEnv:
    values: dict[str, str] = {}
    names: set[str] = set()
    if dockerfile.final is not None:
        for stage in reversed(dockerfile.lineage(dockerfile.final)):
            for name, (value, _) in stage.env.items():
                if name in stage.build_args:
                    continue
                names.add(name)
                if value is None or "$" in value:
                    values.pop(name, None)
                else:
                    values[name] = value
    return ServedEnv(values, frozenset(names))


def _compose_env(
    project: Project, service: ComposeService, dockerfile: Dockerfile | None
) -> ServedEnv:
    base = _image_env(dockerfile) if dockerfile is not None else ServedEnv()
    values = dict(base.values)
    names = set(base.names)
    open_: str | None = None
    if dockerfile is None and service.image:
        open_ = f"the image `{service.image}` may set variables preflight cannot see"
    for path, _span in service.env_files:
        env_file = project.env_files.get(path) or project.env_examples.get(path)
        if env_file is None:
            open_ = f"its env_file `{path}` is not a file preflight can read"
            continue
        for entry in env_file.entries:
            names.add(entry.name)
            if "$" in entry.value:
                values.pop(entry.name, None)
            else:
                values[entry.name] = entry.value
    for variable in service.environment:
        names.add(variable.name)
        if variable.value is None or "$" in variable.value:
            values.pop(variable.name, None)  # from the host, or interpolated: not known here
        else:
            values[variable.name] = variable.value
    return ServedEnv(values, frozenset(names), open_)


# where a server listens -------------------------------------------------------------------------

_VAR = re.compile(r"\$(?:\{(\w+)(?::?-([^}]*))?\}|\((\w+)\)|(\w+))")


def _resolve(text: str, unit: Served) -> str | None:
    """``text`` with ``$VAR``/``${VAR:-default}``/``$(VAR)`` replaced from the unit's
    environment; None when a variable's value cannot be known (or the image alone cannot say:
    whoever runs it may set the variable)."""
    text = text.strip().strip("'\"")
    failed = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal failed
        name = match.group(1) or match.group(3) or match.group(4)
        default = match.group(2)
        is_set, value = unit.env.get(name)
        if is_set:
            if value is None:
                failed = True
                return ""
            return value
        if unit.kind == "image" or unit.env.open is not None or default is None:
            failed = True  # the deploy may set it; or, unset, the shell gives "" (or no shell)
            return ""
        return default

    resolved = _VAR.sub(substitute, text)
    return None if failed else resolved


def is_loopback(host: str) -> bool:
    """An address only the container itself can reach (`localhost`, `127.0.0.1`, `::1`)."""
    bare = host.strip().strip("[]").lower()
    return bare in LOOPBACK_NAMES or re.fullmatch(r"127(?:\.\d{1,3}){3}", bare) is not None


def _split_bind(bind: str) -> tuple[str | None, str]:
    """The host of a `HOST:PORT` bind (`[::1]:8000`, `:8000`, `0.0.0.0`); None for a unix
    socket or a file descriptor (`unix:/run/app.sock`, `fd://3`)."""
    if bind.startswith(("unix:", "fd://", "/")):
        return None, bind
    if bind.startswith("["):
        return bind[1:].split("]", 1)[0], bind
    if bind.count(":") == 1:
        return bind.split(":", 1)[0], bind
    return bind, bind


def _options(args: Iterable[str], names: tuple[str, ...]) -> list[tuple[str, str]]:
    """Every ``(option, value)`` of ``names`` in ``args``: `--host X`, `--host=X`, `-bX`."""
    words = list(args)
    out: list[tuple[str, str]] = []
    for index, word in enumerate(words):
        option, eq, inline = word.partition("=")
        if option in names:
            if eq:
                out.append((option, inline))
            elif index + 1 < len(words):
                out.append((option, words[index + 1]))
            continue
        for name in names:
            if len(name) == 2 and word.startswith(name) and len(word) > 2 and name != "--":
                out.append((name, word[2:]))  # `-b0.0.0.0:8000`
    return out


def _has(args: Iterable[str], *names: str) -> bool:
    return any(word.partition("=")[0] in names for word in args)


def _listen(unit: Served, project: Project) -> Listen:
    command = unit.command
    server = command.server
    args = command.args
    if server == "uvicorn":
        return _host_option(unit, "uvicorn", args, ("--uds", "--fd"))
    if server == "granian":
        return _host_option(unit, "granian", args, ("--uds",))
    if server == "gunicorn":
        return _gunicorn(unit, project)
    if server == "hypercorn":
        binds = _options(args, ("-b", "--bind", "--insecure-bind"))
        if not binds and _has(args, "-c", "--config"):
            return Listen(None, unknown="hypercorn reads its bind from the `--config` file")
        return _binds(unit, "hypercorn", binds)
    if server == "daphne":
        if _has(args, "-u", "--u", "--unix-socket", "--fd", "-e", "--endpoint"):
            return Listen(None, unknown="daphne listens on a socket or endpoint string")
        return _host_option(unit, "daphne", args, ())
    if server == "fastapi":
        sub = args[0] if args else ""
        if sub not in ("run", "dev"):
            return Listen(None, unknown="`fastapi` without `run` or `dev`")
        return _host_option(unit, f"fastapi {sub}", args, ())
    if server == "flask":
        if any(p == posixpath.join(unit.near, ".flaskenv") for p in project.all_paths):
            return Listen(None, unknown="a .flaskenv may set FLASK_RUN_HOST")
        return _host_option(unit, "flask", args[args.index("run") + 1 :] if "run" in args else ())
    if server.endswith("runserver"):
        return _runserver(unit, args)
    if server == "uwsgi":
        binds = _options(args, ("--http", "--http-socket"))
        return _binds(unit, "uwsgi", binds) if binds else Listen(None, unknown="no --http")
    if server == "waitress-serve":
        if _has(args, "--unix-socket"):
            return Listen(None, unknown="waitress listens on a unix socket")
        found = [(o, v) for o, v in _options(args, ("--listen",))]
        found += [(o, f"{v}:0") for o, v in _options(args, ("--host",))]
        if not found:
            return Listen(False, "0.0.0.0:8080", "waitress's default")
        return _binds(unit, "waitress", found)
    if server == "python" and command.run is not None:
        return _script_run(unit)
    return Listen(None, unknown=f"preflight does not know where `{server}` listens")


def _host_option(
    unit: Served, server: str, args: Iterable[str], sockets: tuple[str, ...] = ()
) -> Listen:
    """A server whose address is one `--host`-like option, else an environment variable, else
    its default."""
    words = list(args)
    default = HOST_DEFAULTS[server]
    if sockets and _has(words, *sockets):
        return Listen(None, unknown=f"{server} listens on a unix socket or file descriptor")
    found = _options(words, default.options)
    if found:
        option, value = found[-1]
        host = _resolve(value, unit)
        if host is None:
            return Listen(None, unknown=f"`{option} {value}` depends on the environment")
        return Listen(is_loopback(host), host, f"`{option} {value}`", word=value)
    older = _older_than(unit, server, default.env_since) if default.env_since else None
    if default.env is not None and older is None:
        is_set, env_value = unit.env.get(default.env)
        if is_set:
            if env_value is None:
                return Listen(
                    None, unknown=f"{default.env} is set to a value preflight cannot read"
                )
            return Listen(
                is_loopback(env_value), env_value, f"{default.env}={env_value} in its environment"
            )
        if unit.env.open is not None and unit.kind != "image":
            return Listen(None, unknown=f"{default.env} may be set: {unit.env.open}")
    if older is not None and default.env is not None and unit.env.get(default.env)[0]:
        return Listen(
            is_loopback(default.host),
            default.host,
            f"{server}'s default: {older} ignores {default.env}",
        )
    what = {
        "fastapi run": "`fastapi run`'s default",
        "fastapi dev": "`fastapi dev`'s default",
        "flask": "`flask run`'s default: no `--host`",
    }.get(server, f"{server}'s default: no `{default.options[0]}`" if default.options else "")
    return Listen(is_loopback(default.host), default.host, what)


def _older_than(unit: Served, dist: str, since: str) -> str | None:
    """Why an environment variable is ignored, when the service pins its server (in a lock
    file, or with `==` in its requirements) to a version before ``since``: "the uvicorn 0.15.0
    pinned in the lock file". None otherwise."""
    from packaging.version import InvalidVersion, Version

    pinned = unit.versions.get(dist)
    if pinned is None:
        return None
    version, where = pinned
    try:
        older = Version(version) < Version(since)
    except InvalidVersion:
        return None
    return f"the {dist} {version} pinned in {where}" if older else None


def _binds(unit: Served, server: str, binds: list[tuple[str, str]]) -> Listen:
    """Servers that take `HOST:PORT` binds (one or more): loopback only if every one is."""
    if not binds:
        return Listen(True, "127.0.0.1:8000", f"{server}'s default: no `--bind`")
    hosts: list[tuple[str, str, str]] = []
    for option, value in binds:
        written, _ = _split_bind(value.strip().strip("'\""))
        if written is None:
            return Listen(None, unknown=f"`{option} {value}` is a unix socket or descriptor")
        host = _resolve(written, unit)  # `0.0.0.0:${PORT}`: only the host matters here
        if host is None:
            return Listen(None, unknown=f"`{option} {value}` depends on the environment")
        hosts.append((option, value, host))
    if all(is_loopback(host) for _, _, host in hosts):
        option, value, host = hosts[0]
        return Listen(True, value, f"`{option} {value}`", word=value)
    return Listen(False, hosts[0][1], f"`{hosts[0][0]} {hosts[0][1]}`")


def _runserver(unit: Served, args: tuple[str, ...]) -> Listen:
    ipv6 = _has(args, "-6", "--ipv6")
    addrport: str | None = None
    index = 1
    while index < len(args):
        word = args[index]
        option, eq, _ = word.partition("=")
        if word.startswith("-"):
            takes_value = option in ("--settings", "--pythonpath", "--verbosity", "-v")
            index += 2 if takes_value and not eq else 1
            continue
        addrport = word
        break
    default = "::1" if ipv6 else "127.0.0.1"
    if addrport is None:
        return Listen(True, f"{default}:8000", "runserver's default: no address")
    resolved = _resolve(addrport, unit)
    if resolved is None:
        return Listen(None, unknown=f"`runserver {addrport}` depends on the environment")
    if re.fullmatch(r"\d+", resolved):
        return Listen(True, f"{default}:{resolved}", f"`runserver {addrport}`", word=addrport)
    host, _ = _split_bind(resolved)
    if host == "0":
        host = "0.0.0.0"
    if host is None:
        return Listen(None, unknown="runserver on a socket")
    return Listen(is_loopback(host), resolved, f"`runserver {addrport}`", word=addrport)


def _script_run(unit: Served) -> Listen:
    run = unit.command.run
    assert run is not None
    call = "uvicorn.run" if run.server == "uvicorn" else "app.run"
    if run.host is None:
        if "**" in run.keywords:
            return Listen(None, unknown=f"`{call}(**options)` may pass a host")
        host = HOST_DEFAULTS[call].host
        return Listen(is_loopback(host), host, f"`{call}()` without `host=`", at=run.span)
    if run.host == "":
        return Listen(None, unknown=f"the host given to `{call}` is not a literal")
    given = _resolve(run.host, unit)
    if given is None:
        return Listen(None, unknown=f"the host given to `{call}` depends on the environment")
    return Listen(is_loopback(given), given, f"`{call}(host={given!r})`", at=run.span)


def _gunicorn(unit: Served, project: Project) -> Listen:
    """gunicorn: `-b/--bind` on the command line, else in GUNICORN_CMD_ARGS, else `bind` in the
    config file (`-c`, or ./gunicorn.conf.py), else 0.0.0.0:$PORT when PORT is set, else
    127.0.0.1:8000 (gunicorn/config.py, class Bind)."""
    args = list(unit.command.args)
    binds = _options(args, ("-b", "--bind"))
    if binds:
        return _binds(unit, "gunicorn", binds)
    config = [v for _, v in _options(args, ("-c", "--config"))]
    is_set, env_args = unit.env.get("GUNICORN_CMD_ARGS")
    if is_set:
        if env_args is None:
            return Listen(None, unknown="GUNICORN_CMD_ARGS is set to a value preflight cannot read")
        try:
            words = shlex.split(env_args)
        except ValueError:
            return Listen(None, unknown="GUNICORN_CMD_ARGS cannot be split into words")
        env_binds = _options(words, ("-b", "--bind"))
        if env_binds:
            found = _binds(unit, "gunicorn", env_binds)
            return Listen(found.loopback, found.address, f"{found.how} in GUNICORN_CMD_ARGS",
                          unknown=found.unknown)  # fmt: skip
        config = config or [v for _, v in _options(words, ("-c", "--config"))]
    elif unit.env.open is not None and unit.kind != "image":
        return Listen(None, unknown=f"GUNICORN_CMD_ARGS or PORT may be set: {unit.env.open}")
    from_file = _config_bind(unit, project, config[-1] if config else None)
    if from_file is not None:
        return from_file
    is_set, _ = unit.env.get("PORT")
    if is_set:
        return Listen(False, "0.0.0.0:$PORT", "gunicorn's default when PORT is set")
    if unit.kind == "image":
        return Listen(
            None,
            unknown="gunicorn binds 0.0.0.0:$PORT where the platform sets PORT (Cloud Run, "
            "Heroku, Render), and nothing here says where this image runs",
        )
    return Listen(True, "127.0.0.1:8000", "gunicorn's default: no `--bind`, no PORT")


def _config_bind(unit: Served, project: Project, explicit: str | None) -> Listen | None:
    """The `bind` of the gunicorn config file the server reads, if it sets one (a Listen that
    says unknown when the file cannot be read or computes it); None when there is none."""
    config = _gunicorn_config(unit, project, explicit)
    if config.unknown is not None:
        return Listen(None, unknown=config.unknown)
    if config.module is None:
        return None
    values = [v for v in config.module.config_values if v.name in ("bind", "*")]
    if not values:
        return None
    last = values[-1]
    repo_path = config.path
    if last.name == "*" or last.value is None:
        return Listen(None, unknown=f"{repo_path}:{last.span.line} computes `bind`", at=last.span)
    found = _binds(unit, "gunicorn", [("bind", v) for v in last.value])
    how = f"`bind` in {repo_path}"
    return Listen(found.loopback, found.address, how, at=last.span, unknown=found.unknown)


@dataclass(frozen=True, slots=True)
class _ConfigFile:
    """The gunicorn config file a server reads: none (both None), one read, or why not known."""

    path: str | None = None
    module: PythonModule | None = None
    unknown: str | None = None


def _gunicorn_config(unit: Served, project: Project, explicit: str | None) -> _ConfigFile:
    """The config file gunicorn reads: ``explicit`` (`-c`), else ./gunicorn.conf.py where it
    starts (gunicorn 19.x+)."""
    chdir = next((v for _, v in _options(unit.command.args, ("--chdir",))), None)
    name = explicit or "gunicorn.conf.py"
    if name.startswith("python:"):
        return _ConfigFile(unknown=f"the config module `{name}` is not read")
    name = name.removeprefix("file:")
    repo_path = _file_in(unit, project, name, chdir)
    if repo_path is None:
        if explicit is not None:
            return _ConfigFile(unknown=f"the config file `{explicit}` is not one preflight read")
        if unit.files is None and any(
            posixpath.basename(p) == "gunicorn.conf.py" for p in project.all_paths
        ):
            return _ConfigFile(unknown="a gunicorn.conf.py may be where it starts")
        return _ConfigFile()
    module = project.python.get(repo_path)
    if module is None:
        return _ConfigFile(repo_path, unknown=f"the config file {repo_path} was not read")
    return _ConfigFile(repo_path, module)


# gunicorn's worker class ------------------------------------------------------------------------

_WORKER_OPTIONS = ("-k", "--worker-class")


def _worker(unit: Served, project: Project) -> Worker:
    """gunicorn's worker class: `-k/--worker-class` on the command line, else in
    GUNICORN_CMD_ARGS, else `worker_class` in the config file, else `sync` (gunicorn/config.py
    class WorkerClass; the same precedence as the bind's)."""
    args = list(unit.command.args)
    given = _options(args, _WORKER_OPTIONS)
    if given:
        option, value = given[-1]
        return Worker(value.strip("'\""), f"`{option} {value}`", word=_option_word(args, option))
    config = [v for _, v in _options(args, ("-c", "--config"))]
    is_set, env_args = unit.env.get("GUNICORN_CMD_ARGS")
    if is_set:
        if env_args is None:
            return Worker(None, unknown="GUNICORN_CMD_ARGS is set to a value preflight cannot read")
        try:
            words = shlex.split(env_args)
        except ValueError:
            return Worker(None, unknown="GUNICORN_CMD_ARGS cannot be split into words")
        from_env = _options(words, _WORKER_OPTIONS)
        if from_env:
            option, value = from_env[-1]
            return Worker(value, f"`{option} {value}` in GUNICORN_CMD_ARGS")
        config = config or [v for _, v in _options(words, ("-c", "--config"))]
    elif unit.env.open is not None and unit.kind != "image":
        return Worker(None, unknown=f"GUNICORN_CMD_ARGS may be set: {unit.env.open}")
    found = _gunicorn_config(unit, project, config[-1] if config else None)
    if found.unknown is not None and not (found.path is not None and found.module is None):
        return Worker(None, unknown=found.unknown)
    # a config file that was not parsed holds no `worker_class` (its text would have made it
    # worth parsing)
    values = [
        v for v in (found.module.config_values if found.module else ()) if v.name in
        ("worker_class", "*")
    ]  # fmt: skip
    if values:
        last = values[-1]
        if last.name == "*" or last.value is None or len(last.value) != 1:
            return Worker(None, unknown=f"{found.path}:{last.span.line} computes `worker_class`")
        return Worker(last.value[0], f"`worker_class` in {found.path}", at=last.span)
    return Worker(DEFAULT_WORKER, "gunicorn's default, no `-k`")


def _option_word(args: list[str], option: str) -> str:
    """The word of ``args`` that holds the last ``option`` (`-k`, `--worker-class=X`, `-kX`)."""
    for word in reversed(args):
        if (
            word == option
            or word.startswith(option + "=")
            or (len(option) == 2 and word.startswith(option) and not word.startswith("--"))
        ):
            return word
    return option


def _file_in(unit: Served, project: Project, name: str, chdir: str | None) -> str | None:
    """The repository file a path the server opens names (relative to where it starts)."""
    if unit.files is not None and unit.cwd is not None:
        cwd = posixpath.join(unit.cwd, chdir) if chdir else unit.cwd
        image_path = posixpath.normpath(posixpath.join(cwd, name))
        return unit.files.get(image_path)
    if unit.kind == "procfile" or unit.files is None:
        base = posixpath.join(unit.near, chdir) if chdir else unit.near
        candidate = posixpath.normpath(posixpath.join(base, name)).lstrip("/")
        candidate = "" if candidate == "." else candidate
        return candidate if candidate in project.all_paths else None
    return None


@dataclass(frozen=True, slots=True)
class GunicornSetting:
    """A gunicorn setting as the server reads it: from its command line, GUNICORN_CMD_ARGS or
    its config file (gunicorn's order of precedence). ``value`` None: not set anywhere
    preflight can see, unless ``unknown`` says why it may be."""

    value: str | None
    how: str = ""  # "`--worker-tmp-dir /dev/shm`", "`worker_tmp_dir` in gunicorn.conf.py"
    at: Span | None = None  # where the config file sets it
    unknown: str | None = None


def gunicorn_setting(unit: Served, project: Project, option: str, name: str) -> GunicornSetting:
    """The gunicorn setting ``name`` (command-line ``option``) of a gunicorn unit."""
    found = _options(unit.command.args, (option,))
    if found:
        return GunicornSetting(found[-1][1], f"`{option} {found[-1][1]}`")
    config = [v for _, v in _options(unit.command.args, ("-c", "--config"))]
    is_set, env_args = unit.env.get("GUNICORN_CMD_ARGS")
    if is_set:
        if env_args is None:
            return GunicornSetting(None, unknown="GUNICORN_CMD_ARGS is set to an unknown value")
        words = env_args.split()
        in_env = _options(words, (option,))
        if in_env:
            return GunicornSetting(
                in_env[-1][1], f"`{option} {in_env[-1][1]}` in GUNICORN_CMD_ARGS"
            )
        config = config or [v for _, v in _options(words, ("-c", "--config"))]
    elif unit.env.open is not None:
        return GunicornSetting(None, unknown=f"GUNICORN_CMD_ARGS may be set: {unit.env.open}")
    chdir = next((v for _, v in _options(unit.command.args, ("--chdir",))), None)
    explicit = config[-1] if config else None
    file_name = (explicit or "gunicorn.conf.py").removeprefix("file:")
    if file_name.startswith("python:"):
        return GunicornSetting(None, unknown=f"the config module `{file_name}` is not read")
    repo_path = _file_in(unit, project, file_name, chdir)
    if repo_path is None:
        if explicit is not None:
            return GunicornSetting(None, unknown=f"the config file `{explicit}` was not read")
        if unit.files is None and any(
            posixpath.basename(p) == "gunicorn.conf.py" for p in project.all_paths
        ):
            return GunicornSetting(None, unknown="a gunicorn.conf.py may be where it starts")
        return GunicornSetting(None)
    module = project.python.get(repo_path)
    if module is None:
        return GunicornSetting(None, unknown=f"the config file {repo_path} was not read")
    values = [v for v in module.config_values if v.name in (name, "*")]
    if not values:
        return GunicornSetting(None)
    last = values[-1]
    if last.name == "*" or last.value is None or len(last.value) != 1:
        return GunicornSetting(None, unknown=f"{repo_path}:{last.span.line} computes `{name}`")
    return GunicornSetting(last.value[0], f"`{name}` in {repo_path}", at=last.span)


# development modes ------------------------------------------------------------------------------


def _dev_mode(unit: Served, project: Project) -> DevMode | None:
    command = unit.command
    server = command.server
    args = list(command.args)
    if server == "fastapi" and args[:1] == ["dev"]:
        return DevMode("`fastapi dev` (reload on)", "dev", workers_ignored=_workers(args))
    if server == "flask":
        debugger = _has(args, "--debug") or _truthy(unit, "FLASK_DEBUG")
        what = "Flask's development server (`flask run`" + (
            " with the debugger)" if debugger else ")"
        )
        return DevMode(what, "run", debugger=debugger)
    if server.endswith("runserver"):
        plus = "runserver_plus" in args
        what = (
            "django-extensions' `runserver_plus` (Werkzeug's debugger)"
            if plus
            else "Django's development server (`runserver`)"
        )
        return DevMode(what, "runserver_plus" if plus else "runserver", debugger=plus)
    if server == "python" and command.run is not None:
        run = command.run
        if run.server == "flask":
            debug = "debug" in run.enabled or _truthy(unit, "FLASK_DEBUG")
            return DevMode(
                "Flask's development server (`app.run()`"
                + (" with `debug=True`)" if "debug" in run.enabled else ")"),
                "",
                at=run.span,
                debugger=debug,
            )
        if "reload" in run.enabled:
            workers = "`workers=`" if "workers" in run.keywords else None
            return DevMode("uvicorn with `reload=True`", "", at=run.span, workers_ignored=workers)
        return None
    if server in ("uvicorn", "gunicorn", "hypercorn", "granian", "fastapi"):
        if _has(args, "--reload"):
            ignored = _workers(args) if server in ("uvicorn", "fastapi") else None
            return DevMode(f"`{server} --reload`", "--reload", workers_ignored=ignored)
        if (
            server == "uvicorn"
            and _truthy(unit, "UVICORN_RELOAD")
            and _older_than(unit, "uvicorn", "0.16.0") is None
        ):
            return DevMode("uvicorn with UVICORN_RELOAD set", "", workers_ignored=_workers(args))
        if (
            server == "granian"
            and _truthy(unit, "GRANIAN_RELOAD")
            and _older_than(unit, "granian", "0.7.0") is None
        ):
            return DevMode("granian with GRANIAN_RELOAD set", "")
        if server == "gunicorn":
            return _gunicorn_reload(unit, project)
    return None


def _workers(args: list[str]) -> str | None:
    found = _options(args, ("--workers", "-w"))
    if found and found[-1][1] not in ("1", "0"):
        return f"`{found[-1][0]} {found[-1][1]}`"
    return None


def _truthy(unit: Served, name: str) -> bool:
    _, value = unit.env.get(name)
    return value is not None and value.strip().lower() in ("1", "true", "yes", "on")


def _gunicorn_reload(unit: Served, project: Project) -> DevMode | None:
    _, env_args = unit.env.get("GUNICORN_CMD_ARGS")
    if env_args is not None and "--reload" in env_args.split():
        return DevMode("gunicorn with `--reload` in GUNICORN_CMD_ARGS", "")
    config = [v for _, v in _options(unit.command.args, ("-c", "--config"))]
    name = (config[-1] if config else "gunicorn.conf.py").removeprefix("file:")
    chdir = next((v for _, v in _options(unit.command.args, ("--chdir",))), None)
    repo_path = _file_in(unit, project, name, chdir)
    module = project.python.get(repo_path) if repo_path else None
    if module is None:
        return None
    reload = [v for v in module.config_values if v.name == "reload"]
    if reload and reload[-1].value == ("True",):
        return DevMode(f"gunicorn with `reload = True` ({repo_path})", "", at=reload[-1].span)
    return None


# paths that say what they are for ---------------------------------------------------------------

_DEV_WORDS = frozenset(
    {"dev", "devel", "develop", "development", "local", "debug", "devcontainer", "override",
     "test", "tests", "testing", "e2e", "ci"}
)  # fmt: skip


def dev_path(path: str) -> str | None:
    """The word that marks a file as one for development (`Dockerfile.dev`, `compose.override.
    yml`, `k8s/overlays/dev/…`, `.devcontainer/Dockerfile`), or None."""
    for word in re.split(r"[/._-]+", path.lower()):
        if word in _DEV_WORDS:
            return word
    return None


def local_image(ref: str | None) -> bool:
    """An image reference only a local build can provide (`api:latest`: no registry host and
    no account, and not one of Docker Hub's official images): a workload that runs it runs on
    a developer's cluster (minikube, kind, `skaffold dev`), where the image was loaded."""
    from preflight.knowledge.executables import image_name
    from preflight.knowledge.images import OFFICIAL_IMAGES

    if not ref or any(ch.isspace() or ch in "<>${}" for ch in ref):
        return False
    repository = ref.split("@", 1)[0].rsplit(":", 1)[0] if "/" not in ref else ref
    if repository != repository.lower():
        return False  # `IMAGE`: a placeholder a pipeline replaces, not a name
    name = image_name(ref)
    return "/" not in name and name not in OFFICIAL_IMAGES


def narrow(span: Span, source: str, word: str) -> Span:
    """The span of ``word`` in the text written at ``span`` (its first occurrence as a whole
    word from ``span.col`` on), or ``span`` when it is not there."""
    for offset, line in enumerate(source.split("\n")):
        start = span.col - 1 if offset == 0 else 0
        match = re.search(rf"(?<![\w.:/$-]){re.escape(word)}(?![\w.-])", line[start:])
        if match is not None:
            col = start + match.start() + 1
            end = start + match.end() + 1
            return Span(span.path, span.line + offset, col, span.line + offset, end)
    return span
