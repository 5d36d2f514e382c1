"""The processor path: one RudderStack event → the Mixpanel requests RudderStack sends."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from .. import _messages as msgs
from .._dates import clock_ms
from .._input_kinds import wrong_kind
from .._js import JSError, deep_call, to_string, truthy
from ..errors import InstrumentationError, TransformationCrash
from ..request import Request
from .alias_group import alias, group
from .common import Event, Settings
from .events import page, screen, track
from .identify import identify

Handler = Callable[[Event], list[Request]]

#: V8's RangeError when nesting is deeper than even a large stack holds.
STACK_OVERFLOW = "Maximum call stack size exceeded"

#: Event type → handler. Dispatch is case-sensitive, like RudderStack's.
HANDLERS: dict[str, Handler] = {
    "track": track,
    "page": page,
    "screen": screen,
    "identify": identify,
    "group": group,
}


def transform(message: dict[str, Any], destination: dict[str, Any] | None = None, *, now: Any = None) -> list[Request]:
    """Turn one RudderStack event into the Mixpanel requests RudderStack's destination sends.

    Parameters
    ----------
    message:
        The RudderStack event (``type``, ``userId``, ``properties``, ``context`` …).
    destination:
        RudderStack's destination object (``{"Config": {...}}``) or just its Config.
    now:
        Freezes the clock for the 5-year rule: a ``datetime``, an ISO 8601 string, or epoch seconds
        or milliseconds (``abs(t) < 1e10`` is seconds).

    Raises
    ------
    TransformError
        ``InstrumentationError`` for a bad event, ``ConfigurationError`` for bad settings and
        ``TransformationCrash`` (status 500) where RudderStack itself crashes.
    """
    if not isinstance(message, dict):
        raise InstrumentationError(f"message must be a JSON object, not {type(message).__name__}", wrong_kind(message))
    try:
        return transform_with(message, Settings.from_destination(destination), _clock(now))
    except InstrumentationError as exc:
        if exc.message == msgs.TYPE_REQUIRED:  # no type: perhaps not a RudderStack event at all
            exc.add_hint(wrong_kind(message))
        raise


_clock_text = lru_cache(maxsize=256)(clock_ms)


def _clock(now: Any) -> float:
    """``clock_ms(now)``; a frozen clock given as text (the usual case) is read once, not per event."""
    return _clock_text(now) if type(now) is str else clock_ms(now)


def transform_with(message: dict[str, Any], settings: Settings, now_ms: float) -> list[Request]:
    """``transform`` with settings and clock already resolved (the router calls this per event).

    A JavaScript runtime error on the way (an object that has no primitive value, an invalid
    array length, an unsafe key) is the reference's crash: status 500 with the runtime's message.
    """
    try:
        try:
            return _dispatch(message, settings, now_ms)
        except RecursionError:
            # Very deep nesting: JavaScript has room for it, so run again where Python has too.
            return deep_call(_dispatch, message, settings, now_ms)  # type: ignore[no-any-return]
    except JSError as exc:
        raise TransformationCrash(exc.message) from None
    except RecursionError:
        raise TransformationCrash(STACK_OVERFLOW) from None


def _dispatch(message: dict[str, Any], settings: Settings, now_ms: float) -> list[Request]:
    event = Event.prepare(message, settings, now_ms)
    kind = message.get("type")
    if not truthy(kind):
        raise InstrumentationError(msgs.TYPE_REQUIRED)
    if kind == "alias" and type(kind) is str:
        return alias(event, message)
    handler = HANDLERS.get(kind) if type(kind) is str else None
    if handler is None:
        raise InstrumentationError(msgs.TYPE_NOT_SUPPORTED.format(type=to_string(kind)))
    return handler(event)
