"""Issue 17, install and first run: what a newcomer meets before the first finding — bare
``preflight``, ``-h``, ``-V``, shell completion and help that speaks the user's words."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from preflight import __version__
from preflight.cli import main

HANG_GUARD = 120  # seconds; a guard against a hang only


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), out, err


def console(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("preflight")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "preflight"]
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=HANG_GUARD,
        check=False,
    )


def test_bare_preflight_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    """A CI step that forgot `check` must not go green."""
    code, out, err = run(capsys)
    assert code == 2 and out == ""
    assert err.startswith("Usage: preflight [OPTIONS] COMMAND")
    assert re.search(r"^  check +Check one or more repositories", err, re.M)
    assert err.splitlines()[-1] == (
        "preflight: error: no command given (to check this directory: `preflight check .`)"
    )
    # the same out of process, through the installed script
    done = console()
    assert done.returncode == 2 and done.stdout == "" and "Usage: preflight" in done.stderr


@pytest.mark.parametrize("command", [(), ("check",), ("rules",), ("graph",), ("explain",)])
def test_dash_h_is_help(capsys: pytest.CaptureFixture[str], command: tuple[str, ...]) -> None:
    short = run(capsys, *command, "-h")
    long = run(capsys, *command, "--help")
    assert short == long
    assert short[0] == 0 and short[1].startswith("Usage: preflight")


def test_dash_v_is_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "-V") == (0, f"preflight {__version__}\n", "")
    assert run(capsys, "--version") == (0, f"preflight {__version__}\n", "")


def test_shell_completion_is_typer_s_own() -> None:
    root_help = console("--help").stdout
    assert "--install-completion" in root_help and "--show-completion" in root_help
    script = console("--show-completion", "bash")
    assert script.returncode == 0 and "_PREFLIGHT_COMPLETE=complete_bash" in script.stdout
    # What the installed script asks: the words so far, the one being completed. Not a bare
    # `preflight` (that is help and exit 2): the completion protocol has no arguments.
    commands = console(
        env={
            "_PREFLIGHT_COMPLETE": "complete_bash",
            "COMP_WORDS": "preflight ch",
            "COMP_CWORD": "1",
        }
    )
    assert commands.returncode == 0 and commands.stdout.split() == ["check"]
    options = console(
        env={
            "_PREFLIGHT_COMPLETE": "complete_bash",
            "COMP_WORDS": "preflight check --sel",
            "COMP_CWORD": "2",
        }
    )
    assert options.returncode == 0 and options.stdout.split() == ["--select"]


@pytest.mark.parametrize("command", [(), ("check",), ("rules",), ("graph",), ("explain",)])
def test_help_names_no_python_types(
    capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0
    python_types = re.findall(r"<[^>]*\b(?:list|str|int|float|bool|dict|tuple|range)\b[^>]*>", out)
    assert python_types == [], out
    assert "[[" not in out  # `[[PATHS]...]...`


def test_check_help_says_what_its_values_are(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "check", "--help")
    assert "Usage: preflight check [OPTIONS] [PATH]..." in out
    assert re.search(r"^  PATH\.\.\. +Files or directories to check \(default: \.\)\.", out, re.M)
    assert re.search(r"^  --select CODES ", out, re.M)
    assert re.search(r"^  -j, --jobs N ", out, re.M)
