"""The command line as users and CI meet it: exit codes, output formats, config errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from conftest import FIXTURES, REPO, write_tree
from preflight.cli import main

SCHEMA = json.loads((Path(__file__).parent / "findings.schema.json").read_text())


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), out, err


SEED = {
    "pyproject.toml": """
        [project]
        name = "api"
        version = "1"
        dependencies = ["fastapi", "uvicorn"]
    """,
    "Dockerfile": """
        FROM python:3.12-slim
        COPY . .
        RUN pip install .
        CMD ["gunicorn", "app:app"]
    """,
}


def test_reference_service_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", str(FIXTURES / "reference-service"))
    assert code == 0, out
    assert "All checks passed" in out


def test_finding_line_format_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--no-color", str(FIXTURES / "pkg001-gunicorn-missing"))
    assert code == 1
    first = out.splitlines()[0]
    assert first == (
        f"{FIXTURES / 'pkg001-gunicorn-missing'}/Dockerfile:9:7: PKG001 error: "
        "`gunicorn` is not installed in the image"
    )
    assert "^^^^^^^^" in out  # the marker under `gunicorn`
    assert "help: Add `gunicorn` to [project.dependencies] in pyproject.toml." in out
    assert out.splitlines()[-3:] == [
        "Found 1 finding: 1 error.",
        "Why and how to fix: `preflight explain PKG001` or "
        "https://github.com/preflight-dev/preflight/blob/main/rules/PKG001.md",
        "1 fixable with `preflight check --fix --unsafe-fixes`.",
    ]


def test_relative_root_is_kept_in_paths(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES)
    code, out, _ = run(capsys, "check", "-q", "pkg001-gunicorn-missing")
    assert code == 1
    assert out.startswith("pkg001-gunicorn-missing/Dockerfile:9:7: PKG001 ")
    monkeypatch.chdir(FIXTURES / "pkg001-gunicorn-missing")
    code, out, _ = run(capsys, "check", "-q")
    assert out.startswith("Dockerfile:9:7: PKG001 ")


def test_malformed_files_each_give_pf001_and_the_rest_is_checked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES / "malformed-files")
    code, out, err = run(capsys, "check", "--format", "json")
    assert code == 1 and err == ""
    found = {(f["code"], f["path"], f["line"], f["column"]) for f in json.loads(out)["findings"]}
    assert found == {
        ("PF001", "api/Dockerfile", 6, 1),
        ("PF001", "api/app/main.py", 7, 31),
        ("PF001", "api/k8s/deployment.yaml", 11, 17),
        ("PF001", "api/pyproject.toml", 6, 20),
        ("PKG001", "worker/Dockerfile", 6, 7),  # the other service is still checked
    }


def test_json_output_validates_and_is_deterministic(capsys: pytest.CaptureFixture[str]) -> None:
    outputs = []
    for _ in range(2):
        code, out, _ = run(
            capsys, "check", "--format", "json", str(FIXTURES / "pkg001-dev-group-only")
        )
        assert code == 1
        outputs.append(out)
    assert outputs[0] == outputs[1]
    document = json.loads(outputs[0])
    jsonschema.validate(document, SCHEMA)
    (finding,) = document["findings"]
    assert finding["code"] == "PKG001" and finding["name"] == "command-not-installed"
    assert finding["severity"] == "error"
    assert any(r["path"].endswith("pyproject.toml") for r in finding["related"])
    assert document["summary"]["error"] == 1


def test_json_clean_output_validates(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--format", "json", str(FIXTURES / "reference-service"))
    assert code == 0
    jsonschema.validate(json.loads(out), SCHEMA)


def test_output_is_sorted_by_path_line_col(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "check", "--format", "json", str(FIXTURES / "malformed-files"))
    keys = [(f["path"], f["line"], f["column"], f["code"]) for f in json.loads(out)["findings"]]
    assert keys == sorted(keys)


def test_select_ignore_and_fail_on(capsys: pytest.CaptureFixture[str]) -> None:
    root = str(FIXTURES / "malformed-files")
    code, out, _ = run(capsys, "check", "-q", "--select", "PKG", root)
    assert code == 1 and {line.split()[1] for line in out.splitlines()} == {"PKG001"}
    code, out, _ = run(capsys, "check", "-q", "--ignore", "PKG001,PF", root)
    assert code == 0 and out == ""
    code, _, _ = run(
        capsys, "check", "-q", "--fail-on", "info", str(FIXTURES / "reference-service")
    )
    assert code == 0


def test_unknown_selector_is_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "--select", "PKG999", str(FIXTURES / "reference-service"))
    assert code == 2 and out == ""
    assert err == "preflight: error: unknown rule code `PKG999`; the PKG rules are PKG001, PKG002\n"


@pytest.mark.parametrize(
    ("table", "message", "at"),
    [
        (
            'selct = ["PKG"]',
            "unknown key `selct` in [tool.preflight]; did you mean `select`?",
            "selct",
        ),
        ('select = ["XYZ001"]', "`select`: unknown rule code `XYZ001`", "select"),
        (
            'fail-on = "fatal"',
            '`fail-on` must be one of "error", "warning", "info", not "fatal"',
            "fail-on",
        ),
        (
            "[tool.preflight.rules.PKG001]\nprovided = []",
            "unknown key `provided` in [tool.preflight.rules.PKG001]",
            "provided",
        ),
        ("[tool.preflight.rules.NOPE1]\nx = 1", "unknown rule code `NOPE1`", "NOPE1"),
        (
            '[tool.preflight.per-file-ignores]\n"k8s/*" = ["PRX"]',
            '`per-file-ignores."k8s/*"`: unknown rule code `PRX`',
            "k8s",
        ),
    ],
)
def test_bad_config_is_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, table: str, message: str, at: str
) -> None:
    pyproject = SEED["pyproject.toml"] + "\n[tool.preflight]\n" + table + "\n"
    write_tree(tmp_path, {**SEED, "pyproject.toml": pyproject})
    code, out, err = run(capsys, "check", str(tmp_path))
    assert code == 2 and out == ""
    # file:line of the key at fault, then what is wrong in plain words
    written = (tmp_path / "pyproject.toml").read_text().splitlines()
    line = next(number for number, text in enumerate(written, 1) if at in text)
    assert err.count("\n") == 1
    assert err.startswith(f"preflight: error: {tmp_path / 'pyproject.toml'}:{line}: ")
    assert message in err
    assert "Input should" not in err and "tuple" not in err


def test_config_in_pyproject_and_preflight_toml(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pyproject = SEED["pyproject.toml"] + '\n[tool.preflight]\nignore = ["PKG001"]\n'
    write_tree(tmp_path, {**SEED, "pyproject.toml": pyproject})
    assert run(capsys, "check", str(tmp_path))[0] == 0
    write_tree(tmp_path, {"preflight.toml": 'select = ["ALL"]\n'})  # wins over pyproject.toml
    assert run(capsys, "check", str(tmp_path))[0] == 1


def test_per_rule_option_and_per_file_ignores(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pyproject = (
        SEED["pyproject.toml"]
        + '\n[tool.preflight.rules.PKG001]\nprovided-executables = ["gunicorn"]\n'
    )
    write_tree(tmp_path, {**SEED, "pyproject.toml": pyproject})
    assert run(capsys, "check", str(tmp_path))[0] == 0
    pyproject = SEED["pyproject.toml"] + '\n[tool.preflight.per-file-ignores]\n"Dock*" = ["PKG"]\n'
    write_tree(tmp_path, {**SEED, "pyproject.toml": pyproject})
    assert run(capsys, "check", str(tmp_path))[0] == 0


def test_exclude_skips_paths(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    files = {f"legacy/{name}": text for name, text in SEED.items()}
    files["preflight.toml"] = 'exclude = ["legacy"]\n'
    write_tree(tmp_path, files)
    assert run(capsys, "check", str(tmp_path))[0] == 0


def test_unused_and_unknown_suppressions_are_pf002(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    files = dict(SEED)
    files["Dockerfile"] = SEED["Dockerfile"].replace(
        "CMD", "# preflight: ignore[PKG001]\n        CMD"
    )
    files["requirements.txt"] = (
        "fastapi  # preflight: ignore[PKG001]\nuvicorn  # preflight: ignore[PKG01]\n"
    )
    write_tree(tmp_path, files)
    code, out, _ = run(capsys, "check", "-q", "--format", "json", str(tmp_path))
    found = [
        (f["code"], f["path"].removeprefix(f"{tmp_path}/"), f["line"], f["severity"])
        for f in json.loads(out)["findings"]
    ]
    assert found == [
        ("PF002", "requirements.txt", 1, "warning"),
        ("PF002", "requirements.txt", 2, "warning"),
    ]
    assert code == 0  # warnings do not fail by default
    assert run(capsys, "check", "--fail-on", "warning", str(tmp_path))[0] == 1


def test_trailing_suppression_in_yaml(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = FIXTURES / "pkg001-k8s-command"
    text = (
        (root / "deploy/deployment.yaml")
        .read_text()
        .replace(
            "            - gunicorn\n", "            - gunicorn  # preflight: ignore[PKG001]\n"
        )
    )
    assert text != (root / "deploy/deployment.yaml").read_text()
    shutil.copytree(root, tmp_path / "p")
    (tmp_path / "p/deploy/deployment.yaml").write_text(text)
    assert run(capsys, "check", str(tmp_path / "p"))[0] == 0


def test_bad_paths_are_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "check", str(tmp_path / "missing"))
    assert code == 2 and "does not exist" in err
    code, _, err = run(capsys, "check", "")
    assert code == 2 and "empty path" in err


def test_unknown_option_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "--bogus")
    assert code == 2 and err.startswith("preflight: error: No such option: --bogus")


def test_rules_and_explain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "--format", "json")
    assert code == 0
    rules = {rule["code"]: rule for rule in json.loads(out)}
    assert rules["PKG001"]["name"] == "command-not-installed"
    assert rules["PKG001"]["severity"] == "error"
    code, out, _ = run(capsys, "rules")
    assert code == 0 and "PKG001   command-not-installed" in out
    code, out, _ = run(capsys, "explain", "pkg001")
    assert code == 0 and out.startswith("# PKG001 command-not-installed")
    code, _, err = run(capsys, "explain", "XYZ")
    assert code == 2 and "unknown rule code" in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from preflight import __version__

    code, out, _ = run(capsys, "--version")
    assert code == 0 and out == f"preflight {__version__}\n"


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_the_script_answers_version_without_loading_the_command_line(flag: str) -> None:
    """The installed script's fast path: the same answer, and typer never imported."""

    from preflight import __version__

    probe = (
        "import sys; sys.argv = ['preflight', sys.argv[1]]\n"
        "from preflight.entry import main; main()\n"
        "print(sorted(m for m in ('typer', 'click', 'rich', 'preflight.cli') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, flag], capture_output=True, text=True, check=True
    )
    assert done.stdout == f"preflight {__version__}\n[]\n"


@pytest.mark.parametrize(
    "garbage",
    [
        b"\xff\xfe\x00binary",
        b"[project\nname = ",
        b"{{ .Values.x }}\nkind: [",
        b"FROM\n\tRUN \\\n",
        b"a: &a [*a]\n",
    ],
)
def test_no_input_gives_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, garbage: bytes
) -> None:
    for name in (
        "pyproject.toml",
        "Dockerfile",
        "k8s/x.yaml",
        "docker-compose.yml",
        ".env.example",
        "Procfile",
        "requirements.txt",
        "app/main.py",
        "entrypoint.sh",
    ):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(garbage + b"\nFastAPI\n")
    code, _, err = run(capsys, "check", str(tmp_path))
    assert code in (0, 1) and "Traceback" not in err and "internal error" not in err


def test_console_script_runs_out_of_process() -> None:
    exe = Path(sys.executable).with_name("preflight")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "preflight"]
    done = subprocess.run(
        [*command, "check", str(FIXTURES / "pkg001-gunicorn-missing"), "-q"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 1 and "PKG001" in done.stdout and done.stderr == ""


def test_suppression_text_inside_a_python_string_is_not_a_suppression(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write_tree(
        tmp_path,
        {
            "app/docs.py": '"""Write `# preflight: ignore[PKG001]` to silence a finding."""\n'
            'HELP = "# preflight: ignore"\nfrom fastapi import FastAPI\n',
        },
    )
    code, out, _ = run(capsys, "check", "-q", str(tmp_path))
    assert (code, out) == (0, "")


def test_preflight_checks_its_own_repository_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "-q", "--no-cache", str(REPO))
    assert (code, out) == (0, "")
