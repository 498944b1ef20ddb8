"""Python codemods `--fix` runs (libcst: the file's comments, quoting and layout are kept
outside what a codemod rewrites). Each takes the module's text and returns the new text, or
None when it does not apply (the file is then left alone and the finding keeps no fix)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import libcst as cst

__all__ = ["CODEMODS"]

# `class Config` options pydantic-settings 2 keeps under the same name in `SettingsConfigDict`.
_SAME_NAME = frozenset(
    {
        "env_file",
        "env_file_encoding",
        "env_prefix",
        "env_nested_delimiter",
        "case_sensitive",
        "secrets_dir",
        "extra",
        "frozen",
        "validate_default",
        "str_strip_whitespace",
    }
)


def pydantic_settings(text: str, _argument: str) -> str | None:
    """Settings on pydantic-settings 2: `from pydantic import BaseSettings[, Field]` →
    `from pydantic import Field` and `from pydantic_settings import BaseSettings` (an alias
    kept); and each `class Config:` made only of options pydantic-settings keeps by name
    (`env_file = ".env"`) → `model_config = SettingsConfigDict(env_file=".env")`, with
    `SettingsConfigDict` imported. A `class Config` with methods (`customise_sources`) or
    renamed options stays, and so does a `pydantic.BaseSettings` attribute (None: no fix)."""
    import libcst as cst

    try:
        module = cst.parse_module(text)
        mover = _Move()
        changed = module.visit(mover)
        if not mover.moved:
            return None
        config = _Config()
        changed = changed.visit(config)
        if config.converted:
            changed = changed.visit(_AddConfigDict())
    except Exception:
        return None
    return changed.code


def _name(alias: cst.ImportAlias) -> str:
    import libcst as cst

    return alias.name.value if isinstance(alias.name, cst.Name) else ""


def _transformer() -> type[cst.CSTTransformer]:
    import libcst as cst

    return cst.CSTTransformer


class _Move(_transformer()):  # type: ignore[misc]
    """`BaseSettings` moved from a `from pydantic import …` line to its own line after it."""

    def __init__(self) -> None:
        super().__init__()
        self.moved = 0

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        import libcst as cst

        if len(updated.body) != 1 or not isinstance(updated.body[0], cst.ImportFrom):
            return updated
        node = updated.body[0]
        if not isinstance(node.module, cst.Name) or node.module.value != "pydantic":
            return updated
        if isinstance(node.names, cst.ImportStar) or node.relative:
            return updated
        kept = [a for a in node.names if _name(a) != "BaseSettings"]
        moved = [a for a in node.names if _name(a) == "BaseSettings"]
        if not moved:
            return updated
        self.moved += 1
        new_import = cst.SimpleStatementLine(
            body=[
                cst.ImportFrom(
                    module=cst.Name("pydantic_settings"),
                    names=[moved[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)],
                )
            ]
        )
        if not kept:
            return new_import.with_changes(leading_lines=updated.leading_lines)
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        rest = updated.with_changes(body=[node.with_changes(names=kept)])
        return cst.FlattenSentinel([rest, new_import])


class _Config(_transformer()):  # type: ignore[misc]
    """Each `class Config` of options kept by name → `model_config = SettingsConfigDict(…)`."""

    def __init__(self) -> None:
        super().__init__()
        self.converted = 0

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.BaseStatement:
        import libcst as cst

        if updated.name.value != "Config":
            return updated
        arguments: list[cst.Arg] = []
        for statement in updated.body.body:
            if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
                return updated
            assign = statement.body[0]
            if not isinstance(assign, cst.Assign) or len(assign.targets) != 1:
                return updated
            target = assign.targets[0].target
            if not isinstance(target, cst.Name) or target.value not in _SAME_NAME:
                return updated
            arguments.append(
                cst.Arg(
                    keyword=cst.Name(target.value),
                    value=assign.value,
                    equal=cst.AssignEqual(
                        whitespace_before=cst.SimpleWhitespace(""),
                        whitespace_after=cst.SimpleWhitespace(""),
                    ),
                    comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
                )
            )
        if not arguments:
            return updated
        arguments[-1] = arguments[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        self.converted += 1
        call = cst.Call(func=cst.Name("SettingsConfigDict"), args=arguments)
        return cst.SimpleStatementLine(
            body=[cst.Assign(targets=[cst.AssignTarget(cst.Name("model_config"))], value=call)],
            leading_lines=updated.leading_lines,
        )


class _AddConfigDict(_transformer()):  # type: ignore[misc]
    """`SettingsConfigDict` added to the `from pydantic_settings import …` line."""

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom) -> cst.ImportFrom:
        import libcst as cst

        if not isinstance(updated.module, cst.Name) or updated.module.value != "pydantic_settings":
            return updated
        if isinstance(updated.names, cst.ImportStar):
            return updated
        if any(_name(a) == "SettingsConfigDict" for a in updated.names):
            return updated
        comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        names = [a.with_changes(comma=comma) for a in updated.names]
        names.append(cst.ImportAlias(name=cst.Name("SettingsConfigDict")))
        return updated.with_changes(names=names)


CODEMODS: dict[str, Callable[[str, str], str | None]] = {
    "pydantic-settings": pydantic_settings,
}
