"""Render the real playground in JupyterLab to the README's screenshots (light and dark theme).

Runs JupyterLab (the ``test`` extra) on 127.0.0.1 in a temporary directory, opens a notebook that
loads the built-in sample session into ``mpsim.playground()`` and sends it, and photographs the
widget with Playwright driving Debian's Chromium (``apt-get install chromium``; no browser download)::

    python tools/screenshot_playground.py            # writes docs/playground.png and docs/playground-dark.png
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import CHROMIUM_ARGS, chromium_executable  # noqa: E402
from tests.browser_lab import run_all, running_jupyterlab, write_notebook  # noqa: E402

CELLS = ["""import mpsim
pg = mpsim.playground()
pg.sample_button.click()
pg.send_button.click()
pg.tabs.selected_index = 2  # the state: events, profiles, identities
pg"""]

SHOTS = {"JupyterLab Light": ROOT / "docs" / "playground.png", "JupyterLab Dark": ROOT / "docs" / "playground-dark.png"}


def main() -> None:
    from playwright.sync_api import sync_playwright

    executable = chromium_executable()
    if executable is None:
        raise SystemExit("no Chromium found: apt-get install chromium (or set MPSIM_CHROMIUM)")
    with tempfile.TemporaryDirectory() as tmp, running_jupyterlab(Path(tmp)) as lab, sync_playwright() as pw:
        write_notebook(lab.root / "playground.ipynb", CELLS)
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 2400}, device_scale_factor=1)
        page.set_default_timeout(60_000)
        page.goto(lab.page_url("playground.ipynb"))
        run_all(page)
        page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
        page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-presentation-mode')")
        page.locator(".mpsim-playground .mpsim-state").wait_for()
        for theme, out in SHOTS.items():
            page.evaluate("(t) => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})", theme)
            page.wait_for_function("(t) => document.body.dataset.jpThemeName === t", arg=theme)
            page.wait_for_timeout(1000)
            page.locator(".mpsim-playground").screenshot(path=str(out))
            print(f"wrote {out.relative_to(ROOT)}")
        browser.close()


if __name__ == "__main__":
    main()
