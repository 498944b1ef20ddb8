"""``kustomization.yaml``: the resources it includes and the image names it rewrites
(``images:`` name → newName/newTag/digest). Nothing is rendered here."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

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
    namespace: str | None = None  # `namespace:` (every resource's namespace, overridden)
    name_prefix: str = ""  # `namePrefix:`, added to every resource's name (and references)
    name_suffix: str = ""
    # labels kustomize adds to pod templates (`commonLabels`, `labels:` with
    # `includeTemplates` or `includeSelectors`) and to selectors (`commonLabels`, `labels:`
    # with `includeSelectors`)
    template_labels: dict[str, str] = field(default_factory=dict)
    selector_labels: dict[str, str] = field(default_factory=dict)
    # why some of what it renders is not in the repository's files (remote resources, Helm
    # charts it inflates): None when everything is
    external: str | None = None
    # patches preflight does not merge (inline `patch:` text, JSON 6902 patches) that may
    # rewrite labels or selectors
    label_patches: bool = False
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
        for pod_field in _POD_FIELDS:
            n = min(len(segments), len(pod_field))
            if all(f in ("*", s) for f, s in zip(pod_field[:n], segments[:n], strict=True)):
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
    remote = [
        entry
        for key in ("resources", "bases", "components")
        for entry in _strings(document.get(key))
        if "://" in entry or entry.startswith(("github.com/", "git@"))
    ]
    external = f"it includes the remote resource `{remote[0]}`" if remote else None
    if (
        document.get("helmCharts") is not None
        or document.get("helmChartInflationGenerator") is not None
    ):
        external = "it inflates Helm charts (`helmCharts:`)"
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
    label_patches = document.get("patchesJson6902") is not None or any(
        "label" in text or "selector" in text
        for text in _strings(document.get("patchesStrategicMerge"))
        if "\n" in text or ":" in text
    )
    node = document.get("patches")
    for entry in node.seq() if node is not None and node.kind == "seq" else ():
        inline = entry.get("patch") if entry.kind == "map" else None
        patch_text = inline.as_str() if inline is not None else None
        if patch_text and ("label" in patch_text or "selector" in patch_text):
            label_patches = True
    template_labels: dict[str, str] = {}
    selector_labels: dict[str, str] = {}
    common = _str_map(document.get("commonLabels"))
    template_labels.update(common)
    selector_labels.update(common)
    node = document.get("labels")
    for entry in node.seq() if node is not None and node.kind == "seq" else ():
        if entry.kind != "map":
            continue
        pairs = _str_map(entry.get("pairs"))
        selectors = _flag(entry.get("includeSelectors"))
        if selectors:
            selector_labels.update(pairs)
        if selectors or _flag(entry.get("includeTemplates")):
            template_labels.update(pairs)
    return Kustomization(
        path,
        tuple(resources),
        tuple(images),
        problems,
        tuple(generated),
        tuple(patches),
        _text(document.get("namespace")),
        _text(document.get("namePrefix")) or "",
        _text(document.get("nameSuffix")) or "",
        template_labels,
        selector_labels,
        external,
        label_patches,
        unmerged,
    )


def _text(node: YNode | None) -> str | None:
    return node.as_str() if node is not None else None


def _flag(node: YNode | None) -> bool:
    return node is not None and node.as_bool() is True


def _str_map(node: YNode | None) -> dict[str, str]:
    if node is None or node.kind != "map":
        return {}
    return {
        key: value
        for key_node, value_node in node.items()
        if (key := key_node.as_str()) is not None and (value := value_node.as_str()) is not None
    }
