"""Simulator throughput and memory.

Reports (medians of several runs):
- ``sim.send`` with /import batches of 2,000 events (no HTTP), events/s;
- the local HTTP server with the same batches over real sockets, events/s;
- memory per million stored events (tracemalloc, extrapolated from 100k events).

Run: ``python benchmarks/simulator_bench.py [--batches N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc
from typing import Any

import requests

import mpsim

NOW = "2024-03-02T00:00:00Z"
NOW_S = 1709337600


def batch(start: int, size: int = 2000) -> list[dict[str, Any]]:
    return [{"event": ("Viewed", "Clicked", "Purchased")[i % 3],
             "properties": {"distinct_id": f"user-{i % 5000}", "time": NOW_S - 3600 - i % 86400,
                            "$insert_id": f"ins-{start + i}", "plan": "pro", "price": 9.99,
                            "$current_url": "https://shop.example.com/p/42", "tags": ["a", "b"]}}
            for i in range(start, start + size)]


def as_request(records: list[dict[str, Any]]) -> mpsim.Request:
    return mpsim.Request(path="import", endpoint="https://api.mixpanel.com/import/",
                         headers={"Content-Type": "application/json", "Authorization": "Basic dG9rOg=="},
                         params={"strict": 1}, records=records)


def bench_send(batches: int) -> float:
    requests_ = [as_request(batch(i * 2000)) for i in range(batches)]
    sim = mpsim.Simulator(token="tok", now=NOW)
    start = time.perf_counter()
    for r in requests_:
        assert sim.send(r)[0].ok
    return batches * 2000 / (time.perf_counter() - start)


def bench_server(batches: int) -> float:
    bodies = [as_request(batch(i * 2000)).body_text().encode() for i in range(batches)]
    sim = mpsim.Simulator(token="tok", now=NOW)
    with mpsim.serve(sim) as server, requests.Session() as session:
        start = time.perf_counter()
        for body in bodies:
            reply = session.post(f"{server.url}/import?strict=1", data=body, auth=("tok", ""),
                                 headers={"Content-Type": "application/json"})
            assert reply.status_code == 200, reply.text
        return batches * 2000 / (time.perf_counter() - start)


def memory_per_million(events: int = 100_000) -> float:
    gc.collect()
    sim = mpsim.Simulator(token="tok", now=NOW)
    requests_ = [as_request(batch(i * 2000)) for i in range(events // 2000)]
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for r in requests_:
        sim.send(r)
    sim._state.log.clear()  # the request log is not event state
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return used / events * 1_000_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"/import batches of 2,000 events, {args.batches} batches, median of {args.repeat}")
    send = statistics.median(bench_send(args.batches) for _ in range(args.repeat))
    print(f"sim.send             {send:>10,.0f} events/s")
    server = statistics.median(bench_server(args.batches) for _ in range(args.repeat))
    print(f"HTTP server          {server:>10,.0f} events/s   (ratio to sim.send: {server / send:.2f})")
    print(f"memory               {memory_per_million() / 2**20:>10,.0f} MiB per million stored events")


if __name__ == "__main__":
    main()
