"""SQLite files the apps of Kubernetes workloads open, with how many pods open them and whether
the file's directory outlives the pod.

For each container whose image is tied to a Dockerfile with strong evidence and whose app's
service creates a SQLAlchemy engine, the URL that engine receives in that container is the
value the container's environment gives the variable, or — when nothing sets it — the
default in the code. A file URL (``sqlite:///./app.db``, ``sqlite+aiosqlite:////data/app.db``)
is kept; an in-memory database (``sqlite://``, ``:memory:``, ``mode=memory``) is not: it is for
tests and holds nothing worth losing.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import TYPE_CHECKING

from preflight.model.urls import parse_db_url

if TYPE_CHECKING:
    from preflight.model.databases import DatabaseUse
    from preflight.model.graph import ContainerNode
    from preflight.model.project import Project
    from preflight.spans import Span

__all__ = ["SqliteFile", "sqlite_files"]

_SCALED = frozenset({"Deployment", "ReplicaSet", "StatefulSet", "DeploymentConfig", "Rollout"})


@dataclass(frozen=True, slots=True)
class SqliteFile:
    """An SQLite file a workload's app opens."""

    node: ContainerNode
    file: str  # as the URL names it (``./app.db``, ``/data/app.db``)
    path: str | None  # absolute in the container (None: its working directory is not known)
    url_span: Span  # where the URL is written (the env value, the default)
    where: str  # "the default of `Settings.database_url`", "the container's env"
    engine_span: Span
    replicas: int | None  # ``spec.replicas`` when it is more than one
    replicas_span: Span | None
    autoscaler: tuple[str, Span] | None  # an HPA/ScaledObject that scales the workload
    persistent: str | None  # the persistent volume mounted over the file's directory


def _file_of(raw: str) -> str | None:
    """The file an SQLite URL opens, or None for an in-memory database or no SQLite URL."""
    url = parse_db_url(raw)
    if url is None or url.dialect != "sqlite":
        return None
    rest = raw.strip().strip("\"'").split("://", 1)[1]
    path, _, query = rest.partition("?")
    if not path.startswith("/"):
        return None  # `sqlite://` (no path): in memory
    path = path[1:]  # `sqlite:///x.db` → `x.db`, `sqlite:////data/x.db` → `/data/x.db`
    if path.startswith("file:"):
        path = path[len("file:") :]
    if not path or path == ":memory:" or "mode=memory" in query or path.startswith(":memory:"):
        return None
    return path


def _workdir(node: ContainerNode) -> str | None:
    run = node.run
    if run.container.working_dir:
        return run.container.working_dir
    dockerfile = run.dockerfile
    if dockerfile is None or dockerfile.final is None:
        return None
    return dockerfile.final.workdir or "/"


def _persistent(node: ContainerNode, directory: str) -> str | None:
    workload = node.run.workload
    for mount in node.run.container.volume_mounts:
        if mount.name is None or mount.mount_path is None or mount.sub_path:
            continue
        where = mount.mount_path.rstrip("/") or "/"
        inside = directory == where or directory.startswith(where.rstrip("/") + "/")
        if inside and mount.name in workload.persistent_volumes:
            return f"{workload.persistent_volumes[mount.name]} at `{mount.mount_path}`"
    return None


def _under(path: str, directory: str) -> bool:
    return not directory or path.startswith(directory.rstrip("/") + "/")


def sqlite_files(project: Project, containers: list[ContainerNode]) -> list[SqliteFile]:
    databases = project.databases
    if databases is None:
        return []
    autoscalers = {
        (scaler.target_kind, scaler.target_name): (
            f"{scaler.obj.kind} `{scaler.obj.name}`",
            scaler.span,
        )
        for manifest in project.manifests.values()
        for scaler in manifest.autoscalers
    }
    out: list[SqliteFile] = []
    for node in containers:
        workload = node.run.workload
        evidence = node.image_evidence
        if node.app is None or node.root is None or evidence is None or not evidence.strong:
            continue
        if workload.kind not in _SCALED:
            continue
        for use in databases.uses:
            if use.unresolved is not None or not _under(use.module, node.root):
                continue
            found = _url_in(node, use)
            if found is None:
                continue
            raw, span, where = found
            file = _file_of(raw)
            if file is None:
                continue
            workdir = _workdir(node)
            path = (
                posixpath.normpath(file)
                if file.startswith("/")
                else (posixpath.normpath(posixpath.join(workdir, file)) if workdir else None)
            )
            replicas = workload.replicas if (workload.replicas or 0) > 1 else None
            scaler = autoscalers.get((workload.kind, workload.name or "")) or autoscalers.get(
                (None, workload.name or "")
            )
            out.append(
                SqliteFile(
                    node,
                    file,
                    path,
                    span,
                    where,
                    use.engine.span,
                    replicas,
                    workload.replicas_span if replicas else None,
                    scaler,
                    _persistent(node, posixpath.dirname(path)) if path else None,
                )
            )
    return out


def _url_in(node: ContainerNode, use: DatabaseUse) -> tuple[str, Span, str] | None:
    """The URL the engine receives in this container: the container's value for the variable
    that feeds it (its env, a Secret or ConfigMap key, the image's ENV), else the default or
    literal in the code; None when not known."""
    setting = (use.setting or "").lower()
    if setting:
        given = [p for name, items in node.env.providers.items() if name.lower() == setting
                 for p in items]  # fmt: skip
        deployed = [p for p in given if p.kind != "Dockerfile ENV"]
        chosen = (deployed or given)[-1] if given else None
        if chosen is not None:
            if not chosen.value:
                return None
            where = "the image's ENV" if chosen.kind == "Dockerfile ENV" else "the container's env"
            span = chosen.span
            if chosen.kind == "env value":  # point at the value, not the name
                written = [v for v in node.run.container.env if v.span == chosen.span]
                span = (written[0].value_span if written else None) or span
            return chosen.value, span, where
        if node.env.unknown:
            return None  # an envFrom of keys preflight cannot see may set it
    for effective in use.urls:
        source = effective.source
        if source.where.startswith(
            ("the default of", "its default in the code", "a literal in the code")
        ):
            return source.value, source.span, source.where
    return None
