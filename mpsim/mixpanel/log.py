"""The request log: every request a project received, Mixpanel's answer and each record's fate.

Kept compactly so a million-event replay fits in memory: repeated request summaries and answers are
stored once, the fates of requests whose records were all stored are just their ``$insert_id``s
(the same strings the events hold), and request bodies are kept only when asked for. The log is
bounded: past ``limit`` requests the oldest are forgotten (``dropped`` counts them), and kept bodies
are bounded by ``body_bytes``. Reading gives :class:`Exchange` records, built on the way out.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .lazy import LazySequence

#: Requests kept by default: a million RudderStack events make about 1.5 million requests.
DEFAULT_LOG_LIMIT = 2_000_000
#: Request-body bytes kept by default when bodies are logged.
DEFAULT_BODY_BYTES = 64 * 1024 * 1024
_SHARED_LIMIT = 10_000  # distinct answers and summaries stored once; past this, each is kept as is


@dataclass(slots=True)
class RecordResult:
    """What happened to one record of a request."""

    index: int
    ok: bool
    stored: bool = False
    field: str | None = None
    message: str | None = None
    insert_id: Any = None
    note: str | None = None


@dataclass
class Exchange:
    """One request the simulator received, its answer and what happened to each record."""

    seq: int
    received_ms: int
    request: dict[str, Any]
    status: int
    reply: str
    records: list[RecordResult] = field(default_factory=list)
    #: the request body, when the simulator logs bodies (``Simulator(log_bodies=True)``)
    body: bytes | None = None


class _AllStored(tuple):  # type: ignore[type-arg]
    """Fates of a request whose records were all stored: their ``$insert_id``s, in order."""

    __slots__ = ()


def _fates(results: list[RecordResult]) -> Any:
    """The fates of a request's records, compactly: ``None`` or the ``$insert_id`` for one stored record,
    ``_AllStored`` for several, the ``RecordResult``s themselves otherwise."""
    if results and all(r.ok and r.stored and r.field is None and r.message is None and r.note is None
                       and r.index == i for i, r in enumerate(results)):
        if len(results) == 1 and (results[0].insert_id is None or type(results[0].insert_id) is str):
            return results[0].insert_id
        return _AllStored(r.insert_id for r in results)
    return tuple(results)


def _records(fates: Any) -> list[RecordResult]:
    if fates is None or type(fates) is str:
        return [RecordResult(0, True, stored=True, insert_id=fates)]
    if isinstance(fates, _AllStored):
        return [RecordResult(i, True, stored=True, insert_id=insert_id) for i, insert_id in enumerate(fates)]
    return list(fates)


_COLUMNS = ("_received", "_status", "_summaries", "_replies", "_fates")


class RequestLog(LazySequence[Exchange]):
    """The bounded, compact log behind ``sim.log``: one column per field, a few dozen bytes a request."""

    item_name = "log"

    def __init__(self, limit: int | None = DEFAULT_LOG_LIMIT, *, bodies: bool = False,
                 body_bytes: int = DEFAULT_BODY_BYTES) -> None:
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ValueError(f"log limit must be a positive number of requests or None, not {limit!r}")
        self.limit = limit
        self.bodies = bodies
        self.body_bytes = body_bytes
        self.dropped = 0  # requests forgotten because the log was full
        self._received = array("q")
        self._status = array("H")
        self._summaries: list[Any] = []
        self._replies: list[str] = []
        self._fates: list[Any] = []
        self._shared: dict[Any, Any] = {}
        self._bodies: dict[int, bytes] = {}  # seq → body, oldest first
        self._body_total = 0

    def _share(self, value: Any) -> Any:
        found = self._shared.get(value)
        if found is not None:
            return found
        if len(self._shared) < _SHARED_LIMIT:
            self._shared[value] = value
        return value

    def append(self, received_ms: int, request: dict[str, Any] | tuple[tuple[str, Any], ...], status: int, reply: str,
               records: list[RecordResult], body: bytes | None = None) -> None:
        """Log one request; ``request`` is its summary (a dict, or its items as a tuple)."""
        seq = self.dropped + len(self._status) + 1
        self._received.append(received_ms)
        self._status.append(status)
        self._summaries.append(self._share(request if isinstance(request, tuple) else tuple(request.items())))
        self._replies.append(self._share(reply))
        self._fates.append(_fates(records))
        if self.bodies and body is not None and len(body) <= self.body_bytes:
            self._bodies[seq] = body
            self._body_total += len(body)
            while self._body_total > self.body_bytes:
                self._body_total -= len(self._bodies.pop(next(iter(self._bodies))))
        if self.limit is not None and len(self._status) > self.limit:
            # forget the oldest in chunks (removing from the front of a column moves it)
            self._forget(max(1, min(len(self._status) - self.limit + self.limit // 16, len(self._status) - 1)))

    def _forget(self, count: int) -> None:
        for name in _COLUMNS:
            del getattr(self, name)[:count]
        self.dropped += count
        for seq in [s for s in self._bodies if s <= self.dropped]:
            self._body_total -= len(self._bodies.pop(seq))

    def extend(self, exchanges: Iterable[Exchange]) -> None:
        """Append exchanges read back from somewhere (a saved state), keeping their numbering."""
        for exchange in exchanges:
            if not self._status and exchange.seq > 1:
                self.dropped = exchange.seq - 1
            self.append(exchange.received_ms, exchange.request, exchange.status, exchange.reply,
                        exchange.records, exchange.body)

    def __len__(self) -> int:
        return len(self._status)

    @property
    def total(self) -> int:
        """Requests received since the log started, forgotten ones included."""
        return self.dropped + len(self._status)

    def _item(self, position: int) -> Exchange:
        seq = self.dropped + position + 1
        return Exchange(seq, self._received[position], dict(self._summaries[position]), self._status[position],
                        self._replies[position], _records(self._fates[position]), self._bodies.get(seq))

    def unstored(self) -> Iterator[tuple[int, list[RecordResult]]]:
        """``(status, records)`` of each request not all of whose records were stored (the rest are skipped unread)."""
        for status, fates in zip(self._status, self._fates, strict=True):
            if fates is None or type(fates) is str or isinstance(fates, _AllStored):
                continue
            yield status, list(fates)

    def unstored_numbered(self) -> Iterator[tuple[int, str, int, list[RecordResult]]]:
        """``(request number, endpoint, status, records)`` of each request not all of whose records were stored."""
        for position, (status, fates) in enumerate(zip(self._status, self._fates, strict=True)):
            if fates is None or type(fates) is str or isinstance(fates, _AllStored):
                continue
            yield self.dropped + position + 1, str(dict(self._summaries[position]).get("endpoint", "?")), status, list(fates)

    def copy(self) -> RequestLog:
        out = RequestLog(self.limit, bodies=self.bodies, body_bytes=self.body_bytes)
        out.dropped = self.dropped
        for name in _COLUMNS:
            setattr(out, name, getattr(self, name)[:])
        out._shared = self._shared  # shared answers are immutable strings and tuples
        out._bodies = dict(self._bodies)
        out._body_total = self._body_total
        return out

    def clear(self) -> None:
        self._forget(len(self._status))
        self.dropped = 0
