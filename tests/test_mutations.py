"""Mutation tests: the reference service with one seed-style mistake reports exactly that rule.

Each case copies fixtures/reference-service, applies one edit a real team could make, and
asserts the exact set of rule codes. Together with the e2e test (the unmutated service really
runs) this shows that preflight's "clean" means "works", and that each rule sees its mistake in
a realistic project, not only in a minimal example.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, lint

REF = FIXTURES / "reference-service"
NEON = "postgresql://app:CHANGE_ME@ep-cool-darkness-123456.us-east-2.aws.neon.tech/app"
SECRET_URL = "postgresql://app:CHANGE_ME@db.example.internal:5432/app?sslmode=require"
VALIDATOR = "return to_asyncpg_url(value).render_as_string(hide_password=False)"
COMPOSE_URL = "DATABASE_URL: postgresql://app:app@db:5432/app"
EXAMPLE_URL = "DATABASE_URL=postgresql://user:password@localhost:5432/app"


def local_urls(scheme: str) -> list[tuple[str, str, str]]:
    """The compose and .env.example URLs with another scheme (with the validator gone they
    reach the engine too, and would otherwise show the same mistake a second time)."""
    return [
        ("docker-compose.yml", COMPOSE_URL, COMPOSE_URL.replace("postgresql://", scheme)),
        (".env.example", EXAMPLE_URL, EXAMPLE_URL.replace("postgresql://", scheme)),
    ]


Edit = tuple[str, str, str]  # (file, old, new)

READINESS = """          readinessProbe: # /ready runs SELECT 1 against the database
            httpGet:
              path: /ready
              port: http
"""

INGRESS = """---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: reference-service
spec:
  rules:
    - http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: reference-service
                port:
                  number: 8000
"""


MUTATIONS: dict[str, tuple[list[Edit], list[str]]] = {
    "gunicorn removed from dependencies": (
        [
            ("pyproject.toml", '    "gunicorn>=23.0",\n', ""),
            ("pyproject.toml", '    "uvicorn-worker>=0.2",\n', ""),
        ],
        ["PKG001"],
    ),
    "Neon URL with psycopg2 and a sync engine": (
        [
            ("app/config.py", VALIDATOR, "return value"),
            ("app/db.py", "create_async_engine(\n", "create_engine(\n"),
            (
                "app/db.py",
                "from sqlalchemy import text\n",
                "from sqlalchemy import create_engine, text\n",
            ),
            (
                "k8s/secret.example.yaml",
                SECRET_URL,
                NEON.replace("postgresql://", "postgresql+psycopg2://") + "?sslmode=require",
            ),
            (
                "pyproject.toml",
                '    "asyncpg>=0.29",\n',
                '    "asyncpg>=0.29",\n    "psycopg2-binary>=2.9",\n',
            ),
            *local_urls("postgresql+psycopg2://"),
        ],
        ["DB001"],
    ),
    "the seed's rewrite on a Neon console URL": (
        [
            (
                "app/config.py",
                VALIDATOR,
                'return value.replace("postgresql://", "postgresql+asyncpg://", 1)',
            ),
            (
                "k8s/secret.example.yaml",
                SECRET_URL,
                NEON + "?sslmode=require&channel_binding=require",
            ),
        ],
        ["DB002"],
    ),
    "psycopg2 URL given to the async engine": (
        [
            ("app/config.py", VALIDATOR, "return value"),
            (
                "k8s/secret.example.yaml",
                SECRET_URL,
                SECRET_URL.replace("postgresql://", "postgresql+psycopg2://"),
            ),
            (
                "pyproject.toml",
                '    "asyncpg>=0.29",\n',
                '    "asyncpg>=0.29",\n    "psycopg2-binary>=2.9",\n',
            ),
            *local_urls("postgresql+psycopg2://"),
        ],
        ["DB003"],
    ),
    "psycopg URL without psycopg installed": (
        [
            ("app/config.py", VALIDATOR, "return value"),
            (
                "k8s/secret.example.yaml",
                SECRET_URL,
                SECRET_URL.replace("postgresql://", "postgresql+psycopg://"),
            ),
            *local_urls("postgresql+asyncpg://"),
        ],
        ["DB004"],
    ),
    "Heroku postgres:// scheme": (
        [
            ("app/config.py", VALIDATOR, "return value"),
            (
                "k8s/secret.example.yaml",
                SECRET_URL,
                SECRET_URL.replace("postgresql://", "postgres://"),
            ),
            *local_urls("postgres://"),
        ],
        ["DB005"],
    ),
    "Neon without pre-ping or recycle": (
        [
            (
                "app/db.py",
                "            pool_pre_ping=True,  # serverless Postgres (Neon) drops idle connections\n",
                "",
            ),
            ("app/db.py", "            pool_recycle=300,\n", ""),
            ("k8s/secret.example.yaml", SECRET_URL, NEON + "?sslmode=require"),
        ],
        ["DB006"],
    ),
    "a sync engine used inside async def": (
        [
            (
                "app/reports.py",
                "",
                "from fastapi import APIRouter\n"
                "from sqlalchemy import create_engine, text\n\n"
                'engine = create_engine("sqlite:///./reports.db")\n'
                "router = APIRouter()\n\n\n"
                '@router.get("/reports/count")\n'
                "async def count() -> int:\n"
                "    with engine.connect() as conn:\n"
                '        return conn.execute(text("SELECT count(*) FROM reports")).scalar_one()\n',
            )
        ],
        ["DB007"],
    ),
    "sqlalchemy without the asyncio extra": (
        [("pyproject.toml", '"sqlalchemy[asyncio]>=2.0.30"', '"sqlalchemy>=2.0.30"')],
        ["DB008"],
    ),
    "readinessProbe removed": (
        [
            (
                "k8s/deployment.yaml",
                READINESS,
                "          readinessProbe_removed:\n            httpGet:\n              path: /ready\n              port: http\n",
            )
        ],
        ["PRB001"],
    ),
    "readinessProbe on a path the app does not serve": (
        [("k8s/deployment.yaml", READINESS, READINESS.replace("path: /ready", "path: /readyz"))],
        ["PRB002"],
    ),
    "no readiness endpoint, a TCP readiness probe": (
        [
            ("app/api/routes/health.py", '    "/ready",\n', '    "/db-check",\n'),
            (
                "k8s/deployment.yaml",
                READINESS,
                "          readinessProbe:\n            tcpSocket:\n              port: http\n",
            ),
        ],
        ["PRB003"],
    ),
    "readinessProbe on /health (checks nothing)": (
        [("k8s/deployment.yaml", READINESS, READINESS.replace("path: /ready", "path: /health"))],
        ["PRB004"],
    ),
    "livenessProbe on /ready (checks the database)": (
        [
            (
                "k8s/deployment.yaml",
                "          livenessProbe: # the process only: a database outage must not restart pods\n            httpGet:\n              path: /health",
                "          livenessProbe:\n            httpGet:\n              path: /ready",
            )
        ],
        ["PRB005"],
    ),
    "readinessProbe on the wrong port": (
        [("k8s/deployment.yaml", READINESS, READINESS.replace("port: http", "port: 8080"))],
        ["PRB006"],
    ),
    "/ready swallows the database error": (
        [
            (
                "app/api/routes/health.py",
                """        return JSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            content=NotReadyStatus().model_dump(),
        )""",
                "        return ReadyStatus()",
            )
        ],
        ["PRB007"],
    ),
    "the CMD's bind port from an ENV that no shell expands": (
        [("Dockerfile", '"0.0.0.0:8000"', '"0.0.0.0:${PORT}"')],
        ["RUN002"],
    ),
    "an entrypoint script committed without its executable bit": (
        [
            ("docker-entrypoint.sh", "", '#!/bin/sh\nset -e\nexec "$@"\n'),
            (
                "Dockerfile",
                "WORKDIR /app\n",
                "WORKDIR /app\nCOPY docker-entrypoint.sh /usr/local/bin/\n"
                'ENTRYPOINT ["docker-entrypoint.sh"]\n',
            ),
        ],
        ["RUN006"],
    ),
    "SECRET_KEY missing from the Deployment": (
        [
            (
                "k8s/deployment.yaml",
                """            - name: SECRET_KEY
              valueFrom:
                secretKeyRef:
                  name: reference-service
                  key: SECRET_KEY
""",
                "",
            )
        ],
        ["ENV001"],
    ),
    "secretKeyRef to a key the Secret does not have": (
        [
            (
                "k8s/deployment.yaml",
                "                  key: DATABASE_URL",
                "                  key: database-url",
            )
        ],
        ["ENV002"],
    ),
    "SECRET_KEY missing from .env.example": (
        [(".env.example", "SECRET_KEY=", "# SECRET_KEY removed=")],
        ["ENV003"],
    ),
    "SECRET_KEY as a plain value": (
        [
            (
                "k8s/deployment.yaml",
                """            - name: SECRET_KEY
              valueFrom:
                secretKeyRef:
                  name: reference-service
                  key: SECRET_KEY
""",
                """            - name: SECRET_KEY
              value: dev-7Kq2vX9mPz4LwR8tN3bY6cH1sJ5fD0gA
""",
            )
        ],
        ["ENV004"],
    ),
    "a real value committed in the Secret": (
        [
            (
                "k8s/secret.example.yaml",
                "CHANGE_ME-replace-with-at-least-32-random-characters",
                "q8Zr2LkVw9XyN4bTf7HjP1sDm6GcQa3E",
            )
        ],
        ["ENV005"],
    ),
    "a non-number for an int setting": (
        [
            (
                "k8s/configmap.yaml",
                'ACCESS_TOKEN_EXPIRE_MINUTES: "30"',
                'ACCESS_TOKEN_EXPIRE_MINUTES: "thirty"',
            )
        ],
        ["ENV006"],
    ),
    "BaseSettings imported from pydantic": (
        [
            (
                "app/config.py",
                "from pydantic_settings import BaseSettings,",
                "from pydantic import BaseSettings\nfrom pydantic_settings import",
            )
        ],
        ["ENV007"],
    ),
    "a setting named like the Service's injected variable": (
        [
            (
                "app/config.py",
                "    db_max_overflow: int = Field(default=5, ge=0, le=100)\n",
                "    db_max_overflow: int = Field(default=5, ge=0, le=100)\n"
                "    reference_service_port: int = 8000\n",
            )
        ],
        ["ENV008"],
    ),
    "a webhook secret with a default no deploy replaces": (
        [
            (
                "app/config.py",
                "    db_max_overflow: int = Field(default=5, ge=0, le=100)\n",
                "    db_max_overflow: int = Field(default=5, ge=0, le=100)\n"
                '    webhook_secret: str = "whsec-9f8e7d6c5b4a3f2e"\n',
            )
        ],
        ["ENV009"],
    ),
    "the database URL base64-encoded with echo's newline": (
        [
            (
                "k8s/secret.example.yaml",
                f'stringData:\n  DATABASE_URL: "{SECRET_URL}"\n',
                # echo "$DATABASE_URL" | base64
                "data:\n  DATABASE_URL: cG9zdGdyZXNxbDovL2FwcDpDSEFOR0VfTUVAZGIuZXhhbXBsZS5pbnRlcm5hbDo1NDMyL2FwcD9zc2xtb2RlPXJlcXVpcmUK\nstringData:\n",
            )
        ],
        ["ENV010"],
    ),
    "a malformed Dockerfile": (
        [("Dockerfile", "EXPOSE 8000", "EXPOSE 8000\nHEALTHCHEK CMD true")],
        ["PF001"],
    ),
    "gunicorn left on its default bind": (
        [("Dockerfile", '"--bind", "0.0.0.0:8000", ', "")],
        ["RUN001"],
    ),
    "gunicorn told to serve an attribute the module does not define": (
        [("Dockerfile", '"app.main:app"', '"app.main:application"')],
        ["RUN005"],
    ),
    "the image reloads on code changes": (
        [("Dockerfile", '"--workers", "2"]', '"--workers", "2", "--reload"]')],
        ["RUN004"],
    ),
    "README.md left out of the build context": (
        [(".dockerignore", ".env.*\n", ".env.*\n*.md\n")],
        ["IMG003"],
    ),
    "a curl health check on a slim image": (
        [
            (
                "Dockerfile",
                "\nCMD [",
                "\nHEALTHCHECK --interval=10s CMD curl -fsS http://localhost:8000/health || exit 1"
                "\nCMD [",
            )
        ],
        ["IMG001"],
    ),
    "the image built on a Python the project does not allow": (
        [
            ("Dockerfile", "FROM python:3.12-slim AS builder", "FROM python:3.10-slim AS builder"),
            ("Dockerfile", "\nFROM python:3.12-slim\n", "\nFROM python:3.10-slim\n"),
        ],
        ["IMG002"],
    ),
    "the image switches to a named user and the pod drops runAsUser": (
        [
            ("Dockerfile", "USER 10001:10001", "USER app:app"),
            ("k8s/deployment.yaml", "        runAsUser: 10001 # the Dockerfile's USER\n", ""),
            # compose tags the image it builds: the Deployment's image is tied to the
            # Dockerfile by a build, not by a guess from its name
            (
                "docker-compose.yml",
                "    build: .\n",
                "    build: .\n    image: ghcr.io/example/reference-service:0.1.0\n",
            ),
        ],
        ["IMG004"],
    ),
    "the /tmp emptyDir is dropped from a read-only container": (
        [
            (
                "k8s/deployment.yaml",
                "          volumeMounts:\n"
                "            - name: tmp # gunicorn's worker heartbeat files\n"
                "              mountPath: /tmp\n",
                "",
            )
        ],
        ["IMG005"],
    ),
    "compose points the app at localhost instead of the db service": (
        [("docker-compose.yml", COMPOSE_URL, COMPOSE_URL.replace("@db:", "@localhost:"))],
        ["DB009"],
    ),
    "SQLite in a Deployment of two replicas": (
        [
            ("app/config.py", VALIDATOR, "return value"),
            ("k8s/secret.example.yaml", SECRET_URL, "sqlite+aiosqlite:////data/app.db"),
            (
                "pyproject.toml",
                '    "asyncpg>=0.29",\n',
                '    "asyncpg>=0.29",\n    "aiosqlite>=0.20",\n',
            ),
            *local_urls("sqlite+aiosqlite://"),
            # the compose build tags the image the Deployment runs: a strong link
            (
                "docker-compose.yml",
                "    build: .\n",
                "    build: .\n    image: ghcr.io/example/reference-service:0.1.0\n",
            ),
        ],
        ["DB010"],
    ),
    "the Service's selector misspells the pods' label": (
        [
            (
                "k8s/service.yaml",
                "  selector:\n    app.kubernetes.io/name: reference-service",
                "  selector:\n    app.kubernetes.io/name: reference-svc",
            )
        ],
        ["SVC001"],
    ),
    "an Ingress targets the container port instead of the Service's": (
        [("k8s/service.yaml", "      protocol: TCP\n", "      protocol: TCP\n" + INGRESS)],
        ["SVC002"],
    ),
    "gunicorn left on its default sync worker": (
        [("Dockerfile", '"--worker-class", "uvicorn_worker.UvicornWorker", ', "")],
        ["RUN003"],
    ),
    "uvicorn-worker dropped, its worker class still named": (
        [("pyproject.toml", '    "uvicorn-worker>=0.2",\n', "")],
        ["PKG002"],
    ),
    "a stale suppression": (
        [("Dockerfile", "\nCMD [", "\n# preflight: ignore[PKG001]\nCMD [")],
        ["PF002"],
    ),
    "a suppression without brackets": (
        [("Dockerfile", "\nCMD [", "\n# preflight: ignore PKG001\nCMD [")],
        ["PF003"],
    ),
}


def apply(root: Path, edits: list[Edit]) -> None:
    for name, old, new in edits:
        path = root / name
        if not old:  # a new file
            path.write_text(new, encoding="utf-8")
            continue
        text = path.read_text(encoding="utf-8")
        assert old in text, f"the mutation no longer applies to {name}: {old!r}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_reference_service_is_clean() -> None:
    assert lint(REF).findings == []


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_mutation(mutation: str, tmp_path: Path) -> None:
    edits, expected = MUTATIONS[mutation]
    root = tmp_path / "reference-service"
    shutil.copytree(REF, root, ignore=shutil.ignore_patterns(".preflight_cache"))
    apply(root, edits)
    assert sorted({f.code for f in lint(root).findings}) == expected


def test_every_rule_has_a_mutation() -> None:
    from preflight.checks import RULES

    covered = {code for _, codes in MUTATIONS.values() for code in codes}
    missing = {rule.code for rule in RULES} - covered
    assert missing <= {"DB007"}, (
        missing
    )  # DB007: the reference service has no sync engine to misuse


# The mutations whose every finding carries a fix (issue 21): `--fix --unsafe-fixes` must
# bring the reference service back to clean. Counted, so a fix that stops applying fails here.
FIXED_BY_FIX = {
    # the YAML additions and renames (ENV001, ENV002, PRB001)
    "readinessProbe removed",
    "SECRET_KEY missing from the Deployment",
    "secretKeyRef to a key the Secret does not have",
    "BaseSettings imported from pydantic",
    "a curl health check on a slim image",
    "SECRET_KEY missing from .env.example",
    "gunicorn left on its default bind",
    "gunicorn left on its default sync worker",
    "readinessProbe on the wrong port",
    "readinessProbe on a path the app does not serve",
    "gunicorn removed from dependencies",
    "sqlalchemy without the asyncio extra",
    "uvicorn-worker dropped, its worker class still named",
    "the CMD's bind port from an ENV that no shell expands",
    # the literal URLs get the scheme; the Secret's, which carries `sslmode`, goes through a
    # validator the codemod adds to the settings class (the one the mutation removed)
    "Heroku postgres:// scheme",
    # the validator that rewrites the scheme keeps `sslmode`: the codemod adds one for asyncpg
    "the seed's rewrite on a Neon console URL",
}
# Mutations whose findings all carry a fix that does not bring the service back, and why.
NOT_REPAIRED: set[str] = set()


@pytest.mark.parametrize("mutation", sorted(FIXED_BY_FIX))
def test_fix_repairs_the_mutation(
    mutation: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from preflight.cli import main

    edits, expected = MUTATIONS[mutation]
    root = tmp_path / "reference-service"
    shutil.copytree(REF, root, ignore=shutil.ignore_patterns(".preflight_cache"))
    apply(root, edits)
    findings = lint(root).findings
    assert sorted({f.code for f in findings}) == expected
    assert all(f.autofix is not None for f in findings)
    with pytest.raises(SystemExit) as exited:
        main(["check", "--fix", "--unsafe-fixes", "--no-cache", str(root)])
    assert exited.value.code == 0, capsys.readouterr()
    assert lint(root).findings == []


def test_which_mutations_fix_repairs() -> None:
    """Every mutation whose findings all carry a fix is in FIXED_BY_FIX, and no other."""
    import tempfile

    fixable = set()
    for mutation, (edits, _) in MUTATIONS.items():
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "reference-service"
            shutil.copytree(REF, root, ignore=shutil.ignore_patterns(".preflight_cache"))
            apply(root, edits)
            findings = lint(root).findings
            if findings and all(f.autofix is not None for f in findings):
                fixable.add(mutation)
    assert fixable == FIXED_BY_FIX | NOT_REPAIRED
