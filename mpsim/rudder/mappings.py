"""RudderStack → Mixpanel field mappings, as data.

Each row is ``(destination key, source paths)``; the sources are tried in order and the first
*usable* value (truthy, or exactly ``0``/``false``) wins. Paths are resolved on the whole message
with ``get-value`` semantics (see :func:`mpsim._js.get_path`). ``T.`` stands for ``traits.`` and
``C.`` for ``context.traits.``. Row order is output order.
"""

from __future__ import annotations

T, C = "traits.", "context.traits."

#: Event properties of track, page and screen (spec §4.1).
EVENT_PROPERTIES: list[tuple[str, tuple[str, ...]]] = [
    ("ip", ("context.ip", "request_ip")),
    ("campaign_id", ("context.campaign.name",)),
    ("$user_id", ("userId",)),
    ("$current_url", ("context.page.url",)),
    ("$os", ("context.os.name",)),
    ("$referrer", ("context.page.referrer",)),
    ("$screen_height", ("context.screen.height",)),
    ("$screen_width", ("context.screen.width",)),
    ("$screen_dpi", ("context.screen.density",)),
    ("$carrier", ("context.network.carrier",)),
    ("$os_version", ("context.os.version",)),
    ("$device", ("context.device.name",)),
    ("$manufacturer", ("context.device.manufacturer",)),
    ("$model", ("context.device.model",)),
    ("mp_device_model", ("context.device.model",)),
    ("$wifi", ("context.network.wifi",)),
    ("$bluetooth_enabled", ("context.network.bluetooth",)),
    ("$bluetooth_version", ("properties.bluetoothVersion",)),
    ("mp_lib", ("context.library.name",)),
    ("$initial_referrer", ("context.page.initialReferrer", "context.page.initial_referrer")),
    ("$initial_referring_domain",
     ("context.page.initialReferringDomain", "context.page.initial_referring_domain")),
    ("mp_processing_time_ms", ("properties.mpProcessingTimeMs",)),
    ("$app_build_number", ("properties.appBuildNumber", "context.app.build")),
    ("$app_version_string", ("properties.appVersionString", "context.app.version")),
    ("$brand", ("properties.brand", "device.manufacturer")),
    ("$radio", ("properties.radio",)),
    ("$lib_version", ("properties.libVersion",)),
    ("$search_engine", ("properties.searchEngine",)),
    ("mp_keyword", ("properties.mpKeyword",)),
    ("$has_nfc", ("properties.hasNfc",)),
    ("$has_telephone", ("properties.hasTelephone",)),
    ("$google_play_services", ("properties.googlePlayServices",)),
    ("$insert_id", ("messageId",)),
    ("$session_id", ("session_id", "context.sessionId")),
    ("$app_name", ("context.app.name",)),
    ("$app_namespace", ("context.app.namespace",)),
]

FIRST_NAME = (T + "firstName", T + "firstname", T + "first_name", C + "firstName", C + "firstname", C + "first_name")
LAST_NAME = (T + "lastName", T + "lastname", T + "last_name", C + "lastName", C + "lastname", C + "last_name")
NAME = (T + "name", C + "name")

#: The identify ``$set`` object (spec §4.2a).
PROFILE_PROPERTIES: list[tuple[str, tuple[str, ...]]] = [
    ("$created", (T + "createdAt", C + "createdAt")),
    ("$email", (T + "email", C + "email", "properties.email")),
    ("$first_name", FIRST_NAME),
    ("$last_name", LAST_NAME),
    ("$name", NAME),
    ("$username", (T + "username", C + "username", T + "userName", C + "userName")),
    ("$phone", (T + "phone", C + "phone", "properties.phone")),
    ("$avatar", (T + "avatar", C + "avatar")),
    ("$country_code", (T + "address.country", C + "address.country", T + "country", C + "country",
                       "context.location.country")),
    ("$city", (T + "city", C + "city", T + "address.city", C + "address.city", "context.location.city")),
    ("$region", (T + "state", C + "state", T + "address.state", C + "address.state", "context.location.region")),
    ("$geo_source", ("context.location.geoSource",)),
    ("$timezone", ("context.location.timezone",)),
    ("$latitude", ("context.location.latitude",)),
    ("$longitude", ("context.location.longitude",)),
    ("$carrier", ("context.network.carrier",)),
    ("$manufacturer", ("context.device.manufacturer",)),
    ("$model", ("context.device.model",)),
    ("$screen_height", ("context.screen.height",)),
    ("$screen_width", ("context.screen.width",)),
    ("$wifi", ("context.network.wifi",)),
    ("$unsubscribed", (T + "unsubscribed", C + "unsubscribed", "properties.unsubscribed")),
    ("$initial_referrer", ("context.page.initial_referrer", "context.page.initialReferrer")),
    ("$initial_referring_domain", ("context.page.initial_referring_domain", "context.page.initialReferringDomain")),
]

#: set-once / union / append objects, read from the flat ``eligible`` object (spec §4.2b).
OPERATION_PROPERTIES: list[tuple[str, tuple[str, ...]]] = [
    ("$created", ("createdAt",)),
    ("$email", ("email",)),
    ("$first_name", ("firstName", "firstname", "first_name")),
    ("$last_name", ("lastName", "lastname", "last_name")),
    ("$name", ("name",)),
    ("$username", ("username", "userName")),
    ("$phone", ("phone",)),
    ("$avatar", ("avatar",)),
    ("$country_code", ("country", "address.country")),
    ("$city", ("city", "address.city")),
    ("$region", ("state", "address.state", "location.region")),
    ("$unsubscribed", ("unsubscribed",)),
    ("$geo_source", ("location.geoSource",)),
    ("$timezone", ("location.timezone",)),
    ("$latitude", ("location.latitude",)),
    ("$longitude", ("location.longitude",)),
    ("$carrier", ("network.carrier",)),
    ("$manufacturer", ("device.manufacturer",)),
    ("$model", ("device.model",)),
    ("$screen_height", ("screen.height",)),
    ("$screen_width", ("screen.width",)),
    ("$wifi", ("network.wifi",)),
    ("$initial_referrer", ("page.initial_referrer",)),
    ("$initial_referring_domain", ("page.initial_referring_domain", "page.initialReferringDomain")),
]

#: Device fields merged into the identify ``$set`` for Apple and Android devices (spec §4.3).
IOS_DEVICE: list[tuple[str, tuple[str, ...]]] = [
    ("$os", ("context.os.name",)),
    ("$ios_device_model", ("context.device.model",)),
    ("$ios_version", ("context.os.version",)),
    ("$ios_app_release", ("context.app.version",)),
    ("$ios_app_version", ("context.app.build",)),
    ("$ios_lib_version", ("properties.iosLibVersion",)),
]
ANDROID_DEVICE: list[tuple[str, tuple[str, ...]]] = [
    ("$os", ("context.os.name",)),
    ("$android_model", ("context.device.model",)),
    ("$android_os_version", ("context.os.version",)),
    ("$android_manufacturer", ("context.device.manufacturer",)),
    ("$android_app_version", ("context.app.version",)),
    ("$android_app_version_code", ("context.app.build",)),
    ("$android_lib_version", ("properties.androidLibVersion",)),
    ("$android_brand", ("properties.androidBrand", "context.device.manufacturer")),
]
#: ``context.device.type`` (lower-cased) → (device-token list key, device table).
DEVICE_FAMILIES = {
    "ios": ("$ios_devices", IOS_DEVICE),
    "watchos": ("$ios_devices", IOS_DEVICE),
    "ipados": ("$ios_devices", IOS_DEVICE),
    "tvos": ("$ios_devices", IOS_DEVICE),
    "android": ("$android_devices", ANDROID_DEVICE),
}

#: Traits that identify never copies into ``$set`` as custom properties (spec §4.4).
PROFILE_EXCLUSIONS = frozenset({
    "createdAt", "email", "firstName", "firstname", "first_name", "lastName", "lastname", "last_name",
    "name", "username", "userName", "phone", "avatar", "address", "country", "city", "state", "unsubscribed",
})
UNSAFE_KEYS = frozenset({"__proto__", "constructor", "prototype"})

#: Mixpanel host by ``dataResidency`` (anything else is the US host).
RESIDENCY_HOSTS = {"eu": "https://api-eu.mixpanel.com", "in": "https://api-in.mixpanel.com"}
US_HOST = "https://api.mixpanel.com"

#: Router batch limits, counted in requests.
BATCH_LIMITS = {"engage": 2000, "groups": 200, "import": 2000}
