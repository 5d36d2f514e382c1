"""Screenshot for the README: RudderStack's JS SDK on a live page, delivering through mpsim's data plane.

Usage: ``python tools/screenshot_dataplane.py [docs/dataplane.png]`` (needs Chromium at /usr/bin/chromium or
$MPSIM_CHROMIUM, Playwright for Python, and ``npm ci`` in tests/rudder_sdks). It serves the tiny shop page
(tests/rudder_sdks/app.html) on loopback, lets the real SDK sign in and buy through ``mpsim.serve(sim,
rudder=...)``, then adds a panel with what the data plane logged and what Mixpanel holds, and takes the picture.
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


def main(out: str = "docs/dataplane.png") -> None:
    from playwright.sync_api import sync_playwright

    executable = chromium_executable()
    if executable is None:
        raise SystemExit("no Chromium: apt-get install chromium, or set MPSIM_CHROMIUM")
    sim = mpsim.Simulator(token="MY_TOKEN")
    with mpsim.serve(sim, rudder={"token": "MY_TOKEN"}, write_key="WRITE_KEY") as server, \
            static_site(ROOT / "tests" / "rudder_sdks") as site, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(f"{site}/app.html?dp={server.url}&wk=WRITE_KEY")
        page.wait_for_selector("body[data-ready='1']", timeout=15000)
        page.click("#signin")
        page.click("#buy")
        deadline = time.monotonic() + 15
        while len(sim.events) < 3 and time.monotonic() < deadline:
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
        browser.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
