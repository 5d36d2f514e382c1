"""``mpsim scale generate | replay | compare``: the scale replay on the command line, answer first."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .._files import read_json
from ..errors import MpsimError
from .spill import DEFAULT_CACHE


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return {"scheduler": args.scheduler, "workers": args.workers, "progress": not args.quiet,
            "lines_per_piece": args.lines_per_piece,
            "identity_cache": None if args.identity_cache == 0 else args.identity_cache, "spill_dir": args.spill_dir}


def _json_file(path: str | None, what: str) -> Any:
    if path is None:
        return None
    value = read_json(path, what)
    if not isinstance(value, dict):
        raise MpsimError(f"{path}: the {what} must be a JSON object, not {type(value).__name__}")
    return value


def cmd_generate(args: argparse.Namespace) -> int:
    from .generate import generate

    try:
        result = generate(args.out, args.events, seed=args.seed, start=args.start, days=args.days)
    except (ValueError, FileExistsError) as exc:
        raise MpsimError(str(exc)) from None
    print(f"{result.events:,} RudderStack events in {result.files:,} files under {result.path} "
          f"(seed {args.seed}); the history ends at {result.end}: replay it with --now {result.end}")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from .replay import replay

    result = replay(args.source, _json_file(args.config, "destination config"), out=args.out,
                    project=_json_file(args.project, "project"), now=args.now, **_options(args))
    print(result.text())
    print(f"  tables: {args.out}/{{events,identities,profiles,groups,refused_merges,rejected}}, "
          f"summary: {args.out}/summary.json")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from .compare import compare

    result = compare(args.source, _json_file(args.config, "destination config"), out=args.out,
                     destination_b=_json_file(args.config_b, "destination config"),
                     project=_json_file(args.project, "project"), project_b=_json_file(args.project_b, "project"),
                     now=args.now, labels=(args.label_a, args.label_b), **_options(args))
    print(result.text())
    print(f"  tables: {args.out}/changes/{{users,events,profiles,rejected}}, summary: {args.out}/comparison.json")
    if args.json:
        print(json.dumps(result.summary, indent=2, default=str))
    return 0


def add_scale_parser(sub: Any) -> None:
    """Register ``mpsim scale …`` on the main parser's subcommands."""
    scale = sub.add_parser("scale", help="replay a whole event history on Dask (generate, replay, compare)")
    commands = scale.add_subparsers(dest="scale_command", required=True)

    p = commands.add_parser("generate", help="write a realistic RudderStack history (gzipped JSON Lines per source and hour)")
    p.add_argument("out", help="folder or fsspec URL to write rudder-logs/<source>/<MM-DD-YYYY>/*.json.gz under")
    p.add_argument("--events", type=int, required=True, help="how many events in total")
    p.add_argument("--seed", type=int, default=0, help="same seed, same history (default 0)")
    p.add_argument("--start", default="2024-01-01", help="first day (default 2024-01-01)")
    p.add_argument("--days", type=int, help="days the history spans (default: one per 100,000 events)")
    p.set_defaults(func=cmd_generate)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("source", help="history: folder, glob or file of .json.gz/.jsonl/.parquet (local or fsspec URL)")
        p.add_argument("--now", help="when Mixpanel receives the history (ISO 8601, seconds or ms; default: now)")
        p.add_argument("--out", required=True, help="folder for the Parquet tables and the summary")
        p.add_argument("--scheduler", choices=["processes", "threads", "sync"], help="local Dask scheduler "
                       "(default processes)")
        p.add_argument("--workers", type=int, help="local worker processes (default: one per core)")
        p.add_argument("--lines-per-piece", type=int, help="cut files into pieces of this many events")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.add_argument("--identity-cache", type=int, default=DEFAULT_CACHE, metavar="N",
                       help="identity pass: entries per container kept in memory, the rest on disk (default "
                       f"{DEFAULT_CACHE:,}; 0 keeps everything in memory)")
        p.add_argument("--spill-dir", help="identity pass: local folder for its state on disk (default: temp folder)")

    p = commands.add_parser("replay", help="replay a history into Mixpanel's state as Parquet tables")
    common(p)
    p.add_argument("--config", required=True, help="RudderStack Mixpanel destination JSON (object or its Config)")
    p.add_argument("--project", help="Mixpanel project JSON: Simulator settings (token, identity_merge, residency, "
                   "group_keys, ...); default: assumed from the destination")
    p.set_defaults(func=cmd_replay)

    p = commands.add_parser("compare", help="replay a history under two projects or two configs: what changes")
    common(p)
    p.add_argument("--config", required=True, help="destination config of side a")
    p.add_argument("--config-b", help="destination config of side b (default: the same as a)")
    p.add_argument("--project", help="project of side a (default: assumed from its destination)")
    p.add_argument("--project-b", help="project of side b (default: the same as a)")
    p.add_argument("--label-a", default="a", help="name of side a in the summary")
    p.add_argument("--label-b", default="b", help="name of side b in the summary")
    p.add_argument("--json", action="store_true", help="also print the summary as JSON")
    p.set_defaults(func=cmd_compare)
