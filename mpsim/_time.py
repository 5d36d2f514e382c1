"""Time arguments: one reading of ``now=`` (and every other moment a caller hands to mpsim).

Python users have ``time.time()`` (seconds), JavaScript users and Mixpanel's exports have
milliseconds, people type ISO dates. mpsim accepts all of them everywhere, with the rule the
simulator applies to an event's ``time`` (``abs(t) < 1e10`` is seconds, otherwise milliseconds),
so that ``now=time.time()`` is today and not 1970-01-21.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from typing import Any

from .errors import MpsimError

#: below this absolute value a number is epoch seconds, from it on epoch milliseconds (as for ``time``)
SECONDS_LIMIT = 1e10
#: ECMAScript's valid range of dates (±100,000,000 days), which every later step can represent
_MAX_MS = 8.64e15
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class TimeArgumentError(MpsimError, ValueError):
    """A time argument that is not a moment mpsim can read (names the argument and the value)."""


def _number_ms(value: float) -> float:
    return value * 1000 if abs(value) < SECONDS_LIMIT else value


def _numeric_text(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def epoch_ms(value: Any, name: str = "now") -> float:
    """Epoch milliseconds for a datetime, a date, an ISO 8601 string, or epoch seconds or ms.

    Numbers (and numeric strings that are not ISO dates, such as ``"1709337600"``) follow the
    ``abs(t) < 1e10`` rule; a naive datetime is UTC. Anything else raises
    :class:`TimeArgumentError` naming ``name``.
    """
    result: float | None = None
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        # exact integer microseconds, not timestamp() * 1000 (a float that can land just below a whole ms)
        result = ((moment - _EPOCH) // timedelta(microseconds=1)) / 1000
    elif isinstance(value, date):
        result = ((datetime(value.year, value.month, value.day, tzinfo=timezone.utc) - _EPOCH) // timedelta(days=1)) * 86_400_000
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isfinite(value):
            result = _number_ms(float(value))
    elif isinstance(value, str):
        text = value.strip()
        from ._dates import date_ms, iso_ms  # _dates re-exports clock_ms from here

        # ISO first, then a number, then V8's legacy forms (which would read "5" as May 2001)
        result = iso_ms(text) if text else None
        if result is None:
            number = _numeric_text(text)
            result = _number_ms(number) if number is not None else (date_ms(text) if text else None)
    else:
        # numpy and pandas numbers and timestamps
        if hasattr(value, "to_pydatetime"):
            return epoch_ms(value.to_pydatetime(), name)
        if hasattr(value, "item") and callable(value.item):
            item = value.item()
            if isinstance(item, (int, float, datetime)) and not isinstance(item, bool):
                return epoch_ms(item, name)
    if result is None or not abs(result) <= _MAX_MS:
        raise TimeArgumentError(
            f"{name} must be a datetime, an ISO 8601 string, or epoch seconds or milliseconds "
            f"(|t| < 1e10 is seconds); got {value!r}")
    return result


def clock_ms(now: Any = None, name: str = "now") -> float:
    """Epoch ms of a frozen clock (see :func:`epoch_ms`), or of the real clock when ``now`` is None."""
    if now is None:
        return datetime.now(timezone.utc).timestamp() * 1000
    return epoch_ms(now, name)
