"""Wire formats and Mixpanel's answers (ingestion spec §1)."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from mpsim import WireRequest
from tests.mixpanel.helpers import basic, event, post, post_import, sim


def track_get(s, data: str, query: str = ""):
    return s.handle(WireRequest("GET", f"https://api.mixpanel.com/track?data={quote(data)}{query}"))


def test_track_get_with_base64_data_and_plain_answer():
    s = sim()
    data = base64.b64encode(json.dumps(event("Viewed")).encode()).decode()
    reply = track_get(s, data)
    assert (reply.status, reply.body, reply.content_type) == (200, "1", "text/plain")
    assert list(s.events["event"]) == ["Viewed"]


def test_track_accepts_url_safe_base64_without_padding_and_is_case_sensitive():
    s = sim()
    record = event("CaseSensitive", distinct_id="UserMixedCase", **{"PropName": "Value?>"})
    data = base64.urlsafe_b64encode(json.dumps(record).encode()).decode().rstrip("=")
    assert track_get(s, data).body == "1"
    props = s.events["properties"][0]
    assert props["PropName"] == "Value?>" and props["distinct_id"] == "UserMixedCase"


def test_track_form_post_with_verbose_json_answers():
    s = sim()
    body = f"data={quote(json.dumps(event()))}&verbose=1&ip=0".encode()
    reply = s.handle(WireRequest("POST", "https://api.mixpanel.com/track",
                                 {"Content-Type": "application/x-www-form-urlencoded"}, body))
    assert reply.json() == {"status": 1, "error": None}
    bad = f"data={quote(json.dumps(event(time='x')))}&verbose=1".encode()
    reply = s.handle(WireRequest("POST", "https://api.mixpanel.com/track",
                                 {"Content-Type": "application/x-www-form-urlencoded"}, bad))
    assert reply.status == 200 and reply.json()["status"] == 0
    assert reply.json()["error"] == "'properties.time' is invalid: must be specified as seconds since epoch"


def test_track_one_means_at_least_one_valid():
    s = sim()
    assert post(s, "track", [event(time="x"), event(insert_id="i-2")], verbose=None).body == "1"
    assert post(s, "track", [event(time="x")], verbose=None).body == "0"
    assert len(s.events) == 1


def test_unparseable_payloads():
    s = sim()
    assert track_get(s, "!!not-base64!!").body == "0"
    reply = s.handle(WireRequest("POST", "https://api.mixpanel.com/track?verbose=1", {}, b"{broken"))
    assert reply.json()["status"] == 0 and "not valid JSON" in reply.json()["error"]
    reply = post_import(s, None, raw=b"[{oops")
    assert reply.status == 400 and reply.json()["status"] == "Bad Request" and "failed_records" not in reply.json()
    assert len(s.raw_events) == 0


def test_img_and_callback_answers():
    s = sim()
    data = json.dumps(event())
    assert track_get(s, data, "&img=1").content_type == "image/gif"
    reply = track_get(s, data, "&callback=cb&verbose=1")
    assert reply.content_type == "text/javascript" and reply.body.startswith("cb({")


def test_ip_1_derives_a_distinct_id_from_the_request_ip():
    s = sim()
    record = event(distinct_id=None)
    s.handle(WireRequest("GET", f"https://api.mixpanel.com/track?ip=1&data={quote(json.dumps(record))}",
                         {"X-Forwarded-For": "198.51.100.4"}))
    s.handle(WireRequest("GET", f"https://api.mixpanel.com/track?data={quote(json.dumps(event(distinct_id=None, insert_id='i-2')))}"))
    ids = list(s.raw_events["stored_distinct_id"])
    assert ids[0].startswith("$ip:") and len(ids[0]) == 20 and ids[1] == ""


def test_import_strict_answers():
    s = sim()
    assert post_import(s, [event()], strict=True).json() == {"code": 200, "num_records_imported": 1, "status": "OK"}
    reply = post_import(s, [event(insert_id="i-2"), event(time=None, insert_id="i-3")], strict=True)
    assert reply.status == 400
    assert reply.json() == {
        "code": 400, "error": "some data points in the request failed validation",
        "failed_records": [{"index": 1, "$insert_id": "i-3", "field": "properties.time",
                            "message": "'properties.time' is invalid: must be specified as seconds since epoch"}],
        "num_records_imported": 1, "status": "Bad Request"}
    assert len(s.events) == 2  # the valid record of the partly invalid batch is kept


def test_import_without_strict_uses_numeric_status():
    s = sim()
    assert post_import(s, [event()]).json() == {"code": 200, "error": None, "num_records_imported": 1, "status": 1}
    reply = post_import(s, [event(insert_id="i-9"), event(distinct_id=None, insert_id="i-8")])
    assert reply.status == 200
    assert reply.json() == {"code": 200, "error": "some data points in the request failed validation",
                            "num_records_imported": 1, "status": 0}


def test_import_ndjson_gzip_and_a_broken_line():
    s = sim()
    lines = "\n".join(json.dumps(event(insert_id=f"n-{i}")) for i in range(3)) + "\n{not json\n"
    reply = post_import(s, None, raw=lines.encode(), gz=True, strict=True,
                        headers={"Content-Type": "application/x-ndjson"})
    assert reply.status == 400 and reply.json()["num_records_imported"] == 3
    assert reply.json()["failed_records"][0]["index"] == 3
    assert len(s.events) == 3


def test_import_form_field_data_like_the_python_client():
    s = sim(api_secret="sec")
    body = f"data={quote(json.dumps([event()]))}&verbose=1&api_key=legacy".encode()
    reply = s.handle(WireRequest("POST", "https://api.mixpanel.com/import",
                                 {"Content-Type": "application/x-www-form-urlencoded", **basic("sec")}, body))
    assert reply.json()["status"] == 1 and len(s.events) == 1


def test_import_authentication():
    s = sim(api_secret="sec", service_accounts={"sa.user": "sa-secret"}, project_id=123)
    good = json.dumps([event()]).encode()

    def send(headers, query=""):
        return s.handle(WireRequest("POST", "https://api.mixpanel.com/import" + query,
                                    {"Content-Type": "application/json", **headers}, good))

    assert send(basic("tok")).status == 200
    assert send(basic("sec")).status == 200
    assert send(basic("sa.user", "sa-secret"), "?project_id=123").status == 200
    assert send({"Authorization": "Basic sa.user:sa-secret"}, "?project_id=123").status == 200  # plain-text pair
    for headers, query in [({}, ""), (basic("wrong"), ""), (basic("sa.user", "nope"), "?project_id=123"),
                           (basic("sa.user", "sa-secret"), "?project_id=999")]:
        reply = send(headers, query)
        assert reply.status == 401 and reply.json()["status"] == "Unauthorized", headers


def test_import_limits():
    s = sim()
    reply = post_import(s, [event(insert_id=f"x-{i}") for i in range(2001)])
    assert reply.status == 400 and "2000" in reply.json()["error"]
    big = b"[" + b" " * (10 * 1024 * 1024) + b"]"
    reply = post_import(s, None, raw=big)
    assert reply.status == 413 and reply.json()["status"] == "Request Entity Too Large"
    assert len(s.raw_events) == 0


def test_engage_verbose_2_failure_is_http_400():
    s = sim()
    reply = post(s, "engage", {"$token": "tok", "$set": {"a": 1}}, verbose="2")
    assert reply.status == 400
    assert reply.json() == {"error": "Engage API error: $distinct_id, missing or empty", "status": 0}
    ok = post(s, "engage", {"$token": "tok", "$distinct_id": "u1", "$set": {"a": 1}}, verbose="2")
    assert ok.status == 200 and ok.json() == {"status": 1, "error": None}


def test_engage_rejects_gzip_and_unknown_paths():
    s = sim()
    import gzip as gz

    reply = s.handle(WireRequest("POST", "https://api.mixpanel.com/engage?verbose=1",
                                 {"Content-Encoding": "gzip"}, gz.compress(b"{}")))
    assert reply.json()["status"] == 0
    assert s.handle(WireRequest("POST", "https://api.mixpanel.com/decide", {}, b"")).status == 404
    refused = s.handle(WireRequest("PATCH", "https://api.mixpanel.com/import", {}, b""))
    assert refused.status == 405 and refused.headers["Allow"] == "GET, POST, OPTIONS"


def test_wrong_token_is_answered_as_accepted_and_discarded():
    s = sim()
    bad = event()
    bad["properties"]["token"] = "other"
    assert post(s, "track", [bad], verbose=None).body == "1"
    assert post(s, "engage", {"$token": "other", "$distinct_id": "u1", "$set": {"a": 1}}).json()["status"] == 1
    assert len(s.raw_events) == 0 and s.profile("u1") is None
    assert s.log[0].records[0].note.startswith("token does not match")


def test_token_none_accepts_any_token():
    s = sim(token=None)
    assert post(s, "track", [event()], verbose=None).body == "1"
    assert post_import(s, [event(insert_id="i-2")], headers=basic("anything")).json()["status"] == 1
    assert len(s.events) == 2


def test_other_residency_hosts_answer_success_and_store_nothing():
    s = sim(residency="eu")
    assert post_import(s, [event()], host="api.mixpanel.com").json()["status"] == 1
    assert post(s, "engage", {"$token": "tok", "$distinct_id": "u", "$set": {"a": 1}}).json()["status"] == 1
    assert len(s.raw_events) == 0 and s.profile("u") is None
    post_import(s, [event()], host="api-eu.mixpanel.com")
    assert list(s.events["properties"].map(lambda p: p["$mp_api_endpoint"])) == ["api-eu.mixpanel.com"]


def test_log_keeps_every_request_with_its_answer():
    s = sim()
    post(s, "track", [event()], verbose=None)
    post_import(s, [event(time="bad")])
    assert [(x.request["endpoint"], x.status) for x in s.log] == [("track", 200), ("import", 200)]
    assert s.log[1].records[0].field == "properties.time"


def test_a_project_without_credentials_accepts_unauthenticated_imports():
    s = sim(token=None)
    reply = s.handle(WireRequest("POST", "https://api.mixpanel.com/import", {"Content-Type": "application/json"},
                                 json.dumps([event()]).encode()))
    assert reply.status == 200 and len(s.events) == 1
    strict = sim(token=None, api_secret="sec")
    reply = strict.handle(WireRequest("POST", "https://api.mixpanel.com/import", {}, json.dumps([event()]).encode()))
    assert reply.status == 401


def test_gzip_bomb_is_refused_without_inflating_it():
    import gzip as gz

    s = sim()
    bomb = gz.compress(b"[" + b" " * (11 * 1024 * 1024) + b"]")
    assert len(bomb) < 20_000
    reply = post_import(s, None, raw=bomb, headers={"Content-Encoding": "gzip"})
    assert reply.status == 413 and reply.json()["status"] == "Request Entity Too Large"
    truncated = gz.compress(json.dumps([event()]).encode())[:-12]
    reply = post_import(s, None, raw=truncated, headers={"Content-Encoding": "gzip"})
    assert reply.status == 400 and "gzip" in reply.json()["error"]


def test_engage_strict_reports_failed_records_without_insert_ids():
    s = sim()
    reply = post(s, "engage", [{"$token": "tok", "$distinct_id": "u", "$set": {"a": 1}},
                               {"$token": "tok", "$set": {"a": 1}}], query="strict=1")
    assert reply.status == 400
    assert reply.json()["failed_records"] == [{"index": 1, "field": "$distinct_id",
                                               "message": "$distinct_id, missing or empty"}]
    assert reply.json()["num_records_imported"] == 1
