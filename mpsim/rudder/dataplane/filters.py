"""The processor's per-destination gates, as rules over one event (data-plane spec §3.2, §3.4, §3.5).

Each function returns ``None`` when Mixpanel gets the event, else the reason in words.
"""

from __future__ import annotations

from typing import Any

#: The definition's display name: the only ``integrations`` key that addresses Mixpanel (spec §3.2).
DISPLAY_NAME = "Mixpanel"
#: Keys people write instead, which match nothing.
NEAR_MISSES = ("MP", "mp", "mixpanel", "MIXPANEL", "Mix Panel", "mixPanel")
#: Mixpanel's cloud-mode message types (IC mp/db-config.json).
SUPPORTED_TYPES = ("alias", "group", "identify", "page", "screen", "track")
TYPE_ASSERTION = "Invalid message type. Type assertion failed"
TYPE_UNSUPPORTED = "Message type not supported"
_MISSING: Any = object()


def integrations_block(message: dict[str, Any]) -> str | None:
    """Why the ``integrations`` object keeps the event from Mixpanel, or None."""
    integrations = message.get("integrations", _MISSING)
    if integrations is _MISSING:
        return None
    if not isinstance(integrations, dict):
        shown = "null" if integrations is None else type(integrations).__name__
        return f"integrations is {shown}, not an object: no destination gets the event"
    every = integrations.get("All", _MISSING)
    if every is not _MISSING and not isinstance(every, bool):
        return f'"All" is {every!r}, not a boolean: no destination gets the event'
    own = integrations.get(DISPLAY_NAME, _MISSING)
    if own is True or isinstance(own, dict):
        return None
    if own is False:
        return '"Mixpanel": false'
    if every is _MISSING or every is True:
        return None
    misses = [k for k in integrations if k in NEAR_MISSES or (k.lower() == "mixpanel" and k != DISPLAY_NAME)]
    hint = (f"; {', '.join(repr(k) for k in misses)} does not address Mixpanel: the key is the display name "
            f"\"Mixpanel\", case-sensitive") if misses else ""
    return '"All": false and no "Mixpanel": true' + hint


def _ids(entries: Any, key: str) -> list[str]:
    if not isinstance(entries, list):
        return []
    out = []
    for entry in entries:
        value = entry.get(key) if isinstance(entry, dict) else None
        if isinstance(value, str) and value.strip():
            out.append(value.strip())
    return out


def consent_block(message: dict[str, Any], config: dict[str, Any], source_type: str = "web") -> str | None:
    """Why the event's denied consents keep it from Mixpanel, or None (spec §3.4)."""
    context = message.get("context")
    management = context.get("consentManagement") if isinstance(context, dict) else None
    if not isinstance(management, dict):
        return None
    denied_raw = management.get("deniedConsentIds")
    denied = {d for d in denied_raw if isinstance(d, str)} if isinstance(denied_raw, list) else set()
    if not denied:
        return None
    provider = management.get("provider") if isinstance(management.get("provider"), str) else ""
    strategy = management.get("resolutionStrategy")
    generic = config.get("consentManagement")
    if isinstance(generic, dict):  # the dashboard's per-source-type form
        generic = generic.get(source_type)
    for entry in generic if isinstance(generic, list) else []:
        if not isinstance(entry, dict) or entry.get("provider") != provider:
            continue
        consents = _ids(entry.get("consents"), "consent")
        if not consents:
            continue
        if provider == "custom":
            strategy = entry.get("resolutionStrategy")
        hit = sorted(denied.intersection(consents))
        if strategy == "or":
            return f"denied {', '.join(hit)} (all of {consents}, strategy or)" if len(hit) == len(set(consents)) else None
        return f"denied {', '.join(hit)} (provider {provider or 'generic'}, strategy and)" if hit else None
    if provider in ("", "oneTrust"):
        categories = _ids(config.get("oneTrustCookieCategories"), "oneTrustCookieCategory")
        if categories:
            hit = sorted(denied.intersection(categories))
            return f"denied {', '.join(hit)} (OneTrust cookie categories)" if hit else None
    if provider in ("", "ketch"):
        purposes = _ids(config.get("ketchConsentPurposes"), "purpose")
        if purposes:
            hit = sorted(denied.intersection(purposes))
            return f"denied {', '.join(hit)} (every Ketch purpose)" if len(hit) == len(set(purposes)) else None
    return None


def type_block(message: dict[str, Any]) -> tuple[int, str] | None:
    """``(status, text)`` when the message type keeps the event from Mixpanel, or None (spec §3.5)."""
    kind = message.get("type")
    if not isinstance(kind, str):
        return 400, TYPE_ASSERTION
    if kind.strip().lower() not in SUPPORTED_TYPES:
        return 298, TYPE_UNSUPPORTED
    return None
