"""What the kubelet puts in every container's environment for each Service of its namespace.

Source: kubernetes pkg/kubelet/envvars/envvars.go (``FromServices``, ``makeLinkVariables``,
``makeEnvVariableName``) and the documentation "Service / Discovering services / Environment
variables". For a Service `redis-primary` with a cluster IP and a first port 6379/TCP:

    REDIS_PRIMARY_SERVICE_HOST=10.0.0.11
    REDIS_PRIMARY_SERVICE_PORT=6379          (and _SERVICE_PORT_<PORT NAME> per named port)
    REDIS_PRIMARY_PORT=tcp://10.0.0.11:6379  (first port only)
    REDIS_PRIMARY_PORT_6379_TCP=tcp://10.0.0.11:6379
    REDIS_PRIMARY_PORT_6379_TCP_PROTO=tcp
    REDIS_PRIMARY_PORT_6379_TCP_PORT=6379
    REDIS_PRIMARY_PORT_6379_TCP_ADDR=10.0.0.11

Only Services with a cluster IP get them (not headless `clusterIP: None`, not `ExternalName`),
only when the pod's `enableServiceLinks` is true (the default), and a variable the container's
own `env`/`envFrom` sets wins over the injected one (its Dockerfile `ENV` does not: the runtime
environment replaces the image's).
"""

from __future__ import annotations

from typing import Literal

# What an injected variable holds: a `tcp://IP:PORT` URL, an IP address, a port number, or the
# protocol's name (`tcp`).
Shape = Literal["url", "ip", "number", "protocol"]

SHAPE_EXAMPLES: dict[str, str] = {
    "url": "tcp://10.96.0.12:{port}",
    "ip": "10.96.0.12",
    "number": "{port}",
    "protocol": "tcp",
}


def env_variable_name(service: str) -> str:
    """``makeEnvVariableName``: upper-cased, `-` replaced by `_`."""
    return service.replace("-", "_").upper()


def service_link_variables(
    service: str, ports: list[tuple[int, str, str | None]]
) -> list[tuple[str, Shape, int | None]]:
    """Each variable a Service injects, what it holds, and its port: ``ports`` as (port,
    protocol, name) in the Service's order."""
    prefix = env_variable_name(service)
    first = ports[0][0] if ports else None
    out: list[tuple[str, Shape, int | None]] = [(f"{prefix}_SERVICE_HOST", "ip", first)]
    if not ports:
        return out
    out.append((f"{prefix}_SERVICE_PORT", "number", first))
    for port, _protocol, name in ports:
        if name:
            out.append((f"{prefix}_SERVICE_PORT_{env_variable_name(name)}", "number", port))
    out.append((f"{prefix}_PORT", "url", first))
    for port, protocol, _name in ports:
        link = f"{prefix}_PORT_{port}_{protocol.upper()}"
        out.append((link, "url", port))
        out.append((f"{link}_PROTO", "protocol", port))
        out.append((f"{link}_PORT", "number", port))
        out.append((f"{link}_ADDR", "ip", port))
    return out
