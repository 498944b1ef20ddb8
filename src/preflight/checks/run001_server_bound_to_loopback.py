"""RUN001 server-bound-to-loopback: the server in a container listens only on 127.0.0.1.

uvicorn, hypercorn, granian, daphne, ``flask run``, ``manage.py runserver``, ``fastapi dev``,
``app.run()`` and ``uvicorn.run()`` listen on 127.0.0.1 unless told otherwise, and gunicorn does
too when PORT is not set. In a container, loopback is the container's own: the Service, the
port mapping and the kubelet's probes all connect to the pod's address and are refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from preflight.checks._probes import SERVING_KINDS
from preflight.checks.rule import Rule
from preflight.digits import ascii_int
from preflight.findings import Applicability, Autofix, Edit, Finding, RuleContext, Severity
from preflight.model.graph import Deployment
from preflight.model.serving import Served, dev_path
from preflight.spans import Related, Span

CODE = "RUN001"


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    reported: dict[tuple[str, int, int], Finding] = {}
    for unit in graph.served:
        if not _judged(unit, graph, ctx):
            continue
        listen = unit.listen
        span = _anchor(unit)
        if listen.loopback is None:
            ctx.silent(span, f"{unit.label}: {listen.unknown}")
            continue
        if not listen.loopback:
            continue
        key = (span.path, span.line, span.col)
        if key in reported:
            continue  # the same command, run by another deploy: one finding
        reported[key] = _finding(ctx, unit, span, graph)
    yield from reported.values()


def _judged(unit: Served, graph: Deployment, ctx: RuleContext) -> bool:
    """Whether something outside the container is meant to reach this server."""
    if unit.proxy is not None:
        ctx.silent(
            unit.span,
            f"{unit.label}: its command also starts `{unit.proxy}`, which may forward to "
            "a server on loopback",
        )
        return False
    if unit.alternatives > 1:
        ctx.silent(unit.span, f"{unit.label}: its script starts one of several servers")
        return False
    if unit.kind == "image":
        if dev_path(unit.dockerfile or "") == "devcontainer":
            ctx.silent(unit.span, f"{unit.dockerfile}: a dev container's ports are forwarded")
            return False
        if unit.overridden_by and not unit.deployed_by:
            kind, label = unit.overridden_by[0]
            ctx.silent(
                unit.span,
                f"{label} runs the image with "
                + ("a command preflight does not read" if kind == "helm" else "its own command"),
            )
        # judged where it is deployed, with that environment; not at all when what runs it
        # here gives it a command of its own
        return not unit.deployed_by and not unit.overridden_by
    if unit.kind == "procfile":
        return unit.label == "Procfile process `web`"  # only `web` receives traffic
    if unit.kind == "compose":
        assert unit.compose is not None
        mode = unit.compose[1].network_mode or ""
        if mode == "host" or mode.startswith(("service:", "container:")):
            ctx.silent(
                unit.span,
                f"{unit.label}: `network_mode: {mode}` shares another network namespace, where "
                "loopback is reachable",
            )
            return False
        return True
    node = unit.node
    assert node is not None
    workload = node.run.workload
    sidecar = _sidecar(unit, graph)
    if sidecar is not None:
        ctx.silent(
            unit.span,
            f"{unit.label}: container `{sidecar[0]}` of the same pod listens on port "
            f"{sidecar[1]}, which the {sidecar[2]} targets (a proxy in front of loopback)",
        )
        return False
    exposed = (
        node.run.container.ports
        or node.run.container.probes
        or graph.services_selecting(node)
        or workload.kind in SERVING_KINDS
    )
    if exposed:
        return True
    ctx.silent(unit.span, f"{unit.label}: nothing is meant to reach it")
    return False


def _sidecar(unit: Served, graph: Deployment) -> tuple[str, int, str] | None:
    """Another container of the pod that listens on a port the Service or a probe of this
    container targets: (its name, the port, what targets it)."""
    node = unit.node
    assert node is not None
    container = node.run.container
    others = [
        c
        for c in node.run.workload.containers
        if (c.name, c.is_init) != (container.name, container.is_init)
    ]
    if not others:
        return None
    named = {p.name: p.port for c in node.run.workload.containers for p in c.ports if p.name}
    targets: list[tuple[int, str]] = []
    for probe in container.probes:
        port = _number(probe.port, named)
        if port is not None:
            targets.append((port, probe.kind))
    for service in graph.services_selecting(node):
        for service_port in service.ports:
            target = service_port.target_port or service_port.port
            port = _number(target, named)
            if port is not None:
                targets.append((port, f"Service `{service.obj.name}`"))
    for other in others:
        listening = {p.port for p in other.ports if p.port is not None}
        for port, what in targets:
            if port in listening:
                return other.name, port, what
        if listening and not targets:
            return other.name, min(listening), "pod's traffic"
    return None


def _number(port: int | str | None, named: dict[str, int | None]) -> int | None:
    if isinstance(port, int):
        return port
    if port is None:
        return None
    return ascii_int(port) if ascii_int(port) is not None else named.get(port)


def _anchor(unit: Served) -> Span:
    """Where to fix it: the config line or the `app.run` call that names (or omits) the
    address, else the address in the command, else the server's name in the command."""
    listen = unit.listen
    if listen.at is not None:
        return listen.at
    if listen.word:
        return unit.word_span(listen.word)
    program = _program_word(unit)
    return unit.word_span(program) if program else unit.span


def _program_word(unit: Served) -> str:
    server = unit.command.server
    if server.endswith("runserver"):
        return "runserver"
    if server == "python":
        return ""
    return server


def _finding(ctx: RuleContext, unit: Served, span: Span, graph: Deployment) -> Finding:
    listen = unit.listen
    server = unit.command.server
    shown = "The server" if server == "python" else f"`{server}`"
    reached = _reached_by(unit, graph)
    where = unit.label if unit.kind != "image" else f"the CMD of {unit.label}"
    message = (
        f"{shown} in {where} listens only on {listen.address} ({listen.how}), the container's "
        f"own loopback: {reached[0]} cannot connect to it (connection refused)."
    )
    related: list[Related] = list(reached[1])
    if span != unit.span and listen.at is not None:
        related.insert(0, Related(unit.span, f"the command that starts it ({unit.label})"))
    for other in unit.deployed_by[1:] if unit.kind == "image" else ():
        related.append(Related(other.span, f"also run by {other.label}"))
    return ctx.report(
        message,
        span,
        tuple(related),
        _fix(unit),
        headline=f"{shown} listens only on {listen.address}, the container's own loopback",
        autofix=_autofix(unit, span),
    )


_LOOPBACK = re.compile(r"127\.0\.0\.1|localhost|\[::1\]")
# The flag that makes each server listen on every interface, where none is given (the port
# the server listens on by default kept).
_ALL_INTERFACES = {
    "uvicorn": ("--host", "0.0.0.0"),
    "granian": ("--host", "0.0.0.0"),
    "gunicorn": ("--bind", "0.0.0.0:8000"),
    "hypercorn": ("--bind", "0.0.0.0:8000"),
}


# The last word of an exec-form command that closes on its line, and the space before `]`.
_EXEC_END = re.compile(r'("(?:[^"\\]|\\.)*")(\s*)\]\s*$')


def _autofix(unit: Served, span: Span) -> Autofix | None:
    """Listen on every interface, in the command as written: the loopback address a word
    names becomes 0.0.0.0 (anywhere); a missing host flag is added to a Dockerfile
    CMD/ENTRYPOINT or a Procfile line (exec form: after the last word, `"--port", "8000",
    "--host", "0.0.0.0"]`; shell form: after the server's name, `uvicorn --host 0.0.0.0`),
    where the form is certain. An address in
    a config file or in `app.run(...)` is left to a person. Safe: a container has no other
    interface to keep the server from."""
    listen = unit.listen
    run = unit.command.run
    if listen.at is not None and run is not None and listen.at == run.span:
        # `uvicorn.run(app, host="127.0.0.1")`: libcst; unsafe, the same code may serve a
        # developer's machine, where loopback was the point
        where = json.dumps({"line": run.span.line, "col": run.span.col})
        edit = Edit.python_codemod(run.span.path, "server-host", where)
        message = 'Listen on every interface: `host="0.0.0.0"`'
        return Autofix(Applicability.UNSAFE, message, (edit,))
    if listen.at is not None:
        return None
    if listen.word:
        loopback = _LOOPBACK.search(listen.word)
        if loopback is None:
            return None
        new = listen.word[: loopback.start()] + "0.0.0.0" + listen.word[loopback.end() :]
        edit = Edit.replace_text(span.path, span.line, span.col, listen.word, new)
        return Autofix(Applicability.SAFE, f"Listen on every interface: `{new}`", (edit,))
    program = _program_word(unit)
    flag = _ALL_INTERFACES.get(program)
    written_in_a_string = unit.kind in ("image", "procfile") or unit.image_command
    if flag is None or not written_in_a_string or span.line != unit.span.line:
        return None  # a YAML list item cannot take two words: left to a person
    line = unit.source.split("\n", 1)[0]
    quoted = f'"{program}"'
    end = _EXEC_END.search(line)
    if line[max(0, span.col - 2) :].startswith(quoted) and end is not None:
        # after the last word, where a person adds an option (`"main:app", "--port", "80"]`)
        last, gap = end.group(1), end.group(2)
        find, content = f"{last}{gap}]", f'{last}, "{flag[0]}", "{flag[1]}"{gap}]'
    elif line[max(0, span.col - 2) :].startswith(quoted):
        find, content = quoted, f'{quoted}, "{flag[0]}", "{flag[1]}"'
    elif '"' in line or "'" in line:
        return None  # quoting the fix cannot be sure of
    else:
        find, content = program, f"{program} {flag[0]} {flag[1]}"
    edit = Edit.replace_text(span.path, span.line, max(1, span.col - 1), find, content)
    return Autofix(Applicability.SAFE, f"Add `{flag[0]} {flag[1]}` to the command", (edit,))


def _reached_by(unit: Served, graph: Deployment) -> tuple[str, tuple[Related, ...]]:
    """What tries to connect to the server, for the message (and where it is written)."""
    if unit.kind == "kubernetes":
        node = unit.node
        assert node is not None
        related: list[Related] = []
        what: list[str] = []
        # the Service of its own file or overlay, not a same-labelled copy's (dev/prod)
        for service in (s for s in graph.services_selecting(node) if graph.fronts(s, node)):
            what.append(f"Service `{service.obj.name}`")
            related.append(Related(service.span, f"Service `{service.obj.name}` sends traffic"))
            break
        probes = [p for p in node.run.container.probes if p.handler in ("httpGet", "tcpSocket")]
        if probes:
            what.append(f"the {probes[0].kind}")
            related.append(Related(probes[0].port_span or probes[0].span, "probes the pod"))
        related.append(Related(node.run.container.span, "the container"))
        if not what:
            what = ["a Service, a probe or a port-forward"]
        return " or ".join(what), tuple(related)
    if unit.kind == "compose":
        assert unit.compose is not None
        compose = unit.compose[1]
        where = (Related(compose.span, f"compose service `{compose.name}`"),)
        if compose.ports:
            return f"the published port `{compose.ports[0]}` and the other services", where
        return "the other services", where
    if unit.kind == "procfile":
        return "the platform's router", ()
    return "a port mapping (`docker run -p`), a Service or a probe", ()


def _fix(unit: Served) -> str:
    server = unit.command.server
    if unit.listen.at is not None and unit.command.run is not None:
        port = unit.command.port or 8000
        return f'Pass `host="0.0.0.0"` (port {port}) so the server listens on every interface.'
    if server == "gunicorn" or unit.listen.how.startswith("`bind`"):
        port = unit.command.port or 8000
        return f"Bind all interfaces: `--bind 0.0.0.0:{port}` (or `bind` in the config file)."
    if server.endswith("runserver"):
        port = unit.command.port or 8000
        return f"Give runserver the address: `runserver 0.0.0.0:{port}`."
    port = unit.command.port or 8000
    if server == "hypercorn":
        return f"Listen on every interface: `--bind 0.0.0.0:{port}`."
    if server == "uwsgi":
        return f"Listen on every interface: `--http 0.0.0.0:{port}` (or `--http :{port}`)."
    if server == "waitress-serve":
        return f"Listen on every interface: `--listen 0.0.0.0:{port}`."
    if server == "daphne":
        return "Add `-b 0.0.0.0` to the command."
    return "Add `--host 0.0.0.0` to the command."


RULE = Rule(
    code=CODE,
    name="server-bound-to-loopback",
    severity=Severity.ERROR,
    summary="The server in a container listens only on 127.0.0.1, so nothing outside reaches it.",
    check=check,
)
