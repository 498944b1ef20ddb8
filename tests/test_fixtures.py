"""Every fixture directory, each checked against the findings it lists in its EXPECTED file.

A fixture is a whole small project laid out as users lay them out; its EXPECTED file is the
exact list of what `preflight check` reports on it (code and position, in report order), so a
new rule that fires on a fixture, a lost finding or a moved anchor all fail here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FIXTURES, lint

# Fixtures that show where a rule must stay silent (their EXPECTED file says why).
_SILENT_BY_DESIGN = frozenset({"env001-nested-envfrom-prefix", "prb002-dynamic-routers"})
DIRECTORIES = sorted(p for p in FIXTURES.iterdir() if p.is_dir())


def expected(fixture: Path) -> list[str]:
    lines = (fixture / "EXPECTED").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_every_fixture_states_what_it_expects() -> None:
    assert [d.name for d in DIRECTORIES if not (d / "EXPECTED").is_file()] == []


@pytest.mark.parametrize("fixture", DIRECTORIES, ids=lambda p: p.name)
def test_fixture_reports_exactly_what_it_expects(fixture: Path) -> None:
    result = lint(fixture)
    assert result.internal_errors == []
    reported = [f"{f.code} {f.span.path}:{f.span.line}:{f.span.col}" for f in result.findings]
    assert reported == expected(fixture)


@pytest.mark.parametrize("fixture", DIRECTORIES, ids=lambda p: p.name)
def test_fixture_name_states_its_rule(fixture: Path) -> None:
    """`<code>-…` fixtures report that code, unless the name says the fixture is clean."""
    if fixture.name in ("reference-service", "malformed-files"):
        return
    code = fixture.name.split("-", 1)[0].upper()
    codes = {line.split()[0] for line in expected(fixture)}
    if "clean" in fixture.name.split("-") or fixture.name in _SILENT_BY_DESIGN:
        assert code not in codes
    else:
        assert code in codes
