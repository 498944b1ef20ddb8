"""Dockerfiles: stages, what each RUN/COPY does, and the command the final image starts.

Instructions are split as dockerfile-parse splits them (joining continuations, in linear time);
this module adds heredoc bodies, ARG/ENV substitution where the value is static, exec/shell form,
and the ENTRYPOINT + CMD combination Docker applies.

Substitution is bounded: ``ENV A=$A$A$A$A`` repeated doubles the text each time, so a value that
would grow past ``MAX_VALUE_CHARS`` (or a file whose substitutions together pass
``MAX_EXPANDED_CHARS``) is *unknown* (None in ``Stage.env``; references to it stay as written),
and rules do not judge it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from preflight.digits import ascii_int
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
# dockerfile-parse's grammar, line by line (see ``_instructions``)
_INSTRUCTION = re.compile(r"^\s*(\S+)\s+(.*)$")
_COMMENT = re.compile(r"^\s*#")
_ESCAPE_DIRECTIVE = re.compile(r"^\s*#\s*escape\s*=\s*(\\|`)\s*$", re.I)
_SYNTAX_DIRECTIVE = re.compile(r"^\s*#\s*syntax\s*=\s*(.*)\s*$", re.I)
_FLAG = re.compile(r"\s*--(\S*)")

MAX_VALUE_CHARS = 65_536
"""Longest value substitution may produce; a longer one is unknown."""
MAX_EXPANDED_CHARS = 4_000_000
"""Characters all substitutions of one Dockerfile may copy in from variables; then unknown."""
MAX_INHERITED_ENTRIES = 200_000
"""Variables ``FROM <earlier stage>`` may copy, over the file; past it the file is not modelled."""


@dataclass(frozen=True)
class DockerCommand:
    """ENTRYPOINT or CMD as written: exec form keeps its argv; shell form runs under SHELL."""

    argv: tuple[str, ...]
    shell_form: bool
    span: Span
    # where each word is written: exec form, one span per JSON string (quotes included);
    # shell form, one span for the command text; () when they could not be placed
    word_spans: tuple[Span, ...] = ()


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
    chmod: str | None = None  # COPY --chmod=755
    parents: bool = False  # COPY --parents: sources keep their directories under ``dest``


@dataclass(slots=True)
class Stage:
    index: int
    name: str | None
    base: str  # after ARG substitution
    span: Span
    base_stage: int | None = None  # index of an earlier stage this one builds FROM
    workdir: str = "/"
    workdir_span: Span | None = None  # the WORKDIR instruction that set ``workdir`` (inherited)
    user: str | None = None
    user_span: Span | None = None  # the USER line that set ``user`` (in this or an earlier stage)
    volumes: list[tuple[str, Span]] = field(default_factory=list)  # VOLUME paths, inherited too
    # ENV, and ARG defaults; None: set, to a value preflight does not know (expansion bound)
    env: dict[str, tuple[str | None, Span]] = field(default_factory=dict)
    build_args: set[str] = field(default_factory=set)  # names only an ARG set: not at run time
    exposes: list[tuple[str, Span]] = field(default_factory=list)
    runs: list[RunStep] = field(default_factory=list)
    copies: list[CopyStep] = field(default_factory=list)
    entrypoint: DockerCommand | None = None
    cmd: DockerCommand | None = None
    cmd_reset: bool = False  # ENTRYPOINT set here clears an inherited CMD
    shell: tuple[str, ...] = ("/bin/sh", "-c")
    # HEALTHCHECK CMD …: the command (its span is the instruction's); ``healthcheck_none``:
    # HEALTHCHECK NONE here turns off one inherited from the base image or an earlier stage
    healthcheck: DockerCommand | None = None
    healthcheck_none: bool = False
    base_written: str = ""  # the FROM image as written, before ARG substitution


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
        index = ascii_int(ref)
        if index is not None and index < len(self.stages):
            return self.stages[index]
        return None

    def lineage(self, stage: Stage) -> list[Stage]:
        """The stage and the earlier stages it is built FROM, nearest first."""
        out = [stage]
        seen = {stage.index}
        while out[-1].base_stage is not None and out[-1].base_stage not in seen:
            seen.add(out[-1].base_stage)
            out.append(self.stages[out[-1].base_stage])
        return out

    def effective_healthcheck(self, stage: Stage | None = None) -> DockerCommand | None:
        """The HEALTHCHECK the stage's image runs: its own, or the nearest one it inherits
        through FROM <stage> (None: none written here, or HEALTHCHECK NONE)."""
        stage = stage or self.final
        if stage is None:
            return None
        for ancestor in self.lineage(stage):
            if ancestor.healthcheck_none:
                return None
            if ancestor.healthcheck is not None:
                return ancestor.healthcheck
        return None

    def effective_command(self, stage: Stage | None = None) -> tuple[tuple[str, ...], Span] | None:
        """ENTRYPOINT + CMD as Docker combines them (inherited through FROM <stage>)."""
        entrypoint, cmd = self.effective_parts(stage)
        if entrypoint is not None:
            if cmd is None:
                return entrypoint.argv, entrypoint.span
            return entrypoint.argv + cmd.argv, entrypoint.span
        if cmd is not None:
            return cmd.argv, cmd.span
        return None

    def effective_parts(
        self, stage: Stage | None = None
    ) -> tuple[DockerCommand | None, DockerCommand | None]:
        """The ENTRYPOINT and the CMD the image runs (a shell-form ENTRYPOINT ignores CMD)."""
        stage = stage or self.final
        if stage is None:
            return None, None
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
        if entrypoint is not None and entrypoint.shell_form:
            return entrypoint, None
        return entrypoint, cmd


class Expansion:
    """Bounded ``$VAR`` substitution over one Dockerfile (see the module docstring)."""

    def __init__(self) -> None:
        # work done so far, over the file: characters copied in from variables, plus one per
        # reference replaced; never more than MAX_EXPANDED_CHARS
        self.expanded = 0

    def expand(self, value: str, variables: Mapping[str, tuple[str | None, Span]]) -> str | None:
        """``value`` with ``$VAR``/``${VAR}``/``${VAR:-default}`` replaced where the value is
        known (other references kept as written); None when the result is unknown: it refers
        to an unknown value or would pass the bounds."""
        parts: list[str] = []
        length = 0
        added = 0
        position = 0
        for match in _VAR.finditer(value):
            name = match.group(1) or match.group(4)
            operator, word = match.group(2), match.group(3)
            replacement: str | None
            entry = variables.get(name)
            if entry is not None:
                replacement = (word or "") if operator == "+" else entry[0]
            elif operator == "-":
                replacement = word or ""
            else:
                replacement = match.group(0)
            if replacement is None:
                return None
            added += len(replacement) + 1
            length += match.start() - position + len(replacement)
            if length > MAX_VALUE_CHARS or self.expanded + added > MAX_EXPANDED_CHARS:
                return None
            parts.append(value[position : match.start()])
            parts.append(replacement)
            position = match.end()
        if not parts:
            return value
        self.expanded += added
        parts.append(value[position:])
        return "".join(parts)

    def text(self, value: str, variables: Mapping[str, tuple[str | None, Span]]) -> str:
        """For text that is not a variable's value (RUN, COPY, WORKDIR…): when the result is
        unknown, the text as written, its references unresolved (as for an unset ARG)."""
        expanded = self.expand(value, variables)
        return value if expanded is None else expanded


def _command(
    value: str, shell: tuple[str, ...], span: Span, lines: list[str] | None = None
) -> DockerCommand:
    stripped = value.strip()
    if stripped.startswith("["):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            commented = _json_before_comment(stripped)
            parsed = list(commented[0]) if commented is not None else None
        if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
            words = tuple(parsed)
            return DockerCommand(words, False, span, _word_spans(span, lines or [], len(words)))
    return DockerCommand((*shell, stripped), True, span, _text_span(span, lines or []))


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _word_spans(span: Span, lines: list[str], count: int) -> tuple[Span, ...]:
    """Where each string of an exec-form instruction is written (its lines read again, comment
    lines skipped); () unless exactly ``count`` strings are found."""
    found: list[Span] = []
    for number in range(span.line - 1, min(span.end_line, len(lines))):
        line = lines[number]
        if number > span.line - 1 and _COMMENT.match(line):
            continue
        start = 0
        if number == span.line - 1:
            keyword = _INSTRUCTION.match(line)
            start = keyword.start(2) if keyword is not None else 0
        for match in _JSON_STRING.finditer(line, start):
            found.append(
                Span(span.path, number + 1, match.start() + 1, number + 1, match.end() + 1)
            )
    return tuple(found) if len(found) == count else ()


def _text_span(span: Span, lines: list[str]) -> tuple[Span, ...]:
    """Where a shell-form instruction's command text starts (through the instruction's end)."""
    if span.line - 1 >= len(lines):
        return ()
    keyword = _INSTRUCTION.match(lines[span.line - 1])
    if keyword is None:
        return ()
    return (Span(span.path, span.line, keyword.start(2) + 1, span.end_line, span.end_col),)


def _json_before_comment(value: str) -> tuple[tuple[str, ...], int] | None:
    """``["gunicorn", "app:app"]  # a comment``: the exec-form array a ``#`` comment follows,
    and where the comment starts; None for anything else (a valid array, shell form).

    Dockerfiles have no end-of-line comments. Since Dockerfile frontend 1.9 (2024) the whole
    line must be JSON for the exec form, so Docker runs this one through ``/bin/sh -c``,
    brackets and comment included, and the container fails to start. It is read as the array
    the author meant (so the rules judge the command intended) and reported as PF001."""
    stripped = value.strip()
    if not stripped.startswith("[") or "#" not in stripped:
        return None
    try:
        json.loads(stripped)
        return None  # a `#` inside one of the strings
    except ValueError:
        pass
    position = stripped.find("#")
    while position >= 0:
        head = stripped[:position].rstrip()
        if head.endswith("]") and position > len(head):
            try:
                parsed = json.loads(head)
            except ValueError:
                parsed = None
            if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
                return tuple(parsed), value.index(stripped) + position
        position = stripped.find("#", position + 1)
    return None


_EXEC_FORMS = frozenset({"CMD", "ENTRYPOINT", "RUN", "SHELL", "COPY", "ADD", "VOLUME"})


def _commented_exec_form(
    path: str, instruction: str, value: str, lines: list[str], start: int, end: int
) -> ParseProblem | None:
    """PF001 for an exec-form instruction followed by a ``#`` comment (see
    ``_json_before_comment``), at the comment."""
    _, rest = _flags(value) if instruction in ("RUN", "COPY", "ADD") else ({}, value)
    found = _json_before_comment(rest)
    if found is None:
        return None
    comment = rest[found[1] :].strip()
    span = Span(path, start + 1, 1, end + 1, len(lines[end]) + 1 if end < len(lines) else 1)
    for number in range(end, start - 1, -1):
        column = lines[number].find(comment) if number < len(lines) else -1
        if column >= 0:
            span = Span(path, number + 1, column + 1, number + 1, column + len(comment) + 1)
            break
    return ParseProblem(
        span,
        f"a comment after the JSON array makes this {instruction} shell form: Docker runs "
        "the line, brackets and all, with /bin/sh -c",
        fix="A Dockerfile has no end-of-line comments: move the comment alone onto the line "
        "above the instruction (a `# preflight: ignore[...]` marker works there).",
    )


def _flag_words(value: str) -> tuple[list[str], str]:
    """The leading ``--flag=value`` words of an instruction, and the rest (one pass, linear)."""
    words: list[str] = []
    position = 0
    while True:
        match = _FLAG.match(value, position)
        if match is None:
            break
        words.append(match.group(1))
        position = match.end()
    return words, value[position:].lstrip()


def _flags(value: str) -> tuple[dict[str, str], str]:
    """Split leading ``--flag=value`` options (COPY --from=…, RUN --mount=…) from the rest."""
    flags: dict[str, str] = {}
    words, rest = _flag_words(value)
    for word in words:
        key, _, flag_value = word.partition("=")
        flags[key] = flag_value
    return flags, rest


def _bind_mounts(value: str, workdir: str) -> tuple[tuple[str, str], ...]:
    """``--mount=type=bind,source=uv.lock,target=uv.lock`` → (("/app/uv.lock", "uv.lock"),)."""
    binds: list[tuple[str, str]] = []
    for flag in _flag_words(value)[0]:
        word = "--" + flag
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
            commented = _json_before_comment(stripped)
            if commented is not None:
                return list(commented[0])
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


def _rstrip_eol(text: str, continuation: str) -> str:
    text = text.rstrip()
    return text[:-1] if text.endswith(continuation) else text


def _instructions(text: str) -> Iterator[tuple[str, int, int, str]]:
    """(INSTRUCTION, first line, last line (0-based), value) of each instruction, comments left
    out: dockerfile-parse's ``structure``, line for line, but joining a continued instruction's
    lines once at its end (dockerfile-parse appends to a string per line: quadratic)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    continuation = "\\"
    continues = re.compile(r"^.*\\\s*$")
    directive_possible = True
    in_continuation = False
    current: tuple[str, int] | None = None  # (instruction, first line)
    values: list[str] = []
    has_value = False
    end = 0
    for number, line in enumerate(lines):
        if directive_possible:
            escape = _ESCAPE_DIRECTIVE.match(line)
            if escape is not None:
                continuation = escape.group(1)
                continues = re.compile(r"^.*" + re.escape(continuation) + r"\s*$")
            elif _SYNTAX_DIRECTIVE.match(line) is None:
                directive_possible = False
        if _COMMENT.match(line):
            continue  # a comment line neither starts nor ends an instruction
        if not in_continuation:
            match = _INSTRUCTION.match(line)
            if match is None:
                continue
            current = (match.group(1).upper(), number)
            first = _rstrip_eol(match.group(2), continuation)
            values, has_value = [first], bool(first)
        else:
            part = _rstrip_eol(line if has_value else line.lstrip(), continuation)
            values.append(part)
            has_value = has_value or bool(part)
        end = number
        in_continuation = continues.match(line) is not None
        if not in_continuation and current is not None:
            yield current[0], current[1], end, "".join(values)
            current = None


def parse_dockerfile(path: str, text: str) -> Dockerfile:
    problems: list[ParseProblem] = []
    lines = text.split("\n")
    expansion = Expansion()
    inherited = 0

    stages: list[Stage] = []
    global_args: dict[str, tuple[str | None, Span]] = {}
    skip_until = -1
    for instruction, start, end, value in _instructions(text):
        if start <= skip_until:
            continue
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
        if instruction in _EXEC_FORMS:
            commented = _commented_exec_form(path, instruction, value, lines, start, end)
            if commented is not None:
                problems.append(commented)
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
                        global_args[name] = (default.strip("\"'"), span)
                continue
            if instruction != "FROM":
                problems.append(
                    ParseProblem(span, f"`{instruction}` before the first FROM; Docker rejects it")
                )
                continue
        if instruction == "FROM":
            flags, rest = _flags(value)
            words = expansion.text(rest, global_args).split()
            base = words[0] if words else ""
            stage_name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stage = Stage(index=len(stages), name=stage_name, base=base, span=span)
            stage.base_written = rest.split()[0] if rest.split() else ""
            earlier = next(
                (s for s in reversed(stages) if s.name and s.name.lower() == base.lower()), None
            )
            if earlier is not None:
                inherited += len(earlier.env) + len(earlier.build_args)
                if inherited > MAX_INHERITED_ENTRIES:
                    problem = ParseProblem(
                        span,
                        f"stages inherit more than {MAX_INHERITED_ENTRIES} variables from earlier "
                        "stages; this Dockerfile is too large for preflight to model",
                    )
                    return Dockerfile(path, (), (problem,))
                stage.base_stage = earlier.index
                stage.workdir = earlier.workdir
                stage.workdir_span = earlier.workdir_span
                stage.user = earlier.user
                stage.user_span = earlier.user_span
                stage.volumes = list(earlier.volumes)
                stage.env = dict(earlier.env)
                stage.build_args = set(earlier.build_args)
                stage.shell = earlier.shell
            stages.append(stage)
            continue
        stage = stages[-1]
        variables = stage.env
        if instruction == "ARG":
            words = value.split()
            where = _assignment_spans(path, lines, start, end, [w.partition("=")[0] for w in words])
            for word in words:
                name, _, default = word.partition("=")
                if name not in stage.env:
                    stage.build_args.add(name)
                if default:
                    stage.env.setdefault(name, (default.strip("\"'"), where.get(name, span)))
                elif name in global_args and global_args[name][0]:
                    stage.env.setdefault(name, (global_args[name][0], where.get(name, span)))
        elif instruction == "ENV":
            # every value of one ENV sees the variables as they were before it (as Docker does)
            pairs = [(name, expansion.expand(v, variables)) for name, v in _env_pairs(value)]
            where = _assignment_spans(path, lines, start, end, [name for name, _ in pairs])
            for name, expanded in pairs:
                stage.env[name] = (expanded, where.get(name, span))
                stage.build_args.discard(name)
        elif instruction == "WORKDIR":
            stage.workdir = _join_path(stage.workdir, expansion.text(value.strip(), variables))
            stage.workdir_span = span
        elif instruction == "USER":
            stage.user = expansion.text(value.strip(), variables)
            stage.user_span = span
        elif instruction == "VOLUME":
            text = expansion.text(value.strip(), variables)
            paths = _words(text)
            stage.volumes.extend((path, span) for path in paths)
        elif instruction == "EXPOSE":
            for word in expansion.text(value, variables).split():
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
                    expansion.text(script, variables),
                    span,
                    stage.workdir,
                    _bind_mounts(value, stage.workdir),
                )
            )
        elif instruction in ("COPY", "ADD"):
            flags, rest = _flags(value)
            words = [expansion.text(w, variables) for w in _words(rest)]
            if len(words) >= 2:
                stage.copies.append(
                    CopyStep(
                        tuple(words[:-1]),
                        _join_path(stage.workdir, words[-1]),
                        flags.get("from") or None,
                        span,
                        is_add=instruction == "ADD",
                        chmod=flags.get("chmod") or None,
                        parents="parents" in flags,
                    )
                )
        elif instruction == "ENTRYPOINT":
            stage.entrypoint = _command(value, stage.shell, span, lines)
            stage.cmd_reset = stage.cmd is None
        elif instruction == "CMD":
            stage.cmd = _command(value, stage.shell, span, lines)
        elif instruction == "HEALTHCHECK":
            _, rest = _flags(value)  # --interval=… --timeout=…
            keyword, _, command = rest.strip().partition(" ")
            if keyword.upper() == "NONE":
                stage.healthcheck, stage.healthcheck_none = None, True
            elif keyword.upper() == "CMD" and command.strip():
                stage.healthcheck = _command(command, stage.shell, span, lines)
                stage.healthcheck_none = False
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


def _assignment_spans(
    path: str, lines: list[str], start: int, end: int, names: list[str]
) -> dict[str, Span]:
    """Where each variable of one ENV/ARG instruction is assigned: ``ENV A=1 \\ B=2`` on two
    lines reports B on the second line, at its own column (the name through its value). Names
    are found in order, after the instruction's keyword, skipping comment lines; one that
    cannot be found is left out (the caller falls back to the instruction's span)."""
    found: dict[str, Span] = {}
    number = start
    column = len(lines[start]) - len(lines[start].lstrip()) if start < len(lines) else 0
    if start < len(lines):
        keyword = _INSTRUCTION.match(lines[start])
        if keyword is not None:
            column = keyword.start(2)
    for name in names:
        if not name or name in found:
            continue
        pattern = re.compile(r"(?<![\w.\-])" + re.escape(name) + r"(?=[=\s]|$)")
        line_no, col = number, column
        while line_no <= end and line_no < len(lines):
            text = lines[line_no]
            match = None if _COMMENT.match(text) else pattern.search(text, col)
            if match is not None:
                stop = _assignment_end(text, match.end())
                found[name] = Span(path, line_no + 1, match.start() + 1, line_no + 1, stop + 1)
                number, column = line_no, stop
                break
            line_no, col = line_no + 1, 0
    return found


def _assignment_end(text: str, index: int) -> int:
    """The end of ``=value`` starting at ``index`` (quotes kept together, a continuation
    backslash left out)."""
    if index >= len(text) or text[index] != "=":
        return index
    index += 1
    quote: str | None = None
    while index < len(text):
        char = text[index]
        if quote:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char.isspace() or (char == "\\" and not text[index + 1 :].strip()):
            break
        index += 1
    return index


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
