"""Geolocation with a resolver: which IP Mixpanel locates, and what wins (ingestion spec §2.7, §6.2)."""

from __future__ import annotations

import json

from mpsim import WireRequest
from tests.mixpanel.helpers import engage, event, post, post_import, sim

LONDON = {"city": "London", "region": "England", "country_code": "GB", "timezone": "Europe/London"}
PARIS = {"city": "Paris", "region": "Île-de-France", "country_code": "FR", "timezone": "Europe/Paris"}
GEO = {"203.0.113.7": LONDON, "198.51.100.9": PARIS}


def props_of(s):
    return list(s.raw_events["properties"])


def test_event_ip_property_is_located_and_dropped():
    s = sim(geo=GEO)
    post_import(s, [event(ip="203.0.113.7")])
    (p,) = props_of(s)
    assert (p["$city"], p["$region"], p["mp_country_code"]) == ("London", "England", "GB") and "ip" not in p


def test_explicit_geo_properties_and_ip_zero_win():
    s = sim(geo=GEO)
    post_import(s, [event(ip="203.0.113.7", **{"$city": "Leeds"}), event(ip="0", insert_id="i-2")])
    first, second = props_of(s)
    assert first["$city"] == "Leeds" and "mp_country_code" not in first
    assert "$city" not in second


def test_request_ip_on_import_always_and_on_track_only_with_ip_1():
    s = sim(geo=GEO)
    headers = {"X-Forwarded-For": "198.51.100.9", "Authorization": "Basic dG9rOg=="}
    s.handle(WireRequest("POST", "https://api.mixpanel.com/import", headers, json.dumps([event()]).encode()))
    for query, insert_id in (("?ip=1", "t-1"), ("", "t-2")):
        s.handle(WireRequest("POST", f"https://api.mixpanel.com/track{query}", {"X-Forwarded-For": "198.51.100.9"},
                             json.dumps([event(insert_id=insert_id)]).encode()))
    cities = [p.get("$city") for p in props_of(s)]
    assert cities == ["Paris", "Paris", None]


def test_profile_location_from_ip_on_set_only_and_set_values_win():
    s = sim(geo=GEO)
    engage(s, "u1", "$set", {"plan": "pro"}, **{"$ip": "203.0.113.7"})
    assert s.profile("u1")["$city"] == "London" and s.profile("u1")["$timezone"] == "Europe/London"
    engage(s, "u1", "$add", {"n": 1}, **{"$ip": "198.51.100.9"})
    assert s.profile("u1")["$city"] == "London"  # only $set / $set_once move the location
    engage(s, "u1", "$set", {"$city": "Bath"}, **{"$ip": "198.51.100.9"})
    assert s.profile("u1")["$city"] == "Bath" and s.profile("u1")["$country_code"] == "FR"
    engage(s, "u1", "$set", {"x": 1}, **{"$ip": "0"})
    assert s.profile("u1")["$city"] == "Bath"


def test_ip_0_on_the_request_disables_profile_geolocation_like_the_python_client():
    s = sim(geo=GEO)
    post(s, "engage", {"$token": "tok", "$distinct_id": "u", "$set": {"a": 1}, "$ip": "203.0.113.7"}, query="ip=0")
    assert "$city" not in s.profile("u")


def test_without_a_resolver_nothing_is_located_and_a_callable_works():
    s = sim()
    post_import(s, [event(ip="203.0.113.7")])
    assert "$city" not in props_of(s)[0]
    s = sim(geo=lambda ip: LONDON if ip.startswith("203.") else None)
    post_import(s, [event(ip="203.0.113.99"), event(ip="10.0.0.1", insert_id="i-2")])
    assert [p.get("$city") for p in props_of(s)] == ["London", None]
