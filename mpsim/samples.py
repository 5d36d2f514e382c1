"""Built-in sample data: a realistic RudderStack web session and the destination it is sent to."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def sample_session() -> dict[str, Any]:
    """``{description, now, destination, events}``: anonymous browsing, signup, purchase, group, logout, a second user."""
    text = resources.files("mpsim").joinpath("data/sample_session.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]
