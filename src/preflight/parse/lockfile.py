"""uv.lock and poetry.lock: the version of each locked package (both are TOML ``[[package]]``)."""

from __future__ import annotations

from preflight.parse.requirements import normalise_name
from preflight.parse.toml_positions import load_toml


def parse_lock(path: str, text: str) -> dict[str, str]:
    """Normalised package name -> locked version; empty when the file cannot be read.

    A lock file that does not parse is not reported: it is generated, and the tool that wrote it
    will say more than preflight could.
    """
    data, _ = load_toml(path, text)
    if data is None:
        return {}
    packages = data.get("package")
    versions: dict[str, str] = {}
    if isinstance(packages, list):
        for package in packages:
            if isinstance(package, dict):
                name, version = package.get("name"), package.get("version")
                if isinstance(name, str) and isinstance(version, str):
                    versions.setdefault(normalise_name(name), version)
    return versions
