from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import mpsim
from mpsim import Simulator, WireRequest

NOW = "2024-03-02T00:00:00Z"
NOW_MS = 1709337600000
NOW_S = NOW_MS // 1000
UUID = "4f7c2a9e-1b3d-4e5f-8a6b-7c8d9e0f1a2b"
UUID2 = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def sim(**kw: Any) -> Simulator:
    kw.setdefault("token", "tok")
    kw.setdefault("now", NOW)
    return Simulator(**kw)


def basic(user: str, password: str = "") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def event(name: str = "E", distinct_id: Any = "u1", insert_id: str | None = "i-1", time: Any = NOW_S,
          **props: Any) -> dict[str, Any]:
    p: dict[str, Any] = {"token": "tok"}
    if distinct_id is not None:
        p["distinct_id"] = distinct_id
    if time is not None:
        p["time"] = time
    if insert_id is not None:
        p["$insert_id"] = insert_id
    p.update(props)
    return {"event": name, "properties": p}


def post_import(s: Simulator, records: Any, *, strict: bool = False, host: str = "api.mixpanel.com",
                headers: dict[str, str] | None = None, gz: bool = False, raw: bytes | None = None,
                verbose: bool = True) -> mpsim.Reply:
    """POST to /import; ``verbose=1`` by default (JSON answers, like the Python client gets)."""
    body = raw if raw is not None else json.dumps(records).encode()
    h = {"Content-Type": "application/json", **basic("tok"), **(headers or {})}
    if gz:
        body = gzip.compress(body)
        h["Content-Encoding"] = "gzip"
    query = "&".join(q for q in ("strict=1" if strict else "", "verbose=1" if verbose else "") if q)
    url = f"https://{host}/import" + ("?" + query if query else "")
    return s.handle(WireRequest("POST", url, h, body))


def post(s: Simulator, endpoint: str, records: Any, *, verbose: str | None = "1", host: str = "api.mixpanel.com",
         query: str = "") -> mpsim.Reply:
    q = "&".join(x for x in [f"verbose={verbose}" if verbose else "", query] if x)
    return s.handle(WireRequest("POST", f"https://{host}/{endpoint}" + ("?" + q if q else ""),
                                {"Content-Type": "application/json"}, json.dumps(records).encode()))


def engage(s: Simulator, distinct_id: Any, op: str, value: Any, **extra: Any) -> mpsim.Reply:
    return post(s, "engage", {"$token": "tok", "$distinct_id": distinct_id, op: value, **extra})


def group_update(s: Simulator, key: str, gid: Any, op: str, value: Any) -> mpsim.Reply:
    return post(s, "groups", {"$token": "tok", "$group_key": key, "$group_id": gid, op: value})
