"""PRB001 on the shapes real repositories showed (issue 16): stock images, sidecars, Services."""

from __future__ import annotations

from pathlib import Path

from conftest import lint, write_tree
from preflight.findings import Severity


def pod(containers: str, name: str = "web", labels: str = "{app: web}") -> str:
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n"
        f"  selector:\n    matchLabels: {labels}\n  template:\n    metadata:\n"
        f"      labels: {labels}\n    spec:\n      containers:\n{containers}"
    )


APP = (
    "        - name: app\n          image: ghcr.io/acme/web:1\n"
    "          command: [uvicorn, web:app, --host, 0.0.0.0]\n"
)
PROBED = APP + "          readinessProbe:\n            httpGet: {path: /ready, port: 8000}\n"
NGINX = "        - name: proxy\n          image: nginx:1.27\n          ports:\n            - containerPort: 80\n"


def prb001(tmp_path: Path, files: dict[str, str]) -> list[tuple[str, int, Severity]]:
    result = lint(write_tree(tmp_path, files), select=["PRB001"])
    return [(f.span.path, f.span.line, f.severity) for f in result.findings]


DB = (
    "        - name: db\n          image: postgres:16-alpine\n          ports:\n"
    "            - containerPort: 5432\n"
)


def test_a_stock_database_is_left_alone_and_verbose_names_its_check(tmp_path: Path) -> None:
    files = {"k8s/db.yaml": pod(DB, name="db", labels="{app: db}")}
    assert prb001(tmp_path, files) == []
    result = lint(tmp_path, select=["PRB001"])
    assert any("pg_isready" in note and "stock `postgres`" in note for note in result.notes)


def test_a_copy_that_dropped_the_probe_of_the_same_stock_container_is_info(
    tmp_path: Path,
) -> None:
    probed = DB + "          readinessProbe:\n            exec: {command: [pg_isready]}\n"
    files = {
        "k8s/db.yaml": pod(probed, name="db", labels="{app: db}"),
        "docs/db.yaml": pod(DB, name="db", labels="{app: db}"),
        # another container of the same name but another image is not a copy
        "other/db.yaml": pod(DB.replace("postgres:16-alpine", "mysql:8"), name="db"),
    }
    assert prb001(tmp_path, files) == [("docs/db.yaml", 13, Severity.INFO)]
    (finding,) = lint(tmp_path, select=["PRB001"]).findings
    assert "k8s/db.yaml" in finding.message


def test_a_sidecar_beside_a_probed_app_is_covered(tmp_path: Path) -> None:
    assert prb001(tmp_path, {"k8s/web.yaml": pod(PROBED + NGINX)}) == []


def test_the_app_without_a_probe_is_still_an_error(tmp_path: Path) -> None:
    assert prb001(tmp_path, {"k8s/web.yaml": pod(APP)}) == [("k8s/web.yaml", 13, Severity.ERROR)]


def test_a_pod_without_ports_that_a_service_selects_needs_a_probe(tmp_path: Path) -> None:
    worker = "        - name: app\n          image: ghcr.io/acme/web:1\n"
    service = (
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n"
        "  ports:\n    - port: 80\n      targetPort: 5000\n"
    )
    files = {"k8s/web.yaml": pod(worker), "k8s/service.yaml": service}
    assert prb001(tmp_path, files) == [("k8s/web.yaml", 13, Severity.ERROR)]
    (finding,) = lint(tmp_path, select=["PRB001"]).findings
    assert "selected by Service `web`" in finding.message
    # the same pod with no Service selecting it: a worker, nothing to probe
    assert prb001(tmp_path / "alone", {"k8s/web.yaml": pod(worker)}) == []


def test_a_service_built_here_in_another_language_is_not_judged(tmp_path: Path) -> None:
    """A Node service's Dockerfile, or an image named after a directory holding a Java build:
    not a Python web service, so not preflight's to judge."""
    node = (
        "        - name: web\n          image: acme/storefront:1\n          ports:\n"
        "            - containerPort: 3000\n"
    )
    java = node.replace("acme/storefront:1", "1234.dkr.ecr.aws/vets-service:latest").replace(
        "name: web", "name: vets"
    )
    files = {
        "storefront/Dockerfile": 'FROM node:20\nCOPY . .\nCMD ["node", "server.js"]\n',
        "storefront/package.json": "{}",
        "vets-service/pom.xml": "<project/>",
        "k8s/web.yaml": pod(node),
        "k8s/vets.yaml": pod(java, name="vets", labels="{app: vets}"),
    }
    assert prb001(tmp_path, files) == []
    result = lint(tmp_path, select=["PRB001"])
    assert sum("is not a Python service" in note for note in result.notes) == 2


def test_a_python_service_named_like_a_directory_with_a_python_project_is_judged(
    tmp_path: Path,
) -> None:
    app = (
        "        - name: api\n          image: ghcr.io/acme/api:1\n          ports:\n"
        "            - containerPort: 8000\n"
    )
    files = {
        "api/package.json": "{}",  # a front-end build beside a Python project
        "api/pyproject.toml": "[project]\nname = 'api'\nversion = '1'\n",
        "k8s/api.yaml": pod(app, name="api", labels="{app: api}"),
    }
    assert prb001(tmp_path, files) == [("k8s/api.yaml", 13, Severity.ERROR)]


def test_an_image_named_after_a_foreign_directory_by_its_last_word(tmp_path: Path) -> None:
    result_app = (
        "        - name: result\n          image: acme/votingapp_result:1\n          ports:\n"
        "            - containerPort: 80\n"
    )
    files = {
        "result/package.json": "{}",
        "result/server.js": "",
        "k8s/result.yaml": pod(result_app, name="result", labels="{app: result}"),
    }
    assert prb001(tmp_path, files) == []


def test_an_image_named_as_a_javascript_front_end_is_not_judged(tmp_path: Path) -> None:
    """`vue-kubernetes`, `react-builds`: named after a JavaScript framework, with or without
    its source here; `shop-frontend` only where the repository has a JavaScript project."""

    def front(image: str) -> str:
        return (
            f"        - name: ui\n          image: {image}\n          ports:\n"
            "            - containerPort: 8080\n"
        )

    files = {
        "k8s/vue.yaml": pod(front("acme/vue-kubernetes:latest"), name="vue", labels="{app: vue}"),
        "k8s/react.yaml": pod(front("acme/react-builds:v1"), name="react", labels="{app: r}"),
        "k8s/shop.yaml": pod(front("acme/shop-frontend:1"), name="shop", labels="{app: shop}"),
    }
    assert prb001(tmp_path / "bare", files) == [("k8s/shop.yaml", 13, Severity.ERROR)]
    files["services/client/package.json"] = "{}"
    assert prb001(tmp_path / "js", files) == []
    notes = lint(tmp_path / "bare", select=["PRB001"]).notes
    assert any("`react-builds`, named after a JavaScript framework" in note for note in notes)


def test_a_guessed_tie_to_the_only_python_dockerfile_yields_to_a_framework_name(
    tmp_path: Path,
) -> None:
    """The repository's only Dockerfile builds the Flask API; the React image is pulled from a
    registry: "the only Dockerfile" is a guess, and the name says otherwise."""
    react = (
        "        - name: ui\n          image: someone/react-builds:todo_v1\n          ports:\n"
        "            - containerPort: 5173\n"
    )
    files = {
        "Dockerfile": 'FROM python:3.12-slim\nRUN pip install flask gunicorn\nCMD ["gunicorn", "app:app"]\n',
        "k8s/react.yaml": pod(react, name="react", labels="{app: react}"),
    }
    assert prb001(tmp_path, files) == []


def _built(command: str, image: str = "acme/jobs:1", port: bool = True) -> str:
    ports = "          ports:\n            - containerPort: 8089\n" if port else ""
    return f"        - name: jobs\n          image: {image}\n          command: {command}\n{ports}"


def test_a_container_whose_program_serves_nothing_is_not_judged(tmp_path: Path) -> None:
    """A worker, a headless load generator, or a program the image build compiles: a Service
    or port on it routes to nothing a readiness probe could gate. `--verbose` says which."""
    dockerfile = (
        "FROM python:3.12-slim\nRUN pip install celery locust\n"
        "COPY build/collector /collector\nCOPY . /app\n"
    )
    service = "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: jobs\nspec:\n  selector: {app: jobs}\n  ports:\n    - port: 8089\n"
    cases = {
        "celery": '["celery", "-A", "app", "worker"]',
        "locust": '["/bin/sh", "-c", "locust --host=http://web --headless --users=10"]',
        "compiled": '["/collector", "--config=/config.yaml"]',
    }
    for label, command in cases.items():
        files = {
            "Dockerfile": dockerfile,
            "skaffold.yaml": "apiVersion: skaffold/v4beta6\nkind: Config\nbuild:\n  artifacts:\n    - image: acme/jobs\n",
            "k8s/jobs.yaml": pod(_built(command), name="jobs", labels="{app: jobs}") + service,
        }
        assert prb001(tmp_path / label, files) == [], label
    notes = lint(tmp_path / "compiled", select=["PRB001"]).notes
    assert any("a program its image build produces" in note for note in notes)


def test_locust_with_its_web_ui_and_celery_flower_still_serve(tmp_path: Path) -> None:
    dockerfile = "FROM python:3.12-slim\nRUN pip install celery flower locust\nCOPY . /app\n"
    for label, command in {
        "locust": '["locust", "--host=http://web"]',
        "flower": '["celery", "-A", "app", "flower"]',
    }.items():
        files = {
            "Dockerfile": dockerfile,
            "skaffold.yaml": "apiVersion: skaffold/v4beta6\nkind: Config\nbuild:\n  artifacts:\n    - image: acme/jobs\n",
            "k8s/jobs.yaml": pod(_built(command), name="jobs", labels="{app: jobs}"),
        }
        assert prb001(tmp_path / label, files) == [("k8s/jobs.yaml", 13, Severity.ERROR)], label


def _served(image: str) -> str:
    return f"        - name: web\n          image: {image}\n          ports:\n            - containerPort: 8000\n"


def test_an_image_built_from_source_elsewhere_is_not_judged(tmp_path: Path) -> None:
    """Every Dockerfile here is built into an image of account `acme`: an image of another
    account, or a front end of the same account, is built from another repository (issue 16:
    a course's sample image, a React front end whose repository is another one)."""
    base = {
        "Dockerfile": 'FROM python:3.12-slim\nRUN pip install fastapi uvicorn\nCMD ["uvicorn", "app:app", "--host", "0.0.0.0"]\n',
        "compose.yaml": "services:\n  api:\n    build: .\n    image: ghcr.io/acme/api:1\n",
    }
    for label, image in {
        "other-account": "docker.io/coursework/hello-python:latest",
        "front-end": "ghcr.io/acme/todo-frontend:2",
    }.items():
        files = {**base, "k8s/web.yaml": pod(_served(image))}
        assert prb001(tmp_path / label, files) == [], label
        notes = lint(tmp_path / label, select=["PRB001"]).notes
        assert any("the builds here make `ghcr.io/acme/api:1`" in note for note in notes), label


def test_an_image_that_may_be_built_here_under_another_name_is_judged(tmp_path: Path) -> None:
    """A local build name may be retagged before a push, a Dockerfile no build names may be
    the image's, and another image of the account may be built from the same Dockerfile: the
    container may run this repository's code, so PRB001 judges it."""
    dockerfile = 'FROM python:3.12-slim\nRUN pip install fastapi uvicorn\nCMD ["uvicorn", "app:app", "--host", "0.0.0.0"]\n'
    cases = {
        "local-build-name": ({"compose.yaml": "services:\n  api:\n    build: .\n    image: api:dev\n"}, "acme/api:1"),
        "unnamed-dockerfile": (
            {"compose.yaml": "services:\n  api:\n    build: .\n    image: acme/api:1\n",
             "worker/Dockerfile": dockerfile},
            "docker.io/coursework/hello-python:latest",
        ),
        "same-account": ({"compose.yaml": "services:\n  api:\n    build: .\n    image: acme/api:1\n"}, "acme/admin:1"),
    }  # fmt: skip
    for label, (extra, image) in cases.items():
        files = {"Dockerfile": dockerfile, **extra, "k8s/web.yaml": pod(_served(image))}
        assert prb001(tmp_path / label, files) == [("k8s/web.yaml", 13, Severity.ERROR)], label


def test_the_portless_fixture_reports_what_serves_and_says_why_the_rest_is_silent() -> None:
    """Issue 16's three PRB001 shapes on one fixture, with --verbose naming each silence."""
    from conftest import FIXTURES, lint
    from preflight.findings import Severity

    result = lint(FIXTURES / "prb001-portless-pod-behind-a-service", select=["PRB001"])
    assert [(f.span.path, f.severity) for f in result.findings] == [
        ("k8s/api.yaml", Severity.ERROR),
        ("k8s/postgres.yaml", Severity.INFO),
    ]
    notes = " ".join(result.notes)
    assert "runs stock `redis`" in notes
    assert "container `nginx`: another container of the pod has a readinessProbe" in notes
    assert "it runs `celery`, a task-queue worker" in notes
