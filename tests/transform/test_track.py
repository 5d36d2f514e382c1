"""track: properties, ids, time, revenue, increments and errors (spec §3.1-3.3, §10)."""

from __future__ import annotations

import pytest

import mpsim
from tests.helpers import DROP, error, message, props, records, run


def test_track_sends_one_import_request_with_reference_shape():
    (req,) = run(message(properties={"plan": "pro"}))
    assert req.path == "import"
    assert req.endpoint == "https://api.mixpanel.com/import/"
    assert req.headers == {"Content-Type": "application/json", "Authorization": "Basic dG9rOg=="}
    assert req.params == {"strict": 0}
    rudder = req.to_rudder()
    assert list(rudder) == ["version", "type", "method", "endpoint", "headers", "params", "body", "files",
                            "userId", "endpointPath"]
    assert rudder["userId"] == "u1"
    assert list(req.records[0]["properties"]) == [
        "plan", "$user_id", "$insert_id", "token", "distinct_id", "time"]
    assert req.records[0]["properties"]["time"] == 1579847342403


@pytest.mark.parametrize("user_id,expected", [(123, "123"), ({"a": 1}, "[object Object]"), ([1, 2], "1,2"),
                                              (True, "true"), (1e21, "1e+21"), (1.5, "1.5")])
def test_truthy_ids_are_coerced_to_javascript_strings(user_id, expected):
    (req,) = run(message(userId=user_id))
    p = req.records[0]["properties"]
    assert p["distinct_id"] == p["$user_id"] == req.user_id == expected


def test_user_id_zero_is_not_coerced_but_still_mapped():
    p = props(message(userId=0))
    assert p["distinct_id"] == "a1" and p["$user_id"] == 0


def test_no_ids_at_all_is_not_an_error():
    (req,) = run(message(userId=DROP, anonymousId=DROP))
    p = records([req])[0]["properties"]
    assert "distinct_id" not in p and "$user_id" not in p
    assert "userId" not in req.to_rudder()


@pytest.mark.parametrize("mid", [123, True, {}])
def test_non_string_message_id_is_refused(mid):
    err = error(message(messageId=mid))
    assert (err.message, err.status_code, err.kind) == ("messageId should be of type string", 400, "instrumentation")
    assert isinstance(err, mpsim.InstrumentationError)


@pytest.mark.parametrize("mid,present,value", [(0, True, 0), (False, True, False), ("", False, None)])
def test_falsy_message_ids_pass(mid, present, value):
    p = props(message(messageId=mid))
    assert ("$insert_id" in p) is present
    if present:
        assert p["$insert_id"] is value


def test_insert_id_keeps_last_36_utf16_units_in_track():
    mid = "1662363980287-168cf720-6227-4b56-a98e-c49bdc7279e9"
    assert props(message(messageId=mid))["$insert_id"] == "168cf720-6227-4b56-a98e-c49bdc7279e9"


def test_insert_id_cut_through_surrogate_pair_leaves_lone_surrogate():
    (req,) = run(message(messageId="\U0001F600" + "a" * 35))
    assert req.body_text().count("\\ude00") == 1
    assert "\\ud83d" not in req.body_text()


def test_event_name_is_passed_through_unchanged():
    assert "event" not in records(run(message(event=DROP)))[0]
    assert records(run(message(event=5)))[0]["event"] == 5


def test_missing_credentials_crash_like_the_reference():
    with pytest.raises(mpsim.TransformationCrash) as info:
        mpsim.transform(message(), {}, now="2020-01-25T00:00:00Z")
    assert info.value.status_code == 500
    assert info.value.message.startswith("The first argument must be of type string")


def test_token_wins_over_service_account_and_strict_mode():
    (req,) = run(message(), {"serviceAccountUserName": "su", "serviceAccountSecret": "ss", "projectId": "p1",
                             "strictMode": True})
    assert req.headers["Authorization"] == "Basic dG9rOg=="
    assert req.params == {"strict": 1}


def test_service_account_only():
    (req,) = mpsim.transform(message(), {"serviceAccountUserName": "su", "serviceAccountSecret": "ss",
                                         "projectId": "p1"}, now="2020-01-25T00:00:00Z")
    assert req.headers["Authorization"] == "Basic c3U6c3M="
    assert list(req.params.items()) == [("project_id", "p1"), ("strict", 0)]
    assert "token" not in records([req])[0]["properties"]


@pytest.mark.parametrize("residency,host", [("eu", "api-eu"), ("in", "api-in"), ("EU", "api"), (None, "api")])
def test_data_residency_picks_the_host(residency, host):
    (req,) = run(message(), {"dataResidency": residency})
    assert req.endpoint == f"https://{host}.mixpanel.com/import/"


def test_flags_use_javascript_truthiness():
    (req,) = run(message(), {"strictMode": "false"})
    assert req.params["strict"] == 1


def test_offset_timestamps_and_revenue_iso_time():
    reqs = run(message(timestamp="2020-01-24T11:59:02.403+05:30", properties={"revenue": 5}))
    revenue, event = records(reqs)
    assert event["properties"]["time"] == 1579847342403
    assert revenue["$append"]["$transactions"] == {"$time": "2020-01-24T06:29:02.403Z", "$amount": 5}


def test_seconds_epoch_reads_as_1970_and_fails_five_year_rule():
    assert error(message(timestamp=1579847342)).message == "Event timestamp should be within last 5 years"


def test_numeric_string_timestamp_is_invalid_and_revenue_falls_back():
    reqs = run(message(timestamp="1579847342403", originalTimestamp="2020-01-20T00:00:00Z", properties={"revenue": 1}))
    revenue, event = records(reqs)
    assert event["properties"]["time"] is None
    assert revenue["$append"]["$transactions"]["$time"] == "2020-01-20T00:00:00.000Z"


def test_both_timestamps_invalid_with_revenue_is_an_error_without_is_null_time():
    bad = message(timestamp="garbage", originalTimestamp="nope", properties={"revenue": 5})
    assert error(bad).message == "Neither timestamp nor originalTimestamp is a valid date."
    assert props(message(timestamp="garbage", originalTimestamp="nope"))["time"] is None


@pytest.mark.parametrize("ts", [None, False])
def test_null_timestamp_is_1970(ts):
    assert error(message(timestamp=ts)).message == "Event timestamp should be within last 5 years"


def test_five_year_rule_reads_only_timestamp():
    p = props(message(timestamp=DROP, originalTimestamp="2000-01-01T00:00:00Z"))
    assert p["time"] == 946684800000


def test_five_year_boundary_uses_365_2425_day_years():
    now = "2025-06-15T12:00:00Z"
    assert run(message(timestamp="2020-06-15T06:54:00.000Z"), now=now)
    assert error(message(timestamp="2020-06-15T06:53:59.999Z"), now=now).status_code == 400


def test_fraction_digits_beyond_milliseconds_are_truncated():
    assert props(message(timestamp="2020-01-24T06:29:02.4039Z"))["time"] == 1579847342403


def test_traits_override_properties_in_track():
    assert props(message(properties={"a": "propA"}, context={"traits": {"a": "traitA"}}))["a"] == "traitA"


def test_drop_traits_in_track_event():
    p = props(message(properties={"a": 1}, context={"traits": {"b": 2}}), {"dropTraitsInTrackEvent": True})
    assert "b" not in p and p["a"] == 1


def test_computed_keys_keep_the_position_of_user_properties():
    p = props(message(properties={"time": "PT", "utm_source": "PUS"}, context={"campaign": {"source": "src"}}))
    assert list(p)[:2] == ["time", "utm_source"]
    assert p["time"] == 1579847342403 and p["utm_source"] == "src"


def test_integer_like_keys_serialise_first():
    (req,) = run(message(properties={"b": 1, "10": 2, "2": 3, "01": 4}))
    assert '"properties":{"2":3,"10":2,"b":1,"01":4,' in req.body_text()


def test_utm_values_are_copied_as_they_are():
    p = props(message(context={"campaign": {"name": None, "medium": 0, "x": {"y": 1}}}))
    assert p["utm_campaign"] is None and p["utm_medium"] == 0 and p["utm_x"] == {"y": 1}
    assert "campaign_id" not in p


@pytest.mark.parametrize("sid,expected", [(12345, "12345"), (0, "0")])
def test_session_id_is_a_string(sid, expected):
    assert props(message(session_id=sid))["$session_id"] == expected


def test_empty_session_id_falls_back_to_context():
    assert props(message(session_id="", context={"sessionId": 7}))["$session_id"] == "7"


def test_brand_comes_from_top_level_device_only():
    p = props(message(device={"manufacturer": "Acme"}, context={"device": {"manufacturer": "Other"}}))
    assert p["$brand"] == "Acme" and p["$manufacturer"] == "Other"


def test_browser_only_for_exact_web_channel():
    ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
    assert "$browser" not in props(message(channel="Web", context={"userAgent": ua}))
    p = props(message(channel="web", properties={"$browser": "B"}, context={"userAgent": ua}))
    assert p["$browser"] == "Chrome" and list(p)[0] == "$browser" and list(p)[-1] == "$browser_version"


def test_prop_increments_copy_truthy_values_raw_in_property_order():
    properties = {"c": 3, "a": 1, "b": "2", "d": "", "e": 0, "f": "abc", "g": -1, "h": True, "i": [1]}
    config = {"propIncrements": [{"property": k} for k in "abcdefghi"]}
    add, _ = records(run(message(properties=properties), config))
    assert add == {"$add": {"c": 3, "a": 1, "b": "2", "f": "abc", "g": -1, "h": True, "i": [1]},
                   "$token": "tok", "$distinct_id": "u1"}


@pytest.mark.parametrize("revenue,count", [("0", 2), (0, 1), ("12.5", 2), (-3, 2)])
def test_revenue_qualifies_when_truthy(revenue, count):
    reqs = run(message(properties={"revenue": revenue}))
    assert len(reqs) == count
    if count == 2:
        assert records(reqs)[0]["$append"]["$transactions"]["$amount"] == revenue


def test_revenue_then_increment_then_event():
    reqs = run(message(properties={"revenue": 5, "n": 1}), {"propIncrements": [{"property": "n"}]})
    assert [(r.path, next(iter(r.records[0]))) for r in reqs] == [("engage", "$append"), ("engage", "$add"),
                                                                  ("import", "event")]


def test_the_callers_message_is_not_modified():
    msg = message(userId=5, context={"traits": {"a": 1}})
    before = repr(msg)
    mpsim.transform(msg, {"token": "tok"}, now="2020-01-25T00:00:00Z")
    assert repr(msg) == before


def test_mapping_finds_keys_that_contain_dots_like_get_value():
    p = props(message(context={"page.url": "https://x.test/", "os": {"name": "iOS"}}))
    assert p["$current_url"] == "https://x.test/" and p["$os"] == "iOS"
    p = props(message(**{"context.ip": "9.9.9.9"}))
    assert p["ip"] == "9.9.9.9"
