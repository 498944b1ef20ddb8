"""What a rule reports, and the metadata every rule declares."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from preflight.spans import Related, Span

# A message this short is a headline as it stands (ruff's median message is about 51 characters).
HEADLINE_LENGTH = 72


class Severity(str, enum.Enum):
    """How bad a finding is: ``error`` (the deploy fails or is insecure), ``warning``, ``info``."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


class Applicability(str, enum.Enum):
    """Whether ``--fix`` applies a fix: ``safe`` ones are fully determined by the repository
    and cannot break anything else; ``unsafe`` ones need a choice a person should review
    (``--unsafe-fixes``)."""

    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace the text from (``line``, ``col``) to (``end_line``, ``end_col``) of ``path``
    with ``content`` (1-based; the end column exclusive; equal ends insert). ``line`` 0 means
    the end of the file: the engine resolves it against the file's text (adding the newline
    the last line lacks), so reporters always show a real position."""

    path: str
    line: int
    col: int
    end_line: int
    end_col: int
    content: str
    # Set by the constructors below, resolved (and cleared) by the engine against the text:
    # the first occurrence of ``find`` on ``line`` at or after ``col`` is what is replaced.
    find: str = ""
    # Set by :meth:`replace_rest`: ``find`` and everything after it on its line is replaced.
    to_end_of_line: bool = False
    # Set by :meth:`python_codemod`: the name of a codemod of preflight.codemods, run on the
    # file's text by the engine (``content`` is its argument).
    codemod: str = ""
    # Set by :meth:`toml_add`: the dotted table (`project.dependencies`, an array, or
    # `tool.poetry.dependencies`, a table) that ``content`` is added to, resolved the same way.
    toml: str = ""
    # Set by :meth:`yaml_add`: `KEY` adds the key (``content`` is its value) to the YAML block
    # mapping that holds the node written at (``line``, ``col``); `KEY[]` appends ``content``
    # as an item of the list at KEY (adding KEY when the mapping has none).
    yaml: str = ""

    @classmethod
    def replace_rest(cls, path: str, line: int, col: int, find: str, content: str) -> Edit:
        """``find`` (first written on ``line`` at or after ``col``) and the rest of its line
        replaced by ``content``; no fix when the line continues on the next (`\\`)."""
        return cls(path, line, col, line, col, content, find, to_end_of_line=True)

    @classmethod
    def replace_through(
        cls, path: str, line: int, col: int, end_line: int, find: str, content: str
    ) -> Edit:
        """An instruction continued over lines ``line`` to ``end_line`` (`\\`; comment lines
        between them allowed): ``find`` as a word, first written at or after (``line``,
        ``col``) outside those comment lines, and everything after it through the end of
        ``end_line`` replaced by ``content`` (one line in place of several)."""
        return cls(path, line, col, end_line, col, content, find, to_end_of_line=True)

    @classmethod
    def python_codemod(cls, path: str, codemod: str, argument: str = "") -> Edit:
        """A libcst codemod of ``path`` (comments and formatting kept outside what it
        rewrites); the engine runs it and reports the one range that changed."""
        return cls(path, 0, 0, 0, 0, argument, codemod=codemod)

    @classmethod
    def toml_add(cls, path: str, where: str, content: str) -> Edit:
        """Add ``content`` to the array ``where`` names (a PEP 508 string), or to the table
        (``content`` is ``name = "constraint"``): the engine edits the TOML round-trip."""
        return cls(path, 0, 0, 0, 0, content, toml=where)

    @classmethod
    def append(cls, path: str, content: str) -> Edit:
        """Lines added at the end of ``path`` (``content`` ends with a newline)."""
        return cls(path, 0, 0, 0, 0, content)

    @classmethod
    def replace_text(cls, path: str, line: int, col: int, find: str, content: str) -> Edit:
        """``find``, first written on ``line`` at or after ``col``, replaced by ``content``: a
        rule knows the span of a value, the engine finds the word in it (no fix if absent)."""
        return cls(path, line, col, line, col, content, find)

    @classmethod
    def yaml_add(
        cls,
        path: str,
        line: int,
        col: int,
        key: str,
        value: Mapping[str, YamlValue],
        *,
        item: bool = False,
    ) -> Edit:
        """Add ``key: value`` to the YAML mapping that holds the node written at (``line``,
        ``col``) (a container's ``name``), or with ``item`` append ``value`` to the list at
        ``key``. The engine writes it in the file's own indentation and list style, and drops
        the fix unless the file, parsed again, differs by exactly that (a flow mapping, an
        anchor shared with another place, a key already there: no fix)."""
        content = "".join(_yaml_lines(value, 0))
        return cls(path, line, col, line, col, content, yaml=f"{key}[]" if item else key)


YamlValue = str | int | Mapping[str, "YamlValue"]

# A string YAML 1.1 and 1.2 both read as that string when written plain.
_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./-]*")
_NOT_PLAIN = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})


def _yaml_lines(value: Mapping[str, YamlValue], depth: int) -> list[str]:
    """``value`` as a block mapping, two spaces a level (the engine re-indents it)."""
    out: list[str] = []
    for key, item in value.items():
        indent = "  " * depth
        if isinstance(item, Mapping):
            out.append(f"{indent}{_yaml_scalar(key)}:\n")
            out.extend(_yaml_lines(item, depth + 1))
        else:
            out.append(f"{indent}{_yaml_scalar(key)}: {_yaml_scalar(item)}\n")
    return out


def _yaml_scalar(value: str | int) -> str:
    if isinstance(value, int):
        return str(value)
    if _PLAIN.fullmatch(value) and value.lower() not in _NOT_PLAIN:
        return value
    return json.dumps(value)  # a JSON string is a YAML double-quoted one


@dataclass(frozen=True, slots=True)
class Autofix:
    """The change that repairs a finding: what it does in a few words, and its edits."""

    applicability: Applicability
    message: str  # "Add `SECRET_KEY=` to .env.example"
    edits: tuple[Edit, ...]


@dataclass(frozen=True, slots=True)
class Finding:
    code: str  # stamped by RuleContext.report from the rule's registration, never by the rule
    severity: Severity
    message: str
    span: Span
    related: tuple[Related, ...] = ()
    fix: str | None = None
    fingerprint: str = ""  # stable identity across edits (set by the engine; see baseline.py)
    name: str = ""  # the rule's name, stamped with the code by RuleContext.report
    # What is wrong in a few words (`gunicorn` is not installed in the image), for the first
    # line of the text report; ``message`` is the whole story (what, where, what fails).
    headline: str = ""
    autofix: Autofix | None = None  # what `--fix` writes, when the rule knows it

    @property
    def title(self) -> str:
        """The headline; when the rule gave none, the message if it is short enough to be one,
        else its first clause (capitalised, without a full stop either way)."""
        if self.headline:
            return self.headline
        title = self._lead()
        return title[:1].upper() + title[1:]

    @property
    def detail(self) -> str:
        """What the message says beyond the title: the rest of it when the title is its whole
        first clause, else all of it ("" when nothing more)."""
        lead = self.headline or self._lead()
        if not self.message.startswith(lead):
            return self.message
        rest = self.message[len(lead) :]
        if rest.strip() in ("", "."):
            return ""
        if rest[:1] not in ":;.":  # the title stops mid-clause: the message says it whole
            return self.message
        rest = rest[1:].strip()
        return rest[:1].upper() + rest[1:]

    def _lead(self) -> str:
        whole = self.message.rstrip().removesuffix(".")
        return whole if len(whole) <= HEADLINE_LENGTH else first_clause(self.message)

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.span.path, self.span.line, self.span.col, self.code, self.message)


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleInfo:
    """A rule's identity (stable once released): what reporters and `preflight rules` show.

    The check itself is in ``preflight.checks.rule.Rule``, which extends this: the layers below
    the rules (findings, reporters) know a rule only by its identity.
    """

    code: str  # e.g. "PKG001"
    name: str  # kebab-case, e.g. "command-not-installed"
    severity: Severity  # what it reports unless a finding says otherwise
    summary: str  # one line, for `preflight rules` and the README table
    # Every severity the rule reports at, when it reports at more than one (ENV003: a missing
    # variable is a warning, a missing .env.example only info). Empty: just ``severity``.
    other_severities: tuple[Severity, ...] = ()

    @property
    def severities(self) -> tuple[Severity, ...]:
        return (self.severity, *self.other_severities)


class UndeclaredSeverity(ValueError):
    """A rule reported at a severity its registration does not declare (a bug in the rule)."""


@dataclass(slots=True)
class RuleContext:
    """What a rule may use besides the model: its options, a way to report a finding (stamped
    with the rule's identity), and a place to say why it is silent."""

    code: str
    options: dict[str, object] = field(default_factory=dict)
    silences: list[tuple[Span | None, str]] = field(default_factory=list)
    severities: tuple[Severity, ...] = (Severity.ERROR,)  # the rule's declared severities
    name: str = ""

    @classmethod
    def of(cls, rule: RuleInfo, options: dict[str, object] | None = None) -> RuleContext:
        return cls(rule.code, dict(options or {}), severities=rule.severities, name=rule.name)

    def report(
        self,
        message: str,
        span: Span,
        related: tuple[Related, ...] = (),
        fix: str | None = None,
        *,
        severity: Severity | None = None,
        headline: str = "",
        autofix: Autofix | None = None,
    ) -> Finding:
        """A finding of this rule: code and severity come from its registration (``severity``
        picks one of the others it declares). ``headline`` says what is wrong in a few words
        (no full stop); without one, the message's first clause is the headline."""
        chosen = self.severities[0] if severity is None else severity
        if chosen not in self.severities:
            raise UndeclaredSeverity(
                f"{self.code} reported at {chosen.value}, which its registration does not declare"
            )
        return Finding(
            self.code,
            chosen,
            message,
            span,
            related,
            fix,
            name=self.name,
            headline=headline,
            autofix=autofix,
        )

    def silent(self, span: Span | None, why: str) -> None:
        """Record that the rule could not be sure here (printed under ``--verbose``)."""
        self.silences.append((span, why))


def matches(code: str, selector: str) -> bool:
    """``PKG`` and ``PKG0`` select ``PKG001``; ``ALL`` selects everything."""
    return selector == "ALL" or code.startswith(selector.upper())


def first_clause(message: str) -> str:
    """``message`` up to its first ``:``, ``;`` or ``.`` followed by a space (outside backticks
    and brackets), without a closing full stop: ``unknown instruction `CMDD`; Docker stops the
    build here`` → ``unknown instruction `CMDD```."""
    depth = 0
    quoted = False
    for index, char in enumerate(message):
        if char == "`":
            quoted = not quoted
        elif quoted:
            continue
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(0, depth - 1)
        elif depth == 0 and char in ":;." and message[index + 1 : index + 2] in (" ", ""):
            return message[:index]
    return message
