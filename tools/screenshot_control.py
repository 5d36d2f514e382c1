"""Photograph the control API's live page (``/_mpsim/``) for the README.

Starts ``mpsim.serve`` on 127.0.0.1, opens the page in Debian's Chromium (Playwright, no browser
download), replays the built-in sample session through RudderStack's transformer into the server
while the page watches, and writes ``docs/control-page.png``::

    python tools/screenshot_control.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mpsim  # noqa: E402
from mpsim.samples import sample_session  # noqa: E402
from tests.browser import CHROMIUM_ARGS, chromium_executable  # noqa: E402

OUT = ROOT / "docs" / "control-page.png"


def main() -> None:
    from playwright.sync_api import sync_playwright

    executable = chromium_executable()
    if executable is None:
        raise SystemExit("no Chromium found: apt-get install chromium (or set MPSIM_CHROMIUM)")
    session = sample_session()
    config = session["destination"].get("Config", session["destination"])
    sim = mpsim.Simulator(token=config.get("token"), now=session["now"])
    with mpsim.serve(sim) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=1,
                                color_scheme="light")
        page.goto(f"{server.url}/_mpsim/")
        page.wait_for_selector("#status:has-text('live')")
        mpsim.replay(session["events"], session["destination"], sim=sim, now=session["now"])
        page.wait_for_function("(n) => document.querySelectorAll('#events tbody tr[data-seq]').length >= n",
                               arg=len(sim.events))
        page.wait_for_timeout(2000)  # let the arrival highlight fade
        page.screenshot(path=str(OUT), full_page=True)
        browser.close()
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
