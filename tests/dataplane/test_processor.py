"""The processor: time fields, dedup, integrations, consent, types, router batching (spec §2.2-§4.2)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpsim.rudder.dataplane import format_time, parse_time
from mpsim.rudder.dataplane.filters import consent_block, integrations_block, type_block

from .helpers import event, plane, post, reasons


# ----------------------------------------------------------------------------- time
def test_skew_correction_for_js_and_node_events():
    dp = plane(now="2024-03-02T10:01:00Z")
    post(dp, "/v1/track", event(originalTimestamp="2024-03-02T10:00:00.000Z", sentAt="2024-03-02T10:00:05.000Z"))
    message = dp.jobs[0].message
    assert message["timestamp"] == "2024-03-02T10:00:55.000Z"
    assert message["receivedAt"] == "2024-03-02T10:01:00.000Z"
    assert message["originalTimestamp"] == "2024-03-02T10:00:00.000Z"
    assert message["sentAt"] == "2024-03-02T10:00:05.000Z"


def test_python_sdk_timestamp_is_kept_and_other_fields_become_received_at():
    dp = plane(now="2024-03-02T10:01:00Z")
    post(dp, "/v1/batch", {"batch": [event(timestamp="2024-03-02T09:00:00.123456+00:00")],
                           "sentAt": "2024-03-02T09:00:01.000000+00:00"})
    message = dp.jobs[0].message
    assert message["timestamp"] == "2024-03-02T09:00:00.123Z"
    assert message["originalTimestamp"] == message["sentAt"] == "2024-03-02T10:01:00.000Z"


@pytest.mark.parametrize("fields, expected", [
    ({"originalTimestamp": "2024-03-02T09:00:00Z"}, "2024-03-02T09:00:00.000Z"),
    ({"sentAt": "2024-03-02T10:00:00Z"}, "2024-03-02T10:02:00.000Z"),  # 2R − S
    ({}, "2024-03-02T10:01:00.000Z"),
    ({"timestamp": 1709370000000, "originalTimestamp": 5}, "2024-03-02T10:01:00.000Z"),  # numbers count as absent
    ({"timestamp": "2024-03-02T15:30:00.9999+05:30"}, "2024-03-02T15:30:00.999+05:30"),  # keeps its offset, truncated
    ({"timestamp": "1709370000"}, "2024-03-02T09:00:00.000Z"),  # epoch digits
    ({"timestamp": "2024-03-02"}, "2024-03-02T00:00:00.000Z"),
])
def test_time_rules(fields, expected):
    dp = plane(now="2024-03-02T10:01:00Z")
    post(dp, "/v1/track", event(**fields))
    assert dp.jobs[0].message["timestamp"] == expected


def test_the_server_clock_is_the_simulators():
    dp = plane(now="2024-03-02T10:01:00Z")
    dp.sim.clock.advance(30)
    post(dp, "/v1/track", event())
    assert dp.jobs[0].message["receivedAt"] == "2024-03-02T10:01:30.000Z"


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)),
       st.integers(min_value=-14 * 60, max_value=14 * 60))
@settings(max_examples=80, deadline=None)
def test_format_then_parse_is_the_same_millisecond(moment, offset_minutes):
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    text = format_time(aware)
    back = parse_time(text)
    assert back is not None and format_time(back) == text
    assert abs((back - aware).total_seconds()) < 0.001


@pytest.mark.parametrize("value", [None, 5, "", "yesterday", "2024-13-40", "12345"])
def test_unreadable_times(value):
    assert parse_time(value) is None


# ----------------------------------------------------------------------------- integrations
@pytest.mark.parametrize("integrations, delivered", [
    ({"All": True}, True),
    ({"All": False, "Mixpanel": True}, True),
    ({"All": False, "Mixpanel": {}}, True),
    ({"All": True, "Mixpanel": False}, False),
    ({"All": False}, False),
    ({"All": False, "MP": True}, False),
    ({"All": False, "mixpanel": True}, False),
    ({"All": "true"}, False),
    ({"Mixpanel": "yes"}, True),  # another type falls back to All (true)
    ({"All": False, "Mixpanel": None}, False),
    ({"all": False}, True),  # lower-case "all" is not All
    (None, False),
    ([], False),
    ("All", False),
])
def test_integrations_rule(integrations, delivered):
    assert (integrations_block({"integrations": integrations}) is None) is delivered


def test_missing_integrations_delivers():
    assert integrations_block({}) is None


# ----------------------------------------------------------------------------- consent
DENIED = {"context": {"consentManagement": {"deniedConsentIds": ["analytics"], "provider": "oneTrust"}}}


def test_consent_generic_and_strategy():
    config = {"consentManagement": [{"provider": "oneTrust", "consents": [{"consent": "analytics"},
                                                                          {"consent": "ads"}]}]}
    assert "denied analytics" in consent_block(DENIED, config)  # and: any denied drops
    or_event = {"context": {"consentManagement": {**DENIED["context"]["consentManagement"], "resolutionStrategy": "or"}}}
    assert consent_block(or_event, config) is None  # or: only when every one is denied
    custom = {"consentManagement": [{"provider": "custom", "resolutionStrategy": "or",
                                     "consents": [{"consent": "analytics"}]}]}
    custom_event = {"context": {"consentManagement": {"deniedConsentIds": ["analytics"], "provider": "custom",
                                                      "resolutionStrategy": "and"}}}
    assert consent_block(custom_event, custom) is not None
    by_source = {"consentManagement": {"web": config["consentManagement"]}}
    assert consent_block(DENIED, by_source) is not None


def test_consent_legacy_onetrust_and_ketch():
    onetrust = {"oneTrustCookieCategories": [{"oneTrustCookieCategory": "analytics"}]}
    assert consent_block(DENIED, onetrust) is not None
    ketch = {"ketchConsentPurposes": [{"purpose": "analytics"}, {"purpose": "ads"}]}
    ketch_event = {"context": {"consentManagement": {"deniedConsentIds": ["analytics"]}}}
    assert consent_block(ketch_event, ketch) is None
    all_denied = {"context": {"consentManagement": {"deniedConsentIds": ["analytics", "ads"]}}}
    assert consent_block(all_denied, ketch) is not None
    assert consent_block({"context": {"consentManagement": {"deniedConsentIds": []}}}, onetrust) is None
    assert consent_block(DENIED, {}) is None


# ----------------------------------------------------------------------------- types
@pytest.mark.parametrize("kind, expected", [
    ("track", None), (" Track ", None), ("merge", (298, "Message type not supported")),
    (None, (400, "Invalid message type. Type assertion failed")), (3, (400, "Invalid message type. Type assertion failed")),
])
def test_type_rule(kind, expected):
    assert type_block({"type": kind} if kind is not None else {}) == expected


def test_wrong_case_type_passes_the_processor_and_fails_in_the_transformer():
    dp = plane()
    post(dp, "/v1/batch", {"batch": [event("Track")]})
    (drop,) = dp.drops
    assert (drop.gate, drop.reason) == ("transformer", "transformer")
    assert "Track" in drop.detail
    assert dp.jobs[0].message["type"] == "Track"


# ----------------------------------------------------------------------------- dedup, other gates
def test_dedup_window_and_switch():
    dp = plane()
    post(dp, "/v1/track", event(messageId="m1"))
    post(dp, "/v1/track", event(messageId="m1", userId="someone-else"))
    assert reasons(dp) == [("processor", "dedup")]
    dp.sim.clock.advance(3601)
    post(dp, "/v1/track", event(messageId="m1"))
    assert len(dp.drops) == 1 and len(dp.sim.events) == 2
    off = plane(dedup=False)
    post(off, "/v1/track", event(messageId="m1"))
    post(off, "/v1/track", event(messageId="m1"))
    assert off.drops == []


def test_user_transformation_can_drop_and_change():
    dp = plane(user_transformation=lambda e: None if e.get("event") == "Hidden" else {**e, "event": "Renamed"})
    post(dp, "/v1/batch", {"batch": [event(event="Hidden"), event(event="Shown")]})
    assert reasons(dp) == [("processor", "user transformation")]
    assert list(dp.sim.events["event"]) == ["Renamed"]


def test_user_transformation_that_raises_is_recorded():
    dp = plane(user_transformation=lambda e: 1 / 0)
    post(dp, "/v1/track", event())
    assert "ZeroDivisionError" in dp.drops[0].detail


# ----------------------------------------------------------------------------- router
def test_router_batches_hold_until_full_or_timeout():
    dp = plane(hold=True, batch_size=3, batch_timeout=5)
    post(dp, "/v1/batch", {"batch": [event(), event()]})
    assert dp.summary()["waiting"] == 2 and len(dp.sim.events) == 0
    post(dp, "/v1/track", event())
    assert dp.summary()["waiting"] == 0 and len(dp.sim.events) == 3
    assert len(dp.deliveries) == 1 and dp.deliveries[0].jobs == [1, 2, 3]
    post(dp, "/v1/track", event())
    dp.sim.clock.advance(5)
    post(dp, "/health", b"")  # any request lets the router check its timer
    assert len(dp.sim.events) == 4
    post(dp, "/v1/track", event())
    assert len(dp.sim.events) == 4 and dp.summary()["waiting"] == 1


def test_flush_delivers_what_waits():
    dp = plane(hold=True)
    post(dp, "/v1/track", event())
    assert len(dp.sim.events) == 0
    dp.flush()
    assert len(dp.sim.events) == 1 and dp.jobs[0].status == "delivered"


def test_router_input_shape():
    from mpsim.rudder.dataplane.router import router_input

    dp = plane()
    post(dp, "/v1/track", event(userId="u1"), headers={"AnonymousId": "YW5vbi0x"})
    item = router_input(dp, dp.jobs[0])
    assert item["metadata"]["userId"] == "YW5vbi0x<<>>anon-1<<>>u1"
    assert item["metadata"]["transformAt"] == "router" and item["metadata"]["jobId"] == 1
    assert item["destination"]["DestinationDefinition"]["DisplayName"] == "Mixpanel"
    assert item["destination"]["Config"] == {"token": "T"}
