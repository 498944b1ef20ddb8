"""preflight as a CI gate: SARIF, GitHub annotations, JUnit, GitLab, baseline, CI options."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest
import yaml

from conftest import FIXTURES, REPO, SHARED
from preflight.cli import main

MULTI = FIXTURES / "prb006-port-mismatch"  # three findings in two files
SARIF_SCHEMA = SHARED / "data" / "sarif-schema-2.1.0.json"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), out, err


def text_locations(capsys: pytest.CaptureFixture[str], root: Path) -> list[tuple[str, int, int]]:
    _, out, _ = run(capsys, "check", "-q", str(root))
    found = []
    for line in out.splitlines():
        place = line.split(": ", 1)[0]
        path, number, col = place.rsplit(":", 2)
        found.append((path, int(number), int(col)))
    return found


@pytest.mark.skipif(
    not SARIF_SCHEMA.exists(), reason="../shared/data/sarif-schema-2.1.0.json is absent"
)
def test_sarif_validates_and_matches_the_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--format", "sarif", str(MULTI))
    assert code == 1
    document = json.loads(out)
    jsonschema.validate(document, json.loads(SARIF_SCHEMA.read_text()))
    (sarif_run,) = document["runs"]
    rules = sarif_run["tool"]["driver"]["rules"]
    assert {"id": "PRB006", "name": "probe-port-mismatch"}.items() <= next(
        r for r in rules if r["id"] == "PRB006"
    ).items()
    assert next(r for r in rules if r["id"] == "PRB006")["help"]["markdown"].startswith("# PRB006")
    regions = [
        (
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["locations"][0]["physicalLocation"]["region"]["startColumn"],
        )
        for r in sarif_run["results"]
    ]
    assert regions == text_locations(capsys, MULTI)
    assert all(r["partialFingerprints"]["preflightFingerprint/v1"] for r in sarif_run["results"])
    assert all(r["relatedLocations"] for r in sarif_run["results"])


def test_sarif_fingerprints_are_stable_across_runs(capsys: pytest.CaptureFixture[str]) -> None:
    first = run(capsys, "check", "--format", "sarif", str(MULTI))[1]
    second = run(capsys, "check", "--format", "sarif", str(MULTI))[1]
    assert first == second


def test_github_annotations_escape_as_github_requires(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--format", "github", str(MULTI))
    assert code == 1
    annotations = [line for line in out.splitlines() if line.startswith("::")]
    assert len(annotations) == 3
    first = annotations[0]
    assert first.startswith(f"::error file={MULTI.as_posix()}/k8s/deployment.yaml,line=32,col=21,")
    # title: the code and the headline (":" and "," escaped as properties need)
    assert ",title=PRB006 livenessProbe port `web` is not a container port::" in first
    assert "%0A" in first and "\n" not in first  # the fix hint is on a second (escaped) line


def test_github_escaping_of_special_characters() -> None:
    from preflight.report.github import _data, _property

    assert _data("50% done\nnext") == "50%25 done%0Anext"
    assert _property("a:b,c") == "a%3Ab%2Cc"


def test_junit_has_one_testcase_per_rule_per_file(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "check", "--format", "junit", str(MULTI))
    suite = ET.fromstring(out).find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [(c.get("classname", "").rsplit("/", 1)[-1], c.get("name")) for c in cases] == [
        ("deployment.yaml", "PRB006 probe-port-mismatch"),
        ("service.yaml", "PRB006 probe-port-mismatch"),
    ]
    assert all(c.find("failure") is not None for c in cases)


def test_gitlab_code_quality(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "check", "--format", "gitlab", str(MULTI))
    issues = json.loads(out)
    assert len(issues) == 3
    assert {"check_name", "description", "fingerprint", "severity", "location"} <= issues[0].keys()
    assert issues[0]["location"]["lines"]["begin"] == 32
    assert len({i["fingerprint"] for i in issues}) == 3


def test_output_file_exit_zero_and_statistics(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    report = tmp_path / "report.sarif"
    code, out, err = run(
        capsys,
        "check",
        "--format",
        "sarif",
        "--output-file",
        str(report),
        "--exit-zero",
        "--statistics",
        str(MULTI),
    )
    assert code == 0 and "SARIF" not in out and err == ""
    assert json.loads(report.read_text())["version"] == "2.1.0"
    assert "3  PRB006   probe-port-mismatch" in out  # the report went to the file
    code, out, _ = run(capsys, "check", "--statistics", "--no-show-source", str(MULTI))
    assert code == 1 and " | " not in out and "3  PRB006" in out


def test_color_never_and_no_color_env(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out, _ = run(capsys, "check", "--color", "always", str(MULTI))
    assert "\x1b[" in out
    monkeypatch.setenv("NO_COLOR", "1")
    _, out, _ = run(capsys, "check", str(MULTI))
    assert "\x1b[" not in out
    _, out, _ = run(capsys, "check", "--color", "never", str(MULTI))
    assert "\x1b[" not in out


def test_baseline_survives_unrelated_edits_and_catches_new_defects(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = tmp_path / "svc"
    shutil.copytree(MULTI, root)
    baseline = tmp_path / "baseline.json"
    assert run(capsys, "check", "--write-baseline", str(baseline), str(root))[0] == 0
    assert len(json.loads(baseline.read_text())["findings"]) == 3
    for path in root.rglob("*"):
        if path.is_file() and ".preflight_cache" not in path.parts:
            text = path.read_text()
            prefix = (
                "#\n" * 10
                if path.suffix in (".yaml", ".yml", ".toml") or path.name == "Dockerfile"
                else "\n" * 10
            )
            path.write_text(prefix + text)
    code, out, _ = run(capsys, "check", "-q", "--baseline", str(baseline), str(root))
    assert (code, out) == (0, "")
    deployment = root / "k8s" / "deployment.yaml"
    deployment.write_text(
        deployment.read_text()
        .replace("readinessProbe", "readinessProbe", 1)
        .replace("replicas: 2", "replicas: 2")
    )
    service = root / "k8s" / "service.yaml"
    service.write_text(
        service.read_text()
        + "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: inventory-internal\nspec:\n  selector:\n    app: inventory\n  ports:\n    - port: 81\n      targetPort: 9090\n"
    )
    code, out, _ = run(
        capsys, "check", "-q", "--baseline", str(baseline), "--statistics", str(root)
    )
    assert code == 1
    new = [line for line in out.splitlines() if ": PRB006 " in line]
    assert len(new) == 1 and "9090" in new[0]


def test_baseline_reports_fixed_findings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = tmp_path / "svc"
    shutil.copytree(MULTI, root)
    baseline = tmp_path / "baseline.json"
    run(capsys, "check", "--write-baseline", str(baseline), str(root))
    (root / "k8s" / "service.yaml").unlink()
    code, out, _ = run(capsys, "check", "--baseline", str(baseline), "--statistics", str(root))
    assert code == 0
    assert "1  fixed since the baseline" in out


def test_bad_baseline_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "b.json"
    bad.write_text("[1, 2")
    code, _, err = run(capsys, "check", "--baseline", str(bad), str(MULTI))
    assert code == 2 and err.startswith("preflight: error: baseline") and err.count("\n") == 1


def _action_step_script(text: str, inputs: dict[str, str]) -> str:
    import re

    return re.sub(r"\$\{\{\s*inputs\.(\w+)\s*\}\}", lambda m: inputs[m.group(1)], text)


@pytest.mark.skipif(shutil.which("bash") is None, reason="the Action's steps are bash")
def test_action_runs_preflight_once_for_annotations_summary_and_sarif(tmp_path: Path) -> None:
    """The Check step, run as GitHub runs it (bash, $GITHUB_OUTPUT, $GITHUB_STEP_SUMMARY):
    one preflight run gives the annotations, the log list, the job summary and the SARIF file,
    and the step fails with preflight's exit code while the upload step still runs."""
    import re

    text = (REPO / "action.yml").read_text()
    action = yaml.safe_load(text)
    inputs = action["inputs"]
    assert {"path", "args", "sarif", "version"} <= inputs.keys()
    assert set(re.findall(r"\$\{\{\s*inputs\.(\w+)", text)) <= inputs.keys()
    steps = action["runs"]["steps"]
    runs_preflight = [s for s in steps if "preflight check" in s.get("run", "")]
    assert len(runs_preflight) == 1 and runs_preflight[0]["run"].count("preflight check") == 1
    (check,) = runs_preflight
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert "always()" in upload["if"] and f"steps.{check['id']}.outputs.exit-code" in upload["if"]
    assert upload["with"]["sarif_file"] == "preflight.sarif"

    values = {name: str(spec["default"]) for name, spec in inputs.items()}
    values["path"] = str(MULTI)
    script = _action_step_script(check["run"], values)
    output, summary = tmp_path / "output", tmp_path / "summary.md"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PREFLIGHT_SARIF": "true",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    env.pop("COLUMNS", None)
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert output.read_text() == "exit-code=1\n"
    lines = done.stdout.splitlines()
    assert sum(line.startswith("::error ") for line in lines) == 3
    assert "preflight: 3 findings (3 errors), errors first:" in lines
    assert sum(": PRB006 error: " in line and not line.startswith("::") for line in lines) == 3
    sarif = json.loads((tmp_path / "preflight.sarif").read_text())
    assert len(sarif["runs"][0]["results"]) == 3
    assert summary.read_text().startswith("### preflight: 3 findings (3 errors)\n")

    # Without SARIF, no file; with no findings the step passes.
    (tmp_path / "preflight.sarif").unlink()
    env["PREFLIGHT_SARIF"] = "false"
    values["path"] = str(FIXTURES / "reference-service")
    done = subprocess.run(
        [
            "bash",
            "--noprofile",
            "--norc",
            "-eo",
            "pipefail",
            "-c",
            _action_step_script(check["run"], values),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "preflight.sarif").exists()
    assert output.read_text().endswith("exit-code=0\n")


def test_pre_commit_hook_definition() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["id"] == "preflight" and hook["language"] == "python"
    # the changed files are passed (each checked within its whole project), and a file the
    # configuration excludes stays out even when passed
    assert hook["pass_filenames"] is True
    assert hook["entry"].split() == ["preflight", "check", "--force-exclude"]
    import re

    pattern = re.compile(hook["files"])
    for path in (
        "Dockerfile",
        "api/Dockerfile.prod",
        "pyproject.toml",
        "k8s/deploy.yaml",
        "app/config.py",
        ".env.example",
        "requirements-dev.txt",
    ):
        assert pattern.search(path), path
    assert not pattern.search("README.md")


@pytest.mark.e2e
def test_real_pre_commit_try_repo(tmp_path: Path) -> None:
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).with_name("pre-commit"))
    if not Path(pre_commit).exists():
        pytest.fail("pre-commit is not installed (it is in the test extra)")
    repo = tmp_path / "svc"
    shutil.copytree(FIXTURES / "pkg001-gunicorn-missing", repo)
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    for command in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "init"]):
        subprocess.run(command, cwd=repo, check=True, env=env)
    try_repo = [pre_commit, "try-repo", str(REPO), "preflight", "--all-files"]
    failed = subprocess.run(
        try_repo, cwd=repo, capture_output=True, text=True, env=env, check=False, timeout=600
    )
    assert failed.returncode != 0, failed.stdout + failed.stderr
    assert "PKG001" in failed.stdout
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('"fastapi>=0.115",', '"fastapi>=0.115",\n    "gunicorn>=23",')
    )
    subprocess.run(["git", "commit", "-qam", "fix"], cwd=repo, check=True, env=env)
    passed = subprocess.run(
        try_repo, cwd=repo, capture_output=True, text=True, env=env, check=False, timeout=600
    )
    assert passed.returncode == 0, passed.stdout + passed.stderr
