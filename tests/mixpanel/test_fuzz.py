"""Arbitrary input never crashes the simulator, and every /import record is either stored or reported."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from mpsim import WireRequest
from tests.mixpanel.helpers import NOW_S, basic, post_import, sim

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=10)
# NaN and Infinity are not JSON: tests/mixpanel/test_hostile.py sends them on purpose
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5)
                      | st.dictionaries(st.text(max_size=5), inner, max_size=5), max_leaves=15)
keys = st.sampled_from(["distinct_id", "time", "$insert_id", "token", "$user_id", "$device_id", "$ignore",
                        "$anon_id", "$identified_id", "alias", "$distinct_ids", "$time", "x"])
good_time = st.integers(NOW_S - 10**8, NOW_S) | st.sampled_from(["now", None])
records = st.one_of(
    values,
    st.fixed_dictionaries({"event": st.sampled_from(["E", "$identify", "$merge", "$create_alias", ""]) | values,
                           "properties": st.dictionaries(keys, values | good_time, max_size=8) | values}),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(records, max_size=12), st.sampled_from(["original", "simplified"]), st.booleans())
def test_every_import_record_is_stored_or_reported(batch, mode, strict):
    s = sim(identity_merge=mode)
    reply = post_import(s, batch, strict=strict)
    assert reply.status in (200, 400)
    body = reply.json()
    outcomes = s.log[-1].records
    assert len(outcomes) == len(batch)
    assert body["num_records_imported"] == sum(r.ok for r in outcomes)
    if strict and reply.status == 400:
        assert sorted(f["index"] for f in body["failed_records"]) == [r.index for r in outcomes if not r.ok]
    assert len(s.raw_events) == sum(r.stored for r in outcomes)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["track", "import", "engage", "groups"]), st.binary(max_size=200) | st.builds(
    lambda v: json.dumps(v).encode(), values), st.sampled_from(["", "application/json", "application/x-ndjson",
                                                               "application/x-www-form-urlencoded"]),
       st.sampled_from(["", "?verbose=1", "?verbose=2", "?strict=1", "?img=1"]))
def test_any_body_on_any_endpoint_gets_an_answer(endpoint, body, content_type, query):
    s = sim(token=None)
    reply = s.handle(WireRequest("POST", f"https://api.mixpanel.com/{endpoint}{query}",
                                 {"Content-Type": content_type, **basic("tok")}, body))
    assert reply.status in (200, 400, 401, 413)
    assert isinstance(reply.body, str)
