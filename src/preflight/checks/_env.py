"""What the settings rules share: per container, the settings its app reads and its providers."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass

from preflight.model.apps import Serving, servings
from preflight.model.project import Project
from preflight.model.settings import (
    ContainerEnv,
    Defined,
    Setting,
    container_env,
    defined,
    service_root,
    settings_for,
)


@dataclass(slots=True)
class Checked:
    serving: Serving
    root: str
    settings: list[Setting]
    env: ContainerEnv


def containers(project: Project) -> Iterator[Checked]:
    known = defined(project)
    for serving in servings(project):
        run = serving.run
        if serving.app is not None:
            root = service_root(project, serving.app.module)
        elif run.dockerfile is not None:
            root = posixpath.dirname(run.dockerfile.path)
        else:
            continue
        settings = settings_for(project, root)
        if settings:
            yield Checked(serving, root, settings, container_env(project, run, known))


def known(project: Project) -> Defined:
    return defined(project)
