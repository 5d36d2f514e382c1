"""Transformer throughput on two corpora, next to a Python floor measured in the same run.

Run: ``python benchmarks/transform_bench.py [--events N] [--repeat R] [--profile CORPUS]``.

- **mixed-config**: every event comes with its own destination object (a fresh copy, as when a
  replayed log or a conformance file is read), drawn from eight different destination settings.
- **shared-config**: the same events with one destination object shared by all.

Each row is the median events/s of R runs of ``transform(message, destination)`` plus
``to_rudder()`` on every request (the output RudderStack's transformer returns: request objects
holding the JSON batch text), and of ``transform_batch`` (the router path, one call for the whole
corpus). Time is process CPU time, and every rate is set next to the **Python floor** measured in
the same run: ``json.loads`` + ``json.dumps`` of the same events, so the ratios survive a shared,
busy machine better than absolute numbers do.

The reference column is an estimate: RudderStack's transformer cannot run here, but issue 11
measured mpsim as of commit 701af60 side by side with it at 1.0–1.2× (mixed) and 1.4–1.5×
(shared). This script measures that commit at about 0.18× and 0.24× the floor; taking the
conservative end of each range (701af60 = 1.0× the reference on mixed, 1.4× on shared) puts the
reference at 0.18× the floor on the mixed corpus and 0.171× on the shared one
(``REFERENCE_FLOOR_RATIO``), so twice the reference is 0.36× and 0.343× the floor. The same ratio
is assumed for the router path (the issue's side-by-side figures are for the processor path).

``--compare DIR`` also times the mpsim package of an older checkout (``git worktree add
/tmp/old701 701af60``, then ``--compare /tmp/old701``) in the same process, interleaved with this
one, and prints new ÷ old per corpus and path. With ``OLD_VS_REFERENCE`` (701af60 ÷ reference,
the issue's conservative figures) that gives a second estimate: new ÷ reference = (new ÷ old) ×
(old ÷ reference).

``--profile mixed`` (or ``shared``) runs cProfile on one pass and prints the top functions.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import importlib.util
import json
import platform
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mpsim

UAS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
]
NOW = "2024-04-01T00:00:00Z"
#: The reference's speed as a fraction of the floor, per corpus (see the module docstring): the
#: conservative end of the issue's side-by-side ratios applied to 701af60's ratio to the floor.
REFERENCE_FLOOR_RATIO = {"mixed-config": 0.18, "shared-config": 0.171}
#: 701af60's speed ÷ the reference's, as issue 11 measured it side by side (conservative end).
OLD_VS_REFERENCE = {"mixed-config": 1.0, "shared-config": 1.4}

CONFIGS: list[dict[str, Any]] = [
    {"token": "bench-token", "setOnceProperties": [{"property": "plan"}], "propIncrements": [{"property": "n"}],
     "groupKeySettings": [{"groupKey": "company"}]},
    {"token": "bench-token", "identityMergeApi": "simplified", "groupKeySettings": [{"groupKey": "company"}]},
    {"token": "eu-token", "dataResidency": "eu", "useNewMapping": True, "groupKeySettings": [{"groupKey": "company"}]},
    {"token": "t2", "strictMode": True, "dropTraitsInTrackEvent": True, "groupKeySettings": [{"groupKey": "company"}],
     "unionProperties": [{"property": "tags"}], "appendProperties": [{"property": "visits"}]},
    {"token": "", "serviceAccountUserName": "sa", "serviceAccountSecret": "secret", "projectId": "42",
     "groupKeySettings": [{"groupKey": "company"}, {"groupKey": "groupId"}]},
    {"token": "t3", "useUserDefinedPageEventName": True, "userDefinedPageEventTemplate": "Viewed {{ name }} Page",
     "groupKeySettings": [{"groupKey": "company"}]},
    {"token": "t4", "dataResidency": "in", "propIncrements": [{"property": "n"}, {"property": "price"}],
     "groupKeySettings": [{"groupKey": "company"}], "apiSecret": "unused", "people": True},
    {"token": "t5", "useUserDefinedScreenEventName": True, "userDefinedScreenEventTemplate": "{{ name }}",
     "groupKeySettings": [{"groupKey": "company"}], "setAllTraitsByDefault": False, "consolidatedPageCalls": True},
]


def destination(config: dict[str, Any], i: int) -> dict[str, Any]:
    """A destination object in the shape RudderStack's server sends it."""
    return {"Config": config, "hasDynamicConfig": False, "ID": f"dest-{i}", "Name": "Mixpanel", "Enabled": True,
            "DestinationDefinition": {"DisplayName": "Mixpanel", "ID": "def-mp", "Name": "MP", "Config": {}},
            "Transformations": [], "WorkspaceID": "ws-1"}


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
            "originalTimestamp": "2024-03-01T00:00:00.000Z",
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
        elif kind in ("page", "screen"):
            msg["name"] = rng.choice(["Home", "Pricing", "Docs"])
        elif kind == "identify":
            msg["traits"] = {"firstName": "Ada", "lastName": "Lovelace", "company": {"id": 1}, "visits": 3}
        elif kind == "group":
            msg["groupId"] = f"g{rng.randrange(50)}"
            msg["traits"] = {"company": f"c{rng.randrange(50)}", "employees": 40}
        elif kind == "alias":
            msg["previousId"] = f"anon-{i}"
        events.append(msg)
    return events


def corpora(n: int) -> dict[str, list[tuple[dict[str, Any], dict[str, Any]]]]:
    events = make_events(n)
    rng = random.Random(11)
    shared = destination(CONFIGS[0], 0)
    mixed = []
    for event in events:
        i = rng.randrange(len(CONFIGS))
        mixed.append((event, json.loads(json.dumps(destination(CONFIGS[i], i)))))  # a fresh object per event
    return {"mixed-config": mixed, "shared-config": [(event, shared) for event in events]}


def run_processor(pairs: list[tuple[dict[str, Any], dict[str, Any]]], lib: Any = mpsim) -> None:
    transform, error = lib.transform, lib.TransformError
    for message, dest in pairs:
        try:
            for request in transform(message, dest, now=NOW):
                request.to_rudder()
        except error:
            pass


def run_router(batch: list[dict[str, Any]], lib: Any = mpsim) -> None:
    for item in lib.transform_batch(batch, now=NOW):
        item.to_rudder()


def load_package(checkout: str) -> Any:
    """Import the ``mpsim`` package of another checkout under the name ``mpsim_compare``.

    mpsim's modules import each other relatively, so the older tree runs side by side with this one
    in one process (same interpreter, same machine load) without touching ``sys.path``.
    """
    root = Path(checkout).resolve() / "mpsim"
    spec = importlib.util.spec_from_file_location("mpsim_compare", root / "__init__.py",
                                                  submodule_search_locations=[str(root)])
    if spec is None or spec.loader is None:
        raise SystemExit(f"--compare: no mpsim package under {checkout}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["mpsim_compare"] = module
    spec.loader.exec_module(module)
    return module


def run_floor(texts: list[str]) -> None:
    loads, dumps = json.loads, json.dumps
    for text in texts:
        dumps(loads(text))


def median_rate(fn: Callable[[Any], None], make: Callable[[], Any], n: int, repeat: int) -> float:
    """Median events/s of ``fn(make())``; ``make`` (untimed) gives each run fresh input objects.

    Time is this process's CPU time: on a machine shared with other jobs, wall time measures them too.
    """
    return statistics.median(interleaved({"": fn}, make, n, repeat)[""])


def interleaved(fns: dict[str, Callable[[Any], None]], make: Callable[[], Any], n: int,
                repeat: int) -> dict[str, list[float]]:
    """events/s of every ``fn(make())``, ``repeat`` rounds, the functions taking turns in each round
    so that all of them see the same machine load."""
    rates: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            data = make()
            start = time.process_time()
            fn(data)
            rates[name].append(n / (time.process_time() - start))
    return rates


def fresh(pairs: list[tuple[dict[str, Any], dict[str, Any]]], mixed: bool) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """New destination objects for every event of the mixed corpus (nothing cached by identity helps)."""
    return [(m, copy.deepcopy(d)) for m, d in pairs] if mixed else pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--profile", choices=["mixed", "shared"])
    parser.add_argument("--compare", metavar="DIR", help="checkout of an older commit to time side by side")
    args = parser.parse_args()
    data = corpora(args.events)
    texts = [json.dumps(message) for message, _ in data["mixed-config"]]
    n = len(texts)

    if args.profile:
        pairs = data[f"{args.profile}-config"]
        run_processor(fresh(pairs, args.profile == "mixed"))
        profiler = cProfile.Profile()
        profiler.runcall(run_processor, fresh(pairs, args.profile == "mixed"))
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return

    libs = {"new": mpsim}
    if args.compare:
        libs["old"] = load_package(args.compare)
    for lib in libs.values():  # warm caches (user-agent parsing is memoised, as in a long-running service)
        run_processor(data["shared-config"], lib)
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}; "
          f"{n} events (track 55%, page 15%, identify 15%, screen/group/alias 5% each), median of {args.repeat}"
          + (f"; old = {args.compare}" if args.compare else ""))
    rows: list[tuple[str, str, dict[str, float]]] = []
    for name, pairs in data.items():
        mixed = name == "mixed-config"

        def batch(p: Any = pairs, m: bool = mixed) -> list[dict[str, Any]]:
            return [{"message": msg, "destination": d, "metadata": {"jobId": i, "userId": msg.get("userId")}}
                    for i, (msg, d) in enumerate(fresh(p, m), 1)]

        for path, run, make in (("transform + to_rudder", run_processor, lambda p=pairs, m=mixed: fresh(p, m)),
                                ("transform_batch", run_router, batch)):
            # The floor takes turns with each measurement so that both see the same machine load.
            fns: dict[str, Callable[[Any], None]] = {"floor": lambda _data: run_floor(texts)}
            fns.update({label: (lambda d, r=run, lib=lib: r(d, lib)) for label, lib in libs.items()})
            rates = interleaved(fns, make, n, args.repeat)
            rows.append((name, path, {label: statistics.median(r) for label, r in rates.items()}))

    head = f"{'corpus: path':38s} {'events/s':>9s} {'floor/s':>9s} {'× floor':>8s} {'≈ × ref':>8s}"
    if args.compare:
        head += f" {'old/s':>9s} {'old × fl':>8s} {'new/old':>8s} {'≈ × ref':>8s}"
    print(head)
    for name, path, r in rows:
        ratio = r["new"] / r["floor"]
        line = f"{name + ': ' + path:38s} {r['new']:>9,.0f} {r['floor']:>9,.0f} {ratio:>8.2f} " \
               f"{ratio / REFERENCE_FLOOR_RATIO[name]:>8.2f}"
        if args.compare:
            line += f" {r['old']:>9,.0f} {r['old'] / r['floor']:>8.2f} {r['new'] / r['old']:>8.2f} " \
                    f"{r['new'] / r['old'] * OLD_VS_REFERENCE[name]:>8.2f}"
        print(line)
    print("(≈ × ref = (events/s ÷ floor) ÷ the reference's estimated ratio to the floor: "
          + ", ".join(f"{k} {v}" for k, v in REFERENCE_FLOOR_RATIO.items()) + ")")
    if args.compare:
        print("(second ≈ × ref = new/old × old/reference: "
              + ", ".join(f"{k} {v}" for k, v in OLD_VS_REFERENCE.items()) + ")")


if __name__ == "__main__":
    main()
