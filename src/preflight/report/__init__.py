"""Output formats. Formatters know findings and rule metadata, nothing else.

Every string a formatter prints from a finding (message, fix, note, path, source line) goes
through :func:`preflight.redact.escape_control` (or, for SARIF URIs, percent-encoding): the
engine has already redacted and escaped the prose, and escaping again here keeps a formatter
safe on a Result built some other way (escaping is idempotent).
"""

from __future__ import annotations

from preflight.redact import escape_control


def shown_path(root: str, path: str) -> str:
    """A path as the user gave the root: ``svc/Dockerfile`` for `preflight check svc`."""
    return path if root in ("", ".") else f"{root.rstrip('/')}/{path}"


def safe_path(root: str, path: str) -> str:
    """:func:`shown_path` fit to print: control characters escaped."""
    return escape_control(shown_path(root, path))
