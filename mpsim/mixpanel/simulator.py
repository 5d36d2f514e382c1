"""``Simulator``: one simulated Mixpanel project, the single backend behind every front door."""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .._time import clock_ms
from ..request import Request
from ..wording import count
from .events import IDENTITY_EVENTS, Context, RecordError, StoredEvent, check_event, id_text, time_ms
from .geo import as_resolver, profile_location
from .identity import SimplifiedIdentity
from .ingest import (
    IdentityOp,
    PreparedEvent,
    PreparedProfile,
    apply_identity_op,
    device_pair,
    failure_properties,
    generated_insert_id,
    identity_op,
    profile_key,
)
from .journal import ALREADY, DEFAULT_JOURNAL_LIMIT, IGNORED, JOINED, REFUSED, Journal
from .log import DEFAULT_LOG_LIMIT, RequestLog
from .profiles import GROUP_OPERATIONS, USER_OPERATIONS, OperationError, apply_operations, operations_in
from .state import RecordResult, Snapshot, State, StateViews, iso_seconds
from .wire import HOSTS, Reply, WireRequest

MAX_GROUP_VALUES = 300
#: Mixpanel's answer to a /track record without any token (spec §1.3; /engage and /groups say ``$token``)
MISSING_TOKEN = "token, missing or empty"
#: Injected failures: status → (error, status label), as Mixpanel words them.
FAULT_BODIES = {
    429: ("Project exceeded rate limits. Please retry the request with exponential backoff.", "Too Many Requests"),
    500: ("Internal Server Error", "Internal Server Error"),
    502: ("Bad Gateway", "Bad Gateway"),
    503: ("Service Unavailable", "Service Unavailable"),
}


class Clock:
    """The simulator's clock: real time, or frozen at a moment and moved by hand."""

    def __init__(self, now: Any = None) -> None:
        self._frozen: float | None = None if now is None else clock_ms(now)

    def ms(self) -> int:
        return int(self._frozen if self._frozen is not None else clock_ms(None))

    def freeze(self, now: Any) -> None:
        self._frozen = clock_ms(now)

    def advance(self, seconds: float = 0, *, ms: float = 0) -> None:
        """Move a frozen clock forward (freezing a real one at the current time first)."""
        self._frozen = (self._frozen if self._frozen is not None else clock_ms(None)) + seconds * 1000 + ms

    @property
    def frozen(self) -> bool:
        return self._frozen is not None


class Simulator(StateViews):
    """A simulated Mixpanel project that keeps the state Mixpanel would keep.

    Parameters
    ----------
    token:
        The project token. ``None`` accepts any token, and /import without credentials when no
        secret or service account is set either (handy when the token is not the point).
    identity_merge:
        ``"original"`` or ``"simplified"`` ID merge, or ``"legacy"`` (ID merge disabled: aliases
        map one way and only from the time they are made).
    api_secret:
        The project secret, accepted as /import Basic-auth user name.
    now:
        Freezes the clock (datetime, ISO 8601 string, epoch seconds or ms: ``abs(t) < 1e10`` is
        seconds, as for an event's ``time``); ``None`` follows real time.
    service_accounts:
        ``{username: secret}`` accepted on /import together with ``?project_id=<project_id>``.
    residency:
        ``"us"``, ``"eu"`` or ``"in"``: data sent to another residency's host is answered as a
        success and not stored, as Mixpanel does. ``None`` (default) accepts every host.
    group_keys:
        Group keys declared in project settings; events join groups only from declaration on.
    anon_id_policy:
        Original mode's ``$anon_id`` shape check: ``"uuid4+mixpanel"`` (default), ``"uuid4"`` or ``"any"``.
    geo:
        An IP → location table (``{ip: {"city", "region", "country_code", "timezone"}}``) or a callable;
        without one, locations are only what the data carries (Mixpanel has an IP database, mpsim not).
    state:
        Start from a saved state instead of an empty project: a ``Snapshot``, the dict of
        ``Snapshot.to_dict()``, its JSON text or a file path (see :meth:`from_snapshot`, which also
        takes the settings the state was saved with). ``identity_merge`` then defaults to the state's.
    log_limit:
        Requests ``sim.log`` keeps (the oldest are forgotten past it); ``None`` keeps every one. The
        default holds a million-event replay.
    log_bodies:
        Keep each request's body in the log too (``Exchange.body``; the oldest are dropped past 64 MiB).
    journal_limit:
        Identity steps and profile operations the explain journal keeps, of each kind (the oldest are
        forgotten past it, and ``explain`` then says that older history is not shown); ``0`` keeps
        none, ``None`` every one. The default holds a million-event replay.
    """

    def __init__(self, token: str | None = None, identity_merge: str | None = None, api_secret: str | None = None,
                 now: Any = None, *, service_accounts: dict[str, str] | None = None, project_id: Any = None,
                 residency: str | None = None, group_keys: Iterable[str] = (),
                 anon_id_policy: str = "uuid4+mixpanel", geo: Any = None, state: Any = None,
                 log_limit: int | None = DEFAULT_LOG_LIMIT, log_bodies: bool = False,
                 journal_limit: int | None = DEFAULT_JOURNAL_LIMIT) -> None:
        check_settings(token=token, api_secret=api_secret, service_accounts=service_accounts, group_keys=group_keys,
                       geo=geo, identity_merge=identity_merge)
        if residency not in (None, "us", "eu", "in"):
            raise ValueError(f"residency must be 'us', 'eu', 'in' or None, not {residency!r}")
        if anon_id_policy not in ("uuid4+mixpanel", "uuid4", "any"):
            raise ValueError(f"anon_id_policy must be 'uuid4+mixpanel', 'uuid4' or 'any', not {anon_id_policy!r}")
        self.token = token
        self.api_secret = api_secret
        self.service_accounts = dict(service_accounts or {})
        self.project_id = None if project_id is None else str(project_id)
        self.residency = residency
        self.anon_id_policy = anon_id_policy
        self.geo = as_resolver(geo)
        self._geo_table = dict(geo) if isinstance(geo, Mapping) else None
        self.clock = Clock(now)
        self._lock = threading.RLock()
        self._declared_keys = list(group_keys)
        self.log_limit = log_limit
        self.log_bodies = log_bodies
        self.journal_limit = journal_limit
        #: every identity step and profile operation, with the request that made it (read by ``explain``)
        self.journal = Journal(limit=journal_limit)
        self._state = self._starting_state(state, identity_merge, anon_id_policy, self._new_log())
        self._history: list[Snapshot] = []
        # Injected faults as [endpoint, status, requests left]: a count, not one entry per request, so
        # fail_next(503, 10**9) costs no memory.
        self._faults: list[list[Any]] = []
        self.record_history = False
        #: counts resets and loads: a reader that polls (the control page) knows to start over
        self.generation = 0
        #: pipelines in front of this project (RudderStack's data plane): they log their requests here
        #: (``log_upstream``) and answer ``explain_lines(id)``, ``finding_items()`` and ``reset()``
        self.upstreams: list[Any] = []
        for key in self._declared_keys:
            self._state.group_keys.setdefault(key, 0)

    @staticmethod
    def _starting_state(saved: Any, identity_merge: str | None, anon_id_policy: str, log: RequestLog) -> State:
        if saved is None:
            return State.empty(identity_merge or "original", anon_id_policy, log)
        from .saved import load_snapshot

        snapshot = saved if isinstance(saved, Snapshot) else load_snapshot(saved)
        mode = snapshot.identity_merge
        if identity_merge not in (None, mode):
            raise ValueError(f"identity_merge={identity_merge!r} does not match the saved state's {mode!r} ID merge: "
                             "a project's ID-merge mode cannot change under its data")
        state = snapshot._state.copy()
        state.log.limit, state.log.bodies = log.limit, log.bodies
        return state

    @classmethod
    def from_snapshot(cls, snapshot: Any, **settings: Any) -> Simulator:
        """A simulator that resumes a saved state: same data, same settings unless ``settings`` override them.

        ``snapshot`` is a ``Snapshot``, a dict from ``Snapshot.to_dict()``, its JSON text or a file
        path. The restored simulator answers further input exactly as the original would
        (deduplication, identity clusters, profiles, generated ids). A ``geo`` callable is not
        saved: pass it again.
        """
        from .saved import load_snapshot

        snap = snapshot if isinstance(snapshot, Snapshot) else load_snapshot(snapshot)
        known = inspect.signature(cls).parameters
        saved = {k: v for k, v in snap.settings.items() if k in known}
        return cls(**{**saved, **settings, "state": snap})

    @property
    def settings(self) -> dict[str, Any]:
        """What this simulator was made with, as JSON data (``Simulator(**sim.settings)`` makes a twin)."""
        return {"token": self.token, "identity_merge": self.identity_merge, "api_secret": self.api_secret,
                "service_accounts": dict(self.service_accounts), "project_id": self.project_id,
                "residency": self.residency, "group_keys": list(self._declared_keys),
                "anon_id_policy": self.anon_id_policy, "geo": self._geo_table,
                "now": self.clock.ms() if self.clock.frozen else None}

    # ------------------------------------------------------------------ lifecycle
    def _new_log(self) -> RequestLog:
        return RequestLog(self.log_limit, bodies=self.log_bodies)

    def reset(self) -> None:
        """Forget everything received and every pending ``fail_next`` fault; keep the settings (token, mode,
        group keys, clock). A reset between tests leaves nothing of the previous test behind."""
        with self._lock:
            self.generation += 1
            self._faults.clear()
            self._state = State.empty(self.identity_merge, self.anon_id_policy, self._new_log())
            for key in self._declared_keys:
                self._state.group_keys[key] = 0
            self._history.clear()
            self.journal = Journal(limit=self.journal_limit)
            for upstream in self.upstreams:
                upstream.reset()

    def load(self, snapshot: Any) -> None:
        """Replace what this simulator holds with a saved state, keeping its settings and clock.

        ``snapshot`` is what ``Simulator.from_snapshot`` takes (a ``Snapshot``, its ``to_dict()``, JSON
        text or a file path); its ID-merge mode must be this simulator's. The explain journal starts
        afresh. The control API's ``POST /_mpsim/snapshot`` calls this on a running server.
        """
        state = self._starting_state(snapshot, self.identity_merge, self.anon_id_policy, self._new_log())
        with self._lock:
            self.generation += 1
            self._state = state
            for key in self._declared_keys:
                self._state.group_keys.setdefault(key, 0)
            self._history.clear()
            self.journal = Journal(limit=self.journal_limit)
            for upstream in self.upstreams:
                upstream.reset()

    def snapshot(self, label: str | None = None) -> Snapshot:
        """An immutable copy of the current state, readable like the simulator."""
        with self._lock:
            return Snapshot(self._state.copy(), self.clock.ms(), label, self.settings)

    @property
    def history(self) -> list[Snapshot]:
        """Snapshots taken after each request while ``record_history`` is on (for stepping through a replay)."""
        return list(self._history)

    @property
    def declared_group_keys(self) -> list[str]:
        """The group keys declared in the project's settings, in the order they were declared."""
        return list(self._declared_keys)

    def add_group_key(self, key: str) -> None:
        """Declare a group key: events ingested from now on join groups through this property."""
        with self._lock:
            self._declared_keys.append(key)
            self._state.group_keys.setdefault(key, self._state.seq + 1)

    def new_insert_id(self) -> str:
        """The ``$insert_id`` generated for a /track event that has none.

        Mixpanel makes a random one; the simulator makes a reproducible one (32 hex characters,
        like the official client's), so notebooks and tests see the same ids on every run.
        """
        self._state.generated_ids += 1
        return generated_insert_id(self._state.generated_ids)

    @property
    def now_ms(self) -> int:
        return self.clock.ms()

    def __repr__(self) -> str:
        dropped = sum(self.dropped().values())
        return (f"Simulator(token={self.token!r}, identity_merge={self.identity_merge!r}, {self.summary()}"
                + (f", {count(dropped, 'record')} dropped: see sim.dropped()" if dropped else "") + ")")

    # ------------------------------------------------------------------ explanations
    def explain(self, a: str, b: str | None = None) -> Any:
        """Why ``a`` is the user it is (canonical id, ids, the steps that built it, refused merges), or,
        with ``b``, whether ``a`` and ``b`` are one user: the shortest chain that joined them, or what
        would have joined them and why it did not happen (refused, ignored in this mode, never sent).

        Returns an ``Explanation``: ``str()`` for text, ``.to_frame()``, ``.to_dict()``, HTML in notebooks.
        """
        from .explain import explain_pair, explain_user

        with self._lock:
            return explain_user(self, a) if b is None else explain_pair(self, a, b)

    def explain_profile(self, distinct_id: str, prop: str | None = None) -> Any:
        """Per property of the profile Mixpanel shows for ``distinct_id`` (or just ``prop``): its value, the
        operation and request that set it, the values it overwrote and the operations that were ignored."""
        from .explain import explain_profile

        with self._lock:
            return explain_profile(self, distinct_id, prop)

    # ------------------------------------------------------------------ faults
    def fail_next(self, status: int = 429, count: int = 1, *, endpoint: str | None = None) -> None:
        """Answer the next ``count`` requests (to ``endpoint``, or any) with an error, storing nothing.

        429 is Mixpanel's rate limit; 500, 502 and 503 are the failures clients retry. Use it to
        test a sender's retries and back-off.
        """
        if not isinstance(status, int) or isinstance(status, bool) or status not in FAULT_BODIES:
            raise ValueError(f"status must be one of {sorted(FAULT_BODIES)}, not {status!r}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count must be a whole number of requests (0 or more), not {count!r}")
        if not (endpoint is None or isinstance(endpoint, str)) or endpoint not in (None, "track", "import", "engage",
                                                                                   "groups"):
            raise ValueError(f"endpoint must be track, import, engage, groups or None, not {endpoint!r}")
        if count:
            with self._lock:
                self._faults.append([endpoint, status, count])

    def _take_fault(self, request: WireRequest) -> Reply | None:
        for i, (endpoint, status, left) in enumerate(self._faults):
            if endpoint is None or endpoint == request.endpoint:
                if left == 1:
                    del self._faults[i]
                else:
                    self._faults[i][2] = left - 1
                error, label = FAULT_BODIES[status]
                return Reply.of_json(status, {"code": status, "error": error, "status": label})
        return None

    # ------------------------------------------------------------------ front doors
    def handle(self, request: WireRequest) -> Reply:
        """Answer one HTTP request exactly as Mixpanel would (the door every transport uses)."""
        route = _route()
        if not isinstance(request, WireRequest):
            raise TypeError(f"request must be an mpsim.WireRequest, not {type(request).__name__} "
                            "(use sim.send() for mpsim.Request objects)")
        with self._lock:
            received = self.clock.ms()
            results: list[RecordResult] = []
            self.journal.start_request(received)
            try:
                reply = self._take_fault(request) or route(self, request, received, results)
            except Exception as exc:  # a bug in mpsim: the request is still answered and logged
                reply = Reply.of_json(500, {"code": 500, "error": f"mpsim internal error: {type(exc).__name__}: "
                                                                   f"{exc}", "status": "Internal Server Error"})
            self._state.log.append(received, request.summary_items(), reply.status, reply.body, results, request.body)
            if self.record_history:
                self._history.append(Snapshot(self._state.copy(), received, f"after request {self._state.log.total}",
                                              self.settings))
            return reply

    def log_upstream(self, received_ms: int, request: dict[str, Any], status: int, reply: str,
                     records: list[RecordResult]) -> int:
        """Log a request a pipeline in front of Mixpanel answered (RudderStack's data plane), with each
        event's fate, so drops Mixpanel never saw are in ``log``, ``dropped()`` and ``explain``; its number."""
        with self._lock:
            self.journal.start_request(received_ms)  # request numbers stay the log's
            self._state.log.append(received_ms, request, status, reply, records)
            return self._state.log.total

    def send(self, requests: Request | Iterable[Request]) -> list[Reply]:
        """Deliver ``mpsim.Request``s from the transformer, without HTTP; one reply per request."""
        if isinstance(requests, Request):
            requests = [requests]
        if isinstance(requests, (str, bytes, dict)) or not isinstance(requests, Iterable):
            raise TypeError(f"requests must be an mpsim.Request or a list of them (from mpsim.transform), "
                            f"not {type(requests).__name__}")
        requests = list(requests)
        for index, request in enumerate(requests):
            if not isinstance(request, Request):
                raise TypeError(f"send() takes mpsim.Request objects (from mpsim.transform); requests[{index}] is "
                                f"a {type(request).__name__}. Use sim.handle(WireRequest(...)) for raw HTTP.")
        return [self.handle(to_wire(r)) for r in requests]

    def reading_key(self) -> tuple[Any, ...]:
        """What reading a request (``api.read``) depends on besides the request: the project's settings.

        A replay's worker reads requests ahead with a copy of this simulator; a reading made under
        another key (settings changed since) is read again here, so it can never be stale.
        """
        return (self.token, self.api_secret, tuple(self.service_accounts.items()), self.project_id, self.residency,
                self._state.identity.mode, id(self.geo))

    # ------------------------------------------------------------------ semantics
    def host_accepted(self, host: str) -> bool:
        """False when the host belongs to another residency (data is then silently not ingested)."""
        return self.residency is None or HOSTS.get(host, self.residency) == self.residency

    def ingest_event(self, record: Any, ctx: Context, index: int, *, check_token: bool) -> RecordResult:
        """Validate one event record and store it with its identity effects (spec §0 order)."""
        prepared = self.prepare_event(record, ctx, index, check_token=check_token)
        return prepared if isinstance(prepared, RecordResult) else self.commit_event(prepared)

    def prepare_event(self, record: Any, ctx: Context, index: int, *,
                      check_token: bool) -> RecordResult | PreparedEvent:
        """Everything about one event record that the record alone decides (no state is read or changed).

        Returns the record's fate when it ends here (ignored or rejected), else a ``PreparedEvent``
        for ``commit_event``. ``mpsim.scale`` runs this half as a parallel map over a whole history.
        """
        props = record.get("properties") if isinstance(record, dict) else None
        insert_id = props.get("$insert_id") if isinstance(props, dict) else None
        if check_token and isinstance(props, dict):
            if props.get("token") in (None, ""):
                return RecordResult(index, False, field="properties.token", message=MISSING_TOKEN,
                                    insert_id=insert_id)
            if self.token is not None and props.get("token") != self.token:
                return RecordResult(index, True, insert_id=insert_id, note="token does not match the project: ignored")
        if isinstance(props, dict):
            ignore = props.get("$ignore")
            if ignore is True or (isinstance(ignore, str) and ignore != ""):
                return RecordResult(index, True, insert_id=insert_id, note="$ignore: dropped")
        try:
            name, props, event_ms, distinct_id, generated = check_event(record, ctx)
        except RecordError as exc:
            return RecordResult(index, False, field=exc.field, message=exc.message, insert_id=insert_id)
        mode = self._state.identity.mode  # not the locked view: this runs once per record
        if name == "$merge" and ctx.endpoint == "track" and mode == "original":
            return RecordResult(index, True, insert_id=insert_id, note="$merge is only honoured on /import")
        prepared = PreparedEvent(index, name, props, event_ms or 0, distinct_id or "", generated, ctx.endpoint,
                                 ctx.host, ctx.received_ms, insert_id)
        try:
            prepared.pair = device_pair(name, props)
            prepared.identity_op = identity_op(name, props, mode, prepared.pair)
        except RecordError as exc:
            prepared.error = exc  # found after Mixpanel numbered the record: it uses up a seq
        return prepared

    def commit_event(self, prepared: PreparedEvent) -> RecordResult:
        """Number a prepared event, apply its identity op and store it (what depends on the project's state)."""
        seq = self._state.next_seq()
        if prepared.insert_id_pending:  # read ahead: the generated $insert_id takes its number now, in order
            prepared.properties["$insert_id"] = self.new_insert_id()
            prepared.insert_id_pending = False
        if prepared.error is not None:
            return RecordResult(prepared.index, False, field=prepared.error.field, message=prepared.error.message,
                                insert_id=prepared.raw_insert_id)
        props, distinct_id, name = prepared.properties, prepared.distinct_id, prepared.name
        identity = self._state.identity
        if distinct_id:
            # Legacy ID management rewrites an alias to its target when the event arrives
            distinct_id = props["distinct_id"] = identity.ingest_id(distinct_id)
        op = prepared.identity_op
        if op is None:
            if prepared.pair is not None and prepared.pair[0] != prepared.pair[1]:
                self._journal_identity("device link", prepared.pair, None, seq)
            if name in IDENTITY_EVENTS:
                self._journal_identity(name, identity_event_ids(name, props), None, seq)
        else:
            if op.kind == "$create_alias":
                op = IdentityOp(op.kind, (identity.ingest_id(op.ids[0]), op.ids[1]))
            outcome = apply_identity_op(identity, op, seq, self._state.profiles.__contains__)
            self._state.see(*op.seen)
            if op.kind == "link":
                self._journal_identity("device link", (SimplifiedIdentity.device_key(op.ids[1]), op.ids[0]), outcome,
                                       seq)
            else:
                used = (op.ids[1], str(op.ids[0])) if op.kind == "$create_alias" else op.ids
                self._journal_identity(name, used, outcome, seq)
            props.update(failure_properties(op, outcome))
        event = StoredEvent(seq, name, distinct_id, prepared.time_ms, props["$insert_id"], props,
                            prepared.endpoint, prepared.host, prepared.received_ms, prepared.generated_insert_id,
                            self._groups_of(props, seq))
        self._state.events.append(event)
        self._state.see(distinct_id, props.get("$user_id") if isinstance(props.get("$user_id"), str) else None)
        return RecordResult(prepared.index, True, stored=True, insert_id=props["$insert_id"])

    def _journal_identity(self, operation: str, ids: tuple[str, ...], outcome: Any, seq: int) -> None:
        """Record one identity step; ``outcome`` None means the project's mode ignores the operation."""
        mode = self._state.identity.mode
        if outcome is None:
            self.journal.identity_step(seq, operation, ids, IGNORED, IGNORED_RULES[(mode, operation)])
        elif not outcome.ok:
            self.journal.identity_step(seq, operation, ids, REFUSED, f"Mixpanel refuses it: {outcome.description}",
                                       outcome.reason)
        elif outcome.noop:
            self.journal.identity_step(seq, operation, ids, ALREADY, "the ids are already one user: nothing changes",
                                       canonical=self.canonical(ids[0]) if ids else None)
        else:
            self.journal.identity_step(seq, operation, ids, JOINED, JOIN_RULES[(mode, operation)],
                                       canonical=self.canonical(ids[0]))

    def _groups_of(self, props: dict[str, Any], seq: int) -> tuple[tuple[str, str], ...]:
        """(key, value) pairs of declared group keys this event carries (spec §7)."""
        out: list[tuple[str, str]] = []
        for key, since in self._state.group_keys.items():
            if since > seq or key not in props:
                continue
            value = props[key]
            values = value if isinstance(value, list) else [value]
            for item in values[:MAX_GROUP_VALUES]:
                if isinstance(item, bool) or item is None or item == "":
                    continue
                if isinstance(item, (str, int, float)):
                    out.append((key, item if isinstance(item, str) else id_text(item, key) or ""))
        return tuple(out)

    def apply_profile_record(self, record: Any, kind: str, index: int, received_ms: int, *,
                             request_ip: str | None = None, locate: bool = True) -> RecordResult:
        """Apply one /engage (``kind="engage"``) or /groups record (spec §6, §7)."""
        prepared = self.prepare_profile_record(record, kind, index, received_ms, request_ip=request_ip,
                                               locate=locate)
        return prepared if isinstance(prepared, RecordResult) else self.commit_profile_record(prepared)

    def prepare_profile_record(self, record: Any, kind: str, index: int, received_ms: int, *,
                               request_ip: str | None = None, locate: bool = True) -> RecordResult | PreparedProfile:
        """The checks a profile record alone decides; its fate when it ends here, else a ``PreparedProfile``."""
        if not isinstance(record, dict):
            return RecordResult(index, False, field="$distinct_id" if kind == "engage" else "$group_key",
                                message="record must be a JSON object")
        if record.get("$token") in (None, ""):
            return RecordResult(index, False, field="$token", message="$" + MISSING_TOKEN)
        if self.token is not None and record.get("$token") != self.token:
            return RecordResult(index, True, note="$token does not match the project: ignored")
        try:
            if kind == "engage":
                distinct_id = id_text(record.get("$distinct_id"), "$distinct_id")
                if not distinct_id:
                    raise RecordError("$distinct_id", "$distinct_id, missing or empty")
                ops = operations_in(record, USER_OPERATIONS)
                last_seen = None if record.get("$ignore_time") is True else iso_seconds(
                    self._profile_time(record.get("$time"), received_ms))
                location = profile_location(self.geo, record, request_ip, locate)
                if location and "$delete" not in ops:
                    record = {**record, "$set": {**(record.get("$set") or {}), **location}}
                    ops = operations_in(record, USER_OPERATIONS)
                return PreparedProfile(index, kind, distinct_id, record.get("$ignore_alias") is True, record, ops,
                                       last_seen)
            group_key, group_id = record.get("$group_key"), record.get("$group_id")
            if not isinstance(group_key, str) or not group_key:
                raise RecordError("$group_key", "$group_key, missing or empty")
            group_id = id_text(group_id, "$group_id")
            if not group_id:
                raise RecordError("$group_id", "$group_id, missing or empty")
            ops = operations_in(record, GROUP_OPERATIONS)
            return PreparedProfile(index, kind, (group_key, group_id), False, record, ops, None)
        except (RecordError, OperationError) as exc:
            field_name = exc.field if isinstance(exc, RecordError) else "operation"
            return RecordResult(index, False, field=field_name, message=str(exc))

    def commit_profile_record(self, prepared: PreparedProfile) -> RecordResult:
        """Resolve a prepared profile record's key through identity and apply its operations."""
        kind = prepared.kind
        key = profile_key(self._state.identity, kind, prepared.key, prepared.ignore_alias)
        store: dict[Any, Any] = self._state.profiles if kind == "engage" else self._state.groups
        if kind == "engage":
            self._state.see(prepared.key)
        seq = self._state.next_seq()
        profile_name = str(key) if kind == "engage" else f"{key[0]}={key[1]}"
        sent_to = str(prepared.key) if kind == "engage" else profile_name

        def journal(op: str, prop: str | None, value: Any, before: Any, after: Any, effect: str) -> None:
            self.journal.profile_step(seq, profile_name, sent_to, op if kind == "engage" else f"groups {op}",
                                      prop, value, before, after, effect)

        try:
            notes = apply_operations(store, key, prepared.record, prepared.ops, seq, prepared.last_seen, journal)
        except OperationError as exc:
            return RecordResult(prepared.index, False, field="operation", message=str(exc))
        return RecordResult(prepared.index, True, stored=True, note="; ".join(notes) or None)

    @staticmethod
    def _profile_time(value: Any, received_ms: int) -> int:
        try:
            return min(time_ms(value), received_ms) if value is not None else received_ms
        except RecordError:
            return received_ms


@functools.cache
def _route() -> Callable[..., Reply]:
    """The endpoint router (``api`` imports this module: it is looked up once, at the first request)."""
    from .api import route

    return route


def _is_text_map(value: Any) -> bool:
    return isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


#: Simulator settings whose type is checked up front: name → (accepts, what it must be)
SETTING_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "token": (lambda v: v is None or isinstance(v, str), "a string or None"),
    "api_secret": (lambda v: v is None or isinstance(v, str), "a string or None"),
    "identity_merge": (lambda v: v is None or isinstance(v, str), "'original', 'simplified', 'legacy' or None"),
    "service_accounts": (lambda v: v is None or _is_text_map(v), "a mapping of user names to secrets (strings)"),
    "group_keys": (lambda v: not isinstance(v, (str, bytes, Mapping)) and isinstance(v, Iterable)
                   and all(isinstance(k, str) for k in v), "a list of group key names (strings)"),
    "geo": (lambda v: v is None or callable(v) or (isinstance(v, Mapping) and all(isinstance(x, Mapping)
                                                                                     for x in v.values())),
            "a mapping of IPs to locations, a callable ip -> location, or None"),
}


def check_settings(**settings: Any) -> None:
    """A ``TypeError`` naming the setting when a value has the wrong type (before anything uses it)."""
    for name, value in settings.items():
        accepts, expected = SETTING_TYPES[name]
        if not accepts(value):
            raise TypeError(f"{name} must be {expected}, not {type(value).__name__} {value!r:.80}")


def _locked(view: Any) -> Any:
    """A state view that holds the simulator's lock while it reads (writers hold it while they write)."""
    if isinstance(view, property):
        return property(_locked(view.fget), doc=view.__doc__)

    @functools.wraps(view)
    def read(self: Simulator, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return view(self, *args, **kwargs)

    return read


# Every view of the state (events, profiles, clusters, summary, log, ...) reads a consistent state even
# while another thread ingests: the views are the StateViews ones, wrapped to take the lock.
for _name, _view in vars(StateViews).items():
    if not _name.startswith("__") and (isinstance(_view, property) or inspect.isfunction(_view)) \
            and _name not in vars(Simulator):
        setattr(Simulator, _name, _locked(_view))


#: (project mode, operation) → the rule that joined two ids, in words
JOIN_RULES: dict[tuple[str, str], str] = {
    ("original", "$identify"): "Original ID merge: $identify joins the anonymous id ($anon_id) to the identified id",
    ("original", "$create_alias"): "Original ID merge: $create_alias joins the alias to the existing id",
    ("original", "$merge"): "Original ID merge: $merge (on /import) joins the two ids' users, whatever they hold",
    ("simplified", "device link"): "Simplified ID merge: an event with $user_id and $device_id links the device to "
                                   "the user",
    ("legacy", "$create_alias"): "ID merge off (Legacy): $create_alias maps the alias to the id from now on, one way",
}
#: (project mode, operation) → why the project ignores it
IGNORED_RULES: dict[tuple[str, str], str] = {
    ("simplified", "$identify"): "Simplified ID merge ignores $identify: only $user_id with $device_id links ids",
    ("simplified", "$create_alias"): "Simplified ID merge ignores $create_alias: only $user_id with $device_id "
                                     "links ids",
    ("simplified", "$merge"): "Simplified ID merge ignores $merge: only $user_id with $device_id links ids",
    ("original", "device link"): "Original ID merge does not link $user_id with $device_id: only $identify, "
                                 "$create_alias and $merge join ids",
    ("legacy", "device link"): "ID merge is off (Legacy): $user_id with $device_id links nothing",
    ("legacy", "$identify"): "ID merge is off (Legacy): $identify does nothing",
    ("legacy", "$merge"): "ID merge is off (Legacy): $merge does nothing",
}


def identity_event_ids(name: str, props: dict[str, Any]) -> tuple[str, ...]:
    """The two ids an identity event names, as text (what the journal shows)."""
    if name == "$identify":  # mixpanel-browser names them $anon_distinct_id and distinct_id
        fields: tuple[Any, ...] = (props.get("$anon_id", props.get("$anon_distinct_id")),
                                   props.get("$identified_id", props.get("distinct_id")))
    elif name == "$create_alias":
        fields = (props.get("alias"), props.get("distinct_id"))
    else:
        ids = props.get("$distinct_ids")
        fields = tuple(ids) if isinstance(ids, list) else ()
    return tuple(str(f) for f in fields if isinstance(f, (str, int, float)) and not isinstance(f, bool) and f != "")


#: (method, endpoint, params, headers) → a request without body: a replay sends to few distinct URLs
_WIRE_HEADS: dict[Any, WireRequest] = {}
_WIRE_HEADS_LIMIT = 1000


def wire_head(request: Request) -> WireRequest:
    """The HTTP request line and headers RudderStack would send for ``request``, without the body.

    The URL and headers of the requests of one replay repeat, so they are parsed once per distinct
    combination (the result is shared: give it a body with :func:`with_body`).
    """
    try:
        key: Any = (request.method, request.endpoint, tuple(request.params.items()), tuple(request.headers.items()))
        head = _WIRE_HEADS.get(key)
    except TypeError:  # parameters that cannot be a key: no shortcut
        key, head = None, None
    if head is None:
        from urllib.parse import urlencode

        query = urlencode(request.params)
        url = request.endpoint + ("?" + query if query else "")
        head = WireRequest(request.method, url, dict(request.headers))
        if key is not None and len(_WIRE_HEADS) < _WIRE_HEADS_LIMIT:
            _WIRE_HEADS[key] = head
    return head


def with_body(head: WireRequest, body: bytes) -> WireRequest:
    """A request with ``head``'s method, URL and parsed headers and query (shared: handlers only read them)."""
    wire = WireRequest.__new__(WireRequest)
    wire.__dict__.update(head.__dict__)
    wire.body = body
    return wire


def to_wire(request: Request) -> WireRequest:
    """An ``mpsim.Request`` as the HTTP request RudderStack would make (its body as ``JSON.stringify`` writes it)."""
    return with_body(wire_head(request), request.body_text().encode("utf-8"))
