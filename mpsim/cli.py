"""The ``mpsim`` command line: a thin door onto the library."""

from __future__ import annotations

import argparse
import errno
import json
import os
import shlex
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn
from urllib.parse import urlencode

from ._files import Item, kind_name, read_json, read_records
from ._input_kinds import wrong_kind
from ._progress import Ticking, bar, ticked
from .errors import MpsimError, TransformError
from .notebook.views import Mapped
from .wording import article, capped_lines, capped_records, count, findings_by_rule, plural, ranges, severity_counts


def _records(path: str, what: str) -> list[Item]:
    """The values of a records file (JSON, JSON array or JSON Lines), each with its position."""
    return read_records(path, what)


def _events(path: str, what: str = "events file") -> list[Item]:
    """RudderStack events from a file: every value must be an object, and recognisably an event."""
    items = _records(path, what)
    for item in items:
        _check_event(item.value, what, path, item.where)
    return items


def _check_event(value: Any, what: str, path: str, where: str) -> None:
    if isinstance(value, list):
        raise MpsimError(f"{what} {path}, {where}: a list inside the list; give the events as one array "
                         "of objects or one object per line (JSON Lines)")
    hint = wrong_kind(value)
    if hint:
        raise MpsimError(f"{what} {path}, {where}: {hint}")
    if not isinstance(value, dict):
        raise MpsimError(f"{what} {path}, {where}: {kind_name(value)}, not an event object")


def _config(path: str | None, what: str = "config file") -> Any:
    if path is None:
        return None
    config = read_json(path, what)
    if not isinstance(config, dict):
        raise MpsimError(f"{what} {path} must hold one JSON object (the destination or its Config), "
                         f"not {kind_name(config)}")
    return config


def _event_label(number: int, message: Any) -> str:
    """``event 3 (track Order Completed)``: 1-based, as the file counts."""
    if not isinstance(message, dict):
        return f"event {number}"
    name, kind = message.get("event") or message.get("name") or "", message.get("type", "?")
    return f"event {number} ({kind}{' ' + str(name) if name else ''})"


def cmd_transform(args: argparse.Namespace) -> int:
    """Print the requests RudderStack sends for each event: its output as JSON, or the records per endpoint."""
    from .rudder import transform

    items = _events(args.event, "event file")
    config = _config(args.config) or {}
    output: list[Any] = []
    blocks: dict[tuple[str, str], tuple[Any, list[Any], list[int]]] = {}
    refused: list[str] = []
    for number, item in enumerate(items, start=1):
        try:
            requests = transform(item.value, config, now=args.now)
        except TransformError as exc:
            output.append(exc.to_rudder())
            refused.append(f"{_event_label(number, item.value)}: RudderStack refuses it: {exc} "
                           f"({exc.kind}, {exc.status_code})")
            continue
        output.extend(r.to_rudder() for r in requests)
        for request in requests:
            query = "?" + urlencode(request.params) if request.params else ""
            block = blocks.setdefault((request.method, request.url + query), (request, [], []))
            block[1].extend(json.loads(request.body_text()))
            block[2].append(number)
    if args.records:
        for (method, url), (_, records, numbers) in blocks.items():
            print(f"{method} {url} — {count(len(records), 'record')} from {plural('event', len(set(numbers)))} "
                  f"{ranges(numbers)}")
            print(json.dumps(records, indent=2, ensure_ascii=False) + "\n")
        if not blocks:
            print("No requests.")
        for line in refused:
            print(line)
    else:
        json.dump(output, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    return 1 if refused else 0


def cmd_conformance(args: argparse.Namespace) -> int:
    from .conformance import run_files

    results = run_files(args.files)
    failed = [r for r in results if not r.passed]
    for result in failed:
        print(result.report())
    passed = len(results) - len(failed)
    print(f"{passed} passed, {len(failed)} failed")
    return 1 if failed or not results else 0


def _dropped(result: Any, log_start: int) -> list[str]:
    """One line per record that did not make it: refused by RudderStack, rejected or discarded by Mixpanel."""
    lines = []
    exchanges = result.sim.log[log_start:]
    position = 0
    for step in result.steps:
        label = _event_label(step.index + 1, step.message)
        if step.error is not None:
            lines.append(f"{label}: RudderStack refused it: {step.error} ({step.error.kind}, {step.error.status_code})")
        for k in range(step.request_count):  # a long replay's clean steps keep only their outcome
            reply = step.replies[k] if k < len(step.replies) else None
            exchange = exchanges[position] if position < len(exchanges) else None
            position += 1
            if exchange is None:
                continue
            where = f"{label} → /{step.requests[k].path if k < len(step.requests) else exchange.request['endpoint']}"
            if reply is not None and not reply.ok and not exchange.records:
                lines.append(f"{where}: Mixpanel answered {reply.status}: {_short(reply.body)}")
            for record in exchange.records:
                many = len(exchange.records) > 1
                at = f"{where} record {record.index + 1}" if many else where
                if not record.ok:
                    field = f"{record.field}: " if record.field and record.field not in (record.message or "") else ""
                    lines.append(f"{at}: rejected by Mixpanel: {field}{record.message}")
                elif not record.stored and record.note:
                    lines.append(f"{at}: accepted but not stored: {record.note}")
    return lines


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _holds(sim: Any) -> str:
    summary = sim.summary()
    return (f"{count(summary['events'], 'event')}, {count(summary['users'], 'user')}, "
            f"{count(summary['profiles'], 'user profile')}, {count(summary['groups'], 'group profile')}")


def _print_story(result: Any, findings: Any, rows: int, log_start: int = 0, *, command: str = "mpsim validate FILE",
                 numbering: dict[str, Any] | None = None) -> None:
    """The answer first: who the users are, what was refused or dropped and why, what is wrong; then tables.

    Every list and table is cut to its head and tail (``rows`` lines), and only the rows shown are
    built, so a long log prints a page, not megabytes. The text is made first (with a progress bar
    on stderr for a big project) and printed at once.
    """
    import pandas as pd

    from .notebook.views import event_records, group_records, profile_records

    sim = result.sim
    lines: list[str] = []
    say = lines.append
    with bar(len(result.steps), "summarising", "part", total=9) as progress:
        requests = sum(s.request_count for s in result.steps)
        say(f"{count(len(result.steps), 'RudderStack event')} → {count(requests, 'Mixpanel request')}. "
            f"Mixpanel now holds {_holds(sim)} ({sim.identity_merge} ID merge).")
        if result.project is not None and result.project.note:
            say(result.project.note)
        progress.update()

        clusters = sim.clusters()
        say(f"\nUsers ({len(clusters)})")
        users = Mapped(list(clusters.items()), lambda item: item[0] + (
            f" ← {', '.join(i for i in item[1] if i != item[0])}" if len(item[1]) > 1 else ""))
        lines += capped_lines(users, max(rows, 1), "user")
        progress.update()

        refusals = Counter((r.kind, r.ids, r.reason, r.description) for r in sim.refused_merges)
        if refusals:
            say(f"\nRefused merges ({len(sim.refused_merges)})")
            lines += capped_lines(Mapped(list(refusals.items()), lambda item: (
                f"{item[0][0]} {' + '.join(item[0][1])}{f' ×{item[1]}' if item[1] > 1 else ''}: "
                f"{item[0][2]} ({item[0][3]})")), max(rows, 1), "refused merge")
        progress.update()

        dropped = _dropped(result, log_start)
        if dropped:
            say(f"\nDropped ({count(len(dropped), 'record')})")
            lines += capped_lines(dropped, max(rows, 1) * 2, "dropped record")
        progress.update()

        lines += _findings_lines(findings, command=command, numbering=numbering or {},
                                 shown=result.project.note if result.project is not None else "")
        progress.update()

        tables = [("Events", event_records(sim)), ("User profiles", profile_records(sim)),
                  ("Group profiles", group_records(sim))]
        with pd.option_context("display.width", 160, "display.max_columns", 12, "display.max_colwidth", 40):
            for title, records in tables:
                if rows > 0 and len(records):
                    cut = f", the first {(rows + 1) // 2} and last {rows // 2}" if len(records) > rows else ""
                    say(f"\n{title} ({len(records)}{cut})")
                    say(capped_records(records, rows))
                progress.update()
        cut_anything = len(clusters) > max(rows, 1) or len(refusals) > max(rows, 1) or len(dropped) > max(rows, 1) * 2
        if (rows > 0 and any(len(records) > rows for _, records in tables)) or cut_anything:
            say(f"\n({EVENTS_OPTION_HINT})")
        progress.update()
    print("\n".join(lines))


def _findings_lines(findings: Any, *, command: str, numbering: dict[str, Any], shown: str = "") -> list[str]:
    lines = [f"\n{note}" for note in getattr(findings, "notes", []) if note != shown]
    lines.append(f"\nFindings: {severity_counts(list(findings))}")
    lines += [f"  {line}" for line in findings_by_rule(list(findings), **numbering)]
    if findings:
        lines.append(f"  ({command} --verbose lists each finding with its path and fix)")
    return lines


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


# the options of `mpsim validate` that change its findings (the same names on `simulate` where it has them)
VALIDATE_CONTEXT_FLAGS = ("--endpoint", "--config", "--token", "--project", "--identity-merge", "--group-keys", "--now")


def _validate_command(args: argparse.Namespace, path: str) -> str:
    """The `mpsim validate` line that checks the same data against the same destination and project.

    The "--verbose lists each finding" hint must give the findings just shown: without --config or
    --project the same file gives other findings (or none).
    """
    words = ["mpsim", "validate", path]
    for flag in VALIDATE_CONTEXT_FLAGS:
        value = getattr(args, flag.lstrip("-").replace("-", "_"), None)
        if value is not None:
            words += [flag, _iso_ms(value) if flag == "--now" else
                      f"{value:.0f}" if isinstance(value, float) and value.is_integer() else str(value)]
    return shlex.join(words)


def _iso_ms(ms: Any) -> str:
    """``--now`` as the user can read it again: ISO 8601 UTC (``2024-01-02T00:00:00Z``), not epoch milliseconds.

    The same text as JavaScript's ``toISOString`` (one formatter: ``to_iso``), without ``.000`` when the
    time falls on a whole second, and the value as given when it is no whole number of milliseconds.
    """
    from ._dates import to_iso

    try:
        if not float(ms).is_integer():
            raise ValueError(ms)
        text = to_iso(int(ms))
    except (ValueError, OverflowError, TypeError):
        return str(ms)
    return text.removesuffix(".000Z") + "Z" if text.endswith(".000Z") else text


def _replay_with_progress(events: Iterable[Any], config: Any, now: Any, project: Any, *, size: int | None = None,
                          desc: str = "replaying") -> Any:
    """``mpsim.replay`` with a bar on stderr for a long log (``size`` events when ``events`` has no length)."""
    from .replay import replay

    size = len(events) if size is None else size  # type: ignore[arg-type]
    with bar(size, desc, "event") as progress:
        return replay(ticked(events, progress), config, project=project, now=now, keep_events=True)


def cmd_simulate(args: argparse.Namespace) -> int:
    """Replay a log through the transformer and the simulator; print the story, then capped tables.

    A JSON Lines log is read as it is replayed (one bar: reading and replaying); then validation
    and the summary show their own bars. Only the head and tail of each list and table are built.
    """
    from ._lines import index_lines
    from ._progress import reporting

    lines = index_lines(args.events, "events file")
    events: Iterable[Any]
    if lines is not None:
        events = _checked_events(lines, args.events, lines.numbers)
        size, numbering, desc = len(lines), {"numbers": lines.numbers, "noun": "line"}, "reading and replaying"
    else:
        items = _events(args.events)
        events, size, numbering, desc = [item.value for item in items], len(items), _numbering(items), "replaying"
    config = _config(args.config) or {}
    project: Any = _project_arg(args, config)
    log_start = 0
    if args.resume:
        from .mixpanel import Simulator

        project = Simulator.from_snapshot(args.resume, **(project or {}))
        log_start = len(project.log)
    result = _replay_with_progress(events, config, args.now, project, size=size, desc=desc)
    with reporting("event"):
        findings = result.findings
    command = _validate_command(args, args.events)
    _print_story(result, findings, args.events_rows, log_start, command=command, numbering=numbering)
    if args.save:
        _save(result.sim, args.save)
    return 0


def _checked_events(values: Iterable[Any], path: str, numbers: Sequence[int]) -> Iterator[Any]:
    """The events of a streamed log, each checked as ``_events`` checks a file read whole."""
    for number, value in zip(numbers, values, strict=True):
        _check_event(value, "events file", path, f"line {number}")
        yield value


def _save(sim: Any, path: str) -> None:
    text = sim.snapshot(f"mpsim simulate --save {path}").to_json(indent=1)
    try:
        with open(path, "w", encoding="utf-8") as out:
            out.write(text + "\n")
    except OSError as exc:
        raise MpsimError(f"cannot write the state to {path}: {exc.strerror}") from None
    print(f"\nSaved the state to {path} (mpsim simulate --resume {path} continues it; "
          f"mpsim diff A.json B.json compares two)")


def cmd_demo(args: argparse.Namespace) -> int:
    """Replay the built-in sample session and show what Mixpanel ends up holding."""
    from .samples import sample_session

    session = sample_session()
    print(session["description"] + "\n")
    result = _replay_with_progress(session["events"], session["destination"], session["now"], None)
    for step in result.steps:
        targets = ", ".join(f"/{r.path}" for r in step.requests) or "nothing"
        print(f"  {_event_label(step.index + 1, step.message):<34} → {targets}")
    print()
    _print_story(result, result.findings, args.events_rows, command="mpsim validate EVENTS.jsonl")
    print("\nNext: mpsim transform EVENT.json --config DEST.json, or open notebooks/01-quickstart.ipynb")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Run a local Mixpanel until interrupted."""
    import time

    from .mixpanel import Simulator, serve

    sim = Simulator(token=args.token, identity_merge=args.identity_merge, api_secret=args.api_secret, now=args.now)
    rudder = read_json(args.rudder, "destination file") if args.rudder else None
    if rudder is not None and (args.legacy_answers or args.no_dedup):
        from .rudder.dataplane import DataPlane

        rudder = DataPlane(sim, rudder, write_key=args.write_key, legacy_answers=args.legacy_answers,
                           dedup=not args.no_dedup)
    elif rudder is None and (args.legacy_answers or args.no_dedup):
        raise MpsimError("--legacy-answers and --no-dedup set the RudderStack data plane: give --rudder DEST.json too")
    with _listening(args.host, args.port):
        server = serve(sim, host=args.host, port=args.port, verbose=True, rudder=rudder, write_key=args.write_key,
                       insecure=args.insecure, tls=args.tls, tls_dir=args.tls_dir)
    with server:
        _stop_on_sigterm()  # before the first line: whoever reads it may stop the server at once
        try:
            print(f"mpsim: {article(args.identity_merge)} ID-merge Mixpanel is listening on {server.url}"
                  f" (/track /import /engage /groups); Ctrl-C stops it", flush=True)
            if server.rudder is not None:
                print(f"mpsim: RudderStack data plane URL {server.url} (/v1/*, beacon, pixel, /sourceConfig/), write key "
                      f"{args.write_key or 'any'}", flush=True)
            print(f"mpsim: control API and live page: {server.url}/_mpsim/", flush=True)
            if server.ca_path:
                print(f"mpsim: HTTPS certificate signed by the local CA {server.ca_path} (trust that file in clients)",
                      flush=True)
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    for line in _stop_lines(sim, server.rudder):
        print(f"mpsim: {line}")
    return 0


def _stop_lines(sim: Any, rudder: Any = None) -> list[str]:
    """What ``mpsim serve`` says when stopped: what the data plane received, stored and dropped, what Mixpanel holds."""
    from .mixpanel.explain import dropped_lines

    lines = ["stopped"]
    if rudder is not None:
        counts = rudder.summary()
        dropped = ", ".join(f"{n} {key}" for key, n in counts.items() if key.startswith("dropped") and n)
        lines.append(f"the RudderStack data plane received {count(counts['events'], 'event')} in "
                     f"{count(counts['requests'], 'request')}: {counts['stored']} stored, "
                     f"{counts['delivered']} delivered to Mixpanel" + (f", {dropped}" if dropped else ""))
    lines.append(f"Mixpanel holds {_holds(sim)}")
    lines += dropped_lines(sim)  # Mixpanel's own drops and the data plane's (by gate and reason)
    return lines


def _stop_on_sigterm() -> None:
    """``kill``, ``docker stop`` and CI runners stop a server with SIGTERM, and a server started with ``&``
    from a script ignores Ctrl-C: treat SIGTERM like Ctrl-C, so the server still stops cleanly and
    prints what it received."""
    import signal

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


@contextmanager
def _listening(host: str, port: int) -> Iterator[None]:
    """Binding errors in one line: port in use, no permission, unknown host, not this machine's address."""
    import socket

    try:
        socket.getaddrinfo(host, None)  # before the server warns about the host it will not get
        yield
    except socket.gaierror:
        raise MpsimError(f"unknown host {host!r}: give a name or address of this machine, such as 127.0.0.1") from None
    except OverflowError:
        raise MpsimError(f"port {port} is out of range: use 1-65535, or 0 for a free one") from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise MpsimError(f"port {port} on {host} is in use: pick another with --port, or --port 0 for a "
                             "free one") from None
        if exc.errno == errno.EACCES:
            raise MpsimError(f"no permission to listen on port {port} (ports below 1024 need root): "
                             "use --port 8080 or --port 0") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise MpsimError(f"cannot listen on {host}: it is not an address of this machine") from None
        raise MpsimError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def cmd_validate(args: argparse.Namespace) -> int:
    """Lint events or records; the answer first (one line per rule, errors first); exit 1 on errors.

    A JSON Lines file is read a line at a time (no record is held; memory grows with the findings and an
    offset per line); a progress bar on stderr shows the records checked, then the cross-event rules run.
    """
    from ._lines import index_lines
    from .validation import Findings, Validation, group_keys_in

    lines = index_lines(args.file, "file")
    records: Sequence[Any]
    numbering: dict[str, Any]
    if lines is not None:
        records, numbering, seen = lines, {"numbers": lines.numbers, "noun": "line"}, lines.group_keys
    else:
        items = _records(args.file, "file")
        records, numbering = [item.value for item in items], _numbering(items)
        seen = group_keys_in(records)
    config = _config(args.config)
    group_keys = [k.strip() for k in args.group_keys.split(",") if k.strip()] if args.group_keys is not None else None
    project = _project_arg(args, config) if args.project is not None or config is not None else None
    run = Validation(endpoint=args.endpoint, now=args.now, token=args.token, config=config,
                     identity_merge=args.identity_merge, group_keys=group_keys, project=project, seen_group_keys=seen)
    found = list(run.setup_findings)
    with bar(len(records), "validating") as progress:
        for index, record in enumerate(records):
            found += [_without_value(f) for f in run.check(record, index)]
            progress.update()
    with bar(len(records), "across records", "rule", total=len(run.cross_rules)) as progress:
        found += run.cross(records, Ticking(run.cross_rules, progress))
    findings = Findings(found, run.notes)
    print(f"{count(len(records), 'record')} checked: {severity_counts(list(findings))}")
    for note in findings.notes:
        print(note)
    if findings:
        print()
        for line in findings_by_rule(list(findings), verbose=args.verbose, per_rule=args.limit, **numbering):
            print(line)
        if not args.verbose:
            print(f"\n({_validate_command(args, args.file)} --verbose lists each finding with its path and fix)")
    errors = len(findings.errors)
    if errors:
        print(f"\nExit 1: {count(errors, 'error')} — Mixpanel or RudderStack would reject or drop this data.")
    return 1 if errors else 0


def _without_value(finding: Any) -> Any:
    """The CLI prints paths and messages, never values: a finding on a whole record need not keep the record."""
    if isinstance(finding.value, (dict, list)):
        from dataclasses import replace

        return replace(finding, value=None)
    return finding


def _numbering(items: Sequence[Item]) -> dict[str, Any]:
    """Findings name JSON Lines records by their line in the file, other records by their place (from 1)."""
    if items and all(item.where.startswith("line ") for item in items):
        return {"numbers": [int(item.where.split()[1]) for item in items], "noun": "line"}
    return {}


def cmd_diff(args: argparse.Namespace) -> int:
    """Print what changed from file A to file B: payloads, transform outputs, or two saved states."""
    from .diff import diff
    from .mixpanel.saved import is_saved_state, load_snapshot

    values = []
    for path in (args.a, args.b):
        items = _records(path, "file")
        # a file holding one value is that value; a JSON array (even of one item, as `mpsim transform`
        # prints for an event that makes one request) stays a list, so it compares with other arrays
        whole = len(items) == 1 and not items[0].where.startswith("item ")
        values.append(items[0].value if whole else [item.value for item in items])
    a, b = values
    states = [is_saved_state(v) for v in (a, b)]
    if all(states):
        result = diff(load_snapshot(a), load_snapshot(b))
    elif any(states):
        saved, other = (args.a, args.b) if states[0] else (args.b, args.a)
        raise MpsimError(f"{saved} is a saved state and {other} is not: diff compares two states or two payloads")
    else:
        result = diff(a, b)
    if not result:
        print("No differences.")
        return 0
    kinds = Counter(change.kind for change in result)
    print(f"{count(len(result), 'difference')}: " + ", ".join(f"{n} {kind}" for kind, n in kinds.items()))
    print(result.to_text())
    return 1


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


class _Parser(argparse.ArgumentParser):
    """argparse with mpsim's one-line errors: ``mpsim: error: …`` and exit status 2."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("mpsim").strip()
        hint = f" (mpsim {command} --help)" if command else " (mpsim --help)"
        self.exit(2, f"mpsim: error: {message}{hint}\n")


def _time_arg(text: str) -> float:
    """``--now``: ISO 8601, epoch seconds or milliseconds (the library's one rule)."""
    from ._time import TimeArgumentError, epoch_ms

    try:
        return epoch_ms(text)
    except TimeArgumentError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time: use ISO 8601 (2024-03-02T00:00:00Z) or epoch "
                                         "seconds or milliseconds") from None


def _port_arg(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is out of range: use 1-65535, or 0 for a free one")
    return port


def _rows_arg(text: str) -> int:
    if text.strip().lower() == "all":
        return sys.maxsize
    try:
        rows = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of rows (or 'all')") from None
    if rows < 0:
        raise argparse.ArgumentTypeError("the number of rows cannot be negative")
    return rows


NOW_HELP = "freeze the clock: ISO 8601, or epoch seconds or milliseconds (abs(t) < 1e10 is seconds)"
EVENTS_HELP = "rows shown per list and table, the first and last halves (default 10; 0 shows no tables; all)"
EVENTS_OPTION_HINT = "--events N shows N rows of each list and table, --events all every row, --events 0 no tables"


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="mpsim", description="RudderStack → Mixpanel, simulated.")
    parser.add_argument("--version", action="version", version=f"mpsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("transform", help="print the Mixpanel requests RudderStack sends for an event")
    p.add_argument("event", help="RudderStack events: one JSON object, an array or JSON Lines (- for stdin)")
    p.add_argument("--config", help="destination JSON file: RudderStack's destination object or its Config")
    p.add_argument("--now", type=_time_arg, help=NOW_HELP + ", for the 5-year rule")
    p.add_argument("--records", action="store_true",
                   help="print the decoded records, one block per endpoint, instead of RudderStack's output JSON")
    p.set_defaults(func=cmd_transform)

    p = sub.add_parser("serve", help="run a local Mixpanel HTTP server")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=_port_arg, default=8080, help="port (0 picks a free one; default 8080)")
    p.add_argument("--token", help="project token (default: accept any)")
    p.add_argument("--api-secret", help="project secret accepted on /import")
    p.add_argument("--identity-merge", choices=["original", "simplified", "legacy"], default="original")
    p.add_argument("--now", type=_time_arg, help=NOW_HELP)
    p.add_argument("--tls", action="store_true", help="serve HTTPS with a certificate from a local CA (path printed)")
    p.add_argument("--tls-dir", help="keep (and reuse) the local CA in this folder; implies --tls")
    p.add_argument("--insecure", action="store_true",
                   help="allow binding beyond loopback without --token (anyone could write to it)")
    p.add_argument("--rudder", metavar="DEST.json",
                   help="also serve a RudderStack data plane delivering through this Mixpanel destination")
    p.add_argument("--write-key", help="the RudderStack source's write key (default: accept any)")
    p.add_argument("--legacy-answers", action="store_true",
                   help="answer like RudderStack servers before v1.46.0 ('OK', 'Invalid Write Key')")
    p.add_argument("--no-dedup", action="store_true",
                   help="keep events with a messageId seen within the hour (open-source server default)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("simulate", help="replay a log through RudderStack's transformer into a simulated Mixpanel")
    p.add_argument("events", help="events file: JSON Lines, a JSON array or one JSON object (- for stdin)")
    p.add_argument("--config", help="destination JSON file: RudderStack's destination object or its Config")
    p.add_argument("--project", help=PROJECT_HELP)
    p.add_argument("--identity-merge", choices=["original", "simplified", "legacy"], help=IDENTITY_MERGE_HELP)
    p.add_argument("--now", type=_time_arg, help=NOW_HELP)
    p.add_argument("--events", dest="events_rows", type=_rows_arg, default=10, metavar="N", help=EVENTS_HELP)
    p.add_argument("--save", metavar="STATE.json", help="save the resulting state (mpsim.load_snapshot reads it)")
    p.add_argument("--resume", metavar="STATE.json", help="start from a saved state instead of an empty project")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("validate", help="check events or records against Mixpanel's and RudderStack's rules")
    p.add_argument("file", help="JSON Lines, a JSON array or one JSON object (- for stdin)")
    p.add_argument("--endpoint", choices=["track", "import", "engage", "groups"], help="where the records go")
    p.add_argument("--config", help="RudderStack destination JSON, used to transform RudderStack events")
    p.add_argument("--token", help="the project token, to catch records sent with another one")
    p.add_argument("--project", help=PROJECT_HELP)
    p.add_argument("--identity-merge", choices=["original", "simplified", "legacy"], help=IDENTITY_MERGE_HELP)
    p.add_argument("--group-keys", help="the group keys declared in the Mixpanel project, comma-separated")
    p.add_argument("--now", type=_time_arg, help="the clock for time rules: ISO 8601, or epoch seconds or ms")
    p.add_argument("-v", "--verbose", "--details", dest="verbose", action="store_true",
                   help="list each finding with its path and fix under its rule")
    p.add_argument("--limit", type=_rows_arg, default=None, metavar="N",
                   help="with --verbose, at most N findings per rule")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("diff", help="show what changed between two files: payloads, transform outputs or saved states")
    p.add_argument("a", help="the file before (JSON, JSON Lines, mpsim transform output or a saved state)")
    p.add_argument("b", help="the file after")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("repro", help="replay support-case bundles and check their expectations")
    p.add_argument("bundles", nargs="+", help="bundle JSON files (see fixtures/cases/)")
    p.add_argument("--project", help="Mixpanel project settings JSON file; replaces each bundle's 'project' block")
    p.set_defaults(func=cmd_repro)

    p = sub.add_parser("demo", help="replay the built-in sample session")
    p.add_argument("--events", dest="events_rows", type=_rows_arg, default=10, metavar="N", help=EVENTS_HELP)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("conformance", help="run reference case files and report N passed, M failed")
    p.add_argument("files", nargs="+", help="case files in the shared/conformance format")
    p.set_defaults(func=cmd_conformance)

    from .scale.cli import add_scale_parser

    add_scale_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except MpsimError as exc:
        print(f"mpsim: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader stopped early (`mpsim demo | head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("mpsim: interrupted", file=sys.stderr)
        return 130
    except ImportError as exc:
        # an optional dependency that is not installed (`serve --tls` without trustme): the message says
        # what to install; it is not a bug in mpsim
        print(f"mpsim: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a bug of ours still gets one line, and the way to see more
        if os.environ.get("MPSIM_TRACEBACK"):
            raise
        print(f"mpsim: error: unexpected {type(exc).__name__}: {_one_line(str(exc))} (a bug in mpsim: "
              "MPSIM_TRACEBACK=1 shows where)", file=sys.stderr)
        return 2


def _one_line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
