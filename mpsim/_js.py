"""JavaScript value semantics, reproduced in Python.

RudderStack's Mixpanel destination is a Node.js program, and its output depends on JavaScript
rules that Python does not share: what is truthy (``[]`` and ``{}`` are), how numbers print
(``1.0`` is ``1``), in what order object keys serialise (integer-like keys first), how a dotted
path is looked up (``get-value``) or written (``set-value``). The transformer is only a faithful
twin if it uses these rules everywhere, so they live here, in one place.

``UNDEFINED`` stands for JavaScript's ``undefined``: a key holding it exists (it counts toward
Mixpanel's 255-key limit, as in the reference) but is never serialised.
"""

from __future__ import annotations

import json
import math
import re
import sys
import threading
from collections.abc import Callable, Iterable
from enum import Enum
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

try:  # orjson writes JSON several times faster than the standard library (see `dumps`)
    import orjson as _orjson
except ImportError:  # pragma: no cover - a platform without an orjson wheel keeps the stdlib path
    _orjson = None  # type: ignore[assignment]


class _Undefined:
    """The JavaScript ``undefined`` value (a singleton)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Any = _Undefined()


class JSError(Exception):
    """A JavaScript runtime error the reference would throw (it then fails with status 500).

    Not a ``TypeError``/``ValueError`` subclass, so no generic Python handler swallows it; the
    transformer turns it into :class:`mpsim.TransformationCrash` with the same message.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


#: ``String(obj)`` / ``new Date(obj)`` of an object whose own ``toString`` is not a function (a JSON
#: object cannot hold a function): ``valueOf`` gives back the object, so no primitive is found.
TO_PRIMITIVE_ERROR = "Cannot convert object to primitive value"
#: ``array.length = x`` where ``x`` is not a valid array length.
INVALID_ARRAY_LENGTH = "Invalid array length"

_MAX_SAFE = 2**53
_MAX_INDEX = 4294967294


# --------------------------------------------------------------------------- truthiness
def truthy(value: Any) -> bool:
    """JavaScript truthiness: ``[]``, ``{}`` and ``"0"`` are truthy; ``0``, ``""``, null are not."""
    if value is None or value is UNDEFINED or value is False:
        return False
    t = type(value)
    if t is str:
        return value != ""
    if t is int or t is float:
        return value == value and value != 0
    return True


def usable(value: Any) -> bool:
    """A mapping source is used when it is truthy, or exactly ``0`` or ``false``."""
    if value is None or value is UNDEFINED:
        return False
    t = type(value)
    if t is bool:
        return True
    if t is str:
        return value != ""
    if t is float:
        return value == value
    return True


def non_empty(value: Any) -> bool:
    """The reference's ``isDefinedAndNotNullAndNotEmpty``: ``0`` and ``false`` count as values."""
    if value is None or value is UNDEFINED:
        return False
    t = type(value)
    if t is float and value != value:
        return False
    if t is dict or t is list:
        return len(value) > 0
    if t is str:
        return value.strip() != ""
    return True


# --------------------------------------------------------------------------- numbers and strings
def number_to_string(value: float | int) -> str:
    """ECMAScript ``Number::toString``: ``1.0`` → ``1``, ``1e21`` → ``1e+21``, ``1e-7`` → ``1e-7``."""
    if type(value) is int:
        if -_MAX_SAFE <= value <= _MAX_SAFE:
            return str(value)
        try:
            value = float(value)
        except OverflowError:
            return "Infinity" if value > 0 else "-Infinity"
    if value != value:
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mantissa, _, exp_text = repr(abs(value)).partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    digits = int_part + frac_part
    point = len(int_part) + (int(exp_text) if exp_text else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    k, n = len(digits), point
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        exp = ("+" if e >= 0 else "-") + str(abs(e))
        text = digits + "e" + exp if k == 1 else digits[0] + "." + digits[1:] + "e" + exp
    return sign + text


def to_string(value: Any) -> str:
    """JavaScript ``String(value)`` for JSON-like values."""
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    t = type(value)
    if t is str:
        return value
    if t is int or t is float:
        return number_to_string(value)
    if t is list or t is tuple:
        return ",".join("" if v is None or v is UNDEFINED else to_string(v) for v in value)
    if isinstance(value, dict) and "toString" in value:
        raise JSError(TO_PRIMITIVE_ERROR)
    return "[object Object]"


def utf16_tail(text: str, units: int) -> str:
    """The last ``units`` UTF-16 code units of ``text`` (``String.prototype.slice(-units)``).

    A cut through a surrogate pair leaves a lone surrogate, exactly as JavaScript does.
    """
    if len(text) <= units // 2:
        return text
    if text.isascii():
        return text[-units:]
    raw = text.encode("utf-16-le", "surrogatepass")
    return raw[-2 * units :].decode("utf-16-le", "surrogatepass")


# --------------------------------------------------------------------------- objects
def is_index_key(key: str) -> bool:
    """Canonical array index: decimal digits, no leading zero, value ≤ 4294967294."""
    return key.isdigit() and key.isascii() and (key == "0" or key[0] != "0") and int(key) <= _MAX_INDEX


#: Searched in ``"\x00" + "\x00".join(keys)``: does any key start with an ASCII digit (and so may be
#: an integer-like key)? The literal ``\x00`` first lets the regex engine skip ahead quickly.
_DIGIT_START = re.compile(r"\x00[0-9]")
#: Key sequence → whether a key starts with a digit. Objects of one schema share their keys, so
#: the answer for a properties object is usually known from the events before it.
_DIGIT_KEYS: dict[tuple[str, ...], bool] = {}


def _has_digit_key(obj: dict[str, Any]) -> bool:
    """Whether a key of ``obj`` starts with an ASCII digit (and so may be an integer-like key)."""
    keys = tuple(obj)
    known = _DIGIT_KEYS.get(keys)
    if known is None:
        known = _DIGIT_START.search("\x00" + "\x00".join(keys)) is not None
        if len(_DIGIT_KEYS) >= 4096:
            _DIGIT_KEYS.clear()
        _DIGIT_KEYS[keys] = known
    return known


def js_keys(obj: dict[str, Any]) -> list[str]:
    """``Object.keys`` order: integer-like keys ascending first, then the rest in insertion order."""
    keys = list(obj)
    if not _has_digit_key(obj):
        return keys
    index = sorted((k for k in keys if is_index_key(k)), key=int)
    if not index:
        return keys
    seen = set(index)
    return index + [k for k in keys if k not in seen]


def spread_items(value: Any) -> Iterable[tuple[str, Any]]:
    """The ``(key, value)`` pairs that ``{...value}`` copies."""
    t = type(value)
    if t is dict:
        if not _has_digit_key(value):
            return value.items()  # no integer-like keys: insertion order is JavaScript's order
        return [(k, value[k]) for k in js_keys(value)]
    if t is list:
        return [(str(i), v) for i, v in enumerate(value)]
    if t is str:
        if value.isascii() or all(ord(c) < 0x10000 for c in value):
            return [(str(i), c) for i, c in enumerate(value)]
        raw = value.encode("utf-16-le", "surrogatepass")
        units = [raw[i : i + 2].decode("utf-16-le", "surrogatepass") for i in range(0, len(raw), 2)]
        return [(str(i), c) for i, c in enumerate(units)]
    return []


def strip_undefined(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` without the keys that hold ``UNDEFINED`` (what ``JSON.stringify`` would drop): a new
    dict when there are such keys, else ``obj`` itself (the transformer passes only dicts it has
    just built, so nothing else holds them)."""
    for v in obj.values():
        if v is UNDEFINED:
            return {k: v for k, v in obj.items() if v is not UNDEFINED}
    return obj


def _container(value: Any) -> bool:
    t = type(value)
    return t is dict or t is list


def _has(target: Any, key: str) -> bool:
    if type(target) is dict:
        return key in target
    if key == "length":
        return True
    return is_index_key(key) and int(key) < len(target)


def _get(target: Any, key: str) -> Any:
    if type(target) is dict:
        return target[key]
    if key == "length":
        return len(target)
    return target[int(key)]


def get_path(target: Any, path: str) -> Any:
    """Look up a dotted path the way the ``get-value`` package does (returns ``UNDEFINED`` if absent).

    The whole path is tried as a key first; when a segment is missing, longer dot-joined runs of the
    following segments are tried as literal keys, so ``a.b.c`` finds ``{"a": {"b.c": 1}}``.
    """
    segs, plain = _SEGMENT_CACHE.get(path) or _segments(path)
    if plain and type(target) is dict and path not in target:
        # The common case: every segment is a key of a plain object on the way.
        value = target
        for seg in segs:
            if type(value) is not dict:
                break
            value = value.get(seg, _MISSING)
            if value is _MISSING:
                break
        else:
            return value
    return get_segments(target, path, segs)


_SEGMENT_CACHE: dict[str, tuple[tuple[str, ...], bool]] = {}


def _segments(path: str) -> tuple[tuple[str, ...], bool]:
    """The path's segments, and whether none of them escapes a dot (``a\\.b``)."""
    entry = _SEGMENT_CACHE.get(path)
    if entry is None:
        segs = tuple(path.split("."))
        entry = (segs, not any(seg.endswith("\\") for seg in segs))
        if len(_SEGMENT_CACHE) < 10_000:
            _SEGMENT_CACHE[path] = entry
    return entry


def get_segments(target: Any, path: str, segs: tuple[str, ...]) -> Any:
    """``get_path`` with the path already split (the mapping tables split theirs once)."""
    t = type(target)
    if t is dict:
        value = target.get(path, _MISSING)
        if value is not _MISSING:
            return value
    elif t is not list:
        return UNDEFINED
    n = len(segs)
    idx = 0
    while True:
        prop = segs[idx]
        if prop[-1:] == "\\":
            while prop.endswith("\\"):
                idx += 1
                prop = prop[:-1] + "." + (segs[idx] if idx < n else "")
        if type(target) is dict:
            value = target.get(prop, _MISSING)
        else:
            value = _get(target, prop) if _has(target, prop) else _MISSING
        if value is _MISSING:
            j = idx + 1
            while j < n:
                prop = prop + "." + segs[j]
                j += 1
                if _has(target, prop):
                    value = _get(target, prop)
                    idx = j - 1
                    break
            if value is _MISSING:
                return UNDEFINED
        target = value
        idx += 1
        if idx >= n:
            return target
        t = type(target)
        if t is not dict and t is not list:
            return UNDEFINED


_MISSING: Any = object()


class UnsafeKeyError(JSError):
    """``set-value`` refuses to write ``__proto__``, ``constructor`` and ``prototype``."""


_UNSAFE_KEYS = frozenset({"__proto__", "constructor", "prototype"})

#: What a plain object inherits from ``Object.prototype`` (all functions, except ``__proto__``).
OBJECT_PROTOTYPE = frozenset({
    "constructor", "__defineGetter__", "__defineSetter__", "hasOwnProperty", "__lookupGetter__",
    "__lookupSetter__", "isPrototypeOf", "propertyIsEnumerable", "toString", "valueOf", "__proto__",
    "toLocaleString",
})
#: What an array inherits from ``Array.prototype`` (Node 20), besides ``length`` and the above.
ARRAY_PROTOTYPE = OBJECT_PROTOTYPE | frozenset({
    "at", "concat", "copyWithin", "entries", "every", "fill", "filter", "find", "findIndex", "findLast",
    "findLastIndex", "flat", "flatMap", "forEach", "includes", "indexOf", "join", "keys", "lastIndexOf", "map",
    "pop", "push", "reduce", "reduceRight", "reverse", "shift", "slice", "some", "sort", "splice",
    "toReversed", "toSorted", "toSpliced", "unshift", "values", "with",
})


_SPLIT_CACHE: dict[str, list[str | int]] = {}


def _split_set_path(path: str) -> list[str | int]:
    """``set-value``'s split, memoised as set-value itself memoises it (trait names repeat)."""
    parts = _SPLIT_CACHE.get(path)
    if parts is None:
        parts = _split_set_path_uncached(path)
        if len(_SPLIT_CACHE) >= 10_000:
            _SPLIT_CACHE.clear()
        _SPLIT_CACHE[path] = parts
    return parts


def _split_set_path_uncached(path: str) -> list[str | int]:
    if "/" in path:
        return [path]
    parts: list[str | int] = []
    part = ""
    i = 0

    def push(text: str) -> None:
        if text.strip() != "":
            number = parse_number(text)
            if number is not None and number == number and not math.isinf(number) and number == int(number):
                parts.append(int(number))
                return
        parts.append(text)

    while i < len(path):
        ch = path[i]
        if ch == "\\":
            i += 1
            part += path[i] if i < len(path) else "undefined"
        elif ch == ".":
            push(part)
            part = ""
        else:
            part += ch
        i += 1
    if part:
        push(part)
    return parts


class _Inherited:
    """A function inherited from a prototype (``obj.toString``): what is written on it never
    reaches JSON, and what is read from it is undefined."""

    __slots__ = ()


_INHERITED = _Inherited()


def _array_length(value: Any) -> int:
    """``ToUint32`` of a value assigned to ``array.length``; RangeError unless it is exact."""
    if type(value) is bool:
        number: float | None = float(value)
    elif type(value) in (int, float):
        number = float(value)
    elif value is None:
        number = 0.0
    elif type(value) is str:
        number = parse_number(value)
    elif type(value) is list:
        number = parse_number(to_string(value))
    else:
        number = None
    if number is None or number != number or math.isinf(number) or number != int(number) \
            or not 0 <= number <= 4294967295:
        raise JSError(INVALID_ARRAY_LENGTH)
    return int(number)


def _assign(obj: Any, key: str | int, value: Any) -> None:
    if obj is _INHERITED:
        return
    if type(obj) is list:
        if isinstance(key, int) and 0 <= key <= _MAX_INDEX:
            while len(obj) <= key:
                obj.append(None)
            obj[key] = value
        elif key == "length":
            length = _array_length(value)
            del obj[length:]
            obj.extend([None] * (length - len(obj)))  # holes serialise as null
        return  # any other named property on an array never reaches JSON
    obj[key if isinstance(key, str) else number_to_string(key)] = value


def _lookup(obj: Any, key: str | int) -> Any:
    """``obj[key]`` with what is inherited: a prototype function, or an array's ``length``."""
    if obj is _INHERITED:
        return UNDEFINED
    if type(obj) is list:
        if isinstance(key, int):
            return obj[key] if 0 <= key < len(obj) else UNDEFINED
        if key == "length":
            return len(obj)
        return _INHERITED if key in ARRAY_PROTOTYPE else UNDEFINED
    name = key if isinstance(key, str) else number_to_string(key)
    if name in obj:
        return obj[name]
    return _INHERITED if name in OBJECT_PROTOTYPE else UNDEFINED


def set_path(target: dict[str, Any], path: str, value: Any) -> None:
    """Write ``value`` at a dotted path the way the ``set-value`` package does.

    ``a.b`` creates ``{"a": {"b": …}}``, an integer segment creates a list, ``\\.`` escapes a dot,
    and a key containing ``/`` is used literally. Every segment is checked for the unsafe names
    first. A segment naming an inherited member (``toString.x`` on a plain object) walks into
    that function, as JavaScript does, so the write lands nowhere that JSON shows.
    """
    if not path:
        return
    keys = _split_set_path(path)
    obj: Any = target
    for i, key in enumerate(keys):
        if isinstance(key, str) and key in _UNSAFE_KEYS:
            raise UnsafeKeyError(f'Cannot set unsafe key: "{key}"')
        if i == len(keys) - 1:
            _assign(obj, key, value)
            break
        nxt = keys[i + 1]
        current = _lookup(obj, key)
        if isinstance(nxt, int) and type(current) is not list:
            current = []
            _assign(obj, key, current)
        elif not (_container(current) or current is _INHERITED):
            current = {}
            _assign(obj, key, current)
        obj = current


def without_path(target: Any, path: str) -> Any:
    """``unset-value`` without touching the caller's data: ``target`` itself when nothing is
    deleted, else a copy in which only the containers on the way to the path are new.

    Emptied parents stay behind; deleting a list element leaves a hole (``null`` in JSON).
    """
    if type(target) is not dict:
        return target
    if path in target:
        out = dict(target)
        del out[path]
        return out
    if get_path(target, path) is UNDEFINED:
        return target
    segs = path.split(".")
    last = segs.pop()
    while segs and segs[-1].endswith("\\"):
        last = segs.pop()[:-1] + "." + last
    chain: list[Any] = [target]
    for seg in segs:
        obj = _lookup(chain[-1], seg)
        if not _container(obj):
            return target
        chain.append(obj)
    parent = chain[-1]
    new: Any
    if type(parent) is dict:
        if last not in parent:
            return target
        new = dict(parent)
        del new[last]
    elif is_index_key(last) and int(last) < len(parent):
        new = list(parent)
        new[int(last)] = None  # `delete arr[i]` leaves a hole
    else:
        return target
    for holder, seg in zip(reversed(chain[:-1]), reversed(segs), strict=True):
        copy = dict(holder)
        copy[seg] = new
        new = copy
    return new


_NUMBER_RE = re.compile(r"^[+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$")


def parse_number(text: str) -> float | None:
    """JavaScript ``Number(text)`` for strings; ``None`` stands for NaN."""
    s = text.strip()
    if s == "":
        return 0.0
    low = s.lower()
    if len(s) > 2 and low[0] == "0" and low[1] in "xob":
        try:
            return float(int(s[2:], {"x": 16, "o": 8, "b": 2}[low[1]]))
        except ValueError:
            return None
    if not _NUMBER_RE.match(s):
        return None
    return float(s.replace("Infinity", "inf"))


# --------------------------------------------------------------------------- JSON.stringify
_NUM_MARK = "\x00mpsim-num\x00"
_NUM_MARK_RE = re.compile(r'"\\u0000mpsim-num\\u0000([^"]*)"')
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


class _Flags:
    __slots__ = ("marked",)

    def __init__(self) -> None:
        self.marked = False


_PLAIN = frozenset({str, bool, type(None)})


def _normalise(value: Any, flags: _Flags) -> Any:
    """Turn a JSON-like value into one that ``json.dumps`` prints as ``JSON.stringify`` would.

    Copy-on-write: a container that needs no change is returned as it is, so typical payloads
    are only scanned, not rebuilt.
    """
    t = type(value)
    if t is dict:
        if _has_digit_key(value):
            return {k: _normalise(value[k], flags) for k in js_keys(value) if value[k] is not UNDEFINED}
        out = None
        for key, item in value.items():
            ti = type(item)
            if ti in _PLAIN or (ti is int and -_MAX_SAFE <= item <= _MAX_SAFE):
                continue
            new = _normalise(item, flags) if item is not UNDEFINED else _DROP
            if new is not item:
                if out is None:
                    out = dict(value)
                if new is _DROP:
                    del out[key]
                else:
                    out[key] = new
        return value if out is None else out
    if t is list or t is tuple:
        items = None
        for i, item in enumerate(value):
            ti = type(item)
            if ti in _PLAIN or (ti is int and -_MAX_SAFE <= item <= _MAX_SAFE):
                continue
            new = None if item is UNDEFINED else _normalise(item, flags)
            if new is not item:
                if items is None:
                    items = list(value)
                items[i] = new
        return value if items is None and t is list else (items if items is not None else list(value))
    if t is str or value is None or t is bool:
        return value
    if t is int:
        if -_MAX_SAFE <= value <= _MAX_SAFE:
            return value
        flags.marked = True
        text = number_to_string(value)
        return None if "Infinity" in text else _NUM_MARK + text
    if t is float:
        if value != value or math.isinf(value):
            return None
        if value.is_integer():
            if -_MAX_SAFE <= value <= _MAX_SAFE:
                return int(value)
        elif abs(value) >= 1e-4:
            return value
        flags.marked = True
        return _NUM_MARK + number_to_string(value)
    if isinstance(value, Enum):  # written as its value, as orjson writes it
        return _normalise(value.value, flags)
    if isinstance(value, dict):
        return _normalise(dict(value), flags)
    if isinstance(value, (list, tuple)):
        return _normalise(list(value), flags)
    if isinstance(value, (int, float)):
        return _normalise(float(value) if isinstance(value, float) else int(value), flags)
    if value is UNDEFINED:
        return None
    return str(value)


_DROP: Any = object()


def _escape_surrogates(text: str) -> str:
    # Pairs that Python holds as two code points become one character; lone ones are escaped.
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return _SURROGATE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


#: What in a ``json.dumps`` text JavaScript would print differently: a key of digits (integer-like
#: keys come first in JavaScript), a float that Python and JavaScript format differently (``1.0``,
#: ``-0.0``, ``1e-05``, ``1e+16``), NaN/Infinity, a run of 16 digits (an integer that may exceed
#: 2^53) and lone surrogates. A ``"`` inside a JSON string is always escaped, so ``"5":`` only
#: matches a real key; a match inside a string is a false alarm that merely takes the careful path.
_DIGIT_KEY_RE = re.compile(rb'"[0-9]+":')
_POINT_ZERO_RE = re.compile(rb"\.0(?:[,}\]]|$)")
_EXPONENT_RE = re.compile(rb"e[+-][0-9]")
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_SIXTEEN_DIGITS = b"0" * 16


def _prints_differently(text: str) -> bool:
    """Whether ``text`` (Python's JSON) may differ from ``JSON.stringify`` of the same value.

    Cheap substring tests on the UTF-8 bytes (digits folded to ``0``) gate the regular
    expressions, so a typical payload costs a few C-speed scans.
    """
    try:
        raw = text.encode()
    except UnicodeEncodeError:  # a lone surrogate
        return True
    folded = raw.translate(_DIGITS_TO_ZERO)
    return bool(
        _SIXTEEN_DIGITS in folded
        or (b'0":' in folded and _DIGIT_KEY_RE.search(raw))
        or (b".0" in raw and _POINT_ZERO_RE.search(raw))
        or ((b"e+" in raw or b"e-" in raw) and _EXPONENT_RE.search(raw))
        or b"NaN" in raw or b"Infinity" in raw
    )


def _undefined_default(value: Any) -> Any:
    raise TypeError("not plain JSON")


def _compact_encoder(default: Any = None) -> Callable[[Any], str]:
    """Python's C JSON encoder, compact and raw UTF-8, called without ``JSONEncoder``'s Python layers."""
    if c_make_encoder is None:  # pragma: no cover - CPython always has the accelerator
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False,
                                default=default).encode
    chunks = c_make_encoder(None, default, encode_basestring, None, ":", ",", False, False, True)
    return lambda value: "".join(chunks(value, 0))


_fast_encode = _compact_encoder(_undefined_default)


def _stdlib_dumps(value: Any) -> str:
    """``dumps`` through Python's C encoder, checked by :func:`_prints_differently`."""
    try:
        text = _fast_encode(value)
    except (TypeError, ValueError):
        return _careful(value)
    except RecursionError:
        return deep_call(_careful_dumps, value)  # type: ignore[no-any-return]
    return _careful(value) if _prints_differently(text) else text


#: orjson refuses, instead of writing, what JavaScript prints differently or what is not plain
#: JSON: integers beyond 2^53, subclasses, dataclasses and dates (``default`` raises for them),
#: lone surrogates and nesting deeper than 254. NaN and ±Infinity it writes as ``null``, as
#: ``JSON.stringify`` does.
_ORJSON_OPTIONS = 0 if _orjson is None else (
    _orjson.OPT_STRICT_INTEGER | _orjson.OPT_PASSTHROUGH_SUBCLASS | _orjson.OPT_PASSTHROUGH_DATACLASS
    | _orjson.OPT_PASSTHROUGH_DATETIME)
#: orjson writes floats as JavaScript does (shortest round trip) except in three forms: ``1.0``
#: and ``-0.0`` (JavaScript: ``1``, ``0``), exponents for 1e16 to 1e21 (``1e+16``; JavaScript
#: writes the digits) and for 1e-6 to 1e-5 (``1e-6``; JavaScript ``0.000001``). Below 1e-6
#: both write the same exponent form (``1.5e-7``).
_ORJSON_EXPONENTS = (b"e+", b"e-6")


_FOLDED_DIGIT_KEY_RE = re.compile(rb'0":')  # in the text with digits folded to 0: a key ending in a digit
_ORJSON_SMALL_EXPONENT_RE = re.compile(rb"e-6")


def _orjson_dumps(value: Any) -> str:
    """``dumps`` through orjson, with a few scans of its text for what may differ from
    ``JSON.stringify``: an integer-like key (JavaScript writes those first) or a float in one of the
    forms above. A match inside a string is a false alarm that merely takes the careful path."""
    try:
        raw = _orjson.dumps(value, _undefined_default, _ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return _careful(value)
    text = raw.decode()
    if ((_FOLDED_DIGIT_KEY_RE.search(raw.translate(_DIGITS_TO_ZERO)) and _DIGIT_KEY_RE.search(raw))
            or (".0" in text and _POINT_ZERO_RE.search(raw))
            or "+" in text or _ORJSON_SMALL_EXPONENT_RE.search(raw)):
        return _careful(value)
    return text


def _careful(value: Any) -> str:
    try:
        return _careful_dumps(value)
    except RecursionError:  # nesting deeper than Python's stack: JavaScript has room for it
        return deep_call(_careful_dumps, value)  # type: ignore[no-any-return]


#: ECMAScript ``JSON.stringify(value)``: compact, raw UTF-8, JavaScript number and key order.
#:
#: Most payloads print the same in both languages, so a C encoder (orjson where installed, else
#: Python's) writes them directly and a few byte scans of its text confirm it; only a text with
#: something JavaScript prints differently is rebuilt by the careful path (:func:`_careful_dumps`,
#: the definition). ``tests/test_js_semantics.py`` holds both fast paths to it.
dumps: Callable[[Any], str] = _stdlib_dumps if _orjson is None else _orjson_dumps


def _careful_dumps(value: Any) -> str:
    flags = _Flags()
    text = _ENCODER.encode(_normalise(value, flags))
    if flags.marked:
        text = _NUM_MARK_RE.sub(lambda m: m.group(1), text)
    if _SURROGATE_RE.search(text):
        text = _escape_surrogates(text)
    return text


def _js_int(text: str) -> int | float:
    """A JSON integer as JavaScript reads it: a double, so beyond 2^53 it rounds (…993 → …992)."""
    if len(text) < 16:
        return int(text)
    number = float(text)  # correctly rounded, like JavaScript; a huge literal is ±Infinity
    return int(number) if abs(number) <= _MAX_SAFE else number


def loads(text: str | bytes) -> Any:
    """``JSON.parse``: integers beyond 2^53 become the double JavaScript reads, and nesting of any
    depth parses (Python's parser stops at its recursion limit; V8's has none)."""
    try:
        return json.loads(text, parse_int=_js_int)
    except RecursionError:
        return deep_call(json.loads, text, parse_int=_js_int)


_DEEP_LOCK = threading.Lock()


def deep_call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``fn`` where very deep nesting fits: a thread with a large stack and a raised
    recursion limit. Used only after ``RecursionError``, so ordinary input pays nothing."""
    result: list[Any] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
            error.append(exc)

    with _DEEP_LOCK:
        limit, size = sys.getrecursionlimit(), threading.stack_size()
        try:
            sys.setrecursionlimit(max(limit, 200_000))
            threading.stack_size(512 * 1024 * 1024)
            worker = threading.Thread(target=run, name="mpsim-deep")
            worker.start()
            worker.join()
        finally:
            threading.stack_size(size)
            sys.setrecursionlimit(limit)
    if error:
        raise error[0]
    return result[0]


def utf8_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def strict_equal(a: Any, b: Any) -> bool:
    """Deep equality that, unlike ``==``, tells ``true`` from ``1`` and ``1`` from ``"1"``."""
    ta, tb = type(a), type(b)
    if ta is bool or tb is bool:
        return ta is tb and a == b
    if (ta is int or ta is float) and (tb is int or tb is float):
        return a == b
    if ta is not tb:
        return False
    if ta is dict:
        return a.keys() == b.keys() and all(strict_equal(a[k], b[k]) for k in a)
    if ta is list:
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
