"""Add a key or a list item to a YAML mapping, keeping every byte outside the inserted lines.

Round-trip libraries re-emit the whole document (ruamel.yaml re-indents sequences, moves
comments, rewrites quoting), so `--fix` does not re-serialise YAML: it inserts lines after the
mapping (or list) they join, indented as the file indents — spaces per level from the file's
own nested mappings, a list's dash where the file puts its dashes (`- name:` under the key, or
zero-indented), the text after the dash as its items have it. Then it checks its own work: the
file with the lines inserted, parsed again, must equal the file before plus exactly the new key
or item, everything else the same (an anchor shared with another place, a block scalar whose
end moved, a merge key written last: any surprise drops the fix — no fix beats a wrong one).
A flow mapping or list (`{…}`, `[…]`) gets no fix. It lives beside the located YAML reader it
checks its work with, as yamllayout (where `--add-ignore` may write a marker) does; only
preflight.fix uses it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from preflight.findings import Edit
from preflight.parse.yamlnodes import STR_TAG, YNode, load_documents

__all__ = ["add"]

_SEQ_TAG = "tag:yaml.org,2002:seq"


def add(edit: Edit, text: str) -> Edit | None:
    """``edit`` (made by :meth:`Edit.yaml_add`) as the range of ``text`` it replaces: the line
    break after the last line of the mapping or list, by itself and the new lines (so two
    additions at one place never land together: the second waits for the next pass)."""
    try:
        return _add(edit, text)
    except RecursionError:  # nested as deep as the parser allows: the walks below go deeper
        return None


def _add(edit: Edit, text: str) -> Edit | None:
    documents, problem = load_documents(edit.path, text)
    if problem is not None:
        return None
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    found = _holder(documents, edit.line, edit.col)
    if found is None:
        return None
    index, path, mapping = found
    key, item = edit.yaml.removesuffix("[]"), edit.yaml.endswith("[]")
    if _is_flow(mapping, lines):
        return None
    value = mapping.get(key)
    style = _Style.of(documents[index], mapping, lines)
    indent = mapping.span.col - 1
    if value is None:
        last = _last_line(mapping, lines)
        head = f"{' ' * indent}{key}:\n"
        if item:
            block = head + _item(edit.content, indent + style.sequence, style)
        else:
            block = head + _reindent(edit.content, indent + style.step, style)
    elif item and value.is_seq and not _is_flow(value, lines) and value.seq():
        dash = value.span.col - 1
        if lines[value.span.line - 1][dash : dash + 1] != "-":
            return None
        last = _last_line(value, lines)
        first = value.seq()[0]
        after = first.span.col - 1 - dash if first.span.line == value.span.line else 2
        block = _item(edit.content, dash, _Style(style.step, style.sequence, max(after, 2)))
    else:
        return None  # the key is there already (or is no block list to append to)
    placed = _placed_after(edit.path, lines, last, block)
    if placed is None or not _only_added(edit, text, documents, (index, path, key, item), placed):
        return None
    return placed


class _Style:
    """How the file indents: spaces per mapping level, a list's dash relative to its key, and
    the text after the dash relative to the dash."""

    def __init__(self, step: int, sequence: int, after_dash: int) -> None:
        self.step, self.sequence, self.after_dash = step, sequence, after_dash

    @classmethod
    def of(cls, document: YNode | None, mapping: YNode, lines: list[str]) -> _Style:
        """The style of the document ``mapping`` is in (the list that holds ``mapping`` for
        where a dash goes, when it is a key's block list)."""
        steps: Counter[int] = Counter()
        sequences: Counter[int] = Counter()
        after: Counter[int] = Counter()
        own: int | None = None
        seen: set[int] = set()
        stack = [document] if document is not None else []
        while stack:
            node = stack.pop()
            if id(node) in seen or _is_flow(node, lines):
                continue
            seen.add(id(node))
            for key, value in node.items():
                if value.span.line > key.span.line and not _is_flow(value, lines):
                    if value.is_map:
                        steps[value.span.col - key.span.col] += 1
                    elif value.is_seq:
                        offset = value.span.col - key.span.col
                        sequences[offset] += 1
                        if any(entry is mapping for entry in value.seq()):
                            own = offset
                stack.append(value)
            for entry in node.seq():
                if entry.span.line == node.span.line and entry.is_map:
                    after[entry.span.col - node.span.col] += 1
                stack.append(entry)
        step = _most_common(steps, 2, lambda n: n > 0)
        sequence = own if own is not None else _most_common(sequences, step, lambda n: n >= 0)
        return cls(step, sequence, _most_common(after, 2, lambda n: n >= 2))


def _most_common(counts: Counter[int], default: int, valid: Callable[[int], bool]) -> int:
    return next((value for value, _ in counts.most_common() if valid(value)), default)


def _holder(
    documents: list[YNode | None], line: int, col: int
) -> tuple[int, list[int], YNode] | None:
    """The mapping with a key or scalar value written at (``line``, ``col``): its document,
    its path there (pair and item indexes) and the node."""
    for index, document in enumerate(documents):
        if document is None:
            continue
        seen: set[int] = set()
        stack: list[tuple[YNode, list[int]]] = [(document, [])]
        while stack:
            node, path = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            for number, (key, value) in enumerate(node.items()):
                if (key.span.line, key.span.col) == (line, col) or (
                    value.is_scalar and (value.span.line, value.span.col) == (line, col)
                ):
                    return index, path, node
                stack.append((value, [*path, number]))
            stack.extend((entry, [*path, number]) for number, entry in enumerate(node.seq()))
    return None


def _is_flow(node: YNode, lines: list[str]) -> bool:
    if node.is_scalar or not 0 < node.span.line <= len(lines):
        return False
    return lines[node.span.line - 1][node.span.col - 1 : node.span.col] in ("{", "[")


def _last_line(node: YNode, lines: list[str]) -> int:
    """The last line that holds something of ``node`` as written here (a block scalar's
    trailing blank lines included; aliases and merged pairs, written elsewhere, left out)."""
    if node.is_scalar and node.style in ("|", ">") and "+" not in _header(node, lines):
        last = node.span.end_line  # a block scalar's trailing blank lines are not its text
        while last > node.span.line and not lines[last - 1].strip():
            last -= 1
        return last
    if node.is_scalar or _is_flow(node, lines):
        return node.span.end_line
    last = node.span.line
    for key, value in node.items():
        if key.span.line < node.span.line:
            continue  # merged from an anchor written earlier
        last = max(last, key.span.end_line)
        if value.span.line >= key.span.line:
            last = max(last, _last_line(value, lines))
    for entry in node.seq():
        if entry.span.line >= node.span.line:
            last = max(last, _last_line(entry, lines))
    return last


def _header(node: YNode, lines: list[str]) -> str:
    """A block scalar's indicator (`|`, `>-`, `|+2`), as written on its first line."""
    line = lines[node.span.line - 1] if node.span.line <= len(lines) else ""
    return line[node.span.col - 1 :].split("#", 1)[0].strip()


def _reindent(content: str, indent: int, style: _Style) -> str:
    """``content`` (two spaces a level) at ``indent`` with the file's spaces per level."""
    out = []
    for line in content.splitlines():
        stripped = line.lstrip(" ")
        level = (len(line) - len(stripped)) // 2
        out.append(f"{' ' * (indent + level * style.step)}{stripped}\n")
    return "".join(out)


def _item(content: str, dash: int, style: _Style) -> str:
    """``content`` (a mapping) as a list item whose dash is at ``dash`` (0-based column)."""
    body = _reindent(content, dash + style.after_dash, style)
    return f"{' ' * dash}-{' ' * (style.after_dash - 1)}{body[dash + style.after_dash :]}"


def _placed_after(path: str, lines: list[str], last: int, block: str) -> Edit | None:
    """``block`` after line ``last``: the line break that ends it is the range replaced."""
    if not 1 <= last <= len(lines):
        return None
    end = len(lines[last - 1]) + 1
    if last == len(lines):  # the last line, without a line break: the file still ends so
        return Edit(path, last, end, last, end, "\n" + block.removesuffix("\n"))
    return Edit(path, last, end, last + 1, 1, "\n" + block)


def _only_added(
    edit: Edit,
    text: str,
    before: list[YNode | None],
    where: tuple[int, list[int], str, bool],
    placed: Edit,
) -> bool:
    """Whether ``text`` with ``placed`` applied parses as ``before`` plus exactly the new key
    or item in the mapping at ``where`` (document, path, key, whether an item)."""
    index, path, key, item = where
    added, problem = load_documents(edit.path, edit.content)
    document = before[index]
    if problem is not None or len(added) != 1 or added[0] is None or document is None:
        return False
    changed = _with_added(document, path, key, added[0], item)
    if changed is None:
        return False
    expected = [_plain(changed if n == index else d) for n, d in enumerate(before)]
    after, problem = load_documents(edit.path, _applied(text, placed))
    return problem is None and [_plain(d) for d in after] == expected


def _with_added(node: YNode, path: list[int], key: str, new: YNode, item: bool) -> YNode | None:
    """``node`` with ``new`` added under ``key`` of the mapping at ``path`` (None: not so)."""
    if path:
        step, rest = path[0], path[1:]
        if node.is_map:
            pairs = list(node.items())
            inner = _with_added(pairs[step][1], rest, key, new, item)
            if inner is None:
                return None
            pairs[step] = (pairs[step][0], inner)
            return replace(node, value=tuple(pairs))
        entries = list(node.seq())
        inner = _with_added(entries[step], rest, key, new, item)
        if inner is None:
            return None
        entries[step] = inner
        return replace(node, value=tuple(entries))
    if not node.is_map:
        return None
    pair = node.get_item(key)
    if pair is None:
        name = YNode("scalar", key, STR_TAG, node.span)
        value = YNode("seq", (new,), _SEQ_TAG, new.span) if item else new
        return replace(node, value=(*node.items(), (name, value)))
    if not item or not pair[1].is_seq:
        return None
    longer = replace(pair[1], value=(*pair[1].seq(), new))
    return replace(node, value=tuple((k, longer if k is pair[0] else v) for k, v in node.items()))


def _applied(text: str, edit: Edit) -> str:
    lines = text.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    start = starts[edit.line - 1] + edit.col - 1
    end = starts[edit.end_line - 1] + edit.end_col - 1
    return text[:start] + edit.content + text[end:]


def _plain(node: YNode | None) -> object:
    """The node as data: what it means, not where it is written."""
    if node is None:
        return None
    if node.is_scalar:
        return ("scalar", node.tag, node.value)
    if node.is_seq:
        return ("seq", node.tag, tuple(_plain(entry) for entry in node.seq()))
    pairs = tuple((_plain(key), _plain(value)) for key, value in node.items())
    return ("map", node.tag, pairs)
