"""Stored events as columns: one list or array per field instead of one object per event.

A million events as dicts cost about 2 KB each; here an event is a few column slots, its repeated
strings (event names, ids, hosts) are shared, and its properties are one compact JSON text of the
values (the key order is kept once per distinct key set, a *shape*) decoded only when read.
Fields that repeat a column (``time``, ``distinct_id``, ``$insert_id``, ``$mp_api_endpoint``,
``$mp_api_timestamp_ms``, ``$import``) are not written twice.

The store only grows, so a snapshot is a length into the same columns (:class:`EventsView`):
taking one copies nothing, and a view that is written to after the store moved on copies first.
"""

from __future__ import annotations

import json
import sys
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from .events import StoredEvent
from .lazy import LazySequence

_ENCODE = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
_DECODE = json.JSONDecoder().decode
#: property name → the column that holds the same value (written once, in the column)
_COLUMN_KEYS = ("time", "distinct_id", "$insert_id", "$mp_api_endpoint", "$mp_api_timestamp_ms", "$import")
_NO_GROUPS: tuple[tuple[str, str], ...] = ()


_NOTHING: frozenset[int] = frozenset()


def _picker(positions: Sequence[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """``itemgetter`` that always gives a tuple (one position included, none too)."""
    if len(positions) == 1:
        only = positions[0]
        return lambda seq: (seq[only],)
    if not positions:
        return lambda seq: ()
    return itemgetter(*positions)


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where, in one key order, the names a column may hold are, worked out once per distinct key order."""

    column_positions: tuple[tuple[int, str], ...]
    other_positions: tuple[int, ...]
    #: the values at the column names' positions, and the same names' values out of the columns (in ``_COLUMN_KEYS`` order)
    pick_named: Callable[[Sequence[Any]], tuple[Any, ...]]
    pick_columns: Callable[[Sequence[Any]], tuple[Any, ...]]
    pick_others: Callable[[Sequence[Any]], tuple[Any, ...]]
    #: every column name's position: the usual case, where each value repeats its column
    all_positions: frozenset[int]


def _layout(keys: tuple[str, ...]) -> _Layout:
    columns = tuple((position, key) for position, key in enumerate(keys) if key in _COLUMN_KEYS)
    taken = {position for position, _ in columns}
    others = tuple(position for position in range(len(keys)) if position not in taken)
    return _Layout(columns, others, _picker([p for p, _ in columns]), _picker([_COLUMN_KEYS.index(k) for _, k in columns]),
                   _picker(others), frozenset(taken))


def _shared(text: str) -> str:
    return sys.intern(text) if type(text) is str else text


class EventStore:
    """The append-only columns behind every :class:`EventsView` of one project."""

    __slots__ = ("seq", "names", "distinct_ids", "times", "insert_ids", "endpoints", "hosts", "received",
                 "generated", "groups", "shape_of", "values", "shapes", "_shape_ids", "version", "_layouts")

    def __init__(self) -> None:
        self.seq = array("q")
        self.names: list[str] = []
        self.distinct_ids: list[str] = []
        self.times = array("q")
        self.insert_ids: list[str] = []
        self.endpoints: list[str] = []
        self.hosts: list[str] = []
        self.received = array("q")
        self.generated = bytearray()
        self.groups: list[tuple[tuple[str, str], ...]] = []
        self.shape_of = array("l")
        self.values: list[str] = []
        #: shape id → (property names in order, positions of names whose value lives in a column)
        self.shapes: list[tuple[tuple[str, ...], frozenset[int]]] = []
        self._shape_ids: dict[tuple[tuple[str, ...], frozenset[int]], int] = {}
        #: key order → where the names a column may hold are (worked out once per distinct key order)
        self._layouts: dict[tuple[str, ...], Any] = {}
        self.version = 0

    def __len__(self) -> int:
        return len(self.seq)

    def append(self, event: StoredEvent) -> None:
        props = event.properties
        keys = tuple(props)
        layout = self._layouts.get(keys)
        if layout is None:
            layout = self._layouts[keys] = _layout(keys)
        values = list(props.values())
        if layout.column_positions:
            # the columns' values in _COLUMN_KEYS order
            column = (event.time_ms, event.distinct_id, event.insert_id, event.host, event.received_ms,
                      event.endpoint == "import" or None)
            named, in_columns = layout.pick_named(values), layout.pick_columns(column)
            if (named == in_columns and None not in in_columns
                    and tuple(map(type, named)) == tuple(map(type, in_columns))):  # each value repeats its column
                from_column = layout.all_positions
            else:
                same = []
                for (position, _key), value, in_column in zip(layout.column_positions, named, in_columns, strict=True):
                    if value is not None and type(value) is type(in_column) and value == in_column:  # 1 is not True
                        same.append(position)
                from_column = frozenset(same)
        else:
            from_column = _NOTHING
        shape = (keys, from_column)
        shape_id = self._shape_ids.get(shape)
        if shape_id is None:
            shape_id = self._shape_ids[shape] = len(self.shapes)
            self.shapes.append((tuple(_shared(k) for k in keys), from_column))
        if len(from_column) == len(layout.column_positions):
            stored: Sequence[Any] = layout.pick_others(values)
        else:
            stored = [value for position, value in enumerate(values) if position not in from_column]
        self.seq.append(event.seq)
        name, distinct_id, endpoint, host = event.name, event.distinct_id, event.endpoint, event.host
        self.names.append(sys.intern(name) if type(name) is str else name)
        self.distinct_ids.append(sys.intern(distinct_id) if type(distinct_id) is str else distinct_id)
        self.times.append(event.time_ms)
        self.insert_ids.append(event.insert_id)
        self.endpoints.append(sys.intern(endpoint) if type(endpoint) is str else endpoint)
        self.hosts.append(sys.intern(host) if type(host) is str else host)
        self.received.append(event.received_ms)
        self.generated.append(1 if event.generated_insert_id else 0)
        self.groups.append(event.groups or _NO_GROUPS)
        self.shape_of.append(shape_id)
        self.values.append(_ENCODE(stored))
        self.version += 1

    def properties(self, index: int) -> dict[str, Any]:
        """The stored properties of event ``index`` (a new dict each call)."""
        keys, from_column = self.shapes[self.shape_of[index]]
        values = iter(_DECODE(self.values[index]))
        if not from_column:
            return dict(zip(keys, values, strict=True))
        column = {"time": self.times[index], "distinct_id": self.distinct_ids[index],
                  "$insert_id": self.insert_ids[index], "$mp_api_endpoint": self.hosts[index],
                  "$mp_api_timestamp_ms": self.received[index], "$import": True}
        return {key: column[key] if position in from_column else next(values) for position, key in enumerate(keys)}

    def event(self, index: int) -> StoredEvent:
        return StoredEvent(self.seq[index], self.names[index], self.distinct_ids[index], self.times[index],
                           self.insert_ids[index], self.properties(index), self.endpoints[index], self.hosts[index],
                           self.received[index], bool(self.generated[index]), self.groups[index])

    def copy(self, length: int) -> EventStore:
        """A store holding the first ``length`` events (for a view that is written to after a fork)."""
        out = EventStore()
        for name in ("seq", "names", "distinct_ids", "times", "insert_ids", "endpoints", "hosts", "received",
                     "generated", "groups", "shape_of", "values"):
            setattr(out, name, getattr(self, name)[:length])
        out.shapes = list(self.shapes)
        out._shape_ids = dict(self._shape_ids)
        out._layouts = dict(self._layouts)
        return out


class EventsView(LazySequence[StoredEvent]):
    """The first ``len(self)`` events of a store: the live project's events, or a snapshot's.

    Indexing and iteration decode events on the way out; the columns (``store``) are for readers
    that want whole fields at once without building an object per event.
    """

    __slots__ = ("store", "_length")
    item_name = "event"

    def __init__(self, store: EventStore | None = None, length: int | None = None) -> None:
        self.store = store if store is not None else EventStore()
        self._length = len(self.store) if length is None else length

    def __len__(self) -> int:
        return self._length

    def _item(self, index: int) -> StoredEvent:
        return self.store.event(index)

    def append(self, event: StoredEvent) -> None:
        if self._length != len(self.store):  # a snapshot written to: it gets its own columns first
            self.store = self.store.copy(self._length)
        self.store.append(event)
        self._length += 1

    def frozen(self) -> EventsView:
        """A view of the events as they are now, unaffected by later appends (no copy)."""
        return EventsView(self.store, self._length)

    @property
    def key(self) -> tuple[int, int]:
        """Changes whenever the events seen through this view change (for caches)."""
        return (id(self.store), self._length)

    def dedup_positions(self) -> Sequence[int]:
        """Positions of the events Mixpanel's query view shows (spec §3).

        Duplicates share ``(event, distinct_id, time, $insert_id)``; the most recently ingested copy
        wins and takes the place of the first. Generated ``$insert_id``s never deduplicate.
        """
        s = self.store
        n = self._length
        generated = s.generated
        seen: set[str] = set()
        for i, insert_id in enumerate(s.insert_ids[:n]):  # first, cheaply: does any $insert_id repeat?
            if not generated[i]:
                if insert_id in seen:
                    break
                seen.add(insert_id)
        else:
            return range(n)  # no duplicates: the common case, without a key per event
        del seen
        keys = list(zip(s.names[:n], s.distinct_ids[:n], s.times[:n], s.insert_ids[:n], strict=True))
        latest: dict[Any, int] = {}
        for i, key in enumerate(keys):
            if not generated[i]:
                latest[key] = i
        out = []
        placed: set[Any] = set()
        for i, key in enumerate(keys):
            if generated[i]:
                out.append(i)
            elif key not in placed:
                placed.add(key)
                out.append(latest[key])
        return out
