"""The filter stage: what the rules found, less what the user said to ignore.

Per-file ignores from the configuration, ``# preflight: ignore`` comments (and PF002 for those
that are malformed or suppress nothing), duplicates, and the baseline. Pure functions of the
findings and the files' texts; the engine calls them in this order.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from preflight.discover import Excluder, FileKind, classify
from preflight.findings import Finding, RuleContext, RuleInfo, Severity, matches
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
    enabled_in: Callable[[str], Collection[str]] | None = None,
) -> Filtered:
    """Findings that survive per-file ignores and suppressions, with PF002 for the comments
    that suppressed nothing or are malformed (when PF002 is enabled). ``enabled_in(path)``:
    the codes enabled in that file, when configurations differ between files."""
    kept: list[Finding] = []
    hidden = 0
    for finding in dedupe(raw):
        if _per_file_ignored(finding, per_file_ignores) or _suppressed(finding, suppressions):
            hidden += 1
        else:
            kept.append(finding)
    if "PF002" in enabled and "PF002" in known:
        kept.extend(_unused(suppressions, enabled_in or (lambda _: enabled), known))
    return Filtered(kept, hidden)


def against_baseline(
    findings: list[Finding], known: Mapping[str, object]
) -> tuple[list[Finding], set[str]]:
    """The findings a baseline does not record, and every fingerprint seen (to count fixes)."""
    seen = {finding.fingerprint for finding in findings}
    return [f for f in findings if f.fingerprint not in known], seen


def _per_file_ignored(finding: Finding, per_file_ignores: Mapping[str, Sequence[str]]) -> bool:
    for pattern, codes in per_file_ignores.items():
        if Excluder((pattern,))(finding.span.path) and any(
            matches(finding.code, code) for code in codes
        ):
            return True
    return False


# --- The command line's paths, and configurations that differ between directories -------------


# Files that describe their whole directory: what a project installs and how preflight is
# configured there. A change to one can raise a finding anywhere below it (dropping `gunicorn`
# from the dependencies is a finding on the Dockerfile's CMD), so naming one names its directory.
_DESCRIBE_THEIR_DIRECTORY = frozenset(
    {FileKind.PYPROJECT, FileKind.PREFLIGHT_CONFIG, FileKind.REQUIREMENTS, FileKind.LOCK}
)


def _stands_for(path: str) -> str:
    if classify(path) not in _DESCRIBE_THEIR_DIRECTORY:
        return path
    directory = path.rpartition("/")[0]
    if directory.rpartition("/")[2] == "requirements":  # requirements/base.txt: the project's
        directory = directory.rpartition("/")[0]
    return directory


def in_named(findings: Iterable[Finding], named: Collection[str]) -> list[Finding]:
    """The findings located in, or with a related location in, a path the user named (a file,
    or a directory and everything below it); all of them when no path inside the root was
    named (the root itself). A pyproject.toml, preflight.toml, requirements or lock file
    stands for its directory."""
    widened = {_stands_for(path) for path in named}
    if not named or any(path in ("", ".") for path in widened):
        return list(findings)
    files = frozenset(widened)
    directories = tuple(f"{path}/" for path in widened)

    def inside(path: str) -> bool:
        return path in files or path.startswith(directories)

    return [
        finding
        for finding in findings
        if inside(finding.span.path) or any(inside(r.span.path) for r in finding.related)
    ]


@dataclass(frozen=True, slots=True)
class FileRules:
    """What one configuration says about the findings located in the files it governs: the
    root's configuration (``directory`` "") or a nested one (its directory, root-relative).
    Patterns are relative to the configuration's directory; ``base`` is the root's path
    relative to it when the configuration sits above the root."""

    directory: str
    enabled: frozenset[str]
    per_file_ignores: Mapping[str, Sequence[str]]
    severity: Mapping[str, Severity]
    base: str = ""
    _patterns: tuple[tuple[Excluder, Sequence[str]], ...] = field(
        init=False, default=(), compare=False, repr=False
    )

    def __post_init__(self) -> None:
        compiled = tuple(
            (Excluder((pattern,), self.base), codes)
            for pattern, codes in self.per_file_ignores.items()
        )
        object.__setattr__(self, "_patterns", compiled)

    def ignores(self, finding: Finding) -> bool:
        path = finding.span.path
        if self.directory:
            path = path[len(self.directory) + 1 :]
        return any(
            any(matches(finding.code, code) for code in codes) and pattern(path)
            for pattern, codes in self._patterns
        )

    def severity_of(self, finding: Finding) -> Severity:
        chosen = [s for s in self.severity if matches(finding.code, s)]
        if not chosen:
            return finding.severity
        # the most specific selector wins: PKG001 over PKG over ALL
        best = max(chosen, key=lambda s: -1 if s == "ALL" else len(s))
        return self.severity[best]


def rules_for(scopes: Sequence[FileRules], path: str) -> FileRules:
    """The configuration that governs ``path``: the deepest one whose directory holds it
    (``scopes[0]`` is the root's)."""
    best = scopes[0]
    for scope in scopes[1:]:
        if path.startswith(scope.directory + "/") and len(scope.directory) > len(best.directory):
            best = scope
    return best


def by_configuration(raw: Iterable[Finding], scopes: Sequence[FileRules]) -> Filtered:
    """Each finding as its file's configuration has it: dropped when that configuration does
    not select its rule, hidden by its per-file-ignores (counted as suppressed), with the
    severity it sets."""
    kept: list[Finding] = []
    hidden = 0
    for finding in raw:
        rules = rules_for(scopes, finding.span.path)
        if finding.code not in rules.enabled:
            continue
        if rules.ignores(finding):
            hidden += 1
            continue
        severity = rules.severity_of(finding)
        kept.append(
            finding if severity is finding.severity else replace(finding, severity=severity)
        )
    return Filtered(kept, hidden)


def _suppressed(finding: Finding, suppressions: dict[str, list[Suppression]]) -> bool:
    for suppression in suppressions.get(finding.span.path, ()):
        if finding.span.line not in suppression.lines:
            continue
        if suppression.codes is None or finding.code in suppression.codes:
            suppression.used.add(finding.code)
            return True
    return False


def _unused(
    suppressions: dict[str, list[Suppression]],
    enabled_in: Callable[[str], Collection[str]],
    known: Mapping[str, RuleInfo],
) -> list[Finding]:
    pf002 = RuleContext.of(known["PF002"])
    fix = "Remove the comment (or the code) so real findings on this line are not hidden later."
    out: list[Finding] = []
    for path, items in suppressions.items():
        enabled = enabled_in(path)
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
