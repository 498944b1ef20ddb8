"""The ENV fixtures, laid out as users lay them out, beyond what their EXPECTED files state
(tests/test_fixtures.py): the related locations and wording that make a finding actionable."""

from __future__ import annotations

from conftest import FIXTURES, lint


def test_seed_fixture_names_secret_key_and_the_field() -> None:
    (finding,) = lint(FIXTURES / "env001-seed-missing-secret-key").findings
    assert "`SECRET_KEY`" in finding.message
    assert ("app/config.py", 7) in {(r.span.path, r.span.line) for r in finding.related}


def test_prefix_fixture_names_the_derivation() -> None:
    (finding,) = lint(FIXTURES / "env001-env-prefix").findings
    assert '`APP_SECRET_KEY` (env_prefix "APP_" + field `secret_key`' in finding.message
