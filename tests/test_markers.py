"""Where ``check --add-ignore`` writes a marker in each kind of file, and that the filter stage
then reads it as covering the finding (``preflight.markers`` against ``preflight.filter``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from preflight.discover import KINDS, classify
from preflight.filter import suppressions_in
from preflight.findings import Finding, Severity
from preflight.markers import add_markers, verify
from preflight.spans import Span


def finding(path: str, line: int, code: str = "PRB001") -> Finding:
    return Finding(code, Severity.ERROR, "m", Span(path, line))


def marked(tmp_path: Path, name: str, text: str, line: int, code: str = "PRB001") -> str:
    """Write ``text``, add a marker for a finding at ``line``, and check the filter reads a
    marker there that covers the finding (found again at its possibly moved line)."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    outcome = add_markers(tmp_path, [finding(name, line, code)])
    assert outcome.skipped == [] and outcome.findings == 1
    written = path.read_bytes().decode("utf-8")
    kind = classify(name)
    assert kind is not None
    syntax = KINDS[kind].comments
    normal = written.replace("\r\n", "\n")
    (suppression,) = suppressions_in([(name, normal, syntax)])[name]
    # the finding's line moved down by one when the marker went above it
    moved = line + normal.count("\n") - text.replace("\r\n", "\n").count("\n")
    assert moved in suppression.lines and code in (suppression.codes or ())
    return written


def test_a_yaml_line_inside_a_block_scalar_gets_its_marker_on_the_key(tmp_path: Path) -> None:
    text = "data:\n  script: |\n    echo one\n    echo two\n  other: x\n"
    written = marked(tmp_path, "k8s/cm.yaml", text, 4)
    assert "  script: |  # preflight: ignore[PRB001] -- <reason>\n    echo one\n" in written


def test_a_yaml_plain_multi_line_scalar_gets_its_marker_above_its_key(tmp_path: Path) -> None:
    text = "data:\n  note: first part\n    second part\n    third part\n  other: x\n"
    written = marked(tmp_path, "k8s/cm.yaml", text, 3)
    assert "data:\n  # preflight: ignore[PRB001] -- <reason>\n  note: first part\n" in written


def test_the_last_line_of_a_multi_line_yaml_scalar_takes_the_marker(tmp_path: Path) -> None:
    text = "data:\n  note: first part\n    second part\n  other: x\n"
    written = marked(tmp_path, "k8s/cm.yaml", text, 3)
    assert "    second part  # preflight: ignore[PRB001] -- <reason>\n" in written


def test_a_python_line_in_a_multi_line_string_gets_the_marker_after_the_string(
    tmp_path: Path,
) -> None:
    text = 'URL = """\npostgres://x\n"""\nOTHER = 1\n'
    written = marked(tmp_path, "app/db.py", text, 2, "DB005")
    assert '"""  # preflight: ignore[DB005] -- <reason>\nOTHER' in written


def test_a_continued_requirement_gets_its_marker_above(tmp_path: Path) -> None:
    text = "fastapi==0.1 \\\n    --hash=sha256:abc\nuvicorn\n"
    written = marked(tmp_path, "requirements.txt", text, 2, "PKG001")
    assert written.startswith("# preflight: ignore[PKG001] -- <reason>\nfastapi==0.1 \\\n")


def test_a_continued_dockerfile_instruction_gets_its_marker_above_its_first_line(
    tmp_path: Path,
) -> None:
    text = 'FROM python:3.12-slim\nRUN pip install \\\n    uvicorn\nCMD ["uvicorn"]\n'
    written = marked(tmp_path, "Dockerfile", text, 3, "PKG001")
    assert "FROM python:3.12-slim\n# preflight: ignore[PKG001] -- <reason>\nRUN pip" in written


def test_an_env_file_gets_its_marker_above_and_crlf_is_kept(tmp_path: Path) -> None:
    text = "A=1\r\nDATABASE_URL=postgres://x\r\n"
    written = marked(tmp_path, ".env.example", text, 2, "DB005")
    assert (
        written == "A=1\r\n# preflight: ignore[DB005] -- <reason>\r\nDATABASE_URL=postgres://x\r\n"
    )


def test_a_toml_line_inside_a_multi_line_string_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.x]\ndoc = """\nline\n"""\n')
    outcome = add_markers(tmp_path, [finding("pyproject.toml", 3)])
    assert outcome.findings == 0 and "multi-line string" in outcome.skipped[0][1]
    assert (tmp_path / "pyproject.toml").read_text() == '[tool.x]\ndoc = """\nline\n"""\n'


def test_files_without_comments_are_left_alone(tmp_path: Path) -> None:
    (tmp_path / "docker-bake.json").write_text("{}\n")
    (tmp_path / "uv.lock").write_text("x\n")
    outcome = add_markers(tmp_path, [finding("docker-bake.json", 1), finding("uv.lock", 1)])
    assert outcome.findings == 0 and len(outcome.skipped) == 2


@pytest.mark.parametrize("code", ["PF002", "PF003"])
def test_findings_about_markers_get_no_marker(tmp_path: Path, code: str) -> None:
    (tmp_path / "Dockerfile").write_text("FROM x\n# preflight: ignore[PKG001]\nRUN a\n")
    outcome = add_markers(tmp_path, [finding("Dockerfile", 2, code)])
    assert outcome.findings == 0 and outcome.skipped == [] and outcome.files == {}


def test_verify_restores_a_file_whose_marker_did_not_work(tmp_path: Path) -> None:
    original = b"A: 1\nB: 2\n"
    (tmp_path / "x.yaml").write_bytes(original)
    before = [finding("x.yaml", 2)]
    outcome = add_markers(tmp_path, before)
    assert (tmp_path / "x.yaml").read_bytes() != original
    # the check afterwards still reports the finding: the marker is taken back
    restored = verify(tmp_path, outcome, before, before)
    assert restored == ["x.yaml"] and (tmp_path / "x.yaml").read_bytes() == original
    assert outcome.findings == 0 and "by hand" in outcome.skipped[0][1]


def test_a_utf16_manifest_is_written_back_as_utf16(tmp_path: Path) -> None:
    # kubectl reads a UTF-16 manifest with a byte-order mark (Windows editors write them)
    (tmp_path / "k8s").mkdir()
    path = tmp_path / "k8s/deployment.yaml"
    path.write_bytes(b"\xff\xfe" + "a: 1\r\nb: 2\r\n".encode("utf-16-le"))
    outcome = add_markers(tmp_path, [finding("k8s/deployment.yaml", 2)])
    assert outcome.skipped == [] and outcome.findings == 1
    data = path.read_bytes()
    assert data[:2] == b"\xff\xfe"
    assert (
        data[2:].decode("utf-16-le") == "a: 1\r\nb: 2  # preflight: ignore[PRB001] -- <reason>\r\n"
    )
