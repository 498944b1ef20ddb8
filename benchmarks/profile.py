"""Profile ``preflight check`` in-process under cProfile and print the top cumulative functions.

    python benchmarks/profile.py [--services 100] [--seed 1] [--top 15] [--out FILE.prof]

The tree comes from the same cache as ``run.py`` (generated on first use).
"""

from __future__ import annotations

import sys

# This file is named profile.py: keep its directory off sys.path while the stdlib's cProfile
# imports the stdlib's profile module.
_HERE = sys.path.pop(0)

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import pstats  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.append(_HERE)

from run import tree  # noqa: E402 - the same cached trees as run.py


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", "-n", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--out", type=Path, help="also save the raw profile here")
    args = parser.parse_args()
    root = tree(args.services, args.seed, Path(tempfile.gettempdir()) / "preflight-bench")

    from preflight.cli import main as preflight_main

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        preflight_main(["check", "--quiet", "--no-show-source", str(root)])
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    profiler.disable()
    if args.out:
        profiler.dump_stats(args.out)
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer)
    stats.sort_stats("cumulative").print_stats(args.top)
    print(f"preflight check {root} -> exit {code}")
    print(buffer.getvalue())


if __name__ == "__main__":
    main()
