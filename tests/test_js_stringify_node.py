"""``mpsim._js.dumps`` against Node's own ``JSON.stringify`` (skipped where Node.js is missing).

The property tests in test_js_semantics.py hold the fast paths to the careful path; this one holds
the whole of ``dumps`` to V8: each value travels as JSON text, V8 reads it with ``JSON.parse`` and
writes it with ``JSON.stringify``, and mpsim reads the same text as JavaScript does (``_js.loads``:
integers beyond 2^53 become doubles) and writes it with ``dumps``.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mpsim import _js

STRINGIFY_LINES = r"""
const lines = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean);
process.stdout.write(lines.map(line => JSON.stringify(JSON.stringify(JSON.parse(line)))).join("\n"));
"""

_FLOATS = (st.floats(allow_nan=False, allow_infinity=False) | st.floats(1e-7, 2e-5) | st.floats(1e15, 1e22)
           | st.integers(-2**60, 2**60).map(float))
_TEXT = st.text(max_size=6) | st.sampled_from(["\ud800", "a\udfffb", "\U0001F600", "\u2028", "\x7f", "\x00\x1f"])
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | _FLOATS | _TEXT
    | st.sampled_from([1.0, -0.0, 1e16, 1e21, 1e-7, 1e-6, 9.99e-6, 1e-5, 2**53, 2**53 + 1, 2.0**53 + 2]),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(_TEXT | st.sampled_from(["0", "1", "10", "01", "4294967294", "4294967295", "-1", "1.5"]),
                      inner, max_size=5),
    max_leaves=20)


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed (apt-get install nodejs; .ci/setup.d/npm-clients.sh installs it)")
    return node


def _stringify_in_node(node: str, lines: list[str]) -> list[str]:
    done = subprocess.run([node, "-e", STRINGIFY_LINES], input="\n".join(lines), capture_output=True,
                          text=True, encoding="utf-8", timeout=60, check=True)
    return [json.loads(out) for out in done.stdout.split("\n")]


def test_known_differences_from_python():
    node = _node()
    values = [1.0, -0.0, 1e16, 1e21, 1e-6, 1e-7, 2**53 + 1, {"b": 1, "2": 2, "1": 3}, "\ud800", [1.5, {"10": 1}]]
    lines = [json.dumps(v) for v in values]
    assert [_js.dumps(_js.loads(line)) for line in lines] == _stringify_in_node(node, lines)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(_VALUES, min_size=40, max_size=40))
def test_dumps_is_json_stringify(values):
    node = _node()
    lines = [json.dumps(v) for v in values]  # ASCII JSON: lone surrogates travel as \ud800 escapes
    assert [_js.dumps(_js.loads(line)) for line in lines] == _stringify_in_node(node, lines)
