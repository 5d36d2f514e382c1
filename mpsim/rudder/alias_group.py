"""alias (``$create_alias``, Original ID merge only) and group (group keys → profiles)."""

from __future__ import annotations

from typing import Any

from .. import _messages as msgs
from .._js import UNDEFINED, get_path, spread_items, strip_undefined, to_string, truthy, usable
from ..errors import ConfigurationError, InstrumentationError
from ..request import Request
from .common import Event, Settings, import_request, profile_request


def _strictly_equal(a: Any, b: Any) -> bool:
    """JavaScript ``===`` for JSON values: objects are never equal to other objects."""
    ta, tb = type(a), type(b)
    if ta in (int, float) and tb in (int, float):
        return bool(a == b)
    return ta is tb and ta in (str, bool) and a == b


def alias(event: Event, raw: dict[str, Any]) -> list[Request]:
    """Uses the message as sent: ids are not coerced to strings here (spec §3.7)."""
    if event.settings.simplified:
        raise InstrumentationError(msgs.ALIAS_SIMPLIFIED)
    previous, anonymous = raw.get("previousId", UNDEFINED), raw.get("anonymousId", UNDEFINED)
    alias_id = previous if truthy(previous) else anonymous
    if not truthy(alias_id):
        raise InstrumentationError(msgs.ALIAS_NO_ID)
    user_id = raw.get("userId", UNDEFINED)
    if _strictly_equal(alias_id, user_id):
        raise InstrumentationError(msgs.ALIAS_SAME_ID)
    record = {"event": "$create_alias", "properties": strip_undefined(
        {"distinct_id": alias_id, "alias": user_id, "token": event.settings.token})}
    event.check_five_years()
    return [import_request(event, [record], user_id=user_id if truthy(user_id) else anonymous)]


def group_keys(event: Event) -> list[Any]:
    keys = event.settings.derived(_group_keys)
    if not keys:
        raise ConfigurationError(msgs.GROUP_KEYS_NOT_CONFIGURED)
    return keys  # type: ignore[no-any-return]


def _group_keys(settings: Settings) -> list[Any]:
    items = settings.get("groupKeySettings")
    return [item.get("groupKey") for item in items if type(item) is dict and truthy(item.get("groupKey"))] \
        if type(items) is list else []


def group(event: Event) -> list[Request]:
    """Per group key: the user's ``$set {key: [ids]}`` on /engage, then one /groups ``$set`` per id."""
    message = event.message
    traits = message.get("traits", UNDEFINED)
    ip = event.get("context.ip")
    if not truthy(ip):
        ip = message.get("request_ip", UNDEFINED)
    token = event.settings.token
    out: list[Request] = []
    for key in group_keys(event):
        if key == "groupId":
            value = message.get("groupId", UNDEFINED)
            if not usable(value):
                value = get_path(traits, "groupId")
        else:
            value = get_path(traits, to_string(key))
        if not truthy(value):
            continue
        ids = value if type(value) is list else [value]
        out.append(profile_request(event, "engage", {
            "$token": token, "$distinct_id": event.distinct, "$set": {to_string(key): ids}, "$ip": ip}))
        for group_id in ids:
            out.append(profile_request(event, "groups", {
                "$token": token, "$group_key": key, "$group_id": group_id, "$set": dict(spread_items(traits))}))
    if not out:
        raise InstrumentationError(msgs.GROUP_KEY_MISSING)
    return out
