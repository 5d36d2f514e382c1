"""Every public function, given any argument, answers or raises an mpsim error or a TypeError/ValueError
whose message names the argument at fault (issue 10 item 4) — never AttributeError, KeyError, ... from
deep inside."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mpsim

NOW = "2024-03-02T00:00:00Z"

junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8) | st.binary(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
event_like = st.fixed_dictionaries({"type": st.sampled_from(["track", "identify", "alias", "group", "page"]) | junk},
                                   optional={"event": junk, "userId": junk, "anonymousId": junk, "properties": junk,
                                             "traits": junk, "context": junk, "timestamp": junk})
config_like = st.fixed_dictionaries({"token": st.text(max_size=5) | junk},
                                    optional={"propIncrements": junk, "setOnceProperties": junk,
                                              "identityMergeApi": junk, "dataResidency": junk, "groupKeySettings": junk,
                                              "useNewMapping": junk, "strictMode": junk, "apiSecret": junk})
anything = junk | event_like | config_like


def call(fn, *args, names: tuple[str, ...] = (), **kwargs) -> None:
    """Run ``fn``; an allowed error must say what was wrong (one of ``names`` when given)."""
    try:
        fn(*args, **kwargs)
    except mpsim.MpsimError:
        pass
    except (TypeError, ValueError) as exc:
        message = str(exc)
        assert message and "object is not" not in message and "unhashable" not in message, repr(exc)
        if names:
            assert any(re.search(rf"\b{re.escape(n)}\b", message) for n in names), repr(exc)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(anything, anything)
def test_transform(message, destination):
    call(mpsim.transform, message, destination, now=NOW)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({"message": event_like | junk, "destination": st.just({"Config": {"token": "T"}})
                                       | junk, "metadata": st.fixed_dictionaries({"jobId": junk}) | junk}),
                max_size=4) | junk)
def test_transform_batch(events):
    call(mpsim.transform_batch, events, now=NOW, names=("events",))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(anything)
def test_validate(obj):
    call(mpsim.validate, obj, now=NOW)


@settings(max_examples=100, deadline=None)
@given(anything, anything)
def test_diff(a, b):
    call(mpsim.diff, a, b)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(event_like, max_size=3) | junk, config_like | junk)
def test_replay(events, destination):
    call(mpsim.replay, events, destination, now=NOW)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["token", "identity_merge", "api_secret", "now", "service_accounts",
                                        "project_id", "residency", "group_keys", "anon_id_policy", "geo"]), junk,
                       max_size=3))
def test_simulator_settings(kwargs):
    call(mpsim.Simulator, **kwargs, names=tuple(kwargs))


@settings(max_examples=100, deadline=None)
@given(junk, junk, junk)
def test_simulator_methods(a, b, c):
    sim = mpsim.Simulator(now=NOW)
    call(sim.fail_next, a, names=("status", "count", "endpoint"))
    call(sim.fail_next, 429, a, names=("count",))
    call(sim.fail_next, 429, 1, endpoint=a, names=("endpoint",))
    call(sim.send, a, names=("requests",))
    call(sim.handle, a, names=("request",))
    call(sim.profile, a)
    call(sim.canonical, a)
    call(sim.group, a, b)
    call(mpsim.WireRequest, a, b, c)


@settings(max_examples=60, deadline=None)
@given(junk)
def test_load_snapshot(data):
    call(mpsim.load_snapshot, data)
