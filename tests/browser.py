"""A real browser for the tests: Debian's Chromium, driven by Playwright for Python.

Browsers cannot be downloaded here (``playwright install`` fails), so Playwright is pointed at the
system Chromium with ``executable_path``. Where Chromium or Playwright is missing the tests that use
the ``browser`` fixture skip and say which one.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

# Chromium as root in a container, with its background connections off (this machine has no network
# beyond the package registries, and refused connections slow every start).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_executable() -> str | None:
    """The system Chromium: $MPSIM_CHROMIUM, else the first of chromium / chromium-browser on PATH."""
    explicit = os.environ.get("MPSIM_CHROMIUM")
    if explicit:
        return explicit if os.path.exists(explicit) else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium (Playwright ``Browser``), shared by the session and closed at its end."""
    executable = chromium_executable()
    if executable is None:
        pytest.skip("no Chromium found (apt-get install chromium, or set MPSIM_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()
