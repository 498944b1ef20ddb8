"""What a command line really runs: shell text split into simple commands, wrappers removed.

``sh -c "alembic upgrade head && exec gunicorn app:app"`` runs two programs, ``alembic`` and
``gunicorn``; ``PORT=8000 tini -- uvicorn app:app`` runs ``uvicorn`` under ``tini``. Rules ask
about the programs; this module finds them. Nothing is ever executed.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from preflight.digits import is_ascii_digits
from preflight.knowledge.executables import SHELL_BUILTINS, WRAPPERS

_OPERATORS = frozenset({"&&", "||", ";", "|", "&", "(", ")", ";;", "|&", "{", "}", "!"})
_REDIRECTS = frozenset({">", ">>", "<", "<<", ">&", "<&", "&>", "&>>", ">|", "<<<", "<>"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SKIPPED_SEGMENT_STARTS = frozenset({"for", "case", "select", "function"})
_KEYWORDS = frozenset(
    {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "esac", "in"}
)
_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh"})
_MAX_DEPTH = 4

# Options of `uv run` / `poetry run` / ... that take a value (so the value is not the command).
_VALUE_OPTIONS = frozenset(
    {
        "--with",
        "--with-editable",
        "--with-requirements",
        "--group",
        "--extra",
        "--env-file",
        "--python",
        "-p",
        "--project",
        "--directory",
        "--package",
        "--only-group",
        "--no-group",
        "--index",
        "--index-url",
        "--extra-index-url",
        "--find-links",
        "-f",
        "--config",
        "--config-file",
        "-C",
        "-u",
        "--user",
        "-s",
        "--signal",
        "-k",
        "--kill-after",
        "-n",
        "--adjustment",
        "-e",
        "--environment",
        "--env",
        "--project-config",
        "--scope",
    }
)


_EXTRA_VALUE_OPTIONS = frozenset({"--cache-dir", "--default-index", "--color", "--no-extra"})
# Wrappers whose options differ from the common set above.
_WRAPPER_VALUE_OPTIONS: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "--user", "-g", "--group", "-C", "-D", "-h", "-p", "-r", "-t", "-U"}),
    "doppler": frozenset({"-c", "--config", "-p", "--project", "--token", "--scope"}),
    "dumb-init": frozenset({"-r", "--rewrite"}),
    "stdbuf": frozenset({"-i", "-o", "-e"}),
}
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")


def logical_lines(
    text: str, first_line: int = 1, skip_heredocs: bool = False
) -> Iterator[tuple[int, str]]:
    """(line number, logical line) of shell text: backslash continuations joined, each numbered
    by its first physical line; with ``skip_heredocs``, heredoc bodies are left out (they are
    a command's input, not commands)."""
    pending = ""
    start = first_line
    heredoc: list[str] = []  # markers whose bodies are still to be skipped
    for number, line in enumerate(text.split("\n"), first_line):
        if heredoc:
            if line.strip() == heredoc[0]:
                heredoc.pop(0)
            continue
        if skip_heredocs and "<<<" not in line:
            heredoc.extend(m.group(2) for m in _HEREDOC.finditer(line))
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield start, pending + line
        pending = ""
    if pending:
        yield start, pending


def _strip_comments_and_heredocs(text: str) -> str:
    """Remove ``# comments`` (a ``#`` starting a word, outside quotes) and heredoc bodies."""
    out: list[str] = []
    quote: str | None = None
    at_word_start = True
    index = 0
    pending_heredocs: list[str] = []
    while index < len(text):
        char = text[index]
        if quote is not None:
            out.append(char)
            if char == "\\" and quote == '"' and index + 1 < len(text):
                out.append(text[index + 1])
                index += 2
                continue
            if char == quote:
                quote = None
            index += 1
            continue
        if char == "`":  # command substitution: its output is unknown text, drop it
            end = text.find("`", index + 1)
            index = len(text) if end < 0 else end + 1
            out.append("$__subst__")
            at_word_start = False
            continue
        if char in "'\"":
            quote = char
        elif char == "\\" and index + 1 < len(text):
            out.append(char + text[index + 1])
            index += 2
            at_word_start = False
            continue
        elif char == "#" and at_word_start:
            end = text.find("\n", index)
            index = len(text) if end < 0 else end
            continue
        elif char == "<" and text.startswith("<<", index) and not text.startswith("<<<", index):
            match = _HEREDOC.match(text, index)
            if match is not None:
                pending_heredocs.append(match.group(2))
                index = match.end()
                at_word_start = False
                continue
        elif char == "\n" and pending_heredocs:
            out.append(char)
            lines = text[index + 1 :].split("\n")
            consumed = 0
            for marker in pending_heredocs:
                while consumed < len(lines) and lines[consumed].strip() != marker:
                    consumed += 1
                consumed += 1
            pending_heredocs = []
            skipped = "\n".join(lines[:consumed])
            index += 1 + len(skipped) + (1 if consumed < len(lines) else 0)
            at_word_start = True
            continue
        out.append(char)
        at_word_start = char in " \t\n;&|()"
        index += 1
    return "".join(out)


@dataclass(frozen=True)
class Invocation:
    """One program a command line starts, with the wrappers it was started through."""

    executable: str
    args: tuple[str, ...]
    wrappers: tuple[tuple[str, ...], ...] = ()  # e.g. (("uv", "run", "--no-dev"),)
    # its words were read from shell text (`sh -c "…"`, a script line), so a shell expanded
    # the `$VAR`s in them; False: an argv no shell saw (exec-form CMD, Kubernetes args)
    shell: bool = field(default=False, compare=False)


def split_shell(text: str) -> list[list[str]] | None:
    """Simple commands of a shell string (operators and redirections removed), or None."""
    text = _strip_comments_and_heredocs(text.replace("\\\n", " ")).replace("\n", " ; ")
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes
        return None
    commands: list[list[str]] = []
    current: list[str] = []
    skip_next = False
    in_case = 0
    for token in tokens:
        if token in _OPERATORS:
            if token == ")" and in_case and current and current[0] != "case":
                current = []  # a `case` pattern such as `worker)`, not a command
                continue
            if current:
                if current[0] == "case":
                    in_case += 1
                commands.append(current)
            current = []
            continue
        if token == "esac" and in_case and not current:
            in_case -= 1
            continue
        if skip_next:
            skip_next = False
            continue
        if token in _REDIRECTS or (token and set(token) <= set("<>&|") and token not in _OPERATORS):
            skip_next = True
            if current and is_ascii_digits(current[-1]):
                current.pop()  # the `2` of `2>/dev/null`
            continue
        current.append(token)
    if current:
        commands.append(current)
    out: list[list[str]] = []
    for command in commands:
        if command[0] in _SKIPPED_SEGMENT_STARTS:
            continue
        while command and command[0] in _KEYWORDS:
            command = command[1:]
        if command:
            out.append(command)
    return out


def invocations(argv: list[str] | tuple[str, ...], depth: int = 0) -> list[Invocation] | None:
    """The programs an argv starts: assignments, ``exec`` and wrappers removed, ``sh -c`` entered.

    Returns None when it cannot tell (unparseable shell text, too deep).
    """
    words = list(argv)
    wrappers: list[tuple[str, ...]] = []
    while words and _ASSIGNMENT.match(words[0]):
        words = words[1:]
    while words:
        name = words[0].rsplit("/", 1)[-1]
        if name in _SHELLS and len(words) >= 3 and _is_dash_c(words[1:]):
            if depth >= _MAX_DEPTH:
                return None
            script = _script_after_c(words[1:])
            if script is None:
                return None
            return _with_wrappers(shell_invocations(script, depth + 1), wrappers)
        if name == "command" and len(words) > 1 and words[1] in ("-v", "-V"):
            return []  # `command -v X` looks X up; it runs nothing
        if name == "exec" or name == "command":
            words = words[1:]
            continue
        rule = WRAPPERS.get(name)
        if rule is None:
            break
        inner_start = _inner_command_start(words, rule)
        if inner_start is None or inner_start >= len(words):
            break  # the wrapper alone (e.g. `tini --version`): it is the program
        wrappers.append(tuple(words[:inner_start]))
        words = words[inner_start:]
        while words and _ASSIGNMENT.match(words[0]):
            words = words[1:]
    if not words:
        return []
    if words[0] in SHELL_BUILTINS and words[0] not in ("exec", "command"):
        return []
    return [Invocation(words[0], tuple(words[1:]), tuple(wrappers))]


def shell_invocations(text: str, depth: int = 0) -> list[Invocation] | None:
    commands = split_shell(text)
    if commands is None:
        return None
    out: list[Invocation] = []
    for command in commands:
        found = invocations(command, depth)
        if found is None:
            return None
        out.extend(i if i.shell else replace(i, shell=True) for i in found)
    return out


def _with_wrappers(
    found: list[Invocation] | None, wrappers: list[tuple[str, ...]]
) -> list[Invocation] | None:
    if found is None or not wrappers:
        return found
    return [Invocation(i.executable, i.args, (*wrappers, *i.wrappers), i.shell) for i in found]


def _is_dash_c(words: list[str]) -> bool:
    for word in words:
        if word == "-c" or (re.fullmatch(r"-[a-z]*c[a-z]*", word) is not None):
            return True
        if not word.startswith("-"):
            return False
    return False


def _script_after_c(words: list[str]) -> str | None:
    for index, word in enumerate(words):
        if word == "-c" or re.fullmatch(r"-[a-z]*c[a-z]*", word):
            return words[index + 1] if index + 1 < len(words) else None
    return None


def _inner_command_start(words: list[str], rule: str) -> int | None:
    """Index of the wrapped command in ``words`` (``words[0]`` is the wrapper)."""
    index = 1
    wrapper = words[0].rsplit("/", 1)[-1]
    value_options = _WRAPPER_VALUE_OPTIONS.get(wrapper, _VALUE_OPTIONS | _EXTRA_VALUE_OPTIONS)
    if rule.startswith("subcommand:"):
        sub = rule.split(":", 1)[1]
        while index < len(words) and words[index].startswith("-") and words[index] != "--":
            word = words[index]
            index += 2 if (word in value_options and "=" not in word) else 1
        if index >= len(words) or words[index] != sub:
            return None
        index += 1
        rule = "options-then-dashdash"
    if rule == "dashdash-only":
        return words.index("--", index) + 1 if "--" in words[index:] else None
    if rule == "options-then-dashdash":
        if "--" in words[index:]:
            return words.index("--", index) + 1
        rule = "options"
    positional_needed = 1 if rule == "one-arg" else 0
    while index < len(words):
        word = words[index]
        if word == "--":
            return index + 1
        if word.startswith("-") and len(word) > 1:
            takes_value = word in value_options or (
                wrapper == "opentelemetry-instrument" and word.startswith("--")
            )
            index += 2 if (takes_value and "=" not in word) else 1
            continue
        if _ASSIGNMENT.match(word) and words[0].rsplit("/", 1)[-1] == "env":
            index += 1
            continue
        if positional_needed:
            positional_needed -= 1
            index += 1
            continue
        return index
    return None
