"""``DataPlane``: one RudderStack data plane (gateway → processor → router → transformer) in front of a simulator.

The pipeline is a plain object holding the settings and what happened; the stages are plain
functions over it (``gateway.receive``, ``processor.process``, ``router.route``). The server's clock
is the simulator's (``sim.now_ms``), so freezing or advancing the simulator moves ``receivedAt`` too.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Iterable
from typing import Any

from ...mixpanel.simulator import Simulator
from ...mixpanel.wire import Reply, WireRequest
from ...validation.findings import Finding, Findings
from . import gateway, processor, router, visibility
from .records import GATES, Delivery, Drop, GatewayExchange, Job

DEFAULT_WRITE_KEY = "mpsim-write-key"
#: What each drop reason means for someone whose event is missing, and what to do about it.
FIXES: dict[str, str] = {
    "write key": "Give the SDK the source's write key (its first argument: the Basic-auth user, or ?writeKey= for "
                 "beacon and pixel; here --write-key / write_key=) and enable the source.",
    "route": "Point the SDK at the data plane's own URL: it adds /v1/track, /v1/batch, ... itself.",
    "no identity": "Set userId or anonymousId on every event (empty, whitespace-only and zero-width ids count as none).",
    "not an event": "Send JSON objects only: one bad element refuses the whole batch.",
    "invalid json": "Send valid JSON; a gzip body needs 'Content-Encoding: gzip'.",
    "empty batch": "Send {\"batch\": [event, ...]} with at least one event.",
    "too large": "Send smaller batches (the gateway takes 4 096 000 bytes after gunzip).",
    "unreadable body": "Send a complete gzip stream, or drop 'Content-Encoding: gzip'.",
    "rate limit": "Retry later with back-off, or raise the gateway's rate limit (rate_limit=).",
    "suppression": "The user is suppressed by a regulation (suppress) request; lift it to receive their events.",
    "dedup": "Give every event its own messageId; reusing one drops the later events for an hour (here dedup=False "
             "or dedup_window= change it).",
    "destination": "Enable the Mixpanel destination and connect it to the source in cloud mode (destination Enabled, "
                   "connection mode cloud, IsProcessorEnabled).",
    "integrations": "Address Mixpanel as \"Mixpanel\" (the display name, case-sensitive) in integrations, or leave "
                    "integrations out; \"All\" must be a boolean.",
    "consent": "The visitor denied a consent category that Mixpanel's consent settings require (the destination's "
               "consentManagement, oneTrustCookieCategories or ketchConsentPurposes).",
    "user transformation": "The user transformation attached to the destination returned nothing for this event.",
    "type": "Send one of alias, group, identify, page, screen, track (lower case).",
    "transformer": "Mixpanel's destination transformer refused the event; see the message.",
    "rejected": "Mixpanel refused (part of) the request; see the simulator's log.",
}


def _as_destination(destination: Any, enabled: bool | None) -> dict[str, Any]:
    """RudderStack's destination object, from the object itself or just its ``Config``."""
    if destination is None:
        destination = {}
    if not isinstance(destination, dict):
        raise TypeError(f"the Mixpanel destination must be an object (or its Config), not {type(destination).__name__}")
    config = destination.get("Config") if isinstance(destination.get("Config"), dict) else None
    if config is None:
        destination = {"Config": destination}
    out = {"ID": "mpsim-mixpanel", "Name": "Mixpanel", "Enabled": True, "WorkspaceID": "mpsim-workspace",
           "Transformations": [], "IsProcessorEnabled": True, "RevisionID": "mpsim", "hasDynamicConfig": False,
           "DestinationDefinition": {"ID": "mp", "Name": "MP", "DisplayName": "Mixpanel", "Config": {}}}
    out.update(destination)
    if enabled is not None:
        out["Enabled"] = enabled
    return out


class DataPlane:
    """A local RudderStack data plane that delivers into ``sim`` through the Mixpanel destination.

    Parameters
    ----------
    sim:
        The simulated Mixpanel (a new one when omitted; its clock is the server's clock).
    destination:
        RudderStack's Mixpanel destination object, or just its ``Config``.
    write_key:
        The source's write key, or several; ``None`` (default) accepts any non-empty key.
    source_enabled, source_type, connection_mode:
        A disabled source answers 404; a Mixpanel destination in ``"device"`` mode is invisible to
        the data plane (events are stored, then dropped: "no processor-enabled destination").
    legacy_answers:
        Answer like servers before v1.46.0 (``OK``, ``Invalid Write Key``).
    dedup, dedup_window:
        Drop a messageId seen within ``dedup_window`` seconds (RudderStack Cloud's behaviour; the
        open-source server has it off).
    batch_size, batch_timeout, hold:
        The router's batch: up to ``batch_size`` jobs. With ``hold=True`` jobs wait until a batch
        is full or its oldest job is ``batch_timeout`` seconds old (simulator clock), or ``flush()``;
        by default every request's events are delivered before it is answered.
    max_request_bytes, allow_no_identity, suppressed_users, rate_limit, user_transformation:
        The other gates (spec §1.4, §1.5, §3.6): size limit, the identity check, users whose events
        are dropped silently, requests per second before 429, and a function ``event → event | None``.
    """

    def __init__(self, sim: Simulator | None = None, destination: Any = None, *,
                 write_key: str | Iterable[str] | None = None, source_enabled: bool = True,
                 source_type: str = "web", connection_mode: str = "cloud", destination_enabled: bool | None = None,
                 legacy_answers: bool = False, dedup: bool = True, dedup_window: float = 3600,
                 batch_size: int = 20, batch_timeout: float = 5, hold: bool = False,
                 max_request_bytes: int = 4_096_000, allow_no_identity: bool = False,
                 suppressed_users: Iterable[str] = (), rate_limit: int | None = None,
                 user_transformation: Callable[[dict[str, Any]], Any] | None = None,
                 source_id: str = "mpsim-source", workspace_id: str = "mpsim-workspace") -> None:
        if connection_mode not in ("cloud", "device", "hybrid"):
            raise ValueError(f"connection_mode must be 'cloud', 'device' or 'hybrid', not {connection_mode!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size!r}")
        self.sim = sim if sim is not None else Simulator()
        self.destination = _as_destination(destination, destination_enabled)
        self.write_keys: frozenset[str] | None = (
            None if write_key is None else frozenset([write_key] if isinstance(write_key, str) else write_key))
        self.source_enabled = source_enabled
        self.source_type = source_type
        self.connection_mode = connection_mode
        self.legacy_answers = legacy_answers
        self.dedup, self.dedup_window = dedup, dedup_window
        self.batch_size, self.batch_timeout, self.hold = batch_size, batch_timeout, hold
        self.max_request_bytes = max_request_bytes
        self.allow_no_identity = allow_no_identity
        self.suppressed_users = set(suppressed_users)
        self.rate_limit = rate_limit
        self.user_transformation = user_transformation
        self.source_id, self.workspace_id = source_id, workspace_id
        self.log: list[GatewayExchange] = []
        self.jobs: list[Job] = []
        self.drops: list[Drop] = []
        self.deliveries: list[Delivery] = []
        self.pending: list[int] = []
        self._seen_ids: dict[str, int] = {}
        self._rate_window = (0, 0)
        self._ids = 0
        # the simulator's own lock: the simulator asks the plane (explain, findings, reset) while holding it
        self._lock = getattr(self.sim, "_lock", None) or threading.RLock()
        self.sim.upstreams.append(self)

    # ------------------------------------------------------------------ settings read by the stages
    @property
    def config(self) -> dict[str, Any]:
        config = self.destination.get("Config")
        return config if isinstance(config, dict) else {}

    @property
    def write_key(self) -> str:
        """A write key this plane accepts (the one to give an SDK)."""
        return sorted(self.write_keys)[0] if self.write_keys else DEFAULT_WRITE_KEY

    def accepts_key(self, key: str) -> bool:
        return bool(key) and (self.write_keys is None or key in self.write_keys)

    def is_suppressed(self, message: dict[str, Any]) -> bool:
        return bool(self.suppressed_users) and gateway.clean_id(message.get("userId")) in self.suppressed_users

    def unconnected_reason(self) -> str | None:
        if not self.source_enabled:
            return "the source is disabled"
        if self.destination.get("Enabled") is False:
            return "the Mixpanel destination is disabled"
        if self.connection_mode == "device" or self.destination.get("IsProcessorEnabled") is False:
            return "Mixpanel is connected in device mode (the SDK sends to Mixpanel itself)"
        return None

    def new_message_id(self) -> str:
        """A messageId for an event without one: UUID v4 shaped and reproducible run to run."""
        self._ids += 1
        return gateway.md5_uuid(f"mpsim-message-id:{self._ids}")

    def source_config(self, write_key: str) -> dict[str, Any]:
        """The control plane's answer to the JS SDK's ``GET /sourceConfig/`` (spec §5.1)."""
        return {"isHosted": True, "source": {
            "id": self.source_id, "name": "mpsim", "writeKey": write_key, "workspaceId": self.workspace_id,
            "enabled": self.source_enabled, "config": {"statsCollection": {"errors": {"enabled": False},
                                                                           "metrics": {"enabled": False}}},
            "destinations": []}}

    # ------------------------------------------------------------------ doors
    @staticmethod
    def owns(path: str) -> bool:
        """True for RudderStack's paths (``/v1/...``, beacon, pixel, ``/sourceConfig/``, ``/health``)."""
        return gateway.owns(path)

    def handle(self, request: WireRequest) -> Reply:
        """Answer one HTTP request to the data plane, then process and route what it stored."""
        with self._lock:
            first_new, first_exchange = len(self.jobs), len(self.log)
            reply = gateway.receive(self, request)
            for job in self.jobs[first_new:]:
                if processor.process(self, job):
                    self.pending.append(job.id)
            for exchange in self.log[first_exchange:]:  # in sim.log before the Mixpanel requests it causes
                visibility.report_request(self, exchange, request.url)
            router.route(self)
            return reply

    def flush(self) -> list[Delivery]:
        """Deliver every waiting job now (as the router does when its batch timer fires)."""
        with self._lock:
            return router.route(self, force=True)

    # ------------------------------------------------------------------ reading what happened
    def summary(self) -> dict[str, int]:
        """Counts: requests, events received, stored, delivered, dropped (per gate).

        One definition everywhere (state, live page, CLI): ``events`` = ``stored`` + ``dropped at gateway``,
        and ``dropped at gateway`` counts events, so a request refused whole (wrong write key) counts each
        event it carried (one, when its body could not be read; none for a refused source config, which
        carries no events).
        """
        dropped = {gate: sum(1 for d in self.drops if d.gate == gate) for gate in GATES}
        dropped["gateway"] = self.gateway_dropped_events()
        out = {"requests": len(self.log), "events": len(self.jobs) + dropped["gateway"], "stored": len(self.jobs),
               "delivered": sum(1 for j in self.jobs if j.status == "delivered"),
               "waiting": len(self.pending)}
        for gate in GATES:
            out[f"dropped at {gate}"] = dropped[gate]
        return out

    def gateway_dropped_events(self) -> int:
        """Events the gateway did not store: each event a refused request carried, one per unreadable request."""
        total = 0
        for exchange in self.log:
            for drop in exchange.drops:
                if drop.gate != "gateway":
                    continue
                carried = sum(1 for fate in exchange.fates if fate.drop is drop)
                total += carried or (0 if exchange.path.startswith("/sourceConfig") else 1)  # it sends no events
        return total

    def drop_counts(self) -> dict[tuple[str, str], int]:
        """``(gate, reason) → count``: why events did not reach Mixpanel."""
        counts: dict[tuple[str, str], int] = {}
        for drop in self.drops:
            counts[(drop.gate, drop.reason)] = counts.get((drop.gate, drop.reason), 0) + 1
        return counts

    def lines(self) -> list[str]:
        """The log as text: one line per request, then its drops and its jobs' fates."""
        out = []
        for exchange in self.log:
            out.append(f"#{exchange.seq} {exchange.line}")
            out.extend(f"    {d}" for d in exchange.drops)
            for job in self.jobs:
                if job.request == exchange.seq and job.drop is not None:
                    out.append(f"    {job.drop}")
        return out

    def trail(self, message_id: str) -> list[str]:
        """What happened to the event(s) with this messageId, stage by stage."""
        out = []
        for job in self.jobs:
            if job.message.get("messageId") != message_id:
                continue
            out.append(f"gateway: stored as job {job.id} (request {job.request}, event {job.index}), "
                       f"receivedAt {job.message.get('receivedAt')}")
            if job.drop is not None:
                out.append(str(job.drop))
                continue
            out.append(f"processor: timestamp {job.message.get('timestamp')} (originalTimestamp "
                       f"{job.message.get('originalTimestamp')}, sentAt {job.message.get('sentAt')})")
            for seq in job.deliveries:
                delivery = self.deliveries[seq - 1]
                paths = ", ".join(f"{r.endpoint} ({len(r.records)} records)" for r in delivery.requests)
                out.append(f"router: batch {seq} → {paths}; Mixpanel answered "
                           + ", ".join(str(r.status) for r in delivery.replies))
            if job.status in ("queued", "routed"):
                out.append("router: waiting for its batch (call flush())")
        for drop in self.drops:
            if drop.message_id == message_id and drop.gate == "gateway":
                out.append(str(drop))
        return out or [f"no event with messageId {message_id!r} reached the data plane"]

    def findings(self) -> Findings:
        """Every drop as a ``Finding`` (rule ``dataplane-<reason>``), for ``Findings.to_frame()`` and summaries."""
        return Findings([Finding(f"dataplane-{d.reason.replace(' ', '-')}", "info" if d.reason == "dedup" else "error",
                                 f"$.requests[{d.request - 1}]" + (f".batch[{d.index}]" if d.index is not None else ""),
                                 d.message_id, f"{d.gate}: {d.detail}", FIXES.get(d.reason, ""), d.index,
                                 kind="dataplane")
                         for d in self.drops])

    def explain_lines(self, distinct_id: str) -> list[str]:
        """For ``sim.explain(id)``: each event from this anonymousId or userId that never reached Mixpanel, and why."""
        with self._lock:
            return visibility.explain_lines(self, distinct_id)

    def finding_items(self) -> list[dict[str, Any]]:
        """For the control API's ``/_mpsim/findings``: each drop with its gate, reason and the setting to change."""
        with self._lock:
            return visibility.finding_items(self)

    def drops_frame(self) -> Any:
        import pandas as pd

        columns = ["gate", "reason", "detail", "status", "request", "index", "message_id", "event"]
        from ...notebook.views import mark_frame

        return mark_frame(pd.DataFrame([[getattr(d, c) for c in columns] for d in self.drops], columns=columns))

    def reset(self) -> None:
        """Forget requests, jobs and drops (and the dedup memory); the simulator is left alone.

        ``sim.reset()`` (and the control API's reset) calls this too: nothing of a previous test stays.
        """
        with self._lock:
            self.log.clear()
            self.jobs.clear()
            self.drops.clear()
            self.deliveries.clear()
            self.pending.clear()
            self._seen_ids.clear()

    def __repr__(self) -> str:
        return f"DataPlane(write_key={self.write_key!r}, {self.summary()})"

    def _repr_html_(self) -> str:
        summary = ", ".join(f"{v} {k}" for k, v in self.summary().items() if v or k in ("requests", "delivered"))
        rows = "".join(f"<li><code>{html.escape(line)}</code></li>" for line in self.lines()[-40:])
        from ...notebook.views import output_html

        return output_html(f"<b>RudderStack data plane</b>: {html.escape(summary)}<ul>{rows}</ul>", "dataplane")


def as_dataplane(sim: Simulator, rudder: Any, write_key: str | Iterable[str] | None = None) -> DataPlane | None:
    """What the doors' ``rudder=`` takes: a ``DataPlane``, or a Mixpanel destination (object or Config)."""
    if rudder is None:
        return None
    if isinstance(rudder, DataPlane):
        if rudder.sim is not sim:
            raise ValueError("the DataPlane delivers into another simulator than the one being served")
        return rudder
    return DataPlane(sim, rudder, write_key=write_key)
