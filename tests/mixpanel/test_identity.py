"""Original and Simplified ID merge (ingestion spec §4, §5)."""

from __future__ import annotations

from tests.mixpanel.helpers import UUID, UUID2, engage, event, post, post_import, sim


def identify(anon, identified, insert_id="id-1"):
    return {"event": "$identify", "properties": {"$anon_id": anon, "$identified_id": identified, "token": "tok",
                                                  "$insert_id": insert_id}}


def alias(distinct_id, new_alias):
    return {"event": "$create_alias", "properties": {"distinct_id": distinct_id, "alias": new_alias, "token": "tok"}}


def merge(a, b):
    return {"event": "$merge", "properties": {"$distinct_ids": [a, b], "token": "tok"}}


def test_identify_merges_anonymous_history_retroactively():
    s = sim()
    post_import(s, [event("Viewed", distinct_id=UUID)])
    post(s, "track", [identify(UUID, "user-1")])
    assert s.canonical(UUID) == "user-1" and s.cluster("user-1") == {UUID, "user-1"}
    viewed = s.events[s.events["event"] == "Viewed"].iloc[0]
    assert viewed["distinct_id"] == "user-1" and viewed["stored_distinct_id"] == UUID
    assert viewed["properties"]["$distinct_id_before_identity"] == UUID and viewed["properties"]["$is_reshuffled"]
    ident = s.events[s.events["event"] == "$identify"].iloc[0]
    assert ident["stored_distinct_id"] == "user-1"


def test_identify_refusals_have_mixpanel_codes():
    s = sim()
    post(s, "track", [identify("u1", "u1", "a"), identify("not-a-uuid", "u2", "b")])
    post(s, "track", [identify(UUID, "u3", "c"), identify(UUID, "u4", "d")])
    assert [r.reason for r in s.refused_merges] == ["errSameIDs", "errAnonDistinctIdNonGUIDForm",
                                                     "errAnonDistinctIdAssignedAlready"]
    assert "not a UUID" in s.refused_merges[1].description
    failed = s.events.dropna(subset=["failure_reason"])
    assert list(failed["failure_reason"]) == ["errSameIDs", "errAnonDistinctIdNonGUIDForm",
                                              "errAnonDistinctIdAssignedAlready"]
    assert s.canonical(UUID) == "u3" and s.canonical("u4") == "u4"


def test_identify_again_in_same_cluster_is_a_noop_and_mixpanel_device_ids_pass():
    s = sim()
    post(s, "track", [identify(UUID, "u1", "a"), identify(UUID, "u1", "b")])
    assert not s.refused_merges
    device = "17ab3c-0de12f-4a1b2c-130000-17ab3cde12f4"
    post(s, "track", [identify(device, "u2", "c")])
    assert s.canonical(device) == "u2"
    strict = sim(anon_id_policy="uuid4")
    post(strict, "track", [identify(device, "u2", "c")])
    assert strict.refused_merges[0].reason == "errAnonDistinctIdNonGUIDForm"


def test_alias_and_refused_second_alias():
    s = sim()
    post(s, "track", [alias("u1", "a1"), alias("u2", "a1")])
    assert s.canonical("a1") == "u1" and s.refused_merges[0].reason == "errAliasAlreadyExists"
    post(s, "track", [alias("a1", "a2")])  # aliases chain
    assert s.cluster("u1") == {"u1", "a1", "a2"}


def test_merge_only_via_import():
    s = sim()
    post(s, "track", [merge("x", "y")])
    assert s.canonical("y") == "y" and len(s.raw_events) == 0
    post_import(s, [merge("x", "y")])
    assert s.canonical("y") == "x" and list(s.events["event"]) == ["$merge"]


def test_missing_identity_fields_make_invalid_records():
    s = sim()
    reply = post_import(s, [{"event": "$identify", "properties": {"$identified_id": "u", "token": "tok"}},
                            {"event": "$merge", "properties": {"$distinct_ids": ["only-one"]}}], strict=True)
    assert [f["field"] for f in reply.json()["failed_records"]] == ["properties.$anon_id", "properties.$distinct_ids"]
    assert len(s.raw_events) == 0


def test_cluster_limit_is_500():
    s = sim()
    post_import(s, [merge("hub", f"m{i}") for i in range(499)])
    assert len(s.cluster("hub")) == 500 and not s.refused_merges
    post_import(s, [merge("hub", "one-too-many")])
    assert s.refused_merges[-1].reason == "errManyIDs" and s.canonical("one-too-many") == "one-too-many"


def test_canonical_prefers_the_id_that_owns_a_profile():
    s = sim()
    engage(s, "anon-profile", "$set", {"a": 1})
    post_import(s, [merge("user-x", "anon-profile")])
    assert s.canonical("user-x") == "anon-profile"
    post_import(s, [merge("user-y", "plain")])
    assert s.canonical("plain") == "user-y"  # no profile: the first listed id stays


def test_profiles_follow_the_cluster_and_are_never_merged():
    s = sim()
    engage(s, UUID, "$set", {"from": "anon"})
    engage(s, "user-1", "$set", {"from": "user"})
    post(s, "track", [identify(UUID, "user-1")])
    canonical = s.canonical(UUID)
    visible = s.profile(UUID)
    assert visible == s.profile("user-1") and visible["from"] in ("anon", "user")
    hidden = "user-1" if canonical == UUID else UUID
    assert s.profile(hidden, ignore_alias=True) is not None  # kept, hidden
    assert len(s.profiles) == 1
    engage(s, hidden, "$set", {"later": True})
    assert s.profile(canonical)["later"] is True
    engage(s, hidden, "$set", {"literal": True}, **{"$ignore_alias": True})
    assert "literal" not in s.profile(canonical) and s.profile(hidden, ignore_alias=True)["literal"] is True


def test_simplified_derives_distinct_ids():
    s = sim(identity_merge="simplified")
    records = [
        event("A", distinct_id="ignored", insert_id="a", **{"$user_id": "U", "$device_id": "D"}),
        event("B", distinct_id="ignored", insert_id="b", **{"$device_id": "D2"}),
        event("C", distinct_id="$device:D3", insert_id="c"),
        event("D", distinct_id="plain", insert_id="d"),
        event("E", distinct_id="x", insert_id="e", **{"$user_id": "", "$device_id": "$device:D4"}),
    ]
    post_import(s, records)
    raw = s.raw_events
    assert list(raw["stored_distinct_id"]) == ["U", "$device:D2", "$device:D3", "plain", "$device:D4"]
    assert raw["properties"][2]["$device_id"] == "D3" and raw["properties"][3]["$user_id"] == "plain"


def test_simplified_link_is_retroactive_and_one_user_per_device():
    s = sim(identity_merge="simplified")
    post_import(s, [event("Browse", distinct_id=None, insert_id="a", **{"$device_id": "D1"})])
    assert s.canonical("$device:D1") == "$device:D1"
    post_import(s, [event("Login", distinct_id=None, insert_id="b", **{"$device_id": "D1", "$user_id": "U1"})])
    assert s.canonical("$device:D1") == "U1" and set(s.events["distinct_id"]) == {"U1"}
    post_import(s, [event("Login", distinct_id=None, insert_id="c", **{"$device_id": "D1", "$user_id": "U2"})])
    assert s.canonical("$device:D1") == "U1"
    (refusal,) = s.refused_merges
    assert refusal.ids == ("$device:D1", "U2") and refusal.description == "device_id already mapped to a different user_id"
    last = s.raw_events.iloc[-1]
    assert last["stored_distinct_id"] == "U2" and last["failure_reason"] == refusal.description


def test_simplified_ignores_identity_events_and_keeps_device_profiles_hidden():
    s = sim(identity_merge="simplified")
    post(s, "track", [identify(UUID, "U1")])
    assert s.canonical(UUID) == UUID and len(s.raw_events) == 1
    engage(s, "$device:D1", "$set", {"anon_prop": 1})
    post_import(s, [event("Login", distinct_id=None, insert_id="b", **{"$device_id": "D1", "$user_id": "U1"})])
    assert s.profile("U1") is None  # device properties are not carried over
    engage(s, "$device:D1", "$set", {"after_link": 1})
    assert s.profile("U1") == {"after_link": 1, "$last_seen": "2024-03-02T00:00:00"}
    assert s.profile("$device:D1", ignore_alias=True)["anon_prop"] == 1


def test_identities_table():
    s = sim()
    post(s, "track", [identify(UUID, "u1"), identify(UUID2, "u1", "x")])
    table = s.identities.set_index("distinct_id")
    assert table.loc[UUID, "canonical"] == "u1" and table.loc["u1", "cluster_size"] == 3
    assert s.clusters() == {"u1": [UUID, "u1", UUID2]}


def test_legacy_alias_is_one_way_and_not_retroactive():
    s = sim(identity_merge="legacy")
    post_import(s, [event("Before", distinct_id="anon-1", insert_id="b1")])
    engage(s, "anon-1", "$set", {"seen_as": "anon"})
    post(s, "track", [alias("user-1", "anon-1")])
    post_import(s, [event("After", distinct_id="anon-1", insert_id="a1")])
    engage(s, "anon-1", "$set", {"plan": "pro"})
    events = s.events.set_index("event")
    assert events.loc["Before", "distinct_id"] == "anon-1"  # earlier events stay a separate user
    assert events.loc["After", "distinct_id"] == "user-1" and events.loc["After", "stored_distinct_id"] == "user-1"
    assert s.profile("user-1") == {"plan": "pro", "$last_seen": "2024-03-02T00:00:00"}
    assert s.profile("anon-1", ignore_alias=True)["seen_as"] == "anon"
    assert len(s.profiles) == 2  # nothing is merged or hidden
    post(s, "track", [alias("user-2", "anon-1")])
    assert s.refused_merges[0].reason == "errAliasAlreadyExists"
    post(s, "track", [identify(UUID, "user-3")])
    post_import(s, [merge("x", "y")])
    assert s.canonical(UUID) == UUID and s.canonical("y") == "y"
