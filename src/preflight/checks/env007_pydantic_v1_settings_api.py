"""ENV007 pydantic-v1-settings-api: v1 settings API under pydantic 2 / pydantic-settings."""

from __future__ import annotations

from collections.abc import Iterator

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion

from preflight.checks.rule import Rule
from preflight.findings import Applicability, Autofix, Edit, Finding, RuleContext, Severity
from preflight.model.graph import Deployment
from preflight.model.project import Project
from preflight.spans import Related

_ONES = ("1.8.2", "1.9.2", "1.10.0", "1.10.9", "1.10.18", "1.10.26", "1.10.99")
_TWOS = ("2.0", "2.5.3", "2.9.2", "2.11.0", "2.99")


def _pydantic_version(project: Project, path: str) -> tuple[str | None, str, bool]:
    """Which pydantic a fresh build of the module's service installs: ("2", why, required),
    ("1", why, _) or (None, why not known, _). ``required``: the dependencies exclude 1.x (not
    merely admit 2), which is what the deprecation findings need."""
    deps = project.dependencies.get(path)
    if deps is None:
        return None, "no pyproject.toml or requirements.txt governs it", False
    locked = deps.locked.get("pydantic")
    if locked is not None:
        line = "2" if not locked.startswith(("0.", "1.")) else "1"
        return line, f"the lock file's pydantic {locked}", line == "2"
    if "pydantic-settings" in deps.names():
        return "2", f"`pydantic-settings` in {deps.declared_in}", True
    for requirement in deps.requirements:
        if requirement.name != "pydantic":
            continue
        where = f"`{requirement.raw}` in {deps.declared_in}"
        try:
            spec = SpecifierSet(requirement.specifier)
        except InvalidSpecifier:
            return None, f"{where} is not a version constraint preflight reads", False
        named = [clause.version for clause in spec if "*" not in clause.version]
        ones = [v for v in (*_ONES, *named) if v.startswith("1.")]
        twos = [v for v in (*_TWOS, *named) if v.startswith("2.")]
        admits_one = any(_in(spec, v) for v in ones)
        admits_two = any(_in(spec, v) for v in twos)
        if admits_two:  # the newest admitted version is what a fresh build installs
            return "2", where, not admits_one
        if admits_one:
            return "1", where, False
        return None, f"{where} admits neither pydantic 1 nor 2", False
    return None, f"{deps.declared_in} does not declare pydantic (another package brings it)", False


def _move_import(project: Project, path: str) -> Autofix | None:
    """`BaseSettings` imported from pydantic-settings and a plain `class Config` made
    `model_config = SettingsConfigDict(...)` (a libcst codemod), and
    `pydantic-settings` declared where the module's dependencies are when it is not. Unsafe:
    pydantic-settings 2 reads the environment differently in places (complex values as JSON,
    `env` → `validation_alias`), which a person checks."""
    edits = [Edit.python_codemod(path, "pydantic-settings")]
    deps = project.dependencies.get(path)
    if deps is None:
        return None
    if "pydantic-settings" not in deps.names():
        where = deps.span.path
        if where.endswith(".txt"):
            edits.append(Edit.append(where, "pydantic-settings\n"))
        elif "[tool.poetry" in deps.declared_in:
            edits.append(
                Edit.toml_add(where, "tool.poetry.dependencies", 'pydantic-settings = "*"')
            )
        elif "[project.dependencies]" in deps.declared_in:
            edits.append(Edit.toml_add(where, "project.dependencies", "pydantic-settings"))
        else:
            return None
    return Autofix(
        Applicability.UNSAFE, "Import `BaseSettings` from pydantic-settings", tuple(edits)
    )


def _in(spec: SpecifierSet, version: str) -> bool:
    try:
        return spec.contains(version, prereleases=True)
    except InvalidVersion:
        return False


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    project = graph.files
    for path, module in sorted(project.python.items()):
        for cls in module.settings:
            if not cls.v1_import and not cls.pydantic_v1_validators:
                continue
            line, why, required = _pydantic_version(project, path)
            if line != "2":
                ctx.silent(cls.span, f"{path}: pydantic {line or 'version unknown'}: {why}")
                continue
            if cls.v1_import is not None:
                means = "means pydantic 2" if required else "lets a fresh build install pydantic 2"
                yield ctx.report(
                    f"`{cls.name}` imports `BaseSettings` from `pydantic`, but {why} {means}, "
                    "where it moved: the import fails at start-up with `PydanticImportError`.",
                    cls.v1_import,
                    (Related(cls.span, f"`{cls.name}`"),),
                    "Import it from pydantic-settings: "
                    "`from pydantic_settings import BaseSettings` (and declare `pydantic-settings`"
                    "), or hold pydantic below 2 (`pydantic<2`).",
                    headline="`BaseSettings` imported from `pydantic` under pydantic 2",
                    autofix=_move_import(project, path),
                )
            if not required:
                continue  # v1 validators work under both; deprecated only where 2 is required
            for span in cls.pydantic_v1_validators:
                yield ctx.report(
                    f"`{cls.name}` uses the pydantic v1 API (`@validator` / `class Config`) under "
                    f"pydantic 2 ({why}): it is deprecated (a warning at every start), v1-only "
                    "options such as `customise_sources` are silently ignored, and it is removed "
                    "in pydantic 3.",
                    span,
                    fix='Use `@field_validator(..., mode="before")` and '
                    "`model_config = SettingsConfigDict(...)`.",
                    severity=Severity.WARNING,
                    headline=f"`{cls.name}` uses the pydantic v1 API under pydantic 2",
                )


RULE = Rule(
    code="ENV007",
    name="pydantic-v1-settings-api",
    severity=Severity.ERROR,
    # the v1 import fails (error); v1 validators and `class Config` are only deprecated
    other_severities=(Severity.WARNING,),
    summary="A settings class uses the pydantic v1 API although the project installs pydantic 2.",
    check=check,
)
