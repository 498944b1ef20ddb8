"""SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

Each rule carries its page (``helpUri``); the run's ``invocations`` say whether preflight ran
to the end (``executionSuccessful``: false when a rule crashed, with the error as a
notification), so a consumer can tell "no findings" from "a check did not run".

Suppressed findings are left out of ``results`` unless asked for (``show_suppressed``, the
``--show-suppressed`` option): SARIF marks them with a ``suppressions`` array, which most
consumers honour, but GitHub code scanning does not — it would open an alert for every
finding the repository has deliberately suppressed. When included, each carries one
``suppression``: ``inSource`` (a marker or annotation, at ``location``, with the marker's reason
as ``justification``) or ``external`` (``per-file-ignores`` in the configuration), status
``accepted``. The run's ``properties.suppressed`` always counts them.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from preflight import __version__
from preflight.findings import Autofix, Finding, Severity
from preflight.pages import PROJECT_URL, rule_url
from preflight.redact import escape_control
from preflight.report import shown_path
from preflight.result import Result, Suppressed
from preflight.spans import Span

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
INFORMATION_URI = PROJECT_URL


def _uri(root: str, span: Span) -> str:
    """An RFC 3986 URI reference: every byte but unreserved characters and "/" percent-encoded
    (spaces, "#", "%", ":", non-ASCII; an undecodable name's original bytes)."""
    return quote(shown_path(root, span.path).encode("utf-8", "surrogateescape"), safe="/")


def _region(span: Span) -> dict[str, int]:
    return {
        "startLine": span.line,
        "startColumn": span.col,
        "endLine": max(span.end_line, span.line),
        "endColumn": max(span.end_col, span.col + 1 if span.end_line == span.line else 1),
    }


def _location(
    root: str, span: Span, message: str | None = None, index: int | None = None
) -> dict[str, Any]:
    location: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": _uri(root, span), "uriBaseId": "%SRCROOT%"},
            "region": _region(span),
        }
    }
    if message is not None:
        location["message"] = {"text": escape_control(message)}
    if index is not None:
        location["id"] = index
    return location


def _result(root: str, finding: Finding, rule_index: int) -> dict[str, Any]:
    text = escape_control(finding.message + (f" {finding.fix}" if finding.fix else ""))
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": _LEVEL[finding.severity],
        "message": {"text": text},
        "locations": [_location(root, finding.span)],
        "partialFingerprints": {"preflightFingerprint/v1": finding.fingerprint},
    }
    if finding.autofix is not None:
        result["fixes"] = [_fix(root, finding.autofix)]
    if finding.related:
        result["relatedLocations"] = [
            _location(root, related.span, related.note, index)
            for index, related in enumerate(finding.related, start=1)
        ]
    return result


def _fix(root: str, fix: Autofix) -> dict[str, Any]:
    """A SARIF ``fix``: the edits per file, as deleted regions and inserted text."""
    changes: dict[str, list[dict[str, Any]]] = {}
    for edit in fix.edits:
        region = {
            "startLine": edit.line,
            "startColumn": edit.col,
            "endLine": edit.end_line,
            "endColumn": edit.end_col,
        }
        changes.setdefault(edit.path, []).append(
            {"deletedRegion": region, "insertedContent": {"text": edit.content}}
        )
    return {
        "description": {"text": escape_control(f"{fix.message} ({fix.applicability.value})")},
        "artifactChanges": [
            {
                "artifactLocation": {"uri": _uri(root, Span(path, 1)), "uriBaseId": "%SRCROOT%"},
                "replacements": replacements,
            }
            for path, replacements in changes.items()
        ],
    }


def _invocation(results: list[Result]) -> dict[str, Any]:
    errors = [message for result in results for message in result.internal_errors]
    invocation: dict[str, Any] = {"executionSuccessful": not errors}
    if errors:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": escape_control(message)}} for message in errors
        ]
    return invocation


def _suppressed(root: str, item: Suppressed, rule_index: int) -> dict[str, Any]:
    result = _result(root, item.finding, rule_index)
    suppression: dict[str, Any] = {
        "kind": "external" if item.kind == "config" else "inSource",
        "status": "accepted",
    }
    if item.reason is not None:
        suppression["justification"] = escape_control(item.reason)
    if item.span is not None:
        suppression["location"] = _location(root, item.span)
    result["suppressions"] = [suppression]
    return result


def render(results: list[Result], show_suppressed: bool = False) -> str:
    from preflight.pages import page_text

    rules = results[0].rules if results else ()
    index = {rule.code: position for position, rule in enumerate(rules)}
    driver = {
        "name": "preflight",
        "version": __version__,
        "semanticVersion": __version__,
        "informationUri": INFORMATION_URI,
        "rules": [
            {
                "id": rule.code,
                "name": rule.name,
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": rule.summary},
                "help": {"text": rule.summary, "markdown": page_text(rule.code)},
                "helpUri": rule_url(rule.code),
                "defaultConfiguration": {"level": _LEVEL[rule.severity]},
                "properties": {"tags": [rule.code.rstrip("0123456789")]},
            }
            for rule in rules
        ],
    }
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "columnKind": "unicodeCodePoints",
                "invocations": [_invocation(results)],
                "results": [
                    _result(result.root, finding, index[finding.code])
                    for result in results
                    for finding in result.findings
                ]
                + [
                    _suppressed(result.root, item, index[item.finding.code])
                    for result in results
                    for item in (result.suppressions if show_suppressed else ())
                ],
                "properties": {"suppressed": sum(result.suppressed for result in results)},
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
