"""ENV006 setting-constraint-violated: a provided literal fails the field's static constraint."""

from __future__ import annotations

import re
from collections.abc import Iterator

from preflight.checks import _env
from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.graph import Deployment
from preflight.model.settings import Setting, is_placeholder
from preflight.spans import Related

_TRUE_FALSE = {"1", "0", "true", "false", "yes", "no", "on", "off", "t", "f", "y", "n"}


def violation(setting: Setting, value: str) -> str | None:
    """Why ``value`` fails the field's constraints (never quoting the value), or None."""
    if setting.field is None:
        return None
    for name, limit in setting.field.constraints:
        if name == "min_length" and isinstance(limit, int) and len(value) < limit:
            return f"it is {len(value)} characters; {setting.owner} requires min_length={limit}"
        if name == "max_length" and isinstance(limit, int) and len(value) > limit:
            return f"it is {len(value)} characters; {setting.owner} allows max_length={limit}"
        if name == "pattern" and isinstance(limit, str):
            try:
                if re.search(limit, value) is None:
                    return f"it does not match {setting.owner}'s pattern `{limit}`"
            except re.error:
                return None
        if name == "literal" and isinstance(limit, tuple) and value not in limit:
            allowed = ", ".join(f"`{c}`" for c in limit)
            return f"{setting.owner} accepts only {allowed}"
        if name == "type" and limit == "int" and not re.fullmatch(r"\s*[+-]?\d+\s*", value):
            return f"{setting.owner} is an int and the value is not a number"
        if name == "type" and limit == "float":
            try:
                float(value)
            except ValueError:
                return f"{setting.owner} is a float and the value is not a number"
        if name == "type" and limit == "bool" and value.strip().lower() not in _TRUE_FALSE:
            return f"{setting.owner} is a bool and the value is not true/false/1/0/yes/no/on/off"
    return None


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    seen: set[tuple[str, int, str]] = set()
    for checked in _env.containers(graph):
        for setting in checked.settings:
            for provider in checked.env.provides(setting):
                value = provider.value
                if value is None or is_placeholder(value) or "$(" in value:
                    continue
                why = violation(setting, value)
                key = (provider.span.path, provider.span.line, setting.owner)
                if why is None or key in seen:
                    continue
                seen.add(key)
                source = " ".join(part for part in (provider.kind, provider.where) if part)
                yield ctx.report(
                    f"`{provider.name}` ({source}) fails validation: {why}. "
                    "The app stops at start-up with a ValidationError.",
                    provider.span,
                    (Related(setting.span, f"{setting.owner} is declared here"),),
                    "Provide a value that satisfies the field's constraint.",
                    headline=f"`{provider.name}` fails validation",
                )


RULE = Rule(
    code="ENV006",
    name="setting-constraint-violated",
    severity=Severity.ERROR,
    summary="A value the deployment provides fails the settings field's static constraint.",
    check=check,
)
