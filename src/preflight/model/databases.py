"""Database URLs traced from where they are written to the engine that receives them.

For each ``create_engine``/``create_async_engine`` call the model answers: which settings field or
environment variable feeds it, every value that variable gets anywhere in the repository (a
Kubernetes Secret, a ConfigMap, a container's ``env``, compose, ``.env.example``, a Dockerfile
``ENV``, the field's default, a literal), and what the code does to the URL on the way (a
validator, a property, an inline ``.replace``). The result is the *effective* URL per source.

When the path from engine to variable cannot be followed, the engine is kept with
``unresolved`` set, and rules stay silent about it.
"""

from __future__ import annotations

import bisect
import posixpath
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion

from preflight.digits import ascii_int
from preflight.model.urls import DbUrl, parse_db_url
from preflight.parse.python import (
    EngineCall,
    ImportBinding,
    PythonModule,
    SettingsClass,
    UrlExpr,
    UrlRewrite,
)
from preflight.parse.requirements import Requirement
from preflight.spans import Span


@dataclass(frozen=True, slots=True)
class EnvSource:
    """One value an environment variable gets somewhere in the repository."""

    name: str  # the variable, as written
    value: str = field(repr=False)
    span: Span
    where: str  # "Secret `backend-secrets` key `DATABASE_URL`", ".env.example", …


@dataclass(frozen=True, slots=True)
class EffectiveUrl:
    source: EnvSource
    original: DbUrl
    url: DbUrl  # after every rewrite
    rewrites: tuple[UrlRewrite, ...]
    params_handled: bool  # the code strips or translates libpq parameters
    rewrite_spans: tuple[tuple[Span, str], ...]  # validators/properties that changed it
    # the settings class field the URL reaches the engine through: (module path, class, field)
    settings_field: tuple[str, str, str] | None = None


@dataclass(slots=True)
class DatabaseUse:
    engine: EngineCall
    module: str  # path of the module that creates the engine
    urls: list[EffectiveUrl] = field(default_factory=list)
    setting: str | None = None  # the env variable feeding it, for messages
    unresolved: str | None = None


@dataclass(slots=True)
class Dependencies:
    """The runtime dependencies that govern a module: its nearest pyproject or requirements."""

    declared_in: str  # e.g. "pyproject.toml [project.dependencies]"
    span: Span
    requirements: tuple[Requirement, ...]
    locked: dict[str, str]
    _minors: frozenset[str] | None = field(default=None, repr=False)
    _names: set[str] | None = field(default=None, repr=False)

    def _compute_names(self) -> set[str]:
        from preflight.knowledge.executables import brought

        keys = [r.name for r in self.requirements]
        keys += [f"{r.name}[{extra}]" for r in self.requirements for extra in r.extras]
        return brought(keys)

    def sqlalchemy_minors(self) -> frozenset[str]:
        """Which SQLAlchemy lines an install may get: "2.0" (before 2.1) and/or "2.1" (2.1+)."""
        if self._minors is None:
            self._minors = self._sqlalchemy_minors()
        return self._minors

    def names(self) -> set[str]:
        if self._names is None:
            self._names = self._compute_names()
        return self._names

    def _sqlalchemy_minors(self) -> frozenset[str]:
        locked = self.locked.get("sqlalchemy")
        if locked is not None:
            return frozenset({"2.1" if _at_least_21(locked) else "2.0"})
        minors = {"2.0", "2.1"}
        for requirement in self.requirements:
            if requirement.name not in ("sqlalchemy",):
                continue
            try:
                spec = SpecifierSet(requirement.specifier)
            except InvalidSpecifier:
                continue
            # the versions the specifier names are candidates too: `==2.0.30` installs 2.0.30,
            # which no fixed probe would hit
            named = [clause.version for clause in spec if "*" not in clause.version]
            candidates = [*_PROBES, *named]
            if not any(_in(spec, v) for v in candidates if not _at_least_21(v)):
                minors.discard("2.0")
            if not any(_in(spec, v) for v in candidates if _at_least_21(v)):
                minors.discard("2.1")
        return frozenset(minors) or frozenset({"2.0", "2.1"})


# Versions that tell the two lines apart under the usual specifiers (`>=2`, `<2.1`, `~=2.0`).
_PROBES = ("1.4.54", "2.0.0", "2.0.36", "2.0.99", "2.1.0", "2.1.9", "2.2.0", "3.0.0")


def _in(spec: SpecifierSet, version: str) -> bool:
    try:
        return spec.contains(version, prereleases=True)
    except InvalidVersion:
        return False


def _at_least_21(version: str) -> bool:
    parts = version.split(".")
    if len(parts) < 2:
        return False
    major, minor = ascii_int(parts[0]), ascii_int(parts[1])
    return major is not None and minor is not None and (major, minor) >= (2, 1)


def module_names(path: str) -> list[str]:
    """Dotted names a module file may be imported as (``src/app/db.py`` → app.db, src.app.db)."""
    stem = path[:-3] if path.endswith(".py") else path
    parts = stem.split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return [".".join(parts[i:]) for i in range(len(parts)) if parts[i:]]


class ModuleIndex:
    """Every Python file by each of its path tails (``app/db.py`` finds ``svc/app/db.py``)."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = frozenset(paths)
        self.by_tail: dict[str, list[str]] = {}
        for path in sorted(self.paths):
            parts = path.split("/")
            for start in range(len(parts)):
                self.by_tail.setdefault("/".join(parts[start:]), []).append(path)

    def find(self, relative: str) -> list[str]:
        return self.by_tail.get(relative, [])

    def find_under(self, relative: str, prefix: str) -> list[str]:
        """``find(relative)`` for the paths starting with ``prefix`` (a directory and its
        `/`), sorted: a range of the sorted tail, not a scan of every module sharing it (a
        monorepo of 2,000 services has 2,000 `app/main.py`). Each tail's list is sorted: the
        paths are indexed in order."""
        ordered = self.by_tail.get(relative, [])
        start = bisect.bisect_left(ordered, prefix)
        stop = bisect.bisect_left(ordered, prefix[:-1] + chr(ord(prefix[-1]) + 1))
        return ordered[start:stop]


_INDEXES: dict[int, tuple[object, ModuleIndex]] = {}


def module_index(modules: Iterable[str]) -> ModuleIndex:
    """The index of a collection of module paths, built once per collection object."""
    if isinstance(modules, ModuleIndex):
        return modules
    known = _INDEXES.get(id(modules))
    if known is not None and known[0] is modules:
        return known[1]
    index = ModuleIndex(modules)
    if len(_INDEXES) > 8:
        _INDEXES.clear()
    _INDEXES[id(modules)] = (modules, index)
    return index


def nearest(found: list[str], importer: str) -> str | None:
    """The one candidate sharing the longest directory prefix with ``importer`` (None: a tie)."""
    if len(found) == 1:
        return found[0]
    if not found:
        return None
    directory = importer.split("/")[:-1]

    def shared(path: str) -> int:
        count = 0
        for a, b in zip(directory, path.split("/")[:-1], strict=False):
            if a != b:
                break
            count += 1
        return count

    ranked = sorted(found, key=shared, reverse=True)
    return ranked[0] if shared(ranked[0]) > shared(ranked[1]) else None


def resolve_import(binding: ImportBinding, importer: str, modules: Iterable[str]) -> str | None:
    """The repository file an import refers to (None: not in the repository, or ambiguous)."""
    index = module_index(modules)
    if binding.level:
        base = posixpath.dirname(importer)
        for _ in range(binding.level - 1):
            base = posixpath.dirname(base)
        target = binding.module.replace(".", "/") if binding.module else ""
        candidate = posixpath.join(base, target) if target else base
    else:
        candidate = binding.module.replace(".", "/")
    options = [f"{candidate}.py", f"{candidate}/__init__.py"]
    if binding.name is not None:  # `from app import db`: the submodule
        options += [f"{candidate}/{binding.name}.py", f"{candidate}/{binding.name}/__init__.py"]
    for option in options:
        if option in index.paths:
            return option
    if not binding.level:  # a source root above the importer: `services/api/` + `app/db.py`
        ancestor = posixpath.dirname(importer)
        while ancestor:
            for option in options:
                joined = f"{ancestor}/{option}"
                if joined in index.paths:
                    return joined
            ancestor = posixpath.dirname(ancestor)
    for pair in (options[:2], options[2:]):
        found = sorted({path for option in pair for path in index.find(option)})
        if found:
            return nearest(found, importer)
    return None


class DatabaseModel:
    """Built once per project; rules ask it questions."""

    def __init__(
        self,
        python: dict[str, PythonModule],
        sources: list[EnvSource],
        dependencies: dict[str, Dependencies],
        root_of: Callable[[str], str] = lambda path: "",
        provided: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.python = python
        # (variable or "*" for "any", root) a deploy sets: where a code default is not used
        self.provided = {(name, root_of(path)) for name, path in provided}
        self.dependencies = dependencies  # by module path
        # A value belongs to the service whose directory holds it; a value at a shared level
        # (the repository root, a deploy/ directory above the services) to all below it.
        self.root_of = root_of
        self._root = ""
        unique: dict[tuple[str, Span], EnvSource] = {}
        for source in sources:
            unique.setdefault((source.name, source.span), source)
        self.sources = list(unique.values())
        # Values and settings classes by (name,) root: a use looks only at the roots in its
        # scope (its own and those above it), not at every service's (quadratic in a monorepo).
        self._by_name: dict[tuple[str, str], list[tuple[int, EnvSource]]] = {}
        for number, source in enumerate(self.sources):
            key = (source.name.lower(), root_of(source.span.path))
            self._by_name.setdefault(key, []).append((number, source))
        self.settings: list[tuple[str, SettingsClass]] = [
            (path, cls) for path, module in python.items() for cls in module.settings
        ]
        self._settings_by_root: dict[str, list[int]] = {}
        for number, (path, _) in enumerate(self.settings):
            self._settings_by_root.setdefault(root_of(path), []).append(number)
        self.uses: list[DatabaseUse] = [
            self._use(path, engine)
            for path, module in sorted(python.items())
            for engine in module.engines
        ]

    # engines → effective URLs --------------------------------------------------------------

    def _scope_roots(self) -> list[str]:
        """The roots whose values apply to the service being resolved: its own, each directory
        above it, and the repository root."""
        parts = self._root.split("/") if self._root else []
        roots = ["/".join(parts[:end]) for end in range(len(parts), 0, -1)]
        return [*roots, ""]

    def _use(self, path: str, engine: EngineCall) -> DatabaseUse:
        self._root = self.root_of(path)
        use = DatabaseUse(engine, path)
        if engine.url is None:
            use.unresolved = "the engine's URL is not its first argument"
            return use
        chains = list(self._chains(path, engine.url, depth=0))
        if not chains:
            use.unresolved = f"cannot tell where `{_describe(engine.url)}` comes from"
            return use
        for chain in chains:
            for source in chain.sources:
                effective = _apply(source, chain.rewrites, chain.rewrite_spans)
                if effective is not None:
                    use.urls.append(replace(effective, settings_field=chain.settings_field))
            use.setting = use.setting or chain.setting
        return use

    def _chains(self, path: str, expr: UrlExpr, depth: int) -> Iterator[_Chain]:
        if depth > 4:
            return
        inline = expr.rewrites
        if expr.kind == "literal" and expr.value is not None:
            source = EnvSource("", expr.value, expr.span, "a literal in the code")
            yield _Chain([source], inline, (), None)
        elif expr.kind == "env" and expr.env:
            yield _Chain(self._values(expr.env, case_sensitive=True), inline, (), expr.env)
            if expr.default is not None and not self._provided(expr.env):
                # `os.getenv("X", DEFAULT)`: DEFAULT is the URL wherever nothing provides X
                for chain in self._chains(path, expr.default, depth + 1):
                    defaults = [
                        EnvSource(
                            expr.env,
                            source.value,
                            source.span,
                            "its default in the code, used when nothing sets it",
                        )
                        for source in chain.sources
                    ]
                    yield _Chain(
                        defaults, (*chain.rewrites, *inline), chain.rewrite_spans, expr.env
                    )
        elif expr.kind == "setting" and expr.attr:
            yield from self._setting_chains(expr.attr, inline)
        elif expr.kind in ("name", "call") and expr.base:
            name = expr.base.rstrip("()").rsplit(".", 1)[-1]
            target = self._module_value(path, name)
            if target is not None:
                target_path, target_expr = target
                for chain in self._chains(target_path, target_expr, depth + 1):
                    yield _Chain(
                        chain.sources,
                        (*chain.rewrites, *inline),
                        chain.rewrite_spans,
                        chain.setting,
                        chain.settings_field,
                    )

    def _setting_chains(self, attr: str, inline: tuple[UrlRewrite, ...]) -> Iterator[_Chain]:
        numbers = sorted(n for r in self._scope_roots() for n in self._settings_by_root.get(r, ()))
        for number in numbers:
            settings_path, cls = self.settings[number]
            field_name = attr
            extra: tuple[UrlRewrite, ...] = ()
            spans: tuple[tuple[Span, str], ...] = ()
            if attr in cls.derived:
                field_name, derived_rewrites, derived_span = cls.derived[attr]
                extra = derived_rewrites
                spans = ((derived_span, f"`{cls.name}.{attr}` rewrites the URL"),)
            settings_field = cls.field_named(field_name)
            if settings_field is None:
                continue
            validator = cls.validators.get(field_name, ())
            validator_spans = (
                (
                    (
                        cls.validator_spans[field_name],
                        f"the validator of `{field_name}` rewrites the URL",
                    ),
                )
                if validator and field_name in cls.validator_spans
                else ()
            )
            sources: list[EnvSource] = []
            for env in settings_field.env_names:
                sources.extend(self._values(env, case_sensitive=cls.case_sensitive))
            if settings_field.default is not None and settings_field.default_span is not None:
                sources.append(
                    EnvSource(
                        settings_field.name,
                        settings_field.default,
                        settings_field.default_span,
                        f"the default of `{cls.name}.{settings_field.name}`",
                    )
                )
            env_name = settings_field.env_names[0].upper() if settings_field.env_names else None
            yield _Chain(
                sources,
                (*validator, *extra, *inline),
                (*validator_spans, *spans),
                env_name,
                (settings_path, cls.name, field_name),
            )

    def _provided(self, env: str) -> bool:
        """Something that runs the service in scope sets ``env`` (a container's env or envFrom,
        a compose service, a Dockerfile ENV), or may (an envFrom whose keys are unknown)."""
        return any(
            (name, root) in self.provided for root in self._scope_roots() for name in (env, "*")
        )

    def _values(self, env: str, *, case_sensitive: bool) -> list[EnvSource]:
        candidates = sorted(
            entry for r in self._scope_roots() for entry in self._by_name.get((env.lower(), r), ())
        )
        return [source for _, source in candidates if not case_sensitive or source.name == env]

    def _module_value(self, path: str, name: str) -> tuple[str, UrlExpr] | None:
        """The function or constant ``name`` refers to in ``path``, through re-exports (``from
        a import f`` in b, ``from b import f`` in c…); a chain is followed in a loop, and an
        import cycle (a from b, b from a) ends it."""
        seen: set[tuple[str, str]] = set()
        while (path, name) not in seen:
            seen.add((path, name))
            module = self.python.get(path)
            if module is None:
                return None
            for function in (*module.url_functions, *module.url_constants):
                if function.name == name:
                    return path, function.returns
            for binding in module.imports:
                if binding.local == name and binding.name is not None:
                    target = resolve_import(binding, path, self.python)
                    if target is not None and target != path:
                        path, name = target, binding.name
                        break
            else:
                return None
        return None

    # dependencies ---------------------------------------------------------------------------

    def dependencies_of(self, path: str) -> Dependencies | None:
        return self.dependencies.get(path)


@dataclass(slots=True)
class _Chain:
    sources: list[EnvSource]
    rewrites: tuple[UrlRewrite, ...]
    rewrite_spans: tuple[tuple[Span, str], ...]
    setting: str | None
    settings_field: tuple[str, str, str] | None = None  # (module path, class, field)


def _describe(expr: UrlExpr) -> str:
    if expr.kind == "setting":
        return f"{expr.base}.{expr.attr}"
    return expr.base or expr.env or expr.kind


def _apply(
    source: EnvSource, rewrites: tuple[UrlRewrite, ...], spans: tuple[tuple[Span, str], ...]
) -> EffectiveUrl | None:
    original = parse_db_url(source.value)
    if original is None:
        return None
    text = original.raw
    handled = False
    for rewrite in rewrites:
        if rewrite.handles_libpq_params:
            handled = True
        if rewrite.old_prefix is not None and rewrite.new_prefix is not None:
            if rewrite.old_prefix in text:
                text = text.replace(rewrite.old_prefix, rewrite.new_prefix, 1)
        elif rewrite.drivername is not None and "://" in text:
            text = f"{rewrite.drivername}://{text.split('://', 1)[1]}"
    url = parse_db_url(text) or original
    return EffectiveUrl(source, original, url, rewrites, handled, spans)
