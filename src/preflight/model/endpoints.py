"""Where containers are told to reach their database, cache or broker, when that is loopback.

Inside a container, ``localhost`` is the container itself: a ``DATABASE_URL`` (or a
``REDIS_URL``, a ``CELERY_BROKER_URL``, a ``DB_HOST``) that points at ``localhost`` reaches the
database only when the database listens in the same network namespace — another container of
the same pod (a Cloud SQL Auth Proxy, a pgbouncer sidecar), or a compose service run with
``network_mode: host``. This module finds every such value a deploy gives a container (a
Kubernetes container's ``env``, the Secret and ConfigMap keys it reads, a compose service's
``environment`` and the committed ``env_file`` it loads, and the settings default of an app a
deploy runs without setting the variable), with the compose services and workloads of the
repository that run that database, and what makes loopback right when something does.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from preflight.digits import ascii_int
from preflight.knowledge.images import stock_infrastructure
from preflight.model.envfiles import loaded_env_files
from preflight.model.wiring import share_namespace

if TYPE_CHECKING:
    from preflight.model.databases import DatabaseModel
    from preflight.model.graph import ContainerNode
    from preflight.model.project import Project
    from preflight.model.serving import Served
    from preflight.model.wiring import Wiring
    from preflight.parse.compose import ComposeFile, ComposeService
    from preflight.parse.manifests import Container, Workload
    from preflight.spans import Span

__all__ = ["DatabaseServer", "LoopbackEndpoint", "loopback_endpoints"]

# The database family a URL scheme (before any `+driver`) names.
_SCHEMES = {
    "postgres": "postgres",
    "postgresql": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "redis": "redis",
    "rediss": "redis",
    "mongodb": "mongo",
    "amqp": "rabbitmq",
    "amqps": "rabbitmq",
    "pyamqp": "rabbitmq",
}
# The stock images (knowledge/images.py names) that run each family.
_IMAGES = {
    "postgres": frozenset({"postgres", "postgresql", "postgis", "timescaledb"}),
    "mysql": frozenset({"mysql", "mariadb"}),
    "redis": frozenset({"redis", "redis-stack", "valkey", "keydb"}),
    "mongo": frozenset({"mongo", "mongodb"}),
    "rabbitmq": frozenset({"rabbitmq"}),
}
_IMAGES["database"] = _IMAGES["postgres"] | _IMAGES["mysql"] | _IMAGES["mongo"]
_PORTS = {"postgres": 5432, "mysql": 3306, "redis": 6379, "mongo": 27017, "rabbitmq": 5672}
NAMES = {
    "postgres": "PostgreSQL",
    "mysql": "MySQL",
    "redis": "Redis",
    "mongo": "MongoDB",
    "rabbitmq": "RabbitMQ",
    "database": "the database",
}
# The word of a `*_HOST` variable that says which server it names.
_HOST_WORDS = {
    "POSTGRES": "postgres",
    "POSTGRESQL": "postgres",
    "PG": "postgres",
    "PGHOST": "postgres",
    "MYSQL": "mysql",
    "MARIADB": "mysql",
    "REDIS": "redis",
    "MONGO": "mongo",
    "MONGODB": "mongo",
    "RABBITMQ": "rabbitmq",
    "RABBIT": "rabbitmq",
    "AMQP": "rabbitmq",
    "DB": "database",
    "DATABASE": "database",
}
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
# Images of a sidecar that listens on loopback for the app and forwards to the database.
_PROXY = re.compile(r"sql-proxy|sqlproxy|gce-proxy|pgbouncer|pgcat|odyssey|proxysql|twemproxy")


@dataclass(frozen=True, slots=True)
class DatabaseServer:
    """A compose service or workload of the repository that runs a database."""

    label: str  # "compose service `db` (`postgres:16`)"
    span: Span
    host: str  # the name other containers reach it by (compose service, Kubernetes Service)


@dataclass(frozen=True, slots=True)
class LoopbackEndpoint:
    """A database/cache/broker address on loopback that a container is given."""

    family: str  # "postgres", "redis", …, "database" (a `DB_HOST`: any database)
    variable: str
    address: str  # "localhost:5432" (never the credentials)
    span: Span  # where the value is written (the env value, the Secret key, the default)
    where: str  # "the container's env", "Secret `app` key `DATABASE_URL`", …
    client: str  # "compose service `web`", "Deployment `api` container `web`"
    client_span: Span
    servers: tuple[DatabaseServer, ...]  # what runs that database: none means nothing here
    fine: str | None  # why loopback does reach the database (None: it does not)
    default: bool = False  # the value is a settings default no deploy overrides

    @property
    def name(self) -> str:
        return NAMES[self.family]


def classify(name: str, value: str, siblings: dict[str, str]) -> tuple[str, str] | None:
    """(family, "host:port") when ``name=value`` points a client at loopback, else None."""
    value = value.strip().removeprefix("jdbc:")
    if "://" in value:
        try:
            parts = urlsplit(value)
            host = parts.hostname
            port = parts.port
        except ValueError:
            return None
        family = _SCHEMES.get(parts.scheme.split("+", 1)[0].lower())
        if family is None or host is None or host not in _LOOPBACK:
            return None
        if "," in parts.netloc:
            return None  # several hosts: not one loopback address
        return family, f"{host}:{port or _PORTS[family]}"
    upper = name.upper()
    if not (upper.endswith("_HOST") or upper == "PGHOST") or value.lower() not in _LOOPBACK:
        return None
    words = upper.split("_")
    family = next((_HOST_WORDS[w] for w in words if w in _HOST_WORDS), None)
    if family is None:
        return None
    port_text = siblings.get(upper[: -len("HOST")] + "PORT") if upper != "PGHOST" else None
    port_text = port_text or (siblings.get("PGPORT") if family == "postgres" else None)
    port = ascii_int(port_text) if port_text else _PORTS.get(family)
    return family, f"{value}:{port}" if port else value


def _port(address: str) -> int | None:
    return ascii_int(address.rsplit(":", 1)[-1]) if ":" in address else None


def _family_of_image(image: str | None, family: str) -> bool:
    stock = stock_infrastructure(image)
    return stock is not None and stock in _IMAGES[family]


def _compose_servers(files: list[ComposeFile], me: str, family: str) -> tuple[DatabaseServer, ...]:
    return tuple(
        DatabaseServer(
            f"compose service `{service.name}` (`{service.image}`)", service.span, service.name
        )
        for compose in files
        for service in compose.services
        if service.name != me and _family_of_image(service.image, family)
    )


# Workloads that run a server (a Job or CronJob that uses a database image runs its client).
_SERVING = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Pod",
     "DeploymentConfig", "Rollout"}
)  # fmt: skip
_SERVER_WORDS = re.compile(r"postgres|redis|mysqld|mariadbd|mongod|rabbitmq|entrypoint|valkey")


def _runs_server(container: Container) -> bool:
    """A container of a database image that runs its server, not a client it also ships
    (`command: [psql, …]`)."""
    if container.command is None or not container.command.values:
        return True
    return _SERVER_WORDS.search(posixpath.basename(container.command.values[0])) is not None


def _k8s_servers(wiring: Wiring, workload: Workload, family: str) -> tuple[DatabaseServer, ...]:
    mine = next((p.namespaces for p in wiring.pods if p.workload is workload), None)
    out: list[DatabaseServer] = []
    for pod in wiring.pods:
        other = pod.workload
        if other is workload or (mine is not None and not share_namespace(mine, pod.namespaces)):
            continue
        if other.kind not in _SERVING:
            continue
        for container in other.main_containers:
            if _family_of_image(container.image, family) and _runs_server(container):
                label = f"{other.kind} `{other.name}` (`{container.image}`)"
                host = next(
                    (
                        service.name
                        for service in wiring.services
                        if service.service.selector
                        and share_namespace(service.namespaces, pod.namespaces)
                        and all(pod.labels.get(k) == v for k, v in service.service.selector.items())
                    ),
                    "",
                )
                out.append(DatabaseServer(label, container.image_span or other.span, host))
                break
    return tuple(out)


def _sidecar(workload: Workload, me: Container, family: str, port: int | None) -> str | None:
    """Why another container of the pod answers on loopback for the database, if one does."""
    others = [
        c
        for c in workload.containers
        if c is not me and (c.name, c.is_init) != (me.name, me.is_init)
    ]
    for other in others:
        if _family_of_image(other.image, family):
            return f"container `{other.name}` of the same pod runs `{other.image}`"
    for other in others:
        if _PROXY.search((other.image or "").lower()):
            return f"container `{other.name}` of the same pod runs a proxy (`{other.image}`)"
        if port is not None and any(p.port == port for p in other.ports):
            return f"container `{other.name}` of the same pod listens on port {port}"
    return None


def _compose_fine(service: ComposeService) -> str | None:
    mode = service.network_mode or ""
    if mode == "host" or mode.startswith(("service:", "container:")):
        return f"`network_mode: {mode}` shares another network namespace"
    return None


def loopback_endpoints(
    project: Project,
    containers: list[ContainerNode],
    served: list[Served],
    wiring: Wiring,
) -> list[LoopbackEndpoint]:
    """Every loopback database address a deploy gives a container, in file order."""
    out: list[LoopbackEndpoint] = []
    tables = _tables(project)
    for node in containers:
        out.extend(_kubernetes(node, wiring, tables))
    out.extend(_compose(project))
    out.extend(_defaults(project.databases, containers, served, wiring, project))
    return out


_Table = dict[str, tuple["Span", str | None]]  # key -> (where it is written, value)


def _tables(project: Project) -> dict[tuple[str, str], list[tuple[str, _Table]]]:
    """Secrets and ConfigMaps by (kind, name), each with the file that defines it: a name a
    repository defines in several variants (an overlay, an extra) has one table per file."""
    out: dict[tuple[str, str], list[tuple[str, _Table]]] = {}
    for path, manifest in project.manifests.items():
        for secret in manifest.secrets:
            table: _Table = {k: (v.span, v.value) for k, v in secret.keys.items()}
            out.setdefault(("Secret", secret.obj.name or ""), []).append((path, table))
        for config_map in manifest.config_maps:
            table = {k: (v.span, v.value) for k, v in config_map.keys.items()}
            out.setdefault(("ConfigMap", config_map.obj.name or ""), []).append((path, table))
    return out


def _nearest_table(
    tables: dict[tuple[str, str], list[tuple[str, _Table]]], kind: str, name: str, near: str
) -> _Table | None:
    """The variant of a Secret/ConfigMap defined closest to the manifest that reads it."""
    found = tables.get((kind, name))
    if not found:
        return None
    if len(found) == 1:
        return found[0][1]
    beside = [table for path, table in found if posixpath.dirname(path) == posixpath.dirname(near)]
    return beside[0] if len(beside) == 1 else None  # several variants: which one is not known


def _is_database(node: ContainerNode, family: str) -> bool:
    """The container runs that database itself (a stock image, or one built FROM it)."""
    if _family_of_image(node.run.container.image, family):
        return True
    dockerfile = node.run.dockerfile
    if dockerfile is None or dockerfile.final is None:
        return False
    return any(
        _family_of_image(stage.base, family) for stage in dockerfile.lineage(dockerfile.final)
    )


def _kubernetes(
    node: ContainerNode, wiring: Wiring, tables: dict[tuple[str, str], list[tuple[str, _Table]]]
) -> list[LoopbackEndpoint]:
    run = node.run
    container, workload = run.container, run.workload
    client = node.label
    # what the container's environment holds: name -> (value, where it is written, what)
    values: dict[str, tuple[str, Span, str]] = {}
    for source in container.env_from:
        what = "Secret" if source.kind == "secretRef" else "ConfigMap"
        table = _nearest_table(tables, what, source.name or "", run.manifest)
        for key, (span, value) in (table or {}).items():
            if value is not None:
                values[source.prefix + key] = (value, span, f"{what} `{source.name}` key `{key}`")
    for variable in container.env:
        ref = variable.value_from
        if ref is None:
            if variable.value is not None:
                span = variable.value_span or variable.span
                values[variable.name] = (variable.value, span, "the container's env")
            continue
        if ref.kind not in ("secretKeyRef", "configMapKeyRef"):
            values.pop(variable.name, None)
            continue
        what = "Secret" if ref.kind == "secretKeyRef" else "ConfigMap"
        entry = (_nearest_table(tables, what, ref.name or "", run.manifest) or {}).get(
            ref.key or ""
        )
        if entry is not None and entry[1] is not None:
            where = f"{what} `{ref.name}` key `{ref.key}`"
            values[variable.name] = (entry[1], entry[0], where)
        else:
            values.pop(variable.name, None)
    siblings = {name: value for name, (value, _, _) in values.items()}
    out: list[LoopbackEndpoint] = []
    for name, (value, span, where) in values.items():
        found = classify(name, value, siblings)
        if found is None:
            continue
        family, address = found
        if _is_database(node, family):
            continue  # the database's own container, pointing at itself
        out.append(
            LoopbackEndpoint(
                family,
                name,
                address,
                span,
                where,
                client,
                container.span,
                _k8s_servers(wiring, workload, family),
                _sidecar(workload, container, family, _port(address)),
            )
        )
    return out


def _compose(project: Project) -> list[LoopbackEndpoint]:
    by_directory: dict[str, list[ComposeFile]] = {}
    for compose in project.compose_files.values():
        by_directory.setdefault(posixpath.dirname(compose.path), []).append(compose)
    loaded: dict[tuple[str, str], list[tuple[str, str, Span, str]]] = {}
    for env_file, uses in loaded_env_files(project):
        for use in uses:
            for entry in env_file.entries:
                if entry.value is not None:
                    loaded.setdefault((use.compose, use.service), []).append(
                        (entry.name, entry.value, entry.span, env_file.path)
                    )
    out: list[LoopbackEndpoint] = []
    for compose in project.compose_files.values():
        neighbours = by_directory[posixpath.dirname(compose.path)]
        for service in compose.services:
            values: dict[str, tuple[str, Span, str]] = {}
            for name, value, span, path in loaded.get((compose.path, service.name), ()):
                values[name] = (value, span, path)
            for variable in service.environment:
                if variable.value is not None:
                    values[variable.name] = (variable.value, variable.span, "its `environment`")
                else:
                    values.pop(variable.name, None)  # from the host's environment
            siblings = {name: value for name, (value, _, _) in values.items()}
            # another compose file of the project (an override) that sets the variable for the
            # same service: which value wins depends on the files `docker compose` is given
            overridden = {
                variable.name
                for other in neighbours
                if other is not compose
                for same in other.services
                if same.name == service.name
                for variable in same.environment
            }
            for name, (value, span, where) in values.items():
                found = classify(name, value, siblings)
                if found is None or _family_of_image(service.image, found[0]):
                    continue
                if name in overridden:
                    continue
                family, address = found
                out.append(
                    LoopbackEndpoint(
                        family,
                        name,
                        address,
                        span,
                        where,
                        f"compose service `{service.name}`",
                        service.span,
                        _compose_servers(neighbours, service.name, family),
                        _compose_fine(service),
                    )
                )
    return out


def _under(path: str, directory: str) -> bool:
    return not directory or path.startswith(directory.rstrip("/") + "/")


def _defaults(
    databases: DatabaseModel | None,
    containers: list[ContainerNode],
    served: list[Served],
    wiring: Wiring,
    project: Project,
) -> list[LoopbackEndpoint]:
    """A settings default on loopback, for each deploy of the app that does not set it."""
    if databases is None:
        return []
    out: list[LoopbackEndpoint] = []
    for use in databases.uses:
        if use.unresolved is not None or not use.setting:
            continue
        setting = use.setting.lower()
        for effective in use.urls:
            source = effective.source
            if not source.where.startswith(("the default of", "its default in the code")):
                continue
            found = classify(use.setting, source.value, {})
            if found is None:
                continue
            family, address = found
            for node in containers:
                if node.app is None or node.root is None or not _under(use.module, node.root):
                    continue
                names = {name.lower() for name in node.env.providers}
                if setting in names or node.env.unknown:
                    continue
                run = node.run
                out.append(
                    LoopbackEndpoint(
                        family,
                        use.setting,
                        address,
                        source.span,
                        source.where,
                        node.label,
                        run.container.span,
                        _k8s_servers(wiring, run.workload, family),
                        _sidecar(run.workload, run.container, family, _port(address)),
                        default=True,
                    )
                )
            for unit in served:
                if unit.compose is None:
                    continue
                compose, service = unit.compose
                if not _under(use.module, unit.near):
                    continue
                if unit.env.open is not None or setting in {n.lower() for n in unit.env.names}:
                    continue
                if service.env_files:
                    continue  # an env file the repository does not hold may set it
                neighbours = [
                    c
                    for c in project.compose_files.values()
                    if posixpath.dirname(c.path) == posixpath.dirname(compose.path)
                ]
                out.append(
                    LoopbackEndpoint(
                        family,
                        use.setting,
                        address,
                        source.span,
                        source.where,
                        f"compose service `{service.name}`",
                        service.span,
                        _compose_servers(neighbours, service.name, family),
                        _compose_fine(service),
                        default=True,
                    )
                )
    return out
