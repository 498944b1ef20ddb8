"""Configuration: ``[tool.preflight]`` in the checked root's pyproject.toml, or ``preflight.toml``.

``preflight.toml`` takes its keys at the top level and wins over pyproject.toml when both exist
(as ruff.toml does over pyproject.toml). Every key is validated with pydantic: an unknown key or
rule code is a :class:`ConfigError`, which the CLI turns into exit code 2 with a one-line
message. pydantic is imported only when there is a table to validate; a repository without
configuration runs on the plain defaults below.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from preflight.findings import Severity

if TYPE_CHECKING:
    from pydantic import ValidationError

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
            for selector in value or ():
                check_selector(selector)
            return value

        @field_validator("per_file_ignores", mode="after")
        @classmethod
        def _known_ignores(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
            for codes in value.values():
                for selector in codes:
                    check_selector(selector)
            return value

        @field_validator("severity", mode="after")
        @classmethod
        def _known_severities(cls, value: dict[str, Severity]) -> dict[str, Severity]:
            for selector in value:
                check_selector(selector)
            return value

        @field_validator("rules", mode="after")
        @classmethod
        def _known_rules(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
            from preflight.checks import BY_CODE

            for code, options in value.items():
                rule = BY_CODE.get(code.upper())
                if rule is None:
                    raise ValueError(f"unknown rule code `{code}`")
                if rule.options is None:
                    if options:
                        raise ValueError(f"rule {rule.code} takes no options")
                    continue
                try:
                    rule.options().model_validate(options)
                except ValidationError as exc:
                    raise ValueError(f"rules.{code}: {_first_error(exc)}") from None
            return value

    return Schema


def check_selector(selector: str) -> None:
    from preflight.checks import is_known_selector

    if not is_known_selector(selector):
        raise ValueError(f"unknown rule code `{selector}`")


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    location = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"unknown key `{location}`"
    message = str(error["msg"]).removeprefix("Value error, ")
    # pydantic names Python types; the user wrote TOML.
    message = message.replace("valid tuple", "valid array").replace("valid list", "valid array")
    message = message.replace("valid dictionary", "valid table")
    return f"`{location}`: {message}" if location else message


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
        document: dict[str, Any] = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    return document


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
        data = _load_toml(explicit)
        if explicit.name == "pyproject.toml":
            table = _tool_table(data)
            if table is None:  # chosen on purpose: its (absent) table means the defaults
                return Config(), str(explicit)
            return _validate(table, f"{explicit} [tool.preflight]"), str(explicit)
        return _validate(data, str(explicit)), str(explicit)
    for name in ("preflight.toml", "pyproject.toml"):
        path, why_not = _root_config_file(root, name)
        if why_not is not None and notes is not None:
            notes.append(f"{name}: not read as configuration: {why_not}")
        if path is None:
            continue
        if name == "preflight.toml":
            data = _load_toml(path, follow=False)
            return _validate(data, name), name
        try:
            data = _load_toml(path, follow=False)
        except ConfigError:
            return Config(), None  # reported as PF001 (or a size-cap note) by discovery
        table = _tool_table(data)
        if table is not None:
            return _validate(table, "pyproject.toml [tool.preflight]"), name
    return Config(), None


def _validate(table: object, where: str) -> Config:
    from pydantic import ValidationError

    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, not {_toml_type(table)}")
    try:
        return Config.model_validate(table)
    except ValidationError as exc:
        raise ConfigError(f"invalid configuration in {where}: {_first_error(exc)}") from None


def _toml_type(value: object) -> str:
    """How TOML calls the type of ``value`` (for messages; never the value itself)."""
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string"}
    if isinstance(value, list):
        return "an array"
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
        if name == "preflight.toml":
            return _validate(_load_toml(path, follow=False), str(directory / name)), name
        try:
            data = _load_toml(path, follow=False)
        except ConfigError:
            continue
        table = _tool_table(data)
        if table is not None:
            return _validate(table, f"{directory / name} [tool.preflight]"), name
    return None


def nested_configs(
    files: Iterable[tuple[str, str]], notes: list[str], invalid: list[tuple[str, str]]
) -> list[Located]:
    """The configurations below the root, from the (path, text) of the preflight.toml and
    pyproject.toml files discovery read: one per directory, preflight.toml winning over
    pyproject.toml, a pyproject.toml only with a [tool.preflight] table. Such a configuration
    governs the findings in the files below its directory (see :data:`NESTED_KEYS`); the keys
    that describe the whole deployment are the root's, and a note says so.

    A nested configuration that is not valid is not applied, and (path, why) goes to
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
            else:
                table, where = data, path
            config = _validate(table, where)
        except ConfigError as exc:
            invalid.append((path, str(exc)))
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
        if strict:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from None
        return None  # a pyproject.toml: reported as PF001 by its parser
    return document
