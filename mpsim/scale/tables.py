"""The scale tables' shape, and the same tables read off an in-memory ``mpsim.replay`` (for checks and small data).

``tables_from_replay`` is how the differential tests state "the Dask result equals the simulator":
both sides become these six tables, compared row for row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

COLUMNS: dict[str, list[str]] = {
    "events": ["seq", "position", "copies", "time", "event", "distinct_id", "stored_distinct_id", "insert_id",
               "endpoint", "groups", "failure_reason", "properties", "source", "request", "record"],
    "identities": ["distinct_id", "canonical", "is_canonical", "cluster_size", "kind", "has_profile"],
    "profiles": ["distinct_id", "properties", "created_seq", "updated_seq", "visible"],
    "groups": ["group_key", "group_id", "properties", "created_seq", "updated_seq"],
    "refused_merges": ["seq", "kind", "ids", "reason", "description"],
    "rejected": ["source", "request", "endpoint", "record", "outcome", "field", "message", "insert_id"],
}
#: the order rows are compared and shown in
ORDER: dict[str, list[str]] = {
    "events": ["position"],
    "identities": ["distinct_id"],
    "profiles": ["distinct_id"],
    "groups": ["group_key", "group_id"],
    "refused_merges": ["seq"],
    "rejected": ["source", "request", "record", "outcome"],
}


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def tables_from_replay(result: Any, sources: Iterable[int] | None = None) -> dict[str, Any]:
    """The six scale tables for an in-memory ``mpsim.replay(..., keep=None)``; ``sources`` are the events' ordinals."""
    import pandas as pd

    from .stages import rejection_rows, transform_error_row

    sim = result.sim
    state = sim._state
    ordinals = list(sources) if sources is not None else list(range(len(result.steps)))
    origin: list[tuple[int, int, int]] = []  # per stored event, in ingestion order
    rejected: list[dict[str, Any]] = []
    log = iter(state.log)
    for step, source in zip(result.steps, ordinals, strict=False):
        if step.error is not None:
            rejected.append(transform_error_row(source, step.error))
            continue
        if getattr(step, "request_count", len(step.requests)) != len(step.requests):
            raise ValueError("this replay kept only the outcome of some steps: replay with mpsim.replay(..., keep=None)")
        for r_index, (request, reply) in enumerate(zip(step.requests, step.replies, strict=True)):
            exchange = next(log)
            rejected += rejection_rows(source, r_index, request.path, reply.ok, reply.body, exchange.records,
                                       len(request.records))
            if request.path in ("track", "import"):
                origin += [(source, r_index, r.index) for r in exchange.records if r.stored]
    by_seq = {e.seq: where for e, where in zip(state.events, origin, strict=False)}
    copies: dict[Any, list[int]] = {}
    for e in state.events:
        if e.dedup_key is not None:
            copies.setdefault(e.dedup_key, []).append(e.seq)
    rows = []
    for e in sim.stored_events():
        seqs = copies.get(e.dedup_key, [e.seq]) if e.dedup_key is not None else [e.seq]
        source, r_index, record = by_seq[e.seq]
        rows.append({"seq": e.seq, "position": min(seqs), "copies": len(seqs),
                     "time": pd.Timestamp(e.time_ms, unit="ms", tz="UTC"), "event": e.name,
                     "distinct_id": sim.canonical(e.distinct_id) if e.distinct_id else e.distinct_id,
                     "stored_distinct_id": e.distinct_id,
                     "insert_id": e.insert_id, "endpoint": e.endpoint, "groups": _dumps([list(g) for g in e.groups]),
                     "failure_reason": e.properties.get("$failure_reason") or e.properties.get("$identity_failure_reason"),
                     "properties": _dumps(e.properties), "source": source, "request": r_index, "record": record})
    identity = state.identity
    tables = {
        "events": pd.DataFrame(rows, columns=COLUMNS["events"]),
        "identities": sim.identities,
        "profiles": pd.DataFrame([{"distinct_id": k, "properties": _dumps(p.properties), "created_seq": p.created_seq,
                                   "updated_seq": p.updated_seq, "visible": identity.profile_visible(k)}
                                  for k, p in state.profiles.items()], columns=COLUMNS["profiles"]),
        "groups": pd.DataFrame([{"group_key": k, "group_id": g, "properties": _dumps(p.properties),
                                 "created_seq": p.created_seq, "updated_seq": p.updated_seq}
                                for (k, g), p in state.groups.items()], columns=COLUMNS["groups"]),
        "refused_merges": pd.DataFrame([{"seq": r.seq, "kind": r.kind, "ids": _dumps(list(r.ids)), "reason": r.reason,
                                         "description": r.description} for r in identity.refusals],
                                       columns=COLUMNS["refused_merges"]),
        "rejected": pd.DataFrame(rejected, columns=COLUMNS["rejected"]),
    }
    return {name: frame.sort_values(ORDER[name], kind="stable").reset_index(drop=True)
            for name, frame in tables.items()}
