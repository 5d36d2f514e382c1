"""The gateway: routes, auth, answers, body rules, storage (data-plane spec §1, §2.1)."""

from __future__ import annotations

import gzip
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpsim.mixpanel.wire import WireRequest
from mpsim.rudder.dataplane.gateway import basic_write_key, clean_id, md5_uuid

from .helpers import WK, auth, event, plane, post, reasons


def test_single_event_route_answers_ok_and_overwrites_type():
    dp = plane()
    reply = post(dp, "/v1/track", {**event("identify"), "event": "Signed Up"})
    assert (reply.status, reply.body) == (200, "ok")
    assert reply.content_type == "text/plain; charset=utf-8"
    assert dp.jobs[0].message["type"] == "track"
    assert len(dp.sim.events) == 1


@pytest.mark.parametrize("path", ["/v1/identify", "/v1/page", "/v1/screen", "/v1/group", "/v1/alias"])
def test_every_single_event_route_stores_its_type(path):
    dp = plane()
    assert post(dp, path, {"userId": "u1", "previousId": "a1", "groupId": "g1"}).body == "ok"
    assert dp.jobs[0].message["type"] == path.rsplit("/", 1)[1]


def test_legacy_answers():
    dp = plane(legacy_answers=True)
    assert post(dp, "/v1/track", event()).body == "OK"
    assert post(dp, "/v1/track", event(), key="nope").body == "Invalid Write Key\n"
    assert post(dp, "/v1/batch", b"{").body == "Invalid JSON\n"


@pytest.mark.parametrize("headers, text", [
    ({}, "failed to read writekey from header"),
    ({"Authorization": "Bearer x"}, "failed to read writekey from header"),
    ({"Authorization": "Basic !!!"}, "failed to read writekey from header"),
    ({"Authorization": "Basic OldL"}, "failed to read writekey from header"),  # no colon
    (auth(""), "failed to read writekey from header"),
    (auth("WRONG"), "invalid write key"),
])
def test_auth_errors(headers, text):
    dp = plane()
    reply = post(dp, "/v1/batch", b"not json", key=None, headers=headers)
    assert (reply.status, reply.body) == (401, text + "\n")  # auth before the body
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reasons(dp) == [("gateway", "write key")]
    assert dp.log[0].stored == 0


def test_password_is_ignored_and_any_key_when_none_configured():
    dp = plane(write_key=None)
    headers = {"Authorization": "Basic " + __import__("base64").b64encode(b"anything:secret").decode()}
    assert post(dp, "/v1/track", event(), key=None, headers=headers).body == "ok"


def test_disabled_source_is_404():
    reply = post(plane(source_enabled=False), "/v1/track", event())
    assert (reply.status, reply.body) == (404, "source is disabled\n")


@pytest.mark.parametrize("body, text", [
    (b"", "invalid json"),
    (b"{", "invalid json"),
    (b"[1, 2]", "event is not a valid rudder event"),
])
def test_single_event_body_errors(body, text):
    reply = post(plane(), "/v1/track", body)
    assert (reply.status, reply.body) == (400, text + "\n")


@pytest.mark.parametrize("body", [{}, {"batch": None}, {"batch": []}, [event()], "x"])
def test_empty_batch(body):
    dp = plane()
    reply = post(dp, "/v1/batch", body)
    assert (reply.status, reply.body) == (400, "empty batch payload\n")
    assert reasons(dp) == [("gateway", "empty batch")]


def test_non_array_batch_is_one_event():
    dp = plane()
    assert post(dp, "/v1/batch", {"batch": event()}).body == "ok"
    assert len(dp.jobs) == 1


def test_content_type_is_never_checked():
    dp = plane()
    for content_type in ("application/x-www-form-urlencoded", "text/plain", ""):
        assert post(dp, "/v1/batch", {"batch": [event()]}, headers={"Content-Type": content_type}).body == "ok"
    assert len(dp.jobs) == 3


def test_gzip_only_with_the_header():
    dp = plane()
    assert post(dp, "/v1/batch", {"batch": [event()]}, compress=True).body == "ok"
    raw = gzip.compress(json.dumps({"batch": [event()]}).encode())
    assert post(dp, "/v1/batch", raw).body == "invalid json\n"
    broken = raw[:20]
    reply = post(dp, "/v1/batch", broken, headers={"Content-Encoding": "gzip"})
    assert (reply.status, reply.body) == (500, "failed to read body from request\n")


def test_size_limit_after_validation_and_decompression():
    dp = plane(max_request_bytes=1000)
    big = {"batch": [event(properties={"pad": "x" * 2000})]}
    reply = post(dp, "/v1/batch", big, compress=True)
    assert (reply.status, reply.body) == (413, "request size exceeds max limit\n")
    assert "bytes decompressed" in dp.log[-1].line
    # an invalid body reports the earlier error, even when it is too big
    reply = post(dp, "/v1/batch", {"batch": [{**big["batch"][0], "anonymousId": ""}]})
    assert reply.status == 400


def test_stored_event_gets_message_id_rudder_id_and_request_ip():
    dp = plane()
    post(dp, "/v1/batch", {"batch": [event(messageId=" m1 "), event(messageId=7), {**event(), "request_ip": "9.9.9.9"}],
                           "sentAt": "2024-03-02T10:00:00Z"}, headers={"X-Forwarded-For": "1.2.3.4, 5.6.7.8"})
    first, second, third = (j.message for j in dp.jobs)
    assert first["messageId"] == "m1"
    assert second["messageId"] != 7 and len(second["messageId"]) == 36
    assert first["rudderId"] == md5_uuid(":anon-1")
    # the job-level IP is the last one an event carried; the processor gives it to every event of the request
    assert {m["request_ip"] for m in (first, second, third)} == {"9.9.9.9"}
    assert all("sentAt" not in j.message or j.message["sentAt"] != "2024-03-02T10:00:00Z" for j in dp.jobs)


def test_client_ip_from_forwarded_for():
    dp = plane()
    post(dp, "/v1/track", event(), headers={"X-Forwarded-For": " 1.2.3.4 , 5.6.7.8"})
    assert dp.jobs[0].message["request_ip"] == "1.2.3.4"


def test_md5_uuid_has_version_and_variant_bits():
    value = md5_uuid("u1:a1")
    assert value[14] == "4" and value[19] in "89ab"


@given(st.text(max_size=20))
@settings(max_examples=60, deadline=None)
def test_clean_id_never_keeps_invisible_characters(text):
    cleaned = clean_id(text)
    assert cleaned == cleaned.strip()
    assert "\u200b" not in cleaned and "\x00" not in cleaned


def test_clean_id_of_other_types():
    assert clean_id(None) == "" and clean_id(12) == "12" and clean_id(True) == "true" and clean_id("\u200b") == ""


def test_basic_write_key():
    assert basic_write_key(WireRequest("POST", "http://x/v1/batch", auth("K"))) == "K"


def test_unknown_method_is_405_and_preflight_is_204_with_cors():
    dp = plane()
    reply = dp.handle(WireRequest("GET", "http://x/v1/track", {"Origin": "http://app.test"}))
    assert (reply.status, reply.body) == (405, "")
    reply = dp.handle(WireRequest("OPTIONS", "http://x/v1/batch", {
        "Origin": "http://app.test", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,anonymousid,sentat"}))
    assert reply.status == 204
    assert reply.headers["Access-Control-Allow-Origin"] == "http://app.test"
    assert reply.headers["Access-Control-Allow-Credentials"] == "true"
    assert reply.headers["Access-Control-Allow-Headers"] == "authorization,content-type,anonymousid,sentat"
    assert reply.headers["Access-Control-Max-Age"] == "900"


def test_beacon_takes_the_key_from_the_query():
    dp = plane()
    body = json.dumps({"batch": [event()], "sentAt": "x"}).encode()
    reply = dp.handle(WireRequest("POST", f"http://x/beacon/v1/batch?writeKey={WK}", {"Content-Type": "text/plain"}, body))
    assert reply.body == "ok" and len(dp.jobs) == 1
    reply = dp.handle(WireRequest("POST", "http://x/beacon/v1/batch", {}, body))
    assert (reply.status, reply.body) == (401, "failed to read writekey from query params\n")


def test_pixel_always_answers_the_gif():
    dp = plane()
    reply = dp.handle(WireRequest("GET", f"http://x/pixel/v1/page?writeKey={WK}&anonymousId=%22a1%22"
                                  "&properties.path=/home"))
    assert reply.content_type == "image/gif" and reply.status == 200
    message = dp.jobs[0].message
    assert message["anonymousId"] == "a1" and message["name"] == "Unknown Page"
    assert message["properties"] == {"path": "/home"} and message["channel"] == "web"
    bad = dp.handle(WireRequest("GET", "http://x/pixel/v1/track?writeKey=nope&anonymousId=a1&event=E"))
    assert bad.content_type == "image/gif"
    no_event = dp.handle(WireRequest("GET", f"http://x/pixel/v1/track?writeKey={WK}&anonymousId=a1"))
    assert no_event.status == 200
    assert reasons(dp) == [("gateway", "write key"), ("gateway", "not an event")]


def test_import_regroups_per_user_and_concatenates_errors():
    dp = plane()
    assert post(dp, "/v1/import", {"batch": []}).body == "ok"  # 200, not 400
    good, bad = event(userId="u1"), {"type": "track", "event": "E", "userId": "", "anonymousId": ""}
    reply = post(dp, "/v1/import", {"batch": [good, bad]})
    assert (reply.status, reply.body) == (400, "request neither has anonymousId nor userId\n")
    assert len(dp.jobs) == 1  # the good user's group is stored
    other = {**bad, "userId": " "}  # another user (raw strings), also without identity
    reply = post(dp, "/v1/import", {"batch": [bad, other, good]})
    assert reply.status == 500
    assert reply.body == "request neither has anonymousId nor userId" * 2 + "\n"


def test_source_config_for_the_js_sdk():
    dp = plane()
    reply = dp.handle(WireRequest("GET", f"http://x/sourceConfig/?p=npm&v=3.34.1&writeKey={WK}", auth()))
    source = reply.json()["source"]
    assert source["id"] and source["config"] == source["config"] | {} and source["destinations"] == []
    assert dp.handle(WireRequest("GET", "http://x/sourceConfig/?writeKey=nope", auth("nope"))).status == 400


def test_health():
    dp = plane()
    assert dp.handle(WireRequest("GET", "http://x/health")).json()["server"] == "UP"
