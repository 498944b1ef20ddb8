"""End to end: fixtures/reference-service installs, starts as its Dockerfile says and works.

The fixture is pip-installed (not editable) into a fresh venv, with nothing but its own declared
dependencies, once per module. The server is started with the exact argv of the Dockerfile's
CMD (only the bind address changes, to 127.0.0.1 and a free port), from a directory where
``app`` can only be the installed package, with that venv as the only PATH entry: a program or
module the image would not install cannot stand in for it here.

PostgreSQL comes from PREFLIGHT_E2E_DATABASE_URL; without it the module skips. CI also sets
PREFLIGHT_E2E_REQUIRED=1: there, a missing or unreachable database fails the tests instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
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
DATABASE_URL = os.environ.get("PREFLIGHT_E2E_DATABASE_URL", "")
REQUIRED = os.environ.get("PREFLIGHT_E2E_REQUIRED", "") not in ("", "0")
SECRET_KEY = "e2e-only-secret-key-" + "x" * 32
START_TIMEOUT = 30.0
SECURITY_HEADERS = {
    "strict-transport-security",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
}

if not DATABASE_URL and not REQUIRED:
    pytest.skip(
        "PREFLIGHT_E2E_DATABASE_URL is not set: the reference-service end-to-end tests need a "
        "PostgreSQL URL, e.g. postgresql://postgres@127.0.0.1:5432/test",
        allow_module_level=True,
    )
if sys.version_info < (3, 11):
    pytest.skip("the reference service requires Python >= 3.11", allow_module_level=True)


# --- helpers -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _logical_lines(text: str) -> Iterator[str]:
    """Dockerfile lines with backslash continuations joined."""
    pending = ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") and not pending:
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield pending + line
        pending = ""
    if pending:
        yield pending


def dockerfile_cmd(dockerfile: Path) -> list[str]:
    """The argv of the Dockerfile's last CMD, which must be exec form (a JSON array)."""
    commands = [
        match.group(1)
        for line in _logical_lines(dockerfile.read_text(encoding="utf-8"))
        if (match := re.match(r"\s*CMD\s+(.*)$", line, re.IGNORECASE))
    ]
    assert commands, f"{dockerfile} has no CMD"
    try:
        argv = json.loads(commands[-1])
    except json.JSONDecodeError:
        pytest.fail(f"{dockerfile}: the CMD is not exec form (a JSON array): {commands[-1]}")
    assert isinstance(argv, list), argv
    assert argv, argv
    assert all(isinstance(arg, str) for arg in argv), argv
    return argv


def with_bind(argv: list[str], bind: str) -> list[str]:
    """argv with gunicorn's bind address replaced, and nothing else changed."""
    result = list(argv)
    places = [i for i, arg in enumerate(result) if arg in ("--bind", "-b") and i + 1 < len(result)]
    attached = [i for i, arg in enumerate(result) if arg.startswith("--bind=")]
    assert len(places) + len(attached) == 1, f"expected exactly one --bind in the CMD: {argv}"
    for i in places:
        result[i + 1] = bind
    for i in attached:
        result[i] = f"--bind={bind}"
    return result


def make_venv(root: Path, project: Path) -> Path:
    """A fresh venv holding `project` installed from its own declared dependencies only."""
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=300)
    result = subprocess.run(
        [
            str(root / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            str(project),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        pytest.fail(f"pip install {project} failed:\n{result.stdout}\n{result.stderr}")
    return root


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-6000:]

    def wait_exit(self) -> int | None:
        """The exit code, or None (after stopping it) if it still runs after START_TIMEOUT."""
        try:
            return self.process.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.stop()
            return None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # gunicorn's master stops its workers gracefully
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # its own session: master + workers
                self.process.wait()


def start(venv: Path, project: Path, workdir: Path, settings: dict[str, str]) -> Server:
    """Run the Dockerfile's CMD of `project` as the container would, bound to a free port."""
    port = _free_port()
    argv = with_bind(dockerfile_cmd(project / "Dockerfile"), f"127.0.0.1:{port}")
    env = {
        # The image's PATH starts with its venv; here the venv is all there is.
        "PATH": str(venv / "bin"),
        "HOME": str(workdir),
        "LC_ALL": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        **settings,
    }
    log = workdir / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            argv,  # argv[0] is looked up on env["PATH"]
            cwd=workdir,  # holds no `app` package: the installed one is imported
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(process, f"http://127.0.0.1:{port}", log)


def wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"the server exited with {server.process.returncode}:\n{server.output()}")
        try:
            if _call(server.base, "GET", "/health")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"/health did not answer within {START_TIMEOUT:.0f} s:\n{server.output()}")


def _exchange(
    base: str, method: str, path: str, body: object = None, token: str | None = None
) -> tuple[int, dict[str, str], Any]:
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
            status, raw, received = response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        status, raw, received = exc.code, exc.read(), exc.headers
    return status, {k.lower(): v for k, v in received.items()}, json.loads(raw) if raw else None


def _call(
    base: str, method: str, path: str, body: object = None, token: str | None = None
) -> tuple[int, Any]:
    status, _, payload = _exchange(base, method, path, body, token)
    return status, payload


def _database_reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 3):
            return True
    except OSError:
        return False


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def database_url() -> str:
    if not DATABASE_URL:  # only reached when PREFLIGHT_E2E_REQUIRED is set
        pytest.fail("PREFLIGHT_E2E_REQUIRED is set but PREFLIGHT_E2E_DATABASE_URL is not")
    if not _database_reachable(DATABASE_URL):
        where = urlsplit(DATABASE_URL)  # host and port only: the URL may hold a password
        skip_or_fail = pytest.fail if REQUIRED else pytest.skip
        skip_or_fail(
            f"PostgreSQL unreachable at {where.hostname}:{where.port or 5432} "
            "(from PREFLIGHT_E2E_DATABASE_URL)"
        )
    return DATABASE_URL


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_venv(tmp_path_factory.mktemp("refsvc") / "venv", FIXTURE)


@pytest.fixture(scope="module")
def run_server(
    venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], Server]]:
    servers: list[Server] = []

    def run(database_url: str) -> Server:
        workdir = tmp_path_factory.mktemp("server")
        server = start(
            venv, FIXTURE, workdir, {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY}
        )
        servers.append(server)
        wait_healthy(server)
        return server

    yield run
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def server(run_server: Callable[[str], Server], database_url: str) -> Server:
    return run_server(database_url)


@pytest.fixture(scope="module")
def server_without_db(run_server: Callable[[str], Server]) -> Server:
    # The same service restarted against a port nothing listens on: connections are refused.
    return run_server(f"postgresql://postgres@127.0.0.1:{_free_port()}/test")


@pytest.fixture(scope="module")
def user(server: Server) -> tuple[dict[str, Any], str]:
    """A registered user and its access token."""
    email = f"e2e-{uuid.uuid4().hex}@example.com"
    password = "correct horse battery"
    status, created = _call(
        server.base, "POST", "/auth/register", {"email": email, "password": password}
    )
    assert status == 201, created
    status, token = _call(
        server.base, "POST", "/auth/login", {"email": email, "password": password}
    )
    assert status == 200, token
    return created, token["access_token"]


# --- the Dockerfile is read as intended ----------------------------------------------------


def test_dockerfile_cmd_is_read_and_only_the_bind_changes() -> None:
    argv = dockerfile_cmd(FIXTURE / "Dockerfile")
    assert argv[:2] == ["gunicorn", "app.main:app"]
    assert "uvicorn_worker.UvicornWorker" in argv
    changed = with_bind(argv, "127.0.0.1:1234")
    assert [a for a, b in zip(argv, changed, strict=True) if a != b] == ["0.0.0.0:8000"]


# --- the running service --------------------------------------------------------------------


def test_health(server: Server) -> None:
    status, headers, body = _exchange(server.base, "GET", "/health")
    assert (status, body) == (200, {"status": "ok"})
    assert headers.keys() >= SECURITY_HEADERS, headers


def test_ready_with_database(server: Server) -> None:
    assert _call(server.base, "GET", "/ready") == (
        200,
        {"status": "ready", "database": "connected"},
    )


def test_register_login_create_and_list_with_the_jwt(server: Server) -> None:
    base = server.base
    email = f"e2e-{uuid.uuid4().hex}@Example.com"
    password = "correct horse battery"

    status, user = _call(base, "POST", "/auth/register", {"email": email, "password": password})
    assert status == 201, user
    assert user["email"] == email.lower()
    assert "hashed_password" not in user
    assert "password" not in user
    status, _ = _call(base, "POST", "/auth/register", {"email": email, "password": password})
    assert status == 409
    status, _ = _call(base, "POST", "/auth/login", {"email": email, "password": "wrong pass"})
    assert status == 401

    status, token = _call(base, "POST", "/auth/login", {"email": email, "password": password})
    assert status == 200, token
    assert token["token_type"] == "bearer"
    access = token["access_token"]
    assert _call(base, "GET", "/auth/me", token=access) == (200, user)

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


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/projects", None),
        ("POST", "/projects", {"name": "x"}),
        ("GET", "/auth/me", None),
    ],
)
@pytest.mark.parametrize("token", [None, "not-a-jwt"])
def test_unauthenticated_request_is_401(
    server: Server, method: str, path: str, body: object, token: str | None
) -> None:
    status, headers, payload = _exchange(server.base, method, path, body, token)
    assert status == 401, payload
    assert headers.get("www-authenticate") == "Bearer"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/auth/register", {"email": "not-an-email", "password": "long enough"}),
        ("/auth/register", {"email": "a@example.com", "password": "short"}),
        ("/auth/register", {"email": "a@example.com"}),
        ("/auth/login", {"password": "whatever"}),
        ("/projects", {"name": ""}),
        ("/projects", {"name": ["not", "a", "string"]}),
        ("/projects", {}),
    ],
)
def test_invalid_body_is_422(
    server: Server, user: tuple[dict[str, Any], str], path: str, body: object
) -> None:
    _, access = user
    status, payload = _call(server.base, "POST", path, body, token=access)
    assert status == 422, payload
    assert isinstance(payload["detail"], list)
    assert payload["detail"], payload


def test_restarted_with_database_down_is_live_but_not_ready(server_without_db: Server) -> None:
    assert _call(server_without_db.base, "GET", "/health") == (200, {"status": "ok"})
    status, headers, body = _exchange(server_without_db.base, "GET", "/ready")
    assert status == 503, body
    assert headers["content-type"] == "application/json"
    assert body == {"status": "not_ready", "database": "unreachable"}
    assert _call(server_without_db.base, "GET", "/health") == (200, {"status": "ok"})


def test_missing_secret_key_stops_start_up_naming_it(
    venv: Path, database_url: str, tmp_path: Path
) -> None:
    server = start(venv, FIXTURE, tmp_path, {"DATABASE_URL": database_url})
    code = server.wait_exit()
    assert code is not None, f"the server kept running without SECRET_KEY:\n{server.output()}"
    assert code != 0
    assert "SECRET_KEY" in server.output()
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
        [str(venv / "bin" / "python"), "-c", script],
        cwd=tmp_path,
        env={"PATH": str(venv / "bin"), "HOME": str(tmp_path)},
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


# --- the harness catches what the container would hit --------------------------------------


def test_missing_runtime_dependency_fails_start(database_url: str, tmp_path: Path) -> None:
    """With uvicorn-worker dropped from the fixture's dependencies, the Dockerfile CMD cannot
    start: the harness above would fail exactly as the container would."""
    import tomllib

    project = tmp_path / "reference-service"
    shutil.copytree(
        FIXTURE,
        project,
        ignore=shutil.ignore_patterns("__pycache__", ".*_cache", ".venv", "*.egg-info"),
    )
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pattern = re.compile(r'^\s*"uvicorn[-_]worker\b[^"]*",?[ \t]*(#.*)?\n', re.MULTILINE)
    text, removed = pattern.subn("", text)
    assert removed == 1, "uvicorn-worker is not a dependency line of the fixture's pyproject"
    pyproject.write_text(text, encoding="utf-8")
    dependencies = tomllib.loads(text)["project"]["dependencies"]
    assert not [d for d in dependencies if re.match(r"uvicorn[-_.]worker", d, re.IGNORECASE)]

    venv = make_venv(tmp_path / "venv", project)
    workdir = tmp_path / "run"
    workdir.mkdir()
    server = start(venv, project, workdir, {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY})
    code = server.wait_exit()
    assert code is not None, f"started without uvicorn-worker installed:\n{server.output()}"
    assert code != 0, server.output()
    assert "uvicorn_worker" in server.output()
