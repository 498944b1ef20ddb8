"""RUN002 env-var-not-expanded: `$VAR` that no shell and no Kubernetes expansion reaches."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conftest import FIXTURES, codes, lint
from preflight.engine import Result

Project = Callable[..., Result]

REQUIREMENTS = "fastapi==0.115.6\nuvicorn==0.32.1\ngunicorn==23.0.0\n"
APP = "from fastapi import FastAPI\n\napp = FastAPI()\n"


@pytest.fixture
def families() -> tuple[str, ...]:
    return ("RUN002",)


def image(cmd: str, *, entrypoint: str = "", env: str = "") -> dict[str, str]:
    lines = [
        "FROM python:3.12-slim",
        "WORKDIR /app",
        "COPY requirements.txt .",
        "RUN pip install --no-cache-dir -r requirements.txt",
        "COPY . .",
        *([env] if env else []),
        *([entrypoint] if entrypoint else []),
        cmd,
    ]
    return {
        "Dockerfile": "\n".join(lines) + "\n",
        "requirements.txt": REQUIREMENTS,
        "app/__init__.py": "",
        "app/main.py": APP,
    }


def at(result: Result) -> list[tuple[str, int, int]]:
    assert set(codes(result)) <= {"RUN002"}, [f.message for f in result.findings]
    return [(f.span.path, f.span.line, f.span.col) for f in result.findings]


@pytest.mark.parametrize(
    ("fixture", "where"),
    [
        ("run002-exec-form-port", [("Dockerfile", 8, 65)]),
        ("run002-k8s-args", [("deploy/api.yaml", 22, 30), ("deploy/api.yaml", 24, 15)]),
        ("run002-clean-shell-form", []),
        ("run002-clean-k8s-expansion", []),
    ],
)
def test_fixtures(fixture: str, where: list[tuple[str, int, int]]) -> None:
    assert at(lint(FIXTURES / fixture, select=["RUN002"])) == where


def test_exec_form_cmd_points_inside_the_word_and_names_the_env(project: Project) -> None:
    result = project(
        image(
            'CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "${PORT:-8000}"]',
            env="ENV PORT=8000",
        )
    )
    (finding,) = result.findings
    assert (finding.span.line, finding.span.col, finding.span.end_col) == (7, 65, 78)
    assert "`${PORT:-8000}`" in finding.message and "`uvicorn`" in finding.message
    assert "exec-form (JSON) CMD" in finding.message
    assert [(r.span.path, r.span.line) for r in finding.related] == [("Dockerfile", 6)]
    assert finding.fix is not None and '"sh", "-c", "exec uvicorn' in finding.fix


@pytest.mark.parametrize(
    "cmd",
    [
        'CMD uvicorn app.main:app --port "${PORT:-8000}"',  # shell form: sh -c expands it
        'CMD ["sh", "-c", "exec uvicorn app.main:app --port ${PORT:-8000}"]',
        'CMD ["/bin/bash", "-lc", "exec gunicorn app.main:app -b 0.0.0.0:$PORT"]',
        'CMD ["uvicorn", "app.main:app", "--port", "8000"]',
        'CMD ["python", "-c", "import os; print(\'$HOME\')"]',  # Python code, not a variable
        'CMD ["gunicorn", "app.main:app", "--access-logformat", "$remote_addr"]',  # lower case
        'CMD ["java", "-jar", "app.jar", "--server.port=${PORT}"]',  # Spring resolves it
        'CMD ["uwsgi", "--http", ":$(PORT)", "--module", "app.main:app"]',  # uWSGI expands it
        'CMD ["hatch", "run", "uvicorn", "app.main:app", "--port", "$PORT"]',  # a shell runner
    ],
)
def test_silent_where_a_shell_or_the_program_may_expand(project: Project, cmd: str) -> None:
    assert project(image(cmd)).findings == []


def test_followed_through_wrappers_and_python_m(project: Project) -> None:
    result = project(
        image('CMD ["tini", "--", "python", "-m", "gunicorn", "app.main:app", "-b", ":$PORT"]')
    )
    (finding,) = result.findings
    assert "`python -m gunicorn`" in finding.message
    assert (finding.span.line, finding.span.col) == (6, 72)


def test_an_entrypoint_that_execs_its_arguments_passes_them_as_they_are(
    project: Project,
) -> None:
    files = image(
        'CMD ["gunicorn", "app.main:app", "--bind", "0.0.0.0:${PORT}"]',
        entrypoint='ENTRYPOINT ["./entrypoint.sh"]',
    )
    files["entrypoint.sh"] = '#!/bin/sh\nset -e\nexec "$@"\n'
    (finding,) = project(files).findings
    assert (finding.span.path, finding.span.line) == ("Dockerfile", 7)
    assert ("entrypoint.sh", 3) in {(r.span.path, r.span.line) for r in finding.related}


def test_an_entrypoint_that_evals_its_arguments_may_expand_them(project: Project) -> None:
    files = image(
        'CMD ["gunicorn", "app.main:app", "--bind", "0.0.0.0:${PORT}"]',
        entrypoint='ENTRYPOINT ["./entrypoint.sh"]',
    )
    files["entrypoint.sh"] = '#!/bin/sh\neval "exec $*"\n'
    assert project(files).findings == []


def test_a_script_given_the_word_as_an_argument_is_not_judged(project: Project) -> None:
    files = image('CMD ["./start.sh", "$PORT"]')
    files["start.sh"] = "#!/bin/sh\nexec gunicorn app.main:app -b 0.0.0.0:$1\n"
    assert project(files).findings == []


def test_pid_escape_in_a_shell_form_cmd(project: Project) -> None:
    result = project(image("CMD exec gunicorn app.main:app --bind 0.0.0.0:$$PORT --workers 2"))
    (finding,) = result.findings
    assert (finding.span.line, finding.span.col, finding.span.end_col) == (6, 47, 53)
    assert "process ID" in finding.message and "`$$PORT`" in finding.message
    assert finding.fix == "Write `$PORT` (or `${PORT}`)."


def test_a_deliberate_pid_is_not_an_escape(project: Project) -> None:
    cmd = 'CMD ["sh", "-c", "echo $$ > /tmp/app.pid && exec gunicorn app.main:app"]'
    assert project(image(cmd)).findings == []


def k8s(command: str, env: str = "", env_from: str = "") -> dict[str, str]:
    files = image('CMD ["gunicorn", "app.main:app"]')
    files["k8s/deploy.yaml"] = f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels: {{app: api}}
  template:
    metadata:
      labels: {{app: api}}
    spec:
      containers:
        - name: web
          image: api:dev
{command}
{env}{env_from}"""
    return files


def test_kubernetes_dollar_brace_is_literal_and_the_fix_names_the_env(project: Project) -> None:
    env = "          env:\n            - name: PORT\n              value: '8000'\n"
    files = k8s('          args: ["gunicorn", "app.main:app", "-b", "0.0.0.0:${PORT}"]', env)
    (finding,) = project(files).findings
    assert (finding.span.path, finding.span.line, finding.span.col) == ("k8s/deploy.yaml", 15, 61)
    assert "expands only `$(VAR)`" in finding.message
    assert finding.fix == "Write `$(PORT)`: Kubernetes substitutes it from the container's env."
    assert ("k8s/deploy.yaml", 17) in {(r.span.path, r.span.line) for r in finding.related}


def test_kubernetes_dollar_paren_needs_the_variable_in_the_container_env(
    project: Project,
) -> None:
    command = '          command: ["gunicorn", "app.main:app", "-b", "0.0.0.0:$(PORT)"]'
    files = k8s(command)
    files["Dockerfile"] = files["Dockerfile"].replace("COPY . .\n", "COPY . .\nENV PORT=8000\n")
    (finding,) = project(files).findings
    assert "`PORT` is not defined there" in finding.message
    assert "the image's ENV `PORT`" in finding.message
    env = "          env:\n            - name: PORT\n              value: '8000'\n"
    assert project(k8s(command, env)).findings == []


@pytest.mark.parametrize(
    ("command", "env_from"),
    [
        # envFrom of a Secret whose keys the repository does not hold
        (
            '          command: ["gunicorn", "app.main:app", "-b", ":$(PORT)"]',
            "          envFrom:\n            - secretRef:\n                name: external\n",
        ),
        # a service-link variable the kubelet adds
        ('          command: ["celery", "-b", "redis://$(REDIS_SERVICE_HOST)"]', ""),
        # `$$(PORT)` is Kubernetes' escape: the user wants the text
        ('          command: ["gunicorn", "app.main:app", "-b", ":$$(PORT)"]', ""),
        # a shell runs it
        ('          command: ["sh", "-c", "exec gunicorn app.main:app -b :$PORT"]', ""),
    ],
)
def test_kubernetes_silent_cases(project: Project, command: str, env_from: str) -> None:
    assert project(k8s(command, "", env_from)).findings == []


def test_kubernetes_shell_script_with_an_undefined_dollar_paren(project: Project) -> None:
    files = k8s('          command: ["sh", "-c", "exec gunicorn app.main:app -b :$(PORT)"]')
    (finding,) = project(files).findings
    assert "runs a command named `PORT`" in finding.message
    assert (finding.span.line, finding.span.col) == (15, 65)


@pytest.mark.parametrize(
    "command",
    [
        '["gunicorn", "app.main:app", "-b", "0.0.0.0:${PORT}"]',  # compose fills it in
        'sh -c "exec gunicorn app.main:app -b 0.0.0.0:$$PORT"',  # `$PORT` for the shell
    ],
)
def test_compose_interpolates_for_itself(project: Project, command: str) -> None:
    files = image('CMD ["gunicorn", "app.main:app"]')
    files["compose.yaml"] = f"services:\n  web:\n    build: .\n    command: {command}\n"
    assert project(files).findings == []


@pytest.mark.parametrize(
    ("command", "col"),
    [
        ('["gunicorn", "app.main:app", "-b", "0.0.0.0:$$PORT"]', 58),
        ("gunicorn app.main:app -b 0.0.0.0:$${PORT}", 47),  # split by compose, no shell
    ],
)
def test_compose_escape_reaches_the_program_as_text(
    project: Project, command: str, col: int
) -> None:
    files = image('CMD ["gunicorn", "app.main:app"]')
    files["compose.yaml"] = f"services:\n  web:\n    build: .\n    command: {command}\n"
    (finding,) = project(files).findings
    assert (finding.span.path, finding.span.line, finding.span.col) == ("compose.yaml", 4, col)
    assert "runs the command without a shell" in finding.message


def test_pid_escape_in_a_procfile(project: Project) -> None:
    files = {
        "Procfile": "web: gunicorn app.main:app --bind 0.0.0.0:$$PORT\n",
        "requirements.txt": REQUIREMENTS,
        "app/__init__.py": "",
        "app/main.py": APP,
    }
    (finding,) = project(files).findings
    assert (finding.span.path, finding.span.line, finding.span.col) == ("Procfile", 1, 43)
    assert "a Procfile line goes to the shell untouched" in finding.message


def test_through_uv_run(project: Project) -> None:
    cmd = 'CMD ["uv", "run", "--no-sync", "uvicorn", "app.main:app", "--port", "$PORT"]'
    (finding,) = project(image(cmd)).findings
    assert "`uvicorn`" in finding.message


def test_verbose_says_why_an_unknown_program_is_not_judged(project: Project) -> None:
    result = project(image('CMD ["java", "-jar", "app.jar", "--server.port=${PORT}"]'))
    assert result.findings == []
    assert any(
        "RUN002 silent" in note and "whether `java` expands variables" in note
        for note in result.notes
    )


def test_an_unknown_base_image_may_have_an_entrypoint_that_expands(project: Project) -> None:
    files = image('CMD ["uvicorn", "app.main:app", "--port", "${PORT}"]')
    files["Dockerfile"] = files["Dockerfile"].replace(
        "FROM python:3.12-slim", "FROM registry.example.com/platform/python-web:3"
    )
    result = project(files)
    assert result.findings == []
    assert any("its ENTRYPOINT may run the command" in note for note in result.notes)
    files["Dockerfile"] = files["Dockerfile"].replace(
        "COPY . .\n", 'COPY . .\nENTRYPOINT ["tini", "--"]\n'
    )
    assert len(project(files).findings) == 1


def test_kubernetes_args_with_envfrom_keys_not_in_the_repository(project: Project) -> None:
    files = k8s(
        '          args: ["app.main:app", "-b", ":$(PORT)"]',
        "",
        "          envFrom:\n            - configMapRef:\n                name: elsewhere\n",
    )
    files["Dockerfile"] = files["Dockerfile"].replace(
        'CMD ["gunicorn", "app.main:app"]', 'ENTRYPOINT ["gunicorn"]'
    )
    result = project(files)
    assert result.findings == []
    assert any("`elsewhere` has keys preflight cannot see" in note for note in result.notes)
