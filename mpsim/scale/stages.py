"""The tasks of a scale replay. Each reads and writes Parquet under a work folder; none holds the history.

1. ``prepare_piece`` (parallel): transform each event, send each request through the simulator's own
   request handlers, and keep each record's *prepared* half (``Simulator.prepare_event`` /
   ``prepare_profile_record``): what the record alone decides. It also writes the piece's
   identity stream: identity ops and profile-existence changes, in the piece's order.
2. ``identity_pass`` (one process, in global order): the simulator's identity engine over the
   identity streams of all pieces — every identity event, the first occurrence of each
   ``$user_id``/``$device_id`` pair, and every /engage record (whose key depends on identity at the
   time it arrives, and whose profile's existence decides which id an Original merge keeps).
   It spills as it goes: per-piece outcomes, refusals, and at the end the id -> canonical table
   cut into hash buckets of the distinct id.
3. ``finish_piece`` (parallel): global ``seq`` and generated ``$insert_id``s, identity outcomes,
   rows sent to hash buckets of the distinct id (the shuffle).
4. ``reduce_bucket`` (parallel): per bucket, the bucket's slice of the id -> canonical table joined
   onto its events, Mixpanel's dedup, profile operations per profile in order with the
   simulator's own engine, identities.

Memory: stages 1, 3 and 4 hold one piece or one bucket (fixed sizes). Stage 2's state (merged ids,
profile keys, links seen) is proportional to distinct identities; it lives on disk (``spill``) with
a bounded cache in memory.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import TransformError
from ..mixpanel.api import route
from ..mixpanel.identity import Outcome, Refusal
from ..mixpanel.ingest import (
    IdentityOp,
    PreparedEvent,
    PreparedProfile,
    apply_identity_op,
    failure_properties,
    generated_insert_id,
    profile_key,
)
from ..mixpanel.profiles import OperationError, Profile, apply_operations
from ..mixpanel.simulator import Simulator, to_wire
from ..mixpanel.state import RecordResult
from ..rudder import transform
from .sources import Piece, read_piece
from .spill import IdentityState

REJECTED_COLUMNS = ["source", "request", "endpoint", "record", "outcome", "field", "message", "insert_id"]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _text(value: Any) -> str | None:
    """A string cell, or None (Parquet's nulls come back as NaN in pandas' string columns)."""
    return value if isinstance(value, str) else None


def bucket_of(text: str, buckets: int) -> int:
    return zlib.crc32(text.encode("utf-8", "surrogatepass")) % buckets


def write_frame(frame: Any, path: str, schema: Any = None) -> None:
    """Write a pandas frame as Parquet (folders made as needed, local or fsspec URL), with a pyarrow ``schema`` if given."""
    import fsspec

    fs, _, (target,) = fsspec.get_fs_token_paths(path)
    fs.makedirs(os.path.dirname(target), exist_ok=True)
    with fs.open(target, "wb") as handle:
        frame.to_parquet(handle, index=False, schema=schema)


def read_frames(paths: Iterable[str], columns: list[str] | None = None) -> Any:
    import pandas as pd

    frames = [pd.read_parquet(p, columns=columns) for p in paths]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else None


def rejection_rows(source: int, request: int, endpoint: str | None, ok: bool, reply_body: str,
                   results: list[RecordResult], records: int) -> list[dict[str, Any]]:
    """One row per record Mixpanel refused or dropped in one request (shared with ``tables_from_replay``)."""
    rows = []
    if not ok and not results:
        for index in range(max(records, 1)):
            rows.append({"source": source, "request": request, "endpoint": endpoint, "record": index,
                         "outcome": "request failed", "field": None, "message": reply_body[:500], "insert_id": None})
    for r in results:
        if r.ok and not r.note:
            continue
        rows.append({"source": source, "request": request, "endpoint": endpoint, "record": r.index,
                     "outcome": "dropped" if r.ok else "rejected", "field": r.field if not r.ok else None,
                     "message": r.message if not r.ok else r.note,
                     "insert_id": r.insert_id if isinstance(r.insert_id, str) else None})
    return rows


def transform_error_row(source: int, error: Exception) -> dict[str, Any]:
    message = error.message if isinstance(error, TransformError) else str(error)
    return {"source": source, "request": -1, "endpoint": None, "record": -1, "outcome": "transform error",
            "field": getattr(error, "kind", None) or type(error).__name__, "message": message, "insert_id": None}


class _Preparer(Simulator):
    """A simulator that keeps each record's prepared half (the half the record alone decides), with its
    ``$insert_id`` count; ``route(..., store=False)`` reads requests with it and commits nothing."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.items: list[tuple[Any, int]] = []

    def prepare_event(self, record: Any, ctx: Any, index: int, *, check_token: bool) -> RecordResult | PreparedEvent:
        prepared = super().prepare_event(record, ctx, index, check_token=check_token)
        self.items.append((prepared, self._state.generated_ids))
        return prepared

    def prepare_profile_record(self, record: Any, kind: str, index: int, received_ms: int, *,
                               request_ip: str | None = None,
                               locate: bool = True) -> RecordResult | PreparedProfile:
        prepared = super().prepare_profile_record(record, kind, index, received_ms, request_ip=request_ip,
                                                  locate=locate)
        self.items.append((prepared, 0))
        return prepared


@dataclass
class PieceCounts:
    """What one prepared piece holds: events read, records numbered (``seq``s used), ``$insert_id``s generated."""

    piece: int
    events: int = 0
    seqs: int = 0
    generated: int = 0
    transform_errors: int = 0
    requests: int = 0
    records: int = 0


def prepare_piece(piece: Piece, destination: Any, settings: dict[str, Any], now_ms: int, work: str,
                  out: str) -> PieceCounts:
    """Stage 1 for one piece: transform, handle each request up to the state-dependent half, write the parts."""
    import pandas as pd

    sim = _Preparer(**settings, now=now_ms)
    simplified = sim.identity_merge == "simplified"
    counts = PieceCounts(piece.number)
    events: list[dict[str, Any]] = []
    profiles: list[dict[str, Any]] = []
    stream: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    seen_pairs: set[tuple[str, str]] = set()
    for source, message in read_piece(piece):
        counts.events += 1
        if isinstance(message, Exception):
            rejected.append(transform_error_row(source, message))
            counts.transform_errors += 1
            continue
        try:
            requests = transform(message, destination, now=now_ms)
        except TransformError as exc:
            rejected.append(transform_error_row(source, exc))
            counts.transform_errors += 1
            continue
        for r_index, request in enumerate(requests):
            counts.requests += 1
            counts.records += len(request.records)
            sim.items = []
            results: list[RecordResult] = []
            reply = route(sim, to_wire(request), now_ms, results, store=False)
            endpoint = request.path
            rejected += rejection_rows(source, r_index, endpoint, reply.ok, reply.body, results, len(request.records))
            for prepared, generated in sim.items:
                if isinstance(prepared, RecordResult):
                    continue
                counts.seqs += 1
                lseq = counts.seqs
                where = {"lseq": lseq, "source": source, "request": r_index, "record": prepared.index}
                if isinstance(prepared, PreparedEvent):
                    events.append(_event_row(sim, prepared, where, generated))
                    op = prepared.identity_op
                    if op is not None and prepared.error is None:
                        if op.kind != "link" or op.ids not in seen_pairs:
                            seen_pairs.add(op.ids)
                            stream.append({"lseq": lseq, "kind": op.kind, "a": op.ids[0], "b": op.ids[1],
                                           "ignore_alias": False, "creates": False, "deletes": False})
                else:
                    profiles.append(_profile_row(prepared, where))
                    if prepared.kind == "engage":
                        stream.append({"lseq": lseq, "kind": "engage", "a": prepared.key, "b": None,
                                       "ignore_alias": prepared.ignore_alias,
                                       "creates": not simplified and prepared.creates(),
                                       "deletes": prepared.deletes})
        counts.generated = sim._state.generated_ids
    tag = f"p{piece.number:06d}.parquet"
    write_frame(pd.DataFrame(events, columns=EVENT_COLUMNS), f"{work}/prepared/events/{tag}")
    write_frame(pd.DataFrame(profiles, columns=PROFILE_COLUMNS), f"{work}/prepared/profiles/{tag}")
    write_frame(pd.DataFrame(stream, columns=STREAM_COLUMNS), f"{work}/prepared/identity/{tag}")
    write_frame(pd.DataFrame(rejected, columns=REJECTED_COLUMNS), f"{out}/rejected/prepare-{tag}")
    return counts


EVENT_COLUMNS = ["lseq", "source", "request", "record", "name", "distinct_id", "time_ms", "insert_id", "gen",
                 "endpoint", "user_id", "properties", "groups", "op_kind", "op_a", "op_b", "error_field",
                 "error_message", "raw_insert_id"]
PROFILE_COLUMNS = ["lseq", "source", "request", "record", "kind", "key", "group_id", "ignore_alias", "body", "ops",
                   "last_seen"]
STREAM_COLUMNS = ["lseq", "kind", "a", "b", "ignore_alias", "creates", "deletes"]


def _event_row(sim: Simulator, prepared: PreparedEvent, where: dict[str, Any], generated: int) -> dict[str, Any]:
    props = prepared.properties
    op = prepared.identity_op
    user = props.get("$user_id")
    return {
        **where,
        "name": prepared.name,
        "distinct_id": prepared.distinct_id,
        "time_ms": prepared.time_ms,
        "insert_id": None if prepared.generated_insert_id else props.get("$insert_id"),
        "gen": generated if prepared.generated_insert_id else -1,
        "endpoint": prepared.endpoint,
        "user_id": user if isinstance(user, str) else None,
        "properties": _dumps(props),
        "groups": _dumps([list(g) for g in sim._groups_of(props, 1)]),
        "op_kind": op.kind if op else None,
        "op_a": op.ids[0] if op else None,
        "op_b": op.ids[1] if op else None,
        "error_field": prepared.error.field if prepared.error else None,
        "error_message": prepared.error.message if prepared.error else None,
        "raw_insert_id": prepared.raw_insert_id if isinstance(prepared.raw_insert_id, str) else None,
    }


def _profile_row(prepared: PreparedProfile, where: dict[str, Any]) -> dict[str, Any]:
    engage = prepared.kind == "engage"
    return {
        **where,
        "kind": prepared.kind,
        "key": prepared.key if engage else prepared.key[0],
        "group_id": None if engage else prepared.key[1],
        "ignore_alias": prepared.ignore_alias,
        "body": _dumps(prepared.record),
        "ops": _dumps(prepared.ops),
        "last_seen": prepared.last_seen,
    }


# --------------------------------------------------------------------------- stage 2
@dataclass
class IdentityResult:
    """What the identity pass counts; its outcomes are on disk (see ``identity_pass``)."""

    identity_events: int = 0
    profile_records: int = 0
    refusals: int = 0
    refused_links: int = 0



def identity_pass(state: IdentityState, work: str, out: str, pieces: list[int], offsets: dict[int, int],
                  buckets: int, progress: Any = None) -> IdentityResult:
    """Stage 2: the simulator's identity engine over every piece's identity stream, in global order.

    Writes, per piece, the key each /engage record lands on, the outcome of each refused identity op,
    the refusals (``refused_merges``) and, for Simplified, the refused ``(user, device)`` links; at the
    end, the id -> canonical table cut into the shuffle's hash buckets (``write_canonical``). What
    stays is ``state``: the identity engine's own state, the profile keys that exist and the links
    already seen — proportional to the distinct identities, so ``replay`` passes an
    ``IdentitySpill`` that keeps it on disk behind a bounded cache.
    """
    import pandas as pd

    result = IdentityResult()
    engine = state.engine
    existing = state.existing
    has_profile = existing.__contains__
    seen_pairs = state.seen_pairs
    for number in pieces:
        tag = f"p{number:06d}.parquet"
        stream = pd.read_parquet(f"{work}/prepared/identity/{tag}")
        keys: list[tuple[int, Any]] = []
        outcomes: list[tuple[int, str | None, str | None]] = []
        links: list[dict[str, Any]] = []
        offset = offsets[number]
        for lseq, kind, a, b, ignore_alias, creates, deletes in stream.itertuples(index=False, name=None):
            seq = offset + int(lseq)
            if kind == "engage":
                result.profile_records += 1
                key = profile_key(engine, "engage", a, bool(ignore_alias))
                keys.append((int(lseq), key))
                if deletes:
                    existing.discard(key)
                elif creates:
                    existing.add(key)
                continue
            result.identity_events += 1
            if kind == "link":
                if (a, b) in seen_pairs:
                    continue
                seen_pairs.add((a, b))
            before = len(engine.refusals)
            outcome = apply_identity_op(engine, IdentityOp(kind, (a, b)), seq, has_profile)
            if not outcome.ok:
                if kind == "link":
                    refusal = engine.refusals[before]
                    links.append({"a": a, "b": b, "kind": refusal.kind, "ids": _dumps(list(refusal.ids)),
                                  "reason": refusal.reason, "description": refusal.description})
                else:
                    outcomes.append((int(lseq), outcome.reason, outcome.description))
        write_frame(pd.DataFrame(keys, columns=["lseq", "key"]), f"{work}/identity/keys/{tag}")
        write_frame(pd.DataFrame(outcomes, columns=["lseq", "reason", "description"]), f"{work}/identity/outcomes/{tag}")
        if links:
            write_frame(pd.DataFrame(links, columns=LINK_COLUMNS), f"{work}/identity/refused_links/{tag}")
            result.refused_links += len(links)
        if engine.refusals and engine.mode == "original":  # spill: the engine's rules never read old refusals
            write_frame(pd.DataFrame([{"seq": r.seq, "kind": r.kind, "ids": _dumps(list(r.ids)), "reason": r.reason,
                                       "description": r.description} for r in engine.refusals],
                                     columns=REFUSAL_COLUMNS), f"{out}/refused_merges/identity-{tag}")
        result.refusals += len(engine.refusals)
        del engine.refusals[:]
        if progress is not None:
            progress(1)
    write_canonical(state, work, buckets)
    return result


LINK_COLUMNS = ["a", "b", "kind", "ids", "reason", "description"]
CANONICAL_COLUMNS = ["distinct_id", "canonical", "cluster_size"]


def write_canonical(state: IdentityState, work: str, buckets: int) -> None:
    """The id -> canonical table of every id in a merged cluster, cut into the shuffle's hash buckets.

    Bucket ``b`` of events, profiles and identities is keyed by the same hash of the distinct id, so
    its reduce task joins only its own slice of this table: no task ever holds all of it. The
    state hands the rows over a bucket at a time (a spilled state sorts them on disk), so this
    holds one bucket's rows and writes one file per bucket.
    """
    import pandas as pd

    for bucket, rows in state.clustered_by_bucket(lambda distinct_id: bucket_of(distinct_id, buckets)):
        write_frame(pd.DataFrame(rows, columns=CANONICAL_COLUMNS),
                    f"{work}/shuffle/canonical/b{bucket:05d}/p000000.parquet")


# --------------------------------------------------------------------------- stage 3
def refused_links_of(work: str, users: Iterable[str]) -> dict[tuple[str, str], Refusal]:
    """The refused ``(user, device)`` links among those of ``users``: a filtered scan, never the whole table."""
    import fsspec
    import pyarrow.dataset as ds

    wanted = sorted({u for u in users if isinstance(u, str)})
    fs, _, (folder,) = fsspec.get_fs_token_paths(f"{work}/identity/refused_links")
    if not wanted or not fs.exists(folder):
        return {}
    table = ds.dataset(folder, filesystem=fs, format="parquet").to_table(filter=ds.field("a").isin(wanted))
    return {(r["a"], r["b"]): Refusal(r["kind"], tuple(json.loads(r["ids"])), r["reason"], r["description"], 0)
            for r in table.to_pylist()}


def finish_piece(number: int, work: str, out: str, seq_offset: int, gen_offset: int, buckets: int) -> dict[str, int]:
    """Stage 3 for one piece: global numbers, identity outcomes, and the shuffle into buckets by distinct id.

    Every row goes to the bucket of the distinct id it is stored under (events; their dedup key holds
    that id, so duplicates meet), the profile key it lands on (/engage) or the id itself (ids seen),
    which is where ``write_canonical`` put that id's canonical id.
    """
    import pandas as pd

    tag = f"p{number:06d}.parquet"
    events = pd.read_parquet(f"{work}/prepared/events/{tag}")
    profiles = pd.read_parquet(f"{work}/prepared/profiles/{tag}")
    outcomes = pd.read_parquet(f"{work}/identity/outcomes/{tag}")
    keys = pd.read_parquet(f"{work}/identity/keys/{tag}")
    refused_pairs = refused_links_of(work, events.loc[events["op_kind"] == "link", "op_a"])
    failures = {int(r.lseq): Outcome(False, r.reason) for r in outcomes.itertuples(index=False)}
    rejected: list[dict[str, Any]] = []
    refusals: list[dict[str, Any]] = []
    seen: list[str] = []
    stored: list[dict[str, Any]] = []
    for row in events.itertuples(index=False):
        seq = seq_offset + int(row.lseq)
        if _text(row.error_field) is not None:
            rejected.append({"source": row.source, "request": row.request, "endpoint": row.endpoint,
                             "record": row.record, "outcome": "rejected", "field": row.error_field,
                             "message": row.error_message, "insert_id": _text(row.raw_insert_id)})
            continue
        insert_id = _text(row.insert_id)
        changes: dict[str, Any] = {}
        if row.gen >= 0:
            insert_id = changes["$insert_id"] = generated_insert_id(gen_offset + int(row.gen))
        if _text(row.op_kind) is not None:
            op = IdentityOp(row.op_kind, (row.op_a, row.op_b))
            outcome: Outcome | None = failures.get(int(row.lseq))
            if op.kind == "link" and op.ids in refused_pairs:
                refusal = refused_pairs[op.ids]
                outcome = Outcome(False, refusal.reason)
                refusals.append({"seq": seq, "kind": refusal.kind, "ids": _dumps(list(refusal.ids)),
                                 "reason": refusal.reason, "description": refusal.description})
            if outcome is not None:
                changes.update(failure_properties(op, outcome))
            seen += op.seen
        text = row.properties
        failure = None
        if changes or "failure_reason" in text:  # parse only the events that change or carry a failure
            props = json.loads(text)
            props.update(changes)
            text = _dumps(props) if changes else text
            failure = props.get("$failure_reason") or props.get("$identity_failure_reason")
        if row.distinct_id:
            seen.append(row.distinct_id)
        if _text(row.user_id):
            seen.append(row.user_id)
        generated = row.gen >= 0
        dedup = None if generated else f"{row.name}\x00{row.distinct_id}\x00{row.time_ms}\x00{insert_id}"
        stored.append({
            "seq": seq, "source": row.source, "request": row.request, "record": row.record, "event": row.name,
            "stored_distinct_id": row.distinct_id, "time_ms": row.time_ms, "insert_id": insert_id,
            "endpoint": row.endpoint, "groups": row.groups,
            "failure_reason": failure, "properties": text, "dedup": dedup,
            "bucket": bucket_of(row.distinct_id, buckets),
        })
    frame = pd.DataFrame(stored, columns=STORED_COLUMNS)
    scatter(frame, f"{work}/shuffle/events", number)

    profiles["seq"] = profiles["lseq"] + seq_offset
    engage = profiles[profiles["kind"] == "engage"].merge(keys, on="lseq", how="left", suffixes=("", "_resolved"))
    seen += list(engage["key"])
    engage = engage.assign(profile=engage["key_resolved"])
    engage["bucket"] = [bucket_of(k, buckets) for k in engage["profile"]]
    scatter(engage.drop(columns=["key_resolved"]), f"{work}/shuffle/engage", number)
    groups = profiles[profiles["kind"] == "groups"].copy()
    groups["bucket"] = [bucket_of(f"{k}\x00{g}", buckets) for k, g in zip(groups["key"], groups["group_id"], strict=True)]
    scatter(groups, f"{work}/shuffle/groups", number)

    ids = pd.DataFrame({"distinct_id": pd.unique(pd.Series([s for s in seen if isinstance(s, str) and s],
                                                           dtype=object))})
    ids["bucket"] = [bucket_of(s, buckets) for s in ids["distinct_id"]]
    scatter(ids, f"{work}/shuffle/seen", number)
    write_frame(pd.DataFrame(rejected, columns=REJECTED_COLUMNS), f"{out}/rejected/identity-{tag}")
    if refusals:
        write_frame(pd.DataFrame(refusals, columns=REFUSAL_COLUMNS), f"{out}/refused_merges/{tag}")
    return {"stored": len(frame)}


STORED_COLUMNS = ["seq", "source", "request", "record", "event", "stored_distinct_id", "time_ms", "insert_id",
                  "endpoint", "groups", "failure_reason", "properties", "dedup", "bucket"]
REFUSAL_COLUMNS = ["seq", "kind", "ids", "reason", "description"]


def scatter(frame: Any, folder: str, number: int) -> None:
    """Send each row to its bucket: one file per (bucket, piece) that has rows."""
    for bucket, part in frame.groupby("bucket", sort=True):
        write_frame(part.drop(columns=["bucket"]), f"{folder}/b{int(bucket):05d}/p{number:06d}.parquet")


# --------------------------------------------------------------------------- stage 4
def bucket_files(work: str, kind: str, bucket: int) -> list[str]:
    import fsspec

    fs, _, (folder,) = fsspec.get_fs_token_paths(f"{work}/shuffle/{kind}/b{bucket:05d}")
    if not fs.exists(folder):
        return []
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    paths = sorted(fs.ls(folder, detail=False))
    return [p if protocol in ("file", "local") else f"{protocol}://{p}" for p in paths]


def reduce_bucket(bucket: int, work: str, out: str) -> dict[str, int]:
    """Stage 4 for one bucket: canonical ids, dedup, profile and group operations in order, identities.

    Holds one bucket's rows and its slice of the id -> canonical table, whatever the history's size.
    """
    import pandas as pd

    tag = f"part-{bucket:05d}.parquet"
    counts = {"stored": 0, "events": 0, "profiles": 0, "visible_profiles": 0, "groups": 0, "ids": 0, "users": 0}
    canonical = read_frames(bucket_files(work, "canonical", bucket))
    if canonical is None:
        canonical = pd.DataFrame({c: pd.Series(dtype=object) for c in CANONICAL_COLUMNS})
    events = read_frames(bucket_files(work, "events", bucket))
    if events is not None:
        events = events.merge(canonical[["distinct_id", "canonical"]].rename(
            columns={"distinct_id": "stored_distinct_id"}), on="stored_distinct_id", how="left")
        events["distinct_id"] = events["canonical"].where(events["canonical"].notna(), events["stored_distinct_id"])
        counts["stored"] = len(events)
        events = events.sort_values("seq", kind="stable")
        keyed = events[events["dedup"].notna()]
        winners = keyed.drop_duplicates("dedup", keep="last").set_index("dedup")
        firsts = keyed.groupby("dedup", sort=False)["seq"].agg(["min", "size"])
        winners = winners.join(firsts).reset_index()
        winners = winners.rename(columns={"min": "position", "size": "copies"})
        single = events[events["dedup"].isna()].assign(position=lambda f: f["seq"], copies=1)
        table = pd.concat([winners, single], ignore_index=True).sort_values("position", kind="stable")
        table["time"] = pd.to_datetime(table["time_ms"], unit="ms", utc=True)
        table = table[EVENT_TABLE_COLUMNS]
        counts["events"] = len(table)
        write_frame(table, f"{out}/events/{tag}")

    rejected: list[dict[str, Any]] = []
    store: dict[Any, Profile] = {}
    engage = read_frames(bucket_files(work, "engage", bucket))
    if engage is not None:
        for row in engage.sort_values("seq", kind="stable").itertuples(index=False):
            try:
                apply_operations(store, row.profile, json.loads(row.body), json.loads(row.ops), int(row.seq),
                                 _text(row.last_seen))
            except OperationError as exc:
                rejected.append({"source": row.source, "request": row.request, "endpoint": "engage",
                                 "record": row.record, "outcome": "rejected", "field": "operation",
                                 "message": str(exc), "insert_id": None})
    profiles = pd.DataFrame([{"distinct_id": key, "properties": _dumps(p.properties), "created_seq": p.created_seq,
                              "updated_seq": p.updated_seq} for key, p in store.items()],
                            columns=["distinct_id", "properties", "created_seq", "updated_seq"])
    resolved = profiles.merge(canonical[["distinct_id", "canonical"]], on="distinct_id", how="left")
    profiles["visible"] = resolved["canonical"].isna() | (resolved["canonical"] == resolved["distinct_id"])
    counts["profiles"] = len(profiles)
    counts["visible_profiles"] = int(profiles["visible"].sum())
    write_frame(profiles, f"{out}/profiles/{tag}")

    group_store: dict[Any, Profile] = {}
    groups = read_frames(bucket_files(work, "groups", bucket))
    if groups is not None:
        for row in groups.sort_values("seq", kind="stable").itertuples(index=False):
            try:
                group: Any = (row.key, row.group_id)
                apply_operations(group_store, group, json.loads(row.body), json.loads(row.ops),
                                 int(row.seq), _text(row.last_seen))
            except OperationError as exc:
                rejected.append({"source": row.source, "request": row.request, "endpoint": "groups",
                                 "record": row.record, "outcome": "rejected", "field": "operation",
                                 "message": str(exc), "insert_id": None})
    group_table = pd.DataFrame([{"group_key": k, "group_id": g, "properties": _dumps(p.properties),
                                 "created_seq": p.created_seq, "updated_seq": p.updated_seq}
                                for (k, g), p in group_store.items()],
                               columns=["group_key", "group_id", "properties", "created_seq", "updated_seq"])
    counts["groups"] = len(group_table)
    write_frame(group_table, f"{out}/groups/{tag}")

    seen = read_frames(bucket_files(work, "seen", bucket))
    ids = pd.DataFrame({"distinct_id": pd.unique(seen["distinct_id"]) if seen is not None else []}, dtype=object)
    ids = ids.merge(canonical, on="distinct_id", how="left")
    ids["canonical"] = ids["canonical"].where(ids["canonical"].notna(), ids["distinct_id"])
    ids["cluster_size"] = ids["cluster_size"].fillna(1).astype("int64")
    ids["is_canonical"] = ids["canonical"] == ids["distinct_id"]
    ids["kind"] = ["device" if s.startswith("$device:") else "id" for s in ids["distinct_id"]]
    ids["has_profile"] = [s in store for s in ids["distinct_id"]]
    counts["ids"] = len(ids)
    counts["users"] = int(ids["is_canonical"].sum())
    write_frame(ids[IDENTITY_COLUMNS], f"{out}/identities/{tag}")
    write_frame(pd.DataFrame(rejected, columns=REJECTED_COLUMNS), f"{out}/rejected/profiles-b{bucket:05d}.parquet")
    return counts


EVENT_TABLE_COLUMNS = ["seq", "position", "copies", "time", "event", "distinct_id", "stored_distinct_id", "insert_id",
                       "endpoint", "groups", "failure_reason", "properties", "source", "request", "record"]
IDENTITY_COLUMNS = ["distinct_id", "canonical", "is_canonical", "cluster_size", "kind", "has_profile"]

