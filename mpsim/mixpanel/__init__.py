"""Mixpanel, simulated: one backend (``Simulator``) behind three doors (``send``, ``mock``, ``serve``)."""

from .consumer import MockConsumer
from .mock import MixpanelMock, mock
from .saved import load_snapshot
from .server import MixpanelServer, serve
from .simulator import Simulator
from .state import Snapshot
from .wire import Reply, WireRequest

__all__ = ["MockConsumer", "MixpanelMock", "MixpanelServer", "Reply", "Simulator", "Snapshot", "WireRequest", "load_snapshot", "mock",
           "serve"]
