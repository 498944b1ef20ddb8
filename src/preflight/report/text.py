"""Human output: ``path:line:col: CODE message``, the source line with a marker, related places,
the fix, and a summary line. Colour only on a terminal (and never with ``--no-color``)."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.markup import escape

from preflight.engine import Result
from preflight.findings import Finding
from preflight.spans import Span

_STYLE = {"error": "bold red", "warning": "bold yellow", "info": "bold blue"}


def _place(root: str, span: Span) -> str:
    prefix = "" if root in ("", ".") else root.rstrip("/") + "/"
    return f"{prefix}{span.path}:{span.line}:{span.col}"


def _snippet(lines: list[str], span: Span) -> list[str]:
    if not 0 < span.line <= len(lines):
        return []
    line = lines[span.line - 1].rstrip()
    width = len(str(span.line))
    end = span.end_col if span.end_line == span.line and span.end_col > span.col else len(line) + 1
    marker = " " * (span.col - 1) + "^" * max(1, min(end, len(line) + 1) - span.col)
    return [
        f"{span.line} | {line}",
        f"{' ' * width} | {marker}",
    ]


def render(
    results: list[Result], console: Console, *, quiet: bool, verbose: bool, show_source: bool = True
) -> None:
    counts: Counter[str] = Counter()
    for result in results:
        for finding in result.findings:
            counts[finding.severity.value] += 1
            _finding(result, finding, console, quiet, show_source)
        if verbose:
            for note in result.notes:
                console.print(f"[dim]note: {escape(note)}[/dim]", highlight=False)
    if quiet:
        return
    if not counts:
        files = sum(r.files_checked for r in results)
        console.print(f"[green]All checks passed[/green] ({files} files).", highlight=False)
        return
    parts = [
        f"{counts[s]} {s}{'s' if counts[s] != 1 else ''}"
        for s in ("error", "warning", "info")
        if counts[s]
    ]
    total = sum(counts.values())
    console.print(
        f"Found {total} finding{'s' if total != 1 else ''}: {', '.join(parts)}.", highlight=False
    )


def _finding(
    result: Result, finding: Finding, console: Console, quiet: bool, show_source: bool
) -> None:
    style = _STYLE[finding.severity.value]
    place = escape(_place(result.root, finding.span))
    console.print(
        f"[bold]{place}:[/bold] [{style}]{finding.code}[/{style}] {escape(finding.message)}",
        highlight=False,
        soft_wrap=True,
    )
    if quiet:
        return
    snippet = (
        _snippet(result.sources.get(finding.span.path, []), finding.span) if show_source else []
    )
    for text in snippet:
        console.print(f"  [dim]{escape(text)}[/dim]", highlight=False, soft_wrap=True)
    for related in finding.related:
        console.print(
            f"  [cyan]=[/cyan] {escape(_place(result.root, related.span))}: {escape(related.note)}",
            highlight=False,
            soft_wrap=True,
        )
    if finding.fix:
        console.print(
            f"  [cyan]= help:[/cyan] {escape(finding.fix)}", highlight=False, soft_wrap=True
        )
    console.print()
