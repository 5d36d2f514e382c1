"""The JavaScript value rules the transformer relies on (mpsim._js, mpsim._dates)."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mpsim import _dates, _js
from mpsim._js import UNDEFINED


@pytest.mark.parametrize("value,text", [
    (1.0, "1"), (1e21, "1e+21"), (1e-7, "1e-7"), (-0.0, "0"), (0.1, "0.1"), (123.456, "123.456"),
    (1e16, "10000000000000000"), (1.5e-5, "0.000015"), (2**60, "1152921504606847000"),
    (12345678901234567890, "12345678901234567000"), (float("nan"), "NaN"), (float("inf"), "Infinity"),
    (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"), (100, "100"), (-1.25, "-1.25"),
])
def test_number_to_string(value, text):
    assert _js.number_to_string(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_number_to_string_round_trips(value):
    assert float(_js.number_to_string(value)) == value


def test_truthiness():
    assert [_js.truthy(v) for v in ([], {}, "0", " ", 0, "", None, UNDEFINED, False, 0.0)] == [
        True, True, True, True, False, False, False, False, False, False]
    assert [_js.usable(v) for v in (0, False, "", None, "x")] == [True, True, False, False, True]
    assert [_js.non_empty(v) for v in (0, False, "  ", {}, [], None, "a")] == [True, True, False, False, False, False,
                                                                            True]


def test_dumps_matches_json_stringify():
    value = {"b": 1, "10": 2, "2": 3, "01": 4, "u": UNDEFINED, "f": 1.0, "s": "é\n\x01/", "l": [UNDEFINED, 1e-7]}
    assert _js.dumps(value) == '{"2":3,"10":2,"b":1,"01":4,"f":1,"s":"é\\n\\u0001/","l":[null,1e-7]}'
    assert _js.dumps("\ud800x") == '"\\ud800x"'


@given(st.recursive(st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=20))
def test_dumps_is_valid_json_with_same_content(value):
    assert json.loads(_js.dumps(value)) == value


def test_get_path_tries_joined_segments_and_indices():
    assert _js.get_path({"a": {"b.c": 1}}, "a.b.c") == 1
    assert _js.get_path({"a.b": 2}, "a.b") == 2
    assert _js.get_path({"x": [{"id": 3}]}, "x.0.id") == 3
    assert _js.get_path({"a": "str"}, "a.length") is UNDEFINED
    assert _js.get_path({"a": None}, "a.b") is UNDEFINED


def test_set_path_like_set_value():
    target = {"a": 1}
    for path, value in [("a.b", 2), ("x.0", "v"), ("y.a.1", "w"), ("b.", 2), (".a", 1), ("p\\.q", 3), ("u/v.w", 4)]:
        _js.set_path(target, path, value)
    assert target == {"a": {"b": 2}, "x": ["v"], "y": {"a": [None, "w"]}, "b": 2, "": {"a": 1}, "p.q": 3, "u/v.w": 4}
    with pytest.raises(_js.UnsafeKeyError):
        _js.set_path({}, "a.__proto__", 1)


def test_utf16_tail():
    assert _js.utf16_tail("abc", 2) == "bc"
    assert _js.utf16_tail("\U0001F600" + "a" * 35, 36) == "\ude00" + "a" * 35


@pytest.mark.parametrize("value,ms", [
    ("2020-01-24T11:59:02.403+05:30", 1579847342403), ("2020-01-24", 1579824000000),
    ("2020-01-24T06:29:02.4039Z", 1579847342403), ("2020-02-30", 1583020800000),
    ("2020-01-24T24:00:00Z", 1579910400000), ("Fri, 24 Jan 2020 06:29:02 GMT", 1579847342000),
    ("2020/01/24", 1579824000000), ("01/24/2020", 1579824000000), ("2020-1-24", 1579824000000),
    ("Jan 24 2020", 1579824000000), ("2020-01-24 06:29:02.403", 1579847342403), ("+002020-01-24", 1579824000000), ("2020-01-24t06:29:02z", 1579847342000),
    (None, 0), (False, 0), (True, 1), (1579847342403, 1579847342403), (1.9, 1),
])
def test_valid_dates(value, ms):
    assert _dates.date_ms(value) == ms


@pytest.mark.parametrize("value", ["garbage", "1579847342403", "2020-01-24T06:29:02+05", "2020-01-24T06:29:02,5Z",
                                   " 2020-01-24T06:29:02Z", "2020-01-24T06:29:02 +05:30", "2020-13-01", {}, UNDEFINED,
                                   "2020-01-24T06:29:02 UTC", 9e15])
def test_invalid_dates(value):
    assert _dates.date_ms(value) is None


@given(st.integers(-8_640_000_000_000_000, 8_640_000_000_000_000))
def test_iso_round_trip(ms):
    assert _dates.date_ms(_dates.to_iso(ms)) == ms


def test_clock_accepts_datetimes_strings_and_numbers():
    from datetime import datetime, timezone
    assert _dates.clock_ms(datetime(2020, 1, 1, tzinfo=timezone.utc)) == 1577836800000
    assert _dates.clock_ms("2020-01-01T00:00:00Z") == 1577836800000
    assert _dates.clock_ms(5) == 5000  # seconds below 1e10, as for an event's time (mpsim._time)
    assert _dates.clock_ms(1577836800000) == 1577836800000
    assert math.isfinite(_dates.clock_ms())
    with pytest.raises(ValueError, match="now must be"):
        _dates.clock_ms("yesterday")


_FLOATS = (st.floats() | st.floats(1e-7, 2e-5) | st.floats(-2e-5, -1e-7) | st.floats(1e15, 1e22)
           | st.floats(-1e22, -1e15) | st.integers(-2**60, 2**60).map(float))
_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | _FLOATS | st.text()
    | st.sampled_from([1.0, -0.0, 1e16, 1e21, 1e-7, 5e-5, 0.0001, 2.0**53 + 2, float("nan"), 9007199254740993,
                       2**53, -2**53, 1e-6, 9.99e-6, 1e-5, float("inf"), "e+1", "e-6", ".0"]),
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.text(max_size=4) | st.sampled_from(["0", "1", "10", "01", "4294967295", "5"]), inner,
                      max_size=5),
    max_leaves=25)
_FAST_PATHS = [_js._stdlib_dumps] + ([_js._orjson_dumps] if _js._orjson is not None else [])


@pytest.mark.parametrize("fast", _FAST_PATHS, ids=lambda f: f.__name__)
@given(value=_JSONISH)
def test_fast_dumps_is_the_careful_dumps(fast, value):
    # dumps lets a C encoder (orjson, or Python's own) write a value when a few scans of its text
    # show nothing that JSON.stringify prints differently; the careful path (a normalising walk) is
    # the definition.
    assert fast(value) == _js._careful_dumps(value)


def test_dumps_uses_orjson_where_installed():
    assert _js.dumps is (_js._stdlib_dumps if _js._orjson is None else _js._orjson_dumps)


@pytest.mark.parametrize("fast", _FAST_PATHS, ids=lambda f: f.__name__)
def test_fast_dumps_of_what_is_not_plain_json(fast):
    """Subclasses, enums, tuples, dataclasses and UNDEFINED print as the careful path prints them."""
    import dataclasses
    import enum

    class Colour(enum.Enum):
        RED = "red"

    class Level(enum.IntEnum):
        HIGH = 3

    class Tags(list):
        pass

    class Name(str):
        pass

    @dataclasses.dataclass
    class Point:
        x: int

    value = {"c": Colour.RED, "l": Level.HIGH, "t": Tags([1, 2.0]), "n": Name("a"), "p": (1, Point(2)),
             "u": UNDEFINED, "deep": [[[[[[[[[[1.0]]]]]]]]]]}
    expected = ('{"c":"red","l":3,"t":[1,2],"n":"a","p":[1,' + json.dumps(str(Point(2)))
                + '],"deep":[[[[[[[[[[1]]]]]]]]]]}')
    assert _js._careful_dumps(value) == expected
    assert fast(value) == expected
    deep: object = 1.5
    for _ in range(300):  # deeper than orjson writes
        deep = [deep]
    assert fast(deep) == "[" * 300 + "1.5" + "]" * 300
