"""Render the real playground widget to docs/playground.png (the README's screenshot).

Needs Debian's ``chromium`` and the npm package ``@jupyter-widgets/html-manager@1`` (for the
page that draws embedded widgets offline)::

    apt-get install chromium && npm install --prefix /tmp/wm @jupyter-widgets/html-manager@1
    python tools/screenshot_playground.py /tmp/wm/node_modules/@jupyter-widgets/html-manager/dist/embed.js
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ipywidgets.embed import embed_minimal_html

import mpsim

ROOT = Path(__file__).resolve().parents[1]


def main(embed_js: str) -> None:
    from mpsim.samples import sample_session

    session = sample_session()
    app = mpsim.playground(config=session["destination"], now=session["now"])
    app.events_input.value = "\n".join(json.dumps(e) for e in session["events"][:4])
    app.send_button.click()
    app.tabs.selected_index = 2  # the state: events, profiles, identities
    with tempfile.TemporaryDirectory() as tmp:
        # Served over http on 127.0.0.1: the embed script is loaded with crossorigin, which file:// refuses.
        shutil.copy(embed_js, Path(tmp) / "embed.js")
        for asset in Path(embed_js).parent.glob("*.*"):
            if asset.suffix in (".woff", ".woff2", ".ttf", ".eot", ".svg"):
                shutil.copy(asset, Path(tmp) / asset.name)
        page = Path(tmp) / "playground.html"
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=tmp))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        embed_minimal_html(page, views=[app], title="mpsim playground", requirejs=False, embed_url=f"{base}/embed.js")
        out = ROOT / "docs" / "playground.png"
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                        "--no-first-run", "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", f"--user-data-dir={tmp}/profile", "--hide-scrollbars",
                        "--window-size=1280,1400", "--virtual-time-budget=5000", f"--screenshot={out}",
                        f"{base}/playground.html"], check=True, capture_output=True, timeout=120)
        server.shutdown()
        print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1])
