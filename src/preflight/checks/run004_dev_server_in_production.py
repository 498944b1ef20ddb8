"""RUN004 dev-server-in-production: an image or a workload starts its server in a dev mode.

``--reload``, ``fastapi dev``, ``flask run``, ``manage.py runserver``, ``app.run(debug=True)``:
modes built for a laptop, shipped in the command of an image or a Kubernetes workload. Compose
files that are not production ones are for development and are not judged.
"""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.graph import Deployment
from preflight.model.serving import DevMode, Served, dev_path, local_image
from preflight.spans import Related, Span

CODE = "RUN004"
# compose files named for production (`docker-compose.prod.yml`, `docker-stack.yml`)
_PRODUCTION_WORDS = ("prod", "production", "release", "deploy", "stack", "live")


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    reported: dict[tuple[str, int, int], Finding] = {}
    for unit in graph.served:
        dev = unit.dev
        if dev is None or not _judged(unit, graph, ctx):
            continue
        if unit.alternatives > 1:
            ctx.silent(unit.span, f"{unit.label}: its script starts one of several servers")
            continue
        span = _anchor(unit, dev)
        key = (span.path, span.line, span.col)
        if key not in reported:
            reported[key] = _finding(ctx, unit, dev, span)
    yield from reported.values()


def _judged(unit: Served, graph: Deployment, ctx: RuleContext) -> bool:
    """Whether this command is one production runs (not a development file's)."""
    if unit.kind == "compose":
        assert unit.compose is not None
        path = unit.compose[0].path
        words = path.lower().replace("-", ".").replace("_", ".").split(".")
        if dev_path(path) is None and any(word in _PRODUCTION_WORDS for word in words):
            return True
        ctx.silent(unit.span, f"{path} is a compose file for development")
        return False
    if unit.kind == "kubernetes":
        why = _local_workload(unit)
        if why is not None:
            ctx.silent(unit.span, f"{unit.label}: {why}")
            return False
        return True
    if unit.kind == "image":
        return _image_judged(unit, graph, ctx)
    return True  # a Procfile: what the platform runs


def _image_judged(unit: Served, graph: Deployment, ctx: RuleContext) -> bool:
    path = unit.dockerfile or ""
    word = dev_path(path)
    if word is not None:
        ctx.silent(unit.span, f"{path} is a `{word}` Dockerfile")
        return False
    runners = [u for u in unit.deployed_by if u.kind == "kubernetes"]
    local = [why for u in runners if (why := _local_workload(u)) is not None]
    if runners and len(local) == len(runners):
        ctx.silent(unit.span, f"the Kubernetes containers that run it are local: {local[0]}")
        return False
    deployers = [label for kind, label in unit.overridden_by if kind == "kubernetes"]
    if deployers and not runners:
        ctx.silent(
            unit.span,
            f"what deploys the image of {path} gives it a command of its own ({deployers[0]})",
        )
        return False
    builders = [
        compose.path
        for compose in graph.files.compose_files.values()
        for service in compose.services
        if service.dockerfile == path
    ]
    built_elsewhere = (
        runners or deployers or any(build.dockerfile == path for build in graph.files.image_builds)
    )
    if builders and not built_elsewhere and all(dev_path(b) is not None for b in builders):
        ctx.silent(unit.span, f"{path} is built only by compose files for development")
        return False
    return True


def _local_workload(unit: Served) -> str | None:
    """Why a Kubernetes container is a development deploy, if it is one: its manifest is a
    dev overlay's, or its image is a local build only a developer's cluster has."""
    assert unit.node is not None
    run = unit.node.run
    word = dev_path(run.manifest)
    if word is not None:
        return f"{run.manifest} is a `{word}` manifest"
    if local_image(run.container.image):
        return (
            f"its image `{run.container.image}` names no registry: a local build (minikube, kind, "
            "`skaffold dev`)"
        )
    return None


def _anchor(unit: Served, dev: DevMode) -> Span:
    if dev.at is not None:
        return dev.at
    if dev.word:
        return unit.word_span(dev.word)
    return unit.span


def _finding(ctx: RuleContext, unit: Served, dev: DevMode, span: Span) -> Finding:
    where = f"the CMD of {unit.label}" if unit.kind == "image" else unit.label
    if unit.image_command and unit.kind != "image":
        where = f"{unit.label} (its image's CMD)"
    what = _consequence(unit, dev)
    message = f"{where[0].upper()}{where[1:]} runs {dev.what}: {what}"
    if dev.workers_ignored:
        message += f"; and {dev.workers_ignored} is ignored while reloading: one process serves"
    related: list[Related] = []
    if span != unit.span:
        related.append(Related(unit.span, f"the command that starts it ({unit.label})"))
    for other in unit.deployed_by:
        if other.kind == "kubernetes":
            related.append(Related(other.node.run.container.span if other.node else other.span,
                                   f"{other.label} runs it"))  # fmt: skip
            break
    return ctx.report(
        message + ".",
        span,
        tuple(related),
        _fix(unit, dev),
        headline=f"A deployed command runs the server in development mode ({unit.command.server})",
    )


def _consequence(unit: Served, dev: DevMode) -> str:
    if dev.debugger:
        return (
            "its interactive debugger lets anyone who reaches the server run Python code in the "
            "container"
        )
    server = unit.command.server
    if server == "flask" or (server == "python" and unit.command.run is not None
                             and unit.command.run.server == "flask"):  # fmt: skip
        return (
            "Werkzeug's development server, which Flask documents as not for production (not "
            "efficient, stable or secure)"
        )
    if server.endswith("runserver"):
        return "Django documents it as not security-audited or performance-tested for production"
    if "fastapi dev" in dev.what:
        where = " and listens on 127.0.0.1 only" if unit.listen.loopback else ""
        return f"it watches the code and restarts on every change{where}"
    return (
        "a development aid that watches the code and restarts the server whenever a file "
        "changes, at a cost in CPU and memory on every replica"
    )


def _fix(unit: Served, dev: DevMode) -> str:
    server = unit.command.server
    if server == "fastapi":
        return "Use `fastapi run` (no reload, listens on 0.0.0.0) in the image."
    if server == "flask" or (server == "python" and dev.what.startswith("Flask")):
        return "Serve the app with a production WSGI server (`gunicorn app:app`, `waitress-serve`)."
    if server.endswith("runserver"):
        return "Serve the project with `gunicorn <project>.wsgi` (or an ASGI server)."
    if dev.at is not None and server == "python":
        return "Drop `reload=True` where the image runs it (keep it for local runs only)."
    if dev.at is not None:
        return "Remove `reload = True` from the production configuration."
    return "Remove `--reload` from the production command (keep it in a compose dev override)."


RULE = Rule(
    code=CODE,
    name="dev-server-in-production",
    severity=Severity.WARNING,
    summary="An image or a workload starts its server in a development mode (reload, debug).",
    check=check,
)
