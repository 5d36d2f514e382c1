"""What differs between two replays, table by table, computed per hash bucket so no process holds a whole table.

Why: a comparison joins the two replays' tables (ids, events, profiles, rejections) on a key. Done
in one process, or in a shuffle that the local Dask scheduler keeps in the driver's memory, that
grows with the history. Here each join is a shuffle like the replay's own, in parallel steps
over Parquet files:

1. ``scatter_side`` (per file of each side's table): rows to buckets by a hash of the join key.
2. one task per bucket joins the two sides' rows of that bucket and writes that bucket's part of
   the change table (``changes/<name>/part-NNNNN.parquet``), returning counts for the summary.

Users that split or join need one more step: a bucket first turns its ids into distinct
``(canonical a, canonical b)`` pairs (``pair_bucket``), sent on to the bucket of each side's
canonical id, where ``user_changes_bucket`` finds the users meeting more than one of the other side's.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..mixpanel.identity import DEVICE_PREFIX
from .stages import bucket_files, bucket_of, read_frames, scatter, write_frame

#: rows per bucket of a join (a bucket's rows of both sides are held by one task)
ROWS_PER_BUCKET = 100_000
#: how many of the other side's users ``becomes`` lists (``count`` has them all)
BECOMES_LISTED = 50


@dataclass(frozen=True)
class Join:
    """One table joined across the two replays: which columns, on which key, which hold ids to compare unprefixed."""

    table: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    ids: tuple[str, ...] = ()


IDENTITIES = Join("identities", ("distinct_id", "canonical"), ("distinct_id",), ("distinct_id", "canonical"))
EVENTS = Join("events", ("source", "event", "distinct_id", "time"), ("source", "event"), ("distinct_id",))
PROFILES = Join("profiles", ("distinct_id", "properties", "visible"), ("distinct_id",), ("distinct_id",))
REJECTED = Join("rejected", ("source", "outcome", "field", "message"), ("source", "outcome"))

USER_CHANGE_COLUMNS = ["change", "user", "becomes", "count"]
EVENT_CHANGE_COLUMNS = ["change", "source", "event", "distinct_id_a", "distinct_id_b"]
PROFILE_CHANGE_COLUMNS = ["distinct_id", "property", "change", "a", "b"]
REJECTED_CHANGE_COLUMNS = ["change", "source", "outcome", "field", "message"]


def strip_device(values: Any) -> Any:
    """An anonymous device is ``X`` in an Original project and ``$device:X`` in a Simplified one: compare ``X``."""
    return values.where(~values.str.startswith(DEVICE_PREFIX, na=False), values.str.slice(len(DEVICE_PREFIX)))


def buckets_for(rows: int) -> int:
    """Buckets for a join whose larger side has ``rows`` rows, ``ROWS_PER_BUCKET`` each."""
    return max(1, math.ceil(rows / ROWS_PER_BUCKET))


def _key_bucket(frame: Any, key: tuple[str, ...], buckets: int) -> list[int]:
    if len(key) == 1:
        return [bucket_of(str(v), buckets) for v in frame[key[0]]]
    return [bucket_of("\x00".join(map(str, values)), buckets) for values in zip(*(frame[k] for k in key), strict=True)]


def scatter_side(path: str, side: str, number: int, join: Join, work: str, buckets: int) -> int:
    """Step 1 for one file of one side's table: its rows (ids unprefixed) to the buckets of their join key."""
    import pandas as pd

    frame = pd.read_parquet(path, columns=list(join.columns))
    for column in join.ids:
        frame[column] = strip_device(frame[column])
    frame["bucket"] = _key_bucket(frame, join.key, buckets)
    scatter(frame, f"{work}/shuffle/{join.table}_{side}", number)
    return len(frame)


def _sides(work: str, join: Join, bucket: int) -> tuple[Any, Any]:
    """Both sides' rows of one bucket (an empty frame with the table's columns for a side that has none)."""
    import pandas as pd

    frames = []
    for side in ("a", "b"):
        frame = read_frames(bucket_files(work, f"{join.table}_{side}", bucket))
        frames.append(frame if frame is not None else pd.DataFrame({c: pd.Series(dtype=object) for c in join.columns}))
    return frames[0], frames[1]


def _schema(columns: list[str], ints: tuple[str, ...] = ()) -> Any:
    import pyarrow as pa

    return pa.schema([(c, pa.int64() if c in ints else pa.string()) for c in columns])


def _write_part(rows: Any, columns: list[str], changes: str, name: str, bucket: int, ints: tuple[str, ...] = ()) -> None:
    """One bucket's part of a change table, typed, so empty parts and full ones read back as one table."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=columns).astype(dict.fromkeys(ints, "int64"))
    frame = frame.astype({c: object for c in columns if c not in ints})
    frame = frame.where(frame.notna(), None)
    write_frame(frame, f"{changes}/{name}/part-{bucket:05d}.parquet", schema=_schema(columns, ints))


# --------------------------------------------------------------------------- users
def pair_bucket(bucket: int, work: str, buckets: int) -> int:
    """The ids of one bucket both sides know, as distinct (canonical a, canonical b) pairs, sent onward by each."""
    a, b = _sides(work, IDENTITIES, bucket)
    pairs = a.merge(b, on="distinct_id", how="inner", suffixes=("_a", "_b"))[["canonical_a", "canonical_b"]]
    pairs = pairs.drop_duplicates()
    for side in ("a", "b"):
        scatter(pairs.assign(bucket=[bucket_of(s, buckets) for s in pairs[f"canonical_{side}"]]),
                f"{work}/shuffle/pairs_by_{side}", bucket)
    return len(pairs)


def user_changes_bucket(bucket: int, work: str, changes: str) -> Counter[str]:
    """One bucket's side-a users that split (meet several side-b users) and side-b users that join."""
    rows: list[dict[str, Any]] = []
    for change, side, other in (("split", "a", "b"), ("join", "b", "a")):
        pairs = read_frames(bucket_files(work, f"pairs_by_{side}", bucket))
        if pairs is None:
            continue
        pairs = pairs.drop_duplicates()  # a pair arrives once from each bucket holding one of its ids
        for user, group in pairs.groupby(f"canonical_{side}", sort=True)[f"canonical_{other}"]:
            if len(group) > 1:
                into = sorted(group)
                rows.append({"change": change, "user": user, "becomes": json.dumps(into[:BECOMES_LISTED]),
                             "count": len(into)})
    _write_part(rows, USER_CHANGE_COLUMNS, changes, "users", bucket, ints=("count",))
    return Counter(row["change"] for row in rows)


def sort_user_changes(frame: Any) -> Any:
    """Splits first, then joins; most users first; by user id. (Parts are written per bucket, unordered.)"""
    return frame.sort_values(["change", "count", "user"], ascending=[False, False, True],
                             kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- events
def event_changes_bucket(bucket: int, work: str, changes: str, labels: tuple[str, str]) -> Counter[str]:
    """One bucket's events, matched by the RudderStack event they came from and their name: moved, or on one side."""
    a, b = (side.drop_duplicates(subset=list(EVENTS.key)) for side in _sides(work, EVENTS, bucket))
    merged = a.merge(b, on=list(EVENTS.key), how="outer", suffixes=("_a", "_b"), indicator=True)
    both = merged["_merge"] == "both"
    moved = merged[both & (merged["distinct_id_a"] != merged["distinct_id_b"])]
    only_a, only_b = merged[merged["_merge"] == "left_only"], merged[merged["_merge"] == "right_only"]
    parts = [frame.assign(change=change)[EVENT_CHANGE_COLUMNS] for frame, change in (
        (moved, "attributed to another user"), (only_a, f"only in {labels[0]}"), (only_b, f"only in {labels[1]}"))]
    import pandas as pd

    _write_part(pd.concat(parts, ignore_index=True), EVENT_CHANGE_COLUMNS, changes, "events", bucket,
                ints=("source",))
    return Counter({"matched": int(both.sum()), "moved": len(moved), "only_a": len(only_a), "only_b": len(only_b)})


# --------------------------------------------------------------------------- profiles
def profile_changes_bucket(bucket: int, work: str, changes: str) -> Counter[str]:
    """One bucket's visible profiles on both sides, property by property; counts per property (``property:NAME``)."""
    a, b = (side[side["visible"].astype(bool)] for side in _sides(work, PROFILES, bucket))
    merged = a.merge(b, on="distinct_id", how="outer", suffixes=("_a", "_b"))
    rows = profile_diffs(merged)
    _write_part(rows, PROFILE_CHANGE_COLUMNS, changes, "profiles", bucket)
    counts = Counter({"profiles_changed": len({r["distinct_id"] for r in rows}), "property_changes": len(rows)})
    counts.update(f"property:{r['property']}" for r in rows if r["property"] is not None)
    return counts


def profile_diffs(frame: Any) -> list[dict[str, Any]]:
    """Rows of what differs, property by property, in an outer join of two sides' profiles."""
    rows = []
    for distinct_id, a, b in zip(frame["distinct_id"], frame["properties_a"], frame["properties_b"], strict=True):
        pa = json.loads(a) if isinstance(a, str) else None
        pb = json.loads(b) if isinstance(b, str) else None
        if pa is None or pb is None:
            rows.append({"distinct_id": distinct_id, "property": None,
                         "change": "profile only in a" if pb is None else "profile only in b",
                         "a": None, "b": None})
            continue
        for name in sorted(set(pa) | set(pb)):
            if name in pa and name in pb and json.dumps(pa[name], sort_keys=True) == json.dumps(pb[name], sort_keys=True):
                continue
            change = "added" if name not in pa else "removed" if name not in pb else "changed"
            rows.append({"distinct_id": distinct_id, "property": name, "change": change,
                         "a": json.dumps(pa.get(name)) if name in pa else None,
                         "b": json.dumps(pb.get(name)) if name in pb else None})
    return rows


# --------------------------------------------------------------------------- rejections
def rejected_changes_bucket(bucket: int, work: str, changes: str) -> Counter[str]:
    """One bucket's records newly rejected or dropped (or no longer); counts per change and new reason (``reason:``)."""
    a, b = (side.drop_duplicates(subset=list(REJECTED.key)) for side in _sides(work, REJECTED, bucket))
    # a record refused on both sides, for another reason, is not newly rejected
    merged = a.merge(b, on=list(REJECTED.key), how="outer", indicator=True, suffixes=("_a", "_b"))
    newly = merged[merged["_merge"] == "right_only"]
    gone = merged[merged["_merge"] == "left_only"]
    rows = [{"change": f"newly {o}", "source": s, "outcome": o, "field": f, "message": m}
            for s, o, f, m in zip(newly["source"], newly["outcome"], newly["field_b"], newly["message_b"], strict=True)]
    rows += [{"change": f"no longer {o}", "source": s, "outcome": o, "field": f, "message": m}
             for s, o, f, m in zip(gone["source"], gone["outcome"], gone["field_a"], gone["message_a"], strict=True)]
    _write_part(rows, REJECTED_CHANGE_COLUMNS, changes, "rejected", bucket, ints=("source",))
    counts = Counter(row["change"] for row in rows)
    counts.update(f"reason:{row['message'] or ''}" for row in rows if row["change"].startswith("newly"))
    return counts


# --------------------------------------------------------------------------- all four
def table_changes(a_out: str, b_out: str, changes: str, labels: tuple[str, str],
                  run: Callable[[Callable[..., Any], list[tuple[Any, ...]]], list[Any]]) -> dict[str, Counter[str]]:
    """Write ``changes/{users,events,profiles,rejected}`` from two replays; the counts the summary needs, per table.

    ``run(function, argument tuples)`` computes one task per tuple (on the replay's Dask scheduler or client).
    """
    import fsspec

    from .replay import table_files

    work = f"{changes}/_work"
    joins = (IDENTITIES, EVENTS, PROFILES, REJECTED)
    files = {(join.table, side): table_files(out, join.table) for join in joins
             for side, out in (("a", a_out), ("b", b_out))}
    buckets = {join.table: buckets_for(max(sum(_rows(p) for p in files[join.table, side]) for side in ("a", "b")))
               for join in joins}
    try:
        run(scatter_side, [(path, side, number, join, work, buckets[join.table]) for join in joins
                           for side in ("a", "b") for number, path in enumerate(files[join.table, side])])
        run(pair_bucket, [(bucket, work, buckets["identities"]) for bucket in range(buckets["identities"])])
        tasks: list[tuple[str, Callable[..., Any], tuple[Any, ...], int]] = [
            ("users", user_changes_bucket, (work, changes), buckets["identities"]),
            ("events", event_changes_bucket, (work, changes, labels), buckets["events"]),
            ("profiles", profile_changes_bucket, (work, changes), buckets["profiles"]),
            ("rejected", rejected_changes_bucket, (work, changes), buckets["rejected"])]
        counts: dict[str, Counter[str]] = {}
        for name, function, args, n in tasks:
            counts[name] = sum(run(function, [(bucket, *args) for bucket in range(n)]), Counter())
    finally:
        fs, _, (folder,) = fsspec.get_fs_token_paths(work)
        if fs.exists(folder):
            fs.rm(folder, recursive=True)
    return counts


def _rows(path: str) -> int:
    """Rows in one Parquet file, from its footer (the file is not read)."""
    import fsspec
    import pyarrow.parquet as pq

    with fsspec.open(path, "rb") as handle:
        return int(pq.ParquetFile(handle).metadata.num_rows)
