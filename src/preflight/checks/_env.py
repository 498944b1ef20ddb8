"""What the settings rules share: per container, the settings its app reads and its providers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from preflight.model.graph import ContainerNode, Deployment
from preflight.model.settings import ContainerEnv, Defined, Setting


@dataclass(slots=True)
class Checked:
    serving: ContainerNode
    root: str
    settings: list[Setting]
    env: ContainerEnv


def containers(graph: Deployment) -> Iterator[Checked]:
    """Each container whose app (or image) reads settings, with what its environment gives."""
    for node in graph.containers:
        if node.root is not None and node.settings:
            yield Checked(node, node.root, node.settings, node.env)


def known(graph: Deployment) -> Defined:
    return graph.defined
