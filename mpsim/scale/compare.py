"""``mpsim.scale.compare``: the same history under two projects or two destination configs.

What changes: users that split or join, events attributed to another user, profile properties
that change, records newly rejected (or no longer). Each as a Parquet table next to a summary
that leads with the answer. The joins run on Dask over the two replays' tables.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import MpsimError
from ..wording import plural
from . import _deps
from .changes import sort_user_changes, table_changes
from .replay import ScaleReplay, _run, counted, replay

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


def compare_replays(a: ScaleReplay, b: ScaleReplay, *, out: str, labels: tuple[str, str] = ("a", "b"),
                    client: Any = None, scheduler: str | None = None, workers: int | None = None) -> ScaleComparison:
    """What differs between two scale replays of the same history (tables under ``out/changes``).

    Each table is joined per hash bucket in parallel tasks (``changes``), so no process holds a
    whole table; ``client``, ``scheduler`` and ``workers`` run them as in ``replay``.
    """
    import dask
    import fsspec

    changes = f"{out}/changes"
    fs, _, (path,) = fsspec.get_fs_token_paths(changes)
    if fs.exists(path):
        fs.rm(path, recursive=True)
    fs.makedirs(path, exist_ok=True)

    def run(function: Any, arguments: list[tuple[Any, ...]]) -> list[Any]:
        task = dask.delayed(function, pure=False)
        return _run([task(*args) for args in arguments], client, scheduler, workers, lambda n: None)

    counts = table_changes(a.out, b.out, changes, labels, run)
    users, events, profiles, rejected = (counts[name] for name in ("users", "events", "profiles", "rejected"))
    summary = {
        "labels": list(labels),
        "a": {k: a.summary.get(k) for k in ("project", "events", "users", "profiles", "rejected", "dropped")},
        "b": {k: b.summary.get(k) for k in ("project", "events", "users", "profiles", "rejected", "dropped")},
        "users_split": users["split"],
        "users_joined": users["join"],
        "events_matched": events["matched"],
        "events_moved": events["moved"],
        "events_only_a": events["only_a"],
        "events_only_b": events["only_b"],
        "profiles_changed": profiles["profiles_changed"],
        "profile_property_changes": profiles["property_changes"],
        "top_changed_properties": _top(profiles, "property:", 10),
        "newly_rejected": sum(rejected[f"newly {o}"] for o in ("rejected", "transform error", "request failed")),
        "no_longer_rejected": sum(rejected[f"no longer {o}"] for o in ("rejected", "transform error",
                                                                      "request failed")),
        "newly_dropped": rejected["newly dropped"],
        "top_new_rejections": _top(rejected, "reason:", 5),
    }
    with fsspec.open(f"{out}/comparison.json", "w") as handle:
        json.dump(summary, handle, indent=2, default=str)
    return ScaleComparison(out, a, b, summary)


def _top(counts: Counter[str], prefix: str, n: int) -> dict[str, int]:
    """The ``n`` largest counts under ``prefix``, largest first, ties by name (stable across bucket counts)."""
    items = [(k[len(prefix):], v) for k, v in counts.items() if k.startswith(prefix)]
    return {k: int(v) for k, v in sorted(items, key=lambda kv: (-kv[1], kv[0]))[:n]}


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
