"""Servers on 127.0.0.1 for the tests: small web servers for the tests' own pages (the pages that load an SDK
under test), and ``mpsim serve`` run as a subprocess the way a person runs it."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import ThreadingHTTPServer


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[int]:
    """Run ``server`` in a daemon thread for the duration of the block; yields its port, then stops it."""
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class CliServer:
    """A running ``mpsim serve`` subprocess: its URL, and once stopped its exit code and output."""

    proc: subprocess.Popen[str]
    url: str = ""
    returncode: int | None = None
    out: str = ""
    err: str = ""


def _as_from_a_terminal() -> None:
    """Ctrl-C reaches the server as it does from a terminal, even when the tests themselves were started
    with ``&`` from a script (which makes every child ignore SIGINT)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _as_from_a_script() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def cli_server(*args: str, stop_after: float = 30, stop_with: int = signal.SIGINT,
               started_by_a_script: bool = False) -> Iterator[CliServer]:
    """Run ``python -m mpsim.cli serve --port 0 ARGS…`` for the block; stop it with Ctrl-C (SIGINT), as a
    person would (or with ``stop_with``), and read what it printed. ``started_by_a_script`` starts it the way
    ``mpsim serve &`` in a script does: ignoring Ctrl-C. A server that does not stop within ``stop_after``
    seconds (a loaded machine) is killed, so no test leaves a server behind; the test then fails on its
    exit code."""
    proc = subprocess.Popen([sys.executable, "-m", "mpsim.cli", "serve", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_as_from_a_script if started_by_a_script else _as_from_a_terminal)
    server = CliServer(proc)
    first = ""
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "listening on " in first, f"mpsim serve did not start: {first!r}"
        server.url = first.split("listening on ")[1].split(" ")[0]
        yield server
    finally:
        proc.send_signal(stop_with)
        try:
            server.out, server.err = proc.communicate(timeout=stop_after)
        except subprocess.TimeoutExpired:
            proc.kill()
            server.out, server.err = proc.communicate()
        server.out = first + server.out
        server.returncode = proc.returncode
