"""The filter stage: what the rules found, less what the user said to ignore.

Per-file ignores from the configuration, suppression markers (PF002 for those that suppress
nothing, PF003 for malformed ones), duplicates, and the baseline. Pure functions of the
findings and the files' texts; the engine calls them in this order.

A finding is suppressed by a marker that covers its own line or any of its related locations
(a cross-file finding can be silenced where either half of the mistake is written). In YAML a
marker on a key's line covers the key's value, one on a list item's line the item, and a
Kubernetes object's ``preflight.dev/ignore`` annotation the object (``parse.yamllayout``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from preflight.discover import Excluder, FileKind, classify
from preflight.findings import Finding, RuleContext, RuleInfo, Severity, matches
from preflight.parse.yamllayout import IgnoreAnnotation, YamlLayout, yaml_layout
from preflight.result import Suppressed
from preflight.spans import Span
from preflight.suppressions import Suppression, find_suppressions, parse_annotation


@dataclass(frozen=True, slots=True)
class Filtered:
    findings: list[Finding]
    suppressed: list[Suppressed]  # what a marker, an annotation or per-file-ignores hid


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
    """The suppression markers of each (path, text, comment syntax) that may hold them."""
    out: dict[str, list[Suppression]] = {}
    for path, text, syntax in files:
        if syntax is None or path.endswith(".json") or "preflight" not in text:
            continue  # a JSON file (docker-bake.json) has no comments
        found = find_suppressions(path, text, syntax)
        if syntax == "yaml":
            layout = yaml_layout(path, text)
            if layout is not None:
                found = _in_yaml(found, layout, path)
        if found:
            out[path] = found
    return out


def _in_yaml(found: list[Suppression], layout: YamlLayout, path: str) -> list[Suppression]:
    """The markers of a YAML file that are comments (not text in a scalar), each covering
    what starts on the line it targets; and its objects' ignore annotations."""
    out: list[Suppression] = []
    for suppression in found:
        if not layout.is_comment(suppression.span.line, suppression.span.col):
            continue
        if suppression.scope == "line" and suppression.malformed is None:
            target = suppression.lines.start
            covered = layout.covered_from(target)
            suppression.lines = range(
                min(covered.start, target), max(covered.stop, suppression.lines.stop)
            )
        out.append(suppression)
    out.extend(_annotation(annotation, path) for annotation in layout.annotations)
    return out


def _annotation(annotation: IgnoreAnnotation, path: str) -> Suppression:
    value = annotation.value
    parsed = parse_annotation(value.as_str() or "") if value.is_scalar else None
    if parsed is None or parsed.malformed is not None:
        return Suppression(
            value.span,
            (),
            range(0),
            malformed=parsed.malformed if parsed else "the annotation's value is not a string",
            fix=parsed.fix if parsed else 'Write `preflight.dev/ignore: "PRB001,ENV004"`.',
            scope="annotation",
        )
    return Suppression(
        value.span, parsed.codes, annotation.covers, reason=parsed.reason, scope="annotation"
    )


def apply(
    raw: Iterable[Finding],
    suppressions: dict[str, list[Suppression]],
    per_file_ignores: Mapping[str, Sequence[str]],
    enabled: set[str],
    known: Mapping[str, RuleInfo],
    enabled_in: Callable[[str], Collection[str]] | None = None,
) -> Filtered:
    """Findings that survive per-file ignores and suppressions, with PF002 for the markers
    that suppressed nothing and PF003 for malformed ones (when those rules are enabled).
    ``enabled_in(path)``: the codes enabled in that file, when configurations differ between
    files."""
    kept: list[Finding] = []
    hidden: list[Suppressed] = []
    for finding in dedupe(raw):
        if _per_file_ignored(finding, per_file_ignores):
            hidden.append(Suppressed(finding, "config", None, None))
            continue
        by = _suppressed_by(finding, suppressions)
        if by is not None:
            kind = "comment" if by.scope != "annotation" else "annotation"
            hidden.append(Suppressed(finding, kind, by.span, by.reason))
        else:
            kept.append(finding)
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
    hidden: list[Suppressed] = []
    for finding in raw:
        rules = rules_for(scopes, finding.span.path)
        if finding.code not in rules.enabled:
            continue
        if rules.ignores(finding):
            hidden.append(Suppressed(finding, "config", None, None))
            continue
        severity = rules.severity_of(finding)
        kept.append(
            finding if severity is finding.severity else replace(finding, severity=severity)
        )
    return Filtered(kept, hidden)


def _suppressed_by(
    finding: Finding, suppressions: dict[str, list[Suppression]]
) -> Suppression | None:
    """The marker that hides ``finding``: one covering its line, or a related location."""
    for span in (finding.span, *(related.span for related in finding.related)):
        for suppression in suppressions.get(span.path, ()):
            if span.line not in suppression.lines:
                continue
            if suppression.codes is None or finding.code in suppression.codes:
                suppression.used.add(finding.code)
                return suppression
    return None


def _what(suppression: Suppression) -> str:
    if suppression.scope == "annotation":
        return "this `preflight.dev/ignore` annotation"
    if suppression.scope == "file":
        return "this `ignore-file` suppression"
    return "this suppression"


def _remove(suppression: Suppression) -> str:
    if suppression.scope == "annotation":
        return "Remove the annotation (or the code) so real findings in this object stay seen."
    if suppression.scope == "file":
        return (
            "Remove the comment (or the code) so real findings in this file are not hidden later."
        )
    return "Remove the comment (or the code) so real findings on this line are not hidden later."


def _unused(
    suppressions: dict[str, list[Suppression]],
    enabled_in: Callable[[str], Collection[str]],
    known: Mapping[str, RuleInfo],
) -> list[Finding]:
    out: list[Finding] = []
    for path, items in suppressions.items():
        enabled = enabled_in(path)
        pf002 = RuleContext.of(known["PF002"]) if "PF002" in enabled and "PF002" in known else None
        pf003 = RuleContext.of(known["PF003"]) if "PF003" in enabled and "PF003" in known else None
        for suppression in items:
            span = suppression.span
            if suppression.malformed is not None:
                if pf003 is not None:
                    message = f"malformed suppression ({suppression.malformed}): it hides nothing."
                    out.append(pf003.report(message, span, fix=suppression.fix))
                continue
            if pf002 is None:
                continue
            fix = _remove(suppression)
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
                    message = f"{_what(suppression)} of {code} suppresses nothing."
                    out.append(pf002.report(message, span, fix=fix))
    return out
