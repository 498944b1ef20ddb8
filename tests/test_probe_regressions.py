"""Probe-rule false positives found while writing the rule pages."""

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
    return ("PRB",)


def test_kubernetes_dollar_paren_port_is_resolved() -> None:
    served = server_command(["uvicorn", "app.main:app", "--port", "$(PORT)"], {"PORT": "9000"})
    assert served is not None and served.port == 9000


def test_unresolvable_port_is_unknown_not_the_default() -> None:
    served = server_command(["uvicorn", "app.main:app", "--port", "$PORT"], {})
    assert served is not None and served.port is None


def test_try_around_logging_only_is_not_prb007(project: Project) -> None:
    files = {
        "app/__init__.py": "",
        "app/main.py": """
            import logging

            from fastapi import FastAPI
            from sqlalchemy import text
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine("postgresql+asyncpg://app:CHANGE_ME@db/app", pool_pre_ping=True)
            app = FastAPI()
            logger = logging.getLogger(__name__)


            @app.get("/health")
            async def health() -> dict[str, str]:
                return {"status": "ok"}


            @app.get("/ready")
            async def ready() -> dict[str, str]:
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
                try:
                    logger.info("ready")
                except Exception:
                    pass
                return {"status": "ready"}
        """,
        "k8s/deployment.yaml": """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: api
            spec:
              template:
                spec:
                  containers:
                    - name: api
                      image: registry.example.com/api:1
                      command: ["uvicorn", "app.main:app", "--port", "$(PORT)"]
                      env:
                        - {name: PORT, value: "9000"}
                      ports:
                        - {name: http, containerPort: 9000}
                      readinessProbe:
                        httpGet: {path: /ready, port: 9000}
                      livenessProbe:
                        httpGet: {path: /health, port: http}
        """,
    }
    assert codes(project(files)) == []


def test_prb004_is_silent_for_a_service_without_a_database(tmp_path: Path) -> None:
    """aks-store's ai-service (issue 16): its /health handler calls helpers whose names look
    like database work, but the service installs no database client and creates no engine."""
    from conftest import lint, write_tree

    files = {
        "pyproject.toml": '[project]\nname = "ai"\nversion = "1"\n'
        'dependencies = ["fastapi", "uvicorn", "openai"]\n',
        "app/main.py": "from fastapi import FastAPI\n\nfrom app.store import db\n\n"
        "app = FastAPI()\n\n\n"
        '@app.get("/health")\ndef health():\n    return {"ok": True}\n\n\n'
        '@app.get("/items")\ndef items():\n    return db.session.query("items")\n',
        "k8s/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ai\n"
        "spec:\n  template:\n    spec:\n      containers:\n        - name: ai\n"
        "          image: ai:1\n          command: [uvicorn, app.main:app, --host, 0.0.0.0]\n"
        "          readinessProbe:\n            httpGet: {path: /health, port: 8000}\n",
    }
    assert lint(write_tree(tmp_path, files), select=["PRB003", "PRB004"]).findings == []


def test_a_claim_that_the_service_uses_a_database_relates_the_engine() -> None:
    """Issue 16: every finding that says "the service uses a database" points at the proof."""
    from conftest import FIXTURES, lint

    (prb003,) = lint(FIXTURES / "prb003-tcp-readiness-no-endpoint").findings
    assert [(r.span.path, r.span.line) for r in prb003.related] == [("app/db.py", 5)]
    prb004 = next(
        f for f in lint(FIXTURES / "prb004-seed-health-only").findings if f.code == "PRB004"
    )
    assert ("app/db.py", 7) in {(r.span.path, r.span.line) for r in prb004.related}


HEALTH_RUNS_SELECT_1 = """

@app.get("/healthz/db")
async def database_health() -> dict[str, str]:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return {"database": "ok"}
"""
HEALTH_SWALLOWS_ERROR = """

@app.get("/health/db")
async def database_health() -> dict[str, str]:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return {"database": "down"}
    return {"database": "ok"}
"""


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (HEALTH_RUNS_SELECT_1, []),  # readiness by what it does, whatever the path says
        (HEALTH_SWALLOWS_ERROR, ["PRB003"]),  # reaches the database but never fails
        ("", ["PRB003"]),  # `/products` queries the database but is no health endpoint
    ],
)
def test_prb003_judges_a_health_endpoint_by_what_it_does(
    tmp_path: Path, extra: str, expected: list[str]
) -> None:
    import shutil

    from conftest import FIXTURES, lint

    root = tmp_path / "service"
    shutil.copytree(FIXTURES / "prb003-tcp-readiness-no-endpoint", root)
    main = root / "app" / "main.py"
    main.write_text(main.read_text() + extra)
    assert [f.code for f in lint(root).findings] == expected


def test_an_sqlite_engine_is_not_a_network_database(tmp_path: Path) -> None:
    import shutil

    from conftest import FIXTURES, lint

    root = tmp_path / "service"
    shutil.copytree(FIXTURES / "prb003-tcp-readiness-no-endpoint", root)
    db = root / "app" / "db.py"
    db.write_text(
        db.read_text().replace('os.environ["DATABASE_URL"]', '"sqlite+aiosqlite:///./catalog.db"')
    )
    assert "PRB003" not in [f.code for f in lint(root).findings]


def test_prb005_is_silent_when_the_database_is_a_file_in_each_pod(tmp_path: Path) -> None:
    """A liveness handler touching SQLite restarts nothing shared: each pod has its file."""
    import shutil

    from conftest import FIXTURES, lint

    root = tmp_path / "service"
    shutil.copytree(FIXTURES / "prb005-liveness-hits-db", root)
    assert "PRB005" in [f.code for f in lint(root).findings]
    db = root / "services" / "billing" / "app" / "db.py"
    db.write_text(
        db.read_text().replace('os.environ["DATABASE_URL"]', '"sqlite+aiosqlite:///./billing.db"')
    )
    result = lint(root)
    assert "PRB005" not in [f.code for f in result.findings]
    assert any("uses no network database" in note for note in result.notes)


def test_a_claim_proven_by_a_handler_relates_that_handler(tmp_path: Path) -> None:
    """Issue 16: with no engine, the route that talks to the database is the proof, for PRB003
    and (once the readiness probe reaches a handler that checks nothing) for PRB004 too."""
    import shutil

    from conftest import FIXTURES, lint

    (prb003,) = lint(FIXTURES / "prb003-raw-driver-no-engine").findings
    assert [(r.span.path, r.span.line) for r in prb003.related] == [("app/main.py", 15)]
    root = tmp_path / "service"
    shutil.copytree(FIXTURES / "prb003-raw-driver-no-engine", root)
    deployment = root / "k8s" / "deployment.yaml"
    deployment.write_text(
        deployment.read_text().replace(
            "          readinessProbe:\n            tcpSocket:\n",
            "          readinessProbe:\n            httpGet:\n              path: /healthz\n",
        )
    )
    (prb004,) = lint(root, select=["PRB003", "PRB004"]).findings
    assert prb004.code == "PRB004"
    assert ("app/main.py", 15) in {(r.span.path, r.span.line) for r in prb004.related}


def test_the_no_database_fixture_s_true_side(tmp_path: Path) -> None:
    """With a database client installed, the same handler is the proof PRB004 relates."""
    import shutil

    from conftest import FIXTURES, lint

    root = tmp_path / "service"
    shutil.copytree(FIXTURES / "prb004-clean-no-database", root)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"openai==1.57.0"', '"psycopg==3.2.3"'))
    (finding,) = lint(root, select=["PRB003", "PRB004"]).findings
    assert finding.code == "PRB004"
    assert ("app/main.py", 16) in {(r.span.path, r.span.line) for r in finding.related}
