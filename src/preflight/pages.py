"""Rule pages (``rules/<CODE>.md``): found inside the installed package, or in the source tree."""

from __future__ import annotations

from pathlib import Path


def pages_dir() -> Path:
    """``preflight/rules`` in a wheel install; ``<repo>/rules`` in a source checkout."""
    from importlib.resources import files

    packaged = Path(str(files("preflight"))) / "rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "rules"


def page_text(code: str) -> str:
    path = pages_dir() / f"{code}.md"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return f"{code}: no page found at {path}"
