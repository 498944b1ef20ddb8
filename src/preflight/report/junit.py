"""JUnit XML: one testcase per rule per file. A testcase fails only when the rule found
something there at or above the run's ``--fail-on`` (a CI system counts failures as the gate
does); findings below it are listed in the testcase's ``system-out``.

XML 1.0 cannot hold most control characters even as references: every text and attribute is
escaped first (``\\x1b``), so the document always parses."""

from __future__ import annotations

from collections import defaultdict
from xml.etree import ElementTree as ET

from preflight.findings import Finding, Severity
from preflight.redact import escape_control
from preflight.report import safe_path
from preflight.result import Result


def render(results: list[Result]) -> str:
    cases: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    gates: dict[tuple[str, str], Severity] = {}
    for result in results:
        for finding in result.findings:
            key = (finding.code, safe_path(result.root, finding.span.path))
            cases[key].append(finding)
            gates[key] = result.fail_on
    failing = {
        key
        for key, found in cases.items()
        if any(f.severity.rank >= gates[key].rank for f in found)
    }
    suite = ET.Element(
        "testsuite",
        name="preflight",
        tests=str(len(cases)),
        failures=str(len(failing)),
        errors="0",
    )
    for (code, path), findings in sorted(cases.items()):
        case = ET.SubElement(suite, "testcase", classname=path, name=f"{code} {findings[0].name}")
        lines = "\n".join(
            f"{path}:{f.span.line}:{f.span.col}: {f.code} {f.severity.value}: "
            f"{escape_control(f.message)}"
            for f in findings
        )
        if (code, path) in failing:
            worst = max(findings, key=lambda f: f.severity.rank)
            failure = ET.SubElement(
                case, "failure", type=worst.severity.value, message=escape_control(worst.title)
            )
            failure.text = lines
        else:
            ET.SubElement(case, "system-out").text = lines
    root = ET.Element("testsuites", name="preflight")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
