"""Mixpanel's rules as data: each row selects values with a jsonpath-ng expression and checks them.

A rule is ``Rule(id, severity, select, check, message, fix)``. ``select`` maps a record kind
(``event``, ``profile``, ``group``, ``rudder``, ``request``) to a jsonpath-ng expression evaluated on
that record; ``check(value, key, ctx)`` returns ``None`` when the value is fine, or a short detail
that fills ``{detail}`` in the message. Severity may depend on the endpoint
(``{"import": "error", "track": "info", None: "warning"}``). Add your own rules with
``mpsim.validation.register(Rule(...))`` or ``mpsim.validate(obj, rules=[...])``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ..mixpanel.events import IDENTITY_EVENTS, MAX_COLLECTION_BYTES, MAX_DEPTH, forbidden_id
from ..mixpanel.identity import looks_anonymous
from ..project import destination_setting
from . import mismatch

_RESERVED = json.loads(resources.files("mpsim").joinpath("data/reserved_properties.json").read_text("utf-8"))
EVENT_RESERVED: frozenset[str] = frozenset(_RESERVED["event"])
PROFILE_RESERVED: frozenset[str] = frozenset(_RESERVED["profile"])
RESERVED_TYPES: dict[str, str] = _RESERVED["types"]
NEAR_MISSES: dict[str, list[Any]] = _RESERVED["near_misses"]
_BY_LOWER = {name.lower(): name for name in EVENT_RESERVED | PROFILE_RESERVED}

DAY_MS = 86_400_000
FIVE_YEARS_MS = 157_784_760_000
MIN_IMPORT_MS = 31_536_000_000
PROFILE_OPS = "'$set','$set_once','$union','$append','$add','$remove'"
_INSERT_ID = re.compile(r"^[A-Za-z0-9-]{1,36}$")
_DATE = re.compile(r"^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?)?$")


@dataclass
class Context:
    """What a check may know besides the value: the record, its kind and the project's settings."""

    kind: str
    record: Any
    endpoint: str | None = None
    now_ms: int = 0
    token: str | None = None
    identity_merge: str | None = None
    group_keys: frozenset[str] | None = None
    seen_group_keys: frozenset[str] = frozenset()
    config: Mapping[str, Any] | None = None
    #: the config RudderStack events are transformed with (``config`` plus a token if it has none)
    transform_config: Mapping[str, Any] | None = None
    #: the Mixpanel project (``mpsim.project.Project``), given or assumed from the destination
    project: Any = None


Check = Callable[[Any, Any, Context], "str | None"]


@dataclass(frozen=True)
class Rule:
    """One Mixpanel (or RudderStack) rule, as data."""

    id: str
    severity: str | Mapping[str | None, str]
    select: Mapping[str, str]
    check: Check
    message: str
    fix: str | Callable[[Any, Any, Context], str] = ""
    #: report the finding at this path under the selected value (for rules about absent fields)
    at: str | None = None
    description: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    def severity_for(self, endpoint: str | None) -> str:
        if isinstance(self.severity, str):
            return self.severity
        return self.severity.get(endpoint, self.severity.get(None, "warning"))


# --------------------------------------------------------------------------- helpers
def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_placeholder(value: Any) -> bool:
    """Whether ``value`` is an id Mixpanel refuses as a distinct id ('null', 'undefined', …: ``FORBIDDEN_IDS``)."""
    return isinstance(value, str) and forbidden_id(value)


def _props(ctx: Context) -> dict[str, Any]:
    props = ctx.record.get("properties") if isinstance(ctx.record, dict) else None
    return props if isinstance(props, dict) else {}


def _identity_event(ctx: Context) -> str | None:
    """The record's name when it is $identify, $create_alias or $merge."""
    name = ctx.record.get("event") if isinstance(ctx.record, dict) else None
    return name if isinstance(name, str) and name in IDENTITY_EVENTS else None


def _time_ms(value: Any) -> int | None:
    if not _is_number(value) or not math.isfinite(value) or value < 0:
        return None
    return int(value * 1000 if abs(value) < 1e10 else value)


def _depth(value: Any, level: int = 1) -> int:
    if isinstance(value, dict):
        return max([level] + [_depth(v, level + 1) for v in value.values()])
    if isinstance(value, list):
        return max([level - 1] + [_depth(v, level) for v in value if isinstance(v, (dict, list))])
    return level - 1


def _largest_object(value: Any) -> int:
    if isinstance(value, dict):
        return max([len(value)] + [_largest_object(v) for v in value.values()])
    if isinstance(value, list):
        return max([0] + [_largest_object(v) for v in value])
    return 0


def _longest_list(value: Any) -> int:
    if isinstance(value, list):
        return max([len(value)] + [_longest_list(v) for v in value])
    if isinstance(value, dict):
        return max([0] + [_longest_list(v) for v in value.values()])
    return 0


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass"))


# --------------------------------------------------------------------------- checks
def check_event_name(value: Any, key: Any, ctx: Context) -> str | None:
    name = value.get("event") if isinstance(value, dict) else None
    if not isinstance(name, str) or not name:
        return "missing" if name is None else f"{json.dumps(name)} is not a non-empty string"
    if len(name) > 255:
        return f"it is {len(name)} characters long"
    return None


def check_properties_object(value: Any, key: Any, ctx: Context) -> str | None:
    if not isinstance(value, dict) or not isinstance(value.get("properties"), dict):
        return "missing" if not isinstance(value, dict) or "properties" not in value else "not an object"
    return None


def _reserved_for(ctx: Context) -> frozenset[str]:
    return EVENT_RESERVED if ctx.kind == "event" else PROFILE_RESERVED


def check_unknown_dollar(value: Any, key: Any, ctx: Context) -> str | None:
    if not isinstance(key, str) or not key.startswith("$") or key in _reserved_for(ctx):
        return None
    if key in NEAR_MISSES or key.lower() in _BY_LOWER or key.startswith("$mp_") or key.startswith("$marketing"):
        return None  # the more specific rules speak about these
    return key


def check_near_miss(value: Any, key: Any, ctx: Context) -> str | None:
    if isinstance(key, str) and key in NEAR_MISSES:
        return NEAR_MISSES[key][0]
    return None


def check_case_slip(value: Any, key: Any, ctx: Context) -> str | None:
    if not isinstance(key, str) or not key.startswith("$") or key in _reserved_for(ctx) or key in NEAR_MISSES:
        return None
    return _BY_LOWER.get(key.lower())


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "url": lambda v: isinstance(v, str) and v.startswith(("http://", "https://")),
    "date": lambda v: isinstance(v, str) and bool(_DATE.match(v)),
    "country": lambda v: isinstance(v, str) and len(v) == 2 and v.isalpha(),
    "list": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "number": _is_number,
}
_TYPE_WORDS = {"string": "a string", "url": "an http(s) URL string", "date": "an ISO date string (YYYY-MM-DDTHH:MM:SS)",
               "country": "a 2-letter country code", "list": "a list", "boolean": "true or false",
               "number": "a number"}


def check_reserved_type(value: Any, key: Any, ctx: Context) -> str | None:
    expected = RESERVED_TYPES.get(key) if isinstance(key, str) else None
    if expected is None or value is None or _TYPE_CHECKS[expected](value):
        return None
    return _TYPE_WORDS[expected]


def check_transactions(value: Any, key: Any, ctx: Context) -> str | None:
    entries = value if isinstance(value, list) else [value]
    for entry in entries:
        if not isinstance(entry, dict) or not _is_number(entry.get("$amount")):
            amount = entry.get("$amount") if isinstance(entry, dict) else None
            return "missing" if amount is None else f"{json.dumps(amount)} (not a number)"
    return None


def check_time_unit(value: Any, key: Any, ctx: Context) -> str | None:
    if isinstance(value, str):
        return "a string; Mixpanel wants a number of seconds or milliseconds since the epoch"
    if not _is_number(value) or not math.isfinite(value):
        return f"{json.dumps(value, default=str)}, not a number"
    if value < 0:
        return "negative"
    if value > 1e14:
        return "larger than any millisecond time (microseconds or nanoseconds?)"
    return None


def check_time_window(value: Any, key: Any, ctx: Context) -> str | None:
    ms = _time_ms(value)
    if ms is None or value > 1e14 or not ctx.now_ms:
        return None
    if ms > ctx.now_ms + 3_600_000:
        return "more than 1 hour in the future: rejected"
    if ctx.endpoint != "track" and ms < MIN_IMPORT_MS:
        return "before 1971-01-01: rejected by /import"
    if ms < ctx.now_ms - 5 * DAY_MS and ctx.endpoint != "import":
        return "older than 5 days: /track rejects it; only /import accepts it"
    if ms > ctx.now_ms:
        return "in the future: Mixpanel replaces it with the time it receives the event"
    return None


def check_missing_distinct_id(value: Any, key: Any, ctx: Context) -> str | None:
    props = _props(ctx)
    if not props or _identity_event(ctx):
        return None
    if any(props.get(k) not in (None, "") for k in ("distinct_id", "$distinct_id")):
        return None
    if ctx.identity_merge != "original" and any(props.get(k) not in (None, "") for k in ("$user_id", "$device_id")):
        return None
    return "missing"


def check_placeholder_id(value: Any, key: Any, ctx: Context) -> str | None:
    if is_placeholder(value):
        return json.dumps(value)
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        return f"{json.dumps(value)} (not a string)"
    return None


def check_device_prefix(value: Any, key: Any, ctx: Context) -> str | None:
    if ctx.identity_merge == "original" and isinstance(value, str) and value.startswith("$device:"):
        return value
    return None


def check_identify_anon(value: Any, key: Any, ctx: Context) -> str | None:
    if ctx.record.get("event") != "$identify" or ctx.identity_merge == "simplified":
        return None
    anon = _props(ctx).get("$anon_id")
    if not isinstance(anon, str) or not anon:
        return "missing"
    if not looks_anonymous(anon):
        return f"{json.dumps(anon)} is not a UUID"
    if anon == _props(ctx).get("$identified_id"):
        return "the same as $identified_id"
    return None


def check_identity_event_ignored(value: Any, key: Any, ctx: Context) -> str | None:
    return _identity_event(ctx) if ctx.identity_merge == "simplified" else None


def check_alias(value: Any, key: Any, ctx: Context) -> str | None:
    if ctx.record.get("event") != "$create_alias":
        return None
    props = _props(ctx)
    alias, original = props.get("alias"), props.get("distinct_id")
    if alias in (None, ""):
        return "it has no alias"
    if original in (None, ""):
        return "it has no distinct_id to alias to"
    if alias == original:
        return "alias and distinct_id are the same id, so nothing happens"
    return None


def check_insert_id_missing(value: Any, key: Any, ctx: Context) -> str | None:
    props = _props(ctx)
    if not props or _identity_event(ctx) or props.get("$insert_id") is not None:
        return None
    return "missing"


def check_insert_id_format(value: Any, key: Any, ctx: Context) -> str | None:
    if not isinstance(value, str) or not _INSERT_ID.match(value) or is_placeholder(value):
        return json.dumps(value)
    return None


def check_event_token(value: Any, key: Any, ctx: Context) -> str | None:
    props = _props(ctx)
    token = props.get("token")
    if token is None:
        return "missing: /track cannot tell which project the event belongs to" if ctx.endpoint == "track" else None
    if ctx.token is not None and token != ctx.token:
        return f"{json.dumps(token)} is not this project's token"
    return None


def check_profile_token(value: Any, key: Any, ctx: Context) -> str | None:
    token = value.get("$token") if isinstance(value, dict) else None
    if token is None:
        return "missing"
    if ctx.token is not None and token != ctx.token:
        return f"{json.dumps(token)} is not this project's token"
    return None


def check_too_many_keys(value: Any, key: Any, ctx: Context) -> str | None:
    return f"{len(value)} keys" if isinstance(value, dict) and len(value) >= 255 else None


def check_nested_limits(value: Any, key: Any, ctx: Context) -> str | None:
    if not isinstance(value, (dict, list)):
        return None
    if _depth(value) > MAX_DEPTH:
        return f"objects nested {_depth(value)} levels deep (at most {MAX_DEPTH})"
    if _largest_object(value) >= 255:
        return f"a nested object with {_largest_object(value)} keys (fewer than 255 allowed)"
    if _longest_list(value) >= 255:
        return f"a list of {_longest_list(value)} items (fewer than 255 allowed)"
    size = _json_size(value)
    if ctx.kind == "event" and size > MAX_COLLECTION_BYTES:
        return f"{size} bytes of JSON (at most 8 KB for a list or object on an event)"
    return None


def check_long_name(value: Any, key: Any, ctx: Context) -> str | None:
    return f"{len(key)} characters" if isinstance(key, str) and len(key) > 255 else None


def _longest_string(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return max([0] + [_longest_string(v) for v in value.values()])
    if isinstance(value, list):
        return max([0] + [_longest_string(v) for v in value])
    return 0


def check_long_string(value: Any, key: Any, ctx: Context) -> str | None:
    longest = _longest_string(value)
    return f"{longest} characters" if longest > 255 else None


def check_event_size(value: Any, key: Any, ctx: Context) -> str | None:
    size = _json_size(value)
    return f"{size} bytes" if size >= 1_048_576 else None


def check_group_key_declared(value: Any, key: Any, ctx: Context) -> str | None:
    if ctx.group_keys is None or not isinstance(key, str):
        return None
    if key in ctx.seen_group_keys and key not in ctx.group_keys:
        return key
    return None


def check_profile_distinct_id(value: Any, key: Any, ctx: Context) -> str | None:
    distinct_id = value.get("$distinct_id") if isinstance(value, dict) else None
    if distinct_id in (None, ""):
        return "missing or empty"
    if is_placeholder(distinct_id) or isinstance(distinct_id, (bool, dict, list)):
        return f"{json.dumps(distinct_id)}, a placeholder Mixpanel refuses"
    return None


_OPERATION_SHAPES = {"$set": dict, "$set_once": dict, "$add": dict, "$union": dict, "$append": dict, "$remove": dict,
                     "$unset": list}


def check_profile_operation(value: Any, key: Any, ctx: Context) -> str | None:
    if not isinstance(value, dict):
        return "the record is not an object"
    ops = [k for k in value if k in _OPERATION_SHAPES or k == "$delete"]
    if not ops:
        return "no operation ($set, $set_once, $add, $union, $append, $remove, $unset or $delete)"
    for op in ops:
        shape = _OPERATION_SHAPES.get(op)
        if shape is not None and not isinstance(value[op], shape):
            return f"{op} must be {'an object' if shape is dict else 'a list of names'}"
    bad = [k for k, v in (value.get("$add") or {}).items() if not _is_number(v)]
    if bad:
        return f"$add.{bad[0]} is not a number"
    if ctx.kind == "group":
        unsupported = [op for op in ops if op in ("$add", "$append")]
        if unsupported:
            return f"{unsupported[0]} is not supported on /groups"
    return None


def check_profile_size(value: Any, key: Any, ctx: Context) -> str | None:
    return f"{len(value)} properties in one update" if isinstance(value, dict) and len(value) > 2000 else None


def check_group_ids(value: Any, key: Any, ctx: Context) -> str | None:
    if not isinstance(value, dict):
        return None
    for name in ("$group_key", "$group_id"):
        if value.get(name) in (None, ""):
            return f"{name} is missing"
    return None


def check_batch_size(value: Any, key: Any, ctx: Context) -> str | None:
    records = getattr(ctx.record, "records", [])
    return f"{len(records)} records" if len(records) > 2000 else None


def check_rudder_age(value: Any, key: Any, ctx: Context) -> str | None:
    from .._dates import date_ms

    if ctx.record.get("type") not in ("track", "page", "screen", "alias"):
        return None
    ms = date_ms(ctx.record.get("timestamp", None)) if "timestamp" in ctx.record else None
    if ms is None or not ctx.now_ms:
        return None
    if ctx.now_ms - ms <= FIVE_YEARS_MS:
        return None
    stamp = ctx.record["timestamp"]
    if isinstance(stamp, (int, float)) and not isinstance(stamp, bool):
        # a number is JavaScript's Date(ms): epoch seconds land in January 1970, which reads as a mystery
        from datetime import datetime, timezone

        when = datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        seconds = " (epoch seconds? send milliseconds or an ISO 8601 string)" if abs(stamp) < 1e10 else ""
        return f"timestamp {stamp!r}, which RudderStack reads as milliseconds: {when}{seconds},"
    return f"timestamp {stamp!r}"


def check_rudder_ids(value: Any, key: Any, ctx: Context) -> str | None:
    for name in ("userId", "anonymousId"):
        if is_placeholder(ctx.record.get(name)):
            return f"{name} {json.dumps(ctx.record.get(name))}"
    return None


def check_rudder_no_ids(value: Any, key: Any, ctx: Context) -> str | None:
    if ctx.record.get("type") not in ("track", "page", "screen", "identify"):
        return None
    if any(ctx.record.get(k) not in (None, "", 0, False) for k in ("userId", "anonymousId")):
        return None
    return "neither userId nor anonymousId"


#: numeric event properties that usually hold an amount of money
REVENUE_LIKE = ("total", "amount", "price", "value", "order_total", "grand_total", "subtotal", "sub_total",
                "order_value", "total_price", "total_amount", "sales", "sale_amount", "purchase_amount", "cart_total",
                "checkout_total", "order_amount", "payment_amount", "charge", "paid", "amount_paid")


def _numeric(value: Any) -> bool:
    if _is_number(value):
        return True
    try:
        return isinstance(value, str) and math.isfinite(float(value))
    except ValueError:
        return False


#: event names that record a purchase (matched case-insensitively on the name with '_', '-', '.' and camelCase
#: read as spaces): only these should carry ``revenue``; a price on Product Viewed or Cart Viewed is not a sale
PURCHASE_EVENTS: tuple[str, ...] = (
    r"\b(order|checkout|purchase|payment|transaction|subscription|invoice|charge)s? "
    r"(completed?|placed|succeeded|successful|success|paid|confirmed|processed|made)\b",
    r"\bsubscriptions? (started|created|renewed|activated)\b",
    r"\b(completed?|placed|made|confirmed) (an? |the )?(order|purchase|checkout|payment|transaction)\b",
    r"^(purchased?|order|paid|payment|subscribed|charged?|transaction|checkout)$",
)
_PURCHASE = re.compile("|".join(f"(?:{p})" for p in PURCHASE_EVENTS))


def is_purchase_event(name: Any) -> bool:
    """Whether an event name reads as a completed purchase (``PURCHASE_EVENTS``)."""
    if not isinstance(name, str):
        return False
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    words = " ".join(re.sub(r"[_\-.:/]+", " ", words).lower().split())
    return bool(_PURCHASE.search(words))


def check_revenue_like(value: Any, key: Any, ctx: Context) -> str | None:
    """The first revenue-like property (``key``) of a purchase event that has no ``revenue``."""
    record = ctx.record
    if record.get("type") != "track" or not is_purchase_event(record.get("event")):
        return None
    props = record.get("properties")
    if not isinstance(props, dict) or props.get("revenue") not in (None, "", 0, False):
        return None
    found = [k for k in props if isinstance(k, str) and k.lower() in REVENUE_LIKE and _numeric(props[k])]
    return f"'{key}'" if found and found[0] == key else None


def _group_key_names(ctx: Context) -> list[str]:
    settings = (ctx.config or {}).get("groupKeySettings")
    if not isinstance(settings, list):
        return []
    return [s["groupKey"] for s in settings if isinstance(s, dict) and isinstance(s.get("groupKey"), str) and s["groupKey"]]


def check_group_call_key(value: Any, key: Any, ctx: Context) -> str | None:
    if ctx.record.get("type") != "group":
        return None
    keys = _group_key_names(ctx)
    traits = ctx.record.get("traits")
    traits = traits if isinstance(traits, dict) else {}
    if not keys or any(traits.get(k) not in (None, "") for k in keys):
        return None
    return ", ".join(f"'{k}'" for k in keys)


NEAR_MISS_FIXES = {
    "useNewMapping": "Turn on 'Use New Mapping' (useNewMapping) in the RudderStack Mixpanel destination: "
                     "firstName/lastName traits then land as $first_name/$last_name.",
}


def _sev(import_: str, track: str, other: str) -> dict[str | None, str]:
    return {"import": import_, "track": track, None: other}


EVENT_PROPS = {"event": "properties.*"}
THIS = "`this`"

#: The built-in rules, in reporting order.
RULES: list[Rule] = [
    Rule("event-name", "error", {"event": THIS}, check_event_name, "The event name is {detail}.",
         "Send a non-empty string in 'event' (names are case-sensitive).", at="event"),
    Rule("properties-object", "error", {"event": THIS}, check_properties_object,
         "The event's 'properties' is {detail}; Mixpanel rejects the record.", "Send the event as "
         "{{\"event\": NAME, \"properties\": {{...}}}}.", at="properties"),
    Rule("near-miss-name", "warning", {"event": EVENT_PROPS["event"], "profile": f"{PROFILE_OPS}.*", "group": f"{PROFILE_OPS}.*"},
         check_near_miss, "'{key}' is a custom property, not Mixpanel's '{detail}': it lands as a separate "
         "property and Mixpanel's own field stays empty.", lambda key, detail, ctx: NEAR_MISS_FIXES.get(
             NEAR_MISSES[key][1], f"Rename it to '{detail}'.")),
    Rule("case-slip", "warning", {"event": EVENT_PROPS["event"], "profile": f"{PROFILE_OPS}.*", "group": f"{PROFILE_OPS}.*"}, check_case_slip,
         "'{key}' differs from Mixpanel's reserved '{detail}' only in case; property names are case-sensitive, "
         "so it becomes a custom property.", "Rename it to '{detail}'."),
    Rule("unknown-dollar-property", "warning", {"event": EVENT_PROPS["event"], "profile": f"{PROFILE_OPS}.*", "group": f"{PROFILE_OPS}.*"},
         check_unknown_dollar, "'{key}' begins with '$' but is not a property Mixpanel defines; '$' names are "
         "reserved for Mixpanel and this one will be an ordinary custom property.",
         "Drop the '$' (or use the reserved name you meant)."),
    Rule("reserved-type", "warning", {"event": EVENT_PROPS["event"], "profile": "'$set','$set_once'.*"},
         check_reserved_type, "Mixpanel expects '{key}' to be {detail}; got {value}. Mixpanel stores it, but "
         "features that rely on it (cohort syncs, the profile card, revenue) will not.",
         "Send '{key}' as {detail}."),
    Rule("transactions-amount", "warning", {"profile": "'$append','$set','$union'.'$transactions'"},
         check_transactions, "A $transactions entry has $amount {detail}; Mixpanel's revenue reports ignore it.",
         "Give every transaction a numeric $amount (and a $time)."),
    Rule("time-unit", "error", {"event": "properties.time"}, check_time_unit,
         "'properties.time' is {detail}; Mixpanel rejects the event.",
         "Send time as seconds or milliseconds since the epoch (UTC)."),
    Rule("time-window", _sev("error", "error", "info"), {"event": "properties.time"}, check_time_window,
         "The event time is {detail}.", "Send recent events to /track and older ones to /import; check the "
         "sender's clock for future times."),
    Rule("missing-distinct-id", _sev("error", "warning", "error"), {"event": THIS}, check_missing_distinct_id,
         "The event has no distinct_id: /import rejects it and /track stores it without a user.",
         "Set properties.distinct_id (or $user_id/$device_id in Simplified ID merge).",
         at="properties.distinct_id"),
    Rule("placeholder-id", "error", {"event": "properties.distinct_id,'$user_id','$device_id'",
                                     "profile": "'$distinct_id'"},
         check_placeholder_id, "{detail} is a placeholder id Mixpanel rejects.",
         "Send the real user or device id, or leave the field out for anonymous traffic."),
    Rule("device-prefix-in-original", "warning", {"event": "properties.distinct_id", "profile": "'$distinct_id'"},
         check_device_prefix, "'{detail}' uses the Simplified ID merge '$device:' prefix, but the project uses "
         "Original ID merge: it is an ordinary id there and never joins the user's other ids.",
         "Use the same identity-merge mode in RudderStack (identityMergeApi) and in the Mixpanel project."),
    Rule("identify-anon-not-uuid", "warning", {"event": THIS}, check_identify_anon,
         "$identify's $anon_id is {detail}: Mixpanel refuses the merge "
         "(errAnonDistinctIdNonGUIDForm / errSameIDs).",
         "Use the SDK-generated anonymous UUID as $anon_id, or merge with $merge via /import.", at="properties.$anon_id"),
    Rule("identity-event-ignored", "warning", {"event": THIS}, check_identity_event_ignored,
         "{detail} has no effect in a Simplified ID merge project.",
         "Send $user_id and $device_id on an ordinary event to link ids.", at="event"),
    Rule("alias-refused", "error", {"event": THIS}, check_alias, "This $create_alias will not merge anything: {detail}.",
         "Send 'alias' (the new id) and 'distinct_id' (the existing id), and they must differ.",
         at="properties.alias"),
    Rule("insert-id-missing", _sev("error", "info", "warning"), {"event": THIS}, check_insert_id_missing,
         "The event has no $insert_id: /import rejects it; on /track Mixpanel generates one and the event can "
         "never be de-duplicated.", "Send a stable $insert_id (a UUID) with every event.",
         at="properties.$insert_id"),
    Rule("insert-id-format", "error", {"event": "properties.'$insert_id'"}, check_insert_id_format,
         "$insert_id {detail} is not at most 36 letters, digits or '-'.",
         "Use a UUID (36 characters) or 32 hex characters."),
    Rule("token", "error", {"event": THIS}, check_event_token, "The event token is {detail}.",
         "Send the project token in properties.token.", at="properties.token"),
    Rule("profile-token", "error", {"profile": THIS, "group": THIS}, check_profile_token,
         "$token is {detail}; Mixpanel ignores the update.", "Send the project token as $token.", at="$token"),
    Rule("too-many-properties", "error", {"event": "properties"}, check_too_many_keys,
         "The event has {detail}; Mixpanel rejects events with 255 properties or more.",
         "Drop properties or move detail into fewer, structured properties."),
    Rule("nested-limits", "error", {"event": EVENT_PROPS["event"], "profile": f"{PROFILE_OPS}.*", "group": f"{PROFILE_OPS}.*"},
         check_nested_limits, "'{key}' holds {detail}; Mixpanel rejects it.",
         "Flatten the value, or split it into several properties."),
    Rule("long-property-name", "warning", {"event": EVENT_PROPS["event"], "profile": f"{PROFILE_OPS}.*", "group": f"{PROFILE_OPS}.*"},
         check_long_name, "A property name is {detail}; Mixpanel truncates names to 255 characters.",
         "Use a shorter property name."),
    Rule("long-string", "warning", {"event": EVENT_PROPS["event"], "profile": f"{PROFILE_OPS}.*", "group": f"{PROFILE_OPS}.*"}, check_long_string,
         "'{key}' holds a string of {detail}; Mixpanel truncates strings to 255 characters.",
         "Shorten the value, or keep long text outside Mixpanel."),
    Rule("event-too-large", "error", {"event": THIS}, check_event_size,
         "The event is {detail} of JSON; Mixpanel rejects events of 1 MB or more.", "Send less data per event."),
    Rule("group-key-not-declared", "warning", {"event": EVENT_PROPS["event"]}, check_group_key_declared,
         "'{detail}' is used as a group key, but is not declared in the project's group keys: these events "
         "will not count toward the group.", "Declare '{detail}' as a group key in Mixpanel's project settings "
         "before sending events."),
    Rule("profile-distinct-id", "error", {"profile": THIS}, check_profile_distinct_id,
         "$distinct_id is {detail}.", "Send the user's id as $distinct_id.", at="$distinct_id"),
    Rule("profile-operation", "error", {"profile": THIS, "group": THIS}, check_profile_operation,
         "The update is rejected: {detail}.", "Send one operation with a value of the right shape."),
    Rule("profile-too-many-properties", "error", {"profile": "'$set','$set_once'"}, check_profile_size,
         "The update sets {detail}; a profile holds at most 2000 properties.", "Set fewer properties."),
    Rule("group-ids", "error", {"group": THIS}, check_group_ids, "The group update is rejected: {detail}.",
         "Send $group_key (the group key, e.g. company_id) and $group_id (the group's id)."),
    Rule("batch-size", "error", {"request": THIS}, check_batch_size,
         "The request carries {detail}; Mixpanel takes at most 2000 per request.", "Split it into batches of 2000."),
    Rule("rudderstack-five-years", "error", {"rudder": THIS}, check_rudder_age,
         "RudderStack drops this event: its {detail} is more than 5 years old.",
         "Fix the event's timestamp, or import very old history with Mixpanel's /import directly.",
         at="timestamp"),
    Rule("rudderstack-placeholder-id", "error", {"rudder": THIS}, check_rudder_ids,
         "{detail} is a placeholder id; Mixpanel rejects events and profiles sent with it.",
         "Leave the id out until the real one is known.", at="userId"),
    Rule("rudderstack-no-ids", "error", {"rudder": THIS}, check_rudder_no_ids,
         "The event has {detail}: Mixpanel's /import rejects events without a distinct_id.",
         "Send an anonymousId (the SDKs do) or a userId.", at="anonymousId"),
]

# ----- the RudderStack destination against the Mixpanel project (one ``setup`` record per validation)
RULES += [
    Rule("identity-merge-mismatch", "error", {"setup": THIS}, mismatch.check_identity_mismatch,
         "The destination and the project disagree on ID merge: {detail}.", mismatch.fix_identity_mismatch,
         at="config.identityMergeApi", tags=("mismatch",)),
    Rule("residency-mismatch", "error", {"setup": THIS}, mismatch.check_residency_mismatch, "{detail}.",
         mismatch.fix_residency_mismatch, at="config.dataResidency", tags=("mismatch",)),
    Rule("group-key-undeclared-in-project", "error", {"setup": "config.groupKeySettings[*].groupKey"},
         mismatch.check_group_key_undeclared,
         "'{detail}' is set in the destination's 'Group Key Settings' (groupKeySettings) but is not declared as a "
         "group key in the Mixpanel project: group profiles are created, yet events never count toward the group, "
         "so group reports stay empty.", mismatch.fix_group_key_undeclared, tags=("mismatch",)),
    Rule("token-missing", "error", {"setup": THIS}, mismatch.check_token_missing,
         "The destination has no 'Project Token' (token): {detail}.",
         f"Set {destination_setting('token')} to the token in Mixpanel's Project Settings → Access Keys.",
         at="config.token", tags=("mismatch",)),
    Rule("token-mismatch", "error", {"setup": THIS}, mismatch.check_token_mismatch,
         "The destination's 'Project Token' (token) {detail} is not this project's token: Mixpanel answers 200 to "
         "/track, /engage and /groups and keeps nothing in this project, and /import answers 401.",
         f"Set {destination_setting('token')} to the token in Mixpanel's Project Settings → Access Keys.",
         at="config.token", tags=("mismatch",)),
    Rule("config-key-typo", "error", {"setup": "config.*"}, mismatch.check_config_key,
         "'{key}' is not a setting of RudderStack's Mixpanel destination (did you mean '{detail}'?): RudderStack "
         "ignores it, so what it was meant to set is not set.", mismatch.fix_config_key, tags=("mismatch",)),
    Rule("destination-key-typo", "error", {"setup": "object.*"}, mismatch.check_object_key,
         "'{key}' is not a key of a RudderStack destination (did you mean '{detail}'?): it is ignored.",
         mismatch.fix_config_key, tags=("mismatch",)),
    Rule("unknown-config-key", "warning", {"setup": "config.*"}, mismatch.check_unknown_config_key,
         "'{detail}' is not a setting of RudderStack's Mixpanel destination: RudderStack ignores it.",
         "Remove it, or use one of the destination's settings (see mpsim.project.DESTINATION_LABELS).",
         tags=("mismatch",)),
    # ----- RudderStack events, read with the destination's settings
    Rule("revenue-without-revenue", "warning", {"rudder": "properties.*"}, check_revenue_like,
         "This purchase event has {detail} but no 'revenue' property: RudderStack adds a $transactions entry "
         "($append to the user's profile, what Mixpanel's revenue reports read) only when properties.revenue is "
         "present and not 0, so this amount stays an ordinary event property and revenue reports show nothing. "
         "(Checked only on purchase-like events: Order Completed, Checkout/Payment/Subscription completed, …)",
         "Send the amount as properties.revenue in the purchase's track call (keep {detail} too if reports use it), "
         "or map it to revenue in a RudderStack transformation."),
    Rule("group-key-missing", "error", {"rudder": THIS}, check_group_call_key,
         "The group call's traits have none of the configured group keys ({detail}): RudderStack refuses it "
         "(Group Key is not present) and no group profile is made.",
         f"Put the group key in the group call's traits, or change {destination_setting('groupKeySettings')} "
         "to the trait the group calls carry.", at="traits"),
]

_REGISTERED: list[Rule] = []


def register(rule: Rule) -> Rule:
    """Add a rule to every later ``mpsim.validate`` call (returns it, so it can decorate a constant)."""
    if any(r.id == rule.id for r in RULES + _REGISTERED):
        raise ValueError(f"a rule with id {rule.id!r} already exists")
    _REGISTERED.append(rule)
    return rule


def unregister(rule_id: str) -> None:
    _REGISTERED[:] = [r for r in _REGISTERED if r.id != rule_id]


def active_rules() -> list[Rule]:
    return RULES + _REGISTERED
