"""The curated tables in preflight.knowledge.executables: shape and a few load-bearing facts."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from pathlib import Path

import pytest

from preflight.knowledge import executables as kn


def _is_normalised(name: str) -> bool:
    return name == kn.normalise(name) and name != ""


def _split_key(key: str) -> tuple[str, str | None]:
    if "[" in key:
        assert key.endswith("]"), key
        name, extra = key[:-1].split("[", 1)
        return name, extra
    return key, None


def test_console_script_providers_are_normalised_names() -> None:
    for executable, dists in kn.CONSOLE_SCRIPTS.items():
        assert dists, executable
        assert all(_is_normalised(dist) for dist in dists), (executable, dists)


def test_brings_keys_and_values_are_normalised() -> None:
    for key, dists in kn.BRINGS.items():
        name, extra = _split_key(key)
        assert _is_normalised(name), key
        assert extra is None or _is_normalised(extra), key
        for value in dists:
            dist, dist_extra = _split_key(value)
            assert _is_normalised(dist), (key, value)
            assert dist_extra is None or _is_normalised(dist_extra), (key, value)


def test_brings_with_an_extra_lists_the_plain_distribution_too() -> None:
    for key, dists in kn.BRINGS.items():
        for value in dists:
            if "[" in value:
                assert value.split("[", 1)[0] in dists, (key, value)


def test_extra_only_names_a_known_executable_and_a_normalised_extra() -> None:
    for executable, (dist, extra) in kn.EXTRA_ONLY.items():
        assert executable in kn.CONSOLE_SCRIPTS
        assert _is_normalised(dist) and _is_normalised(extra)


def test_every_extra_only_case_is_reachable_through_brings() -> None:
    # Installing dist[extra] must bring a provider of the executable (or dist provides it).
    for executable, (dist, extra) in kn.EXTRA_ONLY.items():
        providers = kn.executable_providers(executable)
        brought = kn.BRINGS.get(f"{dist}[{extra}]", frozenset()) | {dist}
        assert providers & brought, executable


def test_modules_values_are_normalised_or_stdlib() -> None:
    for module, dist in kn.MODULES.items():
        assert "." not in module, module  # keys are top-level packages
        assert dist == "" or _is_normalised(dist), (module, dist)


@pytest.mark.parametrize(
    ("module", "dist"),
    [
        ("http", ""),
        ("venv", ""),
        ("json", ""),
        ("uvicorn", "uvicorn"),
        ("gunicorn", "gunicorn"),
        ("fastapi", "fastapi-cli"),
        ("pip", "pip"),
        ("uv", "uv"),
        ("IPython", "ipython"),
        ("dotenv", "python-dotenv"),
    ],
)
def test_modules(module: str, dist: str) -> None:
    assert kn.MODULES[module] == dist


def test_executable_providers_known_and_fallback() -> None:
    assert kn.executable_providers("gunicorn") == {"gunicorn"}
    assert "fastapi-cli" in kn.executable_providers("fastapi")
    assert kn.executable_providers("django-admin") == {"django"}
    assert kn.executable_providers("huey_consumer") == {"huey"}
    assert kn.executable_providers("rqworker") == {"rq"}
    assert kn.executable_providers("airflow") >= {"apache-airflow", "apache-airflow-core"}
    assert kn.executable_providers("faust") == {"faust", "faust-streaming"}
    assert kn.executable_providers("/usr/local/bin/uvicorn") == {"uvicorn"}
    # Not listed: the distribution named like the program.
    assert "Some_Tool" not in kn.CONSOLE_SCRIPTS
    assert kn.executable_providers("Some_Tool") == {"some-tool"}


def test_no_script_distributions_are_not_listed_as_providers() -> None:
    providers = set().union(*kn.CONSOLE_SCRIPTS.values())
    # Verified from wheels: these declare no console script.
    assert {"uvicorn-worker", "sqlmodel", "starlette", "ptvsd", "sentry-sdk"}.isdisjoint(providers)


def test_brings() -> None:
    assert kn.BRINGS["uvicorn-worker"] >= {"gunicorn", "uvicorn"}
    assert kn.BRINGS["fastapi[standard]"] >= {"fastapi-cli", "uvicorn"}
    assert kn.BRINGS["fastapi[all]"] >= {"fastapi-cli", "uvicorn"}
    assert "uvicorn" in kn.BRINGS["fastapi-cli[standard]"]
    assert "watchfiles" in kn.BRINGS["uvicorn[standard]"]
    assert kn.BRINGS["sqlmodel"] >= {"sqlalchemy", "pydantic"}
    assert "fastapi-cli" not in kn.BRINGS["fastapi"]  # plain fastapi does not run `fastapi`


def _closure(key: str) -> set[str]:
    seen: set[str] = set()
    pending = [key]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        pending.extend(kn.BRINGS.get(current, ()))
    return {item for item in seen if "[" not in item}


def test_brings_closure_reaches_the_fastapi_executable() -> None:
    assert kn.executable_providers("fastapi") & _closure("fastapi[standard]")
    assert "watchfiles" in _closure("apache-airflow-core")


def test_python_executables() -> None:
    assert {"python", "python3", "python3.8", "python3.12", "python3.14", "pypy3"} <= (
        kn.PYTHON_EXECUTABLES
    )
    assert "python2" not in kn.PYTHON_EXECUTABLES


def test_base_tools_are_conservative() -> None:
    assert {"sh", "bash", "env", "cat", "sleep", "grep", "sed", "awk", "pip", "pip3.12"} <= (
        kn.BASE_TOOLS
    )
    # Not in python:3.X-slim.
    assert {"curl", "wget", "ps", "git", "tini", "gosu", "gunicorn"}.isdisjoint(kn.BASE_TOOLS)
    assert "bash" not in kn.BASE_TOOLS_ALPINE
    assert {"sh", "wget", "ps", "python3", "pip"} <= kn.BASE_TOOLS_ALPINE


def test_shell_builtins() -> None:
    assert {"cd", "export", "set", ".", ":", "exec", "command", "[", "[[", "source"} <= (
        kn.SHELL_BUILTINS
    )
    assert {"env", "nohup", "sh", "python"}.isdisjoint(kn.SHELL_BUILTINS)


def test_wrapper_rules_are_valid() -> None:
    for program, rule in kn.WRAPPERS.items():
        if rule.startswith("subcommand:"):
            assert rule.split(":", 1)[1], program
        else:
            assert rule in kn.WRAPPER_RULES, (program, rule)


def test_wrappers() -> None:
    assert kn.WRAPPERS["tini"] == "options-then-dashdash"
    assert kn.WRAPPERS["gosu"] == "one-arg"
    assert kn.WRAPPERS["uv"] == "subcommand:run"
    assert kn.WRAPPERS["newrelic-admin"] == "subcommand:run-program"
    assert "xargs" not in kn.WRAPPERS


@pytest.mark.parametrize(
    ("ref", "name"),
    [
        ("docker.io/library/python:3.12-slim@sha256:abc", "python"),
        ("python:3.12", "python"),
        ("python", "python"),
        ("library/python:3.12-alpine", "python"),
        (
            "docker.io/tiangolo/uvicorn-gunicorn-fastapi:python3.11",
            "tiangolo/uvicorn-gunicorn-fastapi",
        ),
        ("tiangolo/uvicorn-gunicorn-fastapi:python3.11", "tiangolo/uvicorn-gunicorn-fastapi"),
        ("ghcr.io/astral-sh/uv:python3.12-bookworm-slim", "ghcr.io/astral-sh/uv"),
        ("localhost:5000/myimg:1", "localhost:5000/myimg"),
        ("localhost:5000/myimg", "localhost:5000/myimg"),
        ("Python:3.12", "python"),
        ("public.ecr.aws/docker/library/python:3.12", "python"),
        ("gcr.io/distroless/python3-debian12:nonroot", "gcr.io/distroless/python3-debian12"),
        ("python@sha256:0123", "python"),
    ],
)
def test_image_name(ref: str, name: str) -> None:
    assert kn.image_name(ref) == name


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


@pytest.mark.parametrize(
    ("ref", "table"),
    [
        ("python:3.12-slim", "bare"),
        ("pypy:3.10", "bare"),
        ("gcr.io/distroless/python3-debian12", "bare"),
        ("cgr.dev/chainguard/python:latest-dev", "bare"),
        ("debian:bookworm-slim", "os"),
        ("alpine:3.20", "os"),
        ("ubuntu:24.04", "os"),
        ("gcr.io/distroless/static-debian12", "os"),
        ("tiangolo/uvicorn-gunicorn-fastapi:python3.11", "bundling"),
        ("tiangolo/uvicorn-gunicorn:python3.11-slim", "bundling"),
        ("ghcr.io/astral-sh/uv:python3.12-bookworm-slim", "bundling"),
        ("myorg/base:1", None),
    ],
)
def test_image_classification(ref: str, table: str | None) -> None:
    name = kn.image_name(ref)
    found = {
        "bare": _matches(name, kn.BASE_IMAGES_BARE_PYTHON),
        "os": _matches(name, kn.BASE_IMAGES_OS),
        "bundling": _matches(name, kn.BASE_IMAGES_BUNDLING),
    }
    assert [key for key, hit in found.items() if hit] == ([table] if table else [])


def test_bundling() -> None:
    assert kn.BASE_IMAGES_BUNDLING["tiangolo/uvicorn-gunicorn-fastapi"] >= {
        "fastapi",
        "uvicorn",
        "gunicorn",
    }
    assert kn.BASE_IMAGES_BUNDLING["ghcr.io/astral-sh/uv"] == {"uv"}
    for pattern, dists in kn.BASE_IMAGES_BUNDLING.items():
        assert pattern == pattern.lower()
        assert all(_is_normalised(dist) for dist in dists), pattern


def test_a_vendors_versioned_build_of_a_stock_image_is_stock() -> None:
    from preflight.knowledge.images import javascript_framework, stock_infrastructure

    assert stock_infrastructure("registry.redhat.io/rhel9/postgresql-16:latest") == "postgresql"
    assert stock_infrastructure("quay.io/sclorg/redis-7-c9s") is None  # not a version suffix
    assert stock_infrastructure("bitnami/redis-7.2") == "redis"
    assert stock_infrastructure("gcr.io/cloudsql-docker/gce-proxy:1.33") == "gce-proxy"
    assert stock_infrastructure("acme/api-2") is None
    assert javascript_framework("someone/react-builds:todo_v1")
    assert not javascript_framework("acme/reactor:1")


def test_a_vendor_database_image_is_never_tied_to_the_only_dockerfile(tmp_path: Path) -> None:
    """The Django app's Dockerfile is the only one; the database container runs Red Hat's
    PostgreSQL: guessing the tie made ENV001 read the app's settings into the database."""
    files = {
        "Dockerfile": 'FROM python:3.12-slim\nCOPY . .\nCMD ["gunicorn", "app.wsgi"]\n',
        "k8s/db.yaml": (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: db\nspec:\n"
            "  template:\n    spec:\n      containers:\n        - name: db\n"
            "          image: registry.redhat.io/rhel9/postgresql-16\n"
        ),
    }
    from conftest import write_tree
    from preflight.config import Config
    from preflight.engine import build

    graph = build(write_tree(tmp_path, files), ".", Config()).graph
    (node,) = graph.containers
    assert node.run.dockerfile is None
