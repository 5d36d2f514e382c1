"""The three real SDKs, unchanged, through ``mpsim serve --rudder DEST.json`` (the command users run), read back
over the control API only: answers, skew-corrected or kept timestamps, the integrations filter, and each
drop in the simulator's log, dropped counts, findings and explanations."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime, timezone

import pytest
import requests

from ..loopback import cli_server
from .sdks import SDK_DIR, need_js_sdk, need_node_sdk, use_the_shop
from .static import static_site

NOW = "2024-03-02T10:01:00Z"  # the server's clock, frozen; the SDKs stamp with the machine's real clock
MISTAKE = {"All": False, "MP": True}  # Mixpanel addressed by its definition name: dropped, silently


def _destination(tmp_path) -> str:
    dest = tmp_path / "dest.json"
    dest.write_text(json.dumps({"Config": {"token": "T"}}))
    return str(dest)


def _python_sdk(url: str) -> str:
    pytest.importorskip("rudderstack.analytics", reason="rudder-sdk-python is not installed (pip install -e .[test])")
    from rudderstack.analytics.client import Client

    app = Client("WK_E2E", host=url, sync_mode=True, max_retries=0)
    app.identify("u-py", {"email": "py@example.com"}, anonymous_id="anon-py")
    app.track("u-py", "Py Order", {"revenue": 1}, timestamp=datetime(2024, 3, 2, 9, 1, tzinfo=timezone.utc))
    app.track("u-py", "Py Coupon", integrations=MISTAKE)
    try:
        Client("WK_WRONG", host=url, sync_mode=True, max_retries=0).track("u-py", "Py Wrong Key")
    except Exception as error:  # noqa: BLE001 - the SDK raises its own error type for a 4xx
        return str(error)
    return ""


def _node_sdk(url: str) -> dict:
    node = need_node_sdk()
    calls = [["identify", {"userId": "u-node", "anonymousId": "anon-node", "traits": {"email": "n@example.com"}}],
             ["track", {"userId": "u-node", "event": "Node Order"}],
             ["track", {"userId": "u-node", "event": "Node Coupon", "integrations": MISTAKE}]]
    result = subprocess.run([node, str(SDK_DIR / "node_calls.js"), url, "WK_E2E", json.dumps(calls)],
                            capture_output=True, text=True, timeout=60, cwd=SDK_DIR)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _js_sdk(browser, url: str) -> None:
    need_js_sdk()
    with static_site(SDK_DIR) as site:
        page = browser.new_page()
        try:
            use_the_shop(page, site, url, "WK_E2E")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                log = requests.get(f"{url}/_mpsim/log", timeout=10).json()
                if sum(x["request"]["endpoint"] in ("v1/page", "v1/identify", "v1/track") for x in log) >= 4:
                    break
                time.sleep(0.1)
        finally:
            page.close()


def test_three_real_sdks_through_mpsim_serve_rudder(browser, tmp_path):
    need_node_sdk()
    need_js_sdk()
    with cli_server("--token", "T", "--now", NOW, "--rudder", _destination(tmp_path), "--write-key", "WK_E2E") as server:
        url = server.url
        told = _python_sdk(url)
        node = _node_sdk(url)
        _js_sdk(browser, url)
        get = lambda path, **params: requests.get(f"{url}/_mpsim/{path}", params=params, timeout=10).json()  # noqa: E731
        events, log, found, state = get("events"), get("log"), get("findings"), get("state")
        explained = {i: get("explain", id=i) for i in ("u-py", "u-node", "user-ada")}
    out = server.out
    assert server.returncode == 0, server.err
    # answers: ok for the good key, 401 for the wrong one (the Python SDK raises it, no retry)
    assert "invalid write key" in told and "401" in told and node == {"errors": []}
    rudder = [x for x in log if x["request"].get("door") == "rudderstack"]
    assert {(x["status"], x["reply"].strip()) for x in rudder if x["request"]["write_key"] == "WK… (6 characters)"} \
        == {(200, "ok")} | {(200, x["reply"].strip()) for x in rudder if x["request"]["endpoint"] == "sourceConfig/"}
    assert [(x["status"], x["reply"]) for x in rudder if x["request"]["write_key"] == "WK… (8 characters)"] == [
        (401, "invalid write key\n")]
    assert "WK_E2E" not in json.dumps(log) and "WK_WRONG" not in json.dumps(log)
    # what Mixpanel holds, and the time rules: Python keeps the device timestamp; Node and JS get
    # receivedAt − (sentAt − originalTimestamp): the server's 2024 clock, minus the SDK's send delay
    times = {e["event"]: e["time"] for e in events}
    assert set(times) >= {"Py Order", "Node Order", "Loaded a Page", "Order Completed"}
    assert not {"Py Coupon", "Node Coupon", "Coupon Applied", "Py Wrong Key"} & set(times)
    assert times["Py Order"] == "2024-03-02T09:01:00.000Z"
    for name in ("Node Order", "Loaded a Page", "Order Completed"):
        assert "2024-03-02T10:00:5" in times[name] or times[name].startswith("2024-03-02T10:01:00"), times
    libraries = {e["event"]: e["properties"].get("mp_lib") for e in events}
    assert (libraries["Py Order"], libraries["Node Order"], libraries["Order Completed"]) == (
        "analytics-python", "analytics-node", "RudderLabs JavaScript SDK")
    # enrichment: every event reached Mixpanel with the messageId the data plane gave it as $insert_id
    passed = {r["insert_id"] for x in rudder for r in x["records"] if r["stored"]}
    assert {e["properties"]["$insert_id"] for e in events if not e["event"].startswith("$")} <= passed
    # the drops, in the simulator's own views
    assert [(f["gate"], f["reason"], f["event"]) for f in found if f["kind"] == "dataplane"] == [
        ("processor", "integrations", "track Py Coupon"), ("gateway", "write key", "track Py Wrong Key"),
        ("processor", "integrations", "track Node Coupon"), ("processor", "integrations", "track Coupon Applied")]
    assert state["dropped"] == {
        "RudderStack processor: integrations (the event's integrations object leaves Mixpanel out)": 3,
        "RudderStack gateway: write key (wrong, unknown or disabled write key)": 1}
    for distinct_id, coupon in (("u-py", "Py Coupon"), ("u-node", "Node Coupon"), ("user-ada", "Coupon Applied")):
        lines = explained[distinct_id]["dropped_before_mixpanel"]
        assert any(f"'track {coupon}'" in line and "'MP' does not address Mixpanel" in line for line in lines)
    assert "Mixpanel holds 7 events, 3 users" in out and "the RudderStack data plane received " in out
    assert "mpsim: 3 records dropped: RudderStack processor: integrations" in out  # what the server says on Ctrl-C
