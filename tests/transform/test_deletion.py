"""User deletion requests (spec §9), and the simulator honouring them."""

from __future__ import annotations

import json

import pytest

import mpsim
from mpsim.rudder import deletion_requests


def test_engage_deletion_in_chunks_of_1000():
    users = [{"userId": f"u{i}"} for i in range(1001)] + [{"email": "no-id"}]
    reqs = deletion_requests(users, {"Config": {"token": "tok", "dataResidency": "eu"}})
    assert [len(r.records) for r in reqs] == [1000, 1]
    assert reqs[0].endpoint == "https://api-eu.mixpanel.com/engage"
    assert reqs[0].headers == {"accept": "text/plain", "content-type": "application/json"}
    assert json.loads(reqs[1].body_text()) == [{"$distinct_id": "u1000", "$token": "tok", "$delete": None,
                                                 "$ignore_alias": True}]


def test_task_deletion():
    (req,) = deletion_requests([{"userId": "a"}, {"userId": "b"}],
                               {"token": "tok", "userDeletionApi": "task", "gdprApiToken": "g", "dataResidency": "eu"})
    assert req.endpoint == "https://eu.mixpanel.com/api/app/data-deletions/v3.0/" and req.params == {"token": "tok"}
    assert req.headers["Authorization"] == "Bearer g"
    assert req.records == [{"distinct_ids": ["a", "b"], "compliance_type": "GDPR"}]
    (us,) = deletion_requests([{"userId": "a"}], {"token": "t", "userDeletionApi": "task", "gdprApiToken": "g"})
    assert us.endpoint.startswith("https://mixpanel.com/") and us.records[0]["compliance_type"] == "CCPA"


def test_deletion_errors():
    with pytest.raises(mpsim.ConfigurationError, match="API Token is a required field"):
        deletion_requests([{"userId": "a"}], {})
    with pytest.raises(mpsim.ConfigurationError, match="GDPR API Token"):
        deletion_requests([{"userId": "a"}], {"token": "t", "userDeletionApi": "task"})
    with pytest.raises(mpsim.MpsimError, match="userAttributes is not an array"):
        deletion_requests({"userId": "a"}, {"token": "t"})


def test_simulator_deletes_the_profiles():
    sim = mpsim.Simulator(token="tok", now="2024-03-02T00:00:00Z")
    sim.send(mpsim.transform({"type": "identify", "userId": "u1", "traits": {"email": "a@b.c"}}, {"token": "tok"}))
    assert sim.profile("u1") is not None
    (reply,) = sim.send(deletion_requests([{"userId": "u1"}], {"token": "tok"}))
    assert reply.body == "1" and sim.profile("u1") is None
