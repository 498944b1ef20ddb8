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


def database_url_validator(text: str, argument: str) -> str | None:
    """A pydantic v2 `field_validator` (mode="before", on the value as the environment gives
    it) added at the end of a settings class, rewriting its database URL field for the driver
    the service installs: `postgres://` → ``scheme``, and for asyncpg also libpq's `sslmode=`
    → `ssl=` and `channel_binding` dropped. ``argument`` is JSON: {"class", "field",
    "scheme"}. `field_validator` is imported from pydantic (added to a `from pydantic import`
    line, or a line of its own after the imports). None when the class is not one top-level
    class of that name declaring the field, or already has the validator."""
    import json

    import libcst as cst

    try:
        wanted = json.loads(argument)
        class_name, field_name, scheme = wanted["class"], wanted["field"], wanted["scheme"]
        module = cst.parse_module(text)
        classes = [
            index
            for index, n in enumerate(module.body)
            if isinstance(n, cst.ClassDef) and n.name.value == class_name
        ]
        if len(classes) != 1:
            return None
        at = classes[0]
        target = module.body[at]
        if not isinstance(target, cst.ClassDef) or not isinstance(target.body, cst.IndentedBlock):
            return None
        method = _validator_name(field_name, scheme)
        if not _declares(target, field_name) or _defines(target, method):
            return None
        source = _validator_source(field_name, scheme, method, module.default_indent)
        function = cst.parse_statement(source, config=module.config_for_parsing)
        function = function.with_changes(leading_lines=[cst.EmptyLine(indent=False)])
        body = target.body.with_changes(body=[*target.body.body, function])
        changed = target.with_changes(body=body)
        module = module.with_changes(body=[*module.body[:at], changed, *module.body[at + 1 :]])
        module = _import_field_validator(module)
    except Exception:
        return None
    return module.code


def _validator_name(field_name: str, scheme: str) -> str:
    return f"_{field_name}_for_asyncpg" if scheme.endswith("asyncpg") else f"_{field_name}_scheme"


def _validator_source(field_name: str, scheme: str, method: str, indent: str) -> str:
    """The validator's code at class level (its body indented as the module indents)."""
    i = indent
    head = [
        f'@field_validator("{field_name}", mode="before")',
        "@classmethod",
        f"def {method}(cls, value: object) -> object:",
    ]
    if scheme.endswith("asyncpg"):
        body = [
            '"""The URL as asyncpg takes it (no `postgres://`, `sslmode` or `channel_binding`)."""',
            "if isinstance(value, str):",
            f'{i}value = value.replace("postgres://", "{scheme}://", 1)',
            f'{i}base, _, query = value.partition("?")',
            f"{i}params = [",
            f'{i}{i}"ssl=" + param[len("sslmode=") :] if param.startswith("sslmode=") else param',
            f'{i}{i}for param in query.split("&")',
            f'{i}{i}if param and not param.startswith("channel_binding=")',
            f"{i}]",
            f'{i}value = base + "?" + "&".join(params) if params else base',
            "return value",
        ]
    else:
        body = [
            f'"""SQLAlchemy loads no `postgres://` scheme: the same URL as `{scheme}://`."""',
            "if isinstance(value, str):",
            f'{i}value = value.replace("postgres://", "{scheme}://", 1)',
            "return value",
        ]
    return "\n".join([*head, *(i + line for line in body)]) + "\n"


def _declares(node: cst.ClassDef, field_name: str) -> bool:
    import libcst as cst

    return any(
        isinstance(line, cst.SimpleStatementLine)
        and isinstance(line.body[0], cst.AnnAssign)
        and isinstance(line.body[0].target, cst.Name)
        and line.body[0].target.value == field_name
        for line in node.body.body
    )


def _defines(node: cst.ClassDef, name: str) -> bool:
    import libcst as cst

    return any(isinstance(s, cst.FunctionDef) and s.name.value == name for s in node.body.body)


def _import_field_validator(module: cst.Module) -> cst.Module:
    """`field_validator` added to the first `from pydantic import …` line, or imported on a
    line of its own after the module's last top-level import."""
    import libcst as cst

    last_import = -1
    for index, statement in enumerate(module.body):
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        node = statement.body[0]
        if isinstance(node, (cst.Import, cst.ImportFrom)):
            last_import = index
        if (
            isinstance(node, cst.ImportFrom)
            and isinstance(node.module, cst.Name)
            and node.module.value == "pydantic"
            and not node.relative
        ):
            if isinstance(node.names, cst.ImportStar):
                return module
            names = list(node.names)
            if any(_name(a) == "field_validator" and a.asname is None for a in names):
                return module
            trailing = names[-1].comma
            comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            if isinstance(trailing, cst.Comma):  # a parenthesised list with a trailing comma
                added = cst.ImportAlias(name=cst.Name("field_validator"), comma=trailing)
                names[-1] = names[-1].with_changes(
                    comma=trailing.with_changes(whitespace_after=_next_line(node))
                )
            else:
                names[-1] = names[-1].with_changes(comma=comma)
                added = cst.ImportAlias(name=cst.Name("field_validator"))
            names.append(added)
            line = statement.with_changes(body=[node.with_changes(names=names)])
            return module.with_changes(body=[*module.body[:index], line, *module.body[index + 1 :]])
    new = cst.parse_statement("from pydantic import field_validator\n")
    at = last_import + 1
    return module.with_changes(body=[*module.body[:at], new, *module.body[at:]])


def _next_line(node: cst.ImportFrom) -> cst.BaseParenthesizableWhitespace:
    """The whitespace between two names of a parenthesised import (one a line, or spaces)."""
    import libcst as cst

    names = [] if isinstance(node.names, cst.ImportStar) else list(node.names)
    if len(names) >= 2 and isinstance(names[0].comma, cst.Comma):
        return names[0].comma.whitespace_after  # as between the first two names
    if node.lpar is not None:
        return node.lpar.whitespace_after  # as after the parenthesis
    return cst.SimpleWhitespace(" ")


def server_host(text: str, argument: str) -> str | None:
    """The server call at ``argument`` (JSON: {"line", "col"} of `uvicorn.run(...)` or
    `app.run(...)`) listens on every interface: a literal `host=` becomes `"0.0.0.0"` (its
    quotes kept), or `host="0.0.0.0"` is added after the last argument when there is none.
    None when the call is not found there, takes `**options`, or passes the host as anything
    but a string literal."""
    import json

    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    try:
        wanted = json.loads(argument)
        line, col = int(wanted["line"]), int(wanted["col"])
        wrapper = MetadataWrapper(cst.parse_module(text))
        positions = wrapper.resolve(PositionProvider)
        module = wrapper.module
        calls = [
            node
            for node, where in positions.items()
            if isinstance(node, cst.Call)
            and (where.start.line, where.start.column + 1) == (line, col)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "run"
        ]
        if len(calls) != 1:
            return None
        call = calls[0]
        if any(arg.star for arg in call.args):
            return None
        hosts = [arg for arg in call.args if arg.keyword and arg.keyword.value == "host"]
        if hosts:
            value = hosts[0].value
            if not isinstance(value, cst.SimpleString):
                return None
            quote = value.quote
            new_arg = hosts[0].with_changes(value=cst.SimpleString(f"{quote}0.0.0.0{quote}"))
            args = [new_arg if arg is hosts[0] else arg for arg in call.args]
        else:
            added = cst.Arg(
                keyword=cst.Name("host"),
                value=cst.SimpleString('"0.0.0.0"'),
                equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""),
                    whitespace_after=cst.SimpleWhitespace(""),
                ),
            )
            if not call.args:
                args = [added]
            else:
                last = call.args[-1]
                comma = last.comma
                if isinstance(comma, cst.Comma):  # a trailing comma: one argument per line
                    before = call.args[-2].comma if len(call.args) > 1 else None
                    between = (
                        before.whitespace_after
                        if isinstance(before, cst.Comma)
                        else call.whitespace_before_args
                    )
                    last = last.with_changes(comma=comma.with_changes(whitespace_after=between))
                    args = [*call.args[:-1], last, added.with_changes(comma=comma)]
                else:
                    separator = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                    args = [*call.args[:-1], last.with_changes(comma=separator), added]
        replaced = call.with_changes(args=args)

        class _Swap(cst.CSTTransformer):
            def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
                return replaced if original is call else updated

        return module.visit(_Swap()).code
    except Exception:
        return None


CODEMODS: dict[str, Callable[[str, str], str | None]] = {
    "pydantic-settings": pydantic_settings,
    "database-url-validator": database_url_validator,
    "server-host": server_host,
}
