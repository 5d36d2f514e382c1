"""``MockConsumer``: the official ``mixpanel`` client's consumer interface, answered by a simulator.

``Mixpanel(token, consumer=mpsim.MockConsumer(sim))`` sends straight to the simulator, with no HTTP
and no patching; Mixpanel's refusals raise ``MixpanelException`` as they would over the network.
(The client's ``alias()`` always makes its own HTTP call; use ``mpsim.mock`` for that one.)
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

from .simulator import Simulator
from .wire import WireRequest

#: The client's endpoint names → Mixpanel paths.
ENDPOINTS = {"events": "track", "people": "engage", "groups": "groups", "imports": "import"}


class MockConsumer:
    """A drop-in for ``mixpanel.Consumer`` that delivers to ``sim``."""

    def __init__(self, sim: Simulator | None = None, *, host: str = "api.mixpanel.com") -> None:
        self.sim = sim if sim is not None else Simulator()
        self.host = host

    def send(self, endpoint: str, json_message: str, api_key: Any = None, api_secret: Any = None) -> bool:
        from mixpanel import MixpanelException

        if isinstance(api_key, tuple):
            api_key, api_secret = api_key
        path = ENDPOINTS.get(endpoint)
        if path is None:
            raise MixpanelException(f'No such endpoint "{endpoint}". Valid endpoints are one of {list(ENDPOINTS)}')
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if api_secret is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{api_secret}:".encode()).decode()
        body = urlencode({"data": json_message, "verbose": 1, "ip": 0}).encode()
        reply = self.sim.handle(WireRequest("POST", f"https://{self.host}/{path}", headers, body))
        try:
            answer = reply.json()
        except ValueError:
            raise MixpanelException(f"Cannot interpret Mixpanel server response: {reply.body}") from None
        if answer.get("status") != 1:
            raise MixpanelException(f"Mixpanel error: {answer.get('error')}")
        return True

    def flush(self) -> None:
        """Nothing is buffered (the interface of ``BufferedConsumer``)."""
