"""Flask (and Quart) apps: commands, factories, blueprints, class-based views, route syntax.

The resolver is asked directly (files parsed, never imported) so each test says which routes an
app serves; a few tests run the rules on a whole small service.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import pytest

from conftest import codes
from preflight.engine import Result
from preflight.model.apps import App, AppResolver, ServerCommand, python_run, server_command
from preflight.parse.python import parse_python

Project = Callable[..., Result]


@pytest.fixture
def families() -> tuple[str, ...]:
    return ("PRB", "ENV001")


def commanded(
    files: dict[str, str],
    argv: list[str],
    env: dict[str, str] | None = None,
    near: str = "",
) -> tuple[ServerCommand | None, App | None, str | None]:
    """What ``argv`` serves in a project made of ``files``: the command, the app, or why not."""
    python = {
        path: parse_python(path, textwrap.dedent(text).lstrip("\n"))
        for path, text in files.items()
        if path.endswith(".py")
    }
    command = server_command(argv, env) or python_run(argv, python, near, env or {})
    if command is None:
        return None, None, None
    resolver = AppResolver(python, list(python), list(files))
    app, why = resolver.resolve(command, near)
    return command, app, why


def resolved(files: dict[str, str], argv: list[str], **kwargs: object) -> App:
    _, app, why = commanded(files, argv, **kwargs)  # type: ignore[arg-type]
    assert app is not None, why
    return app


def paths(app: App) -> list[str]:
    return [route.path for route in app.routes]


GUNICORN = ["gunicorn", "-b", "0.0.0.0:8000", "myapp:create_app()"]

HEALTH_BP = """
    from flask import Blueprint

    bp = Blueprint("health", __name__, url_prefix="/health")


    @bp.get("/ready")
    def ready():
        return {"ok": True}
"""


def factory(registration: str, imports: str = "from myapp.health import bp") -> str:
    return f"""
        from flask import Flask


        def create_app():
            app = Flask(__name__)
            {imports}
            {registration}
            return app
    """


# blueprints -----------------------------------------------------------------------------------


def test_a_blueprint_keeps_its_own_url_prefix() -> None:
    app = resolved(
        {"myapp/__init__.py": factory("app.register_blueprint(bp)"), "myapp/health.py": HEALTH_BP},
        GUNICORN,
    )
    assert paths(app) == ["/health/ready"]
    assert app.complete and app.framework == "flask"
    assert app.serves("/health/ready") is not None
    assert app.serves("/ready") is None


def test_url_prefix_at_registration_replaces_the_blueprints_own() -> None:
    """Flask, unlike FastAPI's include_router: `/v1/ready`, not `/v1/health/ready`."""
    app = resolved(
        {
            "myapp/__init__.py": factory('app.register_blueprint(bp, url_prefix="/v1")'),
            "myapp/health.py": HEALTH_BP,
        },
        GUNICORN,
    )
    assert paths(app) == ["/v1/ready"]
    assert app.serves("/v1/health/ready") is None


def test_nested_blueprints_join_their_prefixes() -> None:
    api = """
        from flask import Blueprint

        from myapp.health import bp as health_bp
        from myapp.users import users

        api = Blueprint("api", __name__, url_prefix="/api")
        api.register_blueprint(health_bp)
        api.register_blueprint(users, url_prefix="/people")
    """
    users = """
        from flask import Blueprint

        users = Blueprint("users", __name__, url_prefix="/users")


        @users.route("/<int:user_id>", methods=["GET", "PUT"])
        def show(user_id):
            return {}
    """
    files = {
        "myapp/__init__.py": factory(
            'app.register_blueprint(api, url_prefix="/api/v2")', "from myapp.api import api"
        ),
        "myapp/api.py": api,
        "myapp/health.py": HEALTH_BP,
        "myapp/users.py": users,
    }
    app = resolved(files, GUNICORN)
    assert sorted(paths(app)) == ["/api/v2/health/ready", "/api/v2/people/<int:user_id>"]
    route = app.serves("/api/v2/people/7", "PUT")
    assert route is not None and route.handler is not None and route.handler.name == "show"


def test_routes_declared_where_the_blueprint_is_imported() -> None:
    """The blueprint lives in a package `__init__`, its routes in `views.py` (`from . import
    main`), and the factory imports it inside the function."""
    files = {
        "myapp/__init__.py": factory(
            'app.register_blueprint(main, url_prefix="/site")', "from .main import main"
        ),
        "myapp/main/__init__.py": """
            from flask import Blueprint

            main = Blueprint("main", __name__)

            from . import views
        """,
        "myapp/main/views.py": """
            from flask import render_template

            from . import main


            @main.route("/about")
            def about():
                return render_template("about.html")
        """,
    }
    assert paths(resolved(files, GUNICORN)) == ["/site/about"]


def test_routes_declared_where_the_app_is_imported_and_where_it_is_handed() -> None:
    files = {
        "site/__init__.py": """
            from flask import Flask

            from site.probes import init_probes

            app = Flask(__name__)
            init_probes(app)

            from site import routes
        """,
        "site/routes.py": """
            from site import app


            @app.route("/")
            def index():
                return "hello"
        """,
        "site/probes.py": """
            def init_probes(flask_app):
                @flask_app.route("/healthz")
                def healthz():
                    return "ok"

                flask_app.add_url_rule("/readyz", "readyz", healthz)
        """,
    }
    app = resolved(files, ["gunicorn", "site:app"])
    assert sorted(paths(app)) == ["/", "/healthz", "/readyz"]
    assert app.complete


# add_url_rule and class-based views ----------------------------------------------------------


VIEWS = """
    from flask.views import MethodView, View


    class Items(MethodView):
        def get(self):
            return []

        def post(self):
            return {}


    class Status(View):
        methods = ["GET", "HEAD"]

        def dispatch_request(self):
            return "ok"


    class Plain(View):
        def dispatch_request(self):
            return "plain"
"""


def test_add_url_rule_with_method_views_plain_views_and_functions() -> None:
    main = """
        from flask import Flask

        from myapp.views import Items, Plain, Status


        def ping():
            return "pong"


        app = Flask(__name__)
        app.add_url_rule("/items", view_func=Items.as_view("items"))
        app.add_url_rule("/status", "status", Status.as_view("status"))
        app.add_url_rule("/plain", view_func=Plain.as_view("plain"))
        app.add_url_rule("/ping", "ping", ping, methods=["POST"])
    """
    app = resolved({"myapp/main.py": main, "myapp/views.py": VIEWS}, ["gunicorn", "myapp.main"])
    by_path = {route.path: route for route in app.routes}
    assert by_path["/items"].methods == ("GET", "POST", "HEAD", "OPTIONS")
    assert by_path["/items"].handler is not None and by_path["/items"].handler.name == "Items.get"
    assert by_path["/status"].methods == ("GET", "HEAD", "OPTIONS")
    assert by_path["/plain"].methods == ("GET", "HEAD", "OPTIONS")
    assert by_path["/ping"].methods == ("POST", "OPTIONS")
    assert app.serves("/ping") is None and app.serves("/ping", "POST") is not None
    assert app.serves("/items", "DELETE") is None


def test_a_view_class_preflight_did_not_read_may_serve_any_method() -> None:
    main = """
        from flask import Flask
        from somewhere_else import ThirdPartyView

        app = Flask(__name__)
        app.add_url_rule("/health", view_func=ThirdPartyView.as_view("health"))
    """
    app = resolved({"app.py": main}, ["gunicorn", "app:app"])
    assert app.serves("/health") is not None


# route syntax ---------------------------------------------------------------------------------


def test_converters_match_like_fastapi_parameters() -> None:
    main = """
        from flask import Flask

        app = Flask(__name__, static_folder=None)


        @app.route("/user/<int:user_id>")
        def user(user_id):
            return {}


        @app.route("/files/<path:rest>")
        def files(rest):
            return {}


        @app.route("/tag/<name>")
        def tag(name):
            return {}
    """
    app = resolved({"app.py": main}, ["gunicorn", "app:app"])
    assert app.serves("/user/42") is not None
    assert app.serves("/user/abc") is None
    assert app.serves("/files/a/b/c.txt") is not None
    assert app.serves("/tag/python") is not None
    assert app.serves("/tag/a/b") is None
    assert app.mounts == []


def test_strict_slashes() -> None:
    main = """
        from flask import Flask

        app = Flask(__name__)


        @app.get("/health")
        def health():
            return "ok"


        @app.get("/ready/")
        def ready():
            return "ok"


        @app.route("/live", strict_slashes=False)
        def live():
            return "ok"
    """
    app = resolved({"app.py": main}, ["gunicorn", "app:app"])
    assert app.serves("/health") is not None
    assert app.serves("/health/") is None  # 404 in Flask
    assert app.serves("/ready/") is not None
    assert app.serves("/ready") is not None  # a redirect to /ready/: 3xx counts as success
    assert app.serves("/live/") is not None
    assert app.serves("/static/app.css") is None and app.mounted("/static/app.css")


def test_fastapi_still_redirects_a_trailing_slash_both_ways() -> None:
    main = """
        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/health")
        def health():
            return "ok"
    """
    app = resolved({"app/main.py": main}, ["uvicorn", "app.main:app"])
    assert app.serves("/health/") is not None and app.serves("/health") is not None


# commands -------------------------------------------------------------------------------------


SIMPLE = """
    from flask import Flask

    app = Flask(__name__)


    @app.route("/health")
    def health():
        return "ok"
"""

FACTORY = """
    from flask import Flask


    def create_app(config_name="default"):
        app = Flask(__name__)

        @app.route("/ready")
        def ready():
            return "ok"

        return app
"""


def test_flask_run_finds_app_py_or_wsgi_py_where_it_runs() -> None:
    command, app, _ = commanded(
        {"svc/app.py": SIMPLE}, ["flask", "run", "--host=0.0.0.0"], near="svc"
    )
    assert command is not None and (command.server, command.port) == ("flask", 5000)
    assert app is not None and paths(app) == ["/health"]
    wsgi = "from svc.factory import create_app\n\napplication = create_app()\n"
    files = {"svc/app.py": SIMPLE, "svc/wsgi.py": wsgi, "svc/factory.py": FACTORY}
    assert paths(resolved(files, ["flask", "run"], near="svc")) == ["/ready"]  # wsgi.py first


def test_flask_run_without_an_app_to_find() -> None:
    _, app, why = commanded({"main.py": SIMPLE}, ["flask", "run"])
    assert app is None and why is not None and "no wsgi.py or app.py" in why
    files = {"app.py": SIMPLE, ".flaskenv": "FLASK_APP=main.py\n", "main.py": SIMPLE}
    _, app, why = commanded(files, ["flask", "run"])
    assert app is None and why is not None and ".flaskenv" in why


def test_flask_app_from_the_option_or_the_environment() -> None:
    files = {"pkg/__init__.py": FACTORY, "other.py": SIMPLE}
    assert paths(resolved(files, ["flask", "--app", "pkg:create_app", "run"])) == ["/ready"]
    assert paths(resolved(files, ["flask", "--app", "pkg", "run", "-p", "8080"])) == ["/ready"]
    assert paths(resolved(files, ["flask", "run"], env={"FLASK_APP": "other.py"})) == ["/health"]
    env = {"FLASK_APP": "pkg:create_app('production')"}
    assert paths(resolved(files, ["python", "-m", "flask", "run"], env=env)) == ["/ready"]


def test_flask_ports_and_subcommands() -> None:
    assert server_command(["flask", "run", "--port", "8080"]) == ServerCommand(
        "flask", None, False, 8080, "--port 8080", None
    )
    command = server_command(["flask", "run"], {"FLASK_RUN_PORT": "9000"})
    assert command is not None and command.port == 9000
    assert server_command(["flask", "db", "upgrade"]) is None
    chained = server_command(["sh", "-c", "flask db upgrade && flask run -h 0.0.0.0 -p 5001"])
    assert chained is not None and chained.port == 5001


def test_waitress_serve() -> None:
    files = {"pkg/__init__.py": FACTORY, "site.py": SIMPLE}
    command, app, _ = commanded(files, ["waitress-serve", "--port=8081", "site:app"])
    assert command is not None and command.port == 8081
    assert app is not None and paths(app) == ["/health"]
    command, app, _ = commanded(files, ["waitress-serve", "--call", "pkg:create_app"])
    assert command is not None and (command.port, command.factory) == (8080, True)
    assert app is not None and paths(app) == ["/ready"]
    listen = server_command(["waitress-serve", "--listen=0.0.0.0:6543", "site:app"])
    assert listen is not None and listen.port == 6543


def test_factories_through_gunicorn() -> None:
    files = {"pkg/__init__.py": FACTORY}
    for target in ("pkg:create_app()", "pkg:create_app('production')"):
        command, app, _ = commanded(files, ["gunicorn", "-w", "4", target])
        assert command is not None and command.factory and command.port == 8000
        assert app is not None and paths(app) == ["/ready"]


def test_python_app_py_runs_the_development_server() -> None:
    main = (
        textwrap.dedent(SIMPLE)
        + '\n\nif __name__ == "__main__":\n    app.run(host="0.0.0.0", port=5001)\n'
    )
    command, app, _ = commanded({"web/app.py": main}, ["python", "app.py"], near="web")
    assert command is not None and (command.server, command.port) == ("python", 5001)
    assert app is not None and paths(app) == ["/health"]
    env_port = textwrap.dedent(SIMPLE) + (
        '\n\nif __name__ == "__main__":\n'
        '    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", 5000)))\n'
    )
    command, _, _ = commanded(
        {"app.py": env_port}, ["python", "-u", "app.py"], env={"PORT": "7000"}
    )
    assert command is not None and command.port == 7000
    unguarded = textwrap.dedent(SIMPLE) + '\napp.run(host="0.0.0.0", port=5002)\n'
    command, _, _ = commanded({"app.py": unguarded}, ["python", "app.py"])
    assert command is not None and command.port == 5002
    # no `app.run` (or one in a function): not a server preflight knows
    assert commanded({"app.py": SIMPLE}, ["python", "app.py"])[0] is None
    in_function = textwrap.dedent(SIMPLE) + "\n\ndef serve():\n    app.run(port=5003)\n"
    assert commanded({"app.py": in_function}, ["python", "app.py"])[0] is None


def test_quart_apps_resolve_too() -> None:
    main = """
        from quart import Quart

        app = Quart(__name__)


        @app.get("/healthz")
        async def healthz():
            return "ok"
    """
    app = resolved({"app.py": main}, ["hypercorn", "app:app", "--bind", "0.0.0.0:8000"])
    assert paths(app) == ["/healthz"]


# partial route tables -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("registration", "reason"),
    [
        (
            "for blueprint in BLUEPRINTS:\n                app.register_blueprint(blueprint)",
            "dynamic",
        ),
        ('app.register_blueprint(getattr(views, "bp"))', "dynamic"),
        ("app.register_blueprint(make_blueprint())", "not a blueprint"),
        ("Api(app)", "flask_restx"),
        ("api.init_app(app)", "flask_smorest"),
        ('app.register_blueprint(bp, url_prefix=os.environ["PREFIX"])', "dynamic"),
    ],
)
def test_what_preflight_cannot_follow_makes_the_app_partial(registration: str, reason: str) -> None:
    main = f"""
        import os

        from flask import Flask
        from flask_restx import Api

        from myapp import views
        from myapp.blueprints import BLUEPRINTS, make_blueprint
        from myapp.extensions import api
        from myapp.health import bp


        def create_app():
            app = Flask(__name__)
            {registration}
            return app
    """
    files = {
        "myapp/__init__.py": main,
        "myapp/health.py": HEALTH_BP,
        "myapp/views.py": HEALTH_BP,
        "myapp/blueprints.py": "from myapp.health import bp\n\nBLUEPRINTS = [bp]\n",
        "myapp/extensions.py": "from flask_smorest import Api\n\napi = Api()\n",
    }
    app = resolved(files, GUNICORN)
    assert not app.complete
    assert any(reason in why for why in app.partial), app.partial


def test_extensions_that_add_no_routes_leave_the_table_complete() -> None:
    registration = "CORS(app)\n            db.init_app(app)\n            app.register_blueprint(bp)"
    imports = "from flask_cors import CORS\n            from myapp.health import bp, db"
    files = {"myapp/__init__.py": factory(registration, imports), "myapp/health.py": HEALTH_BP}
    app = resolved(files, GUNICORN)
    assert app.complete and paths(app) == ["/health/ready"]


def test_a_blueprint_from_outside_registered_under_a_prefix_serves_that_prefix() -> None:
    registration = 'app.register_blueprint(swagger_ui, url_prefix="/docs")'
    imports = "from flask_swagger_ui import get_swaggerui_blueprint as swagger_ui"
    app = resolved({"myapp/__init__.py": factory(registration, imports)}, GUNICORN)
    assert app.complete and app.mounted("/docs/index.html") and not app.mounted("/ready")


# the rules on Flask services ------------------------------------------------------------------


def deployment(command: str, probe: str, port: int = 8000, env: str = "") -> str:
    return f"""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          selector:
            matchLabels:
              app: web
          template:
            metadata:
              labels:
                app: web
            spec:
              containers:
                - name: web
                  image: registry.example.com/web:1
                  command: {command}{env}
                  ports:
                    - containerPort: {port}
                  readinessProbe:
                    httpGet:
                      path: {probe}
                      port: {port}
    """


def flask_service(main: str, command: str, probe: str, port: int = 8000) -> dict[str, str]:
    return {
        "requirements.txt": "flask\ngunicorn\n",
        "myapp/__init__.py": main,
        "myapp/health.py": HEALTH_BP,
        "k8s/deployment.yaml": deployment(command, probe, port),
    }


def test_prb002_on_a_flask_factory_and_silent_when_served(project: Project) -> None:
    main = factory('app.register_blueprint(bp, url_prefix="/probes")')
    command = '["gunicorn", "-b", "0.0.0.0:8000", "myapp:create_app()"]'
    result = project(flask_service(main, command, "/health/ready"))
    assert codes(result) == ["PRB002"]
    assert "/probes/ready" in result.findings[0].message
    assert codes(project(flask_service(main, command, "/probes/ready"))) == []


def test_prb002_silent_on_a_partial_flask_app(project: Project) -> None:
    main = factory(
        "Api(app)\n            app.register_blueprint(bp)",
        "from flask_restx import Api\n            from myapp.health import bp",
    )
    command = '["gunicorn", "-b", "0.0.0.0:8000", "myapp:create_app()"]'
    result = project(flask_service(main, command, "/api/ready"))
    assert codes(result) == []
    assert any("PRB002 silent" in note and "flask_restx" in note for note in result.notes)


def test_prb006_knows_flask_runs_on_5000(project: Project) -> None:
    files = {
        "requirements.txt": "flask\n",
        "app.py": SIMPLE,
        "k8s/deployment.yaml": deployment('["flask", "run", "--host", "0.0.0.0"]', "/health"),
    }
    assert codes(project(files)) == ["PRB006"]
    files["k8s/deployment.yaml"] = deployment(
        '["flask", "run", "--host", "0.0.0.0"]', "/health", 5000
    )
    assert codes(project(files)) == []


def test_env001_on_a_flask_app_that_reads_a_variable_at_import(project: Project) -> None:
    files = {
        "requirements.txt": "flask\ngunicorn\n",
        "myapp/__init__.py": factory("app.config.from_object(config)", "from myapp import config"),
        "myapp/config.py": 'import os\n\nSECRET_KEY = os.environ["SECRET_KEY"]\n',
        "k8s/deployment.yaml": deployment(
            '["gunicorn", "-b", "0.0.0.0:8000", "myapp:create_app()"]', "/"
        ),
    }
    assert "ENV001" in codes(project(files))


def test_python_2_syntax_is_not_read_and_not_a_parse_error(project: Project) -> None:
    """An old Flask service on a python2 image: `lambda (k, v):` is valid there."""
    files = {
        "requirements.txt": "flask\n",
        "app.py": "from flask import Flask\n\napp = Flask(__name__)\npairs = map(lambda (k, v): k, {}.items())\n",
    }
    result = project(files, select=["PF001"])
    assert codes(result) == []
    assert any("Python 2 syntax" in note for note in result.notes)


def test_python_app_py_is_found_where_the_image_copied_it() -> None:
    """`COPY src/ .` then `python app.py`: the script is services/main/src/app.py."""
    runs = (
        SIMPLE + '\n\n    if __name__ == "__main__":\n        app.run(host="0.0.0.0", port=8000)\n'
    )
    python = {
        "services/main/src/app.py": parse_python(
            "services/main/src/app.py", textwrap.dedent(runs).lstrip("\n")
        )
    }
    argv = ["python", "app.py"]
    assert python_run(argv, python, "services/main", {}) is None  # not where the context is
    command = python_run(
        argv, python, "services/main", {}, ("/main", {"/main/app.py": "services/main/src/app.py"})
    )
    assert command is not None and (command.target, command.port) == (
        "services/main/src/app.py:app",
        8000,
    )
