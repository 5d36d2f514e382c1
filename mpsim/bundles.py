"""Support-case bundles: one JSON file that reproduces a ticket, and checks the fix.

A bundle holds a description, the customer's destination config, the events, and expectations
about the resulting Mixpanel state. ``fix`` (optional) holds config overrides, project-setting
overrides and/or replacement events, with the expectations that must hold once fixed. ``mpsim repro BUNDLE.json`` replays both
and reports each expectation; ``bundle_params`` turns a folder of bundles into pytest cases, so a
fixed ticket becomes a regression test::

    {"title": "...", "ticket": "SUP-123", "description": "...",
     "destination": {"Config": {...}}, "now": "2024-03-02T00:00:00Z",
     "project": {"token": "...", "identity_merge": "original", "group_keys": ["company_id"]},
     "events": [ RudderStack events, or {"mixpanel": {"endpoint": "track", "records": [...]}} ],
     "expect": [{"profile": "u1", "property": "$first_name", "equals": "Ada"},
                {"same_user": ["d1", "u1"]}],
     "fix": {"config": {"useNewMapping": true}, "expect": [...], "note": "..."}}
"""

from __future__ import annotations

import copy
import html
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._files import read_json
from ._js import strict_equal
from .errors import MpsimError
from .mixpanel import Simulator, WireRequest
from .project import check_project_keys, resolve_project
from .replay import Replay, Step, run_step
from .validation import validate

_MISSING = object()


class BundleError(MpsimError):
    """A bundle file that cannot be used, with the reason."""


def _quoted(value: Any) -> str:
    """A value as JSON for reading: 'Project Settings → Group Keys', not '\\u2192'."""
    return json.dumps(value, ensure_ascii=False, default=str)


@dataclass
class Outcome:
    """One expectation, checked."""

    expectation: dict[str, Any]
    text: str
    met: bool
    actual: Any = None


@dataclass
class Run:
    """A bundle replayed under one configuration."""

    label: str
    replay: Replay
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(o.met for o in self.outcomes)


@dataclass
class Report:
    """The result of ``repro``: the run as reported and, when the bundle has one, the run with the fix."""

    bundle: dict[str, Any]
    runs: list[Run]

    @property
    def ok(self) -> bool:
        return all(run.ok for run in self.runs)

    def text(self) -> str:
        lines = [f"{self.bundle.get('ticket', '')} {self.bundle.get('title', '')}".strip()]
        for run in self.runs:
            lines.append(f"  {run.label}:")
            for o in run.outcomes:
                mark = "met    " if o.met else "NOT MET"
                detail = "" if o.met else f" (actual: {_quoted(o.actual)})"
                lines.append(f"    {mark} {o.text}{detail}")
        met = sum(o.met for run in self.runs for o in run.outcomes)
        total = sum(len(run.outcomes) for run in self.runs)
        lines.append(f"{met} of {total} expectations met")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from .notebook.views import badge, output_html

        parts = [f"<h4>{html.escape(str(self.bundle.get('ticket', '')))} {html.escape(self.bundle.get('title', ''))}</h4>",
                 f"<p>{html.escape(self.bundle.get('description', ''))}</p>"]
        for run in self.runs:
            rows = "".join(f"<li>{badge('✔ met' if o.met else '✘ not met', 'ok' if o.met else 'error')} "
                           f"{html.escape(o.text)}{'' if o.met else ' — actual: ' + html.escape(_quoted(o.actual))}</li>"
                           for o in run.outcomes)
            parts.append(f"<b>{html.escape(run.label)}</b><ul>{rows}</ul>")
        return output_html("".join(parts), "bundle")


# --------------------------------------------------------------------------- expectations, as a table
def _properties_check(profile: dict[str, Any] | None, e: dict[str, Any]) -> tuple[bool, Any]:
    """``exists``, ``absent`` or ``equals`` on a user or group profile."""
    if "property" not in e:
        return (profile is not None) == bool(e.get("exists", True)), profile
    value = (profile or {}).get(e["property"], _MISSING)
    actual = None if value is _MISSING else value
    if e.get("absent"):
        return value is _MISSING, actual
    return value is not _MISSING and strict_equal(value, e["equals"]), actual


def _profile(run: Replay, e: dict[str, Any]) -> tuple[bool, Any]:
    return _properties_check(run.sim.profile(e["profile"]), e)


def _group(run: Replay, e: dict[str, Any]) -> tuple[bool, Any]:
    key, gid = e["group"]
    return _properties_check(run.sim.group(key, gid), e)


def _same_user(run: Replay, e: dict[str, Any]) -> tuple[bool, Any]:
    canonicals = {i: run.sim.canonical(i) for i in e["same_user"]}
    return len(set(canonicals.values())) == 1, canonicals


def _different_users(run: Replay, e: dict[str, Any]) -> tuple[bool, Any]:
    canonicals = {i: run.sim.canonical(i) for i in e["different_users"]}
    return len(set(canonicals.values())) == len(canonicals), canonicals


def _events(run: Replay, e: dict[str, Any]) -> tuple[bool, Any]:
    frame = run.sim.events
    if "event" in e:
        frame = frame[frame["event"] == e["event"]]
    if "distinct_id" in e:
        frame = frame[frame["distinct_id"] == run.sim.canonical(e["distinct_id"])]
    return len(frame) == e["events"], len(frame)


def _group_events(run: Replay, e: dict[str, Any]) -> tuple[bool, Any]:
    key, gid = e["group_events"]
    count = sum(f"{key}={gid}" in groups for groups in run.sim.events["groups"])
    return count == e["count"], count


def _refused(run: Replay, e: dict[str, Any]) -> tuple[bool, Any]:
    reasons = [r.reason for r in run.sim.refused_merges]
    return e["refused_merge"] in reasons, reasons


def _no_refusals(run: Replay, e: dict[str, Any]) -> tuple[bool, Any]:
    reasons = [r.reason for r in run.sim.refused_merges]
    return not reasons, reasons


def _transform_error(run: Replay, e: dict[str, Any]) -> tuple[bool, Any]:
    messages = [s.error.message for s in run.transform_errors if s.error is not None]
    return any(e["transform_error"] in m for m in messages), messages


def _no_transform_errors(run: Replay, e: dict[str, Any]) -> tuple[bool, Any]:
    messages = [s.error.message for s in run.transform_errors if s.error is not None]
    return not messages, messages


def _finding(run: Replay, e: dict[str, Any]) -> tuple[bool, Any]:
    found = [f for f in run.findings if f.rule == e["finding"]] if run.findings is not None else []
    if "contains" in e:
        found = [f for f in found if e["contains"] in f"{f.message} {f.fix}"]
        actual: Any = [f"{f.message} fix: {f.fix}" for f in run.findings.by_rule(e["finding"])] \
            if run.findings is not None else []
    else:
        actual = sorted(run.findings.rules()) if run.findings is not None else []
    return bool(found) != bool(e.get("absent")), actual


def _explain(run: Replay, e: dict[str, Any]) -> tuple[bool, Any]:
    ids = e["explain"] if isinstance(e["explain"], list) else [e["explain"]]
    if not 1 <= len(ids) <= 2:
        raise ValueError("'explain' takes one id or a list of two")
    text = str(run.sim.explain(*ids))
    return e["contains"] in text, text


def _explain_profile(run: Replay, e: dict[str, Any]) -> tuple[bool, Any]:
    text = str(run.sim.explain_profile(e["explain_profile"], e.get("property")))
    return e["contains"] in text, text


def _dropped(run: Replay, e: dict[str, Any]) -> tuple[bool, Any]:
    dropped = run.sim.dropped()
    count = sum(n for reason, n in dropped.items() if e["dropped"] in reason)
    return (count == e["count"]) if "count" in e else count > 0, dropped


#: expectation key → (check, how it reads)
EXPECTATIONS: dict[str, tuple[Callable[[Replay, dict[str, Any]], tuple[bool, Any]], Callable[[dict[str, Any]], str]]] = {
    "profile": (_profile, lambda e: f"profile {e['profile']} " + (
        ("exists" if e["exists"] else "does not exist") if "exists" in e else
        f"has no {e['property']}" if e.get("absent") else f"has {e['property']} = {_quoted(e['equals'])}")),
    "group": (_group, lambda e: f"group {e['group'][0]}={e['group'][1]} " + (
        "exists" if "property" not in e else f"has no {e['property']}" if e.get("absent")
        else f"has {e['property']} = {_quoted(e['equals'])}")),
    "same_user": (_same_user, lambda e: f"{', '.join(e['same_user'])} are one user"),
    "different_users": (_different_users, lambda e: f"{', '.join(e['different_users'])} are different users"),
    "events": (_events, lambda e: f"{e['events']} {e['event'] + ' ' if 'event' in e else ''}event(s)"
               + (f" for {e['distinct_id']}" if "distinct_id" in e else "")),
    "group_events": (_group_events, lambda e: f"{e['count']} event(s) count toward group "
                     f"{e['group_events'][0]}={e['group_events'][1]}"),
    "refused_merge": (_refused, lambda e: f"Mixpanel refuses a merge with {e['refused_merge']}"),
    "no_refused_merges": (_no_refusals, lambda e: "Mixpanel refuses no merge"),
    "transform_error": (_transform_error, lambda e: f"RudderStack refuses an event: {e['transform_error']}"),
    "no_transform_errors": (_no_transform_errors, lambda e: "RudderStack refuses no event"),
    "explain": (_explain, lambda e: f"explain({', '.join(map(repr, e['explain'] if isinstance(e['explain'], list) else [e['explain']]))}) "
                f"says {_quoted(e['contains'])}"),
    "explain_profile": (_explain_profile, lambda e: f"explain_profile({e['explain_profile']!r}"
                        + (f", {e['property']!r}" if "property" in e else "") + f") says {_quoted(e['contains'])}"),
    "dropped": (_dropped, lambda e: (f"{e['count']} record(s)" if "count" in e else "records") +
                f" dropped for a reason naming {_quoted(e['dropped'])}"),
    "finding": (_finding, lambda e: f"validation {'does not find' if e.get('absent') else 'finds'} {e['finding']}"
                + (f" naming {_quoted(e['contains'])}" if "contains" in e else "")),
}


#: expectation key → every key an expectation of that kind may hold
EXPECTATION_KEYS: dict[str, tuple[str, ...]] = {
    "profile": ("profile", "property", "equals", "exists", "absent"),
    "group": ("group", "property", "equals", "exists", "absent"),
    "same_user": ("same_user",),
    "different_users": ("different_users",),
    "events": ("events", "event", "distinct_id"),
    "group_events": ("group_events", "count"),
    "refused_merge": ("refused_merge",),
    "no_refused_merges": ("no_refused_merges",),
    "transform_error": ("transform_error",),
    "no_transform_errors": ("no_transform_errors",),
    "finding": ("finding", "absent", "contains"),
    "explain": ("explain", "contains"),
    "explain_profile": ("explain_profile", "property", "contains"),
    "dropped": ("dropped", "count"),
}


def check(run: Replay, expectation: dict[str, Any]) -> Outcome:
    key = next((k for k in expectation if k in EXPECTATIONS), None)
    if key is None:
        raise BundleError(f"unknown expectation {json.dumps(expectation)}; use one of {', '.join(EXPECTATIONS)}")
    checker, describe = EXPECTATIONS[key]
    try:
        met, actual = checker(run, expectation)
        text = describe(expectation)
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"expectation {json.dumps(expectation)} is incomplete: {exc}") from None
    return Outcome(expectation, text, bool(met), actual)


# --------------------------------------------------------------------------- loading and running
def load_bundle(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    bundle = read_json(path, "bundle", BundleError)
    if not isinstance(bundle, dict) or not isinstance(bundle.get("events"), list) or not bundle.get("expect"):
        raise BundleError(f"bundle {path} needs 'events' (a list) and 'expect' (a list of expectations)")
    check_bundle_keys(bundle, str(path))
    bundle.setdefault("_path", str(path))
    return bundle


#: Keys a bundle may have, at the top and in ``fix``; anything else is a typo that would be ignored.
BUNDLE_KEYS = ("title", "ticket", "description", "destination", "config", "now", "project", "events", "expect",
               "fix", "notes", "tags", "_path")
FIX_KEYS = ("config", "project", "events", "expect", "note")


def _unknown(keys: Any, allowed: tuple[str, ...], where: str) -> None:
    from .project import did_you_mean

    for key in keys:
        if key not in allowed:
            hint = did_you_mean(str(key), [a for a in allowed if not a.startswith("_")])
            raise BundleError(f"{where} has an unknown key {key!r}" + (f" (did you mean {hint!r}?)" if hint else "")
                              + f"; allowed: {', '.join(a for a in allowed if not a.startswith('_'))}")


def check_bundle_keys(bundle: dict[str, Any], name: str = "bundle") -> None:
    """Refuse unknown keys anywhere in a bundle (top level, project, fix, expectations), listing the allowed ones."""
    from .project import ProjectError

    _unknown(bundle, BUNDLE_KEYS, name)
    fix = bundle.get("fix") or {}
    if not isinstance(fix, dict):
        raise BundleError(f"{name}: 'fix' must be an object with {', '.join(FIX_KEYS)}")
    _unknown(fix, FIX_KEYS, f"{name} 'fix'")
    _check_kinds(bundle, fix, name)
    for where, block in ((f"{name} 'project'", bundle.get("project")), (f"{name} 'fix.project'", fix.get("project"))):
        if block is None:
            continue
        if not isinstance(block, dict):
            raise BundleError(f"{where} must be an object of Simulator settings")
        try:
            check_project_keys(block, where)
        except ProjectError as exc:
            raise BundleError(str(exc)) from None
    for where, expectations in (("expect", bundle.get("expect")), ("fix.expect", fix.get("expect"))):
        for expectation in expectations or []:
            key = next((k for k in expectation if k in EXPECTATIONS), None) if isinstance(expectation, dict) else None
            if key is None:
                raise BundleError(f"{name}: unknown expectation {json.dumps(expectation)} in {where}; "
                                  f"use one of {', '.join(EXPECTATIONS)}")
            _unknown(expectation, EXPECTATION_KEYS[key], f"{name}: expectation {json.dumps(expectation)} in {where}")


#: bundle blocks whose kind is checked up front: (where, how to get it, kind, what it must be)
_BLOCK_KINDS: list[tuple[str, Any, type, str]] = [
    ("destination", lambda b, f: b.get("destination", b.get("config")), dict,
     "an object (RudderStack's destination or its Config)"),
    ("fix.config", lambda b, f: f.get("config"), dict, "an object of destination settings"),
    ("fix.events", lambda b, f: f.get("events"), list, "a list of events"),
]


def _check_kinds(bundle: dict[str, Any], fix: dict[str, Any], name: str) -> None:
    """Wrong kinds of blocks are named here, in one line, rather than met deep inside a replay."""
    from ._time import TimeArgumentError, epoch_ms

    for where, get, kind, noun in _BLOCK_KINDS:
        value = get(bundle, fix)
        if value is not None and not isinstance(value, kind):
            raise BundleError(f"{name}: '{where}' must be {noun}")
    if bundle.get("now") is not None:
        try:
            epoch_ms(bundle["now"], f"{name}: 'now'")
        except TimeArgumentError as exc:
            raise BundleError(str(exc)) from None
    for where, events in (("events", bundle.get("events")), ("fix.events", fix.get("events"))):
        for index, item in enumerate(events or []):
            spec = item.get("mixpanel", {"records": []}) if isinstance(item, dict) else {"records": []}
            if not isinstance(spec, dict) or not isinstance(spec.get("records"), list):
                raise BundleError(f"{name}: '{where}[{index}].mixpanel' must be an object with 'records' (a list) "
                                  "and optionally 'endpoint'")


def _send_direct(sim: Simulator, item: dict[str, Any]) -> Step:
    """An event the customer sends straight to Mixpanel (an SDK beside RudderStack)."""
    spec = item["mixpanel"]
    endpoint = spec.get("endpoint", "track")
    body = json.dumps(spec["records"]).encode()
    headers = {"Content-Type": "application/json"}
    if endpoint == "import":
        import base64

        headers["Authorization"] = "Basic " + base64.b64encode(f"{sim.token or 'token'}:".encode()).decode()
    step = Step(-1, item)
    step.replies = [sim.handle(WireRequest("POST", f"https://api.mixpanel.com/{endpoint}?verbose=1", headers, body))]
    return step


def replay_bundle(bundle: dict[str, Any], config: dict[str, Any], events: list[Any],
                  project: dict[str, Any] | None = None) -> Replay:
    """Replay a bundle's events under ``config`` into a simulator set up as the bundle's project.

    The project block holds ``Simulator`` settings; settings it leaves out take the Simulator's
    defaults (not the destination's). A bundle without a project block runs against a project
    assumed to match the destination, and its report says so.
    """
    project = bundle.get("project") if project is None else project
    now = bundle.get("now")
    target = resolve_project(project, config, where="bundle 'project'")
    sim = target.simulator(now)
    steps = []
    for index, item in enumerate(events):
        if isinstance(item, dict) and "mixpanel" in item:
            step = _send_direct(sim, item)
            step.index = index
        else:
            step = run_step(sim, index, item, config, now)
        steps.append(step)
    result = Replay(sim, steps, project=target, destination=config, now=now)
    target.replay = result
    rudder_events = [e for e in events if not (isinstance(e, dict) and "mixpanel" in e)]
    result.findings = validate(rudder_events, now=now, config=config, project=target)
    return result


def _config_of(bundle: dict[str, Any]) -> dict[str, Any]:
    destination = bundle.get("destination", bundle.get("config", {}))
    config = destination.get("Config", destination) if isinstance(destination, dict) else {}
    return copy.deepcopy(config)


def repro(bundle: dict[str, Any] | str | Path) -> Report:
    """Replay a bundle as reported and, if it has a ``fix``, with the fix; check every expectation."""
    if not isinstance(bundle, dict):
        bundle = load_bundle(bundle)
    else:
        check_bundle_keys(bundle, str(bundle.get("_path", "bundle")))
    config = _config_of(bundle)
    reported = replay_bundle(bundle, config, bundle["events"])
    runs = [Run("as reported", reported, [check(reported, e) for e in bundle["expect"]])]
    fix = bundle.get("fix")
    if fix:
        fixed_config = {**config, **fix.get("config", {})}
        fixed_project = ({**bundle.get("project", {}), **fix["project"]} if "project" in fix
                         else bundle.get("project"))
        fixed = replay_bundle(bundle, fixed_config, fix.get("events", bundle["events"]), fixed_project)
        label = "with the fix" + (f" ({fix['note']})" if fix.get("note") else "")
        runs.append(Run(label, fixed, [check(fixed, e) for e in fix.get("expect", [])]))
    return Report(bundle, runs)


def bundle_files(folder: str | Path) -> list[Path]:
    return sorted(Path(folder).glob("*.json"))


def bundle_params(folder: str | Path) -> Any:
    """``@bundle_params("fixtures/cases")``: one pytest case per bundle, named after its file."""
    import pytest

    files = bundle_files(folder)
    return pytest.mark.parametrize("bundle", [str(f) for f in files], ids=[f.stem for f in files])


def assert_bundle(bundle: dict[str, Any] | str | Path) -> Report:
    """Replay a bundle and fail (AssertionError with the full report) if an expectation is not met."""
    report = repro(bundle)
    if not report.ok:
        raise AssertionError("\n" + report.text())
    return report
