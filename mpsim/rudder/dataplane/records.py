"""What the data plane remembers: each request the gateway answered, each stored job, each drop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: The stages an event passes, in order; a drop names the one that stopped it.
GATES = ("gateway", "processor", "router", "transformer", "mixpanel")


@dataclass(frozen=True)
class Drop:
    """One event (or a whole request) that did not reach Mixpanel, with the gate and the reason.

    ``reason`` is the short name (``write key``, ``no identity``, ``integrations``, ``consent``,
    ``dedup``, ``type``, ...); ``detail`` is RudderStack's own text or the rule that fired;
    ``status`` is what the SDK was answered (gateway drops) or the status RudderStack records.
    """

    gate: str
    reason: str
    detail: str
    status: int
    request: int
    index: int | None = None
    message_id: str | None = None
    event: str = ""

    def __str__(self) -> str:
        where = f"request {self.request}" + (f", event {self.index}" if self.index is not None else "")
        label = f" {self.event}" if self.event else ""
        return f"{self.gate}: {self.reason} ({where}{label}): {self.detail}"


@dataclass
class EventFate:
    """One event of a request as the gateway read it, and where it ended: a stored job, or a gateway drop.

    Kept per request so the simulator can say, per user or anonymous id, which events never reached
    Mixpanel and why (``sim.explain``), and log each event's fate (``sim.log``).
    """

    index: int
    label: str
    message_id: str | None
    anonymous_id: str
    user_id: str
    #: the stored job's id (its later drop, if any, is ``Job.drop``)
    job: int | None = None
    #: refused or dropped at the gateway, alone or with its whole request
    drop: Drop | None = None


@dataclass
class GatewayExchange:
    """One HTTP request the gateway answered: what came in, what it said, how many events it stored."""

    seq: int
    received_ms: int
    method: str
    path: str
    write_key: str | None
    status: int
    answer: str
    events: int = 0
    stored: int = 0
    size: int | None = None
    library: str | None = None
    drops: list[Drop] = field(default_factory=list)
    #: each event the request carried (when the body could be read), with its fate
    fates: list[EventFate] = field(default_factory=list)
    #: this request's number in the simulator's log (``sim.log``), where the data plane reports it
    sim_request: int | None = None

    @property
    def line(self) -> str:
        """One log line: ``POST /v1/batch 200 ok — 3 of 3 stored``."""
        answer = self.answer.strip()
        if answer.startswith("{"):
            answer = "{…}"  # JSON (the source config, health)
        text = f"{self.method} {self.path} {self.status} {answer if answer.startswith('{') else repr(answer)}"
        if self.events:
            text += f" — {self.stored} of {self.events} stored"
        elif self.status >= 400 and self.path != "/sourceConfig/":
            text += " — nothing stored"
        if self.size is not None and self.status == 413:
            text += f" ({self.size} bytes decompressed)"
        if self.library:
            text += f" [{self.library}]"
        if self.write_key is not None and self.status in (401, 404):
            text += f" (write key {self.write_key!r})"
        return text


@dataclass
class Job:
    """One stored event on its way: the gateway's copy, then the processor's, then its fate."""

    id: int
    request: int
    index: int
    message: dict[str, Any]
    received_ms: int
    request_ip: str
    user_key: str
    #: ``queued`` → ``routed`` → ``delivered``; or ``dropped`` (see ``drop``)
    status: str = "queued"
    drop: Drop | None = None
    #: the Mixpanel requests this job went out in (indexes into ``DataPlane.deliveries``)
    deliveries: list[int] = field(default_factory=list)

    @property
    def label(self) -> str:
        return event_label(self.message)


def event_label(message: Any) -> str:
    if not isinstance(message, dict):
        return type(message).__name__
    kind = message.get("type")
    name = message.get("event") if kind == "track" else message.get("name")
    text = str(kind) if kind is not None else "?"
    return text + (f" {name}" if isinstance(name, str) and name else "")


@dataclass
class Delivery:
    """One batch the router handed the transformer, and Mixpanel's answers to the requests it became."""

    seq: int
    jobs: list[int]
    requests: list[Any]
    replies: list[Any]
    error: str | None = None
