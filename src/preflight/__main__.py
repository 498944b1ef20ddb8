"""``python -m preflight``: the command line, safe to run inside the repository it checks —
unless that repository has a top-level ``preflight`` package: Python imports it as this module
before any line here runs, so there only the ``preflight`` script (or ``python -I -m
preflight``) is safe. The README says so.

``python -m`` puts the working directory first on ``sys.path``, so a checked repository's
``yaml.py`` (or ``typer.py``, ``pydantic/``…) would be imported in place of the real library and
run its code. preflight never imports anything from the working directory, so every entry that
is the working directory is removed before anything else is imported (``python -P`` does the
same, but only from Python 3.11). The ``preflight`` package itself is already imported by now, and
its submodules are found through its own ``__path__``, not ``sys.path``.
"""

import os
import sys


def _is_working_directory(entry: str) -> bool:
    if entry in ("", "."):
        return True
    try:
        return os.path.samefile(entry, os.curdir)
    except OSError:
        return False


sys.path[:] = [entry for entry in sys.path if not _is_working_directory(entry)]

from preflight.cli import main  # noqa: E402 - only after sys.path is safe

main()
