"""What one playground click changed, found without reading the whole project.

A click sends a handful of events; the project may hold 100,000. Diffing two full snapshots or
rebuilding every table costs seconds there, so the playground reads only what the sent requests
can have touched: the distinct ids they name (and every id of those users, before and after), the
groups they name, and the events stored after the click began. Everything here uses the
simulator's public reading API (``event_copies``, ``events_from``, ``events_of``, ``canonical``,
``cluster``, ``profile``, ``group``, ``event_view``), which reads the event columns without decoding
every event.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..diff import Diff, diff_entities, event_entity

if TYPE_CHECKING:
    from ..mixpanel.events import StoredEvent
    from ..mixpanel.state import StateViews
    from ..request import Request

#: Record and property keys that name a distinct id in Mixpanel's ingestion API.
ID_KEYS = ("distinct_id", "$distinct_id", "$identified_id", "$anon_id", "alias", "$device_id", "$user_id")
ID_LIST_KEYS = ("$distinct_ids",)


@dataclass
class Touched:
    """The distinct ids and groups some requests name."""

    ids: set[str] = field(default_factory=set)
    groups: set[tuple[str, str]] = field(default_factory=set)


def _ids_in(mapping: dict[str, Any], into: set[str]) -> None:
    for key in ID_KEYS:
        value = mapping.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
            into.add(str(value))
    for key in ID_LIST_KEYS:
        values = mapping.get(key)
        if isinstance(values, list):
            into.update(str(v) for v in values if isinstance(v, (str, int)) and not isinstance(v, bool))


def touched_by(requests: Iterable[Request]) -> Touched:
    """Every distinct id and ``(group key, group id)`` the records of ``requests`` name."""
    touched = Touched()
    for request in requests:
        for record in request.records:
            if not isinstance(record, dict):
                continue
            _ids_in(record, touched.ids)
            properties = record.get("properties")
            if isinstance(properties, dict):
                _ids_in(properties, touched.ids)
            key, gid = record.get("$group_key"), record.get("$group_id")
            if isinstance(key, str) and gid is not None:
                touched.groups.add((key, str(gid)))
    return touched


def with_clusters(state: StateViews, ids: Iterable[str]) -> set[str]:
    """``ids`` and every other id of the same users."""
    out: set[str] = set()
    for distinct_id in ids:
        out.add(distinct_id)
        out |= state.cluster(distinct_id)
    return out


def seen_ids(clusters: dict[str, list[str]]) -> set[str]:
    """Every distinct id the project has seen, from ``state.clusters()`` (no events read)."""
    return {i for ids in clusters.values() for i in ids}


def entities(state: StateViews, ids: Iterable[str], groups: Iterable[tuple[str, str]],
             events: Sequence[StoredEvent] = (), seen: set[str] | None = None) -> dict[tuple[str, str], Any]:
    """The ``(entity, id) → value`` map a state diff compares, for the given ids, groups and events
    (``seen``: the ids the project has seen, when the caller has them already)."""
    out: dict[tuple[str, str], Any] = {}
    seen = seen_ids(state.clusters()) if seen is None else seen
    for distinct_id in sorted(ids):
        if distinct_id in seen:
            out[("identity", distinct_id)] = {"canonical": state.canonical(distinct_id)}
    for distinct_id in sorted(ids):
        profile = state.profile(distinct_id, ignore_alias=True)
        if profile is not None:
            out[("profile", distinct_id)] = profile
    for key, gid in sorted(groups):
        group = state.group(key, gid)
        if group is not None:
            out[("group", f"{key}={gid}")] = group
    for event in events:
        out[("event", event_entity(event))] = state.event_view(event)
    return out


class ClickDiff:
    """Take ``before`` just before sending and ``after`` just after: the Changes of one click."""

    def __init__(self, state: StateViews, requests: Sequence[Request]) -> None:
        self.state = state
        self.touched = touched_by(requests)
        self.raw_before = state.event_copies()
        self.ids_before = with_clusters(state, self.touched.ids)
        # the earlier events of these users: a merge changes the distinct_id Mixpanel shows on them
        self.their_events = state.events_of(self.ids_before)
        self.before = entities(state, self.ids_before, self.touched.groups, self.their_events,
                               seen_ids(state.clusters()))
        self.new_events: list[StoredEvent] = []
        self.ids_after: set[str] = set()
        #: ``state.clusters()`` after the click, for the views that follow
        self.clusters_after: dict[str, list[str]] = {}

    def after(self) -> Diff:
        self.new_events = self.state.events_from(self.raw_before)
        self.ids_after = with_clusters(self.state, self.touched.ids | self.ids_before)
        self.clusters_after = self.state.clusters()
        after = entities(self.state, self.ids_before | self.ids_after, self.touched.groups,
                         self.their_events + self.new_events, seen_ids(self.clusters_after))
        return diff_entities(self.before, after)


class EventCounter:
    """The number of events after deduplication, kept up to date click by click.

    The first count, or any count after the project changed outside the playground, is the
    simulator's own (``summary()``); after that a click's new events are checked only against the
    earlier events of the same users (``ClickDiff.their_events``), the only ones they can duplicate.
    """

    def __init__(self) -> None:
        self.raw: int | None = None
        self.count = 0

    def update(self, state: StateViews, click: ClickDiff | None = None) -> int:
        copies = state.event_copies()
        if self.raw is None or click is None or click.raw_before != self.raw:
            self.count = state.summary()["events"]
        else:
            keys = {e.dedup_key for e in click.their_events}
            for event in click.new_events:
                key = event.dedup_key
                if key is None or key not in keys:
                    self.count += 1
                keys.add(key)
        self.raw = copies
        return self.count
