"""Findings that only show across several events: the patterns behind tickets no single event explains.

``CROSS_RULES`` is a table like ``RULES``: each ``CrossRule`` looks at the whole list (and, for the
rules that need Mixpanel's state, at a replay of it) and returns ``Hit``s that fill its message and
fix. ``validate`` runs them on a list; ``Replay.findings`` runs them on the replayed events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..project import destination_setting, project_setting
from ..wording import ranges
from .findings import Finding


@dataclass
class Hit:
    """One occurrence of a cross-event pattern: where it shows, and the words for the message."""

    record: int | None
    path: str
    value: Any
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CrossRule:
    """A rule over a whole list of records; ``find(items, ctx)`` returns its hits."""

    id: str
    severity: str
    find: Callable[[Sequence[Any], dict[str, Any]], list[Hit]]
    message: str
    fix: str
    description: str = ""


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or value in (None, ""):
        return None
    return value if isinstance(value, str) else str(value) if isinstance(value, (int, float)) else None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_rudder(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("type"), str) and "mixpanel" not in item


def find_shared_anonymous_ids(items: Sequence[Any], ctx: dict[str, Any]) -> list[Hit]:
    """One anonymous id (a device) joined to two or more user ids: the shared-device pattern.

    Placeholder ids ('null', 'undefined', …) are left out on both sides: Mixpanel refuses them as distinct
    ids, so they never join anyone (``rudderstack-placeholder-id`` reports them record by record).
    """
    from .rules import is_placeholder

    users: dict[str, dict[str, list[int]]] = {}
    for index, item in enumerate(items):
        if _is_rudder(item):
            anon, user = _text(item.get("anonymousId")), _text(item.get("userId"))
        elif isinstance(item, dict) and isinstance(item.get("properties"), dict):
            props = item["properties"]
            if item.get("event") == "$identify":
                anon, user = _text(props.get("$anon_id")), _text(props.get("$identified_id"))
            else:
                anon, user = _text(props.get("$device_id")), _text(props.get("$user_id"))
        else:
            continue
        if anon and user and anon != user and not is_placeholder(anon) and not is_placeholder(user):
            users.setdefault(anon, {}).setdefault(user, []).append(index)
    hits = []
    mode = ctx.get("identity_merge") or "original"
    for anon, by_user in users.items():
        if len(by_user) < 2:
            continue
        names = list(by_user)
        firsts = [by_user[u][0] for u in names]
        consequence = (
            f"in this Simplified project the device stays with '{names[0]}' and the later links are refused "
            f"(errDeviceMappedToOtherUser), so {', '.join(repr(n) for n in names[1:])} lose their pre-login activity"
            if mode == "simplified" else
            f"RudderStack sends $merge for each identify, and an Original project merges them all: "
            f"{' and '.join(repr(n) for n in names)} become one user")
        hits.append(Hit(firsts[1], f"$[{firsts[1]}].anonymousId", anon, {
            "anon": anon, "users": ", ".join(repr(n) for n in names), "count": len(names),
            # numbered from 1, like the CLI's "line N" and "event N"
            "events": ranges(i + 1 for ids in by_user.values() for i in ids),
            "consequence": consequence}))
    return hits


def find_group_key_never_sent(items: Sequence[Any], ctx: dict[str, Any]) -> list[Hit]:
    """A configured group key that no event carries: group analytics stay empty.

    One pass over the records, holding none of them (a long log is read from disk as it goes).
    """
    config = ctx.get("config") or {}
    settings = config.get("groupKeySettings")
    keys = [s["groupKey"] for s in settings if isinstance(s, dict) and isinstance(s.get("groupKey"), str)
            and s["groupKey"]] if isinstance(settings, list) else []
    if not keys:
        return []
    drop_traits = bool(config.get("dropTraitsInTrackEvent"))
    never = dict.fromkeys(keys)
    events = 0
    for event in items:
        if not (_is_rudder(event) and event["type"] in ("track", "page", "screen")):
            continue
        events += 1
        if never:
            props = _object(event.get("properties"))
            traits = _object(_object(event.get("context")).get("traits"))
            for key in [k for k in never if props.get(k) not in (None, "") or (
                    traits.get(k) not in (None, "") and not (drop_traits and event["type"] == "track"))]:
                del never[key]
    if not events:
        return []
    return [Hit(None, "$", key, {"key": key, "count": events}) for key in never]


def _changes_identity_or_profiles(message: dict[str, Any], simplified: bool) -> bool:
    """Whether a RudderStack event can change who a user is or what a profile holds (for a lean replay)."""
    if message["type"] in ("identify", "alias"):
        return True
    return simplified and bool(message.get("userId")) and bool(message.get("anonymousId"))


def _replayed(items: Sequence[Any], ctx: dict[str, Any]) -> tuple[Any, list[int]]:
    """The replay these items came from, or a lean one into the project, with each step's index in ``items``.

    A lean replay sends only the events that can change identities or profiles (identify and alias,
    and, with a Simplified destination, events carrying both ids), so validating a long log does
    not replay every page view.
    """
    project = ctx.get("project")
    known = getattr(project, "replay", None)
    if known is not None:
        return known, [step.index for step in known.steps]
    from ..replay import replay

    config = ctx.get("transform_config") or {}
    simplified = config.get("identityMergeApi") == "simplified"
    positions = [i for i, e in enumerate(items) if _is_rudder(e) and _changes_identity_or_profiles(e, simplified)]
    settings = dict(project.settings) if project is not None else None
    # keep=0: each step keeps its event and outcome only (a whole step is ~15 KB); the few rules that need
    # a step's requests make them again (_step_exchanges)
    result = replay([items[i] for i in positions], config, project=settings, now=ctx.get("now_ms") or None, keep=0)
    return result, positions


def _step_exchanges(result: Any, step: Any) -> list[tuple[Any, Any]]:
    """``(request, reply)`` of a replay step. A step that went through and kept only its outcome (past the
    replay's ``keep``) has its requests made again from its event, and its replies were all accepted (None)."""
    if step.requests or step.outcome is None or not step.ok or step.message is None:
        return list(zip(step.requests, step.replies, strict=False))
    from ..rudder import transform

    now = result.now if result.now is not None else result.sim.now_ms
    return [(request, None) for request in transform(step.message, result.destination, now=now)]


def _traits(message: dict[str, Any]) -> dict[str, Any]:
    return {**_object(message.get("traits")), **_object(_object(message.get("context")).get("traits"))}


def find_identify_traits_lost(items: Sequence[Any], ctx: dict[str, Any]) -> list[Hit]:
    """Identify calls whose traits never reach the profile Mixpanel shows for that user."""
    if not any(_is_rudder(e) and e["type"] == "identify" and _traits(e) for e in items):
        return []
    result, positions = _replayed(items, ctx)
    sim = result.sim
    hits = []
    for step, index in zip(result.steps, positions, strict=True):
        message = step.message
        if step.error is not None or not _is_rudder(message) or message["type"] != "identify" or not _traits(message):
            continue
        for request, reply in _step_exchanges(result, step):
            if request.path != "engage":
                continue
            for record in request.records:
                ops = {k: v for k, v in record.items() if k in ("$set", "$set_once") and isinstance(v, dict)}
                wanted = [k for v in ops.values() for k in v]
                distinct = record.get("$distinct_id")
                if not wanted or not isinstance(distinct, str):
                    continue
                profile = sim.profile(distinct)
                missing = [k for k in wanted if profile is None or k not in profile]
                if not missing:
                    continue
                hits.append(Hit(index, f"$[{index}].traits", missing, {
                    "keys": ", ".join(missing[:6]) + (", …" if len(missing) > 6 else ""),
                    "reason": _why_profile_lost(sim, ctx, reply, distinct, profile)}))
    return hits


def _why_profile_lost(sim: Any, ctx: dict[str, Any], reply: Any, distinct: str, profile: Any) -> str:
    if reply is not None and not reply.ok:
        return f"Mixpanel rejected the update ({reply.body.strip()[:120]})"
    config = ctx.get("config") or {}
    token = config.get("token")
    if sim.token is not None and token != sim.token:
        return (f"Mixpanel ignored the update because its $token is not the project's; set "
                f"{destination_setting('token')} to the project token")
    residency = config.get("dataResidency") if config.get("dataResidency") in ("eu", "in") else "us"
    if sim.residency is not None and residency != sim.residency:
        return (f"it went to another residency's host, which answers 200 and keeps nothing; set "
                f"{destination_setting('dataResidency')} to '{sim.residency}'")
    shown = sim.canonical(distinct)
    if shown != distinct:
        return f"the update went to '{distinct}', but Mixpanel shows the profile of '{shown}' for that user"
    if profile is None:
        return "no profile was kept for that id"
    return "later updates removed them"


#: The built-in cross-event rules, in reporting order.
CROSS_RULES: list[CrossRule] = [
    CrossRule("shared-anonymous-id", "warning", find_shared_anonymous_ids,
              "Anonymous id '{anon}' is joined to {count} different users ({users}) by events {events}: the "
              "shared-device pattern; {consequence}.",
              "Reset the anonymous id when a user logs out (rudderanalytics.reset() in the RudderStack SDKs) so the "
              "next person on the device gets a new anonymousId.",
              "one device or browser used by several people"),
    CrossRule("group-key-never-sent", "warning", find_group_key_never_sent,
              "None of the {count} track/page/screen events carries '{key}', the group key set in the destination's "
              "'Group Key Settings': no event counts toward any {key} group, so group reports stay empty.",
              f"Send '{{key}}' as an event property on the events that belong to a group (or as a context trait), "
              f"and declare it in {project_setting('group_keys')}.",
              "group analytics configured but never fed"),
    CrossRule("identify-traits-lost", "warning", find_identify_traits_lost,
              "The traits of this identify never reach the user's profile ({keys} missing): {reason}.",
              "Send identify with the user's id and the project's settings (token, residency), then check the "
              "profile with sim.explain_profile(id).",
              "identify calls whose traits never show on a profile"),
]

_REGISTERED: list[CrossRule] = []


def all_cross_rules(extra: Iterable[CrossRule] = ()) -> list[CrossRule]:
    return CROSS_RULES + _REGISTERED + list(extra)


def cross_event_findings(items: Sequence[Any], ctx: dict[str, Any], rules: Iterable[CrossRule]) -> list[Finding]:
    """The findings of each cross rule in turn (``rules`` may be read through a progress bar, a rule a tick)."""
    findings = []
    for rule in rules:
        try:
            hits = rule.find(items, ctx)
        except Exception as exc:  # a user rule must not hide the others
            findings.append(Finding("rule-failed", "info", "$", None,
                                    f"rule {rule.id!r} raised {type(exc).__name__}: {exc}", "", None, "log"))
            continue
        for hit in hits:
            findings.append(Finding(rule.id, rule.severity, hit.path, hit.value, rule.message.format(**hit.fields),
                                    rule.fix.format(**hit.fields), hit.record, "log"))
    return findings
