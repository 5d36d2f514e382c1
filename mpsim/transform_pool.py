"""Transforming a long replay's events in a worker process, in order, while this process ingests.

The transform is a pure map (event → Mixpanel requests), so it can run on another core while the
simulator, which must see requests in order, ingests the previous ones. A worker sends back what
HTTP would carry: each request's method, URL and headers (shared by most requests of a chunk) and
its body as ``JSON.stringify`` writes it. This process turns them into the same ``WireRequest``\\ s
``sim.send`` makes and hands them to ``sim.handle``: one door, one set of rules.

With the replay's simulator (forked with the worker, so nothing is copied), a worker also *reads*
each request (``api.read``): credentials, body, each record's own checks, everything the request
and the project's settings decide. This process then only commits the prepared records in order
(``api.commit``): identity, profiles, storage. A reading carries the clock it was read at and this
process tags it with the settings it was read under (``Simulator.reading_key``); if either has
changed by the time it is committed, the request is read here instead. A generated ``$insert_id``
(numbered by the project) is a stand-in until its record is committed and numbered in order.

A worker never decides anything the caller sees: an event it cannot turn into bodies (a transform
error, or anything unexpected) comes back as ``None`` and the caller runs that event in-process, so
the error, the requests and the replies are exactly those of a serial replay.

Workers are forked (cheap, nothing to import); where that is not possible or advised (not Linux, inside
a daemon process, other threads running on Python 3.12+) there is no pool and the replay stays in-process.
"""

from __future__ import annotations

import gc
import multiprocessing
import pickle
import queue
import signal
import sys
import threading
from collections import deque
from collections.abc import Iterator
from itertools import islice
from typing import Any

from .mixpanel.api import ENDPOINTS, Reading, read
from .mixpanel.ingest import PreparedEvent
from .mixpanel.simulator import Simulator, wire_head, with_body
from .mixpanel.wire import WireRequest
from .rudder import transform

#: events sent to a worker at a time (large enough that pickling is cheap per event, small enough to start quickly)
CHUNK = 500
#: chunks in flight per worker: the worker never waits for the next chunk, and this process holds few events
WINDOW = 3

#: one event's result from a worker: None (run it in-process), else (head index, body, reading or None) per request
Bodies = list[tuple[int, bytes, Reading | None]] | None

_destination: Any = None
_now: Any = None
_sim: Simulator | None = None


def can_fork() -> bool:
    """Whether a worker process can be forked here: Linux (``fork`` is unsafe on macOS), not a daemon
    process, and one thread or a Python before 3.12 (where forking with threads running is the platform's
    default way to start processes; from 3.12 Python warns against it, so a replay then stays in-process)."""
    return (sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
            and not multiprocessing.current_process().daemon
            and (threading.active_count() == 1 or sys.version_info < (3, 12)))


#: the share of requests a worker reads ahead: reading costs a worker more than it saves the replaying
#: process (the reading is pickled both ways), so one worker reading everything becomes the slower of the
#: two; this share balances one worker and the replaying process (``benchmarks/simulator_bench.py --read-share``)
READ_SHARE = 0.55
_share_credit = 0.0

#: what a worker writes where a generated ``$insert_id`` goes; the replaying process numbers it when committing
PENDING_INSERT_ID = "0" * 32
_generated = 0


def _pending_insert_id() -> str:
    global _generated
    _generated += 1
    return PENDING_INSERT_ID


#: bytes a pipe between this process and a worker holds (Linux's default is 64 KB): a chunk's events or
#: results fit whole, so neither side waits for the other to read while it has work to do
PIPE_BYTES = 1 << 20


def _widen(connection: Any) -> None:
    """Give a pipe ``PIPE_BYTES`` of buffer where Linux allows it (up to ``/proc/sys/fs/pipe-max-size``)."""
    try:
        import fcntl

        fcntl.fcntl(connection.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except (ImportError, OSError, ValueError):
        pass  # a smaller buffer only costs waiting


def _start_worker(destination: Any, now: Any, sim: Simulator | None = None) -> None:
    global _destination, _now, _sim
    _destination, _now, _sim = destination, now, sim
    if sim is not None:  # this process's copy: generated $insert_ids are numbered in order, when committed
        sim.new_insert_id = _pending_insert_id  # type: ignore[method-assign]
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the replaying process: it stops the worker
    gc.freeze()  # what the worker inherited is never garbage: the collector need not scan it
    gc.disable()  # a chunk's objects die with it (reference counts): cycles are collected after each chunk


def read_ahead(head: WireRequest, body: bytes) -> Reading | None:
    """The request read with this worker's copy of the simulator, or None when the replaying process must
    read it (no simulator, not an ingestion request, an answer before the records, or a generated
    ``$insert_id`` a record used up without being stored: it must take its number in order)."""
    global _generated, _share_credit
    if _sim is None or head.endpoint not in ENDPOINTS or head.method.upper() not in ("GET", "POST"):
        return None
    _share_credit += READ_SHARE
    if _share_credit < 1.0:
        return None
    _share_credit -= 1.0
    _generated = 0
    try:
        reading = read(_sim, with_body(head, body), _sim.clock.ms())
    except Exception:  # noqa: BLE001 - anything unexpected: the replaying process reads it and sees what happens
        return None
    if not isinstance(reading, Reading):
        return None
    if _generated:
        pending = [item for item in reading.items if isinstance(item, PreparedEvent) and item.generated_insert_id]
        if len(pending) != _generated:
            return None
        for item in pending:
            item.insert_id_pending = True
    return reading


def transform_chunk(events: list[Any]) -> tuple[list[WireRequest], list[Bodies]]:
    """Transform ``events`` into request heads (each distinct one once) and, per event, its bodies and readings."""
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
                body = request.body_text().encode("utf-8")
                bodies.append((index, body, read_ahead(head, body)))
        except Exception:  # noqa: BLE001 - the caller runs this event in-process and sees exactly what happens
            out.append(None)
        else:
            out.append(bodies)
    return heads, out


class TransformPool:
    """Worker processes that transform events with one destination and clock, results in input order.

    Each worker has a pipe in and a pipe out; chunks go to the workers in turn and are read back in
    the same turn, so order needs no bookkeeping. A thread in the worker reads its pipe into a queue,
    so this process never waits on a worker that is busy writing. No threads here: pickling and
    unpickling happen in the caller's thread.
    """

    def __init__(self, destination: Any, now: Any, workers: int = 1, sim: Simulator | None = None) -> None:
        """``sim``: the simulator the results go to; its workers then read the requests ahead (see the module)."""
        context = multiprocessing.get_context("fork")
        #: the settings the workers read under (their copies of ``sim`` never change them)
        self.key = None if sim is None else sim.reading_key()
        self._workers: list[tuple[Any, Any, Any]] = []
        for _ in range(workers):
            inbox_read, inbox = context.Pipe(duplex=False)
            outbox, outbox_write = context.Pipe(duplex=False)
            _widen(inbox)
            _widen(outbox)
            process = context.Process(target=_serve, args=(inbox_read, outbox_write, destination, now, sim), daemon=True,
                                      name="mpsim-transform")
            process.start()
            inbox_read.close()
            outbox_write.close()
            self._workers.append((process, inbox, outbox))
        self.broken = False

    def map(self, events: Iterator[Any]) -> Iterator[tuple[Any, list[WireRequest] | None]]:
        """``(event, its wire requests or None)`` for each event, in order; reads ``events`` only a few chunks ahead.

        ``None`` asks the caller to run the event in-process: the worker could not transform it, the
        chunk could not be sent (an event that cannot be pickled), or a worker is gone.
        """
        pending: deque[tuple[list[Any], Any]] = deque()
        turn = 0

        def submit() -> None:
            nonlocal turn
            chunk = list(islice(events, CHUNK))
            if not chunk:
                return
            worker = self._workers[turn % len(self._workers)]
            turn += 1
            try:
                data = pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - an event that cannot be pickled: the caller does this chunk
                pending.append((chunk, None))
                return
            if not self.broken:
                try:
                    worker[1].send_bytes(data)
                except OSError:
                    self.broken = True
            pending.append((chunk, None if self.broken else worker))

        for _ in range(WINDOW * len(self._workers)):
            submit()
        while pending:
            chunk, worker = pending.popleft()
            heads: list[WireRequest] = []
            bodies: list[Bodies] = [None] * len(chunk)
            if worker is not None and not self.broken:
                try:
                    heads, bodies = pickle.loads(worker[2].recv_bytes())
                except (OSError, EOFError):  # the worker is gone: the rest is replayed in-process
                    self.broken = True
            submit()
            for event, item in zip(chunk, bodies, strict=True):
                yield event, None if item is None else [self._wire(heads[h], body, reading) for h, body, reading in item]

    def _wire(self, head: WireRequest, body: bytes, reading: Reading | None) -> WireRequest:
        wire = with_body(head, body)
        if reading is not None:
            reading.key = self.key
            wire.reading = reading
        return wire

    def close(self) -> None:
        """Tell the workers there is no more and wait for them (terminate any that does not stop)."""
        for _process, inbox, _outbox in self._workers:
            try:
                inbox.send_bytes(b"")
            except OSError:
                pass
        for process, inbox, outbox in self._workers:
            process.join(5)
            if process.is_alive():
                process.terminate()
                process.join()
            inbox.close()
            outbox.close()

    def terminate(self) -> None:
        for process, inbox, outbox in self._workers:
            process.terminate()
            process.join()
            inbox.close()
            outbox.close()

    def __enter__(self) -> TransformPool:
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is None:
            self.close()
        else:
            self.terminate()


def _serve(inbox: Any, outbox: Any, destination: Any, now: Any, sim: Simulator | None = None) -> None:
    """A worker: transform each chunk that arrives and send back its heads, bodies and readings, until an empty message."""
    _start_worker(destination, now, sim)
    arrived: queue.SimpleQueue[bytes] = queue.SimpleQueue()

    def read() -> None:
        while True:
            try:
                data = inbox.recv_bytes()
            except (OSError, EOFError):
                data = b""
            arrived.put(data)
            if not data:
                return

    threading.Thread(target=read, daemon=True).start()
    while data := arrived.get():
        outbox.send_bytes(pickle.dumps(transform_chunk(pickle.loads(data)), protocol=pickle.HIGHEST_PROTOCOL))
        gc.collect(1)  # the young generations: what is left of the chunk (little: its results have been sent)
