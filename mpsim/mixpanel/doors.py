"""What the HTTP doors (``mpsim.serve``, ``mpsim.mock``) do with a request before the simulator sees it.

One routing table per door: routes (a path prefix or a predicate on the path, and a handler) tried
in order; anything no route claims is Mixpanel ingestion (``Simulator.handle``). The control API
(``/_mpsim/``) is one route, RudderStack's data plane (``rudder=``) another; more services on the
same port add theirs with ``router.add(prefix_or_predicate, handler)``.

CORS is answered here for mpsim's own routes (Mixpanel ingestion and the control API), so a page on
any origin can read the answers, and a preflight never reaches the simulator (it must not use up an
injected fault or show up in ``sim.log``). A route added with ``cors=False`` answers its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .api import cors_headers, preflight
from .wire import Reply, WireRequest

if TYPE_CHECKING:
    from .simulator import Simulator

#: A door-level handler: the request in, the answer out.
RouteHandler = Callable[[WireRequest], Reply]

#: The control API's reserved prefix (no Mixpanel path starts with it).
CONTROL_PREFIX = "/_mpsim"


def _prefix_matcher(prefix: str) -> Callable[[str], bool]:
    base = prefix.rstrip("/") or "/"

    def matches(path: str) -> bool:
        return path == base or path.startswith(base.rstrip("/") + "/")

    return matches


@dataclass
class Route:
    """One entry of a door's table."""

    name: str
    matches: Callable[[str], bool]
    handler: RouteHandler
    cors: bool = True


@dataclass
class Router:
    """The routes in front of one simulator; the fallback is Mixpanel ingestion."""

    sim: Simulator
    routes: list[Route] = field(default_factory=list)

    @classmethod
    def for_simulator(cls, sim: Simulator, rudder: Any = None) -> Router:
        """The standard table: the control API, RudderStack's data plane when given, Mixpanel for the rest."""
        from .control import ControlAPI

        router = cls(sim)
        router.add(CONTROL_PREFIX, ControlAPI(sim).handle, name="control")
        if rudder is not None:
            router.add(rudder.owns, rudder.handle, name="rudder", cors=False)
        return router

    def add(self, where: str | Callable[[str], bool], handler: RouteHandler, *, name: str | None = None,
            cors: bool = True) -> None:
        """Serve the paths ``where`` names (a prefix: it and everything below; or a predicate) by ``handler``."""
        if isinstance(where, str):
            if not where.startswith("/"):
                raise ValueError(f"where must be a path prefix starting with '/' or a predicate, not {where!r}")
            matches, label = _prefix_matcher(where), where
        elif callable(where):
            matches, label = where, getattr(where, "__qualname__", "predicate")
        else:
            raise TypeError(f"where must be a path prefix or a predicate on the path, not {type(where).__name__}")
        if not callable(handler):
            raise TypeError(f"handler must be callable (WireRequest -> Reply), not {type(handler).__name__}")
        self.routes.append(Route(name or label, matches, handler, cors))

    def route_for(self, path: str) -> Route | None:
        """The first route claiming ``path``, or None for Mixpanel ingestion."""
        return next((r for r in self.routes if r.matches(path)), None)

    def handle(self, request: WireRequest) -> Reply:
        """Answer one request: the matching route or ingestion, with CORS on mpsim's own answers."""
        route = self.route_for(request.path)
        if route is not None and not route.cors:
            return route.handler(request)
        if request.method.upper() == "OPTIONS":
            return preflight(request)
        reply = route.handler(request) if route is not None else self.sim.handle(request)
        reply.headers = {**cors_headers(request), **reply.headers}
        return reply
