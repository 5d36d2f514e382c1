"""Identity clusters: Original ID merge (``$identify``, ``$create_alias``, ``$merge``) and Simplified ID merge.

Both keep the same picture: a cluster is a set of distinct ids with one canonical id, and every
stored event or profile update resolves through it at read time. A refused merge changes nothing
and is kept, with Mixpanel's reason code, so that a notebook can explain it later.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_CLUSTER = 500
DEVICE_PREFIX = "$device:"

_UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE)
_MIXPANEL_DEVICE = re.compile(r"^[0-9a-f]+(?:-[0-9a-f]+){4}$", re.IGNORECASE)

#: Mixpanel's failure codes and what they mean, for people reading a refused merge.
REASONS = {
    "errSameIDs": "$anon_id and $identified_id are the same id",
    "errAnonDistinctIdNonGUIDForm": "$anon_id is not a UUID v4 (or Mixpanel device id), so Mixpanel will not "
                                    "treat it as an anonymous id",
    "errAnonDistinctIdAssignedAlready": "$anon_id is already merged with an identified user",
    "errManyIDs": f"the merged cluster would hold more than {MAX_CLUSTER} distinct ids",
    "errAliasAlreadyExists": "this alias already points at another id",
    "errDeviceMappedToOtherUser": "device_id already mapped to a different user_id",
}


def looks_anonymous(value: str, policy: str = "uuid4+mixpanel") -> bool:
    """Whether ``$anon_id`` passes Mixpanel's anonymous-id shape check (spec §4.2, a simulator choice)."""
    if policy == "any":
        return True
    if value.startswith(DEVICE_PREFIX):  # the SDKs' own anonymous ids: $device:<uuid> (spec §4.2)
        value = value[len(DEVICE_PREFIX):]
    if _UUID4.match(value):
        return True
    return policy == "uuid4+mixpanel" and bool(_MIXPANEL_DEVICE.match(value))


@dataclass
class Outcome:
    """The result of one identity event."""

    ok: bool
    reason: str | None = None
    noop: bool = False

    @property
    def description(self) -> str | None:
        return REASONS.get(self.reason, self.reason) if self.reason else None


@dataclass(frozen=True)
class Refusal:
    """A merge Mixpanel refused: which ids, why, and which event asked for it."""

    kind: str  # $identify | $create_alias | $merge | link
    ids: tuple[str, ...]
    reason: str
    description: str
    seq: int


@dataclass
class _Cluster:
    ids: set[str]
    canonical: str


@dataclass
class OriginalIdentity:
    """Original ID merge: clusters joined by ``$identify``, ``$create_alias`` and ``$merge`` (spec §4)."""

    anon_policy: str = "uuid4+mixpanel"
    max_cluster: int = MAX_CLUSTER
    clusters: dict[str, _Cluster] = field(default_factory=dict)
    identified: set[str] = field(default_factory=set)
    aliases: set[str] = field(default_factory=set)
    refusals: list[Refusal] = field(default_factory=list)

    mode = "original"
    #: merges are retroactive: stored events resolve through the cluster at read time
    reshuffles = True

    def _cluster(self, distinct_id: str) -> _Cluster:
        return self.clusters.get(distinct_id) or _Cluster({distinct_id}, distinct_id)

    def canonical(self, distinct_id: str) -> str:
        cluster = self.clusters.get(distinct_id)
        return cluster.canonical if cluster else distinct_id

    def members(self, distinct_id: str) -> set[str]:
        return set(self._cluster(distinct_id).ids)

    def resolve_profile_key(self, distinct_id: str) -> str:
        return self.canonical(distinct_id)

    def profile_visible(self, key: str) -> bool:
        return self.resolve_profile_key(key) == key

    def ingest_id(self, distinct_id: str) -> str:
        return distinct_id

    def _join(self, target_id: str, other_id: str, has_profile: Callable[[str], bool]) -> None:
        target, other = self._cluster(target_id), self._cluster(other_id)
        keep = target.canonical
        owners = [c for c in (target.canonical, other.canonical) if has_profile(c)]
        if len(owners) == 1:
            keep = owners[0]
        merged = _Cluster(target.ids | other.ids, keep)
        for member in merged.ids:
            self.clusters[member] = merged

    def _refuse(self, kind: str, ids: tuple[str, ...], reason: str, seq: int) -> Outcome:
        outcome = Outcome(False, reason)
        self.refusals.append(Refusal(kind, ids, reason, outcome.description or reason, seq))
        return outcome

    def _same_cluster(self, a: str, b: str) -> bool:
        cluster = self.clusters.get(a)
        return a == b or (cluster is not None and self.clusters.get(b) is cluster)

    def _too_big(self, a: str, b: str) -> bool:
        return len(self._cluster(a).ids | self._cluster(b).ids) > self.max_cluster

    def identify(self, anon_id: str, identified_id: str, seq: int, has_profile: Callable[[str], bool]) -> Outcome:
        ids = (anon_id, identified_id)
        if anon_id == identified_id:
            return self._refuse("$identify", ids, "errSameIDs", seq)
        if not looks_anonymous(anon_id, self.anon_policy):
            return self._refuse("$identify", ids, "errAnonDistinctIdNonGUIDForm", seq)
        if self._same_cluster(anon_id, identified_id):
            self.identified.add(identified_id)
            return Outcome(True, noop=True)
        if self._cluster(anon_id).ids & self.identified:
            return self._refuse("$identify", ids, "errAnonDistinctIdAssignedAlready", seq)
        if self._too_big(anon_id, identified_id):
            return self._refuse("$identify", ids, "errManyIDs", seq)
        self._join(identified_id, anon_id, has_profile)
        self.identified.add(identified_id)
        return Outcome(True)

    def alias(self, distinct_id: str, alias: str, seq: int, has_profile: Callable[[str], bool]) -> Outcome:
        ids = (distinct_id, alias)
        if alias == distinct_id:
            return Outcome(True, noop=True)
        if alias in self.aliases:
            return self._refuse("$create_alias", ids, "errAliasAlreadyExists", seq)
        if self._too_big(distinct_id, alias):
            return self._refuse("$create_alias", ids, "errManyIDs", seq)
        self._join(distinct_id, alias, has_profile)
        self.aliases.add(alias)
        return Outcome(True)

    def merge(self, first: str, second: str, seq: int, has_profile: Callable[[str], bool]) -> Outcome:
        if self._same_cluster(first, second):
            return Outcome(True, noop=True)
        if self._too_big(first, second):
            return self._refuse("$merge", (first, second), "errManyIDs", seq)
        self._join(first, second, has_profile)
        return Outcome(True)

    def link(self, user_id: str, device_id: str, seq: int) -> Outcome:
        return Outcome(True, noop=True)  # Original projects do not link on $user_id/$device_id


@dataclass
class SimplifiedIdentity:
    """Simplified ID merge: ``$device:<D>`` ids link to one ``$user_id`` (spec §5)."""

    devices: dict[str, str] = field(default_factory=dict)  # "$device:D" -> user id
    refusals: list[Refusal] = field(default_factory=list)

    mode = "simplified"
    reshuffles = True

    def canonical(self, distinct_id: str) -> str:
        return self.devices.get(distinct_id, distinct_id)

    def members(self, distinct_id: str) -> set[str]:
        user = self.canonical(distinct_id)
        return {user} | {d for d, u in self.devices.items() if u == user}

    def resolve_profile_key(self, distinct_id: str) -> str:
        return self.devices.get(distinct_id, distinct_id)

    def profile_visible(self, key: str) -> bool:
        return self.resolve_profile_key(key) == key

    def ingest_id(self, distinct_id: str) -> str:
        return distinct_id

    @staticmethod
    def device_key(device_id: str) -> str:
        """The distinct id a ``$device_id`` stands for: ``$device:<id>``."""
        return device_id if device_id.startswith(DEVICE_PREFIX) else DEVICE_PREFIX + device_id

    def link(self, user_id: str, device_id: str, seq: int) -> Outcome:
        device = self.device_key(device_id)
        linked = self.devices.get(device)
        if linked == user_id:
            return Outcome(True, noop=True)
        if linked is not None:
            outcome = Outcome(False, "errDeviceMappedToOtherUser")
            self.refusals.append(Refusal("link", (device, user_id), outcome.reason or "",
                                         REASONS["errDeviceMappedToOtherUser"], seq))
            return outcome
        self.devices[device] = user_id
        return Outcome(True)

    def identify(self, *args: Any) -> Outcome:
        return Outcome(True, noop=True)  # identity events are ignored in Simplified projects

    alias = merge = identify


@dataclass
class LegacyIdentity:
    """ID merge disabled (Legacy, spec §4.8): ``$create_alias`` maps an alias to an id, one way.

    Not retroactive: events and profile updates sent to an alias *after* the alias exists are
    stored under its target; earlier ones stay where they were. ``$identify`` and ``$merge`` do
    nothing.
    """

    aliases: dict[str, str] = field(default_factory=dict)
    refusals: list[Refusal] = field(default_factory=list)

    mode = "legacy"
    reshuffles = False

    def ingest_id(self, distinct_id: str) -> str:
        """Follow aliases to the id data is stored under (chains resolve to their end)."""
        seen = {distinct_id}
        while distinct_id in self.aliases:
            distinct_id = self.aliases[distinct_id]
            if distinct_id in seen:
                break
            seen.add(distinct_id)
        return distinct_id

    canonical = ingest_id
    resolve_profile_key = ingest_id

    def members(self, distinct_id: str) -> set[str]:
        target = self.ingest_id(distinct_id)
        return {target} | {a for a in self.aliases if self.ingest_id(a) == target}

    def profile_visible(self, key: str) -> bool:
        return True  # nothing is merged: a profile made under an alias before the alias stays its own

    def alias(self, distinct_id: str, alias: str, seq: int, has_profile: Callable[[str], bool]) -> Outcome:
        if alias == distinct_id:
            return Outcome(True, noop=True)
        if alias in self.aliases:
            outcome = Outcome(False, "errAliasAlreadyExists")
            self.refusals.append(Refusal("$create_alias", (distinct_id, alias), "errAliasAlreadyExists",
                                         REASONS["errAliasAlreadyExists"], seq))
            return outcome
        self.aliases[alias] = distinct_id
        return Outcome(True)

    def identify(self, *args: Any) -> Outcome:
        return Outcome(True, noop=True)

    merge = identify

    def link(self, user_id: str, device_id: str, seq: int) -> Outcome:
        return Outcome(True, noop=True)


Identity = OriginalIdentity | SimplifiedIdentity | LegacyIdentity
