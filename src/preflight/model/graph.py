"""The deployment graph: what a deploy of this repository runs, joined once, read by every rule.

``build_graph`` runs once per check, after the per-file facts are linked (``link.build_project``),
and computes every join a rule needs — which container runs which image built from which
Dockerfile, which server and app its command starts, which settings that app reads and who
provides each one — into typed nodes. Rules read it and never derive a link of their own, and
nothing writes into it afterwards. Every link records its evidence and strength, and every
missing link says why, so a rule can stay silent on a weak link and ``preflight graph`` /
``--verbose`` can answer "why didn't preflight check my Deployment?".

    Workload ─ Container ─ Image (Dockerfile + context) ─ Process (argv) ─ Server ─ App (routes)
                        └─ Settings ◀─ providers (Secret/ConfigMap keys, env values, ENV)
    App's service ─ database uses (URL chain → engine → driver)
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from preflight.knowledge.executables import NON_SERVERS, image_basename
from preflight.knowledge.images import javascript_framework
from preflight.model.apps import App, AppResolver, ServerCommand, python_run, server_command
from preflight.model.django import other_settings_modules
from preflight.model.endpoints import LoopbackEndpoint, loopback_endpoints
from preflight.model.imagecontents import StageContents, stage_contents
from preflight.model.imagetree import ImageTree, image_tree
from preflight.model.installs import RepoView
from preflight.model.processes import Process, Step, process_of
from preflight.model.project import ContainerRun, Environment, Evidence, Launch, Project
from preflight.model.security import ContainerSecurity, container_security
from preflight.model.serving import Served, served
from preflight.model.settings import (
    ContainerEnv,
    Defined,
    ServiceRoots,
    Setting,
    SettingsIndex,
    container_env,
)
from preflight.model.sqlite import SqliteFile, sqlite_files
from preflight.model.wiring import Wiring, wiring
from preflight.spans import Span

if TYPE_CHECKING:
    from preflight.model.databases import DatabaseModel
    from preflight.parse.manifests import KService

_DJANGO = "DJANGO_SETTINGS_MODULE"

__all__ = [
    "ContainerNode",
    "Deployment",
    "Evidence",
    "LaunchedApp",
    "ProjectConfig",
    "build_graph",
]


@dataclass(frozen=True, slots=True)
class ProjectConfig:
    """What the repository's configuration tells the link stage (typed, passed in)."""

    database_platform: str | None = None  # "neon", … when the URLs do not say
    external_secrets: tuple[str, ...] = ()  # Secrets created outside the repository


@dataclass(slots=True)
class ContainerNode:
    """A Kubernetes container, the image and command it runs, and the app that serves."""

    run: ContainerRun
    image_evidence: Evidence | None  # how its image was tied to a Dockerfile (None: not tied)
    server_command: ServerCommand | None  # the server its command starts
    app: App | None
    why: str | None  # why no app (for --verbose and `preflight graph`)
    root: str | None  # the service directory its code lives in (settings, dependencies)
    settings: list[Setting]  # what that code reads from the environment
    env: ContainerEnv  # what the container's environment provides
    server_at: Span | None = None  # the script line that starts the server, when not argv
    # why what its command finally runs is known to serve nothing (a worker, a headless load
    # generator, a program its build compiles): None when it may serve
    runs_no_server: str | None = None
    # its securityContext against its image: the user it runs as, what it may write
    security: ContainerSecurity | None = None

    @property
    def label(self) -> str:
        """How messages name the container: "Deployment `api` container `web`"."""
        run = self.run
        return f"{run.workload.kind} `{run.workload.name}` container `{run.container.name}`"


@dataclass(frozen=True, slots=True)
class LaunchedApp:
    """An app that a Dockerfile, compose service, Procfile or container starts."""

    app: App
    span: Span  # the command that starts it


@dataclass(slots=True)
class Deployment:
    """The graph. ``files`` holds the per-file facts; everything else is a join of them."""

    files: Project
    config: ProjectConfig
    settings: SettingsIndex
    containers: list[ContainerNode] = field(default_factory=list)
    launched: list[LaunchedApp] = field(default_factory=list)
    # the service directories whose code creates a database engine
    database_roots: frozenset[str] = frozenset()
    # Services with a selector, by its first label, in file order: a Service can select a pod
    # only if the pod has that label, so each container is compared with few Services
    services_by_label: dict[tuple[str, str], list[tuple[int, KService]]] = field(
        default_factory=dict
    )
    # the other way: the containers whose pods carry each label (made on first use)
    _containers_by_label: dict[tuple[str, str], list[ContainerNode]] | None = None
    # every place a distribution is declared outside a runtime dependency list (dev groups,
    # extras, other requirements files), by normalised name
    declarations: dict[str, list[tuple[Span, str]]] = field(default_factory=dict)
    # what each launch runs, scripts followed: aligned with ``launches``
    processes: list[Process] = field(default_factory=list)
    # directories holding another language's build (pom.xml, package.json, go.mod, …) and no
    # Python project, by normalised basename: an image named like one is built from it
    foreign_sources: dict[str, str] = field(default_factory=dict)
    # every web server a deploy starts (Kubernetes containers, compose services, images on
    # their own, Procfile processes), where it listens and whether in a development mode
    served: list[Served] = field(default_factory=list)
    # what each stage of each Dockerfile holds beyond its base image, and its Python, by path
    stages: dict[str, tuple[StageContents, ...]] = field(default_factory=dict)
    # the files each image built here holds (its final stage), by Dockerfile path
    image_trees: dict[str, ImageTree] = field(default_factory=dict)
    # Services, the pod templates they select and the Ingresses/routes in front of them, as
    # the repository's kustomizations render them
    wiring: Wiring = field(default_factory=Wiring)
    # database, cache and broker addresses on loopback that deploys give their containers
    loopbacks: list[LoopbackEndpoint] = field(default_factory=list)
    # SQLite files the apps of Kubernetes workloads open (with replicas and volumes)
    sqlite_files: list[SqliteFile] = field(default_factory=list)

    def other_language_source(self, node: ContainerNode) -> str | None:
        """Where a container's image is built from when that is another language's service:
        its Dockerfile here, if the image it builds runs no Python, or else a directory with
        another language's build that the image is named after. None: Python, or unknown."""
        dockerfile = node.run.dockerfile
        if dockerfile is not None:
            image = self.files.images.get(dockerfile.path)
            return (
                dockerfile.path if image is not None and not image.environment.is_python else None
            )
        return self.foreign_source_of(node.run.container.image)

    def foreign_source_of(self, image: str | None) -> str | None:
        """The non-Python source directory an image reference is named after, if any."""
        if not image:
            return None
        name = image_basename(image).replace("_", "-")
        found = self.foreign_sources.get(name)
        tail = name.rsplit("-", 1)[-1]
        if found is None and tail != name and len(tail) >= 4:  # `examplevotingapp_result`
            found = self.foreign_sources.get(tail)  # is built from `result/`
        if found is None and javascript_framework(image):
            # `vue-kubernetes`, `react-builds`: named after a JavaScript framework
            found = self.foreign_sources.get(
                _JS_SOURCE, f"`{name}`, named after a JavaScript framework"
            )
        elif found is None and "frontend" in re.split(r"[-.]", name):
            # `app-frontend`: a front end, in a repository that has a JavaScript one (a
            # package.json and no Python beside it)
            found = self.foreign_sources.get(_JS_SOURCE)
        return found

    @property
    def defined(self) -> Defined:
        return self.settings.defined

    @property
    def databases(self) -> DatabaseModel | None:
        return self.files.databases

    @property
    def launches(self) -> list[Launch]:
        return self.files.launches

    def service_root(self, path: str) -> str:
        return self.settings.service_root(path)

    def services_selecting(self, node: ContainerNode) -> list[KService]:
        """The Services whose selector matches the container's pod labels, in file order."""
        labels = node.run.workload.pod_labels
        candidates = sorted(
            (entry for item in labels.items() for entry in self.services_by_label.get(item, ())),
            key=lambda entry: entry[0],
        )
        return [service for _, service in candidates if selects(service, labels)]

    def fronts(self, service: KService, node: ContainerNode) -> bool | None:
        """Whether `node` is the workload the Service fronts, among same-labelled workloads of
        several files (dev/qa/prod copies, overlays with the same names): the one in the
        Service's own file, else its directory, else the one sharing the longest directory path
        with it. True: it is (or it is the only file); False: another file is nearer; None:
        several files are equally near, so which one it fronts cannot be told."""
        if not service.selector:
            return True
        if self._containers_by_label is None:  # once, not every container per Service
            index: dict[tuple[str, str], list[ContainerNode]] = {}
            for other in self.containers:
                for item in other.run.workload.pod_labels.items():
                    index.setdefault(item, []).append(other)
            self._containers_by_label = index
        fewest = min(
            (self._containers_by_label.get(item, []) for item in service.selector.items()),
            key=len,
        )
        files = {
            other.run.container.span.path
            for other in fewest
            if selects(service, other.run.workload.pod_labels)
        }
        if len(files) <= 1:
            return True
        here = posixpath.dirname(service.span.path).split("/")

        def nearness(path: str) -> tuple[bool, int]:
            shared = 0
            for a, b in zip(here, posixpath.dirname(path).split("/"), strict=False):
                if a != b:
                    break
                shared += 1
            return (path == service.span.path, shared)

        best = max(nearness(path) for path in files)
        nearest = [path for path in files if nearness(path) == best]
        if len(nearest) > 1:
            return None
        return nearest[0] == node.run.container.span.path


def selects(service: KService, labels: dict[str, str]) -> bool:
    """A Service's selector matches a pod's labels (an empty selector selects nothing here)."""
    return bool(service.selector) and all(labels.get(k) == v for k, v in service.selector.items())


def build_graph(project: Project, config: ProjectConfig) -> Deployment:
    """Join the linked facts into the graph, once."""
    index = SettingsIndex(project, ServiceRoots(project), config.external_secrets)
    graph = Deployment(project, config, index)
    resolver = AppResolver(project.python, project.python_paths, project.all_paths)
    graph.processes = [process_of(launch, project.shell_scripts) for launch in project.launches]
    # a container that runs its image's own command runs the process its Dockerfile launches
    followed = {
        (process.launch.argv, id(process.launch.environment)): process
        for process in graph.processes
    }
    for run in project.containers:
        graph.containers.append(_container(run, resolver, index, project, followed))
    graph.launched = _launched(project, graph.containers, resolver)
    if project.databases is not None:
        graph.database_roots = frozenset(
            index.service_root(use.module) for use in project.databases.uses
        )
    graph.services_by_label = _services_by_label(project)
    graph.declarations = _declarations(project)
    graph.foreign_sources = _foreign_sources(project.all_paths)
    graph.served = served(project, graph.containers, graph.processes, resolver)
    graph.stages = {path: stage_contents(d) for path, d in project.dockerfiles.items()}
    for node in graph.containers:
        node.security = container_security(node, project, graph.served, graph.processes)
    repo = RepoView(project.pyprojects, project.requirements, project.all_paths)
    for path, image in project.images.items():
        tree = image_tree(image.dockerfile, image.context, repo)
        if tree is not None:
            graph.image_trees[path] = tree
    graph.wiring = wiring(project)
    graph.loopbacks = loopback_endpoints(project, graph.containers, graph.served, graph.wiring)
    graph.sqlite_files = sqlite_files(project, graph.containers)
    return graph


_FOREIGN_BUILDS = frozenset(
    {"pom.xml", "build.gradle", "build.gradle.kts", "package.json", "go.mod", "Cargo.toml",
     "Gemfile", "composer.json", "mix.exs"}
)  # fmt: skip
_PYTHON_MARKERS = frozenset({"pyproject.toml", "requirements.txt", "setup.py", "Pipfile"})


def _foreign_sources(paths: frozenset[str]) -> dict[str, str]:
    foreign: set[str] = set()
    python: set[str] = set()
    for path in paths:
        directory, _, name = path.rpartition("/")
        if name in _FOREIGN_BUILDS or name.endswith(".csproj"):
            foreign.add(directory)
        elif name in _PYTHON_MARKERS or name.endswith(".py"):
            python.add(directory)
    out: dict[str, str] = {}
    for directory in sorted(foreign - python):
        if directory:
            out.setdefault(directory.rsplit("/", 1)[-1].lower().replace("_", "-"), directory)
            if f"{directory}/package.json" in paths:
                out.setdefault(_JS_SOURCE, directory)
    return out


_JS_SOURCE = "<javascript>"  # the key of the first JavaScript source in ``foreign_sources``


def _services_by_label(project: Project) -> dict[tuple[str, str], list[tuple[int, KService]]]:
    index: dict[tuple[str, str], list[tuple[int, KService]]] = {}
    number = 0
    for manifest in project.manifests.values():
        for service in manifest.services:
            if service.selector:
                first = next(iter(service.selector.items()))
                index.setdefault(first, []).append((number, service))
            number += 1
    return index


def _declarations(project: Project) -> dict[str, list[tuple[Span, str]]]:
    out: dict[str, list[tuple[Span, str]]] = {}
    for pyproject in project.pyprojects.values():
        for group in pyproject.groups:
            label = (
                f"{pyproject.path} optional extra `{group.name}`"
                if group.kind == "extra"
                else f"{pyproject.path} dependency group `{group.name}`"
            )
            for requirement in group.requirements:
                out.setdefault(requirement.name, []).append((requirement.span, label))
    for path, requirements in project.requirements.items():
        for requirement in requirements.requirements:
            out.setdefault(requirement.name, []).append((requirement.span, path))
    return out


_Followed = dict[tuple[tuple[str, ...], int], Process]  # (argv, environment) -> its process


def _container(
    run: ContainerRun,
    resolver: AppResolver,
    index: SettingsIndex,
    project: Project,
    followed: _Followed,
) -> ContainerNode:
    env = container_env(run, index.defined)
    evidence = run.image_evidence
    command: ServerCommand | None = None
    server_at: Span | None = None
    app: App | None = None
    if run.argv is None:
        why: str | None = run.why_unlinked or "its command is not known"
    else:
        built = project.images.get(run.dockerfile.path) if run.dockerfile is not None else None
        command = server_command(run.argv, run.env) or python_run(
            run.argv,
            resolver.python,
            run.context,
            run.env,
            (built.environment.workdir, built.environment.copied_paths) if built else None,
        )
        runs_no_server: str | None = None
        if command is None:
            command, server_at, runs_no_server = _served_by_script(run, project, followed)
        if command is None:
            why = "it does not start a server preflight knows"
        else:
            if command.settings is None:  # DJANGO_SETTINGS_MODULE from a ConfigMap it reads
                given = next((p.value for p in env.providers.get(_DJANGO, ()) if p.value), None)
                command = replace(command, settings=given) if given else command
            app, why = resolver.resolve(command, run.context)
            if app is None and command.server == "python":
                command = None  # `python x.py` serves only the app it runs
    if app is not None:
        root: str | None = index.service_root(app.module)
    elif run.dockerfile is not None:
        root = posixpath.dirname(run.dockerfile.path)
    else:
        root = None
    settings = index.settings_for(root) if root is not None else []
    if app is not None and app.settings_files:  # Django: what its settings modules read
        others = other_settings_modules(app, resolver.python)
        settings = [s for s in settings if s.module not in others]
        known = {(s.module, s.span) for s in settings}
        for path in app.settings_files:
            settings = [
                *settings,
                *(s for s in index.settings_in(path) if (s.module, s.span) not in known),
            ]
    return ContainerNode(
        run,
        evidence,
        command,
        app,
        why,
        root,
        settings,
        env,
        server_at,
        runs_no_server if run.argv is not None and command is None else None,
    )


def _served_by_script(
    run: ContainerRun, project: Project, followed: _Followed
) -> tuple[ServerCommand | None, Span | None, str | None]:
    """The server a container starts through a script its image copies (an entrypoint that
    ``exec``s ``gunicorn …`` or the ``"$@"`` it was given), followed as PKG001 follows it,
    and the script line that starts it; or, when it starts none, why what it finally runs is
    known to serve nothing (None: it may)."""
    image = project.images.get(run.dockerfile.path) if run.dockerfile is not None else None
    if image is None or run.argv is None:
        return None, None, None
    process = followed.get((run.argv, id(image.environment)))
    if process is None:  # `command:`/`args:` of its own: followed here
        launch = Launch("container", run.argv, run.container.span, image.environment)
        process = process_of(launch, project.shell_scripts)
    for step in process.steps:
        if step.invocation is None or step.runs not in ("program", "python"):
            continue
        command = server_command((step.invocation.executable, *step.invocation.args), run.env)
        if command is not None:
            chain = step.chain[-1].span if step.chain else None
            return command, step.at or chain, None
    last = process.steps[-1] if process.steps else None
    return None, None, _serves_nothing(last, image.environment, project)


def _serves_nothing(step: Step | None, environment: Environment, project: Project) -> str | None:
    """Why the program a process ends in serves nothing, when that is known."""
    if step is None or step.invocation is None:
        return None
    invocation = step.invocation
    name = posixpath.basename(invocation.executable)
    args = invocation.args
    if step.runs == "python" and len(args) > 1 and args[0] == "-m":
        name, args = args[1], args[2:]
    known = step.runs in ("program", "python") and name in NON_SERVERS
    if known and (name != "locust" or "--headless" in args) and "flower" not in args:
        return f"it runs `{name}`, {NON_SERVERS[name]}"
    if step.runs == "script" and step.script is None:
        copied = environment.copied_paths.get(invocation.executable)
        if copied is not None and copied not in project.all_paths and "." not in name:
            # the image copies it from a path the repository does not hold: a build output
            return f"it runs `{invocation.executable}`, a program its image build produces"
    return None


def _launched(
    project: Project, containers: list[ContainerNode], resolver: AppResolver
) -> list[LaunchedApp]:
    out: list[LaunchedApp] = []
    seen: set[tuple[str, str]] = set()
    for launch in project.launches:
        near = ""
        for image in project.images.values():
            if image.dockerfile.path == launch.span.path:
                near = image.context
        command = server_command(launch.argv) or python_run(launch.argv, project.python, near, {})
        if command is None:
            continue
        app, _ = resolver.resolve(command, near)
        if app is not None and (app.module, app.name) not in seen:
            seen.add((app.module, app.name))
            out.append(LaunchedApp(app, launch.span))
    for node in containers:
        if node.app is not None and (node.app.module, node.app.name) not in seen:
            seen.add((node.app.module, node.app.name))
            out.append(LaunchedApp(node.app, node.run.container.span))
    return out
