"""rudder-sdk-python, unchanged, into the data plane: in-process (mpsim.mock) and over HTTP (mpsim.serve)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

import mpsim

from .helpers import CONFIG, WK

client_module = pytest.importorskip("rudderstack.analytics.client",
                                    reason="rudder-sdk-python is not installed (pip install -e '.[test]')")


def _client(url: str, **options):
    errors: list = []
    client = client_module.Client(WK, host=url, sync_mode=True, on_error=lambda e, batch: errors.append(e),
                                  max_retries=0, **options)
    return client, errors


def _journey(client):
    client.identify("u1", {"email": "ada@example.com", "firstName": "Ada"}, anonymous_id="anon-1")
    client.track("u1", "Order Completed", {"revenue": 12.5}, anonymous_id="anon-1")
    client.page("u1", name="Pricing", properties={"path": "/pricing"})
    client.flush()


def test_python_sdk_in_process_through_mock():
    sim = mpsim.Simulator(token="T")
    mocker = mpsim.mock(sim, rudder=CONFIG, write_key=WK, data_plane_url="https://dataplane.test")
    with mocker:
        client, errors = _client("https://dataplane.test")
        _journey(client)
    assert errors == []
    plane = mocker.rudder
    assert [e.status for e in plane.log] == [200, 200, 200]
    assert all(e.library == f"analytics-python {client_module.VERSION}" for e in plane.log)
    assert plane.summary()["delivered"] == 3 and plane.drops == []
    # identify traits travel only in context.traits; the transformer still makes a profile of them
    assert sim.profile("u1")["$email"] == "ada@example.com"
    assert sim.canonical("anon-1") == "u1"
    events = sim.events
    assert list(events["event"]) == ["$merge", "Order Completed", "Loaded a Page"]
    assert events.iloc[1]["properties"]["revenue"] == 12.5
    assert set(events["distinct_id"]) == {"u1"}


def test_python_sdk_keeps_the_device_timestamp_over_http():
    sim = mpsim.Simulator(token="T", now="2024-03-02T10:01:00Z")
    with mpsim.serve(sim, rudder=CONFIG, write_key=WK) as server:
        client, errors = _client(server.url, gzip=True)
        device_time = datetime(2024, 3, 2, 9, 0, 0, 123456, tzinfo=timezone.utc)
        client.track("u1", "Signed Up", timestamp=device_time)
        client.flush()
    assert errors == []
    (job,) = server.rudder.jobs
    assert job.message["timestamp"] == "2024-03-02T09:00:00.123Z"  # kept (truncated to ms)
    assert job.message["originalTimestamp"] == job.message["sentAt"] == "2024-03-02T10:01:00.000Z"  # = receivedAt
    assert job.message["channel"] == "server"
    assert str(sim.events["time"].iloc[0]).startswith("2024-03-02 09:00:00.123")


def test_python_sdk_wrong_write_key_is_refused_and_not_retried():
    sim = mpsim.Simulator(token="T")
    with mpsim.serve(sim, rudder=CONFIG, write_key="THE_RIGHT_KEY") as server:
        client, _ = _client(server.url)
        with pytest.raises(Exception, match="invalid write key") as raised:
            client.track("u1", "Signed Up")  # sync mode: the SDK raises what the gateway said
    assert "401" in str(raised.value)
    assert [(e.status, e.answer) for e in server.rudder.log] == [(401, "invalid write key\n")]
    assert len(sim.events) == 0
