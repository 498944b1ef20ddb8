"""Located YAML: mappings, sequences and scalars, each with the span it was written at.

The tree is built from ``yaml.compose_all`` (the C loader when available), so no tag is ever
constructed into a Python object: scalars stay text with their resolved tag, and callers ask for
the type they expect (``as_str``/``as_int``/``as_bool``). Merge keys (``<<: *anchor``) are
resolved as YAML 1.1 says (explicit keys win; earlier merged mappings win over later ones) and
duplicate keys keep the last value, as Kubernetes and Compose do.

Aliases are expanded while converting, so a small file can describe a huge tree ("billion
laughs", or one large scalar referred to thousands of times). What a reader walking the tree
would visit is counted in characters (each scalar's length, plus one per node) and capped; a
file over the cap becomes a ParseProblem and nothing else from it is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from preflight.digits import ascii_int
from preflight.parse import ParseProblem
from preflight.spans import Span

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

STR_TAG = "tag:yaml.org,2002:str"
NULL_TAG = "tag:yaml.org,2002:null"
INT_TAG = "tag:yaml.org,2002:int"
BOOL_TAG = "tag:yaml.org,2002:bool"
FLOAT_TAG = "tag:yaml.org,2002:float"
MERGE_TAG = "tag:yaml.org,2002:merge"

MAX_ALIAS_EXPANSION = 1_000_000
"""Characters a file may expand to through aliases beyond twice its own length (see
``load_documents``)."""

NodeKind = Literal["map", "seq", "scalar"]
Pair = tuple["YNode", "YNode"]

_TRUE = frozenset({"yes", "true", "on", "y"})


@dataclass(frozen=True)
class YNode:
    """One YAML node. ``value`` is the text of a scalar, the items of a sequence, or the
    (key, value) pairs of a mapping (merge keys resolved, duplicates removed)."""

    kind: NodeKind
    value: str | tuple[YNode, ...] | tuple[Pair, ...]
    tag: str
    span: Span
    style: str | None = None  # scalar style: None (plain), "'", '"', "|" or ">"

    @property
    def is_map(self) -> bool:
        return self.kind == "map"

    @property
    def is_seq(self) -> bool:
        return self.kind == "seq"

    @property
    def is_scalar(self) -> bool:
        return self.kind == "scalar"

    @property
    def is_null(self) -> bool:
        return self.kind == "scalar" and self.tag == NULL_TAG

    @property
    def text(self) -> str | None:
        """The scalar's text as written (``~`` and ``null`` included); None for collections."""
        return self.value if isinstance(self.value, str) else None

    @property
    def type_name(self) -> str:
        """How the node reads in a message: "a mapping", "a list", "a string", "a number"…"""
        if self.kind == "map":
            return "a mapping"
        if self.kind == "seq":
            return "a list"
        return {
            NULL_TAG: "empty",
            INT_TAG: "a number",
            FLOAT_TAG: "a number",
            BOOL_TAG: "a boolean",
        }.get(self.tag, "a string")

    def items(self) -> tuple[Pair, ...]:
        """The (key, value) pairs of a mapping; empty for anything else."""
        if self.kind != "map":
            return ()
        return self.value  # type: ignore[return-value]

    def seq(self) -> tuple[YNode, ...]:
        """The items of a sequence; empty for anything else."""
        if self.kind != "seq":
            return ()
        return self.value  # type: ignore[return-value]

    def get_item(self, key: str) -> Pair | None:
        """The (key node, value node) pair of a mapping for a scalar key, or None."""
        for pair in self.items():
            if pair[0].kind == "scalar" and pair[0].value == key:
                return pair
        return None

    def get(self, key: str) -> YNode | None:
        """The value of ``key`` in a mapping (None when absent or not a mapping)."""
        pair = self.get_item(key)
        return None if pair is None else pair[1]

    def as_str(self) -> str | None:
        """A non-null scalar's text (numbers and booleans as written); None otherwise."""
        if self.kind != "scalar" or self.tag == NULL_TAG:
            return None
        return self.value  # type: ignore[return-value]

    def as_int(self) -> int | None:
        """An integer scalar's value (YAML 1.1 forms: ``0x1F``, ``0755``, ``1_000``); else None.

        A quoted number is a string, not an integer, as it is for Kubernetes."""
        if self.kind != "scalar" or self.tag != INT_TAG or not isinstance(self.value, str):
            return None
        return _yaml_int(self.value)

    def as_bool(self) -> bool | None:
        """A boolean scalar's value (``true``/``yes``/``on``…); None for anything else."""
        if self.kind != "scalar" or self.tag != BOOL_TAG or not isinstance(self.value, str):
            return None
        return self.value.lower() in _TRUE


def _yaml_int(text: str) -> int | None:
    """A YAML 1.1 integer, ASCII digits only (an explicit ``!!int`` tag can carry any text)."""
    value = text.replace("_", "")
    sign = 1
    if value[:1] in ("+", "-"):
        sign = -1 if value[0] == "-" else 1
        value = value[1:]
    number: int | None
    if value == "0":
        number = 0
    elif value.startswith("0b"):
        number = ascii_int(value[2:], 2)
    elif value.startswith("0x"):
        number = ascii_int(value[2:], 16)
    elif value.startswith("0o"):
        number = ascii_int(value[2:], 8)
    elif value.startswith("0"):
        number = ascii_int(value, 8)
    elif ":" in value:
        number = 0
        for part in value.split(":"):
            digit = ascii_int(part)
            if digit is None:
                return None
            number = number * 60 + digit
    else:
        number = ascii_int(value)
    return None if number is None else sign * number


class _TooManyNodes(Exception):
    pass


class _Converter:
    def __init__(self, path: str, text: str, limit: int) -> None:
        self.path = path
        self.lines = text.split("\n")
        self.limit = limit
        self.visits = 0
        self.document: yaml.Node | None = None
        self.memo: dict[int, tuple[YNode, int]] = {}
        self.sizes: dict[int, int] = {}  # id(YNode) -> expanded size, for merged pairs

    def span(self, node: yaml.Node) -> Span:
        start, end = node.start_mark, node.end_mark
        end_line, end_col = end.line + 1, end.column + 1
        # A block collection ends at the start of the line after it: end it on its last line.
        if end.column == 0 and end.line > start.line and end.line - 1 < len(self.lines):
            end_line = end.line
            end_col = len(self.lines[end.line - 1]) + 1
        return Span(self.path, start.line + 1, start.column + 1, end_line, end_col)

    def convert(self, node: yaml.Node) -> YNode:
        return self._convert(node)[0]

    def _convert(self, node: yaml.Node) -> tuple[YNode, int]:
        """The node and its *expanded* size. An alias is the same node object, so each node is
        converted once (a merge-key chain stays linear), while the expanded size — what a
        reader walking the tree would visit: one per node plus each scalar's characters — is
        what the cap limits (billion laughs; a long scalar behind many aliases)."""
        known = self.memo.get(id(node))
        if known is not None:
            return known
        self.visits += 1
        span = self.span(node)
        if isinstance(node, yaml.ScalarNode):
            result: tuple[YNode, int] = (
                YNode("scalar", str(node.value), node.tag, span, node.style or None),
                1 + len(node.value),
            )
        elif isinstance(node, yaml.SequenceNode):
            items = [self._convert(item) for item in node.value]
            size = 1 + sum(item_size for _, item_size in items)
            result = (YNode("seq", tuple(item for item, _ in items), node.tag, span), size)
        else:
            explicit: dict[object, tuple[Pair, int]] = {}
            merged: dict[object, tuple[Pair, int]] = {}
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag == MERGE_TAG:
                    sources = (
                        value_node.value
                        if isinstance(value_node, yaml.SequenceNode)
                        else [value_node]
                    )
                    for source in sources:
                        if isinstance(source, yaml.MappingNode):
                            converted, _ = self._convert(source)
                            # copying merged pairs is work too: a chain of merges is quadratic
                            self.visits += len(converted.items())
                            if self.visits > self.limit:
                                raise _TooManyNodes
                            for pair in converted.items():
                                merged.setdefault(_key_id(pair[0]), (pair, self._size(pair)))
                    continue
                key, key_size = self._convert(key_node)
                value, value_size = self._convert(value_node)
                key_id = _key_id(key)
                explicit.pop(key_id, None)  # duplicate keys: the last one wins
                explicit[key_id] = ((key, value), key_size + value_size)
            pairs = [entry for key_id, entry in merged.items() if key_id not in explicit]
            pairs.extend(explicit.values())
            size = 1 + sum(pair_size for _, pair_size in pairs)
            result = (YNode("map", tuple(pair for pair, _ in pairs), node.tag, span), size)
        if result[1] > self.limit:
            raise _TooManyNodes
        self.memo[id(node)] = result
        self.sizes[id(result[0])] = result[1]
        return result

    def _size(self, pair: Pair) -> int:
        return sum(self.sizes.get(id(part), 1) for part in pair)


def _key_id(key: YNode) -> object:
    return ("scalar", key.value) if key.kind == "scalar" else ("node", id(key))


def _char_at(text: str, line: int, col: int) -> str:
    lines = text.split("\n", line)
    if line - 1 < len(lines) and col - 1 < len(lines[line - 1]):
        return lines[line - 1][col - 1]
    return ""


def _one_line(message: str) -> str:
    return " ".join(message.split())


def load_documents(path: str, text: str) -> tuple[list[YNode | None], ParseProblem | None]:
    """Every document of a YAML stream (None for an empty one), and the problem that stopped it.

    A syntax error, a tab or control character, or an alias expansion past the cap ends the
    stream: the documents before it are still returned, except after the alias cap: then none
    is. The cap is ``MAX_ALIAS_EXPANSION`` plus twice the length of the text, so a file without
    aliases can never reach it (a scalar's text is never longer than it is written, and a file
    has at most one node more than characters).
    """
    documents: list[YNode | None] = []
    converter = _Converter(path, text, MAX_ALIAS_EXPANSION + 2 * len(text) + 2)
    try:
        for node in yaml.compose_all(text, Loader=_LOADER):
            if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG):
                documents.append(None)
            else:
                converter.document = node
                converter.memo, converter.sizes = {}, {}  # ids are only stable within a document
                documents.append(converter.convert(node))
    except _TooManyNodes:
        mark = converter.document.start_mark if converter.document is not None else None
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        return [], ParseProblem(
            Span(path, line, col),
            f"YAML expands to more than {converter.limit:,} characters through aliases "
            "(`*name` references); preflight does not read this file",
        )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        last_line = text.rstrip("\n").count("\n") + 1
        if line > last_line:  # "end of stream" after the last line: point at the last line
            line, col = last_line, len(text.rstrip("\n").split("\n")[-1]) + 1
        parts = [part for part in (exc.context, exc.problem) if part]
        message = _one_line(": ".join(parts) if parts else "invalid YAML")
        if mark is not None and _char_at(text, line, col) == "\t":
            message = "a tab character cannot be used for indentation or to start a value"
        return documents, ParseProblem(
            Span(path, line, col, line, col + 1), f"invalid YAML: {message}"
        )
    except yaml.reader.ReaderError as exc:
        offset = text.find(chr(exc.character)) if isinstance(exc.character, int) else -1
        if offset < 0:
            offset = 0
        line = text.count("\n", 0, offset) + 1
        col = offset - (text.rfind("\n", 0, offset) + 1) + 1
        return documents, ParseProblem(
            Span(path, line, col, line, col + 1),
            f"invalid YAML: character U+{exc.character:04X} is not allowed ({exc.reason})"
            if isinstance(exc.character, int)
            else f"invalid YAML: {_one_line(str(exc.reason))}",
        )
    except yaml.YAMLError as exc:
        return documents, ParseProblem(Span(path, 1, 1), f"invalid YAML: {_one_line(str(exc))}")
    except RecursionError:
        mark = converter.document.start_mark if converter.document is not None else None
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        return documents, ParseProblem(
            Span(path, line, col),
            "YAML is nested too deeply (or an alias refers to itself); not read",
        )
    return documents, None


class TypedReader:
    """Reads a located YAML tree into Python values, turning every wrong type into a
    ParseProblem that names the field (`spec.template.spec.containers` should be a list)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[ParseProblem] = []

    def problem(self, span: Span, message: str) -> None:
        self.problems.append(ParseProblem(span, message))

    def as_map(self, node: YNode | None, where: str) -> YNode | None:
        """``node`` if it is a mapping; None if absent or null; a problem if anything else."""
        if node is None or node.is_null:
            return None
        if node.kind != "map":
            self.problem(node.span, f"`{where}` should be a mapping, not {node.type_name}")
            return None
        return node

    def as_seq(self, node: YNode | None, where: str) -> tuple[YNode, ...]:
        if node is None or node.is_null:
            return ()
        if node.kind != "seq":
            self.problem(node.span, f"`{where}` should be a list, not {node.type_name}")
            return ()
        return node.seq()

    def as_str(self, node: YNode | None, where: str) -> str | None:
        """A scalar's text (numbers as written); a problem for a mapping or list."""
        if node is None or node.is_null:
            return None
        if node.kind != "scalar":
            self.problem(node.span, f"`{where}` should be a string, not {node.type_name}")
            return None
        return node.as_str()

    def as_int(self, node: YNode | None, where: str) -> int | None:
        if node is None or node.is_null:
            return None
        value = node.as_int()
        if value is None:
            filled = substituted(node)
            if filled is not None:  # a placeholder CI fills in: its default, if it has one
                return _yaml_int(filled) if filled else None
            self.problem(node.span, f"`{where}` should be an integer, not {node.type_name}")
        return value

    def as_bool(self, node: YNode | None, where: str) -> bool:
        if node is None or node.is_null:
            return False
        value = node.as_bool()
        if value is None and substituted(node) is not None:
            return (substituted(node) or "").lower() in _TRUE
        if value is None:
            self.problem(node.span, f"`{where}` should be true or false, not {node.type_name}")
            return False
        return value

    def as_int_or_str(self, node: YNode | None, where: str) -> int | str | None:
        if node is None or node.is_null:
            return None
        if node.kind != "scalar":
            self.problem(node.span, f"`{where}` should be a number or a name, not {node.type_name}")
            return None
        as_int = node.as_int()
        return as_int if as_int is not None else node.as_str()

    def as_str_map(self, node: YNode | None, where: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in items_of(self.as_map(node, where)):
            name = key.as_str()
            if name is None:
                continue
            text = self.as_str(value, f"{where}.{name}")
            out[name] = text if text is not None else ""
        return out

    def as_str_list(self, node: YNode, where: str) -> tuple[str, ...]:
        """The strings of a sequence node (items of another type are problems and skipped)."""
        values: list[str] = []
        for index, item in enumerate(node.seq()):
            text = self.as_str(item, f"{where}[{index}]")
            if text is not None:
                values.append(text)
        return tuple(values)


# A whole value a pipeline substitutes before `kubectl apply` (envsubst, `sed`, Terraform):
# `${REPLICAS}`, `${PERIOD:-10}`, `$PORT`. Not a wrong type: the file is a template.
_PLACEHOLDER = re.compile(
    r"^\$(?:\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?[-=](?P<default>[^}]*))?\}|[A-Za-z_][A-Za-z0-9_]*)$"
)


def substituted(node: YNode) -> str | None:
    """For a scalar that is only a substitution placeholder, its default ("" without one);
    None for any other node."""
    if node.kind != "scalar" or not isinstance(node.value, str) or "$" not in node.value:
        return None
    match = _PLACEHOLDER.match(node.value.strip())
    if match is None:
        return None
    return (match.group("default") or "").strip()


def items_of(node: YNode | None) -> tuple[tuple[YNode, YNode], ...]:
    """A mapping node's pairs; none for an absent node."""
    return () if node is None else node.items()
