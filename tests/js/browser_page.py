"""A page on its own loopback origin that loads mixpanel-browser from node_modules, for the browser tests.

The page and mpsim listen on different origins (``localhost`` vs ``127.0.0.1``), so every request the
SDK makes is cross-origin with credentials, exactly as on a customer's site.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.js.clients import require_package
from tests.loopback import serving

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>mixpanel-browser against mpsim</title></head>
<body><p>mixpanel-browser test page</p>
<script type="module">
import mixpanel from "/mixpanel.module.js";
window.mixpanel = mixpanel;
window.mpReady = true;
</script></body></html>
"""


@contextmanager
def sdk_page() -> Iterator[str]:
    """Serve the test page and the SDK's ES module; yields the page URL (``http://localhost:<port>/``)."""
    sdk = (require_package("mixpanel-browser") / "dist" / "mixpanel.module.js").read_bytes()
    files = {"/": (PAGE.encode(), "text/html"), "/mixpanel.module.js": (sdk, "text/javascript")}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            body, content_type = files.get(self.path.split("?")[0], (b"not found", "text/plain"))
            self.send_response(200 if self.path.split("?")[0] in files else 404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as port:
        yield f"http://localhost:{port}/"
