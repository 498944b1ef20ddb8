from __future__ import annotations

import textwrap

from preflight.parse.compose import parse_compose

COMPOSE = textwrap.dedent(
    """\
    x-common: &common
      environment:
        LOG_LEVEL: info
      env_file: .env
      restart: unless-stopped

    services:
      api:
        <<: *common
        build: ./api
        command: gunicorn "app:create_app()" --bind 0.0.0.0:${PORT:-8000}
        ports:
          - "8000:8000"
          - target: 9000
            published: 9001
        depends_on:
          db:
            condition: service_healthy
        healthcheck:
          test: ["CMD", "curl", "-f", "http://localhost:8000/health"]
      worker:
        <<: *common
        build:
          context: .
          dockerfile: docker/worker.Dockerfile
          target: runtime
        entrypoint: ["celery", "-A", "app"]
        environment:
          - LOG_LEVEL=debug
          - SECRET_KEY
          - EMPTY=
        env_file:
          - path: ./worker.env
            required: false
          - common.env
      db:
        image: postgres:16
        environment:
          POSTGRES_PASSWORD: example
          POSTGRES_PORT: 5432
        healthcheck:
          test: pg_isready -U postgres
        depends_on: []
    """
)


def test_services_build_command_environment() -> None:
    result = parse_compose("deploy/docker-compose.yml", COMPOSE)
    assert result.problems == ()
    api, worker, db = result.services
    assert [s.name for s in result.services] == ["api", "worker", "db"]
    assert api.span.line == 8 and api.span.col == 3

    assert api.build_context == "deploy/api"
    assert api.dockerfile == "deploy/api/Dockerfile"
    assert api.build_target is None
    assert api.command is not None
    assert api.command.argv == ("gunicorn", "app:create_app()", "--bind", "0.0.0.0:${PORT:-8000}")
    assert api.command.shell_text is None
    assert api.command.span.line == 11
    assert api.ports == ("8000:8000", "9001:9000")
    assert api.depends_on == ("db",)
    assert api.healthcheck_test == ("CMD", "curl", "-f", "http://localhost:8000/health")
    assert api.healthcheck_span is not None and api.healthcheck_span.line == 20
    # from the merged anchor
    assert [(e.name, e.value) for e in api.environment] == [("LOG_LEVEL", "info")]
    assert api.environment[0].span.line == 3
    assert [p for p, _ in api.env_files] == ["deploy/.env"]

    assert worker.build_context == "deploy"
    assert worker.dockerfile == "deploy/docker/worker.Dockerfile"
    assert worker.build_target == "runtime"
    assert worker.entrypoint is not None and worker.entrypoint.argv == ("celery", "-A", "app")
    assert [(e.name, e.value) for e in worker.environment] == [
        ("LOG_LEVEL", "debug"),
        ("SECRET_KEY", None),
        ("EMPTY", ""),
    ]
    assert [e.span.line for e in worker.environment] == [29, 30, 31]
    assert [(p, s.line) for p, s in worker.env_files] == [
        ("deploy/worker.env", 33),
        ("deploy/common.env", 35),
    ]

    assert db.build_context is None and db.dockerfile is None
    assert db.image == "postgres:16"
    assert [(e.name, e.value) for e in db.environment] == [
        ("POSTGRES_PASSWORD", "example"),
        ("POSTGRES_PORT", "5432"),
    ]
    assert "example" not in repr(db)
    assert db.healthcheck_test == ("CMD-SHELL", "pg_isready -U postgres")
    assert db.depends_on == ()


def test_root_compose_file_paths() -> None:
    text = "services:\n  web:\n    build: .\n    env_file: [.env]\n"
    (web,) = parse_compose("compose.yaml", text).services
    assert web.build_context == ""
    assert web.dockerfile == "Dockerfile"
    assert web.env_files[0][0] == ".env"


def test_bad_command_and_wrong_types_are_problems() -> None:
    text = textwrap.dedent(
        """\
        services:
          a:
            image: x
            command: echo "unterminated
            environment: 3
            ports: 8080
          b: just-a-string
          c:
            image: ok
        """
    )
    result = parse_compose("compose.yml", text)
    lines = {(p.span.line, p.message.split(" ")[0]) for p in result.problems}
    assert (4, "`services.a.command`") in lines
    assert (5, "`services.a.environment`") in lines
    assert (6, "`services.a.ports`") in lines
    assert (7, "`services.b`") in lines
    assert [s.name for s in result.services] == ["a", "c"]
    assert result.services[0].command is None


def test_syntax_error_is_a_problem() -> None:
    result = parse_compose("compose.yml", "services:\n  web:\n    image: [x\n")
    (problem,) = result.problems
    assert problem.span.line == 3 and problem.message.startswith("invalid YAML")
    assert result.services == ()


def test_legacy_version_one_file() -> None:
    result = parse_compose("docker-compose.yml", "web:\n  build: .\n  command: python app.py\n")
    (web,) = result.services
    assert web.command is not None and web.command.argv == ("python", "app.py")


def test_compose_merge_tags_reset_and_override_are_valid() -> None:
    """Compose 2.24+ `!reset` / `!override` (seen in DefectDojo's override files): no PF001."""
    from preflight.parse.compose import parse_compose

    text = (
        "services:\n"
        "  nginx: !reset\n"
        "  web:\n"
        "    image: web:1\n"
        "    ports: !reset []\n"
        "    command: !reset\n"
        "    depends_on: !override\n"
        "      db:\n"
        "        condition: service_healthy\n"
        "    environment: !override\n"
        "      A: '1'\n"
    )
    result = parse_compose("docker-compose.override.yml", text)
    assert result.problems == ()
    assert [service.name for service in result.services] == ["web"]
    assert [v.name for v in result.services[0].environment] == ["A"]
