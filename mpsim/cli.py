"""The ``mpsim`` command line: a thin door onto the library."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from typing import Any

from ._files import read_json
from .errors import MpsimError, TransformError


def cmd_transform(args: argparse.Namespace) -> int:
    from .rudder import transform

    message = read_json(args.event, "event file")
    config = read_json(args.config, "config file") if args.config else {}
    messages = message if isinstance(message, list) else [message]
    output: list[Any] = []
    failed = False
    for item in messages:
        try:
            output.extend(r.to_rudder() for r in transform(item, config, now=args.now))
        except TransformError as exc:
            failed = True
            output.append(exc.to_rudder())
    json.dump(output, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 1 if failed else 0


def cmd_conformance(args: argparse.Namespace) -> int:
    from .conformance import run_files

    results = run_files(args.files)
    failed = [r for r in results if not r.passed]
    for result in failed:
        print(result.report())
    passed = len(results) - len(failed)
    print(f"{passed} passed, {len(failed)} failed")
    return 1 if failed or not results else 0


def _print_state(result: Any) -> None:
    import pandas as pd

    sim = result.sim
    summary = sim.summary()
    print(f"Mixpanel now holds ({sim.identity_merge} ID merge): "
          + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in summary.items()))
    with pd.option_context("display.width", 160, "display.max_columns", 12, "display.max_colwidth", 40):
        events = sim.events
        if len(events):
            print("\nEvents")
            print(events[["time", "event", "distinct_id", "stored_distinct_id"]].to_string(index=False))
        if len(sim.profiles):
            print("\nUser profiles")
            print(sim.profiles.to_string(index=False))
        if len(sim.groups):
            print("\nGroup profiles")
            print(sim.groups.to_string(index=False))
    print("\nUsers (identity clusters)")
    for canonical, ids in sim.clusters().items():
        print(f"  {canonical}: {', '.join(ids)}")
    repeated = Counter((r.kind, r.ids, r.reason, r.description) for r in sim.refused_merges)
    for (kind, ids, reason, description), count in repeated.items():
        times = f" ×{count}" if count > 1 else ""
        print(f"  refused {kind} {' + '.join(ids)}{times}: {reason} ({description})")
    for step in result.transform_errors:
        assert step.error is not None
        print(f"\nRudderStack refused {step.label}: {step.error.message} "
              f"({step.error.kind}, {step.error.status_code})")
    for step in result.rejected:
        for exchange_reply in step.replies:
            if not exchange_reply.ok:
                print(f"\nMixpanel rejected part of {step.label}: {exchange_reply.body}")


def _project_arg(args: argparse.Namespace, config: Any) -> dict[str, Any] | None:
    """The Mixpanel project from ``--project FILE`` and ``--identity-merge`` (which sets the project's mode).

    ``--identity-merge`` never changes the destination's ``identityMergeApi``: it is the Mixpanel
    project setting. Without ``--project`` the other project settings come from the destination.
    """
    from .project import resolve_project, settings_from_destination

    path = getattr(args, "project", None)
    mode = getattr(args, "identity_merge", None)
    if path is None and mode is None:
        return None
    project = read_json(path, "project file") if path is not None else settings_from_destination(config)
    if not isinstance(project, dict):
        raise MpsimError(f"{path}: a project file holds one JSON object of Simulator settings")
    if mode is not None:
        project = {**project, "identity_merge": mode}
    resolve_project(project, where=str(path or "project"))  # unknown keys and bad values: one clear line
    return project


def _replay_with_progress(events: list[Any], config: Any, now: Any, project: dict[str, Any] | None) -> Any:
    from tqdm import tqdm

    from .replay import replay

    progress = tqdm(events, desc="replaying", unit="event", disable=len(events) < 500, file=sys.stderr)
    return replay(progress, config, project=project, now=now)


def cmd_simulate(args: argparse.Namespace) -> int:
    """Replay a log through the transformer and the simulator and print the resulting state."""
    from .replay import read_events

    events = list(read_events(args.events))
    config = read_json(args.config, "config file") if args.config else {}
    project = _project_arg(args, config)
    result = _replay_with_progress(events, config, args.now, project)
    print(f"{len(events)} RudderStack events → {sum(s.request_count for s in result.steps)} Mixpanel requests\n")
    _print_state(result)
    _print_findings(events, config, args.now, project)
    return 0


def _print_findings(events: list[Any], config: Any, now: Any, project: Any = None) -> None:
    from .validation import validate

    findings = validate(events, now=now, config=config, project=project)
    for note in findings.notes:
        print(f"\n{note}")
    print(f"\nFindings: {len(findings.errors)} errors, {len(findings.warnings)} warnings")
    if findings:
        print(findings.summary().to_string(index=False))
        print("(mpsim validate FILE --details lists each one)")


def cmd_demo(args: argparse.Namespace) -> int:
    """Replay the built-in sample session and show what Mixpanel ends up holding."""
    from .samples import sample_session

    session = sample_session()
    print(session["description"] + "\n")
    result = _replay_with_progress(session["events"], session["destination"], session["now"], None)
    for step in result.steps:
        targets = ", ".join(f"/{r.path}" for r in step.requests) or "nothing"
        print(f"  {step.label:<32} → {targets}")
    print()
    _print_state(result)
    _print_findings(session["events"], session["destination"], session["now"])
    print("\nNext: mpsim transform EVENT.json --config DEST.json, or open notebooks/01-quickstart.ipynb")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Run a local Mixpanel until interrupted."""
    import time

    from .mixpanel import Simulator, serve

    sim = Simulator(token=args.token, identity_merge=args.identity_merge, api_secret=args.api_secret, now=args.now)
    rudder = read_json(args.rudder, "destination file") if args.rudder else None
    with serve(sim, host=args.host, port=args.port, verbose=True, rudder=rudder, write_key=args.write_key) as server:
        print(f"mpsim: a {args.identity_merge} ID-merge Mixpanel is listening on {server.url}"
              f" (/track /import /engage /groups); Ctrl-C stops it", flush=True)
        if server.rudder is not None:
            print(f"mpsim: RudderStack data plane URL {server.url} (/v1/*, beacon, pixel, /sourceConfig/), write key "
                  f"{args.write_key or 'any'}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    print(f"mpsim: stopped; it had received {sim.summary()}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Lint events or records; exit 1 when any error-level finding exists."""
    import pandas as pd

    from .replay import read_events
    from .validation import validate

    items = list(read_events(args.file))
    config = read_json(args.config, "config file") if args.config else None
    group_keys = [k.strip() for k in args.group_keys.split(",") if k.strip()] if args.group_keys is not None else None
    project = _project_arg(args, config) if args.project is not None or config is not None else None
    findings = validate(items, endpoint=args.endpoint, now=args.now, token=args.token, config=config,
                        identity_merge=args.identity_merge, group_keys=group_keys, project=project)
    print(f"{len(items)} records checked: {len(findings.errors)} errors, {len(findings.warnings)} warnings, "
          f"{len(findings) - len(findings.errors) - len(findings.warnings)} notes")
    if findings:
        with pd.option_context("display.width", 160, "display.max_colwidth", 60):
            print("\n" + findings.summary().to_string(index=False) + "\n")
        print(findings if args.details else "\n".join(str(findings).splitlines()[: 2 * args.limit]))
    return 1 if findings.errors else 0


def cmd_diff(args: argparse.Namespace) -> int:
    """Print what changed from file A to file B (requests or records, JSON or JSON Lines)."""
    from .diff import diff
    from .replay import read_events

    a, b = list(read_events(args.a)), list(read_events(args.b))
    result = diff(a if len(a) != 1 else a[0], b if len(b) != 1 else b[0])
    print(result.to_text())
    return 1 if result else 0


def cmd_repro(args: argparse.Namespace) -> int:
    """Replay support-case bundles; exit 1 when an expectation is not met."""
    from .bundles import load_bundle, repro

    project = read_json(args.project, "project file") if args.project else None
    failed = False
    for path in args.bundles:
        bundle = load_bundle(path)
        if project is not None:
            bundle["project"] = project
        report = repro(bundle)
        print(report.text() + "\n")
        failed |= not report.ok
    return 1 if failed else 0


PROJECT_HELP = ("Mixpanel project settings JSON file (Simulator settings: token, identity_merge, residency, "
                "group_keys, api_secret, ...); default: assumed to match the destination")
IDENTITY_MERGE_HELP = ("the Mixpanel project's ID-merge setting (overrides --project's identity_merge); the "
                       "destination's own setting stays as --config says")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mpsim", description="RudderStack → Mixpanel, simulated.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("transform", help="print the Mixpanel requests RudderStack sends for an event")
    p.add_argument("event", help="RudderStack event JSON file (an object or an array of events; - for stdin)")
    p.add_argument("--config", help="destination JSON file: RudderStack's destination object or its Config")
    p.add_argument("--now", help="freeze the clock (ISO 8601) for the 5-year rule")
    p.set_defaults(func=cmd_transform)

    p = sub.add_parser("serve", help="run a local Mixpanel HTTP server")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (0 picks a free one; default 8080)")
    p.add_argument("--token", help="project token (default: accept any)")
    p.add_argument("--api-secret", help="project secret accepted on /import")
    p.add_argument("--identity-merge", choices=["original", "simplified", "legacy"], default="original")
    p.add_argument("--now", help="freeze the clock (ISO 8601)")
    p.add_argument("--rudder", metavar="DEST.json",
                   help="also serve a RudderStack data plane delivering through this Mixpanel destination")
    p.add_argument("--write-key", help="the RudderStack source's write key (default: accept any)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("simulate", help="replay a log through RudderStack's transformer into a simulated Mixpanel")
    p.add_argument("events", help="events file: JSON Lines, a JSON array or one JSON object (- for stdin)")
    p.add_argument("--config", help="destination JSON file: RudderStack's destination object or its Config")
    p.add_argument("--project", help=PROJECT_HELP)
    p.add_argument("--identity-merge", choices=["original", "simplified", "legacy"], help=IDENTITY_MERGE_HELP)
    p.add_argument("--now", help="freeze the clock (ISO 8601)")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("validate", help="check events or records against Mixpanel's and RudderStack's rules")
    p.add_argument("file", help="JSON Lines, a JSON array or one JSON object (- for stdin)")
    p.add_argument("--endpoint", choices=["track", "import", "engage", "groups"], help="where the records go")
    p.add_argument("--config", help="RudderStack destination JSON, used to transform RudderStack events")
    p.add_argument("--token", help="the project token, to catch records sent with another one")
    p.add_argument("--project", help=PROJECT_HELP)
    p.add_argument("--identity-merge", choices=["original", "simplified", "legacy"], help=IDENTITY_MERGE_HELP)
    p.add_argument("--group-keys", help="the group keys declared in the Mixpanel project, comma-separated")
    p.add_argument("--now", help="the clock for time rules (ISO 8601)")
    p.add_argument("--details", action="store_true", help="print every finding (default: the first --limit)")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("diff", help="show what changed between two payload files")
    p.add_argument("a")
    p.add_argument("b")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("repro", help="replay support-case bundles and check their expectations")
    p.add_argument("bundles", nargs="+", help="bundle JSON files (see fixtures/cases/)")
    p.add_argument("--project", help="Mixpanel project settings JSON file; replaces each bundle's 'project' block")
    p.set_defaults(func=cmd_repro)

    p = sub.add_parser("demo", help="replay the built-in sample session")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("conformance", help="run reference case files and report N passed, M failed")
    p.add_argument("files", nargs="+", help="case files in the shared/conformance format")
    p.set_defaults(func=cmd_conformance)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except MpsimError as exc:
        print(f"mpsim: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader stopped early (`mpsim demo | head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
