"""The gateway: routes, write-key auth, body checks and storage (data-plane spec §1, §2.1).

``receive(plane, request)`` answers one HTTP request the way rudder-server's gateway does and stores
the accepted events as jobs. It never raises on bad input: every refusal is an answer plus a drop
record naming the gate and the reason.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import unicodedata
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..._js import loads as js_loads
from ...mixpanel.api import GIF
from ...mixpanel.wire import DecodeError, Reply, TooLarge, WireRequest, gunzip
from .answers import REASONS, answer_text
from .records import Drop, EventFate, GatewayExchange, Job, event_label
from .timestamps import format_time, from_ms

if TYPE_CHECKING:
    from .pipeline import DataPlane

TEXT = "text/plain; charset=utf-8"
SINGLE_EVENT_TYPES = ("track", "identify", "page", "screen", "group", "alias", "merge", "audiencelist")


@dataclass(frozen=True)
class Route:
    """One of the gateway's paths: how its body is read and which methods it takes."""

    kind: str  # event | batch | import | beacon | pixel | config | info
    methods: tuple[str, ...]
    type: str | None = None


ROUTES: dict[str, Route] = {
    **{f"/v1/{t}": Route("event", ("POST",), t) for t in SINGLE_EVENT_TYPES},
    "/v1/batch": Route("batch", ("POST",)),
    "/v1/import": Route("import", ("POST",)),
    "/beacon/v1/batch": Route("beacon", ("POST",)),
    "/pixel/v1/track": Route("pixel", ("GET",), "track"),
    "/pixel/v1/page": Route("pixel", ("GET",), "page"),
    "/sourceConfig": Route("config", ("GET",)),
    "/sourceConfig/": Route("config", ("GET",)),
    "/health": Route("info", ("GET",)),
    "/": Route("info", ("GET",)),
    "/version": Route("info", ("GET",)),
    "/robots.txt": Route("info", ("GET",)),
}


class Refusal(Exception):
    """The gateway refuses the whole request (one of ``answers.ANSWERS``)."""

    def __init__(self, key: str, index: int | None = None, note: str = "") -> None:
        super().__init__(key)
        self.key = key
        self.index = index
        self.note = note


#: Path prefixes only the data plane uses: a request below one that is no route gets the router's 404
PREFIXES = ("/v1/", "/beacon/", "/pixel/")
#: Routes RudderStack's gateway has that mpsim does not serve, and why
NOT_SERVED = {"/v1/webhook": "webhook sources are not simulated by mpsim"}


def owns(path: str) -> bool:
    """True for the data plane's paths (the server asks before handing a request to Mixpanel)."""
    return path in ROUTES or path.startswith(PREFIXES)


# ------------------------------------------------------------------------------------ identity helpers
def clean_id(value: Any) -> str:
    """``anonymousId``/``userId`` as the gateway reads them: JSON text, non-printables removed, trimmed."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    kept = "".join(ch for ch in text if ch == " " or unicodedata.category(ch)[0] in "LMNPS")
    return kept.strip()


def md5_uuid(text: str) -> str:
    """RudderStack's ``rudderId``: an MD5 digest with the UUID v4 version and variant bits set."""
    digest = bytearray(hashlib.md5(text.encode("utf-8")).digest())
    digest[6] = (digest[6] & 0x0F) | 0x40
    digest[8] = (digest[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(digest)))


def client_ip(request: WireRequest) -> str:
    forwarded = request.header("x-forwarded-for")
    if forwarded:
        return forwarded.split(",")[0].replace(" ", "")
    return "127.0.0.1"


def basic_write_key(request: WireRequest) -> str | None:
    """The Basic-auth user (the password is ignored); None when the header does not carry one."""
    header = request.header("authorization")
    if header[:6].lower() != "basic ":
        return None
    try:
        text = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, _ = text.partition(":")
    return user if colon and user else None


# ------------------------------------------------------------------------------------ answers
def _text(plane: DataPlane, key: str) -> Reply:
    status, text = answer_text(key, plane.legacy_answers)
    if status == 200:
        return Reply(200, text, TEXT)
    return Reply(status, text + "\n", TEXT, headers={"X-Content-Type-Options": "nosniff"})


def cors(request: WireRequest, reply: Reply) -> Reply:
    """Any origin, echoed, with credentials (spec §1.1); preflights get the asked-for method and headers."""
    origin = request.header("origin")
    if origin:
        reply.headers.update({"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true",
                              "Vary": "Origin"})
    return reply


def preflight(request: WireRequest) -> Reply:
    headers = {"Access-Control-Max-Age": "900",
               "Access-Control-Allow-Methods": request.header("access-control-request-method", "POST").upper()}
    asked = request.header("access-control-request-headers")
    if asked:
        headers["Access-Control-Allow-Headers"] = asked
    return cors(request, Reply(204, "", TEXT, headers=headers))


# ------------------------------------------------------------------------------------ the door
def receive(plane: DataPlane, request: WireRequest) -> Reply:
    """Answer one request to a data-plane path (``owns(request.path)`` must be true)."""
    route = ROUTES.get(request.path)
    method = request.method.upper()
    if method == "OPTIONS":
        return preflight(request)
    if route is None:
        return cors(request, _not_found(plane, request))
    if method not in route.methods and not (route.kind == "info" and method == "HEAD"):
        return cors(request, Reply(405, "", TEXT))
    if route.kind == "info":
        return cors(request, _info(request.path))
    if route.kind == "config":
        return cors(request, _source_config(plane, request))
    if route.kind == "pixel":
        return cors(request, _pixel(plane, request, route))
    return cors(request, _events(plane, request, route))


def _info(path: str) -> Reply:
    if path == "/robots.txt":
        return Reply(200, "User-agent: * \nDisallow: / \n", TEXT)
    if path == "/version":
        return Reply.of_json(200, {"Version": "mpsim", "Note": "mpsim's twin of RudderStack's data plane"})
    return Reply.of_json(200, {"server": "UP", "db": "UP", "acceptingEvents": "TRUE", "routingEvents": "TRUE",
                               "mode": "NORMAL", "backendConfigMode": "JSON", "appType": "EMBEDDED"})


def _not_found(plane: DataPlane, request: WireRequest) -> Reply:
    """A path below ``/v1/``, ``/beacon/`` or ``/pixel/`` that is no route: 404, and the events it carried are lost."""
    exchange = _exchange(plane, request, basic_write_key(request) or request.query.get("writeKey"))
    exchange.fates = _peek(plane, request, ROUTES["/v1/batch"]) or _peek(plane, request, Route("event", ("POST",)))
    note = NOT_SERVED.get(request.path, "not a data-plane route: the SDK's data plane URL or path is wrong")
    return _refuse(plane, exchange, Refusal("not found", note=note))


def _source_config(plane: DataPlane, request: WireRequest) -> Reply:
    """What the JS SDK v3 loads before it sends anything (spec §5.1): the source, with no device-mode destinations."""
    key = basic_write_key(request) or request.query.get("writeKey") or ""
    exchange = _exchange(plane, request, key)
    if not plane.accepts_key(key):
        drop = Drop("gateway", "write key", "source config refused: invalid write key (the JS SDK stops here and "
                    "sends no events)", 400, exchange.seq)
        exchange.drops.append(drop)
        plane.drops.append(drop)
        return _finish(plane, exchange, Reply.of_json(400, {"message": "Invalid write key"}))
    return _finish(plane, exchange, Reply.of_json(200, plane.source_config(key)))


def _exchange(plane: DataPlane, request: WireRequest, key: str | None) -> GatewayExchange:
    return GatewayExchange(len(plane.log) + 1, plane.sim.now_ms, request.method.upper(), request.path, key, 0, "")


def _finish(plane: DataPlane, exchange: GatewayExchange, reply: Reply) -> Reply:
    exchange.status, exchange.answer = reply.status, reply.body
    plane.log.append(exchange)
    return reply


def _refuse(plane: DataPlane, exchange: GatewayExchange, refusal: Refusal, events: Any = None) -> Reply:
    reply = _text(plane, refusal.key)
    detail = reply.body.strip() + (f" ({refusal.note})" if refusal.note else "")
    if exchange.events:
        detail += f"; 0 of {exchange.events} events stored"
    event = events[refusal.index] if isinstance(events, list) and refusal.index is not None \
        and refusal.index < len(events) else None
    label = event_label(event) if event is not None else ""
    if event is None and exchange.fates:  # refused before reading (write key): what it carried, for the record
        label = exchange.fates[0].label if len(exchange.fates) == 1 else f"{len(exchange.fates)} events"
    drop = Drop("gateway", REASONS[refusal.key], detail, reply.status, exchange.seq, refusal.index,
                event.get("messageId") if isinstance(event, dict) and isinstance(event.get("messageId"), str) else None,
                label)
    exchange.drops.append(drop)
    plane.drops.append(drop)
    for fate in exchange.fates:  # one refusal refuses every event of the request
        fate.drop = drop
    return _finish(plane, exchange, reply)


def _write_key(plane: DataPlane, request: WireRequest, route: Route) -> str:
    if route.kind == "beacon":
        key = request.query.get("writeKey", "")
        if not key:
            raise Refusal("no write key in query")
    else:
        found = basic_write_key(request)
        if found is None:
            raise Refusal("no write key")
        key = found
    if not plane.accepts_key(key):
        raise Refusal("invalid write key")
    if not plane.source_enabled:
        raise Refusal("source disabled")
    return key


def _body(plane: DataPlane, request: WireRequest) -> bytes:
    body = request.body or b""
    if request.header("content-encoding") == "gzip":
        try:
            return gunzip(body, limit=plane.max_request_bytes * 4)
        except TooLarge:
            raise Refusal("too large", note="more than four times the limit after gunzip") from None
        except DecodeError as exc:
            raise Refusal("unreadable body", note=str(exc)) from None
    return body


def _read_batch(plane: DataPlane, request: WireRequest, route: Route) -> tuple[list[Any], int]:
    """The request's events and the size the limit is measured on (spec §1.4, §1.5 steps 1-3)."""
    raw = _body(plane, request)
    try:
        payload = js_loads(raw) if raw.strip() else None  # numbers as the JS transformer reads them
    except (ValueError, UnicodeDecodeError):
        raise Refusal("invalid json") from None
    if payload is None and not raw.strip():
        raise Refusal("invalid json", note="empty body")
    size = len(raw)
    if route.kind == "event":
        if not isinstance(payload, dict):
            raise Refusal("not an event", note=f"the body is a JSON {type(payload).__name__}")
        payload = {**payload, "type": route.type} if route.type is not None else payload
        size = len(json.dumps({"batch": [payload]}, separators=(",", ":"), ensure_ascii=False).encode())
        return [payload], size
    batch = payload.get("batch") if isinstance(payload, dict) else None
    if route.kind == "import" and batch in (None, []):
        return [], size  # regrouped per user first: no group, no error (spec §1.7)
    if batch is None or batch == []:
        raise Refusal("empty batch")
    return (batch if isinstance(batch, list) else [batch]), size


def _fate(index: int, event: Any) -> EventFate:
    if not isinstance(event, dict):
        return EventFate(index, event_label(event), None, "", "")
    message_id = event.get("messageId")
    return EventFate(index, event_label(event), message_id if isinstance(message_id, str) and message_id else None,
                     clean_id(event.get("anonymousId")), clean_id(event.get("userId")))


def _peek(plane: DataPlane, request: WireRequest, route: Route) -> list[EventFate]:
    """The events of a request refused before its body is read (write key), for the record only."""
    try:
        batch, _ = _read_batch(plane, request, route)
    except (Refusal, ValueError, TypeError, RecursionError):
        return []
    return [_fate(i, e) for i, e in enumerate(batch)]


def _events(plane: DataPlane, request: WireRequest, route: Route) -> Reply:
    exchange = _exchange(plane, request, None)
    try:
        exchange.write_key = _write_key(plane, request, route)
    except Refusal as refusal:
        exchange.write_key = basic_write_key(request) or request.query.get("writeKey")
        exchange.fates = _peek(plane, request, route)
        return _refuse(plane, exchange, refusal)
    try:
        batch, size = _read_batch(plane, request, route)
    except Refusal as refusal:
        return _refuse(plane, exchange, refusal)
    exchange.events, exchange.size = len(batch), size
    exchange.library = _library(batch, request)
    exchange.fates = [_fate(i, e) for i, e in enumerate(batch)]
    if route.kind == "import":
        return _import(plane, request, exchange, batch)
    try:
        _validate(plane, batch)
        _rate_limit(plane)
        if size > plane.max_request_bytes:
            raise Refusal("too large", note=f"{size} bytes, limit {plane.max_request_bytes}")
    except Refusal as refusal:
        return _refuse(plane, exchange, refusal, batch)
    _store(plane, request, exchange, batch, exchange.fates)
    return _finish(plane, exchange, _text(plane, "ok"))


def _library(batch: list[Any], request: WireRequest) -> str | None:
    first = batch[0] if batch else None
    context = first.get("context") if isinstance(first, dict) else None
    library = context.get("library") if isinstance(context, dict) else None
    if isinstance(library, dict) and isinstance(library.get("name"), str):
        version = library.get("version")
        return library["name"] + (f" {version}" if isinstance(version, str) and version else "")
    return request.header("user-agent") or None


def _validate(plane: DataPlane, batch: list[Any]) -> None:
    """Every element must be an object with an identity; the first failure refuses the request (spec §1.5)."""
    for index, event in enumerate(batch):
        if not isinstance(event, dict):
            raise Refusal("not an event", index, f"batch[{index}] is a JSON {type(event).__name__}")
        if plane.allow_no_identity:
            continue
        if not clean_id(event.get("anonymousId")) and not clean_id(event.get("userId")):
            raise Refusal("no identity", index, f"batch[{index}] has no usable anonymousId or userId")


def _rate_limit(plane: DataPlane) -> None:
    if plane.rate_limit is None:
        return
    window = plane.sim.now_ms // 1000
    if plane._rate_window[0] != window:
        plane._rate_window = (window, 0)
    if plane._rate_window[1] >= plane.rate_limit:
        raise Refusal("rate limit", note=f"more than {plane.rate_limit} requests in one second")
    plane._rate_window = (window, plane._rate_window[1] + 1)


def _import(plane: DataPlane, request: WireRequest, exchange: GatewayExchange, batch: list[Any]) -> Reply:
    """/v1/import: the batch regrouped per user, each group judged alone; the error texts concatenated (§1.7)."""
    groups: dict[str, list[tuple[Any, EventFate]]] = {}
    for event, fate in zip(batch, exchange.fates, strict=True):
        user = event.get("userId") if isinstance(event, dict) else None
        anon = event.get("anonymousId") if isinstance(event, dict) else None
        groups.setdefault(md5_uuid(f"{user if isinstance(user, str) else ''}:"
                                   f"{anon if isinstance(anon, str) else ''}"), []).append((event, fate))
    errors: list[Reply] = []
    for group in groups.values():
        members, fates = [e for e, _ in group], [f for _, f in group]
        try:
            _validate(plane, members)
            _rate_limit(plane)
        except Refusal as refusal:
            reply = _text(plane, refusal.key)
            errors.append(reply)
            drop = Drop("gateway", REASONS[refusal.key], reply.body.strip(), reply.status, exchange.seq,
                        None, None, f"{len(members)} events of one user")
            exchange.drops.append(drop)
            plane.drops.append(drop)
            for fate in fates:
                fate.drop = drop
            continue
        _store(plane, request, exchange, members, fates)
    if not errors:
        return _finish(plane, exchange, _text(plane, "ok"))
    if len(errors) == 1:
        return _finish(plane, exchange, errors[0])
    text = "".join(e.body.strip() for e in errors)
    return _finish(plane, exchange, Reply(500, text + "\n", TEXT, headers={"X-Content-Type-Options": "nosniff"}))


def _store(plane: DataPlane, request: WireRequest, exchange: GatewayExchange, batch: list[Any],
           fates: list[EventFate]) -> None:
    """Each event becomes a job of its own; the body's other top-level keys are dropped (spec §2.1)."""
    received = plane.sim.now_ms
    ip = client_ip(request)
    request_ip = ip
    prepared = []
    for event in batch:
        message = dict(event)
        message_id = message.get("messageId")
        message_id = clean_id(message_id) if isinstance(message_id, str) else ""
        message["messageId"] = message_id or plane.new_message_id()
        anon, user = clean_id(message.get("anonymousId")), clean_id(message.get("userId"))
        message["rudderId"] = md5_uuid(f"{user}:{anon}")
        message.setdefault("receivedAt", format_time(from_ms(received)))
        if isinstance(message.get("request_ip"), str) and message["request_ip"]:
            request_ip = message["request_ip"]
        else:
            message["request_ip"] = ip
        prepared.append((message, f"{request.header('anonymousid')}<<>>{anon or user}<<>>{user}"))
    for index, ((message, user_key), fate) in enumerate(zip(prepared, fates, strict=True)):
        fate.message_id = message["messageId"]
        if plane.is_suppressed(message):
            drop = Drop("gateway", "suppression", "user is suppressed (Regulation API): dropped silently", 200,
                        exchange.seq, index, message["messageId"], event_label(message))
            exchange.drops.append(drop)
            plane.drops.append(drop)
            fate.drop = drop
            continue
        plane.jobs.append(Job(len(plane.jobs) + 1, exchange.seq, index, message, received, request_ip, user_key))
        fate.job = len(plane.jobs)
        exchange.stored += 1


def _pixel(plane: DataPlane, request: WireRequest, route: Route) -> Reply:
    """GET /pixel/v1/track|page: the query string becomes one event; the answer is always the GIF (§1.6)."""
    gif = Reply(200, GIF, "image/gif")
    exchange = _exchange(plane, request, request.query.get("writeKey"))
    now = format_time(from_ms(plane.sim.now_ms))
    event: dict[str, Any] = {"channel": "web", "integrations": {"All": True}, "originalTimestamp": now, "sentAt": now}
    for name, value in request.query.items():
        if name == "writeKey":
            continue
        _set_path(event, name.split("."), value)
    anon = event.get("anonymousId")
    if isinstance(anon, str):
        event["anonymousId"] = anon.strip('"')
    event["type"] = route.type
    try:
        key = request.query.get("writeKey", "")
        if not key:
            raise Refusal("no write key in query")
        if not plane.accepts_key(key):
            raise Refusal("invalid write key")
        if not plane.source_enabled:
            raise Refusal("source disabled")
        if route.type == "page" and not event.get("name"):
            event["name"] = "Unknown Page"
        if route.type == "track" and not event.get("event"):
            raise Refusal("not an event", 0, "a pixel track needs an 'event' parameter")
        exchange.events = 1
        exchange.fates = [_fate(0, event)]
        _validate(plane, [event])
    except Refusal as refusal:
        exchange.fates = exchange.fates or [_fate(0, event)]
        reply = _refuse(plane, exchange, refusal, [event])
        exchange.status, exchange.answer = gif.status, "GIF (" + reply.body.strip() + ")"
        return gif
    _store(plane, request, exchange, [event], exchange.fates)
    return _finish(plane, exchange, gif)


def _set_path(target: dict[str, Any], parts: list[str], value: str) -> None:
    for part in parts[:-1]:
        child = target.get(part)
        if not isinstance(child, dict):
            child = target[part] = {}
        target = child
    target[parts[-1]] = value
