"""Output formats. Formatters know findings and rule metadata, nothing else."""

from __future__ import annotations


def shown_path(root: str, path: str) -> str:
    """A path as the user gave the root: ``svc/Dockerfile`` for `preflight check svc`."""
    return path if root in ("", ".") else f"{root.rstrip('/')}/{path}"
