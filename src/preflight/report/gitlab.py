"""GitLab Code Quality report (a JSON array of issues)."""

from __future__ import annotations

import json

from preflight.findings import Severity
from preflight.redact import escape_control
from preflight.report import safe_path
from preflight.result import Result

_SEVERITY = {Severity.ERROR: "critical", Severity.WARNING: "major", Severity.INFO: "info"}


def render(results: list[Result]) -> str:
    issues = []
    for result in results:
        for finding in result.findings:
            issues.append(
                {
                    "type": "issue",
                    "description": f"{finding.code} {escape_control(finding.message)}",
                    "check_name": finding.code,
                    "fingerprint": finding.fingerprint,
                    "severity": _SEVERITY[finding.severity],
                    "categories": ["Bug Risk"],
                    "location": {
                        "path": safe_path(result.root, finding.span.path),
                        "lines": {
                            "begin": finding.span.line,
                            "end": max(finding.span.end_line, finding.span.line),
                        },
                    },
                }
            )
    return json.dumps(issues, indent=2, ensure_ascii=False)
