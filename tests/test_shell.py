"""preflight.parse.shell: which programs a command line starts."""

from __future__ import annotations

from preflight.parse.shell import Invocation, invocations, shell_invocations, split_shell


def _exes(text: str) -> list[str] | None:
    found = shell_invocations(text)
    return None if found is None else [invocation.executable for invocation in found]


def test_sh_c_with_two_programs() -> None:
    found = invocations(
        [
            "sh",
            "-c",
            "alembic upgrade head && exec gunicorn app:app -k uvicorn.workers.UvicornWorker",
        ]
    )
    assert found == [
        Invocation("alembic", ("upgrade", "head")),
        Invocation("gunicorn", ("app:app", "-k", "uvicorn.workers.UvicornWorker")),
    ]


def test_assignment_and_tini() -> None:
    assert shell_invocations("PORT=8000 tini -- uvicorn app.main:app") == [
        Invocation("uvicorn", ("app.main:app",), (("tini", "--"),))
    ]


def test_tini_by_path_and_without_dashdash() -> None:
    assert invocations(["/usr/bin/tini", "--", "gunicorn"]) == [
        Invocation("gunicorn", (), (("/usr/bin/tini", "--"),))
    ]
    assert _exes("tini gunicorn x") == ["gunicorn"]


def test_wrapper_alone_is_the_program() -> None:
    assert _exes("tini --version") == ["tini"]
    assert _exes("uv --version") == ["uv"]


def test_uv_run() -> None:
    assert shell_invocations("uv run --no-dev uvicorn x:app") == [
        Invocation("uvicorn", ("x:app",), (("uv", "run", "--no-dev"),))
    ]
    assert _exes("uv run --with httpx --python 3.12 uvicorn x:app") == ["uvicorn"]
    assert _exes("uv run -- gunicorn x") == ["gunicorn"]


def test_gosu_and_su_exec_take_a_user() -> None:
    assert shell_invocations("gosu app gunicorn x:app") == [
        Invocation("gunicorn", ("x:app",), (("gosu", "app"),))
    ]
    assert _exes("su-exec app:app uvicorn a") == ["uvicorn"]


def test_timeout_takes_a_duration_and_value_options() -> None:
    assert _exes("timeout -s KILL 30 celery -A a worker") == ["celery"]


def test_stacked_wrappers_and_exec() -> None:
    assert shell_invocations("exec env FOO=1 uv run gunicorn x") == [
        Invocation("gunicorn", ("x",), (("env", "FOO=1"), ("uv", "run")))
    ]


def test_env_with_options_and_assignments() -> None:
    assert shell_invocations("env -i FOO=1 gunicorn x") == [
        Invocation("gunicorn", ("x",), (("env", "-i", "FOO=1"),))
    ]


def test_other_wrappers() -> None:
    assert _exes("newrelic-admin run-program gunicorn x") == ["gunicorn"]
    assert _exes("ddtrace-run gunicorn x") == ["gunicorn"]
    assert _exes("nohup celery worker &") == ["celery"]
    assert _exes("time gunicorn x") == ["gunicorn"]
    assert _exes("runuser -u app -- gunicorn x") == ["gunicorn"]
    assert _exes("chamber exec svc -- gunicorn x") == ["gunicorn"]
    assert _exes("conda run -n base gunicorn x") == ["gunicorn"]
    assert _exes("wait-for-it db:5432 -- gunicorn x") == ["gunicorn"]


def test_exec_of_positional_parameters_is_reported_as_is() -> None:
    # `exec "$@"` runs whatever the container was given: the executable is the literal `$@`,
    # and callers treat a `$` in the executable as "only known at run time".
    assert shell_invocations('exec "$@"') == [Invocation("$@", ())]
    assert _exes("sh -c 'cd /app; exec \"$@\"' --") == ["$@"]
    assert _exes("exec $CMD") == ["$CMD"]


def test_builtins_are_not_programs() -> None:
    assert shell_invocations("cd /app && python -m uvicorn") == [
        Invocation("python", ("-m", "uvicorn"))
    ]
    assert shell_invocations("set -e; echo hi") == []
    assert _exes("export A=1 && gunicorn") == ["gunicorn"]
    assert _exes("FOO=bar") == []
    assert _exes("if [ -f x ]; then gunicorn x; fi") == ["gunicorn"]


def test_unbalanced_quotes() -> None:
    assert split_shell('echo "unbalanced') is None
    assert shell_invocations("gunicorn 'x:app") is None


def test_comments() -> None:
    assert split_shell("# only a comment") == []
    assert _exes("# gunicorn x\nuvicorn y") == ["uvicorn"]
    assert _exes('echo "a # b"; gunicorn') == ["gunicorn"]
    assert _exes("gunicorn x#y") == ["gunicorn"]


def test_redirections_are_removed() -> None:
    assert shell_invocations("gunicorn x:app 2>&1 >/dev/null") == [
        Invocation("gunicorn", ("x:app",))
    ]
    assert split_shell("gunicorn x:app>log") == [["gunicorn", "x:app"]]
    assert split_shell("gunicorn x 2> err.log") == [["gunicorn", "x"]]
    assert split_shell("gunicorn x &>log") == [["gunicorn", "x"]]
    assert split_shell("gunicorn x >/dev/null 2>&1 &") == [["gunicorn", "x"]]


def test_operators_inside_quotes_are_text() -> None:
    assert split_shell('echo "a && b"; gunicorn') == [["echo", "a && b"], ["gunicorn"]]


def test_bash_lc() -> None:
    assert shell_invocations("bash -lc 'exec uvicorn a:b'") == [Invocation("uvicorn", ("a:b",))]


def test_subshell_and_pipeline() -> None:
    assert _exes("(cd /app && gunicorn x)") == ["gunicorn"]
    assert _exes("a | b") == ["a", "b"]


def test_loops_keep_their_body() -> None:
    assert _exes("for i in 1 2; do echo $i; done; gunicorn x") == ["gunicorn"]
    assert _exes("while true; do sleep 1; done") == ["sleep"]


def test_python_c_is_not_split() -> None:
    assert _exes("python -c 'import a; a.b()'") == ["python"]


def test_sh_c_without_script() -> None:
    assert _exes("sh -c") == ["sh"]


def test_too_deep_nesting_is_unknown() -> None:
    text = "gunicorn"
    for _ in range(6):
        text = "bash -c " + repr(text)
    assert shell_invocations(text) is None


# ---- known defects of shell.py (documented, not fixed here) --------------------------------


def test_trailing_comment() -> None:
    assert shell_invocations("gunicorn x:app # comment here") == [
        Invocation("gunicorn", ("x:app",))
    ]


def test_trailing_comment_with_operator() -> None:
    assert _exes("echo hi # && rm -rf /") == []


def test_heredoc_body() -> None:
    assert _exes("cat <<EOF\nhello world\nEOF") == ["cat"]


def test_case_patterns() -> None:
    text = 'case "$1" in web) exec gunicorn x;; worker) exec celery worker;; esac'
    assert _exes(text) == ["gunicorn", "celery"]


def test_command_v() -> None:
    assert _exes("command -v gunicorn") == []


def test_uv_global_option_before_run() -> None:
    assert _exes("uv --directory /app run gunicorn x") == ["gunicorn"]


def test_doppler_config_then_dashdash() -> None:
    assert _exes("doppler run -c prd -- gunicorn x") == ["gunicorn"]


def test_opentelemetry_instrument_value_options() -> None:
    assert _exes("opentelemetry-instrument --traces_exporter console uvicorn app:app") == [
        "uvicorn"
    ]


def test_dumb_init_rewrite() -> None:
    assert _exes("dumb-init --rewrite 15:2 gunicorn x") == ["gunicorn"]


def test_sudo_non_interactive() -> None:
    assert _exes("sudo -n gunicorn x") == ["gunicorn"]


def test_wait_for_it_without_command() -> None:
    assert _exes("wait-for-it db:5432") == ["wait-for-it"]
