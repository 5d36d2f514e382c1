"""The live page at /_mpsim/ in a real browser (headless Chromium): events appear as they arrive."""

from __future__ import annotations

import json

import pytest

import mpsim
from tests.mixpanel.helpers import NOW, NOW_S, UUID, event, post


@pytest.fixture
def live_page(browser):
    sim = mpsim.Simulator(token="tok", now=NOW)
    with mpsim.serve(sim) as server:
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{server.url}/_mpsim/")
        page.wait_for_selector("#status:has-text('live')")
        yield sim, page
        context.close()
        assert server.errors == []


def rows(page, table: str) -> list[str]:
    return page.locator(f"#{table} tbody tr").all_inner_texts()


def test_events_users_profiles_and_findings_appear_live(live_page):
    sim, page = live_page
    assert "nothing yet" in rows(page, "events")[0]
    post(sim, "track", [event("Viewed Pricing", distinct_id=UUID, insert_id="v-1")])
    page.wait_for_selector("#events tbody tr:has-text('Viewed Pricing')")
    post(sim, "track", [{"event": "$identify", "properties": {"token": "tok", "time": NOW_S, "$anon_id": UUID,
                                                               "$identified_id": "u1"}},
                        event("", insert_id="broken")])
    post(sim, "engage", {"$token": "tok", "$distinct_id": "u1", "$set": {"plan": "pro"}})
    page.wait_for_selector("#events tbody tr:has-text('$identify')")
    page.wait_for_selector("#profiles tbody tr:has-text('pro')")
    page.wait_for_selector("#findings tbody tr:has-text('rejected')")
    events = rows(page, "events")
    assert events[0].split("\t")[2] == "$identify" and events[1].split("\t")[2] == "Viewed Pricing"  # newest first
    assert all("\tu1\t" in row for row in events)  # the anonymous event now shows under the user
    users = rows(page, "users")
    assert len(users) == 1 and users[0].startswith("u1") and UUID in users[0]
    assert "must be a non-empty string" in rows(page, "findings")[0]
    counts = page.locator("#counts").inner_text()
    assert "2\nevents" in counts and "1\nprofiles" in counts


def test_data_is_shown_as_text_never_as_html(live_page):
    sim, page = live_page
    post(sim, "track", [event("<img src=x onerror=window.pwned=1>", insert_id="x-1")])
    page.wait_for_selector("#events tbody tr:has-text('onerror')")
    assert page.evaluate("window.pwned === undefined")
    assert page.locator("#events img").count() == 0


def test_reset_button_and_outside_resets(live_page):
    sim, page = live_page
    post(sim, "track", [event("One", insert_id="o-1")])
    page.wait_for_selector("#events tbody tr:has-text('One')")
    page.click("#reset")
    page.wait_for_selector("#events tbody tr:has-text('nothing yet')")
    assert sim.summary()["events"] == 0
    post(sim, "track", [event("Two", insert_id="t-1")])
    page.wait_for_selector("#events tbody tr:has-text('Two')")
    sim.reset()  # someone else resets: the page notices and starts over
    post(sim, "track", [event("Three", insert_id="r-1")])
    page.wait_for_selector("#events tbody tr:has-text('Three')")
    assert not any("Two" in row for row in rows(page, "events")), json.dumps(rows(page, "events"))
