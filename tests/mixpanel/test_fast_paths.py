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
