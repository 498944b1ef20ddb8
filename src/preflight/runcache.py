"""Run records: a whole check's result, reused while nothing it read has changed.

A pre-commit hook runs preflight on every commit, and most commits change nothing it reads. The
parse cache (preflight.cache) saves the parsing, but a run that uses it still reads and hashes
every file, decodes every parse result, links the graph and runs every rule. A run record saves
all of that: it holds the result of the last run with the same inputs, and the facts of the
walk that run made. A run whose own walk (which reads nothing but directories and ``stat``)
finds the same files, each with the same size, mtime, inode and mode, reports that result.

- A file whose stat changed but whose bytes did not (``touch``, a checkout that rewrote it) is
  read and compared by content hash; the record is still used, and rewritten with the new stat.
- A file modified within two seconds before the recorded walk ("racily clean", as git calls
  it: a second edit in the same timestamp tick would keep its stat) is always compared by hash.
- A shell script whose executable bit comes from the git index: when the index changed, the
  bits are read again and compared.
- The key of a record is everything else a result depends on: preflight's own code (every file
  of the package, by size and mtime, so an edited checkout never reuses an old result), the
  Python, the root as shown, the configuration, the command line's selection and paths.

Where and how: beside the parse cache (``~/.cache/preflight/parse/``), one file per root and
key, with the same protections: the cache home is never inside the checked repository, files
are opened without following links, written atomically, mode 0600, signed with the user's key
(HMAC), and decoded from JSON into an allowlist of preflight's own result types, so no record
can run code. A record holds only what the report prints, after preflight.redact: never a
file's text, never a secret value.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from preflight.cache import (
    cache_name,
    interpreter,
    open_home,
    prune,
    read_private_file,
    write_atomic,
)
from preflight.discover import FileKind, Inventory, content_digest, read_head
from preflight.findings import Applicability, Autofix, Edit, Finding, RuleInfo, Severity
from preflight.result import Result, Suppressed
from preflight.spans import Related, Span

__all__ = ["RunRecord", "package_stamp"]

_FORMAT = 3
_RACY_NS = 2_000_000_000  # a file modified this close before the walk is compared by content
_MAX_RECORD_BYTES = 64 * 1024 * 1024


@functools.cache
def package_stamp() -> str:
    """Every file of the preflight package by path, size and mtime: a record made by other code
    (an edited checkout, another version) is never used."""
    top = os.path.dirname(__file__)
    parts: list[str] = []
    for directory, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            try:
                info = os.stat(os.path.join(directory, name))
            except OSError:
                continue
            parts.append(
                f"{os.path.relpath(directory, top)}/{name}:{info.st_size}:{info.st_mtime_ns}"
            )
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=16).hexdigest()


def _walk_digest(inventory: Inventory) -> str:
    """What the walk found, but the files' stats: every path, what it chose to read (and as
    what), and every note it made."""
    hasher = hashlib.blake2b(digest_size=16)
    for path in sorted(inventory.all_paths):
        hasher.update(path.encode("utf-8", "surrogatepass") + b"\0")
    hasher.update(b"\1")
    for pending in inventory.pending:
        hasher.update(f"{pending.path}\0{pending.kind.value}\0".encode("utf-8", "surrogatepass"))
    hasher.update(b"\1")
    hasher.update(repr(inventory.skipped).encode("utf-8", "surrogatepass"))
    hasher.update(repr(sorted(inventory.ignored)).encode("utf-8", "surrogatepass"))
    return hasher.hexdigest()


class RunRecord:
    """One root's record for one key: :meth:`lookup` before reading, :meth:`store` after."""

    def __init__(self, root: Path, key: object) -> None:
        self.root = root
        digest = hashlib.blake2b(
            repr((package_stamp(), interpreter(), key)).encode("utf-8", "surrogatepass"),
            digest_size=12,
        ).hexdigest()
        self._name = cache_name(root).removesuffix(".json") + f"-{digest}.run"
        self._key_digest = digest
        self.note: str | None = None  # --verbose: what the record did
        self._walk = ""  # the digest of the walk lookup() saw, for store()
        self._scripts: list[str] = []  # the shell scripts that walk chose to read

    def lookup(self, inventory: Inventory, walked_ns: int) -> Result | None:
        """The recorded result, if the walk in ``inventory`` (made at ``walked_ns``, nothing
        read yet) shows nothing it depends on has changed; None otherwise. Called before every
        :meth:`store`."""
        self._walk = _walk_digest(inventory)
        self._scripts = sorted(p.path for p in inventory.pending if p.kind is FileKind.SHELL)
        record = self._read()
        if record is None:
            return None
        try:
            if record["walk"] != self._walk:
                return None
            files: dict[str, list[Any]] = record["files"]
            if files.keys() != inventory.stats.keys():
                return None
            written = int(record["written_ns"])
            restat = False
            reading = {pending.path for pending in inventory.pending}
            for path, now in inventory.stats.items():
                then = files[path]
                same = list(now) == then[:4]
                if same and int(then[1]) < written - _RACY_NS:
                    continue
                digest = then[4]
                if digest is None:
                    return None  # a file that could not be read: changed
                if path in reading:
                    try:
                        data: bytes | None = (Path(inventory.root) / path).read_bytes()
                    except OSError:
                        return None
                else:  # an extensionless file: only its start was looked into
                    data = read_head(Path(inventory.root) / path)
                if data is None or content_digest(data) != digest:
                    return None
                restat = restat or not same
            if not self._same_modes(inventory, record):
                return None
            result = _decode_result(record["result"])
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            return None  # not a record this code wrote
        if restat:  # bytes unchanged, stat changed: keep the new stat for the next run
            digests = {path: then[4] for path, then in files.items()}
            self.store(inventory, result, walked_ns, record.get("scripts"), digests)
        self.note = (
            "run record: nothing preflight reads changed since the last run; its result reused"
        )
        return result

    def store(
        self,
        inventory: Inventory,
        result: Result,
        walked_ns: int,
        scripts: object = None,
        digests: dict[str, str | None] | None = None,
    ) -> None:
        """Record ``result`` for the walk in ``inventory`` (made at ``walked_ns``, then read)."""
        if result.internal_errors or not self._walk:
            return  # a rule that crashed found nothing: run again next time
        known = {**inventory.heads, **inventory.digests} if digests is None else digests
        files = {path: [*stat, known.get(path)] for path, stat in inventory.stats.items()}
        if scripts is None:
            scripts = self._modes(inventory)
        head = json.dumps(
            {
                "format": _FORMAT,
                "key": self._key_digest,
                "written_ns": walked_ns,
                "walk": self._walk,
                "files": files,
                "scripts": scripts,
            },
            separators=(",", ":"),
        )
        # The body as encoded pieces, each finding encoded once (a result of 20,000 findings is
        # never one tree of encoded values, nor one string beside its bytes), signed last.
        try:
            pieces = (f'{head[:-1]},"result":', *_dumps(_result_fields(result)), "}")
        except ValueError:
            return  # a value the allowlist refuses: no record, the next run checks again
        home, key, _ = open_home(self.root)
        if home is None or key is None:
            return
        mac = hmac.new(key, digestmod=hashlib.sha256)

        def chunks() -> Iterator[bytes]:
            for piece in pieces:
                data = piece.encode()
                mac.update(data)
                yield data
            yield b"\n" + mac.hexdigest().encode()

        try:
            if write_atomic(home, self._name, chunks()):
                prune(home, self._name)
        finally:
            os.close(home)

    # -- reading ---------------------------------------------------------------------------

    def _read(self) -> dict[str, Any] | None:
        home, key, why = open_home(self.root)
        if home is None or key is None:
            self.note = why
            return None
        try:
            blob = read_private_file(home, self._name, _MAX_RECORD_BYTES)
        finally:
            os.close(home)
        if blob is None:
            return None
        body, _, mac = blob.rpartition(b"\n")
        if not hmac.compare_digest(mac, hmac.new(key, body, hashlib.sha256).hexdigest().encode()):
            return None
        try:
            record = json.loads(body)
        except ValueError:
            return None
        if (
            not isinstance(record, dict)
            or record.get("format") != _FORMAT
            or record.get("key") != self._key_digest
        ):
            return None
        return record

    # -- shell scripts' modes from the git index -------------------------------------------

    def _modes(self, inventory: Inventory) -> list[Any] | None:
        """The index's identity and each script's executable bit in it, when a script's mode
        comes from there; None when no script is read."""
        from preflight.gitindex import index_identity, tracked_modes

        scripts = self._scripts
        if not scripts:
            return None
        modes = tracked_modes(inventory.root)
        bits = [modes.executable.get(path) if modes is not None else None for path in scripts]
        identity = index_identity(inventory.root)
        return [list(identity) if identity is not None else None, scripts, bits]

    def _same_modes(self, inventory: Inventory, record: dict[str, Any]) -> bool:
        from preflight.gitindex import index_identity

        stored = record.get("scripts")
        scripts = self._scripts
        if stored is None:
            return not scripts
        identity = index_identity(inventory.root)
        if stored[1] != scripts:
            return False
        if (list(identity) if identity is not None else None) == stored[0]:
            return True
        now = self._modes(inventory)
        return now is not None and now[1:] == stored[1:]


# -- the result, as JSON over an allowlist -----------------------------------------------------

_CLASSES: dict[str, type[Any]] = {
    cls.__name__: cls for cls in (Finding, Span, Related, Autofix, Edit, Suppressed, RuleInfo)
}
_ENUMS: dict[str, type[enum.Enum]] = {"Severity": Severity, "Applicability": Applicability}


def _result_fields(result: Result) -> dict[str, Any]:
    return {
        "root": result.root,
        "findings": result.findings,
        "sources": result.sources,
        "notes": result.notes,
        "files_checked": result.files_checked,
        "suppressed": result.suppressed,
        "suppressions": result.suppressions,
        "deployable": result.deployable,
        # as RuleInfo (a rule's identity: all a reporter knows of it), not the rule itself
        "rules": tuple(
            RuleInfo(**{f.name: getattr(rule, f.name) for f in dataclasses.fields(RuleInfo)})
            for rule in result.rules
        ),
    }


def _dumps(fields: dict[str, Any]) -> Iterator[str]:
    """``_encode(fields)`` as pieces of JSON text, a list's items one at a time."""
    yield '{"m":{'
    for index, (name, value) in enumerate(fields.items()):
        yield f"{',' if index else ''}{json.dumps(name)}:"
        if isinstance(value, list):
            yield "["
            for position, item in enumerate(value):
                text = json.dumps(_encode(item), separators=(",", ":"))
                yield f",{text}" if position else text
            yield "]"
        else:
            yield json.dumps(_encode(value), separators=(",", ":"))
    yield "}}"


def _encode(value: Any) -> Any:
    if type(value) is Span:  # most of a result: a list, not a tagged object
        return {"s": [value.path, value.line, value.col, value.end_line, value.end_col]}
    if isinstance(value, enum.Enum):
        name = type(value).__name__
        if _ENUMS.get(name) is not type(value):
            raise ValueError(name)
        return {"e": name, "v": value.value}
    if value is None or type(value) in (str, int, bool, float):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if _CLASSES.get(name) is not type(value):
            raise ValueError(name)
        return {
            "d": name,
            "f": [_encode(getattr(value, f.name)) for f in dataclasses.fields(value)],
        }
    if isinstance(value, tuple):
        return {"t": [_encode(item) for item in value]}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, dict) and all(type(k) is str for k in value):
        return {"m": {k: _encode(v) for k, v in value.items()}}
    raise ValueError(type(value).__name__)


def _decode(data: Any) -> Any:
    if data is None or type(data) in (str, int, bool, float):
        return data
    if isinstance(data, list):
        return [_decode(item) for item in data]
    if not isinstance(data, dict):
        raise ValueError("not a record value")
    if "s" in data:
        path, line, col, end_line, end_col = data["s"]
        return Span(str(path), int(line), int(col), int(end_line), int(end_col))
    if "e" in data:
        return _ENUMS[data["e"]](data["v"])
    if "d" in data:
        cls = _CLASSES[data["d"]]
        fields = dataclasses.fields(cls)
        values = data["f"]
        if len(values) != len(fields):
            raise ValueError(cls.__name__)
        return cls(**{f.name: _decode(v) for f, v in zip(fields, values, strict=True)})
    if "t" in data:
        return tuple(_decode(item) for item in data["t"])
    if "m" in data:
        return {str(k): _decode(v) for k, v in data["m"].items()}
    raise ValueError("not a record value")


def _decode_result(data: Any) -> Result:
    fields = _decode(data)
    if not isinstance(fields, dict):
        raise ValueError("not a result")
    return Result(
        fields["root"],
        fields["findings"],
        fields["sources"],
        fields["notes"],
        fields["files_checked"],
        [],
        rules=fields["rules"],
        suppressed=fields["suppressed"],
        suppressions=fields["suppressions"],
        deployable=fields["deployable"],
    )
