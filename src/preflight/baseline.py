"""Fingerprints and baselines: adopt preflight in a repository that already has findings.

A fingerprint names a finding by what it is, not where it is: the rule, the file, the message
with line numbers removed, and the text of the line it points at (whitespace-normalised), plus an
occurrence counter for identical findings in one file. Inserting lines above it or reordering
files leaves it unchanged; changing the finding (or the line it is about) changes it.

When several roots are checked in one run, each finding's fingerprint also names its root,
relative to the roots' common directory (see :func:`under_root`): ``preflight check a b`` never
gives two findings one fingerprint, and it does not matter how the roots are spelled or where
the repository is checked out. A run of one root fingerprints exactly as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
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


def root_names(roots: Sequence[Path]) -> list[str]:
    """Each root's path relative to the common directory of all (``.`` for a single root), in
    ``/`` form: the same whatever the working directory, spelling or checkout location."""
    real = [os.path.realpath(root) for root in roots]
    if len(real) < 2:
        return ["."] * len(real)
    common = os.path.commonpath(real)
    return [Path(os.path.relpath(path, common)).as_posix() for path in real]


def under_root(findings: Sequence[Finding], root_name: str) -> list[Finding]:
    """The findings with fingerprints that also name their root (unchanged for ``.``)."""
    if root_name == ".":
        return list(findings)
    out = []
    for finding in findings:
        data = f"{root_name}\0{finding.fingerprint}".encode("utf-8", "surrogateescape")
        out.append(replace(finding, fingerprint=hashlib.sha256(data).hexdigest()[:20]))
    return out


class BaselineError(Exception):
    """The baseline file cannot be read or written; the message is one line."""


def read_baseline(path: Path) -> dict[str, dict[str, str]]:
    """Fingerprint -> {code, path, message} of the findings recorded in a baseline."""
    try:
        if not path.exists():
            raise BaselineError(
                f"baseline {path} does not exist (record one with --write-baseline {path})"
            )
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
    data = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode(
        "utf-8", "backslashreplace"
    )
    try:
        if path.exists() and not path.is_file():
            # Renaming over a FIFO or a device (`--write-baseline /dev/null`, run as root)
            # would replace it with a file: a mistake, not a wish.
            raise BaselineError(f"cannot write baseline {path}: not a regular file")
        _replace_atomically(path, data)
    except OSError as exc:
        raise BaselineError(f"cannot write baseline {path}: {exc.strerror or exc}") from None


def _replace_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so a reader sees the old file or the new one, never a part:
    a new file beside it (created exclusively, so no planted link is followed), synced, then
    renamed over it. On any failure the old file is untouched and the new one removed."""
    directory = path.parent
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(handle.fileno(), 0o666 & ~umask)  # as an ordinary new file, not 0600
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
