"""One way through: discover → parse/link → rules → filter → a Result the reporters format."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from preflight import filter as filtering
from preflight.checks import BY_CODE, RULES
from preflight.checks.rule import Rule
from preflight.config import Config
from preflight.discover import KINDS
from preflight.findings import Finding, RuleContext, matches
from preflight.model.project import Project
from preflight.redact import clean_finding, clean_text, redact_source, shorten
from preflight.result import Result

if TYPE_CHECKING:
    from preflight.discover import Inventory
    from preflight.model.graph import Deployment

__all__ = ["Built", "Result", "build", "enabled_rules", "run"]


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


@dataclass(slots=True)
class Built:
    """A repository read as a deploy would see it: its files, and the graph joining them."""

    inventory: Inventory
    graph: Deployment
    notes: list[str]  # --verbose: skipped files, weak links, the cache


def _quiet(stage: str) -> None:
    """No progress to report to."""


def build(
    root: Path,
    display_root: str,
    config: Config,
    workers: int = 1,
    use_cache: bool = False,
    progress: Callable[[str], None] = _quiet,
) -> Built:
    """discover → parse → link → graph, once (``run`` then applies the rules). ``progress`` is
    told each stage as it starts (the command line shows it on a terminal)."""
    from preflight.discover import discover
    from preflight.model.graph import ProjectConfig, build_graph
    from preflight.model.link import build_project

    progress("reading files")
    inventory = discover(root, exclude=config.exclude, max_file_size=config.max_file_size)
    progress(f"parsing and linking {len(inventory.files):,} files")
    cache = None
    if use_cache:
        from preflight.cache import ParseCache

        cache = ParseCache(root)
    project = build_project(inventory, display_root, workers, cache)
    if cache is not None:
        cache.save()
    progress("building the deployment graph")
    graph = build_graph(
        project, ProjectConfig(config.database_platform, tuple(config.external_secrets))
    )
    notes = list(project.notes)
    if cache is not None and cache.note:
        notes.append(cache.note)
    return Built(inventory, graph, notes)


def run(
    root: Path,
    display_root: str,
    config: Config,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] = (),
    workers: int = 1,
    use_cache: bool = False,
    *,
    progress: Callable[[str], None] = _quiet,
) -> Result:
    built = build(root, display_root, config, workers, use_cache, progress)
    inventory, graph, project = built.inventory, built.graph, built.graph.files
    rules = enabled_rules(config, select, ignore)
    progress(f"running {len(rules)} rules")
    raw: list[Finding] = []
    notes = built.notes
    internal: list[str] = []
    for rule in rules:
        ctx = RuleContext.of(rule, config.rule_options(rule.code))
        try:
            raw.extend(rule.check(graph, ctx))
        except Exception as exc:  # a bug in a rule must not hide the other rules' findings
            internal.append(f"rule {rule.code} failed: {type(exc).__name__}: {exc}")
        for span, why in ctx.silences:
            notes.append(f"{rule.code} silent{f' at {span}' if span else ''}: {why}")
    enabled_codes = {rule.code for rule in rules}
    progress("applying suppressions")
    suppressions = filtering.suppressions_in(
        (source.path, source.text, KINDS[source.kind].comments) for source in inventory.files
    )
    filtered = filtering.apply(raw, suppressions, config.per_file_ignores, enabled_codes, BY_CODE)
    findings = filtered.findings
    findings.sort(key=Finding.sort_key)
    # The one place redaction happens: every message, fix, related note, note, internal error,
    # suppression reason and source line a reporter (or the baseline) may print passes
    # through preflight.redact.
    findings = [clean_finding(finding) for finding in findings]
    hidden = sorted(filtered.suppressed, key=lambda s: s.finding.sort_key())
    hidden = [
        replace(
            item,
            finding=clean_finding(item.finding),
            reason=clean_text(item.reason) if item.reason is not None else None,
        )
        for item in hidden
    ]
    notes = [clean_text(note) for note in notes]
    internal = [clean_text(message) for message in internal]
    texts = {source.path: source.text for source in inventory.files}
    secret_lines = _secret_lines(project)
    wanted: dict[str, set[int]] = {}
    for finding in (*findings, *(item.finding for item in hidden)):
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
    printed = fingerprint_all([item.finding for item in hidden], hashed)
    hidden = [replace(item, finding=finding) for item, finding in zip(hidden, printed, strict=True)]
    return Result(
        display_root,
        findings,
        sources,
        notes,
        len(inventory.files),
        internal,
        rules=RULES,
        suppressed=len(hidden),
        suppressions=hidden,
    )


def _secret_lines(project: Project) -> dict[str, set[int]]:
    """Lines the parser knows hold a Secret's value, by path: shown without it."""
    out: dict[str, set[int]] = {}
    for manifest in project.manifests.values():
        for secret in manifest.secrets:
            for value in secret.keys.values():
                out.setdefault(value.span.path, set()).add(value.span.line)
    return out
