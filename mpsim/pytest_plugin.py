"""pytest fixtures for code that talks to Mixpanel (registered through the ``pytest11`` entry point).

- ``mixpanel_sim``: a fresh :class:`mpsim.Simulator` (any token, Original ID merge) with every
  ``requests`` call to a Mixpanel host routed to it.
- ``mixpanel_server``: a fresh simulator behind a real local HTTP server (``.url``, ``.urls()``).

Mark a test with ``@pytest.mark.mpsim(token=..., identity_merge=..., now=...)`` to configure the
simulator both fixtures create.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .mixpanel import MixpanelServer, Simulator, mock, serve


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "mpsim(**settings): settings for the mixpanel_sim / mixpanel_server simulator")


def _settings(request: Any) -> dict[str, Any]:
    marker = request.node.get_closest_marker("mpsim")
    return dict(marker.kwargs) if marker else {}


@pytest.fixture
def mixpanel_sim(request: Any) -> Iterator[Simulator]:
    """A fresh simulator; requests to api/api-eu/api-in.mixpanel.com reach it while the test runs."""
    sim = Simulator(**_settings(request))
    with mock(sim):
        yield sim


@pytest.fixture
def mixpanel_server(request: Any) -> Iterator[MixpanelServer]:
    """A fresh simulator behind a local HTTP server on 127.0.0.1, stopped after the test."""
    with serve(Simulator(**_settings(request))) as server:
        yield server
