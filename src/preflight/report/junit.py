"""JUnit XML: one testcase per rule per file, failing when the rule found something there.

XML 1.0 cannot hold most control characters even as references: every text and attribute is
escaped first (``\\x1b``), so the document always parses."""

from __future__ import annotations

from collections import defaultdict
from xml.etree import ElementTree as ET

from preflight.findings import Finding
from preflight.redact import escape_control
from preflight.report import safe_path
from preflight.result import Result


def render(results: list[Result]) -> str:
    cases: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for result in results:
        for finding in result.findings:
            cases[(finding.code, safe_path(result.root, finding.span.path))].append(finding)
    suite = ET.Element(
        "testsuite", name="preflight", tests=str(len(cases)), failures=str(len(cases)), errors="0"
    )
    for (code, path), findings in sorted(cases.items()):
        case = ET.SubElement(suite, "testcase", classname=path, name=f"{code} {findings[0].name}")
        failure = ET.SubElement(
            case,
            "failure",
            type=findings[0].severity.value,
            message=escape_control(findings[0].message),
        )
        failure.text = "\n".join(
            f"{path}:{f.span.line}:{f.span.col}: {f.code} {escape_control(f.message)}"
            for f in findings
        )
    root = ET.Element("testsuites", name="preflight")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
