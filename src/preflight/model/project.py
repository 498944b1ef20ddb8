"""The project model: what a deploy of this repository would see, joined across files.

Parsers give facts per file; ``link.build_project`` joins them into these types. Rules read only
this model (and the knowledge tables). Every link records why it was made, so a rule can stay
silent when a link is only a guess and ``--verbose`` can say so.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from preflight.discover import ScriptFacts
    from preflight.model.buildcontext import ContextReport
    from preflight.model.databases import DatabaseModel, Dependencies
    from preflight.parse import ParseProblem
    from preflight.parse.buildcmds import (
        CreatedObject,  # annotations only: importing a parser is the parse step's business
        ImageBuild,
        ReplaceNote,
    )
    from preflight.parse.compose import ComposeFile
    from preflight.parse.dockerfile import Dockerfile
    from preflight.parse.dockerignore import DockerIgnore
    from preflight.parse.envfile import EnvFile
    from preflight.parse.helm import HelmValues, ValuesImage
    from preflight.parse.kustomization import Kustomization
    from preflight.parse.manifests import Container, ManifestFile, SecurityContext, Workload
    from preflight.parse.procfile import ProcessType
    from preflight.parse.pyproject import Pyproject
    from preflight.parse.python import PythonModule
    from preflight.parse.requirements import Requirement, RequirementsFile
    from preflight.spans import Span


@dataclass(frozen=True, slots=True)
class InstalledDist:
    """A distribution an environment installs, and the step that installs it."""

    name: str
    extras: frozenset[str]
    via: str  # e.g. "`pip install .` (pyproject.toml [project.dependencies])"
    span: Span  # the install step (RUN line) or the declaration


@dataclass(slots=True)
class Environment:
    """What is installed where a command runs: an image, or a buildpack's app environment."""

    description: str  # "image built from Dockerfile", "buildpack environment of ."
    distributions: dict[str, list[InstalledDist]] = field(default_factory=dict)
    system_packages: set[str] = field(default_factory=set)  # apt/apk package names
    files: set[str] = field(default_factory=set)  # basenames of files copied in (scripts)
    copied_paths: dict[str, str] = field(default_factory=dict)  # image path -> repo path
    base_image: str | None = None
    workdir: str = "/"  # the WORKDIR a command starts in (relative programs are found there)
    variables: dict[str, str] = field(default_factory=dict)  # ENV values known at run time
    base_bundles: tuple[str, ...] = ()  # distributions the base image ships
    unknown: list[tuple[Span, str]] = field(default_factory=list)  # why the picture is partial
    projects: list[Pyproject] = field(default_factory=list)  # projects installed (scripts too)
    runtime_of: list[Pyproject] = field(default_factory=list)  # projects whose deps it installs
    install_spans: list[Span] = field(default_factory=list)  # every install step seen
    # each project installed itself (not only its dependencies): the project, the step that
    # installs it and how (``pip install .``, ``uv sync``, ``poetry install``)
    project_installs: list[tuple[Pyproject, Span, str]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.unknown

    @property
    def is_python(self) -> bool:
        """Python runs here: the image installs Python packages or starts from a Python base
        image (a Node, Java or Go service's image does neither)."""
        base = (self.base_image or "").lower()
        return bool(
            self.distributions
            or self.projects
            or self.base_bundles
            or any(word in base for word in ("python", "uvicorn", "flask", "django"))
        )

    def installed(self) -> set[str]:
        """Distributions present (normalised names): declared ones, what they and their extras
        bring along (knowledge/executables.py BRINGS), what the base image bundles."""
        from preflight.knowledge.executables import brought, normalise

        keys: list[str] = []
        for name, dists in self.distributions.items():
            keys.append(name)
            for dist in dists:
                keys.extend(f"{name}[{normalise(extra)}]" for extra in dist.extras)
        present = brought(keys, already=self.base_bundles)
        return {key for key in present if "[" not in key}

    def where_to_declare(self) -> str | None:
        """Where a runtime dependency of this environment goes: "[project.dependencies] in
        pyproject.toml", the requirements file it installs, or None when not known."""
        if self.runtime_of:
            project = self.runtime_of[0]
            return f"{project.runtime_table} in {project.path}"
        sources = {dist.via for dists in self.distributions.values() for dist in dists}
        for via in sorted(v for v in sources if "-r" in v or v.startswith("the buildpack (")):
            if "(" in via:
                return via.rsplit("(", 1)[1].rstrip(")")
        return None

    def add(self, dist: InstalledDist) -> None:
        self.distributions.setdefault(dist.name, []).append(dist)

    def add_requirement(self, requirement: Requirement, via: str, span: Span) -> None:
        self.add(InstalledDist(requirement.name, requirement.extras, via, span))


@dataclass(frozen=True, slots=True)
class Launch:
    """A command a deploy starts, and the environment it starts in."""

    origin: str  # "Dockerfile CMD", "Kubernetes container `api`", "compose service `web`"
    argv: tuple[str, ...]
    span: Span
    environment: Environment | None
    why_unknown: str | None = None  # when environment is None
    related: tuple[tuple[Span, str], ...] = ()
    source: str = ""  # the text of the instruction's lines, from span.line on (to point at words)
    # where each word of ``argv`` is written, aligned with it (None: not known, or not written
    # as a word of its own, such as the text of a shell-form CMD); () when none is known
    word_spans: tuple[Span | None, ...] = ()
    container: Container | None = None  # the Kubernetes container whose command/args it is


@dataclass(slots=True)
class Image:
    """The final stage of a Dockerfile, built in a context."""

    dockerfile: Dockerfile
    context: str  # build context directory, relative to the root ("" for the root)
    context_why: str
    environment: Environment
    command: tuple[tuple[str, ...], Span] | None


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a link between two objects was made, and how much a rule may rely on it."""

    how: str  # "image name `api` is the directory of api/Dockerfile"
    strong: bool  # False: a guess from names (the graph and --verbose say so)
    # the build targets a stage other than the Dockerfile's last (facts of the last stage,
    # such as its USER, may not be the image's)
    other_stage: bool = False


@dataclass(frozen=True, slots=True)
class ContainerRun:
    """A Kubernetes container and what it runs: its argv, image, environment values."""

    manifest: str
    workload: Workload
    container: Container
    dockerfile: Dockerfile | None  # the Dockerfile that builds its image, when linked
    argv: tuple[str, ...] | None  # command/args over the image's ENTRYPOINT/CMD
    env: dict[str, str] = field(repr=False)  # literal values (Dockerfile ENV, then env[])
    context: str = ""  # the image's build context (where its modules are)
    why_unlinked: str | None = None
    image_evidence: Evidence | None = None  # how the image was tied to ``dockerfile``
    # the pod's securityContext and volumes with the kustomize patches that reach the workload
    # merged in (``workload`` holds them as its own file writes them)
    pod_security_context: SecurityContext | None = None
    pod_volumes: dict[str, str] = field(default_factory=dict)
    # why a kustomization that renders it may patch it in a way preflight does not merge
    unmerged_patches: str | None = None
    # why its image's source is not in this repository (every Dockerfile here is built under
    # another name, and none under this one), or None
    source_elsewhere: str | None = None


@dataclass(frozen=True, slots=True)
class HelmImage:
    """An image a Helm chart's values name, and the Dockerfile that builds it (if known)."""

    chart: str  # the chart's directory
    values: ValuesImage
    dockerfile: str | None
    evidence: Evidence | None
    why: str | None  # why it is not tied to a Dockerfile


@dataclass(slots=True)
class Project:
    root: str  # display root as given on the command line
    pyprojects: dict[str, Pyproject] = field(default_factory=dict)  # by path
    requirements: dict[str, RequirementsFile] = field(default_factory=dict)
    dockerfiles: dict[str, Dockerfile] = field(default_factory=dict)
    dockerignores: dict[str, DockerIgnore] = field(default_factory=dict)  # by path
    manifests: dict[str, ManifestFile] = field(default_factory=dict)
    compose_files: dict[str, ComposeFile] = field(default_factory=dict)
    env_examples: dict[str, EnvFile] = field(default_factory=dict)
    # other committed env files (`.env`, `.env.server`; gitignored ones are never read)
    env_files: dict[str, EnvFile] = field(default_factory=dict)
    procfiles: dict[str, tuple[ProcessType, ...]] = field(default_factory=dict)
    python: dict[str, PythonModule] = field(default_factory=dict)
    shell_scripts: dict[str, str] = field(default_factory=dict)  # path -> text
    # what a script's text does not show: CR LF line endings, the executable bit (git's)
    script_facts: dict[str, ScriptFacts] = field(default_factory=dict)  # path -> facts
    python_paths: frozenset[str] = frozenset()  # every .py file, parsed or not
    all_paths: frozenset[str] = frozenset()  # every file walked (read or not)
    uncommitted: frozenset[str] = frozenset()  # manifests git ignores: read, never "committed"
    images: dict[str, Image] = field(default_factory=dict)  # by Dockerfile path
    launches: list[Launch] = field(default_factory=list)
    containers: list[ContainerRun] = field(default_factory=list)
    locks: dict[str, dict[str, str]] = field(default_factory=dict)  # lock path -> versions
    # builds CI, Makefiles, scripts and skaffold run (compose builds stay on their services)
    image_builds: list[ImageBuild] = field(default_factory=list)
    kustomizations: dict[str, Kustomization] = field(default_factory=dict)  # by path
    # Secrets/ConfigMaps created outside manifests (kubectl in scripts/CI/README, generators)
    created_objects: list[CreatedObject] = field(default_factory=list)
    # README paragraphs telling the reader to replace committed secret values
    replace_notes: list[ReplaceNote] = field(default_factory=list)
    # Helm charts' values files and the images they name, each tied to a Dockerfile if one
    # builds it (templates are not rendered: a chart's containers are not checked)
    helm_values: dict[str, HelmValues] = field(default_factory=dict)
    helm_images: list[HelmImage] = field(default_factory=list)
    # compose services that run (not build) an image a build here makes: (compose path,
    # service) -> (the Dockerfile, how the image was tied to it)
    compose_images: dict[tuple[str, str], tuple[str, Evidence]] = field(default_factory=dict)
    # YAML files with template syntax (`{{ }}`): not read, so objects they define are unknown
    templated: list[str] = field(default_factory=list)
    databases: DatabaseModel | None = None
    # what each Dockerfile's build context holds and which files its steps lack (IMG003)
    build_context: ContextReport | None = None
    dependencies: dict[str, Dependencies] = field(default_factory=dict)  # by Python module
    problems: list[ParseProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for --verbose: skipped files, weak links

    def included_manifests(self, kustomization: Kustomization) -> list[str]:
        """The manifest files a kustomization includes, directly or through the ones it
        lists (each once, in the order first reached)."""
        by_directory = {posixpath.dirname(k.path): k for k in self.kustomizations.values()}
        found: list[str] = []
        seen: set[str] = set()
        stack = [kustomization]
        while stack:
            current = stack.pop()
            if current.path in seen:
                continue
            seen.add(current.path)
            for resource in current.resources:
                included = by_directory.get(resource)
                if included is not None:
                    stack.append(included)
                elif resource in self.manifests and resource not in found:
                    found.append(resource)
        return found
