"""False positives the eight unseen repositories of session 4 showed (issue 16): a manifest
whose numbers CI substitutes (`${PERIOD:-10}`), env examples named per environment
(`.prod.env.template`), a FastAPI app handed to a project function that includes its routers,
and a development mail catcher. Each with the true side kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import lint, write_tree
from preflight.knowledge.envfiles import is_example_name
from preflight.knowledge.images import stock_infrastructure

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: {replicas}
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/acme/api:1
          ports:
            - containerPort: 8000
          readinessProbe:
            httpGet: {{path: /ready, port: 8000}}
            periodSeconds: {period}
"""


@pytest.mark.parametrize(
    ("replicas", "period", "expected"),
    [
        # placeholders a pipeline fills in before `kubectl apply`: a template, not a wrong type
        ("${REPLICAS:-2}", "${HEALTH_CHECK_PERIOD:-10}", []),
        ("$REPLICAS", '"${PERIOD}"', []),
        # a value that is neither a number nor a placeholder is still reported
        ("2", "ten", [16]),
        ("2", "${PERIOD:-ten} seconds", [16]),
    ],
)
def test_substitution_placeholders_are_not_wrong_types(
    tmp_path: Path, replicas: str, period: str, expected: list[int]
) -> None:
    text = DEPLOYMENT.format(replicas=replicas, period=period)
    result = lint(write_tree(tmp_path, {"k8s/deployment.yaml": text}), select=["PF001"])
    assert [f.span.line for f in result.findings] == expected


@pytest.mark.parametrize(
    ("name", "example"),
    [
        (".prod.env.template", True),
        (".env.production.example", True),
        ("ci.env.sample", True),
        (".env.local.dist", True),
        (".env.example", True),
        (".env", False),
        (".env.prod", False),
        ("prod.env", False),
        ("settings.example", False),
    ],
)
def test_env_examples_per_environment(name: str, example: bool) -> None:
    assert is_example_name(name) is example


SETTINGS = (
    "from pydantic_settings import BaseSettings\n\n\n"
    "class Settings(BaseSettings):\n    secret_key: str\n    database_url: str\n\n\n"
    "settings = Settings()\n"
)


@pytest.mark.parametrize(
    ("examples", "missing"),
    [
        # every variable is in one of the per-environment examples: nothing missing
        ({".prod.env.template": "SECRET_KEY=\n", ".local.env.template": "DATABASE_URL=\n"}, []),
        ({".prod.env.template": "SECRET_KEY=\n"}, ["DATABASE_URL"]),
    ],
)
def test_env003_reads_examples_named_per_environment(
    tmp_path: Path, examples: dict[str, str], missing: list[str]
) -> None:
    files = {
        "app/__init__.py": "",
        "app/config.py": SETTINGS,
        "Dockerfile": 'FROM python:3.12-slim\nCOPY . .\nCMD ["uvicorn", "app.config:app"]\n',
        **examples,
    }
    result = lint(write_tree(tmp_path, files), select=["ENV003"])
    assert [f.message.split("`")[1] for f in result.findings] == missing


MAIN = """from fastapi import FastAPI

from app.setup import {call}

app = FastAPI()
{call}(app, "/api")


@app.get("/health")
def health() -> dict[str, str]:
    return {{"status": "ok"}}
"""
SETUP = """from fastapi import APIRouter

router = APIRouter()


@router.get("/ready")
def ready() -> dict[str, str]:
    return {}


def setup_routers(app, prefix):
    app.include_router(router, prefix=prefix)


def setup_logging(app, level):
    app.add_middleware(object)
"""
PROBED = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/acme/api:1
          command: ["uvicorn", "app.main:app", "--host", "0.0.0.0"]
          ports: [{containerPort: 8000}]
          readinessProbe:
            httpGet: {path: /api/ready, port: 8000}
"""


@pytest.mark.parametrize(
    ("call", "fires"),
    [
        # the function includes a router on the app under a prefix it is given: the route
        # table is partial, and PRB002 cannot say /api/ready is not served
        ("setup_routers", False),
        # one that only adds middleware adds no route: /api/ready is still not served
        ("setup_logging", True),
    ],
)
def test_a_fastapi_app_handed_to_a_function_that_adds_routes(
    tmp_path: Path, call: str, fires: bool
) -> None:
    files = {
        "app/__init__.py": "",
        "app/main.py": MAIN.format(call=call),
        "app/setup.py": SETUP,
        "k8s/deployment.yaml": PROBED,
    }
    result = lint(write_tree(tmp_path, files), select=["PRB002"])
    assert [f.code for f in result.findings] == (["PRB002"] if fires else [])


@pytest.mark.parametrize("image", ["mailhog/mailhog:v1.0.1", "axllent/mailpit:latest"])
def test_development_mail_catchers_are_stock(image: str) -> None:
    assert stock_infrastructure(image) is not None


def test_async_engine_wrapping_create_engine_is_an_async_engine() -> None:
    """`AsyncEngine(create_engine(url))` (SQLModel's async tutorial) is what
    `create_async_engine` builds: DB003 must not call it a sync engine on an asyncpg URL."""
    from preflight.parse.python import parse_python

    module = parse_python(
        "app/db.py",
        "from sqlalchemy.ext.asyncio import AsyncEngine\nfrom sqlmodel import create_engine\n\n"
        "engine = AsyncEngine(create_engine('postgresql+asyncpg://u:p@db/app', echo=True))\n",
    )
    (engine,) = module.engines
    assert (engine.factory, engine.target, engine.keywords) == (
        "create_async_engine",
        "engine",
        {"echo": "True"},
    )


def test_settings_take_the_configuration_of_a_base_class_of_the_module() -> None:
    """A local base class's `model_config` (prefix, nested delimiter) is inherited, as
    pydantic does: `APP_CONFIG__DB__URL` provides `Settings.db` (taiga-labs's layout)."""
    from preflight.parse.python import parse_python

    module = parse_python(
        "app/config.py",
        "from pydantic_settings import BaseSettings, SettingsConfigDict\n\n\n"
        "class AppSettings(BaseSettings):\n"
        "    model_config = SettingsConfigDict(env_prefix='APP_CONFIG__', "
        "env_nested_delimiter='__')\n\n\n"
        "class Settings(AppSettings):\n    db: dict[str, str]\n",
    )
    settings = next(c for c in module.settings if c.name == "Settings")
    assert (settings.env_prefix, settings.nested_delimiter) == ("APP_CONFIG__", "__")
    assert settings.fields[0].env_names == ("app_config__db",)
