"""Storage that scales: columnar events, shared snapshots, the bounded request log, lean replay steps."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mpsim
from mpsim.errors import MpsimError
from mpsim.mixpanel.columns import EventStore, EventsView
from mpsim.mixpanel.events import StoredEvent
from mpsim.mixpanel.log import RecordResult, RequestLog
from tests.mixpanel.helpers import NOW_MS, NOW_S, engage, event, post_import, sim

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                      st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                             st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                          max_leaves=12)


def stored(props: dict[str, Any], *, endpoint: str = "import", seq: int = 1) -> StoredEvent:
    return StoredEvent(seq, "E", props.get("distinct_id", "u") if isinstance(props.get("distinct_id"), str) else "u",
                       NOW_MS, "i-1", props, endpoint, "api.mixpanel.com", NOW_MS + 5, False, (("company", "acme"),))


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["time", "distinct_id", "$insert_id", "$mp_api_endpoint", "$import",
                                        "$mp_api_timestamp_ms", "plan", "tags", "n"]) | st.text(max_size=6),
                       json_value, max_size=10),
       st.sampled_from(["import", "track"]))
def test_properties_read_back_exactly(props, endpoint):
    """Whatever the values (columns repeated or not, nested, big ints, floats), they read back equal, in order."""
    store = EventStore()
    store.append(stored(props, endpoint=endpoint))
    back = store.event(0)
    assert back.properties == props and list(back.properties) == list(props)
    assert [type(v) for v in back.properties.values()] == [type(v) for v in props.values()]
    assert (back.groups, back.endpoint, back.received_ms) == ((("company", "acme"),), endpoint, NOW_MS + 5)


def test_column_values_are_not_stored_twice():
    store = EventStore()
    props = {"time": NOW_MS, "distinct_id": "u", "$insert_id": "i-1", "plan": "pro",
             "$mp_api_endpoint": "api.mixpanel.com", "$mp_api_timestamp_ms": NOW_MS + 5, "$import": True}
    store.append(stored(props))
    assert store.values[0] == '["pro"]'
    assert store.event(0).properties == props


def test_repeated_strings_are_shared():
    s = sim()
    post_import(s, [event(insert_id=f"i-{n}", distinct_id="".join(["user-", "7"]), plan="pro") for n in range(3)])
    store = s._state.events.store
    assert len({id(x) for x in store.distinct_ids}) == 1 and len({id(x) for x in store.names}) == 1
    assert len(store.shapes) == 1


def test_snapshot_shares_events_and_is_unaffected_by_later_ones():
    s = sim()
    post_import(s, [event(insert_id="a")])
    snap = s.snapshot()
    post_import(s, [event(insert_id="b"), event(insert_id="a", city="later copy")])
    assert snap._state.events.store is s._state.events.store
    assert list(snap.raw_events["insert_id"]) == ["a"] and "city" not in snap.events["properties"][0]
    assert list(s.events["insert_id"]) == ["a", "b"] and s.events["properties"][0]["city"] == "later copy"


def test_writing_to_a_forked_view_copies_first():
    live = EventsView()
    live.append(stored({"n": 1}, seq=1))
    frozen = live.frozen()
    live.append(stored({"n": 2}, seq=2))
    frozen.append(stored({"n": 3}, seq=3))
    assert [e.properties["n"] for e in live] == [1, 2] and [e.properties["n"] for e in frozen] == [1, 3]
    assert frozen.store is not live.store


def test_profile_snapshots_do_not_change_with_later_updates():
    s = sim()
    engage(s, "u1", "$set", {"plan": "free"})
    snap = s.snapshot()
    engage(s, "u1", "$set", {"plan": "pro"})
    engage(s, "u1", "$add", {"n": 1})
    assert snap.profile("u1")["plan"] == "free" and "n" not in snap.profile("u1")
    assert s.profile("u1")["plan"] == "pro" and s.profile("u1")["n"] == 1


def test_views_are_cached_until_the_next_request():
    s = sim()
    post_import(s, [event(insert_id="a")])
    first = s.events
    first.loc[0, "event"] = "changed by the caller"
    assert s.events["event"][0] == "E"  # the caller's change stays in the caller's copy
    assert s._state.view_cache
    post_import(s, [event(insert_id="b")])
    assert list(s.events["insert_id"]) == ["a", "b"]


def test_dedup_keeps_latest_copy_in_place_of_first():
    s = sim()
    post_import(s, [event(insert_id="a", v=1), event(insert_id="b"), event(insert_id="a", v=2)])
    assert list(s.events["insert_id"]) == ["a", "b"] and s.events["properties"][0]["v"] == 2
    assert len(s.raw_events) == 3 and s.summary()["events"] == 2


# ---------------------------------------------------------------------- the request log
def test_log_reads_back_fates_and_answers():
    s = sim()
    post_import(s, [event(insert_id="a"), event(insert_id="b", time="bad")], strict=True)
    post_import(s, [event(insert_id="c")])
    first, second = s.log
    assert (first.seq, first.status, second.seq, second.status) == (1, 400, 2, 200)
    assert [r.ok for r in first.records] == [True, False] and first.records[1].field == "properties.time"
    assert second.records == [RecordResult(0, True, stored=True, insert_id="c")]
    assert first.request["endpoint"] == "import" and first.body is None


def test_log_is_bounded_and_numbers_requests_from_the_start():
    s = sim(log_limit=2)
    for n in range(5):
        post_import(s, [event(insert_id=f"i-{n}")])
    log = s.log
    assert len(log) == 2 and log.dropped == 3 and [x.seq for x in log] == [4, 5]
    assert log[-1].records[0].insert_id == "i-4" and len(s.events) == 5


def test_log_keeps_bodies_only_when_asked_and_bounded():
    log = RequestLog(bodies=True, body_bytes=10)
    for n in range(3):
        log.append(NOW_MS, {"endpoint": "import"}, 200, "1", [], b"0123456" + str(n).encode())
    assert [x.body for x in log] == [None, None, b"01234562"]
    assert sim(log_bodies=True).log_bodies and RequestLog().bodies is False
    s = sim(log_bodies=True)
    post_import(s, [event()])
    assert s.log[0].body is not None and b'"i-1"' in s.log[0].body


@pytest.mark.parametrize("limit", [0, -1, 1.5, "10"])
def test_log_limit_must_be_a_positive_count(limit):
    with pytest.raises(ValueError, match="log limit"):
        sim(log_limit=limit)


def test_saved_state_round_trips_through_the_compact_log():
    s = sim(log_bodies=True)
    post_import(s, [event(insert_id="a"), event(insert_id="b", time="bad")], strict=True)
    restored = mpsim.load_snapshot(s.snapshot().to_json())
    assert [(x.seq, x.status, x.reply) for x in restored.log] == [(x.seq, x.status, x.reply) for x in s.log]
    assert restored.log[0].records == s.log[0].records and restored.log[0].body == s.log[0].body


# ---------------------------------------------------------------------- replay steps
def track(n: int, **extra: Any) -> dict[str, Any]:
    return {"type": "track", "event": "E", "userId": f"u{n}", "messageId": f"m-{n}",
            "timestamp": "2024-03-01T00:00:00.000Z", **extra}


def test_replay_steps_past_keep_hold_only_their_outcome():
    events = [track(n) for n in range(5)] + [{"type": "nonsense", "userId": "u"}, {"type": "track", "userId": "u"}]
    result = mpsim.replay(iter(events), {"token": "tok"}, now=NOW_S, keep=2)
    kept, light, bad, rejected = result.steps[1], result.steps[3], result.steps[5], result.steps[6]
    assert kept.message is not None and kept.requests and kept.replies
    assert light.message is None and light.requests == [] and light.ok and light.request_count == 1
    assert light.label == "#3 track E"
    assert bad.error is not None and bad.message is not None and result.transform_errors == [bad]
    assert rejected.replies and rejected.message is not None and result.rejected == [rejected]
    assert "7 events replayed, 6 requests" in str(result)
    with pytest.raises(MpsimError, match="keep_events=True"):
        result.findings  # noqa: B018
    whole = mpsim.replay(events, {"token": "tok"}, now=NOW_S, keep=None)
    assert all(s.message is not None and s.requests for s in whole.steps[:5])
    from_list = mpsim.replay(events, {"token": "tok"}, now=NOW_S, keep=2)  # the caller holds the events anyway
    assert from_list.steps[3].message == events[3] and from_list.steps[3].requests == []
    assert len(from_list.findings) == len(whole.findings)


def test_cli_dropped_lines_follow_the_log_past_lightened_steps():
    from mpsim.cli import _dropped

    events = [track(0), track(1), {"type": "track", "userId": "u"}]  # the last is rejected (no event name)
    lines = _dropped(mpsim.replay(iter(events), {"token": "tok"}, now=NOW_S, keep=0), 0)
    assert len(lines) == 1 and lines[0].startswith("event 3 (track) → /import") and "rejected by Mixpanel" in lines[0]


def test_event_sequence_reads_like_stored_events_without_decoding_all():
    s = sim()
    post_import(s, [event(insert_id="a", v=1), event(insert_id="b"), event(insert_id="a", v=2)])
    lazy = s.event_sequence()
    assert len(lazy) == 2 and list(lazy) == s.stored_events() and lazy[-1] == s.stored_events()[-1]
    assert list(s.event_sequence(deduplicate=False)) == s.stored_events(deduplicate=False)


def test_dropped_counts_read_only_requests_with_unstored_records():
    s = sim()
    post_import(s, [event(insert_id="a"), event(insert_id="b", time="bad")], strict=True)
    post_import(s, [event(insert_id="c")])
    assert [(status, [r.ok for r in records]) for status, records in s._state.log.unstored()] == [(400, [True, False])]
    assert any("properties.time" in reason for reason in s.dropped())
