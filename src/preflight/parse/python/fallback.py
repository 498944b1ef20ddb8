"""Syntax newer than this interpreter's parser: checked line by line with libcst, simplified,
and the file parsed again so the rest of it still yields its facts."""

from __future__ import annotations

import re
import textwrap

from preflight.parse.python.layout import _NESTING_TOKENS, _Layout
from preflight.parse.python.results import PythonModule
from preflight.parse.python.syntax import _HOST, _TOO_DEEP, _ast, _facts, _invalid

# libcst (whose grammar tracks newer Pythons) only ever sees one logical line at a time, small
# and shallow: its native parser is superlinear on long chains and crashes on deep ones.
FALLBACK_LINE_BYTES = 4096
FALLBACK_LINE_NESTING = 300
FALLBACK_BUDGET = 64 * 1024  # bytes handed to libcst per file
_FALLBACK_ROUNDS = 4  # re-parses of the file with the newer statements simplified
_NEWER_CANDIDATE = re.compile(
    r"(?m)^[ \t]*(?:type[ \t]+\w|(?:async[ \t]+)?def[ \t]+\w+[ \t]*\[|class[ \t]+\w+[ \t]*\[)"
)
_TYPE_PARAMS = re.compile(r"[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+\w+[ \t]*(?=\[)")
_FIRST_WORD = re.compile(r"[ \t\f]*(\w*)")

# What was handed to libcst in this process (the regression tests bound it by counting).
fallback_stats = {"bytes": 0, "calls": 0}


def _newer_syntax(path: str, text: str, error: SyntaxError, layout: _Layout) -> PythonModule:
    """A file ``ast`` rejects: valid newer Python (PEP 695 generics, ``type X = …``, PEP 758
    ``except A, B:``) or a real mistake (PF001)?

    Each rejected logical line is checked alone with libcst, then simplified to something this
    interpreter reads (type parameters blanked, other statements replaced by a shell) and the
    file parsed again, so the rest of it still yields its facts. Line numbers never move.
    """
    lines = text.split("\n")
    budget = [FALLBACK_BUDGET]
    simplified: set[int] = set()
    # Round one also takes every line that looks like PEP 695: one re-parse usually does.
    pending = {error.lineno or 1}
    for match in _NEWER_CANDIDATE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        if layout.logical(line)[0] == line:  # not a line inside a string or brackets
            pending.add(line)
    for _ in range(_FALLBACK_ROUNDS):
        for line in sorted(pending):
            first, last = layout.logical(line)
            if first in simplified:
                continue
            region = lines[first - 1 : last]
            verdict = _newer_accepts("\n".join(region), budget)
            if verdict:
                lines[first - 1 : last] = _simplified(region)
                simplified.add(first)
            elif line == (error.lineno or 1):
                if verdict is None:  # valid so far, and more newer syntax than is checked
                    return PythonModule(path, unread=_TOO_MUCH_NEWER)
                return _invalid(path, error)
        tree, failure = _ast(path, "\n".join(lines))
        if tree is not None:
            listed = ", ".join(str(n) for n in sorted(simplified))
            note = (
                f"syntax newer than Python {_HOST} (line {listed}, checked with libcst): "
                "read without those constructs"
            )
            return _facts(path, tree, text, (note,))
        if not isinstance(failure, SyntaxError) or _TOO_DEEP.search(failure.msg or ""):
            return _invalid(path, failure)
        if layout.logical(failure.lineno or 1)[0] in simplified:
            return PythonModule(
                path, unread=f"syntax newer than Python {_HOST} that preflight cannot simplify"
            )
        error = failure
        pending = {failure.lineno or 1}
    return PythonModule(path, unread=_TOO_MUCH_NEWER)


_TOO_MUCH_NEWER = (
    f"more statements in syntax newer than Python {_HOST} than preflight checks "
    f"({FALLBACK_BUDGET // 1024} KiB per file)"
)


def _first_word(statement: str) -> str:
    match = _FIRST_WORD.match(statement)
    return match.group(1) if match is not None else ""


def _newer_accepts(statement: str, budget: list[int]) -> bool | None:
    """Whether libcst parses one logical line (made a whole module); None: the file's budget
    is spent, so it was not asked. A line too long or too deep for it is not newer syntax."""
    size = len(statement.encode("utf-8", "surrogatepass"))
    if size > FALLBACK_LINE_BYTES:
        return False
    if size > budget[0]:
        return None
    if len(_NESTING_TOKENS.findall(statement)) > FALLBACK_LINE_NESTING:
        return False
    try:
        import libcst
    except ImportError:  # pragma: no cover - libcst is a dependency
        return False
    body = statement.lstrip(" \t\f")
    word = _first_word(body)
    before = {
        "except": "try:\n    pass\n",
        "finally": "try:\n    pass\n",
        "elif": "if x:\n    pass\n",
        "else": "if x:\n    pass\n",
    }.get(word, "")
    candidates = [before + body + "\n", before + body + "\n    pass\n"]
    if _is_header(body):
        candidates.reverse()
    if word == "case":
        candidates = ["match x:\n" + textwrap.indent(c, "    ") for c in candidates]
    for candidate in candidates:
        if _ast("<statement>", candidate)[0] is not None:
            return False  # this interpreter reads it: whatever is wrong is not new syntax
    for candidate in candidates:
        cost = len(candidate.encode("utf-8", "surrogatepass"))
        if cost > budget[0]:
            return None
        budget[0] -= cost
        fallback_stats["bytes"] += cost
        fallback_stats["calls"] += 1
        try:
            libcst.parse_module(candidate)
        except Exception:  # libcst raises its own ParserSyntaxError, and others on odd input
            continue
        return True
    return False


def _is_header(statement: str) -> bool:
    """Whether a logical line opens an indented block (ends with `:`, comments aside)."""
    last = statement.rstrip().rsplit("\n", 1)[-1]
    return re.sub(r"#[^'\"]*$", "", last).rstrip().endswith(":")


def _simplified(region: list[str]) -> list[str]:
    """The same lines, readable by this interpreter: a generic def/class loses its type
    parameters (blanked, so columns stay), anything else becomes a shell of its kind."""
    head = region[0]
    generic = _TYPE_PARAMS.match(head)
    if generic is not None:
        joined = "\n".join(region)
        depth = 0
        for index in range(generic.end(), len(joined)):
            depth += {"[": 1, "]": -1}.get(joined[index], 0)
            if depth == 0:
                blank = "".join("\n" if c == "\n" else " " for c in joined[generic.end() : index])
                return (joined[: generic.end()] + blank + " " + joined[index + 1 :]).split("\n")
    indent = head[: len(head) - len(head.lstrip(" \t\f"))]
    body = head[len(indent) :]
    word = _first_word(body)
    header = _is_header("\n".join(region))
    shells = {
        "except": "except Exception:",
        "elif": "elif True:",
        "else": "else:",
        "finally": "finally:",
        "try": "try:",
        "case": "case _:",
    }
    named = re.match(r"(async[ \t]+)?(def|class)[ \t]+(\w+)", body)
    if named is not None:
        is_async, kind, name = named.groups()
        shell = (
            f"class {name}:" if kind == "class" else f"{'async ' if is_async else ''}def {name}():"
        )
        return [indent + shell + ("" if header else " pass")] + [""] * (len(region) - 1)
    if header:
        shell = shells.get(word, "if True:")
    else:
        shell = shells[word] + " pass" if word in shells else "pass"
    return [indent + shell] + [""] * (len(region) - 1)
