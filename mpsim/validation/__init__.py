"""``mpsim.validate``: which of Mixpanel's (and RudderStack's) rules does this data break?

Accepts a RudderStack event, a Mixpanel event/profile/group record, an ``mpsim.Request``, or a list
of any of these. RudderStack events are checked as they are and also transformed (with ``config``,
or a minimal one), so what Mixpanel would receive is checked too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from jsonpath_ng.ext import parse as parse_jsonpath

from .._dates import clock_ms
from .._messages import TOO_OLD
from ..errors import TransformError
from ..request import Request
from .cross import CROSS_RULES, CrossRule, all_cross_rules, cross_event_findings
from .findings import Finding, Findings
from .mismatch import setup_record
from .rules import RULES, Context, Rule, active_rules, register, unregister

__all__ = ["CROSS_RULES", "Context", "CrossRule", "Finding", "Findings", "RULES", "Rule", "kind_of", "register",
           "unregister", "validate"]

RUDDER_TYPES = frozenset({"track", "page", "screen", "identify", "alias", "group"})
PROFILE_KEYS = frozenset({"$set", "$set_once", "$add", "$union", "$append", "$remove", "$unset", "$delete"})
ENDPOINT_KINDS = {"import": "event", "track": "event", "engage": "profile", "groups": "group"}
_SIMPLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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


@lru_cache(maxsize=256)
def _compiled(expression: str) -> Any:
    return parse_jsonpath(expression)


def _segment(name: Any) -> str:
    if isinstance(name, int):
        return f"[{name}]"
    text = str(name)
    return "." + text if _SIMPLE_NAME.match(text) else ".'" + text.replace("'", "\\'") + "'"


def _path_parts(match: Any) -> list[Any]:
    parts: list[Any] = []
    while match is not None and match.context is not None:
        path = match.path
        if hasattr(path, "fields"):
            parts.append(path.fields[0])
        elif hasattr(path, "index"):
            parts.append(path.index)
        match = match.context
    return list(reversed(parts))


def _join(prefix: str, parts: Iterable[Any]) -> str:
    text = prefix + "".join(_segment(p) for p in parts)
    return text.lstrip(".") or "$"


def _check_record(record: Any, kind: str, ctx: Context, prefix: str, index: int | None,
                  rules: list[Rule]) -> list[Finding]:
    findings = []
    for rule in rules:
        expression = rule.select.get(kind)
        if expression is None:
            continue
        for match in _compiled(expression).find(record):
            parts = _path_parts(match)
            key = parts[-1] if parts else None
            try:
                detail = rule.check(match.value, key, ctx)
            except Exception as exc:  # a user rule must not hide the others
                detail = None
                findings.append(Finding("rule-failed", "info", _join(prefix, parts), None,
                                        f"rule {rule.id!r} raised {type(exc).__name__}: {exc}", "", index, kind))
            if detail is None:
                continue
            if rule.at:
                parts = parts + rule.at.split(".")
            fields = {"key": key, "detail": detail, "value": _short(match.value)}
            fix = rule.fix(key, detail, ctx) if callable(rule.fix) else rule.fix.format(**fields)
            findings.append(Finding(rule.id, rule.severity_for(ctx.endpoint), _join(prefix, parts), match.value,
                                    rule.message.format(**fields), fix, index, kind))
    return findings


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:59] + "…"


def _group_keys_seen(items: list[Any], config: Mapping[str, Any] | None) -> frozenset[str]:
    seen = set()
    for item in items:
        records = item.records if isinstance(item, Request) else [item]
        for record in records:
            if isinstance(record, dict) and isinstance(record.get("$group_key"), str):
                seen.add(record["$group_key"])
    settings = (config or {}).get("groupKeySettings")
    if isinstance(settings, list):
        seen |= {s["groupKey"] for s in settings if isinstance(s, dict) and isinstance(s.get("groupKey"), str)}
    return frozenset(seen)


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
    from ..project import destination_config, resolve_project

    raw_destination = config
    config = destination_config(config) if config is not None else None
    target = resolve_project(project, config) if project is not None or config is not None else None
    notes = [target.note] if target is not None and target.note else []
    if target is not None:
        token = token if token is not None else target.token
        identity_merge = identity_merge or target.identity_merge
        if group_keys is None and not target.assumed:
            group_keys = target.group_keys
    items = obj if isinstance(obj, list) else [obj]
    index_of = (lambda i: i) if isinstance(obj, list) else (lambda i: None)
    now_ms = int(clock_ms(now))
    all_rules = active_rules() + list(rules)
    base: dict[str, Any] = {"now_ms": now_ms, "token": token, "identity_merge": identity_merge,
            "group_keys": None if group_keys is None else frozenset(group_keys),
            "seen_group_keys": _group_keys_seen(items, config), "config": config,
            "transform_config": {"token": token or "mpsim-validate", **(config or {})},
            "project": target}
    findings: list[Finding] = []
    if config is not None:
        setup = setup_record(raw_destination, config, target)
        findings += _check_record(setup, "setup", Context("setup", setup, **base), "", None, all_rules)
    setup_rules = {f.rule for f in findings}
    for i, item in enumerate(items):
        prefix = f"$[{i}]" if isinstance(obj, list) else ""
        found = _validate_one(item, endpoint, base, prefix, index_of(i), all_rules)
        if "token-mismatch" in setup_rules:  # said once for the destination, not once per record
            found = [f for f in found if f.rule not in ("token", "profile-token") or f.kind not in ("event", "profile", "group")
                     or "mixpanel[" not in f.path]
        findings += found
    if isinstance(obj, list):
        findings += cross_event_findings(items, base, all_cross_rules(cross_rules))
    return Findings(findings, notes)


def _validate_one(item: Any, endpoint: str | None, base: dict[str, Any], prefix: str, index: int | None,
                  rules: list[Rule]) -> list[Finding]:
    kind = kind_of(item)
    if kind == "unknown":
        return [Finding("unrecognised-record", "info", prefix or "$", item,
                        "Not a RudderStack event, a Mixpanel event/profile/group record or an mpsim.Request.",
                        "Pass events as {type, ...} (RudderStack) or {event, properties} (Mixpanel).", index, kind)]
    if kind == "request":
        ctx = Context("request", item, endpoint=item.path, **base)
        findings = _check_record(item, "request", ctx, prefix, index, rules)
        record_kind = ENDPOINT_KINDS.get(item.path, "event")
        for j, record in enumerate(item.records):
            ctx = Context(record_kind, record, endpoint=item.path, **base)
            findings += _check_record(record, record_kind, ctx, f"{prefix}.records[{j}]", index, rules)
        return findings
    if kind == "rudder":
        return _validate_rudder(item, base, prefix, index, rules)
    ctx = Context(kind, item, endpoint=endpoint or {"profile": "engage", "group": "groups"}.get(kind), **base)
    return _check_record(item, kind, ctx, prefix, index, rules)


def _validate_rudder(message: dict[str, Any], base: dict[str, Any], prefix: str, index: int | None,
                     rules: list[Rule]) -> list[Finding]:
    from ..rudder import transform

    ctx = Context("rudder", message, **base)
    findings = _check_record(message, "rudder", ctx, prefix, index, rules)
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
    seen = {f.rule for f in findings}
    for j, request in enumerate(requests):
        for record in request.records:
            record_kind = ENDPOINT_KINDS.get(request.path, "event")
            ctx = Context(record_kind, record, endpoint=request.path, **base)
            for finding in _check_record(record, record_kind, ctx, f"{prefix}.mixpanel[{j}]", index, rules):
                # RudderStack-level findings already explain missing or placeholder ids
                if not (finding.rule in ("missing-distinct-id", "placeholder-id") and
                        seen & {"rudderstack-no-ids", "rudderstack-placeholder-id"}):
                    findings.append(finding)
    return findings
