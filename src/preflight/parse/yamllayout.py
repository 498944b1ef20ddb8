"""Where a YAML file's comments are, and what a line of it holds: for suppression markers.

A ``# preflight: ignore[CODE]`` on a key's line covers the key's whole value (a parent key
covers its subtree), one on a list item's line the whole item; a ``#`` inside a quoted or block
scalar is text, not a comment; a Kubernetes object's (or pod template's)
``metadata.annotations["preflight.dev/ignore"]`` covers the mapping that holds that metadata.
``preflight check --add-ignore`` asks the same layout where a marker may be written without
turning into text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from preflight.parse.yamlnodes import YNode, load_documents
from preflight.spans import Span

IGNORE_ANNOTATION = "preflight.dev/ignore"
_MAX_LINE = 1 << 31


@dataclass(frozen=True, slots=True)
class IgnoreAnnotation:
    value: YNode  # the annotation's value (a scalar, or something malformed)
    covers: range  # the lines of the object (or template) it annotates


@dataclass(slots=True)
class YamlLayout:
    # per line, the column ranges [start, end) (1-based) that belong to a scalar's text
    text_columns: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    # lines whose end is inside a scalar that goes on: a comment there would be text
    continued: set[int] = field(default_factory=set)
    # per line, the last line of the values and list items that start on it
    extent: dict[int, int] = field(default_factory=dict)
    # per line a multi-line scalar ends on (not a block scalar), the line it starts on
    scalar_start: dict[int, int] = field(default_factory=dict)
    # per line inside a multi-line scalar, the line of the key or list item that holds it
    holder: dict[int, int] = field(default_factory=dict)
    annotations: list[IgnoreAnnotation] = field(default_factory=list)

    def is_comment(self, line: int, col: int) -> bool:
        """Whether a ``#`` at ``line``:``col`` starts a comment (is not a scalar's text)."""
        return not any(start <= col < end for start, end in self.text_columns.get(line, ()))

    def covered_from(self, line: int) -> range:
        """The lines a marker that targets ``line`` covers: the line, every value and list
        item that starts on it, and a multi-line scalar that ends on it."""
        first = self.scalar_start.get(line, line)
        return range(first, max(line, self.extent.get(line, line)) + 1)

    def can_end_with_comment(self, line: int) -> bool:
        return line not in self.continued


def yaml_layout(path: str, text: str) -> YamlLayout | None:
    """The layout of a YAML stream; None when it does not parse (then markers are read line by
    line, as in any other file)."""
    documents, problem = load_documents(path, text)
    if problem is not None:
        return None
    layout = YamlLayout()
    lines = text.split("\n")
    seen: set[int] = set()
    for document in documents:
        if document is not None:
            _walk(document, layout, lines, seen, holder=None)
    return layout


def _last_line(node: YNode, lines: list[str]) -> int:
    """The last line that holds some of ``node``. A block collection's end is where the next
    token starts (``- name: next`` on the following item's line), so lines that hold nothing
    of it before that column — and blank or comment lines above them — are not its own."""
    span = node.span
    last = span.end_line
    if last > span.line and last - 1 < len(lines):
        before = lines[last - 1][: span.end_col - 1].strip()
        if before in ("", "-"):
            last -= 1
            while last > span.line:
                text = lines[last - 1].strip()
                if text and not text.startswith("#"):
                    break
                last -= 1
    return last


def _note_extent(layout: YamlLayout, line: int, last: int) -> None:
    if last > layout.extent.get(line, line):
        layout.extent[line] = last


def _walk(
    node: YNode, layout: YamlLayout, lines: list[str], seen: set[int], holder: int | None
) -> None:
    if id(node) in seen:  # an alias: the same node, already walked where it is written
        return
    seen.add(id(node))
    if node.is_scalar:
        _scalar(node, layout, lines, holder)
        return
    if node.is_seq:
        for item in node.seq():
            if item.span.line >= node.span.line:
                _note_extent(layout, item.span.line, _last_line(item, lines))
            _walk(item, layout, lines, seen, holder=item.span.line)
        return
    for key, value in node.items():
        if value.span.line >= key.span.line:  # not a merged or aliased value written elsewhere
            _note_extent(layout, key.span.line, max(_last_line(value, lines), key.span.line))
        _walk(key, layout, lines, seen, holder=key.span.line)
        _walk(value, layout, lines, seen, holder=key.span.line)
    annotation = _ignore_annotation(node)
    if annotation is not None:
        layout.annotations.append(
            IgnoreAnnotation(annotation, range(node.span.line, _last_line(node, lines) + 1))
        )


def _ignore_annotation(node: YNode) -> YNode | None:
    metadata = node.get("metadata")
    annotations = metadata.get("annotations") if metadata is not None else None
    return annotations.get(IGNORE_ANNOTATION) if annotations is not None else None


def _scalar(node: YNode, layout: YamlLayout, lines: list[str], holder: int | None) -> None:
    span: Span = node.span
    if node.style in ("|", ">"):
        # the indicator's line may end with a comment; the content lines are text, as far as
        # they are indented like the content (a less indented comment line ends the scalar)
        content = [n for n in range(span.line + 1, span.end_line + 1) if n - 1 < len(lines)]
        written = [lines[n - 1] for n in content if lines[n - 1].strip()]
        indent = min((len(t) - len(t.lstrip(" ")) for t in written[:1]), default=0)
        for number in content:
            text = lines[number - 1]
            if text.strip() and len(text) - len(text.lstrip(" ")) < indent:
                continue
            layout.text_columns.setdefault(number, []).append((1, _MAX_LINE))
            layout.continued.add(number)
            if holder is not None:
                layout.holder[number] = holder
        return
    if span.end_line == span.line:
        layout.text_columns.setdefault(span.line, []).append((span.col, span.end_col))
        return
    layout.text_columns.setdefault(span.line, []).append((span.col, _MAX_LINE))
    for number in range(span.line + 1, span.end_line):
        layout.text_columns.setdefault(number, []).append((1, _MAX_LINE))
    layout.text_columns.setdefault(span.end_line, []).append((1, span.end_col))
    layout.continued.update(range(span.line, span.end_line))
    layout.scalar_start[span.end_line] = span.line
    if holder is not None:
        for number in range(span.line, span.end_line + 1):
            layout.holder[number] = holder
