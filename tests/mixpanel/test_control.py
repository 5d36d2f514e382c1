"""The control API under /_mpsim/ (issue 10 item 3): what the simulator holds, as JSON, over HTTP."""

from __future__ import annotations

import json

import pytest
import requests
from mixpanel import Consumer, Mixpanel, MixpanelException

import mpsim
from mpsim.mixpanel.control import ROUTES, openapi_document
from tests.mixpanel.helpers import NOW, UUID, event, post

SAMPLE = [event("Viewed", distinct_id=UUID, insert_id="v-1"),
          {"event": "$identify", "properties": {"token": "tok", "time": 1709337600, "$anon_id": UUID,
                                               "$identified_id": "u1"}},
          event("", insert_id="bad-1")]


@pytest.fixture
def server():
    sim = mpsim.Simulator(token="tok", now=NOW, api_secret="sec")
    with mpsim.serve(sim) as running:
        post(sim, "track", SAMPLE)
        post(sim, "engage", {"$token": "tok", "$distinct_id": "u1", "$set": {"plan": "pro", "n": 1}})
        post(sim, "groups", {"$token": "tok", "$group_key": "company", "$group_id": "c1", "$set": {"name": "Acme"}})
        yield running
        assert running.errors == []


def get(server, path: str, **kw):
    return requests.get(f"{server.url}/_mpsim{path}", timeout=5, **kw)


def test_every_get_route_answers_json(server):
    for route in ROUTES:
        if route.method == "GET" and route.path != "/":
            reply = get(server, route.path)
            assert reply.status_code in (200, 400), route  # 400: a required parameter is missing
            reply.json()


def test_reads(server):
    events = get(server, "/events").json()
    assert [e["event"] for e in events] == ["Viewed", "$identify"]
    assert {e["distinct_id"] for e in events} == {"u1"}
    assert get(server, "/events", params={"since": events[0]["seq"]}).json()[0]["event"] == "$identify"
    assert len(get(server, "/events", params={"limit": 1}).json()) == 1
    assert get(server, "/profiles").json() == [{"distinct_id": "u1", "properties": {
        "plan": "pro", "n": 1, "$last_seen": "2024-03-02T00:00:00"}}]
    assert get(server, "/profile", params={"distinct_id": UUID}).json()["canonical"] == "u1"
    assert get(server, "/profile", params={"distinct_id": "nobody"}).status_code == 404
    assert get(server, "/groups").json() == [{"group_key": "company", "group_id": "c1", "properties": {"name": "Acme"}}]
    assert sorted(get(server, "/clusters").json()["u1"]) == sorted([UUID, "u1"])
    assert {row["distinct_id"] for row in get(server, "/identities").json()} == {UUID, "u1"}
    assert get(server, "/state").json()["summary"]["events"] == 2
    log = get(server, "/log").json()
    assert [x["request"]["endpoint"] for x in log] == ["track", "engage", "groups"]
    assert log[0]["records"][2]["ok"] is False


def test_findings_name_the_rejected_record(server):
    found = get(server, "/findings").json()
    assert found == [{"kind": "rejected", "request": 1, "endpoint": "track", "index": 2, "field": "event",
                      "message": "'event' is invalid: must be a non-empty string", "insert_id": "bad-1"}]


def test_explain(server):
    pair = get(server, "/explain", params={"id": UUID, "other": "u1"}).json()
    assert "u1" in pair["answer"] and pair["steps"]
    profile = get(server, "/explain", params={"profile": "u1", "property": "plan"}).json()
    assert profile["answer"]
    assert get(server, "/explain").status_code == 400


def test_reset_and_fail_next(server):
    assert requests.post(f"{server.url}/_mpsim/reset", timeout=5).json() == {"status": "ok"}
    assert server.sim.summary()["events"] == 0
    reply = requests.post(f"{server.url}/_mpsim/fail_next", json={"status": 503, "count": 10, "endpoint": "track"},
                          timeout=5)
    assert reply.json() == {"status": "ok"}
    with pytest.raises(MixpanelException):
        Mixpanel("tok", consumer=Consumer(**server.urls(), retry_limit=0)).track("u1", "Lost")
    bad = requests.post(f"{server.url}/_mpsim/fail_next", json={"status": 418}, timeout=5)
    assert bad.status_code == 400 and "status must be one of" in bad.json()["error"]
    bad = requests.post(f"{server.url}/_mpsim/fail_next", json={"stauts": 503}, timeout=5)
    assert bad.status_code == 400 and "stauts" in bad.json()["error"]


def test_save_and_load_a_state(server):
    saved = get(server, "/snapshot").json()
    assert saved["settings"]["api_secret"] is None  # secrets never leave the process over HTTP
    requests.post(f"{server.url}/_mpsim/reset", timeout=5)
    loaded = requests.post(f"{server.url}/_mpsim/snapshot", data=json.dumps(saved), timeout=5)
    assert loaded.json()["events"] == 2
    assert server.sim.canonical(UUID) == "u1" and server.sim.profile("u1")["plan"] == "pro"
    assert mpsim.load_snapshot(saved).summary() == server.sim.summary()
    bad = requests.post(f"{server.url}/_mpsim/snapshot", data=b"[1, 2]", timeout=5)
    assert bad.status_code == 400


def test_loading_a_state_of_another_id_merge_mode_is_refused(server):
    other = mpsim.Simulator(identity_merge="simplified").snapshot().to_dict()
    reply = requests.post(f"{server.url}/_mpsim/snapshot", json=other, timeout=5)
    assert reply.status_code == 400 and "ID merge" in reply.json()["error"]


def test_methods_and_unknown_paths(server):
    reply = requests.delete(f"{server.url}/_mpsim/events", timeout=5)
    assert reply.status_code == 405 and reply.headers["Allow"] == "GET, OPTIONS"
    assert requests.get(f"{server.url}/_mpsim/nothing", timeout=5).status_code == 404
    assert requests.head(f"{server.url}/_mpsim/health", timeout=5).status_code == 200
    assert get(server, "/events", params={"since": "x"}).status_code == 400
    assert get(server, "/health", headers={"Origin": "http://app.test"}).headers[
        "Access-Control-Allow-Origin"] == "http://app.test"
    assert len(server.sim.log) == 3  # control requests are not Mixpanel traffic


def test_openapi_document_lists_every_route():
    document = openapi_document()
    listed = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    assert listed == {(r.method, "/_mpsim" + r.path) for r in ROUTES}
    assert document["openapi"].startswith("3.")


def test_the_mock_door_has_the_control_api_too():
    sim = mpsim.Simulator(token="tok", now=NOW)
    with mpsim.mock(sim):
        post(sim, "track", [event()])
        assert requests.get("https://api.mixpanel.com/_mpsim/events", timeout=5).json()[0]["event"] == "E"
        assert requests.post("https://api.mixpanel.com/_mpsim/reset", timeout=5).json() == {"status": "ok"}
    assert len(sim.events) == 0


def test_sim_load_keeps_settings_and_replaces_data():
    source = mpsim.Simulator(token="tok", now=NOW)
    post(source, "track", [event()])
    target = mpsim.Simulator(token="other", now=NOW)
    target.load(source.snapshot())
    assert len(target.events) == 1 and target.token == "other"
    with pytest.raises(ValueError, match="ID merge"):
        mpsim.Simulator(identity_merge="simplified").load(source.snapshot())
