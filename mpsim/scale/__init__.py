"""Warehouse-scale replay: a company's whole RudderStack history through the transformer and the simulator, on Dask.

``pip install "mpsim[scale]"`` adds Dask, pyarrow and fsspec. Importing this package needs none of
them; calling ``replay`` or ``compare`` does, and says what to install when they are missing.

- ``generate(out, events, seed=...)`` — a realistic history in RudderStack's object-storage layout.
- ``replay(source, destination, out=..., project=..., now=...)`` — Mixpanel's state as Parquet tables.
- ``compare(source, destination, out=..., destination_b=... or project_b=...)`` — what changes.
- ``tables_from_replay(mpsim.replay(...))`` — the same tables from an in-memory replay.
"""

from .compare import ScaleComparison, compare, compare_replays
from .generate import Generated, generate
from .replay import ScaleReplay, load_table, replay
from .sources import read_history
from .tables import tables_from_replay

__all__ = ["Generated", "ScaleComparison", "ScaleReplay", "compare", "compare_replays", "generate", "load_table",
           "read_history", "replay", "tables_from_replay"]
