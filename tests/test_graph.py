"""The deployment graph: built once from a repository's files, read by every rule, shown by
`preflight graph`. These tests build graphs for small projects and assert nodes and edges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FIXTURES, write_tree
from preflight.cli import main
from preflight.config import Config
from preflight.engine import build
from preflight.model.graph import Deployment

PYPROJECT = """
    [project]
    name = "orders"
    version = "1"
    dependencies = ["fastapi", "uvicorn", "pydantic-settings"]
"""
APP = """
    from fastapi import FastAPI
    from pydantic_settings import BaseSettings


    class Settings(BaseSettings):
        secret_key: str
        debug: bool = False


    settings = Settings()
    app = FastAPI()


    @app.get("/ready")
    def ready() -> dict[str, str]:
        return {"status": "ok"}
"""
DOCKERFILE = """
    FROM python:3.12-slim
    WORKDIR /srv
    COPY . .
    RUN pip install .
    CMD ["uvicorn", "orders.main:app", "--host", "0.0.0.0", "--port", "8000"]
"""


def deployment(image: str) -> str:
    return (
        "apiVersion: apps/v1\n"
        "kind: Deployment\n"
        "metadata:\n"
        "  name: orders\n"
        "spec:\n"
        "  selector:\n"
        "    matchLabels: {app: orders}\n"
        "  template:\n"
        "    metadata:\n"
        "      labels: {app: orders}\n"
        "    spec:\n"
        "      containers:\n"
        "        - name: api\n"
        f"          image: {image}\n"
        "          readinessProbe:\n"
        "            httpGet: {path: /ready, port: 8000}\n"
        "          env:\n"
        "            - name: SECRET_KEY\n"
        "              valueFrom:\n"
        "                secretKeyRef: {name: orders, key: SECRET_KEY}\n"
    )


def graph_of(root: Path) -> Deployment:
    return build(root, ".", Config()).graph


def test_reference_service_graph_joins_every_stage() -> None:
    graph = graph_of(FIXTURES / "reference-service")
    (node,) = graph.containers
    assert node.label == "Deployment `reference-service` container `api`"
    assert node.run.dockerfile is not None and node.run.dockerfile.path == "Dockerfile"
    assert node.image_evidence is not None and "reference-service" in node.image_evidence.how
    assert node.server_command is not None and node.server_command.server == "gunicorn"
    assert node.server_command.target == "app.main:app" and node.server_command.port == 8000
    assert node.app is not None and node.app.module == "app/main.py"
    paths = {route.path for route in node.app.routes}
    assert {"/health", "/ready"} <= paths
    provided = {s.display_name: [p.kind for p in node.env.provides(s)] for s in node.settings}
    assert provided["SECRET_KEY"] == ["Secret"] and provided["DATABASE_URL"] == ["Secret"]
    assert graph.databases is not None
    (use,) = graph.databases.uses
    assert use.engine.factory == "create_async_engine"
    assert {url.url.driver for url in use.urls} == {"asyncpg"}
    assert graph.database_roots == frozenset({""})


def test_compose_build_context_is_the_evidence_for_the_image(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "orders/pyproject.toml": PYPROJECT,
            "orders/orders/__init__.py": "",
            "orders/orders/main.py": APP,
            "orders/Dockerfile": DOCKERFILE,
            "docker-compose.yml": """
                services:
                  api:
                    build: {context: ./orders}
                    image: registry.example.com/team/orders:1.2
            """,
            "k8s/deployment.yaml": deployment("registry.example.com/team/orders:1.2@sha256:ab"),
        },
    )
    graph = graph_of(root)
    assert graph.files.images["orders/Dockerfile"].context == "orders"
    assert "compose service `api`" in graph.files.images["orders/Dockerfile"].context_why
    (node,) = graph.containers
    assert node.run.dockerfile is not None and node.run.dockerfile.path == "orders/Dockerfile"
    # compose builds this very tag from orders/: the repository says so, no name guess needed
    assert node.image_evidence is not None and node.image_evidence.strong
    assert "compose service `api` in docker-compose.yml:4" in node.image_evidence.how
    assert node.app is not None and node.app.module == "orders/orders/main.py"
    assert node.root == "orders"
    (setting,) = [s for s in node.settings if s.required]
    assert setting.display_name == "SECRET_KEY"
    assert [p.where for p in node.env.provides(setting)] == ["`orders` key `SECRET_KEY`"]


def test_an_image_built_elsewhere_is_unresolved_with_the_reason(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"k8s/deployment.yaml": deployment("nginx:1.27")})
    (node,) = graph_of(root).containers
    assert node.run.dockerfile is None and node.image_evidence is None
    assert (
        node.run.why_unlinked
        == "image `nginx:1.27` is not built by any Dockerfile in this repository"
    )
    assert node.app is None and node.why == node.run.why_unlinked


def test_two_dockerfiles_that_could_build_the_image_are_not_guessed(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "orders/Dockerfile": DOCKERFILE,
            "orders/Dockerfile.orders": DOCKERFILE,
            "k8s/deployment.yaml": deployment("orders:1"),
        },
    )
    (node,) = graph_of(root).containers
    assert node.run.dockerfile is None
    assert node.run.why_unlinked == "image `orders:1` could be built by 2 Dockerfiles"


def run_graph(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as exited:
        main(["graph", *args])
    assert exited.value.code in (0, None)
    return capsys.readouterr().out


def test_graph_json_shows_the_reference_service_chain(capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(run_graph(capsys, str(FIXTURES / "reference-service"), "--format", "json"))
    assert data["version"] == 1
    (workload,) = data["workloads"]
    assert (workload["kind"], workload["name"]) == ("Deployment", "reference-service")
    (container,) = workload["containers"]
    assert container["image"]["dockerfile"] == "Dockerfile"
    assert container["image"]["evidence"]["strength"] == "weak"
    assert container["command"][0] == "gunicorn"
    assert container["server"]["kind"] == "gunicorn"
    assert container["app"]["app"] == "app.main:app"
    routes = {route["path"] for route in container["app"]["routes"]}
    assert {"/health", "/ready"} <= routes
    ready = next(p for p in container["probes"] if p["kind"] == "readinessProbe")
    assert ready["route"] == "/ready"
    settings = {s["env"]: s["provided_by"] for s in container["settings"]}
    assert settings["SECRET_KEY"][0]["kind"] == "Secret"
    assert settings["SECRET_KEY"][0]["where"] == "`reference-service` key `SECRET_KEY`"
    (database,) = data["databases"]
    assert database["engine"] == "create_async_engine"
    assert {url["scheme"] for url in database["urls"]} == {"postgresql+asyncpg"}


def test_graph_text_fits_80_columns_and_says_what_was_not_joined(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    write_tree(tmp_path, {"k8s/deployment.yaml": deployment("nginx:1.27")})
    monkeypatch.chdir(tmp_path)
    text = run_graph(capsys, ".")
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "not tied to a Dockerfile: image `nginx:1.27` is not" in " ".join(text.split())
    text = run_graph(capsys, str(FIXTURES / "reference-service"))
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "Deployment `reference-service`" in text and "app.main:app" in text


def test_graph_never_prints_a_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    canary = "Zq8vN3tK1pWm9xRy"
    root = write_tree(
        tmp_path,
        {
            "orders/pyproject.toml": PYPROJECT,
            "orders/orders/main.py": APP,
            "orders/Dockerfile": DOCKERFILE,
            "k8s/deployment.yaml": deployment("orders:1"),
            "k8s/secret.yaml": f"""
                apiVersion: v1
                kind: Secret
                metadata: {{name: orders}}
                stringData:
                  SECRET_KEY: {canary}
                  DATABASE_URL: postgresql+asyncpg://u:{canary}@db/orders
            """,
        },
    )
    for form in ("text", "json", "mermaid"):
        assert canary[:6] not in run_graph(capsys, str(root), "--format", form)


def test_graph_mermaid_is_a_flowchart(capsys: pytest.CaptureFixture[str]) -> None:
    text = run_graph(capsys, str(FIXTURES / "reference-service"), "--format", "mermaid")
    assert text.startswith("flowchart LR\n")
    assert "-- gunicorn -->" in text
