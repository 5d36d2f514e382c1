"""``mpsim validate`` on a long RudderStack log: lines/s and peak RSS, optionally against an older commit.

The log is the simulator benchmark's synthetic web session mix (pages, identifies and purchases of
many users) written as JSON Lines, 10k and 100k lines by default. Each run is its own subprocess
(``mpsim.cli.main(["validate", LOG, ...])`` with its output discarded), so its peak RSS
(``ru_maxrss``, which includes the interpreter and imports) is its own. Figures are medians of
``--repeat`` runs. Lines per CPU second are printed next to lines per wall second and the ratio
uses them: on a shared machine the wall clock mostly measures the other processes.

``--baseline REF`` also runs the same command from ``git archive REF`` (e.g. the commit before the
compiled rule lookups) side by side, and prints the ratio of lines/s. ``--simulate`` measures
``mpsim simulate`` the same way, with the size of what it prints. ``--profile N`` prints a
cProfile of one N-line validation.

Run: ``python benchmarks/validate_bench.py [--sizes 10000 100000] [--repeat 3] [--baseline REF] [--simulate]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from simulator_bench import DESTINATION, NOW, session_events  # noqa: E402

CHILD = r"""
import contextlib, io, json, os, resource, sys, time
from mpsim.cli import main
argv = json.loads(sys.argv[1])
out = io.StringIO()
start, cpu0 = time.perf_counter(), time.process_time()
with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(out), contextlib.redirect_stderr(devnull):
    code = main(argv)
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu0
print(json.dumps({"code": code, "seconds": seconds, "cpu_seconds": cpu, "printed_bytes": len(out.getvalue().encode()),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_log(n: int, folder: Path) -> Path:
    path = folder / f"log-{n}.jsonl"
    if not path.exists():
        with path.open("w", encoding="utf-8") as out:
            for event in session_events(n):
                out.write(json.dumps(event) + "\n")
    return path


def run(argv: list[str], source: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(source)}
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(argv)], capture_output=True, text=True,
                          env=env, cwd=str(source), check=False)
    if done.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def baseline_tree(ref: str, folder: Path) -> Path:
    target = folder / f"src-{ref.replace('/', '_')}"
    if not target.exists():
        target.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", metavar="REF", help="also run the command from this git commit, side by side")
    parser.add_argument("--simulate", action="store_true", help="measure `mpsim simulate` instead of validate")
    parser.add_argument("--profile", type=int, metavar="N", help="print a cProfile of one N-line validation")
    parser.add_argument("--keep", metavar="DIR", help="keep the generated logs in DIR")
    args = parser.parse_args()

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="mpsim-validate-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    command = "simulate" if args.simulate else "validate"
    destination = folder / "destination.json"  # simulate sends with a token, as the simulator benchmark does
    destination.write_text(json.dumps(DESTINATION))
    extra = ["--config", str(destination)] if args.simulate else []
    if args.profile:
        import cProfile
        import pstats

        from mpsim.cli import main as cli

        log = write_log(args.profile, folder)
        with open(os.devnull, "w") as devnull:
            stdout, sys.stdout = sys.stdout, devnull
            profile = cProfile.Profile()
            profile.runcall(cli, [command, str(log), "--now", NOW, *extra])
            sys.stdout = stdout
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
        return

    sources = [("this tree", ROOT)]
    if args.baseline:
        sources.insert(0, (args.baseline, baseline_tree(args.baseline, folder)))
    print(f"mpsim {command} on a synthetic RudderStack log; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}; medians of {args.repeat} runs")
    header = (f"{'source':<14} {'lines':>8} {'seconds':>8} {'cpu s':>7} {'lines/s':>9} {'lines/cpu s':>12} "
              f"{'peak RSS MB':>12}")
    print(header + (f" {'printed KB':>11}" if args.simulate else ""))
    for n in args.sizes:
        log = write_log(n, folder)
        rates = {}
        for name, source in sources:
            measured = median_of([run([command, str(log), "--now", NOW, *extra], source) for _ in range(args.repeat)])
            rates[name] = n / measured["cpu_seconds"]
            line = (f"{name[:14]:<14} {n:>8} {measured['seconds']:>8.2f} {measured['cpu_seconds']:>7.2f} "
                    f"{n / measured['seconds']:>9.0f} {rates[name]:>12.0f} {measured['peak_rss_mb']:>12.0f}")
            print(line + (f" {measured['printed_bytes'] / 1024:>11.0f}" if args.simulate else ""), flush=True)
        if args.baseline:
            print(f"{'':<14} {n:>8} this tree / {args.baseline}: {rates['this tree'] / rates[args.baseline]:.2f}× "
                  "the lines per CPU second")


if __name__ == "__main__":
    main()
