"""Kubernetes manifests: the objects a YAML file declares, and what their containers run.

A document is a manifest when it is a mapping with string ``apiVersion`` and ``kind``
(``kind: List`` is unwrapped into its ``items``). What is read from each object:

* workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job,
  CronJob, Pod, OpenShift DeploymentConfig, Argo Rollout, Knative Service): their containers
  (init containers included), pod labels and secret/config map volumes;
* Services: selector and ports;
* Secrets (``data`` base64-decoded, ``stringData`` winning) and ConfigMaps: their keys;
* ExternalSecret, SealedSecret and SecretProviderClass: the Secret they create and its keys.

Which file is a manifest is decided here, and said in ``ManifestFile.is_manifest``:

* a file with Go/Helm template syntax (``{{`` outside comments and outside block scalars) is
  not parsed at all: ``templated=True``, no objects and no problems;
* a file where no document has ``apiVersion`` and ``kind`` is some other YAML (a CI workflow, a
  values file): ``is_manifest=False`` and no problems;
* a YAML syntax error is always recorded in ``problems``; ``is_manifest`` is then True only if
  a document before the error was a manifest or the text looks like one (it contains both
  ``apiVersion:`` and ``kind:``). The caller reports problems of non-manifest files or not.

A field of the wrong type (``containers: foo``, ``env: 3``, ``ports: [abc]``) becomes a
ParseProblem at that field and is skipped; everything else is still read. Values that may be
secrets (Secret data, env values) are kept out of ``repr`` and never put in a message.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import deque
from dataclasses import dataclass, field, replace

from preflight.parse import ParseProblem
from preflight.parse.yamlnodes import STR_TAG, TypedReader, YNode, items_of, load_documents
from preflight.spans import Span

WORKLOAD_KINDS = frozenset(
    {
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "ReplicationController",
        "Job",
        "CronJob",
        "Pod",
        "DeploymentConfig",
        "Rollout",
    }
)
PROBE_KINDS = ("readinessProbe", "livenessProbe", "startupProbe")
PROBE_SETTINGS = (
    "initialDelaySeconds",
    "periodSeconds",
    "timeoutSeconds",
    "failureThreshold",
    "successThreshold",
)
_VALUE_FROM_KINDS = ("secretKeyRef", "configMapKeyRef", "fieldRef", "resourceFieldRef")
_TEMPLATE = re.compile(r"\{\{")


@dataclass(frozen=True)
class K8sObject:
    """One object. ``span`` is its ``metadata.name`` value, else the start of its document."""

    api_version: str
    kind: str
    name: str | None
    namespace: str | None
    span: Span

    @property
    def group(self) -> str:
        """The API group (``apps``, ``external-secrets.io``); "" for the core group."""
        return self.api_version.rpartition("/")[0]


@dataclass(frozen=True)
class ArgvField:
    """``command`` or ``args``: the list as strings (numbers as written), with item spans."""

    values: tuple[str, ...]
    span: Span  # the list node
    item_spans: tuple[Span, ...]


@dataclass(frozen=True)
class ValueFrom:
    """An env var's ``valueFrom``. For ``fieldRef`` the field path is in ``key`` (``name`` is
    None); for ``resourceFieldRef`` ``key`` is the resource and ``name`` the container."""

    kind: str  # "secretKeyRef" | "configMapKeyRef" | "fieldRef" | "resourceFieldRef"
    name: str | None
    key: str | None
    optional: bool
    span: Span  # the ref's key (``secretKeyRef:``)
    name_span: Span | None = None  # the ``name`` value, when written (what a fix renames)
    key_span: Span | None = None  # the ``key`` value, when written


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str | None = field(repr=False)  # may be a real secret: never printed
    value_from: ValueFrom | None
    span: Span  # the ``name`` value
    value_span: Span | None = None  # the ``value`` value, when given


@dataclass(frozen=True)
class EnvFrom:
    kind: str  # "secretRef" | "configMapRef"
    name: str | None
    prefix: str
    optional: bool
    span: Span  # the ref's key
    name_span: Span | None = None  # the ``name`` value, when written (what a fix renames)


@dataclass(frozen=True)
class ContainerPort:
    port: int | None
    name: str | None
    protocol: str
    span: Span


@dataclass(frozen=True)
class Probe:
    """A readiness/liveness/startup probe; ``settings`` holds only the timings written."""

    kind: str  # "readinessProbe" | "livenessProbe" | "startupProbe"
    handler: str | None  # "httpGet" | "tcpSocket" | "exec" | "grpc" | None
    path: str | None
    port: str | int | None
    scheme: str | None
    command: tuple[str, ...]
    settings: dict[str, int]
    span: Span  # the probe's key
    handler_span: Span | None
    path_span: Span | None
    port_span: Span | None


@dataclass(frozen=True)
class VolumeMount:
    name: str | None
    mount_path: str | None
    sub_path: str | None
    span: Span
    read_only: bool = False


@dataclass(frozen=True)
class SecuritySetting:
    """One field of a ``securityContext``, as written. ``value`` is None when it is not a
    literal of the field's type (a template, a quoted number): set, to what is not known."""

    value: bool | int | None
    span: Span  # the field's key (``runAsNonRoot:``)


@dataclass(frozen=True)
class SecurityContext:
    """The fields of a pod's or a container's ``securityContext`` that rules read (the pod's
    has no ``readOnlyRootFilesystem``); a field not written is None."""

    span: Span  # the ``securityContext`` key
    run_as_non_root: SecuritySetting | None = None
    run_as_user: SecuritySetting | None = None
    read_only_root_filesystem: SecuritySetting | None = None


@dataclass(frozen=True)
class Container:
    name: str  # "" when the container has none
    image: str | None
    image_span: Span | None
    command: ArgvField | None
    args: ArgvField | None
    env: tuple[EnvVar, ...]
    env_from: tuple[EnvFrom, ...]
    ports: tuple[ContainerPort, ...]
    probes: tuple[Probe, ...]
    volume_mounts: tuple[VolumeMount, ...]
    working_dir: str | None
    span: Span  # the ``name`` value (the container's mapping if it has no name)
    is_init: bool
    security_context: SecurityContext | None = None

    def probe(self, kind: str) -> Probe | None:
        for probe in self.probes:
            if probe.kind == kind:
                return probe
        return None


@dataclass(frozen=True)
class Workload:
    """A pod template. ``secret_volumes``/``config_map_volumes``: volume name → object name."""

    obj: K8sObject
    kind: str
    name: str | None
    namespace: str | None
    containers: tuple[Container, ...]  # init containers first, with ``is_init``
    pod_labels: dict[str, str]
    secret_volumes: dict[str, str]
    config_map_volumes: dict[str, str]
    span: Span
    # `enableServiceLinks` (default true): the kubelet puts every Service of the namespace in
    # the containers' environment (`<NAME>_PORT=tcp://…`, `<NAME>_SERVICE_HOST`, …)
    service_links: bool = True
    security_context: SecurityContext | None = None  # the pod's ``spec.securityContext``
    # every volume by name -> its source (``emptyDir``, ``persistentVolumeClaim``, ``secret``,
    # …; "" when it names none preflight recognises)
    volumes: dict[str, str] = field(default_factory=dict)
    empty_dir_volumes: frozenset[str] = frozenset()  # the pod's `emptyDir` volumes, by name
    # the pod template's ``metadata.labels`` mapping (None when it has none)
    labels_span: Span | None = None
    replicas: int | None = None  # ``spec.replicas`` as written (None: absent or not a number)
    replicas_span: Span | None = None
    # volumes whose data outlives the pod: volume name -> what backs it
    # (``persistentVolumeClaim`` claim, ``hostPath``, a StatefulSet's ``volumeClaimTemplates``)
    persistent_volumes: dict[str, str] = field(default_factory=dict)

    @property
    def main_containers(self) -> tuple[Container, ...]:
        return tuple(c for c in self.containers if not c.is_init)


@dataclass(frozen=True)
class ServicePort:
    port: int | None
    target_port: int | str | None
    name: str | None
    span: Span
    protocol: str = "TCP"


@dataclass(frozen=True)
class KService:
    obj: K8sObject
    selector: dict[str, str]
    ports: tuple[ServicePort, ...]
    span: Span
    type: str | None = None  # `spec.type` as written (None: ClusterIP)
    cluster_ip: str | None = None  # `spec.clusterIP` as written ("None": headless)
    selector_span: Span | None = None  # the ``selector`` key
    service_type: str | None = None  # ``spec.type`` (``ExternalName``, …): the same as ``type``


@dataclass(frozen=True)
class Backend:
    """A Service an Ingress, HTTPRoute or GRPCRoute sends traffic to. ``port`` is a number or
    a port name (None: not given, as an HTTPRoute to a one-port Service may leave it)."""

    obj: K8sObject  # the Ingress / route
    service: str
    port: int | str | None
    span: Span  # the Service's name
    port_span: Span | None
    namespace: str | None = None  # a route's ``backendRefs[].namespace``


@dataclass(frozen=True)
class Autoscaler:
    """A HorizontalPodAutoscaler (or KEDA ScaledObject) and the workload it scales."""

    obj: K8sObject
    target_kind: str | None
    target_name: str
    span: Span  # the target's name


@dataclass(frozen=True)
class SecretValue:
    """A Secret key. ``value`` is None when ``data`` held bytes that are not UTF-8 text."""

    value: str | None = field(repr=False)
    span: Span  # the key
    from_data: bool  # True: from ``data`` (base64); False: from ``stringData``


@dataclass(frozen=True)
class SecretData:
    obj: K8sObject
    type: str | None
    keys: dict[str, SecretValue]
    # SOPS-encrypted (a `sops:` block, values `ENC[AES256_GCM,…]`): the values are ciphertext,
    # read as unknown (None); the key names still count
    encrypted: bool = False
    # the line of a comment in the Secret's YAML document saying its values are for a demo or
    # must be replaced (`# In practice, this should never be checked into version control`)
    demo_comment: int | None = None


@dataclass(frozen=True)
class ConfigValue:
    value: str | None = field(repr=False)  # None for ``binaryData``
    span: Span  # the key
    binary: bool


@dataclass(frozen=True)
class ConfigMapData:
    obj: K8sObject
    keys: dict[str, ConfigValue]


@dataclass(frozen=True)
class ExternalSecretTarget:
    """A Secret another object creates; ``keys`` None means its keys are not known here."""

    obj: K8sObject
    target_name: str
    keys: tuple[str, ...] | None
    span: Span


@dataclass(frozen=True)
class ManifestFile:
    path: str
    objects: tuple[K8sObject, ...]
    workloads: tuple[Workload, ...]
    services: tuple[KService, ...]
    secrets: tuple[SecretData, ...]
    config_maps: tuple[ConfigMapData, ...]
    external_secrets: tuple[ExternalSecretTarget, ...]
    problems: tuple[ParseProblem, ...]
    is_manifest: bool
    templated: bool
    backends: tuple[Backend, ...] = ()
    autoscalers: tuple[Autoscaler, ...] = ()


def looks_like_manifest(text: str) -> bool:
    """True when the text mentions both ``apiVersion:`` and ``kind:``."""
    return "apiVersion:" in text and "kind:" in text


def _template_lines(text: str) -> list[int]:
    """1-based lines with ``{{`` before any ``#`` comment."""
    found: list[int] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if "{{" not in line or line.lstrip().startswith("#"):
            continue
        comment = re.search(r"(^|\s)#", line)
        code = line if comment is None else line[: comment.start()]
        if _TEMPLATE.search(code):
            found.append(number)
    return found


def _block_scalar_lines(nodes: list[YNode | None]) -> set[int]:
    lines: set[int] = set()
    stack = [node for node in nodes if node is not None]
    while stack:
        node = stack.pop()
        if node.kind == "scalar":
            if node.style in ("|", ">"):
                lines.update(range(node.span.line, node.span.end_line + 1))
        elif node.kind == "seq":
            stack.extend(node.seq())
        else:
            for key, value in node.items():
                stack.append(key)
                stack.append(value)
    return lines


class _Reader(TypedReader):
    """Typed access to a manifest document (the shared checks are in ``TypedReader``)."""

    def as_argv(self, node: YNode | None, where: str) -> ArgvField | None:
        if node is None or node.is_null:
            return None
        if node.kind != "seq":
            self.problem(node.span, f"`{where}` should be a list, not {node.type_name}")
            return None
        values: list[str] = []
        spans: list[Span] = []
        for index, item in enumerate(node.seq()):
            text = self.as_str(item, f"{where}[{index}]")
            values.append(text if text is not None else "")
            spans.append(item.span)
        return ArgvField(tuple(values), node.span, tuple(spans))


def _obj(document: YNode, path: str) -> K8sObject | None:
    api_version, kind = document.get("apiVersion"), document.get("kind")
    if api_version is None or kind is None:
        return None
    if api_version.tag != STR_TAG or kind.tag != STR_TAG:
        return None
    metadata = document.get("metadata")
    name_node = metadata.get("name") if metadata is not None else None
    namespace_node = metadata.get("namespace") if metadata is not None else None
    name = name_node.as_str() if name_node is not None else None
    namespace = namespace_node.as_str() if namespace_node is not None else None
    span = name_node.span if name_node is not None and name is not None else document.span
    if name is None:
        span = Span(path, span.line, span.col, span.line, span.col)
    return K8sObject(str(api_version.value), str(kind.value), name, namespace, span)


def parse_manifests(path: str, text: str) -> ManifestFile:
    """The Kubernetes objects in ``text`` (see the module docstring for what counts)."""
    template_lines = _template_lines(text)
    documents, error = load_documents(path, text)
    if template_lines and (
        error is not None or not set(template_lines) <= _block_scalar_lines(documents)
    ):
        return ManifestFile(
            path, (), (), (), (), (), (), (), looks_like_manifest(text), templated=True
        )
    reader = _Reader(path)
    objects: list[K8sObject] = []
    out = _Collected()
    pending = deque(doc for doc in documents if doc is not None)
    while pending:
        document = pending.popleft()
        if document.kind != "map":
            continue
        obj = _obj(document, path)
        if obj is None:
            continue
        if obj.kind == "List" or (obj.kind.endswith("List") and document.get("items")):
            pending.extendleft(reversed(reader.as_seq(document.get("items"), "items")))
            continue
        objects.append(obj)
        _read_object(reader, obj, document, out)
    problems = list(reader.problems)
    if error is not None:
        problems.insert(0, error)
    is_manifest = bool(objects) or (error is not None and looks_like_manifest(text))
    if not is_manifest and error is None:
        problems = []
    secrets = _with_demo_comments(out.secrets, text) if "#" in text else out.secrets
    return ManifestFile(
        path,
        tuple(objects),
        tuple(out.workloads),
        tuple(out.services),
        tuple(secrets),
        tuple(out.config_maps),
        tuple(out.external_secrets),
        tuple(problems),
        is_manifest,
        templated=False,
        backends=tuple(out.backends),
        autoscalers=tuple(out.autoscalers),
    )


# What a comment says when the values below it are not meant for real use.
_DEMO_COMMENT = re.compile(
    r"\b(?:demo|sample|example|testing|tutorial|local (?:development|dev)|dev only)\b|"
    r"\bnever (?:be )?(?:checked|committed|stored|used)\b|"
    r"\b(?:do not|don'?t|never) (?:commit|check|use (?:this|these|it) in)\b|"
    r"\bnot (?:for|in) production\b|\bgenerate your own\b|"
    r"\b(?:replace|change) (?:this|these|it|them|the values?|with|before)\b",
    re.I,
)


def _demo_comment(line: str) -> bool:
    comment = re.search(r"(?:^|\s)#", line)
    return comment is not None and _DEMO_COMMENT.search(line, comment.end()) is not None


def _with_demo_comments(secrets: list[SecretData], text: str) -> list[SecretData]:
    """Each Secret with the first comment of its YAML document that calls its values a demo."""
    lines = text.split("\n")
    separators = [n for n, line in enumerate(lines, start=1) if line.startswith("---")]
    out = []
    for secret in secrets:
        at = secret.obj.span.line
        start = max((n for n in separators if n < at), default=0)
        end = min((n for n in separators if n > at), default=len(lines) + 1)
        found = next(
            (n for n in range(start + 1, end) if _demo_comment(lines[n - 1])),
            None,
        )
        out.append(replace(secret, demo_comment=found) if found is not None else secret)
    return out


@dataclass(slots=True)
class _Collected:
    workloads: list[Workload] = field(default_factory=list)
    services: list[KService] = field(default_factory=list)
    secrets: list[SecretData] = field(default_factory=list)
    config_maps: list[ConfigMapData] = field(default_factory=list)
    external_secrets: list[ExternalSecretTarget] = field(default_factory=list)
    backends: list[Backend] = field(default_factory=list)
    autoscalers: list[Autoscaler] = field(default_factory=list)


def _read_object(reader: _Reader, obj: K8sObject, document: YNode, out: _Collected) -> None:
    group = obj.group
    if obj.kind == "Service" and group == "serving.knative.dev":
        _read_workload(reader, obj, document, ("spec", "template"), out)
    elif obj.kind in WORKLOAD_KINDS:
        if obj.kind == "Pod":
            path: tuple[str, ...] = ()
        elif obj.kind == "CronJob":
            path = ("spec", "jobTemplate", "spec", "template")
        else:
            path = ("spec", "template")
        _read_workload(reader, obj, document, path, out)
    elif obj.kind == "Service" and group == "":
        out.services.append(_read_service(reader, obj, document))
    elif obj.kind == "Secret" and group == "":
        out.secrets.append(_read_secret(reader, obj, document))
    elif obj.kind == "ConfigMap" and group == "":
        out.config_maps.append(_read_config_map(reader, obj, document))
    elif obj.kind == "ExternalSecret" and group.startswith("external-secrets.io"):
        target = _read_external_secret(reader, obj, document)
        if target is not None:
            out.external_secrets.append(target)
    elif obj.kind == "SealedSecret" and group == "bitnami.com":
        target = _read_sealed_secret(reader, obj, document)
        if target is not None:
            out.external_secrets.append(target)
    elif obj.kind == "SecretProviderClass" and group.startswith("secrets-store.csi"):
        out.external_secrets.extend(_read_secret_provider_class(reader, obj, document))
    elif obj.kind == "Ingress" and group in ("networking.k8s.io", "extensions"):
        out.backends.extend(_read_ingress(obj, document))
    elif obj.kind in ("HTTPRoute", "GRPCRoute") and group == "gateway.networking.k8s.io":
        out.backends.extend(_read_route(obj, document))
    elif (obj.kind == "HorizontalPodAutoscaler" and group == "autoscaling") or (
        obj.kind == "ScaledObject" and group == "keda.sh"
    ):
        autoscaler = _read_autoscaler(obj, document)
        if autoscaler is not None:
            out.autoscalers.append(autoscaler)


def _walk(
    reader: _Reader, start: YNode, keys: tuple[str, ...], where: str = ""
) -> tuple[YNode | None, str]:
    """Follow mapping ``keys`` from the mapping ``start``; a non-mapping on the way is a
    problem. Returns the node at the end (or None) and its dotted path."""
    node: YNode | None = start
    for index, key in enumerate(keys):
        if index:
            node = reader.as_map(node, where)
        if node is None:
            return None, where
        node = node.get(key)
        where = f"{where}.{key}" if where else key
    return node, where


def _read_workload(
    reader: _Reader,
    obj: K8sObject,
    document: YNode,
    template_path: tuple[str, ...],
    out: _Collected,
) -> None:
    pod = document
    where = ""
    if template_path:
        template, where = _walk(reader, document, template_path)
        template = reader.as_map(template, where)
        if template is None:
            return
        pod = template
    prefix = f"{where}." if where else ""
    metadata = reader.as_map(pod.get("metadata"), f"{prefix}metadata")
    labels_pair = metadata.get_item("labels") if metadata is not None else None
    pod_labels = reader.as_str_map(
        labels_pair[1] if labels_pair is not None else None, f"{prefix}metadata.labels"
    )
    persistent: dict[str, str] = {}
    replicas: int | None = None
    replicas_span: Span | None = None
    top_spec = document.get("spec") if template_path else None
    if top_spec is not None and top_spec.kind == "map":
        replicas_node = top_spec.get("replicas")
        if replicas_node is not None:
            replicas, replicas_span = replicas_node.as_int(), replicas_node.span
        claims = top_spec.get("volumeClaimTemplates")
        for claim in claims.seq() if claims is not None else ():
            claim_metadata = claim.get("metadata") if claim.kind == "map" else None
            claim_name = claim_metadata.get("name") if claim_metadata is not None else None
            text = claim_name.as_str() if claim_name is not None else None
            if text:
                persistent[text] = "volumeClaimTemplates"
    spec_node, spec_where = pod.get("spec"), f"{prefix}spec"
    spec = reader.as_map(spec_node, spec_where)
    containers: list[Container] = []
    secret_volumes: dict[str, str] = {}
    config_map_volumes: dict[str, str] = {}
    service_links = True
    empty_dirs: set[str] = set()
    if spec is not None:
        links = spec.get("enableServiceLinks")
        if links is not None and reader.as_bool(links, f"{spec_where}.enableServiceLinks") is False:
            service_links = False
    volumes: dict[str, str] = {}
    pod_security: SecurityContext | None = None
    if spec is not None:
        pod_security = _security_context(spec)
        for key, is_init in (("initContainers", True), ("containers", False)):
            items_where = f"{spec_where}.{key}"
            for index, item in enumerate(reader.as_seq(spec.get(key), items_where)):
                container = _read_container(reader, item, f"{items_where}[{index}]", is_init)
                if container is not None:
                    containers.append(container)
        volumes_where = f"{spec_where}.volumes"
        for index, item in enumerate(reader.as_seq(spec.get("volumes"), volumes_where)):
            volume = reader.as_map(item, f"{volumes_where}[{index}]")
            if volume is None:
                continue
            name_node = volume.get("name")
            name = name_node.as_str() if name_node is not None else None
            if name is None:
                continue
            volumes[name] = _volume_source(volume)
            if volume.get("emptyDir") is not None:
                empty_dirs.add(name)
            for kind, name_key, target in (
                ("secret", "secretName", secret_volumes),
                ("configMap", "name", config_map_volumes),
            ):
                source = reader.as_map(volume.get(kind), f"{volumes_where}[{index}].{kind}")
                if source is None:
                    continue
                ref = reader.as_str(
                    source.get(name_key), f"{volumes_where}[{index}].{kind}.{name_key}"
                )
                if ref is not None:
                    target[name] = ref
            claim_node = volume.get("persistentVolumeClaim")
            if claim_node is not None and claim_node.kind == "map":
                claim_name_node = claim_node.get("claimName")
                claimed = claim_name_node.as_str() if claim_name_node is not None else None
                persistent[name] = f"persistentVolumeClaim `{claimed or name}`"
            elif volume.get("hostPath") is not None:
                persistent[name] = "hostPath"
    out.workloads.append(
        Workload(
            obj,
            obj.kind,
            obj.name,
            obj.namespace,
            tuple(containers),
            pod_labels,
            secret_volumes,
            config_map_volumes,
            obj.span,
            service_links,
            pod_security,
            volumes,
            frozenset(empty_dirs),
            labels_pair[0].span if labels_pair is not None else None,
            replicas,
            replicas_span,
            persistent,
        )
    )


# Volume sources a pod can mount (core/v1 Volume); the first one a volume names is its kind.
_VOLUME_SOURCES = (
    "emptyDir", "persistentVolumeClaim", "hostPath", "ephemeral", "secret", "configMap",
    "downwardAPI", "projected", "nfs", "csi", "image", "iscsi", "cephfs", "rbd", "glusterfs",
    "azureFile", "azureDisk", "awsElasticBlockStore", "gcePersistentDisk", "fc", "flexVolume",
    "flocker", "portworxVolume", "quobyte", "scaleIO", "storageos", "vsphereVolume", "gitRepo",
    "cinder", "photonPersistentDisk",
)  # fmt: skip


def _volume_source(volume: YNode) -> str:
    for kind in _VOLUME_SOURCES:
        if volume.get_item(kind) is not None:
            return kind
    return ""


def _security_context(owner: YNode) -> SecurityContext | None:
    """The ``securityContext`` of a pod spec or a container, read leniently: a field of the
    wrong type is kept as set-to-unknown (the API server rejects it; PF001 is not the place)."""
    pair = owner.get_item("securityContext")
    if pair is None or pair[1].kind != "map":
        return None
    body = pair[1]

    def setting(key: str, read: str) -> SecuritySetting | None:
        item = body.get_item(key)
        if item is None or item[1].is_null:
            return None
        value: bool | int | None = item[1].as_bool() if read == "bool" else item[1].as_int()
        return SecuritySetting(value, item[0].span)

    return SecurityContext(
        pair[0].span,
        setting("runAsNonRoot", "bool"),
        setting("runAsUser", "int"),
        setting("readOnlyRootFilesystem", "bool"),
    )


def _read_container(reader: _Reader, node: YNode, where: str, is_init: bool) -> Container | None:
    container = reader.as_map(node, where)
    if container is None:
        return None
    name_node = container.get("name")
    name = reader.as_str(name_node, f"{where}.name")
    span = name_node.span if name_node is not None and name is not None else container.span
    image_node = container.get("image")
    image = reader.as_str(image_node, f"{where}.image")
    env: list[EnvVar] = []
    for index, item in enumerate(reader.as_seq(container.get("env"), f"{where}.env")):
        var = _read_env_var(reader, item, f"{where}.env[{index}]")
        if var is not None:
            env.append(var)
    env_from: list[EnvFrom] = []
    for index, item in enumerate(reader.as_seq(container.get("envFrom"), f"{where}.envFrom")):
        entry = _read_env_from(reader, item, f"{where}.envFrom[{index}]")
        if entry is not None:
            env_from.append(entry)
    ports: list[ContainerPort] = []
    for index, item in enumerate(reader.as_seq(container.get("ports"), f"{where}.ports")):
        item_where = f"{where}.ports[{index}]"
        port = reader.as_map(item, item_where)
        if port is None:
            continue
        port_node = port.get("containerPort")
        ports.append(
            ContainerPort(
                reader.as_int(port_node, f"{item_where}.containerPort"),
                reader.as_str(port.get("name"), f"{item_where}.name"),
                reader.as_str(port.get("protocol"), f"{item_where}.protocol") or "TCP",
                port_node.span if port_node is not None else port.span,
            )
        )
    probes: list[Probe] = []
    for kind in PROBE_KINDS:
        pair = container.get_item(kind)
        if pair is not None:
            probe = _read_probe(reader, kind, pair, f"{where}.{kind}")
            if probe is not None:
                probes.append(probe)
    mounts: list[VolumeMount] = []
    mounts_where = f"{where}.volumeMounts"
    for index, item in enumerate(reader.as_seq(container.get("volumeMounts"), mounts_where)):
        item_where = f"{mounts_where}[{index}]"
        mount = reader.as_map(item, item_where)
        if mount is None:
            continue
        mount_name = mount.get("name")
        read_only = mount.get("readOnly")
        mounts.append(
            VolumeMount(
                reader.as_str(mount_name, f"{item_where}.name"),
                reader.as_str(mount.get("mountPath"), f"{item_where}.mountPath"),
                reader.as_str(mount.get("subPath"), f"{item_where}.subPath"),
                mount_name.span if mount_name is not None else mount.span,
                read_only is not None and read_only.as_bool() is True,
            )
        )
    return Container(
        name=name or "",
        image=image,
        image_span=image_node.span if image_node is not None and image is not None else None,
        command=reader.as_argv(container.get("command"), f"{where}.command"),
        args=reader.as_argv(container.get("args"), f"{where}.args"),
        env=tuple(env),
        env_from=tuple(env_from),
        ports=tuple(ports),
        probes=tuple(probes),
        volume_mounts=tuple(mounts),
        working_dir=reader.as_str(container.get("workingDir"), f"{where}.workingDir"),
        span=span,
        is_init=is_init,
        security_context=_security_context(container),
    )


def _read_env_var(reader: _Reader, node: YNode, where: str) -> EnvVar | None:
    var = reader.as_map(node, where)
    if var is None:
        return None
    name_node = var.get("name")
    name = reader.as_str(name_node, f"{where}.name")
    if name is None or name_node is None:
        reader.problem(var.span, f"`{where}` has no `name`")
        return None
    value_node = var.get("value")
    value = reader.as_str(value_node, f"{where}.value")
    if value is not None and value_node is not None and value_node.tag != STR_TAG:
        reader.problem(
            value_node.span,
            f"`{where}.value` of `{name}` should be a string, not {value_node.type_name}; quote it",
        )
    value_from: ValueFrom | None = None
    source = reader.as_map(var.get("valueFrom"), f"{where}.valueFrom")
    if source is not None:
        for kind in _VALUE_FROM_KINDS:
            pair = source.get_item(kind)
            if pair is None:
                continue
            ref_where = f"{where}.valueFrom.{kind}"
            ref = reader.as_map(pair[1], ref_where)
            if ref is None:
                break
            if kind == "fieldRef":
                ref_name, key = None, reader.as_str(ref.get("fieldPath"), f"{ref_where}.fieldPath")
            elif kind == "resourceFieldRef":
                ref_name = reader.as_str(ref.get("containerName"), f"{ref_where}.containerName")
                key = reader.as_str(ref.get("resource"), f"{ref_where}.resource")
            else:
                ref_name = reader.as_str(ref.get("name"), f"{ref_where}.name")
                key = reader.as_str(ref.get("key"), f"{ref_where}.key")
            optional = reader.as_bool(ref.get("optional"), f"{ref_where}.optional")
            value_from = ValueFrom(
                kind,
                ref_name,
                key,
                optional,
                pair[0].span,
                _written(ref.get("name") if ref_name is not None else None),
                _written(ref.get("key") if key is not None else None),
            )
            break
    value_span = value_node.span if value is not None and value_node is not None else None
    return EnvVar(name, value, value_from, name_node.span, value_span)


def _read_env_from(reader: _Reader, node: YNode, where: str) -> EnvFrom | None:
    entry = reader.as_map(node, where)
    if entry is None:
        return None
    prefix = reader.as_str(entry.get("prefix"), f"{where}.prefix") or ""
    for kind in ("secretRef", "configMapRef"):
        pair = entry.get_item(kind)
        if pair is None:
            continue
        ref = reader.as_map(pair[1], f"{where}.{kind}")
        if ref is None:
            return None
        name = reader.as_str(ref.get("name"), f"{where}.{kind}.name")
        return EnvFrom(
            kind,
            name,
            prefix,
            reader.as_bool(ref.get("optional"), f"{where}.{kind}.optional"),
            pair[0].span,
            _written(ref.get("name") if name is not None else None),
        )
    return None


def _written(node: YNode | None) -> Span | None:
    """A scalar value's span, when it is written on one line (what a fix can rename)."""
    if node is None or not node.is_scalar or node.span.end_line != node.span.line:
        return None
    return node.span


def _read_probe(reader: _Reader, kind: str, pair: tuple[YNode, YNode], where: str) -> Probe | None:
    probe = reader.as_map(pair[1], where)
    if probe is None:
        return None
    settings: dict[str, int] = {}
    for setting in PROBE_SETTINGS:
        setting_node = probe.get(setting)
        value = reader.as_int(setting_node, f"{where}.{setting}")
        if value is not None:
            settings[setting] = value
    handler: str | None = None
    handler_span: Span | None = None
    path: str | None = None
    path_span: Span | None = None
    port: str | int | None = None
    port_span: Span | None = None
    scheme: str | None = None
    command: tuple[str, ...] = ()
    for name in ("httpGet", "tcpSocket", "exec", "grpc"):
        handler_pair = probe.get_item(name)
        if handler_pair is None:
            continue
        handler, handler_span = name, handler_pair[0].span
        body = reader.as_map(handler_pair[1], f"{where}.{name}")
        if body is None:
            break
        if name == "exec":
            argv = reader.as_argv(body.get("command"), f"{where}.exec.command")
            command = argv.values if argv is not None else ()
            break
        port_node = body.get("port")
        port = reader.as_int_or_str(port_node, f"{where}.{name}.port")
        port_span = port_node.span if port_node is not None else None
        if name == "httpGet":
            path_node = body.get("path")
            path = reader.as_str(path_node, f"{where}.httpGet.path")
            path_span = path_node.span if path_node is not None else None
            scheme = reader.as_str(body.get("scheme"), f"{where}.httpGet.scheme")
        break
    return Probe(
        kind,
        handler,
        path,
        port,
        scheme,
        command,
        settings,
        pair[0].span,
        handler_span,
        path_span,
        port_span,
    )


def _read_service(reader: _Reader, obj: K8sObject, document: YNode) -> KService:
    spec = reader.as_map(document.get("spec"), "spec")
    selector: dict[str, str] = {}
    ports: list[ServicePort] = []
    service_type: str | None = None
    cluster_ip: str | None = None
    if spec is not None:
        service_type = reader.as_str(spec.get("type"), "spec.type")
        cluster_ip = reader.as_str(spec.get("clusterIP"), "spec.clusterIP")
        selector = reader.as_str_map(spec.get("selector"), "spec.selector")
        for index, item in enumerate(reader.as_seq(spec.get("ports"), "spec.ports")):
            where = f"spec.ports[{index}]"
            port = reader.as_map(item, where)
            if port is None:
                continue
            port_node = port.get("port")
            ports.append(
                ServicePort(
                    reader.as_int(port_node, f"{where}.port"),
                    reader.as_int_or_str(port.get("targetPort"), f"{where}.targetPort"),
                    reader.as_str(port.get("name"), f"{where}.name"),
                    port_node.span if port_node is not None else port.span,
                    reader.as_str(port.get("protocol"), f"{where}.protocol") or "TCP",
                )
            )
    selector_pair = spec.get_item("selector") if spec is not None else None
    return KService(
        obj,
        selector,
        tuple(ports),
        obj.span,
        type=service_type,
        cluster_ip=cluster_ip,
        selector_span=selector_pair[0].span if selector_pair is not None else None,
        service_type=service_type,
    )


def _backend_port(port: YNode | None) -> tuple[int | str | None, Span | None]:
    if port is None or port.kind != "scalar" or port.is_null:
        return None, None
    number = port.as_int()
    return (number if number is not None else port.as_str()), port.span


def _ingress_backend(obj: K8sObject, backend: YNode | None) -> Backend | None:
    """``backend.service.name``/``port`` (v1) or ``serviceName``/``servicePort`` (v1beta1)."""
    if backend is None or backend.kind != "map":
        return None
    service = backend.get("service")
    if service is not None and service.kind == "map":
        name = service.get("name")
        port_map = service.get("port")
        port: YNode | None = None
        if port_map is not None and port_map.kind == "map":
            port = port_map.get("number") or port_map.get("name")
        name_text = name.as_str() if name is not None else None
        if name is None or not name_text:
            return None
        number, port_span = _backend_port(port)
        return Backend(obj, name_text, number, name.span, port_span)
    name = backend.get("serviceName")
    name_text = name.as_str() if name is not None else None
    if name is None or not name_text:
        return None
    number, port_span = _backend_port(backend.get("servicePort"))
    return Backend(obj, name_text, number, name.span, port_span)


def _read_ingress(obj: K8sObject, document: YNode) -> list[Backend]:
    spec = document.get("spec")
    if spec is None or spec.kind != "map":
        return []
    found: list[Backend] = []
    for key in ("defaultBackend", "backend"):
        backend = _ingress_backend(obj, spec.get(key))
        if backend is not None:
            found.append(backend)
    rules = spec.get("rules")
    for rule in rules.seq() if rules is not None else ():
        http = rule.get("http") if rule.kind == "map" else None
        paths = http.get("paths") if http is not None and http.kind == "map" else None
        for entry in paths.seq() if paths is not None else ():
            backend = _ingress_backend(obj, entry.get("backend") if entry.kind == "map" else None)
            if backend is not None:
                found.append(backend)
    return found


def _read_route(obj: K8sObject, document: YNode) -> list[Backend]:
    spec = document.get("spec")
    rules = spec.get("rules") if spec is not None and spec.kind == "map" else None
    found: list[Backend] = []
    for rule in rules.seq() if rules is not None else ():
        refs = rule.get("backendRefs") if rule.kind == "map" else None
        for ref in refs.seq() if refs is not None else ():
            if ref.kind != "map":
                continue
            kind = ref.get("kind")
            group = ref.get("group")
            if (kind is not None and kind.as_str() != "Service") or (
                group is not None and group.as_str() not in ("", None)
            ):
                continue  # a backend of another kind (an InferencePool, a ServiceImport)
            name = ref.get("name")
            name_text = name.as_str() if name is not None else None
            if name is None or not name_text:
                continue
            number, port_span = _backend_port(ref.get("port"))
            namespace = ref.get("namespace")
            found.append(
                Backend(
                    obj,
                    name_text,
                    number,
                    name.span,
                    port_span,
                    namespace.as_str() if namespace is not None else None,
                )
            )
    return found


def _read_autoscaler(obj: K8sObject, document: YNode) -> Autoscaler | None:
    spec = document.get("spec")
    if spec is None or spec.kind != "map":
        return None
    target = spec.get("scaleTargetRef")
    if target is None or target.kind != "map":
        return None
    name = target.get("name")
    name_text = name.as_str() if name is not None else None
    if name is None or not name_text:
        return None
    kind = target.get("kind")
    return Autoscaler(obj, kind.as_str() if kind is not None else None, name_text, name.span)


def _decode_base64(text: str) -> bytes | None:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def _read_secret(reader: _Reader, obj: K8sObject, document: YNode) -> SecretData:
    keys: dict[str, SecretValue] = {}
    label = f"Secret `{obj.name}`" if obj.name else "Secret"
    encrypted = document.get("sops") is not None
    for key, value in items_of(reader.as_map(document.get("data"), "data")):
        name = key.as_str()
        if name is None:
            continue
        text = reader.as_str(value, f"data.{name}") or ""
        if encrypted or text.startswith("ENC["):
            encrypted = True
            keys[name] = SecretValue(None, key.span, from_data=True)
            continue
        raw = _decode_base64(text)
        if raw is None:
            reader.problem(key.span, f"{label} data key `{name}` is not valid base64")
            continue
        try:
            decoded: str | None = raw.decode("utf-8")
        except UnicodeDecodeError:
            decoded = None  # binary data (a keystore, an image): valid, just not text
        keys[name] = SecretValue(decoded, key.span, from_data=True)
    for key, value in items_of(reader.as_map(document.get("stringData"), "stringData")):
        name = key.as_str()
        if name is None:
            continue
        text = reader.as_str(value, f"stringData.{name}") or ""
        if encrypted or text.startswith("ENC["):
            encrypted = True
            keys[name] = SecretValue(None, key.span, from_data=False)
            continue
        keys[name] = SecretValue(text, key.span, from_data=False)
    type_node = document.get("type")
    secret_type = reader.as_str(type_node, "type") if type_node is not None else None
    if encrypted:  # a value read before the first `ENC[` one is ciphertext too
        keys = {k: SecretValue(None, v.span, v.from_data) for k, v in keys.items()}
    return SecretData(obj, secret_type, keys, encrypted)


def _read_config_map(reader: _Reader, obj: K8sObject, document: YNode) -> ConfigMapData:
    keys: dict[str, ConfigValue] = {}
    for section, binary in (("data", False), ("binaryData", True)):
        for key, value in items_of(reader.as_map(document.get(section), section)):
            name = key.as_str()
            if name is None:
                continue
            text = reader.as_str(value, f"{section}.{name}")
            keys[name] = ConfigValue(None if binary else (text or ""), key.span, binary)
    return ConfigMapData(obj, keys)


def _key_names(reader: _Reader, node: YNode | None, where: str) -> list[str]:
    return [name for key, _ in items_of(reader.as_map(node, where)) if (name := key.as_str())]


def _read_external_secret(
    reader: _Reader, obj: K8sObject, document: YNode
) -> ExternalSecretTarget | None:
    spec = reader.as_map(document.get("spec"), "spec")
    if spec is None:
        return None
    target = reader.as_map(spec.get("target"), "spec.target")
    name_node = target.get("name") if target is not None else None
    name = reader.as_str(name_node, "spec.target.name") or obj.name
    if name is None:
        return None
    span = name_node.span if name_node is not None and not name_node.is_null else obj.span
    keys: list[str] | None = []
    for index, item in enumerate(reader.as_seq(spec.get("data"), "spec.data")):
        entry = reader.as_map(item, f"spec.data[{index}]")
        if entry is None:
            continue
        key = reader.as_str(entry.get("secretKey"), f"spec.data[{index}].secretKey")
        if key is not None and keys is not None:
            keys.append(key)
    if reader.as_seq(spec.get("dataFrom"), "spec.dataFrom"):
        keys = None
    template, where = _walk(reader, spec, ("target", "template"), "spec")
    template = reader.as_map(template, where)
    if template is not None:
        if template.get("templateFrom") is not None:
            keys = None
        template_keys = _key_names(reader, template.get("data"), "spec.target.template.data")
        if template_keys:
            merge = reader.as_str(template.get("mergePolicy"), "spec.target.template.mergePolicy")
            if merge == "Merge":
                keys = None if keys is None else keys + template_keys
            elif keys is not None:
                keys = template_keys
    if target is not None:
        policy = reader.as_str(target.get("creationPolicy"), "spec.target.creationPolicy")
        if policy == "Merge":
            keys = None  # the keys join an existing Secret's
    return ExternalSecretTarget(
        obj, name, None if keys is None else tuple(dict.fromkeys(keys)), span
    )


def _read_sealed_secret(
    reader: _Reader, obj: K8sObject, document: YNode
) -> ExternalSecretTarget | None:
    spec = reader.as_map(document.get("spec"), "spec")
    if spec is None:
        return None
    template_name, where = _walk(reader, spec, ("template", "metadata", "name"), "spec")
    name = obj.name or reader.as_str(template_name, where)
    if name is None:
        return None
    keys = _key_names(reader, spec.get("encryptedData"), "spec.encryptedData")
    template_data, where = _walk(reader, spec, ("template", "data"), "spec")
    keys += _key_names(reader, template_data, where)
    return ExternalSecretTarget(obj, name, tuple(dict.fromkeys(keys)), obj.span)


def _read_secret_provider_class(
    reader: _Reader, obj: K8sObject, document: YNode
) -> list[ExternalSecretTarget]:
    spec = reader.as_map(document.get("spec"), "spec")
    if spec is None:
        return []
    targets: list[ExternalSecretTarget] = []
    for index, item in enumerate(reader.as_seq(spec.get("secretObjects"), "spec.secretObjects")):
        where = f"spec.secretObjects[{index}]"
        secret_object = reader.as_map(item, where)
        if secret_object is None:
            continue
        name_node = secret_object.get("secretName")
        name = reader.as_str(name_node, f"{where}.secretName")
        if name is None or name_node is None:
            continue
        keys: list[str] = []
        for key_index, data in enumerate(reader.as_seq(secret_object.get("data"), f"{where}.data")):
            entry = reader.as_map(data, f"{where}.data[{key_index}]")
            key = (
                reader.as_str(entry.get("key"), f"{where}.data[{key_index}].key") if entry else None
            )
            if key is not None:
                keys.append(key)
        targets.append(ExternalSecretTarget(obj, name, tuple(dict.fromkeys(keys)), name_node.span))
    return targets
