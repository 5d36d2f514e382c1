"""User and group profiles: the operations of /engage and /groups (ingestion spec §6, §7).

A profile is a plain dict of properties plus bookkeeping. Operations are a table: name → function
that applies one operation's value to the properties and returns a problem message or ``None``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_PROFILE_PROPERTIES = 2000
MAX_NAME = 255
MAX_STRING = 255

#: Operation keys in the order they are applied when a record carries several (spec §6.1, a choice).
OPERATION_ORDER = ("$set", "$set_once", "$add", "$union", "$append", "$remove", "$unset")
USER_OPERATIONS = frozenset(OPERATION_ORDER) | {"$delete"}
GROUP_OPERATIONS = frozenset({"$set", "$set_once", "$union", "$remove", "$unset", "$delete"})
#: Operations that create a profile that does not exist yet.
CREATING = frozenset({"$set", "$set_once", "$add", "$union", "$append"})


@dataclass
class Profile:
    """One user or group profile."""

    key: str
    properties: dict[str, Any] = field(default_factory=dict)
    created_seq: int = 0
    updated_seq: int = 0

    def copy(self) -> Profile:
        return Profile(self.key, copy.deepcopy(self.properties), self.created_seq, self.updated_seq)


class OperationError(ValueError):
    """A profile record Mixpanel rejects; the message says which field and why."""


#: values whose JSON text is equal exactly when they are equal and of one type (no text needed to compare)
_PLAIN = (str, int, bool, type(None))


_JSON_TYPES = (*_PLAIN, float, list, dict)


def _same(a: Any, b: Any) -> bool:
    """JSON equality: ``1`` is not ``"1"`` and ``true`` is not ``1``; key order does not matter.

    JSON data is compared value by value (floats by their text, so ``-0.0`` is not ``0.0``); anything
    else is compared by its JSON text.
    """
    kind = type(a)
    if kind is not type(b):
        if kind in _JSON_TYPES and type(b) in _JSON_TYPES:
            return False  # different JSON types never print the same
    elif kind in _PLAIN:
        return bool(a == b)
    elif kind is float:
        return repr(a) == repr(b)
    elif kind is list:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    elif kind is dict and all(type(k) is str for k in a) and all(type(k) is str for k in b):
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def truncate(value: Any) -> Any:
    """Strings longer than 255 characters are cut, inside lists and objects too (spec §2.5)."""
    if isinstance(value, str):
        return value[:MAX_STRING]
    if isinstance(value, list):
        return [truncate(v) for v in value]
    if isinstance(value, dict):
        return {str(k)[:MAX_NAME]: truncate(v) for k, v in value.items()}
    return value


def needs_truncation(value: Any) -> bool:
    """Whether ``truncate`` would change anything in ``value`` (a long string or name, a key that is not text).

    A walk without building anything: most events have nothing to cut and keep their containers.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            if len(item) > MAX_STRING:
                return True
        elif kind is dict:
            for key in item:
                if type(key) is not str or len(key) > MAX_NAME:
                    return True
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif isinstance(item, (str, list, dict)):
            return True  # subclasses: truncate makes plain ones of them
    return False


def _need_object(op: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise OperationError(f"'{op}' is invalid: must be an object of property names to values")
    return value


def _set(props: dict[str, Any], value: Any) -> list[str]:
    props.update(truncate(_need_object("$set", value)))
    return []


def _set_once(props: dict[str, Any], value: Any) -> list[str]:
    for key, item in truncate(_need_object("$set_once", value)).items():
        props.setdefault(key, item)
    return []


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _add(props: dict[str, Any], value: Any) -> list[str]:
    increments = _need_object("$add", value)
    for key, amount in increments.items():
        if not _is_number(amount):
            raise OperationError(f"'$add.{key}' is invalid: must be a number")
    notes = []
    for key, amount in increments.items():
        key = key[:MAX_NAME]
        current = props.get(key, 0)
        if not _is_number(current):
            notes.append(f"$add skipped '{key}': the stored value is not a number")
            continue
        props[key] = current + amount
    return notes


def _list_op(name: str, combine: Callable[[list[Any], Any], list[Any]], creates: bool) -> Callable[..., list[str]]:
    def apply(props: dict[str, Any], value: Any) -> list[str]:
        notes = []
        for key, item in truncate(_need_object(name, value)).items():
            current = props.get(key)
            if current is None and key not in props:
                if creates:
                    props[key] = combine([], item)
                continue
            if not isinstance(current, list):
                notes.append(f"{name} skipped '{key}': the stored value is not a list")
                continue
            props[key] = combine(current, item)
        return notes

    return apply


def _union(current: list[Any], item: Any) -> list[Any]:
    out = list(current)
    for value in item if isinstance(item, list) else [item]:
        if not any(_same(value, existing) for existing in out):
            out.append(value)
    return out


def _unset(props: dict[str, Any], value: Any) -> list[str]:
    names = value if isinstance(value, list) else [value]
    for name in names:
        if isinstance(name, str):
            props.pop(name, None)
    return []


OPERATIONS: dict[str, Callable[[dict[str, Any], Any], list[str]]] = {
    "$set": _set,
    "$set_once": _set_once,
    "$add": _add,
    "$union": _list_op("$union", _union, creates=True),
    "$append": _list_op("$append", lambda current, item: [*current, item], creates=True),
    "$remove": _list_op("$remove", lambda current, item: [v for v in current if not _same(v, item)], creates=False),
    "$unset": _unset,
}


def operations_in(record: dict[str, Any], allowed: frozenset[str]) -> list[str]:
    """The operation keys of a record, in application order; raise if one is not allowed here."""
    ops = [k for k in record if k in USER_OPERATIONS]
    for op in ops:
        if op not in allowed:
            raise OperationError(f"'{op}' is not supported on this endpoint")
    if not ops:
        raise OperationError("the record has no operation ($set, $set_once, $add, $union, $append, $remove, "
                             "$unset or $delete)")
    if "$delete" in ops:
        return ["$delete"]
    return [op for op in OPERATION_ORDER if op in ops]


#: journal(operation, property, value, before, after, effect) — how ``apply_operations`` reports each change
Journal = Callable[[str, "str | None", Any, Any, Any, str], None]
_ABSENT = object()


def _effect(op: str, before: Any, after: Any) -> str:
    if before is _ABSENT and after is _ABSENT:
        return "ignored" if op in ("$remove", "$unset") else "unchanged"
    if before is _ABSENT:
        return "set"
    if after is _ABSENT:
        return "removed"
    if op == "$set_once":
        return "ignored"
    return "unchanged" if _same(before, after) else "changed"


def _named(op: str, value: Any) -> list[str]:
    """The property names one operation's value names (after truncation, as they are stored)."""
    if op == "$unset":
        names = value if isinstance(value, list) else [value]
        return [n for n in names if isinstance(n, str)]
    return [str(k)[:MAX_NAME] for k in value] if isinstance(value, dict) else []


def apply_operations(store: dict[str, Profile], key: str, record: dict[str, Any], ops: list[str], seq: int,
                     last_seen: str | None, journal: Journal | None = None) -> list[str]:
    """Apply a record's operations to ``store[key]``; all or nothing. Returns notes on skipped keys.

    ``journal`` (optional) hears every property each operation touched, with the value before and
    after and the effect (``set``, ``changed``, ``unchanged``, ``ignored``, ``removed``, ``deleted``),
    once the record has been applied.
    """
    if ops == ["$delete"]:
        existed = store.pop(key, None) is not None
        if journal is not None:
            journal("$delete", None, None, existed, None, "deleted" if existed else "ignored")
        return []
    profile = store.get(key)
    if profile is None and not any(op in CREATING for op in ops):
        if journal is not None:
            for op in ops:
                journal(op, None, record[op], None, None, "ignored")
        return []
    props = dict(profile.properties) if profile else {}
    notes: list[str] = []
    entries: list[tuple[str, str | None, Any, Any, Any, str]] = []
    for op in ops:
        names = _named(op, record[op]) if journal is not None else []
        # the journal keeps the values themselves, not copies: no operation changes a value in place (each
        # makes a new one), so what it saw stays as it was, and profiles shared with snapshots stay safe too
        before = {n: props.get(n, _ABSENT) for n in names}
        notes += OPERATIONS[op](props, record[op])
        for name in names:
            value = record[op].get(name) if isinstance(record[op], dict) else None
            after = props.get(name, _ABSENT)
            entries.append((op, name, value, before[name], after, _effect(op, before[name], after)))
    if len(props) > MAX_PROFILE_PROPERTIES:
        raise OperationError(f"the profile would hold {len(props)} properties; the limit is {MAX_PROFILE_PROPERTIES}")
    if profile is None and not props:
        return notes  # a profile is only created when at least one property is set
    if last_seen is not None:
        props["$last_seen"] = last_seen
    # a new object, never a change in place: snapshots share the old one
    store[key] = Profile(key, props, seq if profile is None else profile.created_seq, seq)
    if journal is not None:
        for op, prop, value, before_value, after, effect in entries:
            journal(op, prop, value, None if before_value is _ABSENT else before_value,
                    None if after is _ABSENT else after, effect)
    return notes
