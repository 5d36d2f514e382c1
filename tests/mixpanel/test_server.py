"""The HTTP door itself: TLS, malformed HTTP, methods, keep-alive, binding (issue 10 items 2 and 4)."""

from __future__ import annotations

import json
import socket
import ssl
import warnings

import pytest
import requests
from mixpanel import Consumer, Mixpanel, MixpanelException

import mpsim
from mpsim.mixpanel.server import InsecureBind, is_loopback
from tests.mixpanel.helpers import NOW, event


def raw_exchange(server: mpsim.MixpanelServer, data: bytes, *, timeout: float = 5) -> bytes:
    """Send raw bytes, read until the server closes or stops sending."""
    with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks):
                    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
                    length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:")]
                    if length and len(body) >= length[0]:
                        break
        except TimeoutError:
            pass
    return b"".join(chunks)


def status_and_json(raw: bytes) -> tuple[int, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


@pytest.fixture
def server():
    with mpsim.serve(mpsim.Simulator(token="tok", now=NOW)) as running:
        yield running
        assert running.errors == []


# ---------------------------------------------------------------- TLS

def test_python_client_retries_over_tls_against_injected_faults():
    sim = mpsim.Simulator(token="tok")
    with mpsim.serve(sim, tls=True) as server:
        assert server.url.startswith("https://") and server.ca_path.endswith("ca.pem")
        sim.fail_next(503, count=2)
        consumer = Consumer(**server.urls(), verify_cert=server.ca_path, retry_backoff_factor=0.01)
        Mixpanel("tok", consumer=consumer).track("u1", "Signed Up")
        assert [x.status for x in sim.log] == [503, 503, 200]
        assert list(sim.events["event"]) == ["Signed Up"]
        sim.fail_next(503, count=10)
        with pytest.raises(MixpanelException):
            Mixpanel("tok", consumer=Consumer(**server.urls(), verify_cert=server.ca_path, retry_limit=1,
                                              retry_backoff_factor=0.01)).track("u1", "Lost")
        ca_path = server.ca_path
    assert not __import__("os").path.exists(ca_path)  # a temporary CA goes away with the server


def test_tls_refuses_clients_that_do_not_trust_the_ca_and_keeps_serving():
    with mpsim.serve(mpsim.Simulator(), tls=True) as server:
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(server.url + "/_mpsim/health", timeout=5)
        with pytest.raises(requests.exceptions.ConnectionError):  # plain HTTP to the TLS port
            requests.get(f"http://127.0.0.1:{server.port}/_mpsim/health", timeout=5)
        assert requests.get(server.url + "/_mpsim/health", verify=server.ca_path, timeout=5).status_code == 200
        assert server.errors == []


def test_tls_dir_keeps_and_reuses_the_ca(tmp_path):
    with mpsim.serve(mpsim.Simulator(), tls_dir=tmp_path) as first:
        ca = (tmp_path / "ca.pem").read_bytes()
        assert first.ca_path == str(tmp_path / "ca.pem")
    with mpsim.serve(mpsim.Simulator(), tls_dir=tmp_path) as second:
        assert (tmp_path / "ca.pem").read_bytes() == ca
        context = ssl.create_default_context(cafile=second.ca_path)
        with socket.create_connection((second.host, second.port)) as sock, \
                context.wrap_socket(sock, server_hostname="api.mixpanel.com") as tls:
            assert tls.version() is not None  # the certificate is valid for Mixpanel's host names too


def test_tls_dir_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ValueError, match="tls_dir must be a folder"):
        mpsim.serve(mpsim.Simulator(), tls_dir=target)


# ---------------------------------------------------------------- malformed HTTP

@pytest.mark.parametrize("header,expected", [
    (b"Content-Length: abc", "Content-Length must be a non-negative integer"),
    (b"Content-Length: -5", "Content-Length must be a non-negative integer"),
    (b"Host: [", "Host header"),
])
def test_malformed_headers_get_a_400_in_json(server, header, expected):
    lines = [b"POST /track HTTP/1.1", header] + ([b"Host: x"] if not header.startswith(b"Host") else [])
    raw = raw_exchange(server, b"\r\n".join(lines) + b"\r\n\r\n")
    status, body = status_and_json(raw)
    assert status == 400 and expected in body["error"]


def test_broken_request_line_gets_a_json_400(server):
    status, body = status_and_json(raw_exchange(server, b"GARBAGE\r\n\r\n"))
    assert status == 400 and body["status"] == 0


def test_chunked_bodies_are_read(server):
    body = json.dumps([event()]).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:])) + b"0\r\n\r\n"
    raw = raw_exchange(server, b"POST /track?verbose=1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                               b"Transfer-Encoding: chunked\r\n\r\n" + chunks)
    assert status_and_json(raw) == (200, {"status": 1, "error": None})
    assert len(server.sim.events) == 1


def test_requests_streams_a_generator_body_chunked(server):
    body = json.dumps([event()]).encode()
    reply = requests.post(server.url + "/track?verbose=1", data=iter([body[:5], body[5:]]),
                          headers={"Content-Type": "application/json"}, timeout=5)
    assert reply.json() == {"status": 1, "error": None}


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "HEAD", "TRACE"])
def test_other_methods_get_405_with_allow(server, method):
    reply = requests.request(method, server.url + "/track", timeout=5)
    assert reply.status_code == 405 and reply.headers["Allow"] == "GET, POST, OPTIONS"
    if method != "HEAD":
        assert reply.json()["status"] == 0


def test_preflight_over_http(server):
    reply = requests.options(server.url + "/engage/", headers={"Origin": "https://a.example"}, timeout=5)
    assert reply.status_code == 204 and reply.headers["Access-Control-Allow-Origin"] == "https://a.example"


def test_connections_set_tcp_nodelay(server, monkeypatch):
    """Without it, Nagle + delayed ACK cost ~40 ms per keep-alive request (benchmarks/server_bench.py)."""
    from mpsim.mixpanel.server import _Handler

    seen = []
    original = _Handler.setup

    def setup(self):
        original(self)
        seen.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    monkeypatch.setattr(_Handler, "setup", setup)
    requests.get(server.url + "/_mpsim/health", timeout=5)
    assert seen and all(seen)


def test_idle_connections_are_closed(monkeypatch):
    monkeypatch.setattr("mpsim.mixpanel.server._Handler.timeout", 0.3)
    with mpsim.serve(mpsim.Simulator()) as server, socket.create_connection((server.host, server.port)) as sock:
        sock.settimeout(5)
        assert sock.recv(10) == b""  # closed by the server, not by us


# ---------------------------------------------------------------- binding

def test_binding_beyond_loopback_without_a_token_is_refused():
    with pytest.raises(InsecureBind, match="--insecure"):
        mpsim.serve(mpsim.Simulator(), host="0.0.0.0")


def test_binding_beyond_loopback_warns_loudly(capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with mpsim.serve(mpsim.Simulator(), host="0.0.0.0", insecure=True):
            pass
    assert any("beyond this machine" in str(w.message) for w in caught)
    assert "WARNING" in capsys.readouterr().err


@pytest.mark.parametrize("host,loopback", [("127.0.0.1", True), ("::1", True), ("localhost", True),
                                           ("0.0.0.0", False), ("", False), ("10.0.0.5", False)])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_serve_rejects_bad_arguments_by_name():
    with pytest.raises(ValueError, match="port"):
        mpsim.serve(port=70000)
    with pytest.raises(TypeError, match="sim"):
        mpsim.serve("not a simulator")  # type: ignore[arg-type]


def test_a_client_that_stops_sending_its_body_is_let_go_quietly(monkeypatch, capsys):
    monkeypatch.setattr("mpsim.mixpanel.server._Handler.timeout", 0.3)
    with mpsim.serve(mpsim.Simulator()) as server:
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            sock.sendall(b"POST /track HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"event\"")
            assert sock.recv(100) == b""  # closed after the idle timeout, no answer owed
        with socket.create_connection((server.host, server.port), timeout=5) as sock:  # reset mid-answer
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.sendall(b"GET /_mpsim/health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert requests.get(server.url + "/_mpsim/health", timeout=5).status_code == 200
        assert server.errors == []
    assert "Traceback" not in capsys.readouterr().err
