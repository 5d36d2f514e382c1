"""Screenshots for the README: RudderStack's JS SDK on a live page, delivering through mpsim's data plane.

Usage: ``python tools/screenshot_dataplane.py [docs/dataplane.png [docs/dataplane-live.png]]`` (needs Chromium
at /usr/bin/chromium or $MPSIM_CHROMIUM, Playwright for Python, and ``npm ci`` in tests/rudder_sdks). It serves
the tiny shop page (tests/rudder_sdks/app.html) on loopback and opens mpsim's live page ``/_mpsim/`` next to
it; the real SDK signs in, buys and applies a coupon addressed to ``"MP"`` (dropped by the data plane)
through ``mpsim.serve(sim, rudder=...)``. Two pictures: the shop with a panel of what the data plane logged
and what Mixpanel holds, and the live page once it shows all of it.
"""

from __future__ import annotations

import html
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mpsim  # noqa: E402
from tests.browser import CHROMIUM_ARGS, chromium_executable  # noqa: E402
from tests.dataplane.sdks import use_the_shop  # noqa: E402
from tests.dataplane.static import static_site  # noqa: E402


def _panel(server: mpsim.MixpanelServer) -> str:
    sim, plane = server.sim, server.rudder
    log = "".join(f"<li><code>{html.escape(line)}</code></li>" for line in plane.lines())
    events = sim.events[["event", "distinct_id"]].to_html(index=False)
    profile = {k: v for k, v in sim.profile("user-ada").items() if not k.startswith("$last")}
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>" for k, v in profile.items())
    return (f"<h3>mpsim: the data plane's log</h3><ul>{log}</ul>"
            f"<h3>what Mixpanel holds: {html.escape(str(sim.summary()))}</h3>{events}"
            f"<h4>profile user-ada</h4><table>{rows}</table>")


def main(out: str = "docs/dataplane.png", live_out: str = "docs/dataplane-live.png") -> None:
    from playwright.sync_api import sync_playwright

    executable = chromium_executable()
    if executable is None:
        raise SystemExit("no Chromium: apt-get install chromium, or set MPSIM_CHROMIUM")
    sim = mpsim.Simulator(token="MY_TOKEN")
    with mpsim.serve(sim, rudder={"token": "MY_TOKEN"}, write_key="WRITE_KEY") as server, \
            static_site(ROOT / "tests" / "rudder_sdks") as site, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        live = browser.new_page(viewport={"width": 1280, "height": 900}, color_scheme="light")
        live.goto(f"{server.url}/_mpsim/")
        live.wait_for_selector("#status:has-text('live')")  # the page has polled the control API once
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        use_the_shop(page, site, server.url, "WRITE_KEY")  # sign in, buy, apply a coupon addressed to "MP"
        deadline = time.monotonic() + 15
        while (len(sim.events) < 3 or len(server.rudder.jobs) < 4) and time.monotonic() < deadline:
            time.sleep(0.05)
        panel = _panel(server)
        page.evaluate("""html => {
            const aside = document.createElement('aside');
            aside.innerHTML = html;
            aside.style.cssText = 'border-top: 3px solid #7856ff; margin-top: 1.5rem; padding-top: .5rem; font-size: .85rem';
            aside.querySelectorAll('table').forEach(t => { t.style.borderCollapse = 'collapse'; });
            aside.querySelectorAll('td, th').forEach(c => { c.style.cssText = 'border: 1px solid #ddd; padding: 2px 8px'; });
            document.body.appendChild(aside);
        }""", panel)
        page.screenshot(path=str(ROOT / out), full_page=True)
        live.bring_to_front()
        live.wait_for_selector("#events tbody tr:has-text('Order Completed')")
        live.wait_for_selector("#findings tbody tr:has-text('integrations')")
        live.wait_for_function("n => document.querySelectorAll('#dataplane tbody tr').length >= n",
                               arg=len(server.rudder.log))
        live.wait_for_timeout(2000)  # let the arrival highlight fade
        live.screenshot(path=str(ROOT / live_out), full_page=True)
        browser.close()
    print(f"wrote {out} and {live_out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
