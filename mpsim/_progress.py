"""Progress bars on stderr for the CLI's long phases (reading, replaying, validating, summarising).

A bar appears only for inputs of ``PROGRESS_FROM`` items or more: short runs finish before a bar
would help, and their output stays as it was. Bars go to stderr so that stdout (the answer) can be
piped or saved. ``reporting`` lets the CLI show the progress of a validation started elsewhere
(``Replay.findings`` calls ``validate``): ``validate`` asks ``current()`` for a bar factory.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

#: inputs shorter than this get no progress bar
PROGRESS_FROM = 500

#: (items, phase, size=, unit=) → the same items, read through a progress bar; ``size`` (the input's length,
#: by default ``len(items)``) decides whether a bar shows at all
Reporter = Callable[..., Sequence[Any]]
_CURRENT: ContextVar[Reporter | None] = ContextVar("mpsim_progress", default=None)


def bar(size: int, desc: str, unit: str = "record", *, total: int | None | bool = True) -> Any:
    """A tqdm bar on stderr for ``size`` items (off below ``PROGRESS_FROM``); ``total=None`` counts with no end."""
    from tqdm import tqdm

    return tqdm(total=size if total is True else total, desc=desc, unit=unit, disable=size < PROGRESS_FROM,
                file=sys.stderr)


class Ticking(Sequence[Any]):
    """A sequence whose reads move a progress bar (for code that reads a list more than once, or by index)."""

    def __init__(self, items: Sequence[Any], progress: Any) -> None:
        self._items, self._bar = items, progress

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: Any) -> Any:
        self._bar.update()
        return self._items[index]

    def __iter__(self) -> Iterator[Any]:
        return ticked(self._items, self._bar)


def ticked(items: Iterable[Any], progress: Any) -> Iterator[Any]:
    """``items`` one at a time, moving ``progress`` by one for each (a stream read once, e.g. a log being replayed)."""
    for item in items:
        progress.update()
        yield item


@contextmanager
def reporting(default_unit: str = "record") -> Iterator[list[Any]]:
    """While inside, ``validate`` reads its records through stderr progress bars (one per phase).

    Yields the list of bars opened, which are closed on the way out.
    """
    opened: list[Any] = []

    def report(items: Sequence[Any], phase: str, *, size: int | None = None, unit: str | None = None) -> Sequence[Any]:
        progress = bar(len(items) if size is None else size, phase, unit or default_unit, total=len(items))
        opened.append(progress)
        return Ticking(items, progress)

    token = _CURRENT.set(report)
    try:
        yield opened
    finally:
        _CURRENT.reset(token)
        for progress in opened:
            progress.close()


def current() -> Reporter | None:
    """The progress reporter of the enclosing ``reporting()``, if any."""
    return _CURRENT.get()
