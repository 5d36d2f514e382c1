"""mpsim's notebook output in a real browser: JupyterLab 4 (from PyPI) driven through Debian's Chromium.

One JupyterLab server and one page for the module. The page runs a notebook that displays every kind
of mpsim output (findings, frames, requests, diffs, simulator, snapshot, replay, comparison,
identity picture, playground) next to a control cell showing the same text without mpsim's wrapper,
and then the repository's quickstart notebook. Asserted: MathJax ran (the control is typeset) but
left every mpsim output alone and ``$first_name`` is visible as text; no cell errors; the playground
renders and a paste → "Transform and send" shows the requests; text contrast ≥ 4.5 in the dark and
the high-contrast themes; no label/input overlap in the settings form at 1100 px. The same server also
serves Notebook 7 (MathJax 3, like JupyterLab) and nbclassic (MathJax 2): the outputs are checked there too.

Skipped with the reason when Chromium, Playwright or JupyterLab is missing (see tests/browser.py).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser_lab import CONTRAST_JS, OVERLAP_JS, Lab, jupyterlab, run_all, write_notebook  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]

CELLS = [
    """import html, mpsim
from IPython.display import HTML, display
from mpsim.notebook import clusters_svg
from mpsim.samples import sample_session
NOW = "2024-03-02T00:00:00Z"
event = {"type": "identify", "userId": "u1", "anonymousId": "a1",
         "traits": {"firstName": "Ada", "$Email": "ada@example.com"}}
findings = mpsim.validate(event, now=NOW)
findings""",
    # the control: the same text without mpsim's wrapper, which MathJax typesets
    "HTML(\"<p class='mathjax-control'>\" + html.escape(str(findings)) + \"</p>\")",
    "findings.to_frame()",
    "old = mpsim.transform(event, {'token': 'T'}, now=NOW)\nnew = mpsim.transform(event, {'token': 'T', "
    "'useNewMapping': True}, now=NOW)\ndisplay(old[0])\nmpsim.diff(old, new)",
    "session = sample_session()\nrun = mpsim.replay(session['events'], session['destination'], "
    "now=session['now'], history=True)\nrun",
    "run.sim.profiles",
    "display(run.sim.snapshot('after'))\nHTML(clusters_svg(run.sim))",
    "mpsim.compare_configs(session['events'], session['destination'], "
    "{**session['destination']['Config'], 'identityMergeApi': 'simplified'}, now=session['now'])",
    "pg = mpsim.playground(now=NOW)\npg",
]

PASTE = json.dumps({"type": "identify", "userId": "u1", "anonymousId": "a1",
                    "context": {"traits": {"firstName": "Ada", "email": "ada@example.com"}}})

NO_MATH_JS = """() => [...document.querySelectorAll('.mpsim-output, .mpsim-frame')]
    .filter(o => o.querySelector('mjx-container, .MathJax, .MathJax_Display, script[type^="math/tex"]'))
    .map(o => o.className + ': ' + o.innerText.slice(0, 80))"""

ERRORS_JS = """() => [...document.querySelectorAll(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], '
    + '.jp-RenderedText[data-mime-type="application/vnd.jupyter.error"]')].map(e => e.innerText.slice(0, 300))"""


def _open(browser: Any, lab: Lab, notebook: str) -> Any:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.set_default_timeout(60_000)
    page.goto(lab.page_url(notebook))
    run_all(page)
    return page


@pytest.fixture(scope="module")
def lab_page(browser: Any, jupyterlab: Lab) -> Iterator[Any]:  # noqa: F811  (the fixture imported above)
    write_notebook(jupyterlab.root / "outputs.ipynb", CELLS)
    page = _open(browser, jupyterlab, "outputs.ipynb")
    # MathJax has run once the control is typeset: only then does "no MathJax in mpsim outputs" mean something
    page.wait_for_selector(".mathjax-control mjx-container", state="attached", timeout=60_000)
    page.wait_for_selector(".mpsim-playground .widget-textarea textarea")
    try:
        yield page
    finally:
        page.close()


def _set_theme(page: Any, theme: str) -> None:
    page.evaluate("(t) => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})", theme)
    page.wait_for_function("(t) => document.body.dataset.jpThemeName === t", arg=theme, timeout=30_000)
    page.wait_for_timeout(500)  # the theme's stylesheet applies


def test_mathjax_leaves_every_mpsim_output_alone(lab_page):
    outputs = lab_page.locator(".mpsim-output, .mpsim-frame")
    assert outputs.count() >= 9
    kinds = set(lab_page.evaluate("() => [...document.querySelectorAll('.mpsim-output')].map(o => o.classList[1])"))
    assert {"mpsim-findings", "mpsim-request", "mpsim-diff", "mpsim-replay", "mpsim-state", "mpsim-clusters",
            "mpsim-comparison"} <= kinds
    assert lab_page.evaluate(NO_MATH_JS) == []
    assert lab_page.locator(".mathjax-control mjx-container").count() >= 1  # the same text, unwrapped, is typeset
    findings = lab_page.locator(".mpsim-findings").first
    assert "$first_name" in findings.inner_text() and "$firstName" in findings.inner_text()
    assert findings.get_by_text("$first_name", exact=False).first.is_visible()
    frame = lab_page.locator(".mpsim-frame").first
    assert "$firstName" in frame.inner_text()


def test_no_cell_errors(lab_page):
    assert lab_page.evaluate(ERRORS_JS) == []


def test_playground_paste_and_send_shows_the_requests(lab_page):
    app = lab_page.locator(".mpsim-playground")
    app.locator(".widget-textarea textarea").first.fill(PASTE)
    app.locator("input[type=text]").first.fill("TOKEN")
    app.get_by_role("button", name="Transform and send").click()
    requests_tab = app.locator(".mpsim-requests")
    requests_tab.get_by_text("/engage", exact=False).first.wait_for(timeout=30_000)
    assert "$first_name" in requests_tab.inner_text() or "$firstName" in requests_tab.inner_text()
    assert "Mixpanel accepted all" in app.locator(".mpsim-status").inner_text()
    app.get_by_role("tab", name="Identity graph").click()
    app.locator("svg.mpsim-clusters").wait_for()
    assert lab_page.evaluate(NO_MATH_JS) == []


def test_settings_form_has_no_overlap_at_1100_px(lab_page):
    lab_page.set_viewport_size({"width": 1100, "height": 900})
    lab_page.locator(".mpsim-form").scroll_into_view_if_needed()
    rows = lab_page.locator(".mpsim-form > .widget-inline-hbox").count()
    assert rows >= 10
    assert lab_page.evaluate(OVERLAP_JS) == []


def test_wide_tables_keep_a_drawn_scrollbar_at_1100_px(lab_page):
    """The replay's events table is wider than the notebook at 1100 px: its scroll box carries mpsim's styled
    scrollbar (always drawn, also where scrollbars are overlays), not one that shows only on hover."""
    from tests.test_views_browser import SCROLLERS_JS

    lab_page.set_viewport_size({"width": 1100, "height": 900})
    wide = [box for box in lab_page.evaluate(SCROLLERS_JS) if box["overflows"]]
    assert wide, "some mpsim table should be wider than the notebook at 1100 px"
    assert all(box["styled"] == "10px" for box in wide), wide


@pytest.mark.parametrize("theme", ["JupyterLab Dark", "JupyterLab Dark High Contrast"])
def test_text_contrast_in_dark_themes(lab_page, theme):
    plugin = {"JupyterLab Dark": "@jupyterlab/theme-dark-extension:plugin",
              "JupyterLab Dark High Contrast": "@jupyterlab/theme-dark-high-contrast-extension:plugin"}[theme]
    if not lab_page.evaluate("(p) => window.jupyterapp.hasPlugin(p)", plugin):
        pytest.skip(f"this JupyterLab has no {theme!r} theme")
    _set_theme(lab_page, theme)
    try:
        results = lab_page.evaluate(CONTRAST_JS, ".mpsim-output")
        assert len(results) > 50
        low = [r for r in results if r["ratio"] < 4.5]
        assert low == [], low[:10]
    finally:
        _set_theme(lab_page, "JupyterLab Light")


def test_the_quickstart_notebook_runs_without_errors_or_maths(browser, jupyterlab):  # noqa: F811
    shutil.copy(ROOT / "notebooks" / "01-quickstart.ipynb", jupyterlab.root / "01-quickstart.ipynb")
    page = _open(browser, jupyterlab, "01-quickstart.ipynb")
    try:
        page.wait_for_selector(".mpsim-playground .widget-textarea textarea")
        assert page.locator(".mpsim-output").count() >= 2
        assert page.evaluate(NO_MATH_JS) == []
        assert page.evaluate(ERRORS_JS) == []
    finally:
        page.close()


# Notebook 7 and nbclassic: the same server, the outputs without the playground ---------------------------
NBCLASSIC_READY = "() => window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected()"
NBCLASSIC_DONE = """() => !Jupyter.notebook.kernel_busy && Jupyter.notebook.get_cells().every(c => c.cell_type !== 'code'
    || (typeof c.input_prompt_number === 'number'))"""


@pytest.mark.parametrize("front_end", ["notebook7", "nbclassic"])
def test_other_front_ends_leave_mpsim_outputs_alone(browser, jupyterlab, front_end):  # noqa: F811
    pytest.importorskip("notebook" if front_end == "notebook7" else "nbclassic")
    name = f"{front_end}.ipynb"
    write_notebook(jupyterlab.root / name, CELLS[:-1])
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.set_default_timeout(60_000)
    try:
        if front_end == "notebook7":
            page.goto(f"{jupyterlab.url}/notebooks/{name}?token={jupyterlab.token}")
            run_all(page)
            page.wait_for_selector(".mathjax-control mjx-container", state="attached")
        else:
            page.goto(f"{jupyterlab.url}/nbclassic/notebooks/{name}?token={jupyterlab.token}")
            page.wait_for_function(NBCLASSIC_READY)
            page.evaluate("() => Jupyter.notebook.execute_all_cells()")
            page.wait_for_function(NBCLASSIC_DONE, timeout=120_000)
            page.wait_for_selector(".mathjax-control .MathJax", state="attached")  # MathJax 2 typeset the control
            errors = page.evaluate("() => [...document.querySelectorAll('.output_error')].map(e => e.innerText)")
            assert errors == []
        assert page.locator(".mpsim-output").count() >= 7
        assert page.evaluate(NO_MATH_JS) == []
        assert page.evaluate(ERRORS_JS) == []
        assert "$first_name" in page.locator(".mpsim-findings").first.inner_text()
    finally:
        page.close()


def test_a_saved_notebook_opened_untrusted_keeps_mpsim_outputs_untyped(browser, jupyterlab):  # noqa: F811
    """Opened from disk without running, a notebook is untrusted: JupyterLab sanitizes its HTML (the style
    blocks go) but keeps the classes, so MathJax still leaves mpsim's outputs alone."""
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    path = jupyterlab.root / "saved.ipynb"
    write_notebook(path, CELLS[:-1])
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    nbformat.write(nb, path)
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.set_default_timeout(60_000)
    try:
        page.goto(jupyterlab.page_url("saved.ipynb"))
        page.wait_for_selector(".mathjax-control mjx-container", state="attached")
        assert page.locator(".mpsim-output style").count() == 0  # untrusted: sanitized
        assert page.locator(".mpsim-output").count() >= 7
        assert page.evaluate(NO_MATH_JS) == []
        assert "$first_name" in page.locator(".mpsim-findings").first.inner_text()
    finally:
        page.close()
