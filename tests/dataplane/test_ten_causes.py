"""The spec's ten data-plane reasons "my event did not reach Mixpanel" (§6): each answer and its recorded reason,
on the data plane and in the simulator's own log, ``dropped()``, ``explain(id)`` and the control API's findings."""

from __future__ import annotations

import gzip
import json

from mpsim.mixpanel.control import findings as control_findings

from .helpers import WK, event, plane, post, reasons


def _mixpanel_requests(sim):
    return [x for x in sim.log if not x.request.get("door")]


def _nothing_reached_mixpanel(dp):
    assert len(dp.sim.events) == 0 and _mixpanel_requests(dp.sim) == []


def _simulator_shows(dp, gate, reason, *, ids=(), events=None, says=()):
    """The drop is in the simulator's log (per event, with gate and reason), counted by ``sim.dropped()``,
    told by ``sim.explain(id)`` for each id, and a control-API finding with the setting to change."""
    sim = dp.sim
    key = f"RudderStack {gate}: {reason} ("
    logged = [(x, r) for x in sim.log if x.request.get("door") == "rudderstack"
              for r in x.records if r.note and r.note.startswith(key)]
    assert logged, [x.records for x in sim.log]
    assert all(not r.stored for _, r in logged)
    assert all(WK not in json.dumps(x.request) for x, _ in logged)  # the write key is masked
    counted = sum(n for k, n in sim.dropped().items() if k.startswith(key))
    assert counted == (events if events is not None else len(logged))
    for distinct_id in ids:
        text = str(sim.explain(distinct_id))
        assert f"at the RudderStack {gate}" in text and f": {reason}: " in text, text
        for words in says:
            assert words in text, text
    found = [f for f in control_findings(sim) if f["kind"] == "dataplane" and (f["gate"], f["reason"]) == (gate, reason)]
    assert found and all(f["fix"] for f in found)
    came_in = {x.seq: x.request["endpoint"] for x in sim.log if x.request.get("door")}
    assert all(came_in[f["request"]] == f["endpoint"] for f in found)  # the request the event came in, in sim.log
    return found


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
    found = _simulator_shows(dp, "gateway", "write key", ids=["anon-1"], events=2,
                             says=["never reached Mixpanel", "answered 401", "write_key="])
    assert "the request's write key: WK… (7 characters)" in found[0]["message"]  # which key came, masked
    assert [x.request["write_key"] for x in dp.sim.log] == ["WK… (7 characters)", None]
    assert str(dp.sim.explain("anon-1")).startswith("'anon-1' never reached Mixpanel: 2 events")
    _simulator_shows(disabled, "gateway", "write key", ids=["anon-1"], says=["answered 404", "enable the source"])


def test_2_no_identity_including_blank_and_zero_width_ids():
    for ids in ({}, {"anonymousId": "   "}, {"userId": "\u200b", "anonymousId": None}):
        dp = plane()
        batch = [event(userId="u1"), {"type": "track", "event": "E", **ids}]
        reply = post(dp, "/v1/batch", {"batch": batch})
        assert (reply.status, reply.body) == (400, "request neither has anonymousId nor userId\n")
        (drop,) = dp.drops
        assert (drop.gate, drop.reason, drop.index) == ("gateway", "no identity", 1)  # the offending batch index
        _nothing_reached_mixpanel(dp)
        # both events are refused; the good one's id is told why (its batch was refused with it)
        (finding,) = _simulator_shows(dp, "gateway", "no identity", ids=["u1"], events=2,
                                      says=["with its whole request", "batch[1]"])
        assert finding["index"] == 1


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
    _simulator_shows(dp, "gateway", "not an event", ids=["u0", "u3"], events=5, says=["0 of 5 events stored"])
    _simulator_shows(dp, "gateway", "invalid json", events=1)  # no event could be read: the request is the record


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
    _simulator_shows(dp, "gateway", "too large", ids=["anon-1"], says=["bytes, limit 4096000", "smaller batches"])
    _simulator_shows(dp, "gateway", "unreadable body", events=1)
    _simulator_shows(dp, "gateway", "invalid json", events=1)


def test_5_integrations_exclude_mixpanel_silently():
    dp = plane()
    for integrations in ({"All": False, "MP": True}, {"Mixpanel": False}, {"All": "true"}, None):
        assert post(dp, "/v1/track", event(integrations=integrations)).body == "ok"  # still 200 ok
    assert reasons(dp) == [("processor", "integrations")] * 4
    assert "'MP' does not address Mixpanel" in dp.drops[0].detail
    assert all(d.detail.startswith("destination filter: integrations") for d in dp.drops)
    _nothing_reached_mixpanel(dp)
    found = _simulator_shows(dp, "processor", "integrations", ids=["anon-1"], events=4,
                             says=["'MP' does not address Mixpanel", 'Address Mixpanel as "Mixpanel"'])
    assert [f["status"] for f in found] == [200] * 4  # silent to the SDK
    assert [x.status for x in dp.sim.log] == [200] * 4 and all(r.ok for x in dp.sim.log for r in x.records)


def test_6_mixpanel_not_connected_for_cloud():
    for options in ({"destination_enabled": False}, {"connection_mode": "device"},
                    {"destination": {"Config": {"token": "T"}, "IsProcessorEnabled": False}}):
        dp = plane(**options)
        assert post(dp, "/v1/track", event()).body == "ok"
        (drop,) = dp.drops
        assert (drop.gate, drop.reason) == ("processor", "destination")
        assert drop.detail.startswith("no processor-enabled destination")
        _nothing_reached_mixpanel(dp)
        _simulator_shows(dp, "processor", "destination", ids=["anon-1"], says=["cloud mode"])


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
    _simulator_shows(dp, "processor", "type", ids=["a1"], events=2, says=["Invalid message type"])
    _simulator_shows(dp, "transformer", "transformer", says=["Event type 'Track' is not supported"], ids=["anon-1"])
    assert [x.request["endpoint"] for x in dp.sim.log] == ["v1/batch", "routerTransform"]


def test_8_duplicate_message_id():
    dp = plane()
    post(dp, "/v1/track", event(messageId="checkout-1", userId="u1"))
    assert post(dp, "/v1/track", event(messageId="checkout-1", userId="u2", event="Other")).body == "ok"
    (drop,) = dp.drops
    assert (drop.gate, drop.reason, drop.message_id) == ("processor", "dedup", "checkout-1")
    assert drop.detail.startswith("dedup: dropped")
    assert list(dp.sim.events["event"]) == ["Signed Up"]
    _simulator_shows(dp, "processor", "dedup", ids=["u2"], says=["'checkout-1'", "dedup=False"])
    assert "never reached Mixpanel" not in str(dp.sim.explain("u1"))  # u1's event reached Mixpanel


def test_9_consent_denied():
    dp = plane(destination={"token": "T", "oneTrustCookieCategories": [{"oneTrustCookieCategory": "C0002"}]})
    denied = {"consentManagement": {"deniedConsentIds": ["C0002", "C0004"], "provider": "oneTrust"}}
    assert post(dp, "/v1/track", event(context=denied)).body == "ok"
    (drop,) = dp.drops
    assert (drop.gate, drop.reason) == ("processor", "consent") and drop.detail.startswith("consent: denied C0002")
    _nothing_reached_mixpanel(dp)
    _simulator_shows(dp, "processor", "consent", ids=["anon-1"], says=["denied C0002", "oneTrustCookieCategories"])


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
    _simulator_shows(dp, "gateway", "suppression", ids=["u-gone"], says=["Regulation API"])
    _simulator_shows(dp, "processor", "user transformation", ids=["anon-1"], says=["returned no event"])
    (finding,) = _simulator_shows(dp, "gateway", "rate limit", ids=["anon-1"], says=["answered 429"])
    assert finding["status"] == 429 and "rate_limit=" in finding["fix"]


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
