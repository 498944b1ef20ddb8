"""``preflight check --add-ignore``: a suppression marker for every current finding.

As ruff's ``--add-noqa``: each finding gets ``# preflight: ignore[CODE] -- <reason>`` where the
filter stage will read it, in the comment syntax of its file's kind, and never where it would
change what the file means:

* Dockerfile: alone on the line above the instruction (its first line, so continuation lines
  and heredoc bodies are covered), since a Dockerfile has no end-of-line comments and an
  exec-form ``CMD [...]`` followed by one stops being JSON;
* Python: at the end of the line, or of the multi-line string the line is in;
* YAML: at the end of the line, or of the line of the key (or list item) that holds the
  multi-line scalar the line is in, or alone above that key when the scalar starts on it;
* TOML, requirements: at the end of the line (a continued requirement: alone above it);
* env files, Procfiles, shell scripts, Makefiles, Tiltfiles, bake files: alone on the line
  above (a tool may read an end-of-line ``#`` as part of the value or command).

A marker already there for another code is extended (``ignore[A]`` → ``ignore[A, B]``), so a
second run adds nothing. A file is written back in the encoding and line endings it was read
in. Files that are neither UTF-8 nor UTF-16/32 with a byte-order mark, kinds without comments
(JSON, lock files) and lines no marker can reach are left alone and reported. The caller
re-checks the repository afterwards (``verify``): a file whose markers did not suppress what
they were written for, or that now has a finding it did not have, is restored byte for byte.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import re
import tempfile
import tokenize
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from preflight.discover import FileKind, classify, real_name
from preflight.findings import Finding
from preflight.parse.yamllayout import yaml_layout
from preflight.suppressions import parse_marker

PLACEHOLDER = "<reason>"
_NOT_MARKED = frozenset({"PF002", "PF003"})  # about markers themselves: fix them instead
_MARKER = re.compile(r"#\s*preflight\s*:\s*ignore(?!-file)", re.IGNORECASE)
_NEWLINE = re.compile(r"\r\n|\r|\n")
# Byte-order marks, longest first (UTF-32 LE starts with UTF-16 LE's): a file is written back
# in the encoding it was read in (kubectl and pip read UTF-16 manifests and requirements).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF8, "utf-8"),
)
_HEREDOC = re.compile(r"<<-?\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?")
_ESCAPE_DIRECTIVE = re.compile(r"^\s*#\s*escape\s*=\s*(\\|`)\s*$", re.I)
_ABOVE_KINDS = frozenset(
    {
        FileKind.ENV_EXAMPLE,
        FileKind.ENV_FILE,
        FileKind.PROCFILE,
        FileKind.SHELL,
        FileKind.MAKEFILE,
        FileKind.TILTFILE,
        FileKind.BAKE,
        FileKind.DOCKERIGNORE,
    }
)
_YAML_KINDS = frozenset(
    {
        FileKind.COMPOSE,
        FileKind.YAML,
        FileKind.WORKFLOW,
        FileKind.GITLAB_CI,
        FileKind.SKAFFOLD,
        FileKind.KUSTOMIZATION,
        FileKind.CLOUDBUILD,
        FileKind.HELM_VALUES,
    }
)

Where = Literal["end", "above"]
Placement = tuple[Where, int] | str  # where the marker goes, or why it cannot go anywhere


@dataclass(slots=True)
class Outcome:
    """What ``--add-ignore`` did."""

    markers: int = 0  # markers written or extended
    findings: int = 0  # findings they were written for
    files: dict[str, bytes] = field(default_factory=dict)  # changed file → its original bytes
    skipped: list[tuple[Finding, str]] = field(default_factory=list)  # and why
    placed: dict[str, list[Finding]] = field(default_factory=dict)  # file → findings marked
    written: dict[str, int] = field(default_factory=dict)  # file → markers written in it


def add_markers(root: Path, findings: Sequence[Finding]) -> Outcome:
    """Write the markers for ``findings`` (paths relative to ``root``) into their files."""
    outcome = Outcome()
    by_file: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.code not in _NOT_MARKED:
            by_file.setdefault(finding.span.path, []).append(finding)
    for rel, items in sorted(by_file.items()):
        _mark_file(root, rel, items, outcome)
    return outcome


def verify(
    root: Path, outcome: Outcome, before: Sequence[Finding], after: Iterable[Finding]
) -> list[str]:
    """Restore each changed file whose markers did not work: a finding it was marked for is
    still reported, or a finding appeared in it that the run before did not have (a marker
    that changed what the file says). The restored files, sorted."""
    remaining = Counter(_identity(finding) for finding in after)
    known = Counter(_identity(finding) for finding in before)
    broken = {identity[1] for identity in remaining if remaining[identity] > known[identity]}
    for rel, marked in outcome.placed.items():
        if any(remaining[_identity(finding)] for finding in marked):
            broken.add(rel)
    restored = sorted(rel for rel in broken if rel in outcome.files)
    for rel in restored:
        _write(root / real_name(rel), outcome.files.pop(rel))
        marked = outcome.placed.pop(rel, [])
        outcome.findings -= len(marked)
        outcome.markers -= outcome.written.pop(rel, 0)
        outcome.skipped.extend(
            (finding, "a marker here would not suppress it; add one by hand") for finding in marked
        )
    return restored


def _identity(finding: Finding) -> tuple[str, str, str]:
    """A finding by what it says, not where: inserting a line moves findings below it."""
    return finding.code, finding.span.path, re.sub(r":\d+(:\d+)?\b", "", finding.message)


def _mark_file(root: Path, rel: str, findings: list[Finding], outcome: Outcome) -> None:
    def skip(why: str, items: Iterable[Finding] = findings) -> None:
        outcome.skipped.extend((finding, why) for finding in items)

    kind = classify(rel)
    if kind is None or kind in (FileKind.LOCK, FileKind.README) or rel.endswith(".json"):
        skip("this kind of file has no comments")
        return
    path = root / real_name(rel)
    try:
        if os.path.commonpath([path.resolve(), root.resolve()]) != str(root.resolve()):
            skip("the file is outside the checked root")
            return
        data = path.read_bytes()
    except (OSError, ValueError) as exc:
        skip(f"cannot read it: {getattr(exc, 'strerror', None) or exc}")
        return
    bom, encoding = next(
        ((mark, name) for mark, name in _BOMS if data.startswith(mark)), (b"", "utf-8")
    )
    try:
        text = data[len(bom) :].decode(encoding)
    except UnicodeDecodeError:
        skip(f"the file is not {encoding.upper()}")
        return
    parts = _NEWLINE.split(text)
    breaks = _NEWLINE.findall(text)
    lines = parts
    newline = breaks[0] if breaks else "\n"
    placements = _placements(kind, lines)
    targets: dict[tuple[Where, int], list[str]] = {}
    marked: list[Finding] = []
    for finding in findings:
        placement = placements(finding.span.line) if 0 < finding.span.line <= len(lines) else None
        if placement is None:
            skip("its line is not in the file", [finding])
            continue
        if isinstance(placement, str):
            skip(placement, [finding])
            continue
        if placement[0] == "end" and not lines[placement[1] - 1].strip():
            placement = ("above", placement[1])  # alone on a blank line it would cover the next
        codes = targets.setdefault(placement, [])
        if finding.code not in codes:
            codes.append(finding.code)
        marked.append(finding)
    if not targets:
        return
    order = {"end": 0, "above": 1}
    for (where, number), codes in sorted(targets.items(), key=lambda t: (-t[0][1], order[t[0][0]])):
        if where == "end":
            lines[number - 1] = _at_end(lines[number - 1], codes)
        else:
            _above(lines, breaks, number, codes, newline)
    new_text = "".join(
        line + (breaks[index] if index < len(breaks) else "") for index, line in enumerate(lines)
    )
    new_data = bom + new_text.encode(encoding)
    if new_data == data:
        return
    try:
        _write(path, new_data)
    except OSError as exc:
        skip(f"cannot write it: {exc.strerror or exc}", marked)
        return
    outcome.files[rel] = data
    outcome.placed[rel] = marked
    outcome.written[rel] = len(targets)
    outcome.markers += len(targets)
    outcome.findings += len(marked)


def _write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` at once (a reader never sees half a file), keeping its
    permissions."""
    directory = path.parent
    handle, temporary = tempfile.mkstemp(prefix=".preflight-", dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        with contextlib.suppress(OSError):
            os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _marker(codes: Sequence[str]) -> str:
    return f"# preflight: ignore[{', '.join(codes)}] -- {PLACEHOLDER}"


def _merged(line: str, codes: Sequence[str]) -> str | None:
    """``line`` with ``codes`` added to the well-formed ``ignore[...]`` marker it holds; the
    line itself when that marker already names them or is bare; None without a marker."""
    match = _MARKER.search(line)
    if match is None:
        return None
    parsed = parse_marker("ignore", line[match.end() :])
    if parsed.malformed is not None:
        return None
    if parsed.codes is None:
        return line  # a bare `ignore` covers every code already
    missing = [code for code in codes if code not in parsed.codes]
    if not missing:
        return line
    end = match.end() + parsed.length
    marker = f"# preflight: ignore[{', '.join((*parsed.codes, *missing))}]"
    return line[: match.start()] + marker + line[end:]


def _at_end(line: str, codes: Sequence[str]) -> str:
    merged = _merged(line, codes)
    if merged is not None:
        return merged
    return f"{line.rstrip()}  {_marker(codes)}"


def _above(
    lines: list[str], breaks: list[str], number: int, codes: Sequence[str], newline: str
) -> None:
    """A marker alone above line ``number`` (1-based), or ``codes`` added to one already in
    the comments right above it."""
    above = number - 1
    while above >= 1 and lines[above - 1].lstrip().startswith("#"):
        merged = _merged(lines[above - 1], codes)
        if merged is not None and _MARKER.match(lines[above - 1].lstrip()):
            lines[above - 1] = merged
            return
        above -= 1
    target = lines[number - 1]
    indent = target[: len(target) - len(target.lstrip())]
    lines.insert(number - 1, indent + _marker(codes))
    breaks.insert(number - 1, newline)


def _placements(kind: FileKind, lines: list[str]) -> Callable[[int], Placement]:
    """Where the marker for a finding on a line goes, for this file."""
    if kind is FileKind.DOCKERFILE:
        return _dockerfile(lines)
    if kind in (FileKind.PYTHON, FileKind.GUNICORN_CONFIG):
        return _python(lines)
    if kind in _YAML_KINDS:
        return _yaml(lines)
    if kind in (FileKind.PYPROJECT, FileKind.PREFLIGHT_CONFIG):
        return _toml(lines)
    starts = _logical_starts(lines)
    if kind is FileKind.REQUIREMENTS:

        def requirement(line: int) -> Placement:
            first = starts[line - 1]
            continued = first != line or lines[line - 1].rstrip().endswith("\\")
            return ("above", first) if continued else ("end", line)

        return requirement
    if kind in _ABOVE_KINDS:
        return lambda line: ("above", starts[line - 1])
    return lambda line: "this kind of file has no comments"


def _logical_starts(lines: list[str]) -> list[int]:
    """For each line, the first line of the ``\\``-continued line it belongs to."""
    starts: list[int] = []
    for number, line in enumerate(lines, start=1):
        continued = number > 1 and lines[number - 2].rstrip().endswith("\\")
        starts.append(starts[-1] if continued else number)
        del line
    return starts


def _dockerfile(lines: list[str]) -> Callable[[int], Placement]:
    """Each instruction line's first line (continuations and heredoc bodies included)."""
    owner: dict[int, int] = {}
    escape = "\\"
    directives = True
    start = 0
    continued = False
    heredocs: list[str] = []
    for number, line in enumerate(lines, start=1):
        if heredocs:
            owner[number] = start
            if line.strip() == heredocs[0]:
                heredocs.pop(0)
            continue
        if directives:
            escaped = _ESCAPE_DIRECTIVE.match(line)
            if escaped is not None:
                escape = escaped.group(1)
                continue
            directives = line.lstrip().startswith("#") and "=" in line
        if line.lstrip().startswith("#"):
            continue  # a comment line neither starts nor ends an instruction
        if not continued:
            if not line.strip():
                continue
            start = number
        owner[number] = start
        keyword = lines[start - 1].split(None, 1)[0].upper() if lines[start - 1].strip() else ""
        if keyword in ("RUN", "COPY", "ADD"):
            heredocs.extend(match.group(1) for match in _HEREDOC.finditer(line))
        continued = line.rstrip().endswith(escape)

    def place(line: int) -> Placement:
        first = owner.get(line)
        return ("above", first) if first is not None else "not an instruction's line"

    return place


def _python(lines: list[str]) -> Callable[[int], Placement]:
    text = "\n".join(lines)
    strings: list[tuple[int, int]] = []  # multi-line strings: (first line, last line)
    fstring_start = getattr(tokenize, "FSTRING_START", None)
    fstring_end = getattr(tokenize, "FSTRING_END", None)
    opened: list[int] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.STRING and token.end[0] > token.start[0]:
                strings.append((token.start[0], token.end[0]))
            elif fstring_start is not None and token.type == fstring_start:
                opened.append(token.start[0])
            elif fstring_end is not None and token.type == fstring_end and opened:
                first = opened.pop()
                if token.end[0] > first:
                    strings.append((first, token.end[0]))
    except (tokenize.TokenError, SyntaxError, ValueError):
        strings = []

    def can_end(line: int) -> bool:
        inside = any(first <= line < last for first, last in strings)
        return not inside and not lines[line - 1].rstrip().endswith("\\")

    def place(line: int) -> Placement:
        for first, last in strings:
            if first <= line < last:
                line = last  # a marker after the string covers all of it
                break
        if can_end(line):
            return ("end", line)
        return "the line is continued with `\\`: no comment can follow it"

    return place


def _yaml(lines: list[str]) -> Callable[[int], Placement]:
    layout = yaml_layout("", "\n".join(lines))

    def place(line: int) -> Placement:
        if layout is None or layout.can_end_with_comment(line):
            return ("end", line)
        holder = layout.holder.get(line)
        if holder is None:
            return "the line is inside a multi-line value no marker can reach"
        if layout.can_end_with_comment(holder):
            return ("end", holder)
        return ("above", holder)

    return place


def _toml(lines: list[str]) -> Callable[[int], Placement]:
    """Lines inside a multi-line string (``\"\"\"``/``'''``) cannot take a comment."""
    inside: set[int] = set()
    delimiter: str | None = None
    for number, line in enumerate(lines, start=1):
        position = 0
        while True:
            if delimiter is None:
                found = [(line.find(d, position), d) for d in ('"""', "'''")]
                found = [(at, d) for at, d in found if at >= 0]
                hash_at = line.find("#", position)
                if not found or (0 <= hash_at < min(found)[0]):
                    break
                position, delimiter = min(found)[0] + 3, min(found)[1]
            else:
                at = line.find(delimiter, position)
                if at < 0:
                    break
                position, delimiter = at + 3, None
        if delimiter is not None:
            inside.add(number)

    def place(line: int) -> Placement:
        if line in inside:
            return "the line is inside a multi-line string"
        return ("end", line)

    return place
