"""Issue 17, errors that help: did-you-mean for rule codes, rule names, configuration keys and
commands; rule names accepted wherever codes are; configuration errors as ``file:line: plain
words``; a user's mistake is never an "internal error". All through the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, write_tree
from preflight.cli import main

FIXTURE = FIXTURES / "pkg001-gunicorn-missing"  # one PKG001 finding
HANG_GUARD = 120  # seconds; a guard against a hang only
PYPROJECT = """\
[project]
name = "api"
version = "1"
dependencies = ["fastapi", "uvicorn"]
"""
DOCKERFILE = 'FROM python:3.12-slim\nCOPY . .\nRUN pip install .\nCMD ["gunicorn", "app:app"]\n'
# Words of the validation library the user never wrote.
PYDANTIC_WORDS = (
    "Input should",
    "Value error",
    "tuple",
    "dictionary",
    "validation error",
    "[type=",
)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), out, err


def one_line_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """The message of a run that must end in exit 2 with one plain line on stderr."""
    code, out, err = run(capsys, *args)
    assert code == 2 and out == "", err
    assert err.count("\n") == 1 and err.startswith("preflight: error: "), err
    assert "internal error" not in err and "please report" not in err, err
    assert not [word for word in PYDANTIC_WORDS if word in err], err
    return err.removeprefix("preflight: error: ").rstrip("\n")


def codes_of(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code, out, err = run(capsys, "check", "--format", "json", *args)
    assert code in (0, 1), err
    return code, [finding["code"] for finding in json.loads(out)["findings"]]


def project(root: Path, config: str = "", name: str = "pyproject.toml") -> Path:
    files = {"pyproject.toml": PYPROJECT, "Dockerfile": DOCKERFILE}
    if name == "pyproject.toml":
        files["pyproject.toml"] = PYPROJECT + config
    else:
        files[name] = config
    return write_tree(root, files)


# --- did-you-mean for rule codes and names ------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("PKG01", "unknown rule code `PKG01`; did you mean `PKG001` (command-not-installed)?"),
        ("PGK001", "unknown rule code `PGK001`; did you mean `PKG001` (command-not-installed)?"),
        ("PRB08", "unknown rule code `PRB08`; the PRB rules are PRB001 to PRB007"),
        ("PF9", "unknown rule code `PF9`; the PF rules are PF001, PF002, PF003"),
        ("PRX", "unknown rule code `PRX`; did you mean `PRB` (PRB001 to PRB007)?"),
        (
            "command-not-instaled",
            "unknown rule name `command-not-instaled`; "
            "did you mean `command-not-installed` (PKG001)?",
        ),
        ("unused-import", "unknown rule name `unused-import` (`preflight rules` lists every rule)"),
    ],
)
def test_unknown_rules_say_which_was_meant(
    capsys: pytest.CaptureFixture[str], given: str, message: str
) -> None:
    assert one_line_error(capsys, "check", "--select", given, str(FIXTURE)) == message
    assert one_line_error(capsys, "check", "--ignore", f"PF001,{given}", str(FIXTURE)) == message
    assert one_line_error(capsys, "explain", given).startswith(message.split(";")[0])


def test_explain_suggests_the_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert one_line_error(capsys, "explain", "PKG01") == (
        "unknown rule code `PKG01`; did you mean `PKG001` (command-not-installed)?"
    )


# --- rule names wherever codes are accepted -----------------------------------------------------


def test_rule_names_select_and_ignore_on_the_command_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert codes_of(capsys, "--select", "PKG001", str(FIXTURE)) == (1, ["PKG001"])
    assert codes_of(capsys, "--select", "command-not-installed", str(FIXTURE)) == (1, ["PKG001"])
    assert codes_of(capsys, "--select", "Command_Not_Installed", str(FIXTURE)) == (1, ["PKG001"])
    assert codes_of(capsys, "--select", "probe-port-mismatch", str(FIXTURE)) == (0, [])
    assert codes_of(capsys, "--ignore", "command-not-installed", str(FIXTURE)) == (0, [])
    assert codes_of(capsys, "--ignore", "prb,command-not-installed", str(FIXTURE)) == (0, [])


def test_explain_takes_a_rule_name(capsys: pytest.CaptureFixture[str]) -> None:
    by_code = run(capsys, "explain", "PKG001")
    by_name = run(capsys, "explain", "command-not-installed")
    assert by_name == by_code and by_name[0] == 0
    assert by_name[1].startswith("# PKG001 command-not-installed")


@pytest.mark.parametrize(
    "config",
    [
        '\n[tool.preflight]\nignore = ["command-not-installed"]\n',
        '\n[tool.preflight]\nselect = ["probe-port-mismatch"]\n',
        '\n[tool.preflight.per-file-ignores]\n"Dockerfile" = ["command-not-installed"]\n',
        # a rule's options under its name, as under its code
        '\n[tool.preflight.rules.command-not-installed]\nprovided-executables = ["gunicorn"]\n',
    ],
)
def test_rule_names_in_the_configuration(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, config: str
) -> None:
    assert codes_of(capsys, str(project(tmp_path / "plain"))) == (1, ["PKG001"])
    assert codes_of(capsys, str(project(tmp_path / "named", config))) == (0, [])


def test_one_rule_configured_twice_is_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = (
        "\n[tool.preflight.rules.PKG001]\nprovided-executables = []\n"
        '[tool.preflight.rules.command-not-installed]\nprovided-executables = ["gunicorn"]\n'
    )
    root = project(tmp_path, config)
    message = one_line_error(capsys, "check", str(root))
    assert message == (
        f"{root / 'pyproject.toml'}:8: a second table for PKG001 (command-not-installed)"
    )


# --- did-you-mean for configuration keys and values, and for commands --------------------------


@pytest.mark.parametrize(
    ("config", "line", "message"),
    [
        (
            '\n[tool.preflight]\nfail-on = "error"\nselct = ["PKG"]\n',
            8,
            "unknown key `selct` in [tool.preflight]; did you mean `select`?",
        ),
        (
            "\n[tool.preflight]\nper-file-ignore = {}\n",
            7,
            "unknown key `per-file-ignore` in [tool.preflight]; did you mean `per-file-ignores`?",
        ),
        (
            "\n[tool.preflight.rules.PKG001]\nprovided = []\n",
            7,
            "unknown key `provided` in [tool.preflight.rules.PKG001]; "
            "did you mean `provided-executables`?",
        ),
        (
            '\n[tool.preflight]\nfail-on = "warn"\n',
            7,
            '`fail-on` must be one of "error", "warning", "info", not "warn"; '
            "did you mean `warning`?",
        ),
    ],
)
def test_configuration_keys_and_values_say_which_was_meant(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, config: str, line: int, message: str
) -> None:
    root = project(tmp_path, config)
    assert (
        one_line_error(capsys, "check", str(root)) == f"{root / 'pyproject.toml'}:{line}: {message}"
    )


@pytest.mark.parametrize(
    ("typed", "meant"), [("chek", "check"), ("rule", "rules"), ("expain", "explain")]
)
def test_commands_say_which_was_meant(
    capsys: pytest.CaptureFixture[str], typed: str, meant: str
) -> None:
    assert one_line_error(capsys, typed) == f"No such command '{typed}'. Did you mean '{meant}'?"


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (
            ("check", "--format", "jsn"),
            [
                "--format",
                "`jsn` is not one of full, concise, grouped, text, json",
                "did you mean `json`?",
            ],
        ),
        (
            ("check", "--fail-on", "warn"),
            ["--fail-on", "`warn` is not one of error, warning, info", "did you mean `warning`?"],
        ),
        (("check", "--jobs", "0"), ["--jobs", "must be at least 1"]),
        (("check", "--jobs", "x"), ["--jobs", "must be a whole number"]),
        (("check", "--selct", "PKG"), ["--selct", "--select"]),
    ],
)
def test_option_values_in_plain_words(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], fragments: list[str]
) -> None:
    message = one_line_error(capsys, *args, str(FIXTURE))
    for fragment in fragments:
        assert fragment in message, message


# --- configuration errors: file:line and plain words ----------------------------------------------


@pytest.mark.parametrize(
    ("config", "line", "message"),
    [
        ("\n[tool.preflight]\nselect = 1\n", 7, "`select` must be an array, not an integer"),
        (
            '\n[tool.preflight]\nignore = ["PF002"]\nexclude = [\n  "a/",\n  2,\n]\n',
            8,
            "`exclude` item 2 must be a string, not an integer",
        ),
        (
            "\n[tool.preflight]\nmax-file-size = true\n",
            7,
            "`max-file-size` must be an integer, not a boolean",
        ),
        (
            "\n[tool.preflight]\nmax-file-size = 0\n",
            7,
            "`max-file-size` must be greater than 0, not 0",
        ),
        ("\n[tool.preflight]\nrules = 1\n", 7, "`rules` must be a table, not an integer"),
        (
            '\n[tool.preflight.per-file-ignores]\n"k8s/*" = "PKG001"\n',
            7,
            '`per-file-ignores."k8s/*"` must be an array, not a string',
        ),
        (
            '\n[tool.preflight]\nselect = ["PKG"]\n\n[tool.preflight.per-file-ignores]\n"k8s/*" = ["PRB09"]\n',
            10,
            '`per-file-ignores."k8s/*"`: unknown rule code `PRB09`; the PRB rules are PRB001 to PRB007',
        ),
        (
            '\n[tool.preflight.rules.PKG001]\nprovided-executables = "newrelic-admin"\n',
            7,
            "`rules.PKG001.provided-executables` must be an array, not a string",
        ),
        ("\n[tool.preflight.rules.DB001]\nx = 1\n", 6, "rule DB001 takes no options"),
        (
            "\n[tool.preflight.rules.NOPE1]\nx = 1\n",
            6,
            "unknown rule code `NOPE1` (`preflight rules` lists every rule)",
        ),
        ("\n[tool]\npreflight = [1]\n", 7, "[tool.preflight] must be a table, not an array"),
        (
            '\n[tool.preflight]\ndatabase-platform = "neno"\n',
            7,
            '`database-platform` must be one of "neon", not "neno"; did you mean `neon`?',
        ),
    ],
)
def test_configuration_errors_name_file_and_line_in_plain_words(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, config: str, line: int, message: str
) -> None:
    root = project(tmp_path, config)
    where = root / "pyproject.toml"
    assert one_line_error(capsys, "check", str(root)) == f"{where}:{line}: {message}"
    # the same file given with --config, and `preflight graph`, say the same
    assert (
        one_line_error(capsys, "check", "--config", str(where), str(root))
        == f"{where}:{line}: {message}"
    )
    assert one_line_error(capsys, "graph", str(root)) == f"{where}:{line}: {message}"


def test_preflight_toml_errors_name_file_and_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = project(tmp_path, '# ours\nselect = ["PKG"]\nfail-onn = "error"\n', "preflight.toml")
    assert one_line_error(capsys, "check", str(root)) == (
        f"{root / 'preflight.toml'}:3: unknown key `fail-onn`; did you mean `fail-on`?"
    )
    (root / "preflight.toml").write_text('[tool.preflight]\nselect = ["PKG"]\n')
    assert one_line_error(capsys, "check", str(root)) == (
        f"{root / 'preflight.toml'}:1: unknown key `tool` "
        "(here the keys of [tool.preflight] are top-level)"
    )
    (root / "preflight.toml").write_text('select = ["PKG"]\nignore = \n')
    assert one_line_error(capsys, "check", str(root)) == (
        f"{root / 'preflight.toml'}:2:10: not valid TOML: Invalid value"
    )


def test_the_root_is_named_as_the_user_named_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(tmp_path / "svc", '\n[tool.preflight]\nselct = ["PKG"]\n')
    monkeypatch.chdir(tmp_path)
    assert one_line_error(capsys, "check", "svc").startswith("svc/pyproject.toml:7: unknown key")
    monkeypatch.chdir(tmp_path / "svc")
    assert one_line_error(capsys, "check").startswith("pyproject.toml:7: unknown key")


# --- a user's mistake is never an internal error --------------------------------------------------


def console(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("preflight")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "preflight"]
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "NO_COLOR": "1"}
    return subprocess.run(
        [*command, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("-o", "missing/report.txt"),
            "cannot write the report to missing/report.txt: No such file or directory",
        ),
        (
            ("--format", "sarif", "-o", "missing/report.sarif"),
            "cannot write the report to missing/report.sarif: No such file or directory",
        ),
        (("-o", "out/"), "--output-file: `out/` names a directory; give a file name"),
        (
            ("--write-baseline", "missing/baseline.json"),
            "cannot write baseline missing/baseline.json: No such file or directory",
        ),
        (("--write-baseline", "pipe"), "cannot write baseline pipe: not a regular file"),
        (
            ("--baseline", "baseline.json"),
            "baseline baseline.json does not exist (record one with --write-baseline baseline.json)",
        ),
        (("--config", "conf/"), "--config: `conf/` names a directory; give a file name"),
        (("--config", "missing.toml"), "cannot read missing.toml: No such file or directory"),
    ],
)
def test_user_mistakes_are_plain_errors_not_internal_ones(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    project(tmp_path / "repo")
    os.mkfifo(tmp_path / "pipe")
    done = console(tmp_path, "check", *args, "repo")
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"preflight: error: {message}\n"
    assert done.stdout == ""
    assert (tmp_path / "pipe").is_fifo()  # never replaced by a file
    assert not (tmp_path / "out").exists() and not (tmp_path / "missing").exists()


def test_the_line_is_the_key_s_not_a_look_alike_in_a_string(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A multi-line string or array that holds key-like text is never taken for the key."""
    config = (
        '\n[tool.other]\nnotes = """\n[tool.preflight]\nselct = 1\n"""\n'
        "paths = [\n  'selct = 2',  # selct = 3\n  \"[x]\",\n]\n"
        "\n[tool.preflight]\n'fail-on' = \"error\"\nselct = []\n"
    )
    root = project(tmp_path, config)
    written = (root / "pyproject.toml").read_text().splitlines()
    assert written[17] == "selct = []"
    assert one_line_error(capsys, "check", str(root)) == (
        f"{root / 'pyproject.toml'}:18: unknown key `selct` in [tool.preflight]; "
        "did you mean `select`?"
    )
