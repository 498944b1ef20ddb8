"""IMG001 healthcheck-tool-missing: a health check calls curl/wget/nc, which the image lacks.

A Dockerfile ``HEALTHCHECK``, a compose ``healthcheck.test`` or a Kubernetes ``exec`` probe runs
inside the container. ``python:*-slim`` and distroless images have neither curl nor wget, Alpine
has busybox ``wget`` but no ``curl``, and a tool installed in a builder stage is not in the final
one: the check fails with "not found" on every run, so the container stays ``unhealthy`` (and
``depends_on: condition: service_healthy`` dependents never start), or the pod restarts.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from preflight.checks.rule import Rule
from preflight.findings import Applicability, Autofix, Edit, Finding, RuleContext, Severity
from preflight.knowledge.baseimages import (
    HEALTH_TOOLS,
    ImageTools,
    image_python,
    image_tools,
    packages_providing,
)
from preflight.model.facts import invocations
from preflight.model.graph import Deployment
from preflight.model.imagecontents import StageContents
from preflight.spans import Related, Span

CODE = "IMG001"


@dataclass(frozen=True, slots=True)
class _Image:
    """What a health check runs in: a stage built here, or an image pulled as it is."""

    label: str  # "the final stage of Dockerfile", "image `python:3.12-slim`"
    stage: StageContents | None
    tools: ImageTools | None  # for an image pulled as it is
    at: Span | None  # the FROM line (or where the image is named)
    ref: str

    def has(self, tool: str) -> bool | None:
        if self.stage is not None:
            return self.stage.has_tool(tool)
        if self.tools is None:
            return None
        if tool in self.tools.present:
            return True
        return False if tool in self.tools.absent else None

    @property
    def family(self) -> ImageTools | None:
        return self.stage.base_tools if self.stage is not None else self.tools


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    yield from _dockerfiles(graph, ctx)
    yield from _compose(graph, ctx)
    yield from _kubernetes(graph, ctx)


def _dockerfiles(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    for path, dockerfile in sorted(graph.files.dockerfiles.items()):
        final = dockerfile.final
        healthcheck = dockerfile.effective_healthcheck()
        if final is None or healthcheck is None:
            continue
        stage = graph.stages[path][final.index]
        image = _Image("the final stage", stage, None, stage.from_span, stage.base)
        found = _judge(healthcheck.argv, image, healthcheck.span, "HEALTHCHECK", ctx)
        if found is not None:
            yield _report(
                ctx,
                found,
                image,
                healthcheck.span,
                "`HEALTHCHECK`",
                "docker",
                "",
                graph.stages[path],
            )


def _compose(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    for compose in graph.files.compose_files.values():
        for service in compose.services:
            test = service.healthcheck_test
            span = service.healthcheck_span
            if not test or span is None or test[0].upper() == "NONE":
                continue
            if test[0].upper() == "CMD":
                argv: tuple[str, ...] = tuple(test[1:])
            elif test[0].upper() == "CMD-SHELL" and len(test) >= 2:
                argv = ("/bin/sh", "-c", " ".join(test[1:]))
            else:
                continue
            if not _names_a_tool(argv):
                continue
            dockerfile = service.dockerfile
            built = graph.files.compose_images.get((compose.path, service.name))
            if dockerfile is None and built is not None:
                if not built[1].strong:
                    ctx.silent(span, f"compose service `{service.name}`: its image is tied to a "
                               f"Dockerfile by a guess ({built[1].how})")  # fmt: skip
                    continue
                dockerfile = built[0]
            image = _compose_image(graph, dockerfile, service.build_target, service.image)
            if image is None:
                ctx.silent(span, f"compose service `{service.name}`: its image is not known")
                continue
            started = [
                word
                for part in (service.entrypoint, service.command)
                if part is not None
                for word in (part.argv or (part.shell_text or "",))
            ]
            if image.stage is None and _installs_at_start(started):
                ctx.silent(span, f"compose service `{service.name}` installs packages as it starts")
                continue
            if image.stage is None and service.image_span is not None:
                image = _Image(image.label, None, image.tools, service.image_span, image.ref)
            label = f"compose service `{service.name}`'s healthcheck"
            found = _judge(argv, image, span, label, ctx)
            if found is not None:
                stages = graph.stages.get(dockerfile or "", ())
                yield _report(ctx, found, image, span, label, "compose", "", stages)


def _compose_image(
    graph: Deployment, dockerfile: str | None, target: str | None, ref: str | None
) -> _Image | None:
    if dockerfile is not None:
        parsed = graph.files.dockerfiles.get(dockerfile)
        stages = graph.stages.get(dockerfile)
        if parsed is None or stages is None:
            return None
        stage = parsed.stage_named(target) if target else parsed.final
        if stage is None:
            return None
        contents = stages[stage.index]
        label = f"stage `{stage.name}`" if target else "the final stage"
        return _Image(label, contents, None, contents.from_span, contents.base)
    return _pulled(ref)


def _pulled(ref: str | None) -> _Image | None:
    tools = image_tools(ref)
    if ref is None or tools is None:
        return None
    return _Image(f"image `{ref}`", None, tools, None, ref)


def _kubernetes(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    seen: set[tuple[str, int, int]] = set()
    for node in graph.containers:
        container = node.run.container
        for probe in container.probes:
            if probe.handler != "exec" or not _names_a_tool(probe.command):
                continue
            span = probe.handler_span or probe.span
            key = (span.path, span.line, span.col)
            if key in seen:
                continue
            seen.add(key)
            image: _Image | None
            dockerfile = node.run.dockerfile
            if dockerfile is not None:
                evidence = node.image_evidence
                if evidence is None or not evidence.strong or dockerfile.final is None:
                    why = evidence.how if evidence is not None else "no link"
                    ctx.silent(span, f"{node.label}: its image is tied to a Dockerfile by a guess "
                               f"({why})")  # fmt: skip
                    continue
                contents = graph.stages[dockerfile.path][dockerfile.final.index]
                image = _Image("the final stage", contents, None, contents.from_span, contents.base)
            else:
                image = _pulled(container.image)
                started = [
                    *(container.command.values if container.command else ()),
                    *(container.args.values if container.args else ()),
                ]
                if image is not None and _installs_at_start(started):
                    ctx.silent(span, f"{node.label} installs packages as it starts")
                    continue
                if image is not None:
                    image = _Image(image.label, None, image.tools, container.image_span, image.ref)
            if image is None:
                ctx.silent(span, f"{node.label}: what its image holds is not known")
                continue
            label = f"the {probe.kind} of {node.label}"
            found = _judge(probe.command, image, span, label, ctx)
            if found is not None:
                stages = graph.stages.get(dockerfile.path, ()) if dockerfile is not None else ()
                yield _report(ctx, found, image, span, label, "kubernetes", probe.kind, stages)


_INSTALLING = re.compile(
    r"\b(?:apt-get|apt|apk|yum|dnf|microdnf|zypper|conda|micromamba)\b|curl|wget|\bnc\b"
)


def _names_a_tool(argv: Sequence[str]) -> bool:
    """Whether a check's words name curl/wget/nc at all (before anything is resolved)."""
    return any(posixpath.basename(word) in HEALTH_TOOLS for text in argv for word in text.split())


def _installs_at_start(words: Sequence[str]) -> bool:
    """A pulled image's command that installs packages (or names a tool) before it serves:
    what the image holds when the check runs is then not the image's own."""
    return any(_INSTALLING.search(word) for word in words)


@dataclass(frozen=True, slots=True)
class _Missing:
    tool: str
    args: tuple[str, ...]
    shell_form: bool


_ALTERNATIVE = re.compile(r"\|\|\s*([^|&;]*)")
_FAILS = re.compile(r"^(?:exit(?:\s+[1-9]\d*)?|false)\s*$")


def _judge(
    argv: Sequence[str], image: _Image, span: Span, label: str, ctx: RuleContext
) -> _Missing | None:
    """The tool the check runs that the image certainly lacks, when the check then fails."""
    found = invocations(tuple(argv))
    if found is None:
        ctx.silent(span, f"{label}: its command could not be followed")
        return None
    tools = [i for i in found if posixpath.basename(i.executable) in HEALTH_TOOLS]
    if not tools:
        return None
    others = [i for i in found if posixpath.basename(i.executable) not in HEALTH_TOOLS]
    if others:
        ctx.silent(span, f"{label}: it also runs `{others[0].executable}`")
        return None
    text = " ".join(argv)
    for alternative in _ALTERNATIVE.findall(text):
        if not _FAILS.match(alternative.strip()):
            ctx.silent(span, f"{label}: `|| {alternative.strip()}` may make it pass")
            return None
    missing: _Missing | None = None
    for invocation in tools:
        tool = posixpath.basename(invocation.executable)
        has = image.has(tool)
        if has is None:
            ctx.silent(span, f"{label}: whether {image.label} (`{image.ref}`) has `{tool}` is "
                       "not known")  # fmt: skip
            return None
        if has:
            return None
        if missing is None:
            missing = _Missing(tool, invocation.args, invocation.shell)
    return missing


_URL = re.compile(r"https?://[^\s'\"]+")


def _python_code(missing: _Missing) -> str:
    """Python code that checks what the failing command checked (the URL or host and port)."""
    url = next((m.group(0) for a in missing.args for m in [_URL.search(a)] if m), None)
    if url is None and missing.tool in ("nc", "netcat", "ncat"):
        words = [a for a in missing.args if not a.startswith("-")]
        host, port = (words[0], words[1]) if len(words) >= 2 else ("localhost", "8000")
        return f"import socket; socket.create_connection(('{host}', {port}), 3)"
    target = url or "http://localhost:8000/health"
    return f"import urllib.request; urllib.request.urlopen('{target}', timeout=3)"


def _failure(tool: str, kind: str, probe_kind: str, shell_form: bool) -> str:
    if kind != "kubernetes":
        error = (
            f"`{tool}: not found`"
            if shell_form
            else f'`exec: "{tool}": executable file not found in $PATH`'
        )
        return (
            f"the check fails with {error} on every run, the container stays "
            "`unhealthy` for ever, and services that `depends_on` it with `condition: "
            "service_healthy` never start"
        )
    then = {
        "livenessProbe": "so the container is restarted again and again (CrashLoopBackOff)",
        "readinessProbe": "so the pod never becomes ready and receives no traffic",
    }.get(probe_kind, "so the container never finishes starting and is restarted")
    return f'the kubelet reports `exec: "{tool}": executable file not found in $PATH`, {then}'


def _fix(missing: _Missing, image: _Image, kind: str) -> str:
    tool = missing.tool
    family = image.family
    has_python = (
        image.stage.python is not None if image.stage is not None else image_python(image.ref)
    ) is not None
    code = _python_code(missing)
    if kind == "kubernetes":
        text = "Probe over HTTP instead (`httpGet: {path: /health, port: 8000}`), which needs "
        text += "nothing in the image"
        if has_python:
            text += f', or run Python, which the image has: `command: [python, -c, "{code}"]`'
        return text + "."
    parts: list[str] = []
    if has_python:
        written = (
            f'`HEALTHCHECK CMD python -c "{code}"`'  # the shell expands `${PORT}`
            if kind == "docker" and "$" in code
            else f'`HEALTHCHECK CMD ["python", "-c", "{code}"]`'
            if kind == "docker"
            else f'`test: ["CMD", "python", "-c", "{code}"]`'
        )
        parts.append(f"Check with Python, which the image has: {written}")
    if family is not None and "Alpine" in family.family:
        if tool == "curl":
            parts.append("use busybox's `wget -q --spider <url>`")
        parts.append(f"install it in the final stage (`RUN apk add --no-cache {tool}`)")
    elif family is not None and "Debian" in family.family:
        package = "netcat-openbsd" if tool in ("nc", "netcat") else tool
        parts.append(
            "install it in the final stage (`RUN apt-get update && apt-get install -y "
            f"--no-install-recommends {package}`)"
        )
    if image.stage is None and len(parts) > 1:
        parts = parts[:-1]  # an image pulled as it is: nothing here installs into it
    if not parts:
        parts.append(f"Copy `{tool}` into the final stage or check without it")
    text = "; or ".join(parts)
    return text[0].upper() + text[1:] + "."


def _package(stage: StageContents, tool: str) -> str:
    return next(iter(sorted(packages_providing(tool) & stage.packages.keys())))


def _installed_elsewhere(
    stages: tuple[StageContents, ...], final: StageContents | None, tool: str
) -> StageContents | None:
    """Another stage of the same Dockerfile that installs the tool (a builder)."""
    if final is None:
        return None
    for stage in stages:
        if stage.index != final.index and packages_providing(tool) & stage.packages.keys():
            return stage
    return None


def _report(
    ctx: RuleContext,
    missing: _Missing,
    image: _Image,
    span: Span,
    what: str,
    kind: str,
    probe_kind: str = "",
    graph_stages: tuple[StageContents, ...] = (),
) -> Finding:
    tool = missing.tool
    family = image.family
    kind_of = f", {family.family}" if family is not None else ""
    if image.stage is not None:
        where = f"{image.label} (FROM `{image.ref}`{kind_of})"
    else:
        where = f"image `{image.ref}`" + (f" ({family.family})" if family is not None else "")
    builder = _installed_elsewhere(graph_stages, image.stage, tool)
    message = f"{what} runs `{tool}`, which {where} does not have: "
    message += _failure(tool, kind, probe_kind, missing.shell_form) + "."
    message = message[0].upper() + message[1:]
    if builder is not None:
        message += (
            f" `{tool}` is installed only in stage `{builder.name or builder.index}`, which "
            "the final image does not inherit."
        )
    related: list[Related] = []
    if image.at is not None:
        related.append(Related(image.at, f"the image it runs in: `{image.ref}`, without `{tool}`"))
    if builder is not None:
        related.append(Related(builder.packages[_package(builder, tool)], f"installs `{tool}` "
                               "in another stage"))  # fmt: skip
    if image.stage is not None and image.stage.base_span != image.stage.from_span:
        related.append(Related(image.stage.base_span, f"its base image `{image.stage.base}`"))
    return ctx.report(
        message,
        span,
        tuple(related),
        _fix(missing, image, kind),
        headline=f"health check runs `{tool}`, which the image does not have",
        autofix=_autofix(missing, image, kind, span),
    )


def _autofix(missing: _Missing, image: _Image, kind: str, span: Span) -> Autofix | None:
    """A Dockerfile HEALTHCHECK: its `CMD …` (through the instruction's last line, when it is
    continued) replaced by the same check in Python, which the image has; its options kept.
    Unsafe: Python fails on an HTTP error status where a `curl` without `-f` passed, and the
    timeout is Python's."""
    has_python = (
        image.stage.python is not None if image.stage is not None else image_python(image.ref)
    ) is not None
    if kind == "kubernetes" or not has_python:
        return None  # a probe: `httpGet` is the better fix, and a person's choice
    code = _python_code(missing)
    if "$" in code or '"' in code:
        return None  # a variable needs a shell, quoting needs a person
    if kind == "docker":  # `HEALTHCHECK [options] CMD …`, the command on one line or more
        find, content = "CMD", f'CMD ["python", "-c", "{code}"]'
        if span.end_line > span.line:  # continued (`\\`): the command's lines become one
            edit = Edit.replace_through(
                span.path, span.line, span.col, span.end_line, find, content
            )
        else:
            edit = Edit.replace_rest(span.path, span.line, span.col, find, content)
    else:  # compose `test: ["CMD", …]` written as a flow list on its line
        find, content = '["CMD', f'["CMD", "python", "-c", "{code}"]'
        edit = Edit.replace_rest(span.path, span.line, span.col, find, content)
    return Autofix(Applicability.UNSAFE, "Check with Python, which the image has", (edit,))


RULE = Rule(
    code=CODE,
    name="healthcheck-tool-missing",
    severity=Severity.ERROR,
    summary="A health check or exec probe runs curl/wget/nc, which the image does not have.",
    check=check,
)
