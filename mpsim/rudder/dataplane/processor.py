"""The processor: per stored job, the gates in RudderStack's order, then the time fields (spec §2.2-§3).

Order (spec §3): dedup → destination availability (connected in cloud mode, ``integrations``,
consent) → user transformation → supported type. The 200 was sent long before: every drop here is
silent to the SDK, so each one is recorded with its gate and reason.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .filters import consent_block, integrations_block, type_block
from .records import Drop, Job
from .timestamps import enhance_time_fields, from_ms

if TYPE_CHECKING:
    from .pipeline import DataPlane


def _drop(plane: DataPlane, job: Job, reason: str, detail: str, status: int = 200, gate: str = "processor") -> bool:
    job.status = "dropped"
    job.drop = Drop(gate, reason, detail, status, job.request, job.index, job.message.get("messageId"), job.label)
    plane.drops.append(job.drop)
    return False


def _dedup_key(message: dict[str, Any]) -> str:
    context = message.get("context")
    sources = context.get("sources") if isinstance(context, dict) else None
    run = sources.get("job_run_id") if isinstance(sources, dict) else None
    return str(message.get("messageId")) + (run if isinstance(run, str) else "")


def process(plane: DataPlane, job: Job) -> bool:
    """Run one job through the processor; True when it goes on to the router (``job.message`` is then final)."""
    message = job.message
    if plane.dedup:
        key = _dedup_key(message)
        seen = plane._seen_ids.get(key)
        if seen is not None and job.received_ms - seen < plane.dedup_window * 1000:
            return _drop(plane, job, "dedup", f"dedup: dropped, messageId {message.get('messageId')!r} was "
                         f"received {(job.received_ms - seen) / 1000:g} s earlier (window {plane.dedup_window:g} s)")
        plane._seen_ids[key] = job.received_ms
    unconnected = plane.unconnected_reason()
    if unconnected:
        return _drop(plane, job, "destination", f"no processor-enabled destination: {unconnected}")
    blocked = integrations_block(message)
    if blocked:
        return _drop(plane, job, "integrations", f"destination filter: integrations: {blocked}")
    denied = consent_block(message, plane.config, plane.source_type)
    if denied:
        return _drop(plane, job, "consent", f"consent: {denied}")
    enhance_time_fields(message, from_ms(job.received_ms))
    message["request_ip"] = job.request_ip
    if plane.user_transformation is not None:
        try:
            out = plane.user_transformation(copy.deepcopy(message))
        except Exception as exc:  # noqa: BLE001 - a user's code failing is a recorded outcome, not our crash
            return _drop(plane, job, "user transformation", f"user transformation failed: {exc!r}", 400)
        if isinstance(out, list):
            out = out[0] if out else None
        if not isinstance(out, dict):
            return _drop(plane, job, "user transformation", "user transformation returned no event: dropped")
        job.message = message = out
    blocked_type = type_block(message)
    if blocked_type:
        status, text = blocked_type
        return _drop(plane, job, "type", f"{text} (type {message.get('type')!r})", status)
    job.status = "routed"
    return True
