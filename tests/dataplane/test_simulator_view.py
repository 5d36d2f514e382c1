"""Data-plane drops seen from the simulator: its log numbering, reset and load, the control API over HTTP,
and the live page ``/_mpsim/`` in Chromium with RudderStack's JS SDK sending."""

from __future__ import annotations

import json
import time

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

import mpsim
from mpsim.mixpanel.control import findings as control_findings
from mpsim.rudder.dataplane import DataPlane

from .helpers import CONFIG, WK, auth, event, plane, post
from .sdks import shop_and_data_plane, use_the_shop


def test_request_numbers_in_explanations_stay_the_logs():
    dp = plane()
    post(dp, "/v1/track", event(integrations={"MP": True, "All": False}))  # sim.log #1: dropped at the processor
    post(dp, "/v1/identify", event("identify", userId="u1"))  # #2 the data plane, then Mixpanel's #3 and #4
    log = dp.sim.log
    assert [(x.seq, x.request["endpoint"]) for x in log] == [(1, "v1/track"), (2, "v1/identify"), (3, "engage"),
                                                             (4, "import")]
    (record,) = log[1].records
    assert record.stored and record.note.startswith("RudderStack passed")
    assert "request #4 " in str(dp.sim.explain("u1"))  # the $merge's step names the log's number for /import
    assert dp.log[1].sim_request == 2


def test_reset_and_load_forget_the_data_planes_drops_too():
    dp = plane()
    saved = dp.sim.snapshot()
    post(dp, "/v1/track", event(integrations=None))
    assert dp.sim.dropped() and dp.drops
    dp.sim.reset()
    assert (dp.sim.dropped(), dp.drops, len(dp.sim.log), dp.sim.explain("anon-1").data["dropped_before_mixpanel"]) \
        == ({}, [], 0, [])
    post(dp, "/v1/track", event(integrations=None))
    dp.sim.load(saved)
    assert dp.drops == [] and "never reached" not in str(dp.sim.explain("anon-1"))


def test_a_simulator_with_no_data_plane_has_no_upstreams():
    sim = mpsim.Simulator(token="T")
    assert sim.upstreams == [] and "never reached" not in str(sim.explain("x"))
    dp = DataPlane(sim, CONFIG)
    assert sim.upstreams == [dp]


def test_control_api_over_http_shows_the_drops():
    sim = mpsim.Simulator(token="T")
    with mpsim.serve(sim, rudder=CONFIG, write_key=WK) as server:
        bad = requests.post(f"{server.url}/v1/track", json=event(anonymousId="a7", integrations={"MP": True,
                                                                                                 "All": False}),
                            headers=auth(), timeout=10)
        wrong = requests.post(f"{server.url}/v1/batch", json={"batch": [event(anonymousId="a8")]},
                              headers=auth("WK_OTHER"), timeout=10)
        assert (bad.status_code, bad.text, wrong.status_code) == (200, "ok", 401)
        log = requests.get(f"{server.url}/_mpsim/log", timeout=10).json()
        found = requests.get(f"{server.url}/_mpsim/findings", timeout=10).json()
        explained = requests.get(f"{server.url}/_mpsim/explain", params={"id": "a7"}, timeout=10).json()
        state = requests.get(f"{server.url}/_mpsim/state", timeout=10).json()
        assert server.errors == []
    assert [(x["request"]["endpoint"], x["request"]["door"], x["status"]) for x in log] == [
        ("v1/track", "rudderstack", 200), ("v1/batch", "rudderstack", 401)]
    assert log[0]["records"][0]["note"].startswith("RudderStack processor: integrations")
    assert WK not in str(log) and "WK_OTHER" not in str(log)
    assert [(f["kind"], f["gate"], f["reason"], f["request"]) for f in found] == [
        ("dataplane", "processor", "integrations", 1), ("dataplane", "gateway", "write key", 2)]
    assert '"Mixpanel"' in found[0]["fix"] and "WK… (8 characters)" in found[1]["message"]
    assert explained["answer"].startswith("'a7' never reached Mixpanel")
    assert "'MP' does not address Mixpanel" in explained["dropped_before_mixpanel"][0]
    assert sum(state["dropped"].values()) == 2
    assert state["upstreams"][0]["dropped at processor"] == 1 and state["upstreams"][0]["requests"] == 2


def test_live_page_shows_what_a_real_sdk_sent_and_what_the_data_plane_dropped(browser):
    sim = mpsim.Simulator(token="T")
    with shop_and_data_plane(sim, CONFIG, WK) as (server, site):
        context = browser.new_context()
        try:
            live = context.new_page()
            live.goto(f"{server.url}/_mpsim/")
            live.wait_for_selector("#status:has-text('live')")
            assert live.locator("#dataplane-section").is_visible()
            assert len(sim.log) == 0  # the page asks for no /favicon.ico: nothing of its own lands in the log
            shop = context.new_page()
            use_the_shop(shop, site, server.url, WK)
            deadline = time.monotonic() + 20
            while len(server.rudder.jobs) < 4 and time.monotonic() < deadline:
                time.sleep(0.05)
            live.bring_to_front()
            live.wait_for_selector("#events tbody tr:has-text('Order Completed')")
            live.wait_for_selector("#findings tbody tr:has-text('integrations')")
            live.wait_for_selector("#dataplane tbody tr:has-text('processor: integrations')")
            live.wait_for_selector("#dataplane-summary:has-text('1 dropped at processor')")  # counts come a poll later
            status = live.locator("#status").inner_text()
            findings = live.locator("#findings tbody tr").all_inner_texts()
            requests_shown = live.locator("#dataplane tbody tr").all_inner_texts()
            summary = live.locator("#dataplane-summary").inner_text()
        finally:
            context.close()
        assert server.errors == []
    assert status.startswith("live")
    (finding,) = findings
    assert finding.startswith("dataplane") and "Coupon Applied" in finding and "'MP' does not address Mixpanel" in finding
    assert 'Address Mixpanel as "Mixpanel"' in finding
    assert requests_shown[0].startswith(str(len(sim.log)))  # newest first
    assert any("processor: integrations" in row for row in requests_shown)
    assert any("passed, on to Mixpanel" in row for row in requests_shown)
    assert all(WK not in row for row in requests_shown)
    assert "4 events" in summary and "3 delivered" in summary and "1 dropped at processor" in summary
    assert sim.summary()["events"] == 3


@pytest.mark.parametrize("route", ["/v1/track", "/beacon/v1/batch", "/pixel/v1/track"])
def test_every_door_of_the_gateway_reports_into_the_log(route):
    dp = plane()
    if route == "/pixel/v1/track":
        from mpsim.mixpanel.wire import WireRequest

        dp.handle(WireRequest("GET", f"http://127.0.0.1{route}?writeKey=WRONG&anonymousId=p1&event=E", {}))
    elif route == "/beacon/v1/batch":
        post(dp, f"{route}?writeKey=WRONG", {"batch": [event(anonymousId="p1")]}, key=None)
    else:
        post(dp, route, event(anonymousId="p1"), key="WRONG")
    (entry,) = dp.sim.log
    assert "WRONG" not in entry.request["url"] and entry.request["write_key"] == "W… (5 characters)"
    assert [r.note.split(" (")[0] for r in entry.records] == ["RudderStack gateway: write key"]
    assert "at the RudderStack gateway" in str(dp.sim.explain("p1"))


@pytest.mark.parametrize("path, why", [("/v1/webhook", "webhook sources are not simulated"),
                                       ("/v1/v1/batch", "not a data-plane route"),
                                       ("/beacon/v1/track", "not a data-plane route")])
def test_paths_the_gateway_does_not_serve_get_the_routers_404_and_a_drop(path, why):
    dp = plane()
    reply = post(dp, path, {"batch": [event(anonymousId="lost-1"), event(anonymousId="lost-2")]})
    assert (reply.status, reply.body, reply.content_type) == (404, "404 page not found\n", "text/plain; charset=utf-8")
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    (drop,) = dp.drops
    assert (drop.gate, drop.reason, drop.status) == ("gateway", "route", 404) and why in drop.detail
    assert dp.sim.dropped() == {"RudderStack gateway: route (a path the gateway does not serve)": 2}
    assert "answered 404: route" in str(dp.sim.explain("lost-2"))
    assert _mixpanel_requests(dp.sim) == []


def test_without_a_data_plane_v1_paths_stay_mixpanels():
    sim = mpsim.Simulator(token="T")
    with mpsim.serve(sim) as server:
        reply = requests.post(f"{server.url}/v1/webhook", json={}, timeout=10)
    assert reply.status_code == 404 and reply.headers["content-type"] == "application/json"


def _mixpanel_requests(sim):
    return [x for x in sim.log if not x.request.get("door")]


_ids = st.sampled_from(["", "  ", "a1", "u1", "\u200b", None, 7])
_events = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["track", "identify", "page", "merge", "Track", None]),
                           "event": st.sampled_from(["E", ""]), "anonymousId": _ids, "userId": _ids,
                           "messageId": st.sampled_from(["m1", "m2", None, 5])},
                          optional={"integrations": st.sampled_from([None, {"All": False}, {"MP": True, "All": False},
                                                                     {"Mixpanel": True}, "all"])}),
    st.sampled_from(["text", 3, None, []]))


@given(st.lists(st.lists(_events, max_size=4), min_size=1, max_size=4),
       st.sampled_from(["/v1/batch", "/v1/track", "/v1/import", "/v1/nowhere"]))
@settings(max_examples=60, deadline=None)
def test_every_event_the_data_plane_drops_is_in_the_simulators_views(requests_sent, path):
    dp = plane()
    for batch in requests_sent:
        post(dp, path, batch[0] if path == "/v1/track" and batch else {"batch": batch})
    sim = dp.sim
    rudder = [x for x in sim.log if x.request.get("door")]
    assert len([x for x in rudder if x.request["endpoint"] != "routerTransform"]) == len(dp.log)  # one per request
    dropped_records = [r for x in rudder for r in x.records if not r.stored]
    assert sum(n for k, n in sim.dropped().items() if k.startswith("RudderStack ")) == len(dropped_records)
    assert all(r.note.startswith("RudderStack ") and r.message for r in dropped_records)
    assert len([f for f in control_findings(sim) if f["kind"] == "dataplane"]) == len(
        [d for d in dp.drops if d.gate != "mixpanel"])
    for fate in (f for exchange in dp.log for f in exchange.fates):
        drop = fate.drop or (dp.jobs[fate.job - 1].drop if fate.job else None)
        for distinct_id in {fate.anonymous_id, fate.user_id} - {""}:
            told = sim.explain(distinct_id).data["dropped_before_mixpanel"]
            assert (drop is not None and drop.gate != "mixpanel") <= bool(told)  # a dropped event is told about


def test_a_saved_state_keeps_the_data_planes_log_entries_and_drop_counts():
    dp = plane()
    post(dp, "/v1/track", event(integrations={"MP": True, "All": False}))
    post(dp, "/v1/track", event(userId="u1"))
    back = mpsim.Simulator.from_snapshot(json.loads(dp.sim.snapshot().to_json()))
    assert back.dropped() == dp.sim.dropped() == {
        "RudderStack processor: integrations (the event's integrations object leaves Mixpanel out)": 1}
    assert [x.request.get("door") for x in back.log] == ["rudderstack", "rudderstack", None]


def test_live_page_data_plane_table_grows_with_the_page_instead_of_scrolling_inside(browser):
    dp = plane()
    for i in range(40):
        post(dp, "/v1/track", event(messageId=f"m-{i}"), key="WRONG" if i % 2 else WK)
    with mpsim.serve(dp.sim, rudder=dp) as server:
        context = browser.new_context(viewport={"width": 1200, "height": 700})
        try:
            live = context.new_page()
            live.goto(f"{server.url}/_mpsim/")
            live.wait_for_selector("#dataplane tbody tr >> nth=39")
            box = live.locator("#dataplane").locator("xpath=..")
            inner = box.evaluate("b => [b.scrollHeight, b.clientHeight, getComputedStyle(b).overflowY]")
            assert inner[0] <= inner[1] + 1 and inner[2] == "visible", inner  # no inner scroll box
            assert live.evaluate("document.documentElement.scrollHeight") > 700  # the page grew instead
        finally:
            context.close()
