"""RUN006 entrypoint-script-broken: CR LF scripts, scripts without their executable bit, and
servers a script starts without `exec`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from test_gitindex import git, needs_git

from conftest import FIXTURES, codes, lint, write_tree
from preflight.engine import Result

Project = Callable[..., Result]

REQUIREMENTS = "django==5.1.4\ngunicorn==23.0.0\ncelery==5.4.0\n"


@pytest.fixture
def families() -> tuple[str, ...]:
    return ("RUN006",)


def at(result: Result) -> list[tuple[str, int, int, str]]:
    assert set(codes(result)) <= {"RUN006"}, [f.message for f in result.findings]
    return [(f.span.path, f.span.line, f.span.col, f.severity.value) for f in result.findings]


@pytest.mark.parametrize(
    ("fixture", "where"),
    [
        ("run006-crlf-entrypoint", [("docker-entrypoint.sh", 1, 1, "error")]),
        ("run006-not-executable", [("services/api/Dockerfile", 6, 13, "error")]),
        ("run006-no-exec", [("start.sh", 8, 1, "warning")]),
        ("run006-clean-lf-entrypoint", []),
        ("run006-clean-chmod-in-image", []),
        ("run006-clean-exec-server", []),
    ],
)
def test_fixtures(fixture: str, where: list[tuple[str, int, int, str]]) -> None:
    assert at(lint(FIXTURES / fixture, select=["RUN006"])) == where


def image(*lines: str, script: str = '#!/bin/sh\nexec "$@"\n') -> dict[str, str]:
    return {
        "Dockerfile": "\n".join(
            [
                "FROM python:3.12-slim",
                "WORKDIR /app",
                "COPY requirements.txt .",
                "RUN pip install --no-cache-dir -r requirements.txt",
                *lines,
            ]
        )
        + "\n",
        "requirements.txt": REQUIREMENTS,
        "entrypoint.sh": script,
    }


def run(tmp_path: Path, files: dict[str, str], executable: bool = False) -> Result:
    write_tree(tmp_path, files)
    if executable:
        (tmp_path / "entrypoint.sh").chmod(0o755)
    return lint(tmp_path, select=["RUN006"])


def test_a_script_without_x_and_no_chmod(tmp_path: Path) -> None:
    result = run(tmp_path, image("COPY . .", 'ENTRYPOINT ["/app/entrypoint.sh"]'))
    (finding,) = result.findings
    assert (finding.span.path, finding.span.line, finding.span.col) == ("Dockerfile", 6, 13)
    assert "permission denied" in finding.message
    assert "no executable bit in the file system" in finding.message
    assert finding.fix is not None and "git update-index --chmod=+x entrypoint.sh" in finding.fix


@pytest.mark.parametrize(
    "lines",
    [
        ("COPY . .", "RUN chmod +x entrypoint.sh", 'ENTRYPOINT ["./entrypoint.sh"]'),
        ("COPY . .", "RUN chmod 0755 /app/entrypoint.sh", 'ENTRYPOINT ["./entrypoint.sh"]'),
        ("COPY . .", "RUN chmod -R a+rx /app", 'ENTRYPOINT ["./entrypoint.sh"]'),
        ("COPY . .", "RUN chmod u+x,g+x /app/*.sh", 'ENTRYPOINT ["./entrypoint.sh"]'),
        (
            "COPY . .",
            "RUN find . -name '*.sh' -exec chmod +x {} +",
            'ENTRYPOINT ["./entrypoint.sh"]',
        ),
        ("COPY . .", "RUN chmod +x $APP_HOME/entrypoint.sh", 'ENTRYPOINT ["./entrypoint.sh"]'),
        ("COPY --chmod=755 entrypoint.sh /usr/local/bin/", 'ENTRYPOINT ["entrypoint.sh"]'),
        ("COPY . .", 'ENTRYPOINT ["sh", "./entrypoint.sh"]'),  # the shell reads it
        ("COPY . .", 'ENTRYPOINT ["/bin/bash", "-e", "/app/entrypoint.sh"]'),
    ],
)
def test_made_executable_in_the_image_or_run_through_a_shell(
    tmp_path: Path, lines: tuple[str, ...]
) -> None:
    assert run(tmp_path, image(*lines)).findings == []


def test_chmod_that_removes_or_misses_does_not_count(tmp_path: Path) -> None:
    files = image(
        "COPY . .",
        "RUN chmod 644 entrypoint.sh && chmod +x other.sh",
        'ENTRYPOINT ["./entrypoint.sh"]',
    )
    assert at(run(tmp_path, files)) == [("Dockerfile", 7, 13, "error")]


def test_the_copy_on_path_is_the_one_that_runs(tmp_path: Path) -> None:
    files = image(
        "COPY . .",  # a 644 copy in /app
        "COPY --chmod=755 entrypoint.sh /usr/local/bin/entrypoint.sh",
        'ENTRYPOINT ["entrypoint.sh"]',
    )
    assert run(tmp_path, files).findings == []


@needs_git
def test_git_decides_over_the_disk(tmp_path: Path) -> None:
    files = image("COPY . .", 'ENTRYPOINT ["./entrypoint.sh"]')
    write_tree(tmp_path, files)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")  # entrypoint.sh: 100644
    (tmp_path / "entrypoint.sh").chmod(0o755)  # executable only on this disk
    (finding,) = lint(tmp_path, select=["RUN006"]).findings
    assert "no executable bit in the git index" in finding.message
    git(tmp_path, "update-index", "--chmod=+x", "entrypoint.sh")
    (tmp_path / "entrypoint.sh").chmod(0o644)  # and the other way round
    assert lint(tmp_path, select=["RUN006"]).findings == []


def test_crlf_is_reported_once_at_the_script(tmp_path: Path) -> None:
    files = image("COPY --chmod=755 . .", 'ENTRYPOINT ["./entrypoint.sh"]')
    write_tree(tmp_path, files)
    (tmp_path / "entrypoint.sh").write_bytes(b'#!/bin/sh\r\nexec "$@"\r\n')
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    build: .\n    command: [gunicorn, app.wsgi]\n", encoding="utf-8"
    )
    (finding,) = lint(tmp_path, select=["RUN006"]).findings
    assert (finding.span.path, finding.span.line) == ("entrypoint.sh", 1)
    assert "no such file or directory" in finding.message
    assert finding.fix is not None and "*.sh text eol=lf" in finding.fix


def test_crlf_read_by_a_shell_fails_differently(tmp_path: Path) -> None:
    files = image("COPY . .", 'CMD ["sh", "./entrypoint.sh"]')
    write_tree(tmp_path, files)
    (tmp_path / "entrypoint.sh").write_bytes(b"#!/bin/sh\r\nset -e\r\n")
    (finding,) = lint(tmp_path, select=["RUN006"]).findings
    assert "`$'\\r': command not found`" in finding.message


def test_crlf_stripped_in_the_image(tmp_path: Path) -> None:
    files = image(
        "COPY --chmod=755 entrypoint.sh /entrypoint",
        "RUN sed -i 's/\\r$//g' /entrypoint",
        'ENTRYPOINT ["/entrypoint"]',
    )
    write_tree(tmp_path, files)
    (tmp_path / "entrypoint.sh").write_bytes(b'#!/bin/sh\r\nexec "$@"\r\n')
    assert lint(tmp_path, select=["RUN006"]).findings == []


SERVER = "gunicorn app.wsgi:application --bind 0.0.0.0:8000"
CMD = "CMD [" + ", ".join(f'"{word}"' for word in SERVER.split()) + "]"


@pytest.mark.parametrize(
    ("script", "line"),
    [
        (f"#!/bin/sh\nset -e\npython manage.py migrate\n{SERVER}\n", 4),
        (f"#!/bin/sh\ncd /app && \\\n  {SERVER}\n", 2),  # a continued line, `&&`, no exec
        (f'#!/bin/sh\nif [ "$1" = web ]; then\n  {SERVER}\nelse\n  echo other\nfi\n', 3),
        (
            '#!/bin/sh\ncase "$ROLE" in\n  worker) celery -A app worker ;;\n  *) exit 1 ;;\nesac\n',
            3,
        ),
        (f"#!/bin/sh\nwhile true; do\n  {SERVER}\ndone\n", 3),
        ('#!/bin/sh\npython manage.py migrate\n"$@"\n', 3),  # the CMD, without exec
    ],
)
def test_a_server_started_last_without_exec(tmp_path: Path, script: str, line: int) -> None:
    files = image(
        "COPY . .",
        'ENTRYPOINT ["/app/entrypoint.sh"]',
        CMD,
        script=script,
    )
    result = run(tmp_path, files, executable=True)
    assert at(result) == [("entrypoint.sh", line, result.findings[0].span.col, "warning")]
    assert "without `exec`" in result.findings[0].message


@pytest.mark.parametrize(
    "script",
    [
        f"#!/bin/sh\nexec {SERVER}\n",
        f"#!/bin/sh\ncd /app && exec {SERVER}\n",
        f"#!/bin/sh\n{SERVER}\necho stopped\n",  # not the last command
        f"#!/bin/sh\n{SERVER} &\nwait\n",  # in the background
        f"#!/bin/sh\ntrap 'kill -TERM $child' TERM\n{SERVER}\n",  # forwards the signal
        '#!/bin/sh\npython manage.py migrate\nexec "$@"\n',
        "#!/bin/sh\npython manage.py migrate\n",  # starts no server
    ],
)
def test_silent_when_the_server_gets_the_signal(tmp_path: Path, script: str) -> None:
    files = image(
        "COPY . .",
        'ENTRYPOINT ["/app/entrypoint.sh"]',
        CMD,
        script=script,
    )
    assert run(tmp_path, files, executable=True).findings == []


def test_dumb_init_signals_the_group(tmp_path: Path) -> None:
    files = image(
        "COPY . .",
        'ENTRYPOINT ["dumb-init", "--", "/app/entrypoint.sh"]',
        script=f"#!/bin/sh\n{SERVER}\n",
    )
    assert run(tmp_path, files, executable=True).findings == []
    files["Dockerfile"] = files["Dockerfile"].replace('"dumb-init", "--"', '"tini", "--"')
    assert len(run(tmp_path, files, executable=True).findings) == 1


def test_one_warning_for_a_script_every_launch_runs(tmp_path: Path) -> None:
    files = image(
        "COPY . .",
        'ENTRYPOINT ["/app/entrypoint.sh"]',
        script=f"#!/bin/sh\n{SERVER}\n",
    )
    files["k8s/deploy.yaml"] = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: web:dev
          args: ["--verbose"]
"""
    result = run(tmp_path, files, executable=True)
    assert at(result) == [("entrypoint.sh", 2, 1, "warning")]


def test_a_procfile_is_not_judged(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "Procfile": "web: ./start.sh\n",
            "requirements.txt": REQUIREMENTS,
            "start.sh": f"#!/bin/sh\n{SERVER}\n",
        },
    )
    assert lint(tmp_path, select=["RUN006"]).findings == []


def test_verbose_says_where_the_image_makes_it_executable(tmp_path: Path) -> None:
    files = image("COPY . .", "RUN chmod 0755 entrypoint.sh", 'ENTRYPOINT ["./entrypoint.sh"]')
    result = run(tmp_path, files)
    assert result.findings == []
    assert any("Dockerfile:6 runs `chmod 0755 entrypoint.sh`" in note for note in result.notes)


def test_crlf_after_an_lf_shebang_breaks_the_lines_not_the_start(tmp_path: Path) -> None:
    files = image("COPY --chmod=755 . .", 'ENTRYPOINT ["./entrypoint.sh"]')
    write_tree(tmp_path, files)
    (tmp_path / "entrypoint.sh").write_bytes(b'#!/bin/sh\nset -e\r\nexec "$@"\r\n')
    (finding,) = lint(tmp_path, select=["RUN006"]).findings
    assert (finding.span.path, finding.span.line) == ("entrypoint.sh", 2)
    assert "stray carriage return" in finding.message
