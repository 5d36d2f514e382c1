"""ECMAScript ``Date`` semantics for the values RudderStack puts in ``timestamp``.

The reference converts timestamps with ``new Date(value)`` in a process whose time zone is UTC, so a
number is epoch *milliseconds*, ``null`` is 1970, an ISO date-time without an offset is read as UTC
and impossible calendar values roll over (2020-02-30 is 1 March). The ISO forms are normative; the
legacy forms V8 also accepts (RFC 2822, ``Jan 24 2020``, ``2020/01/24``, ``01/24/2020``) are
supported for compatibility.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

from ._js import UNDEFINED, to_string
from ._time import clock_ms  # noqa: F401  (time arguments are read in one place)

MS_PER_DAY = 86_400_000
_MAX_TIME = 8.64e15

_ISO_RE = re.compile(
    r"^(?P<y>[+-]\d{6}|\d{4})(?:-(?P<mo>\d\d)(?:-(?P<d>\d\d))?)?"
    r"(?:[Tt](?P<h>\d\d):(?P<mi>\d\d)(?::(?P<s>\d\d)(?:\.(?P<f>\d+))?)?)?"
    r"(?P<tz>[Zz]|[+-]\d\d:?\d\d)?$"
)
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
_TIME = r"(?:\s+(?P<h>\d{1,2}):(?P<mi>\d\d)(?::(?P<s>\d\d))?)?"
_ZONE = r"(?:\s*(?P<tz>GMT|UT|Z|[+-]\d{4}|GMT[+-]\d{4}))?"
_LEGACY = [
    # Fri, 24 Jan 2020 06:29:02 GMT
    re.compile(r"^(?:[A-Za-z]{3},?\s+)?(?P<d>\d{1,2})\s+(?P<mon>[A-Za-z]{3})[a-z]*\s+(?P<y>\d{4})" + _TIME + _ZONE + r"$"),
    # Jan 24 2020 [06:29:02] / Fri Jan 24 2020 06:29:02 GMT+0000
    re.compile(r"^(?:[A-Za-z]{3},?\s+)?(?P<mon>[A-Za-z]{3})[a-z]*\s+(?P<d>\d{1,2}),?\s+(?P<y>\d{4})" + _TIME + _ZONE + r"(?:\s+\(.*\))?$"),
    # 2020/01/24 [06:29:02]
    re.compile(r"^(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})" + _TIME + _ZONE + r"$"),
    # 01/24/2020 [06:29:02]
    re.compile(r"^(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})" + _TIME + _ZONE + r"$"),
    # 2020-01-24 06:29:02[.403][Z] (a space instead of T: V8's legacy parser, local time)
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\s+(?P<h>\d{1,2}):(?P<mi>\d\d)(?::(?P<s>\d\d)(?:\.(?P<f>\d+))?)?"
               r"(?P<tz>Z|[+-]\d\d:?\d\d)?$"),
    # 2020-1-24 (not ISO: local midnight)
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})" + _TIME + r"$"),
]


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 for a proleptic Gregorian date (month 1-12; day may roll over)."""
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    yoe = year - era * 400
    mp = (month + 9) % 12
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(days: int) -> tuple[int, int, int]:
    days += 719468
    era = (days if days >= 0 else days - 146096) // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def _make_time(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, ms: int = 0) -> float | None:
    y += (mo - 1) // 12
    mo = (mo - 1) % 12 + 1
    value = (days_from_civil(y, mo, 1) + d - 1) * MS_PER_DAY + ((h * 60 + mi) * 60 + s) * 1000 + ms
    return float(value) if abs(value) <= _MAX_TIME else None


def _offset_ms(tz: str | None) -> int:
    if not tz or tz in ("Z", "z", "GMT", "UT"):
        return 0
    tz = tz.removeprefix("GMT").replace(":", "")
    sign = -1 if tz[0] == "-" else 1
    return sign * (int(tz[1:3]) * 60 + int(tz[3:5])) * 60_000


def _parse_iso(text: str) -> float | None:
    m = _ISO_RE.match(text)
    if not m:
        return None
    y_text = m["y"]
    if y_text == "-000000":
        return None
    y = int(y_text)
    mo = int(m["mo"] or 1)
    d = int(m["d"] or 1)
    h = int(m["h"] or 0)
    mi = int(m["mi"] or 0)
    s = int(m["s"] or 0)
    ms = int((m["f"] or "0")[:3].ljust(3, "0"))
    if m["h"] is not None and m["d"] is None:
        return None  # a time needs a full date
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h <= 24 and mi <= 59 and s <= 59):
        return None
    if h == 24 and (mi or s or ms):
        return None
    value = _make_time(y, mo, d, h, mi, s, ms)
    if value is None:
        return None
    value -= _offset_ms(m["tz"])
    return value if abs(value) <= _MAX_TIME else None


def _parse_legacy(text: str) -> float | None:
    for pattern in _LEGACY:
        m = pattern.match(text)
        if not m:
            continue
        groups = m.groupdict()
        if groups.get("mon") is not None:
            month = _MONTHS.get(groups["mon"][:3].lower())
            if month is None:
                return None
        else:
            month = int(groups["m"])
        day, year = int(groups["d"]), int(groups["y"])
        h, mi, s = int(groups.get("h") or 0), int(groups.get("mi") or 0), int(groups.get("s") or 0)
        ms = int((groups.get("f") or "0")[:3].ljust(3, "0"))
        if not (1 <= month <= 12 and 1 <= day <= 31 and h <= 24 and mi <= 59 and s <= 59):
            return None
        value = _make_time(year, month, day, h, mi, s, ms)
        if value is None:
            return None
        return value - _offset_ms(groups.get("tz"))
    return None


def date_ms(value: Any) -> float | None:
    """``new Date(value).getTime()``; ``None`` when the date is invalid (JavaScript's NaN)."""
    if value is UNDEFINED:
        return None
    if value is None or value is False:
        return 0.0
    if value is True:
        return 1.0
    t = type(value)
    if t is int or t is float:
        if value != value or math.isinf(value) or abs(value) > _MAX_TIME:
            return None
        return float(math.trunc(value)) + 0.0
    if t is dict:
        return None
    return _parse_string(to_string(value) if t is not str else value)


@lru_cache(maxsize=8192)
def _parse_string(text: str) -> float | None:
    if text != text.strip() or not text:
        return None
    result = _parse_iso(text)
    if result is None:
        result = _parse_legacy(text)
    return result


def to_iso(ms: float) -> str:
    """``Date.prototype.toISOString``: ``YYYY-MM-DDTHH:mm:ss.sssZ`` (six-digit years outside 0-9999)."""
    total = int(ms)
    days, rem = divmod(total, MS_PER_DAY)
    y, mo, d = civil_from_days(days)
    h, rem = divmod(rem, 3_600_000)
    mi, rem = divmod(rem, 60_000)
    s, milli = divmod(rem, 1000)
    year = f"{y:04d}" if 0 <= y <= 9999 else ("+" if y > 0 else "-") + f"{abs(y):06d}"
    return f"{year}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}.{milli:03d}Z"
