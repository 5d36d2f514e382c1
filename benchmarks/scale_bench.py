"""Scale replay throughput and peak memory as the history grows.

For each size: generate a history (once, cached under ``--dir``), then run
``mpsim scale replay`` in a child process on the local process scheduler and sample the resident
memory of the whole process tree (driver + Dask workers) every 0.2 s. Reports events/s, the peak
of the tree and of its largest process, and the stage times from the replay's summary. Memory must
stay flat as the history grows (pieces and buckets have a fixed size); time grows linearly.

Run: ``python benchmarks/scale_bench.py --sizes 100000 1000000 [--workers 2] [--dir /tmp/mpsim-scale-bench]``.
With ``--json benchmarks/results/scale.json`` the rows are merged into that file (one per size), which
the README's scale figures quote.

``--identity-pass`` times stage 2 alone, which is where the driver's memory used to grow: each size's
history is prepared once (stage 1, cached under ``prepared-SIZE``; ``--prepare-only`` does just
that), then the identity pass runs on that real identity stream in a fresh process, once with the
engine's plain dicts and sets (``memory``, as before spilling) and once with ``mpsim.scale.spill``
(``disk``, ``--cache`` entries per container), reporting each process's time and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

CONFIG = {"token": "T", "groupKeySettings": [{"groupKey": "company"}]}
PROJECT = {"token": "T", "identity_merge": "original", "group_keys": ["company"]}


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def _children_cpu() -> float:
    """User + system CPU seconds of the child processes waited for so far (and theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _tree_rss(root: int, descend: bool = True) -> tuple[int, int]:
    """(sum, max) resident bytes over a process and all its descendants (or the process alone)."""
    total = biggest = 0
    stack = [root]
    page = os.sysconf("SC_PAGE_SIZE")
    while stack:
        pid = stack.pop()
        try:
            rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
        total += rss
        biggest = max(biggest, rss)
        if descend:
            stack += _children(pid)
    return total, biggest


def run(size: int, folder: Path, workers: int, identity_cache: int | None = None) -> dict:
    history = folder / f"history-{size}"
    if not (history / "rudder-logs").exists():
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mpsim.cli", "scale", "generate", str(history), "--events", str(size),
                        "--seed", "1"], check=True, stdout=subprocess.DEVNULL)
        print(f"generated {size:,} events in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    (folder / "config.json").write_text(json.dumps(CONFIG))
    (folder / "project.json").write_text(json.dumps(PROJECT))
    out = folder / f"out-{size}"
    end = json.loads(subprocess.run([sys.executable, "-c", (
        "from mpsim.scale.generate import HistorySpec; import sys; "
        f"print('\"' + HistorySpec({size}).end_time.isoformat() + '\"')")], capture_output=True, text=True,
        check=True).stdout)
    command = [sys.executable, "-m", "mpsim.cli", "scale", "replay", str(history), "--config",
               str(folder / "config.json"), "--project", str(folder / "project.json"), "--now", end, "--out", str(out),
               "--workers", str(workers), "--quiet"]
    if identity_cache is not None:  # 0: the identity state in memory, as before it was spilled
        command += ["--identity-cache", str(identity_cache)]
    cpu_before = _children_cpu()
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    peak_total = peak_one = peak_driver = 0
    loads: list[float] = []
    ticks = 0
    while child.poll() is None:
        total, one = _tree_rss(child.pid)
        driver, _ = _tree_rss(child.pid, descend=False)
        peak_total, peak_one, peak_driver = max(peak_total, total), max(peak_one, one), max(peak_driver, driver)
        if ticks % 25 == 0:  # every 5 s
            loads.append(os.getloadavg()[0])
        ticks += 1
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before  # the replay and every worker it waited for
    if child.returncode:
        raise SystemExit(f"replay of {size:,} events failed ({child.returncode})")
    summary = json.loads((out / "summary.json").read_text())
    return {"events": size, "workers": workers, "identity_cache": identity_cache, "seconds": round(seconds, 1), "events_per_s": round(size / seconds),
            "cpu_s": round(cpu, 1), "events_per_cpu_s": round(size / cpu) if cpu else None,
            "peak_tree_mb": round(peak_total / 2**20), "peak_process_mb": round(peak_one / 2**20),
            "peak_driver_mb": round(peak_driver / 2**20),
            "load_avg_1min": {"mean": round(sum(loads) / max(len(loads), 1), 2), "max": round(max(loads or [0]), 2)},
            "distinct_ids": summary["distinct_ids"],
            "stages_s": summary["seconds"], "pieces": summary["pieces"], "buckets": summary["buckets"],
            "stored_events": summary["stored_events"], "users": summary["users"],
            "identity_stream": summary["identity_stream"]}


def _end(size: int) -> str:
    from mpsim.scale.generate import HistorySpec

    return HistorySpec(size).end_time.isoformat()


def prepare(size: int, folder: Path, workers: int) -> Path:
    """Stage 1 of a replay of ``history-SIZE``, once: its prepared pieces under ``prepared-SIZE``.

    The identity pass is then timed alone (``identity_pass``) on the history's real identity stream,
    without the hour that transforming 10M events takes on this machine.
    """
    from dataclasses import asdict

    from mpsim._dates import clock_ms
    from mpsim.scale.replay import prepare_history

    target = folder / f"prepared-{size}"
    if (target / "pieces.json").exists():
        return target
    history = folder / f"history-{size}"
    started = time.perf_counter()
    _, prepared = prepare_history(str(history), CONFIG, {**PROJECT}, int(clock_ms(_end(size))), str(target / "work"),
                                  str(target / "out"), workers=workers)
    (target / "pieces.json").write_text(json.dumps({"seconds": round(time.perf_counter() - started, 1),
                                                    "pieces": [asdict(c) for c in prepared]}))
    return target


def _renamed(value: object, copy: int) -> object:
    """The id ``value`` in copy ``copy`` of a history: a UUID stays a UUID v4 (still anonymous-looking), others get a suffix."""
    import hashlib
    import uuid

    if not isinstance(value, str) or copy == 0:
        return value
    try:
        uuid.UUID(value)
    except ValueError:
        return f"{value}~{copy}"
    return str(uuid.UUID(bytes=hashlib.md5(f"{copy}:{value}".encode()).digest(), version=4))


def repeat_identities(size: int, folder: Path, workers: int, copies: int) -> Path:
    """A synthetic identity stream with ``copies`` times the identities of ``history-SIZE``.

    The prepared identity stream of ``SIZE`` is played ``copies`` times, one after another, each copy
    with its ids renamed (``_renamed``): as if ``copies`` companies like the generated one had sent
    their histories in turn. Only the identity pass can run on it (there are no events behind it).
    """
    import pandas as pd

    source = prepare(size, folder, workers)
    target = folder / f"prepared-{size}x{copies}"
    if (target / "pieces.json").exists():
        return target
    rows = json.loads((source / "pieces.json").read_text())["pieces"]
    out_rows = []
    (target / "work" / "prepared" / "identity").mkdir(parents=True, exist_ok=True)
    for copy in range(copies):
        for row in rows:
            number = copy * len(rows) + row["piece"]
            stream = pd.read_parquet(source / "work" / "prepared" / "identity" / f"p{row['piece']:06d}.parquet")
            for column in ("a", "b"):
                stream[column] = [_renamed(v, copy) for v in stream[column]]
            stream.to_parquet(target / "work" / "prepared" / "identity" / f"p{number:06d}.parquet", index=False)
            out_rows.append({**row, "piece": number})
    (target / "pieces.json").write_text(json.dumps({"copies": copies, "of": size, "pieces": out_rows}))
    return target


def identity_child(prepared: Path, store: str, cache: int) -> dict:
    """The identity pass over prepared pieces, in this (fresh) process: its time and this process's peak RSS.

    ``store`` is ``memory`` (the engine's plain dicts and sets, as before spilling) or ``disk``
    (``mpsim.scale.spill``, ``cache`` entries per container). Peak RSS is the kernel's high-water
    mark for the process (``ru_maxrss``), imports included.
    """
    import shutil
    import tempfile

    from mpsim.scale import stages
    from mpsim.scale.replay import RECORDS_PER_BUCKET, offsets_of
    from mpsim.scale.spill import IdentitySpill, IdentityState

    rows = json.loads((prepared / "pieces.json").read_text())["pieces"]
    counts = [stages.PieceCounts(**r) for r in rows]
    seq_offsets, _, seq_total = offsets_of(counts)
    buckets = max(1, -(-seq_total // RECORDS_PER_BUCKET))
    run = Path(tempfile.mkdtemp(prefix=f"identity-{store}-", dir=prepared))
    (run / "work").mkdir()
    (run / "work" / "prepared").symlink_to(prepared / "work" / "prepared")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    try:
        mode = PROJECT["identity_merge"]
        state = IdentityState.in_memory(mode) if store == "memory" else IdentitySpill(mode, cache=cache)
        with state:
            result = stages.identity_pass(state, str(run / "work"), str(run / "out"), [c.piece for c in counts],
                                          seq_offsets, buckets)
        seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(run)
    return {"store": store, "cache": cache if store == "disk" else None, "seconds": round(seconds, 2),
            "records": result.identity_events + result.profile_records, "buckets": buckets,
            "peak_rss_before_mb": round(before / 1024), "peak_rss_mb": round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def identity_bench(size: int, folder: Path, workers: int, cache: int, copies: int = 1) -> list[dict]:
    """Prepare ``size`` once, then time the identity pass with each store, each in a fresh process."""
    prepared = prepare(size, folder, workers) if copies == 1 else repeat_identities(size, folder, workers, copies)
    rows = []
    for store in ("memory", "disk"):
        out = subprocess.run([sys.executable, __file__, "--identity-child", str(prepared), store, str(cache)],
                             capture_output=True, text=True, check=True).stdout
        rows.append({"events": size * copies, "copies": copies, **json.loads(out.splitlines()[-1])})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--dir", default="/tmp/mpsim-scale-bench")
    parser.add_argument("--json", help="merge the results into this JSON file (one row per size)")
    parser.add_argument("--identity-cache", type=int, help="replay's --identity-cache (0: identity state in memory)")
    parser.add_argument("--identity-pass", action="store_true",
                        help="time stage 2 alone (in-memory engine vs disk store) on each size's prepared pieces")
    parser.add_argument("--copies", type=int, default=1, help="with --identity-pass: play each size's identity "
                        "stream this many times, ids renamed per copy (a synthetic history with that many times the ids)")
    parser.add_argument("--prepare-only", action="store_true", help="only prepare each size's pieces (stage 1)")
    parser.add_argument("--cache", type=int, default=None, help="entries per disk container (default: replay's)")
    parser.add_argument("--identity-child", nargs=3, metavar=("PREPARED", "STORE", "CACHE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.identity_child:
        prepared, store, cache = args.identity_child
        print(json.dumps(identity_child(Path(prepared), store, int(cache))))
        return
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    if args.prepare_only:
        for size in args.sizes:
            print(prepare(size, folder, args.workers))
        return
    if args.identity_pass:
        from mpsim.scale.spill import DEFAULT_CACHE

        rows = [r for size in args.sizes for r in identity_bench(size, folder, args.workers, args.cache or DEFAULT_CACHE,
                                                                 args.copies)]
        print(f"{'events':>12} {'store':>7} {'records':>9} {'seconds':>8} {'records/s':>10} {'peak RSS MB':>12}")
        for r in rows:
            print(f"{r['events']:>12,} {r['store']:>7} {r['records']:>9,} {r['seconds']:>8} "
                  f"{r['records'] / r['seconds']:>10,.0f} {r['peak_rss_mb']:>12,}")
        if args.json:
            _merge_json(Path(args.json), [{"kind": "identity_pass", **r} for r in rows])
        return
    rows = [run(size, folder, args.workers, args.identity_cache) for size in args.sizes]
    print(f"{'events':>12} {'seconds':>8} {'events/s':>9} {'CPU s':>8} {'ev/CPU s':>9} {'peak tree MB':>13} "
          f"{'peak proc MB':>13} {'driver MB':>10} {'load':>5} stages (s)")
    for r in rows:
        print(f"{r['events']:>12,} {r['seconds']:>8} {r['events_per_s']:>9,} {r['cpu_s']:>8} {r['events_per_cpu_s']:>9,} "
              f"{r['peak_tree_mb']:>13,} "
              f"{r['peak_process_mb']:>13,} {r['peak_driver_mb']:>10,} {r['load_avg_1min']['mean']:>5} {r['stages_s']}")
    for a, b in zip(rows, rows[1:], strict=False):
        print(f"{a['events']:,} -> {b['events']:,} ({b['events'] / a['events']:.0f}x the events): "
              f"{b['seconds'] / a['seconds']:.1f}x the time, {b['peak_tree_mb'] / a['peak_tree_mb']:.2f}x the peak tree "
              f"memory, {b['peak_driver_mb'] / a['peak_driver_mb']:.2f}x the driver's")
    if args.json:
        _merge_json(Path(args.json), [{"kind": "replay", **r} for r in rows])


def _merge_json(path: Path, rows: list[dict]) -> None:
    """Merge rows into a JSON list: a new row replaces the old one of the same kind, size, store and cache."""
    def key(row: dict) -> tuple:
        return (row.get("kind", "replay"), row["events"], row.get("store"), row.get("cache"),
                row.get("identity_cache"))

    old = json.loads(path.read_text()) if path.exists() else []
    fresh = {key(r) for r in rows}
    path.write_text(json.dumps(sorted([r for r in old if key(r) not in fresh] + rows,
                                      key=lambda r: (r.get("kind", "replay"), r["events"], str(r.get("store")))),
                               indent=2))


if __name__ == "__main__":
    main()
