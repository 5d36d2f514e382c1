"""Time arguments (issue 9 item 5): datetime, ISO text, epoch seconds or ms, everywhere, one rule."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import mpsim
from mpsim._time import SECONDS_LIMIT, TimeArgumentError, epoch_ms

EVENT = {"type": "track", "event": "Signed Up", "userId": "u1", "messageId": "m1",
         "timestamp": "2024-03-01T12:00:00Z"}

moments = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1),
                       timezones=st.just(timezone.utc)).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))


@settings(max_examples=60, deadline=None)
@given(moments)
@example(datetime(2106, 3, 1, 0, 0, 0, 4000, tzinfo=timezone.utc))  # float ms just below a whole ms
def test_every_form_of_one_moment_reads_the_same(moment):
    ms = round(moment.timestamp() * 1000)  # whole milliseconds (the strategy drops microseconds)
    forms = [moment, moment.replace(tzinfo=None), moment.isoformat(), moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
             ms, float(ms), str(ms)]
    if ms % 1000 == 0:
        forms += [ms // 1000, float(ms // 1000), str(ms // 1000)]
    assert {round(epoch_ms(f)) for f in forms} == {ms}


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=-1e15, max_value=1e15, allow_nan=False))
def test_numbers_follow_the_simulators_seconds_rule(value):
    expected = value * 1000 if abs(value) < SECONDS_LIMIT else value
    assert epoch_ms(value) == expected
    from mpsim.mixpanel.events import time_ms
    if value >= 0:
        assert time_ms(value) == int(expected // 1)


@settings(max_examples=40, deadline=None)
@given(st.one_of(st.none().map(lambda _: "yesterday"), st.text(alphabet="abcxyz!? ", min_size=1),
                 st.just(True), st.just(float("nan")), st.just(float("inf")), st.just([1]), st.just({})))
def test_unreadable_values_name_the_argument(value):
    with pytest.raises(TimeArgumentError, match=r"^now must be a datetime.*got"):
        epoch_ms(value)
    with pytest.raises(ValueError, match="when must be"):
        epoch_ms(value, "when")


def test_time_time_is_today_everywhere():
    """`now=time.time()` is what a Python user has: it is seconds, not 1970-01-21."""
    now = time.time()
    requests = mpsim.transform(EVENT, {"token": "T"}, now=now)
    assert requests and requests[0].records  # not "older than 5 years"
    sim = mpsim.Simulator(now=now)
    assert abs(sim.now_ms - now * 1000) < 1
    findings = mpsim.validate(EVENT, now=now)
    assert not [f for f in findings if "clock" in f.message or "future" in f.message], findings
    assert mpsim.transform_batch([{"message": EVENT, "destination": {"Config": {"token": "T"}}, "metadata": {"jobId": 1}}],
                                 now=now)


@pytest.mark.parametrize("now", [1709251200, 1709251200000, "1709251200", "2024-03-01T00:00:00Z",
                                 datetime(2024, 3, 1), datetime(2024, 3, 1, 1, tzinfo=timezone(timedelta(hours=1)))])
def test_public_calls_accept_each_form(now):
    expected = 1709251200000
    assert mpsim.Simulator(now=now).now_ms == expected
    assert mpsim.replay([EVENT], {"token": "T"}, now=now).sim.now_ms == expected
    event = {**EVENT, "timestamp": "2019-03-02T00:00:00Z"}  # a few days within 5 years of `now` only
    with pytest.raises(mpsim.InstrumentationError):
        mpsim.transform(event, {"token": "T"}, now=datetime(2024, 3, 3))
    assert mpsim.transform(event, {"token": "T"}, now=now)
    sim = mpsim.Simulator()
    sim.clock.freeze(now)
    assert sim.now_ms == expected


@pytest.mark.parametrize("call", [
    lambda: mpsim.transform(EVENT, {"token": "T"}, now="soon"),
    lambda: mpsim.Simulator(now="soon"),
    lambda: mpsim.replay([EVENT], {"token": "T"}, now="soon"),
    lambda: mpsim.validate(EVENT, now="soon"),
])
def test_public_calls_refuse_unreadable_now(call):
    with pytest.raises(TimeArgumentError, match="now must be a datetime.*'soon'"):
        call()


def test_a_datetime_reads_as_exact_milliseconds():
    # Regression: timestamp() * 1000 gave 2148595200008.9998 for this moment (a whole ms read one below).
    moment = datetime(2038, 2, 1, 0, 0, 0, 9000, tzinfo=timezone.utc)
    assert epoch_ms(moment) == 2148595200009
    assert epoch_ms(moment.date()) == 2148595200000


def test_the_validate_hint_echoes_now_as_iso_not_epoch_milliseconds():
    from mpsim.cli import _validate_command, build_parser

    for typed, shown in (("2024-01-02T00:00:00Z", "2024-01-02T00:00:00Z"), ("1704153600", "2024-01-02T00:00:00Z"),
                         ("2024-01-02T00:00:00.250Z", "2024-01-02T00:00:00.250Z")):
        args = build_parser().parse_args(["simulate", "events.jsonl", "--now", typed])
        assert _validate_command(args, "events.jsonl") == f"mpsim validate events.jsonl --now {shown}"
