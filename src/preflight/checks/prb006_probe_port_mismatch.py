"""PRB006 probe-port-mismatch: a probe (or Service) targets a port the server does not bind."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks.rule import Rule
from preflight.digits import ascii_int
from preflight.findings import Applicability, Autofix, Edit, Finding, RuleContext, Severity
from preflight.model.graph import ContainerNode, Deployment
from preflight.spans import Related, Span


def _bind(serving: ContainerNode) -> tuple[int | None, str]:
    if serving.server_command is None or serving.server_command.port is None:
        return None, ""
    return serving.server_command.port, serving.server_command.port_from


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    proxied = {id(u.node): u.proxy for u in graph.served if u.node is not None and u.proxy}
    for serving in graph.containers:
        container = serving.run.container
        proxy = proxied.get(id(serving))
        if proxy is not None:
            # the command starts a reverse proxy as well (`gunicorn … &` then `nginx`): the
            # container's ports are the proxy's as much as the server's
            ctx.silent(
                container.span,
                f"{serving.label}: its command starts `{proxy}` as well as the server, so the "
                "ports it listens on are not only the server's",
            )
            continue
        named = {p.name: p.port for p in container.ports if p.name}
        declared = {p.port for p in container.ports if p.port is not None}
        bind, bind_from = _bind(serving)
        for probe in container.probes:
            if probe.port is None or probe.handler not in ("httpGet", "tcpSocket", "grpc"):
                continue
            span = probe.port_span or probe.span
            number: int | None
            if isinstance(probe.port, str) and ascii_int(probe.port) is None:
                if probe.port not in named:
                    yield _finding(
                        ctx,
                        f"The {probe.kind} of {serving.label} uses port `{probe.port}`, "
                        "but the container declares no port by that name: the probe fails "
                        + (
                            "and the pod is restarted again and again."
                            if probe.kind == "livenessProbe"
                            else "and the pod never becomes ready."
                        ),
                        span,
                        container.span,
                        "Name the containerPort, or use the port number.",
                        f"{probe.kind} port `{probe.port}` is not a container port",
                    )
                    continue
                number = named[probe.port]
            else:
                number = probe.port if isinstance(probe.port, int) else ascii_int(probe.port)
            if bind is not None and number is not None and number != bind:
                command = serving.server_command
                server = command.server if command is not None else "the server"
                yield _finding(
                    ctx,
                    f"The {probe.kind} of {serving.label} targets port {number}, but "
                    f"`{server}` binds {bind} "
                    f"({bind_from}): the probe's connection is refused.",
                    span,
                    container.span,
                    f"Probe port {bind} (or bind the server to {number}).",
                    f"{probe.kind} targets port {number}; the server binds {bind}",
                    # the number as the probe writes it (a named port is the containerPort's
                    # to change): unsafe, the server's port may be the one that is wrong
                    Autofix(
                        Applicability.UNSAFE,
                        f"Probe port {bind}",
                        (
                            Edit.replace_text(
                                span.path, span.line, span.col, str(number), str(bind)
                            ),
                        ),
                    )
                    if isinstance(probe.port, int) and probe.port_span is not None
                    else None,
                )
            elif bind is None and declared and number is not None and number not in declared:
                # containerPort lists are informational: a server may listen on a port it does
                # not declare (ingress-nginx answers /healthz on 10254). Without knowing what
                # the server binds, an undeclared port is no evidence of a mistake.
                ctx.silent(
                    span,
                    f"{serving.label}: the {probe.kind} targets undeclared port {number}, but "
                    "preflight does not know which ports its server binds",
                )
        if bind is not None:
            yield from _services(ctx, graph, serving, bind, bind_from, named)


def _services(
    ctx: RuleContext,
    graph: Deployment,
    serving: ContainerNode,
    bind: int,
    bind_from: str,
    named: dict[str, int | None],
) -> Iterator[Finding]:
    for service in graph.services_selecting(serving):
        nearest = graph.fronts(service, serving)
        if nearest is not True:
            if nearest is None:
                ctx.silent(
                    service.span,
                    f"Service `{service.obj.name}` selects same-labelled workloads in several "
                    "files, none nearer to it than the others: which one it fronts is unknown",
                )
            continue  # False: the Service fronts a workload nearer to it (its own overlay)
        for port in service.ports:
            target = port.target_port if port.target_port is not None else port.port
            number: int | None
            if isinstance(target, str):
                number = ascii_int(target)
                if number is None:
                    number = named.get(target)
            else:
                number = target
            if number is not None and number != bind:
                yield _finding(
                    ctx,
                    f"Service `{service.obj.name}` sends port {port.port} to {target}, but "
                    f"{serving.label} serves on {bind} ({bind_from}): its traffic is "
                    "refused.",
                    port.span,
                    serving.run.container.span,
                    f"Set `targetPort: {bind}`.",
                    f"Service `{service.obj.name}` targets port {target}; the server binds {bind}",
                )


def _finding(
    ctx: RuleContext,
    message: str,
    span: Span,
    container: Span,
    fix: str,
    headline: str,
    autofix: Autofix | None = None,
) -> Finding:
    related = (Related(container, "the container"),)
    return ctx.report(message, span, related, fix, headline=headline, autofix=autofix)


RULE = Rule(
    code="PRB006",
    name="probe-port-mismatch",
    severity=Severity.ERROR,
    summary="A probe or Service targets a port the container's server does not bind.",
    check=check,
)
