"""The compiled mapping tables read exactly like a plain get-value lookup of every path."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mpsim._js import get_path, strict_equal, usable
from mpsim.rudder.common import map_fields
from mpsim.rudder.mappings import ANDROID_DEVICE, EVENT_PROPERTIES, OPERATION_PROPERTIES, PROFILE_PROPERTIES

TABLES = [EVENT_PROPERTIES, PROFILE_PROPERTIES, OPERATION_PROPERTIES, ANDROID_DEVICE]
SEGMENTS = sorted({seg for table in TABLES for _, paths in table for p in paths for seg in p.split(".")})
DOTTED = sorted({".".join(p.split(".")[i:j]) for table in TABLES for _, paths in table for p in paths
                 for i in range(3) for j in range(i + 2, i + 4)})
leaves = st.none() | st.booleans() | st.sampled_from([0, 1, "", "x", 2.5]) | st.lists(st.integers(), max_size=2)
keys = st.sampled_from(SEGMENTS) | st.sampled_from(DOTTED) | st.sampled_from(["0", "1", "other"])
messages = st.recursive(leaves, lambda inner: st.dictionaries(keys, inner, max_size=6) | st.lists(inner, max_size=3),
                        max_leaves=40)


def naive(message, table):
    out = {}
    for key, paths in table:
        for path in paths:
            value = get_path(message, path)
            if usable(value):
                out[key] = value
                break
    return out


@settings(max_examples=400, deadline=None)
@given(messages, st.sampled_from(range(len(TABLES))))
def test_compiled_table_equals_plain_lookup(message, which):
    table = TABLES[which]
    got, expected = map_fields(message, table, {}), naive(message, table)
    assert strict_equal(got, expected) and list(got) == list(expected)


def test_dotted_and_list_containers_take_the_careful_path():
    message = {"context": {"page.url": "u", "os": {"name": "iOS"}, "app": [{"build": 1}]},
               "properties": {"brand": "B"}}
    assert map_fields(message, EVENT_PROPERTIES, {}) == naive(message, EVENT_PROPERTIES)
    assert map_fields(message, EVENT_PROPERTIES, {})["$current_url"] == "u"
