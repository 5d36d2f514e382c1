"""What real clients send and need back, in process (issue 10 item 1): GET /import, plain /import answers,
the browser SDK's $identify, CORS, token-less records, JSONP callbacks."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
import requests

import mpsim
from mpsim import WireRequest
from mpsim.mixpanel.api import safe_callback
from tests.mixpanel.helpers import NOW_S, UUID, basic, event, post, post_import, sim


def b64(value: object) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


def test_import_accepts_get_with_base64_data_like_the_node_client():
    s = sim(api_secret="sec")
    url = f"https://api.mixpanel.com/import?ip=0&verbose=0&data={quote(b64(event('Imported')))}"
    reply = s.handle(WireRequest("GET", url, basic("sec")))
    assert (reply.status, reply.body, reply.content_type) == (200, "1", "text/plain")
    assert list(s.events["event"]) == ["Imported"]


def test_import_without_verbose_or_strict_answers_plain_1_or_0():
    s = sim()
    assert post_import(s, [event()], verbose=False).body == "1"
    reply = post_import(s, [event(insert_id="i-2"), event(time=None, insert_id="i-3")], verbose=False)
    assert (reply.status, reply.body) == (200, "0")
    assert len(s.events) == 2  # the valid records are imported all the same


def test_import_with_verbose_or_strict_keeps_json():
    s = sim()
    assert post_import(s, [event()]).json()["status"] == 1  # verbose=1, as the Python client sends
    assert post_import(s, [event(insert_id="i-2")], strict=True, verbose=False).json()["status"] == "OK"


def browser_identify(anon: str, user: str, insert_id: str = "idf-1") -> dict:
    """$identify exactly as mixpanel-browser's identify() sends it."""
    return {"event": "$identify", "properties": {"token": "tok", "time": NOW_S, "$insert_id": insert_id,
                                                 "distinct_id": user, "$anon_distinct_id": anon,
                                                 "$device_id": anon.removeprefix("$device:"), "$user_id": user}}


def test_browser_sdk_identify_merges_its_device_id_with_the_user():
    s = sim()
    device = "$device:" + UUID
    post(s, "track", [event("Viewed", distinct_id=device, insert_id="v-1"), browser_identify(device, "u1")])
    assert s.canonical(device) == "u1" == s.canonical("u1")
    assert not s.refused_merges
    assert set(s.events["distinct_id"]) == {"u1"}


def test_device_prefix_is_stripped_for_the_shape_check_only():
    s = sim()
    post(s, "track", [browser_identify("$device:not-a-uuid", "u1")])
    assert [m.reason for m in s.refused_merges] == ["errAnonDistinctIdNonGUIDForm"]
    assert s.canonical("$device:not-a-uuid") == "$device:not-a-uuid"


def test_anon_id_wins_over_anon_distinct_id_when_both_are_sent():
    s = sim()
    record = browser_identify("$device:" + UUID, "u1")
    record["properties"].update({"$anon_id": "bad-anon", "$identified_id": "u1"})
    post(s, "track", [record])
    assert [m.reason for m in s.refused_merges] == ["errAnonDistinctIdNonGUIDForm"]


@pytest.mark.parametrize("token", [None, ""])
def test_a_track_record_without_a_token_fails_with_mixpanels_message(token):
    s = sim()
    record = event()
    if token is None:
        del record["properties"]["token"]
    else:
        record["properties"]["token"] = token
    assert post(s, "track", [record]).json() == {"status": 0, "error": "token, missing or empty"}
    assert post(s, "track", [record], verbose=None).body == "0"
    assert len(s.raw_events) == 0
    assert s.log[-1].records[0].field == "properties.token"


def test_a_wrong_token_stays_accepted_and_ignored():
    s = sim()
    assert post(s, "track", [event(token="other")]).json() == {"status": 1, "error": None}
    assert len(s.raw_events) == 0


@pytest.mark.parametrize("endpoint,record", [
    ("engage", {"$distinct_id": "u1", "$set": {"a": 1}}),
    ("groups", {"$group_key": "company", "$group_id": "c1", "$set": {"a": 1}}),
])
def test_a_profile_record_without_a_token_fails(endpoint, record):
    s = sim(token=None)
    assert post(s, endpoint, record).json() == {"status": 0, "error": "$token, missing or empty"}
    assert len(s.profiles) == 0 and len(s.groups) == 0


def test_import_does_not_need_a_token_in_the_record():
    s = sim()
    record = event()
    del record["properties"]["token"]
    assert post_import(s, [record]).json()["status"] == 1  # /import authenticates with credentials


def cors(sim_: mpsim.Simulator, method: str, url: str, **kw) -> requests.Response:
    with mpsim.mock(sim_):
        return requests.request(method, url, **kw)


def test_cors_preflight_allows_any_origin_without_touching_the_simulator():
    s = sim()
    s.fail_next(503)
    reply = cors(s, "OPTIONS", "https://api-js.mixpanel.com/track/",
                 headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
                          "Access-Control-Request-Headers": "content-type"})
    assert reply.status_code == 204
    assert reply.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert reply.headers["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in reply.headers["Access-Control-Allow-Methods"]
    assert reply.headers["Access-Control-Allow-Headers"] == "content-type"
    assert len(s.log) == 0  # neither logged nor using up the injected fault
    assert cors(s, "POST", "https://api.mixpanel.com/track", data={"data": json.dumps(event())}).status_code == 503


def test_every_answer_carries_cors_headers():
    s = sim()
    reply = cors(s, "POST", "https://api.mixpanel.com/track?verbose=1", data={"data": json.dumps(event())},
                 headers={"Origin": "http://localhost:3000"})
    assert reply.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert cors(s, "GET", "https://api.mixpanel.com/nowhere").headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("given,expected", [
    ("cb", "cb"), ("mixpanel._jsc[123]", "mixpanel._jsc[123]"), ("(function(){})", "(function(){})"),
    ("alert(1)//", "alert1"), ("</script><script>x", "scriptscriptx"), ("1abc", ""), ("", ""),
])
def test_jsonp_callback_cannot_inject_script(given, expected):
    assert safe_callback(given) == expected
    s = sim()
    reply = s.handle(WireRequest("GET", f"https://api.mixpanel.com/track?callback={quote(given)}"
                                        f"&data={quote(json.dumps(event()))}"))
    assert reply.body == (f"{expected}(1)" if expected else "1")
