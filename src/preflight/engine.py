"""One way through: discover → parse/link → rules → filter → a Result the reporters format."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from preflight.checks import RULES, matches
from preflight.config import Config
from preflight.findings import Finding, Rule, RuleContext, Severity
from preflight.model.project import Project
from preflight.redact import clean_finding, clean_text, redact_source, shorten
from preflight.spans import Span
from preflight.suppressions import Suppression, find_suppressions

_COMMENTED_KINDS = frozenset(
    {
        "pyproject",
        "requirements",
        "dockerfile",
        "compose",
        "yaml",
        "env-example",
        "python",
        "gunicorn-config",
        "procfile",
        "shell",
        "preflight-config",
    }
)


@dataclass(slots=True)
class Result:
    root: str  # as given on the command line
    findings: list[Finding]
    sources: dict[str, list[str]]  # lines of the files findings point into (for the reporter)
    notes: list[str] = field(default_factory=list)  # --verbose: skipped files, silent rules
    files_checked: int = 0
    internal_errors: list[str] = field(default_factory=list)


def enabled_rules(
    config: Config, select: Sequence[str] | None, ignore: Sequence[str]
) -> list[Rule]:
    selectors = tuple(select) if select else (config.select or ("ALL",))
    ignored = (*config.ignore, *ignore)
    return [
        rule
        for rule in RULES
        if any(matches(rule.code, s) for s in selectors)
        and not any(matches(rule.code, s) for s in ignored)
    ]


def run(
    root: Path,
    display_root: str,
    config: Config,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] = (),
    workers: int = 1,
    use_cache: bool = False,
) -> Result:
    from preflight.discover import discover
    from preflight.model.link import build_project

    inventory = discover(root, exclude=config.exclude, max_file_size=config.max_file_size)
    cache = None
    if use_cache:
        from preflight.cache import ParseCache

        cache = ParseCache(root)
    project = build_project(inventory, display_root, workers, cache)
    if cache is not None:
        cache.save()
    project.config["database-platform"] = config.database_platform
    project.config["external-secrets"] = config.external_secrets
    rules = enabled_rules(config, select, ignore)
    raw: list[Finding] = []
    notes = list(project.notes)
    if cache is not None and cache.note:
        notes.append(cache.note)
    internal: list[str] = []
    for rule in rules:
        ctx = RuleContext.of(rule, config.rule_options(rule.code))
        try:
            raw.extend(rule.check(project, ctx))
        except Exception as exc:  # a bug in a rule must not hide the other rules' findings
            internal.append(f"rule {rule.code} failed: {type(exc).__name__}: {exc}")
        for span, why in ctx.silences:
            notes.append(f"{rule.code} silent{f' at {span}' if span else ''}: {why}")
    enabled_codes = {rule.code for rule in rules}
    suppressions: dict[str, list[Suppression]] = {}
    for source in inventory.files:
        if source.kind.value in _COMMENTED_KINDS:
            kind = source.kind.value
            found = find_suppressions(
                source.path,
                source.text,
                kind == "dockerfile",
                kind in ("python", "gunicorn-config"),
            )
            if found:
                suppressions[source.path] = found
    findings = [
        finding
        for finding in _dedupe(raw)
        if not _per_file_ignored(finding, config) and not _suppressed(finding, suppressions)
    ]
    if "PF002" in enabled_codes:
        findings.extend(_unused(suppressions, enabled_codes))
    findings.sort(key=Finding.sort_key)
    # The one place redaction happens: every message, fix, related note, note, internal error
    # and source line a reporter (or the baseline) may print passes through preflight.redact.
    findings = [clean_finding(finding) for finding in findings]
    notes = [clean_text(note) for note in notes]
    internal = [clean_text(message) for message in internal]
    texts = {source.path: source.text for source in inventory.files}
    secret_lines = _secret_lines(project)
    wanted: dict[str, set[int]] = {}
    for finding in findings:
        wanted.setdefault(finding.span.path, set()).add(finding.span.line)
        for related in finding.related:
            wanted.setdefault(related.span.path, set()).add(related.span.line)
    split = {path: texts[path].split("\n") for path in wanted if path in texts}
    # Fingerprints hash the line a finding points at: hash it redacted too, so a weak password
    # cannot be recovered from a baseline or SARIF file by guessing.
    hashed = {
        path: redact_source(lines, wanted[path], secret_lines.get(path, set()))
        for path, lines in split.items()
    }
    sources = {path: [shorten(line) for line in lines] for path, lines in hashed.items()}
    from preflight.baseline import fingerprint_all

    findings = fingerprint_all(findings, hashed)
    return Result(display_root, findings, sources, notes, len(inventory.files), internal)


def _secret_lines(project: Project) -> dict[str, set[int]]:
    """Lines the parser knows hold a Secret's value, by path: shown without it."""
    out: dict[str, set[int]] = {}
    for manifest in project.manifests.values():
        for secret in manifest.secrets:
            for value in secret.keys.values():
                out.setdefault(value.span.path, set()).add(value.span.line)
    return out


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, Span, str]] = set()
    out = []
    for finding in findings:
        key = (finding.code, finding.span, finding.message)
        if key not in seen:
            seen.add(key)
            out.append(finding)
    return out


def _per_file_ignored(finding: Finding, config: Config) -> bool:
    for pattern, codes in config.per_file_ignores.items():
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


def _unused(suppressions: dict[str, list[Suppression]], enabled: set[str]) -> list[Finding]:
    from preflight.checks import BY_CODE

    out: list[Finding] = []
    for items in suppressions.values():
        for suppression in items:
            if suppression.malformed is not None:
                out.append(_pf002(suppression.span, suppression.malformed))
                continue
            if suppression.codes is None:
                if not suppression.used:
                    out.append(
                        _pf002(suppression.span, "this `# preflight: ignore` suppresses nothing")
                    )
                continue
            for code in suppression.codes:
                if code not in BY_CODE:
                    out.append(_pf002(suppression.span, f"`{code}` is not a preflight rule code"))
                elif code in enabled and code not in suppression.used:
                    out.append(
                        _pf002(suppression.span, f"this suppression of {code} suppresses nothing")
                    )
    return out


def _pf002(span: Span, message: str) -> Finding:
    return Finding(
        "PF002",
        Severity.WARNING,
        message + ".",
        span,
        fix="Remove the comment (or the code) so real findings on this line are not hidden later.",
    )
