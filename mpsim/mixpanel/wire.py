"""Transport-neutral requests and replies, and Mixpanel's wire formats.

Every front door (``sim.send``, the requests-mock adapter, the HTTP server) turns what it received
into a :class:`WireRequest` and gives back the :class:`Reply` the simulator produced; nothing below
this module knows about HTTP libraries. Decoding follows the ingestion spec §1.2: ``data=`` as a
query or form field holding JSON or base64 of JSON, a raw JSON body, NDJSON for /import, gzip.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

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

    def __post_init__(self) -> None:
        self.headers = {k.lower(): v for k, v in self.headers.items()}
        parts = urlsplit(self.url)
        self.host = (parts.hostname or "").lower()
        self.path = parts.path
        self.query = _single_values(parse_qs(parts.query, keep_blank_values=True))

    @property
    def endpoint(self) -> str | None:
        """``track``, ``import``, ``engage`` or ``groups`` (trailing slashes and a ``/mixpanel`` prefix allowed)."""
        name = self.path.rstrip("/").rsplit("/", 1)[-1]
        return name if name in ENDPOINTS else None

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def summary(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "host": self.host, "endpoint": self.endpoint}


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
        try:
            data = self.json()
        except ValueError:
            return False
        return data.get("status") in (1, "OK") and not data.get("error")


def _single_values(values: dict[str, list[str]]) -> dict[str, str]:
    return {k: v[-1] for k, v in values.items()}


@dataclass
class Decoded:
    """The records of a request (or the reason they could not be read) and its parameters."""

    records: list[Any]
    params: dict[str, str]
    #: per-record decode failures (NDJSON lines that are not JSON): index → message
    broken: dict[int, str] = field(default_factory=dict)
    size: int = 0


def decode(request: WireRequest, *, allow_gzip: bool) -> Decoded:
    """Read the records and parameters of a request (spec §1.2); raise ``DecodeError`` when unreadable."""
    body = request.body or b""
    if request.header("content-encoding").lower() == "gzip":
        if not allow_gzip:
            raise DecodeError("gzip-encoded bodies are not supported on this endpoint")
        body = gunzip(body)
    params = dict(request.query)
    content_type = request.header("content-type").split(";")[0].strip().lower()
    data: str | None = params.get("data")
    text = ""
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError("body is not valid UTF-8") from None
    looks_like_form = not content_type and text.lstrip()[:1] not in ("[", "{") and "=" in text
    if text and (content_type == "application/x-www-form-urlencoded" or looks_like_form):
        form = _single_values(parse_qs(text, keep_blank_values=True))
        params.update({k: v for k, v in form.items() if k != "data"})
        data = form.get("data", data)
        text = ""
    if data is not None:
        return Decoded(_as_records(_parse_data(data)), params, size=len(data.encode("utf-8")))
    if not text.strip():
        raise DecodeError("no data: send a 'data' parameter or a JSON body")
    size = len(text.encode("utf-8"))
    stripped = text.strip()
    if content_type == "application/x-ndjson" or (stripped[:1] == "{" and "\n" in stripped):
        try:
            return Decoded(_as_records(json.loads(stripped)), params, size=size)
        except ValueError:
            return _ndjson(stripped, params, size)
    try:
        return Decoded(_as_records(json.loads(stripped)), params, size=size)
    except ValueError as exc:
        raise DecodeError(f"body is not valid JSON: {exc}") from None


def _ndjson(text: str, params: dict[str, str], size: int) -> Decoded:
    records: list[Any] = []
    broken: dict[int, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            broken[len(records)] = f"line is not valid JSON: {exc.msg}"
            records.append(None)
    return Decoded(records, params, broken, size)


def _parse_data(value: str) -> Any:
    """A ``data=`` value: JSON, or base64 (standard or URL-safe, padding optional) of JSON."""
    stripped = value.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(stripped)
        except ValueError as exc:
            raise DecodeError(f"data is not valid JSON: {exc}") from None
    padded = stripped + "=" * (-len(stripped) % 4)
    try:
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        return json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise DecodeError("data is neither JSON nor base64-encoded JSON") from None


def _as_records(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def basic_credentials(request: WireRequest) -> tuple[str, str] | None:
    """``(user, password)`` from a Basic ``Authorization`` header (base64 or, as Mixpanel allows, plain)."""
    header = request.header("authorization")
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
