"""The data plane behind mpsim's doors: the HTTP server, the requests-mock adapter and the CLI."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import pytest
import requests
import requests_mock

import mpsim
from mpsim.rudder.dataplane import DataPlane

from ..loopback import cli_server
from .helpers import CONFIG, WK, auth, event

ORIGIN = "http://127.0.0.1:9"


def test_serve_answers_rudderstack_and_mixpanel_on_one_port():
    sim = mpsim.Simulator(token="T")
    with mpsim.serve(sim, rudder=CONFIG, write_key=WK) as server:
        assert isinstance(server.rudder, DataPlane)
        reply = requests.post(f"{server.url}/v1/batch", json={"batch": [event(userId="u1")]},
                              headers={**auth(), "Origin": ORIGIN}, timeout=5)
        assert (reply.status_code, reply.text) == (200, "ok")
        assert reply.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert reply.headers["Access-Control-Allow-Credentials"] == "true"
        bad = requests.post(f"{server.url}/v1/track", json=event(), headers=auth("nope"), timeout=5)
        assert (bad.status_code, bad.text, bad.headers["X-Content-Type-Options"]) == (401, "invalid write key\n", "nosniff")
        preflight = requests.options(f"{server.url}/v1/track", headers={
            "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,anonymousid,content-type,sentat"}, timeout=5)
        assert preflight.status_code == 204
        assert preflight.headers["Access-Control-Allow-Headers"] == "authorization,anonymousid,content-type,sentat"
        # Mixpanel's own paths still reach the simulator directly
        direct = requests.post(f"{server.url}/track", data={"data": json.dumps(
            {"event": "Direct", "properties": {"token": "T", "distinct_id": "u9"}})}, timeout=5)
        assert direct.text == "1"
        # the request IP the gateway records is the socket's
        assert server.rudder.jobs[0].request_ip == "127.0.0.1"
    assert sorted(sim.events["event"]) == ["Direct", "Signed Up"]


def test_serve_takes_a_ready_data_plane():
    sim = mpsim.Simulator()
    plane = DataPlane(sim, CONFIG, write_key=WK, legacy_answers=True)
    with mpsim.serve(sim, rudder=plane) as server:
        assert server.rudder is plane
        assert requests.post(f"{server.url}/v1/track", json=event(), headers=auth(), timeout=5).text == "OK"
    with pytest.raises(ValueError, match="another simulator"):
        mpsim.serve(mpsim.Simulator(), rudder=plane)


def test_serve_without_rudder_keeps_v1_paths_as_before():
    with mpsim.serve(mpsim.Simulator()) as server:
        assert server.rudder is None
        reply = requests.post(f"{server.url}/v1/batch", json={"batch": []}, timeout=5)
        assert reply.status_code != 200 or reply.text != "ok"


def test_mock_intercepts_a_data_plane_url():
    sim = mpsim.Simulator(token="T")
    mocker = mpsim.mock(sim, rudder=CONFIG, write_key=WK, data_plane_url="https://dp.example.com/")
    with mocker:
        reply = requests.post("https://dp.example.com/v1/track", json=event(userId="u1"), headers=auth(), timeout=5)
        assert (reply.status_code, reply.text) == (200, "ok")
        with pytest.raises(requests_mock.exceptions.NoMockAddress):
            requests.post("https://dp.example.com.evil.test/v1/track", json=event(), timeout=5)
    assert list(sim.events["event"]) == ["Signed Up"]
    assert mocker.rudder.summary()["delivered"] == 1


def test_cli_serve_with_rudder(tmp_path):
    dest = tmp_path / "dest.json"
    dest.write_text(json.dumps({"Config": {"token": "tok"}}))
    with cli_server("--token", "tok", "--rudder", str(dest), "--write-key", "WK1") as server:
        url = server.url
        assert "data plane URL" in server.proc.stdout.readline()
        key = {"Authorization": "Basic " + base64.b64encode(b"WK1:").decode()}
        assert requests.post(f"{url}/v1/track", json=event(userId="u1"), headers=key, timeout=5).text == "ok"
        assert requests.post(f"{url}/v1/track", json=event(), headers=auth("WK2"), timeout=5).status_code == 401
    assert server.returncode == 0 and "Mixpanel holds 1 event, 1 user" in server.out
    assert "data plane received 2 events in 2 requests: 1 stored, 1 delivered to Mixpanel, 1 dropped at gateway" \
        in server.out


def test_cli_serve_with_a_missing_destination_file(tmp_path):
    result = subprocess.run([sys.executable, "-m", "mpsim.cli", "serve", "--port", "0", "--rudder",
                             str(tmp_path / "missing.json")], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "missing.json" in result.stderr and "Traceback" not in result.stderr


def test_cli_serve_legacy_answers_and_no_dedup(tmp_path):
    dest = tmp_path / "dest.json"
    dest.write_text(json.dumps({"token": "tok"}))
    with cli_server("--token", "tok", "--rudder", str(dest), "--write-key", "WK1", "--legacy-answers",
                    "--no-dedup") as server:
        url = server.url
        same = event(userId="u1", messageId="m-1")
        assert [requests.post(f"{url}/v1/track", json=same, headers=auth("WK1"), timeout=5).text
                for _ in range(2)] == ["OK", "OK"]  # the answer of servers before v1.46.0
        assert requests.post(f"{url}/v1/track", json=same, headers=auth("WK2"), timeout=5).text == "Invalid Write Key\n"
        events = requests.get(f"{url}/_mpsim/events", params={"raw": "1"}, timeout=5).json()
    assert len(events) == 2  # no dedup: both copies reached Mixpanel (which keeps the latest of the two)


def test_cli_serve_data_plane_options_need_rudder(capsys):
    from mpsim.cli import main

    assert main(["serve", "--port", "0", "--legacy-answers"]) == 2
    assert "give --rudder DEST.json too" in capsys.readouterr().err
