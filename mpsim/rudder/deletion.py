"""User deletion: the requests RudderStack's Mixpanel destination makes to delete users (spec §9).

``engage`` (default) deletes profiles with ``$delete`` records on /engage; ``task`` creates GDPR/CCPA
deletion tasks. Only the requests are built here; the simulator answers the /engage ones.
"""

from __future__ import annotations

from typing import Any

from .._js import to_string, truthy
from ..errors import ConfigurationError, MpsimError
from ..request import Request
from .mappings import RESIDENCY_HOSTS, US_HOST

ENGAGE_CHUNK = 1000
TASK_CHUNK = 1999
TASK_HOSTS = {"eu": "https://eu.mixpanel.com", "in": "https://in.mixpanel.com"}

TOKEN_REQUIRED = "API Token is a required field for user deletion"
GDPR_TOKEN_REQUIRED = "GDPR API Token is a required field for creating deletion task in mixpanel"


def deletion_requests(user_attributes: Any, destination: dict[str, Any] | None = None) -> list[Request]:
    """The requests that delete ``user_attributes`` (each ``{"userId": ...}``); users without a userId are skipped."""
    config = (destination or {}).get("Config", destination or {})
    if not isinstance(user_attributes, list):
        raise MpsimError("userAttributes is not an array")
    token = config.get("token")
    if not truthy(token):
        raise ConfigurationError(TOKEN_REQUIRED)
    user_ids = [a["userId"] for a in user_attributes if isinstance(a, dict) and truthy(a.get("userId"))]
    residency = config.get("dataResidency")
    if config.get("userDeletionApi") == "task":
        if not truthy(config.get("gdprApiToken")):
            raise ConfigurationError(GDPR_TOKEN_REQUIRED)
        host = TASK_HOSTS.get(residency, "https://mixpanel.com") if isinstance(residency, str) else "https://mixpanel.com"
        return [Request(path="data-deletions", endpoint=f"{host}/api/app/data-deletions/v3.0/",
                        headers={"Content-Type": "application/json",
                                 "Authorization": f"Bearer {to_string(config['gdprApiToken'])}"},
                        params={"token": token},
                        records=[{"distinct_ids": user_ids[i:i + TASK_CHUNK],
                                  "compliance_type": "GDPR" if residency == "eu" else "CCPA"}])
                for i in range(0, len(user_ids), TASK_CHUNK)]
    base = RESIDENCY_HOSTS.get(residency, US_HOST) if isinstance(residency, str) else US_HOST
    return [Request(path="engage", endpoint=f"{base}/engage", headers={"accept": "text/plain",
                                                                      "content-type": "application/json"},
                    params={}, records=[{"$distinct_id": u, "$token": token, "$delete": None, "$ignore_alias": True}
                                        for u in user_ids[i:i + ENGAGE_CHUNK]])
            for i in range(0, len(user_ids), ENGAGE_CHUNK)]
