"""The HTTP door: small requests per second on one keep-alive connection, and what TCP_NODELAY buys.

Before ``TCP_NODELAY`` the audit measured ~44 ms per keep-alive request (Nagle's algorithm plus the
client's delayed ACK: ~22 requests/s on one connection). This sends ``--requests`` one-event
``/track`` posts (and ``/_mpsim/health`` reads) over one ``requests.Session``, with the option on
(mpsim's default) and off (the server's socket option patched away), and prints medians of
``--repeat`` runs. Over TLS too with ``--tls``.

Run: ``python benchmarks/server_bench.py [--requests 200] [--repeat 5] [--tls]``.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

import mpsim  # noqa: E402
from mpsim.mixpanel import server as server_module  # noqa: E402


def one_run(n: int, nodelay: bool, tls: bool, path: str) -> float:
    """Requests per second for ``n`` sequential keep-alive requests."""
    original = server_module._Handler.setup

    def setup_without_nodelay(self: object) -> None:
        original(self)  # type: ignore[arg-type]
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)  # type: ignore[attr-defined]

    if not nodelay:
        server_module._Handler.setup = setup_without_nodelay  # type: ignore[method-assign]
    try:
        with mpsim.serve(mpsim.Simulator(token="tok"), tls=tls) as server:
            session = requests.Session()
            verify = server.ca_path or True
            record = {"event": "E", "properties": {"token": "tok", "distinct_id": "u1"}}
            url = f"{server.url}{path}" + (f"?data={quote(json.dumps(record))}" if path == "/track" else "")
            session.get(url, verify=verify)  # connect (and shake hands) outside the timing
            started = time.perf_counter()
            for _ in range(n):
                session.get(url, verify=verify)
            return n / (time.perf_counter() - started)
    finally:
        server_module._Handler.setup = original  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tls", action="store_true", help="over HTTPS (local CA) instead of HTTP")
    args = parser.parse_args()
    print(f"{'path':<16} {'TCP_NODELAY':<12} {'requests/s (median)':>20} {'ms/request':>11}")
    results: dict[tuple[str, bool], float] = {}
    for path in ("/track", "/_mpsim/health"):
        for nodelay in (True, False):
            runs = [one_run(args.requests if nodelay else max(20, args.requests // 10), nodelay, args.tls, path)
                    for _ in range(args.repeat)]
            rate = statistics.median(runs)
            results[(path, nodelay)] = rate
            print(f"{path:<16} {'on' if nodelay else 'off':<12} {rate:>20.0f} {1000 / rate:>11.2f}")
    for path in ("/track", "/_mpsim/health"):
        print(f"{path}: TCP_NODELAY on is {results[(path, True)] / results[(path, False)]:.0f}x the rate with it off")


if __name__ == "__main__":
    main()
