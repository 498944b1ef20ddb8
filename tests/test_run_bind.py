"""RUN001 (server bound to loopback) and RUN004 (dev server in production): the awkward cases.

Each test writes a small project as users lay it out and lints it the way `preflight check`
does; the fixtures (fixtures/run00*) cover the layouts end to end.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import codes
from preflight.engine import Result

Project = Callable[..., Result]

REQUIREMENTS = "fastapi==0.115.6\nuvicorn==0.32.1\ngunicorn==23.0.0\nflask==3.0.3\n"
MAIN = """
from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
async def health():
    return {"status": "ok"}
"""


@pytest.fixture
def families() -> tuple[str, ...]:
    # RUN003 also judges these gunicorn commands (a FastAPI app on the default sync worker):
    # tests/test_run003.py covers that; here only where servers listen, and dev modes
    return ("RUN001", "RUN002", "RUN004", "RUN006")


def dockerfile(cmd: str, env: str = "") -> str:
    return (
        "FROM python:3.12-slim\n"
        + env
        + "WORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
        + f"COPY . .\nCMD {cmd}\n"
    )


def deployment(
    command: str = "", env: str = "", image: str = "ghcr.io/acme/api:1", extra: str = ""
) -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
    spec:
      containers:
        - name: api
          image: {image}
{command}{env}          ports:
            - name: http
              containerPort: 8000
          readinessProbe:
            httpGet:
              path: /health
              port: http
{extra}"""


def at(result: Result, code: str) -> list[tuple[str, int, int]]:
    return [(f.span.path, f.span.line, f.span.col) for f in result.findings if f.code == code]


# RUN001 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cmd", "loopback"),
    [
        ('["uvicorn", "main:app"]', True),
        ('["uvicorn", "main:app", "--host", "0.0.0.0"]', False),
        ('["uvicorn", "main:app", "--host=::"]', False),
        ('["uvicorn", "main:app", "--host", "localhost"]', True),
        ('["uvicorn", "main:app", "--uds", "/tmp/app.sock"]', False),
        ('["python", "-m", "uvicorn", "main:app", "--port", "80"]', True),
        ('["hypercorn", "main:app"]', True),
        ('["hypercorn", "main:app", "-b", "0.0.0.0:8000"]', False),
        ('["hypercorn", "-c", "hypercorn.toml", "main:app"]', False),  # the file may bind
        ('["granian", "--interface", "asgi", "main:app"]', True),
        ('["granian", "--interface", "asgi", "--host", "0.0.0.0", "main:app"]', False),
        ('["daphne", "-p", "8000", "main:app"]', True),  # -p alone keeps 127.0.0.1
        ('["daphne", "-b", "0.0.0.0", "main:app"]', False),
        ('["fastapi", "run", "main.py"]', False),
        ('["fastapi", "dev", "main.py"]', True),
        ('["gunicorn", "-b", "127.0.0.1:8000", "main:app"]', True),
        ('["gunicorn", "-b", "unix:/run/app.sock", "main:app"]', False),
        ('["gunicorn", "--bind=0.0.0.0:${PORT:-8000}", "main:app"]', False),
        ('["sh", "-c", "exec uvicorn main:app --host ${HOST:-0.0.0.0}"]', False),
        ('["flask", "--app", "main", "run"]', True),
        ('["flask", "--app", "main", "run", "-h", "0.0.0.0"]', False),
    ],
)
def test_where_each_server_listens(project: Project, cmd: str, loopback: bool) -> None:
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "main.py": MAIN,
            "Dockerfile": dockerfile(cmd),
            "k8s/deployment.yaml": deployment(),
        },
        select=["RUN001"],
    )
    assert (codes(result) == ["RUN001"]) is loopback, [f.message for f in result.findings]


@pytest.mark.parametrize(
    ("address", "loopback"),
    [("8000", True), ("0.0.0.0:8000", False), ("0:8000", False), ("localhost:8000", True)],
)
def test_runserver_addresses(project: Project, address: str, loopback: bool) -> None:
    result = project(
        {
            "requirements.txt": "django==5.1\n",
            "manage.py": "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 's')\n",
            "k8s/deployment.yaml": deployment(
                command=f'          command: ["python", "manage.py", "runserver", "{address}"]\n'
            ),
        },
        select=["RUN001"],
    )
    assert (codes(result) == ["RUN001"]) is loopback


def test_message_names_the_command_and_what_cannot_reach_it(project: Project) -> None:
    service = """
apiVersion: v1
kind: Service
metadata:
  name: api
spec:
  selector:
    app: api
  ports:
    - port: 80
      targetPort: http
"""
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "main.py": MAIN,
            "Dockerfile": dockerfile('["uvicorn", "main:app", "--port", "8000"]'),
            "k8s/deployment.yaml": deployment(),
            "k8s/service.yaml": service,
        }
    )
    (finding,) = result.findings
    assert finding.code == "RUN001"
    assert (finding.span.path, finding.span.line, finding.span.col) == ("Dockerfile", 6, 7)
    assert "`uvicorn`" in finding.message and "127.0.0.1" in finding.message
    assert "Service `api`" in finding.message and "readinessProbe" in finding.message
    assert {r.span.path for r in finding.related} == {"k8s/service.yaml", "k8s/deployment.yaml"}
    assert finding.fix == "Add `--host 0.0.0.0` to the command."


def test_gunicorn_port_in_the_environment_binds_all_interfaces(project: Project) -> None:
    files = {
        "requirements.txt": REQUIREMENTS,
        "main.py": MAIN,
        "Dockerfile": dockerfile('["gunicorn", "main:app", "-k", "uvicorn.workers.UvicornWorker"]'),
    }
    bare = project({**files, "k8s/deployment.yaml": deployment()})
    assert at(bare, "RUN001") == [("Dockerfile", 6, 7)]
    with_port = project(
        {
            **files,
            "k8s/deployment.yaml": deployment(
                env='          env:\n            - name: PORT\n              value: "8000"\n'
            ),
        }
    )
    assert codes(with_port) == []


def test_gunicorn_with_an_unreadable_env_from_may_get_port(project: Project) -> None:
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "main.py": MAIN,
            "Dockerfile": dockerfile('["gunicorn", "main:app"]'),
            "k8s/deployment.yaml": deployment(
                env="          envFrom:\n            - configMapRef:\n                name: elsewhere\n"
            ),
        }
    )
    assert codes(result) == []


def test_gunicorn_cmd_args_and_config_file_precedence(project: Project) -> None:
    files = {
        "requirements.txt": REQUIREMENTS,
        "main.py": MAIN,
        "gunicorn.conf.py": 'bind = "127.0.0.1:8000"\nworkers = 2\n',
        "k8s/deployment.yaml": deployment(),
    }
    from_file = project({**files, "Dockerfile": dockerfile('["gunicorn", "main:app"]')})
    assert at(from_file, "RUN001") == [("gunicorn.conf.py", 1, 1)]
    overridden = project(
        {
            **files,
            "Dockerfile": dockerfile(
                '["gunicorn", "main:app"]', env='ENV GUNICORN_CMD_ARGS="--bind 0.0.0.0:8000"\n'
            ),
        }
    )
    assert codes(overridden) == []  # GUNICORN_CMD_ARGS beats the file
    cli = project({**files, "Dockerfile": dockerfile('["gunicorn", "-b", ":8000", "main:app"]')})
    assert codes(cli) == []


def test_a_computed_bind_in_the_config_file_is_not_judged(project: Project) -> None:
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "main.py": MAIN,
            "gunicorn.conf.py": 'import os\nbind = os.environ.get("BIND", "127.0.0.1:8000")\n',
            "Dockerfile": dockerfile('["gunicorn", "main:app"]'),
            "k8s/deployment.yaml": deployment(),
        }
    )
    assert codes(result) == []


def test_config_file_named_by_c_relative_to_chdir(project: Project) -> None:
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "src/main.py": MAIN,
            "src/conf/web.py": 'bind = ["localhost:9000"]\n',
            "Dockerfile": dockerfile(
                '["gunicorn", "--chdir", "src", "-c", "conf/web.py", "main:app"]'
            ),
            "k8s/deployment.yaml": deployment(),
        }
    )
    assert at(result, "RUN001") == [("src/conf/web.py", 1, 1)]


def test_uvicorn_host_env_needs_a_uvicorn_that_reads_it(project: Project) -> None:
    files = {
        "main.py": MAIN,
        "Dockerfile": dockerfile('["uvicorn", "main:app"]', env="ENV UVICORN_HOST=0.0.0.0\n"),
        "k8s/deployment.yaml": deployment(),
    }
    assert codes(project({**files, "requirements.txt": "fastapi\nuvicorn==0.32.1\n"})) == []
    old = project({**files, "requirements.txt": "fastapi\nuvicorn==0.15.0\n"})
    (finding,) = old.findings
    assert "uvicorn 0.15.0" in finding.message and "ignores UVICORN_HOST" in finding.message


POD_WITH_PROXY = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
    spec:
      containers:
        - name: api
          image: ghcr.io/acme/api:1
        - name: envoy
          image: envoyproxy/envoy:v1.31.0
          ports:
            - name: proxy
              containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: api
spec:
  selector:
    app: api
  ports:
    - port: 80
      targetPort: TARGET
"""


@pytest.mark.parametrize(
    ("target", "reported"), [("proxy", False), ("8080", False), ("8000", True)]
)
def test_sidecar_proxy_on_the_targeted_port(project: Project, target: str, reported: bool) -> None:
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "main.py": MAIN,
            "Dockerfile": dockerfile('["uvicorn", "main:app", "--port", "8000"]'),
            "k8s/deployment.yaml": POD_WITH_PROXY.replace("TARGET", target),
        }
    )
    assert (codes(result) == ["RUN001"]) is reported


def test_entrypoint_script_that_starts_nginx_first(project: Project) -> None:
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "main.py": MAIN,
            "start.sh": "#!/bin/sh\nnginx\nexec gunicorn -b 127.0.0.1:8001 main:app\n",
            "Dockerfile": dockerfile('["./start.sh"]'),
            "k8s/deployment.yaml": deployment(),
        }
    )
    assert [c for c in codes(result) if c != "RUN006"] == []  # (the script's mode is RUN006's)


def test_script_that_picks_a_server_is_not_judged(project: Project) -> None:
    script = (
        '#!/bin/sh\nif [ "$DEBUG" = 1 ]; then\n  exec uvicorn main:app --reload\nelse\n'
        "  exec gunicorn -b 0.0.0.0:8000 main:app\nfi\n"
    )
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "main.py": MAIN,
            "start.sh": script,
            "Dockerfile": dockerfile('["./start.sh"]'),
            "k8s/deployment.yaml": deployment(),
        }
    )
    assert [c for c in codes(result) if c != "RUN006"] == []  # (the script's mode is RUN006's)


def test_compose_network_mode_host_reaches_loopback(project: Project) -> None:
    compose = "services:\n  api:\n    build: .\n    network_mode: host\n"
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "main.py": MAIN,
            "Dockerfile": dockerfile('["uvicorn", "main:app"]'),
            "docker-compose.yml": compose,
        }
    )
    assert codes(result) == []


def test_image_alone_with_uvicorn_default_is_reported(project: Project) -> None:
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "main.py": MAIN,
            "Dockerfile": dockerfile("uvicorn main:app --port 8080"),
        }
    )
    (finding,) = result.findings
    assert finding.code == "RUN001" and "docker run -p" in finding.message


def test_procfile_web_with_uvicorn_default_host(project: Project) -> None:
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "main.py": MAIN,
            "Procfile": "web: uvicorn main:app --port $PORT\nworker: uvicorn main:app\n",
        }
    )
    assert at(result, "RUN001") == [("Procfile", 1, 6)]


def test_python_app_run_default_host(project: Project) -> None:
    app = (
        "from flask import Flask\n\napp = Flask(__name__)\n\n\n"
        '@app.get("/health")\ndef health():\n    return "ok"\n\n\n'
        'if __name__ == "__main__":\n    app.run(port=8000)\n'
    )
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "app.py": app,
            "Dockerfile": dockerfile('["python", "app.py"]'),
            "k8s/deployment.yaml": deployment(),
        }
    )
    assert at(result, "RUN001") == [("app.py", 12, 5)]
    (finding,) = [f for f in result.findings if f.code == "RUN001"]
    assert finding.fix is not None and 'host="0.0.0.0"' in finding.fix


def test_the_same_cmd_run_by_two_deploys_is_one_finding(project: Project) -> None:
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "main.py": MAIN,
            "Dockerfile": dockerfile('["uvicorn", "main:app"]'),
            "k8s/deployment.yaml": deployment(),
            "docker-compose.yml": 'services:\n  api:\n    build: .\n    ports: ["8000:8000"]\n',
        }
    )
    assert at(result, "RUN001") == [("Dockerfile", 6, 7)]


# RUN004 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cmd", "dev"),
    [
        ('["uvicorn", "main:app", "--host", "0.0.0.0", "--reload"]', True),
        ('["uvicorn", "main:app", "--host", "0.0.0.0", "--reload-dir", "src"]', False),
        ('["gunicorn", "-b", "0.0.0.0:8000", "--reload", "main:app"]', True),
        ('["fastapi", "dev", "main.py", "--host", "0.0.0.0"]', True),
        ('["fastapi", "run", "main.py"]', False),
        ('["fastapi", "run", "main.py", "--reload"]', True),
        ('["flask", "--app", "main", "run", "--host", "0.0.0.0"]', True),
        ('["gunicorn", "-b", "0.0.0.0:8000", "main:app"]', False),
        ('["hypercorn", "-b", "0.0.0.0:8000", "--reload", "main:app"]', True),
    ],
)
def test_dev_modes(project: Project, cmd: str, dev: bool) -> None:
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "main.py": MAIN,
            "Dockerfile": dockerfile(cmd),
            "k8s/deployment.yaml": deployment(),
        },
        select=["RUN004"],
    )
    assert (codes(result) == ["RUN004"]) is dev, [f.message for f in result.findings]


def test_reload_says_workers_are_ignored(project: Project) -> None:
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "main.py": MAIN,
            "Dockerfile": dockerfile(
                '["uvicorn", "main:app", "--host", "0.0.0.0", "--workers", "4", "--reload"]'
            ),
        }
    )
    (finding,) = result.findings
    assert finding.code == "RUN004"
    assert "`--workers 4` is ignored" in finding.message
    assert (finding.span.line, finding.span.col) == (6, 69)


def test_uvicorn_run_reload_in_main(project: Project) -> None:
    main = (
        MAIN + '\n\nif __name__ == "__main__":\n    import uvicorn\n\n'
        '    uvicorn.run("main:app", host="0.0.0.0", reload=True, workers=2)\n'
    )
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "main.py": main,
            "Dockerfile": dockerfile('["python", "main.py"]'),
            "k8s/deployment.yaml": deployment(),
        }
    )
    assert at(result, "RUN004") == [("main.py", 14, 5)]
    assert "`workers=` is ignored" in result.findings[0].message


RUNSERVER = '          command: ["python", "manage.py", "runserver", "0.0.0.0:8000"]\n'
DJANGO = {
    "requirements.txt": "django==5.1\n",
    "manage.py": "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 's')\n",
}


def test_k8s_command_runserver(project: Project) -> None:
    result = project({**DJANGO, "k8s/base/deployment.yaml": deployment(command=RUNSERVER)})
    assert at(result, "RUN004") == [("k8s/base/deployment.yaml", 17, 45)]


@pytest.mark.parametrize(
    ("manifest", "image"),
    [("k8s/overlays/dev/deployment.yaml", "ghcr.io/acme/api:1"), ("k8s/app.yaml", "api:latest")],
)
def test_k8s_dev_overlays_and_local_images(project: Project, manifest: str, image: str) -> None:
    result = project({**DJANGO, manifest: deployment(command=RUNSERVER, image=image)})
    assert codes(result) == []


def test_compose_files_named_for_production_are_judged(project: Project) -> None:
    files = {
        "requirements.txt": REQUIREMENTS,
        "main.py": MAIN,
        "Dockerfile": dockerfile('["uvicorn", "main:app", "--host", "0.0.0.0"]'),
    }
    service = (
        "services:\n  api:\n    build: .\n    command: uvicorn main:app --host 0.0.0.0 --reload\n"
    )
    assert codes(project({**files, "docker-compose.yml": service})) == []
    prod = project({**files, "docker-compose.prod.yml": service})
    assert at(prod, "RUN004") == [("docker-compose.prod.yml", 4, 46)]


def test_image_whose_cmd_kubernetes_replaces(project: Project) -> None:
    command = '          command: ["gunicorn", "-b", "0.0.0.0:8000", "main:app"]\n'
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "main.py": MAIN,
            "Dockerfile": dockerfile('["uvicorn", "main:app", "--reload"]'),
            "k8s/deployment.yaml": deployment(command=command),
        }
    )
    # the CMD binds loopback and reloads, but the one deploy here runs its own command
    assert codes(result) == []


def test_flask_debugger_is_named(project: Project) -> None:
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "main.py": "from flask import Flask\n\napp = Flask(__name__)\n",
            "Dockerfile": dockerfile(
                '["flask", "--app", "main", "run", "--host", "0.0.0.0"]',
                env="ENV FLASK_DEBUG=1\n",
            ),
        }
    )
    (finding,) = result.findings
    assert "debugger" in finding.message and "run Python code" in finding.message


def test_run001_relates_the_service_of_the_container_s_own_environment(tmp_path: Path) -> None:
    """dev and prod copies share names and labels: the prod container's finding names the prod
    Service, not the dev copy's (issue 16 audit, the join PRB006 uses)."""
    import shutil

    from conftest import FIXTURES, lint

    root = tmp_path / "service"
    shutil.copytree(FIXTURES / "prb006-same-names-per-environment", root)
    prod = root / "deploy" / "prod" / "quotes.yaml"
    prod.write_text(
        prod.read_text().replace(
            "          image: ghcr.io/example/quotes:0.3.0\n",
            "          image: ghcr.io/example/quotes:0.3.0\n"
            '          command: ["uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", "8000"]\n',
        )
    )
    (finding,) = lint(root, select=["RUN001"]).findings
    assert finding.span.path == "deploy/prod/quotes.yaml"
    services = [r.span.path for r in finding.related if "sends traffic" in r.note]
    assert services == ["deploy/prod/quotes.yaml"]
