"""Output people read (issue 17): severity words, short headlines wrapped to the terminal, the
three text layouts, statistics, the footer, rule URLs, CI formats that agree with the gate,
progress on a terminal, and nothing after the report. Everything through the real entry point.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest

from conftest import FIXTURES, REPO, SHARED, write_tree
from preflight.cli import main
from preflight.pages import PROJECT_URL, rule_url

MANY = FIXTURES  # every fixture read as one tree: 50+ findings in dozens of files
SARIF_SCHEMA = SHARED / "data" / "sarif-schema-2.1.0.json"
FINDINGS_SCHEMA = json.loads((Path(__file__).parent / "findings.schema.json").read_text())

# One finding of each severity, and one suppressed: PF001 (error), ENV004 (warning), ENV003
# (info, no .env.example), PKG001 hidden by its comment.
MIXED = {
    "pyproject.toml": """
        [project]
        name = "api"
        version = "1"
        dependencies = ["fastapi", "uvicorn", "pydantic-settings>=2.7"]
    """,
    "Dockerfile": """
        FROM python:3.12-slim
        COPY . .
        RUN pip install .
        # preflight: ignore[PKG001]
        CMD ["gunicorn", "app.main:app", "-k", "uvicorn_worker.UvicornWorker"]
        ENV API_TOKEN=9f8e7d6c5b4a39281706f5e4d3c2b1a0
    """,
    "app/config.py": """
        from pydantic_settings import BaseSettings


        class Settings(BaseSettings):
            database_url: str


        settings = Settings()
    """,
    "app/main.py": """
        from fastapi import FastAPI

        from app.config import settings

        app = FastAPI()
    """,
    "k8s/broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [\n",
}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), out, err


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "svc", MIXED)


@pytest.fixture(autouse=True)
def _no_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a terminal and no COLUMNS: whole lines, unless a test asks for a width."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def json_findings(capsys: pytest.CaptureFixture[str], root: Path) -> list[dict[str, object]]:
    _, out, _ = run(capsys, "check", "--no-cache", "--output-format", "json", str(root))
    findings: list[dict[str, object]] = json.loads(out)["findings"]
    return findings


# --- every text line carries its severity word ----------------------------------------------


FINDING_LINE = re.compile(r"^(?P<place>\S+:\d+:\d+): (?P<code>[A-Z]+\d{3}) (?P<severity>\w+):( |$)")
GROUPED_LINE = re.compile(r"^  (?P<pos>\d+:\d+) +(?P<code>[A-Z]+\d{3}) +(?P<severity>\w+) +\S")


@pytest.mark.parametrize("layout", ["full", "concise", "grouped"])
@pytest.mark.parametrize("colour", [["--color", "never"], ["--no-color"], []])
def test_every_finding_line_names_its_severity_in_words(
    layout: str,
    colour: list[str],
    mixed: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = Counter(str(f["severity"]) for f in json_findings(capsys, mixed))
    assert expected == {"error": 1, "warning": 1, "info": 1}
    if not colour:
        monkeypatch.setenv("NO_COLOR", "1")
    code, out, _ = run(
        capsys, "check", "--no-cache", "--output-format", layout, *colour, str(mixed)
    )
    assert code == 1 and "\x1b[" not in out
    pattern = GROUPED_LINE if layout == "grouped" else FINDING_LINE
    words = Counter(m["severity"] for line in out.splitlines() if (m := pattern.match(line)))
    assert words == expected


def test_severity_survives_colour_too(mixed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "check", "--no-cache", "--color", "always", str(mixed))
    plain = re.sub(r"\x1b\]8;[^\x1b]*\x1b\\|\x1b\[[0-9;]*m", "", out)
    assert "\x1b[" in out and "\x1b" not in plain
    assert {"error", "warning", "info"} == {
        m["severity"] for line in plain.splitlines() if (m := FINDING_LINE.match(line))
    }


# --- short headlines, the detail wrapped to the terminal's width ----------------------------


def test_headlines_are_short_and_the_message_is_kept_whole(
    capsys: pytest.CaptureFixture[str],
) -> None:
    findings = json_findings(capsys, MANY)
    assert len(findings) >= 50
    headlines = [str(f["headline"]) for f in findings]
    messages = [str(f["message"]) for f in findings]
    assert statistics.median(len(h) for h in headlines) <= 60
    assert max(len(h) for h in headlines) <= 80
    assert statistics.median(len(m) for m in messages) > 120  # the full story is still there
    _, concise, _ = run(capsys, "check", "--no-cache", "--output-format", "concise", str(MANY))
    lines = [line for line in concise.splitlines() if FINDING_LINE.match(line)]
    assert [line.split(": ", 2)[2] for line in lines] == headlines


def _words(text: str) -> str:
    return " ".join(text.split())


def _parts(finding: dict[str, object]) -> list[str]:
    """What the full layout prints of a finding's message: the headline, and the message whole
    or, when the headline is its first clause, the rest of it."""
    message, headline = str(finding["message"]), str(finding["headline"])
    if message.lower().startswith(headline.lower()):
        rest = message[len(headline) :].lstrip(":;. ")
        return [headline, rest[:1].upper() + rest[1:]] if rest.strip(".") else [headline]
    return [headline, message]


SOURCE = re.compile(r"^ +(\d+ )?\| ")  # the quoted source line and its marker: not prose
PLACE_ONLY = re.compile(r"^(\S+:\d+:\d+: [A-Z]+\d{3} (error|warning|info)|  = \S+:\d+:\d+):$")


@pytest.mark.parametrize("width", [60, 120])
def test_detail_related_and_help_wrap_at_spaces_with_a_hanging_indent(
    width: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    findings = json_findings(capsys, Path("fixtures"))
    monkeypatch.setenv("COLUMNS", str(width))
    code, out, _ = run(capsys, "check", "--no-cache", "--color", "never", "fixtures")
    assert code == 1
    lines = out.splitlines()
    for line in lines:
        if len(line) > width and not SOURCE.match(line):
            # only what cannot be broken at a space sticks out: one long word (a URL), or a
            # finding's place when the path alone is that long (its headline then goes below)
            assert " " not in line.strip() or PLACE_ONLY.match(line), line
    assert any(PLACE_ONLY.match(line) for line in lines) == (width == 60)
    # No word is broken: every headline, detail, note and fix reads the same with the line
    # breaks taken out.
    flat = _words(out)
    for finding in findings:
        for part in (*_parts(finding), str(finding["fix"])):
            assert _words(part) in flat
        for related in finding["related"]:  # type: ignore[attr-defined]
            assert _words(related["note"]) in flat
    # Continuation lines hang under their first line: within a finding only the first line
    # starts in column 1.
    for block in out.split("\n\n"):
        starts = [line for line in block.splitlines() if line and not line.startswith(" ")]
        assert len(starts) == 1 or starts[0].startswith("Found"), block
    assert any(line.startswith("          ") for line in lines)  # help continues under itself


def test_not_a_terminal_and_no_columns_means_whole_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    findings = json_findings(capsys, MANY)
    _, out, _ = run(capsys, "check", "--no-cache", str(MANY))
    lines = set(out.splitlines())
    for finding in findings:
        headline, *detail = _parts(finding)
        assert any(line.endswith(f": {headline}") for line in lines)
        assert all(f"  {part}" in lines for part in detail)
        assert f"  = help: {finding['fix']}" in lines


# --- --output-format full|concise|grouped, --format as an alias -----------------------------


def test_output_format_and_its_format_alias(capsys: pytest.CaptureFixture[str]) -> None:
    root = str(FIXTURES / "prb006-port-mismatch")
    full = run(capsys, "check", "--no-cache", root)
    assert run(capsys, "check", "--no-cache", "--output-format", "full", root) == full
    assert run(capsys, "check", "--no-cache", "--format", "text", root) == full
    concise = run(capsys, "check", "--no-cache", "--format", "concise", root)
    assert run(capsys, "check", "--no-cache", "--output-format", "concise", root) == concise
    assert (
        len(concise[1].splitlines()) == 3 + 3
    )  # three finding lines, the footer, what --fix can do
    code, _, err = run(capsys, "check", "--output-format", "pretty", root)
    assert code == 2 and err.count("\n") == 1 and "pretty" in err


def test_grouped_lists_each_file_once_with_its_findings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    findings = json_findings(capsys, MANY)
    _, out, _ = run(capsys, "check", "--no-cache", "--output-format", "grouped", str(MANY))
    groups: dict[str, list[tuple[str, str]]] = {}
    current = ""
    for line in out.splitlines():
        if line.endswith(":") and not line.startswith(" "):
            current = line[:-1]
            assert current not in groups
            groups[current] = []
        elif match := GROUPED_LINE.match(line):
            groups[current].append((match["pos"], match["code"]))
    expected: dict[str, list[tuple[str, str]]] = {}
    for finding in findings:
        expected.setdefault(str(finding["path"]), []).append(
            (f"{finding['line']}:{finding['column']}", str(finding["code"]))
        )
    assert groups == expected


# --- --statistics, and the footer -----------------------------------------------------------


def test_statistics_are_counts_sorted_by_count(capsys: pytest.CaptureFixture[str]) -> None:
    findings = json_findings(capsys, MANY)
    _, out, _ = run(capsys, "check", "--no-cache", "-q", "--statistics", str(MANY))
    rows = [
        (int(m[1]), m[2]) for line in out.splitlines() if (m := re.match(r"^ +(\d+)  (\S+) ", line))
    ]
    counts = Counter(str(f["code"]) for f in findings)
    assert rows == sorted(((n, c) for c, n in counts.items()), key=lambda r: (-r[0], r[1]))
    assert len(rows) > 3 and rows[0][0] > rows[-1][0]


def test_footer_says_how_to_fix_and_how_many_were_suppressed(
    mixed: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "check", "--no-cache", str(mixed))
    assert code == 1
    assert out.splitlines()[-2:] == [
        "Found 3 findings: 1 error, 1 warning, 1 info; 1 suppressed.",
        "Why and how to fix: `preflight explain CODE`, e.g. `preflight explain PF001` or "
        f"{rule_url('PF001')}",
    ]
    _, out, _ = run(capsys, "check", "--no-cache", "--output-format", "json", str(mixed))
    assert json.loads(out)["summary"]["suppressed"] == 1
    # A clean run says so too.
    clean = write_tree(tmp_path / "clean", {k: v for k, v in MIXED.items() if k == "Dockerfile"})
    (clean / "Dockerfile").write_text(
        'FROM python:3.12-slim\n# preflight: ignore[PKG001]\nCMD ["gunicorn", "app:app"]\n'
    )
    code, out, _ = run(capsys, "check", "--no-cache", str(clean))
    assert (code, out) == (0, "All checks passed (1 files; 1 suppressed).\n")


# --- a documentation URL per rule: text, JSON, SARIF; fingerprints; invocations -------------


def test_rule_urls_in_json_sarif_and_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert PROJECT_URL == "https://github.com/preflight-dev/preflight"
    root = str(FIXTURES / "prb006-port-mismatch")
    _, out, _ = run(capsys, "check", "--no-cache", "--output-format", "json", root)
    document = json.loads(out)
    jsonschema.validate(document, FINDINGS_SCHEMA)
    for finding in document["findings"]:
        assert finding["url"] == f"{PROJECT_URL}/blob/main/rules/{finding['code']}.md"
        assert (REPO / "rules" / f"{finding['code']}.md").is_file()
    _, out, _ = run(capsys, "check", "--no-cache", "--output-format", "sarif", root)
    sarif = json.loads(out)
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert all(rule["helpUri"] == rule_url(rule["id"]) for rule in rules)
    assert all((REPO / "rules" / f"{rule['id']}.md").is_file() for rule in rules)
    # The JSON fingerprint is the one baselines and SARIF use.
    assert [f["fingerprint"] for f in document["findings"]] == [
        r["partialFingerprints"]["preflightFingerprint/v1"] for r in sarif["runs"][0]["results"]
    ]
    assert len({f["fingerprint"] for f in document["findings"]}) == 3
    # Text: a hyperlink on the code where colour (a terminal) is on; the URL in the footer always.
    _, out, _ = run(capsys, "check", "--no-cache", "--color", "always", root)
    assert "\x1b]8;id=" in out and f";{rule_url('PRB006')}\x1b\\" in out
    _, out, _ = run(capsys, "check", "--no-cache", "--color", "never", root)
    assert "\x1b" not in out and rule_url("PRB006") in out


@pytest.mark.skipif(not SARIF_SCHEMA.exists(), reason="../shared/data SARIF schema is absent")
def test_sarif_invocations_say_whether_every_rule_ran(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = json.loads(SARIF_SCHEMA.read_text())
    root = str(FIXTURES / "prb006-port-mismatch")
    code, out, _ = run(capsys, "check", "--no-cache", "--output-format", "sarif", root)
    document = json.loads(out)
    jsonschema.validate(document, schema)
    assert code == 1
    assert document["runs"][0]["invocations"] == [{"executionSuccessful": True}]

    import dataclasses

    import preflight.checks

    def crash(*args: object) -> object:
        raise RuntimeError("boom")

    with_a_crashing_rule = tuple(
        dataclasses.replace(rule, check=crash) if rule.code == "PRB006" else rule
        for rule in preflight.checks.RULES
    )
    monkeypatch.setattr(preflight.checks, "RULES", with_a_crashing_rule)
    code, out, err = run(capsys, "check", "--no-cache", "--output-format", "sarif", root)
    assert code == 2 and "internal error" in err
    document = json.loads(out)
    jsonschema.validate(document, schema)
    (invocation,) = document["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    assert "PRB006" in invocation["toolExecutionNotifications"][0]["message"]["text"]


# --- CI formats that agree with the gate ----------------------------------------------------


def test_junit_fails_only_at_or_above_fail_on(
    mixed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def cases(*args: str) -> dict[str, str]:
        _, out, _ = run(capsys, "check", "--no-cache", "--output-format", "junit", *args)
        suite = ET.fromstring(out).find("testsuite")
        assert suite is not None
        found = {}
        for case in suite.findall("testcase"):
            failure = case.find("failure")
            found[case.get("name", "").split()[0]] = (
                failure.get("type", "") if failure is not None else "passed"
            )
            if failure is None:
                assert (case.findtext("system-out") or "").count(": ") >= 1
        assert suite.get("failures") == str(sum(v != "passed" for v in found.values()))
        return found

    assert cases(str(mixed)) == {"PF001": "error", "ENV004": "passed", "ENV003": "passed"}
    assert cases("--fail-on", "warning", str(mixed)) == {
        "PF001": "error",
        "ENV004": "warning",
        "ENV003": "passed",
    }
    assert cases("--fail-on", "info", str(mixed)) == {
        "PF001": "error",
        "ENV004": "warning",
        "ENV003": "info",
    }
    # The configuration's fail-on is the gate too.
    (mixed / "preflight.toml").write_text('fail-on = "warning"\n')
    assert cases(str(mixed))["ENV004"] == "warning"


def test_github_lists_every_finding_in_the_log_and_the_step_summary_errors_first(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    findings = json_findings(capsys, MANY)
    assert Counter(str(f["severity"]) for f in findings)["error"] > 10  # more than GitHub shows
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, _ = run(capsys, "check", "--no-cache", "--output-format", "github", str(MANY))
    assert code == 1
    lines = out.splitlines()
    annotations = [line for line in lines if line.startswith("::")]
    assert len(annotations) == len(findings)
    levels = [line[2:].split(" ", 1)[0] for line in annotations]
    assert levels == sorted(levels, key=["error", "warning", "notice"].index)
    readable = [m for line in lines if (m := FINDING_LINE.match(line))]
    assert len(readable) == len(findings)
    ranks = {"error": 0, "warning": 1, "info": 2}
    assert [ranks[m["severity"]] for m in readable] == sorted(
        ranks[m["severity"]] for m in readable
    )
    table = summary.read_text()
    assert table.startswith("earlier step\n### preflight: ")  # appended, never overwritten
    rows = [row for row in table.splitlines() if row.startswith("| ") and "---" not in row][1:]
    assert len(rows) == len(findings)
    assert rows[0].startswith("| error | ")
    # errors first, then warnings, then infos (fixtures/prb001-portless-pod-behind-a-service
    # holds an info finding)
    severities = [row.split(" | ", 1)[0].removeprefix("| ") for row in rows]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    assert rows[-1].startswith("| info | ")
    assert f"[PKG001]({rule_url('PKG001')})" in table


def test_github_step_summary_that_cannot_be_written_is_a_warning(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "missing" / "summary.md"))
    root = str(FIXTURES / "prb006-port-mismatch")
    code, out, err = run(capsys, "check", "--no-cache", "--output-format", "github", root)
    assert code == 1 and out.count("::error ") == 3
    assert (
        err.startswith("preflight: warning: cannot write the step summary") and err.count("\n") == 1
    )


def test_extra_output_writes_a_second_format_from_the_same_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = str(FIXTURES / "prb006-port-mismatch")
    sarif, junit = tmp_path / "r.sarif", tmp_path / "r.xml"
    code, out, _ = run(
        capsys,
        "check",
        "--no-cache",
        "--output-format",
        "concise",
        "--extra-output",
        f"sarif={sarif}",
        "--extra-output",
        f"junit={junit}",
        root,
    )
    assert code == 1 and out.count(": PRB006 error: ") == 3
    assert len(json.loads(sarif.read_text())["runs"][0]["results"]) == 3
    assert ET.fromstring(junit.read_text()).find("testsuite") is not None
    for bad in ("sarif", "pretty=x.txt", "sarif="):
        code, _, err = run(capsys, "check", "--extra-output", bad, root)
        assert (
            code == 2
            and err.startswith("preflight: error: --extra-output")
            and err.count("\n") == 1
        )


# --- progress on a terminal; nothing after the report ---------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_is_erased_before_the_report(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import preflight.engine
    import preflight.progress

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(preflight.progress, "DELAY", 0.0)
    real_run = preflight.engine.run
    shown = threading.Event()

    def slow_run(*args: object, **kwargs: object) -> object:
        result = real_run(*args, **kwargs)  # type: ignore[arg-type]
        deadline = time.monotonic() + 30  # a hang guard, not a timing assertion
        while "preflight:" not in terminal.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
        shown.set()
        return result

    monkeypatch.setattr(preflight.engine, "run", slow_run)
    code, out, _ = run(capsys, "check", "--no-cache", str(FIXTURES / "prb006-port-mismatch"))
    assert shown.is_set() and code == 1
    progress = terminal.getvalue()
    assert "preflight: " in progress and "prb006-port-mismatch" in progress
    assert progress.endswith("\r\x1b[K")  # erased: the report starts on a clean line
    assert "PRB006" not in progress and out.count(": PRB006 error: ") == 3


def test_no_progress_when_standard_error_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import preflight.progress

    monkeypatch.setattr(preflight.progress, "DELAY", 0.0)
    code, out, err = run(capsys, "check", "--no-cache", str(FIXTURES / "prb006-port-mismatch"))
    assert code == 1 and err == "" and "\r" not in out


def test_the_process_ends_once_the_report_is_flushed(tmp_path: Path) -> None:
    """As the `preflight` script, nothing runs after the report: not even atexit handlers
    (interpreter teardown is what took a second on a large repository)."""
    script = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('TEARDOWN', file=sys.stderr))\n"
        f"sys.argv = ['preflight', 'check', '--no-cache', {str(FIXTURES / 'prb006-port-mismatch')!r}]\n"
        "from preflight.cli import main\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "TEARDOWN" not in done.stderr and done.stderr == ""
    assert done.stdout.splitlines()[-3].startswith("Found 3 findings: 3 errors")
    # And with standard output closed early by its reader, still quiet with the run's code.
    piped = subprocess.run(
        f"{shlex.quote(sys.executable)} -c {shlex.quote(script)} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert piped.stderr == "" and piped.stdout.count("\n") == 1


def test_readme_names_the_one_project_url() -> None:
    """README, the Action snippet and the rule URLs name the same repository: change
    pages.PROJECT_URL and this fails until the README follows."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"`{PROJECT_URL}/blob/main/rules/CODE.md`" in readme
    repository = PROJECT_URL.removeprefix("https://github.com/")
    assert f"uses: {repository}@" in readme and f"repo: {PROJECT_URL}" in readme
    assert "--output-format full|concise|grouped|json|sarif|github|junit|gitlab" in readme
