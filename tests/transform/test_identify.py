"""identify: $set mapping, custom traits, names, devices, set-once/union/append, $merge (spec §3.5-3.6)."""

from __future__ import annotations

import pytest

import mpsim
from tests.helpers import DROP, error, message, records, run


def ident(**kw):
    return message("identify", **kw)


def set_of(msg, config=None):
    return records(run(msg, config))[-2 if _has_merge(msg, config) else -1]["$set"]


def _has_merge(msg, config):
    return run(msg, config)[-1].path == "import"


def test_identify_sends_set_then_merge():
    set_req, merge = run(ident())
    assert set_req.path == "engage" and set_req.params == {"verbose": 2}
    assert list(set_req.records[0]) == ["$set", "$token", "$distinct_id", "$time"]
    assert merge.records == [{"event": "$merge", "properties": {"$distinct_ids": ["u1", "a1"], "token": "tok"}}]


def test_traits_win_for_mapped_fields_context_wins_for_custom_ones():
    s = set_of(ident(traits={"email": "T", "custom": "cu"}, context={"traits": {"email": "C", "custom": "ctx"}}))
    assert s["$email"] == "T" and s["custom"] == "ctx"


def test_old_mapping_renames_first_and_last_name():
    s = set_of(ident(traits={"firstName": "F", "lastName": "L"}))
    assert s == {"$name": "F L", "$firstName": "F", "$lastName": "L"}
    assert list(s) == ["$name", "$firstName", "$lastName"]


def test_new_mapping_keeps_mixpanel_names():
    s = set_of(ident(traits={"firstName": "F", "lastName": "L"}), {"useNewMapping": True})
    assert list(s.items()) == [("$first_name", "F"), ("$last_name", "L"), ("$name", "F L")]


def test_falsy_first_name_keeps_its_old_name():
    s = set_of(ident(traits={"firstName": 0, "lastName": "L"}))
    assert s["$first_name"] == 0 and s["$lastName"] == "L" and "$name" not in s


@pytest.mark.parametrize("geo", ["gps", False, 0])
def test_geo_source_must_be_reverse_geocoding(geo):
    err = error(ident(context={"location": {"geoSource": geo}}))
    assert err.message == "$geo_source value must be either null or 'reverse_geocoding' "


@pytest.mark.parametrize("geo", [None, ""])
def test_empty_geo_source_passes_silently(geo):
    assert "$geo_source" not in set_of(ident(context={"location": {"geoSource": geo}}))


def test_dotted_custom_traits_become_nested():
    s = set_of(ident(traits={"a.b": 1, "x.0": "v", "y.a.1": "w", "b.": 2, "u": None}))
    assert s == {"a": {"b": 1}, "x": ["v"], "y": {"a": [None, "w"]}, "b": 2, "u": None}


def test_active_false_adds_ignore_time():
    rec = records(run(ident(context={"active": False})))[0]
    assert list(rec)[-2:] == ["$time", "$ignore_time"] and rec["$ignore_time"] is True


def test_ios_device_fields():
    msg = ident(traits={"$os": "X"}, context={
        "device": {"type": "iOS", "token": "devtok", "model": "iPhone", "manufacturer": "Apple"},
        "os": {"name": "iOS", "version": "17"}, "app": {"version": "1.2", "build": "42"}})
    s = set_of(msg)
    assert s["$os"] == "iOS" and s["$ios_devices"] == ["devtok"]
    assert [k for k in s if k.startswith("$ios")] == ["$ios_devices", "$ios_device_model", "$ios_version",
                                                      "$ios_app_release", "$ios_app_version"]


def test_android_device_fields():
    s = set_of(ident(context={"device": {"type": "android", "token": 0, "manufacturer": "G"}}))
    assert s["$android_devices"] == [0] and s["$android_brand"] == "G"


@pytest.mark.parametrize("device_type", [5, 0, False, {}])
def test_non_string_device_type_crashes_like_the_reference(device_type):
    err = error(ident(context={"device": {"type": device_type}}))
    assert err.status_code == 500 and err.message == "device.type?.toLowerCase is not a function"


def test_no_token_still_sends_set_without_merge():
    reqs = mpsim.transform(ident(), {}, now="2020-01-25T00:00:00Z")
    assert len(reqs) == 1 and "$token" not in reqs[0].records[0]


def test_service_account_merge_has_no_token():
    cfg = {"serviceAccountUserName": "su", "serviceAccountSecret": "ss", "projectId": "p1"}
    set_req, merge = mpsim.transform(ident(), cfg, now="2020-01-25T00:00:00Z")
    assert merge.records[0]["properties"] == {"$distinct_ids": ["u1", "a1"]}
    assert merge.params == {"project_id": "p1", "strict": 0}


def test_incomplete_service_account_sends_no_merge():
    reqs = mpsim.transform(ident(), {"serviceAccountUserName": "su", "serviceAccountSecret": "ss"})
    assert [r.path for r in reqs] == ["engage"]


def test_identify_has_no_age_or_size_limit():
    reqs = run(ident(timestamp="2000-01-01T00:00:00Z", traits={f"t{i}": i for i in range(400)}))
    assert reqs[0].records[0]["$time"] == 946684800000 and len(reqs[0].records[0]["$set"]) == 400


def test_invalid_identify_time_is_null():
    assert records(run(ident(timestamp="x", originalTimestamp="y")))[0]["$time"] is None


def test_ip_falls_back_to_request_ip_as_is():
    assert records(run(ident(context={"ip": ""}, request_ip=None)))[0]["$ip"] is None


SET_ONCE = {"setOnceProperties": [{"property": p} for p in ["nationality", "firstName", "email", "other", "missing"]]}


def test_set_once_takes_traits_first_and_removes_them():
    msg = ident(traits={"email": "e", "firstName": "F", "nationality": "IN", "age": 5, "keep": 1},
                context={"traits": {"nationality": "CTX", "other": "o"}})
    once, set_req, _ = records(run(msg, SET_ONCE))
    assert once["$set_once"] == {"$email": "e", "$first_name": "F", "nationality": "IN", "other": "o"}
    assert "$ip" not in once and "$time" not in once
    assert set_req["$set"] == {"age": 5, "keep": 1}


def test_set_once_address_maps_and_drops_excluded_key():
    msg = ident(traits={"address": {"city": "c", "country": "k", "state": "s", "zip": "z"}})
    once = records(run(msg, {"setOnceProperties": [{"property": "address"}]}))[0]
    assert once["$set_once"] == {"$country_code": "k", "$city": "c", "$region": "s"}


def test_set_once_empty_trait_stays_in_set():
    msg = ident(traits={"a": ""}, context={"traits": {"a": "ctxA"}})
    once, set_req, _ = records(run(msg, {"setOnceProperties": [{"property": "a"}]}))
    assert once["$set_once"] == {"a": "ctxA"} and set_req["$set"]["a"] == ""


def test_set_once_nested_path_leaves_empty_parent():
    msg = ident(traits={"x": {"y": {"z": 7}}})
    once, set_req, _ = records(run(msg, {"setOnceProperties": [{"property": "x.y.z"}]}))
    assert once["$set_once"] == {"z": 7} and set_req["$set"] == {"x": {"y": {}}}


def test_union_wraps_scalars_and_later_paths_win():
    r = records(run(ident(traits={"b": ["y", "z"], "c": "w"}), {"unionProperties": [{"property": "b"}, {"property": "c"}]}))
    assert r[0]["$union"] == {"b": ["y", "z"], "c": ["w"]}
    r = records(run(ident(traits={"a": {"x": 1}, "b": {"x": 2}}),
                    {"unionProperties": [{"property": "a.x"}, {"property": "b.x"}]}))
    assert r[0]["$union"] == {"x": [2]}


def test_a_path_listed_twice_goes_to_the_first_operation_only():
    cfg = {"setOnceProperties": [{"property": "p"}], "appendProperties": [{"property": "p"}, {"property": "q"}]}
    reqs = records(run(ident(traits={"p": 1, "q": 2}), cfg))
    assert reqs[0] == {"$set_once": {"p": 1}, "$token": "tok", "$distinct_id": "u1"}
    assert reqs[1]["$append"] == {"q": 2}


def test_property_item_without_property_crashes():
    err = error(ident(), {"setOnceProperties": [{}]})
    assert err.status_code == 500 and err.message == "Cannot read properties of undefined (reading 'split')"


def test_set_once_does_not_modify_callers_traits():
    msg = ident(traits={"p": 1})
    mpsim.transform(msg, {"token": "t", "setOnceProperties": [{"property": "p"}]})
    assert msg["traits"] == {"p": 1}


def test_set_once_without_context():
    msg = ident(traits={"p": 1}, context=DROP)
    assert records(run(msg, {"setOnceProperties": [{"property": "p"}]}))[0]["$set_once"] == {"p": 1}
