"""Draw the README's scale comparison plot from a ``mpsim scale compare`` output folder.

Run: ``python tools/scale_comparison_plot.py /tmp/scale-cmp/out-1m docs/scale-comparison.png``
(after ``mpsim scale compare HISTORY ... --out /tmp/scale-cmp/out-1m``). The bars are
``ScaleComparison.plot``, the same chart notebook 05 shows.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from mpsim.scale.compare import plot_comparison  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("comparison", help="the --out folder of mpsim scale compare (holds comparison.json)")
    parser.add_argument("png", help="where to write the plot")
    parser.add_argument("--title", help="the plot's title")
    args = parser.parse_args()
    summary = json.loads((Path(args.comparison) / "comparison.json").read_text())
    ax = plot_comparison(summary, title=args.title)
    ax.figure.savefig(args.png, dpi=120)
    print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
