"""Every rule has a page in rules/, and every page's examples behave as the page says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import REPO, codes, lint, write_tree
from preflight.checks import RULES
from preflight.checks.rule import Rule

PAGES = REPO / "rules"
_BLOCK = re.compile(r'^```\S*\s+title="(?P<path>[^"]+)"\n(?P<body>.*?)^```\s*$', re.M | re.S)


def examples(code: str, heading: str) -> dict[str, str]:
    text = (PAGES / f"{code}.md").read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return {m.group("path"): m.group("body") for m in _BLOCK.finditer(section)}


def test_every_rule_has_a_page_and_every_page_a_rule() -> None:
    assert {p.stem for p in PAGES.glob("*.md")} == {rule.code for rule in RULES}


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_page_heading_and_sections(rule: Rule) -> None:
    text = (PAGES / f"{rule.code}.md").read_text(encoding="utf-8")
    assert text.startswith(f"# {rule.code} {rule.name}\n")
    assert f"**Severity:** {rule.severity.value}" in text
    for section in ("What it catches", "Why it matters", "How to fix", "Example", "Use instead"):
        assert f"\n## {section}\n" in text


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_bad_example_fires_exactly_this_rule(rule: Rule, tmp_path: Path) -> None:
    files = examples(rule.code, "Example")
    assert files, "the page has no example files"
    result = lint(write_tree(tmp_path, files))
    assert codes(result) and set(codes(result)) == {rule.code}


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_good_example_is_clean(rule: Rule, tmp_path: Path) -> None:
    files = examples(rule.code, "Use instead")
    assert files, "the page has no 'Use instead' files"
    result = lint(write_tree(tmp_path, files))
    assert codes(result) == []


def test_a_rule_reports_only_at_the_severities_it_declares() -> None:
    """The engine stamps identity from the registry: an undeclared severity is a rule bug."""
    from preflight.findings import RuleContext, Severity, UndeclaredSeverity
    from preflight.spans import Span

    env003 = next(rule for rule in RULES if rule.code == "ENV003")
    ctx = RuleContext.of(env003)
    assert ctx.report("m", Span("a", 1)).severity is Severity.WARNING
    assert ctx.report("m", Span("a", 1), severity=Severity.INFO).severity is Severity.INFO
    assert ctx.report("m", Span("a", 1)).code == "ENV003"
    with pytest.raises(UndeclaredSeverity):
        ctx.report("m", Span("a", 1), severity=Severity.ERROR)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_page_severity_matches_what_the_rule_reports(rule: Rule) -> None:
    text = (PAGES / f"{rule.code}.md").read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("**Severity:**"))
    for severity in rule.severities:
        assert severity.value in line


def test_every_page_says_what_its_fix_does_or_why_it_has_none() -> None:
    """Issue 21: each page says whether `--fix` repairs the finding (safe or unsafe, and what
    it changes) or why there is no fix."""
    from preflight.checks import RULES

    pages = Path(__file__).resolve().parents[1] / "rules"
    for rule in RULES:
        text = (pages / f"{rule.code}.md").read_text(encoding="utf-8")
        line = next((x for x in text.splitlines() if x.startswith("**Fix:**")), None)
        assert line is not None, rule.code
        assert line.startswith(
            ("**Fix:** safe", "**Fix:** unsafe", "**Fix:** none", "**Fix:** `")
        ), rule.code
