"""The command line: transform, conformance and demo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mpsim.cli import main

SHARED = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "upstream-mp"


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def test_transform_prints_requests(tmp_path, capsys):
    event = write(tmp_path, "e.json", {"type": "track", "event": "E", "userId": "u", "timestamp": "2024-01-01T00:00:00Z"})
    config = write(tmp_path, "c.json", {"Config": {"token": "t", "dataResidency": "eu"}})
    assert main(["transform", event, "--config", config, "--now", "2024-01-02T00:00:00Z"]) == 0
    (out,) = json.loads(capsys.readouterr().out)
    assert out["endpoint"] == "https://api-eu.mixpanel.com/import/"
    assert json.loads(out["body"]["JSON_ARRAY"]["batch"])[0]["event"] == "E"


def test_transform_reports_errors_and_exits_1(tmp_path, capsys):
    event = write(tmp_path, "e.json", {"type": "Track"})
    assert main(["transform", event]) == 1
    (out,) = json.loads(capsys.readouterr().out)
    assert out["error"] == "Event type 'Track' is not supported" and out["statusCode"] == 400


def test_bad_files_give_a_clear_message(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    assert main(["transform", str(bad)]) == 2
    assert "is not valid JSON" in capsys.readouterr().err
    assert main(["transform", str(tmp_path / "missing.json")]) == 2
    assert "cannot read event file" in capsys.readouterr().err


def test_conformance_counts_and_shows_readable_differences(tmp_path, capsys):
    case = {"suite": "processor", "name": "one", "now": "2020-01-25T00:00:00Z",
            "input": [{"message": {"type": "identify", "userId": "u"}, "destination": {"Config": {"token": "t"}}}],
            "expected": [{"output": {"version": "1", "type": "REST", "method": "POST",
                                     "endpoint": "https://api.mixpanel.com/engage/", "endpointPath": "engage",
                                     "headers": {"Content-Type": "application/json"}, "params": {"verbose": 2},
                                     "body": {"JSON": {}, "JSON_ARRAY": {"batch": json.dumps(
                                         [{"$set": {"$email": "x"}, "$token": "t", "$distinct_id": "u",
                                           "$time": None}])}, "XML": {}, "FORM": {}},
                                     "files": {}, "userId": "u"}, "statusCode": 200}]}
    good = json.loads(json.dumps(case))
    good["name"] = "two"
    good["expected"][0]["output"]["body"]["JSON_ARRAY"]["batch"] = json.dumps(
        [{"$set": {}, "$token": "t", "$distinct_id": "u", "$time": None}])
    path = write(tmp_path, "cases.json", [case, good])
    assert main(["conformance", path]) == 1
    out = capsys.readouterr().out
    assert "FAIL one" in out and "body.JSON_ARRAY.batch[0].$set.$email: missing (expected \"x\")" in out
    assert out.strip().splitlines()[-1] == "1 passed, 1 failed"


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/conformance is not beside this checkout")
def test_reference_cases_pass(capsys):
    assert main(["conformance", *map(str, sorted(SHARED.glob("*.json")))]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "67 passed, 0 failed"


def test_demo_replays_the_sample_session(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "event 3 (identify)                 → /engage, /engage, /import" in out
    assert "Mixpanel now holds 7 events, 2 users, 2 user profiles, 1 group profile (original ID merge)" in out
    assert "user-ada ← 4f7c2a9e-1b3d-4e5f-8a6b-7c8d9e0f1a2b" in out


def test_simulate_replays_jsonl_with_errors_reported(tmp_path, capsys):
    lines = [
        {"type": "track", "event": "A", "anonymousId": "d1", "userId": "u1", "messageId": "m1",
         "timestamp": "2024-03-01T00:00:00Z"},
        {"type": "Track", "event": "bad"},
        {"type": "track", "event": "B", "anonymousId": "d1", "userId": "u2", "messageId": "m2",
         "timestamp": "2024-03-01T00:00:00Z"},
    ]
    events = tmp_path / "log.jsonl"
    events.write_text("\n".join(json.dumps(x) for x in lines))
    # --identity-merge is the Mixpanel project's mode; the destination says what RudderStack sends
    config = write(tmp_path, "c.json", {"token": "t", "identityMergeApi": "simplified"})
    assert main(["simulate", str(events), "--config", config, "--identity-merge", "simplified",
                 "--now", "2024-03-02T00:00:00Z"]) == 0
    out = capsys.readouterr().out
    assert "2 events, 2 users" in out
    assert "event 2 (Track bad): RudderStack refused it: Event type 'Track' is not supported" in out
    assert "link $device:d1 + u2: errDeviceMappedToOtherUser" in out


def test_simulate_names_the_bad_line(tmp_path, capsys):
    events = tmp_path / "log.jsonl"
    events.write_text('{"type": "track"}\n{oops\n')
    assert main(["simulate", str(events)]) == 2
    assert "line 2: not valid JSON" in capsys.readouterr().err


def test_serve_command_runs_a_local_mixpanel_until_interrupted():
    import requests

    from .loopback import cli_server

    with cli_server("--token", "tok") as server:
        assert server.url.startswith("http://127.0.0.1:")
        reply = requests.post(f"{server.url}/track", data={"data": json.dumps(
            {"event": "E", "properties": {"token": "tok", "distinct_id": "u"}}), "verbose": "1"}, timeout=5)
        assert reply.json() == {"status": 1, "error": None}
    assert server.returncode == 0 and "Mixpanel holds 1 event, 1 user" in server.out


def test_serve_started_from_a_script_stops_cleanly_on_sigterm():
    """`mpsim serve &` in a script ignores Ctrl-C; `kill` (SIGTERM) must still stop it with its summary."""
    import signal

    from .loopback import cli_server

    with cli_server("--token", "tok", stop_with=signal.SIGTERM, started_by_a_script=True) as server:
        pass
    assert server.returncode == 0 and "mpsim: stopped" in server.out, server.err
