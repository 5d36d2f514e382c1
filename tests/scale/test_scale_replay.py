"""Differential tests: the Dask replay equals ``mpsim.replay`` into a ``Simulator``, table for table."""

from __future__ import annotations

import gzip
import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mpsim
from mpsim.errors import MpsimError

pytest.importorskip("dask.dataframe", reason="mpsim.scale needs the scale extra: pip install 'mpsim[scale]'")

from mpsim.scale.generate import generate  # noqa: E402
from mpsim.scale.replay import load_table, replay  # noqa: E402
from mpsim.scale.sources import read_history  # noqa: E402
from mpsim.scale.tables import COLUMNS, tables_from_replay  # noqa: E402

NOW = "2024-01-05T00:00:00Z"


def destination(mode: str) -> dict:
    config = {"token": "T", "groupKeySettings": [{"groupKey": "company"}]}
    if mode == "simplified":
        config["identityMergeApi"] = "simplified"
    return config


def project(mode: str, **extra) -> dict:
    return {"token": "T", "identity_merge": mode, "group_keys": ["company"], **extra}


def expected(source: str, dest: dict, proj: dict) -> dict:
    pairs = list(read_history(source, ordinals=True))
    result = mpsim.replay([e for _, e in pairs], dest, sim=mpsim.Simulator(**proj, now=NOW), now=NOW,
                          keep=None)
    return tables_from_replay(result, [o for o, _ in pairs])


def _plain(frame):
    frame = frame.reset_index(drop=True).astype(object)
    return frame.where(frame.notna(), None)


def assert_same(out: str, want: dict) -> None:
    import pandas as pd

    for name, frame in want.items():
        got = load_table(out, name)
        assert list(got.columns) == COLUMNS[name] or set(COLUMNS[name]) <= set(got.columns), name
        pd.testing.assert_frame_equal(_plain(got[COLUMNS[name]]), _plain(frame[COLUMNS[name]]), check_dtype=False,
                                      obj=name)


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    folder = tmp_path_factory.mktemp("history")
    generate(str(folder), 6000, seed=11, days=2)
    return str(folder)


@pytest.mark.parametrize("mode", ["original", "simplified"])
def test_dask_replay_equals_the_simulator_with_pieces_cut_inside_users_and_sessions(history, tmp_path, mode):
    out = str(tmp_path / "out")
    # a two-entry cache: nearly every identity lookup goes to the spill file and back
    result = replay(history, destination(mode), project=project(mode), out=out, now=NOW, scheduler="threads",
                    lines_per_piece=41, buckets=4, identity_cache=2)
    want = expected(history, destination(mode), project(mode))
    assert_same(out, want)
    assert result.summary["events"] == len(want["events"]) and result.summary["users"] == len({
        *want["identities"]["canonical"]})
    assert result.summary["duplicates"] > 0 and result.summary["rejected"] > 0
    # the cut really falls inside users and inside sessions (runs of one user's events on one device)
    events = want["events"]
    sources = events["source"].astype("int64")
    piece = (sources // 2**32) * 1000 + (sources % 2**32) // 41
    per_user = events.assign(piece=piece).groupby("distinct_id")["piece"].nunique()
    assert (per_user > 1).sum() > 20
    sessions = events.assign(piece=piece, file=sources // 2**32).groupby(["file", "stored_distinct_id"])["piece"]
    assert (sessions.nunique() > 1).sum() > 20


def test_processes_scheduler_whole_files_and_refused_merges(tmp_path):
    source = str(tmp_path / "h")
    generate(source, 20000, seed=4, days=2)
    out = str(tmp_path / "out")
    result = replay(source, destination("simplified"), project=project("simplified"), out=out, now=NOW,
                    scheduler="processes", workers=2)
    want = expected(source, destination("simplified"), project("simplified"))
    assert_same(out, want)
    assert result.summary["refused_merges"] == len(want["refused_merges"]) > 0


def test_project_in_another_residency_drops_everything_like_the_simulator(history, tmp_path):
    out = str(tmp_path / "out")
    proj = project("original", residency="eu")
    result = replay(history, destination("original"), project=proj, out=out, now=NOW, scheduler="sync")
    assert_same(out, expected(history, destination("original"), proj))
    assert result.summary["events"] == 0 and result.summary["dropped"] > 5000


def test_parquet_history_and_fsspec_urls_give_the_same_tables(history, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    events = [json.dumps(e) for e in read_history(history)]
    source = tmp_path / "parquet"
    source.mkdir()
    half = len(events) // 2
    pq.write_table(pa.table({"event_json": events[:half]}), source / "part-0.parquet")
    pq.write_table(pa.table({"event_json": events[half:]}), source / "part-1.parquet")
    a = replay(history, destination("original"), out=f"file://{tmp_path}/a", now=NOW, scheduler="sync")
    b = replay(str(source), destination("original"), out="memory://scale-test/b", now=NOW, scheduler="sync",
               lines_per_piece=999, identity_cache=None)  # and the identity state in memory: same result
    assert {k: v for k, v in a.summary.items() if k not in ("seconds", "pieces", "buckets")} == \
        {k: v for k, v in b.summary.items() if k not in ("seconds", "pieces", "buckets")}
    ea, eb = load_table(a.out, "events"), load_table(b.out, "events")
    assert list(ea["properties"]) == list(eb["properties"])
    assert list(ea["distinct_id"]) == list(eb["distinct_id"])


def _event(kind: str, n: int, **fields) -> dict:
    second = 1704067200 + n * 7
    stamp = f"2024-01-01T{second // 3600 % 24:02d}:{second // 60 % 60:02d}:{second % 60:02d}.000Z"
    return {"type": kind, "messageId": f"m{n}", "timestamp": stamp, "originalTimestamp": stamp, **fields}


ANON = [str(uuid.UUID(int=i, version=4)) for i in (1, 2, 3)] + ["anon-not-a-uuid"]
USERS = ["u1", "u2", "u3", 7]
step = st.one_of(
    st.tuples(st.just("identify"), st.sampled_from(USERS), st.sampled_from(ANON), st.sampled_from(["free", "pro"])),
    st.tuples(st.just("track"), st.sampled_from([*USERS, None]), st.sampled_from(ANON),
              st.sampled_from(["Buy", "View", ""])),
    st.tuples(st.just("alias"), st.sampled_from(USERS), st.sampled_from(USERS), st.just(None)),
    st.tuples(st.just("group"), st.sampled_from(USERS), st.sampled_from(ANON), st.sampled_from(["c1", "c2"])),
    st.tuples(st.just("resend"), st.just(None), st.just(None), st.just(None)),
)


def _history(steps: list) -> list[dict]:
    events: list[dict] = []
    for n, (kind, user, anon, extra) in enumerate(steps):
        if kind == "resend":
            if events:
                events.append(json.loads(json.dumps(events[-1])))
            continue
        if kind == "identify":
            events.append(_event("identify", n, userId=user, anonymousId=anon, traits={"plan": extra}))
        elif kind == "track":
            fields = {"anonymousId": anon, "event": extra, "properties": {"company": "c1"}}
            if user is not None:
                fields["userId"] = user
            events.append(_event("track", n, **fields))
        elif kind == "alias":
            events.append(_event("alias", n, userId=user, previousId=anon))
        else:
            events.append(_event("group", n, userId=user, anonymousId=anon, groupId=extra,
                                 traits={"company": extra, "size": n}))
    return events


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=30), cut=st.integers(1, 9),
       mode=st.sampled_from(["original", "simplified"]))
def test_any_small_history_replays_exactly_like_the_simulator(tmp_path_factory, steps, cut, mode):
    folder = tmp_path_factory.mktemp("prop")
    events = _history(steps)
    if not events:
        return
    day = folder / "rudder-logs" / "src" / "01-01-2024"
    day.mkdir(parents=True)
    middle = len(events) // 2
    for name, chunk in (("1704067200.src.json.gz", events[:middle]), ("1704070800.src.json.gz", events[middle:])):
        (day / name).write_bytes(gzip.compress("".join(json.dumps(e) + "\n" for e in chunk).encode()))
    out = str(folder / "out")
    replay(str(folder / "rudder-logs"), destination(mode), project=project(mode), out=out, now=NOW,
           scheduler="sync", lines_per_piece=cut, buckets=3, identity_cache=1)
    assert_same(out, expected(str(folder / "rudder-logs"), destination(mode), project(mode)))


def test_legacy_projects_are_refused_with_the_reason(history, tmp_path):
    with pytest.raises(MpsimError, match="Legacy aliases rewrite ids as events arrive"):
        replay(history, {"token": "T"}, project={"identity_merge": "legacy"}, out=str(tmp_path / "o"), now=NOW)


def test_a_missing_extra_names_the_extra_to_install(monkeypatch):
    import importlib

    from mpsim.scale import _deps

    real = importlib.import_module

    def fake(name, *args):
        if name == "dask":
            raise ImportError("No module named 'dask'", name="dask")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", fake)
    with pytest.raises(_deps.MissingExtra, match=r'pip install "mpsim\[scale\]"'):
        _deps.require()


@pytest.mark.parametrize("cache", [None, 3])
def test_the_identity_state_is_gone_before_the_stages_that_fork_workers(tmp_path, monkeypatch, cache):
    # the replay kept its identity state referenced until it returned, so every worker forked for the
    # join and reduce stages carried an in-memory state's pages (10M: largest process 817 MB, not ~660)
    import gc
    import importlib
    import weakref

    from mpsim.scale import stages
    from mpsim.scale.spill import IdentitySpill, IdentityState

    made: list[weakref.ref] = []
    alive_at_join: list[bool] = []
    real_memory, real_spill, real_finish = IdentityState.in_memory, IdentitySpill, stages.finish_piece

    def in_memory(*args, **kwargs):
        state = real_memory(*args, **kwargs)
        made.append(weakref.ref(state.engine))
        return state

    def spill(*args, **kwargs):
        state = real_spill(*args, **kwargs)
        made.append(weakref.ref(state.engine))
        return state

    def finish(*args, **kwargs):
        gc.collect()
        alive_at_join.append(any(ref() is not None for ref in made))
        return real_finish(*args, **kwargs)

    monkeypatch.setattr(IdentityState, "in_memory", in_memory)
    monkeypatch.setattr(importlib.import_module("mpsim.scale.replay"), "IdentitySpill", spill)
    monkeypatch.setattr(stages, "finish_piece", finish)
    source = str(tmp_path / "h")
    generate(source, 400, seed=2, days=1)
    replay(source, destination("original"), out=str(tmp_path / "o"), now=NOW, scheduler="sync", identity_cache=cache)
    assert len(made) == 1 and alive_at_join and not any(alive_at_join)


def test_a_bad_identity_cache_or_spill_folder_is_named(history, tmp_path):
    with pytest.raises(MpsimError, match="identity cache must be a whole number of entries, at least 1, not 0"):
        replay(history, {"token": "T"}, out=str(tmp_path / "o"), now=NOW, scheduler="sync", identity_cache=0)
    with pytest.raises(MpsimError, match="spill folder .*missing.* does not exist"):
        replay(history, {"token": "T"}, out=str(tmp_path / "o"), now=NOW, scheduler="sync",
               spill_dir=str(tmp_path / "missing"))
    assert not (tmp_path / "o").exists()  # refused before any stage ran


def test_missing_history_is_a_one_line_error(tmp_path):
    with pytest.raises(MpsimError, match="no history files found"):
        replay(str(tmp_path / "nothing"), {"token": "T"}, out=str(tmp_path / "o"), now=NOW, scheduler="sync")


def test_a_distributed_client_with_two_workers_gives_the_same_tables(tmp_path):
    distributed = pytest.importorskip("distributed", reason="the cluster path needs dask.distributed")
    source = str(tmp_path / "h")
    generate(source, 3000, seed=5, days=1)
    dest, proj = destination("original"), project("original")
    local = replay(source, dest, project=proj, out=str(tmp_path / "local"), now=NOW, scheduler="sync",
                   lines_per_piece=500, buckets=3)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        remote = replay(source, dest, project=proj, out=str(tmp_path / "cluster"), now=NOW, client=client,
                        lines_per_piece=500, buckets=3)
    assert_same(remote.out, expected(source, dest, proj))
    for name in COLUMNS:
        assert load_table(remote.out, name).equals(load_table(local.out, name)), name
    assert {k: v for k, v in remote.summary.items() if k != "seconds"} == \
        {k: v for k, v in local.summary.items() if k != "seconds"}
