"""Configuration: ``[tool.preflight]`` in the checked root's pyproject.toml, or ``preflight.toml``.

``preflight.toml`` takes its keys at the top level and wins over pyproject.toml when both exist
(as ruff.toml does over pyproject.toml). Every key is validated with pydantic: an unknown key or
rule code is a :class:`ConfigError`, which the CLI turns into exit code 2 with a one-line
message. pydantic is imported only when there is a table to validate; a repository without
configuration runs on the plain defaults below.
"""

from __future__ import annotations

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

    from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

    class Schema(BaseModel):
        model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

        select: tuple[str, ...] | None = None
        ignore: tuple[str, ...] = ()
        exclude: tuple[str, ...] = ()
        fail_on: Severity = Field(default=Severity.ERROR, alias="fail-on")
        per_file_ignores: dict[str, tuple[str, ...]] = Field(
            default_factory=dict, alias="per-file-ignores"
        )
        max_file_size: int = Field(default=DEFAULT_MAX_FILE_SIZE, alias="max-file-size", gt=0)
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
    return f"`{location}`: {message}" if location else message


def _load_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        if not path.is_file():
            raise ConfigError(f"{path} is not a regular file")
        if path.stat().st_size > DEFAULT_MAX_FILE_SIZE:
            raise ConfigError(f"{path} is larger than {DEFAULT_MAX_FILE_SIZE} bytes; not read")
        with path.open("rb") as handle:
            data: dict[str, Any] = tomllib.load(handle)
            return data
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def load_config(root: Path, explicit: Path | None = None) -> tuple[Config, str | None]:
    """The configuration for ``root`` and where it came from (None: defaults)."""
    if explicit is not None:
        data = _load_toml(explicit)
        table = (
            data.get("tool", {}).get("preflight", data)
            if explicit.name == "pyproject.toml"
            else data
        )
        return _validate(table, str(explicit)), str(explicit)
    preflight_toml = root / "preflight.toml"
    if preflight_toml.is_file():
        return _validate(_load_toml(preflight_toml), "preflight.toml"), "preflight.toml"
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = _load_toml(pyproject)
        except ConfigError:
            return Config(), None  # reported as PF001 (or a size-cap note) by discovery
        table = data.get("tool", {}).get("preflight")
        if isinstance(table, dict):
            return _validate(table, "pyproject.toml [tool.preflight]"), "pyproject.toml"
    return Config(), None


def _validate(table: object, where: str) -> Config:
    from pydantic import ValidationError

    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table")
    try:
        return Config.model_validate(table)
    except ValidationError as exc:
        raise ConfigError(f"invalid configuration in {where}: {_first_error(exc)}") from None
