"""The ``mpsim`` command line: a thin door onto the library."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .errors import MpsimError, TransformError


def _read_json(path: str, what: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise MpsimError(f"cannot read {what} {path}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise MpsimError(f"{what} {path} is not valid JSON: {exc}") from None


def cmd_transform(args: argparse.Namespace) -> int:
    from .rudder import transform

    message = _read_json(args.event, "event file")
    config = _read_json(args.config, "config file") if args.config else {}
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


def cmd_demo(args: argparse.Namespace) -> int:
    """Transform the built-in sample session and show what Mixpanel receives."""
    from .rudder import transform
    from .samples import sample_session

    session = sample_session()
    print(session["description"])
    print()
    rows = []
    for event in session["events"]:
        label = event.get("event") or event.get("name") or ""
        try:
            requests = transform(event, session["destination"], now=session["now"])
        except TransformError as exc:
            rows.append((event["type"], label, "ERROR", exc.message))
            continue
        for request in requests:
            record = request.records[0]
            what = record.get("event") or next(k for k in record if k.startswith("$") and k not in
                                               ("$token", "$distinct_id", "$ip", "$time", "$group_key", "$group_id"))
            props = record.get("properties", {})
            who = (record.get("$distinct_id") or record.get("$group_id") or props.get("distinct_id")
                   or ", ".join(props.get("$distinct_ids", [])))
            rows.append((event["type"], label, f"/{request.path}", f"{what}  ({who})"))
    widths = [max(len(str(r[i])) for r in rows) for i in range(3)]
    print(f"{'type':<{widths[0]}}  {'event':<{widths[1]}}  {'endpoint':<{widths[2]}}  record")
    for row in rows:
        print(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}")
    print(f"\n{len(session['events'])} RudderStack events → {len(rows)} Mixpanel requests."
          " Try: mpsim transform EVENT.json --config DEST.json")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Run a local Mixpanel until interrupted."""
    import time

    from .mixpanel import Simulator, serve

    sim = Simulator(token=args.token, identity_merge=args.identity_merge, api_secret=args.api_secret, now=args.now)
    with serve(sim, host=args.host, port=args.port, verbose=True) as server:
        print(f"mpsim: a {args.identity_merge} ID-merge Mixpanel is listening on {server.url}"
              f" (/track /import /engage /groups); Ctrl-C stops it", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    print(f"mpsim: stopped; it had received {sim.summary()}")
    return 0


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
    p.add_argument("--identity-merge", choices=["original", "simplified"], default="original")
    p.add_argument("--now", help="freeze the clock (ISO 8601)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="run the built-in sample session")
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


if __name__ == "__main__":
    sys.exit(main())
