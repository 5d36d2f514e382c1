"""Scale replay throughput and peak memory as the history grows.

For each size: generate a history (once, cached under ``--dir``), then run
``mpsim scale replay`` in a child process on the local process scheduler and sample the resident
memory of the whole process tree (driver + Dask workers) every 0.2 s. Reports events/s, the peak
of the tree and of its largest process, and the stage times from the replay's summary. Memory must
stay flat as the history grows (pieces and buckets have a fixed size); time grows linearly.

Run: ``python benchmarks/scale_bench.py --sizes 100000 1000000 [--workers 2] [--dir /tmp/mpsim-scale-bench]``.
With ``--json benchmarks/results/scale.json`` the rows are merged into that file (one per size), which
the README's scale figures quote.
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


def run(size: int, folder: Path, workers: int) -> dict:
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
    return {"events": size, "workers": workers, "seconds": round(seconds, 1), "events_per_s": round(size / seconds),
            "cpu_s": round(cpu, 1), "events_per_cpu_s": round(size / cpu) if cpu else None,
            "peak_tree_mb": round(peak_total / 2**20), "peak_process_mb": round(peak_one / 2**20),
            "peak_driver_mb": round(peak_driver / 2**20),
            "load_avg_1min": {"mean": round(sum(loads) / max(len(loads), 1), 2), "max": round(max(loads or [0]), 2)},
            "distinct_ids": summary["distinct_ids"],
            "stages_s": summary["seconds"], "pieces": summary["pieces"], "buckets": summary["buckets"],
            "stored_events": summary["stored_events"], "users": summary["users"],
            "identity_stream": summary["identity_stream"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--dir", default="/tmp/mpsim-scale-bench")
    parser.add_argument("--json", help="merge the results into this JSON file (one row per size)")
    args = parser.parse_args()
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    rows = [run(size, folder, args.workers) for size in args.sizes]
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
        path = Path(args.json)
        old = json.loads(path.read_text()) if path.exists() else []
        keep = [r for r in old if r["events"] not in {n["events"] for n in rows}]
        path.write_text(json.dumps(sorted(keep + rows, key=lambda r: r["events"]), indent=2))


if __name__ == "__main__":
    main()
