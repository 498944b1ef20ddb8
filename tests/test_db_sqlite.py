"""DB010 sqlite-in-replicated-deployment: SQLite files of workloads with several pods, or
without a persistent volume over the file's directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import FIXTURES
from preflight.engine import Result
from preflight.model.sqlite import _file_of

Project = Callable[..., Result]
BASE = FIXTURES / "db010-sqlite-replicas"


@pytest.fixture
def families() -> tuple[str, ...]:
    return ("DB010",)


@pytest.mark.parametrize(
    ("url", "file"),
    [
        ("sqlite:///./app.db", "./app.db"),
        ("sqlite:///app.db", "app.db"),
        ("sqlite+aiosqlite:////data/app.db", "/data/app.db"),
        ("sqlite:///file:app.db?uri=true", "app.db"),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///file:mem?mode=memory&cache=shared&uri=true", None),
        ("postgresql://u@db/app", None),
    ],
)
def test_file_of(url: str, file: str | None) -> None:
    assert _file_of(url) == file


def files(**replace: tuple[str, str]) -> dict[str, str]:
    out = {
        str(path.relative_to(BASE)): path.read_text(encoding="utf-8")
        for path in BASE.rglob("*")
        if path.is_file() and path.name != "EXPECTED"
    }
    for name, (old, new) in replace.items():
        name = name.replace("__", "/").replace("_dot_", ".")
        assert old in out[name]
        out[name] = out[name].replace(old, new)
    return out


def at(result: Result) -> list[tuple[str, str, int, str]]:
    return [(f.code, f.span.path, f.span.line, f.severity.value) for f in result.findings]


def test_replicas(project: Project) -> None:
    assert at(project(files())) == [("DB010", "k8s/deployment.yaml", 6, "error")]


def test_hpa_scales_a_single_replica(project: Project) -> None:
    hpa = (
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: todos}\n"
        "spec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: todos}\n"
        "  minReplicas: 1\n  maxReplicas: 5\n"
    )
    tree = files(k8s__deployment_dot_yaml=("replicas: 3", "replicas: 1"))
    result = project({**tree, "k8s/hpa.yaml": hpa})
    assert at(result) == [("DB010", "k8s/hpa.yaml", 5, "error")]


def test_relative_file_in_the_workdir_without_volume(project: Project) -> None:
    tree = files(k8s__deployment_dot_yaml=("replicas: 3", "replicas: 1"))
    result = project(tree)
    assert at(result) == [("DB010", "app/db.py", 5, "warning")]
    assert "/app/todos.db" in result.findings[0].message


def test_statefulset_volume_claim_template(project: Project) -> None:
    tree = files(
        app__db_dot_py=("sqlite:///./todos.db", "sqlite:////data/todos.db"),
        k8s__deployment_dot_yaml=("replicas: 3", "replicas: 1"),
    )
    text = tree["k8s/deployment.yaml"].replace("kind: Deployment", "kind: StatefulSet")
    text = text.replace(
        "              port: http\n",
        "              port: http\n          volumeMounts:\n            - name: data\n"
        "              mountPath: /data\n",
    )
    text += (
        "  volumeClaimTemplates:\n    - metadata: {name: data}\n"
        "      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n"
    )
    tree["k8s/deployment.yaml"] = text
    assert at(project(tree)) == []


def test_env_overrides_the_default(project: Project) -> None:
    env = (
        "              port: http\n          env:\n            - name: DATABASE_URL\n"
        "              valueFrom: {secretKeyRef: {name: todos, key: url}}\n"
    )
    tree = files(k8s__deployment_dot_yaml=("              port: http\n", env))
    secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: todos}\nstringData: {url: x}\n"
    tree["k8s/secret.yaml"] = secret.replace("url: x", "url: postgresql://u@db/todos")
    assert at(project(tree, select=["DB010"])) == []


def test_weak_image_link_stays_silent(project: Project, tmp_path: Path) -> None:
    tree = files()
    del tree["skaffold.yaml"]
    assert at(project(tree)) == []
