"""Machine output. The schema is versioned: fields are only added within a version.

``{"version": 1, "tool": {...}, "findings": [...], "suppressions": [...], "summary": {...}}``;
each finding carries ``code, name, severity, message, path, line, column, end_line, end_column,
related, fix``, then (added within version 1) ``headline`` (what is wrong in a few words;
``message`` says it in full), ``url`` (the rule's page), ``fingerprint`` (the identity baselines
use, stable across unrelated edits) and ``autofix`` (null, or the change `--fix` makes:
``applicability`` "safe"/"unsafe", ``message``, ``edits`` with ``path``, ``line``, ``column``,
``end_line``, ``end_column`` and the ``content`` that replaces that range). ``suppressions``
lists the findings a marker, an annotation or ``per-file-ignores`` hid, each with
``suppression``: its ``kind`` ("comment", "annotation", "config"), where it is written
(``path``, ``line``, ``column``; not for "config") and its ``reason`` (the text after ``--``, or
null). ``summary`` counts findings by severity, files checked and (added within version 1)
findings suppressed.
Paths are as the user gave the root, joined with the path inside it (POSIX separators).
"""

from __future__ import annotations

import json
from typing import Any

from preflight import __version__
from preflight.findings import Autofix, Finding
from preflight.pages import rule_url
from preflight.redact import escape_control
from preflight.report import safe_path
from preflight.result import Result, Suppressed
from preflight.spans import Span

SCHEMA_VERSION = 1


def _path(root: str, span: Span) -> str:
    return safe_path(root, span.path)


def _location(root: str, span: Span) -> dict[str, Any]:
    return {
        "path": _path(root, span),
        "line": span.line,
        "column": span.col,
        "end_line": span.end_line,
        "end_column": span.end_col,
    }


def _finding(root: str, finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "name": finding.name,
        "severity": finding.severity.value,
        "message": escape_control(finding.message),
        **_location(root, finding.span),
        "related": [
            {**_location(root, r.span), "note": escape_control(r.note)} for r in finding.related
        ],
        "fix": escape_control(finding.fix) if finding.fix is not None else None,
        "headline": escape_control(finding.title),
        "url": rule_url(finding.code),
        "fingerprint": finding.fingerprint,
        "autofix": _autofix(root, finding.autofix),
    }


def _autofix(root: str, fix: Autofix | None) -> dict[str, Any] | None:
    """The edits `--fix` would make (ranges as the finding's: 1-based, end column exclusive)."""
    if fix is None:
        return None
    return {
        "applicability": fix.applicability.value,
        "message": escape_control(fix.message),
        "edits": [
            {
                "path": safe_path(root, edit.path),
                "line": edit.line,
                "column": edit.col,
                "end_line": edit.end_line,
                "end_column": edit.end_col,
                "content": edit.content,
            }
            for edit in fix.edits
        ],
    }


def _suppression(root: str, item: Suppressed) -> dict[str, Any]:
    how: dict[str, Any] = {"kind": item.kind}
    if item.span is not None:
        how.update(
            {"path": _path(root, item.span), "line": item.span.line, "column": item.span.col}
        )
    how["reason"] = escape_control(item.reason) if item.reason is not None else None
    return {**_finding(root, item.finding), "suppression": how}


def render(results: list[Result]) -> str:
    findings: list[dict[str, Any]] = []
    counts = {"error": 0, "warning": 0, "info": 0}
    for result in results:
        for finding in result.findings:
            counts[finding.severity.value] += 1
            findings.append(_finding(result.root, finding))
    suppressions = [_suppression(r.root, item) for r in results for item in r.suppressions]
    document = {
        "version": SCHEMA_VERSION,
        "tool": {"name": "preflight", "version": __version__},
        "findings": findings,
        "suppressions": suppressions,
        "summary": {
            **counts,
            "files_checked": sum(r.files_checked for r in results),
            "suppressed": sum(r.suppressed for r in results),
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
