"""SVC001 / SVC002 and the wiring model: Services, the pods they select and the Ingresses and
routes in front of them, as kustomize renders them (namespace, name prefix/suffix, labels)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import FIXTURES, codes, write_tree
from preflight.config import Config
from preflight.engine import Result, build
from preflight.model.graph import Deployment
from preflight.parse.kustomization import parse_kustomization
from preflight.parse.manifests import parse_manifests

Project = Callable[..., Result]


@pytest.fixture
def families() -> tuple[str, ...]:
    return ("SVC",)


def deployment(name: str = "web", labels: str = "app: web", namespace: str = "") -> str:
    ns = f"\n  namespace: {namespace}" if namespace else ""
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}{ns}
spec:
  replicas: 3
  template:
    metadata:
      labels:
        {labels}
    spec:
      containers:
        - name: app
          image: ghcr.io/acme/{name}:1
"""


def service(name: str = "web", selector: str = "app: web", namespace: str = "") -> str:
    ns = f"\n  namespace: {namespace}" if namespace else ""
    return f"""
apiVersion: v1
kind: Service
metadata:
  name: {name}{ns}
spec:
  selector:
    {selector}
  ports:
    - name: http
      port: 80
      targetPort: 8000
"""


def ingress(service: str = "web", port: str = "number: 80") -> str:
    return f"""
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: edge
spec:
  rules:
    - http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: {service}
                port:
                  {port}
"""


def at(result: Result) -> list[tuple[str, str, int]]:
    return [(f.code, f.span.path, f.span.line) for f in result.findings]


# --- the parsed facts -------------------------------------------------------------------


def test_service_selector_span_and_type() -> None:
    parsed = parse_manifests("s.yaml", service().lstrip())
    (svc,) = parsed.services
    assert svc.selector == {"app": "web"}
    assert svc.selector_span is not None and svc.selector_span.line == 6
    assert svc.service_type is None


def test_workload_labels_span_replicas_and_persistent_volumes() -> None:
    text = deployment().lstrip() + (
        "      volumes:\n"
        "        - name: data\n"
        "          persistentVolumeClaim: {claimName: web-data}\n"
        "        - name: tmp\n"
        "          emptyDir: {}\n"
    )
    (workload,) = parse_manifests("d.yaml", text).workloads
    assert workload.replicas == 3 and workload.replicas_span is not None
    assert workload.replicas_span.line == 6
    assert workload.labels_span is not None and workload.labels_span.line == 9
    assert workload.persistent_volumes == {"data": "persistentVolumeClaim `web-data`"}


def test_ingress_v1_v1beta1_and_route_backends() -> None:
    text = (
        ingress(port="name: http").lstrip()
        + "---\n"
        + "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: old}\n"
        + "spec:\n  backend: {serviceName: web, servicePort: 8080}\n"
        + "---\n"
        + "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
        + "spec:\n  rules:\n    - backendRefs:\n        - {name: api, port: 81, namespace: x}\n"
        + "        - {name: pool, kind: InferencePool}\n"
    )
    backends = parse_manifests("i.yaml", text).backends
    assert [(b.obj.kind, b.service, b.port, b.namespace) for b in backends] == [
        ("Ingress", "web", "http", None),
        ("Ingress", "web", 8080, None),
        ("HTTPRoute", "api", 81, "x"),
    ]
    assert backends[0].span.line == 13 and backends[0].port_span is not None


def test_hpa_target() -> None:
    text = (
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\n"
        "spec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n"
    )
    (hpa,) = parse_manifests("h.yaml", text).autoscalers
    assert (hpa.target_kind, hpa.target_name) == ("Deployment", "web")


def test_kustomization_namespace_prefix_and_labels() -> None:
    text = (
        "namespace: prod\nnamePrefix: p-\nnameSuffix: -s\n"
        "commonLabels: {team: a}\n"
        "labels:\n  - pairs: {tier: web}\n    includeSelectors: true\n"
        "  - pairs: {owner: me}\n    includeTemplates: true\n  - pairs: {only: meta}\n"
        "resources: [https://github.com/x/y//base, ./svc.yaml]\n"
    )
    parsed = parse_kustomization("k/kustomization.yaml", text)
    assert (parsed.namespace, parsed.name_prefix, parsed.name_suffix) == ("prod", "p-", "-s")
    assert parsed.template_labels == {"team": "a", "tier": "web", "owner": "me"}
    assert parsed.selector_labels == {"team": "a", "tier": "web"}
    assert parsed.external is not None and "remote" in parsed.external


def graph_of(root: Path) -> Deployment:
    return build(root, ".", Config()).graph


def test_wiring_renders_overlays(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "base/kustomization.yaml": "resources: [app.yaml]\ncommonLabels: {team: a}\n",
            "base/app.yaml": deployment(labels="app: web") + "---\n" + service(),
            "prod/kustomization.yaml": "resources: [../base]\nnamespace: prod\nnamePrefix: p-\n",
        },
    )
    wiring = graph_of(tmp_path).wiring
    (pod,) = wiring.pods
    assert pod.labels == {"app": "web", "team": "a"}
    assert pod.namespaces == frozenset({None, "prod"})
    (svc,) = wiring.services
    assert svc.names == frozenset({"web", "p-web"})
    assert wiring.unrendered is None


# --- SVC001 -----------------------------------------------------------------------------


def test_selector_typo_fires_at_the_selector(project: Project) -> None:
    result = project({"k8s/app.yaml": deployment() + "---\n" + service(selector="app: wbe")})
    assert at(result) == [("SVC001", "k8s/app.yaml", 22)]
    (finding,) = result.findings
    assert "did you mean `app: web`" in finding.message.lower()
    assert finding.related[0].span.line == 9


def test_service_in_another_namespace(project: Project) -> None:
    result = project(
        {
            "a.yaml": deployment(namespace="shop"),
            "b.yaml": service(namespace="billing"),
        }
    )
    assert at(result) == [("SVC001", "b.yaml", 7)]
    assert "namespace `shop`" in result.findings[0].message


def test_selector_matches(project: Project) -> None:
    result = project({"k8s/app.yaml": deployment() + "---\n" + service()})
    assert codes(result) == []


def test_pods_from_elsewhere_stay_silent(project: Project) -> None:
    files = {"k8s/app.yaml": deployment() + "---\n" + service("pg", "cnpg.io/cluster: main")}
    assert codes(project(files)) == []


def test_helm_chart_in_the_repository_silences(project: Project) -> None:
    files = {
        "k8s/app.yaml": deployment() + "---\n" + service(selector="app: wbe"),
        "chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\n",
    }
    assert codes(project(files)) == []


def test_operator_custom_resource_silences(project: Project) -> None:
    custom = "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: web}\n"
    files = {
        "k8s/app.yaml": deployment() + "---\n" + service(selector="app: wbe"),
        "db.yaml": custom,
    }
    assert codes(project(files)) == []


def test_common_labels_reach_the_pods(project: Project) -> None:
    files = {
        "k/kustomization.yaml": "resources: [app.yaml]\ncommonLabels: {app: web}\n",
        "k/app.yaml": deployment(labels="tier: x") + "---\n" + service(),
    }
    assert codes(project(files)) == []


def test_patch_labels_reach_the_pods(project: Project) -> None:
    patch = deployment(labels="version: v2")
    files = {
        "k/kustomization.yaml": "resources: [app.yaml]\npatches:\n  - path: patch.yaml\n",
        "k/app.yaml": deployment() + "---\n" + service(selector="version: v2"),
        "k/patch.yaml": patch,
    }
    assert codes(project(files)) == []


# --- SVC002 -----------------------------------------------------------------------------


def test_ingress_to_the_target_port(project: Project) -> None:
    files = {
        "k/app.yaml": deployment() + "---\n" + service(),
        "k/ing.yaml": ingress(port="number: 8000"),
    }
    assert at(project(files)) == [("SVC002", "k/ing.yaml", 15)]


def test_ingress_named_port(project: Project) -> None:
    base = {"k/app.yaml": deployment() + "---\n" + service()}
    assert codes(project({**base, "k/ing.yaml": ingress(port="name: http")})) == []


def test_ingress_to_a_misspelled_service(project: Project) -> None:
    files = {"k/app.yaml": deployment() + "---\n" + service(), "k/ing.yaml": ingress("webb")}
    result = project(files)
    assert at(result) == [("SVC002", "k/ing.yaml", 13)]
    assert result.findings[0].related[0].span.path == "k/app.yaml"


def test_ingress_to_an_unrelated_service_stays_silent(project: Project) -> None:
    files = {"k/app.yaml": deployment() + "---\n" + service(), "k/ing.yaml": ingress("grafana")}
    assert codes(project(files)) == []


def test_ingress_in_an_overlay_uses_the_prefixed_name(project: Project) -> None:
    files = {
        "base/kustomization.yaml": "resources: [app.yaml]\n",
        "base/app.yaml": deployment() + "---\n" + service(),
        "prod/kustomization.yaml": "resources: [../base, ing.yaml]\nnamePrefix: prod-\n",
        "prod/ing.yaml": ingress("prod-web"),
    }
    assert codes(project(files)) == []


def test_ingress_in_another_namespace_does_not_find_the_service(project: Project) -> None:
    files = {
        "a.yaml": deployment(namespace="shop") + "---\n" + service(namespace="shop"),
        "b.yaml": ingress("web").replace("name: edge", "name: edge\n  namespace: other"),
    }
    # no Service in `other` is named like it: it may be defined elsewhere
    assert codes(project(files)) == []


def test_inline_patch_of_labels_silences(project: Project) -> None:
    kustomization = (
        "resources: [app.yaml]\npatches:\n  - target: {kind: Service}\n    patch: |-\n"
        "      - op: replace\n        path: /spec/selector\n        value: {app: web}\n"
    )
    files = {
        "k/kustomization.yaml": kustomization,
        "k/app.yaml": deployment() + "---\n" + service(selector="app: wbe"),
    }
    assert codes(project(files)) == []


def test_service_and_deployment_in_one_file_with_another_value(project: Project) -> None:
    text = deployment(name="api-deployment", labels="app: api-deployment") + "---\n"
    text += service("api-service", "app: api-service")
    result = project({"k8s/api.yaml": text})
    assert at(result) == [("SVC001", "k8s/api.yaml", 22)]
    assert "`app: api-deployment`" in result.findings[0].message


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize(
    ("fixture", "overlay"),
    [
        ("svc001-clean-kustomize-labels", "k8s/overlays/prod"),
        ("svc002-clean-kustomize-name-prefix", "deploy/overlays/staging"),
    ],
)
def test_wiring_agrees_with_kubectl_kustomize(fixture: str, overlay: str) -> None:
    """What kustomize really renders: every Service name, namespace and pod label set the
    wiring model derives for the overlay's objects (the clean twins are clean for real)."""
    import yaml

    root = FIXTURES / fixture
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(root / overlay)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    objects = [doc for doc in yaml.safe_load_all(rendered) if doc]
    wiring = graph_of(root).wiring
    for obj in objects:
        namespace = obj["metadata"].get("namespace")
        if obj["kind"] == "Service":
            assert any(
                obj["metadata"]["name"] in s.names and namespace in s.namespaces
                for s in wiring.services
            )
        elif obj["kind"] == "Deployment":
            labels = obj["spec"]["template"]["metadata"]["labels"]
            assert any(
                labels.items() <= pod.labels.items() and namespace in pod.namespaces
                for pod in wiring.pods
            )
