"""Simulator throughput and memory.

The main table: ``mpsim.replay`` of N RudderStack events (a synthetic web session mix: pages,
identifies and tracks of many users, made by a generator so the input itself is not held in memory)
at 10k, 100k and 1M events, with wall time, events/s and peak RSS. Each run is its own subprocess,
so its peak RSS is its own (``ru_maxrss`` of a fresh interpreter, which includes Python and pandas
imports, ~100 MB). Figures are medians of ``--repeat`` runs.

``--doors`` also measures ``sim.send`` with /import batches of 2,000 events (no HTTP) and the local
HTTP server with the same batches, events/s. ``--profile N`` prints a cProfile of one N-event replay.

Replays past 10,000 events (the kept steps) transform in a worker process (``replay(workers=None)``), which
also reads a share of the requests ahead (``--read-share``, default ``mpsim.transform_pool.READ_SHARE``);
``--workers 0`` measures the in-process replay. CPU time counts both processes.

Run: ``python benchmarks/simulator_bench.py [--sizes 10000 100000 1000000] [--repeat 3] [--workers N] [--doors]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

NOW = "2024-03-05T00:00:00Z"
NOW_S = 1709337600
START_MS = 1709280000000  # 2024-03-01T08:00:00Z
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36"
PAGES = ["Home", "Pricing", "Docs", "Blog", "Checkout"]
DESTINATION = {"token": "tok", "identityMergeApi": "original"}


def iso(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def session_events(n: int) -> Iterator[dict[str, Any]]:
    """``n`` RudderStack events: per user 4 pages, an identify with traits and 3 purchases (8 events)."""
    for i in range(n):
        user = i // 8
        anon = f"{user:08x}-0000-4000-8000-{user:012x}"
        context = {"ip": f"203.0.113.{user % 250}", "userAgent": UA,
                   "library": {"name": "RudderLabs JavaScript SDK", "version": "3.0.1"}}
        base = {"anonymousId": anon, "channel": "web", "messageId": f"m-{i}", "timestamp": iso(START_MS + i * 10),
                "context": context}
        kind = i % 8
        if kind < 4:
            page = PAGES[i % 5]
            yield {"type": "page", "name": page, "properties": {"path": "/" + page.lower()}, **base}
        elif kind == 4:
            traits = {"email": f"user-{user}@example.com", "plan": "free", "firstName": "Ada"}
            yield {"type": "identify", "userId": f"user-{user}", **base, "context": {**context, "traits": traits}}
        else:
            yield {"type": "track", "event": "Order Completed", "userId": f"user-{user}", **base,
                   "properties": {"order_id": f"o-{i}", "revenue": 9.5, "currency": "EUR",
                                  "products": [{"sku": "sku-1", "name": "Socks", "price": 9.5}]}}


def replay_once(n: int, workers: int | None = None) -> dict[str, Any]:
    """One replay of ``n`` events in this process: wall time, events/s, peak RSS and what the project holds.

    CPU time and peak RSS include the replay's worker process (``replay(workers=)``): the peak is this
    process's plus the worker's (both peaks, added: an upper bound of what the two held at once).
    """
    import mpsim

    cpu_start = _cpu()
    start = time.perf_counter()
    result = mpsim.replay(session_events(n), DESTINATION, now=NOW, workers=workers)
    seconds = time.perf_counter() - start
    cpu = _cpu() - cpu_start
    summary = result.sim.summary()
    main_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    worker_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"events": n, "seconds": seconds, "cpu_seconds": cpu, "events_per_s": n / seconds,
            "peak_rss_mb": (main_kb + worker_kb) / 1024, "main_rss_mb": main_kb / 1024,
            "worker_rss_mb": worker_kb / 1024, "stored": summary["events"], "requests": len(result.sim.log)}


def _cpu() -> float:
    """CPU time of this process and its finished children (the replay's worker): on a shared machine it says
    more than wall time, which waits for the others."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def replay_in_subprocess(n: int, workers: int | None = None) -> dict[str, Any]:
    command = [sys.executable, __file__, "--one", str(n)] + ([] if workers is None else ["--workers", str(workers)])
    out = subprocess.run(command, capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, load average {load}"


def replay_table(sizes: list[int], repeat: int, workers: int | None = None) -> None:
    from mpsim import transform_pool

    print(f"mpsim.replay of a synthetic web session mix (workers={workers}, read share "
          f"{float(os.environ.get('MPSIM_BENCH_READ_SHARE') or transform_pool.READ_SHARE):g}); median of {repeat} "
          "run(s) per size, one subprocess each")
    print(f"machine: {machine()}")
    print(f"{'events':>10} {'wall s':>9} {'events/s':>10} {'CPU s':>8} {'events/CPU s':>13} {'peak RSS MB':>12} "
          f"{'main MB':>8} {'worker MB':>10} {'load':>5} {'stored':>9} {'requests':>9}")
    for n in sizes:
        runs = []
        for _ in range(repeat):
            runs.append(replay_in_subprocess(n, workers))
            runs[-1]["load"] = os.getloadavg()[0]
        median = {key: statistics.median(r[key] for r in runs)
                  for key in ("seconds", "cpu_seconds", "peak_rss_mb", "main_rss_mb", "worker_rss_mb", "load")}
        print(f"{n:>10,} {median['seconds']:>9.1f} {n / median['seconds']:>10,.0f} {median['cpu_seconds']:>8.1f} "
              f"{n / median['cpu_seconds']:>13,.0f} {median['peak_rss_mb']:>12,.0f} {median['main_rss_mb']:>8,.0f} "
              f"{median['worker_rss_mb']:>10,.0f} {median['load']:>5.1f} {runs[0]['stored']:>9,} "
              f"{runs[0]['requests']:>9,}", flush=True)
    print("CPU s: the replaying process and its worker together; peak RSS: both peaks added (the worker's includes")
    print("pages it shares with the process it was forked from, so this overstates what the two held at once);")
    print("load: the 1-minute load average after the run (2 cores: above 2, others were waiting for a core too)")
    print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


# ---------------------------------------------------------------------- the doors (sim.send, HTTP)
def batch(start: int, size: int = 2000) -> list[dict[str, Any]]:
    return [{"event": ("Viewed", "Clicked", "Purchased")[i % 3],
             "properties": {"distinct_id": f"user-{i % 5000}", "time": NOW_S - 3600 - i % 86400,
                            "$insert_id": f"ins-{start + i}", "plan": "pro", "price": 9.99,
                            "$current_url": "https://shop.example.com/p/42", "tags": ["a", "b"]}}
            for i in range(start, start + size)]


def as_request(records: list[dict[str, Any]]) -> Any:
    import mpsim

    return mpsim.Request(path="import", endpoint="https://api.mixpanel.com/import/",
                         headers={"Content-Type": "application/json", "Authorization": "Basic dG9rOg=="},
                         params={"strict": 1}, records=records)


def bench_send(batches: int) -> float:
    import mpsim

    requests_ = [as_request(batch(i * 2000)) for i in range(batches)]
    sim = mpsim.Simulator(token="tok", now="2024-03-02T00:00:00Z")
    start = time.perf_counter()
    for r in requests_:
        assert sim.send(r)[0].ok
    return batches * 2000 / (time.perf_counter() - start)


def bench_server(batches: int) -> float:
    import requests

    import mpsim

    bodies = [as_request(batch(i * 2000)).body_text().encode() for i in range(batches)]
    sim = mpsim.Simulator(token="tok", now="2024-03-02T00:00:00Z")
    with mpsim.serve(sim) as server, requests.Session() as session:
        start = time.perf_counter()
        for body in bodies:
            reply = session.post(f"{server.url}/import?strict=1", data=body, auth=("tok", ""),
                                 headers={"Content-Type": "application/json"})
            assert reply.status_code == 200, reply.text
        return batches * 2000 / (time.perf_counter() - start)


def doors(batches: int, repeat: int) -> None:
    print(f"\n/import batches of 2,000 events, {batches} batches, median of {repeat}")
    send = statistics.median(bench_send(batches) for _ in range(repeat))
    print(f"sim.send             {send:>10,.0f} events/s")
    server = statistics.median(bench_server(batches) for _ in range(repeat))
    print(f"HTTP server          {server:>10,.0f} events/s   (ratio to sim.send: {server / send:.2f})")


def profile(n: int) -> None:
    import cProfile
    import pstats

    import mpsim

    profiler = cProfile.Profile()
    profiler.enable()
    mpsim.replay(session_events(n), DESTINATION, now=NOW)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--doors", action="store_true", help="also measure sim.send and the HTTP server")
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--profile", type=int, metavar="N", help="print a cProfile of one N-event replay")
    parser.add_argument("--workers", type=int, help="replay(workers=): 0 in-process, default automatic")
    parser.add_argument("--read-share", type=float, metavar="S",
                        help="share of requests the worker reads ahead (mpsim.transform_pool.READ_SHARE, 0 to 1)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # one replay, JSON out (the subprocess)
    args = parser.parse_args()
    if args.read_share is not None:  # the subprocesses inherit it through the environment
        os.environ["MPSIM_BENCH_READ_SHARE"] = str(args.read_share)
    if os.environ.get("MPSIM_BENCH_READ_SHARE"):
        import mpsim.transform_pool

        mpsim.transform_pool.READ_SHARE = float(os.environ["MPSIM_BENCH_READ_SHARE"])
    if args.one:
        print(json.dumps(replay_once(args.one, args.workers)))
        return
    if args.profile:
        profile(args.profile)
        return
    replay_table(args.sizes, args.repeat, args.workers)
    if args.doors:
        doors(args.batches, args.repeat)


if __name__ == "__main__":
    main()
