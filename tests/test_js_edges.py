"""The JavaScript edge semantics behind the transformer: numbers, objects, dates, nesting.

Every expectation below is derived from the spec (../shared/spec/rudderstack-mixpanel-destination.md)
and from how JavaScript (V8, Node 20) evaluates the operation the spec names; the comment on each
case gives that reasoning.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mpsim
from mpsim import _dates, _js
from mpsim._files import read_json

NOW = "2026-12-01T00:00:00Z"
TS = "2026-11-30T00:00:00.000Z"


def records(message, config=None):
    return [_js.loads(r.body_text()) for r in mpsim.transform(message, config or {"token": "t"}, now=NOW)]


def track_props(message, config=None):
    base = {"type": "track", "event": "e", "userId": "u", "timestamp": TS}
    return records({**base, **message}, config)[-1][0]["properties"]


def set_of(message, config=None):
    base = {"type": "identify", "userId": "u", "timestamp": TS}
    return next(r[0]["$set"] for r in records({**base, **message}, config) if "$set" in r[0])


# --------------------------------------------------------------------------- numbers beyond 2^53
def test_json_integers_beyond_2_53_read_as_doubles():
    # JSON.parse yields IEEE doubles: 9007199254740993 is not representable and rounds to ...992.
    value = _js.loads('{"a": 9007199254740993, "b": -9007199254740993, "c": 12345678901234567890, "d": 7}')
    assert value == {"a": 9007199254740992, "b": -9007199254740992, "c": 12345678901234567168, "d": 7}
    assert _js.dumps(value) == '{"a":9007199254740992,"b":-9007199254740992,"c":12345678901234567000,"d":7}'
    assert _js.loads("1" + "0" * 400) == float("inf")  # a literal beyond the double range is Infinity


def test_files_read_numbers_as_javascript(tmp_path):
    path = tmp_path / "event.json"
    path.write_text('{"type": "alias", "previousId": 9007199254740993, "userId": 9007199254740992}')
    event = read_json(path, "events file")
    # Both ids parse to the same double, so `previousId === userId` holds: E9.
    with pytest.raises(mpsim.InstrumentationError, match="is same as `userId`"):
        mpsim.transform(event, {"token": "t"}, now=NOW)


def test_big_integer_user_id_coerces_like_string_of_a_double():
    # String(9007199254740993) in JavaScript is "9007199254740992": the literal was already rounded.
    event = _js.loads('{"type": "track", "event": "e", "userId": 9007199254740993, "timestamp": "' + TS + '"}')
    assert records(event)[0][0]["properties"]["distinct_id"] == "9007199254740992"


# --------------------------------------------------------------------------- strings and numbers as objects
def test_string_properties_spread_into_index_keys_and_numbers_into_nothing():
    # {...properties}: a string spreads its characters under index keys, a number has no own keys.
    assert {k: v for k, v in track_props({"properties": "ab"}).items() if k in "01"} == {"0": "a", "1": "b"}
    props = track_props({"properties": 5, "context": {"traits": 7}})
    assert not any(key.isdigit() for key in props)


def test_string_traits_give_index_keys_in_identify_set():
    # Custom traits are every key of traits (Object.keys("ab") is ["0", "1"]), set by path.
    assert set_of({"traits": "ab"}) == {"0": "a", "1": "b"}
    assert set_of({"traits": 12, "context": {"traits": True}}) == {}


def test_string_traits_in_group_set():
    # The groups $set is a copy of message.traits: {..."xy"} is {"0": "x", "1": "y"}.
    out = records({"type": "group", "userId": "u", "groupId": "g1", "traits": "xy"},
                  {"token": "t", "groupKeySettings": [{"groupKey": "groupId"}]})
    assert out[1][0]["$set"] == {"0": "x", "1": "y"}


def test_string_property_increments_walk_index_keys():
    # propIncrements names are compared with the keys of properties; "0" is a key of "ab".
    out = records({"type": "track", "event": "e", "userId": "u", "timestamp": TS, "properties": "ab"},
                  {"token": "t", "propIncrements": [{"property": "1"}]})
    assert out[0][0]["$add"] == {"1": "b"}


# --------------------------------------------------------------------------- Object.prototype names
def test_trait_paths_through_inherited_members_land_nowhere():
    # set-value walks obj[key] including inherited members: "toString.x" reaches the function
    # Object.prototype.toString and writes x on it, which no JSON shows; "y.toString.z" leaves y {}.
    # "toString.0" makes an own array (a numeric next segment always creates one), and own keys
    # named like prototype members ("hasOwnProperty") are ordinary keys.
    traits = {"toString.x": 1, "valueOf.a.b": 2, "y.toString.z": 3, "hasOwnProperty": 4, "toString.0": 5,
              "k.push.q": 6, "k.0": 7}
    assert set_of({"traits": traits}) == {"y": {}, "hasOwnProperty": 4, "toString": [5], "k": [7]}


def test_unsafe_keys_skipped_or_crash_as_set_value_does():
    # The spec skips __proto__/constructor/prototype as whole keys; set-value throws on them as segments.
    assert set_of({"traits": {"constructor": 1, "__proto__": {"a": 1}, "prototype": 2, "ok": 3}}) == {"ok": 3}
    with pytest.raises(mpsim.TransformationCrash, match='Cannot set unsafe key: "constructor"'):
        set_of({"traits": {"a.constructor.b": 1}})


def test_array_length_is_a_real_property():
    # set-value on an array: "x.length" assigns arr.length (3 pads with holes, which JSON writes as
    # null); a length that is not a valid uint32 throws RangeError.
    assert set_of({"traits": {"x.0": 1, "x.length": 3}}) == {"x": [1, None, None]}
    assert set_of({"traits": {"x.0": 1, "x.1": 2, "x.length": "1"}}) == {"x": [1]}
    with pytest.raises(mpsim.TransformationCrash, match="Invalid array length"):
        set_of({"traits": {"x.0": 1, "x.length": -1}})


def test_objects_with_own_to_string_have_no_primitive_value():
    # String(obj) / new Date(obj) call ToPrimitive: an own toString that is not a function (JSON
    # cannot hold one) is skipped, valueOf returns the object itself, so a TypeError is thrown.
    with pytest.raises(mpsim.TransformationCrash, match="Cannot convert object to primitive value"):
        track_props({"userId": {"toString": "x"}})
    with pytest.raises(mpsim.TransformationCrash, match="Cannot convert object to primitive value"):
        track_props({"timestamp": {"toString": 1}})
    with pytest.raises(mpsim.TransformationCrash, match="Cannot convert object to primitive value"):
        track_props({"userId": [1, {"toString": 2}]})  # Array.prototype.join converts each element
    # An own valueOf alone is skipped the same way, and the inherited toString answers.
    assert track_props({"userId": {"valueOf": 1}})["distinct_id"] == "[object Object]"


# --------------------------------------------------------------------------- dates on non-strings
@pytest.mark.parametrize("value,iso", [
    ([2026, 11, 19], "2026-11-19T00:00:00.000Z"),  # ToPrimitive → "2026,11,19" → legacy Y,M,D
    (["2026-11-19"], "2026-11-19T00:00:00.000Z"),  # a one-element array is its element's text
    (1795046400000, "2026-11-19T00:00:00.000Z"),   # a number is epoch milliseconds
    (1795046400000.9, "2026-11-19T00:00:00.000Z"),  # truncated toward zero
    (True, "1970-01-01T00:00:00.001Z"),            # ToNumber(true) = 1
    (None, "1970-01-01T00:00:00.000Z"),            # ToNumber(null) = 0
])
def test_dates_from_non_strings(value, iso):
    assert _dates.to_iso(_dates.js_date_ms(value)) == iso


@pytest.mark.parametrize("value", [{}, {"a": 1}, [], [[]], "", [None], 8.64e15 + 1, float("nan")])
def test_invalid_dates_from_non_strings(value):
    # {} → "[object Object]"; [] and [null] → "" (no number in it); beyond ±8.64e15 TimeClip gives NaN.
    assert _dates.js_date_ms(value) is None


@pytest.mark.parametrize("text,iso", [
    (" 2020-01-24", "2020-01-24T00:00:00.000Z"),       # not ES5 (leading space): legacy Y-M-D, local time
    ("2020-01-24 ", "2020-01-24T00:00:00.000Z"),       # the same after the date
    ("Jan 5", "2001-01-05T00:00:00.000Z"),             # no year: V8's day composer fills in 1 → 2001
    ("5", "2001-05-01T00:00:00.000Z"),                 # one number is a month
    ("0", "2000-01-01T00:00:00.000Z"),                 # 0 is no day, so a year: 0-49 → 20xx
    ("1/2/99", "1999-01-02T00:00:00.000Z"),            # 50-99 → 19xx
    ("24 January 2020 6:29 pm", "2020-01-24T18:29:00.000Z"),  # month names, AM/PM
    ("January 24, 2020 10:00 PST", "2020-01-24T18:00:00.000Z"),  # named zones (PST = -8)
    ("Fri Jan 24 2020 06:29:02 GMT+0100 (CET)", "2020-01-24T05:29:02.000Z"),  # Date#toString output
    ("Thu, 01 Jan 1970 00:00:00 GMT-0130", "1970-01-01T01:30:00.000Z"),
    ("tomorrow 2020", "2020-01-01T00:00:00.000Z"),     # words before the first number are ignored
    ("12:30 2020-01-24", "2020-01-24T12:30:00.000Z"),  # time before the date
    ("2020-01-24T06:29:02.0123456789Z", "2020-01-24T06:29:02.123Z"),  # 9 significant digits, then 3
    ("2020-01-24T06:29:02.4039Z", "2020-01-24T06:29:02.403Z"),  # fraction truncated
])
def test_legacy_parser_forms(text, iso):
    assert _dates.to_iso(_dates.js_date_ms(text)) == iso


@pytest.mark.parametrize("text", [
    "2020-01-24T06:29:02Z ", " 2020-01-24T06:29:02Z",  # after a number, "T" is a garbage word
    "2020-01-24 foo", "Jan 24 2020 xyz",              # garbage words after a number are illegal
    "2020-01-24T25:00:00Z", "2020-01-24T24:00:01Z", "13/01/2020", "2020-01-24T06:29:02+5:30",
    "[object Object]", "",
])
def test_legacy_parser_rejects(text):
    assert _dates.js_date_ms(text) is None


@given(st.integers(-8_640_000_000_000_000, 8_640_000_000_000_000))
@settings(max_examples=200)
def test_fast_iso_path_agrees_with_the_v8_algorithm(ms):
    text = _dates.to_iso(ms)
    assert _dates._parse_v8(text) == ms
    assert _dates._fast_iso(text) in (None, ms)  # six-digit years are left to the full parser


@given(st.from_regex(r"\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,12})?(Z|[+-]\d\d:\d\d)\Z"))
@settings(max_examples=200)
def test_fast_iso_path_never_disagrees(text):
    fast = _dates._fast_iso(text)
    assert fast is None or fast == _dates._parse_v8(text)


# --------------------------------------------------------------------------- invalid and valid timestamps mixed
def test_invalid_timestamp_with_valid_original_timestamp():
    # time/$time read timestamp if truthy (no fallback when it is invalid); revenue's $time takes
    # the first *valid* of timestamp, originalTimestamp.
    message = {"timestamp": [], "originalTimestamp": [2026, 11, 19], "properties": {"revenue": 5}}
    out = records({"type": "track", "event": "e", "userId": "u", **message})
    assert out[0][0]["$append"]["$transactions"]["$time"] == "2026-11-19T00:00:00.000Z"
    assert out[-1][0]["properties"]["time"] is None
    # A falsy timestamp (0) hands $time over to originalTimestamp (track would fail the 5-year
    # rule, which reads timestamp alone: new Date(0) is 1970).
    out = records({"type": "identify", "userId": "u", "timestamp": 0, "originalTimestamp": "Nov 19 2026"})
    assert out[0][0]["$time"] == 1795046400000
    with pytest.raises(mpsim.InstrumentationError, match="within last 5 years"):
        track_props({"timestamp": 0, "originalTimestamp": "Nov 19 2026"})
    # identify: $time from an invalid truthy timestamp is null, with no fallback.
    out = records({"type": "identify", "userId": "u", "timestamp": {"a": 1}, "originalTimestamp": TS})
    assert out[0][0]["$time"] is None


def test_both_timestamps_invalid_with_revenue():
    with pytest.raises(mpsim.InstrumentationError, match="Neither timestamp nor originalTimestamp"):
        records({"type": "track", "event": "e", "userId": "u", "timestamp": "13/13/2020",
                 "originalTimestamp": {"x": 1}, "properties": {"revenue": 1}})


# --------------------------------------------------------------------------- deep nesting
def _nested(depth, leaf=1):
    return _js.loads('{"a":' * depth + json.dumps(leaf) + "}" * depth)


def test_deeply_nested_properties_transform_without_recursion_error():
    # V8's JSON.parse has no depth limit and its JSON.stringify holds thousands of levels.
    deep = _nested(5000)
    props = track_props({"properties": {"deep": deep}})
    assert _js.dumps(props["deep"]).count("{") == 5000
    out = records({"type": "identify", "userId": "u", "timestamp": TS, "traits": {"deep": deep, "plan": "p"}},
                  {"token": "t", "setOnceProperties": [{"property": "plan"}]})
    assert out[0][0]["$set_once"] == {"plan": "p"}
    assert _js.dumps(out[1][0]["$set"]["deep"]).count("{") == 5000


def test_deeply_nested_json_parses():
    assert _js.dumps(_js.loads("[" * 30000 + "]" * 30000)) == "[" * 30000 + "]" * 30000


# --------------------------------------------------------------------------- router inputs
@pytest.mark.parametrize("item,problem", [
    ({}, r"events\[0\] has no metadata"),
    ({"metadata": [1]}, r"events\[0\]\.metadata must be an object"),
    ({"metadata": {"jobId": {"id": 1}}}, r"events\[0\]\.metadata\.jobId must be a number"),
    ({"metadata": {"jobId": [1]}}, r"events\[0\]\.metadata\.jobId must be a number"),
])
def test_transform_batch_names_bad_metadata(item, problem):
    event = {"message": {"type": "track", "event": "e", "userId": "u"}, "destination": {"token": "t"}, **item}
    with pytest.raises(mpsim.MpsimError, match=problem):
        mpsim.transform_batch([event], now=NOW)


def test_prop_increments_with_non_string_properties_match_nothing():
    # Array.prototype.includes compares strictly: the number 5 never equals the key "5", and an
    # object property names no key at all.
    config = {"token": "t", "propIncrements": [{"property": 5}, {"property": {"a": 1}}, {"property": ["n"]},
                                               {"property": "m"}]}
    out = records({"type": "track", "event": "e", "userId": "u", "timestamp": TS,
                   "properties": {"5": 1, "n": 2, "m": 3}}, config)
    assert out[0][0]["$add"] == {"m": 3}
    items = mpsim.transform_batch([{"message": {"type": "track", "event": "e", "userId": "u", "timestamp": TS,
                                                "properties": {"5": 1}},
                                    "destination": {"Config": config}, "metadata": {"jobId": 1}}], now=NOW)
    assert [item.to_rudder()["batchedRequest"]["endpointPath"] for item in items] == ["import"]


def test_transform_batch_leaves_the_garbage_collector_as_it_found_it():
    import gc

    event = {"message": {"type": "track", "event": "e", "userId": "u", "timestamp": TS},
             "destination": {"token": "t"}, "metadata": {"jobId": 1}}
    assert gc.isenabled()
    mpsim.transform_batch([event], now=NOW)
    assert gc.isenabled()
    gc.disable()
    try:
        mpsim.transform_batch([event], now=NOW)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_token_object_without_primitive_value_crashes_where_the_credential_is_built():
    # The /import Authorization is Basic base64(`${token}:`): a token object whose own toString is
    # not a function throws there, so track crashes; identify crashes when it sends $merge.
    config = {"token": {"toString": "x"}}
    with pytest.raises(mpsim.TransformationCrash, match="Cannot convert object to primitive value"):
        mpsim.transform({"type": "track", "event": "e", "userId": "u", "timestamp": TS}, config, now=NOW)
    with pytest.raises(mpsim.TransformationCrash, match="Cannot convert object to primitive value"):
        mpsim.transform({"type": "identify", "userId": "u", "anonymousId": "a", "timestamp": TS}, config, now=NOW)
    # Without an /import request there is nothing to build: the $set goes out.
    (only,) = mpsim.transform({"type": "identify", "userId": "u", "timestamp": TS}, config, now=NOW)
    assert only.path == "engage"
