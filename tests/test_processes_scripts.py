"""The process follower and scripts: `sh ./start.sh`, the CMD an entrypoint hands on with
"$@" (cookiecutter-django's /entrypoint + /start), the copy of a script on PATH, and whether
a shell read the words of an invocation."""

from __future__ import annotations

from pathlib import Path

from test_graph import graph_of

from conftest import write_tree
from preflight.model.processes import Step


def steps(root: Path, files: dict[str, str]) -> list[Step]:
    write_tree(root, files)
    graph = graph_of(root)
    (process,) = graph.processes
    return list(process.steps)


def dockerfile(*lines: str) -> str:
    return "\n".join(["FROM python:3.12-slim", "WORKDIR /app", "RUN pip install gunicorn", *lines])


def test_a_script_run_through_sh_is_followed_and_marked(tmp_path: Path) -> None:
    found = steps(
        tmp_path,
        {
            "Dockerfile": dockerfile("COPY . .", 'CMD ["bash", "-e", "./start.sh", "web"]'),
            "start.sh": "#!/bin/bash\ngunicorn app:app\n",
        },
    )
    script, server = found
    assert (script.runs, script.copied, script.interpreted) == (
        "script",
        ("/app/start.sh", "start.sh"),
        True,
    )
    assert script.invocation is not None and script.invocation.args == ("web",)
    assert server.invocation is not None and server.invocation.executable == "gunicorn"
    assert server.at is not None and (server.at.path, server.at.line) == ("start.sh", 2)
    assert server.invocation.shell  # a shell read the script's line


def test_the_cmd_an_entrypoint_hands_on_is_followed_into_its_script(tmp_path: Path) -> None:
    found = steps(
        tmp_path,
        {
            "Dockerfile": dockerfile(
                "COPY ./compose/entrypoint /entrypoint",
                "COPY ./compose/start /start",
                'ENTRYPOINT ["/entrypoint"]',
                'CMD ["/start"]',
            ),
            "compose/entrypoint": '#!/bin/bash\nset -o errexit\nexec "$@"\n',
            "compose/start": "#!/bin/bash\npython manage.py migrate\ngunicorn config.wsgi\n",
        },
    )
    assert [(s.runs, s.copied and s.copied[1]) for s in found] == [
        ("script", "compose/entrypoint"),
        ("script", "compose/start"),
        ("python", None),
        ("program", None),
    ]
    server = found[-1]
    assert server.at is not None and (server.at.path, server.at.line) == ("compose/start", 3)
    assert ("compose/entrypoint", 3) in {(r.span.path, r.span.line) for r in server.chain}


def test_an_argv_no_shell_saw_is_marked_so(tmp_path: Path) -> None:
    (server,) = steps(
        tmp_path, {"Dockerfile": dockerfile('CMD ["gunicorn", "app:app", "-b", ":$PORT"]')}
    )
    assert server.invocation is not None and not server.invocation.shell
    (server,) = steps(
        tmp_path, {"Dockerfile": dockerfile('CMD ["sh", "-c", "exec gunicorn -b :$PORT app"]')}
    )
    assert server.invocation is not None and server.invocation.shell


def test_the_copy_on_path_runs(tmp_path: Path) -> None:
    found = steps(
        tmp_path,
        {
            "Dockerfile": dockerfile(
                "COPY . .",
                "COPY docker/run.sh /usr/local/bin/run.sh",
                'ENTRYPOINT ["run.sh"]',
            ),
            "docker/run.sh": "#!/bin/sh\nexec gunicorn app:app\n",
            "run.sh": "#!/bin/sh\necho a different script in the working directory\n",
        },
    )
    assert found[0].copied == ("/usr/local/bin/run.sh", "docker/run.sh")


def test_a_script_that_hands_itself_to_itself_ends(tmp_path: Path) -> None:
    cmd = "CMD [" + ", ".join(['"./e.sh"'] * 30) + "]"
    found = steps(
        tmp_path,
        {
            "Dockerfile": dockerfile("COPY . .", 'ENTRYPOINT ["./e.sh"]', cmd),
            "e.sh": '#!/bin/sh\n"$@"\nexec "$@"\n',
        },
    )
    assert 0 < len(found) < 200
