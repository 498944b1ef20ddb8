"""DB004 driver-not-installed: the driver a URL loads is not among the runtime dependencies."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks import _db
from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.graph import Deployment
from preflight.model.urls import DRIVER_DISTRIBUTIONS, effective_drivers
from preflight.spans import Related

# What to add: wheels that need no system libpq in a slim image.
_SUGGESTED = {
    "psycopg": "psycopg[binary]",
    "psycopg_async": "psycopg[binary]",
    "psycopg2": "psycopg2-binary",
}


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    reported: set[tuple[str, str]] = set()
    for db, use, url in _db.urls(graph):
        deps = db.dependencies_of(use.module)
        if deps is None:
            ctx.silent(use.engine.span, "no pyproject.toml or requirements.txt governs this module")
            continue
        names = deps.names()
        is_async = use.engine.factory == "create_async_engine"
        missing: dict[str, str] = {}
        for minor in sorted(_db.sqlalchemy_minors(db, use)):
            for driver in effective_drivers(url.url, frozenset({minor}), is_async):
                dists = DRIVER_DISTRIBUTIONS.get(driver)
                if dists is not None and not dists & names:
                    missing[minor] = driver
        if not missing or len(missing) < len(_db.sqlalchemy_minors(db, use)):
            continue  # it works under some SQLAlchemy the constraints allow
        driver = sorted(set(missing.values()))[0]
        key = (deps.declared_in, driver)
        if key in reported:
            continue
        reported.add(key)
        dist = _SUGGESTED.get(driver, sorted(DRIVER_DISTRIBUTIONS[driver])[0])
        default = (
            ""
            if url.url.driver
            else (
                f" (the default for `{url.url.dialect}://` under SQLAlchemy "
                f"{'/'.join(sorted(missing))})"
            )
        )
        yield ctx.report(
            f"{_db.where(url, use)} loads the driver {driver}{default}, but no runtime dependency "
            f"in {deps.declared_in} provides it; the engine fails with "
            f"`ModuleNotFoundError: No module named '{driver.removesuffix('_async')}'`.",
            url.source.span,
            (*_db.related(use, url), Related(deps.span, "the runtime dependencies")),
            f"Add `{dist}` to {deps.declared_in}, or name the driver you install in the URL "
            "(e.g. `postgresql+psycopg2://`).",
            headline=f"Database driver {driver} is not installed",
        )


RULE = Rule(
    code="DB004",
    name="driver-not-installed",
    severity=Severity.ERROR,
    summary="The database driver a URL loads is not a runtime dependency.",
    check=check,
)
