"""Mixpanel's ingestion endpoints: ``(simulator, WireRequest) → Reply`` handlers and their routing table.

The handlers decode, authenticate and answer in Mixpanel's words (ingestion spec §1); what a record
*does* is the simulator's business (``ingest_event``, ``apply_profile_record``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .events import Context
from .ingest import PreparedEvent, PreparedProfile
from .state import RecordResult
from .wire import (
    MAX_BODY_BYTES,
    MAX_RECORDS,
    Broken,
    Decoded,
    DecodeError,
    Reply,
    TooLarge,
    WireRequest,
    basic_credentials,
    decode,
    flag,
)

if TYPE_CHECKING:
    from .simulator import Simulator

GIF = "GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00" \
      "\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
IMPORT_FAILED = "some data points in the request failed validation"


@dataclass(slots=True)
class Reading:
    """A request read as far as the request itself and the project's settings decide: the first half
    of answering it. Its parameters and, per record, either the record's fate (rejected, ignored) or
    the prepared record that ``commit`` stores in order.

    ``Simulator.handle`` reads and commits back to back. A long replay reads each request in a worker
    process while this process commits the ones before (``mpsim/transform_pool.py``); ``key`` is then
    the simulator's ``reading_key()`` the worker read with, and a reading whose key or clock no
    longer match is read again here. One set of rules, in two halves.
    """

    endpoint: str
    params: dict[str, str]
    items: list[RecordResult | PreparedEvent | PreparedProfile]
    received: int
    key: Any = None


#: reads a request: the answer when it ends before its records (bad credentials, unreadable body), else a Reading
Reader = Callable[["Simulator", WireRequest, int], "Reply | Reading"]
#: the answer to a committed reading, from its parameters and each record's result
Finisher = Callable[[dict[str, str], list[RecordResult]], Reply]


def _simple_reply(params: dict[str, str], ok: bool, error: str | None, *, api: str | None = None) -> Reply:
    """/track, /engage and /groups answers: ``1``/``0``, or JSON with ``verbose`` (spec §1.3, §1.5)."""
    verbose = params.get("verbose", "").strip()
    if params.get("img", "").strip() == "1":
        return Reply(200, GIF, "image/gif")
    if verbose == "2" and not ok and api:
        reply = Reply.of_json(400, {"error": f"{api} API error: {error}", "status": 0})
    elif verbose in ("1", "2"):
        reply = Reply(200, _verbose_body(ok, None if ok else error))
    else:
        reply = Reply.plain(ok)
    callback = safe_callback(params.get("callback", ""))
    if callback:
        return Reply(200, f"{callback}({reply.body})", "text/javascript")
    return reply


_CALLBACK = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*|\[\d+\])*$")
#: the no-op callback mixpanel-browser sends when it wants no answer (JSONP without a callback)
_NOOP_CALLBACK = "(function(){})"


def safe_callback(name: str) -> str:
    """A JSONP ``callback`` that cannot inject script: a dotted name (``mixpanel._jsc[123]``) or the SDK's
    no-op function; anything else keeps only name characters (a simulator choice: Mixpanel does not say)."""
    name = name.strip()
    if name == _NOOP_CALLBACK or _CALLBACK.match(name):
        return name
    cleaned = re.sub(r"[^\w$.]", "", name).strip(".")
    return cleaned if _CALLBACK.match(cleaned) else ""


def _not_ingested(index: int) -> RecordResult:
    """A record sent to another residency's host: answered as accepted, not stored (spec §1.1)."""
    return RecordResult(index, True, note="host of another data residency: not ingested")


def _broken_record(index: int, broken: Broken, record: Any = None) -> RecordResult:
    """A record the reader could not take (too deep, not UTF-8, a line that is not JSON): it fails alone."""
    props = record.get("properties") if isinstance(record, dict) else None
    insert_id = props.get("$insert_id") if isinstance(props, dict) else None
    return RecordResult(index, False, field=broken.field, message=broken.message,
                        insert_id=insert_id if isinstance(insert_id, str) and len(insert_id) <= 36 else None)


def _first_error(results: list[RecordResult]) -> str | None:
    return next((r.message for r in results if not r.ok), None)


def read_track(sim: Simulator, request: WireRequest, received: int) -> Reply | Reading:
    try:
        decoded = decode(request, allow_gzip=True)
    except DecodeError as exc:
        return _simple_reply(dict(request.query), False, str(exc))
    params = decoded.params
    if len(decoded.records) > MAX_RECORDS:
        return _simple_reply(params, False, f"a request may carry at most {MAX_RECORDS} events")
    ctx = Context("track", request.host, received, sim._state.identity.mode == "simplified",
                  request_ip=request.header("x-forwarded-for") or "127.0.0.1", use_request_ip=flag(params, "ip"),
                  new_insert_id=sim.new_insert_id, geo=sim.geo, plain_json=decoded.plain)
    return Reading("track", params, _read_events(sim, request, decoded, ctx, check_token=True), received)


def _read_events(sim: Simulator, request: WireRequest, decoded: Decoded, ctx: Context, *,
                 check_token: bool) -> list[RecordResult | PreparedEvent | PreparedProfile]:
    return _read_records(sim, request, decoded,
                         lambda record, i: sim.prepare_event(record, ctx, i, check_token=check_token))


def _read_records(sim: Simulator, request: WireRequest, decoded: Decoded,
                  prepare: Callable[[Any, int], RecordResult | PreparedEvent | PreparedProfile],
                  ) -> list[RecordResult | PreparedEvent | PreparedProfile]:
    """Each record's fate or prepared half: broken on the wire, sent to another residency's host, or ``prepare``d."""
    stored = sim.host_accepted(request.host)
    return [_broken_record(i, decoded.broken[i], record) if i in decoded.broken
            else prepare(record, i) if stored else _not_ingested(i)
            for i, record in enumerate(decoded.records)]


def finish_track(params: dict[str, str], results: list[RecordResult]) -> Reply:
    ok = any(r.ok for r in results)
    return _simple_reply(params, ok, _first_error(results) or (None if ok else "no events in the request"))


def _import_error(status: int, error: str, label: str) -> Reply:
    return Reply.of_json(status, {"code": status, "error": error, "status": label})


def _authenticate_import(sim: Simulator, request: WireRequest) -> str | None:
    """None when the /import credentials are good, else the reason (spec §1.4)."""
    credentials = basic_credentials(request)
    if credentials is None:
        if sim.token is None and sim.api_secret is None and not sim.service_accounts:
            return None  # a project that accepts any token does not ask for one
        return "missing credentials: use HTTP Basic auth with the project token, secret or a service account"
    user, password = credentials
    if user in sim.service_accounts:
        if sim.service_accounts[user] != password:
            return "Invalid service account credentials"
        project = request.query.get("project_id")
        if sim.project_id is not None and project != sim.project_id:
            return f"project_id {project!r} does not match this project"
        return None
    if sim.api_secret is not None and user == sim.api_secret:
        return None
    if sim.token is None or user == sim.token:
        return None
    return "Invalid credentials"


def read_import(sim: Simulator, request: WireRequest, received: int) -> Reply | Reading:
    if len(request.body) > MAX_BODY_BYTES and request.header("content-encoding").lower() != "gzip":
        return _import_error(413, f"request exceeds max limit of {MAX_BODY_BYTES} bytes", "Request Entity Too Large")
    problem = _authenticate_import(sim, request)
    if problem is not None:
        return _import_error(401, problem, "Unauthorized")
    try:
        decoded = decode(request, allow_gzip=True)
    except TooLarge as exc:
        return _import_error(413, str(exc), "Request Entity Too Large")
    except DecodeError as exc:
        return _import_error(400, str(exc), "Bad Request")
    if decoded.size > MAX_BODY_BYTES:
        return _import_error(413, f"request exceeds max limit of {MAX_BODY_BYTES} bytes", "Request Entity Too Large")
    if len(decoded.records) > MAX_RECORDS:
        return _import_error(400, f"request has {len(decoded.records)} events; the limit is {MAX_RECORDS}",
                             "Bad Request")
    ctx = Context("import", request.host, received, sim._state.identity.mode == "simplified",
                  request_ip=request.header("x-forwarded-for") or None, new_insert_id=sim.new_insert_id,
                  geo=sim.geo, plain_json=decoded.plain)
    return Reading("import", decoded.params, _read_events(sim, request, decoded, ctx, check_token=False), received)


def finish_import(params: dict[str, str], results: list[RecordResult]) -> Reply:
    imported = sum(1 for r in results if r.ok)
    failed = [r for r in results if not r.ok]
    strict = flag(params, "strict")
    if not strict and params.get("verbose", "").strip() not in ("1", "2"):
        return Reply.plain(not failed)  # the official Node client's import_batch wants 1 (spec §1.4)
    if strict:
        if not failed:
            return Reply(200, _imported_ok(imported))
        return Reply.of_json(400, {
            "code": 400, "error": IMPORT_FAILED,
            "failed_records": [_failed_record(r) for r in failed],
            "num_records_imported": imported, "status": "Bad Request"})
    return Reply.of_json(200, {"code": 200, "error": IMPORT_FAILED if failed else None,
                               "num_records_imported": imported, "status": 0 if failed else 1})


@functools.lru_cache(maxsize=256)
def _verbose_body(ok: bool, error: str | None) -> str:
    """A ``verbose=1`` answer (made once per distinct answer: a replay repeats a handful)."""
    return Reply.of_json(200, {"status": 1 if ok else 0, "error": error}).body


@functools.lru_cache(maxsize=64)
def _imported_ok(imported: int) -> str:
    """The body of a strict /import that took every record (made once per count: most requests repeat it)."""
    return Reply.of_json(200, {"code": 200, "num_records_imported": imported, "status": "OK"}).body


def _failed_record(result: RecordResult) -> dict[str, Any]:
    out: dict[str, Any] = {"index": result.index}
    if isinstance(result.insert_id, str):
        out["$insert_id"] = result.insert_id
    out["field"] = result.field
    out["message"] = result.message
    return out


def _profiles_reader(kind: str, api: str) -> Reader:
    def read(sim: Simulator, request: WireRequest, received: int) -> Reply | Reading:
        try:
            decoded = decode(request, allow_gzip=False)
        except DecodeError as exc:
            return _simple_reply(dict(request.query), False, str(exc), api=api)
        params = decoded.params
        if len(decoded.records) > MAX_RECORDS:
            return _simple_reply(params, False, f"a request may carry at most {MAX_RECORDS} updates", api=api)
        request_ip = request.header("x-forwarded-for") or None
        locate = params.get("ip", "1").strip() != "0"
        items = _read_records(sim, request, decoded, lambda record, i: sim.prepare_profile_record(
            record, kind, i, received, request_ip=request_ip, locate=locate))
        return Reading(kind, params, items, received)

    return read


def _profiles_finisher(api: str) -> Finisher:
    def finish(params: dict[str, str], results: list[RecordResult]) -> Reply:
        failed = [r for r in results if not r.ok]
        if flag(params, "strict") and failed:
            return Reply.of_json(400, {"code": 400, "error": IMPORT_FAILED, "status": "Bad Request",
                                       "failed_records": [_failed_record(r) for r in failed],
                                       "num_records_imported": len(results) - len(failed)})
        ok = bool(results) and not failed if params.get("verbose", "").strip() == "2" else any(r.ok for r in results)
        return _simple_reply(params, ok, _first_error(results) or (None if ok else "no records in the request"),
                             api=api)

    return finish


#: Endpoint name → (how a request is read, how the committed records are answered): the only dispatch table.
ENDPOINTS: dict[str, tuple[Reader, Finisher]] = {
    "track": (read_track, finish_track),
    "import": (read_import, finish_import),
    "engage": (_profiles_reader("engage", "Engage"), _profiles_finisher("Engage")),
    "groups": (_profiles_reader("groups", "Groups"), _profiles_finisher("Groups")),
}


def read(sim: Simulator, request: WireRequest, received: int) -> Reply | Reading:
    """The first half of answering an ingestion request: what the request and the project's settings
    decide (credentials, body, each record's own checks). Changes nothing; ``commit`` does the rest."""
    return ENDPOINTS[request.endpoint or ""][0](sim, request, received)


def commit(sim: Simulator, reading: Reading, results: list[RecordResult]) -> Reply:
    """The second half: each prepared record stored in order (identity, profiles), and the answer."""
    for item in reading.items:
        if isinstance(item, PreparedEvent):
            results.append(sim.commit_event(item))
        elif isinstance(item, PreparedProfile):
            results.append(sim.commit_profile_record(item))
        else:
            results.append(item)
    return answer(reading, results)


def answer(reading: Reading, results: list[RecordResult]) -> Reply:
    """Mixpanel's answer to a read request, given each record's result."""
    return ENDPOINTS[reading.endpoint][1](reading.params, results)


#: Methods the ingestion endpoints answer (OPTIONS is the CORS preflight).
ALLOWED_METHODS = ("GET", "POST", "OPTIONS")


def method_not_allowed(request: WireRequest, allowed: tuple[str, ...] = ALLOWED_METHODS) -> Reply:
    """405 in JSON with the ``Allow`` header, for every door (a simulator choice: Mixpanel does not say)."""
    return Reply(405, Reply.of_json(405, {"error": f"method {request.method} is not allowed on {request.path}; "
                                                   f"use {', '.join(allowed)}", "status": 0}).body,
                 headers={"Allow": ", ".join(allowed)})


def cors_headers(request: WireRequest) -> dict[str, str]:
    """CORS as Mixpanel's API gives it (spec §1.3): any origin, with credentials.

    mixpanel-browser sends ``withCredentials``, so the origin is echoed (``*`` is not allowed then).
    """
    origin = request.header("origin")
    if not origin:
        return {"Access-Control-Allow-Origin": "*"}
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}


def preflight(request: WireRequest) -> Reply:
    """The answer to a CORS preflight ``OPTIONS``: every method and requested header allowed, cached a day."""
    asked = request.header("access-control-request-headers")
    headers = {**cors_headers(request), "Access-Control-Allow-Methods": ", ".join(ALLOWED_METHODS),
               "Access-Control-Allow-Headers": asked or "Content-Type, Authorization, Content-Encoding",
               "Access-Control-Max-Age": "86400", "Allow": ", ".join(ALLOWED_METHODS)}
    return Reply(204, "", "text/plain", headers)


def route(sim: Simulator, request: WireRequest, received: int, results: list[RecordResult], *,
          store: bool = True) -> Reply:
    """Answer one request (``Simulator.handle`` holds the lock, logs it and keeps ``results``).

    ``store=False`` reads the request and answers as if every prepared record had been stored, storing
    nothing: ``mpsim.scale`` prepares a whole history that way and commits it later, in order.
    """
    if request.endpoint not in ENDPOINTS:
        return Reply.of_json(404, {"error": f"unknown endpoint {request.path!r}; Mixpanel ingests on /track, "
                                            "/import, /engage and /groups", "status": 0})
    method = request.method.upper()
    if method == "OPTIONS":
        return preflight(request)
    if method not in ("GET", "POST"):
        return method_not_allowed(request)
    reading = request.reading
    if reading is None or reading.received != received or reading.key != sim.reading_key():
        reading = read(sim, request, received)  # not read ahead, or read under settings that have changed since
    if isinstance(reading, Reply):
        return reading
    if not store:
        results += [item if isinstance(item, RecordResult) else RecordResult(item.index, True, stored=True)
                    for item in reading.items]
        return answer(reading, results)
    return commit(sim, reading, results)
