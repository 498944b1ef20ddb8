"""PRB001 readiness-probe-missing: a container serving this repository's app has no readinessProbe.

The container is judged when it runs this repository's code (its image is built from a
Dockerfile here, or is not a stock infrastructure image) or starts a Python server preflight
knows, and it serves: it declares a port, a Service selects its pod, or its command starts a
server. Stock images (PostgreSQL, Redis, nginx) are left alone: they answer their own kind of
check (`pg_isready`, `redis-cli ping`, tcpSocket), named under ``--verbose``. A sidecar in a
pod whose app container has a readiness probe is covered by it (pod readiness is the AND of
its containers).
"""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks import _probes
from preflight.checks.rule import Rule
from preflight.findings import (
    Applicability,
    Autofix,
    Edit,
    Finding,
    RuleContext,
    Severity,
    YamlValue,
)
from preflight.knowledge.images import readiness_check_for, stock_infrastructure
from preflight.model.graph import ContainerNode, Deployment
from preflight.spans import Related


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    probed = _probed_index(graph)
    for serving in graph.containers:
        run = serving.run
        if run.workload.kind not in _probes.SERVING_KINDS:
            continue
        container = run.container
        if container.probe("readinessProbe") is not None:
            continue
        if _covered_by_sibling(graph, serving):
            ctx.silent(
                container.span,
                f"{serving.label}: another container of the pod has a readinessProbe",
            )
            continue
        stock = stock_infrastructure(container.image)
        if stock is not None and run.dockerfile is None and serving.server_command is None:
            # Not this repository's app: a stock database, cache or proxy answers its own kind
            # of check, not the HTTP readiness endpoint this rule is about — unless another
            # manifest of the repository gives the same container one (a copy that lost it).
            copy = _probed_copy(probed, serving)
            if copy is not None:
                yield _dropped(ctx, serving, copy, f" runs stock `{stock}`")
                continue
            ctx.silent(
                container.span,
                f"{serving.label} runs stock `{stock}` (its check: {readiness_check_for(stock)})",
            )
            continue
        source = graph.other_language_source(serving) if serving.server_command is None else None
        elsewhere = run.source_elsewhere if serving.server_command is None else None
        if source is not None or elsewhere is not None:
            # built here, but not a Python service (a Node, Java or Go one — by its Dockerfile,
            # or named after a directory holding another language's build), or built from
            # another repository's source: not this repository's app
            copy = _probed_copy(probed, serving)
            if copy is not None:
                yield _dropped(ctx, serving, copy, "")
                continue
            why = f"its image ({source}) is not a Python service" if source else elsewhere
            ctx.silent(container.span, f"{serving.label}: {why}")
            continue
        if serving.runs_no_server is not None:
            # what it runs serves no HTTP (a worker, a headless load generator, a compiled
            # program): a port or a Service selecting it routes to nothing a probe could gate
            ctx.silent(container.span, f"{serving.label}: {serving.runs_no_server}")
            continue
        evidence = _serves(graph, serving)
        if evidence is None:
            continue
        ready = next(
            (p for p in _probes.READY_PATHS if serving.app and serving.app.serves(p)), "/ready"
        )
        why = (
            "its database down, still starting"
            if serving.app is not None and _probes.uses_database(graph, serving.app)
            else "still starting, or overloaded"
        )
        yield ctx.report(
            f"{serving.label} {evidence} but has no readinessProbe: Kubernetes sends it "
            "traffic as soon as the process starts, and keeps sending it while the app cannot "
            f"serve ({why}).",
            container.span,
            fix=f"Add a readinessProbe, e.g. `httpGet: {{path: {ready}, port: <server port>}}`, "
            "on an endpoint that checks what the app needs to serve.",
            headline=f"Container `{container.name}` has no readinessProbe",
            autofix=_probe_on_the_route(graph, serving),
        )


# The reference service's readiness timings (fixtures/reference-service/k8s/deployment.yaml):
# every 10 s, 5 s for the endpoint's own database check, out of rotation after 3 failures.
REFERENCE_TIMINGS = {"periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3}
# Options that make the server speak TLS: an httpGet probe would need `scheme: HTTPS`.
_TLS_FLAGS = ("--ssl-keyfile", "--ssl-certfile", "--keyfile", "--certfile", "--ssl")


def _probe_on_the_route(graph: Deployment, serving: ContainerNode) -> Autofix | None:
    """A readinessProbe on the app's one readiness route (a path ending like `/ready`, else a
    health route that checks the database), at the port its server binds (by the
    containerPort's name when one declares it), with the reference service's timings. Unsafe:
    the timings are a choice. None when the route or the port is not known for sure."""
    app, command = serving.app, serving.server_command
    run = serving.run
    if app is None or command is None or command.port is None or run.unmerged_patches:
        return None
    if any(arg.startswith(_TLS_FLAGS) for arg in command.args):
        return None
    gets = [r for r in app.routes if "GET" in r.methods and not _has_parameter(r.path)]
    named = [r.path for r in gets if r.path.rstrip("/").endswith(_probes.READY_PATHS)]
    paths = sorted(set(named or [r.path for r in gets if _probes.checks_database(r, graph)]))
    if len(paths) != 1 or app.serves(paths[0]) is None:
        return None
    container = run.container
    port: YamlValue = next(
        (p.name for p in container.ports if p.port == command.port and p.name), command.port
    )
    probe: dict[str, YamlValue] = {"httpGet": {"path": paths[0], "port": port}}
    probe.update(REFERENCE_TIMINGS)
    return Autofix(
        Applicability.UNSAFE,
        f"Add a readinessProbe on `GET {paths[0]}`, port {port}",
        (
            Edit.yaml_add(
                container.span.path,
                container.span.line,
                container.span.col,
                "readinessProbe",
                probe,
            ),
        ),
    )


def _has_parameter(path: str) -> bool:
    return any(mark in path for mark in ("{", "<", "(", "*", ":"))


def _serves(graph: Deployment, serving: ContainerNode) -> str | None:
    """Why the container receives traffic, or None when nothing says it does."""
    container = serving.run.container
    if container.ports:
        return f"declares containerPort {container.ports[0].port}"
    if serving.server_command is not None:
        return f"runs `{serving.server_command.server}`"
    services = graph.services_selecting(serving)
    return f"is selected by Service `{services[0].obj.name}`" if services else None


def _dropped(ctx: RuleContext, serving: ContainerNode, copy: ContainerNode, what: str) -> Finding:
    """A container another manifest runs with a readinessProbe: this copy dropped it (info:
    not this repository's Python app, but its own manifests say the probe is wanted)."""
    return ctx.report(
        f"{serving.label}{what} with no readinessProbe, but the same container in "
        f"{copy.run.manifest} has one: this copy dropped it.",
        serving.run.container.span,
        (Related(copy.run.container.span, "the same container, with its probe"),),
        "Give this copy the readinessProbe the other manifest has.",
        severity=Severity.INFO,
        headline=f"Container `{serving.run.container.name}` lacks the readinessProbe of its copy",
    )


_CopyKey = tuple[str | None, str, str | None]  # workload name, container name, image


def _probed_index(graph: Deployment) -> dict[_CopyKey, list[ContainerNode]]:
    """Containers with a readinessProbe by (workload name, container name, image): a
    StatefulSet here and a Deployment there are the same container."""
    out: dict[_CopyKey, list[ContainerNode]] = {}
    for node in graph.containers:
        run = node.run
        if run.container.probe("readinessProbe") is not None:
            key = (run.workload.name, run.container.name, run.container.image)
            out.setdefault(key, []).append(node)
    return out


def _probed_copy(
    probed: dict[_CopyKey, list[ContainerNode]], serving: ContainerNode
) -> ContainerNode | None:
    """The same workload and container (name and image), in another manifest, with a
    readinessProbe."""
    run = serving.run
    key = (run.workload.name, run.container.name, run.container.image)
    return next((o for o in probed.get(key, ()) if o.run.manifest != run.manifest), None)


def _covered_by_sibling(graph: Deployment, serving: ContainerNode) -> bool:
    """A container that is not this repository's app, beside one with a readiness probe."""
    if serving.server_command is not None:
        return False
    workload = serving.run.workload
    return any(
        other.run.workload is workload
        and other is not serving
        and other.run.container.probe("readinessProbe") is not None
        for other in graph.containers
    )


RULE = Rule(
    code="PRB001",
    name="readiness-probe-missing",
    severity=Severity.ERROR,
    summary="A container that serves HTTP has no readinessProbe.",
    check=check,
    other_severities=(Severity.INFO,),  # a stock image whose copy elsewhere has a probe
)
