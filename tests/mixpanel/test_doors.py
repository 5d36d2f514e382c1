"""The three doors onto one backend: sim.send, mpsim.mock (official client) and mpsim.serve (real sockets)."""

from __future__ import annotations

import json
import logging

import mixpanel
import pytest
import requests

import mpsim
from tests.mixpanel.helpers import NOW, NOW_S, UUID

logging.getLogger("mixpanel").setLevel(logging.ERROR)


def exercise_official_client(mp: mixpanel.Mixpanel) -> None:
    mp._now = lambda: NOW_S  # the client's own hook for deterministic time
    mp.track("user-1", "Signed Up", {"plan": "pro"})
    mp.import_data("tok", "user-1", "Old Purchase", NOW_S - 30 * 86400, {"amount": 5}, api_secret="sec")
    mp.alias("alias-1", "user-1")
    mp.merge(None, "user-1", "user-2", api_secret="sec")
    mp.people_set("user-1", {"$email": "ada@example.com", "plan": "pro"})
    mp.people_set_once("user-1", {"plan": "free", "first_seen": "2024-01-01"})
    mp.people_increment("user-1", {"logins": 2})
    mp.people_append("user-1", {"events": "login"})
    mp.people_union("user-1", {"tags": ["a", "b"]})
    mp.people_remove("user-1", {"tags": "a"})
    mp.people_unset("user-1", ["plan"])
    mp.people_track_charge("user-1", 9.5, {"sku": "x"})
    mp.group_set("company", "acme", {"name": "Acme"})
    mp.group_union("company", "acme", {"domains": ["acme.test"]})
    mp.group_unset("company", "acme", ["missing"])
    mp.people_set("doomed", {"a": 1})
    mp.people_delete("doomed")


def assert_client_state(sim: mpsim.Simulator) -> None:
    assert list(sim.events["event"]) == ["Signed Up", "Old Purchase", "$create_alias", "$merge"]
    assert sim.canonical("alias-1") == "user-1" and sim.canonical("user-2") == "user-1"
    profile = sim.profile("user-2")  # any id of the cluster reaches the profile
    assert profile["$email"] == "ada@example.com" and profile["first_seen"] == "2024-01-01"
    assert profile["logins"] == 2 and profile["events"] == ["login"] and profile["tags"] == ["b"]
    assert "plan" not in profile and profile["$transactions"][0]["$amount"] == 9.5
    assert sim.group("company", "acme") == {"name": "Acme", "domains": ["acme.test"]}
    assert sim.profile("doomed") is None
    props = sim.events["properties"][0]
    assert props["mp_lib"] == "python" and props["plan"] == "pro" and len(props["$insert_id"]) == 32


def test_official_client_through_mock():
    sim = mpsim.Simulator(token="tok", api_secret="sec", now=NOW)
    with mpsim.mock(sim) as same:
        assert same is sim
        exercise_official_client(mixpanel.Mixpanel("tok"))
    assert_client_state(sim)


def test_official_client_sees_mixpanel_errors_through_mock():
    sim = mpsim.Simulator(token="tok", now=NOW)
    with mpsim.mock(sim), pytest.raises(mixpanel.MixpanelException, match="properties.time"):
        mixpanel.Mixpanel("tok").track("u", "E", {"time": "yesterday"})


def test_mock_as_decorator_and_other_hosts_are_not_intercepted():
    sim = mpsim.Simulator(token="tok", now=NOW)

    @mpsim.mock(sim)
    def send() -> None:
        requests.post("https://api-eu.mixpanel.com/track", data={"data": json.dumps(
            {"event": "E", "properties": {"token": "tok", "distinct_id": "u"}})})
        with pytest.raises(Exception, match="No mock address"):
            requests.get("https://example.com/")

    send()
    assert list(sim.events["event"]) == ["E"]


def test_mock_keeps_case_of_urls():
    sim = mpsim.Simulator(token="TokCase", now=NOW)
    with mpsim.mock(sim):
        requests.get("https://api.mixpanel.com/track", params={"data": json.dumps(
            {"event": "MixedCase", "properties": {"token": "TokCase", "distinct_id": "UserA"}})})
    assert list(sim.events["distinct_id"]) == ["UserA"] and list(sim.events["event"]) == ["MixedCase"]


def test_official_client_against_the_http_server():
    sim = mpsim.Simulator(token="tok", api_secret="sec", now=NOW)
    # The client's alias() always posts to https://api.mixpanel.com, whatever the consumer, so the
    # mock (passing other traffic through) catches that one call: both doors reach the same backend.
    with mpsim.serve(sim) as server, mpsim.mock(sim, real_http=True):
        assert server.host == "127.0.0.1" and server.port > 0
        exercise_official_client(mixpanel.Mixpanel("tok", consumer=mixpanel.Consumer(**server.urls())))
    assert_client_state(sim)
    hosts = [x.request["host"] for x in sim.log]
    assert hosts.count("127.0.0.1") == len(hosts) - 1 and "api.mixpanel.com" in hosts


def test_server_speaks_mixpanel_over_real_sockets():
    sim = mpsim.Simulator(token="tok", now=NOW)
    with mpsim.serve(sim) as server:
        reply = requests.post(f"{server.url}/import?strict=1", auth=("tok", ""),
                              json=[{"event": "E", "properties": {"distinct_id": "u", "time": NOW_S,
                                                                  "$insert_id": "i1"}}])
        assert reply.status_code == 200 and reply.json()["status"] == "OK"
        bad = requests.post(f"{server.url}/import", auth=("nope", ""), json=[])
        assert bad.status_code == 401
        assert requests.get(f"{server.url}/track?data=e30=&verbose=1").json()["status"] == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/track", timeout=2)


def test_send_delivers_transformer_requests():
    sim = mpsim.Simulator(token="tok", now=NOW)
    event = {"type": "identify", "userId": "user-1", "anonymousId": UUID, "timestamp": "2024-03-01T00:00:00Z",
             "context": {"traits": {"email": "ada@example.com"}}}
    replies = sim.send(mpsim.transform(event, {"token": "tok"}, now=NOW))
    assert [r.ok for r in replies] == [True, True]
    assert sim.profile(UUID) == {"$email": "ada@example.com", "$last_seen": "2024-03-01T00:00:00"}
    assert sim.canonical(UUID) == "user-1"


def test_pytest_fixture_intercepts(mixpanel_sim):
    mixpanel.Mixpanel("any-token").people_set("u", {"a": 1})
    assert mixpanel_sim.profile("u")["a"] == 1


@pytest.mark.mpsim(token="tok", identity_merge="simplified", now=NOW)
def test_pytest_fixture_settings_marker(mixpanel_sim, mixpanel_server):
    assert mixpanel_sim.identity_merge == "simplified" and mixpanel_sim.token == "tok"
    assert mixpanel_server.sim.identity_merge == "simplified" and mixpanel_server.url.startswith("http://127.0.0.1:")


def test_snapshot_is_frozen_and_reset_forgets():
    sim = mpsim.Simulator(token="tok", now=NOW)
    mp = mixpanel.Mixpanel("tok")
    with mpsim.mock(sim):
        mp.people_set("u", {"a": 1})
        before = sim.snapshot("before")
        mp.people_set("u", {"a": 2})
    assert before.profile("u")["a"] == 1 and sim.profile("u")["a"] == 2
    assert "1 profile," in before._repr_html_() and "before" in repr(before)
    sim.reset()
    assert sim.profile("u") is None and len(sim.log) == 0 and before.profile("u")["a"] == 1


def test_history_records_a_snapshot_per_request():
    sim = mpsim.Simulator(token="tok", now=NOW)
    sim.record_history = True
    with mpsim.mock(sim):
        mixpanel.Mixpanel("tok").people_set("u", {"a": 1})
        mixpanel.Mixpanel("tok").people_set("u", {"a": 2})
    assert [h.profile("u")["a"] for h in sim.history] == [1, 2]


def test_clock_can_be_moved():
    sim = mpsim.Simulator(token="tok", now=NOW)
    sim.clock.advance(3600)
    assert sim.now_ms == 1709337600000 + 3_600_000
    with pytest.raises(ValueError, match="identity_merge"):
        mpsim.Simulator(identity_merge="merged-somehow")


def test_mock_consumer_is_a_fourth_door_without_http():
    sim = mpsim.Simulator(token="tok", api_secret="sec", now=NOW)
    mp = mixpanel.Mixpanel("tok", consumer=mpsim.MockConsumer(sim))
    mp._now = lambda: NOW_S
    mp.track("u1", "Signed Up")
    mp.people_set("u1", {"plan": "pro"})
    mp.merge(None, "u1", "u2", api_secret="sec")
    assert list(sim.events["event"]) == ["Signed Up", "$merge"] and sim.profile("u2")["plan"] == "pro"
    with pytest.raises(mixpanel.MixpanelException, match="Invalid credentials"):
        mp.merge(None, "u1", "u3", api_secret="wrong")
    with pytest.raises(mixpanel.MixpanelException, match="properties.time"):
        mp.track("u1", "E", {"time": "soon"})


def test_injected_failures_and_the_official_clients_retries():
    sim = mpsim.Simulator(token="tok", now=NOW)
    sim.fail_next(429, endpoint="engage")
    with mpsim.mock(sim), pytest.raises(mixpanel.MixpanelException):
        mixpanel.Mixpanel("tok").people_set("u1", {"a": 1})  # 429 is not retried by the client
    assert sim.log[-1].status == 429 and "rate limits" in sim.log[-1].reply and sim.profile("u1") is None
    sim.fail_next(503, count=2)
    with mpsim.serve(sim) as server:
        consumer = mixpanel.Consumer(**server.urls(), retry_backoff_factor=0.01)
        # the client mounts its retrying adapter for https:// only; the local server speaks http://
        consumer._session.mount("http://", consumer._session.adapters["https://"])
        mixpanel.Mixpanel("tok", consumer=consumer).people_set("u1", {"a": 1})  # retried twice, stored once
    assert [x.status for x in sim.log[-3:]] == [503, 503, 200] and sim.profile("u1")["a"] == 1
    with pytest.raises(ValueError, match="status must be one of"):
        sim.fail_next(418)


def test_fail_next_counts_without_one_entry_per_request():
    # Regression: fail_next(status, 10**11) used to build a list of 10**11 entries (MemoryError).
    sim = mpsim.Simulator(now=NOW)
    sim.fail_next(503, count=10**11, endpoint="engage")
    sim.fail_next(429, count=2)
    answers = [sim.handle(mpsim.WireRequest("POST", "https://api.mixpanel.com/engage", body=b"data=W10=")).status for _ in range(3)]
    assert answers == [503, 503, 503]
    track = [sim.handle(mpsim.WireRequest("POST", "https://api.mixpanel.com/track", body=b"data=W10=")).status for _ in range(3)]
    assert track[:2] == [429, 429] and track[2] != 429


def test_reset_also_forgets_pending_faults():
    # Regression (found trying the README): after fail_next, reset() between tests left the 503s pending.
    sim = mpsim.Simulator(now=NOW)
    sim.fail_next(503, count=2)
    sim.reset()
    reply = sim.handle(mpsim.WireRequest("POST", "https://api.mixpanel.com/track", body=b"data=W10="))
    assert reply.status == 200
