"""Every deploy of one service's code that the repository defines, and what each sets.

A service (the directory its code lives in) is deployed by the Kubernetes containers whose app
or image is built from it, and by the compose services that build its image. Each deploy says
which variable names its environment sets and, when it may set more than preflight can see
(an `envFrom` of a Secret defined elsewhere, an `env_file` not in the repository), why. A Helm
chart that runs the service's image, or a Procfile beside its code, deploys it with an
environment the repository does not show: the service's deploys are then *open*.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, replace

from preflight.model.databases import resolve_import
from preflight.model.graph import ContainerNode, Deployment
from preflight.model.serving import dev_path
from preflight.model.settings import Setting
from preflight.spans import Span


@dataclass(frozen=True, slots=True)
class Deploy:
    label: str  # "Deployment `api` container `web`", "compose service `web`"
    span: Span  # the container's or compose service's name
    names: frozenset[str]  # every variable name its environment sets
    open: str | None  # why it may set names preflight cannot see (None: it sets only these)
    node: ContainerNode | None = None
    # why it is a development deploy (a `dev`/`local`/`override` file, a server in a
    # development mode: `--reload`, `runserver`), or None
    dev: str | None = None

    def provides(self, setting: Setting) -> bool:
        return any(setting.matches(name) for name in self.names)


@dataclass(frozen=True, slots=True)
class ServiceDeploys:
    deploys: list[Deploy]
    open: str | None  # why the service may be deployed in a way the repository does not show
    # the modules the service's launched apps import (directly or not) and their Django
    # settings modules: the code a deploy runs at start (None: no app of the service is known)
    runs: frozenset[str] | None = None


def deploys_of(graph: Deployment, root: str) -> ServiceDeploys:
    """The deploys of the service whose code is in ``root``."""
    project = graph.files
    out: list[Deploy] = []
    dev_modes: dict[int, str] = {}  # id of a container node or compose service -> why dev
    for unit in graph.served:
        owner: object = unit.node if unit.node is not None else None
        if owner is None and unit.compose is not None:
            owner = unit.compose[1]
        if unit.dev is not None and owner is not None:
            dev_modes[id(owner)] = f"it runs {unit.dev.what}"
    for node in graph.containers:
        if node.root != root or node.run.container.is_init:
            continue
        unknown = node.env.unknown[0] if node.env.unknown else None
        dev = _dev_file(node.run.manifest) or dev_modes.get(id(node))
        provided = frozenset(node.env.providers)
        out.append(Deploy(node.label, node.run.container.span, provided, unknown, node, dev))
    for compose in project.compose_files.values():
        for service in compose.services:
            if service.dockerfile is None or graph.service_root(service.dockerfile) != root:
                continue
            names: set[str] = set()
            open_: str | None = None
            dockerfile = project.dockerfiles.get(service.dockerfile)
            if dockerfile is not None and dockerfile.final is not None:
                for stage in dockerfile.lineage(dockerfile.final):
                    names.update(n for n in stage.env if n not in stage.build_args)
            for path, _span in service.env_files:
                env_file = project.env_files.get(path) or project.env_examples.get(path)
                if env_file is None:
                    open_ = f"its env_file `{path}` is not in the repository"
                    continue
                names.update(entry.name for entry in env_file.entries)
            names.update(variable.name for variable in service.environment)
            label = f"compose service `{service.name}`"
            dev = _dev_file(compose.path) or dev_modes.get(id(service))
            out.append(Deploy(label, service.span, frozenset(names), open_, None, dev))
    why: str | None = None
    for helm in project.helm_images:
        if helm.dockerfile is not None and graph.service_root(helm.dockerfile) == root:
            why = f"the Helm chart in {helm.chart or '.'} runs its image (templates not rendered)"
    for path in project.procfiles:
        if graph.service_root(path) == root or posixpath.dirname(path) == root:
            why = (
                why
                or f"{path} deploys it on a platform whose config vars are not in the repository"
            )
    return ServiceDeploys(out, why, _modules_run(graph, root))


def _modules_run(graph: Deployment, root: str) -> frozenset[str] | None:
    python = graph.files.python
    starts = [
        path
        for launched in graph.launched
        if graph.service_root(launched.app.module) == root
        for path in (launched.app.module, *launched.app.settings_files)
    ]
    if not starts:
        return None
    seen: set[str] = set()
    stack = [p for p in starts if p in python]
    while stack:
        path = stack.pop()
        if path in seen:
            continue
        seen.add(path)
        for binding in python[path].imports:
            targets = [resolve_import(binding, path, python)]
            if binding.name is not None:  # `from app.core import config`: the submodule too
                dotted = f"{binding.module}.{binding.name}" if binding.module else binding.name
                targets.append(
                    resolve_import(replace(binding, module=dotted, name=None), path, python)
                )
            stack.extend(t for t in targets if t is not None and t in python and t not in seen)
    return frozenset(seen)


def _dev_file(path: str) -> str | None:
    word = dev_path(path)
    return f"{path} is a `{word}` file" if word is not None else None
