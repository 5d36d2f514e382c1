"""What the simulator shows of the data plane: its requests in ``sim.log``, its drops in ``sim.dropped()``,
``sim.explain(id)`` and the control API's findings.

An event the data plane drops never reaches Mixpanel, so Mixpanel's own log cannot say anything about
it. The data plane therefore reports each request it answered into the simulator's log (one entry,
``request["door"] == "rudderstack"``, with each event's fate), and registers itself in
``sim.upstreams`` so explanations and findings can ask it about ids and drops.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ...mixpanel.explain import UPSTREAM_NOTE
from ...mixpanel.log import RecordResult
from .records import Delivery, Drop, EventFate, GatewayExchange, Job

if TYPE_CHECKING:
    from .pipeline import DataPlane

DOOR = "rudderstack"
#: reason → what it means, in a few words: with the gate, the key ``sim.dropped()`` counts by
REASON_WORDS: dict[str, str] = {
    "write key": "wrong, unknown or disabled write key",
    "route": "a path the gateway does not serve",
    "no identity": "an event without anonymousId or userId refuses the whole request",
    "not an event": "a batch element that is not an event refuses the whole request",
    "invalid json": "the body is not JSON, or is gzip without Content-Encoding: gzip",
    "empty batch": "a batch without events",
    "too large": "over 4 096 000 bytes after gunzip",
    "unreadable body": "a broken gzip body",
    "rate limit": "over the gateway's rate limit",
    "suppression": "the user is suppressed (Regulation API)",
    "dedup": "a messageId already received within the dedup window",
    "destination": "Mixpanel is not connected to the source in cloud mode",
    "integrations": "the event's integrations object leaves Mixpanel out",
    "consent": "the visitor denied a consent Mixpanel's consent settings need",
    "user transformation": "the user transformation returned nothing",
    "type": "a message type the Mixpanel destination does not take",
    "transformer": "Mixpanel's destination transformer refused the event",
}
PASSED = UPSTREAM_NOTE + "passed the gateway and the processor (on to the Mixpanel destination)"


def mask_key(key: str | None) -> str | None:
    """A write key as logs show it: its first characters and its length, never all of it."""
    if key is None:
        return None
    shown = key[: min(4, len(key) // 3)]
    return f"{shown}… ({len(key)} characters)"


def drop_note(drop: Drop) -> str:
    """The count key of a drop: ``RudderStack processor: integrations (the event's integrations ...)``."""
    return f"{UPSTREAM_NOTE}{drop.gate}: {drop.reason} ({REASON_WORDS.get(drop.reason, drop.reason)})"


def _record(index: int, drop: Drop | None, message_id: str | None) -> RecordResult:
    if drop is None:
        return RecordResult(index, True, stored=True, insert_id=message_id, note=PASSED)
    return RecordResult(index, drop.status < 400, stored=False, message=drop.detail, insert_id=message_id,
                        note=drop_note(drop))


def _fate_drop(plane: DataPlane, fate: EventFate) -> Drop | None:
    if fate.drop is not None:
        return fate.drop
    return plane.jobs[fate.job - 1].drop if fate.job is not None else None


def report_request(plane: DataPlane, exchange: GatewayExchange, url: str) -> None:
    """Log one answered request in the simulator: route, write key masked, answer, each event's fate."""
    parts = urlsplit(url)
    summary = {"method": exchange.method, "url": f"{parts.scheme}://{parts.netloc}{parts.path}",
               "host": parts.hostname or "", "endpoint": exchange.path.lstrip("/"), "door": DOOR,
               "write_key": mask_key(exchange.write_key)}
    records = [_record(f.index, _fate_drop(plane, f), f.message_id) for f in exchange.fates]
    if not records and exchange.drops:  # refused before any event could be read: the request is the record
        records = [_record(0, exchange.drops[0], None)]
    answer = exchange.answer
    if exchange.path.startswith("/sourceConfig") and exchange.write_key:  # the source config names its key
        answer = answer.replace(exchange.write_key, mask_key(exchange.write_key) or "")
    exchange.sim_request = plane.sim.log_upstream(exchange.received_ms, summary, exchange.status, answer, records)


def report_transformer(plane: DataPlane, delivery: Delivery, jobs: list[Job], status: int) -> None:
    """Log a router batch the transformer refused (its events never became Mixpanel requests)."""
    summary = {"method": "POST", "url": "mpsim://transformer/routerTransform", "host": "transformer",
               "endpoint": "routerTransform", "door": DOOR, "write_key": None}
    records = [_record(i, job.drop, job.message.get("messageId")) for i, job in enumerate(jobs)]
    plane.sim.log_upstream(plane.sim.now_ms, summary, status, delivery.error or "", records)


def _where(plane: DataPlane, request: int) -> int | None:
    """The simulator's number for the data plane's request ``request``."""
    return plane.log[request - 1].sim_request if 0 < request <= len(plane.log) else None


def _describe(plane: DataPlane, exchange: GatewayExchange, fate: EventFate, drop: Drop) -> str:
    from .pipeline import FIXES

    where = f"request #{exchange.sim_request}" if exchange.sim_request is not None else f"data plane request {exchange.seq}"
    what = f"event '{fate.label}' from this id ({where} {exchange.method} {exchange.path}, event {fate.index})"
    if drop.gate == "gateway" and drop.status >= 400:
        how = (f"was refused at the RudderStack gateway with its whole request, answered {drop.status}: "
               f"{drop.reason}: {drop.detail}")
    else:
        how = f"was dropped at the RudderStack {drop.gate}: {drop.reason}: {drop.detail}"
    fix = FIXES.get(drop.reason)
    return f"{what} {how}" + (f". Fix: {fix}" if fix else "")


def explain_lines(plane: DataPlane, distinct_id: str) -> list[str]:
    """One line per event from ``distinct_id`` (its anonymousId or userId) that never reached Mixpanel."""
    out = []
    for exchange in plane.log:
        for fate in exchange.fates:
            if distinct_id not in (fate.anonymous_id, fate.user_id):
                continue
            drop = _fate_drop(plane, fate)
            if drop is not None and drop.gate != "mixpanel":  # Mixpanel's own refusals are in its log
                out.append(_describe(plane, exchange, fate, drop))
    return out


def finding_items(plane: DataPlane) -> list[dict[str, Any]]:
    """The control API's findings for the data plane's drops: cause, where, and the setting to change."""
    from .pipeline import FIXES

    out = []
    for drop in plane.drops:
        if drop.gate == "mixpanel":
            continue  # Mixpanel's refusal: the simulator's log already holds it as a rejected record
        exchange = plane.log[drop.request - 1] if 0 < drop.request <= len(plane.log) else None
        sent_key = ""
        if drop.reason == "write key" and exchange is not None:
            sent_key = f" (the request's write key: {mask_key(exchange.write_key) or 'none'})"
        out.append({"kind": "dataplane", "request": _where(plane, drop.request),
                    "endpoint": exchange.path.lstrip("/") if exchange else None, "index": drop.index,
                    "gate": drop.gate, "reason": drop.reason, "status": drop.status, "message_id": drop.message_id,
                    "event": drop.event, "message": drop.detail + sent_key,
                    "fix": FIXES.get(drop.reason, "")})
    return out
