"""Human output: ``path:line:col: CODE message``, the source line with a marker, related places,
the fix, and a summary line. Colour only on a terminal (and never with ``--no-color``)."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.markup import escape

from preflight.findings import Finding
from preflight.redact import escape_control
from preflight.report import safe_path
from preflight.result import Result
from preflight.spans import Span

_STYLE = {"error": "bold red", "warning": "bold yellow", "info": "bold blue"}


def _place(root: str, span: Span) -> str:
    path = safe_path(root, span.path)
    if path.startswith((":", "#")):  # `::error::…` / `##[error]` would be a CI log command
        path = "./" + path
    return f"{path}:{span.line}:{span.col}"


def _snippet(lines: list[str], span: Span) -> list[str]:
    if not 0 < span.line <= len(lines):
        return []
    raw = lines[span.line - 1].rstrip()
    width = len(str(span.line))
    end = span.end_col if span.end_line == span.line and span.end_col > span.col else len(raw) + 1
    end = min(end, len(raw) + 1)
    # Columns count characters of the raw line; an escape is several characters wide.
    start_at = len(escape_control(raw[: span.col - 1]))
    length = len(escape_control(raw[span.col - 1 : end - 1]))
    line = escape_control(raw)
    marker = " " * start_at + "^" * max(1, length)
    return [
        f"{span.line} | {line}",
        f"{' ' * width} | {marker}",
    ]


class _Out:
    """Writes a line: through rich markup when colouring, as plain text otherwise (a CI log of
    10,000 findings should not pay for markup it will never show)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.plain = console.color_system is None or console.no_color

    def line(self, markup: str, plain: str) -> None:
        if self.plain:
            self.console.file.write(plain + "\n")
        else:
            self.console.print(markup, highlight=False, soft_wrap=True)


def render(
    results: list[Result], console: Console, *, quiet: bool, verbose: bool, show_source: bool = True
) -> None:
    out = _Out(console)
    counts: Counter[str] = Counter()
    for result in results:
        for finding in result.findings:
            counts[finding.severity.value] += 1
            _finding(result, finding, out, quiet, show_source)
        if verbose:
            for note in result.notes:
                note = escape_control(note)
                out.line(f"[dim]note: {escape(note)}[/dim]", f"note: {note}")
    if quiet:
        return
    if not counts:
        files = sum(r.files_checked for r in results)
        text = f"All checks passed ({files} files)."
        out.line(f"[green]All checks passed[/green] ({files} files).", text)
        return
    parts = [
        f"{counts[s]} {s}{'s' if counts[s] != 1 else ''}"
        for s in ("error", "warning", "info")
        if counts[s]
    ]
    total = sum(counts.values())
    summary = f"Found {total} finding{'s' if total != 1 else ''}: {', '.join(parts)}."
    out.line(summary, summary)


def _finding(result: Result, finding: Finding, out: _Out, quiet: bool, show_source: bool) -> None:
    style = _STYLE[finding.severity.value]
    place = _place(result.root, finding.span)
    message = escape_control(finding.message)
    out.line(
        f"[bold]{escape(place)}:[/bold] [{style}]{finding.code}[/{style}] {escape(message)}",
        f"{place}: {finding.code} {message}",
    )
    if quiet:
        return
    snippet = (
        _snippet(result.sources.get(finding.span.path, []), finding.span) if show_source else []
    )
    for text in snippet:
        out.line(f"  [dim]{escape(text)}[/dim]", f"  {text}")
    for related in finding.related:
        where = _place(result.root, related.span)
        note = escape_control(related.note)
        out.line(f"  [cyan]=[/cyan] {escape(where)}: {escape(note)}", f"  = {where}: {note}")
    if finding.fix:
        fix = escape_control(finding.fix)
        out.line(f"  [cyan]= help:[/cyan] {escape(fix)}", f"  = help: {fix}")
    out.line("", "")
