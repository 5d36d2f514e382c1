"""The official Node client (npm ``mixpanel``), unchanged, against ``mpsim.serve``: every call succeeds
as the client judges it, and Mixpanel's state is what the calls asked for."""

from __future__ import annotations

import time

import pytest

import mpsim
from tests.js.clients import run_node_client

NOW_S = int(time.time())


@pytest.fixture
def server():
    sim = mpsim.Simulator(token="tok", api_secret="sec", service_accounts={"sa.user": "sa-secret"},
                          project_id=42)
    with mpsim.serve(sim) as running:
        yield running


@pytest.fixture
def tls_server():
    sim = mpsim.Simulator(token="tok", api_secret="sec", service_accounts={"sa.user": "sa-secret"},
                          project_id=42)
    with mpsim.serve(sim, tls=True) as running:
        yield running


def http_config(server) -> dict:
    return {"host": f"{server.host}:{server.port}", "protocol": "http"}


def test_track_people_and_groups_over_http(server):
    results = run_node_client("tok", http_config(server), [
        ["track", "Signed Up", {"distinct_id": "u1", "plan": "pro"}],
        ["people.set", "u1", {"$first_name": "Ada", "plan": "pro"}],
        ["people.increment", "u1", "logins", 2],
        ["people.union", "u1", {"tags": ["a", "b"]}],
        ["groups.set", "company", "c1", {"name": "Acme"}],
        ["groups.set_once", "company", "c1", {"founded": 1999}],
    ])
    assert [r["error"] for r in results] == [None] * 6
    sim = server.sim
    assert list(sim.events["event"]) == ["Signed Up"]
    assert sim.events["properties"][0]["mp_lib"] == "node"
    profile = sim.profile("u1")
    assert (profile["$first_name"], profile["plan"], profile["logins"], profile["tags"]) == ("Ada", "pro", 2, ["a", "b"])
    assert sim.group("company", "c1")["name"] == "Acme" and sim.group("company", "c1")["founded"] == 1999


def test_a_failed_track_is_reported_by_the_client(server):
    results = run_node_client("tok", http_config(server), [["track", "", {"distinct_id": "u1"}]])
    assert results[0]["error"] == "Mixpanel Server Error: 0"


def test_import_and_import_batch_with_a_secret_over_https(tls_server):
    config = {"host": f"127.0.0.1:{tls_server.port}", "protocol": "https", "secret": "sec"}
    events = [{"event": "Old Order", "properties": {"distinct_id": f"u{i}", "time": NOW_S - 86400 * 30,
                                                     "$insert_id": f"order-{i}"}} for i in range(120)]
    results = run_node_client("tok", config, [
        ["import", "Imported", NOW_S - 86400 * 10, {"distinct_id": "u1", "$insert_id": "imp-1"}],
        ["import_batch", events],
    ], ca_path=tls_server.ca_path)
    assert results[0]["error"] is None
    assert results[1]["error"] is None and results[1].get("errors") is None
    sim = tls_server.sim
    assert len(sim.events) == 121
    import_requests = [x for x in sim.log if x.request["endpoint"] == "import"]
    assert [x.request["method"] for x in import_requests] == ["GET", "POST", "POST", "POST"]  # 50 per batch
    assert all(x.reply == "1" for x in import_requests)


def test_import_batch_reports_a_failing_batch(tls_server):
    config = {"host": f"127.0.0.1:{tls_server.port}", "protocol": "https", "secret": "sec"}
    events = [{"event": "E", "properties": {"distinct_id": "u1", "time": NOW_S, "$insert_id": "ok-1"}},
              {"event": "", "properties": {"distinct_id": "u1", "time": NOW_S, "$insert_id": "bad-1"}}]
    results = run_node_client("tok", config, [["import_batch", events]], ca_path=tls_server.ca_path)
    assert results[0]["errors"] == ["Error: Mixpanel Server Error: 0"]
    assert len(tls_server.sim.events) == 1  # the valid record is imported anyway


def test_import_with_a_service_account_over_https(tls_server):
    config = {"host": f"127.0.0.1:{tls_server.port}", "protocol": "https",
              "credentials": ["sa.user", "sa-secret", "42"]}
    results = run_node_client("tok", config, [
        ["import", "Imported", NOW_S - 3600, {"distinct_id": "u1", "$insert_id": "imp-1"}],
        ["import", "No Insert Id", NOW_S - 3600, {"distinct_id": "u1"}],  # /import requires $insert_id
    ], ca_path=tls_server.ca_path)
    assert results[0]["error"] is None
    assert results[1]["error"] == "Mixpanel Server Error: 0"
    assert list(tls_server.sim.events["event"]) == ["Imported"]


def test_wrong_service_account_secret_is_refused(tls_server):
    config = {"host": f"127.0.0.1:{tls_server.port}", "protocol": "https",
              "credentials": ["sa.user", "wrong", "42"]}
    results = run_node_client("tok", config, [["import", "E", NOW_S, {"distinct_id": "u1"}]],
                              ca_path=tls_server.ca_path)
    assert results[0]["error"].startswith("Mixpanel Server Error:")
    assert len(tls_server.sim.events) == 0


def test_verbose_mode_reads_json(server):
    config = {**http_config(server), "verbose": True}
    results = run_node_client("tok", config, [["track", "E", {"distinct_id": "u1"}],
                                              ["track", "", {"distinct_id": "u1"}]])
    assert results[0]["error"] is None
    assert results[1]["error"] == "Mixpanel Server Error: 'event' is invalid: must be a non-empty string"
