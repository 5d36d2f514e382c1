"""Saved states: a simulator's state as plain JSON data, and back (``Snapshot.to_dict``, ``load_snapshot``).

A saved state is everything a project holds (events with their dedup keys, identity clusters and
refusals, user and group profiles, declared group keys, the request log) plus the settings it was
made under, so that a simulator restored from it answers further input exactly as the original
would. The format is versioned (``"mpsim_state": 1``) and read strictly: a field that is missing or
of the wrong kind is named in the error, never guessed.

Events are read and written through ``StoredEvent`` records and ``State.events``, not through
how a state stores them, so the storage can change without changing the format.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MpsimError
from .events import StoredEvent
from .identity import LegacyIdentity, OriginalIdentity, Refusal, SimplifiedIdentity, _Cluster
from .log import RequestLog
from .profiles import Profile
from .state import Exchange, RecordResult, State

if TYPE_CHECKING:
    from .state import Snapshot

FORMAT = 1
#: the key that marks a JSON object as a saved mpsim state (``mpsim diff`` and ``load_snapshot`` look for it)
MARKER = "mpsim_state"
EVENT_FIELDS = ("seq", "name", "distinct_id", "time_ms", "insert_id", "properties", "endpoint", "host",
                "received_ms", "generated_insert_id", "groups")


class StateFormatError(MpsimError, ValueError):
    """A saved state that cannot be read: names the field and what is wrong with it."""


# ---------------------------------------------------------------------- writing
def _refusals(refusals: list[Refusal]) -> list[dict[str, Any]]:
    return [{**asdict(r), "ids": list(r.ids)} for r in refusals]


def identity_to_dict(identity: Any) -> dict[str, Any]:
    """The identity picture of one ID-merge mode as JSON data (sets become sorted lists)."""
    out: dict[str, Any] = {"mode": identity.mode, "refusals": _refusals(identity.refusals)}
    if isinstance(identity, OriginalIdentity):
        unique = {id(c): c for c in identity.clusters.values()}
        out.update(anon_policy=identity.anon_policy, max_cluster=identity.max_cluster,
                   clusters=[{"canonical": c.canonical, "ids": sorted(c.ids)} for c in unique.values()],
                   identified=sorted(identity.identified), aliases=sorted(identity.aliases))
    elif isinstance(identity, SimplifiedIdentity):
        out["devices"] = dict(identity.devices)
    else:
        out["aliases"] = dict(identity.aliases)
    return out


def _profile(p: Profile) -> dict[str, Any]:
    return {"key": p.key, "properties": p.properties, "created_seq": p.created_seq, "updated_seq": p.updated_seq}


def _exchange(x: Exchange) -> dict[str, Any]:
    out = asdict(x)
    body = out.pop("body")
    if body is not None:  # logged bodies (Simulator(log_bodies=True)) are saved as text
        out["body"] = body.decode("utf-8", "replace")
    return out


def state_to_dict(state: State) -> dict[str, Any]:
    """``State`` → JSON data (shares nothing with the state: dump it or copy it before changing it)."""
    return {
        "identity": identity_to_dict(state.identity),
        "events": [{f: (list(map(list, e.groups)) if f == "groups" else getattr(e, f)) for f in EVENT_FIELDS}
                   for e in state.events],
        "profiles": [_profile(p) for p in state.profiles.values()],
        "groups": [{**_profile(p), "key": None, "group_key": k, "group_id": g} for (k, g), p in state.groups.items()],
        "group_keys": dict(state.group_keys),
        "seen_ids": list(state.seen_ids),
        "log": [_exchange(x) for x in state.log],
        "seq": state.seq,
        "generated_ids": state.generated_ids,
    }


def snapshot_to_dict(snapshot: Snapshot) -> dict[str, Any]:
    data = {MARKER: FORMAT, "label": snapshot.label, "taken_ms": snapshot.taken_ms,
            "settings": dict(snapshot.settings), **state_to_dict(snapshot._state)}
    # one copy that shares nothing with the live state (properties are nested dicts)
    return json.loads(json.dumps(data))


# ---------------------------------------------------------------------- reading
class _Reader:
    """Typed access to one saved object, with errors that give the path of the bad field."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, Mapping):
            raise StateFormatError(f"saved state: {path} must be an object, not {type(data).__name__}")
        self.data, self.path = data, path

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                raise StateFormatError(f"saved state: {self.path}.{key} is missing")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            names = " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)
            raise StateFormatError(f"saved state: {self.path}.{key} must be {names}, not {json.dumps(value)[:60]}")
        return value

    def items(self, key: str, default: Any = ...) -> list[_Reader]:
        return [_Reader(item, f"{self.path}.{key}[{i}]") for i, item in enumerate(self.get(key, list, default))]


_KIND_NAMES = {int: "an integer", str: "a string", list: "a list", dict: "an object", bool: "true or false",
               float: "a number", type(None): "null"}


def _read_refusals(reader: _Reader) -> list[Refusal]:
    return [Refusal(r.get("kind", str), tuple(r.get("ids", list)), r.get("reason", str), r.get("description", str),
                    r.get("seq", int)) for r in reader.items("refusals", [])]


def identity_from_dict(reader: _Reader) -> Any:
    mode = reader.get("mode", str)
    refusals = _read_refusals(reader)
    if mode == "original":
        identity = OriginalIdentity(anon_policy=reader.get("anon_policy", str, "uuid4+mixpanel"),
                                    max_cluster=reader.get("max_cluster", int, OriginalIdentity.max_cluster),
                                    identified=set(reader.get("identified", list, [])),
                                    aliases=set(reader.get("aliases", list, [])), refusals=refusals)
        for c in reader.items("clusters", []):
            cluster = _Cluster(set(c.get("ids", list)), c.get("canonical", str))
            for member in cluster.ids:
                identity.clusters[member] = cluster
        return identity
    if mode == "simplified":
        return SimplifiedIdentity(devices=dict(reader.get("devices", dict, {})), refusals=refusals)
    if mode == "legacy":
        return LegacyIdentity(aliases=dict(reader.get("aliases", dict, {})), refusals=refusals)
    raise StateFormatError(f"saved state: {reader.path}.mode must be 'original', 'simplified' or 'legacy', "
                           f"not {mode!r}")


def _read_profile(r: _Reader, key: Any) -> Profile:
    return Profile(key, dict(r.get("properties", dict)), r.get("created_seq", int, 0), r.get("updated_seq", int, 0))


def _read_event(r: _Reader) -> StoredEvent:
    return StoredEvent(
        r.get("seq", int), r.get("name", str), r.get("distinct_id", str), r.get("time_ms", int),
        r.get("insert_id", str), dict(r.get("properties", dict)), r.get("endpoint", str), r.get("host", str),
        r.get("received_ms", int), r.get("generated_insert_id", bool, False),
        tuple((str(k), str(v)) for k, v in r.get("groups", list, [])))


def _read_exchange(r: _Reader) -> Exchange:
    records = [RecordResult(**{k: v for k, v in x.data.items() if k in RecordResult.__dataclass_fields__})
               for x in r.items("records", [])]
    body = r.get("body", (str, type(None)), None)
    return Exchange(r.get("seq", int), r.get("received_ms", int), dict(r.get("request", dict)), r.get("status", int),
                    r.get("reply", str), records, None if body is None else body.encode("utf-8"))


def state_from_dict(data: Any) -> State:
    """JSON data → ``State``; raises :class:`StateFormatError` naming the first bad field."""
    reader = _Reader(data, "state")
    # the log as saved: every exchange and body (the simulator that resumes it sets its own bounds)
    state = State(identity_from_dict(_Reader(reader.get("identity", dict), "identity")),
                  log=RequestLog(None, bodies=True))
    for event in reader.items("events", []):
        state.events.append(_read_event(event))
    for p in reader.items("profiles", []):
        key = p.get("key", str)
        state.profiles[key] = _read_profile(p, key)
    for g in reader.items("groups", []):
        group_key, group_id = g.get("group_key", str), g.get("group_id", str)
        state.groups[(group_key, group_id)] = _read_profile(g, (group_key, group_id))
    state.group_keys.update({str(k): int(v) for k, v in reader.get("group_keys", dict, {}).items()})
    state.seen_ids.update(dict.fromkeys(str(i) for i in reader.get("seen_ids", list, [])))
    state.log.extend(_read_exchange(x) for x in reader.items("log", []))
    state.seq = reader.get("seq", int, max([e.seq for e in state.events], default=0))
    state.generated_ids = reader.get("generated_ids", int, 0)
    return state


def _parse(source: Any) -> Any:
    if isinstance(source, Mapping):
        return source
    if isinstance(source, bytes):
        source = source.decode("utf-8", errors="replace")
    if isinstance(source, str) and source.lstrip().startswith("{"):
        try:
            return json.loads(source)
        except ValueError as exc:
            raise StateFormatError(f"saved state is not valid JSON: {exc}") from None
    if isinstance(source, (str, Path)):
        from .._files import read_json

        return read_json(source, "saved state", StateFormatError)
    raise StateFormatError(f"load_snapshot takes a path, JSON text or a dict, not {type(source).__name__}")


def is_saved_state(value: Any) -> bool:
    """Whether a parsed JSON value is a saved mpsim state."""
    return isinstance(value, Mapping) and MARKER in value


def load_snapshot(source: Any) -> Snapshot:
    """A :class:`Snapshot` from a saved state: a file path, JSON text or the dict ``to_dict()`` made."""
    from .state import Snapshot

    data = _parse(source)
    if not is_saved_state(data):
        found = f"an object with keys {', '.join(list(data)[:5])}" if isinstance(data, Mapping) else \
            type(data).__name__
        raise StateFormatError(f"not a saved mpsim state (no {MARKER!r} key; found {found}): "
                               "save one with sim.snapshot().to_json() or `mpsim simulate --save STATE.json`")
    version = data[MARKER]
    if version != FORMAT:
        raise StateFormatError(f"saved state format {version!r} is not one this mpsim reads ({FORMAT})")
    reader = _Reader(data, "state")
    label = reader.get("label", (str, type(None)), None)
    taken = reader.get("taken_ms", (int, float))
    settings = dict(reader.get("settings", dict, {}))
    return Snapshot(state_from_dict(data), int(taken), label, settings)
