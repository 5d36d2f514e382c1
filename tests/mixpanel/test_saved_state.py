"""Saved states (issue 9 item 7): to_dict/to_json, load_snapshot, and resuming a simulator from one."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mpsim
from mpsim import Simulator, load_snapshot
from mpsim.mixpanel.saved import StateFormatError
from tests.mixpanel.helpers import NOW_S, UUID, UUID2, event, post, post_import, sim

IDS = ["u1", "u2", UUID, UUID2, "$device:d1", "$device:d2"]
ids = st.sampled_from(IDS)
times = st.integers(NOW_S - 3 * 86_400, NOW_S)
insert_ids = st.sampled_from(["i-1", "i-2", None])
plain_event = st.builds(lambda name, d, t, i, extra: event(name, d, i, t, **extra),
                        st.sampled_from(["Signed Up", "Bought"]), ids, times, insert_ids,
                        st.fixed_dictionaries({}, optional={"$user_id": ids, "$device_id": st.sampled_from(["d1", "d2"]),
                                                            "company": st.sampled_from(["c1", "c2"])}))
identify = st.builds(lambda a, b, t: event("$identify", b, None, t, **{"$anon_id": a, "$identified_id": b}), ids, ids,
                     times)
merge = st.builds(lambda a, b, t: event("$merge", a, None, t, **{"$distinct_ids": [a, b]}), ids, ids, times)
alias = st.builds(lambda a, b, t: event("$create_alias", a, None, t, alias=b), ids, ids, times)
profile = st.builds(lambda d, op, v: {"$token": "tok", "$distinct_id": d, op: v}, ids,
                    st.sampled_from(["$set", "$set_once", "$add", "$union"]),
                    st.sampled_from([{"plan": "pro"}, {"n": 1}, {"tags": ["a"]}, {"plan": "free", "n": 2}]))
group = st.builds(lambda g, op, v: {"$token": "tok", "$group_key": "company", "$group_id": g, op: v},
                  st.sampled_from(["c1", "c2"]), st.sampled_from(["$set", "$set_once"]), st.just({"size": 3}))
operations = st.one_of(
    st.tuples(st.sampled_from(["track", "import"]), st.lists(st.one_of(plain_event, identify, merge, alias),
                                                                min_size=1, max_size=3)),
    st.tuples(st.just("engage"), st.lists(profile, min_size=1, max_size=2)),
    st.tuples(st.just("groups"), st.lists(group, min_size=1, max_size=2)),
)


def apply(s: Simulator, ops: list[tuple[str, list]]) -> None:
    for endpoint, records in ops:
        if endpoint == "import":
            post_import(s, records)
        else:
            post(s, endpoint, records)


def comparable(snapshot: mpsim.Snapshot) -> dict:
    data = snapshot.to_dict()
    data.pop("label")
    return data


@settings(max_examples=60, deadline=None)
@given(st.lists(operations, max_size=8), st.lists(operations, max_size=6),
       st.sampled_from(["original", "simplified", "legacy"]))
def test_a_resumed_simulator_behaves_exactly_like_the_original(before, after, mode):
    original = sim(identity_merge=mode, group_keys=["company"])
    apply(original, before)
    saved = original.snapshot().to_json()

    resumed = Simulator.from_snapshot(saved)
    assert comparable(resumed.snapshot()) == comparable(original.snapshot())
    apply(original, after)
    apply(resumed, after)
    assert comparable(resumed.snapshot()) == comparable(original.snapshot())
    assert resumed.events.drop(columns=["time"]).equals(original.events.drop(columns=["time"]))
    assert resumed.clusters() == original.clusters()
    assert resumed.summary() == original.summary()


@settings(max_examples=40, deadline=None)
@given(st.lists(operations, max_size=8), st.sampled_from(["original", "simplified", "legacy"]))
def test_round_trip_through_json_is_lossless(ops, mode):
    s = sim(identity_merge=mode, group_keys=["company"])
    apply(s, ops)
    snap = s.snapshot("after the ops")
    data = snap.to_dict()
    assert json.loads(json.dumps(data)) == data  # plain JSON data
    for source in (data, snap.to_json(), snap.to_json(indent=2)):
        loaded = load_snapshot(source)
        assert loaded.to_dict() == data
        assert loaded.label == "after the ops"
    assert not mpsim.diff(snap, load_snapshot(data))


def test_saved_state_file_and_settings(tmp_path):
    s = Simulator(token="tok", identity_merge="simplified", api_secret="sec", now="2024-03-02T00:00:00Z",
                  residency="eu", group_keys=["company"], geo={"1.2.3.4": {"city": "Paris"}})
    post(s, "track", [event("E", "$device:d1", "i-9", NOW_S, **{"$user_id": "u1", "$device_id": "d1"})],
         host="api-eu.mixpanel.com")
    path = tmp_path / "state.json"
    path.write_text(s.snapshot().to_json())
    resumed = Simulator.from_snapshot(str(path))
    assert resumed.settings == s.settings
    assert resumed.canonical("$device:d1") == "u1"
    assert resumed.now_ms == s.now_ms
    # settings given to from_snapshot win over the saved ones
    assert Simulator.from_snapshot(path, token="other").token == "other"
    # the state= argument does the same with the caller's settings
    assert Simulator(state=path).canonical("$device:d1") == "u1"
    assert Simulator(state=path).identity_merge == "simplified"


def test_dedup_and_generated_ids_continue_after_a_restore():
    s = sim()
    post(s, "track", [event("E", "u1", "i-1"), event("E", "u1", None)])
    resumed = Simulator.from_snapshot(s.snapshot().to_dict())
    for x in (s, resumed):
        post(x, "track", [event("E", "u1", "i-1"), event("E", "u1", None)])
    assert len(resumed.events) == len(s.events) == 3  # i-1 deduplicated; generated ids never are
    assert list(resumed.raw_events["insert_id"]) == list(s.raw_events["insert_id"])


def test_a_resumed_simulator_does_not_share_state_with_its_snapshot():
    s = sim()
    post(s, "engage", [{"$token": "tok", "$distinct_id": "u1", "$set": {"plan": "pro"}}])
    snap = s.snapshot()
    resumed = Simulator.from_snapshot(snap)
    post(resumed, "engage", [{"$token": "tok", "$distinct_id": "u1", "$set": {"plan": "free"}}])
    assert snap.profile("u1")["plan"] == "pro"
    assert resumed.profile("u1")["plan"] == "free"


def test_json_dumps_of_a_snapshot_dict_works():
    s = sim()
    post(s, "track", [event()])
    json.dumps(s.snapshot().to_dict())


@pytest.mark.parametrize(("source", "message"), [
    ({"events": []}, "not a saved mpsim state"),
    ('{"mpsim_state": 99}', "format 99"),
    ({"mpsim_state": 1, "taken_ms": 0, "identity": {"mode": "fancy"}}, "identity.mode must be"),
    ({"mpsim_state": 1, "taken_ms": 0, "identity": {"mode": "original"}, "events": [{"seq": "x"}]},
     r"state.events\[0\].seq must be an integer"),
    ({"mpsim_state": 1, "taken_ms": 0, "identity": {"mode": "original"}, "events": {}}, "state.events must be a list"),
    ({"mpsim_state": 1, "identity": {"mode": "original"}}, "state.taken_ms is missing"),
    ("{not json", "not valid JSON"),
    (42, "takes a path, JSON text or a dict"),
    ("/nonexistent/state.json", "cannot read saved state"),
])
def test_bad_saved_states_name_what_is_wrong(source, message):
    with pytest.raises(StateFormatError, match=message):
        load_snapshot(source)


def test_mode_conflict_is_refused():
    snap = sim(identity_merge="simplified").snapshot()
    with pytest.raises(ValueError, match="does not match the saved state's 'simplified'"):
        Simulator(identity_merge="original", state=snap)
