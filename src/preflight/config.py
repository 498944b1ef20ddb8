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
}


class ConfigError(Exception):
    """A configuration problem the user must fix; its message is one line."""


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    fail_on: Severity = Severity.ERROR
    per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)
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
        StrictInt,
        ValidationError,
        field_validator,
    )

    class Schema(BaseModel):
        model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

        select: tuple[str, ...] | None = None
        ignore: tuple[str, ...] = ()
        exclude: tuple[str, ...] = ()
        fail_on: Severity = Field(default=Severity.ERROR, alias="fail-on")
        per_file_ignores: dict[str, tuple[str, ...]] = Field(
            default_factory=dict, alias="per-file-ignores"
        )
        # Every integer is a StrictInt: TOML `true` is a bool, bool is an int subclass, and a
        # lax int would turn `max-file-size = true` into a 1-byte cap (or `1.0` into 1).
        max_file_size: StrictInt = Field(default=DEFAULT_MAX_FILE_SIZE, alias="max-file-size", gt=0)
        rules: dict[str, dict[str, Any]] = Field(default_factory=dict)
        database_platform: Literal["neon"] | None = Field(default=None, alias="database-platform")
        external_secrets: tuple[str, ...] = Field(default=(), alias="external-secrets")

        @field_validator("select", "ignore", mode="after")
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
            if table is None:
                raise ConfigError(f"{explicit} has no [tool.preflight] table")
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
