"""alias, group, Simplified ID merge, dispatch errors and payload limits (spec §2, §3.7-3.8, §4.9, §7)."""

from __future__ import annotations

import pytest

import mpsim
from tests.helpers import DROP, error, message, props, records, run

SIMPLE = {"identityMergeApi": "simplified"}


@pytest.mark.parametrize("t", [DROP, "", 0, None])
def test_missing_type(t):
    assert error(message(type=t)).message == "Event type is required"


@pytest.mark.parametrize("t,text", [("Track", "Track"), (5, "5"), ({}, "[object Object]")])
def test_unsupported_type(t, text):
    assert error(message(type=t)).message == f"Event type '{text}' is not supported"


def test_alias_keeps_raw_types():
    (req,) = run(message("alias", previousId="123", userId=123))
    assert req.records[0] == {"event": "$create_alias", "properties": {"distinct_id": "123", "alias": 123,
                                                                        "token": "tok"}}
    assert req.to_rudder()["userId"] == 123


def test_alias_without_user_id_is_not_an_error():
    (req,) = run(message("alias", previousId="prev", userId=DROP))
    assert req.records[0]["properties"] == {"distinct_id": "prev", "token": "tok"}


def test_alias_errors():
    assert error(message("alias", previousId=DROP, anonymousId=DROP)).message.startswith("Either `previousId`")
    assert error(message("alias", previousId="u1")).message.startswith("One of `previousId`")
    err = error(message("alias", userId=DROP, anonymousId=DROP), SIMPLE)
    assert "Simplified ID merge" in err.message and err.kind == "instrumentation"


def test_alias_has_the_five_year_rule():
    assert "5 years" in error(message("alias", previousId="p", timestamp="2000-01-01T00:00:00Z")).message


def test_simplified_event_ids():
    p = props(message(userId=DROP, properties={"$user_id": "mine"}), SIMPLE)
    assert p["distinct_id"] == "$device:a1" and p["$device_id"] == "a1" and "$user_id" not in p
    p = props(message(userId=""), SIMPLE)
    assert p["distinct_id"] == "$device:a1" and p["$user_id"] == "" and list(p)[-2:] == ["$device_id", "$user_id"]


def test_simplified_without_any_id():
    assert props(message(userId=DROP, anonymousId=DROP), SIMPLE)["distinct_id"] == "$device:undefined"
    reqs = run(message("identify", userId=DROP, anonymousId=DROP), SIMPLE)
    assert reqs[0].records[0]["$distinct_id"] == "$device:undefined" and len(reqs) == 1


def test_simplified_identify_never_merges():
    assert [r.path for r in run(message("identify"), SIMPLE)] == ["engage"]


def test_simplified_null_anonymous_id():
    (req,) = run(message(userId=DROP, anonymousId=None), SIMPLE)
    p = records([req])[0]["properties"]
    assert p["distinct_id"] == "$device:null" and p["$device_id"] is None and req.to_rudder()["userId"] is None


def test_original_null_and_empty_anonymous_ids_are_written():
    assert props(message(userId=DROP, anonymousId=None))["distinct_id"] is None
    assert records(run(message("identify", userId=DROP, anonymousId="")))[0]["$distinct_id"] == ""


GROUPS = {"groupKeySettings": [{"groupKey": "company"}, {"groupKey": "groupId"}]}


def test_group_emits_engage_then_groups_per_key():
    msg = message("group", groupId="G1", traits={"company": ["c1", "c2"], "plan": "p"}, context={"ip": "1.2.3.4"})
    reqs = run(msg, GROUPS)
    assert [(r.path, r.records[0].get("$group_id")) for r in reqs] == [
        ("engage", None), ("groups", "c1"), ("groups", "c2"), ("engage", None), ("groups", "G1")]
    assert reqs[0].records[0] == {"$token": "tok", "$distinct_id": "u1", "$set": {"company": ["c1", "c2"]},
                                  "$ip": "1.2.3.4"}
    assert reqs[1].records[0] == {"$token": "tok", "$group_key": "company", "$group_id": "c1",
                                  "$set": {"company": ["c1", "c2"], "plan": "p"}}


def test_group_errors():
    assert error(message("group", groupId=0), {"groupKeySettings": [{"groupKey": "groupId"}]}).message.startswith(
        "Group Key is not present")
    err = error(message("group", groupId="g"), {"groupKeySettings": [{"groupKey": ""}]})
    assert err.kind == "configuration" and err.message == "`Group Key Settings` is not configured in destination"


def test_group_empty_list_and_dotted_keys():
    reqs = run(message("group", traits={"company": []}), {"groupKeySettings": [{"groupKey": "company"}]})
    assert [r.path for r in reqs] == ["engage"] and reqs[0].records[0]["$set"] == {"company": []}
    reqs = run(message("group", traits={"org": {"id": "O1"}}), {"groupKeySettings": [{"groupKey": "org.id"}]})
    assert reqs[0].records[0]["$set"] == {"org.id": ["O1"]} and reqs[1].records[0]["$group_key"] == "org.id"


def test_255_keys_including_undefined_ones_fail():
    err = error(message(properties={f"p{i}": i for i in range(250)}))
    assert err.message == "Mixpanel properties exceed the limit of 255 keys (found 255)"
    ua = "curl/8.4.0"
    err = error(message(channel="web", context={"userAgent": ua}, properties={f"p{i}": i for i in range(248)}))
    assert err.message.endswith("(found 255)")


def test_nested_limits():
    err = error(message(properties={"a": {"b": list(range(256))}}))
    assert err.message == "Mixpanel array property 'a.b' exceeds the limit of 255 elements (found 256)"
    err = error(message(properties={"a": [1, {"x": 1}, {f"k{i}": i for i in range(260)}]}))
    assert err.message == "Mixpanel properties at a[2] exceed the limit of 255 keys (found 260)"
    assert run(message(properties={"a": {"b": list(range(255))}}))


def test_payload_size_limit_rounds_half_up():
    base = records(run(message(properties={"big": ""})))[0]["properties"]
    overhead = len(mpsim._js.dumps(base))
    err = error(message(properties={"big": "x" * (1_049_088 - overhead)}))
    assert err.message == "Mixpanel payload exceeds the maximum size limit of 1MB (found 1025 KB)"
    assert run(message(properties={"big": "x" * (1_048_576 - overhead)}))


def test_non_string_group_key_is_used_as_its_javascript_string():
    # found by the fuzz test: a truthy non-string groupKey used to raise TypeError
    reqs = run(message("group", traits={"5": "g5"}), {"groupKeySettings": [{"groupKey": 5}]})
    assert reqs[0].records[0]["$set"] == {"5": ["g5"]} and reqs[1].records[0]["$group_key"] == 5
