"""ECMAScript ``Date`` semantics for the values RudderStack puts in ``timestamp``.

The reference converts timestamps with ``new Date(value)`` in a process whose time zone is UTC, so a
number is epoch *milliseconds*, ``null`` is 1970, an array is first joined into text, an ISO
date-time without an offset is read as local time (UTC there) and impossible calendar values roll
over (2020-02-30 is 1 March). Strings are parsed the way V8 parses them: the ES5 ISO format first,
then V8's legacy parser with all its accepted forms (RFC 2822, ``Jan 24 2020``, ``2020/01/24``,
``01/24/2020``, ``24 January 2020 6:29 pm PST``, ``2026,11,19``, a missing year read as 2001, …).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

from ._js import TO_PRIMITIVE_ERROR, UNDEFINED, JSError, to_string
from ._time import clock_ms  # noqa: F401  (time arguments are read in one place)

MS_PER_DAY = 86_400_000
_MAX_TIME = 8.64e15

#: The everyday form, ``YYYY-MM-DDTHH:mm:ss[.f…](Z|±HH:mm)``, read without the tokenizer. Any
#: value out of range, or more than 9 fraction digits, goes to the full parser, which decides.
_FAST_ISO_RE = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)", re.ASCII)


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 for a proleptic Gregorian date (month 1-12; day may roll over)."""
    year -= month <= 2
    era = year // 400  # Python's // already floors (the C idiom `year - 399` would count twice)
    yoe = year - era * 400
    mp = (month + 9) % 12
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(days: int) -> tuple[int, int, int]:
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def _make_time(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, ms: int = 0) -> int:
    """ECMAScript ``MakeDate(MakeDay(y, mo - 1, d), MakeTime(h, mi, s, ms))``; the caller clips."""
    y += (mo - 1) // 12
    mo = (mo - 1) % 12 + 1
    return (days_from_civil(y, mo, 1) + d - 1) * MS_PER_DAY + ((h * 60 + mi) * 60 + s) * 1000 + ms


def _clip(value: int) -> float | None:
    """``TimeClip``: beyond ±8.64e15 ms a date is invalid."""
    return float(value) if abs(value) <= _MAX_TIME else None


def _fast_iso(text: str) -> float | None:
    m = _FAST_ISO_RE.fullmatch(text)
    if m is None:
        return None
    y, mo, d, h, mi, sec, frac, tz = m.groups()
    month, day, hour, minute, second = int(mo), int(d), int(h), int(mi), int(sec)
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 59):
        return None
    offset = 0
    if tz != "Z":
        oh, om = int(tz[1:3]), int(tz[4:6])
        if oh > 23 or om > 59:
            return None
        offset = (oh * 60 + om) * 60_000 * (-1 if tz[0] == "-" else 1)
    ms = int(frac[:3].ljust(3, "0")) if frac else 0
    return _clip(_make_time(int(y), month, day, hour, minute, second, ms) - offset)


# --------------------------------------------------------------------------- V8's date parser
# ``new Date(string)`` in V8 first tries the ES5 ISO format, then its legacy parser (the forms
# browsers have always accepted). What follows is that algorithm: a tokenizer, the ISO reader,
# the legacy loop and the three composers (day, time, zone), with V8's own quirks (a missing
# year is 2001, two-digit years 0-49 are 20xx and 50-99 19xx, unknown words before the first
# number are ignored, ``(comments)`` are skipped, at most 9 significant digits are read).

_NUM, _SYM, _WS, _WORD, _END, _UNKNOWN = range(6)
_K_INVALID, _K_MONTH, _K_ZONE, _K_T, _K_AMPM = range(5)
_KEYWORDS: list[tuple[str, int, int]] = [
    *((m, _K_MONTH, i) for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)),
    ("am", _K_AMPM, 0), ("pm", _K_AMPM, 12),
    ("ut", _K_ZONE, 0), ("utc", _K_ZONE, 0), ("z", _K_ZONE, 0), ("gmt", _K_ZONE, 0),
    ("cdt", _K_ZONE, -5), ("cst", _K_ZONE, -6), ("edt", _K_ZONE, -4), ("est", _K_ZONE, -5),
    ("mdt", _K_ZONE, -6), ("mst", _K_ZONE, -7), ("pdt", _K_ZONE, -7), ("pst", _K_ZONE, -8),
    ("t", _K_T, 0),
]
#: ECMAScript WhiteSpace and LineTerminator code points.
_JS_SPACE = frozenset("\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
                      "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff")
_SIGNIFICANT_DIGITS = 9
_NONE = None


class _Token:
    __slots__ = ("kind", "value", "length", "keyword")

    def __init__(self, kind: int, value: Any = 0, length: int = 0, keyword: int = _K_INVALID) -> None:
        self.kind, self.value, self.length, self.keyword = kind, value, length, keyword

    def sym(self, char: str) -> bool:
        return self.kind == _SYM and self.value == char

    def sign(self) -> bool:
        return self.kind == _SYM and self.value in "+-"

    def fixed(self, digits: int) -> bool:
        return self.kind == _NUM and self.length == digits

    def is_z(self) -> bool:
        return self.kind == _WORD and self.keyword == _K_ZONE and self.length == 1 and self.value == 0


def _keyword(word: str) -> tuple[int, int]:
    prefix = "".join(chr(ord(c) | 0x20) for c in word[:3])
    for name, kind, value in _KEYWORDS:
        if prefix == name and (len(word) <= 3 or kind == _K_MONTH):
            return kind, value
    return _K_INVALID, 0


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if "0" <= ch <= "9":
            j = i
            while j < n and "0" <= text[j] <= "9":
                j += 1
            digits = text[i:j].lstrip("0")[:_SIGNIFICANT_DIGITS]
            out.append(_Token(_NUM, int(digits) if digits else 0, j - i))
            i = j
        elif ch in ":-+.)":
            out.append(_Token(_SYM, ch, 1))
            i += 1
        elif ch >= "A" and ch not in _JS_SPACE:
            j = i
            while j < n and text[j] >= "A" and text[j] not in _JS_SPACE:
                j += 1
            kind, value = _keyword(text[i:j])
            out.append(_Token(_WORD, value, j - i, kind))
            i = j
        elif ch in _JS_SPACE:
            j = i
            while j < n and text[j] in _JS_SPACE:
                j += 1
            out.append(_Token(_WS, 0, j - i))
            i = j
        elif ch == "(":
            depth = 0
            while True:
                if text[i] == ")":
                    depth -= 1
                elif text[i] == "(":
                    depth += 1
                i += 1
                if depth <= 0 or i >= n:
                    break
            out.append(_Token(_UNKNOWN))
        else:
            out.append(_Token(_UNKNOWN))
            i += 1
    out.append(_Token(_END))
    return out


class _Scanner:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def next(self) -> _Token:
        token = self.tokens[self.pos]
        if token.kind != _END:
            self.pos += 1
        return token

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def skip(self, char: str) -> bool:
        if self.peek().sym(char):
            self.pos += 1
            return True
        return False


def _milliseconds(token: _Token) -> int:
    number, length = token.value, token.length
    if length == 1:
        return number * 100  # type: ignore[no-any-return]
    if length == 2:
        return number * 10  # type: ignore[no-any-return]
    if length > 3:
        return number // 10 ** (min(length, _SIGNIFICANT_DIGITS) - 3)  # type: ignore[no-any-return]
    return number  # type: ignore[no-any-return]


class _Composer:
    """V8's day, time and time-zone composers in one record."""

    def __init__(self) -> None:
        self.day: list[int] = []
        self.named_month: int | None = None
        self.iso = False
        self.time: list[int] = []
        self.hour_offset: int | None = None
        self.tz_sign: int | None = None
        self.tz_hour: int | None = None
        self.tz_minute: int | None = None

    # day
    def add_day(self, n: int) -> bool:
        if len(self.day) >= 3:
            return False
        self.day.append(n)
        return True

    # time
    def time_expecting(self, n: int) -> bool:
        k = len(self.time)
        return (k == 1 and 0 <= n <= 59) or (k == 2 and 0 <= n <= 59) or (k == 3 and 0 <= n <= 999)

    def add_time(self, n: int) -> bool:
        if len(self.time) >= 4:
            return False
        self.time.append(n)
        return True

    def add_final_time(self, n: int) -> bool:
        if not self.add_time(n):
            return False
        self.time.extend([0] * (4 - len(self.time)))
        return True

    # zone
    def set_zone(self, hours: int) -> None:
        self.tz_sign = -1 if hours < 0 else 1
        self.tz_hour, self.tz_minute = abs(hours), 0

    def zone_expecting(self, n: int) -> bool:
        return self.tz_hour is not None and self.tz_minute is None and 0 <= n <= 59

    def zone_is_utc(self) -> bool:
        return self.tz_hour == 0 and self.tz_minute == 0

    def write(self) -> float | None:
        if not self.day:
            return None
        comp = self.day + [1] * (3 - len(self.day))
        year = 0
        if self.named_month is None:
            if self.iso or not 1 <= comp[0] <= 31:
                year, month, day = comp
            else:
                month, day, year = comp
        else:
            month = self.named_month
            if not 1 <= comp[0] <= 31:
                year, day = comp[0], comp[1]
            else:
                day, year = comp[0], comp[1]
        if not self.iso:
            if 0 <= year <= 49:
                year += 2000
            elif 50 <= year <= 99:
                year += 1900
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return None
        hour, minute, second, ms = self.time + [0] * (4 - len(self.time))
        if self.hour_offset is not None:
            if not 0 <= hour <= 12:
                return None
            hour = hour % 12 + self.hour_offset
        if not (0 <= hour <= 23 and 0 <= minute <= 59 and 0 <= second <= 59 and 0 <= ms <= 999):
            if hour != 24 or minute or second or ms:
                return None
        value = _make_time(year, month, day, hour, minute, second, ms)
        if self.tz_sign is not None:  # otherwise local time, which is UTC in the reference
            value -= self.tz_sign * ((self.tz_hour or 0) * 3600 + (self.tz_minute or 0) * 60) * 1000
        return _clip(value)


def _parse_es5(scan: _Scanner, c: _Composer) -> _Token | None:
    """The ES5 ISO reader; returns the first token it leaves to the legacy parser (None: invalid)."""
    invalid = None
    if scan.peek().sign():
        sign = scan.next()
        if not scan.peek().fixed(6):
            return sign
        year = scan.next().value
        if sign.value == "-" and year == 0:
            return sign
        c.add_day(-year if sign.value == "-" else year)
    elif scan.peek().fixed(4):
        c.add_day(scan.next().value)
    else:
        return scan.next()
    if scan.skip("-"):
        if not scan.peek().fixed(2) or not 1 <= scan.peek().value <= 12:
            return scan.next()
        c.add_day(scan.next().value)
        if scan.skip("-"):
            if not scan.peek().fixed(2) or not 1 <= scan.peek().value <= 31:
                return scan.next()
            c.add_day(scan.next().value)
    peek = scan.peek()
    if not (peek.kind == _WORD and peek.keyword == _K_T):
        if peek.kind != _END:
            return scan.next()
    else:
        scan.next()
        if not scan.peek().fixed(2) or not 0 <= scan.peek().value <= 24:
            return invalid
        hour_is_24 = scan.peek().value == 24
        c.add_time(scan.next().value)
        if not scan.skip(":"):
            return invalid
        if not scan.peek().fixed(2) or not 0 <= scan.peek().value <= 59 or (hour_is_24 and scan.peek().value > 0):
            return invalid
        c.add_time(scan.next().value)
        if scan.skip(":"):
            if not scan.peek().fixed(2) or not 0 <= scan.peek().value <= 59 or (hour_is_24 and scan.peek().value > 0):
                return invalid
            c.add_time(scan.next().value)
            if scan.skip("."):
                if scan.peek().kind != _NUM or (hour_is_24 and scan.peek().value > 0):
                    return invalid
                c.add_time(_milliseconds(scan.next()))
        if scan.peek().is_z():
            scan.next()
            c.set_zone(0)
        elif scan.peek().sign():
            c.tz_sign = 1 if scan.next().value == "+" else -1
            if scan.peek().fixed(4):
                hhmm = scan.next().value
                if not (0 <= hhmm // 100 <= 23 and 0 <= hhmm % 100 <= 59):
                    return invalid
                c.tz_hour, c.tz_minute = hhmm // 100, hhmm % 100
            else:
                if not scan.peek().fixed(2) or not 0 <= scan.peek().value <= 23:
                    return invalid
                c.tz_hour = scan.next().value
                if not scan.skip(":"):
                    return invalid
                if not scan.peek().fixed(2) or not 0 <= scan.peek().value <= 59:
                    return invalid
                c.tz_minute = scan.next().value
        if scan.peek().kind != _END:
            return invalid
    if c.tz_hour is None and not c.time:
        c.set_zone(0)  # a date-only ISO form is UTC
    c.iso = True
    return _Token(_END)


def iso_ms(text: str) -> float | None:
    """Epoch ms of an ECMAScript ISO date-time string only (no legacy forms: ``"5"`` is no date)."""
    result = _fast_iso(text)
    if result is not None:
        return result
    scan = _Scanner(text)
    c = _Composer()
    token = _parse_es5(scan, c)
    return c.write() if token is not None and token.kind == _END and c.iso else None


def _parse_v8(text: str) -> float | None:
    scan = _Scanner(text)
    c = _Composer()
    token = _parse_es5(scan, c)
    if token is None:
        return None
    has_number = bool(c.day)
    while token.kind != _END:
        if token.kind == _NUM:
            has_number = True
            n = token.value
            if scan.skip(":"):
                if scan.skip(":"):
                    if c.time:
                        return None
                    c.add_time(n)
                    c.add_time(0)
                else:
                    if not c.add_time(n):
                        return None
                    if scan.peek().sym("."):
                        scan.next()
            elif scan.skip(".") and c.time_expecting(n):
                c.add_time(n)
                if scan.peek().kind != _NUM:
                    return None
                c.add_final_time(_milliseconds(scan.next()))
            elif c.zone_expecting(n):
                c.tz_minute = n
            elif c.time_expecting(n):
                c.add_final_time(n)
                peek = scan.peek()
                if peek.kind not in (_END, _WS) and not peek.is_z() and not peek.sign():
                    return None
            else:
                if not c.add_day(n):
                    return None
                scan.skip("-")
        elif token.kind == _WORD:
            if token.keyword == _K_AMPM and c.time:
                c.hour_offset = token.value
            elif token.keyword == _K_MONTH:
                c.named_month = token.value
                scan.skip("-")
            elif token.keyword == _K_ZONE and has_number:
                c.set_zone(token.value)
            else:
                if has_number or scan.peek().kind == _NUM:
                    return None  # a word after the first number, or glued to it
        elif token.sign() and (c.zone_is_utc() or c.time):
            c.tz_sign = 1 if token.value == "+" else -1
            n, length = 0, 0
            if scan.peek().kind == _NUM:
                number = scan.next()
                n, length = number.value, number.length
            has_number = True
            if scan.peek().sym(":"):
                c.tz_hour, c.tz_minute = n, None
            elif length in (1, 2):
                c.tz_hour, c.tz_minute = n, 0
            elif length in (3, 4):
                c.tz_hour, c.tz_minute = n // 100, n % 100
            else:
                return None
        elif (token.sign() or token.sym(")")) and has_number:
            return None
        token = scan.next()
    return c.write()


def date_ms(value: Any) -> float | None:
    """``new Date(value).getTime()``; ``None`` when the date is invalid (JavaScript's NaN) or when
    JavaScript would throw (see :func:`js_date_ms`, which the transformer uses)."""
    try:
        return js_date_ms(value)
    except JSError:
        return None


def js_date_ms(value: Any) -> float | None:
    """``new Date(value).getTime()``, raising :class:`JSError` where JavaScript throws.

    A non-string goes through ``ToPrimitive`` first: an array becomes its ``join(",")`` text and is
    then parsed (``[2026, 11, 19]`` → ``"2026,11,19"`` → 19 November 2026), numbers are epoch ms,
    ``null``/``false`` are 0 and ``true`` is 1.
    """
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
        if "toString" in value:  # ToPrimitive finds no callable method: TypeError, not NaN
            raise JSError(TO_PRIMITIVE_ERROR)
        return None  # "[object Object]" is no date
    return _parse_string(to_string(value) if t is not str else value)


@lru_cache(maxsize=8192)
def _parse_string(text: str) -> float | None:
    """``Date.parse(text)``: the everyday ISO form directly, everything else by V8's algorithm."""
    result = _fast_iso(text)
    return _parse_v8(text) if result is None else result


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
