"""Re-run notebooks in place so their stored outputs match what nbval will compare.

Usage: ``python tools/execute_notebooks.py notebooks/*.ipynb`` (needs ``pip install nbclient``).
Run it after changing a notebook or anything it displays, then review the diff of the outputs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def main(paths: list[str]) -> None:
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(Path(path).parent)}}).execute()
        nbformat.write(nb, path)
        print(f"executed {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
