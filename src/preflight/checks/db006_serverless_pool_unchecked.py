"""DB006 serverless-pool-unchecked: a pooled engine on Neon that never checks its connections."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks import _db
from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.graph import Deployment
from preflight.spans import Related


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    project = graph.files
    db = project.databases
    if db is None:
        return
    for use in db.uses:
        neon = [url for url in use.urls if _db.is_neon(graph, url)]
        if not neon:
            continue
        keywords = use.engine.keywords
        if keywords.get("pool_pre_ping") not in (None, "False") or "pool_recycle" in keywords:
            continue
        if "NullPool" in keywords.get("poolclass", ""):
            continue
        if "**" in keywords:
            ctx.silent(use.engine.span, "the engine's keywords come partly from `**` unpacking")
            continue
        url = neon[0]
        yield ctx.report(
            f"`{use.engine.factory}` pools connections to Neon ({_db.where(url, use)}) without "
            "`pool_pre_ping`, `pool_recycle` or `NullPool`; Neon drops idle connections when the "
            "compute suspends, and the first request after that fails on a dead connection.",
            use.engine.span,
            (Related(url.source.span, "the Neon URL comes from here"),),
            "Pass `pool_pre_ping=True` (and e.g. `pool_recycle=300`), or `poolclass=NullPool`.",
            headline="Neon connection pool without pre-ping or recycle",
        )


RULE = Rule(
    code="DB006",
    name="serverless-pool-unchecked",
    severity=Severity.WARNING,
    summary="An engine pools connections to Neon without pre-ping, recycle or NullPool.",
    check=check,
)
