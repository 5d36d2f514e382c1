"""What the HTTP doors (``mpsim.serve``, ``mpsim.mock``) do with a request before the simulator sees it.

One routing table per door: path prefixes mapped to handlers, tried longest first; anything else is
Mixpanel ingestion (``Simulator.handle``). The control API (``/_mpsim/``) is one entry; other
services served from the same port (RudderStack's data plane, say) add theirs with
``router.add(prefix, handler)``. CORS is answered here, for every route, so a browser page on any
origin can read the answers, and a preflight never reaches the simulator (it must not use up an
injected fault or show up in ``sim.log``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .api import cors_headers, preflight
from .wire import Reply, WireRequest

if TYPE_CHECKING:
    from .simulator import Simulator

#: A door-level handler: the request in, the answer out.
RouteHandler = Callable[[WireRequest], Reply]

#: The control API's reserved prefix (no Mixpanel path starts with it).
CONTROL_PREFIX = "/_mpsim/"


@dataclass
class Router:
    """Prefix → handler table in front of one simulator; the fallback is Mixpanel ingestion."""

    sim: Simulator
    routes: dict[str, RouteHandler] = field(default_factory=dict)

    @classmethod
    def for_simulator(cls, sim: Simulator) -> Router:
        """The standard table: the control API under ``/_mpsim/``, Mixpanel everywhere else."""
        from .control import ControlAPI

        router = cls(sim)
        router.add(CONTROL_PREFIX, ControlAPI(sim).handle)
        return router

    def add(self, prefix: str, handler: RouteHandler) -> None:
        """Serve ``prefix`` and every path below it by ``handler`` (the longest matching prefix wins)."""
        if not isinstance(prefix, str) or not prefix.startswith("/"):
            raise ValueError(f"prefix must be a path starting with '/', not {prefix!r}")
        if not callable(handler):
            raise TypeError(f"handler must be callable (WireRequest -> Reply), not {type(handler).__name__}")
        self.routes[prefix.rstrip("/") or "/"] = handler

    def handler_for(self, path: str) -> RouteHandler:
        """The handler of the longest prefix ``path`` is at or below; else Mixpanel ingestion."""
        for prefix in sorted(self.routes, key=len, reverse=True):
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return self.routes[prefix]
        return self.sim.handle

    def handle(self, request: WireRequest) -> Reply:
        """Answer one request: preflight, then the matching route, with CORS headers on every answer."""
        if request.method.upper() == "OPTIONS":
            return preflight(request)
        reply = self.handler_for(request.path)(request)
        reply.headers = {**cors_headers(request), **reply.headers}
        return reply
