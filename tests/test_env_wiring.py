"""ENV008 (service links), ENV009 (insecure secret defaults), ENV010 (Secret values ending in a
newline): the model facts they read, and the rules on small projects."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import write_tree
from preflight.config import Config
from preflight.engine import Result, build
from preflight.knowledge.kubelet import service_link_variables
from preflight.model.deploys import deploys_of
from preflight.model.kubeenv import injected_variables, kustomize_namespaces
from preflight.model.settings import value_type
from preflight.parse.kustomization import parse_kustomization
from preflight.parse.manifests import parse_manifests
from preflight.parse.python import parse_python

Project = Callable[..., Result]


@pytest.fixture
def families() -> tuple[str, ...]:
    return ("ENV008", "ENV009", "ENV010")


def at(result: Result) -> list[tuple[str, str, int]]:
    return [(f.code, f.span.path, f.span.line) for f in result.findings]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# knowledge and parse facts ------------------------------------------------------------------


def test_the_kubelet_injects_link_variables_named_after_the_service() -> None:
    names = {
        name: shape
        for name, shape, _ in service_link_variables("redis-primary", [(6379, "TCP", "redis")])
    }
    assert names == {
        "REDIS_PRIMARY_SERVICE_HOST": "ip",
        "REDIS_PRIMARY_SERVICE_PORT": "number",
        "REDIS_PRIMARY_SERVICE_PORT_REDIS": "number",
        "REDIS_PRIMARY_PORT": "url",
        "REDIS_PRIMARY_PORT_6379_TCP": "url",
        "REDIS_PRIMARY_PORT_6379_TCP_PROTO": "protocol",
        "REDIS_PRIMARY_PORT_6379_TCP_PORT": "number",
        "REDIS_PRIMARY_PORT_6379_TCP_ADDR": "ip",
    }


def test_manifests_read_service_links_cluster_ip_type_and_port_protocol() -> None:
    parsed = parse_manifests(
        "k.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  enableServiceLinks: false\n"
        "  containers:\n    - name: c\n      image: x\n---\n"
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: db\nspec:\n  clusterIP: None\n"
        "  ports:\n    - port: 53\n      protocol: UDP\n---\n"
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: ext\nspec:\n  type: ExternalName\n",
    )
    assert parsed.workloads[0].service_links is False
    db, ext = parsed.services
    assert (db.cluster_ip, db.ports[0].protocol) == ("None", "UDP")
    assert ext.type == "ExternalName"


def test_a_pod_keeps_service_links_by_default() -> None:
    parsed = parse_manifests(
        "k.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers: []\n"
    )
    assert parsed.workloads[0].service_links is True


def test_kustomization_namespace_reaches_the_manifests_of_its_bases(tmp_path: Path) -> None:
    assert parse_kustomization("k/kustomization.yaml", "namespace: shop\n").namespace == "shop"
    root = write_tree(
        tmp_path,
        {
            "base/kustomization.yaml": "resources:\n  - svc.yaml\n",
            "base/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: db\n"
            "  namespace: data\nspec:\n  ports:\n    - port: 5432\n",
            "prod/kustomization.yaml": "namespace: shop\nresources:\n  - ../base\n",
        },
    )
    project = build(root, ".", Config()).graph.files
    assert kustomize_namespaces(project) == {"base/svc.yaml": frozenset({"shop"})}
    (variable,) = injected_variables(project)["DB_PORT"]
    assert variable.namespaces == frozenset({"shop"}) and variable.shape == "url"


def test_headless_and_external_name_services_inject_nothing(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "k.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: db\nspec:\n"
            "  clusterIP: None\n  ports:\n    - port: 5432\n---\n"
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: ext\nspec:\n"
            "  type: ExternalName\n  externalName: example.com\n",
        },
    )
    assert injected_variables(build(root, ".", Config()).graph.files) == {}


def test_env_reads_with_a_literal_default_are_recorded_with_the_default_span() -> None:
    module = parse_python(
        "settings.py",
        "import os\nimport environ\nfrom decouple import config\nenv = environ.Env()\n"
        'A = os.environ.get("A_SECRET", "dev")\n'
        'B = env("B_SECRET", default="dev")\n'
        'C = env.str("C_SECRET", "dev")\n'
        'D = config("D_SECRET", default="dev")\n'
        'E = os.environ.get("E_SECRET")\n'  # no default
        'F = os.environ.get("F_SECRET", make())\n'  # not a literal
        "if DEBUG:\n"
        '    G = os.environ.get("G_SECRET", "dev")\n',  # may not run
    )
    found = {(d.name, d.reader, d.span.line) for d in module.env_defaults}
    assert found == {
        ("A_SECRET", "os.environ", 5),
        ("B_SECRET", "django-environ", 6),
        ("C_SECRET", "django-environ", 7),
        ("D_SECRET", "decouple", 8),
    }
    assert "dev" not in repr(module.env_defaults)  # the default stays out of repr


def test_fields_a_model_validator_reads_are_recorded() -> None:
    module = parse_python(
        "c.py",
        "from pydantic import model_validator\nfrom pydantic_settings import BaseSettings\n\n"
        "class Settings(BaseSettings):\n    secret_key: str = 'x'\n    debug: bool = False\n\n"
        "    @model_validator(mode='after')\n    def check(self):\n"
        "        if not self.debug and self.secret_key == 'x':\n            raise ValueError\n"
        "        return self\n",
    )
    assert {"secret_key", "debug"} <= set(module.settings[0].checked)


@pytest.mark.parametrize(
    ("annotation", "kind"),
    [
        ("int", "number"),
        ("Optional[int]", "number"),
        ("int | None", "number"),
        ("Annotated[int, Field(gt=0)]", "number"),
        ("PositiveInt", "number"),
        ("bool", "bool"),
        ("str", "str"),
        ("SecretStr", "str"),
        ("AnyUrl", None),
        ("Union[int, str]", None),
        ("list[int]", None),
    ],
)
def test_value_type_of_an_annotation(annotation: str, kind: str | None) -> None:
    assert value_type(annotation) == kind


# ENV008 ----------------------------------------------------------------------------------------

PYPROJECT = (
    '[project]\nname = "orders"\nversion = "1"\n'
    'dependencies = ["fastapi", "uvicorn", "pydantic-settings"]\n'
)
MAIN = (
    "from fastapi import FastAPI\n\nfrom app.config import settings\n\napp = FastAPI()\n\n\n"
    '@app.get("/health")\ndef health() -> dict[str, str]:\n    return {"ok": "yes"}\n'
)


def config(*fields: str, prefix: str = "") -> str:
    body = "".join(f"    {f}\n" for f in fields)
    conf = f'    model_config = SettingsConfigDict(env_prefix="{prefix}")\n' if prefix else ""
    return (
        "from pydantic_settings import BaseSettings, SettingsConfigDict\n\n\n"
        f"class Settings(BaseSettings):\n{conf}{body}\n\nsettings = Settings()\n"
    )


def deployment(env: str = "", spec: str = "", namespace: str = "") -> str:
    ns = f"\n  namespace: {namespace}" if namespace else ""
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: orders{ns}\nspec:\n"
        "  selector:\n    matchLabels:\n      app: orders\n  template:\n    metadata:\n"
        f"      labels:\n        app: orders\n    spec:{spec}\n      containers:\n"
        "        - name: api\n          image: registry.example.com/orders:1\n"
        '          command: ["uvicorn", "app.main:app", "--host", "0.0.0.0"]\n'
        f"          env:\n            - name: LOG_LEVEL\n              value: info{env}\n"
    )


def service(name: str, port: int = 5432, namespace: str = "") -> str:
    ns = f"\n  namespace: {namespace}" if namespace else ""
    return (
        f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}{ns}\nspec:\n"
        f"  selector:\n    app: {name}\n  ports:\n    - port: {port}\n"
    )


def app(settings: str, **manifests: str) -> dict[str, str]:
    files = {
        "pyproject.toml": PYPROJECT,
        "app/__init__.py": "",
        "app/main.py": MAIN,
        "app/config.py": settings,
    }
    files.update({f"k8s/{name}.yaml": text for name, text in manifests.items()})
    return files


def test_an_int_field_reading_a_service_port_variable_is_an_error(project: Project) -> None:
    result = project(
        app(config("postgres_port: int = 5432"), web=deployment(), db=service("postgres"))
    )
    assert at(result) == [("ENV008", "app/config.py", 5)]
    finding = result.findings[0]
    assert finding.severity.value == "error"
    assert "tcp://" in finding.message and "int_parsing" in finding.message
    assert {r.span.path for r in finding.related} == {"k8s/db.yaml", "k8s/web.yaml"}


def test_a_prefixed_field_reading_its_own_service_variable(project: Project) -> None:
    result = project(
        app(config("port: int = 8000", prefix="ORDERS_"), web=deployment(), svc=service("orders"))
    )
    assert at(result) == [("ENV008", "app/config.py", 6)]


def test_a_str_field_that_gets_a_url_is_a_warning(project: Project) -> None:
    result = project(
        app(config('redis_port: str = "6379"'), web=deployment(), db=service("redis", 6379))
    )
    assert [f.severity.value for f in result.findings] == ["warning"]


def test_fields_that_parse_what_is_injected_are_left_alone(project: Project) -> None:
    result = project(
        app(
            config('postgres_service_host: str = "db"', "postgres_service_port: int = 5432"),
            web=deployment(),
            db=service("postgres"),
        )
    )
    assert at(result) == []


@pytest.mark.parametrize(
    ("manifests", "why"),
    [
        ({"web": deployment(spec="\n      enableServiceLinks: false")}, "enableServiceLinks"),
        (
            {
                "web": deployment(
                    env='\n            - name: POSTGRES_PORT\n              value: "1"'
                )
            },
            "sets `POSTGRES_PORT` itself",
        ),
        ({"web": deployment(namespace="shop")}, "not in shop where the app runs"),
    ],
)
def test_env008_silent(project: Project, manifests: dict[str, str], why: str | None) -> None:
    result = project(app(config("postgres_port: int = 5432"), db=service("postgres"), **manifests))
    assert at(result) == []
    if why is not None:
        assert any(n.startswith("ENV008 silent") and why in n for n in result.notes)


def test_env008_dockerfile_env_does_not_protect(project: Project) -> None:
    """The runtime environment replaces the image's ENV: the injected value wins."""
    files = app(config("postgres_port: int = 5432"), web=deployment(), db=service("postgres"))
    files["Dockerfile"] = 'FROM python:3.12-slim\nENV POSTGRES_PORT=5432\nCMD ["uvicorn"]\n'
    assert at(project(files)) == [("ENV008", "app/config.py", 5)]


# ENV009 ----------------------------------------------------------------------------------------


def test_a_default_secret_key_no_deploy_provides(project: Project) -> None:
    result = project(app(config('secret_key: str = "changeme"'), web=deployment()))
    assert at(result) == [("ENV009", "app/config.py", 5)]
    finding = result.findings[0]
    assert "changeme" not in finding.message and "8-character" in finding.message
    assert finding.related[0].span.path == "k8s/web.yaml"


def test_a_default_provided_by_the_deploy_is_fine(project: Project) -> None:
    env = (
        "\n            - name: SECRET_KEY\n              valueFrom:\n                secretKeyRef:"
    )
    env += "\n                  name: s\n                  key: SECRET_KEY"
    secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  SECRET_KEY: x\n"
    result = project(
        app(config('secret_key: str = "changeme"'), web=deployment(env=env), secret=secret)
    )
    assert at(result) == []


@pytest.mark.parametrize(
    "fields",
    [
        ('secret_key: str = ""',),  # empty
        ('database_url: str = "postgresql://app:app@localhost/app"',),  # a local URL
        ('log_level: str = "info"',),  # not sensitive
        ('demo_login_password: str = "demo"',),  # published on purpose
    ],
)
def test_env009_silent_on_defaults_that_are_no_secret(project: Project, fields: tuple[str]) -> None:
    assert at(project(app(config(*fields), web=deployment()))) == []


def test_env009_silent_without_a_deploy(project: Project) -> None:
    result = project(app(config('secret_key: str = "changeme"')))
    assert at(result) == []
    assert any(n.startswith("ENV009 silent") and "no deploy" in n for n in result.notes)


def test_env009_silent_when_a_field_validator_checks_it(project: Project) -> None:
    settings = config('secret_key: str = "changeme"').replace(
        "\n\nsettings",
        "\n    @field_validator('secret_key')\n    @classmethod\n"
        "    def strong(cls, v: str) -> str:\n        return v\n\nsettings",
    )
    settings = "from pydantic import field_validator\n" + settings
    assert at(project(app(settings, web=deployment()))) == []


def test_env009_silent_for_development_deploys_only(project: Project) -> None:
    files = app(config('secret_key: str = "changeme"'))
    files["k8s/overlays/dev/web.yaml"] = deployment()
    assert at(project(files)) == []


def test_env009_reads_defaults_in_code(project: Project, tmp_path: Path) -> None:
    settings = 'import os\n\nSECRET_KEY = os.environ.get("SECRET_KEY", "django-insecure-x")\n'
    files = app(config("debug: bool = False"), web=deployment())
    files["app/security.py"] = settings
    files["app/main.py"] = MAIN.replace("settings\n", "settings\nfrom app import security\n", 1)
    result = project(files)
    assert at(result) == [("ENV009", "app/security.py", 3)]
    graph = build(tmp_path, ".", Config()).graph
    assert [d.label for d in deploys_of(graph, "").deploys] == [
        "Deployment `orders` container `api`"
    ]


# ENV010 ----------------------------------------------------------------------------------------


def secret(**data: str) -> str:
    body = "".join(f"  {k}: {v}\n" for k, v in data.items())
    return f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n{body}"


def refs(*keys: str) -> str:
    return "".join(
        f"\n            - name: {k}\n              valueFrom:\n                secretKeyRef:"
        f"\n                  name: db\n                  key: {k}"
        for k in keys
    )


def test_a_host_with_echos_newline(project: Project) -> None:
    result = project(
        app(
            config('db_host: str = "x"'),
            web=deployment(env=refs("DB_HOST")),
            secret=secret(DB_HOST=b64("postgres-service\n")),
        )
    )
    assert at(result) == [("ENV010", "k8s/secret.yaml", 6)]
    finding = result.findings[0]
    assert "17 characters" in finding.message and "postgres-service" not in finding.message
    assert finding.related[0].span.path == "k8s/web.yaml"


def test_a_string_data_block_scalar_keeps_its_newline(project: Project) -> None:
    text = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n"
    text += "  DB_HOST: |\n    postgres-service\n"
    result = project(app(config(), web=deployment(env=refs("DB_HOST")), secret=text))
    assert at(result) == [("ENV010", "k8s/secret.yaml", 6)]
    assert "|-" in (result.findings[0].fix or "")


def test_envfrom_reads_every_key(project: Project) -> None:
    spec = deployment() + "          envFrom:\n            - secretRef:\n                name: db\n"
    result = project(app(config(), web=spec, secret=secret(API_TOKEN=b64("t0k3n\n"))))
    assert at(result) == [("ENV010", "k8s/secret.yaml", 6)]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("DB_HOST", "postgres-service"),  # echo -n
        ("DB_PORT", "5432\n"),  # a number: int() strips it
        ("CA_CERT", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
        ("tls.key", "secret\n"),  # a file by its name
        ("MOTD", "line one\nline two\n"),  # multi-line text
    ],
)
def test_env010_silent(project: Project, key: str, value: str) -> None:
    manifests = {"web": deployment(env=refs(key)), "secret": secret(**{key: b64(value)})}
    assert at(project(app(config(), **manifests))) == []


def test_env010_silent_for_a_value_nothing_reads(project: Project) -> None:
    result = project(app(config(), web=deployment(), secret=secret(DB_HOST=b64("h\n"))))
    assert at(result) == []


def test_env010_silent_for_a_password_both_ends_read(project: Project) -> None:
    database = deployment(env=refs("DB_PASSWORD")).replace("name: orders", "name: postgres")
    database = database.replace("app: orders", "app: postgres")
    result = project(
        app(
            config(),
            web=deployment(env=refs("DB_PASSWORD")),
            pg=database,
            secret=secret(DB_PASSWORD=b64("hunter2-x\n")),
        )
    )
    assert at(result) == []


def test_env009_silent_for_a_script_the_app_does_not_import(project: Project) -> None:
    files = app(config("debug: bool = False"), web=deployment())
    files["scripts/create_admin.py"] = (
        'import os\n\nADMIN_PASSWORD = os.environ.get("ADMIN_PASSWORD", "admin-2024!")\n'
    )
    result = project(files)
    assert at(result) == []
    assert any("not a module the service's app imports" in n for n in result.notes)


def test_env008_silent_when_an_unseen_envfrom_may_set_it(project: Project) -> None:
    web = deployment() + "          envFrom:\n            - secretRef:\n                name: ext\n"
    result = project(app(config("postgres_port: int = 5432"), web=web, db=service("postgres")))
    assert at(result) == []
    assert any("may set `POSTGRES_PORT`" in n for n in result.notes)
