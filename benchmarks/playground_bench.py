"""Playground clicks on a big project: how long one "Transform and send" takes.

Builds a project of ``--events`` events (default 100,000) for 5,000 users, half of them with a
profile and an identity merge, opens the playground on it, pastes a small session (an anonymous
page view, an identify, two tracks) and clicks "Transform and send" ``--repeat`` times, each time
with fresh ids. Reports the median and the slowest click in milliseconds, the same for a plain
"Transform", and for comparison what the old way of building the tabs costs (a full snapshot
diff and the whole-state tables).

Also ``_repr_html_`` of the simulator and of a snapshot: shown again (nothing changed) and right
after a change (the counts are made again; the rows shown are the head and tail only).

Run: ``python benchmarks/playground_bench.py [--events N] [--repeat R]``. The aim is < 150 ms per
click at 100,000 events.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import mpsim
from mpsim.notebook.views import state_html

NOW = "2024-03-02T00:00:00Z"
NOW_S = 1709337600
USERS = 5000


def _import(records: list[dict[str, Any]]) -> mpsim.Request:
    return mpsim.Request(path="import", endpoint="https://api.mixpanel.com/import/",
                         headers={"Content-Type": "application/json", "Authorization": "Basic dG9rOg=="},
                         params={"strict": 1}, records=records)


def _engage(records: list[dict[str, Any]]) -> mpsim.Request:
    return mpsim.Request(path="engage", endpoint="https://api.mixpanel.com/engage/",
                         headers={"Content-Type": "application/json"}, params={}, records=records)


def big_project(events: int) -> mpsim.Simulator:
    sim = mpsim.Simulator(token="tok", now=NOW)
    merges = [{"event": "$merge", "properties": {"$distinct_ids": [f"user-{u}", f"anon-{u}"], "token": "tok"}}
              for u in range(0, USERS, 2)]
    sim.send(_import(merges))
    sim.send(_engage([{"$token": "tok", "$distinct_id": f"user-{u}",
                       "$set": {"$first_name": f"U{u}", "$email": f"u{u}@example.com", "plan": "pro"}}
                      for u in range(0, USERS, 2)]))
    for start in range(0, events, 2000):
        sim.send(_import([{"event": ("Viewed", "Clicked", "Purchased")[i % 3],
                           "properties": {"distinct_id": f"user-{i % USERS}", "time": NOW_S - 3600 - i % 86400,
                                          "$insert_id": f"ins-{i}", "plan": "pro", "price": 9.99,
                                          "$current_url": "https://shop.example.com/p/42"}}
                          for i in range(start, min(events, start + 2000))]))
    return sim


def session(k: int) -> str:
    anon = f"9a0e{k:04d}-1b3d-4e5f-8a6b-7c8d9e0f1a2b"
    events = [
        {"type": "page", "name": "Pricing", "anonymousId": anon, "messageId": f"p{k}",
         "timestamp": "2024-03-01T10:00:00Z"},
        {"type": "identify", "userId": f"new-{k}", "anonymousId": anon, "messageId": f"i{k}",
         "timestamp": "2024-03-01T10:01:00Z", "context": {"traits": {"firstName": "Ada", "email": "a@x.io"}}},
        {"type": "track", "event": "Signed Up", "userId": f"new-{k}", "anonymousId": anon, "messageId": f"t{k}",
         "timestamp": "2024-03-01T10:02:00Z", "properties": {"plan": "pro"}},
        {"type": "track", "event": "Viewed", "userId": f"user-{k * 2}", "messageId": f"v{k}",
         "timestamp": "2024-03-01T10:03:00Z"},
    ]
    return "\n".join(json.dumps(e) for e in events)


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    build = time.perf_counter()
    sim = big_project(args.events)
    print(f"project: {len(sim.raw_events):,} stored events, {len(sim.clusters()):,} users "
          f"(built in {time.perf_counter() - build:.1f} s)")
    app = mpsim.playground(sim=sim, config={"token": "tok"}, now=NOW)
    sends, transforms = [], []
    for k in range(args.repeat + 1):
        app.events_input.value = session(k)
        transforms.append(timed(app.transform_button.click))
        assert "not sent" in app.status.value, app.status.value
        sends.append(timed(app.send_button.click))
        assert "Mixpanel accepted all" in app.status.value, app.status.value
    first, sends, transforms = sends[0], sends[1:], transforms[1:]  # the first click also counts the project once
    print(f"Transform and send: median {statistics.median(sends):.0f} ms, slowest {max(sends):.0f} ms "
          f"({args.repeat} clicks; the first click, which counts the project once, {first:.0f} ms)")
    print(f"Transform:          median {statistics.median(transforms):.0f} ms, slowest {max(transforms):.0f} ms")
    before = sim.snapshot()
    for name, shown in (("simulator", sim), ("snapshot", before)):
        shown._repr_html_()  # the first view after a change counts the project
        again = [timed(shown._repr_html_) for _ in range(args.repeat)]
        print(f"_repr_html_ of the {name:<9}: median {statistics.median(again):.1f} ms shown again, "
              f"{len(shown._repr_html_()) / 1024:.0f} KB")
    first = []
    for k in range(args.repeat):  # one small request each time, then the view: what a notebook cell costs
        sim.send(_engage([{"$token": "tok", "$distinct_id": f"user-{k}", "$set": {"seen": k}}]))
        first.append(timed(sim._repr_html_))
    print(f"_repr_html_ after a change: median {statistics.median(first):.0f} ms")
    old = timed(lambda: (mpsim.diff(before, sim), state_html(sim)))
    print(f"for comparison, a full snapshot diff + whole-state tables: {old:.0f} ms "
          f"({old / statistics.median(sends):.0f}x a click)")


if __name__ == "__main__":
    main()
