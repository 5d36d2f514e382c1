"""Replays: RudderStack events through the transformer into a simulator, one step per event."""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._files import read_records
from .errors import TransformError
from .mixpanel import Reply, Simulator
from .request import Request
from .rudder import transform
from .rudder.common import Settings

UNSET: Any = object()


@dataclass
class Step:
    """One RudderStack event of a replay: the requests it became and Mixpanel's answers, or the error."""

    index: int
    message: dict[str, Any]
    requests: list[Request] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    error: TransformError | None = None
    #: the simulator's state after this step (when the replay was asked to keep history)
    snapshot: Any = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(r.ok for r in self.replies)

    @property
    def label(self) -> str:
        m = self.message
        name = m.get("event") or m.get("name") or ""
        return f"#{self.index} {m.get('type', '?')}{' ' + str(name) if name else ''}"


@dataclass
class Replay:
    """The outcome of a replay: each step, and the simulator holding the resulting state."""

    sim: Simulator
    steps: list[Step]
    #: validation findings for the replayed events, when the caller asked for them
    findings: Any = None

    def step_diff(self, index: int) -> Any:
        """What step ``index`` changed in Mixpanel's state (needs ``replay(..., history=True)``)."""
        from .diff import diff
        from .mixpanel.state import Snapshot, State

        step = self.steps[index]
        if step.snapshot is None:
            raise ValueError("this replay kept no history: call replay(..., history=True)")
        before = self.steps[index - 1].snapshot if index > 0 else Snapshot(
            State.empty(self.sim.identity_merge), step.snapshot.taken_ms, "start")
        return diff(before, step.snapshot)

    @property
    def transform_errors(self) -> list[Step]:
        return [s for s in self.steps if s.error is not None]

    @property
    def rejected(self) -> list[Step]:
        """Steps whose requests Mixpanel did not fully accept."""
        return [s for s in self.steps if s.error is None and not all(r.ok for r in s.replies)]

    def _repr_html_(self) -> str:
        problems = "".join(f"<li>{html.escape(s.label)}: {html.escape(s.error.message if s.error else '')}</li>"
                           for s in self.transform_errors)
        return (f"<p>{len(self.steps)} events replayed, {sum(len(s.requests) for s in self.steps)} requests, "
                f"{len(self.transform_errors)} transform errors, {len(self.rejected)} rejected by Mixpanel.</p>"
                + (f"<ul>{problems}</ul>" if problems else "") + self.sim._repr_html_())


def replay(events: Iterable[dict[str, Any]], destination: dict[str, Any] | None = None, *,
           sim: Simulator | None = None, now: Any = None, history: bool = False) -> Replay:
    """Transform each RudderStack event and send the requests to ``sim`` (a new one by default).

    A new simulator takes the token and ID-merge mode from the destination config and freezes its
    clock at ``now``. A transform error is recorded on its step and the replay goes on. With
    ``history=True`` every step keeps a snapshot of the state after it, so
    ``mpsim.diff(steps[i - 1].snapshot, steps[i].snapshot)`` shows what one event changed.
    """
    if isinstance(events, dict):
        events = [events]  # one event
    if sim is None:
        sim = simulator_for(destination, now=now)
    steps = []
    for index, message in enumerate(events):
        step = run_step(sim, index, message, destination, now)
        if history:
            step.snapshot = sim.snapshot(step.label)
        steps.append(step)
    return Replay(sim, steps)


def simulator_for(destination: dict[str, Any] | None, *, now: Any = None, token: Any = UNSET,
                  identity_merge: str | None = None, group_keys: Iterable[str] = ()) -> Simulator:
    """A simulator set up like the Mixpanel project a destination config points at."""
    settings = Settings.from_destination(destination)
    if token is UNSET:
        token = settings.token if isinstance(settings.token, str) and settings.token else None
    mode = identity_merge or ("simplified" if settings.simplified else "original")
    return Simulator(token=token, identity_merge=mode, now=now, group_keys=group_keys)


def run_step(sim: Simulator, index: int, message: Any, destination: dict[str, Any] | None, now: Any) -> Step:
    """Transform one RudderStack event and send its requests; a transform error stays on the step."""
    step = Step(index, message)
    try:
        step.requests = transform(message, destination, now=now if now is not None else sim.now_ms)
    except TransformError as exc:
        step.error = exc
    else:
        step.replies = sim.send(step.requests)
    return step


def read_events(path: str | Path) -> Iterator[dict[str, Any]]:
    """Events from a JSON array, a single JSON object or JSON Lines; a bad line names its number."""
    for item in read_records(path, "events file"):
        yield item.value
