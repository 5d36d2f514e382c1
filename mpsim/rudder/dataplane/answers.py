"""What the data plane answers, in RudderStack's words (data-plane spec §1.2-§1.5), as a table.

Servers from v1.46.0 on speak lower case; older ones capitalised (``OK``, ``Invalid Write Key``).
``DataPlane(legacy_answers=True)`` picks the old column.
"""

from __future__ import annotations

#: key → (status, current text, text before v1.46.0)
ANSWERS: dict[str, tuple[int, str, str]] = {
    "ok": (200, "ok", "OK"),
    "no write key": (401, "failed to read writekey from header", "Failed to read writeKey from header"),
    "no write key in query": (401, "failed to read writekey from query params",
                              "Failed to read writeKey from Query Params"),
    "invalid write key": (401, "invalid write key", "Invalid Write Key"),
    "source disabled": (404, "source is disabled", "Source is disabled"),
    "invalid json": (400, "invalid json", "Invalid JSON"),
    "empty batch": (400, "empty batch payload", "Empty batch payload"),
    "not an event": (400, "event is not a valid rudder event", "Event is not a valid rudder event"),
    "no identity": (400, "request neither has anonymousId nor userId", "Request neither has anonymousId nor userId"),
    "too large": (413, "request size exceeds max limit", "Request size exceeds max limit"),
    "unreadable body": (500, "failed to read body from request", "Failed to read body from request"),
    "rate limit": (429, "max requests limit reached", "Max Requests Limit reached"),
    "not found": (404, "404 page not found", "404 page not found"),  # the router's own answer (chi)
}

#: Gateway answers → the reason a drop record carries (the words the issue and the spec use).
REASONS: dict[str, str] = {
    "no write key": "write key",
    "no write key in query": "write key",
    "invalid write key": "write key",
    "source disabled": "write key",
    "invalid json": "invalid json",
    "empty batch": "empty batch",
    "not an event": "not an event",
    "no identity": "no identity",
    "too large": "too large",
    "unreadable body": "unreadable body",
    "rate limit": "rate limit",
    "not found": "route",
}


def answer_text(key: str, legacy: bool) -> tuple[int, str]:
    status, text, old = ANSWERS[key]
    return status, old if legacy else text
