"""Join per-file facts into the project model: which image runs which command, where.

This is where cross-file knowledge lives. Every link records why it was made (``context_why``,
``Launch.origin``), and a link that would only be a guess is not made: the launch keeps
``environment=None`` and says why, so rules stay silent instead of guessing.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from preflight.discover import FileKind, Inventory
from preflight.knowledge.images import (
    OFFICIAL_IMAGES,
    PUBLIC_IMAGES,
    javascript_framework,
    stock_infrastructure,
)
from preflight.model.envfiles import loaded_env_files
from preflight.model.installs import RepoView, analyse_image
from preflight.model.project import (
    ContainerRun,
    Environment,
    Evidence,
    HelmImage,
    Image,
    Launch,
    Project,
)
from preflight.parse import ParseProblem
from preflight.parse.buildcmds import CreatedObject
from preflight.parse.dockerfile import Dockerfile
from preflight.parse.manifests import looks_like_manifest
from preflight.parse.requirements import normalise_name
from preflight.spans import Span

if TYPE_CHECKING:
    from preflight.cache import ParseCache
    from preflight.model.databases import Dependencies, EnvSource
    from preflight.parse.kustomization import ImageRewrite
    from preflight.parse.manifests import ArgvField, Container, SecurityContext, Workload


def build_project(
    inventory: Inventory, display_root: str, workers: int = 1, cache: ParseCache | None = None
) -> Project:
    """Parse every discovered file once and link the facts."""
    from preflight.parse.python import worth_parsing
    from preflight.parse.run import PARSERS, ParserCrash, parse_many

    project = Project(root=display_root)
    texts = _Texts()
    python_paths: set[str] = set()
    jobs: list[tuple[str, str, str]] = []
    for source in inventory.files:
        texts[source.path] = source.text
        kind = source.kind
        if kind in (FileKind.PYTHON, FileKind.GUNICORN_CONFIG):
            python_paths.add(source.path)
            if is_test_module(source.path):
                continue  # tests build their own engines and apps; the deploy never runs them
            if kind is FileKind.PYTHON and not worth_parsing(source.text):
                continue  # nothing in it can hold a fact a rule reads (a gunicorn config can)
        elif kind is FileKind.SHELL:
            project.shell_scripts[source.path] = source.text
            text = source.text
            if "build" not in text and "executor" not in text and "kubectl" not in text:
                continue  # runs no image build and creates no Secret
        if kind.value in PARSERS:
            jobs.append((kind.value, source.path, source.text))
    results = cache.parse(jobs, workers) if cache is not None else parse_many(jobs, workers)
    for (kind_value, path, text), parsed in zip(jobs, results, strict=True):
        if isinstance(parsed, ParserCrash):
            project.problems.extend(parsed.problems)
            continue
        _add(project, FileKind(kind_value), path, text, parsed)
    project.python_paths = frozenset(python_paths)
    project.all_paths = frozenset(inventory.all_paths)
    project.script_facts = dict(inventory.scripts)
    project.uncommitted = frozenset(inventory.ignored)
    for path, why in inventory.skipped:
        project.notes.append(f"{path}: skipped ({why})")
    repo = RepoView(project.pyprojects, project.requirements, frozenset(inventory.all_paths))
    _link_images(project, repo, texts, inventory.root.name)
    if project.dockerfiles:
        from preflight.model.buildcontext import context_gaps

        gitignore = inventory.gitignore
        project.build_context = context_gaps(
            project, texts, lambda rel, is_dir: gitignore.ignored(rel, is_dir) is not None
        )
    _link_procfiles(project, repo, texts)
    project.dependencies = _dependencies(project)
    if any(m.engines or m.asyncio_extension for m in project.python.values()):
        from preflight.model.databases import DatabaseModel
        from preflight.model.settings import ServiceRoots

        project.databases = DatabaseModel(
            project.python,
            list(env_sources(project)),
            project.dependencies,
            ServiceRoots(project),
            env_provided(project),
        )
    return project


def env_provided(project: Project) -> Iterator[tuple[str, str]]:
    """Every variable something that runs a service sets, with the file that sets it: a
    container's ``env`` and ``envFrom`` keys, a compose service's ``environment``, a Dockerfile
    ``ENV``; ``"*"`` where the names are unknown (an envFrom of keys preflight cannot see, a
    compose ``env_file``)."""
    tables: dict[str, set[str]] = {}
    for manifest in project.manifests.values():
        for secret in manifest.secrets:
            tables.setdefault(f"secret:{secret.obj.name or ''}", set()).update(secret.keys)
        for config_map in manifest.config_maps:
            data = config_map.keys
            tables.setdefault(f"configmap:{config_map.obj.name or ''}", set()).update(data)
    for manifest in project.manifests.values():
        for workload in manifest.workloads:
            for container in workload.containers:
                for env in container.env:
                    yield env.name, env.span.path
                for env_from in container.env_from:
                    kind = "configmap" if env_from.kind == "configMapRef" else "secret"
                    keys = tables.get(f"{kind}:{env_from.name or ''}")
                    if keys is None:
                        yield "*", env_from.span.path
                        continue
                    for key in keys:
                        yield env_from.prefix + key, env_from.span.path
    for compose in project.compose_files.values():
        for service in compose.services:
            for variable in service.environment:
                yield variable.name, variable.span.path
            for _, span in service.env_files:
                yield "*", span.path
    for dockerfile in project.dockerfiles.values():
        for stage in dockerfile.stages:
            for name, (_value, span) in stage.env.items():
                yield name, span.path


def env_sources(project: Project) -> Iterator[EnvSource]:
    """Every value an environment variable is given anywhere in the repository."""
    from preflight.model.databases import EnvSource

    secrets: dict[str, dict[str, tuple[str | None, Span]]] = {}
    for manifest in project.manifests.values():
        for secret in manifest.secrets:
            name = secret.obj.name or ""
            keys = secrets.setdefault(name, {})
            for key, secret_value in secret.keys.items():
                keys[key] = (secret_value.value, secret_value.span)
                if secret_value.value is not None:
                    yield EnvSource(
                        key, secret_value.value, secret_value.span, f"Secret `{name}` key `{key}`"
                    )
        for config_map in manifest.config_maps:
            name = config_map.obj.name or ""
            keys = secrets.setdefault(f"configmap:{name}", {})
            for key, config_value in config_map.keys.items():
                keys[key] = (config_value.value, config_value.span)
                if config_value.value is not None:
                    yield EnvSource(
                        key,
                        config_value.value,
                        config_value.span,
                        f"ConfigMap `{name}` key `{key}`",
                    )
    for manifest in project.manifests.values():
        for workload in manifest.workloads:
            for container in workload.containers:
                for env in container.env:
                    if env.value is not None:
                        yield EnvSource(
                            env.name, env.value, env.span, f"container `{container.name}` env"
                        )
                    ref = env.value_from
                    if (
                        ref is not None
                        and ref.kind in ("secretKeyRef", "configMapKeyRef")
                        and ref.key
                    ):
                        table = ref.name or ""
                        if ref.kind == "configMapKeyRef":
                            table = f"configmap:{table}"
                        found = secrets.get(table, {}).get(ref.key)
                        if found is not None and found[0] is not None and ref.key != env.name:
                            kind = "Secret" if ref.kind == "secretKeyRef" else "ConfigMap"
                            yield EnvSource(
                                env.name, found[0], found[1], f"{kind} `{ref.name}` key `{ref.key}`"
                            )
                for env_from in container.env_from:
                    table = env_from.name or ""
                    if env_from.kind == "configMapRef":
                        table = f"configmap:{table}"
                    if not env_from.prefix:
                        continue  # the keys themselves were yielded above
                    for key, (value, span) in secrets.get(table, {}).items():
                        if value is not None:
                            yield EnvSource(
                                env_from.prefix + key, value, span, f"`{env_from.name}` key `{key}`"
                            )
    for compose in project.compose_files.values():
        for service in compose.services:
            for variable in service.environment:
                if variable.value is not None:
                    yield EnvSource(
                        variable.name,
                        variable.value,
                        variable.span,
                        f"compose service `{service.name}`",
                    )
    for env_file in project.env_examples.values():
        for entry in env_file.entries:
            yield EnvSource(entry.name, entry.value, entry.span, env_file.path)
    for env_file, _uses in loaded_env_files(project):  # `env_file: .env.server` in compose
        if env_file.path not in project.env_examples:
            for entry in env_file.entries:
                yield EnvSource(entry.name, entry.value, entry.span, env_file.path)
    for dockerfile in project.dockerfiles.values():
        for stage in dockerfile.stages:
            for name, (value, span) in stage.env.items():
                if value is not None:  # None: a value preflight could not expand
                    yield EnvSource(name, value, span, f"{dockerfile.path} ENV")


def _dependencies(project: Project) -> dict[str, Dependencies]:
    """The runtime dependencies that govern each Python module: the nearest declaration above it."""
    from preflight.model.databases import Dependencies

    out: dict[str, Dependencies] = {}
    for path in project.python:
        directory = posixpath.dirname(path)
        while True:
            pyproject = project.pyprojects.get(
                posixpath.join(directory, "pyproject.toml").lstrip("/")
            )
            requirements = project.requirements.get(
                posixpath.join(directory, "requirements.txt").lstrip("/")
            )
            locked: dict[str, str] = {}
            for lock in ("uv.lock", "poetry.lock"):
                locked.update(project.locks.get(posixpath.join(directory, lock).lstrip("/"), {}))
            if (
                pyproject is not None
                and not pyproject.problems
                and (pyproject.runtime or pyproject.name)
            ):
                out[path] = Dependencies(
                    f"{pyproject.runtime_table} in {pyproject.path}",
                    pyproject.runtime_span,
                    pyproject.runtime,
                    locked,
                )
                break
            if requirements is not None and not requirements.includes and not requirements.problems:
                out[path] = Dependencies(
                    requirements.path, Span(requirements.path, 1), requirements.requirements, locked
                )
                break
            if not directory:
                break
            directory = posixpath.dirname(directory)
    return out


_TEST_DIRS = frozenset({"tests", "test", "testing"})


def is_test_module(path: str) -> bool:
    """Test code (pytest layouts): it never runs in the deployed container."""
    parts = path.split("/")
    name = parts[-1]
    return (
        any(part in _TEST_DIRS for part in parts[:-1])
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


def _unless_template(
    problems: Sequence[ParseProblem], text: str, project: Project
) -> list[ParseProblem]:
    """Parse problems, unless the file is a Jinja/cookiecutter template (then a note)."""
    if problems and ("{%" in text or "{{" in text):
        project.notes.append(f"{problems[0].span.path}: a template (Jinja syntax), not read")
        return []
    return list(problems)


_BUILD_KINDS = frozenset(
    {
        FileKind.SHELL,
        FileKind.MAKEFILE,
        FileKind.WORKFLOW,
        FileKind.GITLAB_CI,
        FileKind.SKAFFOLD,
        FileKind.README,
        FileKind.TILTFILE,
        FileKind.BAKE,
        FileKind.CLOUDBUILD,
    }
)


def _add(project: Project, kind: FileKind, path: str, text: str, parsed: Any) -> None:
    """Put one parse result into the model."""
    if kind is FileKind.PYPROJECT:
        project.pyprojects[path] = parsed
    elif kind is FileKind.REQUIREMENTS:
        project.requirements[path] = parsed
    elif kind is FileKind.DOCKERFILE:
        project.dockerfiles[path] = parsed
    elif kind is FileKind.DOCKERIGNORE:
        project.dockerignores[path] = parsed
        return
    elif kind is FileKind.COMPOSE:
        project.compose_files[path] = parsed
    elif kind is FileKind.ENV_EXAMPLE:
        project.env_examples[path] = parsed
    elif kind is FileKind.ENV_FILE:
        # a committed `.env`/`.env.server`: names and values, but no PF001 of its own (docker
        # compose and the tools that load such files accept more than `NAME=value`)
        project.env_files[path] = parsed
        return
    elif kind is FileKind.PROCFILE:
        project.procfiles[path] = parsed
        return
    elif kind is FileKind.LOCK:
        project.locks[path] = parsed
        return
    elif kind in _BUILD_KINDS:
        project.image_builds.extend(parsed.builds)
        project.created_objects.extend(getattr(parsed, "created", ()))
        project.replace_notes.extend(getattr(parsed, "replace_notes", ()))
        if kind is FileKind.SKAFFOLD:
            project.problems.extend(_unless_template(parsed.problems, text, project))
        else:  # `${{ }}` is workflow syntax, not a template
            project.problems.extend(parsed.problems)
        return
    elif kind is FileKind.HELM_VALUES:
        project.helm_values[path] = parsed
        project.problems.extend(_unless_template(parsed.problems, text, project))
        return
    elif kind is FileKind.KUSTOMIZATION:
        project.kustomizations[path] = parsed
        project.created_objects.extend(
            CreatedObject(
                item.kind, item.name, item.keys, item.span, f"kustomize generator in {path}"
            )
            for item in parsed.generated
        )
        project.problems.extend(_unless_template(parsed.problems, text, project))
        return
    elif kind is FileKind.YAML:
        if parsed.templated:
            project.notes.append(f"{path}: a template (`{{{{ }}}}` syntax), not read")
            project.templated.append(path)
        elif parsed.is_manifest:
            project.manifests[path] = parsed
            project.problems.extend(parsed.problems)
        elif parsed.problems and looks_like_manifest(text):
            project.problems.extend(parsed.problems)
        return
    elif kind in (FileKind.PYTHON, FileKind.GUNICORN_CONFIG):
        project.python[path] = parsed
        if parsed.unread:
            project.notes.append(f"{path}: not read: {parsed.unread}")
        project.notes.extend(f"{path}: {note}" for note in parsed.notes)
    project.problems.extend(_unless_template(parsed.problems, text, project))


def _token_span(texts: dict[str, str], span: Span, token: str) -> Span:
    """Narrow an instruction's span to the first occurrence of ``token`` in it."""
    if span.path not in texts or not token:
        return span
    lines = _all_lines(texts, span.path)
    for number in range(span.line, min(span.end_line, len(lines)) + 1):
        line = lines[number - 1]
        col = line.find(token)
        if col >= 0:
            return Span(span.path, number, col + 1, number, col + 1 + len(token))
    return span


def _context_for(dockerfile: Dockerfile, repo: RepoView) -> tuple[str, str]:
    """The build context of a Dockerfile nobody names one for: its directory, or the root.

    A Dockerfile in ``docker/`` is usually built with the root as context (``docker build -f
    docker/Dockerfile .``); the one whose COPY sources exist is the context.
    """
    directory = posixpath.dirname(dockerfile.path)
    if not directory:
        return "", "the Dockerfile is at the root"
    sources = [
        source
        for stage in dockerfile.stages
        for copy in stage.copies
        if copy.from_ref is None
        for source in copy.sources
        if source not in (".", "./") and not any(ch in source for ch in "*?$")
    ]

    def found(context: str) -> int:
        return sum(
            repo.exists(posixpath.normpath(posixpath.join(context, s)).lstrip("./"))
            for s in sources
        )

    if sources and found("") > found(directory):
        return "", "its COPY sources exist relative to the root, not to its directory"
    return directory, "the Dockerfile's directory"


def _link_images(project: Project, repo: RepoView, texts: dict[str, str], root_name: str) -> None:
    contexts: dict[str, tuple[str, str]] = {}
    for compose in project.compose_files.values():
        for service in compose.services:
            if service.dockerfile is not None and service.dockerfile in project.dockerfiles:
                contexts[service.dockerfile] = (
                    service.build_context or "",
                    f"compose service `{service.name}` builds it ({compose.path})",
                )
    index = _ImageIndex()
    for built in _builds(project):
        index.add(built)
        contexts.setdefault(built.dockerfile, (built.context, f"{built.how} builds it"))
    for path, dockerfile in sorted(project.dockerfiles.items()):
        context, why = contexts.get(path) or _context_for(dockerfile, repo)
        environment = analyse_image(dockerfile, context, repo)
        command = dockerfile.effective_command()
        project.images[path] = Image(dockerfile, context, why, environment, command)
        if command is not None and command[0]:
            argv, span = command
            final = dockerfile.final
            origin = "ENTRYPOINT" if final is not None and _has_entrypoint(dockerfile) else "CMD"
            start = _token_span(texts, span, _first_word(argv))
            project.launches.append(
                Launch(
                    f"the Dockerfile's {origin}",
                    argv,
                    start,
                    environment,
                    source=_lines(texts, start.path, start.line, span.end_line),
                    word_spans=_image_word_spans(dockerfile),
                )
            )
        for name, why_name in _image_names(path, context, project, root_name).items():
            index.names.setdefault(name, {}).setdefault(path, why_name)
    _link_compose(project, repo, texts, index)
    _link_manifests(project, texts, index)
    _link_helm(project, index)


def _link_helm(project: Project, index: _ImageIndex) -> None:
    """Tie the images a chart's values name to Dockerfiles; say its templates are not read."""
    for path, values in sorted(project.helm_values.items()):
        chart = posixpath.dirname(path)
        for image in values.images:
            _, why, dockerfile, evidence = _environment_for_image(image.ref, index, project, path)
            project.helm_images.append(
                HelmImage(chart, image, dockerfile.path if dockerfile else None, evidence, why)
            )
    for chart in sorted({posixpath.dirname(p) for p in project.helm_values}):
        project.notes.append(
            f"{chart or '.'}: a Helm chart; its templates are not rendered, so its containers "
            "are not checked (render it with `helm template` into a directory preflight reads)"
        )


@dataclass(frozen=True, slots=True)
class _Built:
    """An image some file in the repository builds from a Dockerfile here."""

    ref: str  # as built
    dockerfile: str
    context: str
    target: str | None
    how: str  # the file and line that builds it
    rank: int  # 0 compose, 1 skaffold, 2 CI and scripts: the strongest is named first

    @property
    def evidence(self) -> str:
        text = f"{self.how} builds `{self.ref}` from {self.dockerfile}"
        if self.target:
            text += f" (target `{self.target}`)"
        return text


def _builds(project: Project) -> list[_Built]:
    """Every build of an image from a Dockerfile in this repository, strongest first."""
    out: list[_Built] = []
    for compose in project.compose_files.values():
        for service in compose.services:
            if service.dockerfile is None or not service.image:
                continue
            if service.dockerfile not in project.dockerfiles:
                continue
            line = (service.image_span or service.span).line
            how = f"compose service `{service.name}` in {compose.path}:{line}"
            out.append(
                _Built(
                    _compose_default(service.image),
                    service.dockerfile,
                    service.build_context or "",
                    service.build_target,
                    how,
                    0,
                )
            )
    for build in project.image_builds:
        rank = 1 if posixpath.basename(build.span.path).startswith("skaffold") else 2
        choices = [(build.dockerfile, build.context)]
        if build.fallback is not None:
            choices.append(build.fallback)
        found = next(((d, c) for d, c in choices if d in project.dockerfiles), None)
        if found is None:
            project.notes.append(
                f"{build.span}: builds `{build.image_ref}` from `{build.dockerfile}`,"
                " which is not a Dockerfile in this repository"
            )
            continue
        out.append(_Built(build.image_ref, found[0], found[1], build.target, build.how, rank))
    out.sort(key=lambda built: built.rank)
    return out


_COMPOSE_DEFAULT = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^${}]*)\}")


def _compose_default(ref: str) -> str:
    """A compose image name as compose makes it when its variables are not set:
    `${IMAGE_NAME:-shop-api:latest}` is `shop-api:latest` (a name still holding a `$` is left
    as written, a placeholder)."""
    if "${" not in ref:
        return ref
    expanded = _COMPOSE_DEFAULT.sub(lambda m: m.group(1), ref)
    return ref if "$" in expanded or not expanded else expanded


def _repository(ref: str) -> str:
    """An image reference's repository path, without registry host, tag or digest."""
    from preflight.knowledge.executables import image_name

    name = image_name(ref)
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return rest
    return name


def _tag(ref: str) -> str | None:
    name = ref.partition("@")[0]
    colon = name.rfind(":")
    if colon <= name.rfind("/"):
        return None
    tag = name[colon + 1 :]
    return tag if tag and "$" not in tag and "{" not in tag else None


class _ImageIndex:
    """Image name -> the Dockerfiles that may build it: strong builds by repository path (and
    by its last component), weak guesses by basename (``names``)."""

    def __init__(self) -> None:
        self.full: dict[str, list[_Built]] = {}
        self.last: dict[str, list[_Built]] = {}
        self.names: dict[str, dict[str, str]] = {}  # basename -> {Dockerfile: why}
        self.named: set[str] = set()  # Dockerfiles a strong build names

    def add(self, built: _Built) -> None:
        repository = _repository(built.ref)
        self.full.setdefault(repository, []).append(built)
        self.last.setdefault(repository.rsplit("/", 1)[-1], []).append(built)
        self.named.add(built.dockerfile)

    def strong(self, ref: str) -> list[_Built]:
        repository = _repository(ref)
        found = self.full.get(repository) or self.last.get(repository.rsplit("/", 1)[-1], [])
        tag = _tag(ref)
        if tag is not None and len({b.dockerfile for b in found}) > 1:
            same_tag = [b for b in found if _tag(b.ref) == tag]
            if same_tag:
                return same_tag
        return found


def _is_placeholder(ref: str) -> bool:
    lower = ref.lower()
    return any(ch.isspace() or ch in "<>${}" for ch in ref) or any(
        part.startswith("your") for part in lower.split("/")
    )


def _environment_for_image(
    ref: str | None, index: _ImageIndex, project: Project, near: str = ""
) -> tuple[Environment | None, str | None, Dockerfile | None, Evidence | None]:
    """The image a reference names: the Dockerfile a build here makes it from (strong), else a
    guess from names, the only Dockerfile, or a placeholder (weak); or why none."""
    if not ref:
        return None, "it names no image", None, None
    strong = index.strong(ref)
    by_dockerfile: dict[str, list[_Built]] = {}
    for built in strong:
        by_dockerfile.setdefault(built.dockerfile, []).append(built)
    if len(by_dockerfile) == 1:
        ((path, builds),) = by_dockerfile.items()
        image = project.images[path]
        how = "; ".join(dict.fromkeys(b.evidence for b in builds))
        targets = {b.target for b in builds if b.target}
        final = image.dockerfile.final
        other_stage = bool(targets) and (final is None or final.name not in targets)
        if other_stage:
            how += " — preflight checks its last stage"
        evidence = Evidence(how, strong=True, other_stage=other_stage)
        return image.environment, None, image.dockerfile, evidence
    if len(by_dockerfile) > 1:
        sources = "; ".join(builds[0].evidence for builds in by_dockerfile.values())
        why = f"image `{ref}` is built from {len(by_dockerfile)} Dockerfiles: {sources}"
        return None, why, None, None
    only = next(iter(project.images.values())) if len(project.images) == 1 else None
    if _is_placeholder(ref):
        if only is not None:
            evidence = Evidence(
                f"`{ref}` is a placeholder; {only.dockerfile.path} is the only Dockerfile in"
                " the repository",
                strong=False,
            )
            return only.environment, None, only.dockerfile, evidence
        return None, f"image `{ref}` is a placeholder", None, None
    basename = _image_basename(ref)
    candidates = index.names.get(basename, {})
    if len(candidates) == 1:
        ((path, why),) = candidates.items()
        image = project.images[path]
        # A name match is a guess: nothing in the repository says this build is that image.
        evidence = Evidence(f"image name `{basename}` is {why}", strong=False)
        return image.environment, None, image.dockerfile, evidence
    if len(candidates) > 1:
        return None, f"image `{ref}` could be built by {len(candidates)} Dockerfiles", None, None
    around = _named_by_tail(basename, index, near) if near else None
    if around is not None:
        image = project.images[around]
        evidence = Evidence(
            f"image name `{basename}` ends with the directory of {around}, which holds {near}",
            strong=False,
        )
        return image.environment, None, image.dockerfile, evidence
    if (
        only is not None
        and only.dockerfile.path not in index.named
        and basename not in PUBLIC_IMAGES
        and _repository(ref).rsplit("/", 1)[-1] not in PUBLIC_IMAGES
        and stock_infrastructure(ref) is None  # a vendor's database image is never built here
        and not javascript_framework(ref)  # nor is `react-builds` the Python app's Dockerfile
    ):
        evidence = Evidence(
            f"{only.dockerfile.path} is the only Dockerfile in the repository", strong=False
        )
        return only.environment, None, only.dockerfile, evidence
    beside = _local_build_beside(ref, near, project) if near else None
    if beside is not None:
        evidence = Evidence(
            f"`{ref}` names no registry or account, so it is built where it runs; "
            f"{beside.dockerfile.path} is the Dockerfile nearest {near}",
            strong=False,
        )
        return beside.environment, None, beside.dockerfile, evidence
    why_not = f"image `{ref}` is not built by any Dockerfile in this repository"
    if strong == [] and index.named:
        made = sorted({b.ref for builds in index.full.values() for b in builds})[:3]
        why_not += f" (the builds here make {', '.join(f'`{b}`' for b in made)})"
    return None, why_not, None, None


def _named_by_tail(basename: str, index: _ImageIndex, near: str) -> str | None:
    """The Dockerfile an image is named after by its last word, when the manifest that runs it
    lives in that Dockerfile's directory: `acme/shop-auth` run by
    `services/auth/manifests/deploy.yaml` is built from `services/auth/Dockerfile` (a
    monorepo's `<project>-<service>` names)."""
    head, dash, tail = basename.rpartition("-")
    if not dash or not head or len(tail) < 3:
        return None
    found = [
        path
        for path in index.names.get(tail, {})
        if posixpath.dirname(path) and near.startswith(posixpath.dirname(path) + "/")
    ]
    return found[0] if len(found) == 1 else None


def _source_elsewhere(ref: str | None, index: _ImageIndex, project: Project) -> str | None:
    """Why an image no Dockerfile here is tied to is built from source elsewhere, or None.

    It is when every Dockerfile of the repository is built, by name, into images of a
    registry account (`acme/api`, not a local `api:v1` that may be retagged before a push),
    and this image is in none of those accounts (a third party's image), or is named as a
    front end (`acme/todo-frontend`, whose source is another repository)."""
    if not ref or _is_placeholder(ref) or index.strong(ref) or not project.images:
        return None
    if "/" not in _repository(ref) or stock_infrastructure(ref) is not None:
        return None  # an official or local name (`api:latest`), or a stock image
    if not set(project.images) <= index.named:
        return None  # a Dockerfile no build names may be the one that builds it
    built = sorted({b.ref for builds in index.full.values() for b in builds})
    accounts = {_account(b) for b in built}
    if any(_is_placeholder(b) or not _account(b) for b in built):
        return None  # `${REPO}/api`, `api:v1`: the name it is pushed under is not known
    made = ", ".join(f"`{b}`" for b in built[:3])
    name = _repository(ref).rsplit("/", 1)[-1].replace("_", "-")
    if _account(ref) not in accounts:
        return f"`{ref}` is another account's image: the builds here make {made}"
    if "frontend" in name.split("-") or javascript_framework(ref):
        return f"`{ref}` is a front end no Dockerfile here builds (the builds here make {made})"
    return None


def _account(ref: str) -> str:
    """The registry host and account an image is pushed under (`ghcr.io/acme`), or ""."""
    from preflight.knowledge.executables import image_name

    return image_name(ref).rpartition("/")[0]


def _local_build_beside(ref: str, near: str, project: Project) -> Image | None:
    """The image of the Dockerfile nearest ``near`` when ``ref`` can only be a local build.

    `api-app:latest` has no registry host and no account: a registry would look for it among
    Docker Hub's official images, which it is not one of, so it is an image built on the
    machine that runs it (`docker build -t api-app .` then `kind load` / minikube's daemon).
    The Dockerfile it is built from is taken to be the one in the manifest's directory or the
    nearest directory above it holding exactly one Dockerfile (a weak link)."""
    from preflight.knowledge.executables import image_name

    name = image_name(ref)
    if "/" in name or _is_placeholder(ref) or name.lower() in OFFICIAL_IMAGES:
        return None
    by_directory: dict[str, list[Image]] = {}
    for image in project.images.values():
        by_directory.setdefault(posixpath.dirname(image.dockerfile.path), []).append(image)
    directory = posixpath.dirname(near)
    while True:
        found = by_directory.get(directory, [])
        if len(found) == 1:
            return found[0]
        if found or not directory:
            return None
        directory = posixpath.dirname(directory)


def _has_entrypoint(dockerfile: Dockerfile) -> bool:
    final = dockerfile.final
    return final is not None and any(s.entrypoint is not None for s in dockerfile.lineage(final))


class _Texts(dict[str, str]):
    """The files' texts, each split into lines at most once (a manifest with 10,000
    containers is not split 10,000 times)."""

    def __init__(self) -> None:
        super().__init__()
        self.split: dict[str, list[str]] = {}

    def lines(self, path: str) -> list[str]:
        found = self.split.get(path)
        if found is None:
            found = self.split[path] = self.get(path, "").split("\n")
        return found


def _all_lines(texts: dict[str, str], path: str) -> list[str]:
    return texts.lines(path) if isinstance(texts, _Texts) else texts.get(path, "").split("\n")


def _lines(texts: dict[str, str], path: str, first: int, last: int) -> str:
    lines = _all_lines(texts, path)
    return "\n".join(lines[first - 1 : max(first, last)])


def _first_word(argv: Sequence[str]) -> str:
    """The program name as written (for shell form, the first word of the script)."""
    if len(argv) >= 3 and argv[1] == "-c" and argv[0].endswith("sh"):
        return argv[2].split()[0] if argv[2].split() else argv[0]
    return argv[0] if argv else ""


def _image_names(path: str, context: str, project: Project, root_name: str) -> dict[str, str]:
    """Names an image built from this Dockerfile is likely pushed as (lower-case basenames),
    each with the reason it is one."""
    names: dict[str, str] = {}
    directory = posixpath.dirname(path)
    if directory:
        names[posixpath.basename(directory)] = f"the directory of {path}"
    else:
        names[root_name] = f"the repository's directory, where {path} is"
    suffix = posixpath.basename(path).partition(".")[2]
    if suffix and suffix.lower() not in ("prod", "production", "dockerfile"):
        names.setdefault(suffix, f"the suffix of {path}")
    pyproject = project.pyprojects.get(posixpath.join(context, "pyproject.toml").lstrip("/"))
    if pyproject is not None and pyproject.name:
        names.setdefault(pyproject.name, f"the project name in {pyproject.path}")
    return {normalise_name(name): why for name, why in names.items() if name}


def _image_basename(ref: str) -> str:
    from preflight.knowledge.executables import image_name

    return normalise_name(image_name(ref).rsplit("/", 1)[-1])


def _link_compose(
    project: Project, repo: RepoView, texts: dict[str, str], index: _ImageIndex
) -> None:
    for compose in project.compose_files.values():
        for service in compose.services:
            environment: Environment | None = None
            why: str | None = None
            dockerfile: Dockerfile | None = None
            if service.dockerfile is not None:
                image = project.images.get(service.dockerfile)
                if image is not None:
                    environment, dockerfile = image.environment, image.dockerfile
                else:
                    why = f"its Dockerfile `{service.dockerfile}` is not in the repository"
            else:
                environment, why, dockerfile, evidence = _environment_for_image(
                    service.image, index, project
                )
                if dockerfile is not None and evidence is not None:
                    project.compose_images[(compose.path, service.name)] = (
                        dockerfile.path,
                        evidence,
                    )
            if service.entrypoint is None and service.command is None:
                continue
            entry = service.entrypoint
            command = service.command
            argv: tuple[str, ...]
            if entry is not None:
                argv = (entry.argv or ()) + ((command.argv or ()) if command is not None else ())
                span = entry.span
            else:
                assert command is not None
                base_entry = _entrypoint_argv(dockerfile)
                argv = base_entry + (command.argv or ())
                span = command.span  # an image ENTRYPOINT receives the command as arguments
            written = entry or command
            assert written is not None
            start = _token_span(texts, span, written.argv[0] if written.argv else "")
            project.launches.append(
                Launch(
                    f"compose service `{service.name}`",
                    argv,
                    start,
                    environment,
                    why,
                    source=_lines(texts, start.path, start.line, span.end_line),
                )
            )


def _entrypoint_argv(dockerfile: Dockerfile | None) -> tuple[str, ...]:
    if dockerfile is None or dockerfile.final is None:
        return ()
    for stage in dockerfile.lineage(dockerfile.final):
        if stage.entrypoint is not None:
            return stage.entrypoint.argv
    return ()


def _image_word_spans(
    dockerfile: Dockerfile | None, entrypoint_only: bool = False
) -> tuple[Span | None, ...]:
    """Where each word of the image's ENTRYPOINT + CMD (or its ENTRYPOINT alone) is written."""
    if dockerfile is None or dockerfile.final is None:
        return ()
    entrypoint, cmd = dockerfile.effective_parts()
    if entrypoint_only:
        cmd = None
        entrypoint = next(
            (s.entrypoint for s in dockerfile.lineage(dockerfile.final) if s.entrypoint), None
        )
    out: list[Span | None] = []
    for part in (entrypoint, cmd):
        if part is None:
            continue
        if part.shell_form and len(part.word_spans) == 1:  # (*SHELL, text): where text starts
            out.extend([*([None] * (len(part.argv) - 1)), part.word_spans[0]])
        elif part.shell_form or len(part.word_spans) != len(part.argv):
            out.extend([None] * len(part.argv))
        else:
            out.extend(part.word_spans)
    return tuple(out)


def _link_manifests(project: Project, texts: dict[str, str], index: _ImageIndex) -> None:
    rewrites = _kustomize_rewrites(project)
    patches, patch_files = _kustomize_patches(project)
    unmerged = _unmerged_patches(project)
    for manifest in project.manifests.values():
        if manifest.path in patch_files:
            continue  # merged into the workloads it patches, not a workload of its own
        for workload in manifest.workloads:
            workload_patches = patches.get((manifest.path, workload.kind, workload.name or ""), ())
            pod_security, pod_volumes = _patched_pod(workload, workload_patches)
            for original in workload.containers:
                container = _patched(original, workload_patches)
                environment, why, dockerfile, evidence = _image_through_kustomize(
                    container.image, rewrites.get(manifest.path, ()), index, project, manifest.path
                )
                if not container.is_init:
                    run = _container_run(
                        manifest.path, workload, container, dockerfile, why, project
                    )
                    project.containers.append(
                        replace(
                            run,
                            image_evidence=evidence,
                            pod_security_context=pod_security,
                            pod_volumes=pod_volumes,
                            unmerged_patches=unmerged.get(manifest.path),
                            source_elsewhere=(
                                _source_elsewhere(container.image, index, project)
                                if dockerfile is None
                                else None
                            ),
                        )
                    )
                if container.command is None and container.args is None:
                    continue  # runs the image's own command, checked at the Dockerfile
                words: tuple[Span | None, ...]
                if container.command is not None:
                    argv = container.command.values + (
                        container.args.values if container.args is not None else ()
                    )
                    field = container.command
                    words = _item_spans(container.command) + (
                        _item_spans(container.args) if container.args is not None else ()
                    )
                else:
                    assert container.args is not None
                    # args replace CMD and are passed to the image's ENTRYPOINT, if any
                    entrypoint = _entrypoint_argv(dockerfile)
                    argv = entrypoint + container.args.values
                    field = container.args
                    words = _image_word_spans(dockerfile, entrypoint_only=True)
                    if len(words) != len(entrypoint):
                        words = (None,) * len(entrypoint)
                    words += _item_spans(container.args)
                span = field.item_spans[0] if field.item_spans else field.span
                origin = (
                    f"Kubernetes {workload.kind} `{workload.name}` container `{container.name}`"
                )
                project.launches.append(
                    Launch(
                        origin,
                        argv,
                        span,
                        environment,
                        why,
                        # through `args` too: the words of the command may be there
                        source=_lines(
                            texts,
                            span.path,
                            span.line,
                            max(f.span.end_line for f in (container.command, container.args) if f),
                        ),
                        word_spans=words if len(words) == len(argv) else (),
                        container=container,
                    )
                )


def _item_spans(field: ArgvField) -> tuple[Span | None, ...]:
    if len(field.item_spans) == len(field.values):
        return tuple(field.item_spans)
    return (None,) * len(field.values)


_PatchKey = tuple[str, str, str]  # (manifest path, kind, name)


def _kustomize_patches(
    project: Project,
) -> tuple[dict[_PatchKey, list[Workload]], frozenset[str]]:
    """The strategic-merge patches each workload gets from the kustomizations that include it,
    and the patch files (which are not workloads of their own).

    Without rendering every overlay, each workload is read with the patches of every overlay
    merged in, in path order: a setting an overlay provides counts as provided (the rules
    stay silent rather than report what one overlay may fix), and a probe or image an overlay
    sets points into the patch file the user edits."""
    patch_files = frozenset(
        patch
        for kustomization in project.kustomizations.values()
        for patch in kustomization.patches
        if patch in project.manifests
    )
    out: dict[_PatchKey, list[Workload]] = {}
    if not patch_files:
        return out, patch_files
    for kustomization in sorted(project.kustomizations.values(), key=lambda k: k.path):
        mine = [project.manifests[p] for p in kustomization.patches if p in patch_files]
        if not mine:
            continue
        for resource in project.included_manifests(kustomization):
            if resource in patch_files:
                continue
            for workload in project.manifests[resource].workloads:
                for patch in (w for m in mine for w in m.workloads):
                    if (patch.kind, patch.name) == (workload.kind, workload.name):
                        out.setdefault((resource, workload.kind, workload.name or ""), []).append(
                            patch
                        )
    return out, patch_files


def _unmerged_patches(project: Project) -> dict[str, str]:
    """Manifest path -> why a kustomization that renders it may patch it in a way preflight
    does not merge: an inline or JSON 6902 patch, a patch aimed by `target:` (in it or in a
    base or component it includes), or a patch file that is not a manifest."""
    by_directory = {posixpath.dirname(k.path): k for k in project.kustomizations.values()}
    own: dict[str, str] = {}
    for kustomization in project.kustomizations.values():
        reason = kustomization.unmerged_patches
        for patch in kustomization.patches:
            if reason is None and patch not in project.manifests:
                reason = (
                    f"{kustomization.path} patches with {patch}, not a manifest preflight reads"
                )
        if reason is not None:
            own[kustomization.path] = reason
    out: dict[str, str] = {}
    if not own:
        return out
    for kustomization in sorted(project.kustomizations.values(), key=lambda k: k.path):
        reason = None
        stack, seen = [kustomization], set()
        while stack and reason is None:
            current = stack.pop()
            if current.path in seen:
                continue
            seen.add(current.path)
            reason = own.get(current.path)
            stack.extend(by_directory[r] for r in current.resources if r in by_directory)
        if reason is not None:
            for resource in project.included_manifests(kustomization):
                out.setdefault(resource, reason)
    return out


def _patched(container: Container, patches: Sequence[Workload]) -> Container:
    """``container`` with the same-named containers of ``patches`` merged in (strategic merge:
    env entries by name, envFrom appended, probes by kind, volume mounts by path, the
    securityContext field by field, image/command/args/ports replaced)."""
    for patch in patches:
        for other in patch.containers:
            if other.name != container.name or other.is_init != container.is_init:
                continue
            env = {variable.name: variable for variable in container.env}
            env.update((variable.name, variable) for variable in other.env)
            probes = {probe.kind: probe for probe in container.probes}
            probes.update((probe.kind, probe) for probe in other.probes)
            mounts = {mount.mount_path: mount for mount in container.volume_mounts}
            mounts.update((mount.mount_path, mount) for mount in other.volume_mounts)
            container = replace(
                container,
                image=other.image if other.image is not None else container.image,
                image_span=other.image_span if other.image is not None else container.image_span,
                command=other.command if other.command is not None else container.command,
                args=other.args if other.args is not None else container.args,
                env=tuple(env.values()),
                env_from=container.env_from + other.env_from,
                ports=other.ports or container.ports,
                probes=tuple(probes.values()),
                security_context=_merged_security(
                    container.security_context, other.security_context
                ),
                volume_mounts=tuple(mounts.values()),
            )
    return container


def _patched_pod(
    workload: Workload, patches: Sequence[Workload]
) -> tuple[SecurityContext | None, dict[str, str]]:
    """The pod's securityContext and volumes with the patches merged in (field by field;
    volumes by name)."""
    security = workload.security_context
    volumes = dict(workload.volumes)
    for patch in patches:
        security = _merged_security(security, patch.security_context)
        volumes.update(patch.volumes)
    return security, volumes


def _merged_security(
    base: SecurityContext | None, patch: SecurityContext | None
) -> SecurityContext | None:
    """A strategic merge of two securityContexts: each field the patch writes wins."""
    if patch is None or base is None:
        return base if patch is None else patch
    return replace(
        base,
        run_as_non_root=patch.run_as_non_root or base.run_as_non_root,
        run_as_user=patch.run_as_user or base.run_as_user,
        read_only_root_filesystem=(
            patch.read_only_root_filesystem or base.read_only_root_filesystem
        ),
    )


def _kustomize_rewrites(project: Project) -> dict[str, list[tuple[str, ImageRewrite]]]:
    """Manifest path -> the image rewrites (with their kustomization's path) of every
    kustomization that includes it, directly or through the bases and overlays it lists."""
    out: dict[str, list[tuple[str, ImageRewrite]]] = {}
    for kustomization in project.kustomizations.values():
        if not kustomization.images:
            continue
        for resource in project.included_manifests(kustomization):
            out.setdefault(resource, []).extend(
                (kustomization.path, rewrite) for rewrite in kustomization.images
            )
    return out


def _image_through_kustomize(
    ref: str | None,
    rewrites: Sequence[tuple[str, ImageRewrite]],
    index: _ImageIndex,
    project: Project,
    near: str = "",
) -> tuple[Environment | None, str | None, Dockerfile | None, Evidence | None]:
    """The image a container runs once the kustomizations that include it rename it."""
    from preflight.knowledge.executables import image_name

    renamed: dict[str, str] = {}  # new reference -> how
    if ref:
        for path, rewrite in rewrites:
            if rewrite.new_name and image_name(rewrite.name) == image_name(ref):
                new_ref = rewrite.new_name + (f":{rewrite.new_tag}" if rewrite.new_tag else "")
                renamed.setdefault(
                    new_ref,
                    f"{path}:{rewrite.span.line} renames `{rewrite.name}` to `{rewrite.new_name}`",
                )
    linked: dict[str, tuple[Environment | None, Dockerfile, Evidence | None]] = {}
    for new_ref, how in renamed.items():
        environment, _, dockerfile, evidence = _environment_for_image(new_ref, index, project)
        if dockerfile is not None and evidence is not None:
            combined = Evidence(f"{how}; {evidence.how}", evidence.strong, evidence.other_stage)
            if dockerfile.path not in linked or (
                combined.strong and not (linked[dockerfile.path][2] or combined).strong
            ):
                linked[dockerfile.path] = (environment, dockerfile, combined)
    if len(linked) == 1:
        ((environment, dockerfile, evidence),) = linked.values()
        return environment, None, dockerfile, evidence
    if len(linked) > 1:
        why = f"kustomizations rename image `{ref}` to images of {len(linked)} Dockerfiles"
        return None, why, None, None
    return _environment_for_image(ref, index, project, near)


def _container_run(
    path: str,
    workload: Workload,
    container: Container,
    dockerfile: Dockerfile | None,
    why: str | None,
    project: Project,
) -> ContainerRun:
    env: dict[str, str] = {}
    image_argv: tuple[str, ...] | None = None
    context = ""
    if dockerfile is not None and dockerfile.final is not None:
        for stage in reversed(dockerfile.lineage(dockerfile.final)):
            for name, (value, _) in stage.env.items():
                if value is None:  # set to a value preflight does not know
                    env.pop(name, None)
                else:
                    env[name] = value
        command = dockerfile.effective_command()
        image_argv = command[0] if command is not None else None
        image = project.images.get(dockerfile.path)
        context = image.context if image is not None else ""
    for variable in container.env:
        if variable.value is not None:
            env[variable.name] = variable.value
    argv: tuple[str, ...] | None
    if container.command is not None:
        argv = container.command.values + (container.args.values if container.args else ())
    elif container.args is not None:
        argv = _entrypoint_argv(dockerfile) + container.args.values
    else:
        argv = image_argv
    return ContainerRun(path, workload, container, dockerfile, argv, env, context, why)


def _link_procfiles(project: Project, repo: RepoView, texts: dict[str, str]) -> None:
    for path, processes in project.procfiles.items():
        directory = posixpath.dirname(path)
        environment = _buildpack_environment(directory, project, repo)
        for process in processes:
            first = process.command.split()[0] if process.command.split() else ""
            line, col = process.span.line, process.span.col
            project.launches.append(
                Launch(
                    f"Procfile process `{process.name}`",
                    ("/bin/sh", "-c", process.command),
                    Span(path, line, col, line, col + len(first)),
                    environment,
                    None
                    if environment is not None
                    else "no requirements.txt or pyproject.toml beside it",
                    source=_lines(texts, path, line, line),
                )
            )


def _buildpack_environment(directory: str, project: Project, repo: RepoView) -> Environment | None:
    """What a Python buildpack installs: requirements.txt if present, else the project."""
    environment = Environment(description=f"the buildpack environment of {directory or '.'}")
    requirements = project.requirements.get(
        posixpath.join(directory, "requirements.txt").lstrip("/")
    )
    pyproject = project.pyprojects.get(posixpath.join(directory, "pyproject.toml").lstrip("/"))
    if requirements is not None:
        from preflight.model.installs import add_requirements_file

        start = Span(requirements.path, 1)
        add_requirements_file(requirements.path, repo, environment, "the buildpack", set(), start)
    elif pyproject is not None:
        for requirement in pyproject.runtime:
            environment.add_requirement(
                requirement, f"{pyproject.path} {pyproject.runtime_table}", requirement.span
            )
        environment.projects.append(pyproject)
        environment.runtime_of.append(pyproject)
    else:
        return None
    return environment
