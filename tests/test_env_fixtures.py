"""The ENV fixtures, laid out as users lay them out, each report exactly their rule where it is."""

from __future__ import annotations

import pytest

from conftest import FIXTURES, lint


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("env001-alias-clean", []),
        ("env001-env-prefix", [("ENV001", "k8s/deployment.yaml", 16)]),
        ("env001-nested-envfrom-prefix", []),
        ("env001-seed-missing-secret-key", [("ENV001", "k8s/deployment.yaml", 16)]),
        ("env002-secret-key-mismatch", [("ENV002", "k8s/deployment.yaml", 30)]),
        ("env004-plain-secret-value", [("ENV004", "k8s/deployment.yaml", 34)]),
        ("env005-committed-secret", [("ENV005", "k8s/secret.yaml", 8)]),
        # a real-looking short value committed in a Secret is also ENV005
        (
            "env006-short-secret-key",
            [("ENV006", "k8s/deployment.yaml", 33), ("ENV005", "k8s/secret.yaml", 8)],
        ),
        (
            "env007-seed-config-verbatim",
            [("ENV007", "app/config.py", 12), ("ENV007", "app/config.py", 27)],
        ),
    ],
)
def test_env_fixture(fixture: str, expected: list[tuple[str, str, int]]) -> None:
    result = lint(FIXTURES / fixture)
    assert [(f.code, f.span.path, f.span.line) for f in result.findings] == expected


def test_seed_fixture_names_secret_key_and_the_field() -> None:
    (finding,) = lint(FIXTURES / "env001-seed-missing-secret-key").findings
    assert "`SECRET_KEY`" in finding.message
    assert ("app/config.py", 7) in {(r.span.path, r.span.line) for r in finding.related}


def test_prefix_fixture_names_the_derivation() -> None:
    (finding,) = lint(FIXTURES / "env001-env-prefix").findings
    assert '`APP_SECRET_KEY` (env_prefix "APP_" + field `secret_key`' in finding.message
