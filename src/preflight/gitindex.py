"""The file modes git records: which files of the checked tree git says are executable.

A script's executable bit travels from git, not from the developer's disk: CI checks the
repository out and ``docker build`` copies the mode it finds, so a script committed as 100644
arrives in the image without ``x`` even if it is executable on the machine that wrote it.

This module reads the modes from the git *index* (``.git/index``), a documented binary format
(gitformat-index(5)), in Python. It never runs ``git``: a repository's own configuration can make
``git`` execute programs (``core.fsmonitor``, filters, hooks), and preflight never executes
anything from the checked repository. Reading is bounded and defensive; whatever cannot be read
for sure (a split index, an unknown version, a truncated file, a file over the size cap) gives
None, and callers fall back to the file system or stay silent.

Format (versions 2, 3 and 4): a 12-byte header ``DIRC``, version, entry count; then per entry
ten 32-bit fields (ctime, mtime, dev, ino, **mode**, uid, gid, size), the object name (20 bytes
for SHA-1, 32 for SHA-256), 16-bit flags (stage in bits 12-13, ``extended`` in bit 14, name
length in the low 12 bits), in version 3+ 16 more bits of flags when ``extended`` is set, and
the path: NUL-terminated and padded to a multiple of 8 bytes (2 and 3), or prefix-compressed
against the previous path with no padding (4). Extensions follow, each a 4-byte signature; the
``link`` extension means a split index, whose entries live in another file: not read.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path

MAX_INDEX_BYTES = 64 * 1024 * 1024
"""A larger index is not read (a monorepo's index of a million entries is ~100 MB)."""

_HEADER = struct.Struct(">4sII")
_FIELDS = struct.Struct(">10I")  # ctime s/ns, mtime s/ns, dev, ino, mode, uid, gid, size
_REGULAR = 0o100000
_TYPE_MASK = 0o170000
_SHA256 = re.compile(r"^\s*objectformat\s*=\s*sha256\s*$", re.I | re.M)


@dataclass(frozen=True, slots=True)
class TrackedModes:
    """What the index of the repository holding the checked root says about its files."""

    executable: dict[str, bool]  # path relative to the checked root -> mode 100755


def tracked_modes(root: Path) -> TrackedModes | None:
    """The executable bit of every regular file the index tracks under ``root``; None when no
    repository holds ``root`` or its index cannot be read for sure."""
    found = _repository(root)
    if found is None:
        return None
    top, git_dir = found
    try:
        data = _read_bounded(git_dir / "index")
        config = _read_bounded(_common_dir(git_dir) / "config", 1024 * 1024) or b""
    except OSError:
        return None
    if data is None:
        return None
    hash_size = 32 if _SHA256.search(config.decode("utf-8", "replace")) else 20
    entries = parse_index(data, hash_size)
    if entries is None:
        return None
    try:
        prefix = Path(os.path.realpath(root)).relative_to(os.path.realpath(top)).as_posix()
    except ValueError:
        return None
    prefix = "" if prefix == "." else prefix + "/"
    return TrackedModes(
        {
            path[len(prefix) :]: executable
            for path, executable in entries.items()
            if path.startswith(prefix)
        }
    )


def parse_index(data: bytes, hash_size: int = 20) -> dict[str, bool] | None:
    """Path (as git stores it, ``/``-separated) -> executable, for each regular file at stage
    0; None for anything not read for sure."""
    if len(data) < _HEADER.size:
        return None
    signature, version, count = _HEADER.unpack_from(data, 0)
    if signature != b"DIRC" or version not in (2, 3, 4):
        return None
    out: dict[str, bool] = {}
    position = _HEADER.size
    previous = b""
    fixed = _FIELDS.size + hash_size + 2
    for _ in range(count):
        start = position
        if position + fixed > len(data):
            return None
        mode = _FIELDS.unpack_from(data, position)[6]
        (flags,) = struct.unpack_from(">H", data, position + _FIELDS.size + hash_size)
        position += fixed
        if flags & 0x4000:
            if version < 3:
                return None
            position += 2
        if version == 4:
            strip, position = _varint(data, position)
            if strip is None or strip > len(previous):
                return None
            end = data.find(b"\0", position)
            if end < 0:
                return None
            name = previous[: len(previous) - strip] + data[position:end]
            position = end + 1
        else:
            end = data.find(b"\0", position)
            if end < 0:
                return None
            name = data[position:end]
            # 1 to 8 NULs pad the entry to a multiple of 8 bytes
            position = start + ((end - start) // 8 + 1) * 8
            if position > len(data):
                return None
        previous = name
        stage = (flags >> 12) & 0x3
        if stage == 0 and mode & _TYPE_MASK == _REGULAR:
            out[name.decode("utf-8", "surrogateescape")] = bool(mode & 0o111)
    if _has_extension(data, position, hash_size, b"link"):
        return None  # split index: the entries are in a shared index file
    return out


def _varint(data: bytes, position: int) -> tuple[int | None, int]:
    """git's offset varint (varint.c): big-endian 7-bit groups, each continuation adding 1."""
    if position >= len(data):
        return None, position
    byte = data[position]
    position += 1
    value = byte & 0x7F
    while byte & 0x80:
        if position >= len(data) or value > 1 << 32:
            return None, position
        byte = data[position]
        position += 1
        value = ((value + 1) << 7) | (byte & 0x7F)
    return value, position


def _has_extension(data: bytes, position: int, hash_size: int, wanted: bytes) -> bool:
    end = len(data) - hash_size  # the checksum
    while position + 8 <= end:
        signature = data[position : position + 4]
        (size,) = struct.unpack_from(">I", data, position + 4)
        if signature == wanted:
            return True
        position += 8 + size
    return False


def _read_bounded(path: Path, limit: int = MAX_INDEX_BYTES) -> bytes | None:
    if not path.is_file():
        return None
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    return None if len(data) > limit else data


def _repository(root: Path) -> tuple[Path, Path] | None:
    """(work tree top, git directory) of the repository holding ``root``: the nearest ``.git``
    at or above it, a directory or a ``gitdir:`` file (worktrees, submodules)."""
    current = Path(os.path.realpath(root))
    for directory in (current, *current.parents):
        dot_git = directory / ".git"
        try:
            if dot_git.is_dir():
                return directory, dot_git
            if dot_git.is_file():
                text = (_read_bounded(dot_git, 4096) or b"").decode("utf-8", "replace")
                match = re.match(r"gitdir:\s*(.+?)\s*$", text)
                if match is None:
                    return None
                return directory, (directory / match.group(1)).resolve()
        except OSError:
            return None
    return None


def _common_dir(git_dir: Path) -> Path:
    """A linked worktree's git directory names the main one in ``commondir`` (config is there)."""
    try:
        text = (_read_bounded(git_dir / "commondir", 4096) or b"").decode("utf-8", "replace")
    except OSError:
        return git_dir
    text = text.strip()
    return (git_dir / text).resolve() if text else git_dir


def index_identity(root: Path) -> tuple[int, int, int] | None:
    """(size, mtime_ns, inode) of the index of the repository holding ``root``; None when
    there is none: what a run record compares before trusting the modes it recorded."""
    found = _repository(root)
    if found is None:
        return None
    try:
        info = os.stat(found[1] / "index")
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns, info.st_ino
