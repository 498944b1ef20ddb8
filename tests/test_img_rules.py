"""IMG001 healthcheck-tool-missing and IMG002 base-python-outside-requires-python, and the facts
they read: base-image knowledge, per-stage image contents, HEALTHCHECK and requires-python."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conftest import FIXTURES, codes, lint
from preflight.checks.img002_base_python_outside_requires_python import allowed_pythons
from preflight.engine import Result
from preflight.knowledge.baseimages import image_python, image_tools
from preflight.model.imagecontents import stage_contents
from preflight.parse.dockerfile import parse_dockerfile
from preflight.parse.pyproject import parse_pyproject

Project = Callable[..., Result]

PYPROJECT = """\
[project]
name = "orders"
version = "1.0.0"
requires-python = ">=3.11"
dependencies = ["fastapi>=0.115", "uvicorn>=0.30"]
"""
MAIN = "from fastapi import FastAPI\n\napp = FastAPI()\n"
CMD = 'CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]\n'


@pytest.fixture
def families() -> tuple[str, ...]:
    return ("IMG",)


def at(result: Result) -> list[tuple[str, str, int]]:
    assert set(codes(result)) <= {"IMG001", "IMG002"}, [f.message for f in result.findings]
    return [(f.code, f.span.path, f.span.line) for f in result.findings]


def service(dockerfile: str, **more: str) -> dict[str, str]:
    return {"pyproject.toml": PYPROJECT, "app/__init__.py": "", "app/main.py": MAIN,
            "Dockerfile": dockerfile, **more}  # fmt: skip


# --- knowledge ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "curl", "wget"),
    [
        ("python:3.12-slim", False, False),
        ("docker.io/library/python:3.12-slim-bookworm@sha256:abc", False, False),
        ("python:3.12", True, True),
        ("python:3.12-bookworm", True, True),
        ("python:3.12-alpine3.20", False, True),
        ("alpine:3.20", False, True),
        ("gcr.io/distroless/python3-debian12", False, False),
        ("ghcr.io/astral-sh/uv:python3.12-bookworm-slim", False, False),
        ("tiangolo/uvicorn-gunicorn-fastapi:python3.11", True, True),
    ],
)
def test_what_a_base_image_holds(ref: str, curl: bool, wget: bool) -> None:
    tools = image_tools(ref)
    assert tools is not None
    assert ("curl" in tools.present, "curl" in tools.absent) == (curl, not curl)
    assert ("wget" in tools.present, "wget" in tools.absent) == (wget, not wget)


@pytest.mark.parametrize(
    "ref", ["postgres:16", "redis:7", "gcr.io/distroless/python3:debug", "python:${TAG}", None]
)
def test_unknown_images_hold_nothing_known(ref: str | None) -> None:
    assert image_tools(ref) is None


@pytest.mark.parametrize(
    ("ref", "version"),
    [
        ("python:3.10-slim", "3.10"),
        ("python:3.12.4-alpine", "3.12.4"),
        ("python:3.14-rc-slim", "3.14"),
        ("pypy:3.10-slim", "3.10"),
        ("ghcr.io/astral-sh/uv:python3.12-bookworm-slim", "3.12"),
        ("tiangolo/uvicorn-gunicorn-fastapi:python3.11-slim", "3.11"),
        ("gcr.io/distroless/python3-debian12", "3.11"),
        ("registry.access.redhat.com/ubi9/python-311", "3.11"),
        ("python:3", None),
        ("python:latest", None),
        ("python", None),
        ("node:20", None),
    ],
)
def test_python_of_a_tag(ref: str, version: str | None) -> None:
    assert image_python(ref) == version


@pytest.mark.parametrize(
    ("constraint", "key", "fits", "misses"),
    [
        (">=3.11", "requires-python", "3.11.0", "3.10.9"),
        ("^3.12", "tool.poetry.dependencies.python", "3.13.1", "3.11.9"),
        ("~3.11", "tool.poetry.dependencies.python", "3.11.4", "3.12.0"),
        (">=3.10,<3.13", "tool.poetry.dependencies.python", "3.12.1", "3.13.0"),
        ("^3.9 || ^4.0", "tool.poetry.dependencies.python", "3.9.1", "3.8.9"),
    ],
)
def test_python_constraints(constraint: str, key: str, fits: str, misses: str) -> None:
    allowed = allowed_pythons(constraint, key)
    assert allowed is not None
    assert any(spec.contains(fits) for spec in allowed)
    assert not any(spec.contains(misses) for spec in allowed)


def test_a_bare_poetry_version_is_not_read() -> None:
    assert allowed_pythons("3.11", "tool.poetry.dependencies.python") is None


# --- parse --------------------------------------------------------------------------------


def test_healthcheck_is_parsed_and_inherited() -> None:
    dockerfile = parse_dockerfile(
        "Dockerfile",
        "FROM python:3.12-slim AS base\n"
        "HEALTHCHECK --interval=5s CMD curl -f http://localhost/ || exit 1\n"
        'FROM base AS final\nCMD ["x"]\n'
        "FROM base AS quiet\nHEALTHCHECK NONE\n",
    )
    _base, final, quiet = dockerfile.stages
    check = dockerfile.effective_healthcheck(final)
    assert check is not None and check.shell_form and check.span.line == 2
    assert "curl -f http://localhost/ || exit 1" in check.argv[-1]
    assert dockerfile.effective_healthcheck(quiet) is None
    exec_form = parse_dockerfile("D", 'FROM python:3.12\nHEALTHCHECK CMD ["curl", "-f", "x"]\n')
    assert exec_form.stages[0].healthcheck is not None
    assert exec_form.stages[0].healthcheck.argv == ("curl", "-f", "x")


def test_requires_python_is_read_with_its_span() -> None:
    pep621 = parse_pyproject("pyproject.toml", PYPROJECT)
    assert pep621.requires_python == ">=3.11" and pep621.requires_python_key == "requires-python"
    assert pep621.requires_python_span is not None and pep621.requires_python_span.line == 4
    poetry = parse_pyproject(
        "pyproject.toml",
        '[tool.poetry]\nname = "x"\n\n[tool.poetry.dependencies]\npython = "^3.12"\n',
    )
    assert poetry.requires_python == "^3.12"
    assert poetry.requires_python_key == "tool.poetry.dependencies.python"
    assert poetry.requires_python_span is not None and poetry.requires_python_span.line == 5


# --- model --------------------------------------------------------------------------------


def test_stage_contents_follow_the_stages_a_stage_is_built_from() -> None:
    dockerfile = parse_dockerfile(
        "Dockerfile",
        "FROM python:3.12-slim AS base\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends curl libpq5\n"
        "FROM python:3.11-slim AS builder\n"
        "RUN apt-get install -y wget && python -m venv /opt/venv\n"
        "FROM base AS final\n"
        "COPY --from=busybox:1.36 /bin/busybox /bin/nc\n",
    )
    _base, builder, final = stage_contents(dockerfile)
    assert final.base == "python:3.12-slim" and final.base_span.line == 1
    assert final.from_span.line == 5
    assert set(final.packages) == {"curl", "libpq5"} and final.packages["curl"].line == 2
    assert final.has_tool("curl") is True
    assert final.has_tool("wget") is False  # only the builder installs it
    assert final.has_tool("nc") is True  # copied in
    assert builder.has_tool("wget") is True
    assert builder.venvs == ("/opt/venv",)
    assert final.python is not None and final.python.version == "3.12"
    assert builder.python is not None and builder.python.version == "3.11"


def test_what_cannot_be_seen_is_unknown() -> None:
    dockerfile = parse_dockerfile(
        "Dockerfile",
        "FROM python:3.12-slim\nCOPY install.sh /\nRUN ./install.sh\n"
        "FROM python:3.12-slim\nRUN apt-get install -y $TOOLS\n"
        "FROM postgres:16\n",
    )
    script, variable, unknown_base = stage_contents(dockerfile)
    assert script.has_tool("curl") is None
    assert variable.has_tool("curl") is None
    assert unknown_base.has_tool("curl") is None


def test_uv_managed_python() -> None:
    dockerfile = parse_dockerfile(
        "Dockerfile",
        "FROM debian:bookworm-slim\nENV UV_PYTHON=3.12\nRUN uv python install\n"
        "FROM python:3.10-slim\nRUN uv sync --frozen\n"
        "FROM python:3.10-slim\nENV UV_PYTHON_DOWNLOADS=never\nRUN uv sync --frozen\n",
    )
    pinned, downloads, system = stage_contents(dockerfile)
    assert pinned.python is not None and pinned.python.managed
    assert pinned.python.version == "3.12" and pinned.python.span.line == 2
    assert downloads.uv_managed and downloads.uv_downloads
    assert system.uv_managed and not system.uv_downloads


def test_a_base_image_from_a_build_argument_has_no_known_python() -> None:
    dockerfile = parse_dockerfile(
        "Dockerfile", "ARG PY=3.10\nFROM python:${PY}-slim\nRUN pip install .\n"
    )
    (stage,) = stage_contents(dockerfile)
    assert stage.python is None and stage.python_unknown is not None
    assert stage.base_tools is not None  # the variant is written: slim either way


# --- IMG001 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "where"),
    [
        (
            "img001-slim-curl-healthcheck",
            [("IMG001", "Dockerfile", 17), ("IMG001", "docker-compose.yml", 10)],
        ),
        ("img001-k8s-exec-probe-alpine", [("IMG001", "k8s/deployment.yaml", 25)]),
        ("img001-clean-alpine-wget", []),
        ("img001-clean-curl-installed-final-stage", []),
        ("img001-clean-python-healthcheck", []),
        ("img002-slim-310-requires-311", [("IMG002", "Dockerfile", 1)]),
        ("img002-poetry-caret-python", [("IMG002", "Dockerfile", 1)]),
        ("img002-venv-copied-across-pythons", [("IMG002", "Dockerfile", 8)]),
        ("img002-clean-uv-managed-python", []),
        ("img002-clean-requirements-only", []),
        ("img002-clean-monorepo", []),
    ],
)
def test_fixtures(fixture: str, where: list[tuple[str, str, int]]) -> None:
    assert at(lint(FIXTURES / fixture, select=["IMG"])) == where


def test_healthcheck_relates_the_final_from_and_the_builder_install() -> None:
    result = lint(FIXTURES / "img001-slim-curl-healthcheck", select=["IMG001"])
    finding = result.findings[0]
    assert [(r.span.path, r.span.line) for r in finding.related] == [
        ("Dockerfile", 9),
        ("Dockerfile", 2),
    ]
    assert "only in stage `builder`" in finding.message
    assert finding.fix is not None and "urllib.request" in finding.fix


def test_distroless_healthcheck_with_wget(project: Project) -> None:
    dockerfile = (
        "FROM python:3.11-slim AS build\nWORKDIR /app\nCOPY . .\n"
        "RUN pip install --target /app/deps .\n"
        "FROM gcr.io/distroless/python3-debian12\nCOPY --from=build /app /app\n"
        'HEALTHCHECK CMD ["wget", "-qO-", "http://localhost:8000/health"]\n'
        'CMD ["app/main.py"]\n'
    )
    assert at(project(service(dockerfile))) == [("IMG001", "Dockerfile", 7)]


@pytest.mark.parametrize(
    "healthcheck",
    [
        "HEALTHCHECK CMD curl -f http://localhost:8000/ || python -c 'print(1)'",
        "HEALTHCHECK CMD curl -f http://localhost:8000/ || true",
        "HEALTHCHECK CMD curl -fs http://localhost:8000/ | grep ok",
        "HEALTHCHECK NONE",
    ],
)
def test_checks_that_do_more_than_call_the_tool_stay_silent(
    project: Project, healthcheck: str
) -> None:
    dockerfile = f"FROM python:3.12-slim\nCOPY . .\nRUN pip install .\n{healthcheck}\n{CMD}"
    assert at(project(service(dockerfile))) == []


def test_compose_target_stage_is_the_image(project: Project) -> None:
    dockerfile = (
        "FROM python:3.12-slim AS dev\nRUN apt-get update && apt-get install -y curl\n"
        "FROM python:3.12-slim AS prod\nCOPY . .\nRUN pip install .\n" + CMD
    )
    compose = (
        "services:\n  dev:\n    build:\n      context: .\n      target: dev\n"
        '    healthcheck:\n      test: ["CMD", "curl", "-f", "http://localhost:8000/"]\n'
        "  prod:\n    build: .\n"
        '    healthcheck:\n      test: ["CMD", "curl", "-f", "http://localhost:8000/"]\n'
    )
    assert at(project(service(dockerfile, **{"docker-compose.yml": compose}))) == [
        ("IMG001", "docker-compose.yml", 11)
    ]


# --- IMG002 -------------------------------------------------------------------------------


def test_builder_stage_install_is_judged_on_the_builder_python(project: Project) -> None:
    dockerfile = (
        "FROM python:3.10-slim AS builder\nWORKDIR /src\nCOPY . .\n"
        "RUN pip wheel --no-deps -w /wheels .\nRUN pip install .\n"
        "FROM python:3.12-slim\nCOPY --from=builder /wheels /wheels\n" + CMD
    )
    result = project(service(dockerfile))
    assert at(result) == [("IMG002", "Dockerfile", 1)]
    finding = result.findings[0]
    assert [(r.span.path, r.span.line) for r in finding.related] == [
        ("pyproject.toml", 4),
        ("Dockerfile", 5),
    ]
    assert "requires a different Python: 3.10.x not in '>=3.11'" in finding.message


@pytest.mark.parametrize(
    "dockerfile",
    [
        # the tag does not name the Python
        "FROM python:3\nCOPY . .\nRUN pip install .\n",
        # a build argument picks the base image
        "ARG PY=3.10\nFROM python:${PY}-slim\nCOPY . .\nRUN pip install .\n",
        # only the dependencies: pip does not check requires-python
        "FROM python:3.10-slim\nCOPY . .\nRUN pip install fastapi uvicorn\n",
        # uv picks a fitting Python
        "FROM python:3.10-slim\nCOPY --from=ghcr.io/astral-sh/uv:0.5 /uv /bin/\nCOPY . .\n"
        "RUN uv venv && uv pip install .\n",
        # another tool installs Python
        "FROM python:3.10-slim\nRUN pyenv install 3.12\nCOPY . .\nRUN pip install .\n",
        # a patch the constraint allows
        "FROM python:3.11.9-slim\nCOPY . .\nRUN pip install .\n",
    ],
)
def test_img002_stays_silent(project: Project, dockerfile: str) -> None:
    assert at(project(service(dockerfile + CMD))) == []


def test_pinned_uv_python_is_judged(project: Project) -> None:
    dockerfile = (
        "FROM debian:bookworm-slim\nCOPY --from=ghcr.io/astral-sh/uv:0.5 /uv /bin/\n"
        "RUN uv python install 3.10\nWORKDIR /app\nCOPY . .\n"
        "RUN uv sync --python 3.10 --frozen\n" + CMD
    )
    assert at(project(service(dockerfile, **{"uv.lock": "version = 1\n"}))) == [
        ("IMG002", "Dockerfile", 6)
    ]


def test_a_pulled_image_whose_command_installs_the_tool(project: Project) -> None:
    compose = (
        "services:\n  api:\n    image: python:3.12-slim\n"
        '    command: sh -c "apt-get update && apt-get install -y curl && python -m http.server"\n'
        '    healthcheck:\n      test: ["CMD", "curl", "-f", "http://localhost:8000/"]\n'
        "  plain:\n    image: python:3.12-slim\n"
        '    command: ["python", "-m", "http.server"]\n'
        '    healthcheck:\n      test: ["CMD", "curl", "-f", "http://localhost:8000/"]\n'
    )
    assert at(project({"docker-compose.yml": compose})) == [("IMG001", "docker-compose.yml", 11)]


def test_pip_told_to_ignore_requires_python(project: Project) -> None:
    dockerfile = "FROM python:3.10-slim\nCOPY . .\nRUN pip install --ignore-requires-python .\n"
    assert at(project(service(dockerfile + CMD))) == []


def test_a_compose_service_running_an_image_a_build_here_makes(project: Project) -> None:
    dockerfile = "FROM python:3.12-slim\nCOPY . .\nRUN pip install .\n" + CMD
    compose = (
        "services:\n  api:\n    build: .\n    image: ghcr.io/acme/orders:1.0\n"
        "  worker:\n    image: ghcr.io/acme/orders:1.0\n"
        '    healthcheck:\n      test: ["CMD", "curl", "-f", "http://localhost:8000/"]\n'
    )
    result = project(service(dockerfile, **{"docker-compose.yml": compose}))
    assert at(result) == [("IMG001", "docker-compose.yml", 8)]
    assert [(r.span.path, r.span.line) for r in result.findings[0].related] == [("Dockerfile", 1)]
