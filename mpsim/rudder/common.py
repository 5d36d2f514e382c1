"""What every event type shares: settings, identities, mapped fields, time rules and limits."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from .. import _messages as msgs
from .._dates import js_date_ms as date_ms
from .._dates import to_iso
from .._js import (
    _ORJSON_OPTIONS,
    UNDEFINED,
    JSError,
    _compact_encoder,
    _orjson,
    _undefined_default,
    dumps,
    get_path,
    get_segments,
    is_index_key,
    js_keys,
    strip_undefined,
    to_string,
    truthy,
    usable,
    utf8_length,
)
from ..errors import ConfigurationError, InstrumentationError, TransformationCrash
from ..request import Request
from .mappings import RESIDENCY_HOSTS, US_HOST
from .useragent import parse_browser

JSON_HEADERS = {"Content-Type": "application/json"}
MAX_PAYLOAD_BYTES = 1_048_576
MAX_KEYS = 255
MAX_ARRAY = 255
FIVE_YEARS = 5


# --------------------------------------------------------------------------- settings
#: Every destination ``Config`` key the transformer reads. Settings are compiled once per distinct
#: content of these keys, so a log where each event brings its own copy of the destination costs
#: one small JSON encoding per event instead of a new compilation.
READ_KEYS = frozenset({
    "token", "serviceAccountUserName", "serviceAccountSecret", "projectId", "strictMode", "dataResidency",
    "identityMergeApi", "useNewMapping", "dropTraitsInTrackEvent", "propIncrements", "setOnceProperties",
    "unionProperties", "appendProperties", "groupKeySettings", "useUserDefinedPageEventName",
    "userDefinedPageEventTemplate", "useUserDefinedScreenEventName", "userDefinedScreenEventTemplate",
})
_encode_key = _compact_encoder()


def _config_key(config: dict[str, Any]) -> bytes | str | None:
    """The settings cache key of a config: its JSON text, or None when it is not plain JSON.

    orjson writes a small config in a tenth of the time the standard encoder takes, so the whole
    config is the key; a config it cannot write (UNDEFINED or big integers inside), or whose text
    has a null (orjson writes NaN and Infinity as null too), is keyed by the standard encoder's
    text of the keys the transformer reads. The two kinds of key (bytes, str) never meet.
    """
    if _orjson is not None:
        try:
            key: bytes = _orjson.dumps(config, _undefined_default, _ORJSON_OPTIONS)
        except TypeError:
            pass
        else:
            if b"null" not in key:
                return key
    try:
        return _encode_key({k: v for k, v in config.items() if k in READ_KEYS})
    except (TypeError, ValueError):
        return None
_SETTINGS_CACHE: dict[bytes | str, Settings] = {}
_CACHE_SIZE = 1024


@dataclass(frozen=True)
class Settings:
    """The destination ``Config`` keys the transformer reads, with JavaScript truthiness applied."""

    config: dict[str, Any]
    token: Any
    simplified: bool
    base_url: str
    strict: bool
    import_auth: tuple[str, dict[str, Any]] | None
    #: ``propIncrements`` property names (only strings can equal a property key), or None when not a list
    increments: frozenset[str] | None = None
    #: the JavaScript error building the /import credential throws (a token object with no string value)
    import_error: str | None = None
    #: what the event handlers derive from these settings, derived once (see ``derived``)
    _derived: dict[Callable[[Settings], Any], Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_destination(cls, destination: Any) -> Settings:
        """Accept RudderStack's destination object (``{"Config": {...}}``) or just its Config.

        Equal configs share one compiled ``Settings`` (cached by content, not identity); the cached
        one holds a private copy of the keys it reads, so a caller changing its config later changes
        nothing here.
        """
        if destination is None:
            destination = {}
        if not isinstance(destination, dict):
            raise ConfigurationError(f"destination must be an object, not {type(destination).__name__}")
        config = destination.get("Config", destination)
        if not isinstance(config, dict):
            raise ConfigurationError("destination Config must be an object")
        key = _config_key(config)
        if key is None:  # not plain JSON (e.g. UNDEFINED inside): compile without caching
            return cls.from_config(config)
        settings = _SETTINGS_CACHE.get(key)
        if settings is None:
            if len(_SETTINGS_CACHE) >= _CACHE_SIZE:
                _SETTINGS_CACHE.clear()
            settings = _SETTINGS_CACHE[key] = cls.from_config(json.loads(key))
        return settings

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Settings:
        token = config.get("token", UNDEFINED)
        residency = config.get("dataResidency")
        base = RESIDENCY_HOSTS.get(residency, US_HOST) if isinstance(residency, str) else US_HOST
        strict = truthy(config.get("strictMode", UNDEFINED))
        increments = config.get("propIncrements")
        try:
            import_auth, import_error = _import_auth(config, strict), None
        except JSError as exc:
            import_auth, import_error = None, exc.message
        return cls(
            config=config,
            token=token,
            simplified=config.get("identityMergeApi") == "simplified",
            base_url=base,
            strict=strict,
            import_auth=import_auth,
            import_error=import_error,
            # JavaScript's `includes` compares strictly: a number never names the key "5".
            increments=frozenset(item["property"] for item in increments
                                 if type(item) is dict and type(item.get("property")) is str)
            if type(increments) is list else None,
        )

    def get(self, key: str) -> Any:
        return self.config.get(key, UNDEFINED)

    def derived(self, make: Callable[[Settings], Any]) -> Any:
        """``make(self)``, computed once per settings (compiled settings are shared by every event
        with equal config). A ``make`` that raises is called again next time, and raises again."""
        value = self._derived.get(make, _MISSING)
        if value is _MISSING:
            value = self._derived[make] = make(self)
        return value

    def flag(self, key: str) -> bool:
        return truthy(self.config.get(key, UNDEFINED))


def _import_auth(config: dict[str, Any], strict: bool) -> tuple[str, dict[str, Any]] | None:
    token = config.get("token", UNDEFINED)
    strict_param = 1 if strict else 0
    if truthy(token):
        return _basic(to_string(token) + ":"), {"strict": strict_param}
    user, secret, project = (config.get(k, UNDEFINED) for k in
                             ("serviceAccountUserName", "serviceAccountSecret", "projectId"))
    if truthy(user) and truthy(secret) and truthy(project):
        return _basic(f"{to_string(user)}:{to_string(secret)}"), {"project_id": project, "strict": strict_param}
    return None


def _basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode("utf-8", "surrogatepass")).decode("ascii")


# --------------------------------------------------------------------------- the event
class Event:
    """One RudderStack message, prepared: ids coerced to strings and the identity expressions.

    A plain class with slots rather than a dataclass: one is built per event, so its construction
    is on the hot path.
    """

    __slots__ = ("message", "settings", "now_ms", "user_id", "anonymous_id", "id", "distinct")

    def __init__(self, message: dict[str, Any], settings: Settings, now_ms: float) -> None:
        self.message = m = message
        self.settings = settings
        self.now_ms = now_ms
        user_id = m.get("userId", UNDEFINED)
        if type(user_id) is not str and truthy(user_id):
            m["userId"] = user_id = to_string(user_id)
        anonymous_id = m.get("anonymousId", UNDEFINED)
        if type(anonymous_id) is not str and truthy(anonymous_id):
            m["anonymousId"] = anonymous_id = to_string(anonymous_id)
        self.user_id: Any = user_id
        self.anonymous_id: Any = anonymous_id
        #: ``userId || anonymousId`` (coerced); the raw anonymousId when both are falsy
        self.id: Any = user_id if truthy(user_id) else anonymous_id
        #: the ``$distinct_id`` of profile updates: the Simplified id or ``id``
        self.distinct: Any = self.simplified_id if settings.simplified else self.id

    @classmethod
    def prepare(cls, message: dict[str, Any], settings: Settings, now_ms: float) -> Event:
        """Work on a shallow copy: the caller's message is never modified."""
        return cls(dict(message), settings, now_ms)

    def get(self, path: str) -> Any:
        return get_path(self.message, path)

    @property
    def simplified_id(self) -> str:
        if truthy(self.user_id):
            return self.user_id  # type: ignore[no-any-return]
        return "$device:" + to_string(self.anonymous_id)

    def browser(self) -> tuple[Any, Any] | None:
        """``$browser`` and ``$browser_version`` of a web event with a user agent, else None."""
        if self.message.get("channel") != "web":
            return None
        agent = self.get("context.userAgent")
        if not truthy(agent):
            return None
        name, version = parse_browser(to_string(agent))
        return (UNDEFINED if name is None else name), (UNDEFINED if version is None else version)

    def time_ms(self) -> Any:
        """Epoch ms of ``timestamp`` if truthy, else ``originalTimestamp``; null when invalid."""
        ts = self.message.get("timestamp", UNDEFINED)
        source = ts if truthy(ts) else self.message.get("originalTimestamp", UNDEFINED)
        value = date_ms(source)
        return None if value is None else int(value)

    def time_iso(self) -> str:
        """The revenue ``$time``: the first of timestamp/originalTimestamp that is a valid date."""
        for key in ("timestamp", "originalTimestamp"):
            value = date_ms(self.message.get(key, UNDEFINED))
            if value is not None:
                return to_iso(value)
        raise InstrumentationError(msgs.INVALID_TIMESTAMPS)

    def check_five_years(self) -> None:
        """RudderStack drops events whose ``timestamp`` is more than 5 (365.2425-day) years old."""
        value = date_ms(self.message.get("timestamp", UNDEFINED))
        if value is None:
            return
        years = ((self.now_ms - value) / 86_400_000 * 4800 / 146097) / 12
        if years > FIVE_YEARS:
            raise InstrumentationError(msgs.TOO_OLD)


def add_browser(event: Event, props: dict[str, Any]) -> None:
    """``$browser`` and ``$browser_version`` for web events (track, page, screen, identify)."""
    browser = event.browser()
    if browser is not None:
        props["$browser"], props["$browser_version"] = browser


Table = list[tuple[str, tuple[str, ...]]]
_MISSING: Any = object()


class CompiledTable:
    """A mapping table with its source paths merged into one prefix tree.

    Each distinct prefix (``context``, ``context.page``, …) is looked up once per message instead
    of once per path. Where a plain walk misses an intermediate key, the full ``get-value`` lookup
    decides (it also finds keys that themselves contain dots).

    The common case (plain objects, no dotted keys, no lists on the way) runs as straight-line
    Python generated from the table, the way ``re`` compiles a pattern: the table stays the single
    source of truth, and the generated code is a faster reading of it.
    """

    def __init__(self, table: Table) -> None:
        index: dict[tuple[str, ...], int] = {(): 0}
        self.children: list[list[tuple[str, int]]] = [[]]
        self.ancestors: list[tuple[int, ...]] = [()]
        self.rows: list[tuple[str, list[tuple[str, tuple[str, ...], int, int]]]] = []
        for key, paths in table:
            compiled = []
            for path in paths:
                segs = tuple(path.split("."))
                for depth in range(1, len(segs) + 1):
                    if segs[:depth] not in index:
                        parent = index[segs[: depth - 1]]
                        node = index[segs[:depth]] = len(self.children)
                        self.children.append([])
                        self.children[parent].append((segs[depth - 1], node))
                        self.ancestors.append((parent, *self.ancestors[parent]))
                compiled.append((path, segs, index[segs], index[segs[:-1]]))
            self.rows.append((key, compiled))
        self._fast = self._generate()

    def _generate(self) -> Callable[[Any, dict[str, Any]], bool]:
        """Compile the table into ``fast(source, into) -> bool`` (False: use the careful path)."""
        lines = ["def fast(src, into, _M=_MISSING, _U=UNDEFINED):",
                 "    if type(src) is not dict or '.' in ''.join(src):",
                 "        return False"]
        if len(self.children) > 1:
            lines.append("    " + " = ".join(f"n{i}" for i in range(1, len(self.children))) + " = _M")

        wanted: dict[str, frozenset[str]] = {}

        def emit(node: int, var: str, indent: str) -> None:
            children = self.children[node]
            inner = [child for _, child in children if self.children[child]]
            body = indent
            gated = node != 0 and len(children) >= 3
            if gated:  # an object that holds none of the keys looked for (often) costs one test
                wanted[f"_W{node}"] = frozenset(seg for seg, _ in children)
                lines.append(f"{indent}if not _W{node}.isdisjoint({var}):")
                body = indent + "    "
            for seg, child in children:
                lines.append(f"{body}n{child} = {var}.get({seg!r}, _M)")
            # get-value tries dotted keys ("network.carrier") only where a segment that has more
            # segments after it is missing, so only then can a key with a dot change the answer.
            if inner and node != 0:  # the root's keys were checked for dots up front
                missing = " or ".join(f"n{child} is _M" for child in inner)
                lines.extend([f"{body}if ({missing}) and '.' in ''.join({var}):", f"{body}    return False"])
            for child in inner:
                lines.extend([f"{body}if n{child} is not _M:", f"{body}    if type(n{child}) is dict:"])
                emit(child, f"n{child}", body + "        ")
                lines.extend([f"{body}    elif type(n{child}) is list:", f"{body}        return False"])
            if gated and inner:
                lines.extend([f"{indent}elif '.' in ''.join({var}):", f"{indent}    return False"])

        emit(0, "src", "    ")
        for key, paths in self.rows:
            keyword = "if"
            for _, _, node, _ in paths:
                v = f"n{node}"
                lines.append(f"    {keyword} {v} is not _M and {v} is not None and {v} is not _U and {v} != '' "
                             f"and {v} == {v}:")
                lines.append(f"        into[{key!r}] = {v}")
                keyword = "elif"
        lines.append("    return True")
        namespace: dict[str, Any] = {"_MISSING": _MISSING, "UNDEFINED": UNDEFINED, **wanted}
        exec(compile("\n".join(lines), "<mpsim mapping table>", "exec"), namespace)  # noqa: S102
        return namespace["fast"]  # type: ignore[no-any-return]

    def _resolve(self, source: Any) -> tuple[dict[int, Any], bool]:
        """The value of every prefix that is present (absent subtrees are not visited), and whether
        any container on the way could hide a value from a plain walk (a dotted key or a list)."""
        values: dict[int, Any] = {0: source}
        stack = [0]
        children = self.children
        tricky = False
        while stack:
            node = stack.pop()
            container = values[node]
            t = type(container)
            if t is dict:
                if "." in "".join(container):
                    tricky = True
                get = container.get
                for seg, child in children[node]:
                    value = get(seg, _MISSING)
                    if value is not _MISSING:
                        values[child] = value
                        if children[child]:
                            stack.append(child)
            elif t is list:
                tricky = True
                for seg, child in children[node]:
                    if is_index_key(seg) and int(seg) < len(container):
                        values[child] = container[int(seg)]
                        if children[child]:
                            stack.append(child)
        return values, tricky

    def apply(self, source: Any, into: dict[str, Any]) -> dict[str, Any]:
        if self._fast(source, into):
            return into
        values, _ = self._resolve(source)
        return self._apply_carefully(source, values, into)

    def _apply_carefully(self, source: Any, values: dict[int, Any], into: dict[str, Any]) -> dict[str, Any]:
        dotted_root = type(source) is dict and "." in "".join(source)
        for key, paths in self.rows:
            for path, segs, node, parent in paths:
                if dotted_root and path in source:
                    value = source[path]
                else:
                    value = values.get(node, _MISSING)
                    if value is _MISSING:
                        value = UNDEFINED
                        if parent not in values and self._may_find(values, node):
                            value = get_segments(source, path, segs)
                if usable(value):
                    into[key] = value
                    break
        return into

    def _may_find(self, values: dict[int, Any], node: int) -> bool:
        """Only a key with a dot in it (or a list) can make ``get-value`` find what a plain walk missed."""
        anchor = next(values[a] for a in self.ancestors[node] if a in values)
        return _may_hold_dotted_keys(anchor)


def _may_hold_dotted_keys(container: Any) -> bool:
    t = type(container)
    return t is list or (t is dict and "." in "".join(container))


_COMPILED: dict[int, CompiledTable] = {}


def map_fields(source: Any, table: Table, into: dict[str, Any]) -> dict[str, Any]:
    """Apply a mapping table: the first usable source value of each row is written (in place)."""
    compiled = _COMPILED.get(id(table))
    if compiled is None:
        compiled = _COMPILED[id(table)] = CompiledTable(table)
    return compiled.apply(source, into)


# --------------------------------------------------------------------------- requests
def import_request(event: Event, records: list[dict[str, Any]], texts: list[str] | None = None,
                   user_id: Any = None) -> Request:
    settings = event.settings
    if settings.import_error is not None:
        raise TransformationCrash(settings.import_error)
    if settings.import_auth is None:
        raise TransformationCrash(msgs.NO_IMPORT_CREDENTIALS)
    auth, params = settings.import_auth
    return Request(
        path="import",
        endpoint=f"{settings.base_url}/import/",
        headers={"Content-Type": "application/json", "Authorization": auth},
        params=dict(params),
        records=records,
        user_id=event.id if user_id is None else user_id,
        _texts=texts,
    )


def profile_request(event: Event, path: str, record: dict[str, Any]) -> Request:
    """An ``/engage`` or ``/groups`` request (the token travels inside the record)."""
    return Request(
        path=path,
        endpoint=f"{event.settings.base_url}/{path}/",
        headers=dict(JSON_HEADERS),
        params={"verbose": 2},
        records=[strip_undefined(record)],
        user_id=event.id,
    )


def engage_update(event: Event, operation: str, value: Any) -> Request:
    """``{OP: value, $token, $distinct_id}`` to /engage."""
    return profile_request(event, "engage", {
        operation: value,
        "$token": event.settings.token,
        "$distinct_id": event.distinct,
    })


def event_record(name: Any, properties: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """An event record and its JSON text, after Mixpanel's payload limits are checked."""
    clean = strip_undefined(properties)
    props_text = dumps(clean)
    check_limits(properties, props_text)
    record: dict[str, Any] = {} if name is UNDEFINED else {"event": name}
    record["properties"] = clean
    if name is UNDEFINED:
        head = ""
    else:  # an ASCII string prints the same in both languages (no surrogates to escape)
        head = '"event":' + (encode_basestring(name) if type(name) is str and name.isascii() else dumps(name)) + ","
    return record, "{" + head + '"properties":' + props_text + "}"


def check_limits(properties: dict[str, Any], text: str | None = None) -> None:
    """Payload size, key-count and array-length limits on event properties (spec §4.9).

    ``properties`` still holds its undefined keys (they count); ``text`` is its JSON text.
    """
    if text is None:
        text = dumps(properties)
    # UTF-8 needs at most 4 bytes per character, so a short text cannot be too large.
    if len(text) * 4 > MAX_PAYLOAD_BYTES:
        size = utf8_length(text)
        if size > MAX_PAYLOAD_BYTES:
            raise InstrumentationError(msgs.PAYLOAD_TOO_LARGE.format(kb=math.floor(size / 1024 + 0.5)))
    # A nested object of 255 keys or a list of 256 elements needs at least 254 commas in the
    # text, so the walk is only needed for the top level's own count or a text with that many.
    if len(properties) >= MAX_KEYS or text.count(",") >= MAX_KEYS - 1:
        _check_object(properties, "")


def _check_object(obj: dict[str, Any], path: str) -> None:
    if len(obj) >= MAX_KEYS:
        if path:
            raise InstrumentationError(msgs.TOO_MANY_NESTED_KEYS.format(path=path, n=len(obj)))
        raise InstrumentationError(msgs.TOO_MANY_KEYS.format(n=len(obj)))
    for key in js_keys(obj):
        value = obj[key]
        t = type(value)
        if t is dict:
            _check_object(value, path + "." + key if path else key)
        elif t is list:
            _check_list(value, path + "." + key if path else key)


def _check_list(items: list[Any], path: str) -> None:
    if len(items) > MAX_ARRAY:
        raise InstrumentationError(msgs.ARRAY_TOO_LONG.format(path=path, n=len(items)))
    for i, item in enumerate(items):
        if type(item) is dict:
            _check_object(item, f"{path}[{i}]")

