"""The simulator's shortcuts give exactly the answers of the long way (shape checks, sizes, comparisons, copies)."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mpsim.mixpanel import events, profiles
from mpsim.mixpanel.wire import Decoded, Reply, decode, shape_problem
from tests.mixpanel.helpers import post_import, sim

leaf = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False, allow_infinity=False),
                 st.text(max_size=8), st.sampled_from(["\ud800", "a\udfffb", "\\ud800", "é", "\u2028"]))
value = st.recursive(leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(max_size=4) | st.just("\udc80"), inner,
                                                                   max_size=3)), max_leaves=10)


def nested(depth: int) -> Any:
    out: Any = "x"
    for n in range(depth):
        out = [out] if n % 2 else {"k": out}
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(value | st.integers(28, 40).map(nested), min_size=1, max_size=4), st.booleans())
def test_reading_a_body_finds_the_same_shape_problems_as_the_walk(records, ascii_only):
    text = json.dumps(records, ensure_ascii=ascii_only)
    body = text.encode("utf-8", "surrogatepass")
    from mpsim import WireRequest

    decoded = decode(WireRequest("POST", "https://api.mixpanel.com/import", {"Content-Type": "application/json"},
                                 body), allow_gzip=True)
    walked = Decoded(decoded.records, {}, {})  # no text: every record walked
    assert decoded.broken == walked.broken
    assert {i for i, r in enumerate(decoded.records) if shape_problem(r)} == set(walked.broken)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=5), value, max_size=5))
def test_event_size_is_the_compact_utf8_length(props):
    record = {"event": "E", "properties": props}
    expected = len(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))
    assert events.event_size(record) == expected


def outcome(check: Any) -> Any:
    try:
        check()
    except events.RecordError as exc:
        return (exc.field, exc.message)
    return None


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b", "list"]),
                       value | st.lists(st.text(min_size=40, max_size=60), min_size=60, max_size=200), max_size=3))
def test_collection_sizes_are_checked_the_same_with_the_record_size_known(props):
    size = events.event_size({"event": "E", "properties": props})
    assert outcome(lambda: events.validate_properties(props, size)) == outcome(lambda: events.validate_properties(props))


@settings(max_examples=300, deadline=None)
@given(value, value)
def test_same_is_json_equality(a, b):
    assert profiles._same(a, b) == (json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True))
    assert profiles._same(a, copy.deepcopy(a))


def test_remembered_reply_verdicts_match_the_bodies():
    assert Reply.of_json(200, {"status": "OK", "code": 200}).ok
    assert not Reply.of_json(200, {"status": "OK", "error": "x"}).ok
    assert not Reply(200, "[1]", "application/json").ok and not Reply(200, "nope", "application/json").ok
    s = sim()
    reply = post_import(s, [{"event": "E", "properties": {"token": "tok"}}], strict=True)
    assert reply.status == 400 and not reply.ok


# ---------------------------------------------------------------- plain JSON: orjson where it gives the same answer
def typed(value: Any) -> Any:
    """``value`` with every number tagged by its type (1, 1.0 and True compare equal in Python) and -0.0 kept."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    if isinstance(value, float):
        return ("float", repr(value))
    return (type(value).__name__, value)


def read_either_way(text: str) -> tuple[Any, Any]:
    from mpsim.mixpanel import wire

    def attempt(read: Any) -> Any:
        try:
            return typed(read(text))
        except RecursionError:
            return "too deep"
        except ValueError as exc:  # the standard decoder's message is what users see: orjson never gives one
            return ("error", str(exc))
    return attempt(lambda t: wire.loads_plain(t)[0]), attempt(wire._DECODER.decode)


exotic = st.sampled_from(["1e400", "-1e400", "18446744073709551616", "-9223372036854775809", "9223372036854775807",
                          "1e-7", "0.00001", "1E+16", "-0", "-0.0", '"\\ud800"', '"\\u00e9"', "NaN", "Infinity",
                          "123456789012345678901234567890", '"12345678901234567890"', "[" * 40 + "]" * 40])


@settings(max_examples=300, deadline=None)
@given(st.lists(value, max_size=4), st.booleans(), st.lists(exotic, max_size=3))
def test_plain_reading_gives_exactly_the_standard_decoders_values_and_errors(records, ascii_only, extras):
    text = json.dumps(records, ensure_ascii=ascii_only)
    if extras:
        text = "[" + ",".join([text, *extras]) + "]"
    fast, standard = read_either_way(text)
    assert fast == standard


#: floats both writers print alike, and each form they print differently (Python: 1e-07, 1e-05, 1e+16)
floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [1e-7, -4.2e-6, 1e-5, 0.00001234, 0.0001, 1e15, 1e16, 1.5e17, 5e-324, 9.5, -0.0, 1.7976931348623157e308])


@settings(max_examples=300, deadline=None)
@given(value | floats | st.lists(floats, max_size=3))
def test_compact_json_is_the_standard_encoders_text_or_none(item):
    raw = events.compact_json({"event": "E", "properties": {"v": item}})
    expected = json.dumps({"event": "E", "properties": {"v": item}}, ensure_ascii=False, separators=(",", ":"))
    assert raw is None or raw == expected.encode("utf-8", "surrogatepass")


long_text = st.sampled_from(["x" * 255, "y" * 256, "é" * 200, 'q"' * 130, "\\" * 300, "z" * 300 + '"'])
#: what only the walk finds: nesting past 3 levels, lists of 255 items or more, collections over 8 KB
walk_only = st.sampled_from([nested(4), nested(5), {"a": {"b": {"c": 1}}}, list(range(255)), list(range(300)),
                             ["w" * 250] * 40, {"k": "v" * 250, "l": ["u" * 250] * 35}])
prop_value = st.one_of(value, long_text, floats, st.integers(-2**80, 2**80), walk_only,
                       st.lists(long_text | leaf, max_size=3), st.dictionaries(long_text, leaf, max_size=2))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=5) | long_text | st.sampled_from(["$time", "time", "$distinct_id",
                                                                          "$device_id", "$user_id", "$insert_id",
                                                                          "token", "ip"]),
                       prop_value | st.sampled_from([1709280000, "ada", "a" * 300, "d" * 250, "m-1", None, ""]), max_size=8),
       st.sampled_from(["track", "import"]), st.booleans(), st.sampled_from(["E", "$identify", "$merge"]))
def test_checking_a_plain_record_gives_exactly_the_long_ways_answer(props, endpoint, simplified, name):
    """``check_event`` with ``plain_json`` (orjson's text answers size, nesting and long strings) against
    the walk, on records read from JSON text as the simulator reads them."""
    assert_plain_check_is_the_long_way(props, endpoint, simplified, name)


def test_a_device_id_that_grows_past_the_limit_is_cut_on_the_fast_path_too():
    """In Simplified projects ``$device:`` + a 250-character device id is 258 characters: text the record
    did not hold, so the short-strings shortcut must not vouch for it."""
    assert_plain_check_is_the_long_way({"$device_id": "d" * 250}, "import", True, "E")
    ctx = events.Context("import", "api.mixpanel.com", 1709337600000, True, plain_json=True)
    _, props, _, _, _ = events.check_event({"event": "E", "properties": {"$device_id": "d" * 250, "time": 1709280000,
                                                                         "$insert_id": "i-1"}}, ctx)
    assert props["distinct_id"] == ("$device:" + "d" * 250)[:255]


def assert_plain_check_is_the_long_way(props: dict[str, Any], endpoint: str, simplified: bool, name: str) -> None:
    from mpsim.mixpanel import wire

    text = json.dumps({"event": name, "properties": {"distinct_id": "d", "time": 1709280000, **props}},
                      ensure_ascii=False)
    try:
        record, plain = wire.loads_plain(text)
    except ValueError:
        return  # not JSON the simulator would read at all

    def check(plain_json: bool) -> Any:
        ctx = events.Context(endpoint, "api.mixpanel.com", 1709337600000, simplified, new_insert_id=lambda: "g" * 32,
                             plain_json=plain_json)
        try:
            return typed(list(events.check_event(copy.deepcopy(record), ctx)))
        except events.RecordError as exc:
            return (exc.field, exc.message)

    assert check(plain) == check(False)
