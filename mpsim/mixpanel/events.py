"""Event records: validation, normalisation and the stored form (ingestion spec §2, §3).

``check_event`` turns one received record into a :class:`StoredEvent` or raises
:class:`RecordError` naming the field and the reason, in the words ``failed_records`` uses.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

from .._js import _orjson, number_to_string
from .geo import event_location
from .profiles import MAX_STRING, needs_truncation, truncate

IDENTITY_EVENTS = frozenset({"$identify", "$create_alias", "$merge"})
FORBIDDEN_IDS = frozenset({
    "00000000-0000-0000-0000-000000000000", "anon", "anonymous", "nil", "none", "null", "n/a", "na",
    "undefined", "unknown", "<nil>", "0", "-1", "true", "false", "[]", "{}",
})
MIN_IMPORT_MS = 31_536_000_000  # 1971-01-01T00:00:00Z
FUTURE_MS = 3_600_000
TRACK_WINDOW_MS = 5 * 86_400_000
MAX_EVENT_BYTES = 1_048_576
MAX_KEYS = 255
MAX_ITEMS = 255
MAX_DEPTH = 3
MAX_COLLECTION_BYTES = 8 * 1024
_INSERT_ID = re.compile(r"^[A-Za-z0-9-]{1,36}$")
_SURROGATE = re.compile("[\ud800-\udfff]")
TIME_MESSAGE = "'properties.time' is invalid: must be specified as seconds since epoch"


class RecordError(ValueError):
    """One record Mixpanel rejects: ``field`` is the dotted path, ``message`` the reason."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled with both arguments (a replay's worker sends prepared records, errors included, back)
        return (type(self), (self.field, self.message))


@dataclass(slots=True)
class StoredEvent:
    """An event as Mixpanel stores it (immutable once stored; only its resolved id changes)."""

    seq: int
    name: str
    distinct_id: str
    time_ms: int
    insert_id: str
    properties: dict[str, Any]
    endpoint: str
    host: str
    received_ms: int
    generated_insert_id: bool = False
    groups: tuple[tuple[str, str], ...] = ()

    @property
    def dedup_key(self) -> tuple[str, str, int, str] | None:
        if self.generated_insert_id:
            return None
        return (self.name, self.distinct_id, self.time_ms, self.insert_id)


def forbidden_id(value: str) -> bool:
    return value.strip().lower() in FORBIDDEN_IDS


def id_text(value: Any, field_name: str) -> str | None:
    """A distinct id as text: numbers become their decimal text, other non-strings are invalid."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise RecordError(field_name, f"'{field_name}' is invalid: must be a string")
    text = value if isinstance(value, str) else number_to_string(value)
    if forbidden_id(text):
        raise RecordError(field_name, f"'{field_name}' is invalid: {text!r} is a placeholder value Mixpanel refuses")
    return text


def time_ms(value: Any) -> int:
    """Seconds or milliseconds since the epoch (``|t| < 1e10`` is seconds) as integer ms."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise RecordError("properties.time", TIME_MESSAGE)
    return int(math.floor(value * 1000 if abs(value) < 1e10 else value))


#: values a shape check has nothing to say about
_SCALARS = (int, float, bool, type(None))


def _fine(value: Any) -> bool:
    """A value no shape check can fail: a number, a boolean, null, or ASCII text (no surrogate possible)."""
    kind = type(value)
    return kind in _SCALARS or (kind is str and value.isascii())


def _check_shape(value: Any, path: str, depth: int) -> None:
    if isinstance(value, str):
        if not value.isascii() and _SURROGATE.search(value):
            raise RecordError(path, f"{path} is invalid: string should be valid utf8")
        return
    if isinstance(value, dict):
        if depth > MAX_DEPTH:
            raise RecordError(path, f"'{path}' is invalid: objects may be nested at most {MAX_DEPTH} levels deep")
        if len(value) >= MAX_KEYS:
            raise RecordError(path, f"'{path}' is invalid: must have fewer than {MAX_KEYS} keys (has {len(value)})")
        for key, item in value.items():
            if not _fine(item):
                _check_shape(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list):
        if len(value) >= MAX_ITEMS:
            raise RecordError(path, f"'{path}' is invalid: lists must have fewer than {MAX_ITEMS} items "
                                    f"(has {len(value)})")
        for item in value:
            if not _fine(item):
                _check_shape(item, path, depth + 1 if isinstance(item, dict) else depth)


#: A record whose compact JSON is at most this long cannot hold a list or object over the 8 KB limit: the limit
#: is measured with ``", "`` and ``": "`` separators, which at most double a value's compact length.
_NO_BIG_COLLECTIONS = MAX_COLLECTION_BYTES // 2


def _check_key_count(props: dict[str, Any]) -> None:
    if len(props) >= MAX_KEYS:
        raise RecordError("properties", f"'properties' is invalid: must have fewer than {MAX_KEYS} keys "
                                        f"(has {len(props)})")


def validate_properties(props: dict[str, Any], record_size: int | None = None) -> None:
    """Key count, nesting, list length and size limits on event properties (spec §2.5).

    ``record_size`` (the compact size of the record holding ``props``, when known) skips measuring
    each list and object when none can be over the limit.
    """
    measure = record_size is None or record_size > _NO_BIG_COLLECTIONS
    _check_key_count(props)
    for key, value in props.items():
        if not (type(key) is str and key.isascii()) and _SURROGATE.search(key):
            raise RecordError(f"properties.{key}", f"properties.{key} is invalid: string should be valid utf8")
        kind = type(value)
        if kind in _SCALARS or (kind is str and value.isascii()):  # _fine(value), inline: once per property
            continue
        path = f"properties.{key}"
        _check_shape(value, path, 1 if isinstance(value, dict) else 0)
        if measure and isinstance(value, (dict, list)):
            size = len(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))
            if size > MAX_COLLECTION_BYTES:
                raise RecordError(path, f"'{path}' is invalid: lists and objects must be at most 8 KB "
                                        f"(is {size} bytes)")


_SIZE_TEXT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
#: where orjson's compact JSON can differ from ``json.dumps``'s for plain records: floats in exponent form
#: (``1e-7`` vs ``1e-07``) and small floats orjson writes in full (``0.00001`` vs ``1e-05``). Found with
#: ``bytes.translate`` (digits → ``0``, ``e``/``E`` → ``e``, ``.`` kept, the rest → space) and two
#: substring searches: a regex over the text takes several times longer.
_FLOAT_SHAPES = bytes(0x30 if 0x30 <= b <= 0x39 else 0x65 if b in (0x45, 0x65) else 0x2E if b == 0x2E else 0x20
                      for b in range(256))


def compact_json(record: Any) -> bytes | None:
    """The record as ``json.dumps(record, ensure_ascii=False, separators=(",", ":"))`` writes it, in
    UTF-8, written by orjson (several times faster); None when orjson's text would differ or it
    cannot write the record (lone surrogates, integers past 64 bits): then only the standard encoder
    knows. Only for plain records (``wire.loads_plain``): orjson writes infinity as ``null``.
    """
    if _orjson is None:
        return None
    try:
        raw = _orjson.dumps(record)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return None
    shapes = raw.translate(_FLOAT_SHAPES)
    if b"0e" in shapes or b"0.0000" in shapes:
        return None
    return raw


def event_size(record: dict[str, Any]) -> int:
    """The record's size in bytes as compact UTF-8 JSON (one encoder serves all; ASCII text needs no encoding).

    ``check_event`` measures plain records through ``compact_json`` first, several times faster.
    """
    text = _SIZE_TEXT(record)
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _flat(raw: bytes) -> bool:
    """Whether a record's compact JSON has no object or list below its properties (conservative: a
    brace or bracket inside a string counts too)."""
    return raw.count(b"{") == 2 and b"[" not in raw


#: for ``_short_strings``: a quote stays a quote, every other byte becomes ``x``
_QUOTES_ONLY = bytes(0x22 if b == 0x22 else 0x78 for b in range(256))
_LONG_RUN = b"x" * (MAX_STRING + 1)


def _short_strings(raw: bytes) -> bool:
    """Whether no string or name in a record's compact JSON can be longer than ``MAX_STRING`` characters.

    Between two quotes there is one string or a stretch of punctuation and numbers; a string of n
    characters takes at least n bytes. An escaped quote (``\\"``) would split one string in two: then
    the answer is no (conservative), as it is for any stretch past the limit. C-speed passes only.
    """
    return b'\\"' not in raw and _LONG_RUN not in raw.translate(_QUOTES_ONLY)


@dataclass
class Context:
    """What the record check needs to know about the request and the project."""

    endpoint: str  # track | import
    host: str
    received_ms: int
    simplified: bool
    request_ip: str | None = None
    use_request_ip: bool = False
    #: makes the $insert_id Mixpanel generates for /track events that carry none
    new_insert_id: Callable[[], str] = field(default=lambda: uuid4().hex)
    #: the project's IP → location resolver, if it has one
    geo: Any = None
    #: the records were read from plain JSON text (``wire.loads_plain``): sizing and shape checks may use orjson's text
    plain_json: bool = False


def simplified_ids(props: dict[str, Any]) -> None:
    """Derive ``distinct_id`` from ``$user_id``/``$device_id`` in Simplified projects (spec §5.1)."""
    user = props.get("$user_id")
    device = props.get("$device_id")
    user = None if user in ("", None) else user
    device = None if device in ("", None) else device
    for name, value in (("$user_id", user), ("$device_id", device)):
        if value is not None:
            id_text(value, f"properties.{name}")
    if user is not None:
        props["distinct_id"] = id_text(user, "properties.$user_id")
    elif device is not None:
        text = id_text(device, "properties.$device_id") or ""
        props["distinct_id"] = text if text.startswith("$device:") else "$device:" + text
    else:
        current = props.get("distinct_id")
        if isinstance(current, str) and current.startswith("$device:"):
            props["$device_id"] = current[len("$device:"):]
        elif isinstance(current, (str, int, float)) and not isinstance(current, bool) and current != "":
            props["$user_id"] = current


def _identity_event_id(name: str, props: dict[str, Any]) -> Any:
    """The id an identity event is stored under when it has no distinct_id (spec §4.7, a choice)."""
    if name == "$identify":
        return props.get("$identified_id")
    ids = props.get("$distinct_ids")
    if name == "$merge" and isinstance(ids, list) and ids:
        return ids[0]
    return None


def check_event(record: Any, ctx: Context) -> tuple[str, dict[str, Any], int | None, str | None, bool]:
    """Validate and normalise one event record (spec §2).

    Returns ``(name, properties, time_ms, distinct_id, generated_insert_id)``; raises ``RecordError``.
    """
    if not isinstance(record, dict) or not isinstance(record.get("properties"), dict):
        raise RecordError("properties", "'properties' is invalid: must be an object")
    name = record.get("event")
    if not isinstance(name, str) or name == "":
        raise RecordError("event", "'event' is invalid: must be a non-empty string")
    # the record is not changed below: one measure serves every use. Its compact JSON (plain records only)
    # also answers, at C speed, whether the properties are flat and their strings short, the usual case.
    raw = compact_json(record) if ctx.plain_json else None
    size = len(raw) if raw is not None else event_size(record)
    if size >= MAX_EVENT_BYTES:
        raise RecordError("properties", "'properties' is invalid: the event must be smaller than 1 MB")
    props = dict(record["properties"])
    identity_event = name in IDENTITY_EVENTS
    if "time" not in props and "$time" in props:
        props["time"] = props.pop("$time")
    if "distinct_id" not in props and "$distinct_id" in props:
        props["distinct_id"] = props.pop("$distinct_id")
    if ctx.simplified:
        simplified_ids(props)
    if raw is not None and _flat(raw):  # no nesting, no lone surrogate (plain): only the key count can fail
        _check_key_count(props)
    else:
        validate_properties(props, size)

    # time
    if props.get("time") is None:
        if ctx.endpoint == "import" and not identity_event:
            raise RecordError("properties.time", TIME_MESSAGE)
        t = ctx.received_ms
    else:
        t = time_ms(props["time"])
    if t > ctx.received_ms + FUTURE_MS or (ctx.endpoint == "import" and t < MIN_IMPORT_MS):
        raise RecordError("properties.time", "'properties.time' is invalid: must be after 1971-01-01 and at most "
                                             "1 hour in the future")
    if ctx.endpoint == "track" and t < ctx.received_ms - TRACK_WINDOW_MS:
        raise RecordError("properties.time", "'properties.time' is invalid: must be within the last 5 days "
                                             "(use /import for older events)")
    t = min(t, ctx.received_ms)
    props["time"] = t

    # distinct_id
    raw_id = props.get("distinct_id")
    if raw_id is None and identity_event:
        raw_id = _identity_event_id(name, props)
    distinct_id = id_text(raw_id, "properties.distinct_id")
    if distinct_id is None:
        if ctx.endpoint == "import" and not identity_event:
            raise RecordError("properties.distinct_id", "'properties.distinct_id' is invalid: must be specified")
        if ctx.use_request_ip and ctx.request_ip:
            distinct_id = "$ip:" + hashlib.sha1(ctx.request_ip.encode()).hexdigest()[:16]
        else:
            distinct_id = ""
    props["distinct_id"] = distinct_id

    # $insert_id
    insert_id = props.get("$insert_id")
    generated = False
    if insert_id is None:
        if ctx.endpoint == "import" and not identity_event:
            raise RecordError("properties.$insert_id", "'properties.$insert_id' is invalid: must be specified")
        insert_id = ctx.new_insert_id()
        generated = True
    elif not isinstance(insert_id, str) or not _INSERT_ID.match(insert_id) or forbidden_id(insert_id):
        raise RecordError("properties.$insert_id", "'properties.$insert_id' is invalid: must be at most 36 "
                                                   "alphanumeric or '-' characters")
    props["$insert_id"] = insert_id

    # normalise: truncation, no token/ip, server properties
    location = event_location(ctx.geo, props, ctx.request_ip, ctx.use_request_ip or ctx.endpoint == "import")
    props.pop("token", None)
    props.pop("ip", None)
    props.update(location)
    # the event store (``columns.py``) shares repeated strings and encodes the rest: nothing is
    # interned here (interning every value would keep each unique one alive in the intern table)
    if raw is not None and _short_strings(raw):  # then only what was added to the record can be long
        long_text = len(distinct_id) > MAX_STRING or needs_truncation(location)
    else:
        long_text = needs_truncation(props)
    props = truncate(props) if long_text else props  # a copy already: nothing else holds it
    props["$mp_api_endpoint"] = ctx.host
    props["$mp_api_timestamp_ms"] = ctx.received_ms
    props["$mp_event_size"] = size
    if ctx.endpoint == "import":
        props["$import"] = True
    return name, props, t, distinct_id, generated
