"""A per-user cache of parse results, kept outside the checked repository.

Where: ``$XDG_CACHE_HOME/preflight/`` (``~/.cache/preflight/`` by default), a directory of the
user's own (mode 0700): ``key``, 32 random bytes (0600), and ``parse/<root>-<python>.json``, one
file per checked root (a hash of the root's resolved path) and Python (``cpython-3.12``: what
parses differs between Pythons). Safe to delete; ``--no-cache`` neither reads nor writes it.

Why not in the repository: preflight reads repositories that may be hostile. A cache inside one
could be planted (read as ours), or be a symlink, or sit under a symlinked directory, and every
write would have to be proven not to follow a link the repository chose. Here the repository
chooses no path that is read or written: nothing is ever written under the checked root, and a
cache home that is inside the checked root (``XDG_CACHE_HOME`` or ``HOME`` pointing into it), or
whose path as given passes through it (``repo/.cache`` a link elsewhere: the link is the
repository's choice), is refused outright, so the repository can supply neither the cache nor its
key, nor choose where they are written. Inside the cache home every file is still opened
relative to a directory verified to be a real directory of this user's, with ``O_NOFOLLOW``
(and ``O_EXCL`` when created), and read only when it is a regular file of this user's, mode
0600, under a size cap: never a FIFO, a device or a link.

What: the file is JSON, read by ``preflight.codec`` into plain values and preflight's own parse
types only, so no cache can run code however it was made; an HMAC under the key detects
corruption and files not written with this key. A key or cache that is empty, truncated,
unreadable, not a regular file, or from another preflight, Python or format is ignored (an
unusable key is replaced, atomically: a concurrent run never reads a half-written key).

Not cached: a file whose text may hold a secret (every env file, any URL with user info, any
secret-sounding name, any Kubernetes Secret) is re-parsed every run, so no secret value is ever
written to disk. Results with and without the cache are identical either way.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from preflight import __version__

_FORMAT = 2
_KEY_BYTES = 32
_MAX_CACHE_BYTES = 256 * 1024 * 1024  # never read more than this, whatever the tree
_MIN_CAP = 8 * 1024 * 1024
_CAP_PER_SOURCE_BYTE = 16  # encoded results are about the size of their sources
_KEEP_FILES = 64  # cache files of other roots kept (the most recently used)
_MAX_AGE = 30 * 24 * 3600.0  # seconds a cache file of another root is kept unused
_OPEN_FLAGS = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_DIRECTORY_FLAGS = _OPEN_FLAGS | getattr(os, "O_DIRECTORY", 0)

Job = tuple[str, str, str]  # (kind, path, text)


def interpreter() -> str:
    """The Python that parses: ``cpython-3.12``. ``ast`` accepts different syntax per version."""
    return f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}"


def _cache_base() -> str | None:
    """``$XDG_CACHE_HOME`` (absolute only, as the spec says) or ``~/.cache``, links unresolved."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
        if not os.path.isabs(base):
            return None
    return base


def cache_home() -> Path | None:
    """``$XDG_CACHE_HOME/preflight``, links resolved."""
    base = _cache_base()
    return None if base is None else Path(os.path.realpath(base)) / "preflight"


def cache_name(root: Path) -> str:
    """The file (under ``cache_home()/parse``) holding the cache of ``root``."""
    resolved = os.fsencode(os.path.realpath(root))
    return f"{hashlib.sha256(resolved).hexdigest()[:32]}-{interpreter()}.json"


def may_hold_secret(kind: str, text: str) -> bool:
    """Whether a parse result of ``text`` may carry a secret value: then it is never cached.

    Deliberately broad (any env file, any secret-sounding word, any URL with user info): a
    file wrongly judged secret is only re-parsed, a secret wrongly cached is on disk.
    """
    if kind in ("env-example", "env-file"):
        return True  # every value of an env file may be a secret, whatever its name
    lowered = text.lower()
    if any(word in lowered for word in _SECRET_WORDS):
        return True
    if ("key" in lowered or "pass" in lowered) and _SECRET_NAME.search(lowered):
        return True
    return "://" in lowered and "@" in lowered and _URL_USERINFO.search(lowered) is not None


# Words of the sensitive names preflight knows (preflight.model.settings), and `Secret` (a
# Kubernetes Secret's values, base64 or not, are secrets whatever their keys are called).
_SECRET_WORDS = ("secret", "passw", "passphrase", "pwd", "token", "credential")
_SECRET_NAME = re.compile(
    r"(?:api|private|access|encryption|signing|master|client|auth|license|webhook)[_.\-]?key"
    r"|[_.\-]pass\b|\bpass[\"']?\s*[:=]"  # DB_PASS=…, PASS: …, {"PASS": …}
)
_URL_USERINFO = re.compile(r"://[^\s/?#@\"'<>]*@")  # scheme://user:password@ or token@


class ParseCache:
    """Used once per run: ``parse`` (reads the cache, parses what is missing), then ``save``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.hits = 0
        self.note: str | None = None  # why the cache is off, for --verbose
        self._home: int | None = None  # fd of cache_home()/parse, once verified
        self._key: bytes | None = None
        self._name = ""
        self._kept: dict[str, bytes] = {}  # entries to write back: key -> encoded result
        self.dirty = False

    # -- the run ------------------------------------------------------------------------------

    def parse(self, jobs: Sequence[Job], workers: int) -> list[Any]:
        """Parse results in the order of ``jobs``: from the cache where fresh, parsed otherwise."""
        from preflight.codec import CodecError, decode
        from preflight.parse.run import ParserCrash, parse_many

        stored = self._load(sum(len(text) for _, _, text in jobs))
        if self._key is None:
            return parse_many(jobs, workers)
        keys = [_entry_key(*job) for job in jobs]
        missing = [index for index, key in enumerate(keys) if key not in stored]
        storable = {i for i in missing if not may_hold_secret(jobs[i][0], jobs[i][2])}
        # Rewrite only when this run changes the file (an entry to add, or a stale one to drop);
        # otherwise each entry's encoded form is dropped as soon as it is decoded.
        rewrite = bool(storable) or len(stored) > len(keys) - len(missing)
        results: list[Any] = [None] * len(jobs)
        for index, key in enumerate(keys):
            raw = stored.pop(key, None)
            if raw is None:
                continue
            try:
                results[index] = decode(json.loads(raw), jobs[index][1])
            except (CodecError, ValueError, RecursionError):
                # Unreadable: parsed again. Hits already decoded and dropped are not written
                # back this time; the next run parses and stores them again.
                missing.append(index)
                storable.add(index)
                rewrite = True
                continue
            if rewrite:
                self._kept[key] = raw
        stored.clear()
        missing.sort()
        self.hits = len(jobs) - len(missing)
        fresh = parse_many([jobs[i] for i in missing], workers)
        for index, result in zip(missing, fresh, strict=True):
            results[index] = result
            if index in storable and not isinstance(result, ParserCrash):
                encoded = _encode(result, jobs[index][1])
                if encoded is not None:
                    self._kept[keys[index]] = encoded
        self.dirty = rewrite
        return results

    def save(self) -> None:
        """Write the entries this run used (stale ones are dropped), if anything changed."""
        try:
            if self.dirty and self._home is not None and self._key is not None:
                body = _header(self._name).encode() + b"".join(
                    json.dumps(key).encode() + b"\t" + self._kept[key] + b"\n"
                    for key in sorted(self._kept)
                )
                mac = hmac.new(self._key, body, hashlib.sha256).hexdigest().encode()
                if write_atomic(self._home, self._name, mac + b"\n" + body):
                    prune(self._home, self._name)
        finally:
            self._kept = {}
            self.dirty = False
            if self._home is not None:
                os.close(self._home)
                self._home = None

    # -- reading --------------------------------------------------------------------------------

    def _load(self, source_bytes: int) -> dict[str, bytes]:
        """The cached entries (key -> encoded result); empty when there is no usable cache."""
        self._home, self._key, self.note = open_home(self.root)
        if self._home is None or self._key is None:
            return {}
        self._name = cache_name(self.root)
        cap = min(_MAX_CACHE_BYTES, max(_MIN_CAP, _CAP_PER_SOURCE_BYTE * source_bytes))
        blob = read_private_file(self._home, self._name, cap)
        if blob is None:
            return {}
        mac, _, body = blob.partition(b"\n")
        expected = hmac.new(self._key, body, hashlib.sha256).hexdigest().encode()
        if not hmac.compare_digest(mac, expected):
            return {}  # corrupt, or not written with this key
        header, _, entries = body.partition(b"\n")
        if header + b"\n" != _header(self._name).encode():
            return {}  # another preflight, Python or format
        stored: dict[str, bytes] = {}
        for line in entries.split(b"\n"):
            key, tab, value = line.partition(b"\t")
            if not tab:
                continue
            try:
                name = json.loads(key)
            except ValueError:
                return {}
            if isinstance(name, str):
                stored[name] = value
        return stored


def _entry_key(kind: str, path: str, text: str) -> str:
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    return f"{kind}\0{path}\0{digest}"


@functools.cache
def _parsers_stamp() -> str:
    """The parsers' own code, by file size and mtime: an edited parser (an editable install, a
    development checkout) invalidates the cache even when the version number did not change."""
    import os

    parse_dir = os.path.join(os.path.dirname(__file__), "parse")
    parts: list[str] = []
    for directory, _dirs, files in sorted(os.walk(parse_dir)):
        for file in sorted(files):
            if file.endswith(".py"):
                try:
                    info = os.stat(os.path.join(directory, file))
                except OSError:
                    continue
                parts.append(f"{file}:{info.st_size}:{info.st_mtime_ns}")
    return hashlib.blake2b("|".join(parts).encode(), digest_size=8).hexdigest()


def _header(name: str) -> str:
    from preflight.codec import SCHEMA

    header = {
        "format": _FORMAT,
        "schema": SCHEMA,  # the parse result types: a changed dataclass invalidates the cache
        "parsers": _parsers_stamp(),  # the parsers' code: a changed parser does too
        "preflight": __version__,
        "python": interpreter(),
        "file": name,
    }
    return json.dumps(header, sort_keys=True) + "\n"


def _encode(result: object, path: str) -> bytes | None:
    """``result`` as one line of JSON; None when it cannot be encoded exactly (not cached)."""
    from preflight.codec import CodecError, encode

    try:
        return json.dumps(encode(result, path), separators=(",", ":")).encode()
    except (CodecError, RecursionError, ValueError):
        return None


# -- the cache home ----------------------------------------------------------------------------


def open_home(root: Path) -> tuple[int | None, bytes | None, str | None]:
    """(fd of the verified ``parse`` directory, the key, why not) for a run over ``root``."""
    if (
        not _OPEN_FLAGS
        or not {os.open, os.mkdir, os.rename, os.unlink, os.stat} <= os.supports_dir_fd
    ):
        return None, None, "parse cache off: this platform cannot open files without links"
    home = cache_home()
    if home is None:
        return None, None, "parse cache off: no home directory"
    if _overlaps(home, root):
        return None, None, f"parse cache off: its directory {home} is inside the checked root"
    given = _cache_base()
    if given is not None and _passes_through(given, root):
        return None, None, f"parse cache off: the path to {given} passes through the checked root"
    try:
        home.parent.mkdir(parents=True, exist_ok=True)  # ~/.cache: the user's, links allowed
        base = os.open(home.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return None, None, f"parse cache off: cannot use {home}"
    try:
        top = _private_directory(home.name, base)
    finally:
        os.close(base)
    if top is None:
        return None, None, f"parse cache off: {home} is not a private directory of this user"
    try:
        key = _key(top)
        parse = _private_directory("parse", top)
    finally:
        os.close(top)
    if key is None or parse is None:
        if parse is not None:
            os.close(parse)
        return None, None, f"parse cache off: cannot use {home}"
    return parse, key, None


def _overlaps(home: Path, root: Path) -> bool:
    """Whether the cache home is inside the checked root (or the root inside it).

    Compared by device and inode along each path's ancestors, so a different spelling, case or
    bind mount of the same directory is still recognised.
    """
    try:
        root_info = os.stat(root)
    except OSError:
        return True  # a root that cannot be examined: no cache rather than a guess
    home_info = _identity(home)
    for ancestor in (home, *home.parents):
        if _identity(ancestor) == (root_info.st_dev, root_info.st_ino):
            return True  # the repository would supply the key and the cache
    resolved = Path(os.path.realpath(root))
    return home_info is not None and any(
        _identity(ancestor) == home_info for ancestor in (resolved, *resolved.parents)
    )


def _passes_through(given: str, root: Path) -> bool:
    """Whether the walk to ``given`` enters the checked root on its way, at any component.

    ``XDG_CACHE_HOME=repo/.cache`` with ``repo/.cache`` a link elsewhere resolves outside the
    root, but the link was the repository's: it would choose where the cache is written (and
    read). So every prefix of the path as given is resolved, and none may be inside the root.
    """
    try:
        root_info = os.stat(root)
    except OSError:
        return True  # a root that cannot be examined: no cache rather than a guess
    root_id = (root_info.st_dev, root_info.st_ino)
    parts = Path(given).parts
    prefix = Path(parts[0])
    for part in parts[1:]:
        prefix = prefix / part
        resolved = Path(os.path.realpath(prefix))
        if any(_identity(ancestor) == root_id for ancestor in (resolved, *resolved.parents)):
            return True
    return False


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None  # not created yet
    return info.st_dev, info.st_ino


def _private_directory(name: str, dir_fd: int) -> int | None:
    """An fd of directory ``name`` in ``dir_fd`` (made 0700 if missing) if it is a real
    directory (not a link) of this user's that nobody else may write to; None otherwise."""
    try:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o700, dir_fd=dir_fd)
        fd = os.open(name, os.O_RDONLY | _DIRECTORY_FLAGS, dir_fd=dir_fd)
    except OSError:
        return None
    info = os.fstat(fd)
    if (
        not stat.S_ISDIR(info.st_mode)
        or info.st_uid != os.geteuid()
        or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    ):
        os.close(fd)
        return None
    return fd


def _key(dir_fd: int) -> bytes | None:
    """This user's signing key, made if missing or unusable (never an empty or short one)."""
    key = read_private_file(dir_fd, "key", _KEY_BYTES)
    if key is not None and len(key) == _KEY_BYTES:
        return key
    key = secrets.token_bytes(_KEY_BYTES)
    return key if write_atomic(dir_fd, "key", key) else None


def read_private_file(dir_fd: int, name: str, cap: int) -> bytes | None:
    """The content of ``name`` if it is a regular file of this user's, mode 0600 or stricter,
    of at most ``cap`` bytes; None otherwise. Never follows a link, never blocks on a FIFO."""
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | _OPEN_FLAGS, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if (
            not stat.S_ISREG(info.st_mode)
            or info.st_uid != os.geteuid()
            or info.st_mode & 0o077
            or info.st_size > cap
        ):
            return None
        chunks: list[bytes] = []
        size = 0
        while size <= cap:
            chunk = os.read(fd, min(1 << 20, cap + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks) if size <= cap else None
    except OSError:
        return None
    finally:
        os.close(fd)


def write_atomic(dir_fd: int, name: str, data: bytes | Iterable[bytes]) -> bool:
    """Replace ``name`` by a new 0600 file holding ``data`` (bytes, or chunks of them written
    in turn), or leave it as it was.

    The new file is created with O_EXCL|O_NOFOLLOW under a random name (nothing planted is
    reused or followed) and renamed over ``name`` (a rename replaces a link, never writes
    through it). A reader sees the old file or the whole new one, never a partial write.
    """
    temporary = f".{name}.{os.getpid()}.{secrets.token_hex(8)}.tmp"
    try:
        fd = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_FLAGS, 0o600, dir_fd=dir_fd
        )
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(data, bytes):
                handle.write(data)
            else:
                for chunk in data:
                    handle.write(chunk)
        os.replace(temporary, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        return True
    except OSError:  # a full disk, most likely: no partial file is left behind
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=dir_fd)
        return False


def prune(dir_fd: int, current: str) -> None:
    """Drop cache files of roots not checked for a long time (and leftovers of killed runs)."""
    try:
        names = os.listdir(dir_fd)
    except OSError:
        return
    now = time.time()
    dated: list[tuple[float, str]] = []
    for name in names:
        if name == current:
            continue
        try:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            continue
        if name.endswith(".tmp") and now - info.st_mtime > 3600:
            _unlink(dir_fd, name)
        elif name.endswith(".json"):
            dated.append((info.st_mtime, name))
    dated.sort(reverse=True)
    for position, (mtime, name) in enumerate(dated):
        if position >= _KEEP_FILES - 1 or now - mtime > _MAX_AGE:
            _unlink(dir_fd, name)


def _unlink(dir_fd: int, name: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name, dir_fd=dir_fd)
