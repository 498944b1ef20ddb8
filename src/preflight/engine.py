"""One way through: discover → parse/link → rules → filter → a Result the reporters format."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from preflight.config import Config, Located
from preflight.findings import Finding, RuleContext, matches
from preflight.result import Result

# The rules, the model and the filter are imported where they are used: a run whose record
# says nothing changed (preflight.runcache) needs none of them.
if TYPE_CHECKING:
    from preflight import filter as filtering
    from preflight.checks.rule import Rule
    from preflight.discover import Excluder, Inventory
    from preflight.model.graph import Deployment
    from preflight.model.project import Project

__all__ = ["Built", "Options", "Result", "build", "enabled_rules", "run"]


def enabled_rules(
    config: Config,
    select: Sequence[str] | None,
    ignore: Sequence[str],
    extend_select: Sequence[str] = (),
) -> list[Rule]:
    from preflight.checks import RULES

    """The rules ``config`` enables, with the command line's selection: ``--select`` replaces
    the configuration's select and extend-select (as ruff's does), ``--extend-select`` and
    ``--ignore`` add to them."""
    if select:
        selectors = (*select, *extend_select)
    else:
        selectors = (*(config.select or ("ALL",)), *config.extend_select, *extend_select)
    ignored = (*config.ignore, *ignore)
    return [
        rule
        for rule in RULES
        if any(matches(rule.code, s) for s in selectors)
        and not any(matches(rule.code, s) for s in ignored)
    ]


@dataclass(frozen=True, slots=True)
class Options:
    """What the command line says beyond the configuration, and where the configuration sits.

    ``named`` are the root-relative paths the user named (empty: the whole root): the model is
    always the whole root's, and only findings located in (or related to) a named path are
    reported. A named path is read even when excluded or ignored by git, unless
    ``force_exclude``. ``config_base`` is the root's path relative to the directory of a
    configuration found above the root; ``nested`` is False when one configuration governs
    every file (``--config FILE``).
    """

    named: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    exclude: tuple[str, ...] | None = None  # --exclude: replaces the configuration's exclude
    extend_exclude: tuple[str, ...] = ()
    respect_gitignore: bool | None = None  # None: the configuration's
    force_exclude: bool = False
    config_base: str = ""
    nested: bool = True


@dataclass(slots=True)
class Built:
    """A repository read as a deploy would see it: its files, and the graph joining them."""

    inventory: Inventory
    graph: Deployment
    notes: list[str]  # --verbose: skipped files, weak links, the cache
    nested: list[Located] = field(default_factory=list)  # configurations below the root


def _quiet(stage: str) -> None:
    """No progress to report to."""


def build(
    root: Path,
    display_root: str,
    config: Config,
    workers: int = 1,
    use_cache: bool = False,
    options: Options = Options(),
    progress: Callable[[str], None] = _quiet,
    walked: Inventory | None = None,
    overlay: Mapping[str, bytes] | None = None,
) -> Built:
    """discover → parse → link → graph, once (``run`` then applies the rules). ``progress`` is
    told each stage as it starts (the command line shows it on a terminal). ``walked``: the
    root's walk, already made (``walk``), not read yet."""
    from preflight.config import nested_configs
    from preflight.discover import FileKind, read_files
    from preflight.model.graph import ProjectConfig, build_graph
    from preflight.model.link import build_project
    from preflight.parse import ParseProblem
    from preflight.spans import Span

    progress("reading files")
    inventory = walk(root, config, options) if walked is None else walked
    read_files(inventory, digest=use_cache, overlay=overlay)  # digests: for a run record
    notes: list[str] = []
    nested: list[Located] = []
    invalid: list[tuple[str, int, str]] = []
    if options.nested:
        configs = inventory.of_kind(FileKind.PYPROJECT, FileKind.PREFLIGHT_CONFIG)
        nested = nested_configs(((f.path, f.text) for f in configs), notes, invalid)
        _exclude_nested(inventory, nested, () if options.force_exclude else options.named)
    for path in options.named:
        if path not in ("", ".") and inventory.get(path) is None and not _holds(inventory, path):
            notes.append(
                f"{path}: named on the command line, but not read (not a kind of file "
                "preflight reads, or skipped)"
            )
    progress(f"parsing and linking {len(inventory.files):,} files")
    cache = None
    if use_cache:
        from preflight.cache import ParseCache

        cache = ParseCache(root)
    project = build_project(inventory, display_root, workers, cache)
    if cache is not None:
        cache.save()
    for path, line, why in invalid:  # PF001: there, but saying nothing preflight can use
        message = f"configuration not applied: {why}"
        fix = "Fix it; until then the files below it follow the configuration above it."
        project.problems.append(ParseProblem(Span(path, line), message, fix))
    progress("building the deployment graph")
    graph = build_graph(
        project, ProjectConfig(config.database_platform, tuple(config.external_secrets))
    )
    notes[:0] = project.notes
    if cache is not None and cache.note:
        notes.append(cache.note)
    return Built(inventory, graph, notes, nested)


def walk(root: Path, config: Config, options: Options) -> Inventory:
    """The files of ``root`` preflight would read, chosen and stat'ed, not read."""
    from preflight.discover import discover

    respect = (
        config.respect_gitignore if options.respect_gitignore is None else options.respect_gitignore
    )
    return discover(
        root,
        max_file_size=config.max_file_size,
        excluders=excluders(config, options),
        respect_gitignore=respect,
        named=() if options.force_exclude else options.named,
        read=False,
    )


def excluders(config: Config, options: Options) -> list[Excluder]:
    """The root's exclude patterns: the configuration's (relative to its directory) and the
    command line's (relative to the root); ``--exclude`` replaces the configuration's exclude,
    ``--extend-exclude`` adds to it."""
    from preflight.discover import Excluder

    own = config.exclude if options.exclude is None else ()
    out = [Excluder((*own, *config.extend_exclude), options.config_base)]
    if options.exclude or options.extend_exclude:
        out.append(Excluder((*(options.exclude or ()), *options.extend_exclude)))
    return out


def _holds(inventory: Inventory, directory: str) -> bool:
    prefix = f"{directory}/"
    return any(source.path.startswith(prefix) for source in inventory.files)


def _exclude_nested(inventory: Inventory, nested: Sequence[Located], named: Sequence[str]) -> None:
    """Leave out what a nested configuration's exclude/extend-exclude names below it (before
    anything is parsed: an excluded file is not part of the model)."""
    from preflight.discover import Excluder

    rules = [
        (scope.directory, Excluder((*scope.config.exclude, *scope.config.extend_exclude)))
        for scope in nested
        if scope.config.exclude or scope.config.extend_exclude
    ]
    if not rules:
        return
    named_paths = [path for path in named if path not in ("", ".")]

    def excluded(path: str) -> bool:
        if path in named_paths:
            return False
        for directory, rule in rules:
            if not path.startswith(directory + "/"):
                continue
            inner = path[len(directory) + 1 :]
            # the parts of a named directory (and above it) are never tested
            first = max(
                (n.count("/") + 1 - directory.count("/") - 1 for n in named_paths
                 if path.startswith(n + "/") and len(n) > len(directory)),
                default=0,
            )  # fmt: skip
            if rule(inner, first):
                return True
        return False

    inventory.files = [source for source in inventory.files if not excluded(source.path)]
    inventory.all_paths = {path for path in inventory.all_paths if not excluded(path)}


def scope_rules(
    config: Config,
    nested: Sequence[Located],
    select: Sequence[str] | None,
    ignore: Sequence[str],
    options: Options,
) -> list[filtering.FileRules]:
    """What each configuration says about the findings in its files (the root's first)."""
    from preflight import filter as filtering

    def of(located_config: Config, directory: str, base: str) -> filtering.FileRules:
        enabled = frozenset(
            rule.code
            for rule in enabled_rules(located_config, select, ignore, options.extend_select)
        )
        return filtering.FileRules(
            directory,
            enabled,
            located_config.per_file_ignores,
            located_config.severity,
            base,
        )

    return [
        of(config, "", options.config_base),
        *(of(scope.config, scope.directory, "") for scope in nested),
    ]


def deployable(inventory: Inventory) -> bool:
    """Whether the root holds anything that deploys — a Dockerfile, a compose file, a
    Kubernetes manifest or a Procfile — parsed or not (a malformed one is PF001, not absent)."""
    from preflight.discover import FileKind
    from preflight.parse.manifests import looks_like_manifest

    kinds = (FileKind.DOCKERFILE, FileKind.COMPOSE, FileKind.PROCFILE)
    return any(True for _ in inventory.of_kind(*kinds)) or any(
        looks_like_manifest(source.text)
        for source in inventory.of_kind(FileKind.YAML, FileKind.KUSTOMIZATION)
    )


_MARKER_CODES = frozenset({"PF002", "PF003"})


def run(
    root: Path,
    display_root: str,
    config: Config,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] = (),
    workers: int = 1,
    use_cache: bool = False,
    options: Options = Options(),
    *,
    progress: Callable[[str], None] = _quiet,
    overlay: Mapping[str, bytes] | None = None,
) -> Result:
    """Check ``root``. ``overlay``: files read from there instead of the disk (path → bytes;
    what ``--diff`` has changed in earlier passes, never written)."""
    import time

    walked_ns = time.time_ns()
    walked = walk(root, config, options)
    record = None
    if use_cache and overlay is None:  # a run over an unchanged tree reports the last run's result
        from preflight.runcache import RunRecord

        key = (display_root, config, None if select is None else tuple(select), tuple(ignore))
        record = RunRecord(root, (*key, options))
        cached = record.lookup(walked, walked_ns)
        if cached is not None:
            cached.notes.append(record.note or "")
            return cached
    from preflight import filter as filtering
    from preflight.checks import BY_CODE, RULES
    from preflight.discover import KINDS
    from preflight.redact import clean_finding, clean_text, redact_source, shorten

    built = build(
        root, display_root, config, workers, use_cache, options, progress, walked, overlay
    )
    inventory, graph, project = built.inventory, built.graph, built.graph.files
    scopes = scope_rules(config, built.nested, select, ignore, options)
    enabled_codes = set().union(*(scope.enabled for scope in scopes))
    rules = [rule for rule in RULES if rule.code in enabled_codes]
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
    progress("applying suppressions")
    suppressions = filtering.suppressions_in(
        (source.path, source.text, KINDS[source.kind].comments) for source in inventory.files
    )
    # Only what the named paths hold (or point to), each finding as its file's configuration
    # has it, then the suppression comments (and PF002 for those that suppress nothing).
    named = filtering.in_named(raw, options.named)
    configured = filtering.by_configuration(named, scopes)
    filtered = filtering.apply(
        configured.findings,
        suppressions,
        {},
        enabled_codes,
        BY_CODE,
        lambda path: filtering.rules_for(scopes, path).enabled,
    )
    # PF002/PF003 (markers that suppress nothing, or are malformed) are made here: they too are
    # reported for the named paths only, as their file's configuration has them.
    findings = [f for f in filtered.findings if f.code not in _MARKER_CODES]
    unused = filtering.by_configuration(
        filtering.in_named(
            (f for f in filtered.findings if f.code in _MARKER_CODES), options.named
        ),
        scopes,
    )
    findings.extend(unused.findings)
    findings.sort(key=Finding.sort_key)
    # The one place redaction happens: every message, fix, related note, note, internal error,
    # suppression reason and source line a reporter (or the baseline) may print passes
    # through preflight.redact.
    findings = [clean_finding(finding) for finding in findings]
    hidden = sorted(
        [*configured.suppressed, *filtered.suppressed, *unused.suppressed],
        key=lambda s: s.finding.sort_key(),
    )
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
    if any(f.autofix is not None for f in (*findings, *(item.finding for item in hidden))):
        from preflight.fix import resolve

        findings = [resolve(finding, texts) for finding in findings]
        hidden = [replace(item, finding=resolve(item.finding, texts)) for item in hidden]
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
    result = Result(
        display_root,
        findings,
        sources,
        notes,
        len(inventory.files),
        internal,
        rules=RULES,
        suppressed=len(hidden),
        suppressions=hidden,
        deployable=deployable(inventory),
    )
    if record is not None:
        record.store(inventory, result, walked_ns)
    return result


def _secret_lines(project: Project) -> dict[str, set[int]]:
    """Lines the parser knows hold a Secret's value, by path: shown without it."""
    out: dict[str, set[int]] = {}
    for manifest in project.manifests.values():
        for secret in manifest.secrets:
            for value in secret.keys.values():
                out.setdefault(value.span.path, set()).add(value.span.line)
    return out
