"""ENV009 insecure-default-secret: a sensitive setting has a literal default in the code and
no deploy of the app in the repository provides it, so production runs with the default.

Sensitive as the settings model judges it (``SecretStr``, a sensitive name: ``SECRET_KEY``,
``JWT_SECRET``, ``API_TOKEN``, ``DB_PASSWORD``). Left alone: an empty default, a URL default
(a database URL's default is a local development database, not a key), a field a validator of
the class reads (it may reject the default), a class with ``secrets_dir``, and a service the
repository deploys nowhere, or somewhere it cannot see the environment of (a Helm chart, a
Procfile, an ``envFrom`` of a Secret defined elsewhere, an env file the code loads).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.knowledge.sensitive import is_published_credential
from preflight.model.deploys import ServiceDeploys, deploys_of
from preflight.model.graph import Deployment
from preflight.model.settings import Setting, holds_no_secret
from preflight.spans import Related


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    project = graph.files
    for root in sorted(graph.settings.defaulted_by_root):
        candidates = [s for s in graph.settings.defaulted_for(root) if _insecure(s, ctx)]
        if not candidates:
            continue
        service = deploys_of(graph, root)
        if not _judgeable(service, root, candidates[0], ctx):
            continue
        for setting in candidates:
            if service.runs is None or setting.module not in service.runs:
                ctx.silent(
                    setting.default_span,
                    f"{setting.owner}: {setting.module} is not a module the service's app imports",
                )
                continue
            cls = setting.cls
            if cls is not None and any(
                posixpath.join(root, name).lstrip("/") in project.all_paths for name in cls.env_file
            ):
                ctx.silent(setting.span, f"{setting.owner} may come from the class's env_file")
                continue
            if setting.env_file is not None:
                ctx.silent(setting.span, f"{setting.owner} may come from {setting.env_file}")
                continue
            providing = [d for d in service.deploys if d.provides(setting)]
            if providing:
                continue
            yield _finding(ctx, setting, service)


def _insecure(setting: Setting, ctx: RuleContext) -> bool:
    """A sensitive setting whose literal default production would run with."""
    default = setting.default
    span = setting.default_span
    if not setting.sensitive or default is None or span is None:
        return False
    if not default.strip() or "://" in default:
        return False  # no value, or a (local) connection URL: not a key anyone signs with
    if any(is_published_credential(n) for n in setting.env_names):
        return False
    cls = setting.cls
    item = setting.field
    if cls is not None and item is not None:
        if cls.secrets_dir:
            ctx.silent(span, f"{setting.owner} may come from the class's secrets_dir")
            return False
        if item.name in cls.validator_spans or item.name in cls.checked:
            ctx.silent(span, f"a validator of `{cls.name}` reads {setting.owner}")
            return False
    return True


def _judgeable(service: ServiceDeploys, root: str, first: Setting, ctx: RuleContext) -> bool:
    where = root or "the repository root"
    if not service.deploys:
        ctx.silent(
            first.default_span,
            f"no deploy of the service in {where} is in the repository: "
            "whether production runs with the default cannot be told",
        )
        return False
    if service.open is not None:
        ctx.silent(first.default_span, f"the service in {where}: {service.open}")
        return False
    for deploy in service.deploys:
        if deploy.open is not None:
            ctx.silent(first.default_span, f"{deploy.label}: {deploy.open}")
            return False
    if all(deploy.dev is not None for deploy in service.deploys):
        first_dev = service.deploys[0]
        ctx.silent(
            first.default_span,
            f"the service in {where} is deployed only for development "
            f"({first_dev.label}: {first_dev.dev})",
        )
        return False
    return True


def _finding(ctx: RuleContext, setting: Setting, service: ServiceDeploys) -> Finding:
    assert setting.default is not None and setting.default_span is not None
    name = setting.display_name
    deploys = service.deploys
    shown = ", ".join(d.label for d in deploys[:3]) + (
        f" and {len(deploys) - 3} more" if len(deploys) > 3 else ""
    )
    if setting.field is not None:
        how = "give the field no default (so a deploy that forgets it fails at start)"
    else:
        how = "read it without a default (so a deploy that forgets it fails at start)"
    # a placeholder (`changeme`, `your-secret-key`) is as public as a real-looking key: both
    # are in the repository; the word only tells the reader which one they are looking at
    kind = "placeholder" if holds_no_secret(setting.default) else "literal"
    words = re.split(r"[_\-.]+", name.upper())
    if words[-1] in ("PASSWORD", "PASSWD", "PASS", "PWD", "PASSPHRASE"):
        effect = "production authenticates with a password anyone who can read the repository knows"
    elif "TOKEN" in words or "APIKEY" in words or words[-2:-1] == ["API"]:
        effect = "production uses a credential anyone who can read the repository knows"
    else:
        effect = (
            "production signs sessions and tokens with a key anyone who can read the "
            "repository knows, and can forge them"
        )
    return ctx.report(
        f"{setting.owner} defaults to a {len(setting.default)}-character {kind} written in the "
        f"code, and no deploy of the app in the repository provides `{name}` ({shown}): "
        f"{effect}.",
        setting.default_span,
        tuple(Related(d.span, f"{d.label} does not provide `{name}`") for d in deploys),
        f"Provide `{name}` in each deploy (from a Secret with `valueFrom.secretKeyRef`), "
        f"and {how}.",
        headline=f"Sensitive `{name}` defaults to a literal in the code",
    )


RULE = Rule(
    code="ENV009",
    name="insecure-default-secret",
    severity=Severity.ERROR,
    summary="A sensitive setting's literal default is what every deploy of the app runs with.",
    check=check,
)
