"""Probe rules: Kubernetes probes joined with the routes of the app the container really runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import codes
from preflight.engine import Result
from preflight.model.apps import server_command

Project = Callable[..., Result]


@pytest.fixture
def families() -> tuple[str, ...]:
    return ("PRB", "DB", "PF")


PYPROJECT = """
    [project]
    name = "api"
    version = "1.0.0"
    dependencies = ["fastapi", "uvicorn", "sqlalchemy[asyncio]>=2.0", "asyncpg"]
"""

DB = """
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine("postgresql+asyncpg://app:CHANGE_ME@db:5432/app", pool_pre_ping=True)


    async def ping() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
"""

ROUTES_HEALTH = """
    from fastapi import APIRouter, HTTPException

    from app.db import ping

    router = APIRouter(tags=["probes"])


    @router.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}


    @router.get("/ready")
    async def ready() -> dict[str, str]:
        try:
            await ping()
        except OSError:
            raise HTTPException(status_code=503, detail="database unreachable")
        return {"status": "ready"}
"""

API = """
    from fastapi import APIRouter

    from app.api.routes import health

    api_router = APIRouter(prefix="/api")
    api_router.include_router(health.router)
"""

MAIN = """
    from fastapi import FastAPI

    from app.api import api_router


    def create_app() -> FastAPI:
        app = FastAPI()
        app.include_router(api_router)
        return app


    app = create_app()
"""


def deployment(probes: str, ports: str = "- name: http\n  containerPort: 8000") -> str:
    indent = " " * 10
    probe_lines = "\n".join(indent + line for line in probes.strip("\n").split("\n"))
    port_lines = "\n".join(indent + "  " + line for line in ports.split("\n"))
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    metadata:
      labels:
        app: api
    spec:
      containers:
        - name: api
          image: registry.example.com/api:1
          command: ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]
          ports:
{port_lines}
{probe_lines}
"""


def service(files: dict[str, str], probes: str, **extra: str) -> dict[str, str]:
    return {
        "pyproject.toml": PYPROJECT,
        "app/__init__.py": "",
        "app/db.py": DB,
        "app/api/__init__.py": API,
        "app/api/routes/__init__.py": "",
        "app/api/routes/health.py": ROUTES_HEALTH,
        "app/main.py": MAIN,
        "k8s/deployment.yaml": deployment(probes),
        **files,
        **extra,
    }


READY_OK = """
readinessProbe:
  httpGet: {path: /api/ready, port: http}
livenessProbe:
  httpGet: {path: /api/health, port: http}
"""


def test_correct_service_is_clean(project: Project) -> None:
    assert codes(project(service({}, READY_OK))) == []


def test_liveness_only_is_prb001(project: Project) -> None:
    result = project(service({}, "livenessProbe:\n  httpGet: {path: /api/health, port: http}\n"))
    assert codes(result) == ["PRB001"]
    assert (result.findings[0].span.path, result.findings[0].span.line) == (
        "k8s/deployment.yaml",
        12,
    )


def test_ready_without_router_prefix_is_prb002_with_suggestion(project: Project) -> None:
    result = project(service({}, READY_OK.replace("/api/ready", "/ready")))
    assert codes(result) == ["PRB002"]
    finding = result.findings[0]
    assert "`/api/ready`" in finding.message
    assert (finding.span.path, finding.span.line) == ("k8s/deployment.yaml", 19)


def test_trailing_slash_and_path_params_are_served(project: Project) -> None:
    files = {"app/api/routes/health.py": ROUTES_HEALTH.replace('"/health"', '"/health/{probe}"')}
    probes = READY_OK.replace("/api/ready", "/api/ready/").replace(
        "/api/health", "/api/health/live"
    )
    assert codes(project(service(files, probes))) == []


def test_routers_built_in_a_loop_are_partial_and_prb002_is_silent(project: Project) -> None:
    main = """
        from fastapi import FastAPI

        from app.api.routes import health

        app = FastAPI()
        for router in [health.router]:
            app.include_router(router, prefix="/v2")
    """
    result = project(service({"app/main.py": main}, READY_OK.replace("/api/ready", "/v2/ready")))
    assert "PRB002" not in codes(result)
    assert any("partial" in note and "dynamically" in note for note in result.notes)


def test_seed_ready_handler_reaches_the_database(project: Project) -> None:
    main = """
        from fastapi import FastAPI, HTTPException
        from sqlmodel import create_engine, text

        engine = create_engine("postgresql://app:CHANGE_ME@db/app", pool_pre_ping=True)
        app = FastAPI()


        @app.get("/health")
        def health():
            return {"status": "ok"}


        @app.get("/ready")
        async def readiness_check():
            try:
                with engine.connect() as conn:
                    result = conn.execute(text("SELECT 1"))
                    result.fetchone()
                return {"status": "ready"}
            except Exception as e:
                raise HTTPException(status_code=503, detail={"status": "not_ready"})
    """
    probes = "readinessProbe:\n  httpGet: {path: /ready, port: 8000}\nlivenessProbe:\n  httpGet: {path: /health, port: 8000}\n"
    files = service(
        {"app/main.py": main},
        probes,
        **{
            "pyproject.toml": PYPROJECT.replace(
                '"asyncpg"', '"psycopg2-binary", "sqlmodel"'
            ).replace(">=2.0", "<2.1")
        },
    )
    result = project(files)
    assert "PRB004" not in codes(result)
    assert [(f.code, f.span.path, f.span.line) for f in result.findings if f.code == "DB007"] == [
        ("DB007", "app/main.py", 16)
    ]


def test_readiness_on_health_that_checks_nothing_is_prb004(project: Project) -> None:
    probes = READY_OK.replace("/api/ready", "/api/health")
    result = project(service({}, probes))
    assert codes(result) == ["PRB004"]


def test_liveness_on_the_db_check_is_prb005(project: Project) -> None:
    probes = READY_OK.replace("/api/health", "/api/ready")
    result = project(service({}, probes))
    assert codes(result) == ["PRB005"]


def test_named_port_not_declared_is_prb006(project: Project) -> None:
    result = project(
        service({}, READY_OK.replace("port: http}\nlivenessProbe", "port: web}\nlivenessProbe"))
    )
    assert codes(result) == ["PRB006"]


def test_numeric_probe_port_differs_from_server_port(project: Project) -> None:
    probes = READY_OK.replace("port: http", "port: 8080")
    result = project(service({}, probes))
    assert codes(result) == ["PRB006", "PRB006"]
    assert "binds 8000" in result.findings[0].message


def test_service_target_port_differs(project: Project) -> None:
    svc = """
        apiVersion: v1
        kind: Service
        metadata:
          name: api
        spec:
          selector:
            app: api
          ports:
            - port: 80
              targetPort: 8080
    """
    result = project(service({"k8s/service.yaml": svc}, READY_OK))
    assert codes(result) == ["PRB006"]
    assert result.findings[0].span.path == "k8s/service.yaml"


def test_ready_that_swallows_the_error_is_prb007(project: Project) -> None:
    routes = ROUTES_HEALTH.replace(
        'raise HTTPException(status_code=503, detail="database unreachable")',
        'return {"status": "degraded"}',
    )
    result = project(service({"app/api/routes/health.py": routes}, READY_OK))
    assert codes(result) == ["PRB007"]


def test_no_kubernetes_workload_means_no_prb003(project: Project) -> None:
    """Readiness gates a pod's traffic: a service deployed only by a Procfile (or compose) has
    nothing that would probe a readiness endpoint (session 4: three repositories deployed by
    compose or Heroku got PRB003, and each was judged debatable for that reason)."""
    files = service({}, READY_OK)
    del files["k8s/deployment.yaml"]
    files["app/api/routes/health.py"] = ROUTES_HEALTH.split('@router.get("/ready")')[0]
    files["Procfile"] = "web: uvicorn app.main:app --host 0.0.0.0 --port $PORT\n"
    result = project(files)
    assert codes(result) == []
    assert any("PRB003 silent" in n and "no Kubernetes workload runs it" in n for n in result.notes)


@pytest.mark.parametrize(
    ("argv", "server", "target", "port"),
    [
        (["uvicorn", "app.main:app", "--port", "9000"], "uvicorn", "app.main:app", 9000),
        (
            [
                "gunicorn",
                "app.main:create_app()",
                "-b",
                "0.0.0.0:7000",
                "-k",
                "uvicorn.workers.UvicornWorker",
            ],
            "gunicorn",
            "app.main:create_app()",
            7000,
        ),
        (["fastapi", "run", "app/main.py", "--port", "80"], "fastapi", "app/main.py", 80),
        (["python", "-m", "uvicorn", "main:app"], "uvicorn", "main:app", 8000),
        (
            ["sh", "-c", "alembic upgrade head && exec uvicorn app.main:app --port ${PORT:-8080}"],
            "uvicorn",
            "app.main:app",
            8080,
        ),
    ],
)
def test_server_command(argv: list[str], server: str, target: str, port: int) -> None:
    served = server_command(argv)
    assert served is not None
    assert (served.server, served.target, served.port) == (server, target, port)


def test_prb006_pairs_each_environment_s_service_with_its_own_workload(tmp_path: Path) -> None:
    """Issue 16: the prod Service's finding relates the prod container, not the dev copy's; a
    Service as near to every copy as to the others is not guessed at."""
    import shutil

    from conftest import FIXTURES, lint

    fixture = FIXTURES / "prb006-same-names-per-environment"
    findings = lint(fixture, select=["PRB006"]).findings
    assert [(f.span.path, [r.span.path for r in f.related]) for f in findings] == [
        ("deploy/dev/quotes.yaml", ["deploy/dev/quotes.yaml"]),
        ("deploy/prod/quotes.yaml", ["deploy/prod/quotes.yaml"]),
    ]
    root = tmp_path / "service"
    shutil.copytree(fixture, root)
    prod = root / "deploy" / "prod" / "quotes.yaml"
    deployment, service = prod.read_text().split("---\n")
    prod.write_text(deployment)
    (root / "deploy" / "services.yaml").write_text(service)
    (root / "deploy" / "dev" / "quotes.yaml").write_text(
        (root / "deploy" / "dev" / "quotes.yaml").read_text().split("---\n")[0]
    )
    result = lint(root, select=["PRB006"])
    assert result.findings == []
    assert any("none nearer to it than the others" in note for note in result.notes)
