"""Geolocation: which IP Mixpanel would locate, and what a resolver says about it (spec §2.7, §6.2).

Mixpanel has an IP database; the simulator has none unless given one: ``Simulator(geo={ip: {"city":
..., "region": ..., "country_code": ..., "timezone": ...}})`` or a callable ``ip -> dict | None``.
Without it, locations are only what the data itself carries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Resolver = Callable[[str], "Mapping[str, Any] | None"]
EVENT_GEO = {"city": "$city", "region": "$region", "country_code": "mp_country_code"}
PROFILE_GEO = {"city": "$city", "region": "$region", "country_code": "$country_code", "timezone": "$timezone"}


def as_resolver(geo: Mapping[str, Mapping[str, Any]] | Resolver | None) -> Resolver | None:
    if geo is None or callable(geo):
        return geo
    table = {str(k): v for k, v in geo.items()}
    return table.get


def disabled(value: Any) -> bool:
    """``0``/``"0"`` turns geolocation off for an event (``ip``) or a profile update (``$ip``)."""
    return value in (0, "0") and value is not False


def locate(resolver: Resolver | None, ip: Any, fields: Mapping[str, str]) -> dict[str, Any]:
    """The location properties for ``ip`` (empty when unknown or not a string)."""
    if resolver is None or not isinstance(ip, str) or not ip:
        return {}
    found = resolver(ip) or {}
    return {prop: found[key] for key, prop in fields.items() if found.get(key) not in (None, "")}


def event_location(resolver: Resolver | None, props: Mapping[str, Any], request_ip: str | None,
                   use_request_ip: bool) -> dict[str, Any]:
    """Explicit geo properties win; else the ``ip`` property; else the request's IP when allowed."""
    if resolver is None or any(props.get(p) not in (None, "") for p in EVENT_GEO.values()):
        return {}
    ip = props.get("ip")
    if disabled(ip):
        return {}
    if ip in (None, "") and use_request_ip:
        ip = request_ip
    return locate(resolver, ip, EVENT_GEO)


def profile_location(resolver: Resolver | None, record: Mapping[str, Any], request_ip: str | None,
                     request_enabled: bool) -> dict[str, Any]:
    """Only ``$set``/``$set_once`` records move a profile's location; values inside ``$set`` win."""
    if resolver is None or not ({"$set", "$set_once"} & record.keys()) or not request_enabled:
        return {}
    ip = record.get("$ip")
    if disabled(ip):
        return {}
    location = locate(resolver, ip if ip not in (None, "") else request_ip, PROFILE_GEO)
    explicit = record.get("$set")
    if not isinstance(explicit, dict):
        explicit = {}
    return {k: v for k, v in location.items() if k not in explicit}
