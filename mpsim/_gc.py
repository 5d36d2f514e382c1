"""Pausing Python's cyclic garbage collector around work that makes many long-lived objects.

Building a million-row view or replaying a million events allocates objects that all survive; the
collector would rescan every one of them again and again (a quarter of a replay's time, measured)
while finding nothing to free. Reference counting still frees everything that is not a cycle.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run the block with the cyclic collector off (it is turned back on if it was on)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
