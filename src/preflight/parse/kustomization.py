"""``kustomization.yaml``: the resources it includes and the image names it rewrites
(``images:`` name → newName/newTag/digest). Nothing is rendered here."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from preflight.parse import ParseProblem
from preflight.parse.yamlnodes import YNode, load_documents
from preflight.spans import Span


@dataclass(frozen=True)
class ImageRewrite:
    name: str  # the image name the manifests use (without tag)
    new_name: str | None
    new_tag: str | None
    span: Span  # the entry (its newName when it has one)


@dataclass(frozen=True)
class Generated:
    """A Secret or ConfigMap a `secretGenerator`/`configMapGenerator` makes (kustomize adds a
    hash suffix and rewrites the references in the same build, so the name here is what
    manifests use)."""

    kind: str  # "Secret" | "ConfigMap"
    name: str
    keys: tuple[str, ...] | None  # from `literals`; None when `files`/`envs` add unknown ones
    span: Span


@dataclass(frozen=True)
class Kustomization:
    path: str
    resources: tuple[str, ...]  # repo-relative files or directories (remote ones left out)
    images: tuple[ImageRewrite, ...]
    problems: tuple[ParseProblem, ...]
    generated: tuple[Generated, ...] = ()
    # strategic-merge patch files (`patches: - path:`, `patchesStrategicMerge:`), repo-relative
    patches: tuple[str, ...] = ()
    # `namespace:`: the namespace every resource it includes is put in (overriding theirs)
    namespace: str | None = None
    # why some of its patches are not merged by preflight (an inline patch, a JSON 6902 patch,
    # a patch aimed by a `target:` selector): None when every patch is a file of ``patches``
    unmerged_patches: str | None = None


# The fields of a pod template that decide what its containers run, the user they run as and
# what they may write ("*": any container index).
_POD_FIELDS = (
    ("spec", "template", "spec", "securityContext"),
    ("spec", "template", "spec", "volumes"),
    *(
        ("spec", "template", "spec", containers, "*", field)
        for containers in ("containers", "initContainers")
        for field in (
            "securityContext", "volumeMounts", "env", "envFrom", "command", "args", "image",
            "workingDir",
        )
    ),
)  # fmt: skip
_OP_PATH = re.compile(r"^\s*-?\s*[\"']?path[\"']?\s*:\s*[\"']?(/[^\s\"',}]*)", re.M)
_JSON_OP = re.compile(r"^\s*-?\s*[\"']?op[\"']?\s*:", re.M)
_MOVES = re.compile(r"^\s*-?\s*[\"']?from[\"']?\s*:", re.M)
_STRATEGIC_KEYS = re.compile(
    r"securityContext|volumes|volumeMounts|containers|\benv\b|envFrom|command|args|\bimage\b"
)


def _touches_pod(patch: str) -> bool:
    """Whether an inline patch may change a pod field ``_POD_FIELDS`` lists: a JSON 6902 op
    whose path is one of them, inside one, or above one (replacing the whole container); a
    strategic-merge patch that names one."""
    if _JSON_OP.search(patch) is None:  # a strategic-merge patch (its `path:` may be a probe's)
        return _STRATEGIC_KEYS.search(patch) is not None
    if _MOVES.search(patch) is not None:
        return True  # `move`/`copy` take a field from another path: not followed here
    paths = _OP_PATH.findall(patch)
    for path in paths:
        segments = tuple(path.strip("/").split("/"))
        for field in _POD_FIELDS:
            n = min(len(segments), len(field))
            if all(f in ("*", s) for f, s in zip(field[:n], segments[:n], strict=True)):
                return True
    return False


def _join(base: str, relative: str) -> str:
    joined = posixpath.normpath(posixpath.join(base, relative))
    return "" if joined == "." else joined


def _strings(node: YNode | None) -> list[str]:
    if node is None or node.kind != "seq":
        return []
    return [text for item in node.seq() if (text := item.as_str())]


def parse_kustomization(path: str, text: str) -> Kustomization:
    """Resources and image rewrites; a problem only for YAML that does not load."""
    documents, error = load_documents(path, text)
    problems = (error,) if error is not None else ()
    document = next((doc for doc in documents if doc is not None), None)
    if document is None or document.kind != "map":
        return Kustomization(path, (), (), problems)
    base = posixpath.dirname(path)
    resources = [
        _join(base, entry)
        for key in ("resources", "bases", "components")
        for entry in _strings(document.get(key))
        if "://" not in entry and not entry.startswith(("github.com/", "git@"))
    ]
    images: list[ImageRewrite] = []
    node = document.get("images")
    for entry in node.seq() if node is not None else ():
        if entry.kind != "map":
            continue
        name_node = entry.get("name")
        name = name_node.as_str() if name_node is not None else None
        if not name or name_node is None:
            continue
        new_name_node = entry.get("newName")
        new_tag_node = entry.get("newTag")
        images.append(
            ImageRewrite(
                name,
                new_name_node.as_str() if new_name_node is not None else None,
                new_tag_node.as_str() if new_tag_node is not None else None,
                new_name_node.span if new_name_node is not None else name_node.span,
            )
        )
    generated: list[Generated] = []
    for section, kind in (("secretGenerator", "Secret"), ("configMapGenerator", "ConfigMap")):
        node = document.get(section)
        for entry in node.seq() if node is not None and node.kind == "seq" else ():
            if entry.kind != "map":
                continue
            name_node = entry.get("name")
            name = name_node.as_str() if name_node is not None else None
            if not name or name_node is None:
                continue
            keys: list[str] | None = [
                literal.split("=", 1)[0].strip()
                for literal in _strings(entry.get("literals"))
                if "=" in literal
            ]
            if entry.get("files") is not None or entry.get("envs") is not None:
                keys = None
            generated.append(
                Generated(kind, name, tuple(keys) if keys is not None else None, name_node.span)
            )
    patches = [
        _join(base, entry)
        for entry in _strings(document.get("patchesStrategicMerge"))
        if "\n" not in entry and ":" not in entry  # an inline patch is YAML text, not a path
    ]
    unmerged: str | None = None
    if document.get("patchesJson6902") is not None:
        unmerged = f"{path} has `patchesJson6902`"
    if any(
        "\n" in entry or ":" in entry for entry in _strings(document.get("patchesStrategicMerge"))
    ):
        unmerged = f"{path} has an inline patch"
    node = document.get("patches")
    for entry in node.seq() if node is not None and node.kind == "seq" else ():
        path_node = entry.get("path") if entry.kind == "map" else None
        patch_path = path_node.as_str() if path_node is not None else None
        inline = entry.get("patch") if entry.kind == "map" else None
        inline_text = inline.as_str() if inline is not None else None
        if inline_text is not None and not patch_path and not _touches_pod(inline_text):
            continue  # `/spec/replicas`, resources, serviceAccountName: not what it runs
        if entry.kind == "map" and entry.get("target") is not None:
            # a JSON 6902 patch, or one kustomize applies to every object the target matches
            unmerged = unmerged or f"{path} has a patch aimed by `target:`"
        if patch_path:
            patches.append(_join(base, patch_path))
        else:
            unmerged = unmerged or f"{path} has an inline patch"
    namespace_node = document.get("namespace")
    namespace = namespace_node.as_str() if namespace_node is not None else None
    return Kustomization(
        path,
        tuple(resources),
        tuple(images),
        problems,
        tuple(generated),
        tuple(patches),
        namespace or None,
        unmerged,
    )
