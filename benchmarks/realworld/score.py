"""Score a preflight build against the real-repository check set.

The check set is public repositories pinned to a commit (``repos.toml``) and a verdict on every
finding preflight has reported on each (``verdicts/<owner>+<name>.toml``): true, false or
debatable, with the reason. No file of those repositories is kept here: each is exported at its
commit from a local mirror (the git directories that the search tool's ``fetch`` brings, under
``$PREFLIGHT_MIRROR``, default ``/work/.mirror``) into ``$TMPDIR/preflight-realworld/``.

    python benchmarks/realworld/score.py              # table per rule, unjudged findings listed
    python benchmarks/realworld/score.py --write      # also rewrite benchmarks/realworld/RESULTS.md
    python benchmarks/realworld/score.py --only owner/name --show   # every finding, with verdicts

Precision is true / (true + false + debatable): a debatable finding is not one a maintainer
would accept without argument. A verdict whose finding no longer appears is reported as *lost*
(a lost true finding is a regression, a lost false one an improvement).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
VERDICTS = ("true", "false", "debatable")
# Bumped when an export made by an older score.py lacks something the rules read; an older
# export is then written again. 2: executable bits kept (RUN006 reads them).
EXPORT_FORMAT = "2"


@dataclass(frozen=True)
class Repo:
    name: str  # owner/name
    commit: str
    framework: str
    note: str

    @property
    def slug(self) -> str:
        return self.name.replace("/", "+")


def load_repos() -> list[Repo]:
    data = tomllib.loads((HERE / "repos.toml").read_text(encoding="utf-8"))
    return [
        Repo(r["name"], r["commit"], r.get("framework", "?"), r.get("note", ""))
        for r in data["repo"]
    ]


def load_verdicts(repo: Repo) -> dict[tuple[str, str, int], dict[str, str]]:
    path = HERE / "verdicts" / f"{repo.slug}.toml"
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out = {}
    for item in data.get("finding", []):
        if item["verdict"] not in VERDICTS:
            raise SystemExit(f"{path}: verdict must be one of {VERDICTS}: {item}")
        out[(item["code"], item["path"], int(item["line"]))] = item
    return out


def checkout(repo: Repo, mirror: Path, work: Path) -> Path | None:
    """The repository's files at its pinned commit (exported once, then reused)."""
    target = work / f"{repo.slug}@{repo.commit[:12]}"
    marker = target / ".exported"
    if marker.exists() and marker.read_text().split() == [repo.commit, EXPORT_FORMAT]:
        return target
    git_dir = mirror / repo.slug / "repo"
    if not git_dir.exists():
        return None
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as archive:
        proc = subprocess.run(
            ["git", "--git-dir", str(git_dir), "archive", "--format=tar", repo.commit],
            stdout=archive,
            stderr=subprocess.DEVNULL,
        )
        if proc.returncode == 0:
            archive.seek(0)
            with tarfile.open(fileobj=archive) as tar:
                tar.extractall(target, filter="data")
        else:  # the snapshot lacks some blobs (files of 4 MiB and more): export the rest
            export_present_blobs(git_dir, repo.commit, target)
    marker.write_text(f"{repo.commit} {EXPORT_FORMAT}")
    return target


def export_present_blobs(git_dir: Path, commit: str, target: Path) -> None:
    """Write every regular file of ``commit`` whose blob the mirror holds; skip absent ones."""
    git = ["git", "--git-dir", str(git_dir)]
    listing = subprocess.run(
        [*git, "ls-tree", "-r", "-z", commit], capture_output=True, check=True
    ).stdout
    entries: list[tuple[str, str, bool]] = []  # (sha, path, executable)
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        mode, kind, sha = meta.split()
        if kind == b"blob" and mode in (b"100644", b"100755"):
            path = raw_path.decode("utf-8", "surrogateescape")
            entries.append((sha.decode(), path, mode == b"100755"))
    batch = subprocess.run(
        [*git, "cat-file", "--batch"],
        input="".join(f"{sha}\n" for sha, _, _ in entries).encode(),
        capture_output=True,
        check=True,
    ).stdout
    pos = 0
    for _sha, path, executable in entries:
        end = batch.index(b"\n", pos)
        header = batch[pos:end].split()
        pos = end + 1
        if header[-1] == b"missing":
            continue
        size = int(header[2])
        data = batch[pos : pos + size]
        pos += size + 1
        dest = (target / path).resolve()
        if not dest.is_relative_to(target.resolve()):
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        if executable:  # as a checkout would: RUN006 reads the executable bit
            dest.chmod(0o755)


def run_preflight(root: Path, preflight: list[str]) -> list[dict[str, object]]:
    proc = subprocess.run(
        [*preflight, "check", str(root), "--format", "json", "--no-cache", "--exit-zero"],
        capture_output=True,
        text=True,
        cwd=root,
    )
    if proc.returncode != 0:
        return [{"code": "CRASH", "path": "-", "line": 0, "message": proc.stderr.strip()[-500:]}]
    findings: list[dict[str, object]] = json.loads(proc.stdout)["findings"]
    prefix = str(root).rstrip("/") + "/"
    for finding in findings:  # paths relative to the repository
        path = str(finding["path"])
        finding["path"] = path[len(prefix) :] if path.startswith(prefix) else path
    return findings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", default=os.environ.get("PREFLIGHT_MIRROR", "/work/.mirror"))
    parser.add_argument(
        "--work", default=os.path.join(tempfile.gettempdir(), "preflight-realworld")
    )
    parser.add_argument("--only", action="append", help="owner/name (repeatable)")
    parser.add_argument("--show", action="store_true", help="print every finding with its verdict")
    parser.add_argument("--write", action="store_true", help="rewrite RESULTS.md")
    parser.add_argument(
        "--preflight", default="preflight", help="the command to run (default: preflight)"
    )
    args = parser.parse_args()
    mirror, work = Path(args.mirror), Path(args.work)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    lines: list[str] = []
    missing: list[str] = []
    for repo in load_repos():
        if args.only and repo.name not in args.only:
            continue
        root = checkout(repo, mirror, work)
        if root is None:
            missing.append(repo.name)
            continue
        verdicts = load_verdicts(repo)
        seen: set[tuple[str, str, int]] = set()
        findings = run_preflight(root, args.preflight.split())
        for f in findings:
            key = (str(f["code"]), str(f["path"]), int(str(f["line"])))
            seen.add(key)
            verdict = verdicts.get(key, {}).get("verdict", "unjudged")
            counts[key[0]][verdict] += 1
            if args.show or verdict == "unjudged":
                lines.append(f"{repo.name}: {verdict:9} {key[0]} {key[1]}:{key[2]} {f['message']}")
        for key, item in verdicts.items():
            if key not in seen:
                counts[key[0]][f"lost-{item['verdict']}"] += 1
                lines.append(f"{repo.name}: LOST {item['verdict']} {key[0]} {key[1]}:{key[2]}")
        counts["(repositories)"]["checked"] += 1
    table = render(counts)
    print(table)
    if lines:
        print("\n".join(lines))
    if missing:
        print(f"not in the mirror (fetch them first): {', '.join(missing)}", file=sys.stderr)
    if args.write:
        (HERE / "RESULTS.md").write_text(
            "# Real-repository check set: latest score\n\n"
            "Written by `python benchmarks/realworld/score.py --write`.\n\n" + table + "\n",
            encoding="utf-8",
        )
    return 0


def render(counts: dict[str, Counter[str]]) -> str:
    head = "| rule | findings | true | false | debatable | unjudged | precision | lost true |"
    rows = [head, "|---|---|---|---|---|---|---|---|"]
    total: Counter[str] = Counter()
    repos = counts.pop("(repositories)", Counter())["checked"]
    for code in sorted(counts):
        c = counts[code]
        total.update(c)
        rows.append(_row(code, c))
    rows.append(_row("**all**", total))
    return f"{repos} repositories\n\n" + "\n".join(rows)


def _row(label: str, c: Counter[str]) -> str:
    judged = c["true"] + c["false"] + c["debatable"]
    found = judged + c["unjudged"]
    precision = f"{100 * c['true'] / judged:.0f} %" if judged else "-"
    return (
        f"| {label} | {found} | {c['true']} | {c['false']} | {c['debatable']} | "
        f"{c['unjudged']} | {precision} | {c['lost-true']} |"
    )


if __name__ == "__main__":
    sys.exit(main())
