"""DB010 sqlite-in-replicated-deployment: a workload whose app opens an SQLite file runs
several pods (each writes its own database), or keeps the file where a restart loses it.

An SQLite database is a file in the pod's filesystem. With `replicas: 3` (or an autoscaler)
every pod has its own file: a row one pod writes is missing from the others, and which one a
request reaches decides what it sees. Without a persistent volume over the file's directory,
every restart or reschedule starts from an empty database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.spans import Related

if TYPE_CHECKING:
    from preflight.model.graph import Deployment
    from preflight.model.sqlite import SqliteFile

CODE = "DB010"


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    for found in graph.sqlite_files:
        workload = found.node.run.workload
        label = f"{workload.kind} `{workload.name}`"
        if found.replicas is not None or found.autoscaler is not None:
            yield _replicated(ctx, found, label)
        elif found.path is None:
            ctx.silent(
                found.url_span,
                f"{label} opens the SQLite file `{found.file}` relative to a working directory "
                "preflight does not know",
            )
        elif found.persistent is not None:
            ctx.silent(found.url_span, f"{label}: `{found.path}` is on {found.persistent}")
        else:
            yield _ephemeral(ctx, found, label)


def _related(found: SqliteFile) -> list[Related]:
    return [
        Related(found.url_span, f"the SQLite URL ({found.where})"),
        Related(found.engine_span, "the engine that opens it"),
    ]


def _replicated(ctx: RuleContext, found: SqliteFile, label: str) -> Finding:
    if found.replicas is not None and found.replicas_span is not None:
        how = f"runs {found.replicas} replicas (`replicas: {found.replicas}`)"
        span = found.replicas_span
        related = _related(found)
        if found.autoscaler is not None:
            related.append(Related(found.autoscaler[1], f"{found.autoscaler[0]} scales it too"))
    else:
        assert found.autoscaler is not None
        how = f"is scaled out by {found.autoscaler[0]}"
        span = found.autoscaler[1]
        related = _related(found)
    message = (
        f"{label} {how}, and its app keeps its data in the SQLite file `{found.file}`: each "
        f"pod opens its own copy, so a row one pod writes is missing from the others and what "
        f"a request sees depends on the pod that serves it."
    )
    return ctx.report(
        message,
        span,
        tuple(related),
        "Use a database server (PostgreSQL, MySQL) for more than one pod, or run a single "
        "replica with the file on a PersistentVolumeClaim.",
        headline=f"{label} runs several pods, each with its own SQLite file",
    )


def _ephemeral(ctx: RuleContext, found: SqliteFile, label: str) -> Finding:
    message = (
        f"{label}'s app keeps its data in the SQLite file `{found.path}`, and no persistent "
        f"volume is mounted over `{found.path.rsplit('/', 1)[0] or '/'}`: the file lives in "
        "the container's writable layer, and every restart, rollout or reschedule starts from "
        "an empty database."
        if found.path is not None
        else ""
    )
    return ctx.report(
        message,
        found.url_span,
        (
            Related(found.engine_span, "the engine that opens it"),
            Related(found.node.run.container.span, f"the container of {label}"),
        ),
        "Mount a PersistentVolumeClaim over the file's directory (or use a database server).",
        severity=Severity.WARNING,
        headline="The SQLite file is lost on every restart (no persistent volume)",
    )


RULE = Rule(
    code=CODE,
    name="sqlite-in-replicated-deployment",
    severity=Severity.ERROR,
    other_severities=(Severity.WARNING,),
    summary="A workload with several replicas, or no persistent volume, keeps its data in SQLite.",
    check=check,
)
