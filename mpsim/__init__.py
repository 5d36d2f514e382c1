"""mpsim: see exactly what Mixpanel receives from RudderStack, and what it ends up holding.

The two halves are ``mpsim.rudder`` (RudderStack → Mixpanel requests) and ``mpsim.mixpanel``
(a simulated Mixpanel project that receives them).
"""

from .diff import Change, Comparison, Diff, compare_configs, diff
from .errors import (
    ConfigurationError,
    InstrumentationError,
    MpsimError,
    TransformationCrash,
    TransformError,
)
from .mixpanel import MixpanelMock, MixpanelServer, MockConsumer, Reply, Simulator, Snapshot, WireRequest, mock, serve
from .mixpanel.saved import load_snapshot
from .replay import Replay, Step, replay
from .request import Request
from .rudder import BatchItem, transform, transform_batch
from .validation import Finding, Findings, Rule, validate

__version__ = "0.1.0"

__all__ = [
    "BatchItem",
    "Change",
    "Comparison",
    "compare_configs",
    "Diff",
    "diff",
    "Finding",
    "Findings",
    "Replay",
    "Rule",
    "Step",
    "playground",
    "replay",
    "validate",
    "MixpanelMock",
    "MixpanelServer",
    "MockConsumer",
    "Reply",
    "Simulator",
    "Snapshot",
    "WireRequest",
    "load_snapshot",
    "mock",
    "serve",
    "ConfigurationError",
    "InstrumentationError",
    "MpsimError",
    "Request",
    "TransformError",
    "TransformationCrash",
    "transform",
    "transform_batch",
]


def __getattr__(name: str) -> object:
    # The playground pulls in ipywidgets; import it only when someone asks for it.
    if name in ("playground", "Playground"):
        from . import notebook

        return getattr(notebook, name)
    raise AttributeError(f"module 'mpsim' has no attribute {name!r}")
