"""Checks for where the RudderStack destination and the Mixpanel project disagree (the ``setup`` record).

``validate`` builds one ``setup`` record per call, ``{"destination", "config", "project", "object"}``,
and the rules of ``rules.RULES`` that select on it use these checks. Each names the consequence and
the exact setting to change: the RudderStack dashboard label with its config key, or the Mixpanel
project setting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..project import (
    DESTINATION_LABELS,
    DESTINATION_OBJECT_KEYS,
    RESIDENCIES,
    destination_setting,
    did_you_mean,
    project_setting,
)

if TYPE_CHECKING:
    from .rules import Context

#: Config keys people write for a setting that has another name (checked before spelling distance).
CONFIG_KEY_MISTAKES: dict[str, str] = {
    "projectToken": "token", "project_token": "token", "apiToken": "token", "mixpanelToken": "token",
    "apiKey": "token", "identityMerge": "identityMergeApi", "identity_merge": "identityMergeApi",
    "idMerge": "identityMergeApi", "residency": "dataResidency", "data_residency": "dataResidency",
    "groupKeys": "groupKeySettings", "group_keys": "groupKeySettings", "newMapping": "useNewMapping",
    "config": "Config", "CONFIG": "Config",
}
HOSTS = {"us": "api.mixpanel.com", "eu": "api-eu.mixpanel.com", "in": "api-in.mixpanel.com"}

#: (destination mode, project mode) → what goes wrong, in words
IDENTITY_MISMATCH: dict[tuple[str, str], str] = {
    ("original", "simplified"): (
        "RudderStack sends Original ID merge data ($merge on identify, no $device_id on events) but the project "
        "uses Simplified ID merge, which ignores $merge: a visitor's anonymous events are never joined to the "
        "user who signs in, so each signed-up user shows as two users and sign-up funnels break"),
    ("simplified", "original"): (
        "RudderStack sends Simplified ID merge data (anonymous ids as '$device:<anonymousId>', $user_id and "
        "$device_id on events, no $merge) but the project uses Original ID merge, which does not link "
        "$user_id/$device_id: '$device:' ids are never joined to the user, so pre-login activity stays with a "
        "separate user"),
    ("original", "legacy"): (
        "RudderStack sends $merge on identify but the project has ID merge turned off (Legacy), which ignores "
        "$merge: anonymous and identified ids stay separate users"),
    ("simplified", "legacy"): (
        "RudderStack sends $user_id/$device_id on events but the project has ID merge turned off (Legacy), "
        "which links nothing: '$device:' ids stay separate users"),
}


def _given(ctx: Context) -> Any:
    """The project when someone described it (mismatch rules say nothing about an assumed project)."""
    project = ctx.project
    return None if project is None or getattr(project, "assumed", True) else project


def _config(value: Any) -> Mapping[str, Any]:
    config = value.get("config") if isinstance(value, Mapping) else None
    return config if isinstance(config, Mapping) else {}


def destination_mode(config: Mapping[str, Any]) -> str:
    return "simplified" if config.get("identityMergeApi") == "simplified" else "original"


def destination_residency(config: Mapping[str, Any]) -> str:
    value = config.get("dataResidency")
    return value if value in ("eu", "in") else "us"


def check_identity_mismatch(value: Any, key: Any, ctx: Context) -> str | None:
    project = _given(ctx)
    if project is None:
        return None
    pair = (destination_mode(_config(value)), project.identity_merge)
    return IDENTITY_MISMATCH.get(pair)


def fix_identity_mismatch(key: Any, detail: Any, ctx: Context) -> str:
    project_mode = ctx.project.identity_merge if ctx.project is not None else "original"
    if project_mode == "legacy":
        return (f"Turn ID merge on in {project_setting('identity_merge')}, or stop relying on identify to merge "
                f"users; {destination_setting('identityMergeApi')} cannot match a project without ID merge.")
    return (f"Set {destination_setting('identityMergeApi')} to '{project_mode}' so RudderStack sends what the "
            f"project understands (or switch {project_setting('identity_merge')}; that only changes new data).")


def check_residency_mismatch(value: Any, key: Any, ctx: Context) -> str | None:
    project = _given(ctx)
    if project is None or project.residency is None:
        return None
    config = _config(value)
    sent = destination_residency(config)
    if sent == project.residency:
        return None
    raw = config.get("dataResidency")
    slip = (f" ({json.dumps(raw)} is not {json.dumps(raw.lower())}: only lowercase 'eu' or 'in' select a residency, "
            "anything else means US)") if isinstance(raw, str) and raw.lower() in ("eu", "in") and raw != raw.lower() \
        else ""
    return (f"RudderStack sends to {HOSTS[sent]} (Data Residency {json.dumps(raw) if raw is not None else 'not set'})"
            f"{slip} but the project's data lives in {RESIDENCIES[project.residency]}: Mixpanel answers 200 OK to "
            "every request and keeps nothing, no events, no profiles, no error anywhere")


def fix_residency_mismatch(key: Any, detail: Any, ctx: Context) -> str:
    wanted = ctx.project.residency if ctx.project is not None else "us"
    return f"Set {destination_setting('dataResidency')} to '{wanted}' (exactly, in lower case)."


def check_group_key_undeclared(value: Any, key: Any, ctx: Context) -> str | None:
    project = _given(ctx)
    if project is None or not isinstance(value, str) or not value or value in project.group_keys:
        return None
    return value


def fix_group_key_undeclared(key: Any, detail: Any, ctx: Context) -> str:
    declared = ", ".join(ctx.project.group_keys) if ctx.project is not None and ctx.project.group_keys else "none"
    return (f"Declare '{detail}' in {project_setting('group_keys')} (events count from the moment it is declared; "
            f"re-send older ones), or change {destination_setting('groupKeySettings')} to a key the project "
            f"declares (declared: {declared}).")


def check_token_missing(value: Any, key: Any, ctx: Context) -> str | None:
    config = _config(value)
    if isinstance(config.get("token"), str) and config["token"]:
        return None
    service = all(config.get(k) for k in ("serviceAccountUserName", "serviceAccountSecret", "projectId"))
    if service:
        return ("profile and group updates carry no $token, so Mixpanel ignores them (events still reach /import "
                "with the service account)")
    return ("events cannot be sent to /import (RudderStack has no credential) and profile and group updates carry "
            "no $token, so Mixpanel ignores them")


def check_token_mismatch(value: Any, key: Any, ctx: Context) -> str | None:
    project = _given(ctx)
    token = _config(value).get("token")
    if project is None or project.token is None or not isinstance(token, str) or not token or token == project.token:
        return None
    return json.dumps(token)


def check_config_key(value: Any, key: Any, ctx: Context) -> str | None:
    """A did-you-mean for a config key RudderStack's Mixpanel destination does not have (None when known)."""
    if not isinstance(key, str) or key in DESTINATION_LABELS or key == "Config":
        return None
    return CONFIG_KEY_MISTAKES.get(key) or did_you_mean(key, [*DESTINATION_LABELS, "Config"])


def check_unknown_config_key(value: Any, key: Any, ctx: Context) -> str | None:
    if not isinstance(key, str) or key in DESTINATION_LABELS or key == "Config" or check_config_key(value, key, ctx):
        return None
    return key


def check_object_key(value: Any, key: Any, ctx: Context) -> str | None:
    """Keys around ``Config`` in a destination object: a mis-cased ``config`` hides every setting."""
    if not isinstance(key, str) or key in DESTINATION_OBJECT_KEYS:
        return None
    return CONFIG_KEY_MISTAKES.get(key) or did_you_mean(key, DESTINATION_OBJECT_KEYS)


def fix_config_key(key: Any, detail: Any, ctx: Context) -> str:
    if detail == "Config":
        return f"Rename '{key}' to 'Config': RudderStack reads the destination settings only from 'Config'."
    return f"Rename '{key}' to '{detail}' ({destination_setting(detail)})."


def setup_record(destination: Any, config: Mapping[str, Any], project: Any) -> dict[str, Any]:
    """The one record the setup rules look at."""
    wrapped = isinstance(destination, Mapping) and isinstance(destination.get("Config"), Mapping)
    return {"destination": destination, "config": dict(config),
            "object": {k: v for k, v in destination.items() if k != "Config"} if wrapped else {},
            "project": dict(project.settings) if project is not None else {}}
