"""Transforming a long replay's events in a worker process, in order, while this process ingests.

The transform is a pure map (event → Mixpanel requests), so it can run on another core while the
simulator, which must see requests in order, ingests the previous ones. A worker sends back what
HTTP would carry: each request's method, URL and headers (shared by most requests of a chunk) and
its body as ``JSON.stringify`` writes it. This process turns them into the same ``WireRequest``\\ s
``sim.send`` makes and hands them to ``sim.handle``: one door, one set of rules.

A worker never decides anything the caller sees: an event it cannot turn into bodies (a transform
error, or anything unexpected) comes back as ``None`` and the caller runs that event in-process, so
the error, the requests and the replies are exactly those of a serial replay.

Workers are forked (cheap, nothing to import); where forking is unsafe (other threads running, no
``fork`` on the platform, inside a daemon process) there is no pool and the replay stays serial.
"""

from __future__ import annotations

import gc
import multiprocessing
import threading
from collections import deque
from collections.abc import Iterator
from itertools import islice
from typing import Any

from .mixpanel.simulator import wire_head, with_body
from .mixpanel.wire import WireRequest
from .rudder import transform

#: events sent to a worker at a time (large enough that pickling is cheap per event, small enough to start quickly)
CHUNK = 500
#: chunks in flight per worker: the worker never waits for the next chunk, and this process holds few events
WINDOW = 3

#: one event's result from a worker: None (run it in-process), else (head index, body) per request
Bodies = list[tuple[int, bytes]] | None

_destination: Any = None
_now: Any = None


def can_fork() -> bool:
    """Whether a worker process can be forked safely here (one thread, ``fork`` available, not a daemon)."""
    return ("fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
            and not multiprocessing.current_process().daemon)


def _start_worker(destination: Any, now: Any) -> None:
    global _destination, _now
    _destination, _now = destination, now
    gc.freeze()  # what the worker inherited is never garbage: the collector need not scan it
    gc.enable()


def transform_chunk(events: list[Any]) -> tuple[list[WireRequest], list[Bodies]]:
    """Transform ``events`` into request heads (each distinct one once) and, per event, its bodies."""
    heads: list[WireRequest] = []
    where: dict[int, int] = {}
    out: list[Bodies] = []
    for event in events:
        try:
            requests = transform(event, _destination, now=_now)
            bodies = []
            for request in requests:
                head = wire_head(request)
                index = where.get(id(head))
                if index is None:
                    index = where[id(head)] = len(heads)
                    heads.append(head)
                bodies.append((index, request.body_text().encode("utf-8")))
        except Exception:  # noqa: BLE001 - the caller runs this event in-process and sees exactly what happens
            out.append(None)
        else:
            out.append(bodies)
    return heads, out


class TransformPool:
    """Worker processes that transform events with one destination and clock, results in input order."""

    def __init__(self, destination: Any, now: Any, workers: int = 1) -> None:
        context = multiprocessing.get_context("fork")
        self.workers = workers
        self._pool = context.Pool(workers, initializer=_start_worker, initargs=(destination, now))

    def map(self, events: Iterator[Any]) -> Iterator[tuple[Any, list[WireRequest] | None]]:
        """``(event, its wire requests or None)`` for each event, in order; reads ``events`` only a few chunks ahead."""
        pending: deque[tuple[list[Any], Any]] = deque()

        def submit() -> None:
            chunk = list(islice(events, CHUNK))
            if chunk:
                pending.append((chunk, self._pool.apply_async(transform_chunk, (chunk,))))

        for _ in range(WINDOW * self.workers):
            submit()
        while pending:
            chunk, result = pending.popleft()
            submit()
            try:
                heads, bodies = result.get()
            except Exception:  # noqa: BLE001 - e.g. an event that cannot be pickled: the caller does the chunk itself
                heads, bodies = [], [None] * len(chunk)
            for event, item in zip(chunk, bodies, strict=True):
                yield event, None if item is None else [with_body(heads[h], body) for h, body in item]

    def close(self) -> None:
        self._pool.close()
        self._pool.join()

    def terminate(self) -> None:
        self._pool.terminate()
        self._pool.join()

    def __enter__(self) -> TransformPool:
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is None:
            self.close()
        else:
            self.terminate()
