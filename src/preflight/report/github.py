"""GitHub Actions: one annotation per finding, then the same findings as readable lines.

GitHub shows only the first 10 annotations of each level per step (and 50 per job), so the
annotations alone would hide the rest: the log also lists every finding, errors first, and
:func:`step_summary` gives the job's summary page (``$GITHUB_STEP_SUMMARY``) a table of them.
"""

from __future__ import annotations

from collections import Counter

from preflight.findings import Finding, Severity
from preflight.pages import rule_url
from preflight.redact import escape_control
from preflight.report import safe_path
from preflight.result import Result

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
SUMMARY_ROWS = 500  # a step summary holds at most 1 MiB; the log has every finding anyway


def _data(text: str) -> str:
    """A workflow command's message: no raw line break can end it and start a forged one."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _ranked(results: list[Result]) -> list[tuple[Result, Finding]]:
    """Every finding, errors first, then warnings, then info (each in report order)."""
    pairs = [(result, finding) for result in results for finding in result.findings]
    return sorted(pairs, key=lambda pair: -pair[1].severity.rank)


def _place(root: str, finding: Finding) -> str:
    path = safe_path(root, finding.span.path)
    if path.lstrip().startswith((":", "#")):  # `::error::…` / `##[error]`: a workflow command
        path = "./" + path
    return f"{path}:{finding.span.line}:{finding.span.col}"


def _counts(results: list[Result]) -> str:
    counts = Counter(f.severity.value for r in results for f in r.findings)
    total = sum(counts.values())
    parts = [
        f"{counts[s]} {s}{'s' if counts[s] != 1 and s != 'info' else ''}"
        for s in ("error", "warning", "info")
        if counts[s]
    ]
    return f"{total} finding{'s' if total != 1 else ''}" + (
        f" ({', '.join(parts)})" if parts else ""
    )


def render(results: list[Result]) -> str:
    ranked = _ranked(results)
    lines: list[str] = []
    for result, finding in ranked:
        span = finding.span
        properties = ",".join(
            (
                f"file={_property(safe_path(result.root, span.path))}",
                f"line={span.line}",
                f"col={span.col}",
                f"endLine={max(span.end_line, span.line)}",
                f"endColumn={max(span.end_col, span.col)}",
                f"title={_property(f'{finding.code} {escape_control(finding.title)}')}",
            )
        )
        message = escape_control(finding.message) + (
            f"\n{escape_control(finding.fix)}" if finding.fix else ""
        )
        lines.append(f"::{_COMMAND[finding.severity]} {properties}::{_data(message)}")
    if not ranked:
        files = sum(r.files_checked for r in results)
        return f"preflight: all checks passed ({files} files)."
    lines.append(f"preflight: {_counts(results)}, errors first:")
    for result, finding in ranked:
        lines.append(
            f"{_place(result.root, finding)}: {finding.code} {finding.severity.value}: "
            f"{escape_control(finding.title)}"
        )
    example = ranked[0][1].code
    lines.append(f"Why and how to fix: `preflight explain {example}` or {rule_url(example)}")
    return "\n".join(lines)


def _cell(text: str) -> str:
    """Markdown table cell text: no line break or `|` ends the cell, no HTML outside code."""
    parts = text.replace("\r", " ").replace("\n", " ").split("`")
    out = []
    for index, part in enumerate(parts):
        if index % 2 == 0:  # outside a code span
            part = part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        out.append(part.replace("|", "\\|"))
    return "`".join(out)


def step_summary(results: list[Result]) -> str:
    """A Markdown section for ``$GITHUB_STEP_SUMMARY``: every finding, errors first."""
    ranked = _ranked(results)
    if not ranked:
        files = sum(r.files_checked for r in results)
        return f"### preflight: all checks passed ({files} files)\n\n"
    lines = [
        f"### preflight: {_counts(results)}",
        "",
        "| Severity | Rule | Where | What |",
        "|---|---|---|---|",
    ]
    for result, finding in ranked[:SUMMARY_ROWS]:
        lines.append(
            f"| {finding.severity.value} | [{finding.code}]({rule_url(finding.code)}) "
            f"{finding.name} | `{_cell(_place(result.root, finding))}` | "
            f"{_cell(escape_control(finding.title))} |"
        )
    if len(ranked) > SUMMARY_ROWS:
        lines += ["", f"…and {len(ranked) - SUMMARY_ROWS} more: the step's log lists them all."]
    return "\n".join(lines) + "\n\n"
