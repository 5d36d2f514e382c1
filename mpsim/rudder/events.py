"""track, page and screen: one Mixpanel event each (plus profile updates for track)."""

from __future__ import annotations

import re
from typing import Any

from .. import _messages as msgs
from .._js import UNDEFINED, get_path, spread_items, to_string, truthy, utf16_tail
from ..errors import ConfigurationError, InstrumentationError
from ..request import Request
from .common import Event, add_browser, engage_update, event_record, import_request, map_fields
from .mappings import EVENT_PROPERTIES

INSERT_ID_UNITS = 36
DEFAULT_NAMES = {"page": "Loaded a Page", "screen": "Loaded a Screen"}


def track(event: Event) -> list[Request]:
    """Revenue (``$append $transactions``), increments (``$add``), then the event to /import."""
    message = event.message
    properties = spread_items(message.get("properties", UNDEFINED))
    out: list[Request] = []

    revenue = get_path(message, "properties.revenue")
    if truthy(revenue):
        out.append(engage_update(event, "$append", {"$transactions": {"$time": event.time_iso(), "$amount": revenue}}))

    names = event.settings.increments
    if names:
        added = {k: v for k, v in properties if k in names and truthy(v)}
        if added:
            out.append(engage_update(event, "$add", added))

    message_id = message.get("messageId", UNDEFINED)
    if truthy(message_id) and type(message_id) is not str:
        raise InstrumentationError(msgs.MESSAGE_ID_TYPE)

    props: dict[str, Any] = dict(properties)
    if not event.settings.flag("dropTraitsInTrackEvent"):
        props.update(spread_items(event.get("context.traits")))
    _add_common(event, props, truncate_insert_id=True)
    add_browser(event, props)
    out.append(_event_request(event, message.get("event", UNDEFINED), props))
    return out


def page(event: Event) -> list[Request]:
    return _page_or_screen(event, "page")


def screen(event: Event) -> list[Request]:
    return _page_or_screen(event, "screen")


def _page_or_screen(event: Event, kind: str) -> list[Request]:
    """Unlike track, properties override traits and ``messageId`` is used as it is."""
    name = event_name(event, kind)
    message = event.message
    props: dict[str, Any] = dict(spread_items(event.get("context.traits")))
    props.update(spread_items(message.get("properties", UNDEFINED)))
    _add_common(event, props, truncate_insert_id=False)
    for key in ("name", "category"):
        value = message.get(key, UNDEFINED)
        if truthy(value):
            props[key] = value
    add_browser(event, props)
    return [_event_request(event, name, props)]


def _event_request(event: Event, name: Any, props: dict[str, Any]) -> Request:
    record, text = event_record(name, props)
    event.check_five_years()
    return import_request(event, [record], [text])


def _add_common(event: Event, props: dict[str, Any], *, truncate_insert_id: bool) -> None:
    """Mapped fields, token, distinct_id, time, UTM and the Simplified ID-merge ids (spec §3.1 3-8)."""
    mapped = map_fields(event.message, EVENT_PROPERTIES, {})
    insert_id = mapped.get("$insert_id", UNDEFINED)
    if truncate_insert_id and type(insert_id) is str:
        mapped["$insert_id"] = utf16_tail(insert_id, INSERT_ID_UNITS)
    if "$session_id" in mapped:
        mapped["$session_id"] = to_string(mapped["$session_id"])
    props.update(mapped)
    props["token"] = event.settings.token
    props["distinct_id"] = event.id
    props["time"] = event.time_ms()
    campaign = event.get("context.campaign")
    if type(campaign) is dict:
        for key, value in spread_items(campaign):
            props["utm_campaign" if key == "name" else "utm_" + key] = value
    if event.settings.simplified:
        props["distinct_id"] = event.simplified_id
        props["$device_id"] = event.anonymous_id
        props["$user_id"] = event.user_id


# --------------------------------------------------------------------------- event-name templates
def _placeholder(name: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    inner = r"\{\{\s*" + name + r"\s*\}\}"
    return re.compile(inner), re.compile(r"\s" + inner + r"\s")


_PLACEHOLDERS = {name: _placeholder(name) for name in ("category", "name")}
_REPLACE_PATTERN = re.compile(r"\$([$&`'])")


def _js_replacement(replacement: str) -> Any:
    """A ``re.sub`` callback expanding ECMAScript replacement patterns (``$$``, ``$&``, ``$```, ``$'``)."""
    if "$" not in replacement:
        return lambda m: replacement

    def expand(m: re.Match[str]) -> str:
        def one(p: re.Match[str]) -> str:
            code = p.group(1)
            if code == "$":
                return "$"
            if code == "&":
                return m.group()
            if code == "`":
                return m.string[: m.start()]
            return m.string[m.end():]

        return _REPLACE_PATTERN.sub(one, replacement)

    return expand


def event_name(event: Event, kind: str) -> Any:
    """``Loaded a Page``/``Loaded a Screen``, or the user-defined template filled in (spec §4.7)."""
    title = kind.capitalize()
    if not event.settings.flag(f"useUserDefined{title}EventName"):
        return DEFAULT_NAMES[kind]
    template = event.settings.get(f"userDefined{title}EventTemplate")
    if not truthy(template):
        raise ConfigurationError(msgs.TEMPLATE_MISSING)
    name = to_string(template)
    values = {"category": get_path(event.message, "properties.category"), "name": event.message.get("name", UNDEFINED)}
    for key, value in values.items():
        placeholder, spaced = _PLACEHOLDERS[key]
        if value is None or value is UNDEFINED:
            name = spaced.sub(" ", name)
        else:
            name = placeholder.sub(_js_replacement(to_string(value)), name)
    return name
