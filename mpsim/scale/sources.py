"""Reading a history: gzipped JSON Lines in RudderStack's object-storage layout, or Parquet, from any fsspec URL.

The history's order is the order Mixpanel would receive it in: files by day (the ``MM-DD-YYYY``
folder), then by file name (RudderStack names them by upload time), then by path; lines in file
order. Each event gets a global ordinal in that order, and a history is cut into ``Piece``s (a
file, or a run of lines of one file) that are read and transformed independently.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from ..errors import MpsimError

JSON_SUFFIXES = (".json.gz", ".jsonl.gz", ".ndjson.gz", ".json", ".jsonl", ".ndjson")
PARQUET_SUFFIXES = (".parquet", ".parq")
_DAY = re.compile(r"^(\d{2})-(\d{2})-(\d{4})$")
#: column names that hold one raw event as JSON text in a Parquet history
JSON_COLUMNS = ("event_json", "raw", "data", "payload", "event")


@dataclass(frozen=True)
class Segment:
    """Events ``[start, stop)`` of file number ``file`` (``stop=None``: to the end).

    An event's ordinal is ``file << 32 | line``: ordered like the history, stable across runs.
    """

    path: str
    file: int
    start: int = 0
    stop: int | None = None


@dataclass(frozen=True)
class Piece:
    """A part of the history read as one task: consecutive segments (whole small files, or a run of lines)."""

    number: int
    segments: tuple[Segment, ...]


def _order_key(path: str) -> tuple[str, str, str]:
    parts = PurePosixPath(path.split("://", 1)[-1]).parts
    day = ""
    for part in parts:
        match = _DAY.match(part)
        if match:
            day = f"{match.group(3)}-{match.group(1)}-{match.group(2)}"
    return day, parts[-1] if parts else path, path


def list_files(source: str) -> list[str]:
    """Every history file under ``source`` (a folder, a glob, or one file), in delivery order."""
    import fsspec

    fs, _, paths = fsspec.get_fs_token_paths(source)
    found: list[str] = []
    for path in paths:
        if fs.isdir(path):
            found += [p for p in fs.find(path) if p.endswith(JSON_SUFFIXES + PARQUET_SUFFIXES)]
        elif fs.exists(path):
            found.append(path)
    if not found:
        raise MpsimError(f"{source}: no history files found (looked for {', '.join(JSON_SUFFIXES + PARQUET_SUFFIXES)})")
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    urls = [p if protocol in ("file", "local") else f"{protocol}://{p}" for p in found]
    return sorted(urls, key=_order_key)


def _open_text(path: str) -> Iterator[str]:
    import fsspec

    with fsspec.open(path, "rb") as raw:
        data = raw.read()
    if path.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise MpsimError(f"{path}: not a readable gzip file ({exc})") from None
    yield from io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")


def count_lines(path: str) -> int:
    """Events in one file (non-empty lines, or Parquet rows)."""
    if path.endswith(PARQUET_SUFFIXES):
        import pyarrow.parquet as pq

        with _open_binary(path) as handle:
            return int(pq.ParquetFile(handle).metadata.num_rows)
    return sum(1 for line in _open_text(path) if line.strip())


def _open_binary(path: str) -> Any:
    import fsspec

    return fsspec.open(path, "rb").open()


def _drop_nulls(value: Any) -> Any:
    """Parquet has no 'missing': a null field of a struct column is read as an absent key."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def read_piece(piece: Piece) -> Iterator[tuple[int, Any]]:
    """``(ordinal, event)`` for each event of a piece; a line that is not JSON is yielded as a ``ValueError``."""
    for segment in piece.segments:
        yield from _read_segment(segment)


def _read_segment(segment: Segment) -> Iterator[tuple[int, Any]]:
    ordinal = (segment.file << 32) + segment.start
    if segment.path.endswith(PARQUET_SUFFIXES):
        import pyarrow.parquet as pq

        with _open_binary(segment.path) as handle:
            table = pq.read_table(handle)
        stop = segment.stop if segment.stop is not None else table.num_rows
        table = table.slice(segment.start, stop - segment.start)
        column = next((c for c in JSON_COLUMNS if c in table.column_names and table.schema.field(c).type
                       in ("string", "large_string")), None)
        if column is None and len(table.column_names) == 1 and str(table.schema.field(0).type) in ("string", "large_string"):
            column = table.column_names[0]
        rows = table.column(column).to_pylist() if column else table.to_pylist()
        for row in rows:
            yield ordinal, _parse(row, segment.path, ordinal & 0xFFFFFFFF) if column else _drop_nulls(row)
            ordinal += 1
        return
    index = 0
    for number, line in enumerate(_open_text(segment.path), start=1):
        if not line.strip():
            continue
        if segment.stop is not None and index >= segment.stop:
            break
        if index >= segment.start:
            yield ordinal, _parse(line, segment.path, number)
            ordinal += 1
        index += 1


def _parse(text: Any, path: str, number: int) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        return ValueError(f"{path}, line {number}: not valid JSON ({exc})")


def plan_pieces(files: list[str], counts: list[int] | None = None, lines_per_piece: int | None = None, *,
                sizes: list[int] | None = None, bytes_per_piece: int = 8 << 20) -> list[Piece]:
    """Cut the history into pieces: runs of ``lines_per_piece`` events (needs ``counts``), or whole files
    grouped up to ``bytes_per_piece`` bytes (with ``sizes``), or one file per piece."""
    pieces: list[Piece] = []
    if lines_per_piece is not None and counts is not None:
        for file, (path, count) in enumerate(zip(files, counts, strict=True)):
            for start in range(0, count, lines_per_piece):
                segment = Segment(path, file, start, min(count, start + lines_per_piece))
                pieces.append(Piece(len(pieces), (segment,)))
        return pieces
    group: list[Segment] = []
    total = 0
    for file, path in enumerate(files):
        group.append(Segment(path, file))
        total += sizes[file] if sizes is not None else bytes_per_piece
        if total >= bytes_per_piece:
            pieces.append(Piece(len(pieces), tuple(group)))
            group, total = [], 0
    if group:
        pieces.append(Piece(len(pieces), tuple(group)))
    return pieces


def file_sizes(files: list[str]) -> list[int]:
    """Each file's size in bytes (what whole-file pieces are grouped by)."""
    import fsspec

    out = []
    for path in files:
        fs, _, (target,) = fsspec.get_fs_token_paths(path)
        out.append(int(fs.size(target) or 0))
    return out


def read_history(source: str, *, ordinals: bool = False) -> Iterator[Any]:
    """Every event of a history in delivery order, in one process (what ``mpsim.replay`` is given).

    With ``ordinals=True``, ``(ordinal, event)`` pairs (the ordinals the scale tables' ``source`` holds).
    """
    for piece in plan_pieces(list_files(source)):
        for ordinal, event in read_piece(piece):
            yield (ordinal, event) if ordinals else event
