"""Data-plane drops seen from the simulator: its log numbering, reset and load, the control API over HTTP,
and the live page ``/_mpsim/`` in Chromium with RudderStack's JS SDK sending."""

from __future__ import annotations

import time

import pytest
import requests

import mpsim
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
            live.wait_for_selector("#dataplane tbody tr:has-text('/v1/track')")
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
