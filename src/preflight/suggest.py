"""Did-you-mean: the known word closest to what the user typed (a rule code or name, a
configuration key, an option's value), or None when nothing is close enough to be a typo."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# difflib's own default: `selct`/`select` (0.91) and `PKG01`/`PKG001` (0.91) pass; `PKG999`
# against `PKG001` (0.5) does not — a wrong number is not a typo of another rule.
CUTOFF = 0.6


def closest(word: str, candidates: Iterable[str], cutoff: float = CUTOFF) -> str | None:
    """The candidate most like ``word`` (case-insensitively); None when none is close enough,
    or when two are equally close (`PRB08` is as near PRB001 as PRB007: no guess is better)."""
    candidates = list(candidates)
    folded = word.casefold()
    scored: dict[str, float] = {}
    for candidate in candidates:
        matcher = difflib.SequenceMatcher(None, folded, candidate.casefold())
        if matcher.real_quick_ratio() >= cutoff and matcher.quick_ratio() >= cutoff:
            scored.setdefault(candidate, matcher.ratio())
    ranked = sorted(scored.items(), key=lambda item: -item[1])
    if not ranked or ranked[0][1] < cutoff:
        return _only_extension(folded, candidates)
    if len(ranked) > 1 and ranked[1][1] == ranked[0][1]:
        return None
    return ranked[0][0]


def _only_extension(folded: str, candidates: Iterable[str]) -> str | None:
    """The one candidate that starts with what was typed (`provided` for
    `provided-executables`, too short a part of it for a typo), if there is exactly one."""
    if len(folded) < 4:
        return None
    longer = [c for c in dict.fromkeys(candidates) if c.casefold().startswith(folded)]
    return longer[0] if len(longer) == 1 else None


def did_you_mean(word: str, candidates: Iterable[str], cutoff: float = CUTOFF) -> str:
    """``"; did you mean `X`?"`` for the closest candidate, or ``""``."""
    match = closest(word, candidates, cutoff)
    return f"; did you mean `{match}`?" if match is not None else ""
