"""The bare-parse baseline: discover and parse what ``preflight check`` reads, and nothing more.

Same walk (``preflight.discover.discover``), same parsers chosen by file kind, Python parsed only
where ``worth_parsing`` says so (and, like the linker, never test modules) -- no project model,
no rules, no report. It is the floor preflight's design can approach.

    python benchmarks/bare_parse.py ROOT [-v]
"""

from __future__ import annotations

import sys
from pathlib import Path


def bare_parse(root: Path) -> dict[str, int]:
    from preflight.discover import FileKind, discover

    inventory = discover(root)
    counts: dict[str, int] = {"files": len(inventory.files), "parsed": 0, "python_skipped": 0}
    for source in inventory.files:
        kind, path, text = source.kind, source.path, source.text
        if kind is FileKind.PYPROJECT:
            from preflight.parse.pyproject import parse_pyproject

            parse_pyproject(path, text)
        elif kind is FileKind.REQUIREMENTS:
            from preflight.parse.requirements import parse_requirements

            parse_requirements(path, text)
        elif kind is FileKind.DOCKERFILE:
            from preflight.parse.dockerfile import parse_dockerfile

            parse_dockerfile(path, text)
        elif kind is FileKind.COMPOSE:
            from preflight.parse.compose import parse_compose

            parse_compose(path, text)
        elif kind is FileKind.YAML:
            from preflight.parse.manifests import parse_manifests

            parse_manifests(path, text)
        elif kind is FileKind.ENV_EXAMPLE:
            from preflight.parse.envfile import parse_env_file

            parse_env_file(path, text)
        elif kind is FileKind.PROCFILE:
            from preflight.parse.procfile import parse_procfile

            parse_procfile(path, text)
        elif kind in (FileKind.PYTHON, FileKind.GUNICORN_CONFIG):
            from preflight.model.link import is_test_module
            from preflight.parse.python import parse_python, worth_parsing

            if is_test_module(path) or not worth_parsing(text):
                counts["python_skipped"] += 1
                continue
            parse_python(path, text)
        elif kind is FileKind.LOCK:
            from preflight.parse.lockfile import parse_lock

            parse_lock(path, text)
        else:
            continue  # shell scripts are kept as text; preflight-config is read by config
        counts["parsed"] += 1
    return counts


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    if len(args) != 1:
        sys.exit("usage: bare_parse.py ROOT [-v]")
    counts = bare_parse(Path(args[0]))
    if "-v" in sys.argv[1:]:
        print(" ".join(f"{k}={v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
