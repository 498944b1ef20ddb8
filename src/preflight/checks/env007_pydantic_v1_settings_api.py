"""ENV007 pydantic-v1-settings-api: v1 settings API under pydantic 2 / pydantic-settings."""

from __future__ import annotations

from collections.abc import Iterator

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.graph import Deployment
from preflight.model.project import Project
from preflight.spans import Related


def _requires_pydantic_2(project: Project, path: str) -> str | None:
    deps = project.dependencies.get(path)
    if deps is None:
        return None
    if "pydantic-settings" in deps.names():
        return f"`pydantic-settings` in {deps.declared_in}"
    for requirement in deps.requirements:
        if requirement.name == "pydantic" and requirement.specifier:
            try:
                spec = SpecifierSet(requirement.specifier)
            except InvalidSpecifier:
                continue
            ones = ("1.8.2", "1.9.2", "1.10.0", "1.10.9", "1.10.18", "1.10.26", "1.10.99")
            twos = ("2.0", "2.5.3", "2.9.2", "2.11.0", "2.99")
            if not any(spec.contains(v) for v in ones) and any(spec.contains(v) for v in twos):
                return f"`{requirement.raw}` in {deps.declared_in}"
    return None


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    project = graph.files
    for path, module in sorted(project.python.items()):
        for cls in module.settings:
            if not cls.v1_import and not cls.pydantic_v1_validators:
                continue
            why = _requires_pydantic_2(project, path)
            if why is None:
                ctx.silent(cls.span, f"{path}: the dependencies do not pin pydantic 2")
                continue
            if cls.v1_import is not None:
                yield ctx.report(
                    f"`{cls.name}` imports `BaseSettings` from `pydantic`, but {why} means "
                    "pydantic 2, "
                    "where it moved: the import fails with `PydanticImportError`.",
                    cls.v1_import,
                    (Related(cls.span, f"`{cls.name}`"),),
                    "Import it from pydantic-settings: "
                    "`from pydantic_settings import BaseSettings`.",
                )
            for span in cls.pydantic_v1_validators:
                yield ctx.report(
                    f"`{cls.name}` uses the pydantic v1 API (`@validator` / `class Config`) under "
                    f"pydantic 2 ({why}): it is deprecated (a warning at every start), v1-only "
                    "options such as `customise_sources` are silently ignored, and it is removed "
                    "in pydantic 3.",
                    span,
                    fix='Use `@field_validator(..., mode="before")` and '
                    "`model_config = SettingsConfigDict(...)`.",
                )


RULE = Rule(
    code="ENV007",
    name="pydantic-v1-settings-api",
    severity=Severity.WARNING,
    summary="A settings class uses the pydantic v1 API although the project requires pydantic 2.",
    check=check,
)
