"""Transformer throughput: events/s over a few thousand varied RudderStack events.

Run: ``python benchmarks/transform_bench.py [--events N] [--repeat R]``. Reports the median of R
runs for ``mpsim.transform`` alone, for ``transform`` plus ``to_rudder()`` (the JSON text
RudderStack would send), and for the batch path. One core; the machines are noisy, so medians.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from typing import Any

import mpsim

UAS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
]
CONFIG = {"token": "bench-token", "setOnceProperties": [{"property": "plan"}], "propIncrements": [{"property": "n"}],
          "groupKeySettings": [{"groupKey": "company"}]}


def make_events(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    events = []
    for i in range(n):
        kind = rng.choices(["track", "page", "screen", "identify", "group", "alias"], [55, 15, 5, 15, 5, 5])[0]
        user = f"user-{rng.randrange(500)}"
        msg: dict[str, Any] = {
            "type": kind, "anonymousId": f"anon-{rng.randrange(10_000)}", "userId": user if rng.random() < .7 else "",
            "messageId": f"{1700000000000 + i}-{rng.getrandbits(64):016x}-aaaa-bbbb-cccc-{i:012d}",
            "timestamp": f"2024-03-{rng.randrange(1, 29):02d}T{rng.randrange(24):02d}:15:30.{rng.randrange(1000):03d}Z",
            "channel": rng.choice(["web", "mobile", "server"]),
            "context": {
                "ip": "203.0.113.9", "userAgent": rng.choice(UAS),
                "library": {"name": "RudderLabs JavaScript SDK", "version": "3.0.1"},
                "page": {"url": "https://example.com/pricing", "referrer": "https://google.com",
                         "initial_referrer": "$direct"},
                "os": {"name": "iOS", "version": "17.1"}, "screen": {"width": 390, "height": 844, "density": 3},
                "campaign": {"name": "spring", "source": "newsletter"} if rng.random() < .3 else {},
                "traits": {"email": f"{user}@example.com", "plan": rng.choice(["free", "pro"])},
                "device": {"type": "ios", "token": "tok", "model": "iPhone15,2"} if rng.random() < .2 else {},
            },
            "properties": {"price": rng.random() * 100, "sku": f"SKU-{rng.randrange(999)}", "n": rng.randrange(3),
                           "tags": ["a", "b"], "revenue": rng.choice([0, 0, 0, 19.99])},
        }
        if kind == "track":
            msg["event"] = rng.choice(["Product Viewed", "Order Completed", "Signed Up"])
        elif kind == "identify":
            msg["traits"] = {"firstName": "Ada", "lastName": "Lovelace", "company": {"id": 1}}
        elif kind == "group":
            msg["traits"] = {"company": f"c{rng.randrange(50)}", "employees": 40}
        elif kind == "alias":
            msg["previousId"] = f"anon-{i}"
        events.append(msg)
    return events


def _median_rate(fn: Any, n: int, repeat: int) -> float:
    rates = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    events = make_events(args.events)
    now = "2024-04-01T00:00:00Z"

    def processor() -> None:
        for e in events:
            try:
                mpsim.transform(e, CONFIG, now=now)
            except mpsim.TransformError:
                pass

    def processor_json() -> None:
        for e in events:
            try:
                for r in mpsim.transform(e, CONFIG, now=now):
                    r.to_rudder()
            except mpsim.TransformError:
                pass

    batch = [{"message": e, "destination": {"Config": CONFIG}, "metadata": {"jobId": i, "userId": e.get("userId")}}
             for i, e in enumerate(events, 1)]

    def router() -> None:
        for item in mpsim.transform_batch(batch, now=now):
            item.to_rudder()

    processor()  # warm caches (user-agent parsing is memoised, as a long-running service's would be)
    print(f"events: {len(events)} (track 55%, page 15%, identify 15%, screen/group/alias 5% each), repeat {args.repeat}")
    for name, fn in [("transform", processor), ("transform + to_rudder", processor_json), ("transform_batch + to_rudder", router)]:
        print(f"{name:30s} {_median_rate(fn, len(events), args.repeat):>10,.0f} events/s (median)")


if __name__ == "__main__":
    main()
