"""Database rules: URLs traced from Secrets/env files through settings code to the engine."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest

from conftest import codes
from preflight.cli import main
from preflight.engine import Result
from preflight.model.urls import effective_drivers, parse_db_url

Project = Callable[..., Result]


@pytest.fixture
def families() -> tuple[str, ...]:
    return ("DB", "PF")


NEON = (
    "postgresql://neondb_owner:CHANGE_ME_pw@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb"
)
NEON_CONSOLE = NEON + "?sslmode=require&channel_binding=require"

PYPROJECT = """
    [project]
    name = "backend"
    version = "1.0.0"
    dependencies = [{deps}]
"""
ASYNC_DEPS = '"fastapi", "pydantic-settings", "sqlalchemy[asyncio]>=2.0", "asyncpg"'

SEED_CONFIG = """
    from pydantic import Field, validator
    from pydantic_settings import BaseSettings


    class Settings(BaseSettings):
        database_url: str = Field(..., description="Database connection string")

        @validator("database_url", pre=True)
        def use_async_driver(cls, v):
            if isinstance(v, str) and v.startswith("postgresql://"):
                # Convert to asyncpg format for Neon
                return v.replace("postgresql://", "postgresql+asyncpg://", 1)
            return v


    settings = Settings()
"""

ASYNC_DB = """
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.config import settings

    engine = create_async_engine(settings.database_url, pool_pre_ping=True)
"""


def secret(key: str, value: str, *, data: bool = False) -> str:
    if data:
        encoded = base64.b64encode(value.encode()).decode()
        return f"""
            apiVersion: v1
            kind: Secret
            metadata:
              name: backend-secrets
            data:
              {key}: {encoded}
        """
    return f"""
        apiVersion: v1
        kind: Secret
        metadata:
          name: backend-secrets
        stringData:
          {key}: "{value}"
    """


def where(result: Result, code: str) -> list[tuple[str, int]]:
    return [(f.span.path, f.span.line) for f in result.findings if f.code == code]


# DB002: the seed's own rewrite, spread over three files.


def test_seed_validator_with_neon_console_url_is_db002_at_the_secret(project: Project) -> None:
    result = project(
        {
            "pyproject.toml": PYPROJECT.format(deps=ASYNC_DEPS),
            "app/config.py": SEED_CONFIG,
            "app/db.py": ASYNC_DB,
            "k8s/secret.yaml": secret("DATABASE_URL", NEON_CONSOLE),
        }
    )
    assert codes(result) == ["DB002"]
    (finding,) = result.findings
    assert (finding.span.path, finding.span.line) == ("k8s/secret.yaml", 6)
    related = {(r.span.path, r.span.line) for r in finding.related}
    assert ("app/config.py", 9) in related  # the validator
    assert ("app/db.py", 5) in related  # the engine
    assert "sslmode" in finding.message and "channel_binding" in finding.message


def test_db002_silent_when_the_code_translates_sslmode(project: Project) -> None:
    config = SEED_CONFIG.replace(
        'return v.replace("postgresql://", "postgresql+asyncpg://", 1)',
        'return v.replace("postgresql://", "postgresql+asyncpg://", 1).replace("sslmode=", "ssl=")',
    )
    result = project(
        {
            "pyproject.toml": PYPROJECT.format(deps=ASYNC_DEPS),
            "app/config.py": config,
            "app/db.py": ASYNC_DB,
            "k8s/secret.yaml": secret("DATABASE_URL", NEON_CONSOLE),
        }
    )
    assert codes(result) == []


def test_db002_with_ssl_require_is_clean(project: Project) -> None:
    result = project(
        {
            "pyproject.toml": PYPROJECT.format(deps=ASYNC_DEPS),
            "app/config.py": SEED_CONFIG,
            "app/db.py": ASYNC_DB,
            "k8s/secret.yaml": secret(
                "DATABASE_URL",
                NEON.replace("postgresql://", "postgresql+asyncpg://") + "?ssl=require",
            ),
        }
    )
    assert codes(result) == []


# DB001: sync driver on Neon in an async app (URL base64 in a Secret, via secretKeyRef).

DEPLOYMENT = """
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: backend
    spec:
      template:
        spec:
          containers:
            - name: backend
              image: registry.example.com/backend:1
              env:
                - name: DATABASE_URL
                  valueFrom:
                    secretKeyRef:
                      name: backend-secrets
                      key: db-url
"""

SYNC_CONFIG = """
    from pydantic_settings import BaseSettings


    class Settings(BaseSettings):
        database_url: str


    settings = Settings()
"""

SYNC_DB = """
    from sqlmodel import create_engine

    from app.config import settings

    engine = create_engine(settings.database_url, pool_pre_ping=True)
"""

MAIN = """
    from fastapi import FastAPI

    app = FastAPI()
"""


def test_neon_with_psycopg2_and_create_engine_is_db001(project: Project) -> None:
    result = project(
        {
            "pyproject.toml": PYPROJECT.format(
                deps='"fastapi", "sqlmodel", "psycopg2-binary", "pydantic-settings"'
            ),
            "app/config.py": SYNC_CONFIG,
            "app/db.py": SYNC_DB,
            "app/main.py": MAIN,
            "k8s/deployment.yaml": DEPLOYMENT
            + "---\n"
            + secret("db-url", NEON + "?sslmode=require", data=True).strip("\n"),
        }
    )
    assert codes(result) == ["DB001"]
    (finding,) = result.findings
    assert finding.span.path == "k8s/deployment.yaml"
    assert ("app/db.py", 5) in {(r.span.path, r.span.line) for r in finding.related}
    assert "asyncpg" in (finding.fix or "")


def test_same_url_as_asyncpg_with_ssl_require_is_clean(project: Project) -> None:
    url = NEON.replace("postgresql://", "postgresql+asyncpg://") + "?ssl=require"
    result = project(
        {
            "pyproject.toml": PYPROJECT.format(deps=ASYNC_DEPS),
            "app/config.py": SYNC_CONFIG,
            "app/db.py": ASYNC_DB,
            "app/main.py": MAIN,
            "k8s/deployment.yaml": DEPLOYMENT
            + "---\n"
            + secret("db-url", url, data=True).strip("\n"),
        }
    )
    assert codes(result) == []


def test_database_platform_config_marks_neon(project: Project) -> None:
    files = {
        "pyproject.toml": PYPROJECT.format(deps='"fastapi", "sqlmodel", "psycopg2-binary"')
        + '\n[tool.preflight]\ndatabase-platform = "neon"\n',
        "app/config.py": SYNC_CONFIG,
        "app/db.py": SYNC_DB,
        "app/main.py": MAIN,
        ".env.example": "DATABASE_URL=postgresql://app:CHANGE_ME@db.internal:5432/app\n",
    }
    assert codes(project(files)) == ["DB001"]


# DB003 / DB004 / DB005 / DB006 / DB008, each spread over files.


def test_async_engine_fed_psycopg2_is_db003_at_the_engine(project: Project) -> None:
    result = project(
        {
            "pyproject.toml": PYPROJECT.format(
                deps='"fastapi", "sqlalchemy[asyncio]", "psycopg2-binary"'
            ),
            "app/config.py": SYNC_CONFIG,
            "app/db.py": ASYNC_DB,
            "docker-compose.yml": """
                services:
                  api:
                    image: backend
                    environment:
                      DATABASE_URL: postgresql+psycopg2://app:CHANGE_ME@db:5432/app
            """,
        }
    )
    assert codes(result) == ["DB003"]
    assert where(result, "DB003") == [("app/db.py", 5)]
    assert ("docker-compose.yml", 5) in {
        (r.span.path, r.span.line) for r in result.findings[0].related
    }


def test_driver_not_installed_under_sqlalchemy_21(project: Project) -> None:
    result = project(
        {
            "pyproject.toml": PYPROJECT.format(
                deps='"fastapi", "sqlalchemy>=2.0", "psycopg2-binary"'
            ),
            "app/config.py": SYNC_CONFIG,
            "app/db.py": SYNC_DB.replace("from sqlmodel import", "from sqlalchemy import"),
            ".env.example": "DATABASE_URL=postgresql://app:CHANGE_ME@localhost:5432/app\n",
        }
    )
    assert codes(result) == ["DB004"]
    assert "psycopg" in result.findings[0].message


def test_driver_not_installed_silent_when_locked_to_20(project: Project) -> None:
    result = project(
        {
            "pyproject.toml": PYPROJECT.format(
                deps='"fastapi", "sqlalchemy>=2.0", "psycopg2-binary"'
            ),
            "uv.lock": 'version = 1\n[[package]]\nname = "sqlalchemy"\nversion = "2.0.36"\n',
            "app/config.py": SYNC_CONFIG,
            "app/db.py": SYNC_DB.replace("from sqlmodel import", "from sqlalchemy import"),
            ".env.example": "DATABASE_URL=postgresql://app:CHANGE_ME@localhost:5432/app\n",
        }
    )
    assert codes(result) == []


def test_heroku_postgres_scheme_is_db005(project: Project) -> None:
    result = project(
        {
            "requirements.txt": "fastapi\nsqlalchemy<2.1\npsycopg2-binary\n",
            "app/db.py": """
                import os

                from sqlalchemy import create_engine

                engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)
            """,
            ".env.example": "DATABASE_URL=postgres://app:CHANGE_ME@localhost:5432/app\n",
        }
    )
    assert codes(result) == ["DB005"]
    assert where(result, "DB005") == [(".env.example", 1)]


def test_heroku_scheme_fixed_in_code_is_clean(project: Project) -> None:
    result = project(
        {
            "requirements.txt": "fastapi\nsqlalchemy<2.1\npsycopg2-binary\n",
            "app/db.py": """
                import os

                from sqlalchemy import create_engine

                url = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
                engine = create_engine(url, pool_pre_ping=True)
            """,
            ".env.example": "DATABASE_URL=postgres://app:CHANGE_ME@localhost:5432/app\n",
        }
    )
    assert codes(result) == []


def test_neon_engine_without_pre_ping_is_db006(project: Project) -> None:
    result = project(
        {
            "pyproject.toml": PYPROJECT.format(deps=ASYNC_DEPS),
            "app/config.py": SYNC_CONFIG,
            "app/db.py": ASYNC_DB.replace(", pool_pre_ping=True", ""),
            "k8s/secret.yaml": secret(
                "DATABASE_URL",
                NEON.replace("postgresql://", "postgresql+asyncpg://") + "?ssl=require",
            ),
        }
    )
    assert codes(result) == ["DB006"]
    assert where(result, "DB006") == [("app/db.py", 5)]


@pytest.mark.parametrize("keyword", ["pool_recycle=300", "poolclass=NullPool"])
def test_db006_silent_with_recycle_or_nullpool(project: Project, keyword: str) -> None:
    result = project(
        {
            "pyproject.toml": PYPROJECT.format(deps=ASYNC_DEPS),
            "app/config.py": SYNC_CONFIG,
            "app/db.py": ASYNC_DB.replace("pool_pre_ping=True", keyword),
            "k8s/secret.yaml": secret(
                "DATABASE_URL",
                NEON.replace("postgresql://", "postgresql+asyncpg://") + "?ssl=require",
            ),
        }
    )
    assert codes(result) == []


def test_asyncio_extension_without_greenlet_is_db008(project: Project) -> None:
    result = project(
        {
            "pyproject.toml": PYPROJECT.format(deps='"fastapi", "sqlalchemy>=2.0", "asyncpg"'),
            "app/config.py": SYNC_CONFIG,
            "app/db.py": ASYNC_DB,
            ".env.example": "DATABASE_URL=postgresql+asyncpg://app:CHANGE_ME@localhost/app\n",
        }
    )
    assert codes(result) == ["DB008"]
    assert where(result, "DB008") == [("app/db.py", 1)]


@pytest.mark.parametrize(
    "deps",
    [
        '"sqlalchemy[asyncio]>=2.0"',
        '"sqlalchemy>=2.0", "greenlet"',
        '"sqlalchemy>=2.0,<2.1"',
        '"sqlalchemy==2.0.30"',  # an exact pin installs 2.0.30, which brings greenlet
        '"SQLAlchemy==1.4.41"',
        '"sqlalchemy~=2.0.30"',
    ],
)
def test_db008_silent_with_greenlet_or_sqlalchemy_20(project: Project, deps: str) -> None:
    result = project(
        {
            "pyproject.toml": PYPROJECT.format(deps=f'"fastapi", {deps}, "asyncpg"'),
            "app/config.py": SYNC_CONFIG,
            "app/db.py": ASYNC_DB,
            ".env.example": "DATABASE_URL=postgresql+asyncpg://app:CHANGE_ME@localhost/app\n",
        }
    )
    assert codes(result) == []


def test_db008_exact_pin_of_21_says_so_without_contradiction(project: Project) -> None:
    result = project(
        {
            "pyproject.toml": PYPROJECT.format(deps='"fastapi", "sqlalchemy==2.1.0", "asyncpg"'),
            "app/config.py": SYNC_CONFIG,
            "app/db.py": ASYNC_DB,
            ".env.example": "DATABASE_URL=postgresql+asyncpg://app:CHANGE_ME@localhost/app\n",
        }
    )
    assert codes(result) == ["DB008"]
    assert "`sqlalchemy==2.1.0` (SQLAlchemy 2.1 or later)" in result.findings[0].message
    assert "fresh build" not in result.findings[0].message


@pytest.mark.parametrize(
    "files",
    [
        {  # requirements with hashes, as pip-compile --generate-hashes writes them
            "requirements.txt": "fastapi==0.115.0 \\\n    --hash=sha256:aa\n"
            "sqlalchemy[asyncio]==2.1.0 \\\n    --hash=sha256:bb \\\n    --hash=sha256:cc\n"
            "asyncpg==0.30.0 \\\n    --hash=sha256:dd\n"
        },
        {  # a lock whose SQLAlchemy is 2.1 but which installs greenlet (the extra's dependency)
            "pyproject.toml": PYPROJECT.format(
                deps='"fastapi", "sqlalchemy>=2.0", "asyncpg", "sqlmodel"'
            ),
            "uv.lock": 'version = 1\n[[package]]\nname = "sqlalchemy"\nversion = "2.1.0"\n'
            '[[package]]\nname = "greenlet"\nversion = "3.1.1"\n',
        },
        {
            "pyproject.toml": '[tool.poetry]\nname = "app"\nversion = "1"\n'
            '[tool.poetry.dependencies]\npython = "^3.12"\nfastapi = "*"\nasyncpg = "*"\n'
            'sqlalchemy = {version = "^2.0", extras = ["asyncio"]}\n',
        },
    ],
)
def test_db008_silent_when_the_extra_or_greenlet_is_installed(
    project: Project, files: dict[str, str]
) -> None:
    result = project(
        {
            **files,
            "app/config.py": SYNC_CONFIG,
            "app/db.py": ASYNC_DB,
            ".env.example": "DATABASE_URL=postgresql+asyncpg://app:CHANGE_ME@localhost/app\n",
        }
    )
    assert "DB008" not in codes(result)


def test_driver_exact_pin_20_uses_20s_default_driver(project: Project) -> None:
    # `postgresql://` loads psycopg2 under SQLAlchemy 2.0 (psycopg only from 2.1): the pin decides
    result = project(
        {
            "pyproject.toml": PYPROJECT.format(
                deps='"fastapi", "sqlalchemy==2.0.30", "psycopg2-binary"'
            ),
            "app/config.py": SYNC_CONFIG,
            "app/db.py": SYNC_DB.replace("from sqlmodel import", "from sqlalchemy import"),
            ".env.example": "DATABASE_URL=postgresql://app:CHANGE_ME@localhost:5432/app\n",
        }
    )
    assert codes(result) == []


# DB007: the seed's /ready.


def test_seed_ready_probe_blocking_connect_is_db007(project: Project) -> None:
    result = project(
        {
            "requirements.txt": "fastapi\nsqlmodel\nsqlalchemy<2.1\npsycopg2-binary\n",
            "app/db.py": "from sqlmodel import create_engine\n"
            "engine = create_engine('postgresql://app:CHANGE_ME@db:5432/app')\n",
            "app/main.py": """
                from fastapi import FastAPI, HTTPException
                from sqlmodel import text

                from .db import engine

                app = FastAPI()


                @app.get("/ready")
                async def readiness_check():
                    try:
                        with engine.connect() as conn:
                            result = conn.execute(text("SELECT 1"))
                            result.fetchone()
                        return {"status": "ready"}
                    except Exception:
                        raise HTTPException(status_code=503)
            """,
        }
    )
    assert codes(result) == ["DB007"]
    assert where(result, "DB007") == [("app/main.py", 12)]


def test_db007_is_silent_when_the_service_s_database_is_an_sqlite_file(project: Project) -> None:
    """A call answered from a local file stalls the loop for the file's I/O, not a network
    round trip (session 4: eight findings on an SQLite service were judged debatable)."""
    result = project(
        {
            "requirements.txt": "fastapi\nsqlmodel\n",
            "app/db.py": "from sqlmodel import create_engine\n"
            "engine = create_engine('sqlite:///./app.db')\n",
            "app/main.py": """
                from fastapi import FastAPI
                from sqlmodel import text

                from .db import engine

                app = FastAPI()


                @app.get("/count")
                async def count():
                    with engine.connect() as conn:
                        return {"n": conn.execute(text("SELECT 1")).scalar()}
            """,
        }
    )
    assert codes(result) == []
    assert any("DB007 silent" in n and "an SQLite file" in n for n in result.notes)


def test_db007_session_dependency_in_async_route(project: Project) -> None:
    result = project(
        {
            "app/main.py": """
                from fastapi import Depends, FastAPI
                from sqlmodel import Session, select

                from app.db import get_session

                app = FastAPI()


                @app.get("/items")
                async def items(session: Session = Depends(get_session)):
                    return session.exec(select(Item)).all()


                @app.get("/sync")
                def sync_items(session: Session = Depends(get_session)):
                    return session.exec(select(Item)).all()
            """,
        }
    )
    assert where(result, "DB007") == [("app/main.py", 11)]


def test_db007_async_engine_and_awaits_are_fine(project: Project) -> None:
    result = project(
        {
            "app/main.py": """
                from fastapi import FastAPI
                from sqlalchemy import text
                from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

                engine = create_async_engine("sqlite+aiosqlite:///./x.db")
                app = FastAPI()


                @app.get("/ready")
                async def ready(session: AsyncSession):
                    async with engine.connect() as conn:
                        await conn.execute(text("SELECT 1"))
                    await session.execute(text("SELECT 1"))
            """,
        }
    )
    assert "DB007" not in codes(result)


# No password in any output.


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_no_password_in_any_output(
    tmp_path: object, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    from pathlib import Path

    from conftest import write_tree

    root = write_tree(
        Path(str(tmp_path)),
        {
            "pyproject.toml": PYPROJECT.format(deps='"fastapi", "sqlmodel", "psycopg2-binary"'),
            "app/config.py": SYNC_CONFIG,
            "app/db.py": SYNC_DB.replace(", pool_pre_ping=True", ""),
            "app/main.py": MAIN,
            "k8s/secret.yaml": secret("DATABASE_URL", NEON_CONSOLE),
            "k8s/secret-b64.yaml": secret("DATABASE_URL", NEON_CONSOLE, data=True),
            ".env.example": f"DATABASE_URL={NEON_CONSOLE}\n",
        },
    )
    with pytest.raises(SystemExit):
        main(["check", "--verbose", "--format", fmt, str(root)])
    out, err = capsys.readouterr()
    assert "DB001" in out and "DB006" in out
    assert "CHANGE_ME_pw" not in out + err
    assert base64.b64encode(NEON_CONSOLE.encode()).decode()[:40] not in out + err
    if fmt == "json":
        json.loads(out)


# The URL model.


def test_url_display_hides_password_and_query_values() -> None:
    url = parse_db_url(NEON_CONSOLE + "&application_name=secret")
    assert url is not None and url.is_neon
    shown = url.display()
    assert "CHANGE_ME_pw" not in shown and "neondb_owner:***@" in shown
    assert "sslmode=require" in shown and "application_name=***" in shown


@pytest.mark.parametrize(
    ("url", "minors", "is_async", "drivers"),
    [
        ("postgresql://h/db", {"2.0"}, False, {"psycopg2"}),
        ("postgresql://h/db", {"2.1"}, False, {"psycopg"}),
        ("postgresql://h/db", {"2.1"}, True, {"psycopg_async"}),
        ("postgresql+asyncpg://h/db", {"2.0", "2.1"}, True, {"asyncpg"}),
        ("sqlite:///x.db", {"2.0"}, False, {"pysqlite"}),
    ],
)
def test_effective_drivers(url: str, minors: set[str], is_async: bool, drivers: set[str]) -> None:
    parsed = parse_db_url(url)
    assert parsed is not None
    assert effective_drivers(parsed, frozenset(minors), is_async) == drivers


@pytest.mark.parametrize(
    "text", ["${DATABASE_URL}", "changeme", "http://example.com", "redis://r:6379/0"]
)
def test_non_database_urls_are_ignored(text: str) -> None:
    assert parse_db_url(text) is None


def test_reference_service_uses_are_resolved() -> None:
    from conftest import FIXTURES, lint

    result = lint(FIXTURES / "reference-service")
    assert codes(result) == []
    assert not [n for n in result.notes if n.startswith("DB")]
