"""An on-disk cache of parse results: ``.preflight_cache/`` in the checked root.

Keyed by preflight's version, the file's kind and path, and a hash of its content; safe to
delete. The cache lives in the checked repository, which anyone may write to, and parse results
are pickled — so every entry is signed with a key that never leaves the user's own cache
directory (``$XDG_CACHE_HOME/preflight/key``). A planted or tampered cache fails the signature
check and is ignored, never unpickled.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from preflight import __version__

CACHE_DIR = ".preflight_cache"
_FORMAT = 1
_FILE = f"parse-v{_FORMAT}.bin"


def _key() -> bytes | None:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "preflight"
    path = base / "key"
    try:
        return path.read_bytes()
    except OSError:
        pass
    try:
        base.mkdir(parents=True, exist_ok=True)
        key = os.urandom(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        return key
    except OSError:
        return None  # no private place for a key: no cache


class ParseCache:
    def __init__(self, root: Path) -> None:
        self.directory = root / CACHE_DIR
        self.key = _key()
        self.entries: dict[str, Any] = {}
        self.dirty = False
        self.hits = 0
        self.used: set[str] = set()
        if self.key is not None:
            self._load()

    def _load(self) -> None:
        assert self.key is not None
        try:
            blob = (self.directory / _FILE).read_bytes()
        except OSError:
            return
        signature, payload = blob[:32], blob[32:]
        if not hmac.compare_digest(signature, hmac.new(self.key, payload, hashlib.sha256).digest()):
            return  # not written by this user's preflight: ignore it, never unpickle it
        try:
            version, entries = pickle.loads(payload)
        except Exception:
            return
        if version == __version__ and isinstance(entries, dict):
            self.entries = entries

    @staticmethod
    def _entry_key(kind: str, path: str, text: str) -> str:
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        return f"{kind}\0{path}\0{digest}"

    def parse(self, jobs: Sequence[tuple[str, str, str]], workers: int) -> list[Any]:
        from preflight.parse.run import ParserCrash, parse_many

        keys = [self._entry_key(*job) for job in jobs]
        self.used.update(keys)
        self.dirty = self.dirty or len(self.used) != len(self.entries)
        missing = [index for index, key in enumerate(keys) if key not in self.entries]
        fresh = parse_many([jobs[i] for i in missing], workers)
        for index, result in zip(missing, fresh, strict=True):
            if not isinstance(result, ParserCrash):
                self.entries[keys[index]] = result
                self.dirty = True
        self.hits = len(jobs) - len(missing)
        by_index = dict(zip(missing, fresh, strict=True))
        return [by_index[i] if i in by_index else self.entries[keys[i]] for i in range(len(jobs))]

    def save(self) -> None:
        """Write the entries this run used (stale ones are dropped)."""
        if self.key is None or not self.dirty:
            return
        self.entries = {key: self.entries[key] for key in self.used if key in self.entries}
        try:
            self.directory.mkdir(exist_ok=True)
            gitignore = self.directory / ".gitignore"
            if not gitignore.exists():
                gitignore.write_text("# Created by preflight: safe to delete.\n*\n")
            payload = pickle.dumps((__version__, self.entries), protocol=pickle.HIGHEST_PROTOCOL)
            signature = hmac.new(self.key, payload, hashlib.sha256).digest()
            temporary = self.directory / f"{_FILE}.{os.getpid()}.tmp"
            temporary.write_bytes(signature + payload)
            temporary.replace(self.directory / _FILE)
        except OSError:
            pass  # a read-only checkout simply runs without a cache
