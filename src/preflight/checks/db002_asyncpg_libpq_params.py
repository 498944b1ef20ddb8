"""DB002 asyncpg-libpq-params: an asyncpg URL carries libpq-only query parameters."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks import _db
from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.graph import Deployment
from preflight.model.urls import LIBPQ_ONLY_PARAMS


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    for db, use, url in _db.urls(graph):
        if url.params_handled or "asyncpg" not in _db.drivers(db, use, url):
            continue
        bad = [name for name in url.url.param_names() if name in LIBPQ_ONLY_PARAMS]
        if not bad:
            continue
        names = ", ".join(f"`{name}`" for name in dict.fromkeys(bad))
        rewritten = url.original.scheme != url.url.scheme
        how = "is rewritten to asyncpg by the code but keeps" if rewritten else "uses asyncpg with"
        yield ctx.report(
            f"{_db.where(url, use)} {how} {names} in its query; asyncpg takes no libpq "
            f"parameters, and the first connection fails with "
            f"`TypeError: connect() got an unexpected keyword argument '{bad[0]}'`.",
            url.source.span,
            _db.related(use, url),
            "Write `ssl=require` instead of `sslmode=require` and drop `channel_binding`, in the "
            "URL or in the code that rewrites it (`connect_args={'ssl': 'require'}` helps only "
            "once `sslmode` is gone from the URL).",
            headline=f"asyncpg rejects the libpq parameter{'s' if len(set(bad)) > 1 else ''} "
            f"{names}",
        )


RULE = Rule(
    code="DB002",
    name="asyncpg-libpq-params",
    severity=Severity.ERROR,
    summary="An asyncpg URL carries libpq-only parameters such as `sslmode`.",
    check=check,
)
