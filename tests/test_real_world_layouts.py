"""Layouts found in real repositories that once confused preflight (false positives or silence)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import codes, write_tree
from preflight.cli import main
from preflight.engine import Result

Project = Callable[..., Result]

APP = {"app/__init__.py": "", "app/main.py": "from fastapi import FastAPI\napp = FastAPI()\n"}


@pytest.fixture
def families() -> tuple[str, ...]:
    """Every rule but RUN003: these projects start gunicorn on a FastAPI app without `-k` to
    show what PKG001 sees; RUN003's verdict on that worker is tests/test_run003_pkg002.py's."""
    from preflight.checks import RULES

    return tuple(rule.code for rule in RULES if rule.code != "RUN003")


def test_newer_python_syntax_is_not_a_parse_error(project: Project) -> None:
    result = project(
        {
            "app/authz.py": """
                from fastapi import Depends


                class AuthzContext[S: int | str]:
                    pass


                type Handler = Depends


                def first[T](items: list[T]) -> T:
                    return items[0]
            """,
        }
    )
    assert codes(result) == []


def test_jinja_templates_are_not_parse_errors(project: Project) -> None:
    result = project(
        {
            "template/{{cookiecutter.name}}/Dockerfile": "FROM python\nCMD gunicorn\n",
            "gen/templates/Dockerfile": "{% if db %}\nFROM python:3.12\n{% endif %}\nBOGUS x\n",
            "gen/templates/client.py": "{% for s in services %}\nfrom fastapi import {{ s }}\n{% endfor %}\n",
        }
    )
    assert codes(result) == []
    assert any("cookiecutter" in note for note in result.notes)


def test_line_100_is_not_an_emoji(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write_tree(tmp_path, {"app/main.py": "from fastapi import FastAPI\n" + "\n" * 98 + "x = (\n"})
    with pytest.raises(SystemExit):
        main(["check", "-q", str(tmp_path)])
    assert "/app/main.py:100:5: PF001" in capsys.readouterr().out


UV_WORKSPACE = {
    "pyproject.toml": '[tool.uv.workspace]\nmembers = ["backend"]\n',
    "uv.lock": "version = 1\n",
    "backend/pyproject.toml": """
        [project]
        name = "app"
        version = "0.1.0"
        dependencies = ["fastapi[standard]>=0.115"]
    """,
    "backend/app/__init__.py": "",
    "backend/Dockerfile": """
        FROM python:3.12
        COPY --from=ghcr.io/astral-sh/uv:0.5 /uv /uvx /bin/
        WORKDIR /app/
        RUN --mount=type=cache,target=/root/.cache/uv \\
            --mount=type=bind,source=uv.lock,target=uv.lock \\
            --mount=type=bind,source=pyproject.toml,target=pyproject.toml \\
            uv sync --frozen --no-install-workspace --package app
        COPY ./backend/app /app/app
        CMD ["fastapi", "run", "--workers", "4", "app/main.py"]
    """,
}


def test_uv_workspace_member_package_is_installed(project: Project) -> None:
    assert codes(project(UV_WORKSPACE)) == []


def test_uv_workspace_member_missing_the_server(project: Project) -> None:
    files = dict(UV_WORKSPACE)
    files["backend/pyproject.toml"] = files["backend/pyproject.toml"].replace(
        "fastapi[standard]", "fastapi"
    )
    result = project(files)
    assert codes(result) == ["PKG001"]
    assert "backend/pyproject.toml" in (result.findings[0].fix or "")


def test_backtick_comment_in_apt_line(project: Project) -> None:
    result = project(
        {
            **APP,
            "requirements.txt": "fastapi\n",
            "Dockerfile": """
                FROM python:3.12-slim
                RUN apt-get update && apt-get install -y \\
                    libxslt1-dev `# libxslt is needed by lxml (PyPI)` \\
                    && rm -rf /var/lib/apt/lists/*
                COPY requirements.txt .
                RUN pip install -r requirements.txt
                COPY . .
                CMD ["gunicorn", "app.main:app"]
            """,
        }
    )
    assert codes(result) == ["PKG001"]  # the apt line no longer hides the missing gunicorn


def test_test_modules_are_not_read(project: Project) -> None:
    result = project(
        {
            "tests/test_auth.py": """
                from sqlmodel import Session, create_engine

                engine = create_engine("sqlite://")


                async def test_login():
                    with engine.connect() as conn:
                        conn.execute("SELECT 1")
            """,
        }
    )
    assert codes(result) == []


def test_base_image_from_a_build_argument_says_so(project: Project) -> None:
    result = project({"Dockerfile": 'ARG FROM\nFROM ${FROM} AS main\nCMD ["gunicorn", "x:app"]\n'})
    assert codes(result) == []
    assert any("depends on a build argument" in note for note in result.notes)


FRONTEND_STAGE = """
    FROM oven/bun:1 AS frontend
    WORKDIR /frontend
    COPY frontend/ .
    RUN bun install && bun run build

    FROM python:3.12-slim
    WORKDIR /app
    COPY requirements.txt .
    RUN pip install -r requirements.txt
    COPY --from=frontend /frontend/dist /app/static
    COPY app app
    CMD ["gunicorn", "app.main:app"]
"""


def test_frontend_build_stage_does_not_hide_the_python_image(project: Project) -> None:
    result = project(
        {
            **APP,
            "requirements.txt": "fastapi\n",
            "frontend/package.json": "{}",
            "Dockerfile": FRONTEND_STAGE,
        }
    )
    assert codes(result) == ["PKG001"]


def test_poetry_export_in_another_stage(project: Project) -> None:
    files = {
        **APP,
        "pyproject.toml": """
            [tool.poetry]
            name = "svc"
            version = "0.1.0"

            [tool.poetry.dependencies]
            python = "^3.11"
            fastapi = "^0.115"
            uvicorn = "^0.30"
        """,
        "Dockerfile": """
            FROM python:3.11 AS requirements-stage
            WORKDIR /tmp
            RUN pip install poetry poetry-plugin-export
            COPY ./pyproject.toml ./poetry.lock* /tmp/
            RUN poetry export -f requirements.txt --output requirements.txt --without-hashes

            FROM python:3.11
            WORKDIR /code
            COPY --from=requirements-stage /tmp/requirements.txt /code/requirements.txt
            RUN pip install --no-cache-dir --upgrade -r /code/requirements.txt
            COPY ./app /code/app
            CMD ["{server}", "app.main:app", "--host", "0.0.0.0"]
        """,
    }
    clean = dict(files, Dockerfile=files["Dockerfile"].replace("{server}", "uvicorn"))
    assert codes(project(clean)) == []


def test_poetry_export_in_another_stage_missing_server(project: Project) -> None:
    files = {
        **APP,
        "pyproject.toml": '[tool.poetry]\nname = "svc"\nversion = "0.1.0"\n\n[tool.poetry.dependencies]\npython = "^3.11"\nfastapi = "^0.115"\n',
        "Dockerfile": """
            FROM python:3.11 AS requirements-stage
            WORKDIR /tmp
            RUN pip install poetry poetry-plugin-export
            COPY ./pyproject.toml /tmp/
            RUN poetry export -f requirements.txt --output requirements.txt --without-hashes

            FROM python:3.11
            WORKDIR /code
            COPY --from=requirements-stage /tmp/requirements.txt /code/requirements.txt
            RUN pip install --no-cache-dir -r /code/requirements.txt
            COPY ./app /code/app
            CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0"]
        """,
    }
    assert codes(project(files)) == ["PKG001"]


def test_wheelhouse_built_in_a_builder_stage(project: Project) -> None:
    dockerfile = """
        FROM python:3.12-slim AS builder
        WORKDIR /usr/src/app
        COPY requirements.txt .
        RUN pip wheel --no-cache-dir --no-deps --wheel-dir /usr/src/app/wheels -r requirements.txt

        FROM python:3.12-slim
        COPY --from=builder /usr/src/app/wheels /wheels
        RUN pip install --no-cache /wheels/*
        CMD ["gunicorn", "app.main:app"]
    """
    assert (
        codes(project({**APP, "requirements.txt": "fastapi\ngunicorn\n", "Dockerfile": dockerfile}))
        == []
    )


def test_wheelhouse_missing_the_server(project: Project) -> None:
    dockerfile = """
        FROM python:3.12-slim AS builder
        COPY requirements.txt .
        RUN pip wheel --wheel-dir /wheels -r requirements.txt

        FROM python:3.12-slim
        COPY --from=builder /wheels /wheels
        RUN pip install /wheels/*
        CMD ["gunicorn", "app.main:app"]
    """
    assert codes(project({**APP, "requirements.txt": "fastapi\n", "Dockerfile": dockerfile})) == [
        "PKG001"
    ]


@pytest.mark.parametrize(
    "step",
    [
        "python manage.py collectstatic --noinput",
        "curl -sSL https://install.python-poetry.org | python3 -",
        "curl -sSL https://install.python-poetry.org | POETRY_HOME=/opt/poetry python",
        "apt-key add - && gpg --dearmor",
        "flake8 .",
    ],
)
def test_harmless_build_steps_do_not_silence_the_check(project: Project, step: str) -> None:
    dockerfile = f"""
        FROM python:3.12-slim
        COPY requirements.txt .
        RUN pip install -r requirements.txt
        RUN {step}
        COPY . .
        CMD ["gunicorn", "app.main:app"]
    """
    assert codes(project({**APP, "requirements.txt": "fastapi\n", "Dockerfile": dockerfile})) == [
        "PKG001"
    ]


def test_procfile_with_requirements_include(project: Project) -> None:
    files = {
        "requirements.txt": "-r requirements/production.txt\n",
        "requirements/production.txt": "django\ngunicorn\n",
        "Procfile": "web: gunicorn bakerydemo.wsgi\n",
    }
    assert codes(project(files)) == []
    files["requirements/production.txt"] = "django\n"
    assert codes(project(files)) == ["PKG001"]
