"""Rule pages (``rules/<CODE>.md``): found inside the installed package, or in the source tree."""

from __future__ import annotations

from pathlib import Path

# Where the project lives online: rule URLs (text, JSON, SARIF) and SARIF's informationUri are
# made from this one constant. The README's and the Action's snippets name the same repository.
PROJECT_URL = "https://github.com/preflight-dev/preflight"


def rule_url(code: str) -> str:
    """The online page of a rule: its ``rules/<CODE>.md`` as the repository shows it."""
    return f"{PROJECT_URL}/blob/main/rules/{code}.md"


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
