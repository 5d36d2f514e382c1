"""The control API under ``/_mpsim/``: what the simulated Mixpanel holds, as JSON, for tests in any language."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .wire import Reply, WireRequest

if TYPE_CHECKING:
    from .simulator import Simulator


class ControlAPI:
    """Answers ``/_mpsim/...`` requests about one simulator."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def handle(self, request: WireRequest) -> Reply:
        return Reply.of_json(200, {"status": "ok"})
