"""``mpsim.serve``: the simulator behind a real local HTTP server, in a background thread."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .simulator import Simulator
from .wire import Reply, WireRequest

MAX_REQUEST_BYTES = 64 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self.send_error(413, "request body too large")
            return
        body = self.rfile.read(length) if length else b""
        address = self.server.server_address
        host = self.headers.get("Host") or f"{address[0]!s}:{address[1]}"
        headers = dict(self.headers.items())
        if "X-Forwarded-For" not in headers:
            headers["X-Forwarded-For"] = self.client_address[0]
        reply = self.server.answer(WireRequest(self.command, f"http://{host}{self.path}", headers, body))
        data = reply.body.encode("latin-1" if reply.content_type == "image/gif" else "utf-8")
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by default
        if self.server.verbose:
            super().log_message(format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], sim: Simulator, verbose: bool, rudder: Any = None) -> None:
        super().__init__(address, _Handler)
        self.sim = sim
        self.verbose = verbose
        self.rudder = rudder

    def answer(self, request: WireRequest) -> Reply:
        """RudderStack's paths go to the data plane when there is one; everything else to Mixpanel."""
        if self.rudder is not None and self.rudder.owns(request.path):
            return self.rudder.handle(request)  # type: ignore[no-any-return]
        return self.sim.handle(request)


class MixpanelServer:
    """A running local Mixpanel; use as a context manager, or call ``stop()``.

    ``url`` is the base URL; Mixpanel's paths (``/track``, ``/import``, ``/engage``, ``/groups``)
    hang below it. With ``rudder=`` (a Mixpanel destination, or a ``DataPlane``) it is also a
    RudderStack data plane: ``url`` is the SDKs' data plane URL, and ``rudder`` the pipeline.
    """

    def __init__(self, sim: Simulator | None = None, host: str = "127.0.0.1", port: int = 0, *,
                 verbose: bool = False, rudder: Any = None, write_key: Any = None) -> None:
        from ..rudder.dataplane import as_dataplane

        self.sim = sim if sim is not None else Simulator()
        self.rudder = as_dataplane(self.sim, rudder, write_key)
        self._server = _Server((host, port), self.sim, verbose, self.rudder)
        self._thread = threading.Thread(target=self._server.serve_forever, name="mpsim-server", daemon=True)
        self._thread.start()

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def urls(self) -> dict[str, str]:
        """Keyword arguments for the official client: ``Consumer(**server.urls())``."""
        return {"events_url": f"{self.url}/track", "people_url": f"{self.url}/engage",
                "groups_url": f"{self.url}/groups", "import_url": f"{self.url}/import"}

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> MixpanelServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"MixpanelServer({self.url})"


def serve(sim: Simulator | None = None, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False,
          rudder: Any = None, write_key: Any = None) -> MixpanelServer:
    """Start a local HTTP server in a background thread that answers like Mixpanel (port 0 = any free port).

    ``rudder=destination`` (or a ``DataPlane``) also serves RudderStack's data plane on the same
    port, delivering through that Mixpanel destination into ``sim``; ``write_key`` is the source's.
    """
    return MixpanelServer(sim, host, port, verbose=verbose, rudder=rudder, write_key=write_key)
