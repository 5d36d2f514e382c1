"""The spec's ten data-plane reasons "my event did not reach Mixpanel" (§6): each answer and its recorded reason."""

from __future__ import annotations

import gzip
import json

from .helpers import WK, event, plane, post, reasons


def _nothing_reached_mixpanel(dp):
    assert len(dp.sim.events) == 0 and len(dp.sim.log) == 0


def _finding_rules(dp):
    return [f.rule for f in dp.findings()]


def test_1_wrong_unknown_or_disabled_write_key():
    dp = plane()
    assert (post(dp, "/v1/track", event(), key="WK_TYPO").status, dp.log[-1].answer) == (401, "invalid write key\n")
    assert post(dp, "/v1/track", event(), key=None).body == "failed to read writekey from header\n"
    assert dp.lines()[0] == "#1 POST /v1/track 401 'invalid write key' — nothing stored (write key 'WK_TYPO')"
    disabled = plane(source_enabled=False)
    assert (post(disabled, "/v1/track", event()).status, disabled.log[-1].answer) == (404, "source is disabled\n")
    assert reasons(dp) == [("gateway", "write key")] * 2
    assert _finding_rules(dp) == ["dataplane-write-key"] * 2
    _nothing_reached_mixpanel(dp)


def test_2_no_identity_including_blank_and_zero_width_ids():
    for ids in ({}, {"anonymousId": "   "}, {"userId": "\u200b", "anonymousId": None}):
        dp = plane()
        batch = [event(userId="u1"), {"type": "track", "event": "E", **ids}]
        reply = post(dp, "/v1/batch", {"batch": batch})
        assert (reply.status, reply.body) == (400, "request neither has anonymousId nor userId\n")
        (drop,) = dp.drops
        assert (drop.gate, drop.reason, drop.index) == ("gateway", "no identity", 1)  # the offending batch index
        _nothing_reached_mixpanel(dp)


def test_3_one_bad_element_poisons_the_batch():
    dp = plane()
    batch = [event(userId=f"u{i}") for i in range(4)] + ["not an event"]
    reply = post(dp, "/v1/batch", {"batch": batch})
    assert (reply.status, reply.body) == (400, "event is not a valid rudder event\n")
    assert dp.log[-1].line.endswith("0 of 5 stored")
    assert "0 of 5 events stored" in dp.drops[0].detail and dp.drops[0].index == 4
    assert post(dp, "/v1/batch", b'{"batch": [' + b'{"type": "track"},' * 3 + b"]").body == "invalid json\n"
    _nothing_reached_mixpanel(dp)
    assert dp.jobs == []


def test_4_body_too_big_or_badly_encoded():
    dp = plane()
    big = {"batch": [event(properties={"blob": "x" * 4_100_000})]}
    reply = post(dp, "/v1/batch", big, compress=True)  # small on the wire, too big decompressed
    assert (reply.status, reply.body) == (413, "request size exceeds max limit\n")
    assert dp.log[-1].size > 4_096_000 and "bytes decompressed" in dp.lines()[0]
    raw = gzip.compress(json.dumps({"batch": [event()]}).encode())
    assert post(dp, "/v1/batch", raw[:-8], headers={"Content-Encoding": "gzip"}).status == 500
    assert post(dp, "/v1/batch", raw).body == "invalid json\n"  # gzip without the header
    assert reasons(dp) == [("gateway", "too large"), ("gateway", "unreadable body"), ("gateway", "invalid json")]
    _nothing_reached_mixpanel(dp)


def test_5_integrations_exclude_mixpanel_silently():
    dp = plane()
    for integrations in ({"All": False, "MP": True}, {"Mixpanel": False}, {"All": "true"}, None):
        assert post(dp, "/v1/track", event(integrations=integrations)).body == "ok"  # still 200 ok
    assert reasons(dp) == [("processor", "integrations")] * 4
    assert "'MP' does not address Mixpanel" in dp.drops[0].detail
    assert all(d.detail.startswith("destination filter: integrations") for d in dp.drops)
    _nothing_reached_mixpanel(dp)


def test_6_mixpanel_not_connected_for_cloud():
    for options in ({"destination_enabled": False}, {"connection_mode": "device"},
                    {"destination": {"Config": {"token": "T"}, "IsProcessorEnabled": False}}):
        dp = plane(**options)
        assert post(dp, "/v1/track", event()).body == "ok"
        (drop,) = dp.drops
        assert (drop.gate, drop.reason) == ("processor", "destination")
        assert drop.detail.startswith("no processor-enabled destination")
        _nothing_reached_mixpanel(dp)


def test_7_message_type():
    dp = plane()
    untyped = {"event": "E", "anonymousId": "a1"}
    assert post(dp, "/v1/batch", {"batch": [untyped, event("merge"), event("Track")]}).body == "ok"
    by_reason = {(d.gate, d.status): d.detail for d in dp.drops}
    assert by_reason[("processor", 400)].startswith("Invalid message type. Type assertion failed")
    assert by_reason[("processor", 298)].startswith("Message type not supported")
    assert "Track" in by_reason[("transformer", 400)]
    assert reasons(dp) == [("processor", "type"), ("processor", "type"), ("transformer", "transformer")]
    _nothing_reached_mixpanel(dp)


def test_8_duplicate_message_id():
    dp = plane()
    post(dp, "/v1/track", event(messageId="checkout-1", userId="u1"))
    assert post(dp, "/v1/track", event(messageId="checkout-1", userId="u2", event="Other")).body == "ok"
    (drop,) = dp.drops
    assert (drop.gate, drop.reason, drop.message_id) == ("processor", "dedup", "checkout-1")
    assert drop.detail.startswith("dedup: dropped")
    assert list(dp.sim.events["event"]) == ["Signed Up"]


def test_9_consent_denied():
    dp = plane(destination={"token": "T", "oneTrustCookieCategories": [{"oneTrustCookieCategory": "C0002"}]})
    denied = {"consentManagement": {"deniedConsentIds": ["C0002", "C0004"], "provider": "oneTrust"}}
    assert post(dp, "/v1/track", event(context=denied)).body == "ok"
    (drop,) = dp.drops
    assert (drop.gate, drop.reason) == ("processor", "consent") and drop.detail.startswith("consent: denied C0002")
    _nothing_reached_mixpanel(dp)


def test_10_suppression_rate_limit_and_user_transformation():
    dp = plane(suppressed_users=["u-gone"], rate_limit=2, user_transformation=lambda e: [] if e.get("event") == "X"
               else e)
    assert post(dp, "/v1/track", event(userId="u-gone")).body == "ok"
    assert post(dp, "/v1/track", event(event="X")).body == "ok"
    reply = post(dp, "/v1/track", event())
    assert (reply.status, reply.body) == (429, "max requests limit reached\n")
    dp.sim.clock.advance(1)
    assert post(dp, "/v1/track", event()).body == "ok"
    assert reasons(dp) == [("gateway", "suppression"), ("processor", "user transformation"), ("gateway", "rate limit")]
    assert len(dp.sim.events) == 1


def test_drops_appear_in_summary_lines_trail_and_findings():
    dp = plane()
    post(dp, "/v1/track", event(messageId="m-1", integrations={"All": False}))
    post(dp, "/v1/track", event(messageId="m-2"))
    summary = dp.summary()
    assert summary["dropped at processor"] == 1 and summary["delivered"] == 1
    assert dp.drop_counts() == {("processor", "integrations"): 1}
    assert any("integrations" in line for line in dp.lines())
    assert "integrations" in dp.trail("m-1")[-1]
    assert any("Mixpanel answered 200" in line for line in dp.trail("m-2"))
    (finding,) = dp.findings()
    assert finding.rule == "dataplane-integrations" and finding.severity == "error" and "Mixpanel" in finding.fix
    frame = dp.drops_frame()
    assert list(frame["reason"]) == ["integrations"]
    assert "integrations" in dp._repr_html_()
    assert WK not in dp._repr_html_()
