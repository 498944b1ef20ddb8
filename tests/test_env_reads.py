"""Environment reads in code: which ones a service needs at start (ENV001), and the defaults of
the optional ones that reach a database engine (DB003)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import codes, lint, write_tree
from preflight.cli import main
from preflight.engine import Result
from preflight.parse.python import parse_python

Project = Callable[..., Result]


def required(code: str, path: str = "app/settings.py") -> list[str]:
    module = parse_python(path, textwrap.dedent(code).lstrip("\n"))
    assert module.problems == ()
    return [read.name for read in module.required_env]


# reads and whether they are required --------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "names"),
    [
        pytest.param('import os\nX = os.environ["SECRET_KEY"]\n', ["SECRET_KEY"], id="environ"),
        pytest.param('from os import environ\nX = environ["A"]\n', ["A"], id="from-os-environ"),
        pytest.param('import os\nX = os.environ.get("A")\n', [], id="environ-get-optional"),
        pytest.param('import os\nX = os.getenv("A")\n', [], id="getenv-optional"),
        pytest.param('import os\nX = os.getenv("A", "b")\n', [], id="getenv-default"),
        pytest.param(
            'import os\nclass Config:\n    SECRET_KEY = os.environ["SECRET_KEY"]\n',
            ["SECRET_KEY"],
            id="class-body",
        ),
        pytest.param(
            'import os\nclass A:\n    class B:\n        KEY = os.environ["K"]\n',
            ["K"],
            id="nested-class-body",
        ),
        pytest.param('import os\ndef key():\n    return os.environ["K"]\n', [], id="function-body"),
        pytest.param(
            'import os\nclass C:\n    def key(self):\n        return os.environ["K"]\n',
            [],
            id="method-body",
        ),
        pytest.param(
            'import os\ndef key():\n    return os.environ["K"]\nKEY = key()\n',
            ["K"],
            id="function-called-at-import",
        ),
        pytest.param('import os\nf = lambda: os.environ["K"]\n', [], id="lambda"),
        pytest.param(
            'import os\nif __name__ == "__main__":\n    PORT = os.environ["PORT"]\n',
            [],
            id="main-guard",
        ),
        pytest.param(
            'import os\ntry:\n    K = os.environ["K"]\nexcept KeyError:\n    K = None\n',
            [],
            id="try-except-keyerror",
        ),
        pytest.param(
            'import os\nclass C:\n    try:\n        K = os.environ["K"]\n'
            "    except KeyError:\n        K = None\n",
            [],
            id="try-in-class-body",
        ),
        pytest.param(
            'import os\nif "K" in os.environ:\n    K = os.environ["K"]\n', [], id="if-in-environ"
        ),
        pytest.param(
            'import os\nK = os.environ["K"] if "K" in os.environ else None\n', [], id="if-exp"
        ),
        pytest.param('import os\nK = "K" in os.environ and os.environ["K"]\n', [], id="and-guard"),
        pytest.param('import os\nif not DEBUG:\n    K = os.environ["K"]\n', [], id="conditional"),
        pytest.param('import os\nK = os.getenv("A") or os.environ["K"]\n', [], id="or-fallback"),
        pytest.param(
            'import os\nfor name in NAMES:\n    K = os.environ["K"]\n', ["K"], id="loop-body"
        ),
        pytest.param(
            'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "a.settings")\n'
            'M = os.environ["DJANGO_SETTINGS_MODULE"]\n',
            [],
            id="set-by-the-module",
        ),
        pytest.param('import os\nos.environ["A"] = "1"\n', [], id="a-write-is-not-a-read"),
        pytest.param(
            'REQUIRED_ENV_VARS = ["SECRET_KEY", "DATABASE_URL"]\n',
            ["SECRET_KEY", "DATABASE_URL"],
            id="required-list",
        ),
    ],
)
def test_os_environ_reads(code: str, names: list[str]) -> None:
    assert required(code) == names


DJANGO_ENVIRON = "import environ\n\nenv = environ.Env(DEBUG=(bool, False), LEVEL=str)\n"


@pytest.mark.parametrize(
    ("read", "names"),
    [
        ('env("SECRET_KEY")', ["SECRET_KEY"]),
        ('env("SECRET_KEY", default="x")', []),
        ('env("SECRET_KEY", str)', ["SECRET_KEY"]),  # the second positional is the cast
        ('env("SECRET_KEY", str, "x")', []),
        ('env.str("SECRET_KEY")', ["SECRET_KEY"]),
        ('env.str("SECRET_KEY", "x")', []),  # str(var, default)
        ('env.bool("FLAG")', ["FLAG"]),
        ('env.bool("FLAG", False)', []),
        ('env.int("N", default=3)', []),
        ('env.float("F")', ["F"]),
        ('env.json("J")', ["J"]),
        ('env.url("U")', ["U"]),
        ('env.list("HOSTS")', ["HOSTS"]),
        ('env.list("HOSTS", str)', ["HOSTS"]),  # list(var, cast, default)
        ('env.list("HOSTS", str, [])', []),
        ("env.db()", ["DATABASE_URL"]),
        ('env.db("PRIMARY_DB")', ["PRIMARY_DB"]),
        ('env.db_url("DATABASE_URL", default="sqlite://")', []),
        ("env.cache_url()", ["CACHE_URL"]),
        ('env.cache("REDIS_URL")', ["REDIS_URL"]),
        ('env.email_url(default="consolemail://")', []),
        ('env("DEBUG")', []),  # the Env scheme gives DEBUG a default
        ('env("LEVEL")', ["LEVEL"]),  # a scheme cast without a default
        ("env(NAME)", []),  # not a literal: unknown
        ('env("A", **options)', []),
    ],
)
def test_django_environ_reads(read: str, names: list[str]) -> None:
    assert required(DJANGO_ENVIRON + f"\nVALUE = {read}\n") == names


def test_django_environ_imported_class() -> None:
    code = 'from environ import Env\nENV = Env()\nKEY = ENV.str("KEY")\n'
    assert required(code) == ["KEY"]


def test_gettext_call_is_not_an_env_read() -> None:
    code = 'from django.utils.translation import gettext_lazy as _\nLABEL = _("Name")\n'
    assert required(code) == []


@pytest.mark.parametrize(
    ("read", "names"),
    [
        ('config("DATABASE_URL")', ["DATABASE_URL"]),
        ('config("DEBUG", cast=bool)', ["DEBUG"]),
        ('config("HOSTS", cast=Csv())', ["HOSTS"]),
        ('config("HOSTS", cast=Csv(), default="")', []),
        ('config("DEBUG", default=False, cast=bool)', []),
        ('config("LEVEL", "INFO")', []),  # get(option, default, cast)
    ],
)
def test_decouple_reads(read: str, names: list[str]) -> None:
    assert required(f"from decouple import Csv, config\n\nVALUE = {read}\n") == names


def test_decouple_module_import() -> None:
    assert required('import decouple\nKEY = decouple.config("KEY")\n') == ["KEY"]


def test_decouple_autoconfig_instance() -> None:
    code = 'from decouple import AutoConfig\nconfig = AutoConfig(search_path="/etc/app")\n'
    module = parse_python("app/settings.py", code + 'KEY = config("KEY")\n')
    assert [r.name for r in module.required_env] == ["KEY"]
    assert [load.reader for load in module.env_file_loads] == ["decouple"]


def test_reads_say_how_they_read() -> None:
    code = """
        import os

        import environ
        from decouple import config

        env = environ.Env()
        A = os.environ["A"]
        B = env.str("B")
        C = config("C")
    """
    module = parse_python("app/settings.py", textwrap.dedent(code))
    assert [(r.reader, r.text) for r in module.required_env] == [
        ("os.environ", 'os.environ["A"]'),
        ("django-environ", 'env.str("B")'),
        ("decouple", 'config("C")'),
    ]


# ENV001 on whole projects ---------------------------------------------------------------------


REQUIREMENTS = "Django==5.1.4\ndjango-environ==0.12.0\npython-decouple==3.8\ngunicorn==23.0.0\n"
DOCKERFILE = """
    FROM python:3.12-slim
    WORKDIR /srv
    COPY requirements.txt ./
    RUN pip install -r requirements.txt
    COPY . .
    CMD ["gunicorn", "site_app.wsgi:application", "--bind", "0.0.0.0:8000"]
"""
WSGI = """
    import os

    from django.core.wsgi import get_wsgi_application

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_app.settings")
    application = get_wsgi_application()
"""


def deployment(env: str = "") -> str:
    env_block = textwrap.indent(textwrap.dedent(env).strip("\n"), " " * 12) if env else ""
    return textwrap.dedent("""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: site
        spec:
          selector:
            matchLabels: {app: site}
          template:
            metadata:
              labels: {app: site}
            spec:
              containers:
                - name: web
                  image: registry.example.com/site:1
                  ports:
                    - containerPort: 8000
                  env:
                    - name: PLACEHOLDER
                      value: "1"
        """).lstrip("\n") + (env_block + "\n" if env_block else "")


def django_project(settings: str, env: str = "", **extra: str) -> dict[str, str]:
    return {
        "requirements.txt": REQUIREMENTS,
        "Dockerfile": DOCKERFILE,
        "site_app/__init__.py": "",
        "site_app/wsgi.py": WSGI,
        "site_app/settings.py": settings,
        "k8s/deployment.yaml": deployment(env),
        **extra,
    }


@pytest.fixture
def families() -> tuple[str, ...]:
    return ("ENV001", "DB003")


SETTINGS = """
    import os

    import environ
    from decouple import config

    env = environ.Env()

    SECRET_KEY = env.str("SECRET_KEY")
    DATABASE_URL = env("DATABASE_URL")
    API_TOKEN = os.environ["API_TOKEN"]
    SENTRY_DSN = config("SENTRY_DSN")
"""


def test_each_reader_says_what_the_pod_logs(project: Project) -> None:
    result = project(django_project(SETTINGS))
    messages = {f.message.split("requires `")[1].split("`")[0]: f for f in result.findings}
    assert sorted(messages) == ["API_TOKEN", "DATABASE_URL", "SECRET_KEY", "SENTRY_DSN"]
    assert "`ImproperlyConfigured: Set the SECRET_KEY environment variable`" in (
        messages["SECRET_KEY"].message
    )
    assert "`KeyError: 'API_TOKEN'`" in messages["API_TOKEN"].message
    assert "`UndefinedValueError: SENTRY_DSN not found`" in messages["SENTRY_DSN"].message
    assert 'env.str("SECRET_KEY", default=…)' in (messages["SECRET_KEY"].fix or "")
    assert 'os.environ.get("API_TOKEN", …)' in (messages["API_TOKEN"].fix or "")
    assert {(f.span.path, f.span.line) for f in result.findings} == {("k8s/deployment.yaml", 13)}
    related = {(r.span.path, r.span.line) for f in result.findings for r in f.related}
    assert related == {("site_app/settings.py", line) for line in (8, 9, 10, 11)}


def test_provided_reads_are_clean(project: Project) -> None:
    env = """
        - name: SECRET_KEY
          value: "x"
        - name: DATABASE_URL
          value: "postgres://db/site"
        - name: API_TOKEN
          value: "t"
        - name: SENTRY_DSN
          value: ""
    """
    assert codes(project(django_project(SETTINGS, env))) == []


def test_env_imported_from_the_base_settings(project: Project) -> None:
    files = django_project(
        "from .base import *  # noqa\n",
        **{
            "site_app/base.py": """
                import environ

                env = environ.Env(DEBUG=(bool, False))
                DEBUG = env("DEBUG")
            """,
            "site_app/production.py": """
                from .base import env

                SECRET_KEY = env("DJANGO_SECRET_KEY")
                DEBUG = env("DEBUG")
            """,
        },
    )
    result = project(files)
    assert codes(result) == ["ENV001"]
    assert "`DJANGO_SECRET_KEY`" in result.findings[0].message


def test_an_imported_name_that_is_not_an_env_is_no_read(project: Project) -> None:
    files = django_project(
        "from .helpers import get_env\n\nKEY = get_env('KEY')\n",
        **{"site_app/helpers.py": "import os\n\ndef get_env(name):\n    return os.getenv(name)\n"},
    )
    assert codes(project(files)) == []


def test_test_modules_are_not_the_service(project: Project) -> None:
    files = django_project(
        "DEBUG = False\n",
        **{"site_app/tests/settings.py": 'import os\nKEY = os.environ["TEST_KEY"]\n'},
    )
    assert codes(project(files)) == []


@pytest.mark.parametrize(
    ("load", "env_file"),
    [
        ('environ.Env.read_env(os.path.join(BASE_DIR, ".env"))', ".env"),
        ("environ.Env.read_env()", "site_app/.env"),
        ('env.read_env(str(BASE_DIR / ".envs" / ".production"))', ".envs/.production"),
        ("load_dotenv()", ".env"),
        ('load_dotenv(os.path.join(BASE_DIR, "config.env"))', "config.env"),
    ],
)
def test_a_committed_env_file_the_code_loads_keeps_env001_silent(
    tmp_path: Path, load: str, env_file: str
) -> None:
    settings = f"""
        import os

        import environ
        from dotenv import load_dotenv

        BASE_DIR = os.path.dirname(os.path.dirname(__file__))
        env = environ.Env()
        {load}
        SECRET_KEY = env("SECRET_KEY")
    """
    with_file = django_project(settings, **{env_file: "SECRET_KEY=dev\n"})
    result = lint(write_tree(tmp_path / "with", with_file), select=["ENV001"])
    assert codes(result) == []
    assert any("may come from" in note and env_file in note for note in result.notes)
    # the same code without the file in the repository: nothing provides SECRET_KEY
    without = lint(write_tree(tmp_path / "without", django_project(settings)), select=["ENV001"])
    assert codes(without) == ["ENV001"]


def test_decouple_searches_the_directories_above(project: Project) -> None:
    settings = 'from decouple import config\n\nSECRET_KEY = config("SECRET_KEY")\n'
    result = project(django_project(settings, **{"settings.ini": "[settings]\nSECRET_KEY=x\n"}))
    assert codes(result) == []


def test_an_env_file_path_that_is_not_a_literal_keeps_env001_silent(project: Project) -> None:
    settings = """
        import environ

        env = environ.Env()
        env.read_env(env.str("ENV_PATH", default=None))
        SECRET_KEY = env("SECRET_KEY")
    """
    result = project(django_project(settings))
    assert codes(result) == []
    assert any("its path is not a literal" in note for note in result.notes)


# getenv defaults reach DB003 ------------------------------------------------------------------


FASTAPI_PYPROJECT = """
    [project]
    name = "orders"
    version = "1.0.0"
    dependencies = [
        "fastapi", "uvicorn", "sqlalchemy[asyncio]>=2.0,<2.1", "asyncpg", "psycopg2-binary",
    ]
"""
FASTAPI_MAIN = """
    from fastapi import FastAPI

    from app.db import engine

    app = FastAPI()


    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}
"""
CANARY = "canary-Pa55w0rd-31337"
SYNC_URL = f"postgresql://orders:{CANARY}@db:5432/orders"


def fastapi_project(db: str, env: str = "", **extra: str) -> dict[str, str]:
    return {
        "pyproject.toml": FASTAPI_PYPROJECT,
        "app/__init__.py": "",
        "app/main.py": FASTAPI_MAIN,
        "app/db.py": db,
        **({"k8s/deployment.yaml": deployment(env)} if env else {}),
        **extra,
    }


def db003(result: Result) -> list[tuple[str, int]]:
    return [(f.span.path, f.span.line) for f in result.findings if f.code == "DB003"]


@pytest.mark.parametrize(
    ("db", "extra"),
    [
        pytest.param(
            f"""
                import os
                from sqlalchemy.ext.asyncio import create_async_engine

                DEFAULT_URL = "{SYNC_URL}"
                engine = create_async_engine(os.getenv("DB_URL", DEFAULT_URL))
            """,
            {},
            id="module-constant",
        ),
        pytest.param(
            """
                import os
                from sqlalchemy.ext.asyncio import create_async_engine

                from app.defaults import DEFAULT_URL

                engine = create_async_engine(os.environ.get("DB_URL", DEFAULT_URL))
            """,
            {"app/defaults.py": f'DEFAULT_URL = "{SYNC_URL}"\n'},
            id="imported-constant",
        ),
        pytest.param(
            f"""
                import os
                from sqlalchemy.ext.asyncio import create_async_engine

                engine = create_async_engine(os.getenv("DB_URL", "{SYNC_URL}"))
            """,
            {},
            id="inline-literal",
        ),
        pytest.param(
            f"""
                import os
                from sqlalchemy.ext.asyncio import create_async_engine

                USER = "orders"
                HOST = "db"
                DEFAULT_URL = "postgresql://" + USER + ":{CANARY}@" + HOST + "/orders"
                engine = create_async_engine(os.getenv("DB_URL") or DEFAULT_URL)
            """,
            {},
            id="concatenation-and-or",
        ),
        pytest.param(
            f"""
                import os
                from sqlalchemy.ext.asyncio import create_async_engine

                HOST = "db"
                DATABASE_URL = os.getenv("DB_URL", f"postgresql://orders:{CANARY}@{{HOST}}/orders")
                engine = create_async_engine(DATABASE_URL)
            """,
            {},
            id="f-string-through-a-module-name",
        ),
    ],
)
def test_a_sync_default_reaches_the_async_engine(
    project: Project, db: str, extra: dict[str, str]
) -> None:
    result = project(fastapi_project(db, **extra))
    found = db003(result)
    assert len(found) == 1
    assert found[0][0] == "app/db.py"
    finding = next(f for f in result.findings if f.code == "DB003")
    assert "its default in the code" in finding.message
    assert "psycopg2" in finding.message


@pytest.mark.parametrize(
    "default",
    ["default_url()", "defaults.URL", "f'postgresql://{user}@db/orders'", "DEFAULTS['url']"],
)
def test_an_unknown_default_is_silent(project: Project, default: str) -> None:
    db = f"""
        import os
        from sqlalchemy.ext.asyncio import create_async_engine

        from app import defaults
        from app.urls import DEFAULTS, default_url, user

        engine = create_async_engine(os.getenv("DB_URL", {default}))
    """
    urls = f'DEFAULTS = {{"url": "{SYNC_URL}"}}\nuser = input()\n\ndef default_url():\n    return "{SYNC_URL}"\n'
    extra = {"app/urls.py": urls, "app/defaults.py": f'URL = "{SYNC_URL}"\n'}
    assert db003(project(fastapi_project(db, **extra))) == []


ENGINE_WITH_DEFAULT = f"""
    import os
    from sqlalchemy.ext.asyncio import create_async_engine

    DEFAULT_URL = "{SYNC_URL}"
    engine = create_async_engine(os.getenv("DB_URL", DEFAULT_URL))
"""


def test_a_provided_async_url_replaces_the_default(project: Project) -> None:
    env = """
        - name: DB_URL
          value: postgresql+asyncpg://orders@db/orders
    """
    assert db003(project(fastapi_project(ENGINE_WITH_DEFAULT, env))) == []


def test_a_provided_sync_url_is_judged_instead(project: Project) -> None:
    env = """
        - name: DB_URL
          value: postgresql+psycopg2://orders@db/orders
    """
    result = project(fastapi_project(ENGINE_WITH_DEFAULT, env))
    assert db003(result) == [("app/db.py", 5)]
    assert "its default in the code" not in result.findings[0].message
    assert "container `web` env" in result.findings[0].message


def test_a_url_from_a_secret_not_in_the_repository_is_silent(project: Project) -> None:
    env = """
        - name: DB_URL
          valueFrom:
            secretKeyRef: {name: managed-elsewhere, key: url}
    """
    assert db003(project(fastapi_project(ENGINE_WITH_DEFAULT, env))) == []


def test_envfrom_with_unknown_keys_may_provide_the_variable(project: Project) -> None:
    files = fastapi_project(ENGINE_WITH_DEFAULT, "- name: LOG_LEVEL\n  value: info\n")
    files["k8s/deployment.yaml"] = files["k8s/deployment.yaml"].replace(
        "          env:\n",
        "          envFrom:\n            - secretRef: {name: external}\n          env:\n",
    )
    assert db003(project(files)) == []


def test_the_default_password_never_leaks(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = project(fastapi_project(ENGINE_WITH_DEFAULT))
    assert db003(result) == [("app/db.py", 5)]
    for form in ("text", "json"):
        with pytest.raises(SystemExit):
            main(["check", str(tmp_path), "--select", "DB003", "--format", form, "--no-cache"])
        out = capsys.readouterr().out
        assert "DB003" in out
        assert CANARY[:8] not in out
        assert "***" in out


def test_an_env_scheme_preflight_cannot_see_makes_reads_optional() -> None:
    code = 'import environ\n\nenv = environ.Env(**SCHEMA)\nA = env("A")\n'
    assert required(code) == []
    code = 'import environ\n\nenv = environ.Env()\nenv.scheme.update(SCHEMA)\nA = env("A")\n'
    assert required(code) == []


def test_os_getenv_imported_is_not_a_django_environ_read() -> None:
    assert required('from os import getenv\n\nPORT = getenv("PORT", 8000)\n') == []


VARIANTS = {
    "site_app/settings/__init__.py": "",
    "site_app/settings/base.py": """
        import environ

        env = environ.Env()
        SECRET_KEY = env("SECRET_KEY")
    """,
    "site_app/settings/local.py": 'from .base import *  # noqa\nfrom .base import env\n\nX = env("LOCAL_ONLY")\n',
    "site_app/settings/production.py": (
        'from .base import *  # noqa\nfrom .base import env\n\nSENTRY_DSN = env("SENTRY_DSN")\n'
    ),
}


@pytest.mark.parametrize(
    ("selected", "names"),
    [
        ("site_app.settings.production", ["SECRET_KEY", "SENTRY_DSN"]),
        ("site_app.settings.local", ["LOCAL_ONLY", "SECRET_KEY"]),
        ("site_app.settings", ["SECRET_KEY"]),  # no variant named: only the shared base
    ],
)
def test_only_the_selected_settings_variant_runs(
    project: Project, selected: str, names: list[str]
) -> None:
    env = f"""
        - name: DJANGO_SETTINGS_MODULE
          value: {selected}
    """
    files = django_project("", env, **VARIANTS)
    del files["site_app/settings.py"]
    result = project(files)
    found = sorted(f.message.split("requires `")[1].split("`")[0] for f in result.findings)
    assert found == names
