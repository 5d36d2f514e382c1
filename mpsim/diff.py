"""``mpsim.diff``: what changed between two payloads, or between two states of a simulator.

Payloads (requests, records, lists of either) are compared path by path, so a changed property
inside ``$set`` reads ``$set.$email``, not "the record differs". Lists are aligned with
``difflib`` so an inserted record is one "added" row and a reordered one is "moved". Snapshots
are compared entity by entity: events, user profiles, group profiles and identities.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._gc import paused_gc
from ._js import strict_equal
from .mixpanel.state import StateViews
from .request import Request

if TYPE_CHECKING:
    import pandas as pd

KINDS = ("added", "removed", "changed", "type-changed", "moved")


@dataclass(frozen=True)
class Change:
    """One difference: where, what kind, and the value on each side (``None`` where absent)."""

    path: str
    kind: str
    before: Any = None
    after: Any = None
    entity: str = ""
    id: str = ""

    def describe(self, before: str = "before", after: str = "after") -> str:
        where = f"{self.entity} {self.id}: " if self.entity else ""
        if self.kind == "added":
            return f"{where}{self.path}: added {_short(self.after)}" if before == "before" else \
                f"{where}{self.path}: unexpected {_short(self.after)}"
        if self.kind == "removed":
            return f"{where}{self.path}: removed {_short(self.before)}" if before == "before" else \
                f"{where}{self.path}: missing (expected {_short(self.before)})"
        if self.kind == "moved":
            return f"{where}{self.path}: moved to {self.after}"
        if before == "before":
            return f"{where}{self.path}: {_short(self.before)} → {_short(self.after)}"
        return f"{where}{self.path}: {before} {_short(self.before)}, {after} {_short(self.after)}"


def _short(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _key(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def changes(before: Any, after: Any, path: str = "") -> list[Change]:
    """Every difference between two JSON-like values, depth first."""
    out: list[Change] = []
    _walk(before, after, path, out)
    return out


def _walk(a: Any, b: Any, path: str, out: list[Change]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in a:
            if key in b:
                _walk(a[key], b[key], _key(path, key), out)
            else:
                out.append(Change(_key(path, key), "removed", a[key], None))
        for key in b:
            if key not in a:
                out.append(Change(_key(path, key), "added", None, b[key]))
        return
    if isinstance(a, list) and isinstance(b, list):
        _walk_lists(a, b, path, out)
        return
    if strict_equal(a, b):
        return
    out.append(Change(path or "$", "changed" if _json_type(a) == _json_type(b) else "type-changed", a, b))


def _walk_lists(a: list[Any], b: list[Any], path: str, out: list[Change]) -> None:
    ca, cb = [_canonical(x) for x in a], [_canonical(x) for x in b]
    if ca == cb:
        return
    removed: list[tuple[int, Any]] = []
    added: list[tuple[int, Any]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, ca, cb, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        if op == "replace":
            common = min(i2 - i1, j2 - j1)
            for k in range(common):
                x, y = a[i1 + k], b[j1 + k]
                if isinstance(x, (dict, list)) and type(x) is type(y) and ca[i1 + k] not in cb:
                    _walk(x, y, _key(path, j1 + k), out)  # the same slot, edited: show what changed inside
                else:
                    removed.append((i1 + k, x))
                    added.append((j1 + k, y))
            removed += [(i, a[i]) for i in range(i1 + common, i2)]
            added += [(j, b[j]) for j in range(j1 + common, j2)]
        elif op == "delete":
            removed += [(i, a[i]) for i in range(i1, i2)]
        else:
            added += [(j, b[j]) for j in range(j1, j2)]
    for i, value in removed:
        target = next((j for j, other in added if _canonical(other) == _canonical(value)), None)
        if target is not None:
            added = [(j, v) for j, v in added if j != target]
            if target != i:
                out.append(Change(_key(path, i), "moved", value, _key(path, target)))
        else:
            out.append(Change(_key(path, i), "removed", value, None))
    out += [Change(_key(path, j), "added", None, v) for j, v in added]


class Diff:
    """The differences between two things: iterable, a pandas table, colour HTML, plain text."""

    def __init__(self, rows: list[Change], labels: tuple[str, str] = ("before", "after")) -> None:
        self.rows = rows
        self.labels = labels

    def __iter__(self) -> Iterator[Change]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __bool__(self) -> bool:
        return bool(self.rows)

    def __getitem__(self, index: int) -> Change:
        return self.rows[index]

    def paths(self) -> list[str]:
        return [r.path for r in self.rows]

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        entity = any(r.entity for r in self.rows)
        columns = (["entity", "id"] if entity else []) + ["path", "kind", "before", "after"]
        from .notebook.views import mark_frame

        return mark_frame(pd.DataFrame([{c: getattr(r, c) for c in columns} for r in self.rows], columns=columns))

    def to_text(self, before: str = "before", after: str = "after", limit: int | None = None) -> str:
        """One line per change, for terminals and conformance reports."""
        if not self.rows:
            return "no differences"
        rows = self.rows if limit is None else self.rows[:limit]
        lines = [r.describe(before, after) for r in rows]
        if limit is not None and len(self.rows) > limit:
            lines.append(f"… and {len(self.rows) - limit} more differences")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        counts = {k: sum(r.kind == k for r in self.rows) for k in KINDS}
        return "Diff(" + ", ".join(f"{v} {k}" for k, v in counts.items() if v) + ")" if self.rows else "Diff(no differences)"

    def _repr_html_(self) -> str:
        from .notebook.views import diff_html

        return diff_html(self)


#: where RudderStack's output carries a batch as a JSON string: (container key, string key)
_BATCH_STRINGS = {"JSON_ARRAY": "batch", "GZIP": "payload"}


def _decoded(value: Any, parent: str | None = None) -> Any:
    """RudderStack outputs with their batch strings parsed, so a diff names the changed property."""
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    if not isinstance(value, dict):
        return value
    inner = _BATCH_STRINGS.get(parent or "")
    out = {}
    for key, item in value.items():
        if key == inner and isinstance(item, str):
            try:
                item = json.loads(item)
            except ValueError:
                pass  # not JSON: compared as the string it is
        out[key] = _decoded(item, key)
    return out


def _payload(value: Any) -> Any:
    if isinstance(value, Request):
        return {"endpoint": value.endpoint, "params": value.params, "records": json.loads(value.body_text())}
    if isinstance(value, list):
        return [_payload(v) for v in value]
    return _decoded(value)


def event_entity(event: Any) -> str:
    """How a diff names a stored event: by its ``$insert_id``, which names it the same way in two
    replays; an event with a generated one only has its sequence number."""
    return f"{event.name} #{event.seq}" if event.generated_insert_id else f"{event.name} [{event.insert_id}]"


@dataclass
class _Scope:
    """The entities a state diff needs to look at; ``None`` means every one of that kind."""

    events: set[str] | None = None
    profiles: set[Any] | None = None
    groups: set[Any] | None = None
    ids: set[str] | None = None


def _entity_names(state: StateViews, positions: Any) -> Iterator[tuple[int, str]]:
    """(position, event entity name) read from the columns, without decoding any event."""
    store = state._state.events.store
    for i in positions:
        name = store.names[i]
        yield i, f"{name} #{store.seq[i]}" if store.generated[i] else f"{name} [{store.insert_ids[i]}]"


def _state_entities(state: StateViews, scope: _Scope | None = None) -> dict[tuple[str, str], Any]:
    scope = scope or _Scope()
    entities: dict[tuple[str, str], Any] = {}
    store = state._state.events.store
    for i, name in _entity_names(state, state._event_positions(True)):
        if scope.events is None or name in scope.events:
            entities[("event", name)] = state.event_view(store.event(i))
    for key, profile in state._state.profiles.items():
        if scope.profiles is None or key in scope.profiles:
            visible = state._state.identity.profile_visible(key)
            entities[("profile" if visible else "hidden profile", key)] = profile.properties
    for (group_key, group_id), profile in state._state.groups.items():
        if scope.groups is None or (group_key, group_id) in scope.groups:
            entities[("group", f"{group_key}={group_id}")] = profile.properties
    for distinct_id in state._state.seen_ids:
        if scope.ids is None or distinct_id in scope.ids:
            entities[("identity", distinct_id)] = {"canonical": state.canonical(distinct_id)}
    return entities


def _changed_scope(a: StateViews, b: StateViews) -> _Scope | None:
    """What can differ between two states of one project (one shares the other's event columns).

    Events only grow and profiles are replaced, never changed in place, so only new events, events
    whose user changed and profiles that are not the same object can differ. ``None`` when the
    states do not share their events (then everything is compared).
    """
    sa, sb = a._state, b._state
    if sa.events.store is not sb.events.store:
        return None
    low, high = sorted((len(sa.events), len(sb.events)))
    store = sa.events.store
    ids = set(sa.seen_ids) | set(sb.seen_ids) | set(store.distinct_ids[:high])
    moved = {i for i in ids if (i in sa.seen_ids) != (i in sb.seen_ids) or a.canonical(i) != b.canonical(i)}
    touched = {name for _, name in _entity_names(a, range(low, high))}
    if moved:
        touched |= {name for i, name in _entity_names(a, range(high)) if store.distinct_ids[i] in moved}
    identity_a, identity_b = sa.identity, sb.identity

    def changed(pa: dict[Any, Any], pb: dict[Any, Any], visibility: bool) -> set[Any]:
        keys = {k for k in pa.keys() | pb.keys() if pa.get(k) is not pb.get(k)}
        if visibility:
            keys |= {k for k in pa.keys() & pb.keys() if identity_a.profile_visible(k) != identity_b.profile_visible(k)}
        return keys

    return _Scope(touched, changed(sa.profiles, sb.profiles, True), changed(sa.groups, sb.groups, False), moved)


def diff_states(a: StateViews, b: StateViews) -> Diff:
    """Entity-by-entity differences between two simulator states (snapshots or live simulators).

    Two states of one project (snapshots of one simulator) are compared on what can have changed
    between them only, so a diff of two big snapshots costs in proportion to the change.
    """
    with paused_gc():
        scope = _changed_scope(a, b)
        return diff_entities(_state_entities(a, scope), _state_entities(b, scope))


def diff_entities(ea: dict[tuple[str, str], Any], eb: dict[tuple[str, str], Any]) -> Diff:
    """Differences between two ``(entity kind, id) → value`` maps, in the order a state diff uses."""
    rows: list[Change] = []
    for entity, ident in list(ea) + [k for k in eb if k not in ea]:
        key = (entity, ident)
        if key not in eb:
            rows.append(Change("$", "removed", ea[key], None, entity, ident))
        elif key not in ea:
            rows.append(Change("$", "added", None, eb[key], entity, ident))
        else:
            rows += [Change(c.path, c.kind, c.before, c.after, entity, ident) for c in changes(ea[key], eb[key])]
    order = {"identity": 0, "profile": 1, "hidden profile": 2, "group": 3, "event": 4}
    rows.sort(key=lambda r: order.get(r.entity, 9))
    return Diff(rows)


def diff(a: Any, b: Any) -> Diff:
    """What changed from ``a`` to ``b``: two payloads (requests, records, lists) or two simulator states.

    RudderStack outputs (``transform`` output, router items) are compared with their batch strings
    decoded, so a changed property reads ``body.JSON_ARRAY.batch[0].properties.x``.
    """
    if isinstance(a, StateViews) and isinstance(b, StateViews):
        return diff_states(a, b)
    if isinstance(a, StateViews) or isinstance(b, StateViews):
        raise TypeError("diff compares two simulator states or two payloads, not one of each")
    return Diff(changes(_payload(a), _payload(b)))


@dataclass
class Comparison:
    """The same events through two destination configurations: request and state differences."""

    requests: Diff
    state: Diff
    a: Any
    b: Any
    #: one line per side whose Mixpanel project was assumed from its destination
    notes: list[str] = field(default_factory=list)

    def _repr_html_(self) -> str:
        from .notebook.views import diff_body_html, note, output_html

        return output_html("".join(note(n) for n in self.notes)
                           + "<h4>Requests Mixpanel receives</h4>" + diff_body_html(self.requests)
                           + "<h4>What Mixpanel holds</h4>" + diff_body_html(self.state), "comparison")

    def __repr__(self) -> str:
        return f"Comparison(requests={self.requests!r}, state={self.state!r})"

    def to_text(self) -> str:
        """The notes, then what differs in the requests and in what Mixpanel holds."""
        return "\n".join([*self.notes, "Requests Mixpanel receives:", self.requests.to_text(),
                          "What Mixpanel holds:", self.state.to_text()])


def _step_payload(step: Any) -> Any:
    if step.error is not None:
        return {"error": step.error.message}
    return _payload(step.requests)


def compare_configs(events: list[dict[str, Any]], config_a: dict[str, Any], config_b: dict[str, Any], *,
                    project: Any = None, now: Any = None) -> Comparison:
    """Replay ``events`` under two destination configs; diff the requests and the resulting Mixpanel state.

    ``project`` (a dict of Simulator settings, or a Simulator whose settings are copied) is the
    Mixpanel project *both* sides send to: a destination setting that the project ignores then
    shows as what it is. Without it, each side's project is assumed to match its own destination,
    and ``Comparison.notes`` says so. Typical uses: Original vs Simplified ID merge, old vs new name
    mapping, two group-key settings.
    """
    from .project import resolve_project
    from .replay import replay

    shared = None if project is None else resolve_project(project)
    settings = None if shared is None else dict(shared.settings)
    first = replay(events, config_a, project=settings, now=now, keep=None)
    second = replay(events, config_b, project=settings, now=now, keep=None)
    rows: list[Change] = []
    for step_a, step_b in zip(first.steps, second.steps, strict=True):
        rows += [Change(c.path, c.kind, c.before, c.after, "event", step_a.label)
                 for c in changes(_step_payload(step_a), _step_payload(step_b))]
    notes = [f"config {side}: {r.project.note}" for side, r in (("A", first), ("B", second))
             if r.project is not None and r.project.note]
    return Comparison(Diff(rows, ("config A", "config B")), diff_states(first.sim, second.sim), first, second, notes)
