"""``mpsim.serve``: the simulator behind a real local HTTP server, in a background thread.

The server only reads HTTP (lengths, chunks, the Host header) and writes the answer; what the
answer is comes from the door router (``doors.Router``: control API, CORS, Mixpanel ingestion).
Malformed HTTP gets a 400 in JSON, never a dropped connection; an unexpected error in a handler gets
a 500 in JSON (and is kept in ``server.errors``), never a dead thread.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import sys
import threading
import traceback
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ..errors import MpsimError
from .doors import Router
from .simulator import Simulator
from .tls import LocalTLS, local_tls
from .wire import Reply, WireRequest

MAX_REQUEST_BYTES = 64 * 1024 * 1024
#: Seconds a keep-alive connection may sit idle before the server closes it (frees its thread).
IDLE_TIMEOUT = 30.0
#: ``host[:port]`` as a Host header may carry it (a name, IPv4, or a bracketed IPv6 literal).
_HOST_HEADER = re.compile(r"^(?:[A-Za-z0-9_.~-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "CONNECT")


class BadRequest(Exception):
    """The HTTP framing itself is broken (length, chunks, Host): answered 400."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT

    def setup(self) -> None:
        super().setup()
        # One request per round trip: without this, Nagle + delayed ACK cost ~40 ms per keep-alive request.
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        raw = self.headers.get("Content-Length")
        if raw is None or raw.strip() == "":
            return b""
        if not raw.strip().isdigit():
            raise BadRequest(f"Content-Length must be a non-negative integer, not {raw!r}")
        length = int(raw)
        if length > MAX_REQUEST_BYTES:
            raise BadRequest(f"request body of {length} bytes is over the limit of {MAX_REQUEST_BYTES}")
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024).strip()
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise BadRequest(f"bad chunk size {size_text[:20]!r} in a chunked body") from None
            if size < 0:
                raise BadRequest("negative chunk size in a chunked body")
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_REQUEST_BYTES:
                raise BadRequest(f"chunked body is over the limit of {MAX_REQUEST_BYTES} bytes")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)  # the CRLF after the chunk

    def _url(self) -> str:
        host = self.headers.get("Host")
        if host is None:
            address = self.server.server_address
            host = f"{address[0]!s}:{address[1]}"
        elif not _HOST_HEADER.match(host.strip()):
            raise BadRequest(f"Host header {host[:100]!r} is not a host name or address")
        path = self.path if self.path.startswith("/") else "/" + self.path
        return f"{self.server.scheme}://{host.strip()}{path}"

    def _serve(self) -> None:
        try:
            body = self._read_body()
            request = WireRequest(self.command, self._url(), dict(self.headers.items()), body)
        except OSError:  # a client that stopped sending its body (timeout) or went away: let it go
            self.close_connection = True
            return
        except (BadRequest, ValueError) as exc:
            self.close_connection = True
            try:
                self._write(Reply.of_json(400, {"error": str(exc), "status": 0}))
            except OSError:
                pass
            return
        if "x-forwarded-for" not in request.headers:
            request.headers["x-forwarded-for"] = self.client_address[0]
        try:
            reply = self.server.router.handle(request)
        except Exception as exc:  # a bug in mpsim: answer, keep it, keep serving
            self.server.errors.append("".join(traceback.format_exception(exc)))
            reply = Reply.of_json(500, {"error": f"mpsim internal error: {type(exc).__name__}: {exc}", "status": 0})
        try:
            self._write(reply)
        except OSError:  # the client went away before reading its answer
            self.close_connection = True

    def _write(self, reply: Reply) -> None:
        data = reply.body.encode("latin-1" if reply.content_type == "image/gif" else "utf-8")
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and reply.status not in (204, 304):
            self.wfile.write(data)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (bad request line, oversized headers) in JSON, like every other answer."""
        self.close_connection = True
        if not getattr(self, "command", None):
            self.command = "GET"
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = self.protocol_version  # answer with a status line and headers anyway
        try:
            self._write(Reply.of_json(code, {"error": message or explain or "bad request", "status": 0}))
        except OSError:
            pass

    def __getattr__(self, name: str) -> Any:
        """Any other method (``do_FOO``) reaches the router too, which answers 405 with ``Allow``."""
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by default
        if self.server.verbose:
            super().log_message(format, *args)


for _method in _METHODS:
    setattr(_Handler, f"do_{_method}", _Handler._serve)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    scheme = "http"

    def __init__(self, address: tuple[str, int], router: Router, verbose: bool,
                 tls: ssl.SSLContext | None = None) -> None:
        super().__init__(address, _Handler)
        self.router = router
        self.sim = router.sim
        self.verbose = verbose
        self.errors: list[str] = []
        self.tls = tls
        self.scheme = "https" if tls is not None else "http"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connection trouble (resets, timeouts) is the client's business; anything else is kept, not printed."""
        kind = sys.exc_info()[0]
        if kind is not None and issubclass(kind, OSError):
            return
        self.errors.append(traceback.format_exc())

    def finish_request(self, request: Any, client_address: Any) -> None:
        """With TLS, shake hands in the connection's own thread (a slow client never blocks accept)."""
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(IDLE_TIMEOUT)
        try:
            secure = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a client that does not trust the CA, or speaks plain HTTP: nothing to answer
        try:
            super().finish_request(secure, client_address)
        finally:
            secure.close()


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server reachable from this machine only.

    A name counts when every address it resolves to is loopback; a name that does not resolve is
    left to the bind to refuse (with its own clear error).
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if not host:
        return False
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        return True  # unknown: the bind fails on it anyway
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


class InsecureBind(MpsimError, ValueError):
    """Refusal to serve an unauthenticated Mixpanel beyond loopback."""


def check_bind(host: str, sim: Simulator, insecure: bool) -> None:
    """Refuse (or, with ``insecure``, loudly warn about) a server other machines can reach.

    A simulator without a token accepts anything on every endpoint, /import included; beyond
    loopback that is an open write API. With a token it is still plain data anyone can read.
    """
    if is_loopback(host):
        return
    if sim.token is None and not insecure:
        raise InsecureBind(f"refusing to bind {host!r} (reachable from other machines) with no token: anyone "
                           "could write to this simulator. Give Simulator(token=...) / --token, or pass "
                           "insecure=True / --insecure to do it anyway.")
    message = (f"mpsim is serving on {host!r}, reachable beyond this machine"
               + ("" if sim.token is not None else " and accepting any token, /import without credentials")
               + "; the control API /_mpsim/ can read and reset it.")
    warnings.warn(message, RuntimeWarning, stacklevel=3)
    print(f"WARNING: {message}", file=sys.stderr)


class MixpanelServer:
    """A running local Mixpanel; use as a context manager, or call ``stop()``.

    ``url`` is the base URL; Mixpanel's paths (``/track``, ``/import``, ``/engage``, ``/groups``)
    hang below it, the control API below ``/_mpsim/``. With ``rudder=`` (a Mixpanel destination, or
    a ``DataPlane``) it is also a RudderStack data plane: ``url`` is the SDKs' data plane URL, and
    ``rudder`` the pipeline. ``router`` takes further routes.
    """

    def __init__(self, sim: Simulator | None = None, host: str = "127.0.0.1", port: int = 0, *,
                 verbose: bool = False, insecure: bool = False, tls: bool = False,
                 tls_dir: str | Path | None = None, rudder: Any = None, write_key: Any = None) -> None:
        from ..rudder.dataplane import as_dataplane

        if sim is not None and not isinstance(sim, Simulator):
            raise TypeError(f"sim must be an mpsim.Simulator or None, not {type(sim).__name__}")
        if not isinstance(host, str):
            raise TypeError(f"host must be a string, not {type(host).__name__}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an integer from 0 to 65535, not {port!r}")
        self.sim = sim if sim is not None else Simulator()
        check_bind(host, self.sim, insecure)
        self.rudder = as_dataplane(self.sim, rudder, write_key)
        self.router = Router.for_simulator(self.sim, self.rudder)
        self.tls: LocalTLS | None = local_tls(tls_dir) if tls or tls_dir is not None else None
        try:
            self._server = _Server((host, port), self.router, verbose, self.tls.context if self.tls else None)
        except BaseException:
            if self.tls is not None:
                self.tls.cleanup()
            raise
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
        return f"{self._server.scheme}://{self.host}:{self.port}"

    @property
    def ca_path(self) -> str | None:
        """With TLS: the file of the local CA that signed the server's certificate (trust it in clients)."""
        return str(self.tls.ca_path) if self.tls is not None else None

    @property
    def errors(self) -> list[str]:
        """Tracebacks of unexpected errors answered with 500 (empty unless mpsim has a bug)."""
        return list(self._server.errors)

    def urls(self) -> dict[str, str]:
        """Keyword arguments for the official client: ``Consumer(**server.urls())``."""
        return {"events_url": f"{self.url}/track", "people_url": f"{self.url}/engage",
                "groups_url": f"{self.url}/groups", "import_url": f"{self.url}/import"}

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        if self.tls is not None:
            self.tls.cleanup()

    def __enter__(self) -> MixpanelServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"MixpanelServer({self.url})"


def serve(sim: Simulator | None = None, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False,
          insecure: bool = False, tls: bool = False, tls_dir: str | Path | None = None, rudder: Any = None,
          write_key: Any = None) -> MixpanelServer:
    """Start a local HTTP server in a background thread that answers like Mixpanel (port 0 = any free port).

    ``tls=True`` serves HTTPS with a certificate from a local CA (``server.ca_path``; kept in
    ``tls_dir`` when given). Binding beyond loopback needs a token on the simulator, or
    ``insecure=True`` (warned about loudly). ``rudder=destination`` (or a ``DataPlane``) also serves
    RudderStack's data plane on the same port, delivering through that Mixpanel destination into
    ``sim``; ``write_key`` is the source's.
    """
    return MixpanelServer(sim, host, port, verbose=verbose, insecure=insecure, tls=tls, tls_dir=tls_dir,
                          rudder=rudder, write_key=write_key)
