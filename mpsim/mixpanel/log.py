"""The request log: every request a project received, Mixpanel's answer and each record's fate.

Kept compactly so a million-event replay fits in memory: repeated request summaries and answers are
stored once, the fates of requests whose records were all stored are just their ``$insert_id``s
(the same strings the events hold), and request bodies are kept only when asked for. The log is
bounded: past ``limit`` requests the oldest are forgotten (``dropped`` counts them), and kept bodies
are bounded by ``body_bytes``. Reading gives :class:`Exchange` records, built on the way out.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
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


def _fates(results: list[RecordResult]) -> tuple[Any, ...]:
    if all(r.ok and r.stored and r.field is None and r.message is None and r.note is None and r.index == i
           for i, r in enumerate(results)):
        return _AllStored(r.insert_id for r in results)
    return tuple(results)


class RequestLog(LazySequence[Exchange]):
    """The bounded, compact log behind ``sim.log``."""

    item_name = "log"

    def __init__(self, limit: int | None = DEFAULT_LOG_LIMIT, *, bodies: bool = False,
                 body_bytes: int = DEFAULT_BODY_BYTES) -> None:
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise ValueError(f"log limit must be a positive number of requests or None, not {limit!r}")
        self.limit = limit
        self.bodies = bodies
        self.body_bytes = body_bytes
        self.dropped = 0  # requests forgotten because the log was full
        self._rows: deque[tuple[Any, ...]] = deque()
        self._shared: dict[Any, Any] = {}
        self._body_total = 0
        self._bodies: deque[int] = deque()  # seqs of rows that still hold a body, oldest first

    def _share(self, value: Any) -> Any:
        found = self._shared.get(value)
        if found is not None:
            return found
        if len(self._shared) < _SHARED_LIMIT:
            self._shared[value] = value
        return value

    def append(self, received_ms: int, request: dict[str, Any], status: int, reply: str,
               records: list[RecordResult], body: bytes | None = None) -> None:
        summary = self._share(tuple(request.items()))
        seq = self.dropped + len(self._rows) + 1
        kept_body = None
        if self.bodies and body is not None and len(body) <= self.body_bytes:
            kept_body = body
            self._body_total += len(body)
            self._bodies.append(seq)
        self._rows.append((received_ms, summary, status, self._share(reply), _fates(records), kept_body))
        if self.limit is not None and len(self._rows) > self.limit:
            self._rows.popleft()
            self.dropped += 1
        while self._body_total > self.body_bytes and self._bodies:
            self._forget_body(self._bodies.popleft())

    def extend(self, exchanges: Iterable[Exchange]) -> None:
        """Append exchanges read back from somewhere (a saved state), keeping their numbering."""
        for exchange in exchanges:
            if not self._rows and exchange.seq > 1:
                self.dropped = exchange.seq - 1
            self.append(exchange.received_ms, exchange.request, exchange.status, exchange.reply,
                         exchange.records, exchange.body)

    def _forget_body(self, seq: int) -> None:
        position = seq - self.dropped - 1
        if position < 0:
            return
        row = self._rows[position]
        if row[5] is not None:
            self._body_total -= len(row[5])
            self._rows[position] = row[:5] + (None,)

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def total(self) -> int:
        """Requests received since the log started, forgotten ones included."""
        return self.dropped + len(self._rows)

    def _item(self, position: int) -> Exchange:
        received, summary, status, reply, fates, body = self._rows[position]
        if isinstance(fates, _AllStored):
            records = [RecordResult(i, True, stored=True, insert_id=insert_id) for i, insert_id in enumerate(fates)]
        else:
            records = list(fates)
        return Exchange(self.dropped + position + 1, received, dict(summary), status, reply, records, body)

    def copy(self) -> RequestLog:
        out = RequestLog(self.limit, bodies=self.bodies, body_bytes=self.body_bytes)
        out.dropped = self.dropped
        out._rows = deque(self._rows)
        out._shared = self._shared  # shared answers are immutable strings and tuples
        out._body_total = self._body_total
        out._bodies = deque(self._bodies)
        return out

    def clear(self) -> None:
        self.dropped = 0
        self._rows.clear()
        self._bodies.clear()
        self._body_total = 0
