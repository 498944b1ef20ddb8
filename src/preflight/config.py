"""Configuration: ``[tool.preflight]`` in the checked root's pyproject.toml, or ``preflight.toml``.

``preflight.toml`` takes its keys at the top level and wins over pyproject.toml when both exist
(as ruff.toml does over pyproject.toml). Every key is validated with pydantic: an unknown key or
rule code is a :class:`ConfigError`, which the CLI turns into exit code 2 with a one-line
message. pydantic is imported only when there is a table to validate; a repository without
configuration runs on the plain defaults below.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from preflight.findings import Severity

DEFAULT_MAX_FILE_SIZE = 2 * 1024 * 1024
_ALIASES = {
    "fail_on": "fail-on",
    "per_file_ignores": "per-file-ignores",
    "max_file_size": "max-file-size",
    "database_platform": "database-platform",
    "external_secrets": "external-secrets",
    "extend_select": "extend-select",
    "extend_exclude": "extend-exclude",
    "respect_gitignore": "respect-gitignore",
}
# Keys a configuration below the checked root may set: they say which findings its files get
# (and which of its files are read). The others describe the whole deployment, or the run, and
# come from the root's configuration only.
NESTED_KEYS = frozenset(
    {"select", "extend-select", "ignore", "per-file-ignores", "severity", "exclude",
     "extend-exclude"}
)  # fmt: skip


class ConfigError(Exception):
    """A configuration problem the user must fix; its message is one line."""


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    extend_exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True  # files git ignores are not read
    fail_on: Severity = Severity.ERROR
    per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)
    severity: dict[str, Severity] = field(default_factory=dict)  # code or prefix -> severity
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Facts about the deployment preflight cannot read from the files.
    database_platform: str | None = None  # "neon"
    # Secrets created outside the repository (kubectl, a vault operator): names, keys unknown.
    external_secrets: tuple[str, ...] = ()

    @classmethod
    def model_validate(cls, table: dict[str, Any]) -> Config:
        """Validate a configuration table (kebab-case keys, as in TOML); raises ValueError."""
        schema = _schema()
        parsed = schema.model_validate(table)
        return cls(**{name: getattr(parsed, name) for name in cls.__dataclass_fields__})

    def model_dump(self, by_alias: bool = False) -> dict[str, Any]:
        data = asdict(self)
        if by_alias:
            data = {_ALIASES.get(key, key): value for key, value in data.items()}
        return data

    def rule_options(self, code: str) -> dict[str, object]:
        from preflight.checks import BY_CODE

        rule = BY_CODE[code]
        raw = next((v for k, v in self.rules.items() if k.upper() == code), None)
        if rule.options is None or raw is None:
            return {}
        return dict(rule.options().model_validate(raw).model_dump())


def _schema() -> type[Any]:
    """The pydantic model that validates a configuration table."""
    from typing import Literal

    from pydantic import (
        BaseModel,
        ConfigDict,
        Field,
        StrictBool,
        StrictInt,
        ValidationError,
        field_validator,
    )

    class Schema(BaseModel):
        model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

        select: tuple[str, ...] | None = None
        extend_select: tuple[str, ...] = Field(default=(), alias="extend-select")
        ignore: tuple[str, ...] = ()
        exclude: tuple[str, ...] = ()
        extend_exclude: tuple[str, ...] = Field(default=(), alias="extend-exclude")
        respect_gitignore: StrictBool = Field(default=True, alias="respect-gitignore")
        fail_on: Severity = Field(default=Severity.ERROR, alias="fail-on")
        per_file_ignores: dict[str, tuple[str, ...]] = Field(
            default_factory=dict, alias="per-file-ignores"
        )
        severity: dict[str, Severity] = Field(default_factory=dict)
        # Every integer is a StrictInt: TOML `true` is a bool, bool is an int subclass, and a
        # lax int would turn `max-file-size = true` into a 1-byte cap (or `1.0` into 1).
        max_file_size: StrictInt = Field(default=DEFAULT_MAX_FILE_SIZE, alias="max-file-size", gt=0)
        rules: dict[str, dict[str, Any]] = Field(default_factory=dict)
        database_platform: Literal["neon"] | None = Field(default=None, alias="database-platform")
        external_secrets: tuple[str, ...] = Field(default=(), alias="external-secrets")

        @field_validator("select", "ignore", "extend_select", mode="after")
        @classmethod
        def _known_selectors(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
            return None if value is None else tuple(check_selector(s) for s in value)

        @field_validator("per_file_ignores", mode="after")
        @classmethod
        def _known_ignores(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
            resolved = {}
            for pattern, codes in value.items():
                try:
                    resolved[pattern] = tuple(check_selector(s) for s in codes)
                except ValueError as exc:
                    where = _key_words(("per-file-ignores", pattern))
                    raise _Problem((pattern,), f"{where}: {exc}") from None
            return resolved

        @field_validator("severity", mode="after")
        @classmethod
        def _known_severities(cls, value: dict[str, Severity]) -> dict[str, Severity]:
            resolved = {}
            for selector, severity in value.items():
                try:
                    resolved[check_selector(selector)] = severity
                except ValueError as exc:
                    where = _key_words(("severity", selector))
                    raise _Problem((selector,), f"{where}: {exc}") from None
            return resolved

        @field_validator("rules", mode="after")
        @classmethod
        def _known_rules(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
            from preflight.checks import rule_for, unknown_rule

            by_code: dict[str, dict[str, Any]] = {}
            for code, options in value.items():
                rule = rule_for(code)
                if rule is None:
                    raise _Problem((code,), unknown_rule(code))
                if rule.code in by_code:
                    raise _Problem((code,), f"a second table for {rule.code} ({rule.name})")
                by_code[rule.code] = options  # a rule's name is its code
                if rule.options is None:
                    if options:
                        raise _Problem((code,), f"rule {rule.code} takes no options")
                    continue
                schema = rule.options()
                try:
                    schema.model_validate(options)
                except ValidationError as exc:
                    raise _Problem((code,), "", (exc.errors()[0], _keys_of(schema))) from None
            return by_code

    return Schema


def check_selector(selector: str) -> str:
    """The code or prefix ``selector`` selects — a rule's name (`command-not-installed`) is its
    code — or a ValueError that says which rule was probably meant."""
    from preflight.checks import resolve_selector

    return resolve_selector(selector)


class _Problem(ValueError):
    """What a validator found wrong at ``keys`` below its field (pydantic locates a field
    validator's error at the field itself: a rule's table or a pattern is deeper): a message,
    or the first error of a nested model with the keys that model accepts."""

    def __init__(
        self,
        keys: tuple[str | int, ...],
        message: str,
        nested: tuple[Any, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.keys = keys
        self.message = message
        self.nested = nested


# What a TOML user calls the value pydantic expected, by pydantic's error type.
_EXPECTED = {
    "string_type": "a string",
    "tuple_type": "an array",
    "list_type": "an array",
    "set_type": "an array",
    "dict_type": "a table",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "float_type": "a number",
    "float_parsing": "a number",
}


def _plain(
    error: Any, known_keys: list[str], prefix: tuple[str, ...], above: tuple[str | int, ...] = ()
) -> tuple[tuple[str | int, ...], str]:
    """Where a pydantic error is (keys below the configuration table, which sits at ``prefix``
    in its file) and what is wrong, in the words of the TOML the user wrote — never pydantic's
    ("Input should be a valid tuple"). ``known_keys``: the keys of the table validated, for a
    did-you-mean; ``above``: the keys of that table when it is nested (``rules.PKG001``)."""
    from preflight.suggest import did_you_mean

    keys: tuple[str | int, ...] = (*above, *error["loc"])
    kind = error["type"]
    context = error.get("ctx") or {}
    value = error.get("input")
    problem = context.get("error")
    if isinstance(problem, _Problem):
        keys = (*keys, *problem.keys)
        if problem.nested is not None:
            return _plain(*problem.nested, prefix, keys)
        return keys, problem.message
    if kind == "extra_forbidden":
        key = str(keys[-1])
        parent = (*prefix, *(k for k in keys[:-1] if isinstance(k, str)))
        where = f" in [{_dotted(parent)}]" if parent else ""
        choices = known_keys if len(keys) == len(above) + 1 else []
        if keys == ("tool",) and not prefix:  # [tool.preflight] copied into a preflight.toml
            return keys, "unknown key `tool` (here the keys of [tool.preflight] are top-level)"
        return keys, f"unknown key `{key}`{where}{did_you_mean(key, choices)}"
    shown = _key_words(keys)
    if kind in ("enum", "literal_error"):
        choices = re.findall(r"'([^']*)'", str(context.get("expected", "")))
        listed = ", ".join(f'"{choice}"' for choice in choices)
        given = f'"{value}"' if isinstance(value, str) else _toml_type(value)
        hint = did_you_mean(value, choices) if isinstance(value, str) else ""
        return keys, f"{shown} must be one of {listed}, not {given}{hint}"
    if kind in ("greater_than", "greater_than_equal"):
        bound = context.get("gt", context.get("ge"))
        relation = "greater than" if kind == "greater_than" else "at least"
        return keys, f"{shown} must be {relation} {bound}, not {value}"
    if kind in _EXPECTED:
        return keys, f"{shown} must be {_EXPECTED[kind]}, not {_toml_type(value)}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return keys, f"{shown}: {message}"


def _dotted(names: Iterable[str]) -> str:
    """Keys as TOML writes a dotted key: bare where it can, quoted where it must."""
    return ".".join(name if _is_bare(name) else json.dumps(name) for name in names)


def _key_words(keys: tuple[str | int, ...]) -> str:
    """``select``, ``per-file-ignores."k8s/*"``, ``exclude`` item 2: a key as TOML writes it."""
    dotted = _dotted(key for key in keys if isinstance(key, str))
    items = [key for key in keys if isinstance(key, int)]
    return f"`{dotted}`" + (f" item {items[-1] + 1}" if items else "")


def _is_bare(key: str) -> bool:
    return bool(key) and all(char.isascii() and (char.isalnum() or char in "-_") for char in key)


def _keys_of(schema: Any) -> list[str]:
    """The keys a pydantic model accepts, as TOML spells them (its aliases)."""
    return [field.alias or name for name, field in schema.model_fields.items()]


def _read_regular_file(path: Path, follow: bool) -> bytes | None:
    """The bytes of ``path`` if it is a regular file within the size cap; None if it is not a
    regular file (a directory, FIFO, device: never read, so it cannot hang or exhaust memory).

    ``follow=False`` refuses a symlink in the last component (``O_NOFOLLOW``); the check and the
    read are on one open descriptor, so the file cannot be swapped in between.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink
            return None
        raise
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            return None
        if info.st_size > DEFAULT_MAX_FILE_SIZE:
            raise ConfigError(f"{path} is larger than {DEFAULT_MAX_FILE_SIZE} bytes; not read")
        data = handle.read(DEFAULT_MAX_FILE_SIZE + 1)
        if len(data) > DEFAULT_MAX_FILE_SIZE:
            raise ConfigError(f"{path} is larger than {DEFAULT_MAX_FILE_SIZE} bytes; not read")
        return data


def _load_toml(path: Path, follow: bool = True) -> dict[str, Any]:
    return _read_toml(path, follow)[0]


def _read_toml(path: Path, follow: bool = True) -> tuple[dict[str, Any], str]:
    """The document and its text (which says on which line a key is)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        data = _read_regular_file(path, follow)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    if data is None:
        raise ConfigError(f"{path} is not a regular file")
    try:
        text = data.decode("utf-8")
        document: dict[str, Any] = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: not UTF-8 (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        # "Expected '=' after a key (at line 3, column 7)" -> path:3:7: ...
        message = str(exc)
        at = re.search(r" \(at line (\d+), column (\d+)\)$", message)
        if at is not None:
            where = f"{path}:{at.group(1)}:{at.group(2)}"
            raise ConfigError(f"{where}: not valid TOML: {message[: at.start()]}") from None
        raise ConfigError(f"{path} is not valid TOML: {message}") from None
    return document, text


def _root_config_file(root: Path, name: str) -> tuple[Path | None, str | None]:
    """``root/name`` if preflight may read it as configuration, else None and why not.

    The checked repository may be hostile: a configuration file is read only if it is a regular
    file inside the root. A symlink is followed only to a target inside the root (as discovery
    does for every file), and the target is then opened without following links.
    """
    path = root / name
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"cannot be read: {exc.strerror}"
    if stat.S_ISLNK(info.st_mode):
        real_root = os.path.realpath(root)
        target = os.path.realpath(path)
        if os.path.commonpath([real_root, target]) != real_root:
            return None, "a symlink that points outside the checked root"
        path = Path(target)
    elif not stat.S_ISREG(info.st_mode):
        return None, "not a regular file"
    return path, None


def _tool_table(data: dict[str, Any]) -> object | None:
    """``[tool.preflight]`` of a pyproject document: None when absent. A ``tool`` that is not a
    table is not ours to judge (the pyproject parser reports it); a ``tool.preflight`` that is
    not a table is a configuration error (raised by :func:`_validate`)."""
    tool = data.get("tool")
    if not isinstance(tool, dict):
        return None
    return tool.get("preflight")


def load_config(
    root: Path, explicit: Path | None = None, notes: list[str] | None = None
) -> tuple[Config, str | None]:
    """The configuration for ``root`` and where it came from (None: defaults).

    A configuration file in ``root`` that may not be read (see :func:`_root_config_file`) is
    ignored, with the reason appended to ``notes`` (shown by ``--verbose``). An ``explicit``
    file was chosen by whoever runs preflight, not by the repository, so links are followed.
    """
    if explicit is not None:
        data, text = _read_toml(explicit)
        if explicit.name == "pyproject.toml":
            table = _tool_table(data)
            if table is None:  # chosen on purpose: its (absent) table means the defaults
                return Config(), str(explicit)
            return _validate(table, str(explicit), text, _IN_PYPROJECT), str(explicit)
        return _validate(data, str(explicit), text), str(explicit)
    for name in ("preflight.toml", "pyproject.toml"):
        path, why_not = _root_config_file(root, name)
        if why_not is not None and notes is not None:
            notes.append(f"{name}: not read as configuration: {why_not}")
        if path is None:
            continue
        shown = str(root / name)  # as the user named the root: `svc/pyproject.toml`
        if name == "preflight.toml":
            data, text = _read_toml(path, follow=False)
            return _validate(data, shown, text), name
        try:
            data, text = _read_toml(path, follow=False)
        except ConfigError:
            return Config(), None  # reported as PF001 (or a size-cap note) by discovery
        table = _tool_table(data)
        if table is not None:
            return _validate(table, shown, text, _IN_PYPROJECT), name
    return Config(), None


_IN_PYPROJECT = ("tool", "preflight")


def _validate(table: object, shown: str, text: str, prefix: tuple[str, ...] = ()) -> Config:
    """The configuration ``table`` (at key ``prefix`` of the file ``shown``, whose text is
    ``text``); a :class:`ConfigError` ``file:line: what is wrong`` when it is not valid."""
    from pydantic import ValidationError

    from preflight.tomlkeys import line_of

    if not isinstance(table, dict):
        line = line_of(text, prefix)
        where = f"{shown}:{line}" if line is not None else shown
        raise ConfigError(f"{where}: [{_dotted(prefix)}] must be a table, not {_toml_type(table)}")
    try:
        return Config.model_validate(table)
    except ValidationError as exc:
        keys, message = _plain(exc.errors()[0], _keys_of(_schema()), prefix)
        line = line_of(text, (*prefix, *(key for key in keys if isinstance(key, str))))
        where = f"{shown}:{line}" if line is not None else shown
        raise ConfigError(f"{where}: {message}") from None


def _toml_type(value: object) -> str:
    """How TOML calls the type of ``value`` (for messages; never the value itself)."""
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string"}
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return names.get(type(value), "a date or time")


# --- Where configuration applies: the root's, and the nested ones ------------------------------

PROJECT_FILES = ("preflight.toml", "pyproject.toml")


@dataclass(frozen=True)
class Located:
    """A configuration and where it applies.

    ``directory`` is the root-relative directory whose files it governs ("" for the root's
    configuration, which also governs the directories with none of their own). A root's
    configuration may sit above the root (a subproject of a repository configured at its top):
    ``base`` is then the root's path relative to the configuration's directory, against which
    its patterns are written. ``explicit`` is ``--config FILE``: it governs every file.
    """

    config: Config
    source: str | None  # shown in notes; None: the defaults
    directory: str = ""
    base: str = ""
    explicit: bool = False


def project_root(start: Path) -> Path:
    """The project a path belongs to (``start``: the path's directory): the top of the git
    repository it is in (the nearest directory at or above it with a ``.git``); outside a
    repository, the nearest directory with a preflight.toml or pyproject.toml; else ``start``.

    Inside a repository a subproject's own pyproject.toml is no boundary: its Kubernetes
    manifests or compose file often sit beside it (``backend/`` next to ``k8s/``), and a check
    of one of its files must see what ``preflight check .`` at the top sees.
    """
    current = Path(os.path.abspath(start))
    chain = (current, *current.parents)
    nearest = next(
        (d for d in chain if any(os.path.lexists(d / name) for name in PROJECT_FILES)), None
    )
    for directory in chain:
        if os.path.lexists(directory / ".git"):
            # A home directory (or /) kept in git holds dotfiles, not a deployment: a project
            # inside it is its own.
            if (
                nearest is not None
                and directory in nearest.parents
                and _holds_everything(directory)
            ):
                return nearest
            return directory
    return nearest or current


def _holds_everything(directory: Path) -> bool:
    try:
        home = Path.home()
    except RuntimeError:  # no home directory known
        home = None
    return directory == home or directory.parent == directory


def root_config(
    root: Path, explicit: Path | None = None, notes: list[str] | None = None
) -> Located:
    """The configuration of ``root``: ``explicit`` if given; else the closest one at or above
    the root — up to the top of the git repository the root is in (a repository's own
    configuration never reaches a checkout above it) — as ruff finds its configuration."""
    if explicit is not None:
        config, source = load_config(root, explicit, notes)
        return Located(config, source, explicit=True)
    config, source = load_config(root, None, notes)
    if source is not None or os.path.lexists(root / ".git"):
        return Located(config, source)
    absolute = Path(os.path.abspath(root))
    for directory in absolute.parents:
        found = _load_from(directory, None)
        if found is not None:
            config, name = found
            shown = Path(os.path.relpath(directory / name, absolute)).as_posix()
            base = absolute.relative_to(directory).as_posix()
            if notes is not None:
                notes.append(f"configuration: {shown} (the closest above the root)")
            return Located(config, shown, base=base)
        if os.path.lexists(directory / ".git"):
            break
    return Located(Config(), None)


def _load_from(directory: Path, notes: list[str] | None) -> tuple[Config, str] | None:
    """The configuration in ``directory`` (preflight.toml, else pyproject's [tool.preflight])."""
    for name in ("preflight.toml", "pyproject.toml"):
        path, why_not = _root_config_file(directory, name)
        if why_not is not None and notes is not None:
            notes.append(f"{name}: not read as configuration: {why_not}")
        if path is None:
            continue
        shown = str(directory / name)
        if name == "preflight.toml":
            data, text = _read_toml(path, follow=False)
            return _validate(data, shown, text), name
        try:
            data, text = _read_toml(path, follow=False)
        except ConfigError:
            continue
        table = _tool_table(data)
        if table is not None:
            return _validate(table, shown, text, _IN_PYPROJECT), name
    return None


def nested_configs(
    files: Iterable[tuple[str, str]], notes: list[str], invalid: list[tuple[str, int, str]]
) -> list[Located]:
    """The configurations below the root, from the (path, text) of the preflight.toml and
    pyproject.toml files discovery read: one per directory, preflight.toml winning over
    pyproject.toml, a pyproject.toml only with a [tool.preflight] table. Such a configuration
    governs the findings in the files below its directory (see :data:`NESTED_KEYS`); the keys
    that describe the whole deployment are the root's, and a note says so.

    A nested configuration that is not valid is not applied, and (path, line, why) goes to
    ``invalid`` (the engine reports it as PF001): a broken configuration in one subproject does
    not stop the check of a whole repository, and is not silently ignored either."""
    by_directory: dict[str, tuple[str, str]] = {}
    for path, text in files:
        directory, _, name = path.rpartition("/")
        if not directory or name not in ("preflight.toml", "pyproject.toml"):
            continue
        if name == "preflight.toml" or directory not in by_directory:
            by_directory[directory] = (path, text)
    out: list[Located] = []
    for directory, (path, text) in sorted(by_directory.items()):
        try:
            data = _parse_toml_text(text, path, strict=path.endswith("preflight.toml"))
            if data is None:
                continue
            if path.endswith("pyproject.toml"):
                table = _tool_table(data)
                if table is None:
                    continue
                where = f"{path} [tool.preflight]"
                config = _validate(table, path, text, _IN_PYPROJECT)
            else:
                table, where = data, path
                config = _validate(table, path, text)
        except ConfigError as exc:
            # `path:3:7: what` or `path is not valid TOML: what`: the place goes in the span
            text = str(exc)
            at = re.match(rf"{re.escape(path)}(?::(\d+)(?::\d+)?: | is )", text)
            line = int(at.group(1)) if at is not None and at.group(1) else 1
            invalid.append((path, line, text[at.end() :] if at is not None else text))
            continue
        assert isinstance(table, dict)  # _validate raised otherwise
        root_only = sorted(key for key in table if key not in NESTED_KEYS)
        if root_only:
            keys = ", ".join(f"`{key}`" for key in root_only)
            notes.append(
                f"{where}: {keys} only count in the checked root's configuration "
                f"(check {directory} as its own root to use them); ignored here"
            )
        out.append(Located(config, where, directory=directory))
    return out


def _parse_toml_text(text: str, path: str, *, strict: bool) -> dict[str, Any] | None:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        document: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        if not strict:
            return None  # a pyproject.toml: reported as PF001 by its parser
        message = str(exc)  # as _read_toml says it: path:line:column
        at = re.search(r" \(at line (\d+), column (\d+)\)$", message)
        if at is not None:
            where = f"{path}:{at.group(1)}:{at.group(2)}"
            raise ConfigError(f"{where}: not valid TOML: {message[: at.start()]}") from None
        raise ConfigError(f"{path} is not valid TOML: {message}") from None
    return document
