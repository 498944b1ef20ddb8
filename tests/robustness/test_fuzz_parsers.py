"""Property-based tests: every parser takes any text without raising, and says where it broke.

Inputs: random text, random bytes (decoded as discovery would, or with replacement characters),
and structured mutations of valid files (truncation, deleted/duplicated lines, swapped tokens,
wrong types in known fields). Properties: the parser returns (never raises, RecursionError
included); every span in what it returns — problems first of all — points into the file
(line >= 1, col >= 1, not past the last line); the end-to-end run over a repository with one
broken file still reports the known PKG001 and has no internal error.

The normal suite runs ``NORMAL_EXAMPLES`` examples per target; the ``long_fuzz`` tests run
``LONG_EXAMPLES`` (``PREFLIGHT_LONG_FUZZ=1``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from preflight.config import Config
from preflight.discover import discover, real_name
from preflight.engine import run
from preflight.parse.compose import parse_compose
from preflight.parse.dockerfile import parse_dockerfile
from preflight.parse.envfile import parse_env_file
from preflight.parse.lockfile import parse_lock
from preflight.parse.manifests import parse_manifests
from preflight.parse.procfile import parse_procfile
from preflight.parse.pyproject import parse_pyproject
from preflight.parse.python import parse_python
from preflight.parse.requirements import parse_requirements
from preflight.parse.shell import invocations, shell_invocations, split_shell

from ._support import (
    EXAMPLES,
    LONG_EXAMPLES,
    NORMAL_EXAMPLES,
    assert_span_ok,
    fuzz_settings,
    pkg001_tree,
    spans_in,
    write_files,
)

# --------------------------------------------------------------------------- valid seeds

SEEDS: dict[str, list[str]] = {
    "pyproject": [
        """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "orders-api"
version = "1.4.0"
requires-python = ">=3.11"
dependencies = ["fastapi>=0.115", "uvicorn[standard]>=0.30", "sqlalchemy[asyncio]>=2.0"]

[project.optional-dependencies]
server = ["gunicorn>=22"]

[project.scripts]
serve = "app.main:run"

[dependency-groups]
dev = ["pytest", {include-group = "lint"}]
lint = ["ruff"]

[tool.preflight]
ignore = ["PRB001"]
""",
        """\
[tool.poetry]
name = "svc"
version = "0.1.0"

[tool.poetry.dependencies]
python = "^3.11"
fastapi = "^0.110"
gunicorn = { version = "^22", optional = true }
psycopg2 = { version = "^2.9", extras = ["binary"] }

[tool.poetry.group.dev.dependencies]
pytest = "^8"

[tool.poetry.extras]
server = ["gunicorn"]
""",
    ],
    "requirements": [
        """\
# production
-r base.txt
-c constraints.txt
fastapi==0.115.0
uvicorn[standard]>=0.30 ; python_version >= "3.11"
gunicorn==22.0.0 \\
    --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000
-e ./libs/common
psycopg[binary]>=3.2
git+https://github.com/example/pkg.git@main#egg=pkg
--index-url https://pypi.example.com/simple
""",
    ],
    "dockerfile": [
        """\
# syntax=docker/dockerfile:1
ARG PY=3.12
FROM python:${PY}-slim AS build
WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 DATABASE_URL=postgresql://app:pw@db/app
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache pip install . && \\
    pip install gunicorn
COPY --chown=app:app . .

FROM build AS final
USER 10001
EXPOSE 8000
HEALTHCHECK CMD curl -f http://localhost:8000/health || exit 1
ENTRYPOINT ["/app/entrypoint.sh"]
CMD ["gunicorn", "app.main:app", "-k", "uvicorn.workers.UvicornWorker", "-b", "0.0.0.0:8000"]
""",
        """\
FROM python:3.11
COPY requirements.txt .
RUN pip install -r requirements.txt
RUN <<EOF
set -e
pip install uvicorn
EOF
SHELL ["/bin/bash", "-c"]
CMD exec uvicorn app.main:app --host 0.0.0.0 --port $PORT
""",
    ],
    "manifests": [
        """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          image: ghcr.io/example/api:1
          command: ["alembic", "upgrade", "head"]
      containers:
        - name: api
          image: ghcr.io/example/api:1
          command: ["gunicorn"]
          args: ["app.main:app", "-b", "0.0.0.0:8000"]
          ports:
            - name: http
              containerPort: 8000
          env:
            - name: DATABASE_URL
              valueFrom:
                secretKeyRef: {name: api, key: DATABASE_URL}
            - name: LOG_LEVEL
              value: info
          envFrom:
            - configMapRef: {name: api}
            - secretRef: {name: api, optional: true}
              prefix: APP_
          readinessProbe:
            httpGet: {path: /ready, port: http}
          livenessProbe:
            tcpSocket: {port: 8000}
          volumeMounts:
            - {name: cfg, mountPath: /etc/app}
---
apiVersion: v1
kind: Service
metadata: {name: api}
spec:
  ports:
    - port: 80
      targetPort: http
---
apiVersion: v1
kind: Secret
metadata: {name: api}
type: Opaque
stringData:
  DATABASE_URL: postgresql://u:p@db/app
data:
  SECRET_KEY: c2VjcmV0
---
apiVersion: v1
kind: ConfigMap
metadata: {name: api}
data:
  LOG_LEVEL: info
""",
        """\
apiVersion: v1
kind: List
items:
  - apiVersion: batch/v1
    kind: CronJob
    metadata: {name: nightly}
    spec:
      jobTemplate:
        spec:
          template:
            spec:
              containers:
                - name: job
                  image: x
                  command: [python, -m, app.jobs]
  - apiVersion: external-secrets.io/v1beta1
    kind: ExternalSecret
    metadata: {name: ext}
    spec:
      target: {name: api}
      data:
        - secretKey: TOKEN
          remoteRef: {key: prod/token}
""",
    ],
    "compose": [
        """\
x-common: &common
  environment:
    LOG_LEVEL: info
services:
  web:
    <<: *common
    build:
      context: .
      dockerfile: docker/Dockerfile
    command: gunicorn app.main:app -b 0.0.0.0:8000
    env_file: [.env.example]
    environment:
      - DATABASE_URL=postgresql://app:secret@db/app
    ports:
      - "8000:8000"
    depends_on:
      db:
        condition: service_healthy
  db:
    image: postgres:16
    healthcheck:
      test: ["CMD", "pg_isready"]
""",
    ],
    "envfile": [
        """\
# settings
DATABASE_URL=postgresql://app:app@localhost:5432/app
export SECRET_KEY="change-me"
DEBUG=false
EMPTY=
QUOTED='single # not a comment'
""",
    ],
    "procfile": [
        """\
web: gunicorn app.main:app --bind 0.0.0.0:$PORT
worker: python -m app.worker
release: alembic upgrade head
""",
    ],
    "python": [
        """\
import os
from functools import lru_cache

from fastapi import APIRouter, Depends, FastAPI
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_", env_file=".env")
    database_url: str = Field(alias="DATABASE_URL")
    secret_key: str = Field(min_length=32)
    pool_size: int = 5

    @field_validator("database_url")
    @classmethod
    def asyncpg(cls, value: str) -> str:
        return value.replace("postgresql://", "postgresql+asyncpg://", 1)


@lru_cache
def get_settings() -> Settings:
    return Settings()


engine = create_async_engine(get_settings().database_url, pool_pre_ping=True)
router = APIRouter(prefix="/api")
app = FastAPI()
app.include_router(router)


@app.get("/ready")
async def ready() -> dict[str, str]:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return {"status": os.environ.get("STATUS", "ok")}
""",
    ],
    "lock": [
        """\
version = 1
requires-python = ">=3.11"

[[package]]
name = "fastapi"
version = "0.115.0"

[[package]]
name = "SQLAlchemy"
version = "2.0.36"
""",
    ],
    "shell": [
        """\
#!/bin/sh
set -eu
# wait for the database
until pg_isready -h "$DB_HOST"; do sleep 1; done
alembic upgrade head
exec gosu app tini -- gunicorn app.main:app "$@" 2>&1 | tee /tmp/log
cat <<EOF > /tmp/x
not a command
EOF
""",
    ],
}

# Values of the wrong type for a known field, per syntax.
WRONG_TOML = [
    "5", '"x"', "[]", "{}", "true", "[1, 2]", "{ a = 1 }", "1979-05-27", '["a", 1]', "[[1]]",
    '[{include-group = 5}]', '{ version = 5 }', "-inf", '"""\nx"""', "[ { } ]",
]  # fmt: skip
WRONG_YAML = [
    "5", '"x"', "null", "~", "[]", "{}", '[{containerPort: "abc"}]', "true", "-1", "0x1F",
    "*undefined", "&a x", "!!binary AAAA", "{a: 1}", "[1, [2, [3]]]", "1.5e300",
    "99999999999999999999999", '"${VAR}"', "''", "[null]", "[{name: 5}]", "{name: [1]}",
    "!!python/object:os.system x", "|\n  block", "- a\n- b", "2001-12-14", "=", "<<",
]  # fmt: skip
WRONG_ENV = ["", "=", "==", '"', "'", "${X}", "\\", "a b c", "#", "export", "\t"]
WRONG_DOCKER = ["[]", '["', "[1, 2]", '{"a": 1}', "\\", "${", "$(", "<<EOF", "--mount=", "'", '"']
WRONG_PY = ["(", ")", "[", "lambda", "await", "*", "**", ":", "class", "def", "\\", "'''", "@"]

WRONG: dict[str, list[str]] = {
    "pyproject": WRONG_TOML,
    "lock": WRONG_TOML,
    "requirements": ["-r", "-e", "[", "@", ";", "==", "--hash", "\\", "#egg=", "file:"],
    "dockerfile": WRONG_DOCKER,
    "manifests": WRONG_YAML,
    "compose": WRONG_YAML,
    "envfile": WRONG_ENV,
    "procfile": [":", "", "web:", "::", "$PORT", "\\"],
    "python": WRONG_PY,
    "shell": ["'", '"', "$(", "`", "<<", "|", "&&", ";;", "(", ")", "{", "\\", "#"],
}

_SEPARATOR = {"pyproject": "=", "lock": "=", "envfile": "=", "manifests": ":", "compose": ":"}


@st.composite
def mutated(draw: st.DrawFn, target: str) -> str:
    """A valid seed with a few structured mutations applied."""
    text = draw(st.sampled_from(SEEDS[target]))
    wrong = WRONG[target]
    for _ in range(draw(st.integers(1, 4))):
        lines = text.split("\n")
        op = draw(
            st.sampled_from(
                ["truncate", "delete", "duplicate", "swap", "wrong", "insert", "indent", "splice"]
            )
        )
        index = draw(st.integers(0, max(len(lines) - 1, 0)))
        if op == "truncate":
            text = text[: draw(st.integers(0, len(text)))]
        elif op == "delete" and lines:
            del lines[index]
            text = "\n".join(lines)
        elif op == "duplicate" and lines:
            lines.insert(index, lines[index])
            text = "\n".join(lines)
        elif op == "swap":
            tokens = text.split(" ")
            if len(tokens) > 1:
                i = draw(st.integers(0, len(tokens) - 1))
                j = draw(st.integers(0, len(tokens) - 1))
                tokens[i], tokens[j] = tokens[j], tokens[i]
            text = " ".join(tokens)
        elif op == "wrong" and lines:
            value = draw(st.sampled_from(wrong))
            separator = _SEPARATOR.get(target)
            line = lines[index]
            if separator and separator in line:
                head = line.split(separator, 1)[0]
                lines[index] = f"{head}{separator} {value}"
            else:
                cut = draw(st.integers(0, len(line)))
                lines[index] = line[:cut] + value + line[cut:]
            text = "\n".join(lines)
        elif op == "insert":
            lines.insert(index, draw(st.text(max_size=40)))
            text = "\n".join(lines)
        elif op == "indent" and lines:
            lines[index] = draw(st.sampled_from(["", " ", "  ", "\t", "    "])) + lines[index]
            text = "\n".join(lines)
        elif op == "splice":
            other = draw(st.sampled_from([s for seeds in SEEDS.values() for s in seeds]))
            at = draw(st.integers(0, len(other)))
            text = text[: draw(st.integers(0, len(text)))] + other[at : at + 200]
    return text


def texts(target: str) -> st.SearchStrategy[str]:
    """Random text, random bytes decoded, and mutations of valid files, mixed."""
    return st.one_of(
        st.text(max_size=400),
        st.binary(max_size=400).map(lambda b: b.decode("utf-8", "replace")),
        st.text(alphabet=st.sampled_from(list("{}[]()\"'`:=-#&*!|>$\\ \n\t,.@<;")), max_size=200),
        mutated(target),
        mutated(target),
        mutated(target),
    )


# --------------------------------------------------------------------------- properties


def _problems(result: Any) -> tuple[Any, ...]:
    return tuple(getattr(result, "problems", ()))


def _check_parser(parse: Callable[[str, str], Any], path: str, text: str) -> None:
    result = parse(path, text)  # must not raise: not even RecursionError
    for problem in _problems(result):
        assert problem.message.strip(), problem
        assert_span_ok(problem.span, path, text)
    for span in spans_in(result):
        assert_span_ok(span, path)


def check_pyproject(text: str) -> None:
    result = parse_pyproject("svc/pyproject.toml", text)
    for problem in result.problems:
        assert_span_ok(problem.span, "svc/pyproject.toml", text)
    for span in spans_in(result):
        assert_span_ok(span, "svc/pyproject.toml")


def check_shell(text: str) -> None:
    commands = split_shell(text)
    assert commands is None or all(isinstance(word, str) for c in commands for word in c)
    shell_invocations(text)
    invocations(["sh", "-c", text])
    invocations(text.split())


def check_procfile(text: str) -> None:
    processes = parse_procfile("Procfile", text)
    for process in processes:
        assert_span_ok(process.span, "Procfile", text)


TARGETS: dict[str, tuple[str, Callable[[str], None]]] = {
    "parse_pyproject": ("pyproject", check_pyproject),
    "parse_requirements": (
        "requirements",
        lambda t: _check_parser(parse_requirements, "requirements/prod.txt", t),
    ),
    "parse_dockerfile": ("dockerfile", lambda t: _check_parser(parse_dockerfile, "Dockerfile", t)),
    "parse_manifests": ("manifests", lambda t: _check_parser(parse_manifests, "k8s/app.yaml", t)),
    "parse_compose": ("compose", lambda t: _check_parser(parse_compose, "compose.yaml", t)),
    "parse_env_file": ("envfile", lambda t: _check_parser(parse_env_file, ".env.example", t)),
    "parse_procfile": ("procfile", check_procfile),
    "parse_python": ("python", lambda t: _check_parser(parse_python, "app/main.py", t)),
    "parse_lock": ("lock", lambda t: _check_parser(parse_lock, "uv.lock", t)),
    "shell": ("shell", check_shell),
}


def _fuzz(name: str, examples: int) -> None:
    target, check = TARGETS[name]

    @fuzz_settings(examples)
    @given(texts(target))
    def prop(text: str) -> None:
        EXAMPLES[name] += 1
        check(text)

    prop()


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_parser_never_raises(name: str) -> None:
    _fuzz(name, NORMAL_EXAMPLES)


@pytest.mark.long_fuzz
@pytest.mark.parametrize("name", sorted(TARGETS))
def test_parser_never_raises_long(name: str) -> None:
    _fuzz(name, LONG_EXAMPLES)


# --------------------------------------------------------------------------- hand-picked types


@pytest.mark.parametrize(
    ("parse", "path", "text"),
    [
        (parse_pyproject, "pyproject.toml", '[project]\nname = "x"\ndependencies = 5\n'),
        (parse_pyproject, "pyproject.toml", '[project]\nname = "x"\ndependencies = [5, {}]\n'),
        (parse_pyproject, "pyproject.toml", "project = 5\n"),
        (parse_pyproject, "pyproject.toml", '[project]\noptional-dependencies = "x"\n'),
        (parse_pyproject, "pyproject.toml", "[project.scripts]\nserve = 5\n"),
        (parse_pyproject, "pyproject.toml", "[dependency-groups]\ndev = [{include-group = 5}]\n"),
        (parse_pyproject, "pyproject.toml", "[dependency-groups]\na = [{include-group = 'a'}]\n"),
        (parse_pyproject, "pyproject.toml", "[tool.poetry]\ndependencies = []\n"),
        (parse_pyproject, "pyproject.toml", "[tool.poetry.dependencies]\nx = 5\ny = [1]\n"),
        (
            parse_manifests,
            "k8s/d.yaml",
            'apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers: "x"\n',
        ),
        (
            parse_manifests,
            "k8s/d.yaml",
            'apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: a\n          ports: [{containerPort: "abc"}]\n          env: null\n',
        ),
        (parse_manifests, "k8s/d.yaml", "apiVersion: apps/v1\nkind: Deployment\nspec: [1]\n"),
        (
            parse_manifests,
            "k8s/d.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - 5\n        - [a]\n        - name: [x]\n          image: {a: 1}\n          command: 5\n          args: {a: b}\n          env: [5, {name: 5, value: [1]}, {name: X, valueFrom: 5}]\n          envFrom: {a: b}\n          readinessProbe: 5\n          livenessProbe: {httpGet: {port: [1], path: 5}}\n",
        ),
        (parse_manifests, "k8s/d.yaml", "apiVersion: 5\nkind: [Deployment]\nmetadata: x\n"),
        (
            parse_manifests,
            "k8s/s.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: [a, b]\nstringData: 5\n",
        ),
        (parse_manifests, "k8s/l.yaml", "apiVersion: v1\nkind: List\nitems: 5\n"),
        (
            parse_manifests,
            "k8s/l.yaml",
            "apiVersion: v1\nkind: List\nitems: [5, [1], {kind: List, apiVersion: v1, items: [{}]}]\n",
        ),
        (parse_compose, "compose.yaml", "services: 5\n"),
        (
            parse_compose,
            "compose.yaml",
            "services:\n  web: [1]\n  api:\n    command: {a: 1}\n    environment: 5\n    ports: [{target: abc}]\n    env_file: {a: 1}\n    build: [x]\n    depends_on: 5\n",
        ),
        (
            parse_compose,
            "compose.yaml",
            "services:\n  web:\n    environment: null\n    ports: null\n",
        ),
        (parse_compose, "compose.yaml", "- 1\n- 2\n"),
        (
            parse_env_file,
            ".env.example",
            "=\n==\nexport\nexport =\n'unterminated\nA=\"unterminated\n",
        ),
        (parse_dockerfile, "Dockerfile", "CMD []\n"),
        (
            parse_dockerfile,
            "Dockerfile",
            "FROM\nCMD\nENV\nARG\nCOPY\nWORKDIR\nUSER\nENTRYPOINT []\n",
        ),
        (parse_dockerfile, "Dockerfile", 'CMD [1, 2]\nENTRYPOINT {"a": 1}\n'),
        (parse_dockerfile, "Dockerfile", "FROM a AS b\nFROM b AS a\nCOPY --from=a x y\n"),
        (parse_dockerfile, "Dockerfile", "ENV A=${A}${A}${A}\nENV B=${A:-${B:-${C}}}\n"),
        (parse_dockerfile, "Dockerfile", "\\\n"),
        (
            parse_python,
            "app/x.py",
            "from fastapi import FastAPI\nclass Settings(make_base()):\n    x: int = 1\n",
        ),
        (
            parse_python,
            "app/x.py",
            "from pydantic_settings import BaseSettings\nclass S(BaseSettings, metaclass=M, **kw):\n    a: int = f()\n    b = lambda: 1\n    c: 'Annotated[int, Field(gt=\"x\")]' = ...\n",
        ),
    ],
)
def test_wrong_types_are_problems_not_crashes(
    parse: Callable[[str, str], Any], path: str, text: str
) -> None:
    _check_parser(parse, path, text)


# --------------------------------------------------------------------------- discovery


_NAME_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="/\0")
_NAMES = st.one_of(
    st.sampled_from(
        [
            "pyproject.toml",
            "requirements.txt",
            "Dockerfile",
            "compose.yaml",
            "k8s.yaml",
            ".env.example",
            "Procfile",
            "main.py",
            "run.sh",
            "uv.lock",
            "preflight.toml",
            "gunicorn.conf.py",
            "Dockerfile.prod",
            "x.dockerfile",
            "{{cookiecutter}}",
        ]
    ),
    st.text(_NAME_CHARS, min_size=1, max_size=20).filter(
        lambda n: n not in (".", "..") and len(n.encode()) < 200
    ),
)


@st.composite
def trees(draw: st.DrawFn) -> list[tuple[str, bytes]]:
    entries = []
    for _ in range(draw(st.integers(1, 8))):
        parts = draw(st.lists(_NAMES, min_size=1, max_size=3))
        content = draw(st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
        entries.append(("/".join(parts), content))
    return entries


def _check_discover(entries: list[tuple[str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for rel, content in entries:
            path = root / rel
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
            except OSError:
                continue  # a name clashes with an existing file or directory: skip it
        inventory = discover(root)
        paths = [f.path for f in inventory.files]
        assert paths == sorted(paths)
        for source in inventory.files:
            assert not source.path.startswith(("/", "./")) and "//" not in source.path
            assert (root / "/".join(map(real_name, source.path.split("/")))).is_file()
            assert "\r" not in source.text
        result = run(root, "repo", Config())
        assert result.internal_errors == []
        for finding in result.findings:
            assert finding.span.line >= 1, finding


def test_discover_and_run_never_raise() -> None:
    @fuzz_settings(NORMAL_EXAMPLES // 2)
    @given(trees())
    def prop(entries: list[tuple[str, bytes]]) -> None:
        EXAMPLES["discover+run"] += 1
        _check_discover(entries)

    prop()


@pytest.mark.long_fuzz
def test_discover_and_run_never_raise_long() -> None:
    @fuzz_settings(LONG_EXAMPLES)
    @given(trees())
    def prop(entries: list[tuple[str, bytes]]) -> None:
        EXAMPLES["discover+run"] += 1
        _check_discover(entries)

    prop()


# --------------------------------------------------------------------------- end to end

BROKEN_FILES = [
    "k8s/deploy.yaml", "compose.override.yaml", ".env.example", "Procfile", "app/settings.py",
    "requirements-dev.txt", "other/Dockerfile", "uv.lock", "services/other/pyproject.toml",
    "scripts/start.sh",
]  # fmt: skip
_TARGET_OF = {
    ".yaml": "manifests", ".example": "envfile", "Procfile": "procfile", ".py": "python",
    ".txt": "requirements", "Dockerfile": "dockerfile", ".lock": "lock", ".toml": "pyproject",
    ".sh": "shell",
}  # fmt: skip


@st.composite
def broken_file(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(BROKEN_FILES))
    target = next(t for suffix, t in _TARGET_OF.items() if name.endswith(suffix))
    if name.startswith("compose"):
        target = "compose"
    content = draw(
        st.one_of(
            texts(target).map(lambda t: t.encode("utf-8", "surrogatepass")),
            st.binary(max_size=300),
        )
    )
    return name, content


def _check_e2e(name: str, content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_files(Path(tmp), {**pkg001_tree(), name: content})
        result = run(root, "repo", Config())
        assert result.internal_errors == []
        pkg = [f for f in result.findings if f.code == "PKG001"]
        assert any(f.span.path == "docker/Dockerfile" and f.span.line == 7 for f in pkg), [
            (f.code, str(f.span), f.message) for f in result.findings
        ]
        for finding in result.findings:
            assert finding.span.line >= 1 and finding.span.col >= 1, finding
            if finding.code == "PF001":
                assert "internal error" not in finding.message, finding


def test_one_broken_file_does_not_hide_pkg001() -> None:
    @fuzz_settings(NORMAL_EXAMPLES)
    @given(broken_file())
    def prop(pair: tuple[str, bytes]) -> None:
        EXAMPLES["end-to-end"] += 1
        _check_e2e(*pair)

    prop()


@pytest.mark.long_fuzz
def test_one_broken_file_does_not_hide_pkg001_long() -> None:
    @fuzz_settings(LONG_EXAMPLES)
    @given(broken_file())
    def prop(pair: tuple[str, bytes]) -> None:
        EXAMPLES["end-to-end"] += 1
        _check_e2e(*pair)

    prop()


def test_baseline_without_the_broken_file_reports_pkg001(tmp_path: Path) -> None:
    result = run(write_files(tmp_path, pkg001_tree()), "repo", Config())
    assert [(f.code, f.span.path, f.span.line) for f in result.findings] == [
        ("PKG001", "docker/Dockerfile", 7)
    ]


# --------------------------------------------------------------------------- known defects


@pytest.mark.parametrize(
    ("parse", "path", "text"),
    [
        (parse_compose, "compose.yaml", "{"),
        (parse_manifests, "k8s/a.yaml", "apiVersion: v1\nkind: Secret\ndata: ["),
    ],
)
def test_yaml_error_at_end_of_file_is_inside_the_file(
    parse: Callable[[str, str], Any], path: str, text: str
) -> None:
    for problem in parse(path, text).problems:
        assert_span_ok(problem.span, path, text, past_end=0)


def test_python_parser_overflow_has_a_message() -> None:
    text = "from fastapi import FastAPI\nx = " + "-" * 100_000 + "1\n"
    (problem,) = parse_python("app/x.py", text).problems
    assert problem.message.rstrip().rstrip(":") != "invalid Python", problem.message
