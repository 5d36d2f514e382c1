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
def paused_gc(*, settle: bool = False) -> Iterator[None]:
    """Run the block with the cyclic collector off (it is turned back on if it was on).

    ``settle=True`` is for a block whose new objects hold no reference cycles (the transformer's
    batches): once the block is done, every tracked object moves to the oldest generation, so the
    first young collection after it does not scan the whole batch only to find nothing to free.
    Skipped where the caller uses ``gc.freeze`` itself (its frozen objects stay frozen).
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if settle and collecting and gc.get_freeze_count() == 0:
            gc.freeze()  # all generations → the permanent one, without a scan …
            gc.unfreeze()  # … and back into the oldest generation; the young counts start at zero
        if collecting:
            gc.enable()
