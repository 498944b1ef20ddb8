"""The filter stage: what the rules found, less what the user said to ignore.

Per-file ignores from the configuration, ``# preflight: ignore`` comments (and PF002 for those
that are malformed or suppress nothing), duplicates, and the baseline. Pure functions of the
findings and the files' texts; the engine calls them in this order.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from preflight.findings import Finding, RuleContext, RuleInfo, matches
from preflight.spans import Span
from preflight.suppressions import Suppression, find_suppressions


@dataclass(frozen=True, slots=True)
class Filtered:
    findings: list[Finding]
    suppressed: int  # how many findings a comment or per-file-ignores hid


def dedupe(findings: Iterable[Finding]) -> list[Finding]:
    seen: set[tuple[str, Span, str]] = set()
    out = []
    for finding in findings:
        key = (finding.code, finding.span, finding.message)
        if key not in seen:
            seen.add(key)
            out.append(finding)
    return out


def suppressions_in(
    files: Iterable[tuple[str, str, str | None]],
) -> dict[str, list[Suppression]]:
    """The suppression comments of each (path, text, comment syntax) that may hold them."""
    out: dict[str, list[Suppression]] = {}
    for path, text, syntax in files:
        if syntax is None:
            continue
        found = find_suppressions(path, text, syntax == "dockerfile", syntax == "python")
        if found:
            out[path] = found
    return out


def apply(
    raw: Iterable[Finding],
    suppressions: dict[str, list[Suppression]],
    per_file_ignores: Mapping[str, Sequence[str]],
    enabled: set[str],
    known: Mapping[str, RuleInfo],
) -> Filtered:
    """Findings that survive per-file ignores and suppressions, with PF002 for the comments
    that suppressed nothing or are malformed (when PF002 is enabled)."""
    kept: list[Finding] = []
    hidden = 0
    for finding in dedupe(raw):
        if _per_file_ignored(finding, per_file_ignores) or _suppressed(finding, suppressions):
            hidden += 1
        else:
            kept.append(finding)
    if "PF002" in enabled and "PF002" in known:
        kept.extend(_unused(suppressions, enabled, known))
    return Filtered(kept, hidden)


def against_baseline(
    findings: list[Finding], known: Mapping[str, object]
) -> tuple[list[Finding], set[str]]:
    """The findings a baseline does not record, and every fingerprint seen (to count fixes)."""
    seen = {finding.fingerprint for finding in findings}
    return [f for f in findings if f.fingerprint not in known], seen


def _per_file_ignored(finding: Finding, per_file_ignores: Mapping[str, Sequence[str]]) -> bool:
    for pattern, codes in per_file_ignores.items():
        if fnmatch.fnmatch(finding.span.path, pattern) and any(
            matches(finding.code, code) for code in codes
        ):
            return True
    return False


def _suppressed(finding: Finding, suppressions: dict[str, list[Suppression]]) -> bool:
    for suppression in suppressions.get(finding.span.path, ()):
        if finding.span.line not in suppression.lines:
            continue
        if suppression.codes is None or finding.code in suppression.codes:
            suppression.used.add(finding.code)
            return True
    return False


def _unused(
    suppressions: dict[str, list[Suppression]], enabled: set[str], known: Mapping[str, RuleInfo]
) -> list[Finding]:
    pf002 = RuleContext.of(known["PF002"])
    fix = "Remove the comment (or the code) so real findings on this line are not hidden later."
    out: list[Finding] = []
    for items in suppressions.values():
        for suppression in items:
            span = suppression.span
            if suppression.malformed is not None:
                out.append(pf002.report(suppression.malformed + ".", span, fix=fix))
                continue
            if suppression.codes is None:
                if not suppression.used:
                    message = "this `# preflight: ignore` suppresses nothing."
                    out.append(pf002.report(message, span, fix=fix))
                continue
            for code in suppression.codes:
                if code not in known:
                    message = f"`{code}` is not a preflight rule code."
                    out.append(pf002.report(message, span, fix=fix))
                elif code in enabled and code not in suppression.used:
                    message = f"this suppression of {code} suppresses nothing."
                    out.append(pf002.report(message, span, fix=fix))
    return out
