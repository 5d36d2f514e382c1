"""JSON Lines files read a line at a time: a long log is checked without holding all of it.

``index_lines`` makes one quick pass over the bytes (where each record starts, its line number,
and the few lines that can hold a ``$group_key``); ``LineFile`` then parses records as they are
read, in order or by position, so memory stays flat however long the log is. Anything that is not
plain UTF-8 JSON Lines (standard input, a byte-order mark, a JSON array, a single value, odd line
breaks that ``str.splitlines`` would split on) returns ``None``: the caller reads it whole with
``read_records``, whose messages and numbering this module matches. A record that does not parse
is reported by ``read_records`` too, so the error reads the same as for a file read whole.
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

from ._files import read_records
from ._js import loads as js_loads
from .errors import MpsimError

# line breaks str.splitlines knows besides "\n" (read_records numbers lines with it)
_OTHER_BREAKS = re.compile(rb"[\x0b\x0c\x1c-\x1e]|\r(?!\n?\Z)|\xc2\x85|\xe2\x80[\xa8\xa9]")
_BOM_OR_BINARY = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


@dataclass
class LineFile(Sequence[Any]):
    """The records of a JSON Lines file, parsed when read (by position or in order)."""

    path: Path
    what: str
    offsets: array[int] = field(default_factory=lambda: array("q"))
    #: each record's line in the file (from 1), as messages name it
    numbers: array[int] = field(default_factory=lambda: array("q"))
    #: ``$group_key`` values of the records (validation must know them before the first record)
    group_keys: set[str] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.offsets)

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        position = range(len(self))[index]
        with self.path.open("rb") as handle:
            handle.seek(self.offsets[position])
            return self._parse(handle.readline(), position)

    def __iter__(self) -> Iterator[Any]:
        with self.path.open("rb") as handle:
            position, size = 0, len(self.offsets)
            offset = 0
            for line in handle:
                if position < size and offset == self.offsets[position]:
                    yield self._parse(line, position)
                    position += 1
                offset += len(line)

    def _parse(self, line: bytes, position: int) -> Any:
        try:
            return js_loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            read_records(self.path, self.what)  # raises the message a whole read gives
            raise MpsimError(f"{self.what} {self.path}, line {self.numbers[position]}: not valid JSON") from None


def index_lines(path: str, what: str) -> LineFile | None:
    """The records of a JSON Lines file of two or more records, or None: read that file whole."""
    if path == "-":
        return None
    source = Path(path)
    try:
        handle = source.open("rb")
    except OSError:
        return None  # read_records says why, in its words
    lines = LineFile(source, what)
    with handle:
        head = handle.read(4096)
        if head.startswith(_BOM_OR_BINARY) or b"\x00" in head:
            return None
        handle.seek(0)
        offset, number = 0, 0
        for line in handle:
            number += 1
            stripped = line.strip()
            if stripped and stripped[0] >= 0x80 and not _decoded(line).strip():
                stripped = b""  # a line of Unicode spaces is blank to str.strip, as read_records sees it
            if _OTHER_BREAKS.search(line):
                return None
            if stripped:
                if not lines.offsets and (stripped.startswith(b"[") or not _complete(line)):
                    return None  # an array, or one value over several lines: read_records decides
                lines.offsets.append(offset)
                lines.numbers.append(number)
                if b"group_key" in line or b"\\u" in line:  # "$group_key", maybe spelled with escapes
                    lines.group_keys |= _group_keys(line)
            offset += len(line)
    return lines if len(lines) > 1 else None


def _decoded(line: bytes) -> str:
    return line.decode("utf-8", "replace")


def _complete(line: bytes) -> bool:
    try:
        js_loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    return True


def _group_keys(line: bytes) -> set[str]:
    from .validation import group_keys_in

    try:
        return group_keys_in([js_loads(line.decode("utf-8"))])
    except (UnicodeDecodeError, json.JSONDecodeError):
        return set()  # the record itself is reported when it is read
