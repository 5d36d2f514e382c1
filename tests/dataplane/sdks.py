"""Where RudderStack's JavaScript SDKs are: ``tests/rudder_sdks`` (installed by ``.ci/setup.d/npm-rudder.sh``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

SDK_DIR = Path(__file__).resolve().parent.parent / "rudder_sdks"
NODE_MODULES = SDK_DIR / "node_modules"
JS_SDK = NODE_MODULES / "@rudderstack" / "analytics-js" / "dist" / "npm" / "modern" / "bundled" / "esm" / "index.mjs"
NODE_SDK = NODE_MODULES / "@rudderstack" / "rudder-sdk-node"


def need_node_sdk() -> str:
    """The node executable, or skip saying what is missing."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (apt-get install nodejs npm)")
    if not NODE_SDK.exists():
        pytest.skip("@rudderstack/rudder-sdk-node is not installed (cd tests/rudder_sdks && npm ci)")
    return node


def need_js_sdk() -> Path:
    if not JS_SDK.exists():
        pytest.skip("@rudderstack/analytics-js is not installed (cd tests/rudder_sdks && npm ci)")
    return JS_SDK


@contextmanager
def shop_and_data_plane(sim: Any, destination: Any, write_key: str) -> Iterator[tuple[Any, str]]:
    """``mpsim.serve(sim, rudder=...)`` and the tiny shop page (tests/rudder_sdks/app.html) on another loopback
    origin, for the JS SDK in Chromium; yields the server and the page site's base URL."""
    import mpsim

    from .static import static_site

    need_js_sdk()
    with mpsim.serve(sim, rudder=destination, write_key=write_key) as server, static_site(SDK_DIR) as site:
        yield server, site


def use_the_shop(page: Any, site: str, data_plane_url: str, write_key: str,
                 clicks: tuple[str, ...] = ("#signin", "#buy", "#coupon"), query: str = "") -> None:
    """Open the tiny shop with the JS SDK pointed at ``data_plane_url``, wait for the SDK, click through it
    ("Sign in", "Buy", "Apply coupon" with Mixpanel addressed as "MP")."""
    page.goto(f"{site}/app.html?dp={data_plane_url}&wk={write_key}{query}")
    page.wait_for_selector("body[data-ready='1']", timeout=15000)
    for button in clicks:
        page.click(button)
