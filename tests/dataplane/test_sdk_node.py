"""@rudderstack/rudder-sdk-node, unchanged, against ``mpsim.serve(sim, rudder=...)`` over HTTP."""

from __future__ import annotations

import json
import subprocess

import mpsim
from mpsim.rudder.dataplane import parse_time

from .helpers import CONFIG, WK
from .sdks import SDK_DIR, need_node_sdk

NOW = "2024-03-02T10:01:00Z"


def _run(url: str, key: str, calls: list) -> dict:
    node = need_node_sdk()
    result = subprocess.run([node, str(SDK_DIR / "node_calls.js"), url, key, json.dumps(calls)],
                            capture_output=True, text=True, timeout=60, cwd=SDK_DIR)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_node_sdk_delivers_and_its_device_clock_is_corrected():
    # The simulator's (server's) clock is frozen in 2024; the SDK stamps events with the machine's clock.
    sim = mpsim.Simulator(token="T", now=NOW)
    with mpsim.serve(sim, rudder=CONFIG, write_key=WK) as server:
        out = _run(server.url, WK, [
            ["identify", {"userId": "u-node", "anonymousId": "anon-node", "traits": {"email": "n@example.com"}}],
            ["track", {"userId": "u-node", "event": "Order Completed", "properties": {"revenue": 42}}],
            ["track", {"userId": "u-node", "event": "Backfilled", "timestamp": "2024-01-01T00:00:00.000Z"}],
        ])
    assert out == {"errors": []}
    plane = server.rudder
    # the SDK sends its first event at once, the rest on flush
    assert [(e.method, e.path, e.status, e.answer) for e in plane.log] == [("POST", "/v1/batch", 200, "ok")] * 2
    assert sum(e.stored for e in plane.log) == 3
    assert all(e.library.startswith("analytics-node") for e in plane.log)
    identify, track, backfilled = (job.message for job in plane.jobs)
    # R − (sentAt − originalTimestamp): the real clock's years of skew cancel out, leaving the flush delay
    assert track["receivedAt"] == "2024-03-02T10:01:00.000Z"
    delay = parse_time(track["receivedAt"]) - parse_time(track["timestamp"])
    assert 0 <= delay.total_seconds() < 10
    assert not track["originalTimestamp"].startswith("2024")  # the device's own clock, kept as sent
    assert backfilled["timestamp"] == "2024-01-01T00:00:00.000Z"  # an explicit timestamp is never corrected
    assert plane.drops == []
    assert sim.profile("u-node")["$email"] == "n@example.com"
    assert sim.canonical("anon-node") == "u-node"
    assert list(sim.events["event"]) == ["$merge", "Order Completed", "Backfilled"]
    assert sim.events.iloc[1]["properties"]["revenue"] == 42


def test_node_sdk_with_a_wrong_write_key_gets_401():
    sim = mpsim.Simulator(token="T")
    with mpsim.serve(sim, rudder=CONFIG, write_key=WK) as server:
        out = _run(server.url, "WRONG", [["track", {"userId": "u1", "event": "E"}]])
    assert out == {"errors": [401]}
    assert [(d.gate, d.reason) for d in server.rudder.drops] == [("gateway", "write key")]
    assert len(sim.events) == 0
