"""The user a base image's processes run as, for the base images whose USER is known.

An image built ``FROM`` one of these without a ``USER`` of its own runs as this user. Only
images whose config is stable across their tags are listed; anything else is unknown, and the
rule that reads this (IMG004) stays silent for it: a vendor's image often sets its own USER.

Sources (the images' published configs, ``docker image inspect --format '{{.Config.User}}'``,
checked 2026-11):

* Docker Hub's official language and distribution images set no USER: they run as root
  (``python``, ``debian``, ``ubuntu``, ``alpine``, ``buildpack-deps``, ``fedora``, ``centos``,
  ``rockylinux``, ``almalinux``, ``amazonlinux``, ``busybox``; ``pypy`` likewise).
* ``ghcr.io/astral-sh/uv:python3.12-bookworm-slim`` and its kin are built from the official
  python/debian images and set no USER: root.
* Google's distroless images (GoogleContainerTools/distroless, base/README.md): tags ending
  ``nonroot`` (``:nonroot``, ``:debug-nonroot``, ``:latest-nonroot``) run as uid 65532 —
  numeric, so the kubelet can verify it; the other tags run as root.
* Chainguard's images (``cgr.dev/chainguard/python``, …) run as ``65532`` except their
  ``-dev`` tags, which run as root.
"""

from __future__ import annotations

from dataclasses import dataclass

from preflight.knowledge.executables import image_name


@dataclass(frozen=True, slots=True)
class BaseUser:
    """The USER a base image's config sets ("": none, so root) and where that is said."""

    user: str
    source: str


# Images (the repository's last path component, on Docker Hub or a registry mirror of it)
# that set no USER.
RUNS_AS_ROOT = frozenset(
    {"python", "pypy", "debian", "ubuntu", "alpine", "buildpack-deps", "fedora", "centos",
     "rockylinux", "almalinux", "amazonlinux", "busybox"}
)  # fmt: skip

_DISTROLESS = "gcr.io/distroless/"
_CHAINGUARD = "cgr.dev/chainguard/"
_UV = "ghcr.io/astral-sh/uv"


def base_user(ref: str) -> BaseUser | None:
    """The user the base image ``ref`` runs as, or None when preflight does not know it."""
    if not ref or any(ch in ref for ch in "${}") or ref.lower() == "scratch":
        return None  # `scratch` has no user database at all; a build argument is unknown
    name = image_name(ref)
    reference = ref.strip().split("@", 1)[0]
    last = reference.rsplit("/", 1)[-1]
    tag = last.rpartition(":")[2].lower() if ":" in last else "latest"
    if name.startswith(_DISTROLESS):
        if tag.endswith("nonroot"):
            return BaseUser("65532", "distroless `:nonroot` images run as 65532")
        return BaseUser("", "distroless images other than `:nonroot` run as root")
    if name.startswith(_CHAINGUARD):
        if "dev" in tag.split("-"):
            return None  # `-dev` tags run as root in some images, as 65532 in others
        return BaseUser("65532", "Chainguard images run as 65532")
    if name == _UV:
        if tag.startswith("python") or "-" in tag:
            return BaseUser("", "the uv images built on python/debian/alpine set none")
        return None  # `uv:0.5` is a scratch image holding only the binaries
    if name in RUNS_AS_ROOT:
        return BaseUser("", f"the official `{name}` image sets none")
    return None  # another account's image, or one preflight does not know: it may set a USER
