"""Issue 15's measure of linking: in a copy of each check-set repository, point every httpGet
readinessProbe at a path no app serves, and count the repositories where PRB002 fires.

    python benchmarks/realworld/probe_mutation.py [--preflight CMD]

A repository counts as *eligible* when it has an httpGet readinessProbe in a plain manifest
(Helm templates and values are not rendered; a YAML file without apiVersion and kind is no
manifest). For each eligible one the line says whether PRB002 fired on
a mutated probe and, when not, what `preflight graph` says about that container (the reason
the join failed). Copies live under $TMPDIR/preflight-realworld-mutated/; nothing is kept here.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from score import checkout, load_repos

UNSERVED = "/__preflight_unserved__"
_PROBE = re.compile(
    r"(?P<head>readinessProbe:\s*\n(?:[ \t]+[^\n]*\n){0,6}?[ \t]+path:[ \t]*)(?P<path>[^\s#]+)"
)


def mutate(root: Path) -> list[str]:
    changed = []
    for path in sorted(root.rglob("*.y*ml")):
        if not path.is_file() or path.is_symlink():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if "readinessProbe" not in text or "{{" in text:
            continue
        if (path.parent / "Chart.yaml").exists():
            continue  # a Helm chart's values: its templates are not rendered
        if "kind:" not in text or "apiVersion:" not in text:
            continue  # not a manifest (a README's YAML block, a values file)
        new, count = _PROBE.subn(lambda m: m.group("head") + UNSERVED, text)
        if count:
            path.write_text(new, encoding="utf-8")
            changed.append(str(path.relative_to(root)))
    return changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", default="/work/.mirror")
    parser.add_argument("--preflight", default="preflight")
    args = parser.parse_args()
    work = Path(tempfile.gettempdir()) / "preflight-realworld"
    mutated_root = Path(tempfile.gettempdir()) / "preflight-realworld-mutated"
    eligible = fired = 0
    for repo in load_repos():
        source = checkout(repo, Path(args.mirror), work)
        if source is None:
            continue
        copy = mutated_root / repo.slug
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(source, copy, symlinks=True)
        changed = mutate(copy)
        if not changed:
            continue
        eligible += 1
        command = [*args.preflight.split(), "check", str(copy), "--no-cache", "--exit-zero"]
        out = subprocess.run(
            [*command, "--format", "json", "--select", "PRB002"], capture_output=True, text=True
        ).stdout
        hits = [f for f in json.loads(out)["findings"] if UNSERVED in f["message"]]
        if hits:
            fired += 1
            print(f"FIRED    {repo.name}: {len(hits)} probe(s)")
            continue
        graph = subprocess.run(
            [*args.preflight.split(), "graph", str(copy), "--format", "json"],
            capture_output=True,
            text=True,
        ).stdout
        reasons = set()
        try:
            for workload in json.loads(graph)["workloads"]:
                for container in workload["containers"]:
                    if any(p["path"] == UNSERVED for p in container["probes"]):
                        reasons.add(container["unresolved"] or "app resolved, route table partial")
        except (ValueError, KeyError):
            reasons.add("graph failed")
        print(f"SILENT   {repo.name}: {'; '.join(sorted(reasons))[:300]}")
    print(f"\nPRB002 fired in {fired} of {eligible} repositories with a mutated readiness probe")
    return 0


if __name__ == "__main__":
    sys.exit(main())
