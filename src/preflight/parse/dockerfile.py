"""Dockerfiles: stages, what each RUN/COPY does, and the command the final image starts.

dockerfile-parse splits instructions (joining continuations); this module adds what it lacks:
heredoc bodies, ARG/ENV substitution where the value is static, exec/shell form, and the
ENTRYPOINT + CMD combination Docker applies.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field

from preflight.parse import ParseProblem
from preflight.spans import Span

KNOWN_INSTRUCTIONS = frozenset(
    {
        "FROM",
        "RUN",
        "CMD",
        "LABEL",
        "MAINTAINER",
        "EXPOSE",
        "ENV",
        "ADD",
        "COPY",
        "ENTRYPOINT",
        "VOLUME",
        "USER",
        "WORKDIR",
        "ARG",
        "ONBUILD",
        "STOPSIGNAL",
        "HEALTHCHECK",
        "SHELL",
    }
)
_VAR = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))"
)
_HEREDOC = re.compile(r"<<-?\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?")


@dataclass(frozen=True)
class DockerCommand:
    """ENTRYPOINT or CMD as written: exec form keeps its argv; shell form runs under SHELL."""

    argv: tuple[str, ...]
    shell_form: bool
    span: Span


@dataclass(frozen=True)
class RunStep:
    script: str  # shell text (exec-form RUN is joined with spaces)
    span: Span
    workdir: str  # the WORKDIR in force when it runs
    binds: tuple[tuple[str, str], ...] = ()  # RUN --mount=type=bind: (image target, source)


@dataclass(frozen=True)
class CopyStep:
    sources: tuple[str, ...]
    dest: str  # absolute path in the image (WORKDIR applied)
    from_ref: str | None  # --from=stage|image
    span: Span
    is_add: bool = False


@dataclass(slots=True)
class Stage:
    index: int
    name: str | None
    base: str  # after ARG substitution
    span: Span
    base_stage: int | None = None  # index of an earlier stage this one builds FROM
    workdir: str = "/"
    user: str | None = None
    env: dict[str, tuple[str, Span]] = field(default_factory=dict)  # ENV, and ARG defaults
    build_args: set[str] = field(default_factory=set)  # names only an ARG set: not at run time
    exposes: list[tuple[str, Span]] = field(default_factory=list)
    runs: list[RunStep] = field(default_factory=list)
    copies: list[CopyStep] = field(default_factory=list)
    entrypoint: DockerCommand | None = None
    cmd: DockerCommand | None = None
    cmd_reset: bool = False  # ENTRYPOINT set here clears an inherited CMD
    shell: tuple[str, ...] = ("/bin/sh", "-c")


@dataclass(frozen=True)
class Dockerfile:
    path: str
    stages: tuple[Stage, ...]
    problems: tuple[ParseProblem, ...]

    @property
    def final(self) -> Stage | None:
        return self.stages[-1] if self.stages else None

    def stage_named(self, ref: str) -> Stage | None:
        for stage in self.stages:
            if stage.name is not None and stage.name.lower() == ref.lower():
                return stage
        if ref.isdigit() and int(ref) < len(self.stages):
            return self.stages[int(ref)]
        return None

    def lineage(self, stage: Stage) -> list[Stage]:
        """The stage and the earlier stages it is built FROM, nearest first."""
        out = [stage]
        seen = {stage.index}
        while out[-1].base_stage is not None and out[-1].base_stage not in seen:
            seen.add(out[-1].base_stage)
            out.append(self.stages[out[-1].base_stage])
        return out

    def effective_command(self, stage: Stage | None = None) -> tuple[tuple[str, ...], Span] | None:
        """ENTRYPOINT + CMD as Docker combines them (inherited through FROM <stage>)."""
        stage = stage or self.final
        if stage is None:
            return None
        entrypoint: DockerCommand | None = None
        cmd: DockerCommand | None = None
        cmd_cleared = False
        for ancestor in self.lineage(stage):
            if entrypoint is None and ancestor.entrypoint is not None:
                entrypoint = ancestor.entrypoint
            if cmd is None and not cmd_cleared and ancestor.cmd is not None:
                cmd = ancestor.cmd
            if ancestor.cmd_reset and cmd is None:
                cmd_cleared = True
        if entrypoint is not None:
            if entrypoint.shell_form or cmd is None:
                return entrypoint.argv, entrypoint.span
            return entrypoint.argv + cmd.argv, entrypoint.span
        if cmd is not None:
            return cmd.argv, cmd.span
        return None


def substitute(value: str, variables: dict[str, str]) -> str:
    """Replace ``$VAR``/``${VAR}``/``${VAR:-default}`` whose value is known; keep the rest."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        operator, word = match.group(2), match.group(3)
        if name in variables:
            if operator == "+":
                return word or ""
            return variables[name]
        if operator == "-":
            return word or ""
        return match.group(0)

    return _VAR.sub(replace, value)


def _command(value: str, shell: tuple[str, ...], span: Span) -> DockerCommand:
    stripped = value.strip()
    if stripped.startswith("["):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
            return DockerCommand(tuple(parsed), False, span)
    return DockerCommand((*shell, stripped), True, span)


def _flags(value: str) -> tuple[dict[str, str], str]:
    """Split leading ``--flag=value`` options (COPY --from=…, RUN --mount=…) from the rest."""
    flags: dict[str, str] = {}
    rest = value.lstrip()
    while rest.startswith("--"):
        word, _, rest = rest.partition(" ")
        key, _, flag_value = word[2:].partition("=")
        flags[key] = flag_value
        rest = rest.lstrip()
    return flags, rest


def _bind_mounts(value: str, workdir: str) -> tuple[tuple[str, str], ...]:
    """``--mount=type=bind,source=uv.lock,target=uv.lock`` → (("/app/uv.lock", "uv.lock"),)."""
    binds: list[tuple[str, str]] = []
    rest = value.lstrip()
    while rest.startswith("--"):
        word, _, rest = rest.partition(" ")
        rest = rest.lstrip()
        if not word.startswith("--mount="):
            continue
        options = dict(
            part.partition("=")[::2] for part in word[len("--mount=") :].split(",") if part
        )
        if options.get("type", "bind") != "bind" or "from" in options:
            continue
        target = options.get("target") or options.get("dst") or options.get("destination")
        if target:
            binds.append(
                (_join_path(workdir, target), options.get("source", options.get("src", ".")))
            )
    return tuple(binds)


def _words(value: str) -> list[str]:
    stripped = value.strip()
    if stripped.startswith("["):
        try:
            parsed = json.loads(stripped)
            if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
                return list(parsed)
        except ValueError:
            pass
    return stripped.split()


def _join_path(workdir: str, path: str) -> str:
    joined = path if path.startswith("/") else workdir.rstrip("/") + "/" + path
    parts: list[str] = []
    for part in joined.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    result = "/" + "/".join(parts)
    return result + "/" if path.endswith("/") and result != "/" else result


def parse_dockerfile(path: str, text: str) -> Dockerfile:
    from dockerfile_parse import DockerfileParser

    problems: list[ParseProblem] = []
    lines = text.split("\n")
    try:
        parser = DockerfileParser(fileobj=io.BytesIO(text.encode("utf-8")))
        structure = parser.structure
    except Exception as exc:  # dockerfile-parse on input it was not written for
        return Dockerfile(
            path, (), (ParseProblem(Span(path, 1), f"cannot parse Dockerfile: {exc}"),)
        )

    stages: list[Stage] = []
    global_args: dict[str, str] = {}
    skip_until = -1
    for item in structure:
        instruction = str(item.get("instruction", "")).upper()
        start, end = int(item["startline"]), int(item["endline"])
        if start <= skip_until or instruction == "COMMENT":
            continue
        value = str(item.get("value", ""))
        last_line = lines[end] if end < len(lines) else ""
        span = Span(path, start + 1, 1, end + 1, len(last_line) + 1)
        heredoc = _HEREDOC.search(value) if instruction in ("RUN", "COPY", "ADD") else None
        if heredoc:
            marker = heredoc.group(1)
            body_end = next(
                (n for n in range(end + 1, len(lines)) if lines[n].strip() == marker),
                len(lines) - 1,
            )
            body = "\n".join(lines[end + 1 : body_end])
            value = value[: heredoc.start()] + value[heredoc.end() :] + "\n" + body
            skip_until = body_end
            span = Span(path, start + 1, 1, body_end + 1, len(lines[body_end]) + 1)
        if instruction not in KNOWN_INSTRUCTIONS:
            problems.append(
                ParseProblem(
                    Span(path, start + 1, 1, start + 1, len(instruction) + 1),
                    f"unknown instruction `{instruction}`; Docker stops the build here",
                )
            )
            continue
        if not stages:
            if instruction == "ARG":
                for word in value.split():
                    name, has_default, default = word.partition("=")
                    if has_default:  # `ARG BASE` without a default is set at build time
                        global_args[name] = default.strip("\"'")
                continue
            if instruction != "FROM":
                problems.append(
                    ParseProblem(span, f"`{instruction}` before the first FROM; Docker rejects it")
                )
                continue
        if instruction == "FROM":
            flags, rest = _flags(value)
            words = substitute(rest, global_args).split()
            base = words[0] if words else ""
            stage_name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stage = Stage(index=len(stages), name=stage_name, base=base, span=span)
            earlier = next(
                (s for s in reversed(stages) if s.name and s.name.lower() == base.lower()), None
            )
            if earlier is not None:
                stage.base_stage = earlier.index
                stage.workdir = earlier.workdir
                stage.user = earlier.user
                stage.env = dict(earlier.env)
                stage.build_args = set(earlier.build_args)
                stage.shell = earlier.shell
            stages.append(stage)
            continue
        stage = stages[-1]
        variables = {k: v for k, (v, _) in stage.env.items()}
        if instruction == "ARG":
            for word in value.split():
                name, _, default = word.partition("=")
                if name not in stage.env:
                    stage.build_args.add(name)
                if default:
                    stage.env.setdefault(name, (default.strip("\"'"), span))
                elif global_args.get(name):
                    stage.env.setdefault(name, (global_args[name], span))
        elif instruction == "ENV":
            for name, env_value in _env_pairs(value):
                stage.env[name] = (substitute(env_value, variables), span)
                stage.build_args.discard(name)
        elif instruction == "WORKDIR":
            stage.workdir = _join_path(stage.workdir, substitute(value.strip(), variables))
        elif instruction == "USER":
            stage.user = substitute(value.strip(), variables)
        elif instruction == "EXPOSE":
            for word in substitute(value, variables).split():
                stage.exposes.append((word, span))
        elif instruction == "SHELL":
            words = _words(value)
            if words:
                stage.shell = tuple(words)
        elif instruction == "RUN":
            _, rest = _flags(value)
            script = rest
            if rest.strip().startswith("["):
                script = " ".join(_words(rest))
            stage.runs.append(
                RunStep(
                    substitute(script, variables),
                    span,
                    stage.workdir,
                    _bind_mounts(value, stage.workdir),
                )
            )
        elif instruction in ("COPY", "ADD"):
            flags, rest = _flags(value)
            words = [substitute(w, variables) for w in _words(rest)]
            if len(words) >= 2:
                stage.copies.append(
                    CopyStep(
                        tuple(words[:-1]),
                        _join_path(stage.workdir, words[-1]),
                        flags.get("from") or None,
                        span,
                        is_add=instruction == "ADD",
                    )
                )
        elif instruction == "ENTRYPOINT":
            stage.entrypoint = _command(value, stage.shell, span)
            stage.cmd_reset = stage.cmd is None
        elif instruction == "CMD":
            stage.cmd = _command(value, stage.shell, span)
    if not stages and text.strip() and not problems:
        first = next(
            (
                n
                for n, line in enumerate(lines)
                if line.strip() and not line.lstrip().startswith("#")
            ),
            0,
        )
        problems.append(
            ParseProblem(
                Span(path, first + 1), "no FROM instruction; this is not a buildable Dockerfile"
            )
        )
    return Dockerfile(path, tuple(stages), tuple(problems))


def _env_pairs(value: str) -> list[tuple[str, str]]:
    """``ENV A=1 B="x y"`` and the legacy ``ENV A 1`` form."""
    import shlex

    stripped = value.strip()
    if "=" not in stripped.split(" ", 1)[0]:
        name, _, rest = stripped.partition(" ")
        return [(name, rest.strip())]
    try:
        words = shlex.split(stripped)
    except ValueError:
        words = stripped.split()
    pairs = []
    for word in words:
        name, sep, env_value = word.partition("=")
        if sep:
            pairs.append((name, env_value))
    return pairs
