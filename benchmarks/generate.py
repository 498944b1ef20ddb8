"""Write a synthetic monorepo of N FastAPI services, deterministic for a seed.

Each service (``services/svc-XXX/``) is laid out the way a correct deploy is (compare
``fixtures/reference-service``): pyproject.toml, a multi-stage Dockerfile whose CMD runs gunicorn
with ``uvicorn_worker.UvicornWorker``, Kubernetes Deployment/Service/Secret/ConfigMap with
``/ready`` and ``/health`` probes, a pydantic-settings module, an async SQLAlchemy engine, a
FastAPI app split over several routers, and about twenty ordinary modules (models, schemas,
CRUD, domain rules, utilities). Sizes follow real FastAPI services (50-300 lines a module).
Many modules deliberately avoid preflight's trigger words, so its substring pre-filter can
skip them.

    python benchmarks/generate.py OUT_DIR --services 100 --seed 1
"""

from __future__ import annotations

import argparse
import random
import shutil
import textwrap
from pathlib import Path

ENTITIES = (
    "order", "customer", "invoice", "product", "shipment", "ticket", "payment", "review",
    "coupon", "warehouse", "supplier", "account", "booking", "device", "report", "campaign",
    "article", "member", "subscription", "vehicle",
)  # fmt: skip

# (name, python type, SQLAlchemy column type, a sample literal)
FIELDS = (
    ("title", "str", "String(200)", '"sample"'),
    ("code", "str", "String(32)", '"AB-12"'),
    ("status", "str", "String(20)", '"open"'),
    ("note", "str | None", "Text", "None"),
    ("quantity", "int", "Integer", "3"),
    ("priority", "int", "Integer", "1"),
    ("amount_cents", "int", "BigInteger", "1999"),
    ("currency", "str", "String(3)", '"EUR"'),
    ("is_active", "bool", "Boolean", "True"),
    ("archived", "bool", "Boolean", "False"),
    ("email", "str", "String(254)", '"a@example.com"'),
    ("country", "str", "String(2)", '"DE"'),
    ("rating", "float", "Float", "4.5"),
    ("weight_grams", "int", "Integer", "250"),
    ("external_ref", "str | None", "String(64)", "None"),
    ("sort_key", "int", "Integer", "0"),
)

VERBS = (
    "normalise", "validate", "compute", "summarise", "merge", "split", "score", "rank",
    "format", "classify", "estimate", "reconcile", "expand", "collapse", "filter", "group",
)  # fmt: skip
NOUNS = (
    "totals", "labels", "window", "batch", "ledger", "slots", "rows", "tiers", "codes",
    "limits", "buckets", "spans", "weights", "quotas", "entries", "offsets",
)  # fmt: skip


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# --- deployment files --------------------------------------------------------------------


def pyproject(name: str, rng: random.Random) -> str:
    server = "gunicorn>=23.0"
    extra = rng.sample(
        ['"httpx>=0.27"', '"orjson>=3.10"', '"tenacity>=8.2"', '"structlog>=24.1"'], 2
    )
    return textwrap.dedent(
        f"""\
        [build-system]
        requires = ["hatchling>=1.24"]
        build-backend = "hatchling.build"

        [project]
        name = "{name}"
        version = "1.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
        description = "The {name} API."
        requires-python = ">=3.11"
        dependencies = [
            "fastapi>=0.115.0",
            "pydantic>=2.7",
            "pydantic-settings>=2.7",
            "sqlalchemy[asyncio]>=2.0.30",
            "asyncpg>=0.29",
            "{server}",
            "uvicorn>=0.30",
            "uvicorn-worker>=0.2",
            {extra[0]},
            {extra[1]},
        ]

        [dependency-groups]
        dev = ["pytest>=8", "pytest-asyncio>=0.23"]

        [tool.hatch.build.targets.wheel]
        packages = ["app"]

        [tool.ruff]
        line-length = 100
        """
    )


def dockerfile(workers: int) -> str:
    return textwrap.dedent(
        f"""\
        # syntax=docker/dockerfile:1
        FROM python:3.12-slim AS builder
        ENV PIP_DISABLE_PIP_VERSION_CHECK=1
        WORKDIR /src
        RUN python -m venv /opt/venv
        COPY pyproject.toml ./
        COPY app ./app
        RUN /opt/venv/bin/pip install --no-cache-dir .

        FROM python:3.12-slim
        ENV PYTHONDONTWRITEBYTECODE=1 \\
            PYTHONUNBUFFERED=1 \\
            PATH="/opt/venv/bin:$PATH"
        RUN groupadd --system --gid 10001 app \\
            && useradd --system --uid 10001 --gid app --no-create-home app
        COPY --from=builder /opt/venv /opt/venv
        WORKDIR /app
        USER 10001:10001
        EXPOSE 8000
        CMD ["gunicorn", "app.main:app", "--worker-class", "uvicorn_worker.UvicornWorker", \\
             "--bind", "0.0.0.0:8000", "--workers", "{workers}"]
        """
    )


def k8s(name: str, rng: random.Random) -> dict[str, str]:
    labels = f"app.kubernetes.io/name: {name}"
    deployment = f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    {labels}
spec:
  replicas: {rng.randint(2, 4)}
  selector:
    matchLabels:
      {labels}
  template:
    metadata:
      labels:
        {labels}
    spec:
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 45
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
      containers:
        - name: api
          image: ghcr.io/example/{name}:1.0.0
          imagePullPolicy: IfNotPresent
          ports:
            - name: http
              containerPort: 8000
              protocol: TCP
          env:
            - name: DATABASE_URL
              valueFrom:
                secretKeyRef:
                  name: {name}
                  key: DATABASE_URL
            - name: SECRET_KEY
              valueFrom:
                secretKeyRef:
                  name: {name}
                  key: SECRET_KEY
          envFrom:
            - configMapRef:
                name: {name}
          livenessProbe:
            httpGet:
              path: /health
              port: http
            periodSeconds: 10
            timeoutSeconds: 2
          readinessProbe:
            httpGet:
              path: /ready
              port: http
            periodSeconds: 10
            timeoutSeconds: 5
          resources:
            requests:
              cpu: 100m
              memory: 256Mi
            limits:
              memory: 512Mi
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir:
            medium: Memory
"""
    service = f"""\
apiVersion: v1
kind: Service
metadata:
  name: {name}
  labels:
    {labels}
spec:
  type: ClusterIP
  selector:
    {labels}
  ports:
    - name: http
      port: 80
      targetPort: http
"""
    secret = f"""\
# Placeholders only: real values come from the secret manager.
apiVersion: v1
kind: Secret
metadata:
  name: {name}
type: Opaque
stringData:
  DATABASE_URL: "postgresql+asyncpg://app:CHANGE_ME@db.example.internal:5432/{name}"
  SECRET_KEY: "CHANGE_ME-replace-with-at-least-32-random-characters"
"""
    configmap = f"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
data:
  LOG_LEVEL: "info"
  PAGE_SIZE_MAX: "{rng.choice([50, 100, 200])}"
  DB_POOL_SIZE: "{rng.randint(2, 10)}"
  DB_CONNECT_TIMEOUT_SECONDS: "2"
"""
    return {
        "deployment.yaml": deployment,
        "service.yaml": service,
        "secret.yaml": secret,
        "configmap.yaml": configmap,
    }


ENV_EXAMPLE = """\
# Required
DATABASE_URL=postgresql+asyncpg://app:app@localhost:5432/app
SECRET_KEY=REPLACE_ME_with_at_least_32_random_characters

# Optional (defaults shown)
LOG_LEVEL=info
PAGE_SIZE_MAX=100
DB_POOL_SIZE=5
DB_CONNECT_TIMEOUT_SECONDS=3
"""


# --- the app's wiring --------------------------------------------------------------------

CONFIG_PY = '''\
"""Settings read from the environment, validated at start-up."""

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str
    secret_key: SecretStr = Field(min_length=32)

    log_level: str = "info"
    page_size_max: int = Field(default=100, ge=1, le=1000)
    db_pool_size: int = Field(default=5, ge=1, le=50)
    db_connect_timeout_seconds: float = Field(default=3.0, gt=0, le=60)


@lru_cache
def get_settings() -> Settings:
    return Settings()
'''

DB_PY = '''\
"""The async engine and the per-request session."""

from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.config import get_settings

settings = get_settings()

engine = create_async_engine(
    settings.database_url,
    pool_pre_ping=True,
    pool_recycle=300,
    pool_size=settings.db_pool_size,
    connect_args={"timeout": settings.db_connect_timeout_seconds},
)
SessionLocal = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def get_session() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


async def ping() -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
'''

MAIN_PY = '''\
"""The ASGI application gunicorn's uvicorn worker serves."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api import api_router
from app.config import get_settings
from app.db import engine

settings = get_settings()
logging.basicConfig(level=settings.log_level.upper())


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await engine.dispose()


app = FastAPI(title="{name}", version="1.0.0", lifespan=lifespan)
app.include_router(api_router)
'''

HEALTH_PY = '''\
"""Probes, mounted at the root so the Deployment's /health and /ready paths match."""

import logging

from fastapi import APIRouter, HTTPException, status
from sqlalchemy.exc import SQLAlchemyError

from app.db import ping

logger = logging.getLogger(__name__)

router = APIRouter(tags=["probes"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers; no dependency is touched."""
    return {"status": "ok"}


@router.get("/ready")
async def ready() -> dict[str, str]:
    """Readiness: the database answers SELECT 1, or 503."""
    try:
        await ping()
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        logger.warning("readiness check failed: %s", type(exc).__name__)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "database unreachable") from exc
    return {"status": "ready"}
'''

DEPS_PY = '''\
"""Dependencies shared by the routes."""

from typing import Annotated

from fastapi import Depends, Header, HTTPException, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings, get_settings
from app.db import get_session

SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def require_tenant(x_tenant: Annotated[str | None, Header()] = None) -> str:
    if not x_tenant:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "X-Tenant header is required")
    return x_tenant


TenantDep = Annotated[str, Depends(require_tenant)]
'''


def api_init(entities: list[str]) -> str:
    names = ", ".join(["health", *entities])
    lines = [
        '"""HTTP layer: every router, mounted on one APIRouter."""',
        "",
        "from fastapi import APIRouter",
        "",
        f"from app.api.routes import {names}",
        "",
        "api_router = APIRouter()",
        "api_router.include_router(health.router)",
    ]
    lines += [f'api_router.include_router({e}.router, prefix="/{e}s")' for e in entities]
    return "\n".join(lines) + "\n"


# --- per-entity modules ------------------------------------------------------------------


def _fields(rng: random.Random) -> list[tuple[str, str, str, str]]:
    return rng.sample(FIELDS, rng.randint(5, 11))


def model_py(entity: str, fields: list[tuple[str, str, str, str]]) -> str:
    cls = _camel(entity)
    types = sorted({f[2].split("(")[0] for f in fields} | {"DateTime", "Integer"})
    out = [
        f'"""The {entity} table."""',
        "",
        "from datetime import datetime",
        "",
        f"from sqlalchemy import {', '.join(types)}, func",
        "from sqlalchemy.orm import Mapped, mapped_column",
        "",
        "from app.models.base import Base",
        "",
        "",
        f"class {cls}(Base):",
        f'    __tablename__ = "{entity}s"',
        "",
        "    id: Mapped[int] = mapped_column(Integer, primary_key=True)",
        "    tenant: Mapped[str] = mapped_column(index=True)",
    ]
    for name, pytype, coltype, _ in fields:
        nullable = ", nullable=True" if "None" in pytype else ""
        out.append(f"    {name}: Mapped[{pytype}] = mapped_column({coltype}{nullable})")
    out += [
        "    created_at: Mapped[datetime] = mapped_column(",
        "        DateTime(timezone=True), server_default=func.now()",
        "    )",
        "    updated_at: Mapped[datetime | None] = mapped_column(",
        "        DateTime(timezone=True), onupdate=func.now(), nullable=True",
        "    )",
        "",
        "    def __repr__(self) -> str:",
        f'        return f"<{cls} id={{self.id}} tenant={{self.tenant!r}}>"',
        "",
        "    def as_row(self) -> dict[str, object]:",
        '        """The columns as a plain dict (exports, audit log)."""',
        "        return {",
        '            "id": self.id,',
        '            "tenant": self.tenant,',
        *[f'            "{f[0]}": self.{f[0]},' for f in fields],
        '            "created_at": self.created_at.isoformat() if self.created_at else None,',
        "        }",
        "",
        "    def touch_fields(self, changes: dict[str, object]) -> list[str]:",
        '        """The names of the columns ``changes`` would modify."""',
        "        return [k for k, v in changes.items() if getattr(self, k, v) != v]",
        "",
    ]
    return "\n".join(out)


def schema_py(entity: str, fields: list[tuple[str, str, str, str]]) -> str:
    cls = _camel(entity)
    out = [
        f'"""Request and response bodies for {entity}s."""',
        "",
        "from datetime import datetime",
        "",
        "from pydantic import BaseModel, ConfigDict, Field",
        "",
        "",
        f"class {cls}Base(BaseModel):",
    ]
    for name, pytype, coltype, sample in fields:
        if pytype == "str" and "(" in coltype:
            size = coltype.split("(")[1].rstrip(")")
            out.append(f"    {name}: str = Field(min_length=1, max_length={size})")
        elif "None" in pytype:
            out.append(f"    {name}: {pytype} = None")
        elif pytype == "int":
            out.append(f"    {name}: int = Field(default={sample}, ge=0)")
        else:
            out.append(f"    {name}: {pytype} = {sample}")
    out += ["", "", f"class {cls}Create({cls}Base):", "    pass", "", ""]
    out += [f"class {cls}Update(BaseModel):"]
    out += [
        f"    {name}: {pytype.replace(' | None', '')} | None = None"
        for name, pytype, _, _ in fields
    ]
    out += ["", "", f"class {cls}Read({cls}Base):"]
    out += ["    model_config = ConfigDict(from_attributes=True)", ""]
    out += ["    id: int", "    tenant: str", "    created_at: datetime"]
    out += ["    updated_at: datetime | None = None", "", ""]
    out += [f"class {cls}Page(BaseModel):", f"    items: list[{cls}Read]", "    total: int"]
    out += ["    offset: int", "    limit: int", ""]
    return "\n".join(out)


def crud_py(entity: str, fields: list[tuple[str, str, str, str]]) -> str:
    cls = _camel(entity)
    sortable = [f[0] for f in fields if f[1] in ("int", "str", "float")] or ["id"]
    return textwrap.dedent(
        f'''\
        """Queries on {entity}s, scoped to a tenant."""

        from collections.abc import Sequence

        from sqlalchemy import func, select
        from sqlalchemy.ext.asyncio import AsyncSession

        from app.models.{entity} import {cls}
        from app.schemas.{entity} import {cls}Create, {cls}Update

        SORTABLE = {tuple(sortable)!r}


        async def get(session: AsyncSession, tenant: str, item_id: int) -> {cls} | None:
            item = await session.get({cls}, item_id)
            if item is None or item.tenant != tenant:
                return None
            return item


        async def list_page(
            session: AsyncSession, tenant: str, offset: int, limit: int, sort: str = "id"
        ) -> tuple[Sequence[{cls}], int]:
            column = getattr({cls}, sort if sort in SORTABLE else "id")
            query = select({cls}).where({cls}.tenant == tenant)
            total = await session.scalar(select(func.count()).select_from(query.subquery()))
            rows = await session.scalars(query.order_by(column).offset(offset).limit(limit))
            return rows.all(), int(total or 0)


        async def create(session: AsyncSession, tenant: str, body: {cls}Create) -> {cls}:
            item = {cls}(tenant=tenant, **body.model_dump())
            session.add(item)
            await session.commit()
            await session.refresh(item)
            return item


        async def update(session: AsyncSession, item: {cls}, body: {cls}Update) -> {cls}:
            for key, value in body.model_dump(exclude_unset=True).items():
                setattr(item, key, value)
            session.add(item)
            await session.commit()
            await session.refresh(item)
            return item


        async def delete(session: AsyncSession, item: {cls}) -> None:
            await session.delete(item)
            await session.commit()


        async def count_by_tenant(session: AsyncSession) -> dict[str, int]:
            query = select({cls}.tenant, func.count()).group_by({cls}.tenant)
            return {{tenant: count for tenant, count in (await session.execute(query)).all()}}
        '''
    )


def route_py(entity: str) -> str:
    cls = _camel(entity)
    return textwrap.dedent(
        f'''\
        """The /{entity}s endpoints."""

        from typing import Annotated

        from fastapi import APIRouter, HTTPException, Query, Response, status

        from app.api.deps import SessionDep, SettingsDep, TenantDep
        from app.crud import {entity} as crud
        from app.domain.{entity}_rules import check_transition, summarise
        from app.schemas.{entity} import {cls}Create, {cls}Page, {cls}Read, {cls}Update

        router = APIRouter(tags=["{entity}s"])

        Offset = Annotated[int, Query(ge=0)]
        Limit = Annotated[int, Query(ge=1, le=1000)]


        async def _found(session: SessionDep, tenant: str, item_id: int):
            item = await crud.get(session, tenant, item_id)
            if item is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, "{cls} not found")
            return item


        @router.get("", response_model={cls}Page)
        async def list_{entity}s(
            session: SessionDep,
            settings: SettingsDep,
            tenant: TenantDep,
            offset: Offset = 0,
            limit: Limit = 50,
            sort: str = "id",
        ) -> {cls}Page:
            limit = min(limit, settings.page_size_max)
            items, total = await crud.list_page(session, tenant, offset, limit, sort)
            return {cls}Page(
                items=[{cls}Read.model_validate(i) for i in items],
                total=total,
                offset=offset,
                limit=limit,
            )


        @router.post("", response_model={cls}Read, status_code=status.HTTP_201_CREATED)
        async def create_{entity}(
            body: {cls}Create, session: SessionDep, tenant: TenantDep
        ) -> {cls}Read:
            return {cls}Read.model_validate(await crud.create(session, tenant, body))


        @router.get("/summary")
        async def summary_{entity}s(session: SessionDep, tenant: TenantDep) -> dict[str, object]:
            items, _ = await crud.list_page(session, tenant, 0, 1000)
            return summarise([i.id for i in items])


        @router.get("/{{item_id}}", response_model={cls}Read)
        async def get_{entity}(item_id: int, session: SessionDep, tenant: TenantDep) -> {cls}Read:
            return {cls}Read.model_validate(await _found(session, tenant, item_id))


        @router.patch("/{{item_id}}", response_model={cls}Read)
        async def update_{entity}(
            item_id: int, body: {cls}Update, session: SessionDep, tenant: TenantDep
        ) -> {cls}Read:
            item = await _found(session, tenant, item_id)
            problem = check_transition(getattr(item, "status", None), body.model_dump())
            if problem:
                raise HTTPException(status.HTTP_409_CONFLICT, problem)
            return {cls}Read.model_validate(await crud.update(session, item, body))


        @router.delete("/{{item_id}}", status_code=status.HTTP_204_NO_CONTENT)
        async def delete_{entity}(item_id: int, session: SessionDep, tenant: TenantDep) -> Response:
            await crud.delete(session, await _found(session, tenant, item_id))
            return Response(status_code=status.HTTP_204_NO_CONTENT)
        '''
    )


# --- ordinary modules preflight must read past (no trigger words) -------------------------


def _helper(rng: random.Random, used: set[str]) -> str:
    """One plain function of 8-30 lines: loops, dicts, string work, no framework."""
    while True:
        name = f"{rng.choice(VERBS)}_{rng.choice(NOUNS)}"
        if name not in used:
            used.add(name)
            break
    kind = rng.randrange(4)
    limit = rng.randint(2, 50)
    if kind == 0:
        return textwrap.dedent(
            f'''\
            def {name}(values: Iterable[int], limit: int = {limit}) -> list[int]:
                """Keep the values under ``limit``, in order, without repeats."""
                seen: set[int] = set()
                out: list[int] = []
                for value in values:
                    if value in seen or value >= limit:
                        continue
                    seen.add(value)
                    out.append(value)
                return out
            '''
        )
    if kind == 1:
        return textwrap.dedent(
            f'''\
            def {name}(rows: Sequence[Mapping[str, object]], key: str) -> dict[str, int]:
                """Count the rows per value of ``key``; rows without it are counted as "-"."""
                counts: dict[str, int] = {{}}
                for row in rows:
                    label = str(row.get(key, "-"))
                    counts[label] = counts.get(label, 0) + 1
                if len(counts) > {limit}:
                    top = sorted(counts.items(), key=lambda item: item[1], reverse=True)
                    counts = dict(top[:{limit}])
                    counts["other"] = sum(n for _, n in top[{limit}:])
                return counts
            '''
        )
    if kind == 2:
        return textwrap.dedent(
            f'''\
            def {name}(text: str, width: int = {limit + 20}) -> str:
                """Collapse whitespace and cut ``text`` to ``width`` characters at a word."""
                words = text.split()
                out: list[str] = []
                size = 0
                for word in words:
                    if size + len(word) + (1 if out else 0) > width:
                        break
                    out.append(word)
                    size += len(word) + (1 if len(out) > 1 else 0)
                result = " ".join(out)
                return result if len(result) == len(" ".join(words)) else result + "..."
            '''
        )
    return textwrap.dedent(
        f'''\
        def {name}(amounts: Sequence[float], ratio: float = {rng.randint(1, 99) / 100}) -> float:
            """A weighted running figure over ``amounts``, newest weighted most."""
            if not amounts:
                return 0.0
            total = 0.0
            weight = 1.0
            weights = 0.0
            for amount in reversed(amounts):
                total += amount * weight
                weights += weight
                weight *= ratio
                if weight < 1e-6:
                    break
            return round(total / weights, {rng.randint(1, 4)})
        '''
    )


PLAIN_HEADER = """\
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
"""


def plain_module(doc: str, rng: random.Random, functions: int) -> str:
    used: set[str] = set()
    body = "\n\n".join(_helper(rng, used) for _ in range(functions))
    consts = "\n".join(
        f"{rng.choice(NOUNS).upper()}_{i} = {rng.randint(1, 10_000)}" for i in range(3)
    )
    return f'"""{doc}"""\n\n{PLAIN_HEADER}\n{consts}\n\n\n{body}'


def rules_py(entity: str, rng: random.Random) -> str:
    states = rng.sample(["open", "pending", "active", "paused", "closed", "failed", "done"], 4)
    head = textwrap.dedent(
        f'''\
        """Business rules for {entity}s: plain functions, no I/O."""

        from __future__ import annotations

        from collections.abc import Iterable, Mapping, Sequence

        STATES = {tuple(states)!r}
        ALLOWED = {{
            {states[0]!r}: ({states[1]!r}, {states[3]!r}),
            {states[1]!r}: ({states[2]!r}, {states[3]!r}),
            {states[2]!r}: ({states[3]!r},),
        }}


        def check_transition(current: object, changes: Mapping[str, object]) -> str | None:
            """Why the change is refused, or None."""
            new = changes.get("status")
            if new is None or current is None or new == current:
                return None
            if new not in STATES:
                return f"unknown status {{new!r}}"
            if new not in ALLOWED.get(str(current), ()):
                return f"cannot go from {{current!r}} to {{new!r}}"
            return None


        def summarise(ids: Iterable[int]) -> dict[str, object]:
            values = sorted(ids)
            if not values:
                return {{"count": 0}}
            return {{"count": len(values), "first": values[0], "last": values[-1]}}
        '''
    )
    used: set[str] = set()
    helpers = "\n\n".join(_helper(rng, used) for _ in range(rng.randint(3, 10)))
    return head + "\n\n" + helpers


UTILS = {
    "pagination": "Offset/limit arithmetic shared by list endpoints.",
    "text": "String helpers: slugs, truncation, masking.",
    "timeutil": "Date and duration helpers.",
    "money": "Amounts in cents, rounding, currency formatting.",
    "ids": "Identifier formats and checksums.",
    "retry": "Backoff schedules for outbound calls.",
    "errors": "The exceptions the domain raises.",
    "constants": "Limits and defaults in one place.",
}


def service(root: Path, index: int, rng: random.Random) -> None:
    name = f"svc-{index:03d}"
    base = root / "services" / name
    entities = rng.sample(ENTITIES, 4)
    files: dict[str, str] = {
        "pyproject.toml": pyproject(name, rng),
        "Dockerfile": dockerfile(rng.choice([2, 3, 4])),
        ".env.example": ENV_EXAMPLE,
        "README.md": f"# {name}\n\nThe {name} API. See `k8s/` for its deployment.\n",
        "app/__init__.py": f'"""The {name} service."""\n',
        "app/config.py": CONFIG_PY,
        "app/db.py": DB_PY,
        "app/main.py": MAIN_PY.replace("{name}", name),
        "app/api/__init__.py": api_init(entities),
        "app/api/deps.py": DEPS_PY,
        "app/api/routes/__init__.py": "",
        "app/api/routes/health.py": HEALTH_PY,
        "app/models/__init__.py": "",
        "app/models/base.py": (
            '"""The declarative base."""\n\nfrom sqlalchemy.orm import DeclarativeBase\n\n\n'
            "class Base(DeclarativeBase):\n    pass\n"
        ),
        "app/schemas/__init__.py": "",
        "app/crud/__init__.py": "",
        "app/domain/__init__.py": "",
        "app/utils/__init__.py": "",
    }
    for file, text in k8s(name, rng).items():
        files[f"k8s/{file}"] = text
    for entity in entities:
        fields = _fields(rng)
        files[f"app/models/{entity}.py"] = model_py(entity, fields)
        files[f"app/schemas/{entity}.py"] = schema_py(entity, fields)
        files[f"app/crud/{entity}.py"] = crud_py(entity, fields)
        files[f"app/api/routes/{entity}.py"] = route_py(entity)
        files[f"app/domain/{entity}_rules.py"] = rules_py(entity, rng)
    for util, doc in UTILS.items():
        files[f"app/utils/{util}.py"] = plain_module(doc, rng, rng.randint(3, 16))
    for rel, text in files.items():
        _write(base / rel, text)


def generate(out: Path, services: int, seed: int = 1) -> Path:
    """Write the tree (replacing ``out``) and return it."""
    if out.exists():
        shutil.rmtree(out)
    rng = random.Random(seed)
    for index in range(1, services + 1):
        service(out, index, random.Random(rng.getrandbits(64)))
    _write(out / "README.md", f"# synthetic monorepo\n\n{services} services, seed {seed}.\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--services", "-n", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    generate(args.out, args.services, args.seed)
    print(f"wrote {args.services} services to {args.out}")


if __name__ == "__main__":
    main()
