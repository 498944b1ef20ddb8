"""RUN005 (app not importable in the image) and the image file tree it reads.

The model tests build :class:`ImageTree` from a Dockerfile and a repository listing; the rule
tests write small projects as users lay them out (the fixtures, fixtures/run005-*, cover the
layouts end to end).
"""

from __future__ import annotations

import ast
from collections.abc import Callable

import pytest

from conftest import codes
from preflight.engine import Result
from preflight.model.imagetree import ImageTree, image_tree
from preflight.model.installs import RepoView
from preflight.parse.compose import parse_compose
from preflight.parse.dockerfile import parse_dockerfile
from preflight.parse.python.modules import module_names

Project = Callable[..., Result]


def tree(text: str, paths: set[str], context: str = "") -> ImageTree:
    dockerfile = parse_dockerfile(f"{context}/Dockerfile" if context else "Dockerfile", text)
    built = image_tree(dockerfile, context, RepoView({}, {}, frozenset(paths)))
    assert built is not None
    return built


# the image file tree ------------------------------------------------------------------------


def test_copy_places_directories_and_files_where_workdir_says() -> None:
    built = tree(
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY main.py .\nCOPY src/ ./src/\n",
        {"main.py", "src/pkg/__init__.py", "src/pkg/api.py", "README.md"},
    )
    assert built.workdir == "/app"
    assert built.workdir_span is not None and built.workdir_span.line == 2
    assert built.presence("/app/main.py")[0] == "present"
    assert built.presence("/app/src/pkg/api.py")[0] == "present"
    assert built.presence("/app/pkg/api.py")[0] == "absent"
    assert built.presence("/app/README.md")[0] == "absent"
    assert built.repo_path("/app/src/pkg/api.py") == "src/pkg/api.py"
    assert [path for path, _ in built.where("src/pkg/api.py")] == ["/app/src/pkg/api.py"]


def test_build_context_is_the_root_of_copy_sources() -> None:
    built = tree(
        "FROM python:3.12-slim\nWORKDIR /srv\nCOPY . .\n",
        {"services/api/app/main.py", "services/web/app/main.py"},
        context="services/api",
    )
    assert built.repo_path("/srv/app/main.py") == "services/api/app/main.py"
    assert built.presence("/srv/services/api/app/main.py")[0] == "absent"


def test_copy_from_a_stage_takes_what_that_stage_holds() -> None:
    text = (
        "FROM python:3.12-slim AS build\nWORKDIR /build\nCOPY app/ ./app/\n"
        "FROM python:3.12-slim\nWORKDIR /srv\nCOPY --from=build /build/app /srv/app\n"
    )
    built = tree(text, {"app/main.py"})
    assert built.presence("/srv/app/main.py")[0] == "present"
    assert built.repo_path("/srv/app/main.py") == "app/main.py"
    assert built.presence("/build/app/main.py")[0] == "absent"  # the final stage lacks it


def test_a_stage_that_copies_only_the_venv_leaves_the_code_behind() -> None:
    text = (
        "FROM python:3.12-slim AS build\nWORKDIR /build\nCOPY app/ ./app/\n"
        "RUN python -m venv /opt/venv\n"
        "FROM python:3.12-slim\nWORKDIR /srv\nCOPY --from=build /opt/venv /opt/venv\n"
    )
    built = tree(text, {"app/main.py"})
    assert built.presence("/srv/app/main.py")[0] == "absent"
    assert [
        (stage, path) for stage, _ in built.stages for path, _ in built.where("app/main.py", stage)
    ] == [("build", "/build/app/main.py")]


def test_from_an_earlier_stage_inherits_its_files() -> None:
    text = "FROM python:3.12-slim AS base\nCOPY app /app\nFROM base\nWORKDIR /app\n"
    built = tree(text, {"app/main.py"})
    assert built.presence("/app/main.py")[0] == "present"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("FROM tiangolo/uvicorn-gunicorn-fastapi:python3.11\n", "base image"),
        ("FROM $BASE\n", "base image"),
        ("FROM python:3.12\nRUN git clone https://github.com/a/b.git /app\n", "clones"),
        ("FROM python:3.12\nWORKDIR /app\nRUN cp -r /tmp/src/. .\n", "`cp`"),
        ("FROM python:3.12\nADD https://example.com/app.tar.gz /app/\n", "fetches"),
        ("FROM python:3.12\nADD app.tar.gz /app/\n", "archive"),
        ("FROM python:3.12\nARG SRC\nCOPY ${SRC} /app\n", "variable"),
        ("FROM python:3.12\nCOPY dist/ /app\n", "not a file in the repository"),
        ("FROM python:3.12\nCOPY --from=ghcr.io/acme/code:1 /app /app\n", "not built here"),
        ("FROM python:3.12\nRUN ./generate.sh\n", "may put files"),
        ("FROM python:3.12\nCOPY --parents src/ /app/\n", "--parents"),
    ],
)
def test_what_cannot_be_followed_is_unknown_not_absent(text: str, why: str) -> None:
    state, by = tree(text, {"app.tar.gz", "generate.sh"}).presence("/app/main.py")
    assert state == "unknown"
    assert by is not None and why in getattr(by, "why", "")


def test_installers_and_tools_leave_the_tree_known() -> None:
    text = (
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\n"
        "RUN apt-get update && apt-get install -y gcc && pip install -r requirements.txt\n"
        "RUN useradd app && chown -R app /app && python -m compileall .\n"
    )
    built = tree(text, {"requirements.txt"})
    assert built.presence("/app/main.py")[0] == "absent"
    assert built.local_installs == ()


@pytest.mark.parametrize(
    ("run", "local"),
    [
        ("pip install .", True),
        ("pip install --no-cache-dir -e .", True),
        ("pip install /wheels/*.whl", True),
        ("pip install --find-links /wheels orders", True),
        ("uv sync --frozen", True),
        ("uv sync --frozen --no-install-project", False),
        ("poetry install --no-root", False),
        ("poetry install", True),
        ("pip install -r /app/requirements.txt", False),
        ("pip install --target /deps fastapi", False),
        ("python setup.py install", True),
    ],
)
def test_local_installs(run: str, local: bool) -> None:
    built = tree(f"FROM python:3.12\nRUN {run}\n", {"requirements.txt"})
    assert bool(built.local_installs) is local


# the facts the tree and the rule read from the parsers --------------------------------------


def test_module_names_at_module_level() -> None:
    names = module_names(
        ast.parse(
            "import os, a.b as c\nfrom x import y as z\napp = make()\n"
            "if os.environ.get('X'):\n    application = app\n"
            "try:\n    import q\nexcept ImportError as e:\n    q = None\n"
            "def create_app():\n    inner = 1\nclass K: ...\n"
        )
    )
    assert names is not None
    assert {"os", "c", "z", "app", "application", "q", "e", "create_app", "K"} <= set(names)
    assert "inner" not in names and "y" not in names


@pytest.mark.parametrize(
    "text",
    [
        "from settings import *\n",
        "globals()['app'] = 1\n",
        "def __getattr__(name):\n    return 1\n",
        "import sys\nsetattr(sys.modules[__name__], 'app', 1)\n",
    ],
)
def test_module_names_unknown_when_the_module_may_bind_anything(text: str) -> None:
    assert module_names(ast.parse(text)) is None


def test_compose_volumes_and_working_dir() -> None:
    parsed = parse_compose(
        "compose.yaml",
        "services:\n  api:\n    build: .\n    working_dir: /code\n    volumes:\n"
        "      - .:/app\n      - data:/var/lib/data:ro\n      - /tmp\n"
        "      - type: bind\n        source: ./src\n        target: /srv/src\n",
    )
    service = parsed.services[0]
    assert [(source, target) for source, target, _ in service.volumes] == [
        (".", "/app"),
        ("data", "/var/lib/data"),
        ("", "/tmp"),
        ("./src", "/srv/src"),
    ]
    assert service.working_dir == "/code"


# the rule -----------------------------------------------------------------------------------

REQUIREMENTS = "fastapi==0.115.6\nuvicorn==0.32.1\ngunicorn==23.0.0\nflask==3.1.0\n"
MAIN = """
from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
async def health():
    return {"status": "ok"}
"""
FACTORY = """
from flask import Flask


def create_app():
    app = Flask(__name__)
    return app
"""


@pytest.fixture
def families() -> tuple[str, ...]:
    return ("RUN005",)


def dockerfile(copy: str, cmd: str, extra: str = "") -> str:
    return (
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\n"
        f"RUN pip install -r requirements.txt\n{extra}{copy}\nCMD {cmd}\n"
    )


def at(result: Result) -> list[tuple[str, str, int, int]]:
    return [(f.code, f.span.path, f.span.line, f.span.col) for f in result.findings]


def test_code_copied_elsewhere(project: Project) -> None:
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "src/main.py": MAIN,
            "Dockerfile": dockerfile("COPY src/ /app/src", '["uvicorn", "main:app"]'),
        }
    )
    assert at(result) == [("RUN005", "Dockerfile", 6, 18)]
    finding = result.findings[0]
    assert "/app/src/main.py" in finding.message and "WORKDIR /app" in finding.message
    assert [r.span.line for r in finding.related] == [2, 5]  # WORKDIR, then the COPY
    assert finding.fix is not None and "--app-dir src" in finding.fix


@pytest.mark.parametrize(
    ("cmd", "extra"),
    [
        ('["uvicorn", "--app-dir", "src", "main:app"]', ""),
        ('["uvicorn", "main:app", "--app-dir=src"]', ""),
        ('["gunicorn", "--chdir", "src", "main:app"]', ""),
        ('["gunicorn", "--pythonpath", "src", "main:app"]', ""),
        ('["uvicorn", "main:app"]', "ENV PYTHONPATH=/app/src\n"),
        ('["uvicorn", "main:app"]', "ENV UVICORN_APP_DIR=src\n"),
        ('["uvicorn", "main:app"]', "WORKDIR /app/src\n"),
        ('["uvicorn", "main:app"]', "ENV PYTHONPATH=/app/src:$PYTHONPATH\n"),
        ('["gunicorn", "-c", "conf/gunicorn.py", "main:app"]', ""),
    ],
)
def test_told_where_the_code_is(project: Project, cmd: str, extra: str) -> None:
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "src/main.py": MAIN,
            "Dockerfile": dockerfile("COPY src/ /app/src", cmd, extra),
        }
    )
    assert codes(result) == []


def test_kubernetes_working_dir_and_compose_environment(project: Project) -> None:
    files = {
        "requirements.txt": REQUIREMENTS,
        "src/main.py": MAIN,
        "Dockerfile": dockerfile("COPY src/ /app/src", '["uvicorn", "main:app"]'),
        "compose.yaml": "services:\n  api:\n    build: .\n    environment:\n"
        "      PYTHONPATH: /app/src\n",
    }
    assert codes(project(files)) == []
    files["compose.yaml"] = "services:\n  api:\n    build: .\n    working_dir: /app/src\n"
    assert codes(project(files)) == []


def test_a_volume_over_the_code_directory_is_not_judged(project: Project) -> None:
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "main.py": MAIN,
            "Dockerfile": dockerfile("", '["uvicorn", "main:app"]'),
            "compose.yaml": "services:\n  api:\n    build: .\n    volumes:\n      - .:/app\n",
        }
    )
    assert codes(result) == []


def test_src_layout_installed_or_not(project: Project) -> None:
    files = {
        "pyproject.toml": '[project]\nname = "orders"\nversion = "1"\n'
        'dependencies = ["fastapi", "uvicorn"]\n',
        "requirements.txt": REQUIREMENTS,
        "src/orders/__init__.py": "",
        "src/orders/main.py": MAIN,
        "Dockerfile": dockerfile("COPY . .", '["uvicorn", "orders.main:app"]'),
    }
    assert at(project(files)) == [("RUN005", "Dockerfile", 6, 18)]
    files["Dockerfile"] = dockerfile(
        "COPY . .\nRUN pip install --no-deps .", '["uvicorn", "orders.main:app"]'
    )
    assert codes(project(files)) == []


def test_wrong_attribute_and_the_one_that_exists(project: Project) -> None:
    files = {
        "requirements.txt": REQUIREMENTS,
        "app/__init__.py": "",
        "app/main.py": MAIN,
        "Dockerfile": dockerfile("COPY app/ ./app/", '["uvicorn", "app.main:application"]'),
    }
    result = project(files)
    assert at(result) == [("RUN005", "Dockerfile", 6, 18)]
    assert "`app.main:app`" in (result.findings[0].fix or "")
    files["Dockerfile"] = dockerfile("COPY app/ ./app/", '["uvicorn", "app.main:app"]')
    assert codes(project(files)) == []


def test_a_name_only_a_star_import_may_bind_is_not_judged(project: Project) -> None:
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "app/__init__.py": "",
            "app/core.py": MAIN,
            "app/main.py": "from app.core import *\n",
            "Dockerfile": dockerfile("COPY app/ ./app/", '["uvicorn", "app.main:app"]'),
        }
    )
    assert codes(result) == []


@pytest.mark.parametrize(
    ("cmd", "expected"),
    [
        ('["gunicorn", "shop:create_app"]', ["RUN005"]),
        ('["gunicorn", "shop:create_app()"]', []),
        ('["gunicorn", "-k", "uvicorn.workers.UvicornWorker", "shop:create_app"]', []),
        # uvicorn calls a factory it finds, with a warning: it starts
        ('["uvicorn", "shop:create_app"]', []),
        ('["uvicorn", "--factory", "shop:create_app"]', []),
    ],
)
def test_factories(project: Project, cmd: str, expected: list[str]) -> None:
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "shop/__init__.py": FACTORY,
            "Dockerfile": dockerfile("COPY shop/ ./shop/", cmd),
        }
    )
    assert codes(result) == expected


def test_one_deploy_that_can_import_it_keeps_the_rule_silent(project: Project) -> None:
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "src/main.py": MAIN,
            "Dockerfile": dockerfile("COPY src/ /app/src", '["uvicorn", "main:app"]'),
            "compose.yaml": "services:\n  api:\n    build: .\n  dev:\n    build: .\n"
            "    environment:\n      PYTHONPATH: /app/src\n",
        }
    )
    assert codes(result) == []


def test_a_module_the_repository_does_not_hold_is_not_judged(project: Project) -> None:
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "Dockerfile": dockerfile("COPY . .", '["uvicorn", "thirdparty.asgi:app"]'),
        }
    )
    assert codes(result) == []
    assert any("not one file of the repository" in note for note in result.notes)


@pytest.mark.parametrize(
    ("volume", "expected"),
    [
        ("./code:/app/app", [("RUN005", "compose.yaml", 6, 9)]),  # no ./code: an empty dir
        ("./app:/app/app", []),  # the repository's own code, mounted for development
        ("code:/app/app", []),  # a named volume starts as a copy of the image's files
        ("/srv/code:/app/app", []),  # a host path: not known here
        ("./code:/app/data", []),  # not over the code (and a volume where it imports from)
    ],
)
def test_a_bind_mount_whose_source_is_missing_hides_the_code(
    project: Project, volume: str, expected: list[tuple[str, str, int, int]]
) -> None:
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "app/__init__.py": "",
            "app/main.py": MAIN,
            "Dockerfile": dockerfile("COPY app/ ./app/", '["uvicorn", "app.main:app"]'),
            "compose.yaml": "services:\n  api:\n    build: .\n    volumes:\n"
            f"      # the code\n      - {volume}\n",
        }
    )
    assert at(result) == expected


DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
spec:
  selector:
    matchLabels:
      app: orders
  template:
    metadata:
      labels:
        app: orders
    spec:
      {init}containers:
        - name: orders
          image: ghcr.io/acme/orders:1.0.0
          volumeMounts:
            - name: scratch
              mountPath: {mount}
      volumes:
        - name: scratch
          {kind}
"""


@pytest.mark.parametrize(
    ("mount", "kind", "init", "expected"),
    [
        ("/app/app", "emptyDir: {}", "", [("RUN005", "k8s/deployment.yaml", 18, 21)]),
        ("/app", "emptyDir: {}", "", [("RUN005", "k8s/deployment.yaml", 18, 21)]),
        ("/app/data", "emptyDir: {}", "", []),  # beside the code, where it imports from
        ("/app/app", "persistentVolumeClaim:\n            claimName: code", "", []),
        (
            "/app/app",
            "emptyDir: {}",
            "initContainers:\n        - name: copy\n          image: busybox\n"
            "          volumeMounts:\n            - name: scratch\n"
            "              mountPath: /shared\n      ",
            [],
        ),
    ],
)
def test_an_empty_dir_over_the_code_hides_it(
    project: Project, mount: str, kind: str, init: str, expected: list[tuple[str, str, int, int]]
) -> None:
    result = project(
        {
            "requirements.txt": REQUIREMENTS,
            "app/__init__.py": "",
            "app/main.py": MAIN,
            "Dockerfile": dockerfile("COPY app/ ./app/", '["uvicorn", "app.main:app"]'),
            "k8s/deployment.yaml": DEPLOYMENT.format(mount=mount, kind=kind, init=init),
        }
    )
    assert at(result) == expected


@pytest.mark.parametrize(
    ("cmd", "script"),
    [
        ("cd src && uvicorn main:app", None),
        ('["sh", "-c", "cd /app/src && exec uvicorn main:app"]', None),
        ("PYTHONPATH=src uvicorn main:app", None),
        ('["/start.sh"]', "#!/bin/sh\nset -e\ncd /app/src\nexec uvicorn main:app\n"),
        ('["/start.sh"]', "#!/bin/sh\nexport PYTHONPATH=/app/src\nexec uvicorn main:app\n"),
    ],
)
def test_a_command_that_moves_first_is_not_judged(
    project: Project, cmd: str, script: str | None
) -> None:
    files = {
        "requirements.txt": REQUIREMENTS,
        "src/main.py": MAIN,
        "Dockerfile": dockerfile("COPY src/ /app/src\nCOPY start.sh /start.sh", cmd),
        "start.sh": script or "#!/bin/sh\n",
    }
    result = project(files)
    assert codes(result) == []
    assert any("may change where it imports from" in note for note in result.notes)


def test_a_script_that_starts_the_server_where_the_code_is_not(project: Project) -> None:
    files = {
        "requirements.txt": REQUIREMENTS,
        "src/main.py": MAIN,
        "Dockerfile": dockerfile("COPY src/ /app/src\nCOPY start.sh /start.sh", '["/start.sh"]'),
        "start.sh": "#!/bin/sh\nset -e\nexec uvicorn main:app --host 0.0.0.0\n",
    }
    assert at(project(files)) == [("RUN005", "start.sh", 3, 14)]
