"""``mpsim.mock``: route every Mixpanel host to a simulator, for any ``requests``-based client.

Built on requests-mock, with ``case_sensitive=True``: Mixpanel's base64 ``data=`` values and
property names are case-sensitive, and requests-mock lower-cases URLs otherwise.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import requests_mock

from .doors import Router
from .simulator import Simulator
from .wire import HOSTS, WireRequest

#: Where ``rudder-sdk-python`` sends by default; ``mock(..., data_plane_url=...)`` names another.
DATA_PLANE_URL = "https://hosted.rudderlabs.com"
_MIXPANEL_URL = re.compile(r"^https?://(?:" + "|".join(re.escape(h) for h in HOSTS) + r")(?::\d+)?/")


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return b"".join(body)  # an iterable of chunks


class MixpanelMock(contextlib.ContextDecorator):
    """Context manager and decorator: while active, requests to api/api-eu/api-in.mixpanel.com reach ``sim``.

    Other URLs raise ``requests_mock.NoMockAddress`` unless ``real_http=True``.
    """

    def __init__(self, sim: Simulator | None = None, *, real_http: bool = False, rudder: Any = None,
                 write_key: Any = None, data_plane_url: str = DATA_PLANE_URL) -> None:
        from ..rudder.dataplane import as_dataplane

        if sim is not None and not isinstance(sim, Simulator):
            raise TypeError(f"sim must be an mpsim.Simulator or None, not {type(sim).__name__}")
        self.sim = sim if sim is not None else Simulator()
        self.rudder = as_dataplane(self.sim, rudder, write_key)
        self.router = Router.for_simulator(self.sim, self.rudder)
        self._mocker = requests_mock.Mocker(case_sensitive=True, real_http=real_http)
        self._mocker.register_uri(requests_mock.ANY, _MIXPANEL_URL, text=self._answer)
        if self.rudder is not None:
            base = re.compile("^" + re.escape(data_plane_url.rstrip("/")) + r"(?=/|\?|$)")
            self._mocker.register_uri(requests_mock.ANY, base, text=self._answer)

    def _answer(self, request: Any, context: Any) -> str:
        wire = WireRequest(request.method, request.url, dict(request.headers), _body_bytes(request.body))
        reply = self.router.handle(wire)
        context.status_code = reply.status
        context.headers["Content-Type"] = reply.content_type
        context.headers.update(reply.headers)
        return reply.body

    def __enter__(self) -> Simulator:
        self._mocker.start()
        return self.sim

    def __exit__(self, *exc: Any) -> None:
        self._mocker.stop()


def mock(sim: Simulator | None = None, *, real_http: bool = False, rudder: Any = None, write_key: Any = None,
         data_plane_url: str = DATA_PLANE_URL) -> MixpanelMock:
    """Intercept Mixpanel traffic made with ``requests`` (the official ``mixpanel`` client included).

    With ``rudder=destination`` (or a ``DataPlane``), requests to ``data_plane_url`` reach a
    RudderStack data plane delivering into ``sim``, so ``rudder-sdk-python`` works with no server.

    >>> sim = mpsim.Simulator(token="tok")
    >>> with mpsim.mock(sim):
    ...     Mixpanel("tok").track("u1", "Signed Up")
    """
    return MixpanelMock(sim, real_http=real_http, rudder=rudder, write_key=write_key,
                        data_plane_url=data_plane_url)
