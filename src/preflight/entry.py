"""The ``preflight`` script: answers ``--version`` before the command line's libraries load.

``preflight --version`` is what editors, pre-commit and CI images run to learn what they have;
importing typer (and click below it) costs several times a bare interpreter's start, so that one
question is answered here and everything else goes to :func:`preflight.cli.main`.
"""

from __future__ import annotations

import sys

from preflight import __version__


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        sys.stdout.write(f"preflight {__version__}\n")
        sys.stdout.flush()
        return
    from preflight.cli import main as cli_main

    cli_main()
