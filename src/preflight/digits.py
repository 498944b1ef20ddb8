"""Numbers in text a repository wrote: ASCII digits only.

``int()`` and ``str.isdigit()`` accept far more than a port or a version number: ``"²".isdigit()``
is true and ``int("²")`` raises; ``int("٣")`` is 3 and ``int(" 1_0 ")`` is 10. Docker, Kubernetes
and pip read only ``0-9``, so every number preflight takes from user text goes through here.
"""

from __future__ import annotations

_DIGITS = frozenset("0123456789")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_BASE_DIGITS = {2: frozenset("01"), 8: frozenset("01234567"), 10: _DIGITS, 16: _HEX_DIGITS}
MAX_DIGITS = 64
"""Longer strings of digits are not numbers anything here reads (and int() is slow on them)."""


def is_ascii_digits(text: str, base: int = 10) -> bool:
    """True when ``text`` is one or more ASCII digits of ``base`` (2, 8, 10 or 16), nothing else."""
    allowed = _BASE_DIGITS[base]
    return 0 < len(text) <= MAX_DIGITS and all(char in allowed for char in text)


def ascii_int(text: str, base: int = 10) -> int | None:
    """The value of ``text`` when it is only ASCII digits of ``base``; None otherwise.

    No sign, no whitespace, no underscores, no Unicode digits: callers strip what their format
    allows first.
    """
    return int(text, base) if is_ascii_digits(text, base) else None
