"""What a user sees for each rule page's bad example: the text report, position and words.

tests/test_rule_pages.py checks which codes fire; this checks the report itself (file:line:col,
message, shown source, related locations, help) against tests/snapshots/pages/<CODE>.txt, so a
message or anchor that changes is a reviewed change. After an intended change, regenerate with
``PREFLIGHT_UPDATE_SNAPSHOTS=1 pytest tests/test_page_snapshots.py`` and read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_rule_pages import examples

from conftest import write_tree
from preflight.checks import RULES
from preflight.checks.rule import Rule
from preflight.cli import main

SNAPSHOTS = Path(__file__).parent / "snapshots" / "pages"
UPDATE = os.environ.get("PREFLIGHT_UPDATE_SNAPSHOTS") == "1"


def report(root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(root)
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit):
        main(["check", ".", "--no-cache", "--color", "never"])
    return capsys.readouterr().out


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_bad_example_report(
    rule: Rule,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = report(write_tree(tmp_path, examples(rule.code, "Example")), capsys, monkeypatch)
    snapshot = SNAPSHOTS / f"{rule.code}.txt"
    if UPDATE:
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_text(text, encoding="utf-8")
    assert snapshot.is_file(), f"no snapshot: run with PREFLIGHT_UPDATE_SNAPSHOTS=1 ({snapshot})"
    assert text == snapshot.read_text(encoding="utf-8")
    assert f": {rule.code} " in text
