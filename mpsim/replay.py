"""Replays: RudderStack events through the transformer into a simulator, one step per event."""

from __future__ import annotations

import html
import sys
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import Any

from ._files import read_records
from ._gc import paused_gc
from .errors import MpsimError, TransformError
from .mixpanel import Reply, Simulator
from .mixpanel.lazy import LazySequence
from .project import Project, ProjectError, resolve_project
from .request import Request
from .rudder import transform

UNSET: Any = object()


#: Steps of a replay that keep their event, requests and replies unless told otherwise (``replay(keep=)``).
KEEP_STEPS = 10_000
#: Events a replay transforms in-process before it hands the rest to a worker process (``replay(workers=None)``):
#: below this a worker costs more than it saves.
PARALLEL_AFTER = 5_000


@dataclass(slots=True)
class Step:
    """One RudderStack event of a replay: the requests it became and Mixpanel's answers, or the error.

    A step past the replay's ``keep`` limit that went through cleanly keeps only its outcome
    (``message`` is None, ``requests`` and ``replies`` are empty; ``ok``, ``label`` and
    ``request_count`` still answer), so a million-event replay does not hold a million events.
    """

    index: int
    message: dict[str, Any] | None
    requests: list[Request] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    error: TransformError | None = None
    #: the simulator's state after this step (when the replay was asked to keep history)
    snapshot: Any = None
    #: (accepted, number of requests, label) of a step that kept only its outcome
    outcome: tuple[bool, int, str] | None = None

    @property
    def ok(self) -> bool:
        if self.outcome is not None:
            return self.outcome[0]
        return self.error is None and all(r.ok for r in self.replies)

    @property
    def request_count(self) -> int:
        return self.outcome[1] if self.outcome is not None else len(self.requests)

    @property
    def label(self) -> str:
        return f"#{self.index} {self.outcome[2] if self.outcome is not None else event_kind(self.message)}"

    def keep_outcome_only(self, *, keep_event: bool = False) -> None:
        """Forget the requests and replies (and the event unless told); keep whether it went through,
        how many requests and the label."""
        if self.outcome is None:
            self.outcome = (self.ok, len(self.requests), sys.intern(event_kind(self.message)))
        if not keep_event:
            self.message = None
        self.requests = []
        self.replies = []


def event_kind(message: Any) -> str:
    """What a step's label says after its number: the event's type and name (``track Order Completed``)."""
    m = message if isinstance(message, dict) else {}
    name = m.get("event") or m.get("name") or ""
    return f"{m.get('type', '?')}{' ' + str(name) if name else ''}"


class StepList(LazySequence[Step]):
    """The steps of a replay. Whole steps are kept as they are; a step that kept only its outcome is
    a few bytes in columns (went through, request count, label, the event or None) and is rebuilt
    as a :class:`Step` when read, so a million-step replay costs megabytes, not a gigabyte."""

    item_name = "step"

    def __init__(self, steps: Iterable[Step] = ()) -> None:
        self._whole: dict[int, Step] = {}
        self._ok = bytearray()
        self._counts = array("H")
        self._kinds: list[str | None] = []
        self._messages: list[Any] = []
        for step in steps:
            self.append(step)

    def __len__(self) -> int:
        return len(self._ok)

    def append(self, step: Step) -> None:
        """Add the next step (its ``index`` is its position); a light one goes into the columns."""
        if step.outcome is None or step.requests or step.replies or step.error is not None or step.snapshot is not None:
            self._whole[len(self._ok)] = step
            self._ok.append(0)
            self._counts.append(0)
            self._kinds.append(None)
            self._messages.append(None)
            return
        self.append_outcome(*step.outcome, step.message)

    def append_outcome(self, ok: bool, count: int, kind: str, message: Any = None) -> None:
        """Add the next step as its outcome only (what ``Step.keep_outcome_only`` leaves), without a ``Step``."""
        self._ok.append(1 if ok else 0)
        self._counts.append(min(count, 65535))
        self._kinds.append(kind)
        self._messages.append(message)

    def __repr__(self) -> str:
        """``StepList(1,234 steps, 1,000 kept whole)``: a replay's repr shows sizes, not an object address."""
        return f"StepList({len(self):,} step{'s' if len(self) != 1 else ''}, {len(self._whole):,} kept whole)"

    def _item(self, index: int) -> Step:
        whole = self._whole.get(index)
        if whole is not None:
            return whole
        kind = self._kinds[index]
        return Step(index, self._messages[index], outcome=(bool(self._ok[index]), self._counts[index], kind or ""))


@dataclass
class Replay:
    """The outcome of a replay: each step, and the simulator holding the resulting state."""

    sim: Simulator
    steps: Sequence[Step]
    #: validation findings, when already known (otherwise worked out on first use of ``findings``)
    known_findings: Any = None
    #: the Mixpanel project the events were sent to (``project.assumed`` when taken from the destination)
    project: Project | None = None
    #: the RudderStack destination config the events were transformed with
    destination: Any = None
    now: Any = None

    @property
    def findings(self) -> Any:
        """What validation finds in the replayed events: per event, cross-event, and project vs destination."""
        if self.known_findings is None:
            from .validation import validate

            if any(s.message is None for s in self.steps):
                raise MpsimError("this replay kept only the outcome of most steps: validate the events with "
                                 "mpsim.validate(events), or replay with keep_events=True")
            events = [s.message for s in self.steps if not (isinstance(s.message, dict) and "mixpanel" in s.message)]
            self.known_findings = validate(events, now=self.now if self.now is not None else self.sim.now_ms,
                                           config=self.destination or {}, project=self.project)
        return self.known_findings

    @findings.setter
    def findings(self, value: Any) -> None:
        self.known_findings = value

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
        return [s for s in self.steps if s.error is None and not s.ok]

    def summary_lines(self) -> list[str]:
        """The replay in a few lines: counts, the project note when it was assumed, findings."""
        from .wording import count

        lines = [f"{count(len(self.steps), 'event')} replayed, {count(sum(s.request_count for s in self.steps), 'request')}"
                 f", {count(len(self.transform_errors), 'transform error')}, "
                 f"{count(len(self.rejected), 'event')} Mixpanel rejected in whole or part."]  # events; drop lines count records
        if self.project is not None and self.project.note:
            lines.append(self.project.note)
        from .mixpanel.explain import dropped_lines

        lines += dropped_lines(self.sim)
        if self.known_findings is not None and len(self.known_findings):
            lines.append(f"findings: {len(self.findings.errors)} errors, {len(self.findings.warnings)} warnings "
                         f"({', '.join(sorted(self.findings.rules()))})")
        return lines

    def __str__(self) -> str:
        return "\n".join(self.summary_lines())

    def _repr_html_(self) -> str:
        problems = "".join(f"<li>{html.escape(s.label)}: {html.escape(s.error.message if s.error else '')}</li>"
                           for s in self.transform_errors)
        from .notebook.views import output_html, state_body_html

        return output_html("".join(f"<p>{html.escape(line)}</p>" for line in self.summary_lines())
                           + (f"<ul>{problems}</ul>" if problems else "") + state_body_html(self.sim), "replay")


def replay(events: Iterable[dict[str, Any]], destination: dict[str, Any] | None = None, *,
           project: Mapping[str, Any] | Simulator | Project | None = None, sim: Simulator | None = None,
           now: Any = None, history: bool = False, keep: int | None = KEEP_STEPS,
           keep_events: bool | None = None, workers: int | None = None) -> Replay:
    """Transform each RudderStack event with ``destination`` and send the requests to the ``project``.

    ``project`` is the Mixpanel side: a dict of ``Simulator`` settings (``token``, ``identity_merge``,
    ``residency``, ``group_keys``, ``api_secret``, …) or a ``Simulator``. It is set in Mixpanel, not
    in RudderStack, so it is never taken from the destination silently: without it the project is
    *assumed* to match the destination and the replay's summary says so (``Replay.project.note``).
    ``sim`` is the simulator to send to (its settings are then the project). The clock is frozen at
    ``now``. A transform error is recorded on its step and the replay goes on. With
    ``history=True`` every step keeps a snapshot of the state after it, so ``replay.step_diff(i)``
    shows what one event changed.

    ``keep`` bounds memory on long replays: steps after the first ``keep`` that went through cleanly
    keep only their outcome (see :class:`Step`); transform errors and rejected steps always keep
    everything. ``keep=None`` (or ``history=True``) keeps every step whole. Those steps keep their
    event when ``keep_events`` is true, by default when ``events`` is a list or tuple (the caller
    holds them anyway); a replay of a generator then holds no events, and ``findings`` asks for them.

    ``workers`` processes transform the events past the kept steps while this process ingests them,
    in order, with exactly the result of a serial replay (each worker sends what HTTP would carry and
    the simulator reads it through its one door). ``None`` uses one worker for replays longer than
    ``PARALLEL_AFTER`` events where a worker can be forked safely (no other threads running; a
    notebook kernel has some, so it replays in-process); ``0`` replays in-process. The transform
    clock must be fixed for that: ``now``, or a simulator whose clock is frozen.
    """
    if isinstance(events, dict):
        events = [events]  # one event
    if isinstance(events, (str, bytes)) or not isinstance(events, Iterable):
        raise TypeError(f"events must be a RudderStack event (a dict) or an iterable of them, "
                        f"not {type(events).__name__}")
    if sim is not None and project is not None and project is not sim:
        raise ProjectError("give the project as project= (settings or a Simulator) or sim=, not both")
    target = resolve_project(sim if sim is not None else project, destination)
    sim = target.simulator(now)
    steps = StepList()
    if keep_events is None:
        keep_events = isinstance(events, (list, tuple))  # the caller holds them anyway: a reference is free
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 0):
        raise ValueError(f"workers must be a number of worker processes (0 replays in-process) or None, "
                         f"not {workers!r}")
    iterator = iter(events)
    # steps that stay whole are made in-process; past them (and PARALLEL_AFTER when automatic), a pool may take over
    serial = None if history or keep is None else max(keep, PARALLEL_AFTER if workers is None else 0)
    with paused_gc():  # a replay allocates millions of long-lived objects: the cyclic GC would rescan them all
        for index, message in enumerate(islice(iterator, serial)):
            step = run_step(sim, index, message, destination, now)
            if history:
                step.snapshot = sim.snapshot(step.label)
            elif keep is not None and index >= keep and step.ok:
                step.keep_outcome_only(keep_event=keep_events)
            steps.append(step)
        if serial is not None:
            _replay_rest(sim, iterator, steps, destination, now, keep_events, workers)
    result = Replay(sim, steps, project=target, destination=destination, now=now)
    target.replay = result
    return result


def _replay_rest(sim: Simulator, events: Iterator[Any], steps: StepList, destination: dict[str, Any] | None,
                 now: Any, keep_events: bool, workers: int | None) -> None:
    """The steps past the kept ones, each keeping only its outcome unless it went wrong.

    With a worker pool the transform runs in other processes; an event a worker hands back undone
    (a transform error) and a step Mixpanel did not fully accept are redone in-process, so every
    step that is kept whole is exactly what a serial replay makes.
    """
    from .transform_pool import TransformPool, can_fork

    clock = now if now is not None else (sim.now_ms if sim.clock.frozen else None)
    first = next(events, _END)
    if first is _END:
        return
    events = chain([first], events)
    if workers == 0 or clock is None or not can_fork():
        for message in events:
            index = len(steps)
            step = run_step(sim, index, message, destination, now)
            if step.ok:
                step.keep_outcome_only(keep_event=keep_events)
            steps.append(step)
        return
    handle = sim.handle
    with TransformPool(destination, clock, workers or 1, sim=sim if sim.clock.frozen else None) as pool:
        for message, wires in pool.map(events):
            index = len(steps)
            if wires is None:  # the worker could not transform it: do it here, exactly as a serial replay
                step = run_step(sim, index, message, destination, now)
            else:
                replies = [handle(wire) for wire in wires]
                if all(reply.ok for reply in replies):
                    steps.append_outcome(True, len(replies), sys.intern(event_kind(message)),
                                         message if keep_events else None)
                    continue
                # a step kept whole: its requests are what the transform makes (the worker sent their bodies)
                step = Step(index, message, transform(message, destination, now=clock), replies)
            if step.ok:
                step.keep_outcome_only(keep_event=keep_events)
            steps.append(step)


_END: Any = object()


def simulator_for(destination: dict[str, Any] | None, *, now: Any = None, token: Any = UNSET,
                  identity_merge: str | None = None, group_keys: Iterable[str] | None = None,
                  project: Mapping[str, Any] | None = None) -> Simulator:
    """A simulator set up as ``project``, or as the project the destination points at (assumed).

    ``token``, ``identity_merge`` and ``group_keys`` override single project settings.
    """
    settings = dict(resolve_project(project, destination).settings)
    overrides = {"token": token, "identity_merge": identity_merge, "group_keys": group_keys}
    settings.update({k: v for k, v in overrides.items() if v is not None and v is not UNSET})
    return resolve_project(settings).simulator(now)


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
