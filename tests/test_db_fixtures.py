"""The DB fixtures, laid out as users lay them out, each report exactly their rule where it is."""

from __future__ import annotations

import pytest

from conftest import FIXTURES, lint


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("db001-neon-platform-config", [("DB001", ".env.example", 1)]),
        ("db001-neon-psycopg2-sync-engine", [("DB001", "k8s/secret.yaml", 7)]),
        # the seed's config.py also uses pydantic v1's @validator under pydantic-settings 2
        (
            "db002-seed-neon-validator",
            [("ENV007", "app/config.py", 12), ("DB002", "k8s/secret.yaml", 8)],
        ),
        ("db003-heroku-rewrite-async-engine", [("DB003", "app/database.py", 5)]),
        ("db003-sync-engine-asyncpg-url", [("DB003", "scripts/reindex.py", 7)]),
        ("db004-psycopg2-default-driver", [("DB004", "docker-compose.yml", 7)]),
        ("db005-heroku-postgres-scheme", [("DB005", ".env.example", 3)]),
        ("db006-neon-pooler-no-pre-ping", [("DB006", "src/app/database.py", 6)]),
        (
            "db007-seed-ready-probe",
            [("DB007", "app/api/tasks.py", 12), ("DB007", "app/main.py", 25)],
        ),
        ("db008-sqlalchemy-without-asyncio-extra", [("DB008", "app/db.py", 3)]),
        ("db008-uv-lock-sqlalchemy-21", [("DB008", "app/db.py", 3)]),
    ],
)
def test_db_fixture(fixture: str, expected: list[tuple[str, str, int]]) -> None:
    result = lint(FIXTURES / fixture)
    assert [(f.code, f.span.path, f.span.line) for f in result.findings] == expected


def test_seed_fixture_names_the_validator() -> None:
    (finding,) = lint(FIXTURES / "db002-seed-neon-validator", select=["DB"]).findings
    assert ("app/config.py", 12) in {(r.span.path, r.span.line) for r in finding.related}
