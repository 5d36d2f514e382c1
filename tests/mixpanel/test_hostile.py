"""Hostile input never crashes the simulator or loses good data (issue 10 item 4).

Each class of input from the audit: deep nesting, invalid UTF-8, lone surrogates, NaN/Infinity,
malformed HTTP framing and headers, odd methods; and readers racing writers.
"""

from __future__ import annotations

import json
import socket
import sys
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mpsim
from mpsim import WireRequest
from mpsim.mixpanel.wire import MAX_WIRE_DEPTH
from tests.mixpanel.helpers import NOW, NOW_S, basic, event, sim

ENDPOINTS = ["track", "import", "engage", "groups"]


def good_record(endpoint: str, i: int) -> dict:
    if endpoint in ("track", "import"):
        return event("Good", distinct_id=f"u{i}", insert_id=f"good-{i}")
    if endpoint == "engage":
        return {"$token": "tok", "$distinct_id": f"u{i}", "$set": {"n": i}}
    return {"$token": "tok", "$group_key": "company", "$group_id": f"c{i}", "$set": {"n": i}}


def send(s: mpsim.Simulator, endpoint: str, body: bytes) -> mpsim.Reply:
    return s.handle(WireRequest("POST", f"https://api.mixpanel.com/{endpoint}?verbose=1",
                                {"Content-Type": "application/json", **basic("tok")}, body))


def stored(s: mpsim.Simulator, endpoint: str) -> int:
    return {"track": len(s.raw_events), "import": len(s.raw_events), "engage": len(s.profiles),
            "groups": len(s.groups)}[endpoint]


def with_bad_middle(endpoint: str, bad: bytes) -> bytes:
    """[good, bad, good] as JSON text, the bad record given as raw bytes."""
    first, last = (json.dumps(good_record(endpoint, i)).encode() for i in (1, 2))
    return b"[" + first + b"," + bad + b"," + last + b"]"


def state_is_usable(s: mpsim.Simulator) -> None:
    """Everything a user reads afterwards works: views, JSON, diffs of snapshots."""
    s.events, s.raw_events, s.profiles, s.groups, s.identities, s.clusters(), s.summary()  # noqa: B018
    json.dumps(s.snapshot().to_dict())
    mpsim.diff(mpsim.Simulator().snapshot(), s.snapshot()).to_text()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ENDPOINTS), st.integers(MAX_WIRE_DEPTH, 3000), st.sampled_from(["[]", "{}"]))
def test_deep_nesting_fails_that_record_only(endpoint, depth, kind):
    s = sim()
    opener, closer = kind
    deep = opener + (('"k":' if kind == "{}" else "") + opener) * (depth - 1) + closer * depth
    inner = good_record(endpoint, 9)
    container = inner["properties"] if "properties" in inner else inner["$set"]
    container["deep"] = "__DEEP__"
    bad = json.dumps(inner).replace('"__DEEP__"', deep).encode()
    reply = send(s, endpoint, with_bad_middle(endpoint, bad))
    assert reply.status == 200
    assert stored(s, endpoint) == 2  # the good records on both sides are kept
    outcome = s.log[-1].records
    assert [r.ok for r in outcome] == [True, False, True]
    assert "nested" in outcome[1].message or "levels deep" in outcome[1].message
    assert outcome[1].field
    state_is_usable(s)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(ENDPOINTS), st.lists(st.integers(0x20, 0xFF).filter(lambda b: b not in b'"\\'),
                                          min_size=1, max_size=4).map(bytes).filter(lambda b: not _is_utf8(b)))
def test_invalid_utf8_fails_that_record_only(endpoint, junk):
    s = sim()
    inner = good_record(endpoint, 9)
    container = inner["properties"] if "properties" in inner else inner["$set"]
    container["name"] = "__JUNK__"
    bad = json.dumps(inner).encode().replace(b"__JUNK__", junk)
    reply = send(s, endpoint, with_bad_middle(endpoint, bad))
    assert reply.status == 200
    outcome = s.log[-1].records
    assert [r.ok for r in outcome] == [True, False, True], outcome
    assert outcome[1].message.endswith("string should be valid utf8") and "name" in outcome[1].field
    assert stored(s, endpoint) == 2
    state_is_usable(s)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(ENDPOINTS), st.integers(0xD800, 0xDFFF), st.sampled_from(["value", "key", "name"]))
def test_lone_surrogates_are_refused_and_never_stored(endpoint, code, where):
    s = sim()
    escape = f"\\u{code:04x}"
    inner = good_record(endpoint, 9)
    container = inner["properties"] if "properties" in inner else inner["$set"]
    if where == "value":
        container["s"] = "__S__"
    elif where == "key":
        container["__S__"] = 1
    elif "event" in inner:
        inner["event"] = "__S__"
    else:
        container["__S__"] = "x"
    bad = json.dumps(inner).replace("__S__", "a" + escape).encode()
    send(s, endpoint, with_bad_middle(endpoint, bad))
    assert [r.ok for r in s.log[-1].records] == [True, False, True]
    assert stored(s, endpoint) == 2
    state_is_usable(s)


def test_a_valid_surrogate_pair_is_an_ordinary_character():
    s = sim()
    record = event(insert_id="emoji")
    record["properties"]["mood"] = "__E__"
    reply = send(s, "import", json.dumps([record]).replace("__E__", "\\ud83d\\ude00").encode())
    assert reply.json()["status"] == 1 and s.events["properties"][0]["mood"] == "\U0001f600"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_nan_and_infinity_are_not_json(endpoint, constant):
    s = sim()
    record = good_record(endpoint, 1)
    (record["properties"] if "properties" in record else record["$set"])["x"] = "__C__"
    body = json.dumps([record]).replace('"__C__"', constant).encode()
    assert constant.encode() in body
    reply = send(s, endpoint, body)
    if endpoint == "import":
        assert reply.status == 400 and "not valid JSON" in reply.json()["error"]
    else:
        assert reply.json()["status"] == 0 and "not valid JSON" in reply.json()["error"]
    assert stored(s, endpoint) == 0
    assert len(s.log) == 1  # the request is in the log all the same


def test_nan_in_one_ndjson_line_fails_that_line_only():
    s = sim()
    lines = [json.dumps(event(insert_id="a")), json.dumps(event(insert_id="b")).replace(f"{NOW_S}", "NaN"),
             json.dumps(event(insert_id="c"))]
    reply = s.handle(WireRequest("POST", "https://api.mixpanel.com/import?strict=1",
                                 {"Content-Type": "application/x-ndjson", **basic("tok")}, "\n".join(lines).encode()))
    assert reply.json()["num_records_imported"] == 2 and reply.json()["failed_records"][0]["index"] == 1


# ---------------------------------------------------------------- HTTP framing, over a real socket

@pytest.fixture(scope="module")
def live():
    with mpsim.serve(mpsim.Simulator(token="tok", now=NOW)) as server:
        yield server


def exchange(server: mpsim.MixpanelServer, data: bytes) -> bytes:
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


header_value = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "FOO"]),
       path=st.sampled_from(["/track", "/import", "/engage/", "/groups", "/_mpsim/health", "/x", "/track?verbose=1"]),
       length=header_value | st.integers(-10, 100).map(str), host=header_value,
       body=st.binary(max_size=60), chunked=st.booleans())
def test_any_framing_gets_an_http_answer(live, method, path, length, host, body, chunked):
    headers = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    headers.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {length}")
    raw = exchange(live, ("\r\n".join(headers) + "\r\n\r\n").encode() + body)
    assert raw.startswith(b"HTTP/1.1 "), raw[:100]
    status = int(raw.split(b" ")[1])
    assert status in (200, 204, 400, 401, 404, 405, 413), raw[:300]
    assert live.errors == []


# ---------------------------------------------------------------- readers racing writers

@pytest.fixture
def busy_switching():
    """Switch threads every microsecond, so a reader really does land in the middle of a write."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def test_readers_see_a_consistent_state_while_writers_ingest(busy_switching):
    """Without the simulator's lock on its views this fails with KeyError/RuntimeError (dicts that
    change while a reader walks them)."""
    s = mpsim.Simulator(token="tok", now=NOW)
    errors: list[str] = []
    writers, requests_each, batch = 4, 20, 25

    def write(w: int) -> None:
        for i in range(requests_each):
            records = []
            for j in range(batch):
                k = i * batch + j
                records.append(event(distinct_id=f"d{w}-{k}", insert_id=f"w{w}-{k}"))
                records.append({"event": "$identify", "properties": {
                    "token": "tok", "time": NOW_S, "$anon_id": f"{w:08x}-0000-4000-8000-{k:012x}",
                    "$identified_id": f"user{w}-{k % 7}"}})
            s.handle(WireRequest("POST", "https://api.mixpanel.com/track", {"Content-Type": "application/json"},
                                 json.dumps(records).encode()))
            profiles = [{"$token": "tok", "$distinct_id": f"p{w}-{i}-{j}", "$add": {"n": 1}} for j in range(batch)]
            s.handle(WireRequest("POST", "https://api.mixpanel.com/engage", {"Content-Type": "application/json"},
                                 json.dumps(profiles).encode()))

    stop = threading.Event()

    def read(view) -> None:
        while not stop.is_set():
            try:
                view()
            except Exception as exc:  # collected: the assertion below shows them
                errors.append(repr(exc))

    views = [lambda: s.events, s.summary, s.clusters, lambda: s.profiles, lambda: s.identities, s.snapshot,
             lambda: s.log]
    readers = [threading.Thread(target=read, args=(view,)) for view in views]
    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in readers + threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert errors == []
    assert len(s.raw_events) == writers * requests_each * batch * 2
    assert s.profiles["n"].sum() == writers * requests_each * batch
    assert len(s.log) == writers * requests_each * 2
