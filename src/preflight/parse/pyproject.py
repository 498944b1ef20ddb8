"""pyproject.toml: what a project declares it needs at run time, and in which group.

Reads PEP 621 ``[project]``, PEP 735 ``[dependency-groups]``, ``[tool.uv]`` and poetry's
``[tool.poetry]``, and keeps ``[tool.preflight]`` for the config loader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from preflight.parse import ParseProblem
from preflight.parse.requirements import Requirement, normalise_name, parse_requirement
from preflight.parse.toml_positions import TomlLocator, load_toml
from preflight.spans import Span

MAX_GROUP_EXPANSION = 100_000
"""Groups and requirements ``include-group`` expansion may visit, over one file."""


@dataclass(frozen=True)
class DependencyGroup:
    """A named set of dependencies that an installer adds only when asked."""

    name: str
    kind: str  # "extra" (optional-dependencies) | "group" (PEP 735 / poetry / uv dev)
    requirements: tuple[Requirement, ...]
    span: Span
    poetry_optional: bool = False  # poetry groups with optional = true need --with


@dataclass(frozen=True)
class BuildFacts:
    """What building the project (not only its dependencies) reads: the backend, the files its
    metadata names, and whether its package files are configured or found by heuristics."""

    backend: str | None  # [build-system] build-backend; None without one
    has_build_system: bool
    # files the metadata names, relative to the pyproject's directory, each with where it is
    # named and the key ("readme", "license"): [project] readme / license = {file}, poetry readme
    files: tuple[tuple[str, str, Span], ...] = ()
    dynamic: tuple[str, ...] = ()  # [project] dynamic
    # [tool.hatch.build…] packages/include/only-include/sources/force-include/bypass-selection
    hatch_selection: bool = False
    uv_package: bool | None = None  # [tool.uv] package
    poetry_package_mode: bool = True  # [tool.poetry] package-mode
    poetry_packages: bool = False  # [tool.poetry] packages set


@dataclass(frozen=True)
class Pyproject:
    path: str
    name: str | None
    runtime: tuple[Requirement, ...]
    runtime_span: Span  # where runtime dependencies are declared (for "add it here")
    runtime_table: str  # "[project.dependencies]" or "[tool.poetry.dependencies]"
    groups: tuple[DependencyGroup, ...]
    scripts: dict[str, Span]
    uv_default_groups: tuple[str, ...] | None  # None: uv's default (["dev"])
    is_poetry: bool
    tool_preflight: dict[str, Any] | None
    tool_preflight_span: Span | None
    problems: tuple[ParseProblem, ...] = field(default=())
    workspace_members: tuple[str, ...] = ()  # [tool.uv.workspace] members (globs)
    has_project_table: bool = True  # False for a virtual workspace root
    # `dynamic = ["dependencies"]`: the requirements files the build backend reads them from
    # ([tool.setuptools.dynamic], hatch-requirements-txt), relative to the pyproject's
    # directory; None when dependencies are not dynamic, () when their source is not known
    dynamic_dependencies: tuple[str, ...] | None = None
    # the Python versions the project supports: `requires-python` (PEP 440, as written) or
    # Poetry's `python = "^3.12"` (Poetry's syntax, as written), and where it is written
    requires_python: str | None = None
    requires_python_span: Span | None = None
    requires_python_key: str = ""  # "requires-python" | "tool.poetry.dependencies.python"
    build: BuildFacts | None = None  # None when the file could not be read

    def group(self, kind: str, name: str) -> DependencyGroup | None:
        wanted = normalise_name(name)
        for group in self.groups:
            if group.kind == kind and normalise_name(group.name) == wanted:
                return group
        return None


def parse_pyproject(path: str, text: str) -> Pyproject:
    data, problem = load_toml(path, text)
    if data is None:
        return Pyproject(
            path,
            None,
            (),
            Span(path, 1),
            "[project.dependencies]",
            (),
            {},
            None,
            False,
            None,
            None,
            (problem,) if problem else (),
        )
    locate = TomlLocator(path, text)
    problems: list[ParseProblem] = []
    project = _table(data.get("project"))
    tool = _table(data.get("tool"))
    poetry = _table(tool.get("poetry"))
    uv = _table(tool.get("uv"))

    def requirement_list(table: str, key: str, values: object) -> tuple[Requirement, ...]:
        out: list[Requirement] = []
        if not isinstance(values, list):
            return ()
        for raw in values:
            if not isinstance(raw, str):
                continue  # PEP 735 {include-group = ...} is resolved below
            span = locate.string_in(table, key, raw)
            requirement = parse_requirement(raw, span)
            if requirement is None:
                problems.append(ParseProblem(span, f"invalid requirement `{raw}` in {key}"))
            else:
                out.append(requirement)
        return tuple(out)

    runtime = requirement_list("project", "dependencies", project.get("dependencies"))
    runtime_span = (
        locate.key("project", "dependencies")
        if "dependencies" in project
        else (locate.table("project"))
    )
    runtime_table = "[project.dependencies]"
    groups: list[DependencyGroup] = []
    for extra, values in _table(project.get("optional-dependencies")).items():
        groups.append(
            DependencyGroup(
                extra,
                "extra",
                requirement_list("project.optional-dependencies", extra, values),
                locate.key("project.optional-dependencies", extra),
            )
        )
    raw_groups = _table(data.get("dependency-groups"))
    own = {
        name: requirement_list("dependency-groups", name, values)
        for name, values in raw_groups.items()
    }
    resolved, too_many = _resolve_pep735(raw_groups, own)
    if too_many:
        problems.append(
            ParseProblem(
                locate.table("dependency-groups"),
                f"dependency groups include each other more than {MAX_GROUP_EXPANSION:,} "
                "times (`include-group`); preflight does not follow them",
            )
        )
    for name in raw_groups:
        groups.append(
            DependencyGroup(
                name, "group", resolved.get(name, own[name]), locate.key("dependency-groups", name)
            )
        )
    uv_dev = uv.get("dev-dependencies")
    if isinstance(uv_dev, list):
        merged = requirement_list("tool.uv", "dev-dependencies", uv_dev)
        existing = next((g for g in groups if g.kind == "group" and g.name == "dev"), None)
        if existing is not None:
            groups.remove(existing)
            merged = existing.requirements + merged
        groups.append(
            DependencyGroup("dev", "group", merged, locate.key("tool.uv", "dev-dependencies"))
        )
    default_groups = uv.get("default-groups")
    uv_default_groups = (
        tuple(g for g in default_groups if isinstance(g, str))
        if isinstance(default_groups, list)
        else ("*",)
        if default_groups == "all"
        else None
    )

    dynamic_dependencies = _dynamic_dependencies(project, tool)

    is_poetry = bool(poetry)
    if is_poetry and not runtime:
        runtime = _poetry_requirements(
            locate, "tool.poetry.dependencies", _table(poetry.get("dependencies"))
        )
        if "dependencies" in poetry:
            runtime_span = locate.table("tool.poetry.dependencies")
            runtime_table = "[tool.poetry.dependencies]"
    if is_poetry:
        poetry_extras = _table(poetry.get("extras"))
        for extra, names in poetry_extras.items():
            if isinstance(names, list):
                wanted = {normalise_name(n) for n in names if isinstance(n, str)}
                groups.append(
                    DependencyGroup(
                        extra,
                        "extra",
                        tuple(r for r in runtime if r.name in wanted),
                        locate.key("tool.poetry.extras", extra),
                    )
                )
        optional_names = _poetry_optional_names(_table(poetry.get("dependencies")))
        runtime = tuple(r for r in runtime if r.name not in optional_names)
        legacy_dev = poetry.get("dev-dependencies")
        if isinstance(legacy_dev, dict):
            groups.append(
                DependencyGroup(
                    "dev",
                    "group",
                    _poetry_requirements(locate, "tool.poetry.dev-dependencies", legacy_dev),
                    locate.table("tool.poetry.dev-dependencies"),
                )
            )
        for name, group in _table(poetry.get("group")).items():
            group_table = _table(group)
            table_name = f"tool.poetry.group.{name}.dependencies"
            groups.append(
                DependencyGroup(
                    name,
                    "group",
                    _poetry_requirements(
                        locate, table_name, _table(group_table.get("dependencies"))
                    ),
                    locate.table(table_name),
                    poetry_optional=group_table.get("optional") is True,
                )
            )

    scripts: dict[str, Span] = {}
    for name in _table(project.get("scripts")):
        scripts[name] = locate.key("project.scripts", name)
    for name in _table(poetry.get("scripts")):
        scripts[name] = locate.key("tool.poetry.scripts", name)

    raw_name = project.get("name") if isinstance(project.get("name"), str) else poetry.get("name")
    project_name = raw_name if isinstance(raw_name, str) else None
    preflight = tool.get("preflight")
    requires_python, requires_python_span, requires_python_key = _requires_python(
        locate, project, _table(poetry.get("dependencies"))
    )
    return Pyproject(
        path=path,
        name=project_name,
        runtime=runtime,
        runtime_span=runtime_span,
        runtime_table=runtime_table,
        groups=tuple(groups),
        scripts=scripts,
        uv_default_groups=uv_default_groups,
        is_poetry=is_poetry,
        tool_preflight=preflight if isinstance(preflight, dict) else None,
        tool_preflight_span=locate.table("tool.preflight") if "preflight" in tool else None,
        problems=tuple(problems),
        workspace_members=tuple(
            m for m in _table(uv.get("workspace")).get("members", []) if isinstance(m, str)
        )
        if isinstance(_table(uv.get("workspace")).get("members"), list)
        else (),
        has_project_table=bool(project) or is_poetry,
        dynamic_dependencies=dynamic_dependencies,
        requires_python=requires_python,
        requires_python_span=requires_python_span,
        requires_python_key=requires_python_key,
        build=_build_facts(data, project, tool, locate),
    )


_HATCH_SELECTION = (
    "packages", "include", "only-include", "sources", "force-include", "bypass-selection",
    "only-packages",
)  # fmt: skip


def _build_facts(
    data: dict[str, Any], project: dict[str, Any], tool: dict[str, Any], locate: TomlLocator
) -> BuildFacts:
    build_system = _table(data.get("build-system"))
    backend = build_system.get("build-backend")
    files: list[tuple[str, str, Span]] = []
    readme = project.get("readme")
    if isinstance(readme, dict):
        readme = readme.get("file")
    if isinstance(readme, str) and readme:
        files.append((readme, "readme", locate.string_in("project", "readme", readme)))
    license_value = project.get("license")
    if isinstance(license_value, dict) and isinstance(license_value.get("file"), str):
        name = license_value["file"]
        files.append((name, "license", locate.string_in("project", "license", name)))
    poetry = _table(tool.get("poetry"))
    poetry_readme = poetry.get("readme")
    if "readme" not in project:
        for name in [poetry_readme] if isinstance(poetry_readme, str) else poetry_readme or []:
            if isinstance(name, str) and name:
                files.append((name, "readme", locate.string_in("tool.poetry", "readme", name)))
    hatch_build = _table(_table(tool.get("hatch")).get("build"))
    wheel = _table(_table(hatch_build.get("targets")).get("wheel"))
    dynamic = project.get("dynamic")
    dynamic = dynamic if isinstance(dynamic, list) else []
    uv_package = _table(tool.get("uv")).get("package")
    return BuildFacts(
        backend=backend if isinstance(backend, str) else None,
        has_build_system=bool(build_system),
        files=tuple(files),
        dynamic=tuple(d for d in dynamic if isinstance(d, str)),
        hatch_selection=any(key in hatch_build or key in wheel for key in _HATCH_SELECTION)
        or bool(_table(_table(tool.get("hatch")).get("build")).get("hooks"))
        or bool(wheel.get("hooks")),
        uv_package=uv_package if isinstance(uv_package, bool) else None,
        poetry_package_mode=poetry.get("package-mode") is not False,
        poetry_packages="packages" in poetry,
    )


def _requires_python(
    locate: TomlLocator, project: dict[str, Any], poetry_deps: dict[str, Any]
) -> tuple[str | None, Span | None, str]:
    """``[project] requires-python``, else Poetry's ``python`` dependency (a string only)."""
    value = project.get("requires-python")
    if isinstance(value, str):
        return value, locate.key("project", "requires-python"), "requires-python"
    for raw_name, spec in poetry_deps.items():
        if normalise_name(raw_name) == "python" and isinstance(spec, str):
            return (
                spec,
                locate.key("tool.poetry.dependencies", raw_name),
                "tool.poetry.dependencies.python",
            )
    return None, None, ""


def _dynamic_dependencies(project: dict[str, Any], tool: dict[str, Any]) -> tuple[str, ...] | None:
    """The files ``dynamic = ["dependencies"]`` takes them from, () if unknown, None if static.

    setuptools: ``[tool.setuptools.dynamic] dependencies = {file = ["requirements.txt"]}``;
    hatch-requirements-txt: ``[tool.hatch.metadata.hooks.requirements_txt] files = [...]``
    (default ``requirements.txt``)."""
    dynamic = project.get("dynamic")
    if not isinstance(dynamic, list) or "dependencies" not in dynamic:
        return None
    setuptools = _table(_table(_table(tool.get("setuptools")).get("dynamic")).get("dependencies"))
    files: object = setuptools.get("file")
    if files is None:
        hooks = _table(_table(_table(tool.get("hatch")).get("metadata")).get("hooks"))
        if "requirements_txt" in hooks:
            files = _table(hooks["requirements_txt"]).get("files", ["requirements.txt"])
    if isinstance(files, str):
        files = [files]
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return ()
    return tuple(files)


def _table(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _resolve_pep735(
    raw_groups: dict[str, Any], own: dict[str, tuple[Requirement, ...]]
) -> tuple[dict[str, tuple[Requirement, ...]], bool]:
    """Each PEP 735 group with its ``{include-group = "..."}`` entries expanded: its own
    requirements, then each group it includes (depth first, each group once, cycles cut).

    Iterative, and each group's own list is read once, so a long chain or a diamond of includes
    costs what it lists; past ``MAX_GROUP_EXPANSION`` entries over the file it stops (True).
    """
    by_name = {normalise_name(name): name for name in raw_groups}

    def included(name: str) -> list[str]:
        values = raw_groups.get(name)
        out: list[str] = []
        for item in values if isinstance(values, list) else ():
            target = item.get("include-group") if isinstance(item, dict) else None
            if isinstance(target, str) and normalise_name(target) in by_name:
                out.append(by_name[normalise_name(target)])
        return out

    resolved: dict[str, tuple[Requirement, ...]] = {}
    budget = MAX_GROUP_EXPANSION
    for name in raw_groups:
        requirements: list[Requirement] = []
        seen: set[str] = set()
        stack = [name]
        while stack:
            current = stack.pop()
            budget -= 1
            if budget < 0:
                return resolved, True
            if current in seen:
                continue
            seen.add(current)
            requirements.extend(own.get(current, ()))
            budget -= len(own.get(current, ()))
            stack.extend(reversed(included(current)))
        resolved[name] = tuple(requirements)
    return resolved, False


def _poetry_requirements(
    locate: TomlLocator, table: str, deps: dict[str, Any]
) -> tuple[Requirement, ...]:
    out: list[Requirement] = []
    for raw_name, spec in deps.items():
        if normalise_name(raw_name) == "python":
            continue
        extras: frozenset[str] = frozenset()
        version = ""
        if isinstance(spec, str):
            version = spec
        elif isinstance(spec, dict):
            version = spec.get("version", "") if isinstance(spec.get("version"), str) else ""
            raw_extras = spec.get("extras")
            if isinstance(raw_extras, list):
                extras = frozenset(e.lower() for e in raw_extras if isinstance(e, str))
        elif isinstance(spec, list):  # multiple-constraint form: one entry per python range
            pass
        out.append(
            Requirement(
                name=normalise_name(raw_name),
                extras=extras,
                specifier=version,
                marker=None,
                raw=f"{raw_name} = {version}" if version else raw_name,
                span=locate.key(table, raw_name),
            )
        )
    return tuple(out)


def _poetry_optional_names(deps: dict[str, Any]) -> set[str]:
    return {
        normalise_name(name)
        for name, spec in deps.items()
        if isinstance(spec, dict) and spec.get("optional") is True
    }
