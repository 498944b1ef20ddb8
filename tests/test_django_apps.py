"""Django projects: the command, the settings module and the URLconf resolved into an App, so
the probe rules (PRB002 to PRB007) and ENV001 work on Django services as on FastAPI ones."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conftest import codes
from preflight.engine import Result
from preflight.model.apps import server_command

Project = Callable[..., Result]


@pytest.fixture
def families() -> tuple[str, ...]:
    return ("PRB", "ENV001", "PF001")  # PF001: a test whose Python does not parse fails


REQUIREMENTS = "Django==5.1.4\ngunicorn==23.0.0\n"

SETTINGS = """
    import os

    SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev")
    MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.common.CommonMiddleware",
    ]
    ROOT_URLCONF = "proj.urls"
"""

WSGI = """
    import os

    from django.core.wsgi import get_wsgi_application

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
    application = get_wsgi_application()
"""

URLS = """
    from django.urls import include, path

    urlpatterns = [
        path("health/", include("health.urls")),
    ]
"""

HEALTH_URLS = """
    from django.urls import path

    from . import views

    urlpatterns = [
        path("live/", views.live),
        path("ready/", views.ready),
    ]
"""

VIEWS = """
    from django.http import JsonResponse


    def live(request):
        return JsonResponse({"status": "ok"})


    def ready(request):
        return JsonResponse({"status": "ready"})
"""


def deployment(
    ready: str = "/health/ready/",
    live: str = "/health/live/",
    command: str = '["gunicorn", "proj.wsgi:application", "--bind", "0.0.0.0:8000"]',
    env: str = "",
    port: int = 8000,
) -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1
          command: {command}
          ports:
            - containerPort: {port}
          env:
            - name: PLACEHOLDER
              value: "1"{env}
          readinessProbe:
            httpGet: {{path: "{ready}", port: {port}}}
          livenessProbe:
            httpGet: {{path: "{live}", port: {port}}}
"""


def django(files: dict[str, str] | None = None, **probe: str) -> dict[str, str]:
    return {
        "requirements.txt": REQUIREMENTS,
        "manage.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", '
        '"proj.settings")\n',
        "proj/__init__.py": "",
        "proj/settings.py": SETTINGS,
        "proj/urls.py": URLS,
        "proj/wsgi.py": WSGI,
        "health/__init__.py": "",
        "health/urls.py": HEALTH_URLS,
        "health/views.py": VIEWS,
        "k8s/deployment.yaml": deployment(**probe),
        **(files or {}),
    }


def prb002_lines(result: Result) -> list[int]:
    return [f.span.line for f in result.findings if f.code == "PRB002"]


# commands ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "server", "target", "port"),
    [
        (["python", "manage.py", "runserver"], "manage.py runserver", "manage.py", 8000),
        (["python", "manage.py", "runserver", "0.0.0.0:9000"], "manage.py runserver", None, 9000),
        (["./manage.py", "runserver", "8080"], "manage.py runserver", None, 8080),
        (
            ["python", "-m", "django", "runserver", "[::]:8001"],
            "django-admin runserver",
            None,
            8001,
        ),
        (["django-admin", "runserver", "0.0.0.0:$PORT"], "django-admin runserver", None, None),
        (
            ["uwsgi", "--module", "proj.wsgi:application", "--http", ":8000"],
            "uwsgi",
            "proj.wsgi:application",
            8000,
        ),
        (["gunicorn", "proj.wsgi"], "gunicorn", "proj.wsgi", 8000),
    ],
)
def test_django_commands(argv: list[str], server: str, target: str | None, port: int) -> None:
    command = server_command(argv)
    assert command is not None
    assert command.server == server
    if target is not None:
        assert command.target == target
    assert command.port == port


def test_runserver_port_from_the_environment_and_settings_option() -> None:
    argv = ["sh", "-c", "python manage.py migrate && python manage.py runserver 0.0.0.0:$PORT"]
    command = server_command(argv, {"PORT": "7000"})
    assert command is not None and command.port == 7000
    command = server_command(["python", "manage.py", "runserver", "--settings=proj.settings.prod"])
    assert command is not None and command.settings == "proj.settings.prod"
    gunicorn = ["gunicorn", "-e", "DJANGO_SETTINGS_MODULE=proj.settings.prod", "proj.wsgi"]
    command = server_command(gunicorn)
    assert command is not None and command.target == "proj.wsgi"
    assert command.settings == "proj.settings.prod"


def test_uwsgi_without_http_is_not_an_http_server() -> None:
    assert server_command(["uwsgi", "--socket", ":3031", "--module", "proj.wsgi"]) is None
    assert server_command(["python", "manage.py", "migrate"]) is None


# routes --------------------------------------------------------------------------------------


def test_served_probes_are_clean(project: Project) -> None:
    assert codes(project(django())) == []


def test_probe_path_outside_the_include_prefix_is_prb002(project: Project) -> None:
    result = project(django(ready="/ready/"))
    assert codes(result) == ["PRB002"]
    assert prb002_lines(result) == [21]
    assert "`/health/ready/`" in result.findings[0].message


def test_append_slash_redirect_serves_the_path_without_slash(project: Project) -> None:
    assert codes(project(django(ready="/health/ready", live="/health/live"))) == []


def test_path_with_slash_to_a_pattern_without_one_is_prb002(project: Project) -> None:
    urls = HEALTH_URLS.replace('"live/"', '"live"')
    result = project(django({"health/urls.py": urls}, live="/health/live/"))
    assert codes(result) == ["PRB002"]
    assert prb002_lines(result) == [23]
    assert codes(project(django({"health/urls.py": urls}, live="/health/live"))) == []


@pytest.mark.parametrize(
    "settings",
    [
        SETTINGS + "    APPEND_SLASH = False\n",
        SETTINGS.replace('"django.middleware.common.CommonMiddleware",', ""),
    ],
    ids=["append-slash-false", "no-common-middleware"],
)
def test_no_redirect_without_append_slash(project: Project, settings: str) -> None:
    result = project(django({"proj/settings.py": settings}, ready="/health/ready"))
    assert codes(result) == ["PRB002"]


def test_converters_and_re_path(project: Project) -> None:
    urls = """
        from django.urls import path, re_path

        from health import views

        urlpatterns = [
            path("items/<int:pk>/", views.live),
            re_path(r"^ready/?$", views.ready),
        ]
    """
    files = {"proj/urls.py": urls}
    assert codes(project(django(files, ready="/ready", live="/items/42/"))) == []
    result = project(django(files, ready="/ready/", live="/items/abc/"))
    assert codes(result) == ["PRB002"]
    assert prb002_lines(result) == [23]


def test_urlpatterns_added_to_and_inline_includes(project: Project) -> None:
    urls = """
        from django.conf import settings
        from django.conf.urls.static import static
        from django.urls import include, path

        from health import views

        probe_patterns = [path("ready/", views.ready)]

        urlpatterns = [
            path("ops/", include((probe_patterns, "ops"))),
            path("x/", include([path("live/", views.live)])),
        ] + static(settings.STATIC_URL, document_root=settings.STATIC_ROOT)
        urlpatterns += [path("extra/", views.live)]
    """
    files = {"proj/urls.py": urls}
    assert codes(project(django(files, ready="/ops/ready/", live="/extra/"))) == []
    assert codes(project(django(files, ready="/ops/ready/", live="/x/live/"))) == []
    assert codes(project(django(files, ready="/ready/", live="/x/live/"))) == ["PRB002"]


ADMIN_URLS = """
    from django.contrib import admin
    from django.urls import include, path

    urlpatterns = [
        path("admin/", admin.site.urls),
        path("health/", include("health.urls")),
    ]
"""


def test_admin_is_served_at_its_prefix(project: Project) -> None:
    assert codes(project(django({"proj/urls.py": ADMIN_URLS}, ready="/admin/login/"))) == []
    assert codes(project(django({"proj/urls.py": ADMIN_URLS}, ready="/admin"))) == []
    assert codes(project(django({"proj/urls.py": ADMIN_URLS}, ready="/administer"))) == ["PRB002"]


ROUTER_URLS = """
    from django.urls import include, path
    from rest_framework import routers

    router = routers.DefaultRouter()
    urlpatterns = [
        path("", include(router.urls)),
        path("health/", include("health.urls")),
    ]
"""

I18N_URLS = """
    from django.conf.urls.i18n import i18n_patterns
    from django.urls import include, path

    urlpatterns = i18n_patterns(
        path("health/", include("health.urls")),
    )
"""

CALL_URLS = """
    from django.urls import include, path

    from proj.plugins import build_more_patterns

    urlpatterns = [
        path("health/", include("health.urls")),
    ]
    urlpatterns += build_more_patterns()
"""


@pytest.mark.parametrize(
    ("urls", "why"),
    [(ROUTER_URLS, "router.urls"), (I18N_URLS, "i18n_patterns"), (CALL_URLS, "build_more")],
    ids=["drf-router", "i18n", "built-by-a-call"],
)
def test_unfollowable_urlconf_is_partial_and_silent(project: Project, urls: str, why: str) -> None:
    result = project(django({"proj/urls.py": urls}, ready="/nowhere/"))
    assert "PRB002" not in codes(result)
    assert any("partial" in note and why in note for note in result.notes)


def test_class_view_methods_and_method_decorators(project: Project) -> None:
    views = (
        VIEWS
        + """

    from django.views import View
    from django.views.decorators.http import require_POST


    class Submit(View):
        def post(self, request):
            return JsonResponse({})


    class Page(View):
        def get(self, request):
            return JsonResponse({})


    @require_POST
    def hook(request):
        return JsonResponse({})
    """
    )
    urls = HEALTH_URLS.replace(
        "]",
        '    path("submit/", views.Submit.as_view()),\n'
        '        path("page/", views.Page.as_view()),\n        path("hook/", views.hook),\n    ]',
    )
    files = {"health/views.py": views, "health/urls.py": urls}
    assert codes(project(django(files, ready="/health/page/"))) == []
    assert codes(project(django(files, ready="/health/submit/"))) == ["PRB002"]
    assert codes(project(django(files, ready="/health/hook/"))) == ["PRB002"]


# settings ------------------------------------------------------------------------------------


def test_settings_package_star_imports_and_environment_choice(project: Project) -> None:
    files = {
        "proj/settings.py": "",
        "proj/settings/__init__.py": "from .base import *  # noqa\n",
        "proj/settings/base.py": SETTINGS,
        "proj/settings/production.py": 'from .base import *\nROOT_URLCONF = "proj.prod_urls"\n',
        "proj/prod_urls.py": URLS.replace('"health/"', '"prod/"'),
    }
    del_settings = {k: v for k, v in django(files).items() if k != "proj/settings.py"}
    assert codes(project(del_settings)) == []
    env = "\n            - name: DJANGO_SETTINGS_MODULE\n              value: proj.settings.production"
    chosen = {**del_settings, "k8s/deployment.yaml": deployment(env=env)}
    assert codes(project(chosen)) == ["PRB002", "PRB002"]


def test_settings_module_from_a_config_map(project: Project) -> None:
    files = {
        "proj/settings_prod.py": SETTINGS.replace('"proj.urls"', '"proj.prod_urls"'),
        "proj/prod_urls.py": URLS.replace('"health/"', '"prod/"'),
        "k8s/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n"
        "data:\n  DJANGO_SETTINGS_MODULE: proj.settings_prod\n",
    }
    env = (
        "\n            - name: DJANGO_SETTINGS_MODULE\n              valueFrom:\n"
        "                configMapKeyRef: {name: web, key: DJANGO_SETTINGS_MODULE}"
    )
    result = project({**django(files), "k8s/deployment.yaml": deployment(env=env)})
    assert codes(result) == ["PRB002", "PRB002"]


def test_missing_root_urlconf_is_partial(project: Project) -> None:
    settings = SETTINGS.replace('ROOT_URLCONF = "proj.urls"', 'ROOT_URLCONF = os.environ["URLS"]')
    result = project(django({"proj/settings.py": settings}, ready="/nowhere/"))
    assert "PRB002" not in codes(result)


def test_settings_read_required_variables_env001(project: Project) -> None:
    settings = SETTINGS.replace(
        'os.environ.get("DJANGO_SECRET_KEY", "dev")', 'os.environ["DJANGO_SECRET_KEY"]'
    )
    result = project(django({"proj/settings.py": settings}))
    assert codes(result) == ["ENV001"]
    assert result.findings[0].related[0].span.path == "proj/settings.py"
    env = "\n            - name: DJANGO_SECRET_KEY\n              value: from-a-test"
    given = {**django({"proj/settings.py": settings}), "k8s/deployment.yaml": deployment(env=env)}
    assert "ENV001" not in codes(project(given))


def test_settings_module_outside_the_service_root(project: Project) -> None:
    """The app's service is api/ (its requirements), the settings live in shared/."""
    files = {
        "api/requirements.txt": REQUIREMENTS,
        "api/proj/__init__.py": "",
        "api/proj/urls.py": URLS,
        "api/proj/wsgi.py": WSGI.replace('"proj.settings"', '"shared_settings"'),
        "api/health/__init__.py": "",
        "api/health/urls.py": HEALTH_URLS,
        "api/health/views.py": VIEWS,
        "shared/shared_settings.py": SETTINGS.replace(
            'os.environ.get("DJANGO_SECRET_KEY", "dev")', 'os.environ["DJANGO_SECRET_KEY"]'
        ),
        "k8s/deployment.yaml": deployment(),
    }
    result = project(files)
    assert codes(result) == ["ENV001"]
    assert result.findings[0].related[0].span.path == "shared/shared_settings.py"


def test_other_settings_modules_are_not_the_apps(project: Project) -> None:
    files = {
        "proj/settings.py": "",
        "proj/settings/__init__.py": "from .base import *\n",
        "proj/settings/base.py": SETTINGS,
        "proj/settings/production.py": "import os\nfrom .base import *\n"
        'SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]\n',
    }
    base = {k: v for k, v in django(files).items() if k != "proj/settings.py"}
    assert codes(project(base)) == []
    env = "\n            - name: DJANGO_SETTINGS_MODULE\n              value: proj.settings.production"
    assert codes(project({**base, "k8s/deployment.yaml": deployment(env=env)})) == ["ENV001"]


# servers -------------------------------------------------------------------------------------


def test_asgi_wrapped_application_and_runserver(project: Project) -> None:
    asgi = """
        import os

        from channels.routing import ProtocolTypeRouter
        from django.core.asgi import get_asgi_application

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
        application = ProtocolTypeRouter({"http": get_asgi_application()})
    """
    command = '["uvicorn", "proj.asgi:application", "--host", "0.0.0.0", "--port", "8000"]'
    files = {"proj/asgi.py": asgi}
    assert codes(project(django(files, command=command))) == []
    assert codes(project(django(files, command=command, ready="/ready"))) == ["PRB002"]
    runserver = '["python", "manage.py", "runserver", "0.0.0.0:8000"]'
    assert codes(project(django(command=runserver, ready="/ready"))) == ["PRB002"]


def test_runserver_default_port_mismatch_is_prb006(project: Project) -> None:
    runserver = '["python", "manage.py", "runserver"]'
    result = project(django(command=runserver, port=8080))
    assert codes(result) == ["PRB006", "PRB006"]
    assert "binds 8000" in result.findings[0].message


def test_liveness_reaching_the_database_is_prb005(project: Project) -> None:
    views = VIEWS.replace(
        'def live(request):\n        return JsonResponse({"status": "ok"})',
        "def live(request):\n        with connection.cursor() as cursor:\n"
        '            cursor.execute("SELECT 1")\n        return JsonResponse({"status": "ok"})',
    ).replace("from django.http", "from django.db import connection\n    from django.http")
    result = project(django({"health/views.py": views}))
    assert codes(result) == ["PRB004", "PRB005"]  # the service's database: the live view's
    assert [f.span.line for f in result.findings] == [21, 23]


NOTIFY_VIEW = """
    def added(request, form):
        if form.is_valid():
            notify(
                event="config_added",
                title=f"New configuration: {form.cleaned_data.get('name')}",
                description=f'"{form.cleaned_data.get('name')}" was added by {request.user}',
                url=request.build_absolute_uri("/"))
        return None
"""


def test_pep701_fstring_in_a_view_is_not_a_parse_error(project: Project) -> None:
    """Quotes reused inside an f-string (Python 3.12), in a file long enough for the layout
    scan, read by an older interpreter: valid newer syntax, not PF001."""
    padding = "".join(f"    # {'padding line ' * 4}{n}\n" for n in range(20))
    views = VIEWS + "\n" + NOTIFY_VIEW + padding
    assert codes(project(django({"health/views.py": views}))) == []


def test_an_installed_apps_urlconf_under_a_literal_prefix_is_a_mount(project: Project) -> None:
    """`include("magiclink.urls")` comes from a package: its prefix is served by something
    preflight does not read, the rest of the table stays complete."""
    urls = URLS.replace(
        '        path("health/", include("health.urls")),\n',
        '        path("health/", include("health.urls")),\n'
        '        path("auth/", include("magiclink.urls")),\n',
    )
    assert codes(project(django({"proj/urls.py": urls}, ready="/auth/status"))) == []
    result = project(django({"proj/urls.py": urls}, ready="/ready/"))
    assert codes(result) == ["PRB002"]
    # at the root, an installed app's URLconf may serve anything: the table is partial
    root = urls.replace('path("auth/", include("magiclink.urls"))', 'path("", include("x.urls"))')
    assert codes(project(django({"proj/urls.py": root}, ready="/ready/"))) == []


DRF_URLS = """
    from django.urls import include, path
    from rest_framework import routers

    from health import views

    router = routers.DefaultRouter()
    router.register(r"insurances", views.InsuranceViewSet, basename="insurance")
    router.register("health", views.HealthViewSet, basename="health")

    urlpatterns = [
        path("", include(router.urls)),
    ]
"""


@pytest.mark.parametrize(
    ("ready", "fires"),
    [("/health/", False), ("/insurances/12/", False), ("/", False), ("/ready/", True)],
)
def test_a_drf_router_serves_each_registered_prefix(
    project: Project, ready: str, fires: bool
) -> None:
    result = project(django({"proj/urls.py": DRF_URLS}, ready=ready))
    assert codes(result) == (["PRB002"] if fires else [])


def test_a_drf_router_assigned_as_urlpatterns_and_a_dynamic_prefix(project: Project) -> None:
    assigned = DRF_URLS.replace(
        'urlpatterns = [\n        path("", include(router.urls)),\n    ]',
        "urlpatterns = router.urls",
    )
    assert codes(project(django({"proj/urls.py": assigned}, ready="/ready/"))) == ["PRB002"]
    dynamic = DRF_URLS.replace('router.register("health"', "router.register(PREFIX")
    assert codes(project(django({"proj/urls.py": dynamic}, ready="/ready/"))) == []
