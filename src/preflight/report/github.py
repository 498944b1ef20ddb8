"""GitHub Actions workflow commands: one annotation per finding."""

from __future__ import annotations

from preflight.findings import Severity
from preflight.redact import escape_control
from preflight.report import safe_path
from preflight.result import Result

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _data(text: str) -> str:
    """A workflow command's message: no raw line break can end it and start a forged one."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(results: list[Result]) -> str:
    lines: list[str] = []
    for result in results:
        for finding in result.findings:
            span = finding.span
            properties = ",".join(
                (
                    f"file={_property(safe_path(result.root, span.path))}",
                    f"line={span.line}",
                    f"col={span.col}",
                    f"endLine={max(span.end_line, span.line)}",
                    f"endColumn={max(span.end_col, span.col)}",
                    f"title={_property(finding.code)}",
                )
            )
            message = escape_control(finding.message) + (
                f"\n{escape_control(finding.fix)}" if finding.fix else ""
            )
            lines.append(f"::{_COMMAND[finding.severity]} {properties}::{_data(message)}")
    return "\n".join(lines)
