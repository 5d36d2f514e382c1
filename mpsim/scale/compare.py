"""``mpsim.scale.compare``: the same history under two projects or two destination configs.

What changes: users that split or join, events attributed to another user, profile properties
that change, records newly rejected (or no longer). Each as a Parquet table next to a summary
that leads with the answer. The joins run on Dask over the two replays' tables.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import MpsimError
from ..mixpanel.identity import DEVICE_PREFIX
from ..wording import plural
from . import _deps
from .replay import ScaleReplay, _run, counted, replay, table_files
from .stages import write_frame
from .user_changes import sort_user_changes, user_changes

CHANGE_TABLES = ("users", "events", "profiles", "rejected")


@dataclass
class ScaleComparison:
    """Two replays of one history (``a``, ``b``) and what differs, written under ``out``."""

    out: str
    a: ScaleReplay
    b: ScaleReplay
    summary: dict[str, Any] = field(default_factory=dict)

    def frame(self, name: str) -> Any:
        """One change table as pandas: ``users``, ``events``, ``profiles`` or ``rejected``."""
        if name not in CHANGE_TABLES:
            raise MpsimError(f"unknown change table {name!r}; the tables are {', '.join(CHANGE_TABLES)}")
        import pandas as pd

        for path in (f"{self.out}/changes/{name}.parquet", f"{self.out}/changes/{name}"):
            try:
                frame = pd.read_parquet(path)
            except (FileNotFoundError, OSError):
                continue
            return sort_user_changes(frame) if name == "users" else frame
        return pd.DataFrame()

    def text(self) -> str:
        return comparison_text(self.summary)

    def plot(self, ax: Any = None, title: str | None = None) -> Any:
        """The answer as one bar chart (matplotlib axes): see ``plot_comparison``."""
        return plot_comparison(self.summary, ax=ax, title=title)


def compare(source: str, destination: Mapping[str, Any] | None = None, *, out: str,
            destination_b: Mapping[str, Any] | None = None, project: Mapping[str, Any] | None = None,
            project_b: Mapping[str, Any] | None = None, now: Any = None, labels: tuple[str, str] = ("a", "b"),
            **options: Any) -> ScaleComparison:
    """Replay ``source`` under (destination, project) and (destination_b, project_b); say what changes.

    Leave out ``destination_b`` or ``project_b`` to keep that side the same. ``options`` go to
    ``mpsim.scale.replay`` (``client``, ``scheduler``, ``workers``, ``progress``, …).
    """
    _deps.require()
    from .._dates import clock_ms

    if destination_b is None and project_b is None:
        raise MpsimError("compare needs a second destination config or a second project (destination_b= or "
                         "project_b=)")
    now_ms = int(clock_ms(now))  # both sides receive the history at the same moment
    out = str(out).rstrip("/")
    a = replay(source, destination, out=f"{out}/{labels[0]}", project=project, now=now_ms, **options)
    b = replay(source, destination if destination_b is None else destination_b, out=f"{out}/{labels[1]}",
               project=project if project_b is None else project_b, now=now_ms, **options)
    return compare_replays(a, b, out=out, labels=labels,
                           **{k: options[k] for k in ("client", "scheduler", "workers") if k in options})


def _dask_frame(out: str, name: str, columns: list[str], ids: tuple[str, ...] = ()) -> Any:
    """A replay table on Dask, with the id columns ``ids`` compared without Simplified's ``$device:`` prefix.

    An anonymous device is ``X`` in an Original project and ``$device:X`` in a Simplified one: the
    same person, so comparisons look at ``X`` on both sides.
    """
    import dask.dataframe as dd
    import pandas as pd

    try:
        frame = dd.read_parquet(f"{out}/{name}", columns=columns)
    except (FileNotFoundError, OSError, ValueError):
        return dd.from_pandas(pd.DataFrame(columns=columns), npartitions=1)
    for column in ids:
        frame[column] = frame[column].str.replace(DEVICE_PATTERN, "", regex=True)
    return frame


DEVICE_PATTERN = "^" + re.escape(DEVICE_PREFIX)


def compare_replays(a: ScaleReplay, b: ScaleReplay, *, out: str, labels: tuple[str, str] = ("a", "b"),
                    client: Any = None, scheduler: str | None = None, workers: int | None = None) -> ScaleComparison:
    """What differs between two scale replays of the same history (tables under ``out/changes``).

    ``client``, ``scheduler`` and ``workers`` run the per-bucket tasks as in ``replay``.
    """
    import dask
    import dask.dataframe as dd
    import fsspec
    import pandas as pd
    import pyarrow as pa

    changes = f"{out}/changes"
    fs, _, (path,) = fsspec.get_fs_token_paths(changes)
    if fs.exists(path):
        fs.rm(path, recursive=True)
    fs.makedirs(path, exist_ok=True)

    # users: ids grouped differently (a shuffle per hash bucket: see user_changes)
    def run(function: Any, arguments: list[tuple[Any, ...]]) -> list[Any]:
        task = dask.delayed(function, pure=False)
        return _run([task(*args) for args in arguments], client, scheduler, workers, lambda n: None)

    users = user_changes(a.out, b.out, changes, run)

    # events: matched by the RudderStack event they came from and their name
    key = ["source", "event"]
    cols = [*key, "distinct_id", "time"]
    ea = _dask_frame(a.out, "events", cols, ("distinct_id",)).drop_duplicates(subset=key)
    eb = _dask_frame(b.out, "events", cols, ("distinct_id",)).drop_duplicates(subset=key)
    merged = ea.merge(eb, on=key, how="outer", suffixes=("_a", "_b"), indicator=True)
    moved = merged[(merged["_merge"] == "both") & (merged["distinct_id_a"] != merged["distinct_id_b"])]
    only_a = merged[merged["_merge"] == "left_only"]
    only_b = merged[merged["_merge"] == "right_only"]
    counts = {"moved": int(moved.shape[0].compute()), "only_a": int(only_a.shape[0].compute()),
              "only_b": int(only_b.shape[0].compute()), "matched": int((merged["_merge"] == "both").sum().compute())}

    def label(frame: Any, change: str) -> Any:
        return frame.assign(change=change)[["change", "source", "event", "distinct_id_a", "distinct_id_b"]]

    event_changes = dd.concat([label(moved, "attributed to another user"), label(only_a, f"only in {labels[0]}"),
                               label(only_b, f"only in {labels[1]}")])
    event_changes.to_parquet(f"{changes}/events", write_index=False,
                             schema={"change": pa.string(), "source": pa.int64(), "event": pa.string(),
                                     "distinct_id_a": pa.string(), "distinct_id_b": pa.string()})

    # profiles: property by property
    prof_a = _dask_frame(a.out, "profiles", ["distinct_id", "properties", "visible"], ("distinct_id",))
    prof_b = _dask_frame(b.out, "profiles", ["distinct_id", "properties", "visible"], ("distinct_id",))
    pm = prof_a[prof_a["visible"]].merge(prof_b[prof_b["visible"]], on="distinct_id", how="outer", suffixes=("_a", "_b"))
    # one partition of the join in memory at a time (get_partition(n) numbered partitions before the join
    # was planned, so a multi-bucket replay asked for partitions the planned join did not have)
    meta = pd.DataFrame({c: pd.Series(dtype="string") for c in PROFILE_CHANGE_COLUMNS})
    pm.map_partitions(_profile_diffs, meta=meta).to_parquet(
        f"{changes}/profiles", write_index=False, schema={c: pa.string() for c in PROFILE_CHANGE_COLUMNS})
    # counted a file at a time: a profile is one row of the join, so all its changes sit in one file
    changed_profiles = property_changes = 0
    by_property: Counter[str] = Counter()
    for path in table_files(changes, "profiles"):
        part = pd.read_parquet(path, columns=["distinct_id", "property"])
        changed_profiles += int(part["distinct_id"].nunique())
        property_changes += len(part)
        by_property.update(part["property"].dropna())

    # rejections
    rkey = ["source", "outcome"]  # a record refused on both sides, for another reason, is not newly rejected
    rcols = [*rkey, "field", "message"]
    ra = _dask_frame(a.out, "rejected", rcols).drop_duplicates(subset=rkey)
    rb = _dask_frame(b.out, "rejected", rcols).drop_duplicates(subset=rkey)
    rm = ra.merge(rb, on=rkey, how="outer", indicator=True, suffixes=("_a", "_b"))
    newly = rm[rm["_merge"] == "right_only"].assign(change=lambda f: "newly " + f["outcome"],
                                                    field=lambda f: f["field_b"], message=lambda f: f["message_b"])
    gone = rm[rm["_merge"] == "left_only"].assign(change=lambda f: "no longer " + f["outcome"],
                                                  field=lambda f: f["field_a"], message=lambda f: f["message_a"])
    write = dask.delayed(_write_rejected_part, pure=False)
    parts = dd.concat([newly, gone])[REJECTED_CHANGE_COLUMNS].to_delayed()
    _run([write(part, f"{changes}/rejected/part-{n:05d}.parquet") for n, part in enumerate(parts)], client,
         scheduler, workers, lambda n: None)
    by_change: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for path in table_files(changes, "rejected"):
        part = pd.read_parquet(path, columns=["change", "message"])
        by_change.update(part["change"])
        reasons.update(part.loc[part["change"].str.startswith("newly"), "message"].fillna(""))

    summary = {
        "labels": list(labels),
        "a": {k: a.summary.get(k) for k in ("project", "events", "users", "profiles", "rejected", "dropped")},
        "b": {k: b.summary.get(k) for k in ("project", "events", "users", "profiles", "rejected", "dropped")},
        "users_split": users["split"],
        "users_joined": users["join"],
        "events_matched": counts["matched"],
        "events_moved": counts["moved"],
        "events_only_a": counts["only_a"],
        "events_only_b": counts["only_b"],
        "profiles_changed": changed_profiles,
        "profile_property_changes": property_changes,
        "top_changed_properties": {str(k): int(v) for k, v in _top(by_property, 10)},
        "newly_rejected": sum(by_change[f"newly {o}"] for o in ("rejected", "transform error", "request failed")),
        "no_longer_rejected": sum(by_change[f"no longer {o}"] for o in ("rejected", "transform error",
                                                                       "request failed")),
        "newly_dropped": by_change["newly dropped"],
        "top_new_rejections": {str(k): int(v) for k, v in _top(reasons, 5)},
    }
    with fsspec.open(f"{out}/comparison.json", "w") as handle:
        json.dump(summary, handle, indent=2, default=str)
    return ScaleComparison(out, a, b, summary)


REJECTED_CHANGE_COLUMNS = ["change", "source", "outcome", "field", "message"]


def _write_rejected_part(frame: Any, path: str) -> None:
    """One partition of ``changes/rejected``, typed so that every part (empty or not) reads back as one table."""
    import pyarrow as pa

    schema = pa.schema([(c, pa.int64() if c == "source" else pa.string()) for c in REJECTED_CHANGE_COLUMNS])
    frame = frame.astype({"source": "int64"})
    write_frame(frame.astype({c: object for c in REJECTED_CHANGE_COLUMNS if c != "source"}).where(
        frame.notna(), None), path, schema=schema)


def _top(counts: Counter[str], n: int) -> list[tuple[str, int]]:
    """The ``n`` largest counts, largest first, ties by name (a stable answer across runs and bucket counts)."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def _profile_diffs(frame: Any) -> Any:
    import pandas as pd

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
    return pd.DataFrame(rows, columns=PROFILE_CHANGE_COLUMNS).astype("string")


PROFILE_CHANGE_COLUMNS = ["distinct_id", "property", "change", "a", "b"]


def comparison_text(s: dict[str, Any]) -> str:
    """The comparison, answer first."""
    a, b = s["labels"]
    matched = s["events_matched"] or 1
    moved, profiles, newly = s["events_moved"], s["profiles_changed"], s["newly_rejected"]
    lines = [
        f"From {a} to {b}: {counted(s['users_split'], 'user')} split and {s['users_joined']:,} "
        f"{'joins' if s['users_joined'] == 1 else 'join'}; "
        f"{counted(moved, 'event')} ({100 * moved / matched:.1f}%) {plural('is', moved)} attributed to another user; "
        f"{counted(profiles, 'profile')} {'changes' if profiles == 1 else 'change'}; "
        f"{counted(newly, 'record')} {plural('is', newly)} newly rejected "
        f"({s['no_longer_rejected']:,} no longer), {s.get('newly_dropped', 0):,} newly dropped.",
        f"  {a}: {_side(s['a'])}",
        f"  {b}: {_side(s['b'])}",
        f"  events only in {a}: {s['events_only_a']:,}; only in {b}: {s['events_only_b']:,}",
    ]
    if s["top_changed_properties"]:
        lines.append("  profile properties that change most: " + ", ".join(
            f"{k} ({v:,})" for k, v in s["top_changed_properties"].items()))
    if s["top_new_rejections"]:
        lines.append("  new rejections: " + "; ".join(f"{k} ({v:,})" for k, v in s["top_new_rejections"].items()))
    return "\n".join(lines)


def _side(side: dict[str, Any]) -> str:
    project = side.get("project") or {}
    return (f"{project.get('identity_merge')} ID merge"
            + (f", residency {project['residency']}" if project.get("residency") else "")
            + f": {counted(side.get('events') or 0, 'event')}, {counted(side.get('users') or 0, 'user')}, "
              f"{counted(side.get('profiles') or 0, 'profile')}, {side.get('rejected') or 0:,} rejected, "
              f"{side.get('dropped') or 0:,} dropped")


#: the bars of ``plot_comparison``: summary key, label, colour
PLOT_BARS = (("users_split", "users split", "#7856ff"), ("users_joined", "users joined", "#7856ff"),
             ("events_moved", "events attributed to another user", "#ff7557"),
             ("profiles_changed", "profiles that change", "#1cb1a0"),
             ("newly_rejected", "records newly rejected", "#e0a100"))


def plot_comparison(summary: dict[str, Any], ax: Any = None, title: str | None = None) -> Any:
    """What changes from side a to side b, one bar per answer, each with its count (and share of its whole)."""
    import matplotlib.pyplot as plt

    if ax is None:
        ax = plt.figure(figsize=(9, 3.4)).gca()
    a, b = summary["labels"]
    wholes = {"users_split": summary["a"].get("users"), "users_joined": summary["b"].get("users"),
              "events_moved": summary["events_matched"], "profiles_changed": summary["a"].get("profiles"),
              "newly_rejected": None}
    keys = [k for k, _, _ in PLOT_BARS]
    values = [int(summary[k] or 0) for k in keys]
    ax.barh([label for _, label, _ in PLOT_BARS], values, color=[c for _, _, c in PLOT_BARS])
    ax.invert_yaxis()
    for y, (key, value) in enumerate(zip(keys, values, strict=True)):
        whole = wholes[key] or 0
        percent = 100 * value / whole if whole else 0
        share = f"{percent:.1f}%" if percent >= 0.1 or not value else "<0.1%"
        ax.text(max(value, 1), y, f" {value:,}" + (f" ({share} of {whole:,})" if whole else ""), va="center",
                fontsize=9)
    # counts of users and of events differ by orders of magnitude: a log axis shows both (0 at the origin)
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlim(0, max(values + [1]) * 400)
    ax.set_xlabel("count (log scale)")
    ax.set_title(title or f"From {a} to {b}", fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    ax.figure.tight_layout()
    return ax
