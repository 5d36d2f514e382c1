"""The control API under ``/_mpsim/``: what the simulated Mixpanel holds, as JSON, for tests in any language.

Cypress, Playwright, Jest or Go tests point their app at ``mpsim serve`` and then ask it what Mixpanel
now holds, reset it between tests, inject faults and save or load whole states, over plain HTTP on
the same port (the idea of Snowplow Micro and of moto's server mode). ``GET /_mpsim/`` is a live
page of the same data. The routes are one table (:data:`ROUTES`); the OpenAPI document at
``/_mpsim/openapi.json`` is made from it, so the two cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from .wire import Reply, WireRequest

if TYPE_CHECKING:
    from .simulator import Simulator

PREFIX = "/_mpsim"


class ControlError(ValueError):
    """A control request that cannot be answered: the status code and the reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ControlRoute:
    """One control endpoint: method, path below ``/_mpsim``, handler name, and what it does (for OpenAPI)."""

    method: str
    path: str
    handler: str
    summary: str
    params: tuple[tuple[str, str], ...] = ()  # (query parameter, description)
    body: str | None = None  # what a POST body holds, when it takes one


ROUTES: tuple[ControlRoute, ...] = (
    ControlRoute("GET", "/", "page", "The live page: events as they arrive, users, profiles, findings (HTML)"),
    ControlRoute("GET", "/health", "health", "Liveness and counts"),
    ControlRoute("GET", "/openapi.json", "openapi", "This API's OpenAPI 3 document"),
    ControlRoute("GET", "/state", "state", "Counts, settings and dropped-record reasons"),
    ControlRoute("GET", "/events", "events", "Stored events (deduplicated, canonical distinct_id), oldest first",
                 (("since", "only events with seq greater than this"), ("limit", "at most this many (latest)"),
                  ("raw", "1: every stored copy, before deduplication"))),
    ControlRoute("GET", "/profiles", "profiles", "Visible user profiles (after identity merges)"),
    ControlRoute("GET", "/profile", "profile", "One user's visible profile (404 when there is none)",
                 (("distinct_id", "any id of the user"), ("ignore_alias", "1: the literal id's profile"))),
    ControlRoute("GET", "/groups", "groups", "Group profiles"),
    ControlRoute("GET", "/identities", "identities", "Every distinct id with its canonical id and cluster size"),
    ControlRoute("GET", "/clusters", "clusters", "Canonical id → every id of that user"),
    ControlRoute("GET", "/log", "log", "Requests received, Mixpanel's answers and each record's fate",
                 (("since", "only requests with seq greater than this"), ("limit", "at most this many (latest)"))),
    ControlRoute("GET", "/findings", "findings", "What went wrong: rejected records, refused merges, ignored records"),
    ControlRoute("GET", "/explain", "explain", "Why an id is the user it is, whether two ids are one user, or where "
                 "a profile's values came from",
                 (("id", "the id to explain"), ("other", "a second id: are they one user?"),
                  ("profile", "explain this user's profile instead"), ("property", "only this profile property"))),
    ControlRoute("GET", "/snapshot", "save", "The whole state as JSON (mpsim.load_snapshot reads it)"),
    ControlRoute("POST", "/snapshot", "load", "Replace the state with a saved one (settings stay)",
                 body="a saved state: what GET /_mpsim/snapshot (or Snapshot.to_dict()) gave"),
    ControlRoute("POST", "/reset", "reset", "Forget everything received (settings stay)"),
    ControlRoute("POST", "/fail_next", "fail_next", "Answer the next requests with an error, storing nothing",
                 body='{"status": 429 | 500 | 502 | 503, "count": 1, "endpoint": "track" | "import" | ... | null}'),
)


def _records(frame: Any) -> list[dict[str, Any]]:
    """A DataFrame as JSON records (NaN → null, times as ISO strings)."""
    return json.loads(frame.to_json(orient="records", date_format="iso", default_handler=str)) if len(frame) else []


def _flag(request: WireRequest, name: str) -> bool:
    return request.query.get(name, "").strip() in ("1", "true", "True")


def _int(request: WireRequest, name: str) -> int | None:
    value = request.query.get(name)
    if value is None or value.strip() == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ControlError(400, f"query parameter {name!r} must be a whole number, not {value[:40]!r}") from None


def _required(request: WireRequest, name: str) -> str:
    value = request.query.get(name)
    if not value:
        raise ControlError(400, f"query parameter {name!r} is required")
    return value


def _json_body(request: WireRequest) -> Any:
    if not request.body.strip():
        return {}
    try:
        return json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ControlError(400, f"the body is not JSON: {exc}") from None


def _tail(items: list[Any], limit: int | None) -> list[Any]:
    return items if limit is None or limit < 0 else items[len(items) - limit:] if limit else []


class ControlAPI:
    """Answers ``/_mpsim/...`` requests about one simulator (door-level: it is not logged in ``sim.log``)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self._table: dict[tuple[str, str], Callable[[WireRequest], Any]] = {
            (r.method, r.path): getattr(self, "_" + r.handler) for r in ROUTES}

    def handle(self, request: WireRequest) -> Reply:
        path = request.path[len(PREFIX):] or "/"
        path = path if path == "/" else path.rstrip("/")
        methods = sorted({m for (m, p) in self._table if p == path})
        if not methods:
            return Reply.of_json(404, {"error": f"no control endpoint {request.path!r}; see {PREFIX}/openapi.json",
                                       "status": 0})
        method = request.method.upper()
        if method == "HEAD" and "GET" in methods:
            method = "GET"
        handler = self._table.get((method, path))
        if handler is None:
            allowed = ", ".join(methods + ["OPTIONS"])
            return Reply(405, Reply.of_json(405, {"error": f"method {request.method} is not allowed on "
                                                           f"{request.path}; use {allowed}", "status": 0}).body,
                         headers={"Allow": allowed})
        try:
            result = handler(request)
        except ControlError as exc:
            return Reply.of_json(exc.status, {"error": str(exc), "status": 0})
        except (TypeError, ValueError) as exc:  # a bad argument to the simulator (its message names it)
            return Reply.of_json(400, {"error": str(exc), "status": 0})
        if isinstance(result, Reply):
            return result
        return Reply(200, json.dumps(result, default=str), "application/json")

    # ------------------------------------------------------------------ reads
    def _page(self, request: WireRequest) -> Reply:
        page = resources.files("mpsim").joinpath("data/control_page.html").read_text(encoding="utf-8")
        return Reply(200, page, "text/html; charset=utf-8")

    def _health(self, request: WireRequest) -> Any:
        from .. import __version__

        return {"status": "ok", "version": __version__, **self.sim.summary()}

    def _openapi(self, request: WireRequest) -> Any:
        return openapi_document()

    def _state(self, request: WireRequest) -> Any:
        settings = dict(self.sim.settings)
        settings.pop("api_secret", None)
        settings["service_accounts"] = sorted(settings.get("service_accounts") or {})  # names, never secrets
        settings.pop("geo", None)
        return {"summary": self.sim.summary(), "settings": settings, "dropped": self.sim.dropped(),
                "now_ms": self.sim.now_ms, "requests": len(self.sim.log), "generation": self.sim.generation,
                "upstreams": [upstream.summary() for upstream in self.sim.upstreams]}

    def _events(self, request: WireRequest) -> Any:
        since, limit = _int(request, "since"), _int(request, "limit")
        frame = self.sim.raw_events if _flag(request, "raw") else self.sim.events
        if since is not None and len(frame):
            frame = frame[frame["seq"] > since]
        if limit is not None and limit >= 0:
            frame = frame.tail(limit)
        return _records(frame)

    def _profiles(self, request: WireRequest) -> Any:
        with self.sim._lock:
            ids = list(self.sim.profiles["distinct_id"]) if len(self.sim.profiles) else []
            return [{"distinct_id": i, "properties": self.sim.profile(i, ignore_alias=True)} for i in ids]

    def _profile(self, request: WireRequest) -> Any:
        distinct_id = _required(request, "distinct_id")
        found = self.sim.profile(distinct_id, ignore_alias=_flag(request, "ignore_alias"))
        if found is None:
            raise ControlError(404, f"no profile for {distinct_id!r}")
        return {"distinct_id": distinct_id, "canonical": self.sim.canonical(distinct_id), "properties": found}

    def _groups(self, request: WireRequest) -> Any:
        with self.sim._lock:
            frame = self.sim.groups
            keys = list(zip(frame["group_key"], frame["group_id"], strict=True)) if len(frame) else []
            return [{"group_key": k, "group_id": i, "properties": self.sim.group(k, i)} for k, i in keys]

    def _identities(self, request: WireRequest) -> Any:
        return _records(self.sim.identities)

    def _clusters(self, request: WireRequest) -> Any:
        return self.sim.clusters()

    def _log(self, request: WireRequest) -> Any:
        since, limit = _int(request, "since"), _int(request, "limit")
        exchanges = [x for x in self.sim.log if since is None or x.seq > since]
        return [{"seq": x.seq, "received_ms": x.received_ms, "request": x.request, "status": x.status,
                 "reply": x.reply, "records": [asdict(r) for r in x.records]} for x in _tail(exchanges, limit)]

    def _findings(self, request: WireRequest) -> Any:
        return findings(self.sim)

    def _explain(self, request: WireRequest) -> Any:
        profile = request.query.get("profile")
        if profile:
            return self.sim.explain_profile(profile, request.query.get("property") or None).to_dict()
        return self.sim.explain(_required(request, "id"), request.query.get("other") or None).to_dict()

    def _save(self, request: WireRequest) -> Any:
        saved = self.sim.snapshot("saved through the control API").to_dict()
        settings = saved.get("settings")
        if isinstance(settings, dict):  # over HTTP, secrets stay in the process that was given them
            settings["api_secret"] = None
            settings["service_accounts"] = {}
        return saved

    # ------------------------------------------------------------------ writes
    def _load(self, request: WireRequest) -> Any:
        data = _json_body(request)
        if not isinstance(data, dict) or not data:
            raise ControlError(400, "the body must be a saved state (a JSON object from GET /_mpsim/snapshot)")
        self.sim.load(data)
        return {"status": "ok", **self.sim.summary()}

    def _reset(self, request: WireRequest) -> Any:
        self.sim.reset()
        return {"status": "ok"}

    def _fail_next(self, request: WireRequest) -> Any:
        data = _json_body(request)
        if not isinstance(data, dict):
            raise ControlError(400, "the body must be a JSON object {status, count, endpoint}")
        unknown = set(data) - {"status", "count", "endpoint"}
        if unknown:
            raise ControlError(400, f"unknown fields {sorted(unknown)}: give status, count and endpoint")
        self.sim.fail_next(data.get("status", 429), data.get("count", 1), endpoint=data.get("endpoint"))
        return {"status": "ok"}


def findings(sim: Simulator) -> list[dict[str, Any]]:
    """What went wrong, one item per problem: rejected records, refused merges, records accepted but ignored."""
    out: list[dict[str, Any]] = []
    for exchange in sim.log:
        if exchange.request.get("door"):  # a pipeline in front of Mixpanel: its own findings follow
            continue
        for record in exchange.records:
            base = {"request": exchange.seq, "endpoint": exchange.request.get("endpoint"), "index": record.index}
            if not record.ok:
                out.append({"kind": "rejected", **base, "field": record.field, "message": record.message,
                            "insert_id": record.insert_id})
            elif not record.stored and record.note:
                out.append({"kind": "ignored", **base, "message": record.note})
    for refusal in sim.refused_merges:
        out.append({"kind": "refused-merge", "operation": refusal.kind, "ids": list(refusal.ids),
                    "reason": refusal.reason, "message": refusal.description})
    for upstream in sim.upstreams:  # RudderStack's data plane: events that never reached Mixpanel
        out.extend(upstream.finding_items())
    return out


def openapi_document() -> dict[str, Any]:
    """The control API as OpenAPI 3.0, made from :data:`ROUTES`."""
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        operation: dict[str, Any] = {
            "summary": route.summary, "operationId": f"{route.handler}",
            "responses": {"200": {"description": "OK", "content": {
                "text/html" if route.handler == "page" else "application/json": {"schema": {}}}},
                "400": {"description": "A bad parameter or body; `error` says which"}},
        }
        if route.params:
            operation["parameters"] = [{"name": name, "in": "query", "required": False, "description": text,
                                        "schema": {"type": "string"}} for name, text in route.params]
        if route.body:
            operation["requestBody"] = {"required": False, "description": route.body,
                                        "content": {"application/json": {"schema": {"type": "object"}}}}
        paths.setdefault(PREFIX + route.path, {})[route.method.lower()] = operation
    return {"openapi": "3.0.3",
            "info": {"title": "mpsim control API", "version": "1",
                     "description": "Ask a running mpsim what Mixpanel now holds, reset it, inject faults, save and "
                                    "load states. Served next to Mixpanel's ingestion endpoints on the same port."},
            "paths": paths}
