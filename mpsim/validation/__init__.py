"""``mpsim.validate``: which of Mixpanel's (and RudderStack's) rules does this data break?

Accepts a RudderStack event, a Mixpanel event/profile/group record, an ``mpsim.Request``, or a list
of any of these. RudderStack events are checked as they are and also transformed (with ``config``,
or a minimal one), so what Mixpanel would receive is checked too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._dates import clock_ms
from .._messages import TOO_OLD
from .._progress import current as current_progress
from ..errors import TransformError
from ..request import Request
from .cross import CROSS_RULES, CrossRule, all_cross_rules, cross_event_findings
from .findings import Finding, Findings
from .mismatch import setup_record
from .rules import RULES, Context, Rule, active_rules, register, unregister
from .select import ROOT, Selector, compile_selector, join_path, parts_of

__all__ = ["CROSS_RULES", "Context", "CrossRule", "Finding", "Findings", "RULES", "Rule", "kind_of", "register",
           "Validation", "group_keys_in", "unregister", "validate"]

RUDDER_TYPES = frozenset({"track", "page", "screen", "identify", "alias", "group"})
PROFILE_KEYS = frozenset({"$set", "$set_once", "$add", "$union", "$append", "$remove", "$unset", "$delete"})
ENDPOINT_KINDS = {"import": "event", "track": "event", "engage": "profile", "groups": "group"}


def kind_of(obj: Any) -> str:
    """``rudder``, ``event``, ``profile``, ``group``, ``request`` or ``unknown``."""
    if isinstance(obj, Request):
        return "request"
    if not isinstance(obj, dict):
        return "unknown"
    if "type" in obj and ((isinstance(obj["type"], str) and obj["type"] in RUDDER_TYPES) or "messageId" in obj or "anonymousId" in obj
                          or "context" in obj):
        return "rudder"
    if "$group_key" in obj or "$group_id" in obj:
        return "group"
    if "$distinct_id" in obj or PROFILE_KEYS & obj.keys():
        return "profile"
    if "event" in obj or "properties" in obj:
        return "event"
    return "unknown"


def _plan(rules: list[Rule], kind: str) -> list[tuple[Selector, list[tuple[int, Rule]]]]:
    """The rules that look at ``kind`` records, grouped by selector: each distinct expression is walked
    once per record and its matches handed to every rule that asked for them."""
    groups: dict[str, list[tuple[int, Rule]]] = {}
    for position, rule in enumerate(rules):
        expression = rule.select.get(kind)
        if expression is not None:
            groups.setdefault(expression, []).append((position, rule))
    return [(compile_selector(expression), members) for expression, members in groups.items()]


def _check_record(record: Any, kind: str, ctx: Context, prefix: str, index: int | None,
                  plan: list[tuple[Selector, list[tuple[int, Rule]]]]) -> list[Finding]:
    """The findings of the planned rules on one record, in rule order (then match order).

    Paths are joined only for what is reported: on a clean record nothing but the checks runs.
    """
    found: dict[int, list[Finding]] = {}
    for selector, members in plan:
        for value, key, parents in selector.find(record):
            name = None if key is ROOT else key
            for position, rule in members:
                try:
                    detail = rule.check(value, name, ctx)
                except Exception as exc:  # a user rule must not hide the others
                    found.setdefault(position, []).append(Finding(
                        "rule-failed", "info", join_path(prefix, parts_of(key, parents)), None,
                        f"rule {rule.id!r} raised {type(exc).__name__}: {exc}", "", index, kind))
                    continue
                if detail is None:
                    continue
                parts = parts_of(key, parents)
                if rule.at:
                    parts += rule.at.split(".")
                fields = {"key": name, "detail": detail, "value": _short(value)}
                fix = rule.fix(name, detail, ctx) if callable(rule.fix) else rule.fix.format(**fields)
                found.setdefault(position, []).append(Finding(
                    rule.id, rule.severity_for(ctx.endpoint), join_path(prefix, parts), value,
                    rule.message.format(**fields), fix, index, kind))
    if not found:
        return []
    return [finding for position in sorted(found) for finding in found[position]]


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:59] + "…"


def group_keys_in(records: Iterable[Any]) -> set[str]:
    """The ``$group_key`` values of the Mixpanel group records among ``records`` (requests opened)."""
    seen = set()
    for item in records:
        for record in (item.records if isinstance(item, Request) else [item]):
            if isinstance(record, dict) and isinstance(record.get("$group_key"), str):
                seen.add(record["$group_key"])
    return seen


def _configured_group_keys(config: Mapping[str, Any] | None) -> set[str]:
    settings = (config or {}).get("groupKeySettings")
    if not isinstance(settings, list):
        return set()
    return {s["groupKey"] for s in settings if isinstance(s, dict) and isinstance(s.get("groupKey"), str)}


def validate(obj: Any, *, endpoint: str | None = None, now: Any = None, token: str | None = None,
             identity_merge: str | None = None, group_keys: Iterable[str] | None = None,
             config: Mapping[str, Any] | None = None, project: Any = None,
             rules: Iterable[Rule] = (), cross_rules: Iterable[CrossRule] = ()) -> Findings:
    """Check data against Mixpanel's rules (and RudderStack's, for RudderStack events).

    Parameters
    ----------
    obj:
        A RudderStack event, a Mixpanel event/profile/group record, an ``mpsim.Request``, or a list.
    endpoint:
        ``track``, ``import``, ``engage`` or ``groups`` where it matters (requests carry their own).
    now:
        The clock for time rules (datetime, ISO string or epoch ms); the real clock by default.
    config:
        RudderStack destination config (or destination object) used to transform RudderStack events.
    project:
        The Mixpanel project the data goes to: a dict of ``Simulator`` settings (``token``,
        ``identity_merge``, ``residency``, ``group_keys``, …) or a ``Simulator``. With both ``config``
        and ``project``, the findings include where the two disagree. Without a project it is assumed
        to match ``config`` and ``Findings.notes`` says so.
    token, identity_merge, group_keys:
        Single project settings; they override ``project`` (kept for callers that know only these).
    rules, cross_rules:
        Extra rules (per record, and across the records of a list) for this call only.
    """
    items = obj if isinstance(obj, list) else [obj]
    run = Validation(endpoint=endpoint, now=now, token=token, identity_merge=identity_merge, group_keys=group_keys,
                     config=config, project=project, rules=rules, cross_rules=cross_rules,
                     seen_group_keys=group_keys_in(items))
    findings = list(run.setup_findings)
    report = current_progress()  # the CLI's progress bars, when it asked for them
    for i, item in enumerate(report(items, "validating") if report else items):
        findings += run.check(item, i) if isinstance(obj, list) else run.check(item)
    if isinstance(obj, list):
        # one tick per cross rule: each reads the records its own way (some twice, some not at all)
        findings += run.cross(items, report(run.cross_rules, "across records", size=len(items), unit="rule")
                              if report else None)
    return Findings(findings, run.notes)


class Validation:
    """One validation, a record at a time: ``validate`` on a list, or a caller streaming a long log.

    ``seen_group_keys`` are the ``$group_key`` values the data carries (``group_keys_in``): a rule
    tells group keys the project does not declare, so they must be known before the first record.
    ``check`` gives one record's findings; ``cross`` the findings across all records (it reads
    ``items`` again, so a caller streaming a file passes a sequence that re-reads it).
    """

    def __init__(self, *, endpoint: str | None = None, now: Any = None, token: str | None = None,
                 identity_merge: str | None = None, group_keys: Iterable[str] | None = None,
                 config: Mapping[str, Any] | None = None, project: Any = None, rules: Iterable[Rule] = (),
                 cross_rules: Iterable[CrossRule] = (), seen_group_keys: Iterable[str] = ()) -> None:
        from ..project import destination_config, resolve_project

        raw_destination = config
        config = destination_config(config) if config is not None else None
        target = resolve_project(project, config) if project is not None or config is not None else None
        #: lines every summary shows besides the findings (e.g. that the project settings were assumed)
        self.notes: list[str] = [target.note] if target is not None and target.note else []
        if target is not None:
            token = token if token is not None else target.token
            identity_merge = identity_merge or target.identity_merge
            if group_keys is None and not target.assumed:
                group_keys = target.group_keys
        self.endpoint = endpoint
        self.rules = active_rules() + list(rules)
        self.cross_rules = all_cross_rules(cross_rules)
        self._plans: dict[str, list[tuple[Selector, list[tuple[int, Rule]]]]] = {}
        now_ms = int(clock_ms(now))
        self.base: dict[str, Any] = {
            "now_ms": now_ms, "token": token, "identity_merge": identity_merge,
            "group_keys": None if group_keys is None else frozenset(group_keys),
            "seen_group_keys": frozenset(set(seen_group_keys) | _configured_group_keys(config)), "config": config,
            "transform_config": {"token": token or "mpsim-validate", **(config or {})}, "project": target}
        self.setup_findings: list[Finding] = []
        if config is not None:
            setup = setup_record(raw_destination, config, target)
            self.setup_findings = self._check(setup, "setup", Context("setup", setup, **self.base), "", None)
        #: the destination's token is wrong: said once for the destination, not once per record
        self._token_said = any(f.rule == "token-mismatch" for f in self.setup_findings)

    def _check(self, record: Any, kind: str, ctx: Context, prefix: str, index: int | None) -> list[Finding]:
        plan = self._plans.get(kind)
        if plan is None:
            plan = self._plans[kind] = _plan(self.rules, kind)
        return _check_record(record, kind, ctx, prefix, index, plan) if plan else []

    def check(self, item: Any, index: int | None = None) -> list[Finding]:
        """The findings of one record; ``index`` is its place in the list (paths then start ``$[index]``)."""
        prefix = f"$[{index}]" if index is not None else ""
        found = self._one(item, prefix, index)
        if self._token_said:
            found = [f for f in found if f.rule not in ("token", "profile-token") or f.kind not in ("event", "profile", "group")
                     or "mixpanel[" not in f.path]
        return found

    def cross(self, items: Sequence[Any], rules: Iterable[CrossRule] | None = None) -> list[Finding]:
        """The findings no single record shows (shared devices, group keys never sent, lost traits).

        ``rules`` is ``self.cross_rules``, possibly read through a progress bar (a tick per rule)."""
        return cross_event_findings(items, self.base, self.cross_rules if rules is None else rules)

    def _one(self, item: Any, prefix: str, index: int | None) -> list[Finding]:
        kind = kind_of(item)
        base = self.base
        if kind == "unknown":
            return [Finding("unrecognised-record", "info", prefix or "$", item,
                            "Not a RudderStack event, a Mixpanel event/profile/group record or an mpsim.Request.",
                            "Pass events as {type, ...} (RudderStack) or {event, properties} (Mixpanel).", index, kind)]
        if kind == "request":
            ctx = Context("request", item, endpoint=item.path, **base)
            findings = self._check(item, "request", ctx, prefix, index)
            record_kind = ENDPOINT_KINDS.get(item.path, "event")
            for j, record in enumerate(item.records):
                ctx = Context(record_kind, record, endpoint=item.path, **base)
                findings += self._check(record, record_kind, ctx, f"{prefix}.records[{j}]", index)
            return findings
        if kind == "rudder":
            return self._rudder(item, prefix, index)
        ctx = Context(kind, item, endpoint=self.endpoint or {"profile": "engage", "group": "groups"}.get(kind), **base)
        return self._check(item, kind, ctx, prefix, index)

    def _rudder(self, message: dict[str, Any], prefix: str, index: int | None) -> list[Finding]:
        from ..rudder import transform

        base = self.base
        ctx = Context("rudder", message, **base)
        findings = self._check(message, "rudder", ctx, prefix, index)
        try:
            requests = transform(message, base["transform_config"], now=base["now_ms"])
        except TransformError as exc:
            if exc.message == TOO_OLD and any(f.rule == "rudderstack-five-years" for f in findings):
                return findings  # already explained, with the timestamp
            findings.append(Finding("rudderstack-error", "error", prefix or "$", message.get("type"),
                                    f"RudderStack refuses the event: {exc.message}",
                                    "configuration" in exc.kind and "Fix the destination settings." or
                                    "Fix the event so RudderStack's Mixpanel destination accepts it.", index, "rudder"))
            return findings
        explained = bool({f.rule for f in findings} & {"rudderstack-no-ids", "rudderstack-placeholder-id"})
        for j, request in enumerate(requests):
            record_kind = ENDPOINT_KINDS.get(request.path, "event")
            for record in request.records:
                ctx = Context(record_kind, record, endpoint=request.path, **base)
                for finding in self._check(record, record_kind, ctx, f"{prefix}.mixpanel[{j}]", index):
                    # RudderStack-level findings already explain missing or placeholder ids
                    if not (explained and finding.rule in ("missing-distinct-id", "placeholder-id")):
                        findings.append(finding)
        return findings
