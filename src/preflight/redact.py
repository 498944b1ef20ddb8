"""What every message, note, fix, related note and source snippet passes through before output.

Two jobs, in one module so no output path can skip one of them:

* **Redaction** (:func:`redact_text` for prose, :func:`redact_source` for source lines): URL
  credentials, the values of sensitive names (``API_TOKEN=…``, ``secret_key: …``,
  ``ENV SECRET_KEY value``, ``{name: API_TOKEN, value: …}``, ``--password …``),
  ``Authorization:`` header credentials, and — in source lines — string literals on a line that
  names a secret, values continued on the lines below a sensitive key, and every value of
  anything that looks like a Kubernetes Secret, whether or not it parsed. Values become ``***``;
  no part of a value is kept.
* **Escaping** (:func:`escape_control`): control characters (C0 except tab, DEL, C1), Unicode
  bidi overrides, line/paragraph separators, lone surrogates and XML non-characters become visible
  escapes (``\\x1b``, ``\\u202e``), so a file name or a Secret key cannot forge an output line,
  retitle a terminal or make XML invalid.

URL userinfo is found without trusting a URL parser's idea of where the authority ends: a
password may hold ``/``, ``:``, ``@`` or percent escapes, and SQLAlchemy and pip accept them. The
userinfo is everything between ``://`` and the *last* ``@`` of the URL (the URL ends at
whitespace). This may mask more than the password when a path or query holds ``@`` after a
``:``; it never masks less.

This module sits below parse, model, checks and report: it imports only the knowledge tables and
the data types of findings.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import replace

from preflight.findings import Finding
from preflight.knowledge.sensitive import is_sensitive_name, may_name_a_secret
from preflight.spans import Related

MASK = "***"

# ---------------------------------------------------------------------------------------------
# URLs


def split_userinfo(url: str) -> tuple[str, str | None, str]:
    """``(head, userinfo, rest)`` of ``scheme://userinfo@rest``: ``head`` ends with ``://``.

    The userinfo runs to the last ``@`` (passwords may hold ``@``, ``/`` and ``:``); it is
    ``None`` when there is no ``@``. Without ``://`` the head is empty and the whole text is rest.
    """
    start = url.find("://")
    if start < 0:
        return "", None, url
    head_end = start + 3
    at = url.rfind("@", head_end)
    if at < 0:
        return url[:head_end], None, url[head_end:]
    return url[:head_end], url[head_end:at], url[at + 1 :]


def url_password(url: str) -> str | None:
    """The password of a URL as written (percent escapes kept), or None without one."""
    _, userinfo, _ = split_userinfo(url)
    if userinfo is None or ":" not in userinfo:
        return None
    return userinfo.split(":", 1)[1]


def mask_userinfo(userinfo: str) -> str | None:
    """The userinfo to show (``user:***``, ``***``), or None if it is not credentials at all
    (a ``@`` in the path of a URL without userinfo: ``https://host/@scope/pkg``)."""
    if ":" in userinfo:  # a password may hold "/", "@", ":": everything after the first ":"
        return userinfo.split(":", 1)[0] + ":" + MASK
    if userinfo in ("", "git", MASK):
        return userinfo  # ssh's conventional user; nothing to hide
    if any(ch in userinfo for ch in "/?#"):
        return None
    return MASK  # a lone user part is often a token: https://<token>@host/simple


def _userinfo_end(text: str, start: int, end: int) -> int:
    """The index of the ``@`` that ends the userinfo of the URL in ``text[start:end]``, or -1."""
    at = text.rfind("@", start, end)
    if at < 0:
        return -1
    candidate = text[start:at]
    if ":" in candidate or not any(ch in candidate for ch in "/?#"):
        return at
    # The last "@" is in the path; a userinfo without a password ends before the first "/".
    path = min(i for i in (text.find(ch, start, at) for ch in "/?#") if i >= 0)
    return text.rfind("@", start, path)


_SPACE = re.compile(r"\s")


def mask_urls(text: str) -> str:
    """Every ``scheme://user:password@host`` in ``text`` with the password replaced by ``***``
    (a lone user part too, unless it is ``git``). Linear in the length of ``text``."""
    if "://" not in text or "@" not in text:
        return text
    out: list[str] = []
    pos = 0
    search = 0
    length = len(text)
    while True:
        start = text.find("://", search)
        if start < 0:
            break
        head_end = start + 3
        space = _SPACE.search(text, head_end)
        end = space.start() if space is not None else length
        at = _userinfo_end(text, head_end, end)
        search = end if end > head_end else head_end
        if at < 0:
            continue
        shown = mask_userinfo(text[head_end:at])
        if shown is None:
            continue
        out.append(text[pos:head_end])
        out.append(shown)
        pos = at  # keep the "@" and what follows
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# NAME=value, NAME: value, ENV NAME value

# A name, not preceded by a name character, optionally quoted, then `=` or `:` (not `==`, `://`,
# `:=`). The lookbehind makes every attempt start at the beginning of a name, so a long run of
# word characters is scanned once, not once per position.
_PAIR = re.compile(
    r"(?<![\w.\-$])-{0,2}(?P<quote>[\"']?)(?P<name>[A-Za-z_][\w.\-]*)(?P=quote)"
    r"(?P<sep>[ \t]*(?:=(?![=~])|:(?![:/=]))[ \t]*)"
)
# Upper-case anywhere (prose quotes Dockerfile lines); any case at the start of a line.
_LEGACY_ENV = re.compile(
    r"(?P<head>(?:(?<![\w-])(?:ENV|ARG)|(?:^|(?<=\n))[ \t]*(?i:env|arg))"
    r"[ \t]+(?P<name>[A-Za-z_][\w.\-]*)[ \t]+)(?=[^\s=])"
)
_FLOW_NAME = re.compile(
    r"(?<![\w.\-])[\"']?name[\"']?[ \t]*:[ \t]*[\"']?(?P<name>[A-Za-z_][\w.\-]*)", re.I
)
# `--password hunter2`, `-token abc`: a sensitive flag's next word.
_FLAG = re.compile(r"(?<![\w-])--?(?P<name>[A-Za-z][\w.\-]*)[ \t]+(?=[^\s\-=])")
# `Authorization: Bearer …` (curl -H, HTTP client headers): the credentials.
_AUTHORIZATION = re.compile(
    r"(?i)(?P<head>\bauthorization[\"']?[ \t]*[:=][ \t]*[\"']?"
    r"(?:(?:bearer|basic|token|digest|negotiate)[ \t]+)?)(?P<value>[^\s\"',]+)"
)
_REFERENCE = re.compile(r"\$\{?[A-Za-z_]\w*\}?")  # `${API_TOKEN}`: names a value, holds none


def _value_end(text: str, start: int, sep: str, block: bool, before: str) -> int:
    """Where an unquoted value starting at ``start`` ends; ``before`` is the character before
    the name (a quote or backtick around ``"NAME=value"``, ``?``/``&`` in a URL query)."""
    length = len(text)
    if "=" in sep:  # shell and dotenv: a word (in a quoted word or a query: up to its end)
        stops = before if before in "\"'`" else "&#\"'" if before in "?&" else ""
        end = start
        while end < length and not text[end].isspace():
            if text[end] in stops and text[end - 1] != "\\":
                break
            end += 1
        return end
    if block:  # a YAML block mapping / Python annotation: the rest of the line
        newline = text.find("\n", start)
        return length if newline < 0 else newline
    end = start  # inside a flow mapping or prose: up to the next separator
    while end < length and text[end] not in ",}]\n":
        end += 1
    return end


def _quoted_end(text: str, start: int) -> int:
    """The index after the closing quote of the string opening at ``start`` (or the end of
    the line when it is not closed there)."""
    quote = text[start]
    end = start + 1
    length = len(text)
    while end < length and text[end] != quote and text[end] != "\n":
        end += 2 if text[end] == "\\" else 1
    return min(end + 1, length) if end < length and text[end] == quote else min(end, length)


_LEAD = re.compile(r"[ \t\-\"']*")


def _is_block_key(text: str, name_start: int) -> bool:
    """The name is the first thing on its line (after indentation and a list dash)."""
    line_start = text.rfind("\n", 0, name_start) + 1
    lead = _LEAD.match(text, line_start)
    return lead is not None and lead.end() >= name_start


def mask_pairs(text: str, extra: Collection[str] = ()) -> str:
    """The values of sensitive names (and of the keys in ``extra``) replaced by ``***``."""
    if ("=" not in text and ":" not in text) or (not extra and not may_name_a_secret(text)):
        return text
    out: list[str] = []
    pos = 0
    for match in _PAIR.finditer(text):
        if match.start() < pos:
            continue
        name = match.group("name")
        if not (is_sensitive_name(name) or name.lower() in extra):
            continue
        name_start = match.start("name")
        if text.startswith("://", name_start - 3):
            continue  # the user part of a URL (mask_urls has masked its password)
        start = match.end()
        if start >= len(text) or text[start] == "\n":
            continue
        sep = match.group("sep")
        if text[start] in "\"'":
            end = _quoted_end(text, start)
            value = text[start:end]
            shown = f"{text[start]}{MASK}{text[start]}"
        else:
            before = text[name_start - 1] if name_start and not match.group("quote") else ""
            end = _value_end(text, start, sep, _is_block_key(text, name_start), before)
            value = text[start:end].rstrip()
            end = start + len(value)
            shown = MASK
        if not value or _REFERENCE.fullmatch(value.strip("\"'")) or value.strip("\"'") == MASK:
            continue
        out.append(text[pos:start])
        out.append(shown)
        pos = end
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def mask_flags(text: str) -> str:
    """``--password hunter2`` and ``--api-token=…`` (the ``=`` form is a pair): the value of a
    sensitive command-line flag replaced by ``***``."""
    if "-" not in text or not may_name_a_secret(text):
        return text
    out: list[str] = []
    pos = 0
    for match in _FLAG.finditer(text):
        if match.start() < pos or not is_sensitive_name(match.group("name")):
            continue
        start = match.end()
        if text[start] in "\"'":
            end = _quoted_end(text, start)
            shown = f"{text[start]}{MASK}{text[start]}"
        else:
            end = start
            while end < len(text) and not text[end].isspace() and text[end] not in "`\"'":
                end += 1
            shown = MASK
        if _REFERENCE.fullmatch(text[start:end].strip("\"'")) or text[start:end] == MASK:
            continue
        out.append(text[pos:start] + shown)
        pos = end
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def mask_authorization(text: str) -> str:
    """``Authorization: Bearer …`` with the credentials replaced by ``***``."""
    if "uthorization" not in text and "UTHORIZATION" not in text:
        return text
    return _AUTHORIZATION.sub(lambda m: m.group("head") + MASK, text)


def mask_legacy_env(text: str) -> str:
    """``ENV SECRET_KEY value`` (Docker's legacy form): the value replaced by ``***``."""
    if not may_name_a_secret(text) or not re.search(r"(?:ENV|ARG)[ \t]", text, re.I):
        return text

    out: list[str] = []
    pos = 0
    for match in _LEGACY_ENV.finditer(text):
        if match.start() < pos or not is_sensitive_name(match.group("name")):
            continue
        end = text.find("\n", match.end())
        end = len(text) if end < 0 else end
        tick = text.find("`", match.end(), end)  # prose quotes a line in backticks
        end = tick if tick >= 0 else end
        out.append(text[pos : match.end()] + MASK)
        pos = end
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def _sensitive_flow_name(line: str) -> bool:
    if not may_name_a_secret(line):
        return False
    return any(is_sensitive_name(m.group("name")) for m in _FLOW_NAME.finditer(line))


_FLOW_MAPPING = re.compile(r"\{[^{}\n]*\}?")


def _mask_line_pairs(line: str) -> str:
    """:func:`mask_pairs` on one line, where a ``value:`` is secret when a sensitive
    ``name:`` sits in the same ``{...}`` (or, outside braces, on the same line)."""
    if "{" not in line:
        return mask_pairs(line, ("value",) if _sensitive_flow_name(line) else ())

    def one(match: re.Match[str]) -> str:
        part = match.group(0)
        return mask_pairs(part, ("value",) if _sensitive_flow_name(part) else ())

    return mask_pairs(_FLOW_MAPPING.sub(one, line))


def redact_text(text: str) -> str:
    """Prose fit to print: a message, note, fix hint or error that may quote a file."""
    if not text:
        return text
    out = mask_authorization(mask_urls(text))
    if not may_name_a_secret(out):
        return out
    out = mask_flags(mask_legacy_env(out))
    return "\n".join(_mask_line_pairs(line) for line in out.split("\n"))


# ---------------------------------------------------------------------------------------------
# Source lines

MAX_SHOWN = 2000  # characters of a source line kept for display
_DOC_BREAK = re.compile(r"^(?:---|\.\.\.)(?:\s|$)")
_SECRET_KIND = re.compile(r"(?<![\w-])[\"']?kind[\"']?\s*:\s*[\"']?Secret(?![\w-])", re.I)
_KEY_LINE = re.compile(
    r"^(?P<head>(?P<indent>[ \t]*)(?P<dash>-[ \t]+)?(?P<q>[\"']?)(?P<key>[^\s:\"'#{}\[\],]+)(?P=q)"
    r"[ \t]*:(?:[ \t]+|$))(?P<value>.*)$"
)
_KEEP_IN_SECRET = re.compile(r"^(?:apiVersion|kind|type|immutable)$")
_PLAIN_NAME = re.compile(r"^[\"']?[A-Za-z0-9][\w.\-]{0,252}[\"']?\s*(?:#.*)?$")
# What opens a value continued on the following lines.
_OPENER = re.compile(r"[ \t]*(?P<opener>[|>][-+0-9]*|\(|\[|\{|\\|\"\"\"|'''|)[ \t]*(?:#.*)?$")
# A string literal that is not a mapping key (`{"password": "…"}` keeps its key).
_STRING = re.compile(r"(?:\"(?:[^\"\\\n]|\\.){0,4000}\"|'(?:[^'\\\n]|\\.){0,4000}')(?![ \t]*:)")
_WORD = re.compile(r"[A-Za-z_][\w.\-]*")
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _mask_whole(line: str) -> str:
    """A line all of whose value is secret: ``key: ***``, ``- ***``, or ``***``."""
    if not line.strip():
        return line
    key = _KEY_LINE.match(line)
    if key is not None:
        return key.group("head").rstrip() + " " + MASK if key.group("value").strip() else line
    stripped = line.lstrip(" \t")
    dash = "- " if stripped.startswith("- ") else ""
    return line[: _indent(line)] + dash + MASK


def _secret_documents(lines: list[str]) -> dict[int, str]:
    """0-based line -> "whole" for the value lines of every document that says
    ``kind: Secret`` (parsed or not): everything but apiVersion, kind, and plain
    ``name``/``namespace`` under metadata."""
    out: dict[int, str] = {}
    if not any("ecret" in line or "ECRET" in line for line in lines):
        return out
    start = 0
    bounds: list[tuple[int, int]] = []
    for number, line in enumerate(lines):
        if _DOC_BREAK.match(line):
            bounds.append((start, number))
            start = number + 1
    bounds.append((start, len(lines)))
    for first, last in bounds:
        if not any(_SECRET_KIND.search(lines[n]) for n in range(first, last)):
            continue
        metadata_indent: int | None = None
        for number in range(first, last):
            line = lines[number]
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            indent = _indent(line)
            if metadata_indent is not None and indent <= metadata_indent:
                metadata_indent = None
            key = _KEY_LINE.match(line)
            if key is not None and not key.group("dash"):
                value = key.group("value").strip()
                if key.group("key") == "metadata" and not value:
                    metadata_indent = indent
                    continue
                if indent == 0 and _KEEP_IN_SECRET.match(key.group("key")):
                    continue
                if (
                    metadata_indent is not None
                    and key.group("key") in ("name", "namespace")
                    and _PLAIN_NAME.match(value)
                ):
                    continue
                if not value or value.startswith("#"):
                    continue  # a key that opens a mapping holds no value itself
            out[number] = "whole"
    return out


def _continuation(lines: list[str], number: int, indent: int, opener: str) -> list[int]:
    """The lines continuing a value opened at the end of line ``number``."""
    out: list[int] = []
    if opener.startswith("\\"):
        current = number
        while current + 1 < len(lines) and lines[current].rstrip().endswith("\\"):
            current += 1
            out.append(current)
        return out
    if opener[:3] in ('"""', "'''"):
        for current in range(number + 1, len(lines)):
            out.append(current)
            if opener[:3] in lines[current]:
                break
        return out
    for current in range(number + 1, len(lines)):
        line = lines[current]
        if line.strip() and _indent(line) <= indent:
            break
        out.append(current)
    return out


def _sensitive_blocks(lines: list[str]) -> dict[int, str]:
    """0-based line -> "whole" for values continued below a sensitive key (``SECRET_KEY: |``,
    ``API_TOKEN = (``, ``ENV SECRET_KEY \\``), and for ``value:`` lines (and their
    continuations) in a mapping whose ``name:`` is sensitive, in either order. Linear in the
    size of the file."""
    out: dict[int, str] = {}
    worth = [n for n, line in enumerate(lines) if may_name_a_secret(line)]
    named = False
    for number in worth:
        line = lines[number]
        if not named and "name" in line:
            key = _KEY_LINE.match(line)
            named = key is not None and key.group("key") == "name" and _sensitive_name_value(key)
        if number in out:
            continue  # inside a block already masked (its own blocks are inside it too)
        opener = _line_opener(line)
        if opener is not None:  # one continuation per line, however many names it holds
            for current in _continuation(lines, number, _indent(line), opener):
                out[current] = "whole"
    if named:
        for number, key in _values_named_secret(lines):
            if number in out:
                continue
            out[number] = "whole"
            opener = _opener(lines[number], key.start("value"))
            if opener is not None:
                column = _key_column(key)
                for current in _continuation(lines, number, column, opener):
                    out[current] = "whole"
    return out


def _line_opener(line: str) -> str | None:
    """What opens a sensitive value continued below this line, if it does: after a sensitive
    key that starts the line (``SECRET_KEY: |``, ``api_token: str = (``), after any sensitive
    pair or legacy ``ENV`` ending in a backslash."""
    for match in _PAIR.finditer(line):
        if not is_sensitive_name(match.group("name")):
            continue
        opener = _opener(line, match.end())
        if opener is not None and (
            opener.startswith("\\") or _is_block_key(line, match.start("name"))
        ):
            return opener
    legacy = _LEGACY_ENV.search(line)
    continued = line.rstrip().endswith("\\")
    if continued and legacy is not None and is_sensitive_name(legacy.group("name")):
        return "\\"
    return None


def _opener(line: str, start: int) -> str | None:
    """What opens a value continued below (``|``, ``(``, ``\"\"\"``, ``\\``, or "" for a value on
    the next lines), when the value after ``start`` is one, or the line ends in one
    (``secret_key: str = Field(``)."""
    opener = _OPENER.match(line, start)
    if opener is not None:
        return opener.group("opener")
    tail = line.rstrip()
    for quotes in ('"""', "'''"):
        if tail.endswith(quotes) and line.count(quotes, start) % 2 == 1:
            return quotes
    return tail[-1] if tail.endswith(("(", "[", "{", "\\")) else None


def _values_named_secret(lines: list[str]) -> list[tuple[int, re.Match[str]]]:
    """The ``value:`` keys of block mappings whose ``name:`` is a sensitive name (k8s and
    compose env lists), in either order: keys are grouped into mappings with a stack of the
    open indentation levels, in one pass."""
    stack: list[tuple[int, int]] = []  # (key column, mapping id)
    sensitive: set[int] = set()
    values: list[tuple[int, int, re.Match[str]]] = []
    for number, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = _indent(line)
        while stack and stack[-1][0] > indent:
            stack.pop()
        key = _KEY_LINE.match(line) if ":" in line else None
        if key is None:
            continue
        column = _key_column(key)
        if key.group("dash") or not stack or stack[-1][0] != column:
            stack.append((column, number))
        mapping = stack[-1][1]
        if key.group("key") == "value":
            values.append((mapping, number, key))
        elif key.group("key") == "name" and _sensitive_name_value(key):
            sensitive.add(mapping)
    return [(number, key) for mapping, number, key in values if mapping in sensitive]


def _sensitive_name_value(key: re.Match[str]) -> bool:
    value = key.group("value").strip().strip("\"'")
    return bool(value) and is_sensitive_name(value.split()[0].strip("\"'"))


def _key_column(key: re.Match[str]) -> int:
    return len(key.group("indent")) + len(key.group("dash") or "")


def _mask_strings(line: str) -> str:
    """On a line that names a secret, every string literal that is not itself a name."""
    if not may_name_a_secret(line) or not any(
        is_sensitive_name(m.group(0)) for m in _WORD.finditer(line)
    ):
        return line

    def hide(match: re.Match[str]) -> str:
        text = match.group(0)
        inner = text[1:-1]
        if not inner or inner == MASK or _REFERENCE.fullmatch(inner):
            return text
        if _ENV_NAME.fullmatch(inner) and is_sensitive_name(inner):
            return text  # `os.environ["API_TOKEN"]`: the variable's name, not its value
        return text[0] + MASK + text[0]

    return _STRING.sub(hide, line)


def redact_line(line: str) -> str:
    """One source line with URL passwords and the values of sensitive names masked (no
    context from other lines: see :func:`redact_source`)."""
    out = mask_authorization(mask_urls(line))
    if not may_name_a_secret(out):
        return out
    out = mask_flags(mask_legacy_env(out))
    out = _mask_line_pairs(out)
    return _mask_strings(out)


def redact_source(
    lines: list[str], wanted: Collection[int], secret_lines: Collection[int] = ()
) -> list[str]:
    """The lines a report will show (1-based numbers in ``wanted``; the others left empty),
    each fit to print and whole (cut them for display with :func:`shorten`): see the module
    docstring. ``secret_lines`` are lines the parser knows hold a Secret's value. Linear in
    the size of the file."""
    out = [""] * len(lines)
    if not wanted:
        return out
    masked = _secret_documents(lines)
    masked.update(_sensitive_blocks(lines))
    for number in sorted(wanted):
        if not 0 < number <= len(lines):
            continue
        line = redact_line(lines[number - 1])
        if number - 1 in masked or number in secret_lines:
            line = _mask_whole(line)
        out[number - 1] = line
    return out


def shorten(line: str, max_len: int = MAX_SHOWN) -> str:
    """A (redacted) line cut for display."""
    return line if len(line) <= max_len else line[:max_len] + " …"


# ---------------------------------------------------------------------------------------------
# Control characters

# C0 but tab, DEL, C1, ALM/LRM/RLM, LS/PS, bidi embeddings/overrides/isolates, BOM, interlinear
# annotation, lone surrogates (undecodable file names) and the XML non-characters U+FFFE/U+FFFF.
_CONTROL = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
    "\ufeff\ufff9-\ufffb\ufffe\uffff\ud800-\udfff]"
)


def _escape_one(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_control(text: str) -> str:
    """``text`` with every character that can rewrite a terminal, forge a line or break XML
    shown as a visible escape (``\\x1b``, ``\\u202e``). Idempotent; tab is kept."""
    return _CONTROL.sub(_escape_one, text)


def clean_text(text: str) -> str:
    """Redacted and escaped: what a message, note or error may print."""
    return escape_control(redact_text(text))


def clean_finding(finding: Finding) -> Finding:
    """The finding with its headline, message, fix and related notes redacted and escaped."""
    return replace(
        finding,
        headline=clean_text(finding.headline),
        message=clean_text(finding.message),
        fix=clean_text(finding.fix) if finding.fix is not None else None,
        related=tuple(Related(r.span, clean_text(r.note)) for r in finding.related),
    )
