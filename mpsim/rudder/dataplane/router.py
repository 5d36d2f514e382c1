"""The router: jobs in batches to the Mixpanel transformer's router transform, then to Mixpanel (spec §4.2).

A batch closes at ``batch_size`` jobs (20) or, when the plane holds jobs back (``hold=True``), once
its oldest job has waited ``batch_timeout`` seconds on the simulator's clock. The transformer is
mpsim's own (``mpsim.transform_batch``); its requests go to the simulator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..router import transform_batch
from . import visibility
from .records import Delivery, Drop, Job

if TYPE_CHECKING:
    from .pipeline import DataPlane


def router_input(plane: DataPlane, job: Job) -> dict[str, Any]:
    """One ``routerTransform`` input: the enriched message, the job metadata, destination and connection."""
    received = job.message.get("receivedAt")
    metadata = {"userId": job.user_key, "jobId": job.id, "sourceId": plane.source_id, "sourceCategory": "",
                "destinationId": plane.destination["ID"], "attemptNum": 0, "receivedAt": received,
                "createdAt": received, "firstAttemptedAt": received, "transformAt": "router",
                "workspaceId": plane.workspace_id, "secret": None, "dontBatch": False}
    connection = {"sourceId": plane.source_id, "destinationId": plane.destination["ID"], "enabled": True,
                  "config": {}, "processorEnabled": True}
    return {"message": job.message, "metadata": metadata, "destination": plane.destination,
            "connection": connection}


def due(plane: DataPlane) -> bool:
    """Whether the waiting jobs make a batch now."""
    if not plane.pending:
        return False
    if not plane.hold or len(plane.pending) >= plane.batch_size:
        return True
    oldest = plane.jobs[plane.pending[0] - 1].received_ms
    return plane.sim.now_ms - oldest >= plane.batch_timeout * 1000


def route(plane: DataPlane, *, force: bool = False) -> list[Delivery]:
    """Send the waiting jobs on, ``batch_size`` at a time (all of them with ``force``)."""
    out: list[Delivery] = []
    while plane.pending and (force or due(plane)):
        ids, plane.pending = plane.pending[: plane.batch_size], plane.pending[plane.batch_size:]
        out.extend(_deliver(plane, [plane.jobs[i - 1] for i in ids]))
    return out


def _deliver(plane: DataPlane, jobs: list[Job]) -> list[Delivery]:
    by_id = {job.id: job for job in jobs}
    items = transform_batch([router_input(plane, job) for job in jobs], now=plane.sim.now_ms)
    deliveries = []
    for item in items:
        delivery = Delivery(len(plane.deliveries) + 1, [int(m["jobId"]) for m in item.metadata], [], [])
        if item.error is not None:
            delivery.error = item.error
            for job_id in delivery.jobs:
                job = by_id[job_id]
                job.status = "dropped"
                job.drop = Drop("transformer", "transformer", item.error, item.status_code, job.request, job.index,
                                job.message.get("messageId"), job.label)
                plane.drops.append(job.drop)
            visibility.report_transformer(plane, delivery, [by_id[i] for i in delivery.jobs], item.status_code)
        else:
            delivery.requests = list(item.requests)
            delivery.replies = plane.sim.send(delivery.requests)
            rejected = [r for r in delivery.replies if not r.ok]
            for job_id in delivery.jobs:
                job = by_id[job_id]
                job.deliveries.append(delivery.seq)
                job.status = "delivered"
                if rejected:
                    job.status = "rejected"
                    job.drop = Drop("mixpanel", "rejected", f"Mixpanel answered {rejected[0].status}: "
                                    f"{rejected[0].body[:300]}", rejected[0].status, job.request, job.index,
                                    job.message.get("messageId"), job.label)
                    plane.drops.append(job.drop)
        plane.deliveries.append(delivery)
        deliveries.append(delivery)
    return deliveries
