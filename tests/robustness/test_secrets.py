"""Secrets stay secret: no value from a Secret, a .env file, a URL password or a sensitive
setting default appears in any output format, in --verbose notes, --statistics or a baseline."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from ._support import assert_clean_exit, measure, preflight_env, write_files

# Distinctive values (each long enough to be unmistakable in any output).
SECRETS = {
    "stringdata": "StrDataSecretValue-QX7-9f2c1e8d7b6a5f4e3d2c1b0a9f8e7d6c",
    "base64": "B64SecretValue-QX7-0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d",
    "secret_url_pw": "SecretUrlPw-QX7-7d6c5b4a",
    "env_url_pw": "EnvExamplePw-QX7-1a2b3c4d",
    "env_secret": "EnvExampleSecretKey-QX7-5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",
    "default_key": "DefaultSettingsKey-QX7-3c4d5e6f",
    "default_url_pw": "DefaultDbPw-QX7-8b9c0d1e",
    "compose_pw": "ComposePw-QX7-2f3a4b5c",
    "docker_pw": "DockerfilePw-QX7-6d7e8f9a",
    "deploy_url_pw": "DeployUrlPw-QX7-0e1f2a3b",
    "plain_env": "PlainEnvSecret-QX7-4c5d6e7f",
}


def _encoded(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


FILES: dict[str, str | bytes] = {
    "pyproject.toml": """\
[project]
name = "vault"
version = "1.0.0"
dependencies = ["fastapi>=0.115", "pydantic-settings>=2.7", "sqlalchemy>=2.0", "psycopg2-binary"]
""",
    "app/__init__.py": "",
    "app/config.py": f"""\
from pydantic import Field
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    secret_key: str = "{SECRETS["default_key"]}"
    database_url: str = "postgresql://app:{SECRETS["default_url_pw"]}@db.internal/app"
    api_token: str = Field(min_length=200)
    jwt_secret: str = Field(min_length=300)


settings = Settings()
""",
    "app/main.py": """\
from fastapi import FastAPI
from sqlalchemy import create_engine

from app.config import settings

engine = create_engine(settings.database_url)
app = FastAPI()
""",
    ".env.example": f"""\
DATABASE_URL=postgresql://app:{SECRETS["env_url_pw"]}@localhost:5432/app
SECRET_KEY={SECRETS["env_secret"]}
""",
    "k8s/secret.yaml": f"""\
apiVersion: v1
kind: Secret
metadata:
  name: vault
type: Opaque
stringData:
  SECRET_KEY: "{SECRETS["stringdata"]}"
  DATABASE_URL: postgresql://app:{SECRETS["secret_url_pw"]}@db.internal/app
  JWT_SECRET: {SECRETS["stringdata"]}
data:
  API_TOKEN: {_encoded(SECRETS["base64"])}
""",
    "k8s/deployment.yaml": f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: vault
spec:
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/example/vault:1
          command: ["gunicorn", "app.main:app"]
          env:
            - name: SECRET_KEY
              value: "{SECRETS["plain_env"]}"
            - name: DATABASE_URL
              value: postgresql://app:{SECRETS["deploy_url_pw"]}@db.internal/app
            - name: API_TOKEN
              valueFrom:
                secretKeyRef: {{name: vault, key: API_TOKEN}}
            - name: JWT_SECRET
              valueFrom:
                secretKeyRef: {{name: vault, key: JWT_SECRET}}
""",
    "compose.yaml": f"""\
services:
  api:
    build: .
    command: gunicorn app.main:app
    environment:
      DATABASE_URL: postgresql://app:{SECRETS["compose_pw"]}@db/app
      SECRET_KEY: {SECRETS["plain_env"]}
""",
    "Dockerfile": f"""\
FROM python:3.12-slim
ENV DATABASE_URL=postgresql://app:{SECRETS["docker_pw"]}@db/app
COPY . .
RUN pip install .
CMD ["gunicorn", "app.main:app"]
""",
}


def _forbidden() -> dict[str, str]:
    out = {}
    for name, value in SECRETS.items():
        out[name] = value
        out[f"{name} (base64)"] = _encoded(value)
    return out


def _assert_no_secret(where: str, text: str) -> None:
    leaked = [name for name, value in _forbidden().items() if value in text]
    assert not leaked, f"{where} leaks {leaked}:\n{text[:3000]}"


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_files(tmp_path_factory.mktemp("vault") / "repo", FILES)


def test_the_fixture_makes_rules_fire_on_secret_lines(vault: Path, tmp_path: Path) -> None:
    result = measure(["check", "--format", "json", str(vault)], env=preflight_env(tmp_path))
    assert_clean_exit(result)
    import json

    findings = json.loads(result.stdout)
    data = findings if isinstance(findings, list) else findings.get("findings", findings)
    text = json.dumps(data)
    for code in ("PKG001", "ENV004", "ENV005"):
        assert code in text, text[:3000]
    for path in ("k8s/secret.yaml", "k8s/deployment.yaml", "Dockerfile"):
        assert path in text, text[:3000]


FORMATS = ["text", "json", "sarif", "github", "junit", "gitlab"]


@pytest.mark.parametrize("output_format", FORMATS)
@pytest.mark.parametrize("extra", [(), ("--verbose",), ("--statistics",)], ids=["", "v", "stats"])
def test_no_format_prints_a_secret(
    vault: Path, tmp_path: Path, output_format: str, extra: tuple[str, ...]
) -> None:
    result = measure(
        ["check", "--format", output_format, "--show-source", *extra, str(vault)],
        env=preflight_env(tmp_path),
    )
    assert_clean_exit(result)
    assert result.code == 1
    _assert_no_secret(f"--format {output_format} {' '.join(extra)} (stdout)", result.stdout)
    _assert_no_secret(f"--format {output_format} {' '.join(extra)} (stderr)", result.stderr)


def test_output_file_and_baseline_hold_no_secret(vault: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.sarif"
    result = measure(
        ["check", "--format", "sarif", "-o", str(report), str(vault)], env=preflight_env(tmp_path)
    )
    assert_clean_exit(result)
    _assert_no_secret("sarif --output-file", report.read_text())
    baseline = tmp_path / "baseline.json"
    result = measure(
        ["check", "--write-baseline", str(baseline), "--verbose", str(vault)],
        env=preflight_env(tmp_path),
    )
    assert result.code == 0, str(result)
    _assert_no_secret("baseline file", baseline.read_text())
    _assert_no_secret("--write-baseline output", result.stdout + result.stderr)
    again = measure(
        ["check", "--baseline", str(baseline), "--statistics", "--verbose", str(vault)],
        env=preflight_env(tmp_path),
    )
    assert_clean_exit(again)
    _assert_no_secret("--baseline run", again.stdout + again.stderr)


def test_in_process_result_sources_are_redacted(vault: Path) -> None:
    from preflight.config import Config
    from preflight.engine import run

    result = run(vault, "repo", Config())
    shown = "\n".join(line for lines in result.sources.values() for line in lines)
    _assert_no_secret("Result.sources", shown)
    _assert_no_secret("finding messages", "\n".join(f.message for f in result.findings))
    _assert_no_secret("notes", "\n".join(result.notes))
