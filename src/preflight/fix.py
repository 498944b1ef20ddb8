"""`check --fix` / `--diff`: turn findings' edits into file changes.

A rule attaches an :class:`~preflight.findings.Autofix` to a finding when the repair is
determined; the engine resolves its end-of-file edits against the file's text (so every
reporter shows a real range), and this module applies them: on the bytes on disk (line endings,
encoding and everything outside the edited range kept), never outside the checked root, never
to a file a tool writes (lock files: the message says which command regenerates them), never
two overlapping edits in one pass (the second finding's fix waits for the next run, as ruff's
does).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from preflight.findings import Applicability, Edit, Finding
from preflight.redact import redact_source

__all__ = ["Applied", "apply_fixes", "diff_text", "resolve", "would_apply"]

# Files a tool writes and regenerates: a fix names the command instead of editing them.
_GENERATED = frozenset(
    {"uv.lock", "poetry.lock", "pdm.lock", "pipfile.lock", "requirements.lock", "pylock.toml"}
)


def resolve(finding: Finding, texts: dict[str, str]) -> Finding:
    """``finding`` with its end-of-file edits placed against ``texts`` (path → text), and its
    fix dropped when an edit names a file preflight did not read or a generated one."""
    fix = finding.autofix
    if fix is None:
        return finding
    edits: list[Edit] = []
    for edit in fix.edits:
        text = texts.get(edit.path)
        if text is None or edit.path.rsplit("/", 1)[-1].lower() in _GENERATED:
            return replace(finding, autofix=None)
        found = _resolved(edit, text)
        if found is None:
            return replace(finding, autofix=None)
        edits.append(found)
    return replace(finding, autofix=replace(fix, edits=tuple(edits)))


def _resolved(edit: Edit, text: str) -> Edit | None:
    """``edit`` as a plain range of ``text`` (None: it does not apply there)."""
    if edit.codemod:
        return _codemod(edit, text)
    if edit.toml:
        return _toml_added(edit, text)
    if edit.yaml:
        return _yaml_added(edit, text)
    if edit.find:
        return _found(edit, text)
    return _placed(edit, text) if edit.line == 0 else edit


def _found(edit: Edit, text: str) -> Edit | None:
    lines = text.split("\n")
    if not 1 <= edit.line <= len(lines):
        return None
    if edit.to_end_of_line and edit.end_line > edit.line:
        return _found_through(edit, lines)
    line = lines[edit.line - 1].removesuffix("\r")
    at = line.find(edit.find, max(0, edit.col - 1))
    if at < 0:
        return None
    end = at + len(edit.find)
    if edit.to_end_of_line:
        if line.rstrip().endswith("\\"):
            return None  # the instruction goes on: not one line to replace
        end = len(line)
        if edit.path.endswith((".yml", ".yaml")):  # a comment after the value stays
            comment = re.search(r"\s+#", line[at:])
            end = at + comment.start() if comment is not None else end
    return Edit(edit.path, edit.line, at + 1, edit.line, end + 1, edit.content)


def _found_through(edit: Edit, lines: list[str]) -> Edit | None:
    """:meth:`Edit.replace_through`: from the word ``find`` to the end of ``end_line``."""
    if edit.end_line > len(lines):
        return None
    word = re.compile(rf"(?<!\S){re.escape(edit.find)}(?!\S)")
    for number in range(edit.line, edit.end_line + 1):
        line = lines[number - 1].removesuffix("\r")
        if number > edit.line and re.match(r"\s*#", line):
            continue  # a comment line inside a continued instruction (Docker allows them)
        found = word.search(line, edit.col - 1 if number == edit.line else 0)
        if found is not None:
            break
    else:
        return None
    last = lines[edit.end_line - 1].removesuffix("\r")
    if last.rstrip().endswith("\\"):
        return None  # the instruction goes on past the lines the rule knows
    return Edit(edit.path, number, found.start() + 1, edit.end_line, len(last) + 1, edit.content)


def _codemod(edit: Edit, text: str) -> Edit | None:
    """A libcst codemod's change as the one range it rewrote."""
    from preflight.codemods import CODEMODS

    run = CODEMODS.get(edit.codemod)
    changed = run(text, edit.content) if run is not None else None
    return _difference(edit.path, text, changed) if changed is not None else None


def _toml_added(edit: Edit, text: str) -> Edit | None:
    """The TOML addition as a range: tomlkit edits the document round-trip (comments, quoting
    and the array's layout kept) and the range is where its text differs from the file's."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        document = tomlkit.parse(text)
        node: object = document
        for key in edit.toml.split("."):
            node = node[key]  # type: ignore[index]
        if isinstance(node, list):
            node.append(edit.content)
        elif isinstance(node, dict):
            name, _, value = edit.content.partition(" = ")
            # a plain value: an item parsed elsewhere carries its trivia (and eats the blank
            # line that ends the table)
            node[name] = tomlkit.parse(f"v = {value}")["v"].unwrap()
        else:
            return None
        changed = tomlkit.dumps(document)
    except (TOMLKitError, KeyError, TypeError, ValueError):
        return None
    return _difference(edit.path, text, changed)


def _yaml_added(edit: Edit, text: str) -> Edit | None:
    """A YAML addition as a range: lines inserted after the mapping (or list) they join, in
    the file's indentation; nothing else is rewritten (see :mod:`preflight.parse.yamledit`)."""
    from preflight.parse.yamledit import add

    return add(edit, text)


def _difference(path: str, before: str, after: str) -> Edit | None:
    """The one range of ``before`` that ``after`` replaces (common head and tail kept)."""
    if before == after:
        return None
    head = 0
    limit = min(len(before), len(after))
    while head < limit and before[head] == after[head]:
        head += 1
    tail = 0
    while tail < limit - head and before[len(before) - 1 - tail] == after[len(after) - 1 - tail]:
        tail += 1
    start, end = _position(before, head), _position(before, len(before) - tail)
    return Edit(path, start[0], start[1], end[0], end[1], after[head : len(after) - tail])


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _placed(edit: Edit, text: str) -> Edit:
    lines = text.split("\n")
    if text.endswith("\n") or text == "":
        at = (len(lines), 1)  # the empty line after the last newline
        content = edit.content
    else:
        at = (len(lines), len(lines[-1]) + 1)
        content = "\n" + edit.content
    return Edit(edit.path, at[0], at[1], at[0], at[1], content)


def would_apply(finding: Finding, unsafe: bool) -> bool:
    """Whether ``--fix`` (with ``--unsafe-fixes`` when ``unsafe``) applies this finding's fix."""
    fix = finding.autofix
    return fix is not None and (unsafe or fix.applicability is Applicability.SAFE)


@dataclass(slots=True)
class Applied:
    """What applying fixes to one root would change."""

    before: dict[str, str] = field(default_factory=dict)  # path → text on disk
    after: dict[str, str] = field(default_factory=dict)  # path → text with the fixes
    fixed: list[Finding] = field(default_factory=list)
    skipped: list[tuple[Finding, str]] = field(default_factory=list)  # (finding, why)

    def write(self, root: Path) -> None:
        """Write every changed file, as bytes, keeping its mode."""
        for path, text in self.after.items():
            if text == self.before[path]:
                continue
            target = root / path
            data = text.encode("utf-8", "surrogateescape")
            tmp = target.with_name(f".{target.name}.preflight-fix")
            tmp.write_bytes(data)
            os.chmod(tmp, target.stat().st_mode & 0o7777)
            os.replace(tmp, target)


def apply_fixes(
    root: Path, findings: Iterable[Finding], unsafe: bool, texts: Mapping[str, str] | None = None
) -> Applied:
    """The files of ``root`` with every applicable fix of ``findings`` applied (nothing is
    written: :meth:`Applied.write` does that). A file ``texts`` holds is taken from there, not
    the disk (``--diff``: what earlier passes changed)."""
    applied = Applied()
    if texts:
        applied.before.update(texts)
    taken: dict[str, list[tuple[int, int]]] = {}  # path → offset ranges already edited
    planned: dict[str, list[tuple[int, int, str]]] = {}
    real_root = root.resolve()
    for finding in findings:
        fix = finding.autofix
        if fix is None or not would_apply(finding, unsafe):
            continue
        ranges: list[tuple[str, int, int, str]] = []
        why = None
        for edit in fix.edits:
            text = _read(real_root, edit.path, applied)
            if text is None:
                why = f"{edit.path} cannot be read inside the checked root"
                break
            start = _offset(text, edit.line, edit.col)
            end = _offset(text, edit.end_line, edit.end_col)
            if start is None or end is None or end < start:
                why = f"{edit.path} changed since it was read"
                break
            content = _newlines(edit.content, text)
            if (start, end, content) in planned.get(edit.path, ()):
                continue  # the same edit another finding asked for: made once, fixes both
            if any(_overlaps((start, end), other) for other in taken.get(edit.path, ())):
                why = "another fix edits the same text; run --fix again"
                break
            ranges.append((edit.path, start, end, content))
        if why is not None:
            applied.skipped.append((finding, why))
            continue
        for path, start, end, content in ranges:
            taken.setdefault(path, []).append((start, end))
            planned.setdefault(path, []).append((start, end, content))
        applied.fixed.append(finding)
    for path, edits in planned.items():
        text = applied.before[path]
        # from the end, so earlier offsets stay valid; insertions at one point keep their order
        for _, (start, end, content) in sorted(
            enumerate(edits), key=lambda item: (item[1][0], item[0]), reverse=True
        ):
            text = text[:start] + content + text[end:]
        applied.after[path] = text
    return applied


def _read(root: Path, path: str, applied: Applied) -> str | None:
    if path in applied.before:
        return applied.before[path]
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        return None
    try:
        text = target.read_bytes().decode("utf-8", "surrogateescape")
    except OSError:
        return None
    applied.before[path] = text
    return text


def _offset(text: str, line: int, col: int) -> int | None:
    """The offset of 1-based (``line``, ``col``) in ``text`` (lines end at "\\n"), or None."""
    start = 0
    for _ in range(line - 1):
        found = text.find("\n", start)
        if found < 0:
            return None
        start = found + 1
    end = text.find("\n", start)
    end = len(text) if end < 0 else end
    if text[start:end].endswith("\r"):
        end -= 1  # CR LF: the CR is the line's ending, not a column
    offset = start + col - 1
    return offset if start <= offset <= end else None


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    if a[0] == a[1] or b[0] == b[1]:  # an insertion collides only inside a replaced range
        return b[0] < a[0] < b[1] or a[0] < b[0] < a[1]
    return a[0] < b[1] and b[0] < a[1]


def _newlines(content: str, text: str) -> str:
    """``content`` with the file's line ending (CR LF files stay CR LF)."""
    first = text.find("\n")
    if first > 0 and text[first - 1] == "\r":
        return content.replace("\r\n", "\n").replace("\n", "\r\n")
    return content


def diff_text(display_root: str, applied: Applied) -> str:
    """Unified diffs of every changed file, paths as the user gave the root. The lines are
    compared as written and printed redacted, as a report's source lines are (a URL's
    password, a Secret's values, the value of a sensitive name): a diff shows the lines around
    an edit, and no secret is ever printed; a changed line of a Secret shows as masked."""
    out: list[str] = []
    for path in sorted(applied.after):
        raw_before, raw_after = applied.before[path], applied.after[path]
        if raw_before == raw_after:
            continue
        shown = f"{display_root.rstrip('/')}/{path}" if display_root not in ("", ".") else path
        old, new = _lines(raw_before), _lines(raw_after)
        old_shown, new_shown = _redacted(old), _redacted(new)
        out.append(f"--- {shown}\n+++ {shown}\n")
        matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
        for group in matcher.get_grouped_opcodes(3):
            first, last = group[0], group[-1]
            out.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n")
            for tag, i1, i2, j1, j2 in group:
                if tag == "equal":
                    out.extend(f" {line}\n" for line in old_shown[i1:i2])
                    continue
                out.extend(f"-{line}\n" for line in old_shown[i1:i2])
                out.extend(f"+{line}\n" for line in new_shown[j1:j2])
    return "".join(out)


def _lines(text: str) -> list[str]:
    """The lines of a text, without the empty one after its last newline."""
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def _range(start: int, stop: int) -> str:
    """A unified diff's range: 1-based start, and the count when it is not 1."""
    count = stop - start
    first = start + 1 if count else start
    return f"{first}" if count == 1 else f"{first},{count}"


def _redacted(lines: list[str]) -> list[str]:
    return redact_source(lines, range(1, len(lines) + 1))
