"""@rudderstack/analytics-js (JS SDK v3), unchanged, in headless Chromium against ``mpsim.serve(sim, rudder=...)``.

The page (tests/rudder_sdks/app.html) is served from another loopback origin than the data plane, so
the SDK's CORS preflights are real. It loads the SDK from node_modules and its source config from the
twin's ``/sourceConfig/``: nothing comes from a CDN.
"""

from __future__ import annotations

import time

import pytest

import mpsim
from mpsim.rudder.dataplane import parse_time

from .helpers import CONFIG
from .sdks import shop_and_data_plane, use_the_shop

WK = "WK_WEB"
NOW = "2024-03-02T10:01:00Z"


def _wait_for(condition, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the SDK's requests")
        time.sleep(0.05)


@pytest.mark.parametrize("mode, paths", [
    ("", {"/v1/page", "/v1/identify", "/v1/track"}),
    ("&batch=1", {"/v1/batch"}),
    ("&beacon=1", {"/beacon/v1/batch"}),
])
def test_browser_sdk_end_to_end(browser, mode, paths):
    sim = mpsim.Simulator(token="T", now=NOW)  # the server's clock; the browser keeps the machine's
    with shop_and_data_plane(sim, CONFIG, WK) as (server, site):
        context = browser.new_context()
        outside: list[str] = []
        page = context.new_page()
        page.on("request", lambda request: None if request.url.startswith("http://127.0.0.1:")
                else outside.append(request.url))
        try:
            use_the_shop(page, site, server.url, WK, ("#signin", "#buy"), mode)
            _wait_for(lambda: sum(e.stored for e in server.rudder.log) >= 3)
        finally:
            context.close()
    plane = server.rudder
    assert outside == []  # no CDN, no network
    config, *sends = plane.log
    assert (config.method, config.path, config.status) == ("GET", "/sourceConfig/", 200)
    assert {e.path for e in sends} == paths
    assert all((e.status, e.answer) == (200, "ok") for e in sends)
    assert plane.drops == [] and plane.summary()["delivered"] == 3
    assert all(e.library == "RudderLabs JavaScript SDK 3.34.1" for e in sends)
    # Mixpanel's state: one user (the anonymous page view merged into the identified user), a profile, events
    assert list(sim.events["event"]) == ["Loaded a Page", "$merge", "Order Completed"]
    assert set(sim.events["distinct_id"]) == {"user-ada"}
    anonymous_id = plane.jobs[0].message["anonymousId"]
    assert sim.canonical(anonymous_id) == "user-ada"
    profile = sim.profile("user-ada")
    assert (profile["$email"], profile["$name"], profile["plan"]) == ("ada@example.com", "Ada Lovelace", "pro")
    order = sim.events.iloc[2]["properties"]
    assert order["revenue"] == 30 and order["currency"] == "EUR" and order["$browser"].startswith("Chrome")
    # skew correction: the browser's clock is years after the server's; the event time is R − (sentAt − OT)
    track = plane.jobs[2].message
    delay = parse_time(track["receivedAt"]) - parse_time(track["timestamp"])
    assert track["receivedAt"] == "2024-03-02T10:01:00.000Z" and 0 <= delay.total_seconds() < 10
    assert not track["originalTimestamp"].startswith("2024")


def test_browser_sdk_with_a_wrong_write_key(browser):
    sim = mpsim.Simulator(token="T")
    with shop_and_data_plane(sim, CONFIG, WK) as (server, site):
        page = browser.new_page()
        try:
            page.goto(f"{site}/app.html?dp={server.url}&wk=WK_TYPO")
            _wait_for(lambda: len(server.rudder.log) >= 1)
            page.click("#buy")
            page.wait_for_timeout(1000)
        finally:
            page.close()
    # the SDK asks for its source config first; an unknown key stops it before any event is sent
    assert [(e.path, e.status) for e in server.rudder.log] == [("/sourceConfig/", 400)]
    assert [(d.gate, d.reason) for d in server.rudder.drops] == [("gateway", "write key")]
    assert "the JS SDK stops here" in server.rudder.drops[0].detail
    assert sim.summary()["events"] == 0
