"""A rule: its identity (``RuleInfo``) and its check over the deployment graph."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from preflight.findings import Finding, RuleContext, RuleInfo

if TYPE_CHECKING:
    from pydantic import BaseModel

    from preflight.model.graph import Deployment


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule(RuleInfo):
    """A registered rule: ``check`` yields findings made with ``ctx.report``."""

    check: Callable[[Deployment, RuleContext], Iterator[Finding]]
    # The schema of [tool.preflight.rules.<CODE>]: a function returning a pydantic model, so
    # pydantic is imported only when a configuration has something to validate.
    options: Callable[[], type[BaseModel]] | None = None
