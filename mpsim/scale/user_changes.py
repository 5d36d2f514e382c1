"""Users that split or join between two replays, computed per hash bucket so no process holds every id.

Why: the answer needs, for every distinct id, its canonical id on side a and on side b, then the
canonical ids of one side that meet more than one of the other. Collected in one process, that
pair table grows with the history's identities (the problem ``spill`` removes from the replay).
Here it is a shuffle like the replay's, in three parallel steps over Parquet files:

1. ``scatter_identities`` (per ``identities`` part of each side): ids to buckets by distinct id.
2. ``pair_bucket`` (per bucket): the two sides' rows for the same ids meet; each distinct
   ``(canonical a, canonical b)`` pair goes to the bucket of its canonical a (for splits) and to
   the bucket of its canonical b (for joins).
3. ``changes_bucket`` (per bucket): the canonical ids of that bucket that meet more than one
   canonical id of the other side, written as that bucket's part of ``changes/users``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..mixpanel.identity import DEVICE_PREFIX
from .stages import bucket_files, bucket_of, read_frames, scatter, write_frame

#: distinct ids per bucket (a bucket's rows are held by one task)
IDS_PER_BUCKET = 100_000
USER_CHANGE_COLUMNS = ["change", "user", "becomes", "count"]
#: how many of the other side's users ``becomes`` lists (``count`` has them all)
BECOMES_LISTED = 50


def strip_device(values: Any) -> Any:
    """An anonymous device is ``X`` in an Original project and ``$device:X`` in a Simplified one: compare ``X``."""
    return values.where(~values.str.startswith(DEVICE_PREFIX, na=False), values.str.slice(len(DEVICE_PREFIX)))


def buckets_for(*distinct_ids: int) -> int:
    """Buckets for the larger side's distinct ids, ``IDS_PER_BUCKET`` each."""
    return max(1, math.ceil(max(distinct_ids, default=0) / IDS_PER_BUCKET))


def scatter_identities(path: str, side: str, number: int, work: str, buckets: int) -> int:
    """Step 1 for one part of one side's ``identities``: each id, with its canonical id, to its bucket."""
    import pandas as pd

    frame = pd.read_parquet(path, columns=["distinct_id", "canonical"])
    frame = pd.DataFrame({"distinct_id": strip_device(frame["distinct_id"]),
                          "canonical": strip_device(frame["canonical"])})
    frame["bucket"] = [bucket_of(s, buckets) for s in frame["distinct_id"]]
    scatter(frame, f"{work}/shuffle/ids_{side}", number)
    return len(frame)


def pair_bucket(bucket: int, work: str, buckets: int) -> int:
    """Step 2 for one bucket: the ids both sides know, as distinct (canonical a, canonical b) pairs, sent onward."""
    a = read_frames(bucket_files(work, "ids_a", bucket))
    b = read_frames(bucket_files(work, "ids_b", bucket))
    if a is None or b is None:
        return 0
    pairs = a.merge(b, on="distinct_id", how="inner", suffixes=("_a", "_b"))[["canonical_a", "canonical_b"]]
    pairs = pairs.drop_duplicates()
    for side in ("a", "b"):
        scatter(pairs.assign(bucket=[bucket_of(s, buckets) for s in pairs[f"canonical_{side}"]]),
                f"{work}/shuffle/pairs_by_{side}", bucket)
    return len(pairs)


def changes_bucket(bucket: int, work: str, changes: str) -> dict[str, int]:
    """Step 3 for one bucket: its side-a users that split (meet several side-b users) and side-b users that join."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    counts = {"split": 0, "join": 0}
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
                counts[change] += 1
    write_frame(pd.DataFrame(rows, columns=USER_CHANGE_COLUMNS), f"{changes}/users/part-{bucket:05d}.parquet",
                schema=user_change_schema())
    return counts


def user_change_schema() -> Any:
    """The table's types, so that empty parts and full ones read back as one table (built on use: pyarrow is optional)."""
    import pyarrow as pa

    return pa.schema([("change", pa.string()), ("user", pa.string()), ("becomes", pa.string()),
                      ("count", pa.int64())])


def sort_user_changes(frame: Any) -> Any:
    """Splits first, then joins; most users first; by user id. (Parts are written per bucket, unordered.)"""
    return frame.sort_values(["change", "count", "user"], ascending=[False, False, True],
                             kind="stable").reset_index(drop=True)


def user_changes(a_out: str, b_out: str, changes: str, run: Any) -> dict[str, int]:
    """Write ``changes/users`` (one part per bucket) from two replays' ``identities``; count splits and joins.

    ``run(function, argument tuples)`` computes one task per tuple (on the replay's Dask scheduler or client).
    """
    import fsspec

    from .replay import table_files

    parts = {side: table_files(out, "identities") for side, out in (("a", a_out), ("b", b_out))}
    buckets = buckets_for(*(_distinct_ids(out) for out in (a_out, b_out)))
    work = f"{changes}/_work"
    try:
        run(scatter_identities, [(path, side, number, work, buckets) for side, paths in parts.items()
                                 for number, path in enumerate(paths)])
        run(pair_bucket, [(bucket, work, buckets) for bucket in range(buckets)])
        counted = run(changes_bucket, [(bucket, work, changes) for bucket in range(buckets)])
    finally:
        fs, _, (folder,) = fsspec.get_fs_token_paths(work)
        if fs.exists(folder):
            fs.rm(folder, recursive=True)
    return {change: sum(c[change] for c in counted) for change in ("split", "join")}


def _distinct_ids(out: str) -> int:
    import fsspec

    with fsspec.open(f"{out}/summary.json") as handle:
        return int(json.load(handle).get("distinct_ids") or 0)
