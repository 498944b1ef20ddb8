"""Settings rules: the names pydantic-settings reads, joined with what each container provides."""

from __future__ import annotations

import base64
import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import codes, write_tree
from preflight.cli import main
from preflight.engine import Result

Project = Callable[..., Result]


@pytest.fixture
def families() -> tuple[str, ...]:
    return ("ENV", "PF")


PYPROJECT = """
    [project]
    name = "backend"
    version = "1.0.0"
    dependencies = ["fastapi", "uvicorn", "pydantic-settings>=2"]
"""

SEED_SETTINGS = """
    from pydantic import Field
    from pydantic_settings import BaseSettings


    class Settings(BaseSettings):
        secret_key: str = Field(..., min_length=32)
        database_url: str = Field(...)


    settings = Settings()
"""

MAIN = """
    from fastapi import FastAPI

    from app.config import settings

    app = FastAPI()


    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}
"""

EXAMPLE = "SECRET_KEY=\nDATABASE_URL=\n"


def deployment(env: str) -> str:
    lines = (
        "\n".join(" " * 12 + line for line in env.strip("\n").split("\n")) if env.strip() else ""
    )
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: backend
spec:
  template:
    spec:
      containers:
        - name: backend
          image: registry.example.com/backend:1
          command: ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]
          readinessProbe:
            httpGet: {{path: /health, port: 8000}}
          env:
{lines}
"""


SECRET = """
apiVersion: v1
kind: Secret
metadata:
  name: backend-secrets
stringData:
  DATABASE_URL: "postgresql://app:CHANGE_ME@db:5432/app"
  SECRET_KEY: "REPLACE_ME_with_at_least_32_random_characters"
"""

DB_FROM_SECRET = """
- name: DATABASE_URL
  valueFrom:
    secretKeyRef: {name: backend-secrets, key: DATABASE_URL}
"""
KEY_FROM_SECRET = """
- name: SECRET_KEY
  valueFrom:
    secretKeyRef: {name: backend-secrets, key: SECRET_KEY}
"""


def files(settings: str = SEED_SETTINGS, env: str = DB_FROM_SECRET, **extra: str) -> dict[str, str]:
    return {
        "pyproject.toml": PYPROJECT,
        "app/__init__.py": "",
        "app/config.py": settings,
        "app/main.py": MAIN,
        ".env.example": EXAMPLE,
        "k8s/deployment.yaml": deployment(env),
        "k8s/secret.yaml": SECRET,
        **extra,
    }


def test_seed_secret_key_not_provided_is_env001(project: Project) -> None:
    result = project(files())
    assert codes(result) == ["ENV001"]
    finding = result.findings[0]
    assert (finding.span.path, finding.span.line) == ("k8s/deployment.yaml", 9)
    assert "`SECRET_KEY`" in finding.message
    assert ("app/config.py", 6) in {(r.span.path, r.span.line) for r in finding.related}


def test_both_provided_is_clean(project: Project) -> None:
    assert codes(project(files(env=DB_FROM_SECRET + KEY_FROM_SECRET))) == []


def test_env_prefix_requires_the_prefixed_name(project: Project) -> None:
    settings = SEED_SETTINGS.replace(
        "class Settings(BaseSettings):",
        'class Settings(BaseSettings):\n        model_config = SettingsConfigDict(env_prefix="APP_")',
    ).replace("import BaseSettings", "import BaseSettings, SettingsConfigDict")
    result = project(
        files(
            settings=settings,
            env=DB_FROM_SECRET + KEY_FROM_SECRET,
            **{".env.example": "APP_SECRET_KEY=\nAPP_DATABASE_URL=\n"},
        )
    )
    messages = [f.message for f in result.findings if f.code == "ENV001"]
    assert len(messages) == 2
    assert any('`APP_SECRET_KEY` (env_prefix "APP_" + field `secret_key`' in m for m in messages)


def test_alias_is_the_name_read(project: Project) -> None:
    settings = SEED_SETTINGS.replace(
        "database_url: str = Field(...)", 'database_url: str = Field(..., alias="DB_URL")'
    )
    env = DB_FROM_SECRET.replace("name: DATABASE_URL", "name: DB_URL") + KEY_FROM_SECRET
    assert (
        codes(
            project(files(settings=settings, env=env, **{".env.example": "SECRET_KEY=\nDB_URL=\n"}))
        )
        == []
    )


def test_alias_choices_any_one_provides(project: Project) -> None:
    settings = SEED_SETTINGS.replace(
        "database_url: str = Field(...)",
        'database_url: str = Field(..., validation_alias=AliasChoices("DATABASE_URL", "POSTGRES_URL"))',
    ).replace("from pydantic import Field", "from pydantic import AliasChoices, Field")
    env = DB_FROM_SECRET.replace("name: DATABASE_URL", "name: POSTGRES_URL") + KEY_FROM_SECRET
    assert codes(project(files(settings=settings, env=env))) == []


def test_lowercase_env_name_provides_when_case_insensitive(project: Project) -> None:
    env = DB_FROM_SECRET.replace("name: DATABASE_URL", "name: database_url") + KEY_FROM_SECRET
    assert codes(project(files(env=env))) == []


def test_case_sensitive_class_needs_exact_case(project: Project) -> None:
    settings = SEED_SETTINGS.replace(
        "class Settings(BaseSettings):",
        "class Settings(BaseSettings):\n        model_config = SettingsConfigDict(case_sensitive=True)",
    ).replace("import BaseSettings", "import BaseSettings, SettingsConfigDict")
    env = DB_FROM_SECRET.replace(
        "name: DATABASE_URL", "name: database_url"
    ) + KEY_FROM_SECRET.replace("name: SECRET_KEY", "name: secret_key")
    assert (
        codes(
            project(
                files(
                    settings=settings, env=env, **{".env.example": "secret_key=\ndatabase_url=\n"}
                )
            )
        )
        == []
    )
    env_upper = DB_FROM_SECRET + KEY_FROM_SECRET
    assert codes(
        project(
            files(
                settings=settings, env=env_upper, **{".env.example": "secret_key=\ndatabase_url=\n"}
            )
        )
    ) == ["ENV001", "ENV001"]


def test_env_from_with_prefix_provides(project: Project) -> None:
    env = "- name: PLACEHOLDER\n  value: x\n"
    result = project(files(env=env))
    assert codes(result) == ["ENV001", "ENV001"]
    deployment_text = deployment(env).replace(
        "          env:\n",
        "          envFrom:\n            - secretRef: {name: backend-secrets}\n          env:\n",
    )
    assert codes(project(files(env=env, **{"k8s/deployment.yaml": deployment_text}))) == []


def test_env_from_secret_defined_elsewhere_is_silent(project: Project) -> None:
    deployment_text = deployment("- name: X\n  value: y\n").replace(
        "          env:\n",
        "          envFrom:\n            - secretRef: {name: vault-managed}\n          env:\n",
    )
    result = project(
        files(
            **{
                "k8s/deployment.yaml": deployment_text,
                "pyproject.toml": PYPROJECT
                + '\n[tool.preflight]\nexternal-secrets = ["vault-managed"]\n',
            }
        )
    )
    assert codes(result) == []


def test_secret_key_name_mismatch_is_env002(project: Project) -> None:
    secret = SECRET.replace("  DATABASE_URL:", "  database-url:")
    result = project(files(env=DB_FROM_SECRET + KEY_FROM_SECRET, **{"k8s/secret.yaml": secret}))
    assert "ENV002" in codes(result)
    finding = next(f for f in result.findings if f.code == "ENV002")
    assert "`DATABASE_URL`" in finding.message and "`database-url`" in finding.message
    assert "ENV001" not in codes(result)  # the variable is given; the key is what is wrong


def test_unknown_secret_is_env002_and_optional_is_a_warning(project: Project) -> None:
    env = DB_FROM_SECRET + KEY_FROM_SECRET.replace("name: backend-secrets", "name: backend-secret")
    result = project(files(env=env))
    assert [(f.code, f.severity.value) for f in result.findings] == [("ENV002", "error")]
    assert "`backend-secrets`" in result.findings[0].message  # the near miss is named
    optional = env.replace("key: SECRET_KEY}", "key: SECRET_KEY, optional: true}")
    result = project(files(env=optional))
    assert [(f.code, f.severity.value) for f in result.findings] == [("ENV002", "warning")]


def test_no_secret_manifests_at_all_is_silent(project: Project) -> None:
    all_files = files(env=DB_FROM_SECRET + KEY_FROM_SECRET)
    del all_files["k8s/secret.yaml"]
    result = project(all_files)
    assert "ENV002" not in codes(result)


def test_env_example_missing_a_required_setting(project: Project) -> None:
    result = project(
        files(env=DB_FROM_SECRET + KEY_FROM_SECRET, **{".env.example": "DATABASE_URL=\n"})
    )
    assert [(f.code, f.severity.value, f.span.path) for f in result.findings] == [
        ("ENV003", "warning", ".env.example")
    ]
    assert "`SECRET_KEY`" in result.findings[0].message


def test_no_env_example_is_info_once(project: Project) -> None:
    all_files = files(env=DB_FROM_SECRET + KEY_FROM_SECRET)
    del all_files[".env.example"]
    result = project(all_files)
    assert [(f.code, f.severity.value) for f in result.findings] == [("ENV003", "info")]


def test_sensitive_plain_value_is_env004(project: Project) -> None:
    env = DB_FROM_SECRET + '- name: SECRET_KEY\n  value: "q8Zt3LwX0vR7nB2kM5yP9sD4fG6hJ1cA"\n'
    assert codes(project(files(env=env))) == ["ENV004"]


@pytest.mark.parametrize(
    "value",
    ["REPLACE_ME_with_at_least_32_random_characters", "<generate one>", "password", "db-password"],
)
def test_placeholder_plain_value_is_not_env004(project: Project, value: str) -> None:
    # nothing a reader of the manifest learns; ENV004 judges values as ENV005 does
    env = DB_FROM_SECRET + f'- name: SECRET_KEY\n  value: "{value}"\n'
    assert "ENV004" not in codes(project(files(env=env)))


def test_demo_login_is_not_env004(project: Project) -> None:
    env = (
        DB_FROM_SECRET + KEY_FROM_SECRET + '- name: DEMO_LOGIN_PASSWORD\n  value: "bankofanthos"\n'
    )
    assert "ENV004" not in codes(project(files(env=env)))


def test_each_variable_of_one_dockerfile_env_is_judged_at_its_own_line(project: Project) -> None:
    dockerfile = (
        "FROM python:3.12-slim\n"
        "ENV MYSQL_ALLOW_EMPTY_PASSWORD=yes \\\n"
        "    UWSGI_PASS=uwsgi_server \\\n"
        "    MYSQL_PASSWORD=Zr8wq2Lx \\\n"
        "    API_TOKEN=abc123\n"
        'CMD ["python", "-c", "print(1)"]\n'
    )
    result = project({"Dockerfile": dockerfile})
    assert [(f.code, f.span.line, f.span.col) for f in result.findings] == [
        ("ENV004", 4, 5),
        ("ENV004", 5, 5),
    ]


def test_sensitive_dockerfile_env_is_env004(project: Project) -> None:
    dockerfile = 'FROM python:3.12-slim\nENV API_TOKEN=abc123\nCMD ["python", "-c", "print(1)"]\n'
    assert codes(project({"Dockerfile": dockerfile})) == ["ENV004"]


def test_committed_secret_value_is_env005_without_the_value(
    project: Project, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    real = "s3cr3t-" + "x9Qv" * 10
    secret = SECRET.replace("REPLACE_ME_with_at_least_32_random_characters", real)
    result = project(files(env=DB_FROM_SECRET + KEY_FROM_SECRET, **{"k8s/secret.yaml": secret}))
    assert codes(result) == ["ENV005"]
    assert f"{len(real)} characters" in result.findings[0].message
    assert real not in result.findings[0].message
    for fmt in ("text", "json"):
        with pytest.raises(SystemExit):
            main(["check", "--verbose", "--format", fmt, str(tmp_path)])
        out, err = capsys.readouterr()
        assert real not in out + err
        assert base64.b64encode(real.encode()).decode()[:20] not in out + err
        if fmt == "json":
            json.loads(out)


def test_constraint_violation_is_env006(project: Project) -> None:
    env = (
        DB_FROM_SECRET
        + "- name: SECRET_KEY\n  valueFrom:\n    secretKeyRef: {name: backend-secrets, key: short}\n"
    )
    secret = SECRET + '  short: "k8Hq2xP0aZ"\n'
    result = project(files(env=env, **{"k8s/secret.yaml": secret}))
    assert "ENV006" in codes(result)
    finding = next(f for f in result.findings if f.code == "ENV006")
    assert "10 characters" in finding.message and "min_length=32" in finding.message
    assert "k8Hq2xP0aZ" not in finding.message


@pytest.mark.parametrize(
    ("annotation", "value", "expected"),
    [
        ('Literal["prod", "dev"] = "dev"', "production", "accepts only"),
        ("int = 8", "eight", "not a number"),
        ("bool = False", "maybe", "not true/false"),
    ],
)
def test_literal_int_bool_constraints(
    project: Project, annotation: str, value: str, expected: str
) -> None:
    settings = SEED_SETTINGS.replace(
        "database_url: str = Field(...)",
        f"database_url: str = Field(...)\n        mode: {annotation}",
    ).replace(
        "from pydantic import Field", "from typing import Literal\n\n    from pydantic import Field"
    )
    env = DB_FROM_SECRET + KEY_FROM_SECRET + f'- name: MODE\n  value: "{value}"\n'
    result = project(files(settings=settings, env=env))
    assert codes(result) == ["ENV006"]
    assert expected in result.findings[0].message


def test_pydantic_v1_api_under_pydantic_2_is_env007(project: Project) -> None:
    settings = """
        from pydantic import BaseSettings, validator


        class Settings(BaseSettings):
            database_url: str

            @validator("database_url", pre=True)
            def use_async_driver(cls, v):
                return v

            class Config:
                env_file = ".env"


        settings = Settings()
    """
    result = project(files(settings=settings, env=DB_FROM_SECRET + KEY_FROM_SECRET))
    assert [(f.code, f.span.line) for f in result.findings] == [
        ("ENV007", 1),
        ("ENV007", 8),
        ("ENV007", 11),
    ]


def test_required_env_vars_list_is_read(project: Project) -> None:
    main_py = (
        textwrap.dedent(MAIN)
        + '\nREQUIRED_ENV_VARS = ["SECRET_KEY", "DATABASE_URL", "GROQ_API_KEY"]\n'
    )
    result = project(files(env=DB_FROM_SECRET + KEY_FROM_SECRET, **{"app/main.py": main_py}))
    assert codes(result) == ["ENV001"]
    assert "`GROQ_API_KEY`" in result.findings[0].message


def test_reference_service_settings_are_all_provided() -> None:
    from conftest import FIXTURES, lint

    result = lint(FIXTURES / "reference-service")
    assert codes(result) == []
    assert not [n for n in result.notes if n.startswith("ENV")]


def test_unused_write_tree_import_is_used(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.txt": "x"})
    assert (tmp_path / "a.txt").read_text() == "x"


@pytest.mark.parametrize(
    ("name", "sensitive"),
    [
        ("SECRET_KEY", True),
        ("DB_PASSWORD", True),
        ("GOOGLE_API_KEY", True),
        ("GITHUB_TOKEN", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("MAX_TOKENS", False),
        ("FORGOT_PASSWORD_ENABLED", False),
        ("ALLOYDB_SECRET_NAME", False),
        ("ACCESS_TOKEN_EXPIRE_MINUTES", False),
        ("DB_PASS", True),
        ("DD_UWSGI_PASS", False),  # nginx uwsgi_pass: an upstream, not a password
        ("PROXY_PASS", False),
        ("PWD", False),  # the working directory
    ],
)
def test_sensitive_names(name: str, sensitive: bool) -> None:
    from preflight.model.settings import is_sensitive_name

    assert is_sensitive_name(name) is sensitive


def test_fields_passed_to_the_constructor_are_provided(project: Project) -> None:
    settings = SEED_SETTINGS.replace(
        "settings = Settings()", "settings = Settings(secret_key=load_key())"
    )
    assert codes(project(files(settings=settings))) == []
    star = SEED_SETTINGS.replace("settings = Settings()", "settings = Settings(**kwargs)")
    assert codes(project(files(settings=star, env="- {name: X, value: y}\n"))) == []


def test_environ_read_guarded_by_try_is_optional(project: Project) -> None:
    main_py = (
        textwrap.dedent(MAIN)
        + '\ntry:\n    TRACING = os.environ["ENABLE_TRACING"] == "1"\nexcept KeyError:\n    TRACING = False\n'
    )
    main_py = "import os\n" + main_py
    result = project(files(env=DB_FROM_SECRET + KEY_FROM_SECRET, **{"app/main.py": main_py}))
    assert codes(result) == []


def test_pydantic_1_pin_is_not_pydantic_2(project: Project) -> None:
    settings = "from pydantic import BaseSettings\n\n\nclass Settings(BaseSettings):\n    debug: bool = False\n\n\nsettings = Settings()\n"
    pyproject = PYPROJECT.replace('"pydantic-settings>=2"', '"pydantic==1.10.26"')
    assert codes(project(files(settings=settings, **{"pyproject.toml": pyproject}))) == []


V1_SETTINGS = (
    "from pydantic import BaseSettings, validator\n\n\nclass Settings(BaseSettings):\n"
    "    debug: bool = False\n\n    @validator('debug', pre=True)\n    def flag(cls, v):\n"
    "        return v\n\n\nsettings = Settings()\n"
)


@pytest.mark.parametrize(
    ("pydantic", "lock", "expected"),
    [
        ('"pydantic"', None, [("ENV007", "error", 1)]),  # a fresh build installs 2.x
        ('"pydantic>=1.8"', None, [("ENV007", "error", 1)]),
        ('"pydantic>=2"', None, [("ENV007", "error", 1), ("ENV007", "warning", 8)]),
        ('"pydantic>=1.8"', "2.9.2", [("ENV007", "error", 1), ("ENV007", "warning", 8)]),
        ('"pydantic"', "1.10.18", []),
        ('"pydantic<2"', None, []),
        ('"pydantic~=1.10"', None, []),
        ('"fastapi"', None, []),  # another package decides: unknown, silent
    ],
)
def test_env007_judges_the_pydantic_a_build_installs(
    project: Project, pydantic: str, lock: str | None, expected: list[tuple[str, str, int]]
) -> None:
    pyproject = PYPROJECT.replace('"pydantic-settings>=2"', pydantic)
    extra = {"pyproject.toml": pyproject}
    if lock is not None:
        extra["uv.lock"] = f'version = 1\n[[package]]\nname = "pydantic"\nversion = "{lock}"\n'
    result = project(files(settings=V1_SETTINGS, **extra))
    found = [(f.code, f.severity.value, f.span.line) for f in result.findings if f.code == "ENV007"]
    assert found == expected


def test_dockerfile_arg_is_not_a_runtime_variable(project: Project) -> None:
    all_files = files(env=DB_FROM_SECRET)
    all_files["api/Dockerfile"] = (
        'FROM python:3.12-slim\nARG SECRET_KEY=build-only-value-that-is-long-enough-123\nCMD ["uvicorn", "app.main:app"]\n'
    )
    assert "ENV001" in codes(project(all_files))


def test_nested_delimiter_provides_a_nested_model(project: Project) -> None:
    settings = """
        from pydantic import BaseModel
        from pydantic_settings import BaseSettings, SettingsConfigDict


        class Database(BaseModel):
            url: str


        class Settings(BaseSettings):
            model_config = SettingsConfigDict(env_nested_delimiter="__")
            secret_key: str
            db: Database


        settings = Settings()
    """
    env = (
        KEY_FROM_SECRET
        + "- name: DB__URL\n  valueFrom:\n    secretKeyRef: {name: backend-secrets, key: DATABASE_URL}\n"
    )
    assert (
        codes(
            project(
                files(settings=settings, env=env, **{".env.example": "SECRET_KEY=\nDB__URL=\n"})
            )
        )
        == []
    )
