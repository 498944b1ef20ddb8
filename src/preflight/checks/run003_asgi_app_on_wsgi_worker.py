"""RUN003 asgi-app-on-wsgi-worker: gunicorn serves an ASGI app with a WSGI worker class.

gunicorn's default worker (`sync`), and `gthread`, `gevent` and `eventlet`, call the app as
WSGI, ``app(environ, start_response)``. A FastAPI, Starlette, Litestar or Quart app (or
Django's ``asgi:application``) is ``async def __call__(scope, receive, send)``: every request
fails with ``TypeError: __call__() missing 1 required positional argument: 'send'`` while the
port accepts connections, so a TCP probe stays green.

Also (warning) ``uvicorn.workers.UvicornWorker`` where the service pins uvicorn 0.30 or newer,
which deprecates that module for the uvicorn-worker package.
"""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks._fixes import declare
from preflight.checks.rule import Rule
from preflight.findings import Applicability, Autofix, Edit, Finding, RuleContext, Severity
from preflight.knowledge.servers import (
    UVICORN_WORKER_REPLACEMENT,
    UVICORN_WORKERS_DEPRECATED_SINCE,
    WORKER_CLASSES,
)
from preflight.model.graph import Deployment
from preflight.model.project import Project
from preflight.model.serving import Served
from preflight.spans import Related, Span

CODE = "RUN003"


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    reported: set[tuple[str, int, int, str]] = set()
    for unit in graph.served:
        worker = unit.worker
        if worker is None:
            continue  # not gunicorn
        span = _anchor(unit)
        if worker.name is None:
            ctx.silent(span, f"{unit.label}: its worker class is not known: {worker.unknown}")
            continue
        known = WORKER_CLASSES.get(worker.name)
        if known is None:
            ctx.silent(span, f"{unit.label}: preflight does not know the worker `{worker.name}`")
            continue
        if unit.alternatives > 1:
            ctx.silent(span, f"{unit.label}: its script starts one of several servers")
            continue
        if unit.kind == "image" and (unit.deployed_by or unit.overridden_by):
            continue  # judged where it is deployed, with that environment (or not run here)
        if known.interface == "wsgi":
            finding = _on_wsgi_worker(ctx, unit, span, graph.files)
        elif known.deprecated:
            finding = _deprecated(ctx, unit, span, graph.files)
        else:
            finding = None
        if finding is None:
            continue
        key = (span.path, span.line, span.col, finding.severity.value)
        if key not in reported:  # the same command, run by another deploy: one finding
            reported.add(key)
            yield finding


def _anchor(unit: Served) -> Span:
    """The `-k` token, else the config line that sets `worker_class`, else `gunicorn`."""
    worker = unit.worker
    assert worker is not None
    if worker.word:
        return unit.option_span(worker.word)
    if worker.at is not None:
        return worker.at
    return unit.word_span("gunicorn")


def _on_wsgi_worker(ctx: RuleContext, unit: Served, span: Span, files: Project) -> Finding | None:
    worker = unit.worker
    assert worker is not None
    app = unit.app
    if app is None:
        ctx.silent(span, f"{unit.label}: the app it serves is not resolved: {unit.app_why}")
        return None
    if app.interface != "asgi":
        if app.interface is None:
            ctx.silent(span, f"{unit.label}: what `{app.name}` in {app.module} speaks is not known")
        return None  # a WSGI app (Flask, Django's wsgi) on a WSGI worker: right
    kind = app.kind or "ASGI"
    target = unit.command.target or app.name
    message = (
        f"gunicorn in {_where(unit)} serves `{target}`, a {kind} app (ASGI), with the "
        f"`{worker.name}` worker ({worker.how}), which calls it as WSGI: every request fails "
        "with `TypeError: __call__() missing 1 required positional argument: 'send'` while "
        "the port still accepts connections."
    )
    related: list[Related] = [Related(app.span, f"the {kind} app (ASGI)")]
    if span != unit.span:
        related.append(Related(unit.span, f"the command that starts it ({unit.label})"))
    for other in unit.deployed_by[1:] if unit.kind == "image" else ():
        related.append(Related(other.span, f"also run by {other.label}"))
    fix = (
        "Serve it with an ASGI worker: `-k uvicorn_worker.UvicornWorker` (and depend on "
        "`uvicorn-worker`), or run `uvicorn` itself."
    )
    return ctx.report(
        message,
        span,
        tuple(related),
        fix,
        headline=f"ASGI app `{target}` on gunicorn's WSGI worker `{worker.name}`",
        autofix=_autofix(unit, span, files),
    )


def _deprecated(ctx: RuleContext, unit: Served, span: Span, files: Project) -> Finding | None:
    """`uvicorn.workers.UvicornWorker` with a uvicorn that deprecates it (0.30+)."""
    from packaging.version import InvalidVersion, Version

    worker = unit.worker
    assert worker is not None and worker.name is not None
    pinned = unit.versions.get("uvicorn")
    if pinned is None:
        ctx.silent(span, f"{unit.label}: the uvicorn version is not pinned (lock file or `==`)")
        return None
    version, where = pinned
    try:
        newer = Version(version) >= Version(UVICORN_WORKERS_DEPRECATED_SINCE)
    except InvalidVersion:
        return None
    if not newer:
        return None
    replacement = UVICORN_WORKER_REPLACEMENT[worker.name]
    message = (
        f"gunicorn in {_where(unit)} runs `{worker.name}` ({worker.how}), but the uvicorn "
        f"{version} pinned in {where} deprecates the `uvicorn.workers` module (since "
        f"{UVICORN_WORKERS_DEPRECATED_SINCE}) for the uvicorn-worker package, and a later "
        "uvicorn removes it."
    )
    related: list[Related] = []
    if span != unit.span:
        related.append(Related(unit.span, f"the command that starts it ({unit.label})"))
    return ctx.report(
        message,
        span,
        tuple(related),
        f"Use `-k {replacement}` and add `uvicorn-worker` to the dependencies.",
        severity=Severity.WARNING,
        headline=f"uvicorn {version} deprecates the worker `{worker.name}`",
        autofix=_autofix(unit, span, files),
    )


_ASGI_WORKER = "uvicorn_worker.UvicornWorker"


def _autofix(unit: Served, span: Span, files: Project) -> Autofix | None:
    """`uvicorn_worker.UvicornWorker` where the worker class is written (the `-k` value, the
    config's `worker_class`), or `-k` added after `gunicorn` in a Dockerfile CMD or Procfile
    line; and `uvicorn-worker` declared where the image installs from, when it does not yet
    install it. Unsafe: a worker class is a choice (threads, timeouts) a person reviews."""
    worker = unit.worker
    if worker is None or worker.name is None:
        return None
    edits: list[Edit] = []
    if worker.word:
        edits.append(Edit.replace_text(span.path, span.line, span.col, worker.name, _ASGI_WORKER))
    elif worker.at is not None:
        at = worker.at
        edits.append(
            Edit.replace_text(at.path, at.line, at.col, f'"{worker.name}"', f'"{_ASGI_WORKER}"')
        )
    else:
        written_in_a_string = unit.kind in ("image", "procfile") or unit.image_command
        if not written_in_a_string or span.line != unit.span.line:
            return None
        line = unit.source.split("\n", 1)[0]
        if line[max(0, span.col - 2) :].startswith('"gunicorn"'):
            find, content = '"gunicorn"', f'"gunicorn", "-k", "{_ASGI_WORKER}"'
        elif '"' in line or "'" in line:
            return None
        else:
            find, content = "gunicorn", f"gunicorn -k {_ASGI_WORKER}"
        edits.append(Edit.replace_text(span.path, span.line, max(1, span.col - 1), find, content))
    environment = unit.environment
    message = f"Serve it with `{_ASGI_WORKER}` (uvicorn-worker)"
    if environment is not None and "uvicorn-worker" not in environment.installed():
        declared = declare(environment, "uvicorn-worker", files)
        if declared is None:
            return None
        edits.extend(declared.edits)
        message += f"; {declared.message[:1].lower()}{declared.message[1:]}"
    return Autofix(Applicability.UNSAFE, message, tuple(edits))


def _where(unit: Served) -> str:
    return unit.label if unit.kind != "image" else f"the CMD of {unit.label}"


RULE = Rule(
    code=CODE,
    name="asgi-app-on-wsgi-worker",
    severity=Severity.ERROR,
    summary="gunicorn serves an ASGI app (FastAPI, Starlette, Django asgi) with a WSGI worker.",
    check=check,
    other_severities=(Severity.WARNING,),
)
