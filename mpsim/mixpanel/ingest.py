"""One record's ingestion in two halves: what the record alone decides, and what the project's state decides.

``Simulator`` runs both halves back to back. ``mpsim.scale`` runs the first half (``prepare``) as a
parallel map over a whole history and the second half (identity, profile keys, profile operations)
in global order on much smaller streams. Both call the functions here, so there is one set of rules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .events import IDENTITY_EVENTS, RecordError, id_text
from .identity import Identity, Outcome
from .profiles import OperationError, Profile, apply_operations


def generated_insert_id(number: int) -> str:
    """The ``$insert_id`` the simulator makes for the ``number``-th /track event without one (1-based)."""
    return hashlib.md5(f"mpsim-insert-id:{number}".encode()).hexdigest()


@dataclass(frozen=True)
class IdentityOp:
    """What an event asks of the identity engine: ``$identify``, ``$create_alias``, ``$merge`` or a Simplified ``link``.

    ``ids`` are the engine's arguments in order: (anon, identified), (distinct_id, alias), (first, second),
    (user_id, device_id).
    """

    kind: str
    ids: tuple[str, str]

    @property
    def seen(self) -> tuple[str, ...]:
        """The ids the project records as seen when it handles this op (a link records none)."""
        return () if self.kind == "link" else self.ids


def device_pair(name: str, props: dict[str, Any]) -> tuple[str, str] | None:
    """``(device_id, user_id)`` of an event that carries both (identity events never link); raises on a bad id."""
    user, device = props.get("$user_id"), props.get("$device_id")
    if name in IDENTITY_EVENTS or user in (None, "") or device in (None, ""):
        return None
    return id_text(device, "properties.$device_id") or "", id_text(user, "properties.$user_id") or ""


def identity_op(name: str, props: dict[str, Any], mode: str, pair: tuple[str, str] | None = None) -> IdentityOp | None:
    """The identity op a checked event carries in a project of ``mode``; raises ``RecordError`` when malformed.

    ``pair`` is the event's ``device_pair``: in Simplified projects it links the device to the user.
    """
    if mode == "simplified":
        return IdentityOp("link", (pair[1], pair[0])) if pair is not None else None
    if mode != "original" and name != "$create_alias":
        return None
    if name == "$identify":
        # mixpanel-browser sends $anon_distinct_id and the identified id as distinct_id (spec §4.2)
        anon_field = "$anon_id" if "$anon_id" in props else "$anon_distinct_id"
        id_field = "$identified_id" if "$identified_id" in props else "distinct_id"
        anon = id_text(props.get(anon_field), f"properties.{anon_field}")
        identified = id_text(props.get(id_field), f"properties.{id_field}")
        if not anon or not identified:
            missing = "$anon_id" if not anon else "$identified_id"
            raise RecordError(f"properties.{missing}", f"'properties.{missing}' is invalid: must be specified")
        return IdentityOp("$identify", (anon, identified))
    if name == "$create_alias":
        alias = id_text(props.get("alias"), "properties.alias")
        original = props.get("distinct_id")
        if not alias or not original:
            raise RecordError("properties.alias", "'properties.alias' is invalid: must be specified")
        return IdentityOp("$create_alias", (original, alias))
    if name == "$merge":
        ids = props.get("$distinct_ids")
        if not (isinstance(ids, list) and len(ids) == 2 and all(isinstance(i, str) and i for i in ids)):
            raise RecordError("properties.$distinct_ids",
                              "'properties.$distinct_ids' is invalid: must be a list of exactly 2 ids")
        return IdentityOp("$merge", (ids[0], ids[1]))
    return None


def apply_identity_op(identity: Identity, op: IdentityOp, seq: int, has_profile: Callable[[str], bool]) -> Outcome:
    """Run one identity op through the project's engine."""
    if op.kind == "link":
        return identity.link(op.ids[0], op.ids[1], seq)
    if op.kind == "$identify":
        return identity.identify(op.ids[0], op.ids[1], seq, has_profile)
    if op.kind == "$create_alias":
        return identity.alias(op.ids[0], op.ids[1], seq, has_profile)
    return identity.merge(op.ids[0], op.ids[1], seq, has_profile)


def failure_properties(op: IdentityOp, outcome: Outcome) -> dict[str, Any]:
    """The properties Mixpanel adds to an event whose identity op was refused."""
    if outcome.ok:
        return {}
    if op.kind == "link":
        return {"$identity_failure_reason": outcome.description}
    return {"$failure_reason": outcome.reason, "$failure_description": outcome.description}


@dataclass
class PreparedEvent:
    """An event record that passed every check the record alone decides; it takes a ``seq`` when committed.

    ``error`` is a problem found after Mixpanel has already numbered the record (a malformed identity
    event): committing it uses up a ``seq`` and rejects it.
    """

    index: int
    name: str
    properties: dict[str, Any]
    time_ms: int
    distinct_id: str
    generated_insert_id: bool
    endpoint: str
    host: str
    received_ms: int
    raw_insert_id: Any
    pair: tuple[str, str] | None = None
    identity_op: IdentityOp | None = None
    error: RecordError | None = None
    #: the generated ``$insert_id`` is a stand-in, numbered when committed (read ahead, out of order)
    insert_id_pending: bool = False


@dataclass
class PreparedProfile:
    """A /engage or /groups record whose operations are valid; its profile key is resolved when committed.

    ``key`` is the literal ``$distinct_id`` for /engage, ``(group_key, group_id)`` for /groups.
    """

    index: int
    kind: str  # engage | groups
    key: Any
    ignore_alias: bool
    record: dict[str, Any]
    ops: list[str]
    last_seen: str | None

    def creates(self) -> bool:
        """Whether this record makes a profile when none exists under its key (all or nothing, like Mixpanel)."""
        scratch: dict[str, Profile] = {}
        try:
            apply_operations(scratch, "", self.record, self.ops, 0, self.last_seen)
        except OperationError:
            return False
        return bool(scratch)

    @property
    def deletes(self) -> bool:
        return self.ops == ["$delete"]


def profile_key(identity: Identity, kind: str, key: Any, ignore_alias: bool) -> Any:
    """The key a profile record lands on, given the identity state when it arrives."""
    if kind != "engage" or ignore_alias:
        return key
    return identity.resolve_profile_key(key)
