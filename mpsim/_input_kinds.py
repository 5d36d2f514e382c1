"""Recognising the wrong kind of input, so that an error can name the call that takes it.

People paste what they have: a Mixpanel payload where a RudderStack event is expected, a whole log
where one event is expected, RudderStack's own output, a saved state. Each is recognised by the
keys that only it has, and the error says which call or command takes it. The table is data:
``(kind, test, advice)``, first match wins.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

_EVENT_PROPS = frozenset({"distinct_id", "token", "time", "$insert_id"})
_PROFILE_OPS = frozenset({"$set", "$set_once", "$add", "$union", "$append", "$remove", "$unset", "$delete"})


def _props(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    props = obj.get("properties")
    return props if isinstance(props, Mapping) else {}


#: (what it is, how to tell, which call takes it)
KINDS: list[tuple[str, Callable[[Mapping[str, Any]], bool], str]] = [
    ("a saved mpsim state", lambda o: "mpsim_state" in o,
     "use `mpsim.load_snapshot` / `Simulator.from_snapshot`, or `mpsim diff A.json B.json`"),
    ("a RudderStack transformer input item ({message, destination, metadata})",
     lambda o: "message" in o and ("destination" in o or "metadata" in o),
     "use `transform_batch` (the router), or `transform(item['message'], item['destination'])`"),
    ("RudderStack's output (a Mixpanel request), not an event",
     lambda o: (isinstance(o.get("body"), Mapping) and "endpoint" in o) or "batchedRequest" in o,
     "use `mpsim diff` to compare outputs, or `Request.from_rudder` to read one"),
    ("a Mixpanel /groups record", lambda o: "$group_key" in o or "$group_id" in o,
     "use `mpsim validate --endpoint groups` or `Simulator`"),
    ("a Mixpanel /engage profile record", lambda o: "$distinct_id" in o or bool(_PROFILE_OPS & o.keys()),
     "use `mpsim validate --endpoint engage` or `Simulator`"),
    ("a Mixpanel /track record", lambda o: "event" in o and bool(_EVENT_PROPS & _props(o).keys()),
     "use `mpsim validate --endpoint track` or `Simulator`"),
]


def wrong_kind(obj: Any) -> str | None:
    """``this looks like …: use …`` when ``obj`` is recognisably not a RudderStack event; else None."""
    if isinstance(obj, list):
        return (f"this is a list of {len(obj)} event{'s' if len(obj) != 1 else ''}, not one event: "
                "use `transform_batch` or `replay`; `mpsim transform` reads a list or JSON Lines as it is")
    if not isinstance(obj, Mapping) or "type" in obj:
        return None
    for kind, test, advice in KINDS:
        if test(obj):
            return f"this looks like {kind}: {advice}"
    return None
