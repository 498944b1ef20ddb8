"""IMG004 run-as-non-root-unverifiable: ``runAsNonRoot: true`` on an image the kubelet refuses.

With ``runAsNonRoot: true`` and no ``runAsUser``, the kubelet checks the user in the image's
config before it starts the container: a name (``USER app``) cannot be verified, and no USER
(or ``USER 0``) is root — either way the container never starts (``CreateContainerConfigError``).
"""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.graph import ContainerNode, Deployment
from preflight.model.security import ContainerSecurity, Effective, ImageUser
from preflight.spans import Related

CODE = "IMG004"


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    reported: set[tuple[str, int, int, str]] = set()
    for node in graph.containers:
        security = node.security
        if security is None:
            continue
        non_root = security.run_as_non_root
        if non_root is None or non_root.value is not True:
            continue
        if security.run_as_user is not None:
            continue  # the kubelet checks runAsUser instead of the image's user
        if security.unmerged_patches is not None:
            ctx.silent(non_root.span, f"{node.label}: {security.unmerged_patches}")
            continue
        image = security.image_user
        if image.user is None:
            ctx.silent(non_root.span, f"{node.label}: {image.why}")
            continue
        uid = image.uid
        if uid is not None and uid != 0:
            continue  # a numeric non-root user: verified
        key = (non_root.span.path, non_root.span.line, non_root.span.col, image.user)
        if key in reported:
            continue  # a pod-level field shared by containers of one image: one finding
        reported.add(key)
        yield _finding(ctx, node, security, non_root, image)


def _finding(
    ctx: RuleContext,
    node: ContainerNode,
    security: ContainerSecurity,
    non_root: Effective,
    image: ImageUser,
) -> Finding:
    dockerfile = node.run.dockerfile
    assert dockerfile is not None
    where = "the pod's" if non_root.level == "pod" else "its own"
    if image.uid == 0:
        runs = (
            f"root (`USER {image.user}`)"
            if image.user
            else f"root ({dockerfile.path} sets no USER, and {image.how})"
        )
        kubelet = "container has runAsNonRoot and image will run as root"
        headline = "runAsNonRoot is set but the image runs as root"
        note = f"`USER {image.user}`: root" if image.user else f"no USER here: {image.how}"
    else:
        runs = f"`{image.name}` ({image.how}), a name, not a uid"
        kubelet = (
            f"container has runAsNonRoot and image has non-numeric user ({image.name}), "
            "cannot verify user is non-root"
        )
        headline = "runAsNonRoot is set but the image's USER is a name"
        note = f"{image.how}: a name the kubelet cannot check"
    message = (
        f"{node.label} has `runAsNonRoot: true` ({where} securityContext) and no `runAsUser`, "
        f"and the image built from {dockerfile.path} runs as {runs}: the kubelet refuses to "
        f"start it — `{kubelet}` (CreateContainerConfigError)."
    )
    related: list[Related] = []
    if image.span is not None:
        related.append(Related(image.span, note))
    related.append(Related(node.run.container.span, "the container"))
    return ctx.report(
        message,
        non_root.span,
        tuple(related),
        _fix(image),
        headline=headline,
    )


def _fix(image: ImageUser) -> str:
    if image.uid == 0:
        return (
            "Create a user with a fixed uid and switch to it by number in the Dockerfile "
            "(`RUN useradd --uid 10001 app` then `USER 10001`), or set `runAsUser: 10001`."
        )
    return (
        f"Name `{image.name}` by its uid in the Dockerfile (`USER 10001`, with a fixed "
        f"`useradd --uid 10001 {image.name}`), or set `runAsUser` to that uid next to "
        "`runAsNonRoot`."
    )


RULE = Rule(
    code=CODE,
    name="run-as-non-root-unverifiable",
    severity=Severity.ERROR,
    summary=(
        "runAsNonRoot without runAsUser, on an image whose USER is a name or root: the kubelet "
        "refuses to start it."
    ),
    check=check,
)
