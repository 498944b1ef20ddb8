"""IMG005 read-only-root-without-tmp: ``readOnlyRootFilesystem: true`` and nowhere to write
the temporary files the container's program creates when it starts.

gunicorn creates a heartbeat file per worker (``tempfile.mkstemp(dir=worker_tmp_dir)``) and
celery's prefork pool a temporary file, both in Python's temporary directory unless told
otherwise. With a read-only root and no writable volume at any of Python's candidates
(``$TMPDIR``, ``/tmp``, ``/var/tmp``, ``/usr/tmp``, the working directory), ``tempfile`` raises
``FileNotFoundError: [Errno 2] No usable temporary directory found in [...]`` and the workers
never boot.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.graph import ContainerNode, Deployment
from preflight.model.security import ContainerSecurity, Effective, TempUse
from preflight.spans import Related

CODE = "IMG005"


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    for node in graph.containers:
        security = node.security
        if security is None:
            continue
        read_only = security.read_only_root
        if read_only is None or read_only.value is not True:
            continue
        if security.unmerged_patches is not None:
            ctx.silent(read_only.span, f"{node.label}: {security.unmerged_patches}")
            continue
        if security.why_uses_unknown is not None:
            ctx.silent(read_only.span, f"{node.label}: {security.why_uses_unknown}")
            continue
        for use in security.temp_uses:
            finding = _judge(ctx, node, security, read_only, use)
            if finding is not None:
                yield finding
                break


def _judge(
    ctx: RuleContext,
    node: ContainerNode,
    security: ContainerSecurity,
    read_only: Effective,
    use: TempUse,
) -> Finding | None:
    if use.directory is not None:
        directory, how = use.directory
        if "$" in directory or not directory.startswith("/"):
            ctx.silent(read_only.span, f"{node.label}: {how} is not an absolute literal path")
            return None
        if security.writable_at(directory) is not None:
            return None
        error = f"OSError: [Errno 30] Read-only file system: '{directory.rstrip('/')}/wgunicorn-…'"
        message = (
            f"{node.label} has `readOnlyRootFilesystem: true` and starts `{use.program}` with "
            f"{how}, a directory on the read-only root (no writable volume is mounted there): "
            f"it cannot create {use.what} and {_fails(use, error)}."
        )
        headline = f"`{use.program}` writes {directory} on a read-only root filesystem"
        return _report(ctx, node, read_only, use, message, headline)
    candidates = security.temp_candidates
    if candidates is None:
        ctx.silent(read_only.span, f"{node.label}: {security.temp_unknown}")
        return None
    if any(security.writable_at(directory) is not None for directory, _ in candidates):
        return None
    dirlist = [posixpath.normpath(directory) for directory, _ in candidates]
    places = ", ".join(f"`{d}`" for d in dict.fromkeys(dirlist))
    found = f"No usable temporary directory found in {dirlist!r}"
    error = (
        f"FileNotFoundError: [Errno 2] {found}"
        if use.program == "gunicorn"
        else f"FileNotFoundError(2, {found!r})"  # celery logs the exception's repr
    )
    message = (
        f"{node.label} has `readOnlyRootFilesystem: true` and starts `{use.program}`, which "
        f"creates {use.what} in Python's temporary directory, and no writable volume is "
        f"mounted at any of {places}: {_fails(use, error)}."
    )
    headline = f"`{use.program}` needs a writable /tmp; the root filesystem is read-only"
    return _report(ctx, node, read_only, use, message, headline)


def _fails(use: TempUse, error: str) -> str:
    """How the program fails, as its log says it (seen with gunicorn 27.0, and celery 5.7 on
    billiard 4.3, under a read-only /tmp)."""
    if use.program == "gunicorn":
        return (
            "gunicorn's master exits as it spawns the first worker — "
            f"`[ERROR] Unhandled exception in main loop` … `{error}`"
        )
    return f"the worker exits as its pool starts — `Unrecoverable error: {error}`"


def _report(
    ctx: RuleContext,
    node: ContainerNode,
    read_only: Effective,
    use: TempUse,
    message: str,
    headline: str,
) -> Finding:
    related = (
        Related(use.span, f"starts `{use.program}`"),
        Related(node.run.container.span, "the container"),
    )
    gunicorn = (
        ", or pass `--worker-tmp-dir /dev/shm` to gunicorn" if use.program == "gunicorn" else ""
    )
    fix = (
        "Mount an `emptyDir` at /tmp (a `volumeMounts` entry `mountPath: /tmp` and a volume "
        f"`emptyDir: {{}}`){gunicorn}."
    )
    return ctx.report(message, read_only.span, related, fix, headline=headline)


RULE = Rule(
    code=CODE,
    name="read-only-root-without-tmp",
    severity=Severity.ERROR,
    summary=(
        "readOnlyRootFilesystem, and gunicorn or a celery worker has no writable temporary "
        "directory."
    ),
    check=check,
)
