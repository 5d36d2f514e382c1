"""Transformer and simulator joined: a realistic RudderStack session replayed in both ID-merge modes."""

from __future__ import annotations

import pytest

import mpsim

NOW = "2024-03-02T00:00:00Z"
ANON = "4f7c2a9e-1b3d-4e5f-8a6b-7c8d9e0f1a2b"
ANON2 = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def session() -> list[dict]:
    base = {"channel": "web", "context": {"ip": "203.0.113.7"}}
    return [
        {**base, "type": "page", "name": "Pricing", "anonymousId": ANON, "messageId": "m-1",
         "timestamp": "2024-03-01T09:00:00Z"},
        {**base, "type": "track", "event": "Product Viewed", "anonymousId": ANON, "messageId": "m-2",
         "timestamp": "2024-03-01T09:01:00Z", "properties": {"sku": "42"}},
        {**base, "type": "identify", "userId": "ada", "anonymousId": ANON, "messageId": "m-3",
         "timestamp": "2024-03-01T09:02:00Z",
         "context": {"ip": "203.0.113.7", "traits": {"email": "ada@example.com", "firstName": "Ada",
                                                     "lastName": "Lovelace"}}},
        {**base, "type": "track", "event": "Order Completed", "userId": "ada", "anonymousId": ANON,
         "messageId": "m-4", "timestamp": "2024-03-01T09:03:00Z", "properties": {"revenue": 98, "items": 2}},
        {**base, "type": "group", "userId": "ada", "anonymousId": ANON, "groupId": "acme", "messageId": "m-5",
         "timestamp": "2024-03-01T09:04:00Z", "traits": {"name": "Acme", "employees": 120}},
        {**base, "type": "track", "event": "Logged Out", "userId": "ada", "anonymousId": ANON, "messageId": "m-6",
         "timestamp": "2024-03-01T09:05:00Z"},
        {**base, "type": "page", "name": "Login", "anonymousId": ANON2, "messageId": "m-7",
         "timestamp": "2024-03-01T10:00:00Z"},
        {**base, "type": "identify", "userId": "grace", "anonymousId": ANON2, "messageId": "m-8",
         "timestamp": "2024-03-01T10:01:00Z", "context": {"traits": {"name": "Grace Hopper"}}},
        {**base, "type": "track", "event": "Order Completed", "userId": "grace", "anonymousId": ANON2,
         "messageId": "m-9", "timestamp": "2024-03-01T10:02:00Z", "properties": {"revenue": 10}},
    ]


def replay(mode: str) -> mpsim.Simulator:
    config = {"token": "tok", "identityMergeApi": mode, "useNewMapping": True,
              "groupKeySettings": [{"groupKey": "groupId"}], "propIncrements": [{"property": "items"}]}
    sim = mpsim.Simulator(token="tok", identity_merge=mode, now=NOW, group_keys=["groupId"])
    for message in session():
        replies = sim.send(mpsim.transform(message, config, now=NOW))
        assert all(r.ok for r in replies), [r.body for r in replies]
    return sim


def test_original_mode_replay():
    sim = replay("original")
    events = sim.events
    assert list(events["event"]) == ["Loaded a Page", "Product Viewed", "$merge", "Order Completed", "Logged Out",
                                     "Loaded a Page", "$merge", "Order Completed"]
    assert list(events["distinct_id"]) == ["ada"] * 5 + ["grace"] * 3
    assert list(events["stored_distinct_id"][:2]) == [ANON, ANON]  # anonymous history, merged retroactively
    assert sim.clusters() == {"ada": [ANON, "ada"], "grace": [ANON2, "grace"]}
    ada = sim.profile(ANON)
    assert ada["$first_name"] == "Ada" and ada["$name"] == "Ada Lovelace" and ada["$email"] == "ada@example.com"
    assert ada["$transactions"] == [{"$time": "2024-03-01T09:03:00.000Z", "$amount": 98}]
    assert ada["items"] == 2 and ada["groupId"] == ["acme"]
    assert sim.group("groupId", "acme") == {"name": "Acme", "employees": 120}
    assert sim.profile("grace")["$transactions"][0]["$amount"] == 10
    assert not sim.refused_merges


def test_simplified_mode_replay():
    sim = replay("simplified")
    events = sim.events
    assert "$merge" not in set(events["event"])
    assert list(events["distinct_id"]) == ["ada"] * 4 + ["grace"] * 2
    assert list(events["stored_distinct_id"][:2]) == [f"$device:{ANON}"] * 2
    assert sim.canonical(f"$device:{ANON}") == "ada" and sim.canonical(f"$device:{ANON2}") == "grace"
    assert sim.profile("ada")["$email"] == "ada@example.com"
    assert sim.profile("grace")["$name"] == "Grace Hopper"
    # the group event carries no $device_id + $user_id pair, so it links nothing and breaks nothing
    assert not sim.refused_merges


@pytest.mark.parametrize("mode", ["original", "simplified"])
def test_second_user_on_the_same_device(mode):
    """Logging in as another user without a new anonymous id.

    Simplified: Mixpanel refuses to link the device to a second user. Original: RudderStack sends
    ``$merge``, which has no anonymous-id rule, so both users become one: the shared-device trap.
    """
    config = {"token": "tok", "identityMergeApi": mode}
    sim = mpsim.Simulator(token="tok", identity_merge=mode, now=NOW)
    for user in ("ada", "grace"):
        msg = {"type": "track", "event": "Logged In", "userId": user, "anonymousId": ANON, "messageId": f"l-{user}",
               "timestamp": "2024-03-01T10:00:00Z"}
        sim.send(mpsim.transform(msg, config, now=NOW))
        if mode == "original":
            ident = {"type": "identify", "userId": user, "anonymousId": ANON, "timestamp": "2024-03-01T10:00:00Z"}
            sim.send(mpsim.transform(ident, config, now=NOW))
    if mode == "simplified":
        assert sim.canonical("grace") != sim.canonical("ada") == sim.canonical(f"$device:{ANON}")
        assert sim.refused_merges[0].reason == "errDeviceMappedToOtherUser"
    else:
        assert sim.canonical("grace") == sim.canonical("ada") == sim.canonical(ANON)
        assert not sim.refused_merges


def test_misuse_gets_clear_errors():
    sim = mpsim.Simulator()
    with pytest.raises(TypeError, match="send\\(\\) takes mpsim.Request objects"):
        sim.send(["not a request"])
    with pytest.raises(mpsim.MpsimError, match=r"events\[1\] must be an object"):
        mpsim.transform_batch([{"message": {"type": "track"}}, "oops"])
    with pytest.raises(mpsim.MpsimError, match="events must be a list"):
        mpsim.transform_batch({"message": {}})
    with pytest.raises(mpsim.InstrumentationError, match="message must be a JSON object, not str"):
        mpsim.transform("track", {"token": "t"})
    with pytest.raises(mpsim.ConfigurationError, match="destination must be an object"):
        mpsim.transform({"type": "track"}, "tok")
    with pytest.raises(ValueError, match="now must be"):
        mpsim.transform({"type": "track"}, {"token": "t"}, now="yesterday")
    with pytest.raises(TypeError, match="two simulator states or two payloads"):
        mpsim.diff(sim, {"a": 1})
    one = mpsim.replay({"type": "track", "event": "E", "userId": "u", "messageId": "m", "timestamp": NOW},
                       {"token": "t"}, now=NOW)
    assert len(one.steps) == 1 and one.steps[0].ok


def test_summary_counts_rejected_events_apart_from_dropped_records():
    # one identify with a placeholder userId: 2 requests, 2 invalid records, 1 event
    result = mpsim.replay([{"type": "track", "event": "Ok", "userId": "u1", "messageId": "m-1",
                            "timestamp": "2024-03-01T00:00:00Z"},
                           {"type": "identify", "userId": "null", "anonymousId": ANON, "messageId": "m-2"}],
                          {"token": "tok"}, now=NOW)
    first, *rest = result.summary_lines()
    assert first == "2 events replayed, 3 requests, 0 transform errors, 1 event Mixpanel rejected in whole or part."
    assert sum(int(line.split()[0]) for line in rest if "dropped: rejected as invalid" in line) == 2  # records


def test_a_replay_repr_shows_its_steps_by_size_not_address():
    from mpsim.replay import StepList

    events = [{"type": "track", "event": "E", "userId": "u", "messageId": f"m-{i}", "timestamp": NOW} for i in range(3)]
    result = mpsim.replay(events, {"token": "t"}, now=NOW, keep=1)
    assert "steps=StepList(3 steps, 1 kept whole)" in repr(result) and " object at 0x" not in repr(result)
    assert repr(StepList()) == "StepList(0 steps, 0 kept whole)"
