"""identify: profile updates to /engage, and ``$merge`` to /import in Original ID merge."""

from __future__ import annotations

from typing import Any

from .. import _messages as msgs
from .._js import (
    UNDEFINED,
    get_path,
    js_keys,
    non_empty,
    set_path,
    spread_items,
    strip_undefined,
    to_string,
    truthy,
    usable,
    without_path,
)
from ..errors import InstrumentationError, TransformationCrash
from ..request import Request
from .common import Event, Settings, add_browser, engage_update, import_request, map_fields, profile_request
from .mappings import (
    DEVICE_FAMILIES,
    OPERATION_PROPERTIES,
    PROFILE_EXCLUSIONS,
    PROFILE_PROPERTIES,
    UNSAFE_KEYS,
)

#: Config list → Mixpanel profile operation, in the order the requests are sent.
OPERATIONS = (
    ("setOnceProperties", "$set_once"),
    ("unionProperties", "$union"),
    ("appendProperties", "$append"),
)
OLD_NAME_KEYS = (("$first_name", "$firstName"), ("$last_name", "$lastName"))


def identify(event: Event) -> list[Request]:
    settings = event.settings
    message = event.message
    out: list[Request] = []
    for op, paths in settings.derived(_operations):
        if paths:
            value = _operation_object(message, paths, union=op == "$union")
            if value:
                out.append(engage_update(event, op, value))

    profile = {
        "$set": strip_undefined(_set_object(event)),
        "$token": settings.token,
        "$distinct_id": event.distinct,
        "$ip": _ip(event),
        "$time": event.time_ms(),
    }
    if get_path(message, "context.active") is False:
        profile["$ignore_time"] = True
    out.append(profile_request(event, "engage", profile))

    if (not settings.simplified and truthy(event.user_id) and truthy(event.anonymous_id)
            and (settings.import_auth is not None or settings.import_error is not None)):
        merge = {"event": "$merge", "properties": strip_undefined(
            {"$distinct_ids": [event.user_id, event.anonymous_id], "token": settings.token})}
        out.append(import_request(event, [merge]))
    return out


def _ip(event: Event) -> Any:
    ip = event.get("context.ip")
    return ip if truthy(ip) else event.message.get("request_ip", UNDEFINED)


def _operations(settings: Settings) -> list[tuple[str, list[str]]]:
    """Each profile operation with the trait paths the config lists for it."""
    return [(op, _wanted_paths(settings.get(key))) for key, op in OPERATIONS]


def _wanted_paths(items: Any) -> list[str]:
    if type(items) is not list:
        return []
    paths = []
    for item in items:
        prop = item.get("property", UNDEFINED) if type(item) is dict else UNDEFINED
        if prop is UNDEFINED or prop is None:
            raise TransformationCrash(msgs.PROPERTY_ITEM_MISSING.replace("undefined", to_string(prop)))
        paths.append(to_string(prop))
    return paths


def _operation_object(message: dict[str, Any], paths: list[str], *, union: bool) -> dict[str, Any]:
    """Take each wanted path out of traits (winning) and context.traits (spec §3.6).

    What is taken is removed from the message (the event's own shallow copy); the containers on
    the way are copied first, so the caller's event is never changed and nothing is deep-copied.
    """
    traits = message.get("traits", UNDEFINED)
    context = message.get("context", UNDEFINED)
    plain_context = type(context) is dict and "context.traits" not in message
    context_traits = get_path(message, "context.traits")
    eligible: dict[str, Any] = {}
    for path in paths:
        if path == "":
            continue
        name = path.rsplit(".", 1)[-1]
        value = get_path(traits, path)
        if non_empty(value):
            eligible[name] = value
            traits = without_path(traits, path)
        value = get_path(context_traits, path)
        if non_empty(value):
            eligible.setdefault(name, value)
            context_traits = without_path(context_traits, path)
    if "traits" in message:
        message["traits"] = traits
    if context_traits is not UNDEFINED:
        if plain_context and "traits" in context:
            message["context"] = {**context, "traits": context_traits}
        elif "context.traits" in message:
            message["context.traits"] = context_traits
    if not eligible:
        return {}
    result = map_fields(eligible, OPERATION_PROPERTIES, {})
    for key in js_keys(eligible):
        if key not in PROFILE_EXCLUSIONS:
            _set_custom(result, key, eligible[key])
    if union:
        result = {k: (v if type(v) is list or v is UNDEFINED else [v]) for k, v in result.items()}
    return result


def _set_custom(target: dict[str, Any], key: str, value: Any) -> None:
    set_path(target, key, value)  # set-value's own errors (unsafe keys) become crashes in transform_with


def _set_object(event: Event) -> dict[str, Any]:
    """The identify ``$set`` (spec §3.5): mapped fields, full name, custom traits, device, browser."""
    message = event.message
    props = map_fields(message, PROFILE_PROPERTIES, {})
    geo = props.get("$geo_source", UNDEFINED)
    if geo is not UNDEFINED and geo != "reverse_geocoding":
        raise InstrumentationError(msgs.GEO_SOURCE)
    name = props.get("$name", UNDEFINED)
    if not truthy(name):
        # "<first> <last>" when there is no usable name and both parts are truthy (spec §4.5). The
        # table has already found the first usable name, first name and last name.
        first, last = props.get("$first_name", UNDEFINED), props.get("$last_name", UNDEFINED)
        props["$name"] = f"{to_string(first)} {to_string(last)}" \
            if not usable(name) and truthy(first) and truthy(last) else UNDEFINED
    for source in (message.get("traits", UNDEFINED), event.get("context.traits")):
        for key, value in spread_items(source):
            if key not in PROFILE_EXCLUSIONS and key not in UNSAFE_KEYS:
                _set_custom(props, key, value)
    if not event.settings.flag("useNewMapping"):
        for old, new in OLD_NAME_KEYS:
            value = props.get(old, UNDEFINED)
            if truthy(value):
                del props[old]
                props[new] = value
    _add_device(event, props)
    add_browser(event, props)
    return props


def _add_device(event: Event, props: dict[str, Any]) -> None:
    device = event.get("context.device")
    if not truthy(device):
        return
    device_type = get_path(device, "type")
    if device_type is UNDEFINED or device_type is None:
        return
    if type(device_type) is not str:
        raise TransformationCrash(msgs.DEVICE_TYPE_NOT_STRING)
    family = DEVICE_FAMILIES.get(device_type.lower())
    if family is None:
        return
    tokens_key, table = family
    token = get_path(device, "token")
    if token is not UNDEFINED and token is not None:
        props[tokens_key] = [token]
    map_fields(event.message, table, props)
