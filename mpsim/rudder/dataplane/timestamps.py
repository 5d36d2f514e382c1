"""The processor's time fields (data-plane spec §2.2): ``timestamp = receivedAt − (sentAt − originalTimestamp)``.

A ``timestamp`` the client sent is kept (the Python SDK's device clock); otherwise it is computed from
the client's own ``originalTimestamp`` and ``sentAt``, which cancels the device clock's skew (the JS
and Node SDKs). All four fields are rewritten as RFC 3339 with exactly three fractional digits.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

_ISO = re.compile(
    r"^(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[T ](?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?)?"
    r"\s*(?P<tz>Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$")
_DIGITS = re.compile(r"^\d{9,19}$")
#: epoch digit strings by length → divisor to seconds (dateparse reads them as s, ms, µs or ns)
_EPOCH_UNITS = {9: 1, 10: 1, 13: 1_000, 16: 1_000_000, 19: 1_000_000_000}


def from_ms(ms: float) -> datetime:
    """Epoch milliseconds as an aware UTC datetime (exact to the millisecond)."""
    return EPOCH + timedelta(milliseconds=int(ms))


def parse_time(value: Any) -> datetime | None:
    """A string the server can read as a time, else None. Numbers count as absent (spec §2.2)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if _DIGITS.match(text):
            unit = _EPOCH_UNITS.get(len(text))
            if unit is None:
                return None
            return EPOCH + timedelta(microseconds=int(text) * 1_000_000 // unit)
        m = _ISO.match(text)
        if not m:
            return None
        fraction = (m["f"] or "0")[:6].ljust(6, "0")
        tz = _zone(m["tz"])
        return datetime(int(m["y"]), int(m["mo"]), int(m["d"]), int(m["h"] or 0), int(m["mi"] or 0),
                        int(m["s"] or 0), int(fraction), tzinfo=tz)
    except (ValueError, OverflowError):
        return None


def _zone(text: str | None) -> timezone:
    if not text or text in ("Z", "z", "UTC"):
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:4] or 0)
    return timezone(sign * timedelta(minutes=minutes))


def format_time(moment: datetime) -> str:
    """RFC 3339 with milliseconds, truncated; a zero offset prints as ``Z``, others keep their offset."""
    offset = moment.utcoffset() or timedelta(0)
    head = moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond // 1000:03d}"
    if not offset:
        return head + "Z"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{head}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def enhance_time_fields(message: dict[str, Any], received: datetime) -> None:
    """Rewrite ``receivedAt``, ``originalTimestamp``, ``sentAt`` and ``timestamp`` in place (spec §2.2)."""
    original = parse_time(message.get("originalTimestamp")) or received
    sent = parse_time(message.get("sentAt")) or received
    timestamp = parse_time(message.get("timestamp"))
    if timestamp is None:
        try:
            timestamp = (received - (sent - original)).astimezone(timezone.utc)
        except OverflowError:
            timestamp = received
    message["receivedAt"] = format_time(received)
    message["originalTimestamp"] = format_time(original)
    message["sentAt"] = format_time(sent)
    message["timestamp"] = format_time(timestamp)
