"""Reading the files users hand to mpsim, with errors that name the file and what is wrong.

Files come from editors, exports and shells: UTF-8 with or without a byte-order mark, UTF-16 from
PowerShell's ``>``, JSON with a trailing comma, JSON Lines, one object or an array. Each is read if
it can be read without guessing, and otherwise refused in one sentence that says where and why.
"""

from __future__ import annotations

import codecs
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._js import loads as js_loads  # JSON numbers as JavaScript reads them (RudderStack's side)
from .errors import MpsimError

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def decode(data: bytes, where: str, error: type[MpsimError] = MpsimError) -> str:
    """Text of a user's file: UTF-8, or UTF-8/UTF-16 with a byte-order mark; binary data is refused."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise error(f"{where} starts like {encoding.upper()} text but byte {exc.start} is not") from None
    head = data[:4096]
    if b"\x00" in head:
        even, odd = head[0::2], head[1::2]
        for zeros, text in ((odd, even), (even, odd)):  # ASCII in UTF-16 LE, then BE: every other byte is 0
            if zeros and zeros.count(0) >= 0.9 * len(zeros) and text.count(0) <= 0.1 * len(text):
                raise error(f"{where} looks like UTF-16 text without a byte-order mark: save it as UTF-8")
        raise error(f"{where} is a binary file, not JSON text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{where} is not UTF-8 text (byte {exc.start} is 0x{data[exc.start]:02x}): "
                    "save it as UTF-8") from None


def read_text(path: str | Path, what: str, error: type[MpsimError] = MpsimError) -> str:
    """The text of ``path`` (``-`` is standard input)."""
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None
    return decode(data, f"{what} {path}", error)


def json_problem(exc: json.JSONDecodeError) -> str:
    """What is wrong at a JSON syntax error, in words (a trailing comma is named as one)."""
    before = exc.doc[:exc.pos].rstrip()
    at = exc.doc[exc.pos:exc.pos + 1]
    where = f"line {exc.lineno}, column {exc.colno}"
    if before.endswith(",") and at in ("}", "]"):
        line = exc.doc.count("\n", 0, len(before) - 1) + 1
        return f"a trailing comma before '{at}' on line {line} (JSON allows none after the last item)"
    if exc.msg == "Extra data":
        return f"more than one JSON value ({where}): put several events in an array or one per line (JSON Lines)"
    return f"{exc.msg[0].lower() + exc.msg[1:]} ({where})"


def read_json(path: str | Path, what: str, error: type[MpsimError] = MpsimError) -> Any:
    """The JSON value in ``path``."""
    text = read_text(path, what, error)
    try:
        return js_loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{what} {path} is not valid JSON: {json_problem(exc)}") from None


@dataclass(frozen=True)
class Item:
    """One value of a records file and where it came from (``line 3``, ``item 2`` or ``the file``)."""

    where: str
    value: Any


def read_records(path: str | Path, what: str = "events file", error: type[MpsimError] = MpsimError) -> list[Item]:
    """Values of a JSON array, a single JSON value or JSON Lines, each with its position for messages."""
    text = read_text(path, what, error)
    stripped = text.strip()
    if not stripped:
        return []
    try:
        data = js_loads(text)
    except json.JSONDecodeError as exc:
        whole_file_error = exc
    else:
        if isinstance(data, list):
            return [Item(f"item {i + 1}", value) for i, value in enumerate(data)]
        return [Item("line 1" if "\n" not in stripped else "the file", data)]
    if stripped.startswith("[") or "\n" not in stripped:
        raise error(f"{what} {path} is not valid JSON: {json_problem(whole_file_error)}")
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(Item(f"line {number}", js_loads(line)))
        except json.JSONDecodeError as exc:
            if line.strip() in ("{", "[") or line.startswith((" ", "\t")):
                raise error(f"{what} {path} is not valid JSON: {json_problem(whole_file_error)}") from None
            raise error(f"{what} {path}, line {number}: not valid JSON: {json_problem(exc)}") from None
    return items


KIND_NAMES = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number",
              bool: "true or false", type(None): "null"}


def kind_name(value: Any) -> str:
    """``a number``, ``a list`` …: a JSON value's kind, for messages."""
    return KIND_NAMES.get(type(value), type(value).__name__)
