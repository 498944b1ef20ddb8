"""Where a pod's security settings meet its image: the user it runs as, what it may write.

For each Kubernetes container of the graph, :func:`container_security` joins, once:

* the effective ``runAsNonRoot`` / ``runAsUser`` (the container's own field overrides the
  pod's, as the kubelet's ``DetermineEffectiveSecurityContext`` does) and the container's
  ``readOnlyRootFilesystem`` — each with the span of the key that sets it, kustomize patches
  merged in;
* the user its image runs as (:class:`ImageUser`): the final stage's ``USER`` (inherited
  through ``FROM <earlier stage>``), else what ``knowledge/base_users`` says of the external
  base image, else unknown — only for images tied to a Dockerfile here;
* the directories it can write with a read-only root (:class:`Writable`): mounts of writable
  volumes, the image's ``VOLUME`` paths, ``/dev/shm``;
* Python's temporary directory candidates (``tempfile._candidate_tempdir_list``: ``$TMPDIR``,
  ``$TEMP``, ``$TMP``, ``/tmp``, ``/var/tmp``, ``/usr/tmp``, then the working directory);
* the programs it starts that need a writable temporary directory (:class:`TempUse`).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from preflight.digits import ascii_int
from preflight.knowledge.base_users import base_user
from preflight.model.serving import gunicorn_setting, narrow
from preflight.spans import Span

if TYPE_CHECKING:
    from preflight.model.graph import ContainerNode
    from preflight.model.processes import Process
    from preflight.model.project import Project
    from preflight.model.serving import Served
    from preflight.parse.dockerfile import Dockerfile
    from preflight.parse.manifests import SecurityContext, SecuritySetting

__all__ = [
    "ContainerSecurity",
    "Effective",
    "ImageUser",
    "TempUse",
    "Writable",
    "container_security",
]

Level = Literal["pod", "container"]

# Volume sources the kubelet always mounts read-only (core/v1 docs: "A … volume is always
# mounted read-only"); any other source is writable unless the mount says ``readOnly``.
_READ_ONLY_SOURCES = frozenset({"secret", "configMap", "downwardAPI", "projected", "image"})
# Python's tempfile._candidate_tempdir_list on POSIX, after the environment variables.
_TEMP_ENV = ("TMPDIR", "TEMP", "TMP")
_TEMP_DIRS = ("/tmp", "/var/tmp", "/usr/tmp")
# celery pools that run without billiard's prefork pool (the default, which needs one)
_CELERY_POOLS_WITHOUT_PREFORK = frozenset({"solo", "threads", "gevent", "eventlet", "custom"})


@dataclass(frozen=True, slots=True)
class Effective:
    """A securityContext field as the kubelet applies it, and where it is written."""

    value: bool | int | None  # None: written, to a value that is not a literal
    span: Span  # the key (`runAsNonRoot:`)
    level: Level


@dataclass(frozen=True, slots=True)
class ImageUser:
    """The user an image runs as. ``user`` is the USER as the image config holds it ("" for
    none: root); None when it is not known (``why`` says why)."""

    user: str | None
    span: Span | None = None  # the USER line, or the FROM line of the base that decides it
    how: str = ""  # "`USER app` in Dockerfile", "the official `python` image sets no USER…"
    why: str | None = None

    @property
    def name(self) -> str:
        """The user part (`app` of `app:app`)."""
        return (self.user or "").split(":", 1)[0].strip()

    @property
    def uid(self) -> int | None:
        """The numeric uid the kubelet reads (0 for no USER at all); None for a name."""
        if self.user is None:
            return None
        if not self.name:
            return 0
        return ascii_int(self.name)


@dataclass(frozen=True, slots=True)
class Writable:
    """A directory a container can write with a read-only root filesystem."""

    path: str
    how: str  # "emptyDir volume `tmp`", "the image's VOLUME", "/dev/shm (always a tmpfs)"
    span: Span | None


@dataclass(frozen=True, slots=True)
class TempUse:
    """A program the container starts that creates a temporary file when it starts."""

    program: str  # "gunicorn", "celery worker"
    span: Span  # its name in the command as written
    what: str  # what it creates, for the message
    # the directory it writes instead of Python's temporary directory (gunicorn's
    # `--worker-tmp-dir`), with how it is set
    directory: tuple[str, str] | None = None


@dataclass(slots=True)
class ContainerSecurity:
    run_as_non_root: Effective | None
    run_as_user: Effective | None
    read_only_root: Effective | None  # a container-only field
    image_user: ImageUser  # unknown unless the image is tied to a Dockerfile strongly
    writable: list[Writable] = field(default_factory=list)
    # Python's temporary directory candidates in order; None when an environment variable
    # that adds one is set to a value preflight cannot read (``temp_unknown`` says which)
    temp_candidates: list[tuple[str, str]] | None = None  # (directory, where it comes from)
    temp_unknown: str | None = None
    temp_uses: list[TempUse] = field(default_factory=list)
    why_uses_unknown: str | None = None  # why the programs it starts are not known
    # why its settings and mounts may differ once kustomize renders it (a patch preflight does
    # not merge), or None
    unmerged_patches: str | None = None

    def writable_at(self, path: str) -> Writable | None:
        """The writable mount that holds ``path`` (itself or a parent directory), if any."""
        normal = posixpath.normpath(path)
        for place in self.writable:
            root = posixpath.normpath(place.path)
            if normal == root or normal.startswith(root.rstrip("/") + "/"):
                return place
        return None


def container_security(
    node: ContainerNode, project: Project, served: list[Served], processes: list[Process]
) -> ContainerSecurity:
    run = node.run
    container = run.container
    pod = run.pod_security_context
    own = container.security_context

    levels: tuple[tuple[Level, SecurityContext | None], ...] = (("container", own), ("pod", pod))

    def effective(name: str) -> Effective | None:
        for level, context in levels:
            setting: SecuritySetting | None = getattr(context, name) if context else None
            if setting is not None:
                return Effective(setting.value, setting.span, level)
        return None

    read_only = own.read_only_root_filesystem if own is not None else None
    out = ContainerSecurity(
        effective("run_as_non_root"),
        effective("run_as_user"),
        Effective(read_only.value, read_only.span, "container") if read_only else None,
        _image_user(node),
        unmerged_patches=run.unmerged_patches,
    )
    if out.read_only_root is not None and out.read_only_root.value is True:
        _writable_facts(out, node, project, served, processes)
    return out


def _image_user(node: ContainerNode) -> ImageUser:
    run = node.run
    evidence = node.image_evidence
    dockerfile = run.dockerfile
    if dockerfile is None or evidence is None:
        return ImageUser(None, why=run.why_unlinked or "its image is not built here")
    if not evidence.strong:
        return ImageUser(
            None, why=f"its image is tied to a Dockerfile only by a guess: {evidence.how}"
        )
    if evidence.other_stage:
        why = f"its build targets a stage other than the last: {evidence.how}"
        return ImageUser(None, why=why)
    return dockerfile_user(dockerfile)


def dockerfile_user(dockerfile: Dockerfile) -> ImageUser:
    """The user the image of ``dockerfile``'s last stage runs as."""
    final = dockerfile.final
    if final is None:
        return ImageUser(None, why=f"{dockerfile.path} has no stage")
    if final.user is not None and final.user_span is not None:
        if "$" in final.user or not final.user.strip():
            return ImageUser(None, why=f"{dockerfile.path}: `USER {final.user}` is not literal")
        return ImageUser(final.user.strip(), final.user_span, f"`USER {final.user.strip()}`")
    root = dockerfile.lineage(final)[-1]
    known = base_user(root.base)
    if known is None:
        return ImageUser(
            None, why=f"the base image `{root.base}` may set a USER preflight does not know"
        )
    return ImageUser(known.user, root.span, known.source)


def _writable_facts(
    out: ContainerSecurity,
    node: ContainerNode,
    project: Project,
    served: list[Served],
    processes: list[Process],
) -> None:
    run = node.run
    container = run.container
    out.writable.append(Writable("/dev/shm", "/dev/shm (a tmpfs in every container)", None))
    for mount in container.volume_mounts:
        if not mount.mount_path or mount.read_only:
            continue
        source = run.pod_volumes.get(mount.name or "")
        if source in _READ_ONLY_SOURCES:
            continue
        what = f"{source} volume `{mount.name}`" if source else f"volume `{mount.name}`"
        out.writable.append(Writable(mount.mount_path, what, mount.span))
    image = project.images.get(run.dockerfile.path) if run.dockerfile is not None else None
    if run.dockerfile is not None and run.dockerfile.final is not None:
        for path, span in run.dockerfile.final.volumes:
            out.writable.append(Writable(path, "the image's VOLUME", span))
    candidates: list[tuple[str, str]] = []
    for name in _TEMP_ENV:
        for provider in node.env.providers.get(name, ()):
            if provider.value is None or "$" in provider.value:
                out.temp_unknown = f"{name} is set to a value preflight cannot read"
            else:
                candidates.append((provider.value, f"{name} ({provider.kind})"))
    if node.env.unknown:
        out.temp_unknown = out.temp_unknown or f"TMPDIR may be set: {node.env.unknown[0]}"
    candidates.extend((directory, "Python's default") for directory in _TEMP_DIRS)
    cwd = container.working_dir or (image.environment.workdir if image is not None else None)
    if cwd is None:
        out.temp_unknown = out.temp_unknown or "its working directory is not known"
    else:
        candidates.append((cwd, "the working directory"))
    out.temp_candidates = None if out.temp_unknown else candidates
    _temp_uses(out, node, project, served, processes)


def _temp_uses(
    out: ContainerSecurity,
    node: ContainerNode,
    project: Project,
    served: list[Served],
    processes: list[Process],
) -> None:
    for unit in served:
        if unit.node is not node or unit.command.server != "gunicorn":
            continue
        if unit.alternatives > 1:
            out.why_uses_unknown = "its script starts one of several servers"
            return
        setting = gunicorn_setting(unit, project, "--worker-tmp-dir", "worker_tmp_dir")
        if setting.unknown is not None:
            out.why_uses_unknown = f"gunicorn's `worker_tmp_dir`: {setting.unknown}"
            return
        directory = (setting.value, setting.how) if setting.value is not None else None
        out.temp_uses.append(
            TempUse(
                "gunicorn",
                unit.word_span("gunicorn"),
                "each worker's heartbeat file (gunicorn/workers/workertmp.py)",
                directory,
            )
        )
        return
    process = _process_of(node, processes)
    if process is None:
        return
    for step in process.steps:
        invocation = step.invocation
        if invocation is None or step.runs not in ("program", "python"):
            continue
        args = list(invocation.args)
        name = posixpath.basename(invocation.executable)
        if step.runs == "python":
            if args[:2] != ["-m", "celery"]:
                continue
            args = args[2:]
        elif name != "celery":
            continue
        if "worker" not in args:
            continue
        pool = _option(args, ("-P", "--pool"))
        if pool is not None and pool in _CELERY_POOLS_WITHOUT_PREFORK:
            continue
        if pool is not None and pool not in ("prefork", "processes"):
            out.why_uses_unknown = f"celery's pool `{pool}` is not one preflight knows"
            return
        out.temp_uses.append(
            TempUse(
                "celery worker",
                _word_span(step.at or process.launch.span, project, process, "celery"),
                "the temporary files of its prefork pool (billiard)",
            )
        )
        return


def _process_of(node: ContainerNode, processes: list[Process]) -> Process | None:
    """The process the container runs: its own command's, or its image's CMD's."""
    run = node.run
    container = run.container
    own = container.command is not None or container.args is not None
    for process in processes:
        launch = process.launch
        if own:
            if launch.container is not None and launch.container.span == container.span:
                return process
        elif (
            run.dockerfile is not None
            and launch.span.path == run.dockerfile.path
            and launch.origin.startswith("the Dockerfile's")
        ):
            return process
    return None


def _word_span(span: Span, project: Project, process: Process, word: str) -> Span:
    launch = process.launch
    if span == launch.span:
        return narrow(span, launch.source, word)
    text = project.shell_scripts.get(span.path)
    if text is None:
        return span
    lines = text.split("\n")[span.line - 1 : span.end_line]
    return narrow(span, "\n".join(lines), word)


def _option(args: list[str], names: tuple[str, ...]) -> str | None:
    for index, word in enumerate(args):
        option, eq, value = word.partition("=")
        if option in names:
            if eq:
                return value
            return args[index + 1] if index + 1 < len(args) else None
        for name in names:
            if len(name) == 2 and word.startswith(name) and len(word) > 2:
                return word[2:]  # `-Psolo`
    return None
