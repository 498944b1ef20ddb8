"""PKG001 command-not-installed: fixtures laid out as users lay them out, and the awkward cases."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import FIXTURES, codes, lint
from preflight.engine import Result

Project = Callable[..., Result]


@pytest.fixture
def families() -> tuple[str, ...]:
    return ("PKG", "PF")


def only(result: Result, code: str = "PKG001") -> list[tuple[str, int, int]]:
    assert set(codes(result)) <= {code}, [f"{f.code} {f.message}" for f in result.findings]
    return [(f.span.path, f.span.line, f.span.col) for f in result.findings]


@pytest.mark.parametrize(
    ("fixture", "where"),
    [
        ("pkg001-gunicorn-missing", ("Dockerfile", 9, 7)),
        ("pkg001-dev-group-only", ("Dockerfile", 14, 7)),
        ("pkg001-entrypoint-script", ("docker-entrypoint.sh", 6, 1)),
        ("pkg001-k8s-command", ("deploy/deployment.yaml", 21, 15)),
        ("pkg001-requirements-project", ("Dockerfile", 9, 5)),
    ],
)
def test_fixture_reports_pkg001_at_the_command(fixture: str, where: tuple[str, int, int]) -> None:
    assert only(lint(FIXTURES / fixture)) == [where]


def test_dev_group_finding_points_at_the_dev_declaration() -> None:
    (finding,) = lint(FIXTURES / "pkg001-dev-group-only").findings
    assert "`gunicorn`" in finding.message
    notes = {(r.span.path, r.span.line): r.note for r in finding.related}
    assert "dependency group `dev`" in notes[("pyproject.toml", 12)]
    assert finding.fix is not None and "[project.dependencies] in pyproject.toml" in finding.fix


def test_entrypoint_script_finding_names_the_dockerfile_too() -> None:
    (finding,) = lint(FIXTURES / "pkg001-entrypoint-script").findings
    assert "`uvicorn`" in finding.message
    assert ("Dockerfile", 10) in {(r.span.path, r.span.line) for r in finding.related}
    assert finding.fix is not None and "requirements.txt" in finding.fix


def test_requirements_project_points_at_the_dev_requirements_file() -> None:
    (finding,) = lint(FIXTURES / "pkg001-requirements-project").findings
    assert ("requirements-dev.txt", 2) in {(r.span.path, r.span.line) for r in finding.related}


def test_k8s_override_is_checked_but_the_image_cmd_is_fine() -> None:
    (finding,) = lint(FIXTURES / "pkg001-k8s-command").findings
    assert finding.message.startswith(
        "Kubernetes Deployment `catalog` container `api` runs `gunicorn`"
    )


# The seed's incident, and what clears it.

SEED_DOCKERFILE = """
    FROM python:3.12-slim
    WORKDIR /app
    COPY . .
    RUN pip install --no-cache-dir .
    CMD ["gunicorn", "app.main:app", "--workers", "4", "--worker-class", "uvicorn.workers.UvicornWorker"]
"""


def seed(extra_pyproject: str = "", runtime: str = '"fastapi", "uvicorn"') -> dict[str, str]:
    return {
        "Dockerfile": SEED_DOCKERFILE,
        "pyproject.toml": f"""
            [project]
            name = "api"
            version = "1.0.0"
            dependencies = [{runtime}]
            {extra_pyproject}
        """,
        "app/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
    }


def test_seed_incident_is_caught(project: Project) -> None:
    assert only(project(seed())) == [("Dockerfile", 5, 7)]


def test_declaring_gunicorn_clears_it(project: Project) -> None:
    assert codes(project(seed(runtime='"fastapi", "uvicorn", "gunicorn>=23"'))) == []


@pytest.mark.parametrize(
    "dev",
    [
        '[dependency-groups]\ndev = ["gunicorn"]',
        '[project.optional-dependencies]\nserver = ["gunicorn"]',
        '[tool.uv]\ndev-dependencies = ["gunicorn"]',
    ],
)
def test_gunicorn_only_in_a_group_the_image_skips_is_still_caught(
    project: Project, dev: str
) -> None:
    result = project(seed(extra_pyproject=dev))
    assert only(result) == [("Dockerfile", 5, 7)]
    assert "declared only in" in result.findings[0].message


def test_extra_the_image_installs_provides_it(project: Project) -> None:
    files = seed(extra_pyproject='[project.optional-dependencies]\nserver = ["gunicorn"]')
    files["Dockerfile"] = SEED_DOCKERFILE.replace("install --no-cache-dir .", "install '.[server]'")
    assert codes(project(files)) == []


def test_uvicorn_worker_brings_gunicorn(project: Project) -> None:
    assert codes(project(seed(runtime='"fastapi", "uvicorn-worker"'))) == []


# Awkward real-world layouts.


def test_poetry_project_main_vs_dev_group(project: Project) -> None:
    files = {
        "pyproject.toml": """
            [tool.poetry]
            name = "svc"
            version = "0.1.0"

            [tool.poetry.dependencies]
            python = "^3.11"
            fastapi = "^0.115"
            uvicorn = {extras = ["standard"], version = "^0.30"}

            [tool.poetry.group.dev.dependencies]
            gunicorn = "^23"
        """,
        "Dockerfile": """
            FROM python:3.11-slim
            RUN pip install poetry==1.8.4
            WORKDIR /app
            COPY pyproject.toml poetry.lock ./
            RUN poetry config virtualenvs.create false && poetry install --only main --no-root
            COPY . .
            CMD ["gunicorn", "svc.main:app"]
        """,
        "poetry.lock": "",
    }
    result = project(files)
    assert only(result) == [("Dockerfile", 7, 7)]
    assert "[tool.poetry.dependencies]" in (result.findings[0].fix or "")


def test_poetry_install_without_only_installs_dev_group(project: Project) -> None:
    files = {
        "pyproject.toml": """
            [tool.poetry]
            name = "svc"
            version = "0.1.0"

            [tool.poetry.dependencies]
            python = "^3.11"
            fastapi = "^0.115"

            [tool.poetry.group.dev.dependencies]
            gunicorn = "^23"
        """,
        "Dockerfile": """
            FROM python:3.11-slim
            RUN pip install poetry
            WORKDIR /app
            COPY . .
            RUN poetry install
            CMD ["gunicorn", "svc.main:app"]
        """,
    }
    assert codes(project(files)) == []


def test_uv_sync_default_installs_the_dev_group(project: Project) -> None:
    files = seed(extra_pyproject='[dependency-groups]\ndev = ["gunicorn"]')
    files["Dockerfile"] = """
        FROM python:3.12-slim
        COPY --from=ghcr.io/astral-sh/uv:0.5 /uv /uvx /bin/
        WORKDIR /app
        COPY . .
        RUN uv sync --frozen
        CMD ["/app/.venv/bin/gunicorn", "app.main:app"]
    """
    assert codes(project(files)) == []


def test_uv_sync_no_dev_skips_it(project: Project) -> None:
    files = seed(extra_pyproject='[dependency-groups]\ndev = ["gunicorn"]')
    files["Dockerfile"] = """
        FROM python:3.12-slim
        COPY --from=ghcr.io/astral-sh/uv:0.5 /uv /uvx /bin/
        WORKDIR /app
        COPY . .
        RUN uv sync --frozen --no-dev
        CMD ["/app/.venv/bin/gunicorn", "app.main:app"]
    """
    assert only(project(files)) == [("Dockerfile", 6, 7)]


def test_monorepo_dockerfile_built_from_the_root(project: Project) -> None:
    files = {
        "services/api/pyproject.toml": """
            [project]
            name = "api"
            version = "1"
            dependencies = ["fastapi", "uvicorn"]
        """,
        "services/api/app/main.py": "",
        "docker/api.Dockerfile": """
            FROM python:3.12-slim
            WORKDIR /srv
            COPY services/api/ ./
            RUN pip install .
            CMD ["hypercorn", "app.main:app"]
        """,
    }
    assert only(project(files)) == [("docker/api.Dockerfile", 5, 7)]


def test_multi_stage_venv_copy(project: Project) -> None:
    files = seed(runtime='"fastapi", "gunicorn", "uvicorn"')
    files["Dockerfile"] = """
        FROM python:3.12 AS build
        RUN python -m venv /venv
        COPY pyproject.toml .
        COPY app app
        RUN /venv/bin/pip install .

        FROM python:3.12-slim
        COPY --from=build /venv /venv
        ENV PATH=/venv/bin:$PATH
        CMD ["gunicorn", "app.main:app"]
    """
    assert codes(project(files)) == []


def test_python_dash_m_of_a_missing_module(project: Project) -> None:
    files = seed(runtime='"fastapi"')
    files["Dockerfile"] = SEED_DOCKERFILE.replace(
        '["gunicorn", "app.main:app", "--workers", "4", "--worker-class", "uvicorn.workers.UvicornWorker"]',
        '["python", "-m", "uvicorn", "app.main:app"]',
    )
    result = project(files)
    assert only(result) == [("Dockerfile", 5, 23)]  # the module's name
    assert "`python -m uvicorn`" in result.findings[0].message


def test_python_dash_m_of_the_projects_own_module(project: Project) -> None:
    files = seed(runtime='"fastapi", "uvicorn"')
    files["Dockerfile"] = SEED_DOCKERFILE.replace(
        '["gunicorn", "app.main:app", "--workers", "4", "--worker-class", "uvicorn.workers.UvicornWorker"]',
        '["python", "-m", "app"]',
    )
    assert codes(project(files)) == []


def test_shell_form_with_migrations_and_exec(project: Project) -> None:
    files = seed(runtime='"fastapi", "uvicorn", "alembic"')
    files["Dockerfile"] = SEED_DOCKERFILE.replace(
        'CMD ["gunicorn", "app.main:app", "--workers", "4", "--worker-class", "uvicorn.workers.UvicornWorker"]',
        "CMD alembic upgrade head && exec gunicorn app.main:app",
    )
    assert only(project(files)) == [("Dockerfile", 5, 34)]


def test_unknown_base_image_stays_silent_and_says_why(project: Project) -> None:
    files = seed()
    files["Dockerfile"] = SEED_DOCKERFILE.replace(
        "python:3.12-slim", "registry.internal/base/python-web:7"
    )
    result = project(files)
    assert codes(result) == []
    assert any("registry.internal/base/python-web:7" in note for note in result.notes)


def test_tiangolo_base_image_bundles_gunicorn(project: Project) -> None:
    files = seed()
    files["Dockerfile"] = SEED_DOCKERFILE.replace(
        "python:3.12-slim", "tiangolo/uvicorn-gunicorn-fastapi:python3.11"
    )
    assert codes(project(files)) == []


def test_project_script_is_provided(project: Project) -> None:
    files = seed(extra_pyproject='[project.scripts]\nserve = "app.main:run"')
    files["Dockerfile"] = SEED_DOCKERFILE.replace(
        '["gunicorn", "app.main:app", "--workers", "4", "--worker-class", "uvicorn.workers.UvicornWorker"]',
        '["serve"]',
    )
    assert codes(project(files)) == []


def test_unknown_program_is_not_guessed(project: Project) -> None:
    files = seed()
    files["Dockerfile"] = SEED_DOCKERFILE.replace(
        '["gunicorn", "app.main:app", "--workers", "4", "--worker-class", "uvicorn.workers.UvicornWorker"]',
        '["my-company-launcher", "--serve"]',
    )
    assert codes(project(files)) == []


def test_compose_command_override(project: Project) -> None:
    files = seed()
    files["docker-compose.yml"] = """
        services:
          worker:
            build: .
            command: celery -A app.worker worker
    """
    files["Dockerfile"] = SEED_DOCKERFILE.replace(
        '["gunicorn", "app.main:app", "--workers", "4", "--worker-class", "uvicorn.workers.UvicornWorker"]',
        '["uvicorn", "app.main:app"]',
    )
    assert only(project(files)) == [("docker-compose.yml", 4, 14)]


def test_procfile(project: Project) -> None:
    files = {
        "requirements.txt": "fastapi\nuvicorn\n",
        "Procfile": "web: gunicorn app.main:app -k uvicorn.workers.UvicornWorker\n",
    }
    assert only(project(files)) == [("Procfile", 1, 6)]


def test_suppression_on_the_line_above_in_a_dockerfile(project: Project) -> None:
    files = seed()
    files["Dockerfile"] = SEED_DOCKERFILE.replace(
        "    CMD", "    # preflight: ignore[PKG001]\n    CMD"
    )
    assert codes(project(files)) == []


def test_reference_service_fixture_copy_with_gunicorn_removed(tmp_path: Path) -> None:
    root = tmp_path / "svc"
    shutil.copytree(FIXTURES / "reference-service", root)
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text()
    for dependency in ('    "gunicorn>=23.0",\n', '    "uvicorn-worker>=0.2",\n'):
        text = text.replace(dependency, "")
    pyproject.write_text(text)
    assert [f.code for f in lint(root).findings] == ["PKG001"]


_MIGRATING_IMAGE = """FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
ENTRYPOINT ["./docker-entrypoint.sh"]
CMD ["gunicorn", "app.main:app", "-k", "uvicorn.workers.UvicornWorker"]
"""


def test_program_the_entrypoint_runs_before_exec_is_judged_at_its_line(
    project: Project,
) -> None:
    """`alembic upgrade head` runs before the server: it must be installed too. The script is
    found through WORKDIR (`./docker-entrypoint.sh`) and hands CMD on with `exec "$@"`."""
    result = project(
        {
            "Dockerfile": _MIGRATING_IMAGE,
            "requirements.txt": "fastapi\ngunicorn\nuvicorn\n",
            "docker-entrypoint.sh": '#!/bin/sh\nset -e\n\nalembic upgrade head\nexec "$@"\n',
            "app/__init__.py": "",
            "app/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
        }
    )
    assert only(result) == [("docker-entrypoint.sh", 4, 1)]
    assert "`alembic`" in result.findings[0].message


@pytest.mark.parametrize(
    "script",
    [
        # installs packages when it starts: what it runs may be there by then
        '#!/bin/sh\npip install alembic\nalembic upgrade head\nexec "$@"\n',
        # runs the program only when it is installed
        '#!/bin/sh\nif command -v alembic >/dev/null; then alembic upgrade head; fi\nexec "$@"\n',
        # a comment, a continuation and a heredoc name no program
        '#!/bin/sh\n# alembic upgrade head\ncat <<EOF\nalembic\nEOF\nexec "$@"\n',
    ],
    ids=["installs-at-start", "guarded", "comment-heredoc"],
)
def test_entrypoint_script_lines_that_may_not_run_stay_silent(
    project: Project, script: str
) -> None:
    result = project(
        {
            "Dockerfile": _MIGRATING_IMAGE,
            "requirements.txt": "fastapi\ngunicorn\nuvicorn\n",
            "docker-entrypoint.sh": script,
            "app/__init__.py": "",
            "app/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
        }
    )
    assert only(result) == []


def test_continued_line_is_judged_at_its_first_line(project: Project) -> None:
    result = project(
        {
            "Dockerfile": _MIGRATING_IMAGE,
            "requirements.txt": "fastapi\nuvicorn\n",
            "docker-entrypoint.sh": "#!/bin/sh\nexec gunicorn app.main:app \\\n"
            "  -k uvicorn.workers.UvicornWorker\n",
            "app/__init__.py": "",
            "app/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
        }
    )
    assert only(result) == [("docker-entrypoint.sh", 2, 1)]


@pytest.mark.parametrize(
    ("run", "env", "fires"),
    [
        ('"uv", "run", "gunicorn"', "", False),  # uv syncs the project first: may install it
        ('"uv", "run", "--no-sync", "gunicorn"', "", True),
        ('"uv", "run", "gunicorn"', "ENV UV_NO_SYNC=1\n", True),
        ('"uv", "run", "gunicorn"', "ENV UV_NO_SYNC=0\n", False),
    ],
    ids=["syncs", "no-sync-flag", "no-sync-env", "no-sync-off"],
)
def test_uv_run_no_sync_runs_only_what_the_image_installed(
    project: Project, run: str, env: str, fires: bool
) -> None:
    dockerfile = (
        "FROM python:3.12-slim\nCOPY --from=ghcr.io/astral-sh/uv:0.5 /uv /bin/\n"
        f"WORKDIR /app\nCOPY . .\nRUN uv sync --frozen --no-dev\n{env}"
        f'CMD [{run}, "app.main:app"]\n'
    )
    result = project(
        {
            "Dockerfile": dockerfile,
            "pyproject.toml": '[project]\nname = "api"\nversion = "1"\n'
            'dependencies = ["fastapi"]\n',
            "app/__init__.py": "",
            "app/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
        }
    )
    assert [code for code, *_ in only(result)] == (["Dockerfile"] if fires else [])


_DYNAMIC_IMAGE = (
    "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install .\n"
    'CMD ["gunicorn", "app.main:app", "-k", "uvicorn.workers.UvicornWorker"]\n'
)


@pytest.mark.parametrize(
    ("tool", "requirements", "fires"),
    [
        ('[tool.setuptools.dynamic]\ndependencies = {file = ["requirements.txt"]}\n',
         "fastapi\nuvicorn\n", True),
        ('[tool.setuptools.dynamic]\ndependencies = {file = ["requirements.txt"]}\n',
         "fastapi\nuvicorn\ngunicorn\n", False),
        ("[tool.setuptools.dynamic]\ndependencies = {file = \"requirements.txt\"}\n",
         "fastapi\nuvicorn\n", True),
        ("[tool.hatch.metadata.hooks.requirements_txt]\n", "fastapi\nuvicorn\n", True),
        ("[tool.hatch.metadata.hooks.requirements_txt]\n", "-r base.txt\ngunicorn\n", False),
        # a dynamic source preflight does not read: it cannot tell what is installed
        ("", "fastapi\nuvicorn\n", False),
        ('[tool.setuptools.dynamic]\ndependencies = {file = ["reqs/prod.in"]}\n', "", False),
    ],
    ids=["setuptools-missing", "setuptools-present", "setuptools-str", "hatch-missing",
         "hatch-include", "unknown-source", "unread-file"],
)  # fmt: skip
def test_dynamic_dependencies_come_from_the_requirements_files_the_backend_reads(
    project: Project, tool: str, requirements: str, fires: bool
) -> None:
    result = project(
        {
            "Dockerfile": _DYNAMIC_IMAGE,
            "pyproject.toml": '[project]\nname = "api"\nversion = "1"\n'
            f'dynamic = ["dependencies"]\n\n{tool}',
            "requirements.txt": requirements,
            "base.txt": "fastapi\nuvicorn\n",
            "app/__init__.py": "",
            "app/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
        }
    )
    assert only(result) == ([("Dockerfile", 5, 7)] if fires else [])


def test_an_opentelemetry_distro_brings_opentelemetry_instrument(project: Project) -> None:
    """aws-opentelemetry-distro requires opentelemetry-distro, which requires the
    instrumentation package that provides `opentelemetry-instrument`."""
    result = project(
        {
            "Dockerfile": "FROM python:3.12-slim\nCOPY . .\nRUN pip install -r requirements.txt\n"
            'CMD ["opentelemetry-instrument", "python", "app.py"]\n',
            "requirements.txt": "aws-opentelemetry-distro==0.12.2\nflask\n",
            "app.py": "print('hi')\n",
        }
    )
    assert only(result) == []
