"""RUN006 entrypoint-script-broken: the shell script a container starts cannot start, or keeps
the server from ever seeing SIGTERM.

Three ways, each read from the repository's files and the Dockerfile that copies the script:
CR LF line endings (the kernel looks for ``/bin/sh\\r``: ``exec ./docker-entrypoint.sh: no such
file or directory``); no executable bit in git and nothing in the image adds one (``permission
denied``); and (a warning) the server started as the script's last command without ``exec``,
so the shell stays PID 1, the server never receives SIGTERM, and every rollout kills in-flight
requests when the grace period ends.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Iterator

from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.apps import server_command
from preflight.model.facts import shell_invocations
from preflight.model.graph import Deployment
from preflight.model.processes import Process, Step
from preflight.model.project import Image, Launch
from preflight.spans import Related, Span, line_span

CODE = "RUN006"

# Task-queue workers: long-running too, and SIGTERM is their signal for a warm shutdown.
_WORKERS = frozenset({"celery", "rq", "rqworker", "dramatiq", "huey_consumer", "arq"})
# Servers started from their own configuration (`uwsgi --ini app.ini`), which
# ``server_command`` does not resolve to an app
_CONFIGURED_SERVERS = frozenset({"uwsgi", "pyuwsgi", "gunicorn", "hypercorn", "granian"})
_CR_STRIPPERS = re.compile(r"\bdos2unix\b|\bfromdos\b|\bsed\b[^\n]*\\r|\btr\b[^\n]*\\r")
_EXEC = re.compile(r"(?:^|[\s;&|(){}!])exec\s")
_TRAP = re.compile(r"^\s*trap\s", re.M)
# Lines after the server's that run nothing: block ends and the next branch of an if/case.
_CLOSERS = re.compile(r"^(?:fi|done|esac|;;|\}|\))\s*(?:;.*)?$")
_BRANCHES = re.compile(r"^(?:else|elif\b.*|[^\s()]+\)\s*.*|\*\)\s*.*)$")
_OPENERS = re.compile(r"^(?:if|case|while|until|for|select)\b")
_ENDS = re.compile(r"(?:^|[;&\s])(?:fi|done|esac)\s*(?:;.*)?$")


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    images = {id(image.environment): image for image in graph.files.images.values()}
    reported: set[tuple[str, ...]] = set()
    for launch, process in zip(graph.launches, graph.processes, strict=False):
        if launch.origin.startswith("Procfile"):
            continue  # a buildpack's environment, not an image this repository builds
        image = images.get(id(launch.environment)) if launch.environment is not None else None
        if image is None:
            continue
        for step in process.steps:
            if step.runs == "script" and step.copied is not None:
                yield from _script_file(step, launch, image, graph, ctx, reported)
        yield from _no_exec(launch, process, graph, ctx, reported)


def _script_file(
    step: Step,
    launch: Launch,
    image: Image,
    graph: Deployment,
    ctx: RuleContext,
    reported: set[tuple[str, ...]],
) -> Iterator[Finding]:
    assert step.copied is not None and step.invocation is not None
    image_path, repo_path = step.copied
    facts = graph.files.script_facts.get(repo_path)
    named = step.invocation.executable
    runs_at = step.at or _word_span(launch, named) or launch.span
    runner = Related(runs_at, f"{launch.origin} runs it here")
    if facts is None:
        ctx.silent(runs_at, f"`{repo_path}` was not read as a shell script")
        return
    text = graph.files.shell_scripts.get(repo_path, "")
    if facts.crlf_line is not None and ("crlf", repo_path) not in reported:
        fixed = _strips_carriage_returns(image)
        if fixed is not None:
            ctx.silent(runs_at, f"{repo_path} has CR LF line endings, but {fixed}")
        else:
            reported.add(("crlf", repo_path))
            failure = (
                "the shell reads a stray carriage return at the end of every line "
                "(`$'\\r': command not found`, `set: Illegal option -`)"
                if step.interpreted or facts.crlf_line > 1  # its #! line itself is LF
                else "the kernel looks for the interpreter its `#!` line names plus a carriage "
                f"return, and the container dies with `exec {named}: no such file or directory`"
            )
            yield ctx.report(
                f"{repo_path} has Windows (CR LF) line endings, and {launch.origin} runs it: "
                f"{failure}.",
                line_span(repo_path, text, facts.crlf_line),
                (runner,),
                f"Convert {repo_path} to LF line endings and add `*.sh text eol=lf` to "
                ".gitattributes, so a Windows checkout keeps them LF.",
                headline=f"`{named}` has Windows (CR LF) line endings",
            )
    if step.interpreted or facts.executable is not False:
        if facts.executable is None and not step.interpreted:
            ctx.silent(runs_at, f"the mode of {repo_path} cannot be read here")
        return
    key = ("mode", repo_path, image.dockerfile.path)
    if key in reported:
        return
    chmod = _made_executable(image, image_path)
    if chmod is not None:
        ctx.silent(runs_at, f"{repo_path} is not executable in {facts.mode_from}, but {chmod}")
        return
    reported.add(key)
    yield ctx.report(
        f"{launch.origin[0].upper()}{launch.origin[1:]} runs `{named}` directly, but "
        f"{repo_path} has no executable bit in {facts.mode_from} and nothing in "
        f"{image.dockerfile.path} adds one (no `RUN chmod +x`, no `COPY --chmod`): the "
        f"container dies with `exec {named}: permission denied`.",
        runs_at,
        (Related(Span(repo_path, 1), f"mode without `x` in {facts.mode_from}"),),
        f"Commit it executable (`git update-index --chmod=+x {repo_path}`), or copy it with "
        f"`COPY --chmod=755`, or run it through the shell (`sh {named}`).",
        headline=f"`{named}` is run directly but is not executable",
    )


def _no_exec(
    launch: Launch,
    process: Process,
    graph: Deployment,
    ctx: RuleContext,
    reported: set[tuple[str, ...]],
) -> Iterator[Finding]:
    """The server (or worker) a script starts as its last command, without `exec`."""
    for step in process.steps:
        invocation = step.invocation
        if invocation is None or step.runs not in ("program", "python", "deferred"):
            continue
        what = _long_running(step)
        if what is None:
            continue
        at = step.at or (step.chain[-1].span if step.chain else None)
        if at is None:
            continue  # started by the command itself, not by a script
        text = graph.files.shell_scripts.get(at.path)
        if text is None:
            continue
        lines = text.split("\n")
        first, last, logical = _logical_line(lines, at.line - 1)
        name = posixpath.basename(invocation.executable)
        if _EXEC.search(" " + logical):
            continue
        if re.search(r"(?<!&)&\s*(?:#.*)?$", logical):
            ctx.silent(at, f"{at.path}:{at.line}: `{name}` runs in the background")
            continue
        if _TRAP.search(text):
            ctx.silent(at, f"{at.path} traps signals (it may forward SIGTERM)")
            continue
        if not _is_last_command(lines, last + 1):
            ctx.silent(at, f"{at.path}:{at.line}: `{name}` is not the script's last command")
            continue
        wrapped = _init_forwards(process, at.path)
        if wrapped is not None:
            ctx.silent(at, f"{at.path} runs under {wrapped}, which forwards SIGTERM")
            continue
        key = ("exec", at.path, str(first))
        if key in reported:
            continue
        reported.add(key)
        column = lines[first].find(invocation.executable)
        span = (
            Span(at.path, first + 1, column + 1, first + 1, len(lines[first].rstrip()) + 1)
            if column >= 0
            else at
        )
        yield ctx.report(
            f"{at.path} starts {what} `{name}` as its last command without `exec`, so the "
            f"shell running the script stays PID 1 and `{name}` never receives the SIGTERM "
            "that `docker stop` and Kubernetes send: the shell ignores it, and when the grace "
            "period ends everything is killed, cutting off in-flight work on every rollout.",
            span,
            (Related(launch.span, f"{launch.origin} runs {at.path}"),),
            f"Start it with `exec {invocation.executable} …`: {name} replaces the shell, "
            "receives SIGTERM and shuts down gracefully.",
            severity=Severity.WARNING,
        )


def _long_running(step: Step) -> str | None:
    invocation = step.invocation
    assert invocation is not None
    if server_command((invocation.executable, *invocation.args)) is not None:
        return "the server"
    name = posixpath.basename(invocation.executable)
    args = invocation.args
    if step.runs == "python" and args[:1] == ("-m",) and len(args) > 1:
        name, args = args[1], args[2:]
    if name in _CONFIGURED_SERVERS and not {"--version", "-v", "--help", "-h"} & set(args):
        return "the server"
    if name in _WORKERS and (name != "celery" or "worker" in args):
        return "the worker"
    return None


def _logical_line(lines: list[str], index: int) -> tuple[int, int, str]:
    """(first, last physical line index, text) of the logical line starting at ``index``."""
    last = index
    parts = [lines[index] if index < len(lines) else ""]
    while parts[-1].endswith("\\") and last + 1 < len(lines):
        parts[-1] = parts[-1][:-1]
        last += 1
        parts.append(lines[last])
    return index, last, " ".join(parts)


def _is_last_command(lines: list[str], start: int) -> bool:
    """Nothing runs after the line before ``start``: what follows only closes blocks, or is
    another branch of the if/case the line is in."""
    depth = 0  # blocks opened inside another branch
    other_branch = False
    for raw in lines[start:]:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        opens = _OPENERS.match(line) is not None and not _ENDS.search(line)
        if depth > 0:
            if opens:
                depth += 1
            elif _ENDS.match(line):
                depth -= 1
            continue
        if _CLOSERS.match(line):
            other_branch = False  # the block holding the server ends
            continue
        if _BRANCHES.match(line):
            other_branch = True
            continue
        if other_branch:
            depth += 1 if opens else 0
            continue
        return False
    return True


def _init_forwards(process: Process, script: str) -> str | None:
    """An init that signals the whole process group (dumb-init by default, tini -g)."""
    for step in process.steps:
        if step.script != script or step.invocation is None:
            continue
        for wrapper in step.invocation.wrappers:
            name = posixpath.basename(wrapper[0])
            if name == "dumb-init" and not {"-c", "--single-child"} & set(wrapper):
                return "dumb-init"
            if name in ("tini", "tini-static", "docker-init") and "-g" in wrapper:
                return "tini -g"
    return None


def _word_span(launch: Launch, word: str) -> Span | None:
    for index, argv_word in enumerate(launch.argv):
        if argv_word == word and index < len(launch.word_spans):
            return launch.word_spans[index]
    return None


def _strips_carriage_returns(image: Image) -> str | None:
    dockerfile = image.dockerfile
    if dockerfile.final is None:
        return None
    for stage in dockerfile.lineage(dockerfile.final):
        for run in stage.runs:
            if _CR_STRIPPERS.search(run.script):
                return f"{dockerfile.path}:{run.span.line} strips carriage returns in the image"
    return None


def _made_executable(image: Image, image_path: str) -> str | None:
    """Where the image makes the script executable (`COPY --chmod`, `RUN chmod`), if it does."""
    dockerfile = image.dockerfile
    if dockerfile.final is None:
        return None
    where = dockerfile.path
    for stage in dockerfile.lineage(dockerfile.final):
        for copy in stage.copies:
            if copy.chmod and _adds_execute(copy.chmod) and _covers(copy.dest, image_path):
                return f"{where}:{copy.span.line} copies it with --chmod={copy.chmod}"
        for run in stage.runs:
            if "chmod" not in run.script:
                continue
            found = shell_invocations(run.script)
            if found is None:
                return f"{where}:{run.span.line} runs chmod"
            for invocation in found:
                name = posixpath.basename(invocation.executable)
                if name in ("find", "xargs") and "chmod" in invocation.args:
                    return f"{where}:{run.span.line} runs chmod on what it finds"
                if name != "chmod":
                    continue
                words = [w for w in invocation.args if not w.startswith("-") or w == "-x"]
                if len(words) < 2 or not _adds_execute(words[0]):
                    continue
                for target in words[1:]:
                    if _targets(target, run.workdir, image_path):
                        return f"{where}:{run.span.line} runs `chmod {words[0]} {target}`"
    return None


def _adds_execute(mode: str) -> bool:
    """`+x`, `u+x`, `a=rwx`, `755`, `0775`; an unreadable mode counts (preflight stays
    silent rather than guess)."""
    if re.fullmatch(r"[0-7]{3,4}", mode):
        return any(int(digit) % 2 for digit in mode[-3:])
    clauses = mode.split(",")
    if all(re.fullmatch(r"[ugoa]*[-+=][rwxXst]*", clause) for clause in clauses):
        return any(re.search(r"[+=][rwXst]*x", clause) for clause in clauses)
    return True


def _covers(dest: str, image_path: str) -> bool:
    dest = dest.rstrip("/") or "/"
    return image_path == dest or image_path.startswith(dest.rstrip("/") + "/")


def _targets(target: str, workdir: str, image_path: str) -> bool:
    if "$" in target or "`" in target:
        return True  # a target preflight cannot resolve: assume it is this one
    resolved = posixpath.normpath(posixpath.join(workdir or "/", target))
    if any(ch in target for ch in "*?["):
        return fnmatch.fnmatchcase(image_path, resolved)
    return _covers(resolved, image_path)


RULE = Rule(
    code=CODE,
    name="entrypoint-script-broken",
    severity=Severity.ERROR,
    summary="The script a container starts has CR LF endings, is not executable, or never "
    "`exec`s its server.",
    check=check,
    other_severities=(Severity.WARNING,),
)
