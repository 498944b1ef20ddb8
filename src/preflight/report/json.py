"""Machine output. The schema is versioned: fields are only added within a version.

``{"version": 1, "tool": {...}, "findings": [...], "suppressions": [...], "summary": {...}}``;
each finding carries ``code, name, severity, message, path, line, column, end_line, end_column,
related, fix``, then (added within version 1) ``headline`` (what is wrong in a few words;
``message`` says it in full), ``url`` (the rule's page) and ``fingerprint`` (the identity
baselines use, stable across unrelated edits). ``suppressions`` lists the findings a marker,
an annotation or ``per-file-ignores`` hid, each with ``suppression``: its ``kind``
("comment", "annotation", "config"), where it is written (``path``, ``line``, ``column``; not
for "config") and its ``reason`` (the text after ``--``, or null). ``summary`` counts findings
by severity, files checked and (added within version 1) findings suppressed.
Paths are as the user gave the root, joined with the path inside it (POSIX separators).
"""

from __future__ import annotations

import json
from typing import Any

from preflight import __version__
from preflight.findings import Finding
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
