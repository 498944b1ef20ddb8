"""What stock base images hold: the tools a health check calls, and the Python a tag carries.

Sources (read 2026-11; no container runtime was available, so nothing here comes from running
an image):

* ``python:<v>`` (no variant, ``-bookworm``, ``-bullseye``, ``-trixie``) is built ``FROM
  buildpack-deps:<suite>``, whose ``curl`` layer installs ``curl`` and ``wget``
  (docker-library/buildpack-deps ``debian/*/curl/Dockerfile``; docker-library/python
  ``*/bookworm/Dockerfile``).
* ``python:<v>-slim*`` is ``FROM debian:<suite>-slim`` and installs only ``ca-certificates``,
  ``netbase``, ``tzdata`` and Python's runtime libraries, purging what it built with; Debian's
  docker images hold only ``Priority: required`` packages and apt, none of which is curl, wget
  or netcat (docker-library/python ``*/slim-bookworm/Dockerfile``; debuerreotype). The same holds
  for ``debian:*`` and ``ubuntu:*`` themselves (curl and wget; netcat is not claimed there).
* ``python:<v>-alpine*`` and ``alpine`` run busybox, whose Alpine build has the ``wget`` and
  ``nc`` applets, and no ``curl`` (aports ``main/busybox/busyboxconfig``).
* ``gcr.io/distroless/*`` hold no shell and no tools, except the ``:debug`` tags, which add
  busybox (GoogleContainerTools/distroless README); those are left out.
* ``ghcr.io/astral-sh/uv:<tag>``: the ``python3.X-<distro>`` tags are built from the matching
  ``python:3.X-<distro>`` image, ``bookworm``/``trixie`` from ``buildpack-deps``,
  ``*-slim`` from ``debian:*-slim``, ``alpine*`` from ``alpine``; a bare version tag is the
  distroless (``scratch``) image holding ``/uv`` and ``/uvx`` only (docs.astral.sh/uv/guides/
  integration/docker, "Available images").
* ``tiangolo/uvicorn-gunicorn*``, ``tiangolo/meinheld-gunicorn*``: ``pythonX.Y`` tags are
  ``FROM python:X.Y``, ``-slim`` tags ``FROM python:X.Y-slim``, ``-alpine`` tags from the
  alpine one (tiangolo/*-docker ``docker-images/*.dockerfile``).

A tool missing from both sets of an image family is *unknown*: rules stay silent about it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from preflight.knowledge.executables import image_name

__all__ = [
    "HEALTH_TOOLS",
    "ImageTools",
    "image_python",
    "image_tools",
    "split_reference",
]

#: The programs health checks call to reach the service, and how a missing one is replaced.
HEALTH_TOOLS = frozenset({"curl", "wget", "nc", "netcat", "ncat"})

#: System packages that provide each tool (apt, apk, dnf/yum/microdnf, zypper names).
TOOL_PACKAGES: dict[str, frozenset[str]] = {
    "curl": frozenset({"curl", "curl-minimal"}),
    "wget": frozenset({"wget", "wget2", "busybox", "busybox-static"}),
    "nc": frozenset(
        {
            "netcat",
            "netcat-openbsd",
            "netcat-traditional",
            "nmap-ncat",
            "ncat",
            "busybox",
            "busybox-extras",
            "busybox-static",
            "openbsd-netcat",
            "gnu-netcat",
        }
    ),
    "netcat": frozenset({"netcat", "netcat-openbsd", "netcat-traditional", "gnu-netcat"}),
    "ncat": frozenset({"ncat", "nmap-ncat", "nmap"}),
}


@dataclass(frozen=True, slots=True)
class ImageTools:
    """What an image family is known to hold and to lack (anything else: unknown)."""

    family: str  # how messages name it: "a `python:*-slim` image (Debian slim)"
    present: frozenset[str]
    absent: frozenset[str]
    shell: bool | None = True  # /bin/sh exists (None: unknown)


_FULL = ImageTools("a full Debian buildpack-deps image", frozenset({"curl", "wget"}), frozenset())
_SLIM = ImageTools(
    "a Debian slim image", frozenset(), frozenset({"curl", "wget", "nc", "netcat", "ncat"})
)
_DEBIAN = ImageTools("a plain Debian/Ubuntu image", frozenset(), frozenset({"curl", "wget"}))
_ALPINE = ImageTools(
    "an Alpine busybox image", frozenset({"wget", "nc"}), frozenset({"curl", "ncat"})
)
_DISTROLESS = ImageTools(
    "a distroless image", frozenset(), frozenset({"curl", "wget", "nc", "netcat", "ncat"}), False
)


def split_reference(ref: str) -> tuple[str, str]:
    """(``image_name``, tag) of an image reference; the tag is "" when none is written."""
    name = image_name(ref)
    bare = ref.strip().split("@", 1)[0]
    last_slash = bare.rfind("/")
    colon = bare.rfind(":")
    tag = bare[colon + 1 :].lower() if colon > last_slash else ""
    return name, tag


def _by_variant(tag: str, default: ImageTools | None) -> ImageTools | None:
    if "alpine" in tag:
        return _ALPINE
    if "slim" in tag:
        return _SLIM
    if any(word in tag for word in ("windows", "nanoserver")):
        return None
    return default


_TIANGOLO = re.compile(r"^tiangolo/(?:uvicorn-gunicorn(?:-fastapi|-starlette)?|meinheld-gunicorn)$")


def image_tools(ref: str | None) -> ImageTools | None:
    """What the image ``ref`` names holds of ``HEALTH_TOOLS``; None when preflight does not know
    the image (or it depends on a build argument)."""
    if not ref or "$" in ref:
        return None
    name, tag = split_reference(ref)
    if name in ("python", "pypy"):
        return _by_variant(tag, _FULL if name == "python" else None)
    if name == "buildpack-deps":
        return _FULL
    if name == "alpine":
        return _ALPINE
    if name in ("debian", "ubuntu"):
        return _DEBIAN
    if name.startswith("gcr.io/distroless/"):
        return None if "debug" in tag else _DISTROLESS
    if name == "ghcr.io/astral-sh/uv":
        if not tag or tag[0].isdigit() or tag == "latest":
            return _DISTROLESS
        return _by_variant(tag, _FULL if re.search(r"bookworm|trixie|bullseye", tag) else None)
    if _TIANGOLO.match(name):
        return _by_variant(tag, _FULL if tag.startswith("python3") else None)
    return None


# Python version of a tag, per family: the pattern's first group is the version.
_PYTHON_TAGS: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    # python:3.12, python:3.12.4-slim-bookworm, python:3.14-rc-alpine
    (re.compile(r"^python$"), re.compile(r"^(3\.\d+(?:\.\d+)?)(?:[-.]|$)")),
    # pypy:3.10, pypy:3.10-7.3.17-slim: PyPy implementing Python 3.10
    (re.compile(r"^pypy$"), re.compile(r"^(3\.\d+)(?:-|$)")),
    # ghcr.io/astral-sh/uv:python3.12-bookworm-slim
    (re.compile(r"^ghcr\.io/astral-sh/uv$"), re.compile(r"^python(3\.\d+)(?:-|$)")),
    # tiangolo/uvicorn-gunicorn-fastapi:python3.11, …:python3.11-slim
    (_TIANGOLO, re.compile(r"^python(3\.\d+)(?:-|$)")),
    # nikolaik/python-nodejs:python3.12-nodejs20
    (re.compile(r"^nikolaik/python-nodejs$"), re.compile(r"^python(3\.\d+)(?:-|$)")),
)

# Images whose Python is fixed by the name: Debian 12's python3 is 3.11, Debian 11's 3.9
# (packages.debian.org python3); Red Hat UBI python-311 is 3.11 (catalog.redhat.com).
_PYTHON_NAMES: tuple[tuple[re.Pattern[str], str | None], ...] = (
    (re.compile(r"^gcr\.io/distroless/python3-debian12$"), "3.11"),
    (re.compile(r"^gcr\.io/distroless/python3-debian11$"), "3.9"),
    (re.compile(r"^registry\.access\.redhat\.com/ubi\d+/python-3(\d+)$"), None),
)


def image_python(ref: str | None) -> str | None:
    """The Python version (``"3.12"`` or ``"3.12.4"``) the image ``ref`` runs, from its tag;
    None when the tag does not say (``python:3``, ``latest``, an unknown image)."""
    if not ref or "$" in ref:
        return None
    name, tag = split_reference(ref)
    for name_pattern, tag_pattern in _PYTHON_TAGS:
        if name_pattern.match(name):
            match = tag_pattern.match(tag)
            return match.group(1) if match else None
    for pattern, version in _PYTHON_NAMES:
        found = pattern.match(name)
        if found:
            return version if version is not None else f"3.{found.group(1)}"
    return None


def packages_providing(tool: str) -> frozenset[str]:
    """System package names that install ``tool``."""
    return TOOL_PACKAGES.get(tool, frozenset({tool}))
