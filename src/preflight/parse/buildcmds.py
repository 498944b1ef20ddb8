"""Image builds that CI workflows, Makefiles and scripts run: which tag is built from which
Dockerfile, context and target.

Read from GitHub Actions workflows (``docker/build-push-action`` steps, with the tags a
``docker/metadata-action`` step gives them, and ``run:`` steps), ``.gitlab-ci.yml`` scripts,
Makefiles and shell scripts: ``docker build``, ``docker buildx build``, ``docker image build``,
``podman build`` and the kaniko executor. Variables are expanded where the same file assigns
them (``IMAGE=…``, ``IMAGE ?= …``, workflow and job ``env:``, GitLab ``variables:``), with
``${VAR:-default}`` defaults; nothing is ever run. A tag whose last path component is still a
variable is not a build preflight can name, and is dropped.

Paths are relative to the checked root. A Dockerfile named with ``-f`` is relative to the
directory the command runs in (a Makefile's own directory; the root for workflows, unless
``working-directory`` says otherwise; for a script, the root, else its own directory:
``fallback``); ``docker/build-push-action``'s ``file`` is relative to the workspace (the root).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

from preflight.parse import ParseProblem
from preflight.parse.shell import logical_lines
from preflight.parse.yamlnodes import YNode, load_documents
from preflight.spans import Span, span_of_text


@dataclass(frozen=True)
class ImageBuild:
    """One image build: the tag it pushes and where its Dockerfile and context are."""

    image_ref: str  # as built, variables expanded (registry and tag included when known)
    dockerfile: str  # repo-relative
    context: str  # repo-relative ("" for the root)
    target: str | None  # the stage built (``--target``), None for the last one
    span: Span  # where the tag is written
    how: str  # "`docker build` in Makefile", "docker/build-push-action step `Build`"
    fallback: tuple[str, str] | None = None  # (dockerfile, context) if the first does not exist


@dataclass(frozen=True)
class CreatedObject:
    """A Secret or ConfigMap the repository creates outside manifests: `kubectl create secret
    generic NAME` in a script, Makefile, CI workflow or README, or a kustomize generator."""

    kind: str  # "Secret" | "ConfigMap"
    name: str
    keys: tuple[str, ...] | None  # None: not known (`--from-file`, `--from-env-file`)
    span: Span
    how: str  # "`kubectl create secret` in README.md"


@dataclass(frozen=True)
class ReplaceNote:
    """A README paragraph telling the reader to replace committed values ("Replace the
    passwords in `k8s/secret.yaml` before deploying"): the words it names (file names, object
    names, lower-cased) and where the instruction is."""

    words: frozenset[str]
    span: Span


@dataclass(frozen=True)
class BuildFile:
    """The builds one file runs, and the Secrets/ConfigMaps it creates."""

    path: str
    builds: tuple[ImageBuild, ...]
    problems: tuple[ParseProblem, ...]
    created: tuple[CreatedObject, ...] = ()
    replace_notes: tuple[ReplaceNote, ...] = ()


_NS = r"(?:\s+(?:-n|--namespace)(?:=|\s+)\S+)?"  # a namespace flag, wherever it stands
_KUBECTL_CREATE = re.compile(
    r"kubectl" + _NS + r"\s+create" + _NS + r"\s+"
    r"(?P<what>secret" + _NS + r"\s+(?:generic|tls|docker-registry)|configmap|cm)" + _NS + r"\s+"
    r"(?P<name>[a-z0-9][-a-z0-9.]*)(?P<rest>[^\n]*(?:\\\n[^\n]*){0,20})"
)
_FROM_LITERAL = re.compile(r"--from-literal[= ](?P<q>[\"']?)(?P<key>[-._A-Za-z0-9]+)=")
_FROM_FILE = re.compile(r"--from-(?:file|env-file)[= ]")


def created_objects(path: str, text: str) -> tuple[CreatedObject, ...]:
    """Every `kubectl create secret|configmap NAME` in a text (scripts, CI, Markdown)."""
    if "kubectl" not in text or "create" not in text:
        return ()
    out: list[CreatedObject] = []
    for match in _KUBECTL_CREATE.finditer(text):
        what = match.group("what")
        kind = "Secret" if what.startswith("secret") else "ConfigMap"
        rest = match.group("rest")
        keys: tuple[str, ...] | None
        if what.endswith("tls"):
            keys = ("tls.crt", "tls.key")
        elif what.endswith("docker-registry"):
            keys = (".dockerconfigjson",)
        elif _FROM_FILE.search(rest):
            keys = None
        else:
            keys = tuple(m.group("key") for m in _FROM_LITERAL.finditer(rest)) or None
        start = match.start("name")
        out.append(
            CreatedObject(
                kind,
                match.group("name"),
                keys,
                span_of_text(path, text, start, len(match.group("name"))),
                f"`kubectl create {what.split()[0]}` in {path}",
            )
        )
    return tuple(out)


_FENCE = re.compile(r"^\s*(```|~~~)")


_REPLACE = re.compile(
    r"\b(?:replace|change|update|edit|rotate|substitute|fill in|generate your own)\b", re.I
)
_SECRET_WORDS = re.compile(r"secret|password|credential|token|\bkeys?\b|values?\b", re.I)
_WORD = re.compile(r"[\w./-]+")


def replace_notes(path: str, text: str) -> tuple[ReplaceNote, ...]:
    """The paragraphs of a README that tell the reader to replace secret values."""
    if not _REPLACE.search(text):
        return ()
    notes: list[ReplaceNote] = []
    paragraph: list[tuple[int, str]] = []
    for number, line in enumerate([*text.split("\n"), ""], start=1):
        if line.strip():
            paragraph.append((number, line))
            continue
        joined = " ".join(line for _, line in paragraph)
        verb = next((n for n, line in paragraph if _REPLACE.search(line)), None)
        if verb is not None and _SECRET_WORDS.search(joined):
            words = frozenset(w.strip("./-").lower() for w in _WORD.findall(joined))
            notes.append(ReplaceNote(words, Span(path, verb, 1)))
        paragraph = []
    return tuple(notes)


def parse_docs(path: str, text: str) -> BuildFile:
    """A README: the Secrets and ConfigMaps its instructions create, the images its code
    blocks build (`docker build -t api:v1 .`, run from the README's directory), and the
    paragraphs that tell the reader to replace committed secret values."""
    created = created_objects(path, text)
    notes = replace_notes(path, text)
    if "build" not in text:
        return BuildFile(path, (), (), created, notes)
    collector = _Collector(path, text)
    directory = posixpath.dirname(path)
    block: list[str] = []
    start = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if _FENCE.match(line):
            if start:
                code = "\n".join(b.lstrip().removeprefix("$ ") for b in block)
                collector.scan_script(
                    code, start, {}, directory, "", fallback_cwd="" if directory else None
                )
                block, start = [], 0
            else:
                start = number + 1
            continue
        if start:
            block.append(line)
    return BuildFile(path, tuple(collector.builds), (), created, notes)


# --- variables --------------------------------------------------------------------------------

_VAR = re.compile(
    r"\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}"  # ${{ env.NAME }}
    r"|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}"  # ${NAME} ${NAME:-default}
    r"|\$\(([A-Za-z_][A-Za-z0-9_]*)\)"  # $(NAME) (make)
    r"|\$([A-Za-z_][A-Za-z0-9_]*)"  # $NAME
)
# Where the checkout is: a context or Dockerfile path written with it is under the root.
_WORKSPACE = {"GITHUB_WORKSPACE": ".", "CI_PROJECT_DIR": ".", "PWD": ".", "CURDIR": "."}


def expand(text: str, variables: Mapping[str, str]) -> str:
    """``text`` with the variables it uses replaced, where their value is known (bounded)."""
    for _ in range(4):
        if "$" not in text:
            return text

        def replace(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2) or match.group(4) or match.group(5)
            value = variables.get(name, _WORKSPACE.get(name))
            if value is not None:
                return value
            if match.group(3) is not None and "$" not in match.group(3):
                return match.group(3)
            return match.group(0)

        expanded = _VAR.sub(replace, text)
        if expanded == text:
            break
        text = expanded
    return text


def usable_ref(ref: str) -> str | None:
    """The image reference with unknown leading parts (a registry held in a variable) dropped;
    None when the image's own name is still unknown."""
    ref = ref.strip().strip("'\"")
    if not ref or any(ch.isspace() for ch in ref):
        return None
    name = ref.partition("@")[0]
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        name = name[:colon]
    parts = name.split("/")
    if not parts or _unknown(parts[-1]):
        return None
    # `ghcr.io/$OWNER/api`: what precedes an unknown part is no longer a known path; the
    # image's own name (the parts after the last unknown one) still is
    unknown = [index for index, part in enumerate(parts) if _unknown(part)]
    if unknown:
        parts = parts[unknown[-1] + 1 :]
    return "/".join(parts) + ref[len(name) :]


def _unknown(part: str) -> bool:
    return "$" in part or "{" in part or "}" in part or "<" in part or not part


_ASSIGN_SHELL = re.compile(
    r"^\s*(?:export\s+|readonly\s+|local\s+|declare\s+)?([A-Za-z_]\w*)=(.*)$"
)
_ASSIGN_MAKE = re.compile(r"^\s*(?:export\s+|override\s+)?([A-Za-z_]\w*)\s*(\?=|:=|::=|=)\s*(.*)$")


def _unquote(value: str) -> str:
    value = value.strip()
    if value.startswith(("'", '"')):
        try:
            words = shlex.split(value)
        except ValueError:
            return value.strip("'\"")
        return words[0] if len(words) == 1 else value
    return value.split(" #", 1)[0].strip()


# --- build commands ---------------------------------------------------------------------------

_VALUE_OPTIONS = frozenset(
    {
        "--build-arg",
        "--platform",
        "--cache-from",
        "--cache-to",
        "--label",
        "--secret",
        "--ssh",
        "--network",
        "-o",
        "--output",
        "--progress",
        "--builder",
        "--iidfile",
        "--metadata-file",
        "--add-host",
        "--build-context",
        "--attest",
        "--annotation",
        "--shm-size",
        "--ulimit",
        "-m",
        "--memory",
        "--memory-swap",
        "--cpu-shares",
        "--cpuset-cpus",
        "--cgroup-parent",
        "--isolation",
        "--allow",
        "--format",
        "--authfile",
        "--creds",
        "--layers",
        "--jobs",
        "--arch",
        "--os",
        "--variant",
        "--volume",
        "-v",
        "--env",
        "--security-opt",
        "--cache-ttl",
    }
)
_TAG_OPTIONS = ("-t", "--tag")
_FILE_OPTIONS = ("-f", "--file")
_KANIKO_DESTINATION = ("--destination", "-d")
_KANIKO_DOCKERFILE = ("--dockerfile", "-f")
_KANIKO_CONTEXT = ("--context", "-c")


@dataclass(frozen=True)
class _Command:
    tags: tuple[str, ...]
    file: str | None
    context: str | None
    target: str | None
    kaniko: bool
    program: str


def _build_words(words: list[str]) -> tuple[list[str], str] | None:
    """The arguments after the build subcommand, and the program, if ``words`` is a build."""
    while words and (words[0] in ("sudo", "time", "exec", "command") or "=" in words[0]):
        if "=" in words[0] and not re.match(r"^[A-Za-z_]\w*=", words[0]):
            break
        words = words[1:]
    if not words:
        return None
    program = posixpath.basename(words[0])
    if program in ("docker", "podman", "nerdctl"):
        rest = words[1:]
        if rest[:2] == ["buildx", "build"] or rest[:2] == ["image", "build"]:
            return rest[2:], f"{program} {' '.join(rest[:2])}"
        if rest[:1] == ["build"] or (program == "podman" and rest[:1] == ["buildx"]):
            return rest[1:], f"{program} build"
        return None
    if program == "buildah" and words[1:2] in (["bud"], ["build"]):
        return words[2:], "buildah build"
    if program in ("executor", "kaniko") or words[0] == "/kaniko/executor":
        return words[1:], "kaniko executor"
    return None


def _read_command(words: list[str]) -> _Command | None:
    found = _build_words(words)
    if found is None:
        return None
    args, program = found
    kaniko = program == "kaniko executor"
    tag_options = _KANIKO_DESTINATION if kaniko else _TAG_OPTIONS
    file_options = _KANIKO_DOCKERFILE if kaniko else _FILE_OPTIONS
    tags: list[str] = []
    file: str | None = None
    context: str | None = None
    target: str | None = None
    index = 0
    while index < len(args):
        word = args[index]
        option, equals, value = word.partition("=")
        if not word.startswith("-") or word == "-":
            if context is None and not kaniko:
                context = word
            index += 1
            continue
        if not equals:
            if index + 1 < len(args) and (
                option in tag_options
                or option in file_options
                or option == "--target"
                or option in _VALUE_OPTIONS
                or (kaniko and option in _KANIKO_CONTEXT)
            ):
                value = args[index + 1]
                index += 1
            elif option.startswith("-t") and not option.startswith("--") and len(option) > 2:
                option, value = "-t", option[2:]
            elif option.startswith("-f") and not option.startswith("--") and len(option) > 2:
                option, value = "-f", option[2:]
            else:
                index += 1
                continue
        index += 1
        if option in tag_options:
            tags.append(value)
        elif option in file_options:
            file = value
        elif option == "--target":
            target = value
        elif kaniko and option in _KANIKO_CONTEXT:
            context = value.removeprefix("dir://")
    if not tags:
        return None
    return _Command(tuple(tags), file, context, target, kaniko, program)


def _segments(line: str) -> Iterator[list[str]]:
    """The simple commands of one shell line, as words (quotes removed)."""
    for part in re.split(r"&&|\|\||;|\|", line):
        try:
            words = shlex.split(part, comments=True)
        except ValueError:
            words = part.split()
        if words:
            yield words


class _Collector:
    """Turns build commands into ``ImageBuild`` facts for one file."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.lines = text.split("\n")
        self.builds: list[ImageBuild] = []

    def span_of(self, written: str, line: int, last_line: int | None = None) -> Span:
        """The first place ``written`` occurs from ``line`` on (the line itself if nowhere)."""
        last = min(len(self.lines), last_line if last_line is not None else line + 40)
        for token in dict.fromkeys((written, written.split("$", 1)[0])):
            if not token:
                continue
            for number in range(max(line, 1), last + 1):
                col = self.lines[number - 1].find(token)
                if col >= 0:
                    return Span(self.path, number, col + 1, number, col + 1 + len(token))
        return Span(self.path, max(line, 1))

    def add_command(
        self,
        words: list[str],
        line: int,
        variables: Mapping[str, str],
        cwd: str,
        how: str,
        fallback_cwd: str | None = None,
        last_line: int | None = None,
    ) -> None:
        command = _read_command(words)
        if command is None:
            return
        file = expand(command.file, variables) if command.file is not None else None
        context = expand(command.context, variables) if command.context is not None else "."
        target = expand(command.target, variables) if command.target is not None else None
        if "$" in context or (file is not None and "$" in file) or "://" in context:
            return  # a path preflight cannot know, or a remote context
        if target is not None and "$" in target:
            target = None

        def paths(base: str) -> tuple[str, str]:
            context_path = _join(base, context)
            if command.kaniko:
                return _join(context_path, file or "Dockerfile"), context_path
            if file is None:
                return _join(context_path, "Dockerfile"), context_path
            return _join(base, file), context_path

        dockerfile, context_path = paths(cwd)
        fallback = paths(fallback_cwd) if fallback_cwd is not None else None
        for written in command.tags:
            ref = usable_ref(expand(written, variables))
            if ref is None:
                continue
            span = self.span_of(written, line, last_line)
            self.builds.append(
                ImageBuild(
                    ref,
                    dockerfile,
                    context_path,
                    target,
                    span,
                    f"`{command.program}`{f' ({how})' if how else ''} in {self.path}:{span.line}",
                    fallback if fallback != (dockerfile, context_path) else None,
                )
            )

    def scan_script(
        self,
        text: str,
        first_line: int,
        variables: dict[str, str],
        cwd: str,
        how: str = "",
        fallback_cwd: str | None = None,
        make: bool = False,
    ) -> None:
        """Every build command in shell text (a script, a ``run:`` block, a recipe)."""
        for number, logical in logical_lines(text, first_line):
            stripped = logical.strip()
            if make and logical.startswith("\t"):
                stripped = stripped.lstrip("@-+ ").replace("$$", "$")
            elif make:
                assigned = _ASSIGN_MAKE.match(logical)
                if assigned is not None and not logical.startswith((" ", "\t")):
                    name, op, value = assigned.groups()
                    if (op != "?=" or name not in variables) and "$(shell" not in value:
                        variables[name] = _unquote(expand(value, variables))
                    continue
            else:
                assigned = _ASSIGN_SHELL.match(logical)
                if assigned is not None:
                    name, value = assigned.groups()
                    value = value.strip()
                    if value.startswith(("'", '"')) or " " not in value:  # not `VAR=x cmd`
                        if "$(" not in value and "`" not in value:  # a command's output
                            variables[name] = _unquote(expand(value, variables))
                        continue
            if "build" not in stripped and "executor" not in stripped and " tag " not in stripped:
                continue
            for words in _segments(stripped):
                if len(words) == 4 and words[0] in ("docker", "podman") and words[1] == "tag":
                    self.add_tag(words[2], words[3], number, variables)
                    continue
                self.add_command(words, number, variables, cwd, how, fallback_cwd, number + 40)

    def add_tag(self, source: str, target: str, line: int, variables: Mapping[str, str]) -> None:
        """``docker tag api:latest $REGISTRY/team-api:latest``: the image built as ``source``
        earlier in this file is also pushed as ``target``."""
        old = usable_ref(expand(source, variables))
        new = usable_ref(expand(target, variables))
        if old is None or new is None:
            return
        name = old.split("@", 1)[0].rsplit(":", 1)[0] if ":" in old.rsplit("/", 1)[-1] else old
        for built in list(self.builds):
            ref = built.image_ref
            bare = ref.split("@", 1)[0].rsplit(":", 1)[0] if ":" in ref.rsplit("/", 1)[-1] else ref
            if bare == name:
                span = self.span_of(target, line)
                self.builds.append(
                    replace(built, image_ref=new, span=span, how=f"`docker tag` in {self.path}:"
                            f"{span.line} of `{built.image_ref}` ({built.how})")
                )  # fmt: skip
                return


def _join(base: str, relative: str) -> str:
    relative = relative.strip()
    if relative.startswith("/"):
        relative = relative.lstrip("/")  # an absolute path in CI is the workspace's, usually
        base = ""
    joined = posixpath.normpath(posixpath.join(base, relative or "."))
    return "" if joined == "." else joined


# --- Makefiles and shell scripts --------------------------------------------------------------


def parse_build_script(path: str, text: str) -> BuildFile:
    """Builds a Makefile or a shell script runs. Never a problem: a file that does not read as
    either is simply not a build file."""
    collector = _Collector(path, text)
    created = created_objects(path, text)
    if "build" not in text and "executor" not in text:
        return BuildFile(path, (), (), created)
    directory = posixpath.dirname(path)
    name = posixpath.basename(path)
    make = name in ("Makefile", "makefile", "GNUmakefile") or name.endswith(".mk")
    if make:
        collector.scan_script(text, 1, {}, directory, make=True)
    else:
        # A script is usually run from the root (`./scripts/build.sh`); else from its directory.
        collector.scan_script(text, 1, {}, "", fallback_cwd=directory if directory else None)
    return BuildFile(path, tuple(collector.builds), (), created)


# --- GitHub Actions ---------------------------------------------------------------------------


def _str_map(node: YNode | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if node is None or node.kind != "map":
        return out
    for key, value in node.items():
        name = key.as_str()
        text = value.as_str()
        if name is not None and text is not None:
            out[name] = text
    return out


def _text(node: YNode | None) -> str | None:
    return node.as_str() if node is not None else None


def _list_values(node: YNode | None) -> list[tuple[str, YNode]]:
    """Entries of an input that takes a list: a YAML list, or lines / commas in a string."""
    if node is None:
        return []
    if node.kind == "seq":
        return [(text, item) for item in node.seq() if (text := item.as_str())]
    text = node.as_str() or ""
    return [(part.strip(), node) for part in re.split(r"[\n,]", text) if part.strip()]


_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}")


def _compact(match: re.Match[str]) -> str:
    return "${{" + "".join(match.group(1).split()) + "}}"


_STEP_OUTPUT = re.compile(r"\$\{\{\s*steps\.([A-Za-z0-9_-]+)\.outputs\.tags\s*\}\}")


def _ci_document(path: str, text: str) -> tuple[YNode | None, tuple[ParseProblem, ...]]:
    """A CI file's first document when it is a mapping, and the YAML problem if it did not load."""
    documents, error = load_documents(path, text)
    problems = (error,) if error is not None else ()
    document = next((doc for doc in documents if doc is not None), None)
    return (document if document is not None and document.kind == "map" else None), problems


def _workflow_env(node: YNode | None) -> dict[str, str]:
    """An ``env:`` map, each ``${{ expression }}`` compacted to one word (as the runner
    substitutes it: `VERSION: ${{ github.sha }}` is one word in a tag, never two)."""
    return {name: _EXPRESSION.sub(_compact, value) for name, value in _str_map(node).items()}


def parse_workflow(path: str, text: str) -> BuildFile:
    """Builds a GitHub Actions workflow runs; a problem only for YAML that does not load."""
    collector = _Collector(path, text)
    document, problems = _ci_document(path, text)
    if document is None:
        return BuildFile(path, (), problems, created_objects(path, text))
    workflow_env = _workflow_env(document.get("env"))
    jobs = document.get("jobs")
    for _, job in jobs.items() if jobs is not None else ():
        if job.kind != "map":
            continue
        env = dict(workflow_env)
        env.update(_workflow_env(job.get("env")))
        defaults = job.get("defaults")
        run_defaults = defaults.get("run") if defaults is not None else None
        job_dir = _text(run_defaults.get("working-directory")) if run_defaults else None
        steps = job.get("steps")
        metadata: dict[str, list[str]] = {}
        for step in steps.seq() if steps is not None else ():
            if step.kind != "map":
                continue
            step_env = dict(env)
            step_env.update(_workflow_env(step.get("env")))
            uses = _text(step.get("uses")) or ""
            step_name = _text(step.get("name")) or uses
            with_ = step.get("with")
            if uses.startswith("docker/metadata-action") and with_ is not None:
                step_id = _text(step.get("id"))
                images = [
                    expand(value.removeprefix("name=").split(",")[0], step_env)
                    for value, _ in _list_values(with_.get("images"))
                ]
                if step_id:
                    metadata[step_id] = images
            elif uses.startswith("docker/build-push-action") and with_ is not None:
                _build_push(collector, with_, step, step_env, metadata, step_name)
            run = step.get("run")
            run_text = _text(run)
            if run is not None and run_text and ("build" in run_text or "executor" in run_text):
                run_text = _EXPRESSION.sub(_compact, run_text)  # one word, as the runner sees it
                cwd = _text(step.get("working-directory")) or job_dir or "."
                first = run.span.line + (1 if run.style in ("|", ">") else 0)
                collector.scan_script(
                    run_text,
                    first,
                    step_env,
                    _join("", expand(cwd, step_env)),
                    f"step `{step_name}`",
                )
    return BuildFile(path, tuple(collector.builds), problems, created_objects(path, text))


def _build_push(
    collector: _Collector,
    with_: YNode,
    step: YNode,
    env: Mapping[str, str],
    metadata: Mapping[str, list[str]],
    step_name: str,
) -> None:
    context_text = expand(_text(with_.get("context")) or ".", env)
    file_text = _text(with_.get("file"))
    target = _text(with_.get("target"))
    if (
        "$" in context_text
        or "://" in context_text
        or (file_text and "$" in expand(file_text, env))
    ):
        return
    context = _join("", context_text)
    dockerfile = _join("", expand(file_text, env)) if file_text else _join(context, "Dockerfile")
    if target is not None:
        target = expand(target, env)
        if "$" in target:
            target = None
    for written, node in _list_values(with_.get("tags")):
        output = _STEP_OUTPUT.search(written)
        refs = metadata.get(output.group(1), []) if output is not None else [expand(written, env)]
        for raw in refs:
            ref = usable_ref(raw)
            if ref is None:
                continue
            span = collector.span_of(written, node.span.line, node.span.end_line)
            collector.builds.append(
                ImageBuild(
                    ref,
                    dockerfile,
                    context,
                    target,
                    span,
                    f"docker/build-push-action step `{step_name}` in {collector.path}:{span.line}",
                )
            )


# --- GitLab CI --------------------------------------------------------------------------------


def parse_gitlab_ci(path: str, text: str) -> BuildFile:
    """Builds the scripts of a ``.gitlab-ci.yml`` run; a problem only for YAML that does not
    load."""
    collector = _Collector(path, text)
    document, problems = _ci_document(path, text)
    if document is None:
        return BuildFile(path, (), problems, created_objects(path, text))
    top = _gitlab_variables(document.get("variables"))
    for key, job in document.items():
        name = key.as_str() or ""
        if job.kind != "map" or name in ("variables", "default", "workflow", "include"):
            continue
        variables = dict(top)
        variables.update(_gitlab_variables(job.get("variables")))
        for section in ("before_script", "script"):
            node = job.get(section)
            lines = node.seq() if node is not None and node.kind == "seq" else ()
            if node is not None and node.kind == "scalar":
                lines = (node,)
            for line in lines:
                script = line.as_str()
                if not script or ("build" not in script and "executor" not in script):
                    continue
                first = line.span.line + (1 if line.style in ("|", ">") else 0)
                collector.scan_script(script, first, variables, "", f"job `{name}`")
    return BuildFile(path, tuple(collector.builds), problems, created_objects(path, text))


def _gitlab_variables(node: YNode | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if node is None or node.kind != "map":
        return out
    for key, value in node.items():
        name = key.as_str()
        text = value.as_str() if value.kind == "scalar" else _text(value.get("value"))
        if name is not None and text is not None:
            out[name] = text
    return out


# --- Google Cloud Build -----------------------------------------------------------------------


def parse_cloudbuild(path: str, text: str) -> BuildFile:
    """The images a ``cloudbuild.yaml`` builds: ``docker build`` steps (the docker builder
    with ``args``, or a shell entrypoint running it), kaniko steps, run from the source root
    (``gcloud builds submit`` is run there) or the step's ``dir``; ``substitutions`` expand."""
    collector = _Collector(path, text)
    document, problems = _ci_document(path, text)
    if document is None:
        return BuildFile(path, (), problems)
    variables = _str_map(document.get("substitutions"))
    steps = document.get("steps")
    for step in steps.seq() if steps is not None else ():
        if step.kind != "map":
            continue
        builder = _text(step.get("name")) or ""
        args_node = step.get("args")
        if args_node is None or args_node.kind != "seq":
            continue
        args = _list_values(args_node)
        cwd = _join("", _text(step.get("dir")) or "")
        entrypoint = _text(step.get("entrypoint")) or ""
        if entrypoint in ("bash", "sh", "/bin/bash", "/bin/sh") and len(args) >= 2:
            if args[0][0] == "-c":
                script, node = args[1]
                collector.scan_script(script, node.span.line, dict(variables), cwd, "Cloud Build")
            continue
        if not args:
            continue
        words = [text for text, _ in args]
        if builder.rsplit("/", 1)[-1].split(":")[0] == "docker" and words[0] in ("build", "buildx"):
            collector.add_command(
                ["docker", *words], args[0][1].span.line, variables, cwd, "Cloud Build step",
                last_line=args[-1][1].span.line,
            )  # fmt: skip
        elif "kaniko-project/executor" in builder:
            collector.add_command(
                ["/kaniko/executor", *words], args[0][1].span.line, variables, cwd,
                "Cloud Build step", last_line=args[-1][1].span.line,
            )  # fmt: skip
    return BuildFile(path, tuple(collector.builds), problems)


# --- Tiltfile and docker-bake ----------------------------------------------------------------

_TILT_BUILD = re.compile(r"\b(?:docker_build|custom_build)\s*\(")
_STARLARK_STRING = r"""(?:'([^'\n]*)'|"([^"\n]*)")"""
_TILT_KEYWORD = re.compile(r"\b(ref|context|dockerfile|target)\s*=\s*" + _STARLARK_STRING)
_TILT_POSITIONAL = re.compile(r"\s*" + _STARLARK_STRING + r"\s*(?:,|\))")


def parse_tiltfile(path: str, text: str) -> BuildFile:
    """``docker_build('image', 'context', dockerfile='…', target='…')`` calls of a Tiltfile
    (Starlark, read statically: only literal arguments count)."""
    builds: list[ImageBuild] = []
    base = posixpath.dirname(path)
    for match in _TILT_BUILD.finditer(text):
        if text[match.start() :].startswith("custom_build"):
            continue  # built by a command of its own, not from a Dockerfile
        end = _call_end(text, match.end())
        inside = text[match.end() : end]
        arguments: dict[str, str] = {}
        offsets: dict[str, int] = {}
        position = match.end()
        for name in ("ref", "context"):
            positional = _TILT_POSITIONAL.match(text, position, end + 1)
            if positional is None:
                break
            arguments[name] = positional.group(1) or positional.group(2) or ""
            offsets[name] = positional.start() + positional.group(0).index(arguments[name])
            position = positional.end()
        for keyword in _TILT_KEYWORD.finditer(inside):
            value = keyword.group(2) or keyword.group(3) or ""
            arguments.setdefault(keyword.group(1), value)
            offsets.setdefault(
                keyword.group(1),
                match.end() + keyword.start(2 if keyword.group(2) is not None else 3),
            )
        ref = arguments.get("ref")
        if not ref:
            continue
        context = _join(base, arguments.get("context", "."))
        dockerfile = (
            _join(base, arguments["dockerfile"])
            if "dockerfile" in arguments
            else _join(context, "Dockerfile")
        )
        line = text.count("\n", 0, offsets["ref"]) + 1
        col = offsets["ref"] - (text.rfind("\n", 0, offsets["ref"]) + 1) + 1
        span = Span(path, line, col, line, col + len(ref))
        builds.append(
            ImageBuild(
                ref.lower(), dockerfile, context, arguments.get("target"), span,
                f"Tiltfile `docker_build` in {path}:{line}",
            )
        )  # fmt: skip
    return BuildFile(path, tuple(builds), ())


def _call_end(text: str, start: int) -> int:
    """The index of the parenthesis closing a call whose arguments start at ``start``."""
    depth = 1
    quote: str | None = None
    for index in range(start, min(len(text), start + 5000)):
        char = text[index]
        if quote is not None:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
    return min(len(text), start + 5000)


_BAKE_TARGET = re.compile(r"^\s*target\s+\"([^\"]+)\"\s*\{", re.M)
_BAKE_ATTRIBUTE = re.compile(r"^\s*(context|dockerfile|target)\s*=\s*\"([^\"]*)\"", re.M)
_BAKE_TAGS = re.compile(r"^\s*tags\s*=\s*\[([^\]]*)\]", re.M)


def parse_bake(path: str, text: str) -> BuildFile:
    """``docker-bake.hcl`` / ``.json`` targets: tags, context, dockerfile and target stage.
    HCL is read for literal attributes only (a tag built from a variable is left out)."""
    base = posixpath.dirname(path)
    builds: list[ImageBuild] = []
    if path.endswith(".json"):
        import json

        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            problem = ParseProblem(Span(path, 1), f"invalid JSON: {str(exc)[:200]}")
            return BuildFile(path, (), (problem,))
        targets = data.get("target") if isinstance(data, dict) else None
        for name, target in (targets or {}).items() if isinstance(targets, dict) else ():
            if not isinstance(target, dict):
                continue
            tags = target.get("tags")
            for tag in tags if isinstance(tags, list) else ():
                if isinstance(tag, str) and "$" not in tag:
                    builds.append(_bake_build(path, base, text, name, tag, target))
        return BuildFile(path, tuple(builds), ())
    for match in _BAKE_TARGET.finditer(text):
        end = _block_end(text, match.end())
        block = text[match.end() : end]
        attributes = {m.group(1): m.group(2) for m in _BAKE_ATTRIBUTE.finditer(block)}
        tags = _BAKE_TAGS.search(block)
        for tag in re.findall(r"\"([^\"]+)\"", tags.group(1)) if tags else ():
            if "$" not in tag:
                builds.append(_bake_build(path, base, text, match.group(1), tag, attributes))
    return BuildFile(path, tuple(builds), ())


def _bake_build(
    path: str, base: str, text: str, name: str, tag: str, target: Mapping[str, object]
) -> ImageBuild:
    context_value = target.get("context")
    context = _join(base, context_value if isinstance(context_value, str) else ".")
    dockerfile_value = target.get("dockerfile")
    dockerfile = _join(
        context, dockerfile_value if isinstance(dockerfile_value, str) else "Dockerfile"
    )
    stage = target.get("target")
    offset = text.find(tag)
    line = text.count("\n", 0, offset) + 1 if offset >= 0 else 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1 if offset >= 0 else 1
    return ImageBuild(
        tag.lower(), dockerfile, context, stage if isinstance(stage, str) else None,
        Span(path, line, col, line, col + len(tag)), f"bake target `{name}` in {path}:{line}",
    )  # fmt: skip


def _block_end(text: str, start: int) -> int:
    depth = 1
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return len(text)
