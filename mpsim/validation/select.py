"""Rule selectors compiled once: what a rule's jsonpath-ng expression picks from a record, found fast.

Rules name the values they check with jsonpath-ng expressions (``properties.*``, ``'$set'.*``,
``config.groupKeySettings[*].groupKey``). jsonpath-ng builds a context object per match and the
full path of every match, which on a long log was most of ``mpsim validate``'s time. Each
expression is parsed once here; when it is made only of fields, wildcards and indices (every
built-in rule), it becomes a direct walk over dicts and lists that yields ``(value, key,
parents)``, and the full path is joined only for the matches a rule reports. Other expressions
(filters, slices, ``..``) run through jsonpath-ng as before. Both give the same matches in the same
order (a property test checks that on random documents).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jsonpath_ng.jsonpath as jp
from jsonpath_ng.ext import parse as parse_jsonpath

#: the ``key`` of a match that is the record itself (``$`` or ``this``); rules see ``None``
ROOT: Any = object()
_NOT_SET = object()
_SIMPLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# one step of a walk: ("fields", names) | ("all", None) | ("index", indices)
Step = tuple[str, Any]
Match = tuple[Any, Any, tuple[Any, ...]]  # (value, key, the keys leading to the value's parent)


@dataclass(frozen=True)
class Selector:
    """One expression, parsed once; ``find(record)`` yields ``(value, key, parents)`` per match."""

    expression: str
    steps: tuple[Step, ...] | None  # None: not a plain walk, jsonpath-ng finds it
    parsed: Any

    @property
    def walks(self) -> bool:
        """True when the expression runs as a direct key walk (no jsonpath-ng at run time)."""
        return self.steps is not None

    def find(self, record: Any) -> Iterable[Match]:
        if self.steps is None or jp.auto_id_field is not None:
            return [_from_datum(m) for m in self.parsed.find(record)]
        return _walk(record, self.steps)


def _walk(record: Any, steps: tuple[Step, ...]) -> list[Match]:
    current: list[Match] = [(record, ROOT, ())]
    for kind, arg in steps:
        found: list[Match] = []
        for value, key, parents in current:
            trail = parents if key is ROOT else parents + (key,)
            if kind == "fields":
                if type(value) is dict:
                    for name in arg:
                        child = value.get(name, _NOT_SET)
                        if child is not _NOT_SET:
                            found.append((child, name, trail))
                else:
                    for name in arg:
                        child = _get(value, name)
                        if child is not _NOT_SET:
                            found.append((child, name, trail))
            elif kind == "all":
                if isinstance(value, (list, tuple)):
                    found.extend((child, i, trail) for i, child in enumerate(value))
                elif isinstance(value, dict):
                    found.extend((child, name, trail) for name, child in value.items())
                else:
                    try:
                        names = tuple(value.keys())
                    except AttributeError:
                        continue
                    for name in names:
                        child = _get(value, name)
                        if child is not _NOT_SET:
                            found.append((child, name, trail))
            elif isinstance(value, (list, tuple)) and value:  # index
                size = len(value)
                found.extend((value[i], i, trail) for i in arg if -size <= i < size)
        current = found
    return current


def _get(value: Any, name: Any) -> Any:
    """``value.get(name)`` as jsonpath-ng reads a field: anything without ``get`` has no fields."""
    try:
        return value.get(name, _NOT_SET)
    except (TypeError, AttributeError):
        return _NOT_SET


def _steps(node: Any, top: bool = True) -> list[Step] | None:
    """The walk for a parsed expression, or None when it is more than fields, wildcards and indices."""
    kind = type(node)
    if kind is jp.Child:
        left, right = _steps(node.left, top), _steps(node.right, False)
        return None if left is None or right is None else left + right
    if kind is jp.This or (kind is jp.Root and top):
        return []
    if kind is jp.Fields and not node._deprecated_wildcard_use:
        return [("fields", tuple(node.fields))]
    if kind is jp.Wildcard:
        return [("all", None)]
    if kind is jp.Index:
        return [("index", tuple(node.indices))]
    return None


@lru_cache(maxsize=512)
def compile_selector(expression: str) -> Selector:
    """The selector for ``expression`` (cached: each distinct expression is parsed once per process)."""
    parsed = parse_jsonpath(expression)
    steps = _steps(parsed)
    return Selector(expression, None if steps is None else tuple(steps), parsed)


def _from_datum(match: Any) -> Match:
    parts = datum_parts(match)
    if not parts:
        return (match.value, ROOT, ())
    return (match.value, parts[-1], tuple(parts[:-1]))


def datum_parts(match: Any) -> list[Any]:
    """The field names and list indices from the root to a jsonpath-ng match."""
    parts: list[Any] = []
    while match is not None and match.context is not None:
        path = match.path
        if isinstance(path, jp.Fields):
            parts.append(path.fields[0])
        elif isinstance(path, jp.Index):
            parts.append(path.indices[0])
        match = match.context
    return list(reversed(parts))


def parts_of(key: Any, parents: tuple[Any, ...]) -> list[Any]:
    """The keys from the record to a match (empty for the record itself)."""
    return [] if key is ROOT else [*parents, key]


def segment(name: Any) -> str:
    if isinstance(name, int):
        return f"[{name}]"
    text = str(name)
    return "." + text if _SIMPLE_NAME.match(text) else ".'" + text.replace("'", "\\'") + "'"


def join_path(prefix: str, parts: Iterable[Any]) -> str:
    """``$[3].properties.'$email'``: a jsonpath-ng expression that finds the value again."""
    text = prefix + "".join(segment(p) for p in parts)
    return text.lstrip(".") or "$"


def matches(expression: str, record: Any) -> Iterator[tuple[Any, list[Any]]]:
    """``(value, parts)`` for every match: the walk's answer in the shape jsonpath-ng's would have."""
    for value, key, parents in compile_selector(expression).find(record):
        yield value, parts_of(key, parents)

