"""The command line: ``preflight check``, ``preflight rules``, ``preflight explain``.

Exit codes: 0 no failing findings, 1 failing findings, 2 usage/configuration error or an
internal error (always a one-line message on stderr, never a traceback).
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn

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
    fail_on: Annotated[
        FailOn | None, typer.Option(help="Lowest severity that fails (default: error).")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="Read configuration from this file.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the finding lines.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also say where rules stayed silent and why.")
    ] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="Never colour the output.")] = False,
) -> None:
    """Check one or more repositories (default: the current directory)."""
    from preflight.config import ConfigError, check_selector, load_config
    from preflight.engine import run
    from preflight.findings import Severity

    selected, ignored = _split(select), _split(ignore) or []
    for selector in (*(selected or ()), *ignored):
        try:
            check_selector(selector)
        except ValueError as exc:
            raise UsageFailure(str(exc)) from None
    results = []
    failing = False
    internal: list[str] = []
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
        display = path.as_posix()
        result = run(path, display, configuration, selected, ignored)
        results.append(result)
        internal.extend(result.internal_errors)
        failing = failing or any(f.severity.rank >= threshold.rank for f in result.findings)
    if output_format is OutputFormat.json:
        from preflight.report import json as json_report

        sys.stdout.write(json_report.render(results) + "\n")
    else:
        from rich.console import Console

        from preflight.report import text

        console = Console(no_color=no_color, highlight=False, soft_wrap=True, emoji=False)
        text.render(results, console, quiet=quiet, verbose=verbose)
    for message in internal:
        typer.echo(f"preflight: internal error: {message} (please report this)", err=True)
    if internal:
        raise typer.Exit(2)
    raise typer.Exit(1 if failing else 0)


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
    typer.echo(f"preflight: error: {message}", err=True)
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
