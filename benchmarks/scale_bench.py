"""Scale replay throughput and peak memory as the history grows.

For each size: generate a history (once, cached under ``--dir``), then run
``mpsim scale replay`` in a child process on the local process scheduler and sample the resident
memory of the whole process tree (driver + Dask workers) every 0.2 s. Reports events/s, the peak
of the tree and of its largest process, and the stage times from the replay's summary. Memory must
stay flat as the history grows (pieces and buckets have a fixed size); time grows linearly.

Run: ``python benchmarks/scale_bench.py --sizes 100000 1000000 [--workers 2] [--dir /tmp/mpsim-scale-bench]``.
Writes ``benchmarks/results/scale.json`` (``--json``) next to the printed table.
"""

from __future__ import annotations

import argparse
import json
import os
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


def _tree_rss(root: int) -> tuple[int, int]:
    """(sum, max) resident bytes over a process and all its descendants."""
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
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    peak_total = peak_one = 0
    while child.poll() is None:
        total, one = _tree_rss(child.pid)
        peak_total, peak_one = max(peak_total, total), max(peak_one, one)
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    if child.returncode:
        raise SystemExit(f"replay of {size:,} events failed ({child.returncode})")
    summary = json.loads((out / "summary.json").read_text())
    return {"events": size, "seconds": round(seconds, 1), "events_per_s": round(size / seconds),
            "peak_tree_mb": round(peak_total / 2**20), "peak_process_mb": round(peak_one / 2**20),
            "stages_s": summary["seconds"], "pieces": summary["pieces"], "buckets": summary["buckets"],
            "stored_events": summary["stored_events"], "users": summary["users"],
            "identity_stream": summary["identity_stream"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--dir", default="/tmp/mpsim-scale-bench")
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args()
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    rows = [run(size, folder, args.workers) for size in args.sizes]
    print(f"{'events':>12} {'seconds':>8} {'events/s':>9} {'peak tree MB':>13} {'peak proc MB':>13} stages (s)")
    for r in rows:
        print(f"{r['events']:>12,} {r['seconds']:>8} {r['events_per_s']:>9,} {r['peak_tree_mb']:>13,} "
              f"{r['peak_process_mb']:>13,} {r['stages_s']}")
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        print(f"{b['events'] / a['events']:.0f}x the events: {b['seconds'] / a['seconds']:.1f}x the time, "
              f"{b['peak_tree_mb'] / a['peak_tree_mb']:.2f}x the peak memory")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
