"""Transport-neutral requests and replies, and Mixpanel's wire formats.

Every front door (``sim.send``, the requests-mock adapter, the HTTP server) turns what it received
into a :class:`WireRequest` and gives back the :class:`Reply` the simulator produced; nothing below
this module knows about HTTP libraries. Decoding follows the ingestion spec §1.2: ``data=`` as a
query or form field holding JSON or base64 of JSON, a raw JSON body, NDJSON for /import, gzip.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .._js import _orjson

#: The hosts Mixpanel ingests on, by data residency.
HOSTS = {"api.mixpanel.com": "us", "api-eu.mixpanel.com": "eu", "api-in.mixpanel.com": "in",
         "api-js.mixpanel.com": "us"}  # the last one is mixpanel-browser's default api_host
ENDPOINTS = ("track", "import", "engage", "groups")
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_RECORDS = 2000


class DecodeError(ValueError):
    """The payload could not be read as Mixpanel records."""


class TooLarge(DecodeError):
    """The (decompressed) body is larger than Mixpanel takes."""


def gunzip(body: bytes, limit: int = MAX_BODY_BYTES) -> bytes:
    """Decompress a gzip body, refusing to inflate past ``limit`` bytes (a small bomb stays small)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise DecodeError(f"body is not valid gzip: {exc}") from None
    if len(data) > limit:
        raise TooLarge(f"request exceeds max limit of {limit} bytes")
    if not inflater.eof:
        raise DecodeError("body is not valid gzip: the stream is truncated")
    return data


@dataclass
class WireRequest:
    """One HTTP request as the simulator sees it."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: the request as a replay's worker read it ahead (``api.Reading``), or None: ``api.route`` reads it otherwise
    reading: Any = field(default=None, repr=False, compare=False, kw_only=True)

    def __post_init__(self) -> None:
        if not isinstance(self.method, str):
            raise TypeError(f"method must be a string such as 'POST', not {type(self.method).__name__}")
        if not isinstance(self.url, str):
            raise TypeError(f"url must be a string, not {type(self.url).__name__}")
        if not isinstance(self.headers, Mapping):
            raise TypeError(f"headers must be a mapping of names to values, not {type(self.headers).__name__}")
        if isinstance(self.body, str):
            self.body = self.body.encode("utf-8", "surrogatepass")
        elif not isinstance(self.body, (bytes, bytearray)):
            raise TypeError(f"body must be bytes (or text), not {type(self.body).__name__}")
        self.headers = {str(k).lower(): str(v) for k, v in self.headers.items()}
        try:
            parts = urlsplit(self.url)
            parts.port  # noqa: B018 - a bad port raises here, not later
        except ValueError as exc:
            raise ValueError(f"url {self.url[:200]!r} is not a valid URL: {exc}") from None
        self.host = (parts.hostname or "").lower()
        self.path = parts.path
        self.query = _single_values(parse_qs(parts.query, keep_blank_values=True))

    @property
    def endpoint(self) -> str | None:
        """``track``, ``import``, ``engage`` or ``groups`` (trailing slashes and a ``/mixpanel`` prefix allowed)."""
        cached = self.__dict__.get("_endpoint")
        if cached is not None and cached[0] is self.path:
            return cached[1]  # type: ignore[no-any-return]
        name: str | None = self.path.rstrip("/").rsplit("/", 1)[-1]
        name = name if name in ENDPOINTS else None
        self.__dict__["_endpoint"] = (self.path, name)  # read on every request: worked out once per path
        return name

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def summary(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "host": self.host, "endpoint": self.endpoint}

    def summary_items(self) -> tuple[tuple[str, Any], ...]:
        """``summary()`` as items, worked out once per method and URL (the log keeps one per request)."""
        cached = self.__dict__.get("_summary")
        if cached is not None and cached[0] is self.method and cached[1] is self.url:
            return cached[2]  # type: ignore[no-any-return]
        items = tuple(self.summary().items())
        self.__dict__["_summary"] = (self.method, self.url, items)
        return items


@dataclass
class Reply:
    """What Mixpanel answers: status code, content type and body."""

    status: int
    body: str
    content_type: str = "application/json"
    #: extra response headers (CORS, ``Allow``, ``X-Content-Type-Options``), written by the HTTP doors
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_json(cls, status: int, payload: Any) -> Reply:
        return cls(status, json.dumps(payload, separators=(", ", ": ")), "application/json")

    @classmethod
    def plain(cls, ok: bool) -> Reply:
        return cls(200, "1" if ok else "0", "text/plain")

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def ok(self) -> bool:
        """True when Mixpanel accepted everything (status 1, or the plain ``1`` body)."""
        if self.status != 200:
            return False
        if self.content_type == "text/plain":
            return self.body.strip() == "1"
        return _json_ok(self.body)


@functools.lru_cache(maxsize=256)
def _json_ok(body: str) -> bool:
    """Whether a JSON answer says everything was accepted (remembered: answers repeat, a replay asks each one)."""
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("status") in (1, "OK") and not data.get("error")


def _single_values(values: dict[str, list[str]]) -> dict[str, str]:
    return {k: v[-1] for k, v in values.items()}


@dataclass
class Broken:
    """Why one record of a request could not be read: the field at fault and Mixpanel-style message."""

    field: str
    message: str


@dataclass
class Decoded:
    """The records of a request (or the reason they could not be read) and its parameters."""

    records: list[Any]
    params: dict[str, str]
    #: per-record failures found while reading (a line that is not JSON, nesting too deep, bad UTF-8)
    broken: dict[int, Broken] = field(default_factory=dict)
    size: int = 0
    #: the JSON text the records were read from, when known: lets the shape check skip the walk (``may_be_misshapen``)
    text: str | None = field(default=None, repr=False, compare=False)

    #: read by orjson, so no integer past 64 bits, no infinity, no lone surrogate (see ``loads_plain``)
    plain: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        if self.text is not None and not may_be_misshapen(self.text):
            return
        for index, record in enumerate(self.records):
            if index not in self.broken:
                problem = shape_problem(record)
                if problem is not None:
                    self.broken[index] = problem


#: Nesting (lists and objects) a record may have on the wire; deeper records fail before any recursion.
#: Mixpanel allows objects 3 deep in properties (checked later, spec §2.5); this guards the reader.
MAX_WIRE_DEPTH = 32
_SURROGATES = re.compile("[\ud800-\udfff]")


def _too_deep(path: str = "record") -> Broken:
    return Broken(path, f"'{path}' is invalid: nested more than {MAX_WIRE_DEPTH} levels deep")


def _utf8_problem(path: str) -> Broken:
    return Broken(path, f"{path} is invalid: string should be valid utf8")


def shape_problem(record: Any) -> Broken | None:
    """The first reason ``record`` cannot be taken at all: too deep, or a string that is not UTF-8.

    Walks iteratively (no recursion, so no depth can crash it). Lone surrogates come from invalid
    UTF-8 bytes (read with ``surrogateescape``) or from unpaired ``\\ud800`` escapes: both fail the
    record with Mixpanel's documented utf8 message, at the field that holds them.
    """
    stack: list[tuple[Any, str, int]] = [(record, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if _SURROGATES.search(value):
                return _utf8_problem(path or "record")
        elif isinstance(value, (dict, list)):
            if depth >= MAX_WIRE_DEPTH:
                return _too_deep(path or "record")
            items = value.items() if isinstance(value, dict) else ((f"[{i}]", v) for i, v in enumerate(value))
            for key, item in items:
                key_text = str(key)
                if isinstance(value, dict) and _SURROGATES.search(key_text):
                    return _utf8_problem(_join(path, _SURROGATES.sub("?", key_text)))
                stack.append((item, _join(path, key_text) if isinstance(value, dict) else path + key_text,
                              depth + 1))
    return None


#: where JSON text can hold a lone surrogate: a raw one (from invalid UTF-8 bytes) or a ``\\uD800``-``\\uDFFF`` escape
_SURROGATE_SOURCES = re.compile(r"[\ud800-\udfff]|\\u[dD][89abcdefABCDEF]")


def may_be_misshapen(text: str) -> bool:
    """Whether records read from ``text`` could have a ``shape_problem``; False means none can (no walk needed).

    A record nested ``MAX_WIRE_DEPTH`` deep needs that many ``[`` or ``{`` in the text, and a lone
    surrogate needs a surrogate character or a surrogate escape in it: text with neither is fine as a
    whole. Two C-speed scans instead of a walk over every value of every record.
    """
    if text.count("[") + text.count("{") > MAX_WIRE_DEPTH:
        return True
    if text.isascii() and "\\u" not in text:  # both O(1) or a memchr-speed scan: the common case ends here
        return False
    return _SURROGATE_SOURCES.search(text) is not None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (numbers must be finite)")


_DECODER = json.JSONDecoder(parse_constant=_no_constants)
#: for ``_has_long_number``: every digit becomes ``0``, every other byte a space
_DIGITS_ONLY = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_NUMBER = b"0" * 19


def _has_long_number(text: str) -> bool:
    """Whether ``text`` has 19 digits in a row: where an integer past 64 bits could be (orjson reads those
    as floats, the standard decoder as integers). Two C-speed passes; a regex takes several times longer."""
    return _LONG_NUMBER in text.encode("utf-8", "surrogatepass").translate(_DIGITS_ONLY)


def loads_plain(text: str) -> tuple[Any, bool]:
    """``loads``, and whether the value is *plain*: read by orjson (where installed), so it holds no
    integer past 64 bits, no infinity (``1e400``) and no lone surrogate.

    orjson reads such text a few times faster than the standard decoder and to the same values, and
    writes plain values as ``json.dumps`` does but for float exponents (``events.event_size``). Whatever
    orjson refuses (lone surrogates, deep nesting, huge numbers, bad JSON) is read by the standard decoder,
    which gives the result or the error the simulator has always given.
    """
    if _orjson is not None and not _has_long_number(text):
        try:
            return _orjson.loads(text), True
        except _orjson.JSONDecodeError:
            pass
    return _DECODER.decode(text), False


def loads(text: str) -> Any:
    """``json.loads`` that refuses ``NaN``/``Infinity`` as Mixpanel does (they are not JSON); one decoder serves all."""
    return loads_plain(text)[0]


def loads_records(text: str) -> tuple[list[Any], dict[int, Broken], bool]:
    """A JSON object or array as records, and whether they are plain (``loads_plain``); a record nested
    too deep for the parser fails alone.

    ``json.loads`` raises ``RecursionError`` on very deep input; then the array is read element by
    element and only the elements that cannot be parsed are reported (``ValueError`` for JSON that is
    invalid anywhere, as before).
    """
    try:
        value, plain = loads_plain(text)
        return _as_records(value), {}, plain
    except RecursionError:
        pass
    stripped = text.strip()
    too_deep = _too_deep()
    if not stripped.startswith("["):
        return [None], {0: too_deep}, False
    decoder = json.JSONDecoder(parse_constant=_no_constants)
    records: list[Any] = []
    broken: dict[int, Broken] = {}
    index = _skip_space(stripped, 1)
    while index < len(stripped) and stripped[index] != "]":
        try:
            value, index = decoder.raw_decode(stripped, index)
        except RecursionError:
            broken[len(records)] = too_deep
            value, index = None, _end_of_value(stripped, index)
        records.append(value)
        index = _skip_space(stripped, index)
        if index < len(stripped) and stripped[index] == ",":
            index = _skip_space(stripped, index + 1)
        elif index < len(stripped) and stripped[index] != "]":
            raise ValueError(f"expected ',' or ']' at char {index}")
    if index >= len(stripped) or stripped[index + 1:].strip():
        raise ValueError("the array is not closed, or text follows it")
    return records, broken, False


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def _end_of_value(text: str, index: int) -> int:
    """Where the JSON array/object starting at ``index`` ends (strings respected), without recursion."""
    depth, in_string, escaped = 0, False, False
    for position in range(index, len(text)):
        char = text[position]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return position + 1
    raise ValueError("a nested value is not closed")


def decode(request: WireRequest, *, allow_gzip: bool) -> Decoded:
    """Read the records and parameters of a request (spec §1.2); raise ``DecodeError`` when unreadable."""
    body = request.body or b""
    if request.header("content-encoding").lower() == "gzip":
        if not allow_gzip:
            raise DecodeError("gzip-encoded bodies are not supported on this endpoint")
        body = gunzip(body)
    params = dict(request.query)
    content_type = _media_type(request.header("content-type"))
    data: str | None = params.get("data")
    text = ""
    if body:
        # invalid bytes become lone surrogates: the record holding them fails alone (spec §2.5)
        text = body.decode("utf-8", "surrogateescape")
    looks_like_form = not content_type and text.lstrip()[:1] not in ("[", "{") and "=" in text
    if text and (content_type == "application/x-www-form-urlencoded" or looks_like_form):
        form = _single_values(parse_qs(text, keep_blank_values=True))
        params.update({k: v for k, v in form.items() if k != "data"})
        data = form.get("data", data)
        text = ""
    if data is not None:
        records, broken, plain = _parse_data(data)
        return Decoded(records, params, broken, size=len(data.encode("utf-8", "surrogateescape")), plain=plain)
    stripped = text.strip()
    if not stripped:
        raise DecodeError("no data: send a 'data' parameter or a JSON body")
    size = len(body)  # the text's bytes: surrogateescape gives back exactly the bytes it read
    if content_type == "application/x-ndjson" or (stripped[:1] == "{" and "\n" in stripped):
        try:
            records, broken, plain = loads_records(stripped)
        except ValueError:
            return _ndjson(stripped, params, size)
        return Decoded(records, params, broken, size=size, text=stripped, plain=plain)
    try:
        records, broken, plain = loads_records(stripped)
    except ValueError as exc:
        raise DecodeError(f"body is not valid JSON: {exc}") from None
    return Decoded(records, params, broken, size=size, text=stripped, plain=plain)


@functools.lru_cache(maxsize=64)
def _media_type(content_type: str) -> str:
    """``application/json`` of ``Application/JSON; charset=utf-8`` (remembered: clients send one or two kinds)."""
    return content_type.split(";")[0].strip().lower()


def _ndjson(text: str, params: dict[str, str], size: int) -> Decoded:
    records: list[Any] = []
    broken: dict[int, Broken] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            records.append(loads(line))
        except RecursionError:
            broken[len(records)] = _too_deep()
            records.append(None)
        except ValueError as exc:
            message = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            broken[len(records)] = Broken("", f"line is not valid JSON: {message}")
            records.append(None)
    return Decoded(records, params, broken, size, text=text)


def _parse_data(value: str) -> tuple[list[Any], dict[int, Broken], bool]:
    """A ``data=`` value: JSON, or base64 (standard or URL-safe, padding optional) of JSON."""
    stripped = value.strip()
    if stripped[:1] in ("{", "["):
        try:
            return loads_records(stripped)
        except ValueError as exc:
            raise DecodeError(f"data is not valid JSON: {exc}") from None
    padded = stripped + "=" * (-len(stripped) % 4)
    try:
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        return loads_records(raw.decode("utf-8", "surrogateescape"))
    except (binascii.Error, ValueError):
        raise DecodeError("data is neither JSON nor base64-encoded JSON") from None


def _as_records(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def basic_credentials(request: WireRequest) -> tuple[str, str] | None:
    """``(user, password)`` from a Basic ``Authorization`` header (base64 or, as Mixpanel allows, plain)."""
    return _credentials(request.header("authorization"))


@functools.lru_cache(maxsize=256)
def _credentials(header: str) -> tuple[str, str] | None:
    """The credentials of one ``Authorization`` header (remembered: a client sends the same one every time)."""
    if not header.lower().startswith("basic "):
        return None
    raw = header[6:].strip()
    try:
        text = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        text = raw
    if ":" not in text:
        text = raw if ":" in raw else text + ":"
    user, _, password = text.partition(":")
    return user, password


def flag(params: dict[str, str], name: str) -> bool:
    return params.get(name, "").strip() in ("1", "true", "True")
