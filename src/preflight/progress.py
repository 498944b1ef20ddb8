"""A one-line progress indicator on standard error, for runs long enough to wonder about.

Nothing is shown for the first :data:`DELAY` seconds (most runs are over by then), nothing ever
when the stream is not a terminal (a pipe, a file, CI), and the line is erased before the report
is printed, so the report reads the same with or without it.
"""

from __future__ import annotations

import threading
import time
from typing import TextIO

from preflight.redact import escape_control

DELAY = 1.0  # seconds before anything is shown
_INTERVAL = 0.2
_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_ASCII_SPINNER = "|/-\\"


class Progress:
    """Call :meth:`stage` with what the run is doing now; :meth:`stop` before printing."""

    def __init__(self, stream: TextIO | None, root: str) -> None:
        self._stream = stream
        self._root = escape_control(root)
        self._what = "reading files"
        self._done = threading.Event()
        self._shown = False
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._thread: threading.Thread | None = None
        if stream is not None and _is_terminal(stream):
            self._thread = threading.Thread(target=self._run, name="preflight-progress")
            self._thread.daemon = True
            self._thread.start()

    def stage(self, what: str) -> None:
        self._what = what

    def stop(self) -> None:
        """Stop and erase the line (idempotent)."""
        self._done.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            if self._shown and self._stream is not None:
                self._shown = False
                self._write("\r\x1b[K")

    def _run(self) -> None:
        if self._done.wait(DELAY):
            return
        spinner = _SPINNER if _can_show(self._stream, _SPINNER) else _ASCII_SPINNER
        tick = 0
        while True:
            with self._lock:
                if self._done.is_set():
                    return
                seconds = int(time.monotonic() - self._started)
                frame = spinner[tick % len(spinner)]
                line = f"{frame} preflight: {self._root}: {self._what} ({seconds}s)"
                # one row only: a wrapped line could not be erased with \r
                self._write("\r\x1b[K" + line[: _columns(self._stream) - 1])
                self._shown = True
            tick += 1
            if self._done.wait(_INTERVAL):
                return

    def _write(self, text: str) -> None:
        stream = self._stream
        if stream is None:
            return
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):  # the terminal went away: progress is not worth an error
            self._stream = None


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError, AttributeError):
        return False


def _columns(stream: TextIO | None) -> int:
    import os

    try:
        return os.get_terminal_size(stream.fileno()).columns if stream is not None else 80
    except (OSError, ValueError, AttributeError):
        return 80


def _can_show(stream: TextIO | None, text: str) -> bool:
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True
