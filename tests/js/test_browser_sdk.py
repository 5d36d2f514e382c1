"""The official browser SDK (npm ``mixpanel-browser``), unchanged, in headless Chromium against
``mpsim.serve`` on another origin: CORS, its ``$identify`` form and its ``$device:`` ids."""

from __future__ import annotations

import time

import pytest

import mpsim
from tests.js.browser_page import sdk_page

# Calls the SDK and resolves when its callback has the answer of every request.
RUN = """async ({api, calls}) => {
  const mp = window.mixpanel;
  mp.init("tok", {api_host: api, batch_requests: false, persistence: "localStorage", ip: false});
  const answers = [];
  const device = mp.get_distinct_id();
  for (const [method, ...args] of calls) {
    answers.push(await new Promise((resolve) => {
      const path = method.split(".");
      const name = path.pop();
      let target = mp;
      for (const part of path) target = target[part];
      target[name](...args, (response) => resolve(response));
    }));
  }
  return {device, answers, distinct_id: mp.get_distinct_id()};
}"""


def wait_for(condition, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
def page(browser):
    with sdk_page() as url:
        context = browser.new_context()
        tab = context.new_page()
        tab.goto(url)
        tab.wait_for_function("window.mpReady === true")
        yield tab
        context.close()


def test_identify_merges_the_device_with_the_user_across_origins(page):
    sim = mpsim.Simulator(token="tok")
    with mpsim.serve(sim) as server:
        result = page.evaluate(RUN, {"api": server.url, "calls": [
            ["track", "Viewed Pricing", {"plan": "pro"}],
            ["people.set", {"$email": "ada@example.com"}],  # queued until identify, as the SDK does
            ["identify", "u1"],
            ["track", "Purchased", {"amount": 30}],
        ]})
        wait_for(lambda: len(sim.events) == 3)  # the SDK does not await its $identify
    device = result["device"]
    assert device.startswith("$device:")
    assert result["distinct_id"] == "u1"
    assert sim.canonical(device) == "u1"
    assert not sim.refused_merges
    assert sorted(sim.events["event"]) == ["$identify", "Purchased", "Viewed Pricing"]  # $identify is not awaited
    assert set(sim.events["distinct_id"]) == {"u1"}  # the anonymous event now belongs to u1
    props = dict(zip(sim.events["event"], sim.events["properties"], strict=True))
    assert props["$identify"]["$anon_distinct_id"] == device
    assert props["Viewed Pricing"]["mp_lib"] == "web"
    assert sim.profile("u1")["$email"] == "ada@example.com"
    # every answer reached the SDK: the browser let it read them (CORS), and they were successes
    # every answer reached the SDK (the browser let it read them: CORS) and was a success; -1 is the
    # SDK's own "queued until identify" for the anonymous people.set
    assert result["answers"] == [1, -1, 1, 1]


def test_batched_requests_arrive_too(browser):
    sim = mpsim.Simulator(token="tok")
    with sdk_page() as url, mpsim.serve(sim) as server:
        context = browser.new_context()
        tab = context.new_page()
        tab.goto(url)
        tab.wait_for_function("window.mpReady === true")
        tab.evaluate("""(api) => {
          const mp = window.mixpanel;
          mp.init("tok", {api_host: api, batch_flush_interval_ms: 100});
          mp.track("One"); mp.track("Two"); mp.identify("u2"); mp.track("Three");
        }""", server.url)
        wait_for(lambda: len(sim.events) == 4)
        context.close()
    assert sorted(sim.events["event"]) == ["$identify", "One", "Three", "Two"]
    assert set(sim.events["distinct_id"]) == {"u2"}
    assert all(x.status == 200 for x in sim.log)
