"""Human output, in three layouts:

- ``full``: ``path:line:col: CODE severity: headline``, the source line with a marker, the
  detail, related places and the fix, each wrapped with a hanging indent;
- ``concise``: the first line of each finding only;
- ``grouped``: findings under their file, ``line:col  CODE  severity  headline``.

Every finding line names its severity in words, so a pipe, a CI log or ``NO_COLOR`` loses
nothing but the colour. A footer counts the findings (and the suppressed ones) and says where to
read why and how to fix. Text is wrapped to ``width`` (the terminal's) at spaces only; without a
width (not a terminal) nothing is wrapped, so each line stays whole for grep.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Sequence
from itertools import groupby
from typing import TYPE_CHECKING, TextIO

from preflight.findings import Finding
from preflight.pages import rule_url
from preflight.redact import escape_control
from preflight.report import safe_path
from preflight.result import Result
from preflight.spans import Span

if TYPE_CHECKING:
    from rich.console import Console

LAYOUTS = ("full", "concise", "grouped")
_STYLE = {"error": "bold red", "warning": "bold yellow", "info": "bold blue"}
_MIN_WIDTH = 40  # narrower than this, wrapping would only make it worse
_MIN_ROOM = 24  # a prefix (a long path) leaving less room than this: the text starts below it

# A printed line: (text, style) segments; style "" is plain, "link URL" adds a hyperlink.
_Segment = tuple[str, str]
_Line = list[_Segment]


def _path(root: str, path: str) -> str:
    shown = safe_path(root, path)
    if shown.lstrip().startswith((":", "#")):  # `::error::…` / `##[error]` is a CI log command
        shown = "./" + shown
    return shown


def _place(root: str, span: Span) -> str:
    return f"{_path(root, span.path)}:{span.line}:{span.col}"


def _snippet(lines: list[str], span: Span, width: int | None) -> list[tuple[str, str]]:
    """The line a finding points at, and the marker under it, as (gutter, text) pairs; a line
    too long for ``width`` is shown as a window around the marker, cut with ``…``."""
    if not 0 < span.line <= len(lines):
        return []
    raw = lines[span.line - 1].rstrip()
    end = span.end_col if span.end_line == span.line and span.end_col > span.col else len(raw) + 1
    end = min(end, len(raw) + 1)
    # Columns count characters of the raw line; an escape is several characters wide.
    before = escape_control(raw[: span.col - 1])
    marked = escape_control(raw[span.col - 1 : end - 1])
    after = escape_control(raw[end - 1 :])
    gutter = f"  {span.line} | "
    room = (width - len(gutter)) if width is not None else None
    if room is not None and room >= 20 and len(before) + len(marked) + len(after) > room:
        before, marked, after = _window(before, marked, after, room)
    marker = " " * len(before) + "^" * max(1, len(marked))
    return [
        (gutter, before + marked + after),
        (" " * (len(gutter) - 2) + "| ", marker),
    ]


def _window(before: str, marked: str, after: str, room: int) -> tuple[str, str, str]:
    """The part of a long line around the marked text that fits in ``room`` characters."""
    marked = marked if len(marked) <= room - 2 else marked[: room - 3] + "…"
    lead = max(0, min(len(before), (room - len(marked)) // 3))
    if lead < len(before):
        before = "…" + before[len(before) - lead + 1 :] if lead else ""
    space = room - len(before) - len(marked)
    if len(after) > space:
        after = after[: max(0, space - 1)] + "…" if space > 0 else ""
    return before, marked, after


def _wrap(prefix: _Line, body: str, indent: int, width: int | None, style: str = "") -> list[_Line]:
    """``prefix`` then ``body``, wrapped at spaces to ``width`` with continuation lines indented
    by ``indent``; words longer than a line (a URL, a path) stay whole."""
    if width is None:
        return [[*prefix, (body, style)]]
    start = sum(len(text) for text, _ in prefix)
    if width - start < _MIN_ROOM and start > indent:
        first: _Line = [*prefix[:-1], (prefix[-1][0].rstrip(), prefix[-1][1])]
        return [first, *_wrap([(" " * indent, "")], body, indent, width, style)]
    wrapped = textwrap.wrap(
        body,
        width=width,
        initial_indent=" " * start,
        subsequent_indent=" " * indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [" " * start]
    lines: list[_Line] = [[*prefix, (wrapped[0][start:], style)]]
    lines.extend([(" " * indent, ""), (text[indent:], style)] for text in wrapped[1:])
    return lines


class PlainConsole:
    """Where the report goes when nothing is coloured or wrapped (a pipe, a file, a CI log):
    the stream itself. rich is not even imported then."""

    color_system = None
    no_color = True

    def __init__(self, file: TextIO) -> None:
        self.file = file


class _Out:
    """Writes lines: through rich markup when colouring, as plain text otherwise (a CI log of
    10,000 findings should not pay for markup it will never show)."""

    def __init__(self, console: Console | PlainConsole) -> None:
        self.console = console
        self.plain = console.color_system is None or console.no_color

    def lines(self, lines: Sequence[_Line]) -> None:
        for line in lines:
            self.line(line)

    def line(self, segments: _Line) -> None:
        console = self.console
        if self.plain or isinstance(console, PlainConsole):
            console.file.write("".join(text for text, _ in segments).rstrip() + "\n")
            return
        from rich.markup import escape

        markup = "".join(
            f"[{style}]{escape(text)}[/]" if style and text else escape(text)
            for text, style in segments
        )
        console.print(markup, highlight=False, soft_wrap=True)


def render(
    results: list[Result],
    console: Console | PlainConsole,
    *,
    quiet: bool,
    verbose: bool,
    show_source: bool = True,
    layout: str = "full",
    width: int | None = None,
) -> None:
    """The report on ``console``; ``width`` None: not wrapped (not a terminal)."""
    out = _Out(console)
    if width is not None:
        width = max(width, _MIN_WIDTH)
    detailed = layout == "full" and not quiet
    for result in results:
        if layout == "grouped":
            _grouped(result, out, width)
        else:
            for finding in result.findings:
                out.lines(_headline(result.root, finding, width))
                if detailed:
                    _details(result, finding, out, show_source, width)
        if verbose:
            for note in result.notes:
                out.lines(_wrap([], f"note: {escape_control(note)}", 4, width, "dim"))
    if not quiet:
        _footer(results, out, width)


def _code(finding: Finding) -> _Segment:
    return (finding.code, f"bold link {rule_url(finding.code)}")


def _severity(finding: Finding) -> _Segment:
    word = finding.severity.value
    return (word, _STYLE[word])


def _headline(root: str, finding: Finding, width: int | None) -> list[_Line]:
    place = _place(root, finding.span)
    prefix: _Line = [(f"{place}:", "bold"), (" ", ""), _code(finding), (" ", "")]
    prefix += [_severity(finding), (": ", "")]
    return _wrap(prefix, escape_control(finding.title), 4, width)


def _details(
    result: Result, finding: Finding, out: _Out, show_source: bool, width: int | None
) -> None:
    if show_source:
        for gutter, text in _snippet(
            result.sources.get(finding.span.path, []), finding.span, width
        ):
            out.line([(gutter, "dim"), (text, "dim")])
    if finding.detail:
        out.lines(_wrap([("  ", "")], escape_control(finding.detail), 2, width))
    for related in finding.related:
        where = _place(result.root, related.span)
        prefix: _Line = [("  ", ""), ("=", "cyan"), (f" {where}: ", "")]
        out.lines(_wrap(prefix, escape_control(related.note), 4, width))
    if finding.fix:
        prefix = [("  ", ""), ("= help:", "cyan"), (" ", "")]
        out.lines(_wrap(prefix, escape_control(finding.fix), 10, width))
    if finding.autofix is not None:
        fix = finding.autofix
        option = "--fix" if fix.applicability.value == "safe" else "--fix --unsafe-fixes"
        prefix = [("  ", ""), ("= fix:", "cyan"), (" ", "")]
        out.lines(_wrap(prefix, escape_control(f"{fix.message} ({option})"), 9, width))
    out.line([])


def _grouped(result: Result, out: _Out, width: int | None) -> None:
    for path, items in groupby(result.findings, key=lambda f: f.span.path):
        findings = list(items)
        out.line([(f"{_path(result.root, path)}:", "bold")])
        position = max(len(f"{f.span.line}:{f.span.col}") for f in findings)
        code = max(len(f.code) for f in findings)
        for finding in findings:
            where = f"{finding.span.line}:{finding.span.col}"
            word = finding.severity.value
            prefix: _Line = [
                (f"  {where:<{position}}  ", ""),
                _code(finding),
                (" " * (code - len(finding.code) + 1), ""),
                _severity(finding),
                (" " * (len("warning") - len(word) + 2), ""),
            ]
            indent = sum(len(text) for text, _ in prefix)
            out.lines(_wrap(prefix, escape_control(finding.title), indent, width))
        out.line([])


def _footer(results: list[Result], out: _Out, width: int | None) -> None:
    counts: Counter[str] = Counter()
    codes: Counter[tuple[int, str]] = Counter()
    for result in results:
        for finding in result.findings:
            counts[finding.severity.value] += 1
            codes[(finding.severity.rank, finding.code)] += 1
    suppressed = sum(r.suppressed for r in results)
    if not counts:
        files = sum(r.files_checked for r in results)
        extra = f"; {suppressed} suppressed" if suppressed else ""
        out.line([("All checks passed", "green"), (f" ({files} files{extra}).", "")])
        return
    parts = [
        f"{counts[s]} {s}{'s' if counts[s] != 1 and s != 'info' else ''}"
        for s in ("error", "warning", "info")
        if counts[s]
    ]
    total = sum(counts.values())
    summary = f"Found {total} finding{'s' if total != 1 else ''}: {', '.join(parts)}"
    summary += f"; {suppressed} suppressed." if suppressed else "."
    out.lines(_wrap([], summary, 0, width))
    # The code to name: the most frequent among the most severe.
    (_, example), _ = min(codes.items(), key=lambda item: (-item[0][0], -item[1], item[0][1]))
    distinct = len({code for _, code in codes})
    command = f"`preflight explain {example}`"
    hint = (
        f"Why and how to fix: {command}"
        if distinct == 1
        else f"Why and how to fix: `preflight explain CODE`, e.g. {command}"
    )
    out.lines(_wrap([], f"{hint} or {rule_url(example)}", 4, width))
    safe = sum(
        1
        for r in results
        for f in r.findings
        if f.autofix is not None and f.autofix.applicability.value == "safe"
    )
    unsafe = sum(1 for r in results for f in r.findings if f.autofix is not None) - safe
    if safe and unsafe:
        line = f"{safe} fixable with `preflight check --fix`; {unsafe} more with `--unsafe-fixes`."
    elif safe or unsafe:
        option = "--fix" if safe else "--fix --unsafe-fixes"
        line = f"{safe or unsafe} fixable with `preflight check {option}`."
    if safe or unsafe:
        out.lines(_wrap([], line, 0, width))
