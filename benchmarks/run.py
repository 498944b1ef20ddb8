"""Run the benchmark suite and write benchmarks/RESULTS.md.

    python benchmarks/run.py            # full: N = 1, 10, 100, 300 and the checkov comparison
    python benchmarks/run.py --quick    # N = 1 and 10, fewer runs (a smoke test, ~1 minute)

Every measurement is a whole process (wall time, and peak RSS from ``os.wait4``), repeated and
alternated (preflight, bare-parse, preflight, ...) so drift on a noisy machine hits both sides.
Trees come from ``generate.py`` and are cached in the temp dir by N, seed and generator source.
A cell whose first run is slow is run fewer times (``--cell-budget``); an N whose projected time
exceeds ``--max-run`` seconds is skipped and the projection is reported instead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

REFERENCE = REPO / "fixtures" / "reference-service"
CHECKOV_SERVICES = 50

# The targets (2 cores, CPython 3.11).
T_VERSION = 0.080
T_REFERENCE = 0.250
T_N100 = 4.0
T_RSS100 = 250.0
T_GROWTH = 11.0
T_OVERHEAD = 1.5
T_CHECKOV = 0.25
T_CACHE = 3.0


@dataclass
class Cell:
    """Repeated runs of one command."""

    label: str
    walls: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    codes: list[int] = field(default_factory=list)
    note: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.walls) if self.walls else None

    @property
    def rss(self) -> float | None:
        return max(self.rss_mb) if self.rss_mb else None

    def summary(self) -> str:
        if not self.walls:
            return f"not run{f' ({self.note})' if self.note else ''}"
        med = self.median or 0.0
        lo, hi = min(self.walls), max(self.walls)
        spread = f" ({_t(lo)}-{_t(hi)})" if len(self.walls) > 1 else ""
        return f"{_t(med)}{spread}, n={len(self.walls)}"


def _t(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def measure(cmd: list[str], cwd: Path | None = None) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MB) and exit code of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, proc.returncode  # ru_maxrss is in KiB on Linux


def run_alternating(
    cells: list[tuple[Cell, list[str]]], runs: int, budget: float, cwd: Path | None = None
) -> None:
    """``runs`` rounds over the commands in turn; a command stops repeating (after one run) when
    one more run would take its total past ``budget`` seconds."""
    for _ in range(runs):
        for cell, cmd in cells:
            if cell.walls and sum(cell.walls) + cell.walls[-1] > budget:
                if "budget" not in cell.note:
                    cell.note = (cell.note + "; " if cell.note else "") + "runs cut by the budget"
                continue
            wall, rss, code = measure(cmd, cwd)
            cell.walls.append(wall)
            cell.rss_mb.append(rss)
            cell.codes.append(code)
            print(f"  {cell.label:<40} {_t(wall):>10} {rss:7.1f} MB  exit {code}", flush=True)


def tree(n: int, seed: int, cache_root: Path) -> Path:
    digest = hashlib.sha256((HERE / "generate.py").read_bytes()).hexdigest()[:12]
    path = cache_root / f"tree-n{n}-s{seed}"
    marker = path / ".complete"
    if not (marker.exists() and marker.read_text() == digest):
        print(f"generating N={n} (seed {seed}) in {path}", flush=True)
        generate(path, n, seed)
        marker.write_text(digest)
    return path


def find_tool(name: str, extra: list[Path]) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    return next((str(p) for p in extra if p.is_file() and os.access(p, os.X_OK)), None)


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({cpu}), load average {load}, "
        f"CPython {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, "
        f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC"
    )


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def verdict(value: float | None, target: float, *, at_most: bool = True) -> str:
    if value is None:
        return "not measured"
    ok = value <= target if at_most else value >= target
    return "**met**" if ok else "**not met**"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 1, 10 only; fewer runs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cell-budget", type=float, default=240.0, help="seconds per cell")
    parser.add_argument("--max-run", type=float, default=600.0, help="skip longer projected runs")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()

    cache_root = Path(tempfile.gettempdir()) / "preflight-bench"
    cache_root.mkdir(exist_ok=True)
    bindir = Path(sys.executable).parent
    preflight = find_tool("preflight", [bindir / "preflight"])
    if preflight is None:
        sys.exit("preflight is not installed in this environment (pip install -e .)")
    bare = [sys.executable, str(HERE / "bare_parse.py")]
    help_text = subprocess.run(
        [preflight, "check", "--help"], capture_output=True, text=True, check=False
    ).stdout
    has_no_cache = "--no-cache" in help_text
    has_jobs = "--jobs" in help_text
    sizes = [1, 10] if args.quick else [1, 10, 100, 300]
    small_runs, large_runs = (3, 2) if args.quick else (7, 3)

    print(f"machine: {machine()}\npreflight: {preflight}", flush=True)
    start_cells = {
        "version": Cell("preflight --version"),
        "reference": Cell("preflight check reference-service"),
        "reference_bare": Cell("bare-parse reference-service"),
    }
    run_alternating(
        [
            (start_cells["version"], [preflight, "--version"]),
            (start_cells["reference"], [preflight, "check", str(REFERENCE)]),
            (start_cells["reference_bare"], [*bare, str(REFERENCE)]),
        ],
        small_runs + 4,
        args.cell_budget,
    )

    by_n: dict[int, dict[str, Cell]] = {}
    counts: dict[int, str] = {}
    measured: list[tuple[int, float]] = []
    for n in sizes:
        root = tree(n, args.seed, cache_root)
        counts[n] = subprocess.run(
            [*bare, str(root), "-v"], capture_output=True, text=True, check=False
        ).stdout.strip()
        cold = [preflight, "check", *(["--no-cache"] if has_no_cache else []), str(root)]
        cells = {"pf": Cell(f"preflight check N={n}"), "bare": Cell(f"bare-parse N={n}")}
        plan = [(cells["pf"], cold), (cells["bare"], [*bare, str(root)])]
        projected = None
        if len(measured) >= 2:
            (n1, t1), (n2, t2) = measured[-2:]
            k = max(1.0, math.log(t2 / t1) / math.log(n2 / n1)) if t1 > 0 else 1.0
            projected = t2 * (n / n2) ** k
        if projected is not None and projected > args.max_run:
            cells["pf"].note = f"skipped: projected {projected:.0f} s > --max-run {args.max_run:g}"
            plan = [plan[1]]
            print(f"N={n}: {cells['pf'].note}", flush=True)
        if has_no_cache and not cells["pf"].note:
            cells["warm"] = Cell(f"preflight check N={n} (warm cache)")
            shutil.rmtree(root / ".preflight_cache", ignore_errors=True)
            measure([preflight, "check", str(root)])  # fill the cache (untimed)
            plan.append((cells["warm"], [preflight, "check", str(root)]))
        print(f"N={n}: {counts[n]}", flush=True)
        run_alternating(plan, small_runs if n <= 10 else large_runs, args.cell_budget)
        by_n[n] = cells
        if cells["pf"].median is not None:
            measured.append((n, cells["pf"].median))

    checkov = find_tool(
        "checkov", [Path("/tmp/checkov-venv/bin/checkov"), Path("/tmp/ckv/bin/checkov")]
    )
    hadolint = find_tool("hadolint", [])
    versus: dict[str, Cell] = {}
    if not args.quick and (checkov or hadolint):
        root = tree(CHECKOV_SERVICES, args.seed, cache_root)
        versus["pf"] = Cell(f"preflight check N={CHECKOV_SERVICES}")
        cold_pf = [preflight, "check", *(["--no-cache"] if has_no_cache else []), str(root)]
        plan = [(versus["pf"], cold_pf)]  # no cache: checkov has none either
        if checkov:
            versus["checkov"] = Cell(f"checkov -d N={CHECKOV_SERVICES}")
            cmd = [checkov, "-d", str(root), "--framework", "dockerfile", "kubernetes"]
            plan.append((versus["checkov"], [*cmd, "--skip-download", "--quiet"]))
        if hadolint:
            versus["hadolint"] = Cell(f"hadolint N={CHECKOV_SERVICES}")
            dockerfiles = sorted(str(p) for p in root.glob("services/*/Dockerfile"))
            plan.append((versus["hadolint"], [hadolint, *dockerfiles]))
        print(f"versus other tools on N={CHECKOV_SERVICES}", flush=True)
        run_alternating(plan, large_runs, args.cell_budget * 2)

    # --- the report ------------------------------------------------------------------------
    lines = [
        "# preflight benchmark results",
        "",
        f"Machine: {machine()}.  ",
        f"Command: `python benchmarks/run.py{' --quick' if args.quick else ''}` "
        f"(seed {args.seed}). "
        "Wall time: median (min-max) over n whole-process runs, alternated; RSS: peak over runs.",
        "",
        "| what | preflight wall | preflight peak RSS | bare-parse wall | bare-parse RSS "
        "| preflight / bare | exit |",
        "|---|---|---|---|---|---|---|",
    ]
    v = start_cells["version"]
    lines.append(f"| `preflight --version` | {v.summary()} | {v.rss or 0:.0f} MB | | | | |")
    ref, refb = start_cells["reference"], start_cells["reference_bare"]
    r = ratio(ref.median, refb.median)
    lines.append(
        f"| check reference-service | {ref.summary()} | {ref.rss or 0:.0f} MB | {refb.summary()} "
        f"| {refb.rss or 0:.0f} MB | {f'{r:.2f}' if r else '-'} | {sorted(set(ref.codes))} |"
    )
    for n, cells in by_n.items():
        pf, bp = cells["pf"], cells["bare"]
        r = ratio(pf.median, bp.median)
        rss = f"{pf.rss:.0f} MB" if pf.rss else "-"
        lines.append(
            f"| check N={n} | {pf.summary()} | {rss} | {bp.summary()} | {bp.rss or 0:.0f} MB "
            f"| {f'{r:.2f}' if r else '-'} | {sorted(set(pf.codes)) or '-'} |"
        )
        if "warm" in cells:
            lines.append(f"| check N={n}, warm cache | {cells['warm'].summary()} | | | | | |")
    lines += [
        "",
        "Files per tree (bare-parse counts: read, parsed, Python skipped by the filter):",
        "",
    ]
    lines += [f"- N={n}: {c}" for n, c in counts.items()]
    if versus:
        lines += ["", f"Versus other tools, same {CHECKOV_SERVICES}-service tree, alternated:", ""]
        lines += [f"- `{c.label}`: {c.summary()}, peak RSS {c.rss or 0:.0f} MB, exit "
                  f"{sorted(set(c.codes))}" for c in versus.values()]  # fmt: skip
    lines += ["", f"hadolint: {hadolint or 'not installed (not on PATH)'}; "
              f"checkov: {checkov or 'not installed'}."]  # fmt: skip

    def med(n: int, key: str = "pf") -> float | None:
        return by_n[n][key].median if n in by_n and key in by_n[n] else None

    growth = ratio(med(100), med(10))
    overhead = ratio(med(100), med(100, "bare"))
    vs_checkov = (
        ratio(versus["pf"].median, versus["checkov"].median) if "checkov" in versus else None
    )
    warm = ratio(med(100), med(100, "warm"))
    rss100 = by_n[100]["pf"].rss if 100 in by_n else None
    fmt = lambda x, unit="": "-" if x is None else f"{x:.3g}{unit}"  # noqa: E731
    lines += [
        "",
        "## Targets (issue 9)",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        f"| `preflight --version` < 80 ms | {fmt(v.median and v.median * 1000, ' ms')} "
        f"| {verdict(v.median, T_VERSION)} |",
        f"| check reference-service < 250 ms | {fmt(ref.median and ref.median * 1000, ' ms')} "
        f"| {verdict(ref.median, T_REFERENCE)} |",
        f"| N=100 < 4 s wall | {fmt(med(100), ' s')} | {verdict(med(100), T_N100)} |",
        f"| N=100 peak RSS < 250 MB | {fmt(rss100, ' MB')} | {verdict(rss100, T_RSS100)} |",
        f"| growth t(100)/t(10) <= 11 | {fmt(growth)} | {verdict(growth, T_GROWTH)} |",
        f"| preflight / bare-parse <= 1.5 at N=100 | {fmt(overhead)} "
        f"| {verdict(overhead, T_OVERHEAD)} |",
        f"| preflight <= 1/4 of checkov (N={CHECKOV_SERVICES}) | {fmt(vs_checkov)} "
        f"| {verdict(vs_checkov, T_CHECKOV)} |",
        f"| warm cache >= 3x faster at N=100 | {fmt(warm)} | "
        + (verdict(warm, T_CACHE, at_most=False) if has_no_cache else "**not met** (no cache: "
           "`check --help` has no `--no-cache`)")
        + " |",
        "| `--jobs N` process pool | - | "
        + ("present (not benchmarked)" if has_jobs else "**not met** (no `--jobs` option)") + " |",
    ]  # fmt: skip
    if 300 in by_n and by_n[300]["pf"].median is None and by_n[300]["pf"].note:
        lines += ["", f"N=300 preflight: {by_n[300]['pf'].note}."]
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    raw = {
        "start": {k: c.__dict__ for k, c in start_cells.items()},
        "by_n": {n: {k: c.__dict__ for k, c in cells.items()} for n, cells in by_n.items()},
        "versus": {k: c.__dict__ for k, c in versus.items()},
    }
    (cache_root / "results.json").write_text(json.dumps(raw, indent=1))
    print(text)


if __name__ == "__main__":
    main()
