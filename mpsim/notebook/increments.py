"""What one playground click changed, found without reading the whole project.

A click sends a handful of events; the project may hold 100,000. Diffing two full snapshots or
rebuilding every table costs seconds there, so the playground reads only what the sent requests
can have touched: the distinct ids they name (and every id of those users, before and after), the
groups they name, and the events stored after the click began. Everything here uses the
simulator's public reading API (``stored_events``, ``canonical``, ``cluster``, ``profile``,
``group``, ``event_view``).
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


def seen_ids(state: StateViews) -> set[str]:
    """Every distinct id the project has seen (one pass over the users, no events read)."""
    return {i for ids in state.clusters().values() for i in ids}


def entities(state: StateViews, ids: Iterable[str], groups: Iterable[tuple[str, str]],
             events: Sequence[StoredEvent] = ()) -> dict[tuple[str, str], Any]:
    """The ``(entity, id) → value`` map a state diff compares, for the given ids, groups and events."""
    out: dict[tuple[str, str], Any] = {}
    seen = seen_ids(state)
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
        raw = state.stored_events(deduplicate=False)
        self.raw_before = len(raw)
        self.ids_before = with_clusters(state, self.touched.ids)
        # the earlier events of these users: a merge changes the distinct_id Mixpanel shows on them
        self.their_events = [e for e in raw if e.distinct_id in self.ids_before]
        self.before = entities(state, self.ids_before, self.touched.groups, self.their_events)
        self.new_events: list[StoredEvent] = []
        self.ids_after: set[str] = set()

    def after(self) -> Diff:
        raw = self.state.stored_events(deduplicate=False)
        self.new_events = raw[self.raw_before:]
        self.ids_after = with_clusters(self.state, self.touched.ids | self.ids_before)
        after = entities(self.state, self.ids_before | self.ids_after, self.touched.groups,
                         self.their_events + self.new_events)
        return diff_entities(self.before, after)


class EventCounter:
    """The number of events after deduplication, kept up to date from the events stored since the
    last look (a project that shrank, by a reset, is counted again)."""

    def __init__(self) -> None:
        self.raw = 0
        self.keys: set[Any] = set()
        self.count = 0

    def update(self, raw_events: Sequence[StoredEvent]) -> int:
        if len(raw_events) < self.raw:
            self.__init__()  # type: ignore[misc]
        for event in raw_events[self.raw:]:
            key = event.dedup_key
            if key is None:
                self.count += 1
            elif key not in self.keys:
                self.keys.add(key)
                self.count += 1
        self.raw = len(raw_events)
        return self.count
