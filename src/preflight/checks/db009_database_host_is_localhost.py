"""DB009 database-host-is-localhost: a container is told its database is on `localhost`.

Inside a container, `localhost` is the container itself. A `DATABASE_URL`, `REDIS_URL`,
`CELERY_BROKER_URL` or `DB_HOST` pointing at `localhost`/`127.0.0.1`/`::1` reaches the database
only when the database listens in the same network namespace; when the repository runs it as
another compose service or Kubernetes workload, every connection is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.spans import Related

if TYPE_CHECKING:
    from preflight.model.endpoints import LoopbackEndpoint
    from preflight.model.graph import Deployment

CODE = "DB009"


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    reported: dict[tuple[str, int, int], list[LoopbackEndpoint]] = {}
    for endpoint in graph.loopbacks:
        head = f"{endpoint.client}: `{endpoint.variable}` points at {endpoint.address}"
        if endpoint.fine is not None:
            ctx.silent(endpoint.span, f"{head}, and {endpoint.fine}")
            continue
        if not endpoint.servers:
            ctx.silent(
                endpoint.span,
                f"{head}, and no other compose service or workload of the repository runs "
                f"{endpoint.name}: it may run beside the app",
            )
            continue
        span = endpoint.span
        reported.setdefault((span.path, span.line, span.col), []).append(endpoint)
    for endpoints in reported.values():
        yield _finding(ctx, endpoints)


# What each client library says (psycopg/libpq, redis-py, PyMySQL, PyMongo, kombu/amqp).
_ERRORS = {
    "postgres": 'connection to server at "{host}", port {port} failed: Connection refused',
    "redis": "Error 111 connecting to {host}:{port}. Connection refused.",
    "mysql": "Can't connect to MySQL server on '{host}' ([Errno 111] Connection refused)",
    "mongo": "{host}:{port}: [Errno 111] Connection refused",
}


def _finding(ctx: RuleContext, endpoints: list[LoopbackEndpoint]) -> Finding:
    first = endpoints[0]
    server = first.servers[0]
    host = first.address.rsplit(":", 1)[0] if first.address.count(":") == 1 else first.address
    given = (
        f"`{first.variable}` defaults to {first.address} ({first.where}), and nothing sets it "
        f"for {first.client}"
        if first.default
        else f"{first.client} is given `{first.variable}` on {first.address} ({first.where})"
    )
    port = first.address.rsplit(":", 1)[-1]
    error = _ERRORS.get(first.family, "[Errno 111] Connection refused").format(host=host, port=port)
    message = (
        f"{given}, but {first.name} runs as {server.label}: inside a container `{host}` is the "
        f"container itself, so every connection is refused (`{error}`)."
    )
    related = [Related(server.span, f"{first.name} runs here")]
    related += [Related(other.span, f"{other.label} too") for other in first.servers[1:2]]
    related += [Related(e.client_span, f"{e.client} uses it") for e in endpoints[:3]]
    if server.host:
        fix = f"Use the host name `{server.host}` (the service in front of {first.name}), not "
    else:
        fix = f"Put a Service in front of {server.label} and use its name as the host, not "
    return ctx.report(
        message,
        first.span,
        tuple(related),
        fix + f"`{host}`.",
        headline=f"`{first.variable}` points at {host}, the container itself",
    )


RULE = Rule(
    code=CODE,
    name="database-host-is-localhost",
    severity=Severity.ERROR,
    summary="A container's database, cache or broker address is localhost, the container itself.",
    check=check,
)
