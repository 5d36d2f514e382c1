"""RudderStack's error messages, verbatim (spec §2.4). Tests outside mpsim match them exactly."""

TYPE_REQUIRED = "Event type is required"
TYPE_NOT_SUPPORTED = "Event type '{type}' is not supported"
MESSAGE_ID_TYPE = "messageId should be of type string"
INVALID_TIMESTAMPS = "Neither timestamp nor originalTimestamp is a valid date."
TOO_OLD = "Event timestamp should be within last 5 years"
GEO_SOURCE = "$geo_source value must be either null or 'reverse_geocoding' "  # the trailing space is RudderStack's
ALIAS_SIMPLIFIED = (
    "The use of the alias call in the context of the `Simplified ID merge` feature is not supported anymore."
)
ALIAS_NO_ID = "Either `previousId` or `anonymousId` should be present in alias payload"
ALIAS_SAME_ID = "One of `previousId` or `anonymousId` is same as `userId`. Aborting"
GROUP_KEYS_NOT_CONFIGURED = "`Group Key Settings` is not configured in destination"
GROUP_KEY_MISSING = (
    "Group Key is not present. Please ensure that the group key is included in the payload as configured "
    "in the `Group Key Settings` in destination"
)
TEMPLATE_MISSING = (
    "Event name template is not configured. Please provide a valid value for the "
    "`Page/Screen Event Name Template` in the destination dashboard."
)
PAYLOAD_TOO_LARGE = "Mixpanel payload exceeds the maximum size limit of 1MB (found {kb} KB)"
TOO_MANY_KEYS = "Mixpanel properties exceed the limit of 255 keys (found {n})"
TOO_MANY_NESTED_KEYS = "Mixpanel properties at {path} exceed the limit of 255 keys (found {n})"
ARRAY_TOO_LONG = "Mixpanel array property '{path}' exceeds the limit of 255 elements (found {n})"

# Run-time failures of the reference (status 500, "transformation").
NO_IMPORT_CREDENTIALS = (
    "The first argument must be of type string or an instance of Buffer, ArrayBuffer, or Array or an "
    "Array-like Object. Received undefined"
)
DEVICE_TYPE_NOT_STRING = "device.type?.toLowerCase is not a function"
PROPERTY_ITEM_MISSING = "Cannot read properties of undefined (reading 'split')"
