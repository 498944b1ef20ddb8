"""SVC001 service-selects-no-pods: a Service's selector matches no pod template's labels.

A Service sends traffic to the pods whose labels include every pair of its selector. When no
workload of the repository carries them (a typo, a label renamed on one side only, a
Deployment in another namespace), its endpoints stay empty: every request through it is
refused, and an Ingress in front of it answers 503.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.wiring import share_namespace
from preflight.spans import Related
from preflight.suggest import closest

if TYPE_CHECKING:
    from preflight.model.graph import Deployment
    from preflight.model.wiring import PodTemplate, ServiceDef, Wiring

CODE = "SVC001"


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    wiring = graph.wiring
    for service in wiring.services:
        selector = service.service.selector
        span = service.service.selector_span or service.service.span
        label = f"Service `{service.name}`"
        if not selector:
            ctx.silent(span, f"{label} has no selector: its endpoints are managed by hand")
            continue
        if service.service.service_type == "ExternalName":
            ctx.silent(span, f"{label} is an ExternalName Service: it selects no pods")
            continue
        if any(_selects(selector, pod) for pod in _neighbours(wiring, service)):
            continue
        if service.selector_patched:
            ctx.silent(span, f"{label}: a kustomize patch rewrites its selector")
            continue
        if wiring.unrendered is not None:
            ctx.silent(span, f"{label} selects no pod read here, but {wiring.unrendered}")
            continue
        custom = next(
            (obj for obj, where in wiring.custom if share_namespace(where, service.namespaces)),
            None,
        )
        if custom is not None:
            ctx.silent(
                span,
                f"{label} selects no pod read here, but the {custom.kind} `{custom.name}` "
                f"({custom.api_version}) may run pods through its operator",
            )
            continue
        near = _nearest(wiring, service)
        if near is None:
            ctx.silent(
                span,
                f"{label} selects no pod read here, and no workload's labels come close to "
                "its selector: its pods may be deployed from elsewhere",
            )
            continue
        yield _finding(ctx, service, near)


def _selects(selector: dict[str, str], pod: PodTemplate) -> bool:
    return all(pod.labels.get(key) == value for key, value in selector.items())


def _neighbours(wiring: Wiring, service: ServiceDef) -> list[PodTemplate]:
    return [pod for pod in wiring.pods if share_namespace(pod.namespaces, service.namespaces)]


def _score(service: ServiceDef, pod: PodTemplate) -> int:
    """How close a pod template comes to the selector: pairs it carries, values of the same
    key that look like typos (any value, for a workload in the Service's own file), and its
    workload named like the Service or a selected value."""
    selector = service.service.selector
    score = 0
    beside = pod.path == service.path  # written in the same file: meant to go together
    for key, value in selector.items():
        have = pod.labels.get(key)
        if have == value:
            score += 2
        elif have is not None and (beside or closest(value, [have]) is not None):
            score += 1
    name = pod.workload.name or ""
    if name and (name == service.name or name in selector.values()):
        score += 1
    return score


def _nearest(wiring: Wiring, service: ServiceDef) -> PodTemplate | None:
    """The pod template most like what the Service selects (same namespace first), if any."""
    best: tuple[int, int, PodTemplate] | None = None
    for pod in wiring.pods:
        score = _score(service, pod)
        if score == 0:
            continue
        same = int(share_namespace(pod.namespaces, service.namespaces))
        if best is None or (same, score) > (best[0], best[1]):
            best = (same, score, pod)
    return best[2] if best is not None else None


def _pairs(labels: dict[str, str]) -> str:
    return ", ".join(f"`{key}: {value}`" for key, value in labels.items())


def _finding(ctx: RuleContext, service: ServiceDef, pod: PodTemplate) -> Finding:
    selector = service.service.selector
    workload = pod.workload
    who = f"{workload.kind} `{workload.name}`"
    missing = {k: v for k, v in selector.items() if pod.labels.get(k) != v}
    theirs = {k: pod.labels[k] for k in missing if k in pod.labels}
    elsewhere = not share_namespace(pod.namespaces, service.namespaces)
    if elsewhere:
        where = ", ".join(sorted(n for n in pod.namespaces if n))
        mine = ", ".join(sorted(n for n in service.namespaces if n))
        detail = (
            f"{who} carries those labels, but in namespace `{where}`, and a Service selects "
            f"pods of its own namespace (`{mine}`) only."
        )
    elif theirs:
        detail = f"Did you mean {_pairs(theirs)}, the labels of {who}'s pods?"
    elif workload.kind == "Pod":
        labelled = f"is labelled {_pairs(pod.labels)}" if pod.labels else "has no labels"
        detail = f"{who} {labelled}."
    elif pod.labels:
        detail = f"{who} labels its pods {_pairs(pod.labels)}, without {_pairs(missing)}."
    else:
        detail = f"{who} gives its pods no labels."
    message = (
        f"Service `{service.name}` selects pods labelled {_pairs(selector)}, and no pod template "
        f"of the repository carries them: its endpoints stay empty and every request to it "
        f"fails (connection refused; an Ingress in front answers 503). {detail}"
    )
    related = Related(
        workload.labels_span or workload.span,
        f"the pod labels of {who}" + (" (another namespace)" if elsewhere else ""),
    )
    fix = (
        f"Make the selector match the pod template's labels of {who}"
        + (f" ({_pairs(theirs)})" if theirs else "")
        + ", or add the selected labels to its pod template."
    )
    return ctx.report(
        message,
        service.service.selector_span or service.service.span,
        (related,),
        fix,
        headline=f"Service `{service.name}` selects no pods",
    )


RULE = Rule(
    code=CODE,
    name="service-selects-no-pods",
    severity=Severity.ERROR,
    summary="A Service's selector matches no pod template's labels, so its endpoints stay empty.",
    check=check,
)
