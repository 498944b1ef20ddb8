"""End to end: fixtures/reference-service installs, starts under gunicorn and really works.

The fixture is pip-installed (not editable) into a fresh venv once per module and started the
way its Dockerfile CMD starts it, from a directory where ``app`` can only be the installed
package. PostgreSQL comes from PREFLIGHT_E2E_DATABASE_URL (default: local trust auth); only
an unreachable database skips these tests.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "reference-service"
DATABASE_URL = os.environ.get(
    "PREFLIGHT_E2E_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
SECRET_KEY = "e2e-only-secret-key-" + "x" * 32
START_TIMEOUT = 30.0
# Settings the app reads: never inherit them from the environment running the tests.
SETTINGS_VARS = (
    "DATABASE_URL",
    "SECRET_KEY",
    "CORS_ORIGINS",
    "ACCESS_TOKEN_EXPIRE_MINUTES",
    "DB_CONNECT_TIMEOUT_SECONDS",
    "DB_POOL_SIZE",
    "DB_MAX_OVERFLOW",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database_reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 3):
            return True
    except OSError:
        return False


def _call(
    base: str, method: str, path: str, body: object = None, token: str | None = None
) -> tuple[int, Any]:
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    return status, json.loads(raw) if raw else None


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-6000:]


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if sys.version_info < (3, 11):
        pytest.skip("the reference service requires Python >= 3.11")
    if not _database_reachable(DATABASE_URL):
        where = urlsplit(DATABASE_URL)  # host and port only: the URL may hold a password
        # CI sets PREFLIGHT_E2E_REQUIRED=1: there, no database is a failure, not a skip.
        skip_or_fail = pytest.fail if os.environ.get("PREFLIGHT_E2E_REQUIRED") else pytest.skip
        skip_or_fail(
            f"PostgreSQL unreachable at {where.hostname}:{where.port or 5432} "
            "(set PREFLIGHT_E2E_DATABASE_URL)"
        )
    root = tmp_path_factory.mktemp("refsvc-venv")
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    result = subprocess.run(
        [
            root / "bin" / "python",
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            str(FIXTURE),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        pytest.fail(f"pip install of the fixture failed:\n{result.stdout}\n{result.stderr}")
    return root


def _start(venv: Path, workdir: Path, name: str, env_overrides: dict[str, str]) -> Server:
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in SETTINGS_VARS and key != "PYTHONPATH"
    }
    env.update(HOME=str(workdir), **env_overrides)
    log = workdir / f"{name}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                venv / "bin" / "gunicorn",
                "app.main:app",
                "--worker-class",
                "uvicorn_worker.UvicornWorker",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
            ],
            cwd=workdir,  # holds no `app` package: the installed one is imported
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return Server(process, f"http://127.0.0.1:{port}", log)


def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"gunicorn exited with {server.process.returncode}:\n{server.output()}")
        try:
            if _call(server.base, "GET", "/health")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"/health did not answer within {START_TIMEOUT:.0f} s:\n{server.output()}")


def _stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture(scope="module")
def run_server(
    venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str, str], Server]]:
    servers: list[Server] = []

    def run(name: str, database_url: str) -> Server:
        workdir = tmp_path_factory.mktemp(name)
        server = _start(
            venv, workdir, name, {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY}
        )
        servers.append(server)
        _wait_healthy(server)
        return server

    yield run
    for server in servers:
        _stop(server)


@pytest.fixture(scope="module")
def server(run_server: Callable[[str, str], Server]) -> Server:
    return run_server("with-db", DATABASE_URL)


@pytest.fixture(scope="module")
def server_without_db(run_server: Callable[[str, str], Server]) -> Server:
    # Port 1 (tcpmux) has no listener: connections are refused at once.
    return run_server("without-db", "postgresql://postgres@127.0.0.1:1/test")


def test_health(server: Server) -> None:
    assert _call(server.base, "GET", "/health") == (200, {"status": "ok"})


def test_ready_with_database(server: Server) -> None:
    assert _call(server.base, "GET", "/ready") == (
        200,
        {"status": "ready", "database": "connected"},
    )


def test_ready_without_database(server_without_db: Server) -> None:
    status, body = _call(server_without_db.base, "GET", "/ready")
    assert status == 503, body
    assert body == {"detail": {"status": "not_ready", "database": "unreachable"}}
    assert _call(server_without_db.base, "GET", "/health") == (200, {"status": "ok"})


def test_auth_and_project_round_trip(server: Server) -> None:
    base = server.base
    email = f"e2e-{uuid.uuid4().hex}@example.com"
    password = "correct horse battery"

    status, user = _call(base, "POST", "/auth/register", {"email": email, "password": password})
    assert status == 201, user
    assert user["email"] == email
    assert "hashed_password" not in user
    status, _ = _call(base, "POST", "/auth/register", {"email": email, "password": password})
    assert status == 409
    status, _ = _call(base, "POST", "/auth/login", {"email": email, "password": "wrong pass"})
    assert status == 401

    status, token = _call(base, "POST", "/auth/login", {"email": email, "password": password})
    assert status == 200, token
    assert token["token_type"] == "bearer"
    access = token["access_token"]
    assert _call(base, "GET", "/auth/me", token=access) == (200, user)
    assert _call(base, "GET", "/projects")[0] == 401
    assert _call(base, "GET", "/projects", token="not-a-jwt")[0] == 401

    status, project = _call(base, "POST", "/projects", {"name": "Launch"}, token=access)
    assert status == 201, project
    assert project["owner_id"] == user["id"]
    project_path = f"/projects/{project['id']}"
    assert _call(base, "GET", "/projects", token=access) == (200, [project])
    status, renamed = _call(base, "PATCH", project_path, {"description": "v1"}, token=access)
    assert status == 200
    assert renamed["name"] == "Launch"
    assert renamed["description"] == "v1"

    status, task = _call(base, "POST", f"{project_path}/tasks", {"title": "Ship"}, token=access)
    assert status == 201, task
    assert task["done"] is False
    status, done = _call(
        base, "PATCH", f"{project_path}/tasks/{task['id']}", {"done": True}, token=access
    )
    assert status == 200
    assert done["done"] is True
    assert _call(base, "GET", f"{project_path}/tasks", token=access) == (200, [done])

    # Another user sees none of it.
    other = f"e2e-{uuid.uuid4().hex}@example.com"
    assert _call(base, "POST", "/auth/register", {"email": other, "password": password})[0] == 201
    _, other_token = _call(base, "POST", "/auth/login", {"email": other, "password": password})
    assert _call(base, "GET", project_path, token=other_token["access_token"])[0] == 404
    assert _call(base, "GET", "/projects", token=other_token["access_token"]) == (200, [])

    assert _call(base, "DELETE", project_path, token=access) == (204, None)
    assert _call(base, "GET", project_path, token=access)[0] == 404
    assert _call(base, "GET", "/projects", token=access) == (200, [])


def test_missing_secret_key_stops_start_up_naming_it(
    venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    workdir = tmp_path_factory.mktemp("no-secret")
    server = _start(venv, workdir, "no-secret", {"DATABASE_URL": DATABASE_URL})
    try:
        server.process.wait(timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        _stop(server)
        pytest.fail(f"gunicorn kept running without SECRET_KEY:\n{server.output()}")
    assert server.process.returncode != 0
    assert "missing required environment variable(s): SECRET_KEY" in server.output()


def test_neon_url_is_rewritten_for_asyncpg(venv: Path, tmp_path: Path) -> None:
    script = """
from sqlalchemy.ext.asyncio import create_async_engine
from app.config import Settings
neon = ("postgresql://alex:p%40ss@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb"
        "?sslmode=require&channel_binding=require")
settings = Settings(database_url=neon, secret_key="k" * 32)
engine = create_async_engine(settings.database_url)
_, kwargs = engine.dialect.create_connect_args(engine.url)
print(settings.database_url)
print(sorted(kwargs.items()))
"""
    result = subprocess.run(
        [venv / "bin" / "python", "-c", script],
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    url, kwargs = result.stdout.splitlines()
    assert url == (
        "postgresql+asyncpg://alex:p%40ss@ep-cool-darkness-123456.us-east-2.aws.neon.tech"
        "/neondb?ssl=require"
    )
    assert kwargs == repr(
        sorted(
            {
                "database": "neondb",
                "host": "ep-cool-darkness-123456.us-east-2.aws.neon.tech",
                "password": "p@ss",
                "ssl": "require",
                "user": "alex",
            }.items()
        )
    )
