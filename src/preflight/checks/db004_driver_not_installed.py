"""DB004 driver-not-installed: the driver a URL loads is not among the runtime dependencies."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks import _db
from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.graph import Deployment
from preflight.model.urls import DRIVER_DISTRIBUTIONS, effective_drivers
from preflight.spans import Related, Span

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
        installed_from = _image_requirements(graph, use.module)
        if installed_from is not None and installed_from[1] & DRIVER_DISTRIBUTIONS[driver]:
            ctx.silent(
                url.source.span,
                f"{deps.declared_in} lacks {driver}, but the image installs it from "
                f"{', '.join(installed_from[0])}",
            )
            continue
        declared_in = deps.declared_in
        deps_span = deps.span
        if installed_from is not None and installed_from[0] and installed_from[2] is not None:
            # name the file the image installs from, not a pyproject it never reads
            declared_in = " and ".join(installed_from[0])
            deps_span = installed_from[2]
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
            f"in {declared_in} provides it; the engine fails with "
            f"`ModuleNotFoundError: No module named '{driver.removesuffix('_async')}'`.",
            url.source.span,
            (*_db.related(use, url), Related(deps_span, "the runtime dependencies")),
            f"Add `{dist}` to {declared_in}, or name the driver you install in the URL "
            "(e.g. `postgresql+psycopg2://`).",
            headline=f"Database driver {driver} is not installed",
        )


def _image_requirements(
    graph: Deployment, module: str
) -> tuple[list[str], set[str], Span | None] | None:
    """The requirements files the one image that copies `module` installs from, what it installs
    (normalised names) and the first requirement's line; None when no single complete image
    copies the module, or when that image installs any project (its pyproject counts then)."""
    found = []
    for image in graph.files.images.values():
        env = image.environment
        if any(
            module == path or module.startswith(path.rstrip("/") + "/") or path in ("", ".")
            for path in env.copied_paths.values()
        ):
            found.append(env)
    if len(found) != 1 or not found[0].complete or found[0].runtime_of or found[0].projects:
        return None
    env = found[0]
    spans = [
        dist.span
        for dists in env.distributions.values()
        for dist in dists
        if dist.span.path in graph.files.requirements
    ]
    if not spans:
        return None
    files = sorted({span.path for span in spans})
    first = min((s for s in spans if s.path == files[0]), key=lambda s: s.line)
    return files, env.installed(), Span(first.path, 1, 1)


RULE = Rule(
    code="DB004",
    name="driver-not-installed",
    severity=Severity.ERROR,
    summary="The database driver a URL loads is not a runtime dependency.",
    check=check,
)
