"""ENV003 env-example-incomplete: a required setting is missing from .env.example.

The example is the nearest `.env.example` (or `.env.sample`, `.env.template`, `env.example`,
`example.env`, `.env.dist`) above the service; where there is none, a committed `.env` or an
env file a compose service loads documents the variables instead (model/envfiles.py).
"""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks.rule import Rule
from preflight.findings import Applicability, Autofix, Edit, Finding, RuleContext, Severity
from preflight.model.envfiles import examples_for
from preflight.model.graph import Deployment
from preflight.spans import Related, Span


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    project = graph.files
    roots = sorted({graph.service_root(path) for path in project.python})
    for root in roots:
        required = [
            s for s in graph.settings.settings_for(root) if s.required and s.field is not None
        ]
        if not required:
            continue
        examples = examples_for(project, root)
        if not examples:
            first = required[0]
            yield ctx.report(
                f"The service{f' in {root}' if root else ''} requires {len(required)} setting(s) "
                f"(first: `{first.display_name}`) but has no .env.example listing them.",
                first.cls.span if first.cls is not None else first.span,
                fix="Add a .env.example with every required variable and a placeholder value.",
                severity=Severity.INFO,
                headline="No .env.example lists the required settings",
            )
            continue
        # the nearest directory's files, judged together; the finding points at the first
        example = examples[0]
        names = {entry.name for env in examples for entry in env.entries}
        for setting in required:
            if any(setting.matches(name) for name in names):
                continue
            owner = f" of `{setting.cls.name}`" if setting.cls is not None else ""
            yield ctx.report(
                f"`{setting.display_name}` ({setting.derivation}{owner}) is required but missing "
                f"from {example.path}: whoever sets up the service from it starts an app that "
                "crashes.",
                Span(example.path, max(1, len(example.entries) and example.entries[-1].span.line)),
                (Related(setting.span, f"{setting.owner} is required here"),),
                f"Add `{setting.display_name}=` with a placeholder value to {example.path}.",
                # the finding is in that file: its name is enough
                headline=f"`{setting.display_name}` is missing from "
                f"{example.path.rsplit('/', 1)[-1]}",
                # safe: a line of documentation, its value left empty for whoever fills it in
                autofix=Autofix(
                    Applicability.SAFE,
                    f"Add `{setting.display_name}=` to {example.path}",
                    (Edit.append(example.path, f"{setting.display_name}=\n"),),
                ),
            )


RULE = Rule(
    code="ENV003",
    name="env-example-incomplete",
    severity=Severity.WARNING,
    other_severities=(Severity.INFO,),  # no .env.example at all: said once, as info
    summary="A required setting is missing from the service's .env.example.",
    check=check,
)
