"""The simulator's journal: every identity step and profile operation, with the request that made it.

The identity and profile engines change state; the journal keeps *why*, so ``sim.explain`` can
answer "why are these one user" and ``sim.explain_profile`` "where did this value come from" in
words: request number, time, operation, the ids or values involved and the rule that applied.
Entries are small frozen records (slots: ~200 bytes each). The journal grows with identity events and
profile updates, so it is bounded like the request log: past ``limit`` steps of a kind the oldest are
forgotten (``dropped`` counts them, and explanations say that older history is not shown); ``limit=0``
keeps none, ``None`` keeps every step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Steps of each kind (identity, profile) the journal keeps by default: a million-event replay's worth.
DEFAULT_JOURNAL_LIMIT = 1_000_000

#: identity step outcomes
JOINED, ALREADY, REFUSED, IGNORED = "joined", "already one user", "refused", "ignored"


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class ProfileStep:
    """One operation on one property of one user or group profile.

    ``value``, ``before`` and ``after`` are the values themselves, shared with the profiles (no
    operation changes a value in place): read them, do not change them.
    """

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
    """What the simulator did and why, in the order it happened (the newest ``limit`` steps of each kind)."""

    identity: list[IdentityStep] = field(default_factory=list)
    profiles: list[ProfileStep] = field(default_factory=list)
    #: the request being handled (1-based, counted from the simulator's start or reset) and its time
    request: int = 0
    time_ms: int = 0
    #: steps of each kind kept (the oldest are forgotten past it); 0 keeps none, None keeps every one
    limit: int | None = DEFAULT_JOURNAL_LIMIT
    #: steps forgotten because the journal was full (identity, profile)
    dropped_identity: int = 0
    dropped_profiles: int = 0
    #: the request of the newest forgotten step: steps of this request and earlier may be missing
    dropped_through: int = 0
    _ignored_pairs: set[tuple[str, ...]] = field(default_factory=set)

    def __post_init__(self) -> None:
        limit = self.limit
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise ValueError(f"journal limit must be a number of steps (0 keeps none) or None, not {limit!r}")

    @property
    def dropped(self) -> int:
        """Steps forgotten because the journal was full (both kinds)."""
        return self.dropped_identity + self.dropped_profiles

    def start_request(self, time_ms: int) -> None:
        self.request += 1
        self.time_ms = time_ms

    def identity_step(self, seq: int, operation: str, ids: tuple[str, ...], outcome: str, rule: str,
                      reason: str | None = None, canonical: str | None = None) -> None:
        if outcome == IGNORED:  # said once per pair of ids: a long log repeats them on every event
            key = (operation, *ids)
            if key in self._ignored_pairs:
                return
            if self.limit is not None and len(self._ignored_pairs) >= max(self.limit, 1):
                self._ignored_pairs.clear()  # bounded too: a pair may then be said again
            self._ignored_pairs.add(key)
        self.identity.append(IdentityStep(self.request, self.time_ms, seq, operation, ids, outcome, rule, reason,
                                          canonical))
        if self.limit is not None and len(self.identity) > self.limit:
            self.dropped_identity += self._forget(self.identity)

    def profile_step(self, seq: int, profile: str, sent_to: str, operation: str, prop: str | None, value: Any,
                     before: Any, after: Any, effect: str) -> None:
        self.profiles.append(ProfileStep(self.request, self.time_ms, seq, profile, sent_to, operation, prop, value,
                                         before, after, effect))
        if self.limit is not None and len(self.profiles) > self.limit:
            self.dropped_profiles += self._forget(self.profiles)

    def _forget(self, steps: list[Any]) -> int:
        """Drop the oldest steps past the limit, in chunks (removing from the front of a list moves it)."""
        limit = self.limit or 0
        count = min(len(steps), len(steps) - limit + limit // 16)
        self.dropped_through = max(self.dropped_through, steps[count - 1].request)
        del steps[:count]
        return count

    def history_note(self) -> str | None:
        """What an explanation must say when older steps were forgotten (None when the journal is whole)."""
        if not self.dropped:
            return None
        kept = "keeps no steps" if self.limit == 0 else f"keeps the newest {self.limit:,} steps of each kind"
        return (f"older history is not shown: the explain journal {kept} (Simulator(journal_limit=...)) and "
                f"forgot {self.dropped:,} steps, up to request #{self.dropped_through}; what happened before "
                "then may be missing here")
