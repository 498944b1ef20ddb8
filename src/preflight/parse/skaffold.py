"""``skaffold.yaml``: the images its build artifacts produce, each from a Dockerfile, context
and target (``build.artifacts``, also under ``profiles``). Paths are relative to the checked
root: a context to the skaffold file's directory, a Dockerfile to its context."""

from __future__ import annotations

import posixpath

from preflight.parse.buildcmds import BuildFile, ImageBuild
from preflight.parse.yamlnodes import YNode, load_documents


def _join(base: str, relative: str) -> str:
    joined = posixpath.normpath(posixpath.join(base, relative))
    return "" if joined == "." else joined


def _artifacts(document: YNode) -> list[YNode]:
    out: list[YNode] = []
    builds = [document.get("build")]
    profiles = document.get("profiles")
    builds += [p.get("build") for p in profiles.seq() if p.kind == "map"] if profiles else []
    for build in builds:
        artifacts = build.get("artifacts") if build is not None and build.kind == "map" else None
        if artifacts is not None:
            out.extend(a for a in artifacts.seq() if a.kind == "map")
    return out


def parse_skaffold(path: str, text: str) -> BuildFile:
    """The artifacts of every config in the file; a problem only for YAML that does not load."""
    documents, error = load_documents(path, text)
    base = posixpath.dirname(path)
    builds: list[ImageBuild] = []
    for document in documents:
        if document is None or document.kind != "map":
            continue
        for artifact in _artifacts(document):
            image_node = artifact.get("image")
            image = image_node.as_str() if image_node is not None else None
            if not image or image_node is None:
                continue
            context_node = artifact.get("context")
            context = _join(base, (context_node.as_str() if context_node else None) or ".")
            docker = artifact.get("docker")
            dockerfile_name = "Dockerfile"
            target: str | None = None
            if docker is not None and docker.kind == "map":
                file_node = docker.get("dockerfile")
                dockerfile_name = (file_node.as_str() if file_node else None) or "Dockerfile"
                target_node = docker.get("target")
                target = target_node.as_str() if target_node is not None else None
            elif any(artifact.get(k) is not None for k in ("buildpacks", "jib", "bazel", "ko")):
                continue  # not built from a Dockerfile
            span = image_node.span
            builds.append(
                ImageBuild(
                    image.lower(),
                    _join(context, dockerfile_name),
                    context,
                    target,
                    span,
                    f"skaffold artifact in {path}:{span.line}",
                )
            )
    return BuildFile(path, tuple(builds), (error,) if error is not None else ())
