"""The Mixpanel project, apart from the RudderStack destination that sends to it.

The two are set in two different products (the RudderStack dashboard and Mixpanel's project
settings) and disagree all the time; that disagreement is behind the most common support tickets.
So every entry point takes them as two inputs: ``destination`` (RudderStack's config) and
``project`` (the ``Simulator`` settings: token, ``identity_merge``, ``residency``, declared
``group_keys``, secret, …). When no project is given, it is *assumed* to match the destination,
and every summary says so in one line.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import MpsimError

if TYPE_CHECKING:
    from .mixpanel import Simulator


class ProjectError(MpsimError, ValueError):
    """A project description that cannot be used (an unknown key, a value of the wrong kind)."""


def _simulator_keys() -> tuple[str, ...]:
    from .mixpanel import Simulator

    # the clock is not a project setting: replays and bundles give it as ``now``
    return tuple(p for p in inspect.signature(Simulator.__init__).parameters if p not in ("self", "now"))


#: Mixpanel's own words for the project settings that matter to tickets (Mixpanel's UI, not RudderStack's).
PROJECT_SETTING_LABELS: dict[str, str] = {
    "token": "Project Settings → Access Keys → Project Token",
    "api_secret": "Project Settings → Access Keys → Project Secret",
    "identity_merge": "Project Settings → Identity Merge (ID Merge API: Original or Simplified)",
    "residency": "the project's Data Residency (chosen when the project is created: US, EU or India)",
    "group_keys": "Project Settings → Group Keys",
    "service_accounts": "Organization Settings → Service Accounts",
    "project_id": "Project Settings → Overview → Project ID",
}

#: RudderStack Mixpanel destination config keys → the label of the setting in RudderStack's dashboard.
#: Keys the transformer reads first, then keys the dashboard carries that it never reads.
DESTINATION_LABELS: dict[str, str] = {
    "token": "Project Token",
    "serviceAccountUserName": "Service Account Username",
    "serviceAccountSecret": "Service Account Secret",
    "projectId": "Project ID",
    "strictMode": "Strict Mode",
    "dataResidency": "Data Residency",
    "identityMergeApi": "Identity Merge",
    "useNewMapping": "Use New Mapping",
    "dropTraitsInTrackEvent": "Drop Traits in Track Event",
    "propIncrements": "Property Increments",
    "setOnceProperties": "Properties to set only once",
    "unionProperties": "Union Properties",
    "appendProperties": "Append Properties",
    "groupKeySettings": "Group Key Settings",
    "useUserDefinedPageEventName": "Use User Defined Page Event Name",
    "userDefinedPageEventTemplate": "Page Event Name Template",
    "useUserDefinedScreenEventName": "Use User Defined Screen Event Name",
    "userDefinedScreenEventTemplate": "Screen Event Name Template",
    "userDeletionApi": "User Deletion API",
    "gdprApiToken": "GDPR API Token",
    # carried by the dashboard, never read by the transformer
    "apiSecret": "API Secret",
    "people": "Track people",
    "setAllTraitsByDefault": "Set all traits by default",
    "superProperties": "Super Properties",
    "peopleProperties": "People Properties",
    "eventIncrements": "Event Increments",
    "consolidatedPageCalls": "Consolidated Page Calls",
    "trackCategorizedPages": "Track Categorized Pages",
    "trackNamedPages": "Track Named Pages",
    "sourceName": "Source Name",
    "prefixProperties": "Prefix Properties",
    "useNativeSDK": "Use Native SDK",
    "blacklistedEvents": "Blacklisted Events",
    "whitelistedEvents": "Whitelisted Events",
    "eventFilteringOption": "Event Filtering",
    "oneTrustCookieCategories": "OneTrust Cookie Categories",
    "consentManagement": "Consent Management",
    "persistence": "Persistence",
    "crossSubdomainCookie": "Cross Subdomain Cookie",
    "secureCookie": "Secure Cookie",
    "sessionReplayPercentage": "Session Replay Percentage",
    "connectionMode": "Connection Mode",
    "useNativeSDKToSend": "Use Native SDK to Send",
}

#: Top-level keys of RudderStack's destination object (around ``Config``).
DESTINATION_OBJECT_KEYS = frozenset({"Config", "ID", "Name", "Enabled", "WorkspaceID", "DestinationDefinition",
                                     "Transformations", "IsProcessorEnabled", "RevisionID", "IsConnectionEnabled"})

RESIDENCIES = {"us": "US", "eu": "EU", "in": "India"}


def destination_setting(key: str) -> str:
    """``'Identity Merge' (identityMergeApi)``: how a fix names a RudderStack setting."""
    label = DESTINATION_LABELS.get(key)
    return f"'{label}' ({key}) in the RudderStack Mixpanel destination" if label else f"'{key}' in the destination config"


def project_setting(key: str) -> str:
    """How a fix names a Mixpanel project setting."""
    return f"Mixpanel's {PROJECT_SETTING_LABELS.get(key, key)}"


def did_you_mean(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``name`` (same letters in another case first)."""
    known = list(known)
    lowered = {k.lower(): k for k in known}
    if name.lower() in lowered and lowered[name.lower()] != name:
        return lowered[name.lower()]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75) or \
        difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.75)
    if not close:
        return None
    return lowered.get(close[0], close[0])


def destination_config(destination: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``Config`` of a destination object, or the config itself."""
    if not isinstance(destination, Mapping):
        return {}
    inner = destination.get("Config")
    return dict(inner) if isinstance(inner, Mapping) else dict(destination)


def settings_from_destination(destination: Mapping[str, Any] | None) -> dict[str, Any]:
    """The project a destination config *points at*, were Mixpanel set up the same way."""
    config = destination_config(destination)
    token = config.get("token")
    residency = config.get("dataResidency")
    group_keys = config.get("groupKeySettings")
    return {
        "token": token if isinstance(token, str) and token else None,
        "identity_merge": "simplified" if config.get("identityMergeApi") == "simplified" else "original",
        "residency": residency if residency in ("eu", "in") else "us",
        "group_keys": [g["groupKey"] for g in group_keys if isinstance(g, Mapping) and isinstance(g.get("groupKey"), str)
                       and g["groupKey"]] if isinstance(group_keys, list) else [],
    }


def check_project_keys(project: Mapping[str, Any], where: str = "project") -> None:
    """Refuse unknown keys, listing the allowed ones (with a did-you-mean for near misses)."""
    allowed = _simulator_keys()
    for key in project:
        if key == "now":
            raise ProjectError(f"{where}: 'now' is not a project setting: give the clock as now= (or a bundle's "
                               f"'now'); allowed: {', '.join(allowed)}")
        if key not in allowed:
            hint = did_you_mean(str(key), allowed)
            raise ProjectError(f"{where} has an unknown setting {key!r}"
                               + (f" (did you mean {hint!r}?)" if hint else "")
                               + f"; allowed: {', '.join(allowed)}")


@dataclass
class Project:
    """The Mixpanel project a replay or validation runs against, and whether it was assumed."""

    settings: dict[str, Any]
    #: True when nobody described the project and it was taken from the destination
    assumed: bool = False
    sim: Simulator | None = field(default=None, repr=False)
    #: the replay that sent events to this project (rules that need Mixpanel's state read it)
    replay: Any = field(default=None, repr=False)

    @property
    def identity_merge(self) -> str:
        return str(self.settings.get("identity_merge") or "original")

    @property
    def residency(self) -> str | None:
        return self.settings.get("residency")

    @property
    def token(self) -> str | None:
        return self.settings.get("token")

    @property
    def group_keys(self) -> list[str]:
        return list(self.settings.get("group_keys") or [])

    def describe(self) -> str:
        """``original ID merge, US`` (plus declared group keys)."""
        residency = self.residency
        parts = [f"{self.identity_merge} ID merge",
                 RESIDENCIES.get(residency, residency.upper()) if isinstance(residency, str) else "any residency"]
        if self.group_keys:
            parts.append("group keys " + ", ".join(self.group_keys))
        return ", ".join(parts)

    @property
    def note(self) -> str:
        """The one line every summary shows when the project was assumed (empty otherwise)."""
        return f"project settings assumed from the destination: {self.describe()}" if self.assumed else ""

    def simulator(self, now: Any = None) -> Simulator:
        """A new simulator set up as this project (the given one, when the project is a ``Simulator``)."""
        from .mixpanel import Simulator

        if self.sim is not None:
            return self.sim
        return Simulator(now=now, **self.settings)


def resolve_project(project: Mapping[str, Any] | Simulator | Project | None,
                    destination: Mapping[str, Any] | None = None, *, where: str = "project") -> Project:
    """The project to use: the one given (dict of Simulator settings or a Simulator), or the destination's."""
    from .mixpanel import Simulator

    if isinstance(project, Project):
        return project
    if isinstance(project, Simulator):
        return Project(simulator_settings(project), sim=project)
    if project is None:
        return Project(settings_from_destination(destination), assumed=True)
    if not isinstance(project, Mapping):
        raise ProjectError(f"{where} must be a dict of Simulator settings or a Simulator, "
                           f"not {type(project).__name__}")
    check_project_keys(project, where)
    settings = dict(project)
    mode = settings.get("identity_merge", "original")
    if mode not in ("original", "simplified", "legacy"):
        raise ProjectError(f"{where}: identity_merge must be 'original', 'simplified' or 'legacy', not {mode!r}")
    if settings.get("residency") not in (None, "us", "eu", "in"):
        raise ProjectError(f"{where}: residency must be 'us', 'eu', 'in' or null, not {settings['residency']!r}")
    keys = settings.get("group_keys")
    if keys is not None and (isinstance(keys, str) or not all(isinstance(k, str) for k in keys)):
        raise ProjectError(f"{where}: group_keys must be a list of names, not {keys!r}")
    return Project(settings)


def simulator_settings(sim: Simulator) -> dict[str, Any]:
    """The settings a simulator was made with, without its clock (what a project dict holds)."""
    return {k: v for k, v in sim.settings.items() if k != "now"}
