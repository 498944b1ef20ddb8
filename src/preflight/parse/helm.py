"""A Helm chart's values files: the images its templates run.

Templates are not rendered (there is no Helm here, and rendering needs the chart's own logic),
so a chart's containers are not checked. What its values say is still worth reading: which
images the chart deploys (``image.repository`` + ``image.tag``, ``image.name``, or
``image: repo:tag``, at any depth, e.g. ``api.image.repository``), so ``preflight graph`` can
show which Dockerfile builds each one and say why the chart's containers are not checked.
"""

from __future__ import annotations

from dataclasses import dataclass

from preflight.parse import ParseProblem
from preflight.parse.yamlnodes import YNode, load_documents
from preflight.spans import Span

_MAX_DEPTH = 8
_MAX_IMAGES = 200


@dataclass(frozen=True, slots=True)
class ValuesImage:
    """One image a values file names, with the key path it is under."""

    key: str  # "image", "api.image"
    ref: str  # "ghcr.io/acme/api:1.2" (tag when the values give one)
    span: Span  # the repository (or image) value


@dataclass(frozen=True, slots=True)
class HelmValues:
    path: str
    images: tuple[ValuesImage, ...]
    problems: tuple[ParseProblem, ...]


def parse_helm_values(path: str, text: str) -> HelmValues:
    """The images a values file names; a problem only for YAML that does not load."""
    documents, error = load_documents(path, text)
    images: list[ValuesImage] = []
    for document in documents:
        if document is not None and document.kind == "map":
            _walk(document, "", 0, images)
    return HelmValues(path, tuple(images[:_MAX_IMAGES]), (error,) if error is not None else ())


def _walk(node: YNode, prefix: str, depth: int, out: list[ValuesImage]) -> None:
    if depth > _MAX_DEPTH or len(out) >= _MAX_IMAGES:
        return
    for key_node, value in node.items():
        key = key_node.as_str()
        if key is None:
            continue
        here = f"{prefix}.{key}" if prefix else key
        if key == "image":
            found = _image(value, here)
            if found is not None:
                out.append(found)
                continue
        if value.kind == "map":
            _walk(value, here, depth + 1, out)


def _image(node: YNode, key: str) -> ValuesImage | None:
    text = node.as_str()
    if text:  # image: ghcr.io/acme/api:1.2
        return ValuesImage(key, text, node.span)
    if node.kind != "map":
        return None
    repository = node.get("repository") or node.get("name")
    name = repository.as_str() if repository is not None else None
    if repository is None or not name:
        return None
    registry_node = node.get("registry")
    registry = registry_node.as_str() if registry_node is not None else None
    if registry:
        name = f"{registry.rstrip('/')}/{name}"
    tag_node = node.get("tag")
    tag = tag_node.as_str() if tag_node is not None else None
    return ValuesImage(key, f"{name}:{tag}" if tag else name, repository.span)
