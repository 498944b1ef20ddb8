"""False positives the unseen repositories of session 5 showed (issue 16): a probe on the
documentation FastAPI serves itself (`/docs`), and a container whose script starts nginx in
front of gunicorn. Each with the true side kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import lint, write_tree
from preflight.config import Config
from preflight.engine import build
from preflight.model.graph import ContainerNode

PYPROJECT = (
    '[project]\nname = "api"\nversion = "1"\ndependencies = ["fastapi", "gunicorn", "uvicorn"]\n'
)
DOCKERFILE = (
    "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install .\n"
    'CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"]\n'
)


def _deployment(path: str) -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n"
        "  selector:\n    matchLabels: {app: api}\n  template:\n    metadata:\n"
        "      labels: {app: api}\n    spec:\n      containers:\n        - name: api\n"
        "          image: ghcr.io/acme/api:1\n          ports:\n            - containerPort: 8000\n"
        f"          readinessProbe:\n            httpGet: {{path: {path}, port: 8000}}\n"
    )


def _prb002(tmp_path: Path, constructor: str, probe: str) -> list[tuple[str, int]]:
    files = {
        "pyproject.toml": PYPROJECT,
        "Dockerfile": DOCKERFILE,
        "skaffold.yaml": "apiVersion: skaffold/v4beta6\nkind: Config\nbuild:\n  artifacts:\n    - image: ghcr.io/acme/api\n",
        "main.py": (
            "from fastapi import FastAPI\n\n"
            f"app = {constructor}\n\n\n"
            '@app.get("/items")\nasync def items() -> list[str]:\n    return []\n'
        ),
        "k8s/api.yaml": _deployment(probe),
    }
    result = lint(write_tree(tmp_path, files), select=["PRB002"])
    return [(f.span.path, f.span.line) for f in result.findings]


@pytest.mark.parametrize(
    ("constructor", "probe", "reported"),
    [
        # FastAPI serves its documentation itself (fastapi/applications.py `setup()`)
        ('FastAPI(title="shop")', "/docs", False),
        ('FastAPI(title="shop")', "/openapi.json", False),
        ('FastAPI(title="shop")', "/redoc", False),
        ('FastAPI(docs_url="/api/docs")', "/api/docs", False),
        # a computed argument may leave the default in place: not judged
        ("FastAPI(docs_url=settings.docs_url)", "/docs", False),
        # moved, disabled, or no OpenAPI schema at all: /docs is not served
        ('FastAPI(docs_url="/api/docs")', "/docs", True),
        ("FastAPI(docs_url=None)", "/docs", True),
        ("FastAPI(openapi_url=None)", "/docs", True),
        ("FastAPI(openapi_url=None)", "/openapi.json", True),
        ('FastAPI(title="shop")', "/healthz", True),
    ],
)
def test_fastapi_documentation_routes_are_served(
    tmp_path: Path, constructor: str, probe: str, reported: bool
) -> None:
    expected = [("k8s/api.yaml", 18)] if reported else []
    assert _prb002(tmp_path, constructor, probe) == expected


SERVICE = (
    "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n"
    "  selector: {app: web}\n  ports:\n    - port: 80\n      targetPort: 80\n"
)


def _prb006(tmp_path: Path, script: str) -> list[tuple[str, int]]:
    files = {
        "pyproject.toml": PYPROJECT,
        "wsgi.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
        "start.sh": script,
        "Dockerfile": (
            "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y nginx\n"
            "WORKDIR /app\nCOPY . .\nRUN pip install .\nCOPY start.sh /start.sh\n"
            'RUN chmod +x /start.sh\nCMD ["/start.sh"]\n'
        ),
        "skaffold.yaml": "apiVersion: skaffold/v4beta6\nkind: Config\nbuild:\n  artifacts:\n    - image: ghcr.io/acme/web\n",
        "k8s/web.yaml": (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n"
            "  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n"
            "      labels: {app: web}\n    spec:\n      containers:\n        - name: web\n"
            "          image: ghcr.io/acme/web:1\n          ports:\n            - containerPort: 80\n"
        )
        + SERVICE,
    }
    result = lint(write_tree(tmp_path, files), select=["PRB006"])
    return [(f.span.path, f.span.line) for f in result.findings]


def test_a_script_that_starts_nginx_in_front_of_the_server_listens_on_nginx_ports(
    tmp_path: Path,
) -> None:
    """`gunicorn --bind :8000 &` then `nginx -g 'daemon off;'`: the Service's port 80 is
    nginx's, not a port the server was meant to bind."""
    script = (
        "#!/bin/sh\nset -e\n"
        "gunicorn wsgi:app -k uvicorn.workers.UvicornWorker --bind 0.0.0.0:8000 &\n"
        "nginx -g 'daemon off;'\n"
    )
    assert _prb006(tmp_path, script) == []
    notes = lint(tmp_path, select=["PRB006"]).notes
    assert any("starts `nginx` as well as the server" in note for note in notes)


def test_a_script_that_starts_only_the_server_is_still_judged(tmp_path: Path) -> None:
    script = (
        "#!/bin/sh\nset -e\n"
        "exec gunicorn wsgi:app -k uvicorn.workers.UvicornWorker --bind 0.0.0.0:8000\n"
    )
    assert _prb006(tmp_path, script) == [("k8s/web.yaml", 25)]


# --- joins the unseen repositories showed were clearly resolvable ------------------------

SERVICE_DOCKERFILE = (
    "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install .\n"
    'CMD ["uvicorn", "main:app", "--host", "0.0.0.0"]\n'
)


def _deployment_of(image: str) -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n"
        "  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n"
        "      labels: {app: web}\n    spec:\n      containers:\n        - name: web\n"
        f"          image: {image}\n"
    )


def _container(root: Path) -> ContainerNode:
    (node,) = build(root, ".", Config()).graph.containers
    return node


def test_a_monorepo_image_named_project_dash_service_is_its_directory_s(tmp_path: Path) -> None:
    """`acme/shop-auth`, run by services/auth/manifests/deploy.yaml, is built from
    services/auth/Dockerfile: the name ends with the directory that holds the manifest."""
    files = {
        "services/auth/Dockerfile": SERVICE_DOCKERFILE,
        "services/auth/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
        "services/gateway/Dockerfile": SERVICE_DOCKERFILE,
        "services/gateway/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
        "services/auth/manifests/deploy.yaml": _deployment_of("acme/shop-auth:1"),
    }
    node = _container(write_tree(tmp_path / "inside", files))
    assert node.run.dockerfile is not None
    assert node.run.dockerfile.path == "services/auth/Dockerfile"
    assert node.image_evidence is not None and not node.image_evidence.strong
    # the same name run from a manifest outside the service's directory: not joined
    files.pop("services/auth/manifests/deploy.yaml")
    files["deploy/auth.yaml"] = _deployment_of("acme/shop-auth:1")
    assert _container(write_tree(tmp_path / "outside", files)).run.dockerfile is None


def test_a_compose_image_name_with_a_default_is_that_default(tmp_path: Path) -> None:
    """`image: ${IMAGE_NAME:-monitor:latest}` builds `monitor:latest` when IMAGE_NAME is not
    set: the Deployment running `monitor:latest` runs that build."""
    files = {
        "docker/Dockerfile": SERVICE_DOCKERFILE,
        "main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
        "compose.yml": (
            "services:\n  monitor:\n    build:\n      context: .\n"
            "      dockerfile: docker/Dockerfile\n    image: ${IMAGE_NAME:-monitor:latest}\n"
        ),
        "k8s/deploy.yaml": _deployment_of("monitor:latest"),
    }
    node = _container(write_tree(tmp_path / "default", files))
    assert node.run.dockerfile is not None and node.image_evidence is not None
    assert node.image_evidence.strong
    # a name that stays a variable is a placeholder: nothing is joined by it
    files["compose.yml"] = files["compose.yml"].replace(":-monitor:latest", "")
    assert _container(write_tree(tmp_path / "variable", files)).run.dockerfile is None


def test_a_script_that_runs_a_factory_app_is_resolved(tmp_path: Path) -> None:
    """main.py makes the app with the package's `create_app()` and runs Werkzeug with
    `app.run(...)`, without a word of Flask in the file."""
    files = {
        "app/__init__.py": (
            "from flask import Flask\n\n\ndef create_app():\n    app = Flask(__name__)\n\n"
            '    @app.get("/health")\n    def health():\n        return "ok"\n\n    return app\n'
        ),
        "main.py": (
            "from app import create_app\n\napp = create_app()\n\n"
            'if __name__ == "__main__":\n    app.run(host="0.0.0.0", port=5000)\n'
        ),
        "Dockerfile": 'FROM python:3.12-slim\nWORKDIR /srv\nCOPY . .\nRUN pip install flask\nCMD ["python", "main.py"]\n',
        "k8s/deploy.yaml": _deployment_of("main"),
    }
    node = _container(write_tree(tmp_path / "app", files))
    assert node.app is not None and node.app.serves("/health") is not None
    assert node.server_command is not None and node.server_command.port == 5000
    # whatever the name the factory's app is bound to
    files["main.py"] = files["main.py"].replace("app = create_app()", "server = create_app()")
    files["main.py"] = files["main.py"].replace("app.run(", "server.run(")
    node = _container(write_tree(tmp_path / "server", files))
    assert node.app is not None and node.server_command is not None
