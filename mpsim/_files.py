"""Reading the files users hand to mpsim, with errors that name the file and what is wrong."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .errors import MpsimError


def read_text(path: str | Path, what: str, error: type[MpsimError] = MpsimError) -> str:
    """The text of ``path`` (``-`` is standard input)."""
    try:
        return sys.stdin.read() if str(path) == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None


def read_json(path: str | Path, what: str, error: type[MpsimError] = MpsimError) -> Any:
    """The JSON value in ``path``."""
    text = read_text(path, what, error)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise error(f"{what} {path} is not valid JSON: {exc}") from None
