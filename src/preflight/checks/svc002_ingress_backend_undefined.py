"""SVC002 ingress-backend-undefined: an Ingress or Gateway API route sends traffic to a Service
no manifest defines, or to a port that Service does not expose.

The ingress controller resolves the backend at request time: a Service that does not exist
or a port it does not have leaves the route without endpoints, and every request to it gets
503 Service Unavailable (ingress-nginx logs `service "ns/web" does not have any active
endpoint` / `port 8080 not found`; a Gateway reports `BackendNotFound`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from preflight.checks.rule import Rule
from preflight.digits import ascii_int
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.wiring import share_namespace
from preflight.spans import Related
from preflight.suggest import closest

if TYPE_CHECKING:
    from preflight.model.graph import Deployment
    from preflight.model.wiring import Route, ServiceDef, Wiring

CODE = "SVC002"


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    wiring = graph.wiring
    for route in wiring.routes:
        backend = route.backend
        namespaces = frozenset({backend.namespace}) if backend.namespace else route.namespaces
        found = wiring.services_named(backend.service, namespaces)
        if found:
            finding = _port_finding(ctx, route, found)
            if finding is not None:
                yield finding
            continue
        owner = _owner(route)
        if wiring.unrendered is not None:
            ctx.silent(
                backend.span,
                f"{owner}: no manifest read here defines Service `{backend.service}`, but "
                f"{wiring.unrendered}",
            )
            continue
        near = _near(wiring, backend.service, namespaces)
        if near is None:
            ctx.silent(
                backend.span,
                f"{owner}: no manifest defines Service `{backend.service}`, and none is named "
                "like it: it may be created elsewhere (a Helm release, an operator)",
            )
            continue
        yield _missing_finding(ctx, route, near)


def _owner(route: Route) -> str:
    return f"{route.backend.obj.kind} `{route.backend.obj.name}`"


def _near(wiring: Wiring, name: str, namespaces: frozenset[str | None]) -> ServiceDef | None:
    """The defined Service most likely meant: named closely, in the same namespace."""
    candidates = {
        rendered: service
        for service in wiring.services
        if share_namespace(service.namespaces, namespaces)
        for rendered in sorted(service.names)
    }
    match = closest(name, candidates)
    return candidates[match] if match is not None else None


def _missing_finding(ctx: RuleContext, route: Route, near: ServiceDef) -> Finding:
    backend = route.backend
    meant = closest(backend.service, near.names) or near.name
    message = (
        f"{_owner(route)} sends traffic to Service `{backend.service}`, which no manifest "
        f"defines: the ingress controller finds no endpoints and answers 503. Did you mean "
        f"`{meant}`?"
    )
    return ctx.report(
        message,
        backend.span,
        (Related(near.service.span, f"Service `{near.name}`"),),
        f"Name the Service the manifests define (`{meant}`), or define Service "
        f"`{backend.service}`.",
        headline=f"Service `{backend.service}` is not defined",
    )


def _port_finding(ctx: RuleContext, route: Route, found: list[ServiceDef]) -> Finding | None:
    backend = route.backend
    port = backend.port
    if port is None:
        return None
    if isinstance(port, str) and ascii_int(port) is not None:
        port = ascii_int(port)
    ports = [p for service in found for p in service.ports]
    if not ports:
        ctx.silent(backend.port_span, f"Service `{backend.service}` lists no ports here")
        return None
    if isinstance(port, int):
        if any(p.port == port for p in ports):
            return None
    elif any(p.name == port for p in ports):
        return None
    service = found[0]
    exposed = ", ".join(
        f"{p.port}" + (f" (`{p.name}`)" if p.name else "") for p in ports if p.port is not None
    )
    if isinstance(port, int):
        what = f"port {port}"
        hint = "the Service's `port` (not its `targetPort`)"
    else:
        what = f"port `{port}`"
        hint = "a port name the Service declares"
    named = [p.name for p in ports if p.name]
    guess = closest(port, named) if isinstance(port, str) else None
    message = (
        f"{_owner(route)} sends traffic to {what} of Service `{backend.service}`, which "
        f"exposes only {exposed or 'unnamed ports'}: the ingress controller finds no such port "
        f"and answers 503." + (f" Did you mean `{guess}`?" if guess else "")
    )
    return ctx.report(
        message,
        backend.port_span or backend.span,
        (
            Related(
                service.ports[0].span if service.ports else service.service.span,
                f"the ports of Service `{service.name}`",
            ),
        ),
        f"Use {hint}: {exposed or 'see the Service'}.",
        headline=f"Service `{backend.service}` exposes no {what}",
    )


RULE = Rule(
    code=CODE,
    name="ingress-backend-undefined",
    severity=Severity.ERROR,
    summary="An Ingress or route names a Service, or a Service port, that no manifest defines.",
    check=check,
)
