"""Fingerprints and baselines: adopt preflight in a repository that already has findings.

A fingerprint names a finding by what it is, not where it is: the rule, the file, the message
with line numbers removed, and the text of the line it points at (whitespace-normalised), plus an
occurrence counter for identical findings in one file. Inserting lines above it or reordering
files leaves it unchanged; changing the finding (or the line it is about) changes it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from preflight.findings import Finding

BASELINE_VERSION = 1


def _normalise(message: str) -> str:
    return re.sub(r":\d+(:\d+)?\b", "", message)


def fingerprint_all(findings: Sequence[Finding], sources: dict[str, list[str]]) -> list[Finding]:
    seen: Counter[str] = Counter()
    out: list[Finding] = []
    for finding in findings:
        lines = sources.get(finding.span.path, [])
        line = lines[finding.span.line - 1] if 0 < finding.span.line <= len(lines) else ""
        basis = "\0".join(
            (finding.code, finding.span.path, _normalise(finding.message), " ".join(line.split()))
        )
        seen[basis] += 1
        data = f"{basis}\0{seen[basis]}".encode("utf-8", "surrogateescape")
        digest = hashlib.sha256(data).hexdigest()[:20]
        out.append(replace(finding, fingerprint=digest))
    return out


class BaselineError(Exception):
    """The baseline file cannot be read; the message is one line."""


def read_baseline(path: Path) -> dict[str, dict[str, str]]:
    """Fingerprint -> {code, path, message} of the findings recorded in a baseline."""
    try:
        if not path.is_file():
            raise BaselineError(f"baseline {path} is not a regular file")
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise BaselineError(f"baseline {path} is not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != BASELINE_VERSION:
        raise BaselineError(
            f"baseline {path} is not a preflight baseline (version {BASELINE_VERSION})"
        )
    entries = data.get("findings", [])
    if not isinstance(entries, list):
        raise BaselineError(f"baseline {path}: `findings` should be a list")
    return {
        str(entry["fingerprint"]): {k: str(v) for k, v in entry.items()}
        for entry in entries
        if isinstance(entry, dict) and "fingerprint" in entry
    }


def write_baseline(path: Path, findings: Sequence[Finding]) -> None:
    entries = [
        {"fingerprint": f.fingerprint, "code": f.code, "path": f.span.path, "message": f.message}
        for f in findings
    ]
    document = {"version": BASELINE_VERSION, "tool": "preflight", "findings": entries}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
