"""The errors mpsim raises. Every one of them derives from :class:`MpsimError`."""

from __future__ import annotations

from typing import Any


class MpsimError(Exception):
    """Base class of every error mpsim raises on purpose."""


class TransformError(MpsimError):
    """RudderStack refused to turn an event into Mixpanel requests.

    ``message`` is the reference implementation's exact text, ``status_code`` its HTTP-style
    status and ``kind`` its error type: ``instrumentation`` (a bad event), ``configuration`` (bad
    destination settings) or ``transformation`` (the reference crashes; status 500).
    """

    status_code: int = 400
    kind: str = "instrumentation"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint: str | None = None
        self.add_hint(hint)

    def add_hint(self, hint: str | None) -> None:
        """Say what the input looks like and which call takes it; ``message`` stays RudderStack's own."""
        if hint:
            self.hint = hint
            self.args = (f"{self.message} — {hint}",)

    @property
    def stat_tags(self) -> dict[str, Any]:
        if self.status_code == 500:
            return {"errorCategory": "transformation"}
        return {"errorCategory": "dataValidation", "errorType": self.kind}

    def to_rudder(self) -> dict[str, Any]:
        """The processor's failure item: ``{error, statusCode, statTags}``."""
        return {"error": self.message, "statusCode": self.status_code, "statTags": self.stat_tags}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status_code={self.status_code})"


class InstrumentationError(TransformError):
    """The event itself is wrong (status 400)."""

    kind = "instrumentation"


class ConfigurationError(TransformError):
    """The destination settings are wrong (status 400)."""

    kind = "configuration"


class TransformationCrash(TransformError):
    """Where the reference implementation crashes at run time (status 500).

    The reference has no deliberate check for these inputs; it fails with a JavaScript runtime
    message, which mpsim reproduces so that a twin of the whole pipeline sees the same failure.
    """

    status_code = 500
    kind = "transformation"
