"""The README's Python examples run, in order, as one script (they build on each other)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    return [b for b in blocks if "@bundle_params" not in b]  # that one is a pytest module, shown for copying


def test_readme_examples_run_and_print_what_they_say():
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in python_blocks():
            exec(compile(block, str(README), "exec"), namespace)  # noqa: S102
    printed = out.getvalue()
    for block in python_blocks():
        for comment in re.findall(r"^# (.+)$", block, flags=re.M):
            if comment.startswith(("engage", "import", "[0]", "WARNING", "Ada", "project settings", "u1 {", "1 event ",
                                   "u1 2 1", "Anonymous id", "'mum' and")):
                assert comment.split(" ...")[0].split("…")[0].strip() in printed.replace("\n", " "), comment
