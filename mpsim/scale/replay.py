"""``mpsim.scale.replay``: a whole event history through the transformer into Mixpanel's state, on Dask.

The result is a folder of Parquet tables (``events``, ``identities``, ``profiles``, ``groups``,
``refused_merges``, ``rejected``) and ``summary.json``: the same state ``mpsim.replay`` into a
``Simulator`` would hold, computed with the simulator's own rules (see ``stages`` for how the
order-dependent parts stay exact).
"""

from __future__ import annotations

import json
import math
import multiprocessing
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .._dates import clock_ms
from ..errors import MpsimError
from ..wording import plural
from . import _deps
from .spill import DEFAULT_CACHE, IdentitySpill, IdentityState, check_spill

TABLES = ("events", "identities", "profiles", "groups", "refused_merges", "rejected")
#: stored records per shuffle bucket (a bucket is reduced in one task's memory)
RECORDS_PER_BUCKET = 100_000


@dataclass
class ScaleReplay:
    """Where a scale replay wrote its tables, and its summary (counts, project, timings)."""

    out: str
    summary: dict[str, Any] = field(default_factory=dict)

    def table(self, name: str) -> Any:
        """One output table as a Dask DataFrame (``.compute()`` for pandas)."""
        import dask.dataframe as dd

        if name not in TABLES:
            raise MpsimError(f"unknown table {name!r}; the tables are {', '.join(TABLES)}")
        return dd.read_parquet(f"{self.out}/{name}")

    def frame(self, name: str) -> Any:
        """One output table as a pandas DataFrame (small histories, tests, notebooks)."""
        return load_table(self.out, name)

    def text(self) -> str:
        return summary_text(self.summary)

    def __repr__(self) -> str:
        return f"ScaleReplay({self.out!r}: {self.summary.get('events_read', 0)} events read)"


def table_files(out: str, name: str) -> list[str]:
    """The Parquet files of one output table, in name order, as paths or URLs pandas can read."""
    import fsspec

    fs, _, (folder,) = fsspec.get_fs_token_paths(f"{out}/{name}")
    paths = sorted(p for p in fs.find(folder) if p.endswith(".parquet")) if fs.exists(folder) else []
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return [p if protocol in ("file", "local") else f"{protocol}://{p}" for p in paths]


def load_table(out: str, name: str) -> Any:
    """An output table as pandas, in a stable order."""
    import pandas as pd

    frames = [pd.read_parquet(p) for p in table_files(out, name)]
    frames = [f for f in frames if len(f)]
    if not frames:
        from .tables import COLUMNS

        return pd.DataFrame(columns=COLUMNS[name])
    frame = pd.concat(frames, ignore_index=True)
    from .tables import ORDER

    return frame.sort_values(ORDER[name], kind="stable").reset_index(drop=True)


class _Progress:
    """A tqdm bar over Dask tasks (local schedulers) and the identity pass."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def stage(self, label: str, total: int) -> Callable[[int], None]:
        if not self.enabled:
            return lambda n: None
        from tqdm.auto import tqdm

        if self.bar is not None:
            self.bar.close()
        self.bar = tqdm(total=total, desc=label, unit="task", leave=True)
        return self.bar.update

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _run(tasks: list[Any], client: Any, scheduler: str | None, workers: int | None, update: Callable[[int], None]) -> list[Any]:
    """Compute delayed tasks on the client (a cluster) or the local scheduler, counting finished tasks."""
    import dask

    if not tasks:
        return []
    if client is not None:
        futures = client.compute(tasks)
        results = client.gather(futures)
        update(len(tasks))
        return list(results)
    from dask.callbacks import Callback

    keys = {t.key for t in tasks}

    class Counter(Callback):  # type: ignore[misc]
        def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
            if key in keys:
                update(1)

    kwargs: dict[str, Any] = {"scheduler": scheduler or "processes"}
    if workers and kwargs["scheduler"] != "sync":
        kwargs["num_workers"] = workers
    # fork, where there is one: scripts without a __main__ guard and notebooks work as they are
    context = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with Counter(), dask.config.set({"multiprocessing.context": context}):
        return list(dask.compute(*tasks, **kwargs))


def prepare_history(source: str, destination: Mapping[str, Any] | None, settings: dict[str, Any], now_ms: int,
                    work: str, out: str, *, client: Any = None, scheduler: str | None = None,
                    workers: int | None = None, lines_per_piece: int | None = None, bytes_per_piece: int = 2 << 20,
                    bar: _Progress | None = None) -> tuple[list[Any], list[Any]]:
    """Stage 1 on Dask: cut the history into pieces and prepare each (``stages.prepare_piece``).

    Returns the pieces and their ``PieceCounts``. Separate from ``replay`` so that a benchmark can
    prepare a history once and time the identity pass alone on its real identity stream.
    """
    import dask

    from . import stages
    from .sources import count_lines, file_sizes, list_files, plan_pieces

    bar = bar or _Progress(False)
    files = list_files(source)
    counts = None
    if lines_per_piece is not None:
        counts = _run([dask.delayed(count_lines)(f) for f in files], client, scheduler, workers,
                      bar.stage("count", len(files)))
    pieces = plan_pieces(files, counts, lines_per_piece, sizes=None if counts else file_sizes(files),
                         bytes_per_piece=bytes_per_piece)
    prepare = dask.delayed(stages.prepare_piece, pure=False)
    prepared = _run([prepare(p, destination, settings, now_ms, work, out) for p in pieces], client, scheduler,
                    workers, bar.stage("transform", len(pieces)))
    return pieces, prepared


def offsets_of(prepared: list[Any]) -> tuple[dict[int, int], dict[int, int], int]:
    """Each piece's first global ``seq`` and generated ``$insert_id`` number, and the total of ``seq``s."""
    seq_offsets, gen_offsets = {}, {}
    seq_total = gen_total = 0
    for c in prepared:
        seq_offsets[c.piece], gen_offsets[c.piece] = seq_total, gen_total
        seq_total += c.seqs
        gen_total += c.generated
    return seq_offsets, gen_offsets, seq_total


def replay(source: str, destination: Mapping[str, Any] | None = None, *, out: str,
           project: Any = None, now: Any = None, client: Any = None,
           scheduler: str | None = None, workers: int | None = None, lines_per_piece: int | None = None,
           buckets: int | None = None, bytes_per_piece: int = 2 << 20, progress: bool = False,
           keep_work: bool = False, identity_cache: int | None = DEFAULT_CACHE,
           spill_dir: str | None = None) -> ScaleReplay:
    """Replay the history at ``source`` (folder, glob or file; local or any fsspec URL) into ``out``.

    ``destination`` is RudderStack's Mixpanel destination config, ``project`` the Mixpanel project
    (``Simulator`` settings, as for ``mpsim.replay``; assumed from the destination when left out, and
    the summary says so),
    ``now`` the moment Mixpanel receives the history (every request; default: the real time).
    Dask runs the parallel stages: on ``client`` (a ``distributed.Client``) when given, else the
    local ``scheduler`` (``"processes"`` by default; ``"threads"`` or ``"sync"`` for small runs).
    ``lines_per_piece`` cuts files into pieces of that many events (default: consecutive whole files
    up to ``bytes_per_piece`` per piece); ``buckets`` sets the number of shuffle buckets.
    The identity pass keeps its state in a temporary SQLite file under ``spill_dir`` (default: the
    system's temp folder) with ``identity_cache`` entries per container in memory, so the driver
    does not grow with the history's identities; ``identity_cache=None`` keeps it all in memory
    (faster, for histories whose identities fit).
    """
    _deps.require()
    import dask
    import fsspec

    from . import stages

    started = time.perf_counter()
    timings: dict[str, float] = {}
    target = _deps.project_of(project, destination)
    settings = dict(target.settings)
    mode = settings.get("identity_merge") or "original"
    if mode not in ("original", "simplified"):
        raise MpsimError(f"mpsim.scale replays projects with 'original' or 'simplified' ID merge, not {mode!r}: "
                         "Legacy aliases rewrite ids as events arrive; use mpsim.replay for those")
    from ..mixpanel import Simulator

    Simulator(**settings)  # bad settings fail here, with the simulator's own message
    if identity_cache is not None:
        check_spill(identity_cache, spill_dir)
    now_ms = int(clock_ms(now))
    out = str(out).rstrip("/")
    work = f"{out}/_work"
    fs, _, (out_path,) = fsspec.get_fs_token_paths(out)
    for name in (*TABLES, "_work"):
        if fs.exists(f"{out_path}/{name}"):
            fs.rm(f"{out_path}/{name}", recursive=True)
    bar = _Progress(progress)
    try:
        t = time.perf_counter()
        pieces, prepared = prepare_history(source, destination, settings, now_ms, work, out, client=client,
                                           scheduler=scheduler, workers=workers, lines_per_piece=lines_per_piece,
                                           bytes_per_piece=bytes_per_piece, bar=bar)
        timings["transform"] = time.perf_counter() - t
        seq_offsets, gen_offsets, seq_total = offsets_of(prepared)

        n_buckets = buckets or max(1, math.ceil(seq_total / RECORDS_PER_BUCKET))
        t = time.perf_counter()
        ident = _identity_stage(mode, settings.get("anon_id_policy", "uuid4+mixpanel"), identity_cache, spill_dir,
                                work, out, [p.number for p in pieces], seq_offsets, n_buckets,
                                bar.stage("identity", len(pieces)))
        timings["identity"] = time.perf_counter() - t

        t = time.perf_counter()
        finish = dask.delayed(stages.finish_piece, pure=False)
        _run([finish(p.number, work, out, seq_offsets[p.number], gen_offsets[p.number], n_buckets)
              for p in pieces], client, scheduler, workers, bar.stage("join", len(pieces)))
        timings["join"] = time.perf_counter() - t

        t = time.perf_counter()
        reduce = dask.delayed(stages.reduce_bucket, pure=False)
        reduced = _run([reduce(b, work, out) for b in range(n_buckets)], client, scheduler, workers,
                       bar.stage("reduce", n_buckets))
        timings["reduce"] = time.perf_counter() - t
    finally:
        bar.close()
    if not keep_work and fs.exists(f"{out_path}/_work"):
        fs.rm(f"{out_path}/_work", recursive=True)

    summary = _summary(out, settings, destination, now_ms, prepared, ident, reduced, n_buckets, len(pieces))
    summary["project_note"] = target.note
    summary["seconds"] = {k: round(v, 2) for k, v in {**timings, "total": time.perf_counter() - started}.items()}
    with fsspec.open(f"{out}/summary.json", "w") as handle:
        json.dump(summary, handle, indent=2, default=str)
    return ScaleReplay(out, summary)


def _identity_stage(mode: str, policy: str, cache: int | None, spill_dir: str | None, work: str, out: str,
                    pieces: list[int], offsets: dict[int, int], buckets: int, progress: Callable[[int], None]) -> Any:
    """Stage 2 with its state made here and gone on return.

    The state must not outlive the pass: the later stages fork their workers from this process,
    and every forked worker would carry an in-memory identity state's pages.
    """
    from . import stages

    state = IdentityState.in_memory(mode, policy) if cache is None else \
        IdentitySpill(mode, policy, cache=cache, folder=spill_dir)
    with state:
        return stages.identity_pass(state, work, out, pieces, offsets, buckets, progress)


def _summary(out: str, settings: dict[str, Any], destination: Any, now_ms: int, prepared: list[Any], ident: Any,
             reduced: list[dict[str, int]], buckets: int, pieces: int) -> dict[str, Any]:

    totals = {k: sum(asdict(c)[k] for c in prepared) for k in ("events", "transform_errors", "requests", "records")}
    stored = sum(r["stored"] for r in reduced)
    events = sum(r["events"] for r in reduced)
    rejected = load_counts(out, "rejected", "outcome")
    refusals = load_counts(out, "refused_merges", "reason")
    users = sum(r["users"] for r in reduced)  # each id's bucket counts it once; every canonical id is an id seen
    project = {k: v for k, v in settings.items() if k in ("token", "identity_merge", "residency", "group_keys")}
    return {
        "project": project,
        "now": now_ms,
        "events_read": totals["events"],
        "transform_errors": totals["transform_errors"],
        "requests": totals["requests"],
        "records": totals["records"],
        "stored_events": stored,
        "events": events,
        "duplicates": stored - events,
        "users": users,
        "distinct_ids": sum(r["ids"] for r in reduced),
        "profiles": sum(r["visible_profiles"] for r in reduced),
        "hidden_profiles": sum(r["profiles"] - r["visible_profiles"] for r in reduced),
        "groups": sum(r["groups"] for r in reduced),
        "refused_merges": sum(refusals.values()),
        "refused_by_reason": refusals,
        "rejected": rejected.get("rejected", 0) + rejected.get("request failed", 0),
        "dropped": rejected.get("dropped", 0),
        "rejected_by_outcome": rejected,
        "identity_stream": ident.identity_events + ident.profile_records,
        "pieces": pieces,
        "buckets": buckets,
    }


def load_counts(out: str, table: str, column: str) -> dict[str, int]:
    """Rows per value of one column of an output table, reading only that column."""
    import dask.dataframe as dd
    import fsspec

    fs, _, (folder,) = fsspec.get_fs_token_paths(f"{out}/{table}")
    if not fs.exists(folder) or not any(p.endswith(".parquet") for p in fs.find(folder)):
        return {}
    counts = dd.read_parquet(f"{out}/{table}", columns=[column])[column].value_counts().compute()
    return {str(k): int(v) for k, v in counts.items()}


def counted(n: int, noun: str) -> str:
    """``1 user``, ``1,234 users``: ``mpsim.wording``'s plural with thousands separators (histories are large)."""
    return f"{n:,} {plural(noun, n)}"


def summary_text(summary: dict[str, Any]) -> str:
    """A replay summary that leads with the answer."""
    s = summary
    lines = [
        f"{counted(s['events'], 'event')} in Mixpanel from {counted(s['events_read'], 'RudderStack event')}, "
        f"{counted(s['users'], 'user')}, {counted(s['profiles'], 'profile')}, {counted(s['groups'], 'group')}; "
        f"{counted(s['rejected'], 'record')} rejected, {counted(s['transform_errors'], 'event')} refused by "
        "RudderStack.",
        f"  project: {s['project'].get('identity_merge')} ID merge"
        + (f", residency {s['project'].get('residency')}" if s['project'].get('residency') else "")
        + (f" ({s['project_note']})" if s.get("project_note") else ""),
        f"  {counted(s['records'], 'record')} in {counted(s['requests'], 'request')}; {s['stored_events']:,} stored, "
        f"{s['duplicates']:,} deduplicated; {s['dropped']:,} dropped without error.",
        f"  {counted(s['refused_merges'], 'refused merge')}"
        + (": " + ", ".join(f"{k} {v:,}" for k, v in sorted(s['refused_by_reason'].items())) if s['refused_by_reason'] else ""),
    ]
    if s.get("seconds"):
        total = s["seconds"].get("total") or 0
        rate = f", {s['events_read'] / total:,.0f} events/s" if total else ""
        lines.append(f"  {total:.1f} s{rate} ({counted(s['pieces'], 'piece')}, {counted(s['buckets'], 'bucket')})")
    return "\n".join(lines)
