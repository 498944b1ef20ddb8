"""Database URLs: parsed with the standard library's URL splitter, rendered without passwords.

SQLAlchemy URLs are ``dialect[+driver]://user:password@host:port/database?query``. This module
knows which driver a URL loads (the dialect's default depends on the SQLAlchemy version), which
drivers are async, and which distribution provides each driver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from preflight.redact import mask_urls, mask_userinfo, split_userinfo

# Dialect defaults: SQLAlchemy 2.1 made psycopg (3) PostgreSQL's default driver.
_DEFAULT_DRIVERS_20 = {
    "postgresql": "psycopg2",
    "mysql": "mysqldb",
    "sqlite": "pysqlite",
    "mariadb": "mysqldb",
    "mssql": "pyodbc",
    "oracle": "oracledb",
}
_DEFAULT_DRIVERS_21 = {**_DEFAULT_DRIVERS_20, "postgresql": "psycopg"}
ASYNC_DRIVERS = frozenset(
    {"asyncpg", "aiosqlite", "aiomysql", "asyncmy", "psycopg_async", "aioodbc"}
)
# psycopg (3) is both: sync under create_engine, async under create_async_engine.
DUAL_DRIVERS = frozenset({"psycopg"})
DRIVER_DISTRIBUTIONS: dict[str, frozenset[str]] = {
    "psycopg2": frozenset({"psycopg2", "psycopg2-binary"}),
    "psycopg": frozenset({"psycopg", "psycopg-binary"}),
    "psycopg_async": frozenset({"psycopg", "psycopg-binary"}),
    "asyncpg": frozenset({"asyncpg"}),
    "pg8000": frozenset({"pg8000"}),
    "aiosqlite": frozenset({"aiosqlite"}),
    "pymysql": frozenset({"pymysql"}),
    "mysqldb": frozenset({"mysqlclient"}),
    "aiomysql": frozenset({"aiomysql"}),
    "asyncmy": frozenset({"asyncmy"}),
    "mysqlconnector": frozenset({"mysql-connector-python"}),
}
# libpq connection parameters asyncpg's connect() does not take: SQLAlchemy passes URL query
# parameters through as keyword arguments, so each one is a TypeError on first connect.
LIBPQ_ONLY_PARAMS = frozenset(
    {"sslmode", "channel_binding", "sslrootcert", "sslcert", "sslkey", "sslcrl", "sslpassword",
     "sslcompression", "gssencmode", "requiressl", "krbsrvname", "connect_timeout",
     "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
     "tcp_user_timeout", "options", "service", "target_session_attrs", "application_name"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class DbUrl:
    scheme: str  # as written, e.g. "postgresql+asyncpg"
    dialect: str  # "postgresql" ("postgres" stays "postgres": SQLAlchemy rejects it)
    driver: str | None  # explicit driver, or None for the dialect's default
    host: str | None
    query: tuple[tuple[str, str], ...] = field(repr=False)
    raw: str = field(repr=False)  # may hold a password: never printed, use display()

    @property
    def is_neon(self) -> bool:
        return self.host is not None and self.host.lower().endswith(".neon.tech")

    def param_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.query)

    def display(self) -> str:
        """The URL with its password (and any query values) replaced by ``***``.

        The userinfo runs to the last ``@`` (see :mod:`preflight.redact`), so a password holding
        ``/``, ``@`` or ``:`` is masked whole.
        """
        _, userinfo, rest = split_userinfo(self.raw)
        shown = mask_userinfo(userinfo) if userinfo is not None else None
        if shown is None:  # no userinfo (any "@" is in the path)
            rest = self.raw.split("://", 1)[1] if "://" in self.raw else ""
        hostpath = rest.split("#", 1)[0].split("?", 1)[0]
        netloc = f"{shown}@" if shown is not None else ""
        query = "&".join(f"{k}={v if k in ('sslmode', 'ssl') else '***'}" for k, v in self.query)
        return mask_urls(f"{self.scheme}://{netloc}{hostpath}" + (f"?{query}" if query else ""))

    def with_scheme(self, scheme: str) -> DbUrl:
        rest = self.raw.split("://", 1)[1] if "://" in self.raw else ""
        return parse_db_url(f"{scheme}://{rest}") or self


def parse_db_url(raw: str) -> DbUrl | None:
    """A database URL, or None when the text is not one (placeholders, ``${VAR}``)."""
    text = raw.strip().strip("\"'")
    if "://" not in text or "${" in text or "{{" in text:
        return None
    scheme = text.split("://", 1)[0].lower()
    if not scheme or not all(ch.isalnum() or ch in "+_-." for ch in scheme):
        return None
    dialect, _, driver = scheme.partition("+")
    if dialect not in (
        "postgresql",
        "postgres",
        "sqlite",
        "mysql",
        "mariadb",
        "mssql",
        "oracle",
        "cockroachdb",
        "pgsql",
        "psql",
    ):
        return None
    head, userinfo, rest = split_userinfo(text)
    if userinfo is not None and mask_userinfo(userinfo) is None:
        head, rest = "", text  # the "@" is in the path, not after a userinfo
    try:  # without the userinfo: a password's "/", "?" or "#" must not end the host early
        parts = urlsplit(head + rest)
        host = parts.hostname
    except ValueError:
        return None
    return DbUrl(scheme, dialect, driver or None, host, tuple(parse_qsl(parts.query)), text)


def effective_drivers(
    url: DbUrl, sqlalchemy_minors: frozenset[str], is_async: bool
) -> frozenset[str]:
    """The drivers this URL loads under each SQLAlchemy version the project may install.

    ``sqlalchemy_minors`` holds "2.0" (anything before 2.1) and/or "2.1" (2.1 and later).
    """
    drivers: set[str] = set()
    for minor in sqlalchemy_minors or frozenset({"2.0", "2.1"}):
        if url.driver:
            driver = url.driver
        else:
            table = _DEFAULT_DRIVERS_21 if minor == "2.1" else _DEFAULT_DRIVERS_20
            default = table.get(url.dialect)
            if default is None:
                continue
            driver = default
        if driver == "psycopg" and is_async:
            driver = "psycopg_async"
        drivers.add(driver)
    return frozenset(drivers)


def is_async_driver(driver: str) -> bool:
    return driver in ASYNC_DRIVERS
