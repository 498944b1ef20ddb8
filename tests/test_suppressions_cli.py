"""Issue 17, suppressions where Kubernetes and Docker users put them: YAML markers on a line,
the line above or a parent key, object annotations, file-level markers, reasons and the
suppressed count in JSON/SARIF, markers on related locations, malformed markers (PF003), and
``check --add-ignore`` — each through the real entry point."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from conftest import FIXTURES, SHARED, write_tree
from preflight.cli import main

SCHEMA = json.loads((Path(__file__).parent / "findings.schema.json").read_text())
SARIF_SCHEMA = SHARED / "data" / "sarif-schema-2.1.0.json"
# PRB001 on the container `orders-api` (k8s/deployment.yaml:18): it has no readinessProbe.
PRB001 = FIXTURES / "prb001-liveness-only"
DEPLOYMENT = (PRB001 / "k8s/deployment.yaml").read_text(encoding="utf-8")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), out, err


def check_json(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> dict[str, object]:
    code, out, err = run(capsys, "check", "--format", "json", "--no-cache", *args, str(root))
    assert code in (0, 1), err
    document: dict[str, object] = json.loads(out)
    jsonschema.validate(document, SCHEMA)
    return document


def found(document: dict[str, object], root: Path | None = None) -> list[tuple[str, str, int]]:
    """(code, path, line) of each finding; paths relative to ``root`` when given."""
    findings = document["findings"]
    assert isinstance(findings, list)
    prefix = f"{root}/" if root is not None else ""
    return [(f["code"], f["path"].removeprefix(prefix), f["line"]) for f in findings]


def copy(fixture: Path, tmp_path: Path, replaced: dict[str, str] | None = None) -> Path:
    """A copy of a fixture (without its EXPECTED file), with some files' text replaced."""
    root = tmp_path / fixture.name
    shutil.copytree(fixture, root)
    (root / "EXPECTED").unlink(missing_ok=True)
    for name, text in (replaced or {}).items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def with_deployment(tmp_path: Path, text: str) -> Path:
    assert text != DEPLOYMENT, "the edit did not apply"
    return copy(PRB001, tmp_path, {"k8s/deployment.yaml": text})


# --- YAML: the finding's line, the line above, a parent key ---------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # on the finding's line
        (
            "        - name: orders-api\n",
            "        - name: orders-api  # preflight: ignore[PRB001]\n",
        ),
        # alone on the line above
        (
            "        - name: orders-api\n",
            "        # preflight: ignore[PRB001]\n        - name: orders-api\n",
        ),
        # on a parent key's line: it covers the subtree
        ("      containers:\n", "      containers:  # preflight: ignore[PRB001]\n"),
        ("  template:\n", "  template:  # preflight: ignore[PRB001]\n"),
        # alone above a parent key
        ("      containers:\n", "      # preflight: ignore[PRB001]\n      containers:\n"),
    ],
    ids=["own-line", "line-above", "parent-key", "grandparent-key", "above-parent-key"],
)
def test_a_yaml_marker_on_the_line_above_or_a_parent_key_suppresses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, old: str, new: str
) -> None:
    root = with_deployment(tmp_path, DEPLOYMENT.replace(old, new, 1))
    document = check_json(capsys, root)
    assert found(document) == []
    assert document["summary"] == {  # type: ignore[comparison-overlap]
        "error": 0,
        "warning": 0,
        "info": 0,
        "files_checked": 10,
        "suppressed": 1,
    }


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # a sibling key's subtree does not hold the container
        ("  selector:\n", "  selector:  # preflight: ignore[PRB001]\n"),
        # a `#` inside a quoted value is text, not a comment
        ("    app: orders-api\n", '    app: "orders-api # preflight: ignore[PRB001]"\n'),
    ],
    ids=["sibling-key", "inside-a-string"],
)
def test_a_yaml_marker_elsewhere_does_not_suppress(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, old: str, new: str
) -> None:
    root = with_deployment(tmp_path, DEPLOYMENT.replace(old, new, 1))
    codes = [code for code, _, _ in found(check_json(capsys, root))]
    assert "PRB001" in codes


def test_a_marker_on_a_list_item_covers_that_item_only(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sidecar = (
        "        - name: sidecar\n"
        "          image: ghcr.io/acme/orders-api:1.4.2\n"
        "          ports:\n"
        "            - containerPort: 9000\n"
    )
    text = DEPLOYMENT.replace("      containers:\n", "      containers:\n" + sidecar, 1)

    def prb001(root: Path) -> list[int]:
        return [line for code, _, line in found(check_json(capsys, root)) if code == "PRB001"]

    assert prb001(with_deployment(tmp_path, text)) == [18, 22]
    # the first item's block ends where the next `- name:` starts: that line is not covered
    marked = text.replace(
        "        - name: sidecar\n", "        - name: sidecar  # preflight: ignore[PRB001]\n"
    )
    assert prb001(with_deployment(tmp_path / "marked", marked)) == [22]


def test_a_marker_inside_a_block_scalar_is_text(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = DEPLOYMENT.replace(
        "          image: ghcr.io/acme/orders-api:1.4.2\n",
        "          image: ghcr.io/acme/orders-api:1.4.2\n"
        "          args:\n"
        "            - |\n"
        "              echo start\n"
        "              # preflight: ignore[PRB001]\n",
    )
    root = with_deployment(tmp_path, text.replace("- name: orders-api", "- name: orders-api", 1))
    assert [code for code, _, _ in found(check_json(capsys, root))] == ["PRB001"]


# --- object annotation ----------------------------------------------------------------------


def test_an_object_annotation_suppresses_that_object(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = DEPLOYMENT.replace(
        "  name: orders-api\n",
        '  name: orders-api\n  annotations:\n    preflight.dev/ignore: "PRB001,ENV004"\n',
        1,
    )
    root = with_deployment(tmp_path, text)
    document = check_json(capsys, root)
    # ENV004 was named but nothing in the object has it: the annotation says so (PF002)
    assert found(document, root) == [("PF002", "k8s/deployment.yaml", 6)]
    assert document["summary"]["suppressed"] == 1  # type: ignore[index]


def test_a_pod_template_annotation_suppresses_the_template(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = DEPLOYMENT.replace(
        "    metadata:\n      labels:\n",
        '    metadata:\n      annotations:\n        preflight.dev/ignore: "PRB001"\n      labels:\n',
        1,
    )
    assert found(check_json(capsys, with_deployment(tmp_path, text))) == []


def test_an_annotation_on_another_object_does_not_suppress(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    service = (
        "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: orders-api\n  annotations:\n"
        '    preflight.dev/ignore: "PRB001"\nspec:\n  selector:\n    app: orders-api\n'
        "  ports:\n    - port: 80\n      targetPort: 8000\n"
    )
    document = check_json(capsys, with_deployment(tmp_path, DEPLOYMENT + service))
    assert [code for code, _, _ in found(document)] == ["PRB001", "PF002"]


# --- file-level, any file kind --------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "name", "code"),
    [
        ("prb001-liveness-only", "k8s/deployment.yaml", "PRB001"),
        ("pkg001-gunicorn-missing", "Dockerfile", "PKG001"),
        ("db005-heroku-postgres-scheme", ".env.example", "DB005"),
        ("pkg001-dev-group-only", "pyproject.toml", "PKG001"),  # a related location's file
    ],
)
def test_an_ignore_file_marker_covers_the_whole_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fixture: str, name: str, code: str
) -> None:
    original = (FIXTURES / fixture / name).read_text(encoding="utf-8")
    assert code in [c for c, _, _ in found(check_json(capsys, copy(FIXTURES / fixture, tmp_path)))]
    marked = original + f"# preflight: ignore-file[{code}] -- vendored\n"
    root = copy(FIXTURES / fixture, tmp_path / "marked", {name: marked})
    document = check_json(capsys, root)
    assert found(document) == []
    (suppressed,) = document["suppressions"]  # type: ignore[misc]
    assert suppressed["code"] == code
    assert suppressed["suppression"]["reason"] == "vendored"


# --- reasons and the suppressed count in JSON and SARIF --------------------------------------


def test_the_reason_is_kept_in_json_and_sarif(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = DEPLOYMENT.replace(
        "        - name: orders-api\n",
        "        - name: orders-api  # preflight: ignore[PRB001] -- probed by the mesh\n",
    )
    root = with_deployment(tmp_path, text)
    document = check_json(capsys, root)
    (suppressed,) = document["suppressions"]  # type: ignore[misc]
    assert suppressed["code"] == "PRB001" and suppressed["line"] == 18
    assert suppressed["suppression"] == {
        "kind": "comment",
        "path": f"{root}/k8s/deployment.yaml",
        "line": 18,
        "column": 29,
        "reason": "probed by the mesh",
    }
    assert document["summary"]["suppressed"] == 1  # type: ignore[index]

    # SARIF: counted always; listed, marked as suppressed, only when asked (GitHub code scanning
    # would open an alert for each)
    code, out, _ = run(capsys, "check", "--format", "sarif", str(root))
    (sarif_run,) = json.loads(out)["runs"]
    assert code == 0 and sarif_run["results"] == []
    assert sarif_run["properties"]["suppressed"] == 1
    code, out, _ = run(capsys, "check", "--format", "sarif", "--show-suppressed", str(root))
    sarif = json.loads(out)
    (result,) = sarif["runs"][0]["results"]
    assert code == 0 and result["ruleId"] == "PRB001"
    (suppression,) = result["suppressions"]
    assert suppression["kind"] == "inSource" and suppression["status"] == "accepted"
    assert suppression["justification"] == "probed by the mesh"
    region = suppression["location"]["physicalLocation"]["region"]
    assert region["startLine"] == 18
    if SARIF_SCHEMA.exists():
        jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text()))


def test_per_file_ignores_are_reported_as_external_suppressions(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = copy(PRB001, tmp_path)
    (root / "preflight.toml").write_text('[per-file-ignores]\n"k8s/*" = ["PRB001"]\n')
    document = check_json(capsys, root)
    (suppressed,) = document["suppressions"]  # type: ignore[misc]
    assert suppressed["suppression"] == {"kind": "config", "reason": None}
    code, out, _ = run(capsys, "check", "--format", "sarif", "--show-suppressed", str(root))
    (result,) = json.loads(out)["runs"][0]["results"]
    assert code == 0 and result["suppressions"] == [{"kind": "external", "status": "accepted"}]


# --- a related location of a cross-file finding ----------------------------------------------


def test_a_marker_on_a_related_location_suppresses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fixture = FIXTURES / "pkg001-dev-group-only"
    # PKG001 points at the Dockerfile's CMD; its related location is gunicorn in the dev group
    before = check_json(capsys, copy(fixture, tmp_path))
    assert found(before) == [("PKG001", f"{tmp_path}/pkg001-dev-group-only/Dockerfile", 14)]
    related = before["findings"][0]["related"][0]  # type: ignore[index]
    assert related["path"].endswith("pyproject.toml") and related["line"] == 12
    pyproject = (fixture / "pyproject.toml").read_text(encoding="utf-8")
    marked = pyproject.replace(
        '    "gunicorn>=23",\n', '    "gunicorn>=23",  # preflight: ignore[PKG001] -- dev only\n'
    )
    assert marked != pyproject
    document = check_json(capsys, copy(fixture, tmp_path / "m", {"pyproject.toml": marked}))
    assert found(document) == []  # suppressed, and the marker is used (no PF002)
    (suppressed,) = document["suppressions"]  # type: ignore[misc]
    assert suppressed["path"].endswith("Dockerfile")
    assert suppressed["suppression"]["path"].endswith("pyproject.toml")


# --- malformed markers: PF003 with a fix; a marker after a JSON-form CMD: PF001 --------------


def test_a_yaml_marker_without_brackets_is_pf003_and_hides_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = DEPLOYMENT.replace(
        "        - name: orders-api\n", "        - name: orders-api  # preflight: ignore PRB001\n"
    )
    document = check_json(capsys, with_deployment(tmp_path, text))
    findings = document["findings"]
    assert isinstance(findings, list)
    assert sorted((f["code"], f["line"]) for f in findings) == [("PF003", 18), ("PRB001", 18)]
    pf003 = next(f for f in findings if f["code"] == "PF003")
    assert pf003["fix"] == "Write it as `# preflight: ignore[PRB001]`."
    assert document["summary"]["suppressed"] == 0  # type: ignore[index]


def test_a_marker_after_a_json_form_cmd_is_pf001_not_a_suppression(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    dockerfile = (FIXTURES / "pkg001-gunicorn-missing/Dockerfile").read_text(encoding="utf-8")
    cmd = next(line for line in dockerfile.splitlines() if line.startswith("CMD ["))
    trailing = dockerfile.replace(cmd, cmd + "  # preflight: ignore[PKG001]")
    root = copy(FIXTURES / "pkg001-gunicorn-missing", tmp_path, {"Dockerfile": trailing})
    findings = check_json(capsys, root)["findings"]
    assert isinstance(findings, list)
    assert sorted(f["code"] for f in findings) == ["PF001", "PKG001"]  # the marker is not taken
    pf001 = next(f for f in findings if f["code"] == "PF001")
    assert "shell form" in pf001["message"] and "line above" in pf001["fix"]
    # the same marker alone on the line above is honoured, and the CMD stays JSON
    above = dockerfile.replace(cmd, "# preflight: ignore[PKG001]\n" + cmd)
    root = copy(FIXTURES / "pkg001-gunicorn-missing", tmp_path / "above", {"Dockerfile": above})
    assert found(check_json(capsys, root)) == []


def test_a_marker_after_a_shell_form_instruction_is_pf003(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = write_tree(
        tmp_path,
        {
            "Dockerfile": "FROM python:3.12-slim\nRUN pip install uvicorn\n"
            "CMD gunicorn app:app  # preflight: ignore[PKG001]\n",
        },
    )
    findings = check_json(capsys, root)["findings"]
    assert isinstance(findings, list)
    assert sorted(f["code"] for f in findings) == ["PF003", "PKG001"]
    pf003 = next(f for f in findings if f["code"] == "PF003")
    assert "alone onto the line above" in pf003["fix"]


# --- check --add-ignore ------------------------------------------------------------------------

ADD_IGNORE_FIXTURES = (
    "prb006-port-mismatch",  # YAML, three findings in two files
    "pkg001-requirements-project",  # a Dockerfile with a JSON-form CMD
    "db005-heroku-postgres-scheme",  # an env file
    "env001-decouple-config-class",  # two findings on one YAML line
    "prb002-flask-factory",  # Python
    "malformed-files",  # PF001 in a Dockerfile, Python, YAML and TOML
)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("fixture", ADD_IGNORE_FIXTURES)
def test_add_ignore_marks_every_finding_and_is_idempotent(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fixture: str
) -> None:
    root = copy(FIXTURES / fixture, tmp_path)
    findings = found(check_json(capsys, root))
    assert findings
    code, out, err = run(capsys, "check", "--add-ignore", "--no-cache", str(root))
    assert code == 0 and out == "", err
    assert f"for {len(findings)} finding(s)" in err
    after = check_json(capsys, root)
    assert found(after) == []
    assert after["summary"]["suppressed"] == len(findings)  # type: ignore[index]
    assert all(
        s["suppression"]["reason"] == "<reason>"
        for s in after["suppressions"]  # type: ignore[attr-defined]
    )
    before_again = snapshot(root)
    code, _, err = run(capsys, "check", "--add-ignore", "--no-cache", str(root))
    assert code == 0 and "added 0 marker(s)" in err
    assert snapshot(root) == before_again  # idempotent


def test_add_ignore_puts_a_dockerfile_marker_above_a_json_form_cmd(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = copy(FIXTURES / "pkg001-gunicorn-missing", tmp_path)
    dockerfile = (root / "Dockerfile").read_text(encoding="utf-8")
    cmd = next(line for line in dockerfile.splitlines() if line.startswith("CMD ["))
    assert run(capsys, "check", "--add-ignore", str(root))[0] == 0
    written = (root / "Dockerfile").read_text(encoding="utf-8")
    assert f"# preflight: ignore[PKG001] -- <reason>\n{cmd}\n" in written  # the CMD unchanged


def test_add_ignore_extends_a_marker_already_there(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # PRB006 on port lines; one already carries a marker for another code
    root = copy(FIXTURES / "prb006-port-mismatch", tmp_path)
    deployment = root / "k8s/deployment.yaml"
    text = deployment.read_text(encoding="utf-8")
    assert "              port: web\n" in text
    deployment.write_text(
        text.replace(
            "              port: web\n",
            "              port: web  # preflight: ignore[ENV004] -- x\n",
        )
    )
    code, _, err = run(capsys, "check", "--add-ignore", str(root))
    assert code == 0, err
    assert "port: web  # preflight: ignore[ENV004, PRB006] -- x\n" in deployment.read_text()


def test_add_ignore_with_write_baseline_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = copy(FIXTURES / "pkg001-gunicorn-missing", tmp_path)
    code, _, err = run(
        capsys, "check", "--add-ignore", "--write-baseline", str(tmp_path / "b.json"), str(root)
    )
    assert code == 2 and "choose one" in err
