"""Parse results as plain JSON, and back: the parse cache's only format.

Reading a cache must never run code, whoever wrote the file. So the format is data only, and
decoding builds nothing but plain values (str, int, float, bool, None), lists, tuples, dicts,
sets, frozensets and instances of an explicit allowlist: the dataclasses preflight's own parse
modules define (``ALLOWED``, built from the modules named in ``_MODULES``, never from a name in
the file). A tag outside the allowlist, a wrong field count or any other surprise is a
``CodecError``: the entry is re-parsed, never guessed at.

Encoding is exact or refused: a value of any other type (a subclass of ``str``, a ``datetime``
from TOML, an enum) raises ``CodecError`` and the entry is simply not cached, so a result read
back is always equal to, and of the same types as, the one the parser returned.

Shape: a scalar is itself; every JSON array starts with an integer tag (integers, not names:
they cost the reader nothing to make). ``[0, …]`` tuple, ``[1, line, col, end_line, end_col]``
a span in the entry's own file (most of a result is spans, and they share its path), ``[2, …]``
list, ``[3, …]`` frozenset, ``[4, …]`` set, ``[5, k1, v1, k2, v2, …]`` dict, ``[6, "nan"]`` a
non-finite float, ``[7, path, line, …]`` a span in another file, and ``[8 + i, field1, …]`` the
i-th allowlisted dataclass, fields in declaration order. ``SCHEMA`` fingerprints the allowlist
(every type's name and fields): a cache written under another schema is not read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import operator
from collections.abc import Callable
from importlib import import_module
from typing import Any

from preflight.spans import Span

# Modules whose dataclasses a parse result may hold: the parsers (preflight.parse.run.PARSERS)
# and the types they share. A new parser module that returns a new type must be listed here;
# until it is, its results are not cached (CodecError), which is slower but never wrong.
_MODULES = (
    "preflight.spans",
    "preflight.parse",
    "preflight.parse.buildcmds",
    "preflight.parse.compose",
    "preflight.parse.dockerfile",
    "preflight.parse.dockerignore",
    "preflight.parse.envfile",
    "preflight.parse.helm",
    "preflight.parse.kustomization",
    "preflight.parse.lockfile",
    "preflight.parse.manifests",
    "preflight.parse.procfile",
    "preflight.parse.pyproject",
    "preflight.parse.python.results",
    "preflight.parse.requirements",
    "preflight.parse.skaffold",
)
TUPLE, SPAN, LIST, FROZENSET, SET, DICT, FLOAT, SPAN_ELSEWHERE = range(8)
_FIRST_CLASS = 8


class CodecError(ValueError):
    """A value that cannot be encoded exactly, or data that is not an encoded parse result."""


def _allowed() -> list[type[Any]]:
    """The dataclasses the parse modules define, in a fixed order (Span has its own tags)."""
    out: list[type[Any]] = []
    for name in _MODULES:
        module = import_module(name)
        for value in vars(module).values():
            if not (isinstance(value, type) and dataclasses.is_dataclass(value)):
                continue
            if value.__module__ != name or value is Span:
                continue  # imported from elsewhere: listed by its own module
            if any(not f.init for f in dataclasses.fields(value)):
                raise TypeError(f"{value.__qualname__}: a field with init=False cannot round-trip")
            out.append(value)
    return sorted(out, key=lambda cls: (cls.__module__, cls.__qualname__))


ALLOWED: tuple[type[Any], ...] = tuple(_allowed())
_FIELDS: dict[type[Any], tuple[str, ...]] = {
    cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in ALLOWED
}
_TAG_OF: dict[type[Any], int] = {cls: _FIRST_CLASS + i for i, cls in enumerate(ALLOWED)}
_BY_TAG: dict[int, tuple[type[Any], int]] = {
    _TAG_OF[cls]: (cls, len(_FIELDS[cls])) for cls in ALLOWED
}
SCHEMA = hashlib.sha256(
    repr(
        [(cls.__module__, cls.__qualname__, _FIELDS[cls]) for cls in ALLOWED]
        + [tuple(f.name for f in dataclasses.fields(Span))]
    ).encode()
).hexdigest()[:16]
_EXACT = frozenset({str, int, bool, type(None)})  # encoded as themselves


def _getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving a value's fields in order, in one C call where it can."""
    if len(names) > 1:
        return operator.attrgetter(*names)
    return lambda value: tuple(getattr(value, name) for name in names)


_GETTER: dict[type[Any], tuple[int, Callable[[Any], tuple[Any, ...]]]] = {
    cls: (_TAG_OF[cls], _getter(_FIELDS[cls])) for cls in ALLOWED
}
_SEQUENCE_TAGS: dict[type[Any], int] = {tuple: TUPLE, list: LIST, frozenset: FROZENSET, set: SET}
_PLAIN = frozenset({str, int, bool, float, type(None)})  # decoded as themselves


def encode(value: object, path: str) -> Any:
    """``value`` (a parse result of the file at ``path``) as JSON-ready lists and scalars."""
    kind = type(value)
    if kind in _EXACT:
        return value
    if kind is float:
        assert isinstance(value, float)
        return value if math.isfinite(value) else [FLOAT, repr(value)]
    if kind is Span:
        assert isinstance(value, Span)
        position = [value.line, value.col, value.end_line, value.end_col]
        return [SPAN, *position] if value.path == path else [SPAN_ELSEWHERE, value.path, *position]
    sequence = _SEQUENCE_TAGS.get(kind)
    if sequence is not None:
        assert isinstance(value, (tuple, list, frozenset, set))
        return [sequence, *[i if type(i) in _EXACT else encode(i, path) for i in value]]
    if kind is dict:
        assert isinstance(value, dict)
        out: list[Any] = [DICT]
        for key, item in value.items():
            out.append(encode(key, path))
            out.append(encode(item, path))
        return out
    known = _GETTER.get(kind)
    if known is None:
        raise CodecError(f"not a parse result type: {kind.__module__}.{kind.__qualname__}")
    tag, fields = known
    return [tag, *[i if type(i) in _EXACT else encode(i, path) for i in fields(value)]]


def decode(data: Any, path: str) -> Any:
    """The parse result ``encode(result, path)`` gave; ``CodecError`` for anything else."""
    kind = type(data)
    if kind in _PLAIN:
        return data
    if kind is not list or not data:
        raise CodecError(f"unexpected {kind.__name__} in a cached parse result")
    tag = data[0]
    if tag == TUPLE:  # the commonest: most of a result is tuples and spans
        return tuple(_items(data, path)) if len(data) > 1 else ()
    if tag == SPAN:
        if len(data) != 5:
            raise CodecError("a span has four numbers")
        _, line, col, end_line, end_col = data
        if type(line) is not int or type(col) is not int:
            raise CodecError("a span's positions are integers")
        if type(end_line) is not int or type(end_col) is not int:
            raise CodecError("a span's positions are integers")
        return Span(path, line, col, end_line, end_col)
    if type(tag) is not int:
        raise CodecError("an array without a tag")
    if tag < _FIRST_CLASS:
        return _CONTAINERS[tag](data, path)
    known = _BY_TAG.get(tag)
    if known is None:
        raise CodecError(f"not a parse result type: {tag}")
    cls, arity = known
    if len(data) != arity + 1:
        raise CodecError(f"{cls.__qualname__}: {len(data) - 1} fields, expected {arity}")
    try:
        return cls(*[item if type(item) in _PLAIN else decode(item, path) for item in data[1:]])
    except (TypeError, ValueError, AttributeError) as exc:  # a field of the wrong type
        raise CodecError(f"{cls.__qualname__}: {exc}") from exc


def _items(data: list[Any], path: str) -> list[Any]:
    return [item if type(item) in _PLAIN else decode(item, path) for item in data[1:]]


def _dict(data: list[Any], path: str) -> dict[Any, Any]:
    if len(data) % 2 != 1:
        raise CodecError("a dict has as many values as keys")
    items = _items(data, path)
    try:
        return dict(zip(items[0::2], items[1::2], strict=True))
    except TypeError as exc:  # an unhashable key
        raise CodecError(str(exc)) from exc


def _hashed(build: Callable[[list[Any]], Any]) -> Callable[[list[Any], str], Any]:
    def decoder(data: list[Any], path: str) -> Any:
        try:
            return build(_items(data, path))
        except TypeError as exc:  # an unhashable member
            raise CodecError(str(exc)) from exc

    return decoder


def _float(data: list[Any], path: str) -> float:
    if len(data) != 2 or data[1] not in ("nan", "inf", "-inf"):
        raise CodecError("not a non-finite float")
    return float(data[1])


def _span_elsewhere(data: list[Any], path: str) -> Span:
    if len(data) != 6 or type(data[1]) is not str:
        raise CodecError("a span elsewhere has a path and four numbers")
    if any(type(n) is not int for n in data[2:]):
        raise CodecError("a span's positions are integers")
    return Span(data[1], data[2], data[3], data[4], data[5])


def _never(data: list[Any], path: str) -> Any:
    raise CodecError("a misplaced tag")


_CONTAINERS: tuple[Callable[[list[Any], str], Any], ...] = (
    _never,  # TUPLE: handled in decode
    _never,  # SPAN: handled in decode
    _items,  # LIST
    _hashed(frozenset),
    _hashed(set),
    _dict,
    _float,
    _span_elsewhere,
)
