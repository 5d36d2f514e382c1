"""A replay with worker processes ends exactly where a serial replay ends: state, log, journal and every step."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mpsim
from mpsim import transform_pool
from mpsim.replay import PARALLEL_AFTER

NOW = "2024-03-02T00:00:00Z"
ROOT = Path(__file__).resolve().parents[1]
ANONS = ["4f7c2a9e-1b3d-4e5f-8a6b-7c8d9e0f1a2b", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "anon-x"]
USERS = ["ada", "grace", "", 42]
DESTINATIONS = {
    "original": {"token": "tok", "identityMergeApi": "original", "groupKeySettings": [{"groupKey": "company"}]},
    "simplified": {"token": "tok", "identityMergeApi": "simplified", "useNewMapping": True,
                   "propIncrements": [{"property": "items"}]},
}

values = st.one_of(st.none(), st.booleans(), st.integers(-2**60, 2**60), st.sampled_from([9.0, 1e-7, 1e21, 0.1, -0.0]),
                   st.text(max_size=6), st.lists(st.integers(0, 3), max_size=3))
timestamps = st.one_of(st.sampled_from(["2024-03-01T09:00:00Z", "2024-03-01T23:59:59.999Z", "1960-01-01T00:00:00Z",
                                        "2031-01-01T00:00:00Z", "not a date", ""]), st.none())


@st.composite
def rudder_event(draw: Any) -> Any:
    """A RudderStack event, often fine, sometimes one the transformer refuses or Mixpanel rejects."""
    kind = draw(st.sampled_from(["track", "page", "screen", "identify", "group", "alias", "bogus", None]))
    event: dict[str, Any] = {"type": kind, "messageId": draw(st.sampled_from(["m-1", "m-2", "m-3", "bad id!", ""]))}
    if draw(st.booleans()):
        event["anonymousId"] = draw(st.sampled_from(ANONS))
    if draw(st.booleans()):
        event["userId"] = draw(st.sampled_from(USERS))
    stamp = draw(timestamps)
    if stamp is not None:
        event["timestamp"] = stamp
    event["event"] = draw(st.sampled_from(["Order Completed", "Viewed", "", None]))
    event["name"] = draw(st.sampled_from(["Home", "Pricing", None]))
    props = draw(st.dictionaries(st.sampled_from(["revenue", "items", "company", "plan", "$insert_id", "token", "x"]),
                                 values, max_size=4))
    event["properties"] = props
    event["traits"] = draw(st.dictionaries(st.sampled_from(["email", "name", "plan"]), values, max_size=2))
    if kind == "group":
        event["groupId"] = draw(st.sampled_from(["acme", "", 7]))
    if kind == "alias":
        event["previousId"] = draw(st.sampled_from(ANONS + ["", "ada"]))
    event["context"] = {"ip": "203.0.113.7", "traits": draw(st.dictionaries(st.sampled_from(["email", "age"]),
                                                                             values, max_size=2))}
    return draw(st.sampled_from([event, event, event, event, "not an event", 17]))


def fingerprint(result: mpsim.replay.Replay) -> dict[str, Any]:
    """Everything a replay leaves behind, as comparable data."""
    sim = result.sim
    steps = [(s.index, s.ok, s.label, s.request_count, s.message, [r.to_dict() for r in s.requests],
              [(r.status, r.body) for r in s.replies], None if s.error is None else (type(s.error), s.error.message))
             for s in result.steps]
    return {"state": sim.snapshot("end").to_dict() | {"taken_ms": None},
            "log": [(x.seq, x.request, x.status, x.reply, [dataclasses.astuple(r) for r in x.records]) for x in sim.log],
            "identity": [s.to_dict() for s in sim.journal.identity],
            "profiles": [json.dumps(s.to_dict(), default=repr) for s in sim.journal.profiles],
            "steps": steps}


@pytest.fixture
def pool_used(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> list[int] | None:
    """Counts the worker pools started (so a test knows its parallel replay really was parallel).

    Where this process cannot fork a worker (threads left running by other tests on Python 3.12+), the
    test runs in a fresh interpreter instead (and the fixture gives None: nothing left to do here), so it
    is never skipped where forking exists at all.
    """
    if not transform_pool.can_fork():
        if os.environ.get("MPSIM_PARALLEL_TEST_CHILD") or "fork" not in multiprocessing.get_all_start_methods():
            pytest.skip("no worker process can be forked on this platform: parallel replay stays in-process")
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                               f"{__file__}::{request.node.name}"], capture_output=True, text=True,
                              env={**os.environ, "MPSIM_PARALLEL_TEST_CHILD": "1"}, cwd=ROOT)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        assert " passed" in done.stdout and "skipped" not in done.stdout, done.stdout[-3000:]
        return None
    started: list[int] = []
    original = transform_pool.TransformPool.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        started.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(transform_pool.TransformPool, "__init__", counting)
    monkeypatch.setattr(transform_pool, "CHUNK", 3)  # several chunks in flight even for a few events
    return started


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(rudder_event(), min_size=1, max_size=14), st.sampled_from(sorted(DESTINATIONS)),
       st.sampled_from([0, 2, None]), st.booleans())
def test_parallel_replay_equals_serial_replay(pool_used, events, mode, keep, keep_events):
    if pool_used is None:  # ran (and passed) in a fresh interpreter
        return
    destination = DESTINATIONS[mode]
    project = {"token": "tok", "identity_merge": mode, "group_keys": ["company"]}
    serial = mpsim.replay(events, destination, project=project, now=NOW, keep=keep, keep_events=keep_events,
                          workers=0)
    before = len(pool_used)
    parallel = mpsim.replay(events, destination, project=project, now=NOW, keep=keep, keep_events=keep_events,
                            workers=1)
    assert fingerprint(parallel) == fingerprint(serial)
    if keep is not None and len(events) > keep:
        assert len(pool_used) == before + 1


def test_events_a_worker_cannot_take_are_replayed_in_process(pool_used):
    """An event that cannot be pickled (here: holding a function) is run in-process: same outcome as serial."""
    if pool_used is None:  # ran (and passed) in a fresh interpreter
        return
    good = {"type": "track", "event": "Viewed", "userId": "ada", "messageId": "m-1",
            "timestamp": "2024-03-01T09:00:00Z"}
    odd = {**good, "messageId": "m-2", "properties": {"callback": lambda: None}}
    events = [good, odd, {**good, "messageId": "m-3"}]
    outcomes = []
    for workers in (0, 1):
        try:
            result = mpsim.replay(events, DESTINATIONS["original"], now=NOW, keep=0, workers=workers)
            outcomes.append(fingerprint(result))
        except Exception as exc:  # noqa: BLE001 - whatever serial does, parallel must do too
            outcomes.append(repr(exc))
    assert outcomes[0] == outcomes[1]
    assert len(pool_used) == 1


def test_a_frozen_simulator_clock_is_enough_to_go_parallel(pool_used):
    if pool_used is None:  # ran (and passed) in a fresh interpreter
        return
    sim = mpsim.Simulator(token="tok", now=NOW)
    events = [{"type": "track", "event": "Viewed", "userId": f"u{n}", "messageId": f"m-{n}"} for n in range(7)]
    result = mpsim.replay(events, DESTINATIONS["original"], sim=sim, keep=0, workers=1)
    twin = mpsim.replay(events, DESTINATIONS["original"], sim=mpsim.Simulator(token="tok", now=NOW), keep=0,
                        workers=0)
    assert fingerprint(result) == fingerprint(twin) and len(pool_used) == 1


def test_a_real_clock_replays_in_process(pool_used):
    """The transform's clock must be fixed for workers to agree with this process: a live clock stays serial."""
    if pool_used is None:  # ran (and passed) in a fresh interpreter
        return
    events = [{"type": "track", "event": "Viewed", "userId": "u", "messageId": "m-1"}] * 3
    mpsim.replay(events, DESTINATIONS["original"], sim=mpsim.Simulator(token="tok"), keep=0, workers=1)
    assert pool_used == []


def test_short_replays_stay_in_process_by_default(pool_used):
    if pool_used is None:  # ran (and passed) in a fresh interpreter
        return
    events = [{"type": "track", "event": "Viewed", "userId": "u", "messageId": f"m-{n}"} for n in range(5)]
    mpsim.replay(events, DESTINATIONS["original"], now=NOW, keep=0)
    assert pool_used == [] and PARALLEL_AFTER >= 1000


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_a_bad_workers_value_is_refused_by_name(bad):
    with pytest.raises(ValueError, match="workers must be"):
        mpsim.replay([], {"token": "tok"}, now=NOW, workers=bad)


def _die(events: Any) -> Any:
    os._exit(3)


def test_a_worker_that_dies_leaves_the_rest_to_this_process(pool_used, monkeypatch):
    """A worker that is gone (killed, crashed) costs speed, not results: its chunks are replayed in-process."""
    if pool_used is None:  # ran (and passed) in a fresh interpreter
        return
    events = [{"type": "track", "event": "Viewed", "userId": f"u{n}", "messageId": f"m-{n}",
               "timestamp": "2024-03-01T09:00:00Z"} for n in range(12)]
    serial = mpsim.replay(events, DESTINATIONS["original"], now=NOW, keep=0, workers=0)
    monkeypatch.setattr(transform_pool, "transform_chunk", _die)  # the forked worker inherits it
    parallel = mpsim.replay(events, DESTINATIONS["original"], now=NOW, keep=0, workers=1)
    assert fingerprint(parallel) == fingerprint(serial) and len(pool_used) == 1


# ---------------------------------------------------------------- reading ahead in the worker
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(rudder_event(), min_size=1, max_size=14), st.sampled_from(sorted(DESTINATIONS)))
def test_a_worker_that_reads_every_request_ahead_ends_where_a_serial_replay_ends(pool_used, monkeypatch, events, mode):
    """Every request read in the worker (credentials, body, each record's checks, generated ``$insert_id``s
    as stand-ins numbered when committed): state, log, journal and steps are a serial replay's."""
    if pool_used is None:  # ran (and passed) in a fresh interpreter
        return
    monkeypatch.setattr(transform_pool, "READ_SHARE", 1.0)
    destination = DESTINATIONS[mode]
    project = {"token": "tok", "identity_merge": mode, "group_keys": ["company"]}
    serial = mpsim.replay(events, destination, project=project, now=NOW, keep=0, workers=0)
    parallel = mpsim.replay(events, destination, project=project, now=NOW, keep=0, workers=1)
    assert fingerprint(parallel) == fingerprint(serial)


def test_requests_read_ahead_are_not_read_again_here(pool_used, monkeypatch):
    """The replaying process commits what the worker read: it reads none of those requests itself."""
    if pool_used is None:  # ran (and passed) in a fresh interpreter
        return
    from mpsim.mixpanel import api

    monkeypatch.setattr(transform_pool, "READ_SHARE", 1.0)
    reads: list[str] = []
    original = api.read

    def counting(sim: Any, request: Any, received: int) -> Any:
        reads.append(request.endpoint)  # counted in this process only: the forked worker's list is its own
        return original(sim, request, received)

    monkeypatch.setattr(api, "read", counting)
    events = [{"type": "identify", "userId": f"u{n}", "anonymousId": ANONS[0], "messageId": f"m-{n}",
               "timestamp": "2024-03-01T09:00:00Z", "context": {"traits": {"plan": "pro"}}} for n in range(6)]
    result = mpsim.replay(events, DESTINATIONS["original"], now=NOW, keep=0, workers=1)
    assert result.sim.summary()["events"] > 0 and len(result.sim.log) >= 12
    assert reads == []
    twin = mpsim.replay(events, DESTINATIONS["original"], now=NOW, keep=0, workers=0)
    assert fingerprint(result) == fingerprint(twin)  # generated $insert_ids ($identify has none) numbered alike


def test_a_reading_made_under_other_settings_is_read_again():
    """A request read ahead under settings that have changed since (here: another residency) is not trusted."""
    from mpsim.mixpanel import api
    from mpsim.mixpanel.simulator import to_wire

    request = mpsim.transform({"type": "track", "event": "Viewed", "userId": "ada", "messageId": "m-1",
                               "timestamp": "2024-03-01T09:00:00Z"}, {"token": "tok"}, now=NOW)[0]
    other = mpsim.Simulator(token="tok", residency="eu", now=NOW)  # api.mixpanel.com: not ingested there
    wire = to_wire(request)
    reading = api.read(other, wire, other.clock.ms())
    assert isinstance(reading, api.Reading)
    reading.key = other.reading_key()
    wire.reading = reading
    sim = mpsim.Simulator(token="tok", now=NOW)
    assert sim.handle(wire).ok
    assert sim.summary()["events"] == 1  # read again here, in the US project: the event is stored
    second = mpsim.transform({"type": "track", "event": "Viewed", "userId": "ada", "messageId": "m-2",
                              "timestamp": "2024-03-01T09:00:00Z"}, {"token": "tok"}, now=NOW)[0]
    stale = api.read(other, to_wire(second), other.clock.ms())
    assert isinstance(stale, api.Reading)
    stale.key, stale.received = sim.reading_key(), sim.clock.ms() - 1  # this project's settings, another clock
    again = to_wire(second)
    again.reading = stale
    sim.handle(again)
    assert sim.summary()["events"] == 2


def test_record_errors_survive_the_trip_from_a_worker():
    import pickle

    from mpsim.mixpanel.events import RecordError

    error = pickle.loads(pickle.dumps(RecordError("properties.$anon_id", "'properties.$anon_id' is invalid")))
    assert (type(error), error.field, error.message) == (RecordError, "properties.$anon_id",
                                                          "'properties.$anon_id' is invalid")
