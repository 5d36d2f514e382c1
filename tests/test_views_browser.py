"""A wide mpsim table in a real browser keeps a visible horizontal scrollbar (issue 11 item 4).

With overlay scrollbars (macOS, touch screens; here Chromium's mobile emulation) a plain
``overflow-x: auto`` box shows its scrollbar only while scrolling or hovering, so a table wider than
the notebook (the simulator's events at 1100 px) looked clipped. The styled scrollbar takes its own
room below the table and is always drawn.

Playwright starts headless Chromium with ``--hide-scrollbars``; this test starts a second Chromium
from the shared ``browser`` fixture's Playwright without that switch, and closes it.
"""

from __future__ import annotations

from typing import Any

import pytest

import mpsim
from mpsim.samples import sample_session
from tests.browser import CHROMIUM_ARGS, chromium_executable

#: every scroll box of mpsim's tables: does it overflow, how much room its scrollbar takes, its styled height
SCROLLERS_JS = """() => [...document.querySelectorAll('.mpsim-scroll')].map(e => ({
    overflows: e.scrollWidth > e.clientWidth, bar: e.offsetHeight - e.clientHeight,
    styled: getComputedStyle(e, '::-webkit-scrollbar').height}))"""


def _page_html() -> str:
    session = sample_session()
    run = mpsim.replay(session["events"], session["destination"], now=session["now"])
    return "<html><body style='margin:0'><div style='width:900px'>" + run.sim._repr_html_() + "</div></body></html>"


@pytest.fixture(scope="module")
def scrollbar_browser(browser: Any) -> Any:
    visible = browser.browser_type.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS,
                                          ignore_default_args=["--hide-scrollbars"])
    try:
        yield visible
    finally:
        visible.close()


@pytest.mark.parametrize("overlay", [False, True])
def test_a_wide_table_has_a_visible_scrollbar_at_1100_px(scrollbar_browser, overlay):
    context = scrollbar_browser.new_context(viewport={"width": 1100, "height": 900}, is_mobile=overlay)
    try:
        page = context.new_page()
        page.set_content(_page_html())
        wide = [box for box in page.evaluate(SCROLLERS_JS) if box["overflows"]]
        assert wide, "the events table should be wider than 900 px"
        assert all(box["bar"] >= 8 for box in wide), wide  # the scrollbar takes room below the table: it is drawn
    finally:
        context.close()
