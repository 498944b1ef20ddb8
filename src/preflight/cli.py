"""The command line: ``preflight check``, ``preflight rules``, ``preflight explain``.

Exit codes: 0 no failing findings, 1 failing findings, 2 usage/configuration error or an
internal error (always a one-line message on stderr, never a traceback).
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from preflight import __version__

app = typer.Typer(
    name="preflight",
    help="Find the deploy bugs where pyproject, Dockerfile, k8s manifests and settings meet.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class OutputFormat(str, Enum):
    text = "text"
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
    """A mistake in how preflight was invoked or configured (exit 2)."""


def _version(value: bool) -> None:
    if value:
        typer.echo(f"preflight {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """preflight: deployment preflight linter for Python web services."""


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [part.strip().upper() for value in values for part in value.split(",") if part.strip()]


@app.command()
def check(
    paths: Annotated[list[Path] | None, typer.Argument(help="Repository roots to check.")] = None,
    select: Annotated[
        list[str] | None, typer.Option(help="Only these codes or prefixes (e.g. PKG).")
    ] = None,
    ignore: Annotated[list[str] | None, typer.Option(help="Skip these codes or prefixes.")] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.text,
    output_file: Annotated[
        Path | None, typer.Option("--output-file", "-o", help="Write the report to this file.")
    ] = None,
    fail_on: Annotated[
        FailOn | None, typer.Option(help="Lowest severity that fails (default: error).")
    ] = None,
    exit_zero: Annotated[
        bool, typer.Option("--exit-zero", help="Exit 0 even with failing findings.")
    ] = False,
    config: Annotated[Path | None, typer.Option(help="Read configuration from this file.")] = None,
    baseline: Annotated[
        Path | None, typer.Option(help="Report only findings not recorded in this baseline.")
    ] = None,
    write_baseline: Annotated[
        Path | None, typer.Option(help="Record today's findings in this baseline file.")
    ] = None,
    statistics: Annotated[
        bool, typer.Option("--statistics", help="Counts per rule (and fixed since the baseline).")
    ] = False,
    show_source: Annotated[
        bool, typer.Option("--show-source/--no-show-source", help="Show the offending line.")
    ] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the finding lines.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also say where rules stayed silent and why.")
    ] = False,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, help="Parser processes (default: cores).")
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not read or write .preflight_cache/.")
    ] = False,
    color: Annotated[
        ColorMode, typer.Option(help="Colour: auto (a terminal, unless NO_COLOR), always, never.")
    ] = ColorMode.auto,
    no_color: Annotated[bool, typer.Option("--no-color", help="Same as --color never.")] = False,
) -> None:
    """Check one or more repositories (default: the current directory).

    Exit codes: 0 no failing findings, 1 failing findings, 2 usage, configuration or internal
    error.
    """
    from preflight.config import ConfigError, check_selector, load_config
    from preflight.engine import run
    from preflight.findings import Severity

    selected, ignored = _split(select), _split(ignore) or []
    for selector in (*(selected or ()), *ignored):
        try:
            check_selector(selector)
        except ValueError as exc:
            raise UsageFailure(str(exc)) from None
    known: dict[str, dict[str, str]] = {}
    if baseline is not None:
        from preflight.baseline import BaselineError, read_baseline

        try:
            known = read_baseline(baseline)
        except BaselineError as exc:
            raise UsageFailure(str(exc)) from None
    results = []
    failing = False
    internal: list[str] = []
    fixed: list[dict[str, str]] = []
    for path in paths or [Path(".")]:
        if not path.exists():
            raise UsageFailure(f"path `{path}` does not exist")
        if not path.is_dir():
            raise UsageFailure(f"path `{path}` is not a directory (preflight checks a repository)")
        try:
            configuration, _ = load_config(path, config)
        except ConfigError as exc:
            raise UsageFailure(str(exc)) from None
        threshold = Severity(fail_on.value) if fail_on is not None else configuration.fail_on
        from preflight.parse.run import default_workers

        workers = jobs if jobs is not None else default_workers()
        result = run(path, path.as_posix(), configuration, selected, ignored, workers, not no_cache)
        if baseline is not None:
            current = {f.fingerprint for f in result.findings}
            fixed.extend(entry for fp, entry in known.items() if fp not in current)
            result.findings = [f for f in result.findings if f.fingerprint not in known]
        results.append(result)
        internal.extend(result.internal_errors)
        failing = failing or any(f.severity.rank >= threshold.rank for f in result.findings)
    if write_baseline is not None:
        from preflight.baseline import write_baseline as write

        write(write_baseline, [f for r in results for f in r.findings])
        typer.echo(
            f"preflight: recorded {sum(len(r.findings) for r in results)} finding(s) in "
            f"{write_baseline}",
            err=True,
        )
        raise typer.Exit(0)
    report = _render(
        results, output_format, quiet, verbose, show_source, color, no_color, output_file
    )
    if report is not None:
        if output_file is not None:
            output_file.write_text(report + "\n", encoding="utf-8")
        else:
            sys.stdout.write(report + "\n")
    if statistics:
        _statistics(
            results, fixed, to_stderr=output_format is not OutputFormat.text and output_file is None
        )
    for message in internal:
        typer.echo(f"preflight: internal error: {message} (please report this)", err=True)
    if internal:
        raise typer.Exit(2)
    raise typer.Exit(1 if failing and not exit_zero else 0)


def _render(
    results: list[Any],
    output_format: OutputFormat,
    quiet: bool,
    verbose: bool,
    show_source: bool,
    color: ColorMode,
    no_color: bool,
    output_file: Path | None,
) -> str | None:
    """The report as text, or None when it was printed to the terminal directly."""
    if output_format is OutputFormat.text:
        import io
        import os

        from rich.console import Console

        from preflight.report import text

        buffer = io.StringIO() if output_file is not None else None
        mode = ColorMode.never if no_color or output_file is not None else color
        if mode is ColorMode.auto and os.environ.get("NO_COLOR"):
            mode = ColorMode.never
        console = Console(
            file=buffer,
            force_terminal=True if mode is ColorMode.always else None,
            no_color=mode is ColorMode.never,
            color_system=None if mode is ColorMode.never else "auto",
            highlight=False,
            soft_wrap=True,
            emoji=False,
        )
        text.render(results, console, quiet=quiet, verbose=verbose, show_source=show_source)
        return buffer.getvalue().rstrip("\n") if buffer is not None else None
    from importlib import import_module

    module = import_module(f"preflight.report.{output_format.value}")
    rendered: str = module.render(results)
    return rendered


def _statistics(results: list[Any], fixed: list[dict[str, str]], *, to_stderr: bool) -> None:
    from collections import Counter

    from preflight.checks import BY_CODE

    counts: Counter[str] = Counter(f.code for r in results for f in r.findings)
    lines = [
        f"{count:>5}  {code:<8} {BY_CODE[code].name}" for code, count in sorted(counts.items())
    ]
    if fixed:
        lines.append(
            f"{len(fixed):>5}  fixed since the baseline (remove them with --write-baseline)"
        )
    for line in lines:
        typer.echo(line, err=to_stderr)


@app.command()
def rules(
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.text,
) -> None:
    """List every rule: code, name, severity, summary."""
    from preflight.checks import RULES

    if output_format is OutputFormat.json:
        import json

        data = [
            {"code": r.code, "name": r.name, "severity": r.severity.value, "summary": r.summary}
            for r in RULES
        ]
        typer.echo(json.dumps(data, indent=2))
        return
    width = max(len(r.name) for r in RULES)
    for rule in RULES:
        typer.echo(f"{rule.code:<8} {rule.name:<{width}}  {rule.severity.value:<8} {rule.summary}")


@app.command()
def explain(code: Annotated[str, typer.Argument(help="A rule code, e.g. PKG001.")]) -> None:
    """Print a rule's page: what it catches, why, how to fix, examples."""
    from preflight.checks import BY_CODE
    from preflight.pages import page_text

    rule = BY_CODE.get(code.upper())
    if rule is None:
        raise UsageFailure(f"unknown rule code `{code}` (see `preflight rules`)")
    typer.echo(page_text(rule.code))


def _fail(message: str) -> NoReturn:
    from preflight.redact import clean_text  # errors may quote configuration values and paths

    typer.echo(f"preflight: error: {clean_text(message)}", err=True)
    sys.exit(2)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn every failure into an exit code and one line."""
    args = sys.argv[1:] if argv is None else argv
    try:
        code = app(args=args or ["--help"], standalone_mode=False, prog_name="preflight")
    except UsageFailure as exc:
        _fail(str(exc))
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        _fail("aborted")
    except KeyboardInterrupt:
        _fail("interrupted")
    except BrokenPipeError:
        sys.exit(1)
    except RecursionError:
        _fail("internal error: input nested too deeply (please report this)")
    except Exception as exc:  # never a traceback
        if hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int):
            _fail(str(exc.format_message()))  # a usage error found by the option parser
        _fail(f"internal error: {type(exc).__name__}: {exc} (please report this)")
    sys.exit(code if isinstance(code, int) else 0)
