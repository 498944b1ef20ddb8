"""How traffic reaches the pods: Services, the pod templates they select, and the Ingresses
and routes that send traffic to Services — as kustomize renders them, without running it.

A manifest file a kustomization includes (directly or through the bases and overlays it
lists) is read once per kustomization that renders it: that kustomization's ``namespace``
replaces the objects' own, its ``namePrefix``/``nameSuffix`` wrap their names (outermost
overlay outermost), and its ``commonLabels`` (and ``labels:`` with ``includeTemplates`` or
``includeSelectors``) join the pod templates' labels. Every rendering counts: a pod carries the
labels of every kustomization that renders it, a Service answers to every name an overlay gives
it, and an object lives in every namespace one puts it in — so a rule reads the union and
stays silent on what one overlay provides. A file no kustomization includes is applied as
written.

Strategic-merge patch files are not objects of their own: a patch's pod labels join the
workload it patches, a patch's Service ports join the Service's.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from preflight.model.project import Project
    from preflight.parse.kustomization import Kustomization
    from preflight.parse.manifests import Backend, K8sObject, KService, ServicePort, Workload

__all__ = ["PodTemplate", "ServiceDef", "Wiring", "share_namespace", "wiring"]

Namespaces = frozenset[str | None]  # None: no namespace set (wherever it is applied)

# API groups of objects that run no pods of their own, or run them only through the workloads
# preflight reads: a custom resource of any other group may make pods (an operator's database,
# a Prometheus, a Strimzi Kafka) whose labels are not in the repository
_PODLESS_GROUPS = frozenset(
    {"", "apps", "batch", "networking.k8s.io", "extensions", "policy", "autoscaling",
     "rbac.authorization.k8s.io", "storage.k8s.io", "scheduling.k8s.io", "coordination.k8s.io",
     "admissionregistration.k8s.io", "apiextensions.k8s.io", "cert-manager.io",
     "monitoring.coreos.com", "gateway.networking.k8s.io", "external-secrets.io", "bitnami.com",
     "secrets-store.csi.x-k8s.io", "keda.sh", "kustomize.config.k8s.io", "traefik.containo.us",
     "traefik.io", "networking.istio.io", "security.istio.io", "cloud.google.com",
     "networking.gke.io", "autoscaling.k8s.io", "argoproj.io", "serving.knative.dev",
     "apps.openshift.io", "route.openshift.io", "policy.linkerd.io", "config.openshift.io",
     "image.openshift.io", "build.openshift.io", "template.openshift.io", "snapshot.storage.k8s.io",
     "elbv2.k8s.aws", "getambassador.io", "projectcontour.io", "cilium.io", "crd.projectcalico.org",
     "metrics.k8s.io", "node.k8s.io", "discovery.k8s.io", "certificates.k8s.io"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PodTemplate:
    """A workload's pod template with the labels it carries once rendered."""

    workload: Workload
    path: str
    labels: dict[str, str]  # as written, plus every label a kustomization or patch adds
    namespaces: Namespaces


@dataclass(frozen=True, slots=True)
class ServiceDef:
    """A Service with every name and namespace it is rendered under."""

    service: KService
    path: str
    names: frozenset[str]  # as written and with each overlay's prefix/suffix
    namespaces: Namespaces
    ports: tuple[ServicePort, ...]  # its own and those patches add
    selector_patched: bool  # a patch file rewrites its selector

    @property
    def name(self) -> str:
        return self.service.obj.name or ""


@dataclass(frozen=True, slots=True)
class Route:
    """An Ingress's or route's backend, with the namespaces the Ingress is rendered in."""

    backend: Backend
    path: str
    namespaces: Namespaces


@dataclass(slots=True)
class Wiring:
    pods: list[PodTemplate] = field(default_factory=list)
    services: list[ServiceDef] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    # why objects may be defined where preflight cannot read them (Helm templates, a remote
    # kustomize base, …); None when every object the repository deploys is read
    unrendered: str | None = None
    # custom resources whose operators may run pods: (object, namespaces)
    custom: list[tuple[K8sObject, Namespaces]] = field(default_factory=list)

    def services_named(self, name: str, namespaces: Namespaces) -> list[ServiceDef]:
        return [
            s
            for s in self.services
            if name in s.names and share_namespace(s.namespaces, namespaces)
        ]


def share_namespace(one: Namespaces, other: Namespaces) -> bool:
    """Whether two objects may be in the same namespace (an unset one may be anywhere)."""
    return None in one or None in other or bool(one & other)


@dataclass(frozen=True, slots=True)
class _Render:
    namespace: str | None  # the kustomization's (None: the objects keep their own)
    prefix: str
    suffix: str
    labels: tuple[tuple[str, str], ...]
    label_patches: bool = False  # a kustomization on the way patches labels or selectors


def _renders(project: Project) -> dict[str, list[_Render]]:
    """Manifest path -> every way a kustomization renders it."""
    by_directory = {posixpath.dirname(k.path): k for k in project.kustomizations.values()}
    memo: dict[str, list[tuple[str, _Render]]] = {}

    def render(kustomization: Kustomization, stack: frozenset[str]) -> list[tuple[str, _Render]]:
        if kustomization.path in memo:
            return memo[kustomization.path]
        own = tuple(kustomization.template_labels.items())
        out: list[tuple[str, _Render]] = []
        for resource in kustomization.resources:
            included = by_directory.get(resource)
            if included is not None and included.path not in stack:
                for path, inner in render(included, stack | {included.path}):
                    out.append(
                        (
                            path,
                            _Render(
                                kustomization.namespace or inner.namespace,
                                kustomization.name_prefix + inner.prefix,
                                inner.suffix + kustomization.name_suffix,
                                inner.labels + own,
                                inner.label_patches or kustomization.label_patches,
                            ),
                        )
                    )
            elif resource in project.manifests:
                render_ = _Render(
                    kustomization.namespace,
                    kustomization.name_prefix,
                    kustomization.name_suffix,
                    own,
                    kustomization.label_patches,
                )
                out.append((resource, render_))
        memo[kustomization.path] = out
        return out

    renders: dict[str, list[_Render]] = {}
    for kustomization in sorted(project.kustomizations.values(), key=lambda k: k.path):
        for path, one in render(kustomization, frozenset({kustomization.path})):
            if one not in renders.setdefault(path, []):
                renders[path].append(one)
    return renders


_PLAIN = _Render(None, "", "", ())


def _namespaces(obj: K8sObject, renders: list[_Render]) -> Namespaces:
    return frozenset(r.namespace or obj.namespace for r in renders)


def wiring(project: Project) -> Wiring:
    """Services, pod templates and backends as the repository's kustomizations render them."""
    out = Wiring()
    renders = _renders(project)
    patch_files = frozenset(
        patch
        for kustomization in project.kustomizations.values()
        for patch in kustomization.patches
        if patch in project.manifests
    )
    patch_labels: dict[tuple[str, str], dict[str, str]] = {}
    patch_ports: dict[str, list[ServicePort]] = {}
    patched_selectors: set[str] = set()
    for path in sorted(patch_files):
        manifest = project.manifests[path]
        for workload in manifest.workloads:
            patch_labels.setdefault((workload.kind, workload.name or ""), {}).update(
                workload.pod_labels
            )
        for service in manifest.services:
            patch_ports.setdefault(service.obj.name or "", []).extend(service.ports)
            if service.selector_span is not None:
                patched_selectors.add(service.obj.name or "")
    for path, manifest in project.manifests.items():
        if path in patch_files:
            continue
        ways = renders.get(path) or [_PLAIN]
        for workload in manifest.workloads:
            labels = dict(workload.pod_labels)
            for way in ways:
                labels.update(way.labels)
            labels.update(patch_labels.get((workload.kind, workload.name or ""), {}))
            out.pods.append(PodTemplate(workload, path, labels, _namespaces(workload.obj, ways)))
        for service in manifest.services:
            name = service.obj.name or ""
            names = frozenset({name} | {w.prefix + name + w.suffix for w in ways})
            out.services.append(
                ServiceDef(
                    service,
                    path,
                    names,
                    _namespaces(service.obj, ways),
                    service.ports + tuple(patch_ports.get(name, ())),
                    name in patched_selectors or any(w.label_patches for w in ways),
                )
            )
        for backend in manifest.backends:
            out.routes.append(Route(backend, path, _namespaces(backend.obj, ways)))
        for obj in manifest.objects:
            if obj.group not in _PODLESS_GROUPS and not obj.group.endswith(".k8s.io"):
                out.custom.append((obj, _namespaces(obj, ways)))
    out.unrendered = _unrendered(project)
    return out


_TEMPLATE_SUFFIXES = (".jsonnet", ".libsonnet", ".j2", ".jinja", ".jinja2", ".tpl", ".tmpl", ".cue")


def _unrendered(project: Project) -> str | None:
    """Why the repository may deploy objects preflight cannot read, if it may."""
    for path in sorted(project.all_paths):
        name = path.rsplit("/", 1)[-1]
        if name == "Chart.yaml":
            return f"{path} is a Helm chart, whose templates preflight does not render"
        if name in ("helmfile.yaml", "helmfile.yml"):
            return f"{path} installs Helm charts preflight does not render"
    if project.templated:
        return f"{project.templated[0]} is a template preflight does not render"
    for kustomization in sorted(project.kustomizations.values(), key=lambda k: k.path):
        if kustomization.external is not None:
            return f"{kustomization.path}: {kustomization.external}"
    for path in sorted(project.all_paths):
        if path.endswith(_TEMPLATE_SUFFIXES) and (
            "k8s" in path or "kube" in path or "deploy" in path
        ):
            return f"{path} may generate manifests preflight does not render"
    return None
