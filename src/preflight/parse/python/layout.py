"""How deep a Python text nests, and where its logical lines start: no parser involved.

CPython's parser takes memory quadratic in an operator chain's length and libcst's recursion
overflows the C stack, so no native parser sees a text before this scan says it is shallow.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

# Operators, brackets and `elif`s a file may chain before it is "too deep to parse": far above
# anything written by hand, far below where a parser's memory or stack gives out.
MAX_NESTING = 1000


_SCAN = re.compile(
    # a prefix only after a non-word character; a quote right after a word (`get('` … `name')`
    # in a PEP 701 f-string, read the old way) still opens a string
    r"(?P<string>(?:(?<!\w)[rRbBuUfFtT]{1,2})?(?:'''|\"\"\"|'|\"))"
    r"|(?P<comment>#[^\n]*)"
    r"|(?P<cont>\\\r?\n)"
    r"|(?P<newline>\n)"
    r"|(?P<open>[(\[{])"
    r"|(?P<close>[)\]}])"
    r"|(?P<reset>[,;]|(?<![=!<>:+\-*/%@&|^~])=(?!=))"
    r"|(?P<op>[-+*/%@&|^~<>.]|\b(?:not|await|lambda|if|else|yield|and|or|in|is)\b)"
)
_STRING_END = {
    "'''": re.compile(r"(?:[^\\]|\\.)*?'''", re.DOTALL),
    '"""': re.compile(r'(?:[^\\]|\\.)*?"""', re.DOTALL),
    "'": re.compile(r"(?:[^\\'\n]|\\.)*'?", re.DOTALL),
    '"': re.compile(r'(?:[^\\"\n]|\\.)*"?', re.DOTALL),
}
_NESTING_TOKENS = re.compile(
    r"[-+*/%@&|^~<>.(\[{]|\b(?:not|await|lambda|if|else|yield|and|or|in|is)\b"
)
_LINE_HEAD = re.compile(r"[ \t\f]*(elif\b)?")
_PREFIX = "rRbBuUfFtT"


@dataclass
class _Layout:
    depth: int = 0  # the deepest nesting estimate (an upper bound of the syntax tree's depth)
    depth_line: int = 1
    depth_what: str = "an expression"
    starts: list[int] = field(default_factory=lambda: [1])  # lines that begin a logical line
    lines: int = 1

    def note(self, value: int, line: int, what: str) -> None:
        if value > self.depth:
            self.depth, self.depth_line, self.depth_what = value, line, what

    def logical(self, line: int) -> tuple[int, int]:
        """The first and last physical line of the logical line that holds ``line``."""
        index = max(bisect.bisect_right(self.starts, line) - 1, 0)
        first = self.starts[index]
        following = self.starts[index + 1] if index + 1 < len(self.starts) else self.lines + 1
        return first, max(first, following - 1)


def _may_nest_deeply(text: str) -> bool:
    """Whether :func:`_layout` could find ``text`` too deep: a sound pre-test at C speed.

    Every level of its estimate is an operator, keyword operator or `elif` (one each) or a
    bracket (two), wherever it stands; a text with fewer of them than half the limit cannot
    reach it, and then the character-by-character scan (a fifth of the parse time of a typical
    module) is skipped. Strings and comments are counted too: over-counting only means a scan.
    """
    if len(text) < MAX_NESTING:
        return False
    return (
        2 * len(_NESTING_TOKENS.findall(text)) + 1 >= MAX_NESTING
        or text.count("elif") >= MAX_NESTING
    )


def _layout(text: str) -> _Layout:
    """Estimate, without a parser, how deep the syntax tree of ``text`` nests.

    Every operator, keyword operator and bracket can add a level (a bracket two: its contents,
    and the call or subscript it may be); a comma, semicolon, `=` or
    the end of a logical line ends the chain at its bracket level. The estimate is the sum over
    the open bracket levels of the chain at each, plus the brackets themselves; an f-string
    counts every operator and bracket inside it (its braces hold expressions). A run of `elif`
    (each one nests the next in the tree) counts too. Over-counting is fine: the limit is far
    above real code. It also records where logical lines start, for the fallback below.
    """
    out = _Layout()
    out.lines = text.count("\n") + 1
    if len(text) < MAX_NESTING:  # every level costs at least one character
        out.starts = list(range(1, out.lines + 1))
        return out
    chains = [0]  # the chain length at each open bracket level
    total = 0  # sum(chains) + len(chains) - 1: the estimate where the scan is
    line = 1
    elifs: dict[int, int] = {}  # indentation -> `elif`s in a row at it
    starts = [1]
    pos = 0

    def line_head(at: int) -> None:
        head = _LINE_HEAD.match(text, at)
        if head is None:  # pragma: no cover - the pattern matches the empty string
            return
        is_elif = head.group(1) is not None
        indent = head.end(0) - at - (4 if is_elif else 0)
        if text[head.end(0) : head.end(0) + 1] in ("", "\n", "#") and not is_elif:
            return  # a blank or comment line ends no chain
        for deeper in [i for i in elifs if i >= indent and not is_elif]:
            del elifs[deeper]
        if is_elif:
            elifs[indent] = elifs.get(indent, 0) + 1
            out.note(elifs[indent], line, "an if/elif chain")

    line_head(0)
    while True:
        match = _SCAN.search(text, pos)
        if match is None:
            break
        kind = match.lastgroup
        pos = match.end()
        if kind == "string":
            opener = match.group()
            quote = opener.lstrip(_PREFIX)
            end = _STRING_END[quote].match(text, pos)
            body_end = end.end() if end is not None else len(text)
            if any(c in "fFtT" for c in opener[: len(opener) - len(quote)]):
                inner = len(_NESTING_TOKENS.findall(text, pos, body_end))
                out.note(total + inner, line, "an expression")
            line += text.count("\n", pos, body_end)
            pos = body_end
        elif kind == "newline" or kind == "cont":
            line += 1
            if kind == "newline" and len(chains) == 1:
                chains[0] = 0
                total = 0
                starts.append(line)
                line_head(pos)
        elif kind == "open":  # a level, and a link in the chain around it (`f()()()`)
            chains[-1] += 1
            chains.append(0)
            total += 2
            out.note(total, line, "an expression")
        elif kind == "close":
            if len(chains) > 1:
                total -= chains.pop() + 1
        elif kind == "reset":
            total -= chains[-1]
            chains[-1] = 0
        elif kind == "op":
            chains[-1] += 1
            total += 1
            out.note(total, line, "an expression")
    out.starts = starts
    return out
