"""Requests to a data plane without HTTP: what an SDK would send, as ``WireRequest``s."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

from mpsim import Simulator
from mpsim.mixpanel.wire import Reply, WireRequest
from mpsim.rudder.dataplane import DataPlane

WK = "WK_TEST"
NOW = "2024-03-02T10:01:00Z"
CONFIG = {"token": "T"}


def auth(key: str = WK) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def plane(**options: Any) -> DataPlane:
    destination = options.pop("destination", CONFIG)
    options.setdefault("write_key", WK)
    return DataPlane(Simulator(token="T", now=options.pop("now", NOW)), destination, **options)


def post(dp: DataPlane, path: str, body: Any, *, key: str | None = WK, headers: dict[str, str] | None = None,
         compress: bool = False) -> Reply:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json", **(auth(key) if key is not None else {}), **(headers or {})}
    if compress:
        raw = gzip.compress(raw)
        all_headers["Content-Encoding"] = "gzip"
    return dp.handle(WireRequest("POST", f"http://127.0.0.1{path}", all_headers, raw))


def event(kind: str = "track", **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind, "anonymousId": "anon-1", "messageId": fields.pop("messageId", None)}
    if kind == "track":
        out["event"] = "Signed Up"
    out.update(fields)
    if out["messageId"] is None:
        del out["messageId"]
    return out


def reasons(dp: DataPlane) -> list[tuple[str, str]]:
    return [(d.gate, d.reason) for d in dp.drops]
