"""DB002 asyncpg-libpq-params: an asyncpg URL carries libpq-only query parameters."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks import _db
from preflight.checks.rule import Rule
from preflight.findings import Applicability, Autofix, Edit, Finding, RuleContext, Severity
from preflight.model.graph import Deployment
from preflight.model.urls import LIBPQ_ONLY_PARAMS
from preflight.spans import Span


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
            autofix=(None if rewritten else _autofix(url.source.value, url.source.span, set(bad)))
            or _db.settings_validator(db, use, url, "postgresql+asyncpg"),
        )


_SSL_MODES = frozenset({"disable", "allow", "prefer", "require", "verify-ca", "verify-full"})


def _autofix(value: str, span: Span, bad: set[str]) -> Autofix | None:
    """In a URL written for asyncpg on its source's line: `sslmode=require` → `ssl=require`
    (asyncpg's name for the same modes), and `channel_binding=…` dropped (asyncpg takes no
    such parameter). Any other libpq parameter: no fix. Unsafe when `channel_binding` goes:
    a requirement on the server's authentication is removed, which a person should see."""
    if not bad <= {"sslmode", "channel_binding"}:
        return None
    query = value.partition("?")[2].partition("#")[0]
    if not query:
        return None
    pairs = query.split("&")
    kept: list[str] = []
    for pair in pairs:
        name, _, mode = pair.partition("=")
        if name == "sslmode":
            if mode not in _SSL_MODES:
                return None
            kept.append(f"ssl={mode}")
        elif name != "channel_binding":
            kept.append(pair)
    new = "&".join(kept)
    edit = Edit.replace_text(span.path, span.line, span.col, "?" + query, f"?{new}" if new else "")
    unsafe = "channel_binding" in bad
    return Autofix(
        Applicability.UNSAFE if unsafe else Applicability.SAFE,
        "Write `ssl=` for `sslmode=`" + (" and drop `channel_binding`" if unsafe else ""),
        (edit,),
    )


RULE = Rule(
    code="DB002",
    name="asyncpg-libpq-params",
    severity=Severity.ERROR,
    summary="An asyncpg URL carries libpq-only parameters such as `sslmode`.",
    check=check,
)
