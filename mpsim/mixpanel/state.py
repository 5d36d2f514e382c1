"""The state of a simulated Mixpanel project, and how it reads (events, profiles, groups, identities).

``State`` holds plain records; ``StateViews`` gives every reader (the live simulator and its frozen
snapshots) the same way to look at them: pandas tables for notebooks and dicts for code.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import islice
from typing import TYPE_CHECKING, Any

from .._gc import paused_gc
from .columns import EventsView
from .events import StoredEvent
from .identity import DEVICE_PREFIX, Identity, LegacyIdentity, OriginalIdentity, Refusal, SimplifiedIdentity
from .lazy import LazySequence
from .log import Exchange, RecordResult, RequestLog
from .profiles import Profile

__all__ = ["Exchange", "RecordResult", "Snapshot", "State", "StateViews", "iso_seconds"]

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class State:
    """Everything a project holds. Plain data: no HTTP, no clock."""

    identity: Identity
    events: EventsView = field(default_factory=EventsView)
    profiles: dict[str, Profile] = field(default_factory=dict)
    groups: dict[tuple[str, str], Profile] = field(default_factory=dict)
    group_keys: dict[str, int] = field(default_factory=dict)  # key -> seq from which events join groups
    seen_ids: dict[str, None] = field(default_factory=dict)  # every distinct id seen, in order
    log: RequestLog = field(default_factory=RequestLog)
    seq: int = 0
    generated_ids: int = 0  # $insert_ids made for /track events without one (part of the state: saved with it)
    #: views built from this state (tables, deduplicated positions), valid until the next change
    view_cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def empty(cls, identity_merge: str, anon_policy: str = "uuid4+mixpanel", log: RequestLog | None = None) -> State:
        identity: Identity
        if identity_merge == "simplified":
            identity = SimplifiedIdentity()
        elif identity_merge == "original":
            identity = OriginalIdentity(anon_policy=anon_policy)
        elif identity_merge == "legacy":
            identity = LegacyIdentity()
        else:
            raise ValueError(f"identity_merge must be 'original', 'simplified' or 'legacy', not {identity_merge!r}")
        return cls(identity, log=log if log is not None else RequestLog())

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def see(self, *ids: Any) -> None:
        for distinct_id in ids:
            if isinstance(distinct_id, str) and distinct_id:
                self.seen_ids.setdefault(distinct_id, None)

    def copy(self) -> State:
        """An independent copy that shares what is never changed in place.

        Events only grow (the copy is a length into the same columns) and a profile update replaces
        the ``Profile`` object instead of changing it, so neither is copied.
        """
        return State(
            identity=copy.deepcopy(self.identity),
            events=self.events.frozen(),
            profiles=dict(self.profiles),
            groups=dict(self.groups),
            group_keys=dict(self.group_keys),
            seen_ids=dict(self.seen_ids),
            log=self.log.copy(),
            seq=self.seq,
            generated_ids=self.generated_ids,
        )


@functools.lru_cache(maxsize=4096)
def iso_seconds(ms: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` in UTC, the form Mixpanel uses for dates (remembered: a replay repeats them)."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _mpsim_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Mark a frame as mpsim's: notebooks then show it without MathJax (``mpsim.notebook.views``)."""
    from ..notebook.views import mark_frame

    return mark_frame(frame)


def _id_argument(value: Any, name: str = "distinct_id") -> str:
    """An id given to a view: text, or a number as Mixpanel turns it into text; anything else is a TypeError."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"{name} must be a string (or a number), not {type(value).__name__}")


class _StoredEvents(LazySequence[StoredEvent]):
    """Events at given positions of a store, decoded when read."""

    item_name = "event"

    def __init__(self, store: Any, positions: Sequence[int]) -> None:
        self._store, self._positions = store, positions

    def __len__(self) -> int:
        return len(self._positions)

    def _item(self, index: int) -> StoredEvent:
        return self._store.event(self._positions[index])


class StateViews:
    """Read access shared by the simulator and its snapshots."""

    _state: State

    # ------------------------------------------------------------------ identities
    @property
    def identity_merge(self) -> str:
        return self._state.identity.mode

    def canonical(self, distinct_id: str) -> str:
        """The id Mixpanel shows for ``distinct_id`` after identity merges."""
        return self._state.identity.canonical(_id_argument(distinct_id))

    def cluster(self, distinct_id: str) -> set[str]:
        """Every distinct id that is the same user as ``distinct_id``."""
        return self._state.identity.members(_id_argument(distinct_id))

    @property
    def refused_merges(self) -> list[Refusal]:
        """Merges Mixpanel refused, with the reason code and a plain-English description."""
        return list(self._state.identity.refusals)

    # ------------------------------------------------------------------ events
    def stored_events(self, *, deduplicate: bool = True) -> list[StoredEvent]:
        """Stored events in ingestion order; deduplicated like Mixpanel's query view unless told not to.

        Duplicates share ``(event, distinct_id, time, $insert_id)``; the most recently ingested copy
        wins and takes the place of the first (spec §3).
        """
        store = self._state.events.store
        return [store.event(i) for i in self._event_positions(deduplicate)]

    def event_copies(self) -> int:
        """How many event copies are stored, duplicates included (nothing is read or decoded)."""
        return len(self._state.events)

    def events_from(self, position: int) -> list[StoredEvent]:
        """The stored copies from ``position`` on, in ingestion order: what arrived since
        ``event_copies()`` was ``position`` (the playground reads one click's events this way)."""
        events = self._state.events
        return events[max(position, 0):len(events)]

    def events_of(self, distinct_ids: Iterable[str]) -> list[StoredEvent]:
        """Every stored copy whose stored ``distinct_id`` is one of ``distinct_ids``, in ingestion order
        (one column is scanned; only the matching events are decoded)."""
        events = self._state.events
        wanted = set(distinct_ids)
        column = islice(events.store.distinct_ids, len(events))
        return [events[i] for i, distinct_id in enumerate(column) if distinct_id in wanted]

    def event_sequence(self, *, deduplicate: bool = True) -> Sequence[StoredEvent]:
        """Like :meth:`stored_events`, but each event is decoded only when read (head/tail views of big projects)."""
        return _StoredEvents(self._state.events.store, self._event_positions(deduplicate))

    def _event_positions(self, deduplicate: bool) -> Sequence[int]:
        events = self._state.events
        if not deduplicate:
            return range(len(events))
        return self._cached("dedup", events.dedup_positions)

    def _cached(self, name: str, make: Any) -> Any:
        """``make()``, remembered until the state changes (any request changes ``seq`` or the events)."""
        state = self._state
        key = (name, state.seq, state.events.key, state.log.total)
        cache = state.view_cache
        if key not in cache:
            for old in [k for k in cache if k[0] == name]:
                del cache[old]
            with paused_gc():  # views of big projects make many objects that all survive
                cache[key] = make()
        return cache[key]

    def event_view(self, event: StoredEvent) -> dict[str, Any]:
        """An event as Mixpanel shows it: resolved ``distinct_id``, reshuffle markers when it moved."""
        props = dict(event.properties)
        reshuffles = self._state.identity.reshuffles
        resolved = self.canonical(event.distinct_id) if event.distinct_id and reshuffles else event.distinct_id
        if resolved != event.distinct_id:
            props["$distinct_id_before_identity"] = event.distinct_id
            props["$is_reshuffled"] = True
        props["distinct_id"] = resolved
        return {"event": event.name, "properties": props}

    @property
    def events(self) -> pd.DataFrame:
        """One row per event (deduplicated), with the canonical ``distinct_id`` and the stored one."""
        return self._cached("events", lambda: self._events_frame(True)).copy(deep=False)

    @property
    def raw_events(self) -> pd.DataFrame:
        """Every stored copy, duplicates included (what Raw Export returns)."""
        return self._cached("raw_events", lambda: self._events_frame(False)).copy(deep=False)

    def _resolver(self) -> Any:
        """stored distinct id → the id Mixpanel shows now (each distinct id resolved once)."""
        identity = self._state.identity
        if not identity.reshuffles:
            return lambda distinct_id: distinct_id
        resolved: dict[str, str] = {"": ""}

        def resolve(distinct_id: str) -> str:
            found = resolved.get(distinct_id)
            if found is None:
                found = resolved[distinct_id] = identity.canonical(distinct_id)
            return found

        return resolve

    def _events_frame(self, deduplicate: bool) -> pd.DataFrame:
        """The events table built from the columns (one decode per event for the properties only)."""
        import numpy as np
        import pandas as pd

        store = self._state.events.store
        positions = self._event_positions(deduplicate)
        index = np.asarray(positions, dtype=np.int64)
        resolve = self._resolver()
        stored_ids = [store.distinct_ids[i] for i in positions]
        shown_ids = [resolve(d) for d in stored_ids]
        properties = []
        failures = []
        for i, stored, shown in zip(positions, stored_ids, shown_ids, strict=True):
            props = store.properties(i)
            failures.append(props.get("$failure_reason") or props.get("$identity_failure_reason"))
            if shown != stored:
                props["$distinct_id_before_identity"] = stored
                props["$is_reshuffled"] = True
            props["distinct_id"] = shown
            properties.append(props)
        times = np.frombuffer(store.times, dtype=np.int64)[index] if len(store) else np.zeros(0, np.int64)
        seqs = np.frombuffer(store.seq, dtype=np.int64)[index] if len(store) else np.zeros(0, np.int64)
        return _mpsim_frame(pd.DataFrame({
            "time": pd.to_datetime(times, unit="ms", utc=True),
            "event": [store.names[i] for i in positions],
            "distinct_id": shown_ids,
            "stored_distinct_id": stored_ids,
            "insert_id": [store.insert_ids[i] for i in positions],
            "endpoint": [store.endpoints[i] for i in positions],
            "groups": [[f"{k}={v}" for k, v in store.groups[i]] for i in positions],
            "failure_reason": failures,
            "properties": properties,
            "seq": seqs,
        }))

    # ------------------------------------------------------------------ profiles
    def profile(self, distinct_id: str, *, ignore_alias: bool = False) -> dict[str, Any] | None:
        """The visible profile of a user (through identity merges), or the literal one with ``ignore_alias``."""
        distinct_id = _id_argument(distinct_id)
        key = distinct_id if ignore_alias else self._state.identity.resolve_profile_key(distinct_id)
        found = self._state.profiles.get(key)
        return copy.deepcopy(found.properties) if found else None

    def _visible_profiles(self) -> list[Profile]:
        identity = self._state.identity
        return [p for key, p in self._state.profiles.items() if identity.profile_visible(key)]

    @property
    def profiles(self) -> pd.DataFrame:
        """One row per visible user profile: ``distinct_id`` then one column per property."""
        import pandas as pd

        rows = [{"distinct_id": p.key, **p.properties} for p in self._visible_profiles()]
        return _mpsim_frame(pd.DataFrame(rows, columns=None if rows else ["distinct_id"]))

    def group(self, group_key: str, group_id: Any) -> dict[str, Any] | None:
        found = self._state.groups.get((_id_argument(group_key, "group_key"), _id_argument(group_id, "group_id")))
        return copy.deepcopy(found.properties) if found else None

    @property
    def groups(self) -> pd.DataFrame:
        """One row per group profile: ``group_key``, ``group_id`` then one column per property."""
        import pandas as pd

        rows = [{"group_key": k, "group_id": g, **p.properties} for (k, g), p in self._state.groups.items()]
        return _mpsim_frame(pd.DataFrame(rows, columns=None if rows else ["group_key", "group_id"]))

    @property
    def identities(self) -> pd.DataFrame:
        """One row per distinct id seen: its canonical id, cluster size and kind."""
        import pandas as pd

        rows = []
        for distinct_id in self._state.seen_ids:
            canonical = self.canonical(distinct_id)
            rows.append({
                "distinct_id": distinct_id,
                "canonical": canonical,
                "is_canonical": canonical == distinct_id,
                "cluster_size": len(self.cluster(distinct_id)),
                "kind": "device" if distinct_id.startswith(DEVICE_PREFIX) else "id",
                "has_profile": distinct_id in self._state.profiles,
            })
        return _mpsim_frame(pd.DataFrame(rows, columns=["distinct_id", "canonical", "is_canonical", "cluster_size",
                                                        "kind", "has_profile"]))

    def clusters(self) -> dict[str, list[str]]:
        """Canonical id → every distinct id of that user, for ids seen by this project."""
        out: dict[str, list[str]] = {}
        for distinct_id in self._state.seen_ids:
            out.setdefault(self.canonical(distinct_id), []).append(distinct_id)
        return out

    @property
    def log(self) -> RequestLog:
        """The requests received (up to the simulator's ``log_limit``), Mixpanel's answers, each record's fate.

        A sequence of :class:`Exchange` (a copy: later requests do not appear in it).
        """
        return self._state.log.copy()

    def dropped(self) -> dict[str, int]:
        """Records Mixpanel answered but did not keep, counted by reason in words (never hidden by a summary)."""
        from .explain import dropped_records

        return dict(dropped_records(self).most_common())

    def summary(self) -> dict[str, int]:
        return {
            "events": len(self._event_positions(True)),
            "users": len(self.clusters()),
            "profiles": len(self._visible_profiles()),
            "groups": len(self._state.groups),
            "refused_merges": len(self._state.identity.refusals),
        }

    def _repr_html_(self) -> str:
        from ..notebook.views import simulator_html

        return simulator_html(self)


class Snapshot(StateViews):
    """A frozen copy of a simulator's state, readable like the simulator itself."""

    def __init__(self, state: State, now_ms: int, label: str | None = None,
                 settings: dict[str, Any] | None = None) -> None:
        self._state = state
        self.taken_ms = now_ms
        self.label = label
        #: the simulator's settings when it was taken (token, mode, …), so a saved state can be resumed
        self.settings: dict[str, Any] = dict(settings or {})

    def to_dict(self) -> dict[str, Any]:
        """The state and settings as plain JSON data; ``mpsim.load_snapshot`` reads it back."""
        from .saved import snapshot_to_dict

        return snapshot_to_dict(self)

    def to_json(self, indent: int | None = None) -> str:
        """:meth:`to_dict` as JSON text (write it to a file to save the state)."""
        import json

        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def __repr__(self) -> str:
        return f"Snapshot({self.label or iso_seconds(self.taken_ms)}: {self.summary()})"
