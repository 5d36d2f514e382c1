"""Arbitrary JSON-like messages and configs give requests or a TransformError, never anything else."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mpsim

scalars = st.none() | st.booleans() | st.integers(-2**60, 2**60) | st.floats(allow_nan=False) | st.text(max_size=8)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=12)
keys = st.sampled_from(["a", "a.b", "0", "10", "email", "firstName", "lastName", "name", "revenue", "groupId",
                        "company", "x.0", "address", "$name", "category", "type", "token", "__proto__"])
objects = st.dictionaries(keys | st.text(max_size=5), json_values, max_size=6)
timestamps = st.sampled_from(["2020-01-24T06:29:02.403Z", "garbage", None, 0, 1579847342403, "2020-02-30", True])

messages = st.fixed_dictionaries(
    {"type": st.sampled_from(["track", "page", "screen", "identify", "alias", "group", "Track", ""]) | json_values},
    optional={
        "event": json_values, "userId": json_values, "anonymousId": json_values, "previousId": json_values,
        "groupId": json_values, "messageId": json_values, "timestamp": timestamps,
        "originalTimestamp": timestamps, "channel": st.sampled_from(["web", "mobile"]) | json_values,
        "name": json_values, "category": json_values, "request_ip": json_values, "session_id": json_values,
        "properties": objects | json_values, "traits": objects | json_values,
        "context": st.fixed_dictionaries({}, optional={
            "traits": objects | json_values, "ip": json_values, "campaign": objects | json_values,
            "userAgent": st.sampled_from(["Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", "curl/8"]) | json_values,
            "device": st.fixed_dictionaries({}, optional={"type": st.sampled_from(["ios", "android"]) | json_values,
                                                          "token": json_values}) | json_values,
            "location": objects | json_values, "active": json_values, "page": objects,
        }) | json_values,
    },
)
property_lists = st.lists(st.fixed_dictionaries({"property": st.text(max_size=8) | keys}), max_size=3)
configs = st.fixed_dictionaries({}, optional={
    "token": st.text(max_size=5) | json_values, "identityMergeApi": st.sampled_from(["simplified", "original"]),
    "dataResidency": st.sampled_from(["eu", "in", "us", "EU"]), "strictMode": json_values,
    "useNewMapping": json_values, "dropTraitsInTrackEvent": json_values,
    "setOnceProperties": property_lists, "unionProperties": property_lists, "appendProperties": property_lists,
    "propIncrements": property_lists | json_values,
    "groupKeySettings": st.lists(st.fixed_dictionaries({"groupKey": keys | json_values}), max_size=3) | json_values,
    "useUserDefinedPageEventName": json_values, "userDefinedPageEventTemplate": st.text(max_size=30) | json_values,
    "serviceAccountUserName": json_values, "serviceAccountSecret": json_values, "projectId": json_values,
})


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages, configs)
def test_any_message_gives_requests_or_a_transform_error(message, config):
    try:
        requests = mpsim.transform(message, config, now="2021-01-01T00:00:00Z")
    except mpsim.TransformError as exc:
        assert exc.status_code in (400, 500) and exc.message
        return
    for request in requests:
        assert request.path in ("import", "engage", "groups")
        body = json.loads(request.body_text())
        assert isinstance(body, list) and len(body) == len(request.records)
        assert request.to_rudder()["endpointPath"] == request.path


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(messages, st.integers(0, 5)), max_size=8), st.booleans())
def test_any_batch_accounts_for_every_job(pairs, gzip):
    events = [{"message": m, "destination": {"Config": {"token": "t"}}, "metadata": {"jobId": i + 1, "userId": u}}
              for i, (m, u) in enumerate(pairs)]
    items = mpsim.transform_batch(events, gzip=gzip, now="2021-01-01T00:00:00Z")
    seen = sorted(j for item in items for j in item.job_ids)
    produced = [i + 1 for i, (m, _) in enumerate(pairs)]
    assert seen == produced  # every job ends in exactly one item, as a batch member or an error
    for item in items:
        item.to_rudder()
