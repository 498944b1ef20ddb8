"""RUN003 (ASGI app on a WSGI worker), PKG002 (command needs a missing package), and the model
facts they read: gunicorn's worker class (command line, GUNICORN_CMD_ARGS, gunicorn.conf.py,
default) and the interface of the app a server serves.

The fixtures (fixtures/run003-*, fixtures/pkg002-*) cover the layouts end to end.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import codes, write_tree
from preflight.config import Config
from preflight.engine import Result, build

Project = Callable[..., Result]

FASTAPI = "from fastapi import FastAPI\n\napp = FastAPI()\n"
FLASK = "from flask import Flask\n\napp = Flask(__name__)\n"


@pytest.fixture
def families() -> tuple[str, ...]:
    return ("RUN003", "PKG")


def dockerfile(cmd: str, env: str = "", requirements: str = "requirements.txt") -> str:
    return (
        "FROM python:3.12-slim\n"
        + env
        + f"WORKDIR /app\nCOPY {requirements} .\nRUN pip install -r {requirements}\n"
        + f"COPY . .\nCMD {cmd}\n"
    )


def at(result: Result, code: str) -> list[tuple[str, int, int]]:
    return [(f.span.path, f.span.line, f.span.col) for f in result.findings if f.code == code]


def graph_of(tmp_path: Path, files: dict[str, str]):  # type: ignore[no-untyped-def]
    return build(write_tree(tmp_path, files), ".", Config()).graph


# the model: gunicorn's worker class -------------------------------------------------------------


def test_worker_class_precedence(tmp_path: Path) -> None:
    """Command line over GUNICORN_CMD_ARGS over the config file over `sync`."""
    base = {
        "requirements.txt": "fastapi\ngunicorn\nuvicorn-worker\n",
        "app.py": FASTAPI,
        "gunicorn.conf.py": 'worker_class = "gthread"\n',
    }
    env = 'ENV GUNICORN_CMD_ARGS="-k gevent --timeout 60"\n'
    cases = [
        (dockerfile('["gunicorn", "-k", "eventlet", "app:app"]', env), "eventlet", "-k"),
        (
            dockerfile('["gunicorn", "--worker-class=sync", "app:app"]'),
            "sync",
            "--worker-class=sync",
        ),
        (dockerfile('["gunicorn", "app:app"]', env), "gevent", ""),
        (dockerfile('["gunicorn", "app:app"]'), "gthread", ""),
    ]
    for index, (text, name, word) in enumerate(cases):
        graph = graph_of(tmp_path / str(index), {**base, "Dockerfile": text})
        (unit,) = graph.served
        assert unit.worker is not None
        assert (unit.worker.name, unit.worker.word) == (name, word)
    graph = graph_of(
        tmp_path / "default",
        {
            **base,
            "gunicorn.conf.py": "workers = 2\n",
            "Dockerfile": dockerfile('["gunicorn", "app:app"]'),
        },
    )
    assert graph.served[0].worker is not None
    assert graph.served[0].worker.name == "sync"
    assert graph.served[0].worker.how == "gunicorn's default, no `-k`"


def test_worker_class_unknown_when_computed_or_from_a_secret(tmp_path: Path) -> None:
    computed = graph_of(
        tmp_path / "computed",
        {
            "requirements.txt": "fastapi\ngunicorn\n",
            "app.py": FASTAPI,
            "gunicorn.conf.py": 'import os\nworker_class = os.environ.get("WORKER", "sync")\n',
            "Dockerfile": dockerfile('["gunicorn", "app:app"]'),
        },
    )
    worker = computed.served[0].worker
    assert worker is not None and worker.name is None
    assert "computes `worker_class`" in (worker.unknown or "")


def test_app_interface_by_framework(tmp_path: Path) -> None:
    apps = {
        "fast.py": (FASTAPI, "asgi", "FastAPI"),
        "star.py": (
            "from starlette.applications import Starlette\napp = Starlette()\n",
            "asgi",
            "Starlette",
        ),
        "lite.py": (
            "from litestar import Litestar\napp = Litestar(route_handlers=[])\n",
            "asgi",
            "Litestar",
        ),
        "qrt.py": ("from quart import Quart\napp = Quart(__name__)\n", "asgi", "Quart"),
        "flk.py": (FLASK, "wsgi", "Flask"),
        "wrapped.py": (
            FASTAPI + "from a2wsgi import ASGIMiddleware\napp = ASGIMiddleware(app)\n",
            None,
            "FastAPI",
        ),
    }
    for name, (text, interface, kind) in apps.items():
        module = name.removesuffix(".py")
        graph = graph_of(
            tmp_path / module,
            {
                "requirements.txt": "gunicorn\n",
                name: text,
                "Dockerfile": dockerfile(f'["gunicorn", "{module}:app"]'),
            },
        )
        app = graph.served[0].app
        assert app is not None, name
        assert (app.interface, app.kind) == (interface, kind), name


def test_django_application_interface(tmp_path: Path) -> None:
    files = {
        "requirements.txt": "django\ngunicorn\n",
        "proj/__init__.py": "",
        "proj/settings.py": 'ROOT_URLCONF = "proj.urls"\n',
        "proj/urls.py": "urlpatterns = []\n",
        "proj/asgi.py": (
            "import os\nfrom channels.routing import ProtocolTypeRouter\n"
            "from django.core.asgi import get_asgi_application\n"
            'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")\n'
            'application = ProtocolTypeRouter({"http": get_asgi_application()})\n'
        ),
        "proj/wsgi.py": (
            "import os\nfrom django.core.wsgi import get_wsgi_application\n"
            "from whitenoise import WhiteNoise\n"
            'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")\n'
            "application = WhiteNoise(get_wsgi_application())\n"
        ),
    }
    for module, interface in (("asgi", "asgi"), ("wsgi", "wsgi")):
        graph = graph_of(
            tmp_path / module,
            {**files, "Dockerfile": dockerfile(f'["gunicorn", "proj.{module}:application"]')},
        )
        app = graph.served[0].app
        assert app is not None and (app.kind, app.interface) == ("Django", interface)


# RUN003 -----------------------------------------------------------------------------------------


def test_fastapi_on_the_default_worker_points_at_gunicorn(project: Project) -> None:
    result = project(
        {
            "requirements.txt": "fastapi\ngunicorn\n",
            "app.py": FASTAPI,
            "Dockerfile": dockerfile('["gunicorn", "app:app", "-b", "0.0.0.0:8000"]'),
        }
    )
    assert at(result, "RUN003") == [("Dockerfile", 6, 7)]
    (finding,) = result.findings
    assert "`app:app`, a FastAPI app (ASGI)" in finding.message
    assert "missing 1 required positional argument: 'send'" in finding.message
    assert [r.span.path for r in finding.related] == ["app.py"]
    assert "uvicorn_worker.UvicornWorker" in (finding.fix or "")


def test_worker_from_gunicorn_cmd_args_and_python_m(project: Project) -> None:
    result = project(
        {
            "requirements.txt": "fastapi\ngunicorn[gevent]\n",
            "app.py": FASTAPI,
            "Dockerfile": dockerfile(
                '["python", "-m", "gunicorn", "app:app"]', env='ENV GUNICORN_CMD_ARGS="-k gevent"\n'
            ),
        }
    )
    assert codes(result) == ["RUN003"]
    assert "`-k gevent` in GUNICORN_CMD_ARGS" in result.findings[0].message


@pytest.mark.parametrize(
    ("app", "cmd"),
    [
        (FLASK, '["gunicorn", "app:app"]'),  # WSGI on a WSGI worker: right
        (FASTAPI, '["gunicorn", "-k", "tornado", "app:app"]'),  # a worker it does not judge
        (FASTAPI, '["gunicorn", "-k", "mypkg.workers.Custom", "app:app"]'),
        (FASTAPI, '["gunicorn", "other:app"]'),  # the app is not resolved
        ("from mylib import make\napp = make()\n", '["gunicorn", "app:app"]'),  # not known
    ],
)
def test_silent_when_right_or_unsure(project: Project, app: str, cmd: str) -> None:
    files = {"requirements.txt": "fastapi\nflask\ngunicorn\n", "app.py": app}
    assert codes(project({**files, "Dockerfile": dockerfile(cmd)})) == []


def test_silent_when_an_env_from_may_set_gunicorn_cmd_args(project: Project) -> None:
    files = {
        "requirements.txt": "fastapi\ngunicorn\n",
        "app.py": FASTAPI,
        "Dockerfile": dockerfile('["gunicorn", "app:app"]'),
        "k8s/deploy.yaml": """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: api}
            spec:
              selector: {matchLabels: {app: api}}
              template:
                metadata: {labels: {app: api}}
                spec:
                  containers:
                    - name: api
                      image: ghcr.io/acme/api:1
                      envFrom:
                        - configMapRef: {name: gunicorn-settings}
        """,
    }
    assert "RUN003" not in codes(project(files, select=["RUN003"]))


@pytest.mark.parametrize(
    ("pin", "fires"),
    [
        ("uvicorn==0.32.1", True),
        ("uvicorn==0.29.0", False),
        ("uvicorn>=0.30", False),  # not pinned: the installed version is not known
    ],
)
def test_deprecated_uvicorn_workers_by_pinned_version(
    project: Project, pin: str, fires: bool
) -> None:
    result = project(
        {
            "requirements.txt": f"fastapi\ngunicorn\n{pin}\n",
            "app.py": FASTAPI,
            "Dockerfile": dockerfile(
                '["gunicorn", "app:app", "-k", "uvicorn.workers.UvicornWorker"]'
            ),
        }
    )
    if fires:
        assert at(result, "RUN003") == [("Dockerfile", 6, 30)]
        assert result.findings[0].severity.value == "warning"
        assert "uvicorn_worker.UvicornWorker" in (result.findings[0].fix or "")
    else:
        assert codes(result) == []


def test_deprecated_worker_from_a_uv_lock(project: Project) -> None:
    result = project(
        {
            "pyproject.toml": '[project]\nname = "a"\nversion = "1"\ndependencies = ["fastapi", "gunicorn", "uvicorn"]\n',
            "uv.lock": 'version = 1\n\n[[package]]\nname = "uvicorn"\nversion = "0.34.0"\n',
            "app.py": FASTAPI,
            "Procfile": "web: gunicorn app:app -k uvicorn.workers.UvicornWorker\n",
        }
    )
    assert at(result, "RUN003") == [("Procfile", 1, 23)]
    assert "uvicorn 0.34.0 pinned in the lock file" in result.findings[0].message


# PKG002 -----------------------------------------------------------------------------------------


def test_uvicorn_worker_missing_anchors_at_the_k_of_the_cmd(project: Project) -> None:
    """The entrypoint script `exec "$@"`s the CMD: the `-k` is written in the Dockerfile."""
    result = project(
        {
            "requirements.txt": "fastapi\ngunicorn\nuvicorn\n",
            "app.py": FASTAPI,
            "entrypoint.sh": '#!/bin/sh\nset -e\nexec "$@"\n',
            "Dockerfile": (
                "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n"
                'RUN chmod +x entrypoint.sh\nENTRYPOINT ["./entrypoint.sh"]\n'
                'CMD ["gunicorn", "app:app", "-k", "uvicorn_worker.UvicornWorker"]\n'
            ),
        },
        select=["PKG002"],
    )
    assert at(result, "PKG002") == [("Dockerfile", 7, 30)]
    assert result.findings[0].fix == "Add `uvicorn-worker` to requirements.txt."


@pytest.mark.parametrize(
    ("requirements", "cmd", "found"),
    [
        ("fastapi\nuvicorn\n", '["uvicorn", "app:app", "--loop", "uvloop"]', ["uvloop"]),
        ("fastapi\nuvicorn\n", '["uvicorn", "app:app", "--ws=wsproto"]', ["wsproto"]),
        ("fastapi\nuvicorn\n", '["uvicorn", "app:app", "--log-config", "log.yml"]', ["PyYAML"]),
        (
            "fastapi\nuvicorn[standard]\n",
            '["uvicorn", "app:app", "--loop", "uvloop", "--ws", "websockets"]',
            [],
        ),
        (
            "fastapi\nfastapi-cli\n",
            '["uvicorn", "app:app", "--http", "httptools"]',
            [],
        ),  # brings uvicorn[standard]
        ("fastapi\nuvicorn\n", '["uvicorn", "app:app", "--loop", "asyncio", "--http", "h11"]', []),
        ("fastapi\nuvicorn\n", '["uvicorn", "app:app", "--log-config", "logging.ini"]', []),
        ("fastapi\nuvicorn\nPyYAML\n", '["uvicorn", "app:app", "--log-config", "log.yaml"]', []),
        ("flask\ngunicorn\n", '["gunicorn", "-k", "eventlet", "app:app"]', ["eventlet"]),
        ("flask\ngunicorn[eventlet]\n", '["gunicorn", "-k", "eventlet", "app:app"]', []),
        # the server itself is missing: PKG001's finding, not this one
        ("fastapi\n", '["gunicorn", "app:app", "-k", "uvicorn_worker.UvicornWorker"]', []),
    ],
)
def test_what_the_command_names(
    project: Project, requirements: str, cmd: str, found: list[str]
) -> None:
    app = FLASK if "flask" in requirements else FASTAPI
    result = project(
        {"requirements.txt": requirements, "app.py": app, "Dockerfile": dockerfile(cmd)},
        select=["PKG002"],
    )
    named = [f.headline.split("`")[3] for f in result.findings]
    assert named == found


def test_silent_when_the_image_is_not_fully_known(project: Project) -> None:
    result = project(
        {
            "requirements.txt": "fastapi\nuvicorn\n",
            "app.py": FASTAPI,
            "Dockerfile": dockerfile('["uvicorn", "app:app", "--loop", "uvloop"]').replace(
                "FROM python:3.12-slim", "FROM acme/python-base:3"
            ),
        },
        select=["PKG002"],
    )
    assert codes(result) == []


# PKG001: the `fastapi` command --------------------------------------------------------------------


def test_fastapi_run_with_plain_fastapi_names_the_standard_extra(project: Project) -> None:
    result = project(
        {
            "requirements.txt": "fastapi\n",
            "main.py": FASTAPI,
            "Dockerfile": dockerfile('["fastapi", "run", "main.py"]'),
        },
        select=["PKG001"],
    )
    (finding,) = result.findings
    assert finding.fix == "Add `fastapi[standard]` to requirements.txt."
    assert "without its `standard` extra" in finding.message
    assert "fastapi[standard]" in finding.headline
