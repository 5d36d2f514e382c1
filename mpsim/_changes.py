"""A structural diff of JSON-like values, path by path.

The payloads people compare here are nested Mixpanel records, and the useful answer is "which
property changed" (``properties.$browser``), not "the whole object differs". ``true`` and ``1`` are
told apart, as they are in JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ._js import strict_equal

_MISSING: Any = object()


@dataclass(frozen=True)
class Change:
    """One difference: where it is, what kind it is, and the values on each side."""

    path: str
    kind: str  # added | removed | changed | type-changed
    before: Any = None
    after: Any = None

    def describe(self) -> str:
        show = _short
        if self.kind == "added":
            return f"{self.path}: added {show(self.after)}"
        if self.kind == "removed":
            return f"{self.path}: removed {show(self.before)}"
        return f"{self.path}: {show(self.before)} → {show(self.after)}"


def _short(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def changes(before: Any, after: Any, path: str = "") -> list[Change]:
    """Every difference between two JSON-like values, depth first, keys in ``before``'s order."""
    out: list[Change] = []
    _walk(before, after, path, out)
    return out


def _walk(a: Any, b: Any, path: str, out: list[Change]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in a:
            if key in b:
                _walk(a[key], b[key], _join(path, key), out)
            else:
                out.append(Change(_join(path, key), "removed", a[key], None))
        for key in b:
            if key not in a:
                out.append(Change(_join(path, key), "added", None, b[key]))
        return
    if isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            if i >= len(b):
                out.append(Change(_join(path, i), "removed", a[i], None))
            elif i >= len(a):
                out.append(Change(_join(path, i), "added", None, b[i]))
            else:
                _walk(a[i], b[i], _join(path, i), out)
        return
    if strict_equal(a, b):
        return
    kind = "changed" if _json_type(a) == _json_type(b) else "type-changed"
    out.append(Change(path or "$", kind, a, b))
