"""Event validation, normalisation and deduplication (ingestion spec §2, §3)."""

from __future__ import annotations

import pytest

from tests.mixpanel.helpers import NOW_MS, NOW_S, event, post, post_import, sim

DAY = 86_400


def imported(s, *records, strict=True):
    return post_import(s, list(records), strict=strict)


def stored_props(s):
    return list(s.raw_events["properties"])


@pytest.mark.parametrize("t,ms", [(NOW_S - 10, NOW_MS - 10_000), (NOW_MS - 10_000, NOW_MS - 10_000),
                                  (NOW_S - 10.5, NOW_MS - 10_500), (NOW_S + 60, NOW_MS)])
def test_time_units_and_future_clamp(t, ms):
    s = sim()
    assert imported(s, event(time=t)).status == 200
    assert stored_props(s)[0]["time"] == ms


@pytest.mark.parametrize("t", ["1709337600", None, True, -5, NOW_S + 3601, 31_535_999])
def test_import_time_rejections(t):
    s = sim()
    reply = imported(s, event(time=t))
    assert reply.status == 400 and reply.json()["failed_records"][0]["field"] == "properties.time"


def test_import_accepts_old_events_track_only_five_days():
    s = sim()
    assert imported(s, event(time=31_536_000)).status == 200
    assert post(s, "track", [event(time=NOW_S - 5 * DAY, insert_id="a")], verbose=None).body == "1"
    reply = post(s, "track", [event(time=NOW_S - 5 * DAY - 1, insert_id="b")])
    assert reply.json()["status"] == 0 and "last 5 days" in reply.json()["error"]
    assert len(s.raw_events) == 2


def test_track_without_time_uses_receipt_time_and_generates_insert_id():
    s = sim()
    post(s, "track", [event(time=None, insert_id=None)])
    (props,) = stored_props(s)
    assert props["time"] == NOW_MS and len(props["$insert_id"]) == 32
    assert "token" not in props and props["$mp_api_endpoint"] == "api.mixpanel.com"


@pytest.mark.parametrize("bad", ["anonymous", " NULL ", "0", "-1", "00000000-0000-0000-0000-000000000000", "[]",
                                 "Undefined", True, {"a": 1}])
def test_placeholder_and_non_string_distinct_ids_are_rejected(bad):
    s = sim()
    reply = imported(s, event(distinct_id=bad))
    assert reply.status == 400 and reply.json()["failed_records"][0]["field"] == "properties.distinct_id"


def test_numeric_distinct_ids_become_text_and_empty_is_allowed():
    s = sim()
    imported(s, event(distinct_id=12345), event(distinct_id="", insert_id="i-2"))
    assert list(s.raw_events["stored_distinct_id"]) == ["12345", ""]


def test_distinct_id_alias_property():
    s = sim()
    record = event(distinct_id=None, **{"$distinct_id": "via-dollar"})
    imported(s, record)
    assert list(s.events["distinct_id"]) == ["via-dollar"]


@pytest.mark.parametrize("insert_id", ["x" * 37, "has space", "null", "é"])
def test_bad_insert_ids(insert_id):
    reply = imported(sim(), event(insert_id=insert_id))
    assert reply.json()["failed_records"][0]["field"] == "properties.$insert_id"


def test_import_requires_insert_id_and_distinct_id_but_not_for_identity_events():
    s = sim()
    reply = imported(s, event(insert_id=None), event(distinct_id=None, insert_id="i-2"))
    assert [f["field"] for f in reply.json()["failed_records"]] == ["properties.$insert_id", "properties.distinct_id"]
    merge = {"event": "$merge", "properties": {"$distinct_ids": ["a", "b"], "token": "tok"}}
    assert imported(s, merge).status == 200


@pytest.mark.parametrize("props,field", [
    ({f"p{i}": i for i in range(254)}, "properties"),
    ({"n": {f"k{i}": i for i in range(255)}}, "properties.n"),
    ({"l": list(range(255))}, "properties.l"),
    ({"d": {"a": {"b": {"c": {"d": 1}}}}}, "properties.d.a.b.c"),
    ({"big": ["x" * 100] * 90}, "properties.big"),
    ({"s": "\ud800"}, "properties.s"),
])
def test_shape_limits(props, field):
    reply = imported(sim(), event(**props))
    assert reply.status == 400 and reply.json()["failed_records"][0]["field"] == field


def test_strings_and_names_are_truncated_to_255_characters():
    s = sim()
    imported(s, event(long="é" * 300, nested={"inner": "x" * 300}, **{"n" * 300: 1}))
    (props,) = stored_props(s)
    assert len(props["long"]) == 255 and len(props["nested"]["inner"]) == 255 and "n" * 255 in props


def test_ignore_property_drops_silently():
    s = sim()
    assert post(s, "track", [event(**{"$ignore": True}), event(insert_id="i-2", **{"$ignore": "bot"}),
                             event(insert_id="i-3", **{"$ignore": False})], verbose=None).body == "1"
    assert len(s.raw_events) == 1


def test_dedup_latest_copy_wins_across_endpoints_and_units():
    s = sim()
    post(s, "track", [event(time=NOW_S, city="A")])
    imported(s, event(time=NOW_MS, city="B"))
    assert len(s.raw_events) == 2 and len(s.events) == 1
    assert s.events["properties"][0]["city"] == "B"
    imported(s, event(time=NOW_S, insert_id="other", city="C"))
    assert len(s.events) == 2


def test_server_generated_insert_ids_never_deduplicate():
    s = sim()
    post(s, "track", [event(insert_id=None), event(insert_id=None)])
    assert len(s.events) == 2


def test_import_marks_events_and_keeps_types():
    s = sim()
    imported(s, event(n=1.5, b=False, nothing=None, l=[1, "a"], o={"x": {"y": 2}}))
    (props,) = stored_props(s)
    assert props["$import"] is True and props["n"] == 1.5 and props["b"] is False and props["nothing"] is None
    assert props["o"] == {"x": {"y": 2}} and props["$mp_api_timestamp_ms"] == NOW_MS


def test_group_keys_attach_events_only_after_declaration():
    s = sim(group_keys=["company"])
    imported(s, event(company=["acme", "", None, 7], insert_id="g-1"))
    imported(s, event(team="red", insert_id="g-2"))
    s.add_group_key("team")
    imported(s, event(team="blue", insert_id="g-3"))
    assert list(s.events["groups"]) == [["company=acme", "company=7"], [], ["team=blue"]]


def test_generated_insert_ids_are_reproducible():
    def run():
        s = sim()
        post(s, "track", [event(insert_id=None), event(insert_id=None, time=NOW_S - 1)])
        post_import(s, [{"event": "$merge", "properties": {"$distinct_ids": ["a", "b"]}}])
        return list(s.raw_events["insert_id"])

    first = run()
    assert first == run() and len(set(first)) == 3 and all(len(i) == 32 for i in first)
