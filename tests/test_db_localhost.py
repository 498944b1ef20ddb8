"""DB009 database-host-is-localhost: loopback database addresses a deploy gives a container."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conftest import codes
from preflight.engine import Result
from preflight.model.endpoints import classify

Project = Callable[..., Result]


@pytest.fixture
def families() -> tuple[str, ...]:
    return ("DB009",)


@pytest.mark.parametrize(
    ("name", "value", "siblings", "expected"),
    [
        (
            "DATABASE_URL",
            "postgresql+asyncpg://u:p@localhost/app",
            {},
            ("postgres", "localhost:5432"),
        ),
        ("X", "jdbc:postgresql://127.0.0.1:6432/db", {}, ("postgres", "127.0.0.1:6432")),
        ("BROKER", "amqp://guest:guest@localhost//", {}, ("rabbitmq", "localhost:5672")),
        ("CACHE", "redis://[::1]:6380/0", {}, ("redis", "::1:6380")),
        ("DB_HOST", "localhost", {"DB_PORT": "3307"}, ("database", "localhost:3307")),
        ("PGHOST", "127.0.0.1", {"PGPORT": "5433"}, ("postgres", "127.0.0.1:5433")),
        ("REDIS_HOST", "localhost", {}, ("redis", "localhost:6379")),
        ("DATABASE_URL", "postgresql://u:p@db:5432/app", {}, None),
        ("SMTP_HOST", "localhost", {}, None),
        ("API_URL", "http://localhost:8000", {}, None),
        ("MONGO_URL", "mongodb://a:27017,localhost:27018/x", {}, None),
        ("DATABASE_URL", "sqlite:///./app.db", {}, None),
    ],
)
def test_classify(
    name: str, value: str, siblings: dict[str, str], expected: tuple[str, str] | None
) -> None:
    assert classify(name, value, siblings) == expected


COMPOSE = """
services:
  web:
    build: .
    environment:
      DATABASE_URL: postgresql://app:app@localhost:5432/app
  db:
    image: postgres:16
"""


def test_compose_localhost(project: Project) -> None:
    result = project({"docker-compose.yml": COMPOSE})
    assert [(f.code, f.span.line) for f in result.findings] == [("DB009", 5)]
    assert "`db`" in (result.findings[0].fix or "")


def test_compose_without_a_database_service_stays_silent(project: Project) -> None:
    text = COMPOSE.replace("  db:\n    image: postgres:16\n", "")
    assert codes(project({"docker-compose.yml": text})) == []


def test_compose_other_database_family_stays_silent(project: Project) -> None:
    text = COMPOSE.replace("postgres:16", "redis:7")
    assert codes(project({"docker-compose.yml": text})) == []


def test_compose_network_mode_host(project: Project) -> None:
    text = COMPOSE.replace("    build: .\n", "    build: .\n    network_mode: host\n")
    assert codes(project({"docker-compose.yml": text})) == []


def test_compose_env_file(project: Project) -> None:
    text = COMPOSE.replace(
        "    environment:\n      DATABASE_URL: postgresql://app:app@localhost:5432/app\n",
        "    env_file: .env.docker\n",
    )
    files = {"docker-compose.yml": text, ".env.docker": "REDIS_URL=x\nDB_HOST=localhost\n"}
    result = project(files)
    assert [(f.code, f.span.path) for f in result.findings] == [("DB009", ".env.docker")]


def test_compose_environment_overrides_the_env_file(project: Project) -> None:
    text = COMPOSE.replace(
        "    environment:\n", "    env_file: .env.docker\n    environment:\n"
    ).replace("@localhost:", "@db:")
    files = {"docker-compose.yml": text, ".env.docker": "DATABASE_URL=postgresql://localhost/x\n"}
    assert codes(project(files)) == []


POD = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: api
          image: ghcr.io/acme/api:1
          env:
            - name: REDIS_HOST
              value: localhost
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: redis
spec:
  template:
    metadata:
      labels: {app: redis}
    spec:
      containers:
        - name: redis
          image: redis:7
"""


def test_kubernetes_env_value(project: Project) -> None:
    result = project({"k8s/app.yaml": POD})
    assert [(f.code, f.span.line) for f in result.findings] == [("DB009", 15)]


def test_kubernetes_other_namespace_runs_it(project: Project) -> None:
    text = POD.replace("  name: redis\n", "  name: redis\n  namespace: cache\n").replace(
        "  name: api\n", "  name: api\n  namespace: web\n"
    )
    assert codes(project({"k8s/app.yaml": text})) == []


def test_kubernetes_job_with_a_database_image_is_a_client(project: Project) -> None:
    text = POD.replace(
        "kind: Deployment\nmetadata:\n  name: redis", "kind: Job\nmetadata:\n  name: redis"
    )
    assert codes(project({"k8s/app.yaml": text})) == []


def test_kubernetes_sidecar_port(project: Project) -> None:
    sidecar = (
        "        - name: tunnel\n          image: ghcr.io/acme/tunnel:1\n"
        "          ports:\n            - containerPort: 6379\n"
    )
    text = POD.replace(
        "              value: localhost\n", "              value: localhost\n" + sidecar
    )
    assert codes(project({"k8s/app.yaml": text})) == []


def test_compose_override_sets_the_variable(project: Project) -> None:
    override = "services:\n  web:\n    environment:\n      DATABASE_URL: postgresql://u@db/app\n"
    files = {"docker-compose.yml": COMPOSE, "docker-compose.override.yml": override}
    assert codes(project(files)) == []
