"""The command line: ``preflight check``, ``preflight rules``, ``preflight explain``.

Exit codes: 0 no failing findings, 1 failing findings, 2 usage/configuration/I-O error or an
internal error (always a one-line message on stderr, never a traceback), 130 interrupted
(Ctrl-C). When the reader of the report goes away (``preflight check | head -1``) preflight
stops writing and exits quietly with the code the run would have had.

Encodings: the text report (and ``explain``, ``rules``) is for people and goes out in the
terminal's encoding, with anything it cannot show written as a ``\\x``/``\\u`` escape instead of
failing. JSON, SARIF, GitLab and GitHub annotations are read by programs whose formats are
defined as UTF-8 (RFC 8259, SARIF 2.1.0 §3.1, the JUnit prolog says UTF-8), so they are always
written as UTF-8 bytes, whatever ``PYTHONIOENCODING`` or the locale says.
"""

from __future__ import annotations

import contextlib
import errno
import sys
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from preflight import __version__

app = typer.Typer(
    name="preflight",
    help="Find the deploy bugs where pyproject, Dockerfile, k8s manifests and settings meet.",
    # typer's shell completion: --install-completion / --show-completion, and the
    # _PREFLIGHT_COMPLETE protocol the installed scripts speak (see `_run`).
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class _Command(typer.core.TyperCommand):
    """A command whose help names no Python types: typer shows an argument as
    ``PATHS <list[str]>``; here it is ``PATH...``, as the usage line says."""

    def format_options(self, ctx: Any, formatter: Any) -> None:
        arguments, options = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                name = param.metavar or (param.name or "").upper()
                arguments.append((name + ("..." if param.nargs != 1 else ""), record[1]))
            else:
                options.append(record)
        for title, records in (("Arguments", arguments), ("Options", options)):
            if records:
                with formatter.section(title):
                    formatter.write_dl(records)


class OutputFormat(str, Enum):
    full = "full"
    concise = "concise"
    grouped = "grouped"
    text = "text"  # the name before there were three text layouts: the same as full
    json = "json"
    sarif = "sarif"
    github = "github"
    junit = "junit"
    gitlab = "gitlab"


class ColorMode(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


class FailOn(str, Enum):
    error = "error"
    warning = "warning"
    info = "info"


class UsageFailure(Exception):
    """A mistake in how preflight was invoked or configured, or an I/O error (exit 2)."""


class _ReaderGone(Exception):
    """Standard output was closed by its reader (EPIPE): exit quietly with ``code``."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _Interrupted(BaseException):
    """SIGINT, raised by our own handler: click turns a KeyboardInterrupt into ``Abort`` and
    prints a blank line first, so a distinct exception reaches :func:`main` untouched."""


def _version(value: bool) -> None:
    if value:
        typer.echo(f"preflight {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            callback=_version,
            is_eager=True,
            help="Show the version and exit.",
        ),
    ] = False,
) -> None:
    """preflight: deployment preflight linter for Python web services."""


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


@app.command(cls=_Command)
def check(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="Files or directories to check (default: .). Each is checked within its "
            "project (the git repository it is in; outside one, the nearest directory with a "
            "preflight.toml or pyproject.toml), which is read whole; only findings in or "
            "related to the given paths are reported.",
            metavar="PATH",
        ),
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option(
            help="Only these rules: codes, prefixes or names (e.g. PKG, PF002).", metavar="CODES"
        ),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option(help="Skip these rules: codes, prefixes or names.", metavar="CODES"),
    ] = None,
    extend_select: Annotated[
        list[str] | None,
        typer.Option(help="These rules too, on top of the selection.", metavar="CODES"),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            help="Leave out these paths or patterns (replaces the configuration's exclude).",
            metavar="PATTERN",
        ),
    ] = None,
    extend_exclude: Annotated[
        list[str] | None,
        typer.Option(help="Leave out these paths or patterns too.", metavar="PATTERN"),
    ] = None,
    respect_gitignore: Annotated[
        bool | None,
        typer.Option(
            "--respect-gitignore/--no-respect-gitignore",
            help="Leave out files git ignores (default: yes, or the configuration's).",
            show_default=False,
        ),
    ] = None,
    force_exclude: Annotated[
        bool,
        typer.Option(
            "--force-exclude",
            help="Apply exclude and .gitignore to the paths given too (for pre-commit).",
        ),
    ] = False,
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--output-format",
            "--format",
            help="full (default), concise or grouped (by file) for people; json, sarif, "
            "github, junit or gitlab for programs (text: the same as full).",
        ),
    ] = OutputFormat.full,
    output_file: Annotated[
        str | None,
        typer.Option("--output-file", "-o", help="Write the report to this file.", metavar="FILE"),
    ] = None,
    fail_on: Annotated[
        FailOn | None, typer.Option(help="Lowest severity that fails (default: error).")
    ] = None,
    exit_zero: Annotated[
        bool, typer.Option("--exit-zero", help="Exit 0 even with failing findings.")
    ] = False,
    config: Annotated[
        str | None, typer.Option(help="Read configuration from this file.", metavar="FILE")
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(help="Report only findings not recorded in this baseline.", metavar="FILE"),
    ] = None,
    write_baseline: Annotated[
        str | None,
        typer.Option(
            help="Record every current finding in this baseline file (and report nothing).",
            metavar="FILE",
        ),
    ] = None,
    statistics: Annotated[
        bool,
        typer.Option(
            "--statistics", help="Counts per rule, most first (and fixed since the baseline)."
        ),
    ] = False,
    extra_output: Annotated[
        list[str] | None,
        typer.Option(
            "--extra-output",
            help="Also write the report in FORMAT to FILE (repeatable), e.g. sarif=out.sarif.",
            metavar="FORMAT=FILE",
        ),
    ] = None,
    show_source: Annotated[
        bool, typer.Option("--show-source/--no-show-source", help="Show the offending line.")
    ] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the finding lines.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also say where rules stayed silent and why.")
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", "-j", min=1, help="Parser processes (default and most: cores).", metavar="N"
        ),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not use the parse cache (~/.cache/preflight/).")
    ] = False,
    color: Annotated[
        ColorMode, typer.Option(help="Colour: auto (a terminal, unless NO_COLOR), always, never.")
    ] = ColorMode.auto,
    no_color: Annotated[bool, typer.Option("--no-color", help="Same as --color never.")] = False,
    add_ignore: Annotated[
        bool,
        typer.Option(
            "--add-ignore",
            help="Write a `# preflight: ignore[CODE] -- <reason>` marker for every current "
            "finding (and report nothing).",
        ),
    ] = False,
    show_suppressed: Annotated[
        bool,
        typer.Option(
            "--show-suppressed",
            help="Also list suppressed findings in SARIF, marked as suppressed (GitHub code "
            "scanning ignores the mark and opens alerts for them).",
        ),
    ] = False,
    fix: Annotated[
        bool,
        typer.Option(
            "--fix",
            help="Apply the safe fixes, then report what remains (and exit as that check would).",
        ),
    ] = False,
    unsafe_fixes: Annotated[
        bool,
        typer.Option(
            "--unsafe-fixes", help="With --fix or --diff: the fixes a person should review too."
        ),
    ] = False,
    diff: Annotated[
        bool,
        typer.Option(
            "--diff",
            help="Print what --fix would change as unified diffs, write nothing (exit 1 if any).",
        ),
    ] = False,
) -> None:
    """Check one or more repositories (default: the current directory).

    Exit codes: 0 no failing findings, 1 failing findings, 2 usage, configuration, I/O or
    internal error, 130 interrupted.
    """
    from preflight.config import ConfigError, check_selector, root_config
    from preflight.engine import Options, run
    from preflight.findings import Severity
    from preflight.parse.run import default_workers

    selected, ignored = _split(select), _split(ignore) or []
    extended = _split(extend_select) or []
    try:  # codes, prefixes or rule names (`--select command-not-installed`)
        selected = None if selected is None else [check_selector(s) for s in selected]
        ignored = [check_selector(s) for s in ignored]
        extended = [check_selector(s) for s in extended]
    except ValueError as exc:
        raise UsageFailure(str(exc)) from None
    report_file = _path_option(output_file, "--output-file")
    extra_files = _extra_outputs(extra_output)
    config_file = _path_option(config, "--config")
    baseline_file = _path_option(baseline, "--baseline")
    baseline_out = _path_option(write_baseline, "--write-baseline")
    roots = _project_roots(
        paths, config_file, exclude, extend_exclude or [], force_exclude=force_exclude
    )
    if add_ignore and baseline_out is not None:
        raise UsageFailure("--add-ignore and --write-baseline are two ways to adopt; choose one")
    if (fix or diff) and (add_ignore or baseline_out is not None):
        raise UsageFailure("--fix/--diff change files or show changes; check, then adopt")
    if unsafe_fixes and not (fix or diff):
        raise UsageFailure("--unsafe-fixes needs --fix or --diff")
    diffs: list[str] = []
    would_fix = 0
    known: dict[str, dict[str, str]] = {}
    if baseline_file is not None:
        from preflight.baseline import BaselineError, read_baseline

        try:
            known = read_baseline(baseline_file)
        except BaselineError as exc:
            raise UsageFailure(str(exc)) from None
    # Never more parser processes than cores: more only cost memory and start-up.
    workers = min(jobs, default_workers()) if jobs is not None else default_workers()
    results = []
    failing = False
    internal: list[str] = []
    current: set[str] = set()
    every_finding = []  # before the baseline filter: what --write-baseline records
    checked: list[tuple[Path, Any, Any, list[Any]]] = []  # --add-ignore: root, config, result
    insides: list[str] = []  # per root: the working directory inside it, if it is
    from preflight.baseline import root_names, under_root

    for (path, display_root, named, inside), root_name in zip(
        roots, root_names([p for p, _, _, _ in roots]), strict=True
    ):
        config_notes: list[str] = []
        try:
            located = root_config(path, config_file, config_notes)
            configuration = located.config
            options = Options(
                named=named,
                extend_select=tuple(extended),
                exclude=None if exclude is None else tuple(exclude),
                extend_exclude=tuple(extend_exclude or ()),
                respect_gitignore=respect_gitignore,
                force_exclude=force_exclude,
                config_base=located.base,
                nested=not located.explicit,
            )
            threshold = Severity(fail_on.value) if fail_on is not None else configuration.fail_on
            if fix or diff:
                again = (configuration, selected, ignored, workers, not no_cache, options)
                count, text = _fix_root(path, display_root, again, unsafe_fixes, write=fix)
                would_fix += count
                diffs.append(text)
                if diff:
                    continue
            with _progress(display_root) as progress:
                result = run(
                    path,
                    display_root,
                    configuration,
                    selected,
                    ignored,
                    workers,
                    not no_cache,
                    options,
                    progress=progress,
                )
        except ConfigError as exc:
            raise UsageFailure(str(exc)) from None
        result.fail_on = threshold  # the gate: JUnit fails a test case only at or above it
        result.notes[:0] = config_notes
        insides.append(inside)
        if not result.deployable and not quiet:
            _nothing_deployable(display_root)
        result.findings = under_root(result.findings, root_name)  # distinct across roots
        result.suppressions = _suppressions_under_root(result.suppressions, root_name)
        every_finding.extend(result.findings)
        checked.append((path, (configuration, options), result, list(result.findings)))
        if baseline_file is not None:
            from preflight.filter import against_baseline

            result.findings, seen = against_baseline(result.findings, known)
            current.update(seen)
        results.append(result)
        internal.extend(result.internal_errors)
        failing = failing or any(f.severity.rank >= threshold.rank for f in result.findings)
    if diff:
        with _writing(1 if would_fix else 0):
            _write_stdout("".join(diffs), machine=True)
            _flush_stdout()
        typer.echo(f"preflight: would fix {would_fix} finding(s)", err=True)
        raise typer.Exit(1 if would_fix else 0)
    if fix:
        typer.echo(f"preflight: fixed {would_fix} finding(s)", err=True)
    # Over all roots at once: one root's findings are not "fixed" because another lacks them.
    fixed = [entry for fp, entry in known.items() if fp not in current]
    if add_ignore:
        if internal:  # a crashed rule found nothing: its findings would get no marker
            _internal_errors(internal, "no marker was written")
            raise typer.Exit(2)
        recheck = (selected, ignored, workers, not no_cache)
        raise typer.Exit(_add_ignore(checked, recheck))
    if baseline_out is not None:
        if internal:  # a crashed rule found nothing: recording that would forget real findings
            _internal_errors(internal, "the baseline was not written")
            raise typer.Exit(2)
        from preflight.baseline import BaselineError
        from preflight.baseline import write_baseline as write

        try:
            write(baseline_out, every_finding)
        except BaselineError as exc:
            raise UsageFailure(str(exc)) from None
        typer.echo(
            f"preflight: recorded {len(every_finding)} finding(s) in {baseline_out}", err=True
        )
        raise typer.Exit(0)
    code = 2 if internal else 1 if failing and not exit_zero else 0
    results = [
        _seen_from(r, inside) if inside else r for r, inside in zip(results, insides, strict=True)
    ]
    for extra_format, extra_file in extra_files:
        extra = _render(results, extra_format, quiet, verbose, show_source, color, True, extra_file)
        _write_file(extra_file, (extra or "") + "\n")
    if output_format is OutputFormat.github:
        _step_summary(results)
    text_report = output_format in _TEXT
    with _writing(code):
        report = _render(
            results,
            output_format,
            quiet,
            verbose,
            show_source,
            color,
            no_color,
            report_file,
            show_suppressed,
        )
        if report is not None:
            if report_file is not None:
                _write_file(report_file, report + "\n")
            else:
                _write_stdout(report + "\n", machine=not text_report)
        if statistics:
            _statistics(results, fixed, to_stderr=not text_report and report_file is None)
        _internal_errors(internal)
        _flush_stdout()
    raise typer.Exit(code)


_TEXT = (OutputFormat.full, OutputFormat.concise, OutputFormat.grouped, OutputFormat.text)


def _extra_outputs(values: list[str] | None) -> list[tuple[OutputFormat, Path]]:
    """``--extra-output FORMAT=FILE`` values, checked before anything runs."""
    out: list[tuple[OutputFormat, Path]] = []
    for value in values or ():
        name, equals, file = value.partition("=")
        try:
            chosen = OutputFormat(name.strip().lower())
        except ValueError:
            names = ", ".join(f.value for f in OutputFormat)
            raise UsageFailure(
                f"--extra-output `{value}`: `{name}` is not a format (one of {names})"
            ) from None
        if not equals or not file:
            raise UsageFailure(f"--extra-output `{value}`: give FORMAT=FILE, e.g. sarif=out.sarif")
        path = _path_option(file, "--extra-output")
        assert path is not None
        out.append((chosen, path))
    return out


def _step_summary(results: list[Any]) -> None:
    """On GitHub Actions, the findings as a Markdown table on the run's summary page too:
    GitHub shows only the first 10 annotations of each level per step."""
    import os

    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    from preflight.report.github import step_summary

    try:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(step_summary(results))
    except OSError as exc:
        typer.echo(
            f"preflight: warning: cannot write the step summary {_one_line(target)}: "
            f"{exc.strerror or exc}",
            err=True,
        )


@contextlib.contextmanager
def _progress(root: str) -> Iterator[Any]:
    """Say what the run is doing, on standard error, once it has taken more than a second and
    only when standard error is a terminal (never in a pipe, a file or CI)."""
    from preflight.progress import Progress

    progress = Progress(sys.stderr, root)
    try:
        yield progress.stage
    finally:
        progress.stop()


def _suppressions_under_root(suppressions: list[Any], root_name: str) -> list[Any]:
    """Suppressed findings with fingerprints that also name their root, as findings have."""
    from dataclasses import replace

    from preflight.baseline import under_root

    findings = under_root([item.finding for item in suppressions], root_name)
    return [replace(item, finding=f) for item, f in zip(suppressions, findings, strict=True)]


def _fix_root(
    path: Path, display_root: str, again: tuple[Any, ...], unsafe: bool, *, write: bool
) -> tuple[int, str]:
    """``--fix``/``--diff`` on one root: check, apply the fixes, and again while a pass fixes
    something (an edit that overlapped another waits for the next pass), at most ten passes.
    Returns how many findings were fixed and the unified diff of every change."""
    from preflight.engine import run
    from preflight.fix import Applied, apply_fixes, diff_text

    configuration, selected, ignored, workers, _, options = again
    total = Applied()
    fixed = 0
    # --diff makes the same passes without writing: each pass reads what the earlier ones
    # changed from memory, so the diff is everything --fix would write.
    current: dict[str, str] = {}
    for _ in range(10):
        overlay = None if write else {p: t.encode("utf-8", "surrogateescape")
                                      for p, t in current.items()}  # fmt: skip
        result = run(
            path, display_root, configuration, selected, ignored, workers, False, options,
            overlay=overlay,
        )  # fmt: skip
        applied = apply_fixes(path, result.findings, unsafe, None if write else current)
        changed = {p: t for p, t in applied.after.items() if t != applied.before[p]}
        if not changed:
            break
        fixed += len(applied.fixed)
        for name, text in changed.items():
            total.before.setdefault(name, applied.before[name])
            total.after[name] = text
        if write:
            applied.write(path)
        else:
            current.update(changed)
    return fixed, diff_text(display_root, total)


def _add_ignore(
    checked: list[tuple[Path, Any, Any, list[Any]]],
    recheck: tuple[list[str] | None, list[str], int, bool],
) -> int:
    """``check --add-ignore``: a marker for every finding of each root, each root checked
    again so a marker that did not work is taken back (see ``preflight.markers``); 0 when
    every finding has its marker, 1 when some must be suppressed (or fixed) by hand."""
    from preflight.engine import run
    from preflight.markers import add_markers, verify
    from preflight.report import safe_path

    selected, ignored, workers, use_cache = recheck
    markers = findings = files = 0
    skipped: list[str] = []
    for path, (configuration, options), result, before in checked:
        outcome = add_markers(path, result.findings)
        if outcome.files:
            again = run(
                path, result.root, configuration, selected, ignored, workers, use_cache, options
            )
            verify(path, outcome, before, again.findings)
        markers, findings = markers + outcome.markers, findings + outcome.findings
        files += len(outcome.files)
        for finding, why in outcome.skipped:
            where = f"{safe_path(result.root, finding.span.path)}:{finding.span.line}"
            skipped.append(f"preflight: no marker for {finding.code} at {where}: {why}")
    for line in skipped:
        typer.echo(_one_line(line), err=True)
    typer.echo(
        f"preflight: added {markers} marker(s) for {findings} finding(s) in {files} file(s)",
        err=True,
    )
    return 1 if skipped else 0


@contextlib.contextmanager
def _writing(code: int) -> Iterator[None]:
    """Writing the output: the reader going away ends the run quietly with ``code`` (the code
    the run had anyway); any other write error (`> /dev/full`) is exit 2 with one line."""
    try:
        yield
    except BrokenPipeError:
        raise _ReaderGone(code) from None
    except OSError as exc:
        _silence_stdout()
        raise UsageFailure(f"cannot write to standard output: {exc.strerror or exc}") from None


def _path_option(value: str | None, option: str) -> Path | None:
    import os

    if value is None:
        return None
    if value == "":
        raise UsageFailure(f"{option}: an empty path names no file")
    if value.endswith(("/", os.sep)):  # Path() drops the slash: `-o out/` would write `out`
        raise UsageFailure(f"{option}: `{value}` names a directory; give a file name")
    return Path(value)


def _project_roots(
    paths: list[str] | None,
    config_file: Path | None = None,
    exclude: list[str] | None = None,
    extend_exclude: list[str] | tuple[str, ...] = (),
    *,
    force_exclude: bool = False,
) -> list[tuple[Path, str, tuple[str, ...], str]]:
    """The projects the given paths belong to, each once, with the name it is shown under, the
    paths named inside it (root-relative; "" for the root itself), and — when the working
    directory lies inside a project found above it — the working directory's path in it
    (paths are then shown relative to the working directory, see :func:`_seen_from`).

    A path's project is the git repository it is in, or outside one the nearest directory with
    a preflight.toml or pyproject.toml (:func:`preflight.config.project_root`): ``preflight
    check k8s/deployment.yaml`` reads the whole repository, with its configuration, and reports
    what concerns that file. Paths in one project are checked together (pre-commit passes many);
    paths in different projects are checked project by project.

    A path that project's configuration excludes (fixtures, examples, a legacy tree) is no part
    of its deployment: named on the command line, it is checked as a project of its own (see
    :func:`_excluded_project`), unless ``force_exclude``.
    """
    import os

    from preflight.config import Located, project_root
    from preflight.discover import shown_name

    located: dict[Path, Located] = {}

    def configuration_of(top: Path) -> Located:
        from preflight.config import ConfigError, root_config

        if top not in located:
            try:
                located[top] = root_config(top, config_file)
            except ConfigError as exc:
                raise UsageFailure(str(exc)) from None
        return located[top]

    groups: dict[str, tuple[Path, str, list[str], str]] = {}
    cwd = Path.cwd()
    for given in paths if paths else ["."]:
        if given == "":
            raise UsageFailure("an empty path names no file (use `.` for this directory)")
        path = Path(given)
        if not path.exists():
            raise UsageFailure(f"path `{given}` does not exist")
        is_dir = path.is_dir()
        if not is_dir and not path.is_file():
            raise UsageFailure(f"path `{given}` is neither a file nor a directory")
        absolute = Path(os.path.abspath(path))
        root = project_root(path if is_dir else path.parent)
        if not force_exclude and absolute != root:
            root = _excluded_project(
                root, absolute, is_dir, configuration_of(root), exclude, tuple(extend_exclude)
            )
        inside = absolute.relative_to(root).as_posix()
        named = "" if inside == "." else "/".join(map(shown_name, inside.split("/")))
        inside = ""
        if is_dir and not named:
            shown_root = path.as_posix()  # as the user wrote it, as before
        elif path.is_absolute():
            shown_root = root.as_posix()
        elif root in cwd.parents:  # `cd k8s && preflight check deployment.yaml`
            shown_root, inside = ".", cwd.relative_to(root).as_posix()
        else:
            shown_root = Path(os.path.relpath(root)).as_posix()
        shown = os.fsencode(shown_root).decode("utf-8", "backslashreplace")
        # the root as the user would write it (configuration errors name files under it)
        spelled = path if is_dir and not named else root
        if not path.is_absolute() and spelled is root:
            spelled = Path(os.path.relpath(root))
        entry = groups.setdefault(os.path.realpath(root), (spelled, shown, [], inside))
        names = entry[2]
        names.append(named)
    return [
        (root, shown, tuple(dict.fromkeys(names)), inside)
        for root, shown, names, inside in groups.values()
    ]


def _excluded_project(
    top: Path,
    absolute: Path,
    is_dir: bool,
    located: Any,
    exclude: list[str] | None,
    extend_exclude: tuple[str, ...],
) -> Path:
    """``top``, unless the path is excluded there: then the project it is checked as — the
    nearest directory at or above it (below ``top``) with a preflight.toml or pyproject.toml,
    else the path itself (a directory) or its directory (a file)."""
    import os

    from preflight.config import PROJECT_FILES
    from preflight.engine import Options, excluders

    options = Options(
        exclude=None if exclude is None else tuple(exclude),
        extend_exclude=extend_exclude,
        config_base=located.base,
    )
    rel = absolute.relative_to(top).as_posix()
    if not any(rule(rel) for rule in excluders(located.config, options)):
        return top
    start = absolute if is_dir else absolute.parent
    for directory in (start, *start.parents):
        if directory == top:
            break
        if any(os.path.lexists(directory / name) for name in PROJECT_FILES):
            return directory
    return start


def _seen_from(result: Any, inside: str) -> Any:
    """The result with its paths relative to the working directory ``inside`` the root
    (``deployment.yaml``, ``../Dockerfile``) instead of to the root. Fingerprints were made
    from the root-relative paths, so they do not depend on where preflight runs."""
    import posixpath
    from dataclasses import replace

    from preflight.discover import shown_name

    prefix = "/".join(map(shown_name, inside.split("/")))

    def moved(path: str) -> str:
        return posixpath.relpath(path, prefix)

    def span(at: Any) -> Any:
        return None if at is None else replace(at, path=moved(at.path))

    def finding(found: Any) -> Any:
        related = tuple(replace(r, span=span(r.span)) for r in found.related)
        return replace(found, span=span(found.span), related=related)

    result.findings = [finding(found) for found in result.findings]
    result.suppressions = [
        replace(item, finding=finding(item.finding), span=span(item.span))
        for item in result.suppressions
    ]
    result.sources = {moved(path): lines for path, lines in result.sources.items()}
    return result


def _nothing_deployable(display_root: str) -> None:
    from preflight.redact import clean_text

    typer.echo(
        f"preflight: warning: nothing deployable found in {clean_text(display_root)} (no "
        "Dockerfile, compose file, Kubernetes manifest or Procfile): no deployment was checked",
        err=True,
    )


def _internal_errors(messages: list[str], consequence: str = "") -> None:
    for message in messages:
        suffix = f"; {consequence}" if consequence else ""
        typer.echo(f"preflight: internal error: {message}{suffix} (please report this)", err=True)


def _write_file(path: Path, text: str) -> None:
    try:
        with path.open("w", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageFailure(f"cannot write the report to {path}: {exc.strerror or exc}") from None


def _stdout() -> Any:
    if sys.stdout is None:  # started with standard output closed (`preflight check >&-`)
        raise UsageFailure("standard output is closed (write the report with -o FILE)")
    return sys.stdout


def _write_stdout(text: str, *, machine: bool) -> None:
    """Machine formats as UTF-8 bytes; text in the terminal's encoding (see the module doc)."""
    stream = _stdout()
    buffer = getattr(stream, "buffer", None)
    if machine and buffer is not None:
        stream.flush()
        buffer.write(text.encode("utf-8", "backslashreplace"))
    else:
        stream.write(text)


def _flush_stdout() -> None:
    if sys.stdout is not None:
        sys.stdout.flush()  # `> /dev/full`: a buffered report fails only here


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so the interpreter's final flush of what is still
    buffered cannot fail again (and print "Exception ignored") on the way out."""
    import os

    with contextlib.suppress(OSError, AttributeError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _plainly_written(stream: Any) -> bool:
    """Whether rich would write to ``stream`` without colour and without wrapping: not a
    terminal, and no variable that makes rich treat it as one (or sets a width)."""
    import os

    if any(os.environ.get(name) for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS")):
        return False
    try:
        return not stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def _render(
    results: list[Any],
    output_format: OutputFormat,
    quiet: bool,
    verbose: bool,
    show_source: bool,
    color: ColorMode,
    no_color: bool,
    output_file: Path | None,
    show_suppressed: bool = False,
) -> str | None:
    """The report as text, or None when it was printed to the terminal directly."""
    if output_format in _TEXT:
        import io
        import os

        from preflight.report import text

        buffer = io.StringIO() if output_file is not None else None
        stream = buffer if buffer is not None else _stdout()
        mode = ColorMode.never if no_color or output_file is not None else color
        if mode is ColorMode.auto and os.environ.get("NO_COLOR"):
            mode = ColorMode.never
        if mode is not ColorMode.always and _plainly_written(stream):
            text.render(
                results,
                text.PlainConsole(stream),
                quiet=quiet,
                verbose=verbose,
                show_source=show_source,
                layout="full" if output_format is OutputFormat.text else output_format.value,
                width=None,
            )
            return buffer.getvalue().rstrip("\n") if buffer is not None else None
        from rich.console import Console

        console = Console(
            file=stream,
            force_terminal=True if mode is ColorMode.always else None,
            no_color=mode is ColorMode.never,
            color_system=None if mode is ColorMode.never else "auto",
            highlight=False,
            soft_wrap=True,
            emoji=False,
        )
        # Wrapped to the terminal's width (or the COLUMNS asked for); a file or a pipe gets
        # whole lines, as grep wants them.
        wrap = buffer is None and (console.is_terminal or bool(os.environ.get("COLUMNS")))
        text.render(
            results,
            console,
            quiet=quiet,
            verbose=verbose,
            show_source=show_source,
            layout="full" if output_format is OutputFormat.text else output_format.value,
            width=console.width if wrap else None,
        )
        return buffer.getvalue().rstrip("\n") if buffer is not None else None
    from importlib import import_module

    module = import_module(f"preflight.report.{output_format.value}")
    if output_format is OutputFormat.sarif:
        sarif: str = module.render(results, show_suppressed=show_suppressed)
        return sarif
    rendered: str = module.render(results)
    return rendered


def _statistics(results: list[Any], fixed: list[dict[str, str]], *, to_stderr: bool) -> None:
    from collections import Counter

    from preflight.checks import BY_CODE

    counts: Counter[str] = Counter(f.code for r in results for f in r.findings)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))  # most first
    lines = [f"{count:>5}  {code:<8} {BY_CODE[code].name}" for code, count in ranked]
    if fixed:
        lines.append(
            f"{len(fixed):>5}  fixed since the baseline (remove them with --write-baseline)"
        )
    for line in lines:
        typer.echo(line, err=to_stderr)


@app.command(cls=_Command)
def rules(
    output_format: Annotated[
        OutputFormat, typer.Option("--output-format", "--format", help="text or json.")
    ] = OutputFormat.text,
) -> None:
    """List every rule: code, name, severity (every one it reports at), summary."""
    from preflight.checks import RULES
    from preflight.pages import rule_url

    if output_format is OutputFormat.json:
        import json

        data = [
            {
                "code": r.code,
                "name": r.name,
                "severity": r.severity.value,
                "severities": [s.value for s in r.severities],
                "summary": r.summary,
                "url": rule_url(r.code),
            }
            for r in RULES
        ]
        with _writing(0):
            _write_stdout(json.dumps(data, indent=2) + "\n", machine=True)
            _flush_stdout()
        return
    width = max(len(r.name) for r in RULES)
    levels = {r.code: "/".join(s.value for s in r.severities) for r in RULES}
    level_width = max(len(level) for level in levels.values())
    lines = [
        f"{rule.code:<8} {rule.name:<{width}}  {levels[rule.code]:<{level_width}} {rule.summary}\n"
        for rule in RULES
    ]
    with _writing(0):
        _write_stdout("".join(lines), machine=False)
        _flush_stdout()


class GraphFormat(str, Enum):
    text = "text"
    json = "json"
    mermaid = "mermaid"


@app.command(cls=_Command)
def graph(
    path: Annotated[
        str,
        typer.Argument(help="A path in the project (its whole project is shown).", metavar="PATH"),
    ] = ".",
    output_format: Annotated[
        GraphFormat, typer.Option("--format", help="text, json or mermaid.")
    ] = GraphFormat.text,
    config: Annotated[
        str | None,
        typer.Option("--config", help="Read configuration from this file.", metavar="FILE"),
    ] = None,
) -> None:
    """Show what preflight believes the deployment is, and what it could not join.

    Each workload's containers with their image, Dockerfile (and the evidence for that link),
    command, server, app and routes, probes, settings and who provides each; the commands
    Dockerfiles, compose files and Procfiles start; the database engines and their URLs. Values
    are never printed.
    """
    import os
    import shutil

    from preflight.config import ConfigError, root_config
    from preflight.engine import Options, build
    from preflight.graphview import describe, render

    config_file = _path_option(config, "--config")
    ((root, display_root, named, inside),) = _project_roots([path], config_file)
    if inside:  # the graph names files from the project's top
        display_root = Path(os.path.relpath(root)).as_posix()
    config_notes: list[str] = []
    try:
        located = root_config(root, config_file, config_notes)
    except ConfigError as exc:
        raise UsageFailure(str(exc)) from None
    options = Options(named=named, config_base=located.base, nested=not located.explicit)
    built = build(root, display_root, located.config, options=options)
    data = describe(built.graph, [*config_notes, *built.notes])
    width = min(shutil.get_terminal_size((80, 24)).columns, 100)
    text = render(data, output_format.value, width)
    with _writing(0):
        _write_stdout(text + "\n", machine=output_format is not GraphFormat.text)
        _flush_stdout()


@app.command(cls=_Command)
def explain(
    code: Annotated[str, typer.Argument(help="A rule code or name, e.g. PKG001.", metavar="CODE")],
) -> None:
    """Print a rule's page: what it catches, why, how to fix, examples."""
    from preflight.checks import rule_for, unknown_rule
    from preflight.pages import page_text

    rule = rule_for(code)  # a code or a name, as `ruff rule unused-import`
    if rule is None:
        raise UsageFailure(unknown_rule(code))
    with _writing(0):
        _write_stdout(page_text(rule.code).rstrip("\n") + "\n", machine=False)
        _flush_stdout()


def _one_line(message: str) -> str:
    """``message`` as one printable line: secrets masked, control characters (a path's newline
    or ESC) escaped — errors may quote configuration values and paths."""
    from preflight.redact import clean_text

    return clean_text(message)


def _fail(message: str, code: int = 2) -> NoReturn:
    try:
        if sys.stderr is not None:
            prefix = "error: " if code == 2 else ""
            sys.stderr.write(f"preflight: {prefix}{_one_line(message)}\n")
            sys.stderr.flush()
    except OSError:
        pass
    sys.exit(code)


def _on_sigint(signum: int, frame: object) -> None:
    import os

    global _INTERRUPTED
    if os.getpid() != _MAIN_PID:
        # A parser process forked from this one: the terminal sent SIGINT to the whole group,
        # the main process reports it; this one leaves quietly (no traceback of its own).
        os._exit(130)
    if not _INTERRUPTED:
        _INTERRUPTED = True
        raise _Interrupted
    # A second Ctrl-C while the first is unwinding (waiting for parser processes): leave now.
    with contextlib.suppress(OSError, AttributeError):
        sys.stderr.write("preflight: interrupted\n")
        sys.stderr.flush()
    os._exit(130)


_MAIN_PID = 0
_INTERRUPTED = False


def _prepare_streams() -> None:
    """Text streams that never fail on a character the terminal cannot show."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(OSError, ValueError):
                reconfigure(errors="backslashreplace")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn every failure into an exit code and one line.

    As the ``preflight`` script (no ``argv``), the process ends as soon as its output is
    flushed: tearing down the interpreter frees every object of the model one by one (a second
    on a large repository) and prints nothing anyone needs."""
    if argv is not None:
        _main(argv)
        return
    import gc

    # A check allocates millions of small objects (syntax trees, parse results) and frees them
    # by reference counting; the cyclic collector's default thresholds would walk every live
    # object again and again as they pile up (a quarter of a 300-service run). Collect rarely.
    gc.set_threshold(100_000, 50, 100)
    try:
        _main(None)
    except SystemExit as exc:
        _leave(exc.code)


def _leave(code: object) -> NoReturn:
    """Flush standard output and error, and end the process now with ``code``."""
    import os

    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    if code is None:
        os._exit(0)
    if isinstance(code, int):
        os._exit(code & 0xFF if code >= 0 else 1)
    os._exit(1)  # pragma: no cover - only ints reach here


def _main(argv: list[str] | None) -> None:
    import os
    import signal

    global _MAIN_PID, _INTERRUPTED
    _MAIN_PID, _INTERRUPTED = os.getpid(), False
    args = sys.argv[1:] if argv is None else argv
    _prepare_streams()
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.default_int_handler:  # not when the caller chose its own handler
        signal.signal(signal.SIGINT, _on_sigint)
    try:
        code = _run(args)
        try:
            _flush_stdout()
        except BrokenPipeError:
            _silence_stdout()
        except OSError as exc:
            _silence_stdout()
            _fail(f"cannot write to standard output: {exc.strerror or exc}")
    except (_Interrupted, KeyboardInterrupt):
        _fail("interrupted", 130)
    finally:
        if previous is signal.default_int_handler:
            signal.signal(signal.SIGINT, previous)
    sys.exit(code)


def _plain_usage(message: str) -> str:
    """The option parser's message without the validation library's words ("Value error,",
    "Input should be a valid integer, unable to parse string as an integer"), and with a
    did-you-mean for a value that is not one of an option's choices."""
    import re

    from preflight.suggest import did_you_mean

    message = message.replace("Value error, ", "")
    message = message.replace(
        "Input should be a valid integer, unable to parse string as an integer",
        "must be a whole number",
    )
    message = message.replace("Input should be greater than or equal to", "must be at least")
    message = message.replace("Input should be", "must be")
    choice = re.search(r"'([^']*)' is not one of ((?:'[^']*'(?:, )?)+)\.?$", message)
    if choice is not None:
        choices = re.findall(r"'([^']*)'", choice.group(2))
        listed = ", ".join(choices)
        hint = did_you_mean(choice.group(1), choices)
        message = f"{message[: choice.start()]}`{choice.group(1)}` is not one of {listed}{hint}"
    return message


def _no_command() -> NoReturn:
    """Bare ``preflight``: the help, on stderr, and exit 2 — a CI step that forgot ``check``
    must not pass."""
    with contextlib.redirect_stdout(sys.stderr), contextlib.suppress(typer.Exit, OSError):
        app(args=["--help"], standalone_mode=False, prog_name="preflight")
    _fail("no command given (to check this directory: `preflight check .`)")


def _run(args: list[str]) -> int:
    """The exit code of one invocation; failures are reported here as one line on stderr."""
    import os

    if not args and not os.environ.get("_PREFLIGHT_COMPLETE"):  # completion asks without args
        _no_command()
    try:
        code = app(args=args, standalone_mode=False, prog_name="preflight")
    except UsageFailure as exc:
        _fail(str(exc))
    except typer.Exit as exc:
        return int(exc.exit_code)
    except SystemExit as exc:
        reason = exc.__context__
        if isinstance(reason, OSError) and reason.errno == errno.EPIPE:
            _silence_stdout()  # click's own answer to a closed pipe (`--help | head -1`) is 1
            return 0
        raise
    except _ReaderGone as exc:
        _silence_stdout()
        return exc.code
    except BrokenPipeError:  # `preflight rules | head -1`: nothing failed
        _silence_stdout()
        return 0
    except typer.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):
            raise KeyboardInterrupt from None
        _fail("aborted")
    except RecursionError:
        _fail("internal error: input nested too deeply (please report this)")
    except Exception as exc:  # never a traceback
        if hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int):
            _fail(_plain_usage(str(exc.format_message())))  # found by the option parser
        _fail(f"internal error: {type(exc).__name__}: {exc} (please report this)")
    return code if isinstance(code, int) else 0
