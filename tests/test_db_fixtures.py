"""The DB fixtures, laid out as users lay them out, beyond what their EXPECTED files state
(tests/test_fixtures.py): the related locations and wording that make a finding actionable."""

from __future__ import annotations

from conftest import FIXTURES, lint


def test_seed_fixture_names_the_validator() -> None:
    (finding,) = lint(FIXTURES / "db002-seed-neon-validator", select=["DB"]).findings
    assert ("app/config.py", 12) in {(r.span.path, r.span.line) for r in finding.related}
