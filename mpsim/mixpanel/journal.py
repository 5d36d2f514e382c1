"""The simulator's journal: every identity step and profile operation, with the request that made it.

The identity and profile engines change state; the journal keeps *why*, so ``sim.explain`` can
answer "why are these one user" and ``sim.explain_profile`` "where did this value come from" in
words: request number, time, operation, the ids or values involved and the rule that applied.
Entries are small frozen records; the journal only grows with identity events and profile updates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: identity step outcomes
JOINED, ALREADY, REFUSED, IGNORED = "joined", "already one user", "refused", "ignored"


@dataclass(frozen=True)
class IdentityStep:
    """One identity operation: ``$identify``, ``$create_alias``, ``$merge`` or a device link."""

    request: int
    time_ms: int
    seq: int
    operation: str
    ids: tuple[str, ...]
    outcome: str
    rule: str
    reason: str | None = None
    #: the canonical id of the user after this step (when it joined)
    canonical: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request, "time_ms": self.time_ms, "operation": self.operation, "ids": list(self.ids),
                "outcome": self.outcome, "rule": self.rule, "reason": self.reason, "canonical": self.canonical}


@dataclass(frozen=True)
class ProfileStep:
    """One operation on one property of one user or group profile."""

    request: int
    time_ms: int
    seq: int
    profile: str  # the profile key: a distinct id, or "group_key=group_id"
    sent_to: str  # the id the update named (before identity resolution)
    operation: str
    property: str | None
    value: Any
    before: Any
    after: Any
    effect: str  # set, changed, unchanged, ignored, removed, deleted, created

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request, "time_ms": self.time_ms, "profile": self.profile, "sent_to": self.sent_to,
                "operation": self.operation, "property": self.property, "value": self.value,
                "before": self.before, "after": self.after, "effect": self.effect}


@dataclass
class Journal:
    """What the simulator did and why, in the order it happened."""

    identity: list[IdentityStep] = field(default_factory=list)
    profiles: list[ProfileStep] = field(default_factory=list)
    #: the request being handled (1-based, counted from the simulator's start or reset) and its time
    request: int = 0
    time_ms: int = 0
    _ignored_pairs: set[tuple[str, ...]] = field(default_factory=set)

    def start_request(self, time_ms: int) -> None:
        self.request += 1
        self.time_ms = time_ms

    def identity_step(self, seq: int, operation: str, ids: tuple[str, ...], outcome: str, rule: str,
                      reason: str | None = None, canonical: str | None = None) -> None:
        if outcome == IGNORED:  # said once per pair of ids: a long log repeats them on every event
            key = (operation, *ids)
            if key in self._ignored_pairs:
                return
            self._ignored_pairs.add(key)
        self.identity.append(IdentityStep(self.request, self.time_ms, seq, operation, ids, outcome, rule, reason,
                                          canonical))

    def profile_step(self, seq: int, profile: str, sent_to: str, operation: str, prop: str | None, value: Any,
                     before: Any, after: Any, effect: str) -> None:
        self.profiles.append(ProfileStep(self.request, self.time_ms, seq, profile, sent_to, operation, prop, value,
                                         before, after, effect))
