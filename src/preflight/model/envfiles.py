"""The env files a repository commits: which one documents a service's variables, and which
ones a compose service loads (``env_file:``), so that their names reach the service and their
values are judged as committed.

discover never reads an env file git ignores, so every file here is in the repository.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from preflight.knowledge.envfiles import example_rank
from preflight.model.project import Project
from preflight.parse.envfile import EnvFile, parse_env_file
from preflight.parse.manifests import SecretValue
from preflight.spans import Span


@dataclass(frozen=True, slots=True)
class EnvFileUse:
    """A compose service that loads an env file."""

    service: str
    compose: str  # the compose file's path
    span: Span  # the `env_file` entry


def env_file_uses(project: Project) -> dict[str, list[EnvFileUse]]:
    """Each env file a compose service loads, by repo-relative path, with who loads it."""
    uses: dict[str, list[EnvFileUse]] = {}
    for compose in project.compose_files.values():
        for service in compose.services:
            for path, span in service.env_files:
                uses.setdefault(posixpath.normpath(path), []).append(
                    EnvFileUse(service.name, compose.path, span)
                )
    return uses


def loaded_env_files(project: Project) -> list[tuple[EnvFile, list[EnvFileUse]]]:
    """The committed env files compose services load (examples included), in path order."""
    uses = env_file_uses(project)
    files = {**project.env_examples, **project.env_files}
    return [(files[path], uses[path]) for path in sorted(uses) if path in files]


def examples_for(project: Project, root: str) -> list[EnvFile]:
    """The env files that document the variables of the service in ``root``, the one to point
    at first: the nearest directory's example (`.env.example`, `.env.sample`, … `.env.dist`), or
    where there is none, a committed `.env` or an env file a compose service loads. Empty when
    the service has none."""
    candidates = [env for path, env in project.env_examples.items() if _above(path, root)]
    if not candidates:
        loaded = env_file_uses(project)
        candidates = [
            env
            for path, env in project.env_files.items()
            if _above(path, root) and (posixpath.basename(path) == ".env" or path in loaded)
        ]
    if not candidates:
        return []
    nearest = max(_depth(env.path) for env in candidates)
    chosen = [env for env in candidates if _depth(env.path) == nearest]
    return sorted(chosen, key=lambda env: (_rank(env.path), env.path))


def _depth(path: str) -> int:
    directory = posixpath.dirname(path)
    return directory.count("/") + 1 if directory else 0


def _rank(path: str) -> tuple[int, int]:
    """Examples by how usual their name is, then `.env`, then the other env files."""
    name = posixpath.basename(path)
    return (example_rank(name), 0 if name == ".env" else 1)


def _above(path: str, root: str) -> bool:
    directory = posixpath.dirname(path)
    return directory == "" or root == directory or root.startswith(directory + "/")


def env_file_in_secret(key: str, value: SecretValue) -> list[tuple[str, SecretValue]] | None:
    """A Secret key that holds a whole env file (`.env: |` with `SECRET_KEY=…` lines): each
    `NAME=value` line as a value of its own, so that it is judged line by line. In `stringData`
    a block scalar's first line is the line after the key; base64 `data` has no lines to point
    at, so its entries point at the key. None when the key is not an env file."""
    base = key.rsplit("/", 1)[-1].lower()
    if not (base == ".env" or base.startswith(".env.") or base.endswith(".env")):
        return None
    text = value.value
    if text is None or "\n" not in text.strip():
        return None
    parsed = parse_env_file(value.span.path, text)
    if not parsed.entries or len(parsed.problems) > len(parsed.entries):
        return None  # not `NAME=value` lines (a certificate, a JSON document)
    out: list[tuple[str, SecretValue]] = []
    for entry in parsed.entries:
        if value.from_data:
            span = value.span
        else:
            line = value.span.line + entry.span.line
            span = Span(value.span.path, line, 1, line, 1)
        out.append((entry.name, SecretValue(entry.value, span, value.from_data)))
    return out
