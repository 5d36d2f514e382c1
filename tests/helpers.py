from __future__ import annotations

import copy
import json
from typing import Any

import pytest

import mpsim

NOW = "2020-01-25T00:00:00Z"
TS = "2020-01-24T06:29:02.403Z"


def message(type_: str = "track", **overrides: Any) -> dict[str, Any]:
    """The spec's default event: userId u1, anonymousId a1, messageId m1, a January 2020 timestamp."""
    base: dict[str, Any] = {
        "type": type_,
        "event": "Clicked" if type_ == "track" else None,
        "userId": "u1",
        "anonymousId": "a1",
        "messageId": "m1",
        "timestamp": TS,
        "originalTimestamp": TS,
        "properties": {},
        "context": {},
    }
    if type_ != "track":
        base.pop("event")
    for key, value in overrides.items():
        if value is DROP:
            base.pop(key, None)
        else:
            base[key] = value
    return base


DROP = object()


def run(msg: dict[str, Any], config: dict[str, Any] | None = None, now: str = NOW) -> list[mpsim.Request]:
    return mpsim.transform(copy.deepcopy(msg), {"token": "tok", **(config or {})}, now=now)


def records(requests: list[mpsim.Request]) -> list[dict[str, Any]]:
    """What goes over the wire, parsed back (so undefined keys are really gone)."""
    return [json.loads(r.body_text())[0] for r in requests]


def props(msg: dict[str, Any], config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The properties of the event request (the last request of track/page/screen)."""
    return records(run(msg, config))[-1]["properties"]


def error(msg: dict[str, Any], config: dict[str, Any] | None = None, now: str = NOW) -> mpsim.TransformError:
    with pytest.raises(mpsim.TransformError) as info:
        run(msg, config, now)
    return info.value
