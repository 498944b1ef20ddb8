"""Docker Compose files: each service's build, image, command and environment.

Paths (build context, Dockerfile, env files) are made relative to the checked root: joined to
the compose file's directory and normalised with ``posixpath`` ("" is the root itself; a path
leaving the root keeps its leading ``..``; a remote build context gives None).

``${VAR}`` interpolation is left as written. ``x-`` extension keys are ignored, and anchors
with merge keys (``<<: *defaults``) are resolved by the YAML layer. ``extends`` and
``include`` are not followed. A file without a top-level ``services`` mapping whose entries
look like services (``image``/``build``) is read as the legacy version 1 format.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass, field

from preflight.parse import ParseProblem
from preflight.parse.yamlnodes import TypedReader, YNode, load_documents
from preflight.spans import Span


@dataclass(frozen=True)
class ComposeCommand:
    """``command`` or ``entrypoint``. A list is the argv as written. A string is split the way
    Compose splits it (shell-like quoting, no shell runs), so ``argv`` holds the words and
    ``shell_text`` stays None; a string that cannot be split is a ParseProblem."""

    argv: tuple[str, ...] | None
    shell_text: str | None
    span: Span


@dataclass(frozen=True)
class ComposeEnv:
    """One ``environment`` entry; ``value`` None means "passed through from the host"."""

    name: str
    value: str | None = field(repr=False)  # may be a real secret: never printed
    span: Span


@dataclass(frozen=True)
class ComposeService:
    name: str
    span: Span  # the service's key
    build_context: str | None  # repo-relative, "" for the root
    dockerfile: str | None  # repo-relative; context/Dockerfile by default
    build_target: str | None
    image: str | None
    command: ComposeCommand | None
    entrypoint: ComposeCommand | None
    environment: tuple[ComposeEnv, ...]
    env_files: tuple[tuple[str, Span], ...]  # repo-relative
    ports: tuple[str, ...]
    healthcheck_test: tuple[str, ...] | None  # as written; a string is ("CMD-SHELL", text)
    healthcheck_span: Span | None
    depends_on: tuple[str, ...]
    image_span: Span | None = None  # where ``image`` is written
    # `host`, `service:proxy`, `container:x`: the service shares another network namespace
    network_mode: str | None = None
    # its `volumes:`: (source as written, "" for an anonymous volume; the container path, "?"
    # when preflight cannot read one; where the entry is written), and its `working_dir`
    volumes: tuple[tuple[str, str, Span], ...] = ()
    working_dir: str | None = None


@dataclass(frozen=True)
class ComposeFile:
    path: str
    services: tuple[ComposeService, ...]
    problems: tuple[ParseProblem, ...]


def _repo_path(base: str, relative: str) -> str:
    joined = posixpath.normpath(posixpath.join(base, relative))
    return "" if joined == "." else joined


def _is_remote(context: str) -> bool:
    return "://" in context or context.startswith(("git@", "github.com/"))


class _Reader(TypedReader):
    """Typed access to a compose file (the shared checks are in ``TypedReader``)."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.base = posixpath.dirname(path)

    # Compose 2.24+ merge tags: `!reset` empties a value (or a whole service) inherited from an
    # earlier file, `!override` replaces it instead of merging. Neither changes the value's type:
    # a reset value reads as absent, an override as what it holds.
    def as_map(self, node: YNode | None, where: str) -> YNode | None:
        return None if _reset(node) else super().as_map(node, where)

    def as_seq(self, node: YNode | None, where: str) -> tuple[YNode, ...]:
        return () if _reset(node) else super().as_seq(node, where)

    def as_str(self, node: YNode | None, where: str) -> str | None:
        return None if _reset(node) else super().as_str(node, where)

    def as_int(self, node: YNode | None, where: str) -> int | None:
        return None if _reset(node) else super().as_int(node, where)

    def command(self, node: YNode | None, where: str) -> ComposeCommand | None:
        if node is None or node.is_null:
            return None
        if node.kind == "seq":
            return ComposeCommand(self.as_str_list(node, where), None, node.span)
        text = self.as_str(node, where)
        if text is None:
            return None
        try:
            argv = tuple(shlex.split(text))
        except ValueError as exc:
            self.problem(node.span, f"`{where}` cannot be split into words: {exc}")
            return None
        return ComposeCommand(argv, None, node.span)

    def environment(self, node: YNode | None, where: str) -> tuple[ComposeEnv, ...]:
        if node is None or node.is_null:
            return ()
        out: list[ComposeEnv] = []
        if node.kind == "map":
            for key, value in node.items():
                name = key.as_str()
                if name is None:
                    continue
                if value.kind != "scalar":
                    self.problem(
                        value.span, f"`{where}.{name}` should be a string, not {value.type_name}"
                    )
                    continue
                out.append(ComposeEnv(name, value.as_str(), key.span))
            return tuple(out)
        if node.kind != "seq":
            self.problem(
                node.span, f"`{where}` should be a mapping or a list, not {node.type_name}"
            )
            return ()
        for index, item in enumerate(node.seq()):
            text = self.as_str(item, f"{where}[{index}]")
            if not text:
                continue
            name, equals, env_value = text.partition("=")
            out.append(ComposeEnv(name, env_value if equals else None, item.span))
        return tuple(out)

    def env_files(self, node: YNode | None, where: str) -> tuple[tuple[str, Span], ...]:
        if node is None or node.is_null:
            return ()
        items = node.seq() if node.kind == "seq" else (node,)
        out: list[tuple[str, Span]] = []
        for index, item in enumerate(items):
            item_where = f"{where}[{index}]" if node.kind == "seq" else where
            path_node: YNode | None = item
            if item.kind == "map":
                path_node = item.get("path")
                if path_node is None:
                    self.problem(item.span, f"`{item_where}` has no `path`")
                    continue
            text = self.as_str(path_node, item_where)
            if text is not None and path_node is not None:
                out.append((_repo_path(self.base, text), path_node.span))
        return tuple(out)

    def ports(self, node: YNode | None, where: str) -> tuple[str, ...]:
        if node is None or node.is_null:
            return ()
        if node.kind != "seq":
            self.problem(node.span, f"`{where}` should be a list, not {node.type_name}")
            return ()
        out: list[str] = []
        for index, item in enumerate(node.seq()):
            if item.kind == "map":
                target = item.get("target")
                published = item.get("published")
                protocol = item.get("protocol")
                text = target.as_str() if target is not None else None
                if text is None:
                    self.problem(item.span, f"`{where}[{index}]` has no `target`")
                    continue
                published_text = published.as_str() if published is not None else None
                if published_text:
                    text = f"{published_text}:{text}"
                protocol_text = protocol.as_str() if protocol is not None else None
                if protocol_text:
                    text = f"{text}/{protocol_text}"
                out.append(text)
                continue
            port = self.as_str(item, f"{where}[{index}]")
            if port is not None:
                out.append(port)
        return tuple(out)

    def depends_on(self, node: YNode | None, where: str) -> tuple[str, ...]:
        if node is None or node.is_null:
            return ()
        if node.kind == "map":
            return tuple(name for key, _ in node.items() if (name := key.as_str()))
        if node.kind == "seq":
            return self.as_str_list(node, where)
        self.problem(node.span, f"`{where}` should be a list or a mapping, not {node.type_name}")
        return ()


def _reset(node: YNode | None) -> bool:
    return node is not None and node.tag == "!reset"


def _service(reader: _Reader, key: YNode, name: str, node: YNode) -> ComposeService | None:
    where = f"services.{name}"
    if _reset(node):
        return None  # `nginx: !reset`: the service is removed from the merged file
    service = reader.as_map(node, where)
    if service is None:
        if node.is_null:
            reader.problem(key.span, f"service `{name}` is empty")
        return None
    build_context: str | None = None
    dockerfile: str | None = None
    target: str | None = None
    build = service.get("build")
    if build is not None and build.kind == "map":
        context = reader.as_str(build.get("context"), f"{where}.build.context") or "."
        name_in_context = reader.as_str(build.get("dockerfile"), f"{where}.build.dockerfile")
        target = reader.as_str(build.get("target"), f"{where}.build.target")
        if not _is_remote(context):
            build_context = _repo_path(reader.base, context)
            if build.get("dockerfile_inline") is None:
                dockerfile = _repo_path(build_context, name_in_context or "Dockerfile")
    elif build is not None:
        context_text = reader.as_str(build, f"{where}.build")
        if context_text is not None and not _is_remote(context_text):
            build_context = _repo_path(reader.base, context_text)
            dockerfile = _repo_path(build_context, "Dockerfile")
    healthcheck = reader.as_map(service.get("healthcheck"), f"{where}.healthcheck")
    test_node = healthcheck.get("test") if healthcheck is not None else None
    healthcheck_test: tuple[str, ...] | None = None
    if test_node is not None and not test_node.is_null:
        if test_node.kind == "seq":
            healthcheck_test = reader.as_str_list(test_node, f"{where}.healthcheck.test")
        else:
            text = reader.as_str(test_node, f"{where}.healthcheck.test")
            healthcheck_test = ("CMD-SHELL", text) if text is not None else None
    return ComposeService(
        name=name,
        span=key.span,
        build_context=build_context,
        dockerfile=dockerfile,
        build_target=target,
        image=reader.as_str(service.get("image"), f"{where}.image"),
        command=reader.command(service.get("command"), f"{where}.command"),
        entrypoint=reader.command(service.get("entrypoint"), f"{where}.entrypoint"),
        environment=reader.environment(service.get("environment"), f"{where}.environment"),
        env_files=reader.env_files(service.get("env_file"), f"{where}.env_file"),
        ports=reader.ports(service.get("ports"), f"{where}.ports"),
        healthcheck_test=healthcheck_test,
        healthcheck_span=test_node.span if healthcheck_test is not None and test_node else None,
        depends_on=reader.depends_on(service.get("depends_on"), f"{where}.depends_on"),
        image_span=image_node.span if (image_node := service.get("image")) is not None else None,
        network_mode=reader.as_str(service.get("network_mode"), f"{where}.network_mode"),
        volumes=_volumes(service.get("volumes")),
        working_dir=reader.as_str(service.get("working_dir"), f"{where}.working_dir"),
    )


def _volumes(node: YNode | None) -> tuple[tuple[str, str, Span], ...]:
    """A service's volumes (short syntax `SRC:TARGET[:MODE]` or `TARGET`, long syntax
    `source:`/`target:`). Not validated here: compose itself reports malformed volumes."""
    if node is None or node.is_null or node.kind != "seq":
        return ()
    out: list[tuple[str, str, Span]] = []
    for item in node.seq():
        if item.kind == "map":
            source = item.get("source")
            target = item.get("target")
            out.append(
                (
                    (source.as_str() if source is not None else None) or "",
                    (target.as_str() if target is not None else None) or "?",
                    item.span,
                )
            )
            continue
        text = item.as_str()
        if not text:
            out.append(("", "?", item.span))
            continue
        parts = text.split(":")
        if len(parts) >= 2 and len(parts[0]) == 1 and parts[0].isalpha():
            parts = [parts[0] + ":" + parts[1], *parts[2:]]  # `C:\\src:/app` on Windows
        if len(parts) >= 2:
            out.append((parts[0], parts[1], item.span))
        else:
            out.append(("", parts[0], item.span))
    return tuple(out)


def _legacy_services(document: YNode) -> YNode | None:
    """The top-level mapping itself, if it reads as a version 1 file (services at the top)."""
    entries = [(k, v) for k, v in document.items() if not str(k.value).startswith("x-")]
    if entries and all(
        v.kind == "map" and ("image" in _keys(v) or "build" in _keys(v)) for _, v in entries
    ):
        return document
    return None


def _keys(node: YNode) -> set[str]:
    return {name for key, _ in node.items() if (name := key.as_str()) is not None}


def parse_compose(path: str, text: str) -> ComposeFile:
    """The services of a compose file; problems for invalid YAML and fields of the wrong type."""
    reader = _Reader(path)
    documents, error = load_documents(path, text)
    if error is not None:
        reader.problems.append(error)
    document = next((doc for doc in documents if doc is not None), None)
    services: list[ComposeService] = []
    if document is not None and document.kind != "map":
        reader.problem(
            document.span, f"a compose file should be a mapping, not {document.type_name}"
        )
    elif document is not None:
        services_node = document.get("services")
        if services_node is None and document.get("version") is None:
            services_node = _legacy_services(document)
        for key, node in _items(reader.as_map(services_node, "services")):
            name = key.as_str()
            if name is None or name.startswith("x-"):
                continue
            service = _service(reader, key, name, node)
            if service is not None:
                services.append(service)
    return ComposeFile(path, tuple(services), tuple(reader.problems))


def _items(node: YNode | None) -> tuple[tuple[YNode, YNode], ...]:
    return () if node is None else node.items()
