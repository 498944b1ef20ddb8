"""RUN002 env-var-not-expanded: a `$VAR` in a command that nothing expands reaches the program
as text.

Docker runs an exec-form (JSON) CMD/ENTRYPOINT without a shell and never substitutes ENV into
it, so `["uvicorn", "app:app", "--port", "${PORT}"]` fails with ``Invalid value for '--port':
'${PORT}' is not a valid integer``. Kubernetes expands only `$(VAR)` in command/args, and only
for variables of the container's own env/envFrom. And a shell-form command gets `$$PORT`
untouched from Docker, where the shell reads `$$` as its process ID.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from preflight.checks.rule import Rule
from preflight.findings import Applicability, Autofix, Edit, Finding, RuleContext, Severity
from preflight.model.graph import Deployment
from preflight.model.processes import Process, Step
from preflight.model.project import Launch
from preflight.spans import Related, Span

CODE = "RUN002"

_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh"})
# `${NAME}` (with or without an operator such as `:-8000`), `$NAME` in capitals (an
# environment variable's spelling: lower-case `$x` may be anything), `$(NAME)` (Kubernetes).
_REFERENCE = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:[:?+=#%/-][^}]*)?\}"
    r"|\((?P<paren>[A-Za-z_][A-Za-z0-9_]*)\)"
    r"|(?P<bare>[A-Z_][A-Z0-9_]*)(?![a-z]))"
)
# `$$NAME` / `$${NAME}` in text a shell reads: the shell's PID, then the name
_PID_ESCAPE = re.compile(
    r"(?<!\$)\$\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)[^}]*\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)
# Programs that read `$(VAR)`/`${VAR}` in their own arguments (uWSGI's option expansion), and
# runners that hand their command to a shell (hatch, pdm and pipenv scripts): not judged.
_EXPANDS_ITSELF = frozenset({"uwsgi", "pyuwsgi"})
_SHELL_RUNNERS = frozenset({"hatch", "pdm", "pipenv"})
# Variables the kubelet adds to every container (service links, enableServiceLinks: true).
_SERVICE_LINK = re.compile(r"^(?:KUBERNETES_\w+|\w+_SERVICE_(?:HOST|PORT\w*)|\w+_PORT(?:_\w+)?)$")


@dataclass(frozen=True, slots=True)
class _Reference:
    text: str  # `${PORT}`, `$PORT`, `$(PORT)`
    name: str
    paren: bool  # `$(NAME)`
    offset: int  # where it starts in its word


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    seen: set[tuple[Span, str]] = set()
    for launch, process in zip(graph.launches, graph.processes, strict=False):
        if launch.container is not None:
            found = _kubernetes(launch, process, graph, ctx)
        elif launch.origin.startswith("the Dockerfile's"):
            found = _dockerfile(launch, process, graph, ctx)
        elif launch.origin.startswith("compose service"):
            found = _compose(launch, process, ctx)
        elif launch.origin.startswith("Procfile"):
            script = _shell_text(launch.argv)  # a Procfile line is run by a shell
            found = _pid_escapes(launch, script, ctx) if script is not None else iter(())
        else:
            continue
        for finding in found:
            key = (finding.span, finding.message)
            if key not in seen:
                seen.add(key)
                yield finding


def _dockerfile(
    launch: Launch, process: Process, graph: Deployment, ctx: RuleContext
) -> Iterator[Finding]:
    script = _shell_text(launch.argv)
    if script is not None:
        yield from _pid_escapes(launch, script, ctx)
        return
    unknown = _unknown_base_entrypoint(graph, launch.span.path)
    if unknown is not None and any("$" in word for word in launch.argv):
        ctx.silent(launch.span, unknown)
        return
    autofix = _through_a_shell(graph, launch)
    for step, word, reference in _literal_references(launch, process, ctx):
        program = _program(step)
        span = _locate(launch, word, reference)
        related = (*_dockerfile_env(graph, launch.span.path, reference.name), *step.chain)
        instruction = _instruction(graph, span)
        if reference.paren:
            why = "`$(VAR)` is Kubernetes syntax; Docker never expands it"
        else:
            why = (
                f"an exec-form (JSON) {instruction} runs no shell and Docker does not "
                "substitute ENV into it, so nothing expands the variable"
            )
        yield ctx.report(
            f"The Dockerfile's {instruction} passes `{reference.text}` to {program} as it is: "
            f"{why}, and {program} gets the literal text `{reference.text}`.",
            span,
            related,
            f'Run the command through a shell that `exec`s it — `["sh", "-c", "exec '
            f'{_shell_command(step)}"]` — so the shell expands `${{{reference.name}}}` and '
            f"{program} stays PID 1; or write the value itself.",
            autofix=autofix if not reference.paren else None,
        )


# What a word may hold around a reference for the rewrite to be exact inside double quotes
# (shlex's own set of characters that need no quoting), and the references the POSIX shell
# expands as Docker users mean them: `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME-default}`.
_PLAIN = re.compile(r"[\w@%+=:,./-]*", re.ASCII)
_SHELL_REFERENCE = re.compile(
    r"\$(?:[A-Z_][A-Z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*(?::?-[\w@%+=:,./-]*)?\})", re.ASCII
)


def _through_a_shell(graph: Deployment, launch: Launch) -> Autofix | None:
    """`CMD ["uvicorn", "app:app", "--port", "${PORT}"]` → `CMD ["sh", "-c", "exec uvicorn
    app:app --port \"${PORT}\""]`: the exec form kept (as the reference service writes its
    CMD, and as hadolint's DL3025 asks), `sh -c` to expand the variables, `exec` so the server
    stays PID 1 and gets the stop signal. Only for the image's own CMD with no ENTRYPOINT (a
    CMD that is an ENTRYPOINT's arguments cannot become a shell), a final stage whose base has
    `/bin/sh`, and words the rewrite keeps exactly: each plain word quoted by `shlex.quote`,
    each word with a reference in double quotes (one argument, no splitting or globbing, as the
    exec form passed it) holding nothing else a shell reads. Safe when the image's ENV sets
    every variable (or a `:-` default covers it): the program and its arguments are those the
    CMD meant; unsafe otherwise (an unset variable expands to nothing)."""
    import json
    import shlex

    dockerfile = graph.files.dockerfiles.get(launch.span.path)
    if dockerfile is None or dockerfile.final is None:
        return None
    entrypoint, cmd = dockerfile.effective_parts()
    if entrypoint is not None or cmd is None or cmd.shell_form or cmd.argv != launch.argv:
        return None
    if not cmd.argv or len(cmd.word_spans) != len(cmd.argv):
        return None
    stage = graph.stages[dockerfile.path][dockerfile.final.index]
    if stage.base_tools is None or stage.base_tools.shell is not True:
        return None  # distroless, or a base image preflight does not know: maybe no shell
    words: list[str] = []
    unset: list[str] = []  # variables no ENV sets and no default covers
    for word in cmd.argv:
        if not any(True for _ in _references(word)):
            if "$" in word:
                return None  # `$$`, a lower-case `$name`: what was meant is a person's call
            words.append(shlex.quote(word))
            continue
        if not _PLAIN.fullmatch(_SHELL_REFERENCE.sub("", word)):
            return None
        for match in _SHELL_REFERENCE.finditer(word):
            after = word[match.end() : match.end() + 1]
            if not match.group(0).endswith("}") and re.match(r"[A-Za-z0-9_]", after):
                return None  # `$PORTx`: the shell would read another name
            name = match.group(0).strip("${}").split(":", 1)[0].split("-", 1)[0]
            has_default = "-" in match.group(0)
            if not has_default and not _dockerfile_env(graph, dockerfile.path, name):
                unset.append(name)
        words.append(f'"{word}"')
    script = "exec " + " ".join(words)
    first, last = cmd.word_spans[0], cmd.word_spans[-1]
    content = ", ".join(json.dumps(part, ensure_ascii=False) for part in ("sh", "-c", script))
    edit = Edit(first.path, first.line, first.col, last.end_line, last.end_col, content)
    message = 'Run the CMD through `sh -c "exec …"`, which expands it'
    if unset:  # the shell expands an unset variable to nothing: the platform must set it
        names = ", ".join(f"`{name}`" for name in dict.fromkeys(unset))
        message += f" (no ENV sets {names}: the platform running the image must)"
        return Autofix(Applicability.UNSAFE, message, (edit,))
    return Autofix(Applicability.SAFE, message, (edit,))


def _kubernetes(
    launch: Launch, process: Process, graph: Deployment, ctx: RuleContext
) -> Iterator[Finding]:
    container = launch.container
    assert container is not None
    names, unknown = _container_env(launch, graph)
    script = _shell_text(launch.argv)
    if script is not None:
        yield from _undefined_in_shell(launch, script, names, unknown, graph, ctx)
        return
    if container.command is None and any("$" in word for word in launch.argv):
        entrypoint = _unknown_base_entrypoint(graph, _image_dockerfile(launch, graph))
        if entrypoint is not None:  # args go to the image's ENTRYPOINT, which is not known
            ctx.silent(launch.span, entrypoint)
            return
    for step, word, reference in _literal_references(launch, process, ctx):
        if _written_in_dockerfile(launch, word, graph):
            continue  # the image's own ENTRYPOINT: reported at the Dockerfile
        program = _program(step)
        span = _locate(launch, word, reference)
        origin = _origin(launch)
        if reference.paren:
            if reference.name in names or unknown or _SERVICE_LINK.match(reference.name):
                if unknown and reference.name not in names:
                    ctx.silent(span, f"{origin}: {unknown}")
                continue
            yield ctx.report(
                f"{origin} passes `{reference.text}` to {program} as it is: Kubernetes expands "
                f"`$(VAR)` only from the container's own env and envFrom, and "
                f"`{reference.name}` is not defined there"
                + _image_only(graph, launch, reference.name)
                + ".",
                span,
                _dockerfile_env(graph, _image_dockerfile(launch, graph), reference.name),
                f"Define `{reference.name}` in the container's env.",
            )
            continue
        defined = reference.name in names
        fix = (
            f"Write `$({reference.name})`: Kubernetes substitutes it from the container's env."
            if defined
            else f"Define `{reference.name}` in the container's env and write "
            f"`$({reference.name})`, or run the command through `sh -c`."
        )
        # defined in the container's env: `$(VAR)` is what Kubernetes substitutes — safe, the
        # value the author meant, as the kubelet will read it
        autofix = (
            Autofix(
                Applicability.SAFE,
                f"Write `$({reference.name})`",
                (
                    Edit.replace_text(
                        span.path, span.line, span.col, reference.text, f"$({reference.name})"
                    ),
                ),
            )
            if defined
            else None
        )
        yield ctx.report(
            f"{origin} passes `{reference.text}` to {program} as it is: Kubernetes expands only "
            f"`$(VAR)` in command and args, and no shell runs them, so {program} gets the "
            f"literal text `{reference.text}`.",
            span,
            _container_env_spans(launch, reference.name),
            fix,
            autofix=autofix,
        )


def _compose(launch: Launch, process: Process, ctx: RuleContext) -> Iterator[Finding]:
    """Compose fills in `${VAR}` itself when it reads the file (from the shell and .env), and
    turns `$$` into `$`; a command it runs without a shell then passes `$VAR` as text."""
    if _shell_text(launch.argv) is not None:
        return
    for step, word, reference in _literal_references(launch, process, ctx, _escaped):
        program = _program(step)
        literal = reference.text[1:]
        yield ctx.report(
            f"{_origin(launch)} passes `{reference.text}` to {program}: compose turns `$$` "
            f"into `$` and runs the command without a shell, so {program} gets the literal "
            f"text `{literal}`.",
            _locate(launch, word, reference),
            step.chain,
            f'Run it through a shell — `command: sh -c "exec {_shell_command(step)}"` — or '
            f"write `${{{reference.name}}}` for compose to fill in when it starts.",
        )


def _escaped(word: str) -> Iterator[_Reference]:
    """`$$NAME` / `$${NAME}`: compose's escape, a `$NAME` for the program."""
    for match in _PID_ESCAPE.finditer(word):
        name = match.group("braced") or match.group("bare")
        yield _Reference(match.group(0), name, False, match.start())


def _literal_references(
    launch: Launch,
    process: Process,
    ctx: RuleContext,
    finder: Callable[[str], Iterator[_Reference]] | None = None,
) -> Iterator[tuple[Step, str, _Reference]]:
    """Each `$` reference in the words of an argv no shell saw, with the program that gets it
    (followed through wrappers and an entrypoint script's `"$@"`)."""
    for step in process.steps:
        invocation = step.invocation
        if invocation is None or invocation.shell or step.at is not None:
            continue  # a shell read these words and expanded them
        if step.runs not in ("program", "python", "deferred"):
            continue  # a script's own arguments: what it does with `$1` is not known
        words = (invocation.executable, *invocation.args)
        if not any("$" in word for word in words):
            continue
        name = posixpath.basename(invocation.executable)
        wrappers = {posixpath.basename(wrapper[0]) for wrapper in invocation.wrappers}
        env_split = any(
            posixpath.basename(w[0]) == "env" and any(a.startswith("-S") for a in w)
            for w in invocation.wrappers
        )
        if wrappers & _SHELL_RUNNERS or env_split:
            ctx.silent(launch.span, f"{launch.origin}: its runner may run the command in a shell")
            continue
        if step.runs == "python":
            if "-c" in invocation.args:
                continue  # `python -c CODE`: a `$` in code is not a variable
        elif not _known_literal_program(name):
            ctx.silent(
                launch.span,
                f"{launch.origin}: preflight does not know whether `{name}` expands variables "
                "in its arguments",
            )
            continue
        for word in words:
            for reference in (finder or _references)(word):
                yield step, word, reference


def _known_literal_program(name: str) -> bool:
    """A Python program that takes its arguments as they are (its own console script)."""
    from preflight.knowledge.executables import CONSOLE_SCRIPTS

    return name in CONSOLE_SCRIPTS and name not in _EXPANDS_ITSELF


def _references(word: str) -> Iterator[_Reference]:
    index = 0
    while True:
        index = word.find("$", index)
        if index < 0:
            return
        if word.startswith("$$", index):
            index += 2  # an escaped `$` (Kubernetes), or `$$` meant as it is
            continue
        match = _REFERENCE.match(word, index)
        if match is None:
            index += 1
            continue
        paren = match.group("paren")
        name = match.group("braced") or paren or match.group("bare")
        yield _Reference(match.group(0), name, paren is not None, index)
        index = match.end()


def _shell_text(argv: tuple[str, ...]) -> str | None:
    """The script of `sh -c SCRIPT` (shell form, or a shell named in the argv), else None."""
    words = list(argv)
    while words and posixpath.basename(words[0]) in ("tini", "dumb-init", "tini-static"):
        words = words[words.index("--") + 1 :] if "--" in words else words[1:]
    if len(words) >= 3 and posixpath.basename(words[0]) in _SHELLS:
        for index, word in enumerate(words[1:], 1):
            if not word.startswith("-"):
                return None
            if "c" in word[1:] and index + 1 < len(words):
                return words[index + 1]
    return None


def _pid_escapes(launch: Launch, script: str, ctx: RuleContext) -> Iterator[Finding]:
    for match in _PID_ESCAPE.finditer(script):
        name = match.group("braced") or match.group("bare")
        written = match.group(0)
        span = _locate(launch, script, _Reference(written, name, False, match.start()))
        handed = (
            "a Procfile line goes to the shell untouched"
            if launch.origin.startswith("Procfile")
            else "Docker hands CMD/ENTRYPOINT to the shell untouched"
        )
        yield ctx.report(
            f"{_origin(launch)} runs its command through a shell, where `$$` is the shell's "
            f"process ID: `{written}` becomes a number followed by the rest of the text, not "
            f"the value of `{name}`. `$$` escapes `$` in compose files and Kubernetes, but "
            f"{handed}.",
            span,
            (),
            f"Write `${name}` (or `${{{name}}}`).",
        )


def _undefined_in_shell(
    launch: Launch,
    script: str,
    names: set[str],
    unknown: str | None,
    graph: Deployment,
    ctx: RuleContext,
) -> Iterator[Finding]:
    """`sh -c "… $(PORT) …"` with PORT not in the container's env: Kubernetes leaves it, and
    the shell runs a command named PORT (a capitalised name is never a command)."""
    for reference in _references(script):
        if not reference.paren or not re.fullmatch(r"[A-Z][A-Z0-9_]*", reference.name):
            continue
        if reference.name in names or _SERVICE_LINK.match(reference.name):
            continue
        span = _locate(launch, script, reference)
        if unknown:
            ctx.silent(span, f"{launch.origin}: {unknown}")
            continue
        yield ctx.report(
            f"{_origin(launch)} runs a shell script containing `{reference.text}`, but "
            f"`{reference.name}` is not in the container's env, so Kubernetes leaves it as it "
            f"is and the shell runs a command named `{reference.name}` (`{reference.name}: not "
            f"found`, an empty value)" + _image_only(graph, launch, reference.name) + ".",
            span,
            _dockerfile_env(graph, _image_dockerfile(launch, graph), reference.name),
            f"Write `${{{reference.name}}}` for the shell to expand, or define "
            f"`{reference.name}` in the container's env.",
        )


def _unknown_base_entrypoint(graph: Deployment, path: str | None) -> str | None:
    """Why the program that receives the command may be another (a base image's ENTRYPOINT
    that could expand it), or None: the Dockerfile sets its ENTRYPOINT, or builds on an
    image preflight knows (official Python and OS images set none; the bundling ones `exec`
    what they are given)."""
    import fnmatch

    from preflight.knowledge import executables as kn

    dockerfile = graph.files.dockerfiles.get(path or "")
    if dockerfile is None or dockerfile.final is None:
        return None
    lineage = dockerfile.lineage(dockerfile.final)
    if any(stage.entrypoint is not None for stage in lineage):
        return None
    name = kn.image_name(lineage[-1].base)
    patterns = (*kn.BASE_IMAGES_BARE_PYTHON, *kn.BASE_IMAGES_OS, *kn.BASE_IMAGES_BUNDLING)
    if any(fnmatch.fnmatch(name, pattern) for pattern in patterns):
        return None
    return (
        f"{dockerfile.path} sets no ENTRYPOINT and its base image `{lineage[-1].base}` is not "
        "one preflight knows: its ENTRYPOINT may run the command through a shell"
    )


def _container_env(launch: Launch, graph: Deployment) -> tuple[set[str], str | None]:
    """The variables Kubernetes expands `$(VAR)` from: the container's env and envFrom keys
    (not the image's ENV); and why more may be defined."""
    container = launch.container
    assert container is not None
    names = {variable.name for variable in container.env}
    unknown: str | None = None
    defined = graph.defined
    for source in container.env_from:
        is_secret = source.kind == "secretRef"
        table = (defined.secrets if is_secret else defined.config_maps).get(source.name or "")
        if table is None:
            what = "Secret" if is_secret else "ConfigMap"
            unknown = f"envFrom {what} `{source.name}` has keys preflight cannot see"
            continue
        names.update(source.prefix + key for key in table)
    return names, unknown


def _container_env_spans(launch: Launch, name: str) -> tuple[Related, ...]:
    container = launch.container
    assert container is not None
    return tuple(
        Related(variable.span, f"`{name}` is defined in the container's env here")
        for variable in container.env
        if variable.name == name
    )


def _image_dockerfile(launch: Launch, graph: Deployment) -> str | None:
    for path, image in graph.files.images.items():
        if image.environment is launch.environment:
            return path
    return None


def _image_only(graph: Deployment, launch: Launch, name: str) -> str:
    path = _image_dockerfile(launch, graph)
    if path is not None and _dockerfile_env(graph, path, name):
        return (
            f" (the image's ENV `{name}` from {path} is set when the container runs, after "
            "Kubernetes expanded the command)"
        )
    return ""


def _dockerfile_env(graph: Deployment, path: str | None, name: str) -> tuple[Related, ...]:
    dockerfile = graph.files.dockerfiles.get(path or "")
    if dockerfile is None or dockerfile.final is None:
        return ()
    for stage in dockerfile.lineage(dockerfile.final):
        entry = stage.env.get(name)
        if entry is not None and name not in stage.build_args:
            return (Related(entry[1], f"`{name}` is set here, in the image's ENV"),)
    return ()


def _written_in_dockerfile(launch: Launch, word: str, graph: Deployment) -> bool:
    for index, argv_word in enumerate(launch.argv):
        if argv_word == word and index < len(launch.word_spans):
            span = launch.word_spans[index]
            return span is not None and span.path in graph.files.dockerfiles
    return False


def _locate(launch: Launch, word: str, reference: _Reference) -> Span:
    """Where the reference is written: inside its word when the word's span is one line as
    long as the word (plain) or two longer (quoted), else at the word, else at the launch."""
    span = next(
        (
            launch.word_spans[index]
            for index, argv_word in enumerate(launch.argv)
            if argv_word == word and index < len(launch.word_spans)
        ),
        None,
    )
    if span is None:
        return _in_source(launch, reference.text, launch.span) or launch.span
    if span.line == span.end_line:
        width = span.end_col - span.col
        start = {len(word): span.col, len(word) + 2: span.col + 1}.get(width)
        if start is not None:
            col = start + reference.offset
            return Span(span.path, span.line, col, span.line, col + len(reference.text))
    found = _in_source(launch, reference.text, span)
    return found or span


def _in_source(launch: Launch, text: str, near: Span) -> Span | None:
    """The first occurrence of ``text`` at or after ``near`` in the launch's own lines."""
    if near.path != launch.span.path or not launch.source:
        return None
    for offset, line in enumerate(launch.source.split("\n")):
        number = launch.span.line + offset
        if number < near.line:
            continue
        start = near.col - 1 if number == near.line else 0
        col = line.find(text, start)
        if col >= 0:
            return Span(near.path, number, col + 1, number, col + 1 + len(text))
    return None


def _program(step: Step) -> str:
    invocation = step.invocation
    assert invocation is not None
    name = posixpath.basename(invocation.executable)
    if step.runs == "python" and invocation.args[:1] == ("-m",) and len(invocation.args) > 1:
        return f"`{name} -m {invocation.args[1]}`"
    return f"`{name}`"


def _shell_command(step: Step) -> str:
    invocation = step.invocation
    assert invocation is not None
    words = [invocation.executable, *invocation.args]
    text = " ".join(word if word and " " not in word else f"'{word}'" for word in words)
    return text if len(text) <= 60 else text[:57] + "…"


def _instruction(graph: Deployment, span: Span) -> str:
    """CMD or ENTRYPOINT: the instruction of the Dockerfile that ``span`` is in."""
    dockerfile = graph.files.dockerfiles.get(span.path)
    if dockerfile is not None:
        entrypoint, cmd = dockerfile.effective_parts()
        for name, part in (("CMD", cmd), ("ENTRYPOINT", entrypoint)):
            if part is not None and part.span.line <= span.line <= part.span.end_line:
                return name
    return "CMD"


def _origin(launch: Launch) -> str:
    return launch.origin[0].upper() + launch.origin[1:]


RULE = Rule(
    code=CODE,
    name="env-var-not-expanded",
    severity=Severity.ERROR,
    summary="A `$VAR` in a command no shell or Kubernetes expands reaches the program as text.",
    check=check,
)
