"""The rule registry: every rule preflight knows, in code order.

A rule is one module here (metadata + ``check(project, ctx)``) and one page in ``rules/``.
"""

from __future__ import annotations

from preflight.checks import (
    pf001_parse_error,
    pf002_unused_suppression,
    pkg001_command_not_installed,
)
from preflight.findings import Rule

RULES: tuple[Rule, ...] = tuple(
    sorted(
        (
            pf001_parse_error.RULE,
            pf002_unused_suppression.RULE,
            pkg001_command_not_installed.RULE,
        ),
        key=lambda rule: rule.code,
    )
)
BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}


def matches(code: str, selector: str) -> bool:
    """``PKG`` and ``PKG0`` select ``PKG001``; ``ALL`` selects everything."""
    return selector == "ALL" or code.startswith(selector.upper())


def is_known_selector(selector: str) -> bool:
    return any(matches(rule.code, selector) for rule in RULES)
