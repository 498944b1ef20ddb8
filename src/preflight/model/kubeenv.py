"""What Kubernetes itself puts in a container's environment: the Service links of its namespace.

Namespaces are compared as a deploy would place the objects: a `kustomization.yaml`'s
`namespace:` overrides the objects' own for every manifest it includes (directly or through the
bases it lists; a manifest several kustomizations include may land in each of their namespaces);
otherwise an object's `metadata.namespace`, and `default` when it has none.
"""

from __future__ import annotations

from dataclasses import dataclass

from preflight.knowledge.kubelet import Shape, service_link_variables
from preflight.model.project import Project
from preflight.parse.manifests import KService
from preflight.spans import Span


@dataclass(frozen=True, slots=True)
class InjectedVariable:
    """A variable the kubelet injects for a Service, and what it holds."""

    name: str
    shape: Shape
    port: int | None
    service: KService
    namespaces: frozenset[str]  # where the Service may be deployed

    @property
    def span(self) -> Span:
        return self.service.obj.span


def kustomize_namespaces(project: Project) -> dict[str, frozenset[str]]:
    """Manifest path -> the namespaces the kustomizations that include it put it in."""
    out: dict[str, set[str]] = {}
    for kustomization in project.kustomizations.values():
        if kustomization.namespace is None:
            continue
        for resource in project.included_manifests(kustomization):
            out.setdefault(resource, set()).add(kustomization.namespace)
    return {path: frozenset(names) for path, names in out.items()}


def namespaces_of(
    manifest: str, own: str | None, kustomized: dict[str, frozenset[str]]
) -> frozenset[str]:
    """Where an object of ``manifest`` whose own namespace is ``own`` is deployed."""
    return kustomized.get(manifest) or frozenset({own or "default"})


def injected_variables(project: Project) -> dict[str, list[InjectedVariable]]:
    """Every variable the repository's Services inject, by its name (upper-case)."""
    kustomized = kustomize_namespaces(project)
    out: dict[str, list[InjectedVariable]] = {}
    for path, manifest in sorted(project.manifests.items()):
        for service in manifest.services:
            name = service.obj.name
            if not name or service.type == "ExternalName":
                continue
            if service.cluster_ip is not None and service.cluster_ip in ("None", ""):
                continue  # headless: no cluster IP, no variables
            ports = [(p.port, p.protocol, p.name) for p in service.ports if p.port is not None]
            namespaces = namespaces_of(path, service.obj.namespace, kustomized)
            for variable, shape, port in service_link_variables(name, ports):
                out.setdefault(variable, []).append(
                    InjectedVariable(variable, shape, port, service, namespaces)
                )
    return out
