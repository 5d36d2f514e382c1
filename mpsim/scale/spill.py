"""The identity pass's state on disk: SQLite tables with a bounded LRU cache in front, shaped like dicts and sets.

Why: the identity pass (``stages.identity_pass``) runs the simulator's own identity engine
(``mpsim.mixpanel.identity``) over a whole history's identity stream in one process. With the
engine's plain dicts and sets, that process grows with the history's distinct ids (about 390 bytes
each), so a history with 50M ids needs a 20 GB driver. The containers here have the interface the
engine uses (``get``, ``in``, item assignment, ``add``, ``discard``, ``items``, ``&``), so the
engine — the one set of identity rules, shared with ``Simulator`` — runs unchanged while its state
lives in a temporary SQLite file and memory holds only ``cache`` recently used entries per container.

Only ``mpsim.scale`` uses them; ``Simulator`` (and ``mpsim.mixpanel.saved``) keep plain dicts.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping, MutableSet
from dataclasses import dataclass, field
from typing import Any

from ..errors import MpsimError
from ..mixpanel.identity import OriginalIdentity, SimplifiedIdentity, _Cluster
from ..mixpanel.state import State

#: entries each container keeps in memory; the rest is on disk (about 200 bytes per cached entry)
DEFAULT_CACHE = 5_000
#: SQLite's own page cache for the whole file, in KiB (a negative ``cache_size`` is KiB)
PAGE_CACHE_KIB = 16 * 1024

_ABSENT: Any = type("_Absent", (), {"__repr__": lambda self: "<absent>"})()  # cached "not on disk", or a delete


@dataclass(frozen=True)
class Codec:
    """How one kind of key or value is stored: which Python values it accepts, and their bytes on disk."""

    name: str
    accepts: Callable[[Any], bool]
    dumps: Callable[[Any], bytes | None]
    loads: Callable[[Any], Any]


def _text_bytes(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")  # ids from JSON may hold lone surrogates


def _bytes_text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogatepass")


def _is_pair(value: Any) -> bool:
    return type(value) is tuple and len(value) == 2 and type(value[0]) is str and type(value[1]) is str


def _cluster_bytes(cluster: _Cluster) -> bytes:
    return json.dumps([cluster.canonical, *cluster.ids]).encode("ascii")


def _bytes_cluster(raw: bytes) -> _Cluster:
    canonical, *ids = json.loads(raw)
    return _Cluster(set(ids), canonical)


TEXT = Codec("str", lambda v: type(v) is str, _text_bytes, _bytes_text)
PAIR = Codec("(str, str) pair", _is_pair, lambda v: json.dumps(list(v)).encode("ascii"),
             lambda raw: tuple(json.loads(raw)))
CLUSTER = Codec("_Cluster", lambda v: isinstance(v, _Cluster), _cluster_bytes, _bytes_cluster)
PRESENT = Codec("True", lambda v: v is True, lambda v: None, lambda raw: True)  # a set's members: the key is all


def check_spill(cache: Any, folder: str | None) -> None:
    """Refuse a cache size or spill folder that cannot work, before a replay spends an hour on stage 1."""
    if not isinstance(cache, int) or isinstance(cache, bool) or cache < 1:
        raise MpsimError(f"identity cache must be a whole number of entries, at least 1, not {cache!r}")
    if folder is not None and not os.path.isdir(folder):
        raise MpsimError(f"spill folder {folder!r} does not exist (it holds the identity pass's state on disk)")


class SpillFile:
    """One temporary SQLite file (a fresh folder under ``folder``, default the system's temp dir), deleted on close.

    Durability is off (no journal, no fsync): the file is scratch space for one pass and is
    thrown away, so a crash loses nothing that was not going to be rebuilt anyway.
    """

    def __init__(self, folder: str | None = None) -> None:
        check_spill(1, folder)
        self.folder = tempfile.mkdtemp(prefix="mpsim-identity-", dir=folder)
        self.path = os.path.join(self.folder, "identity.sqlite")
        self.connection: sqlite3.Connection | None = sqlite3.connect(self.path, isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "locking_mode=EXCLUSIVE", "temp_store=FILE",
                       f"cache_size=-{PAGE_CACHE_KIB}"):
            self.connection.execute(f"PRAGMA {pragma}")
        self.connection.execute("BEGIN")  # one transaction for the whole pass: no commit per write
        self.tables: list[str] = []

    def db(self) -> sqlite3.Connection:
        if self.connection is None:
            raise MpsimError(f"the spill file {self.path} is closed")
        return self.connection

    def table(self, name: str) -> str:
        """Create table ``name`` (key, value); names are fixed by this module, never taken from data."""
        if not name.isidentifier() or name in self.tables:
            raise ValueError(f"bad or repeated spill table name {name!r}")
        self.db().execute(f"CREATE TABLE {name} (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID")
        self.tables.append(name)
        return name

    def size(self) -> int:
        """Bytes on disk (the database file)."""
        return os.path.getsize(self.path) if os.path.exists(self.path) else 0

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> SpillFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class CachedTable:
    """Key → value in one SQLite table, with an LRU cache of ``cache`` entries (values and known absences) in front.

    Writes go to the cache and reach the table when their entry is evicted (or on ``flush``), so a
    key written and read again soon never touches SQLite. Memory holds at most ``cache`` entries.
    """

    def __init__(self, spill: SpillFile, name: str, cache: int, key: Codec, value: Codec) -> None:
        if cache < 1:
            raise ValueError(f"cache must hold at least 1 entry, not {cache!r}")
        self.spill, self.name, self.cache, self.key, self.value = spill, spill.table(name), cache, key, value
        self._cache: OrderedDict[Any, Any] = OrderedDict()
        self._dirty: set[Any] = set()
        self._select = f"SELECT v FROM {name} WHERE k = ?"
        self._upsert = f"INSERT OR REPLACE INTO {name} (k, v) VALUES (?, ?)"
        self._delete = f"DELETE FROM {name} WHERE k = ?"

    def get(self, key: Any) -> Any:
        """The value of ``key``, or ``_ABSENT``; keys this table cannot hold are absent (as in a dict)."""
        cached = self._cache.get(key, self)
        if cached is not self:
            self._cache.move_to_end(key)
            return cached
        if not self.key.accepts(key):
            return _ABSENT
        row = self.spill.db().execute(self._select, (self.key.dumps(key),)).fetchone()
        found = _ABSENT if row is None else self.value.loads(row[0])
        self._keep(key, found, dirty=False)
        return found

    def put(self, key: Any, value: Any) -> None:
        """Set ``key`` to ``value`` (``_ABSENT`` deletes it)."""
        if not self.key.accepts(key):
            raise TypeError(f"{self.name}: keys are {self.key.name}, not {type(key).__name__} ({key!r})")
        if value is not _ABSENT and not self.value.accepts(value):
            raise TypeError(f"{self.name}: values are {self.value.name}, not {type(value).__name__} ({value!r})")
        self._keep(key, value, dirty=True)

    def _keep(self, key: Any, value: Any, dirty: bool) -> None:
        self._cache[key] = value
        self._cache.move_to_end(key)
        if dirty:
            self._dirty.add(key)
        while len(self._cache) > self.cache:
            old, old_value = self._cache.popitem(last=False)
            if old in self._dirty:
                self._dirty.discard(old)
                self._write(old, old_value)

    def _write(self, key: Any, value: Any) -> None:
        db = self.spill.db()
        if value is _ABSENT:
            db.execute(self._delete, (self.key.dumps(key),))
        else:
            db.execute(self._upsert, (self.key.dumps(key), self.value.dumps(value)))

    def flush(self) -> None:
        """Write every changed cached entry to the table (entries stay cached)."""
        for key in self._dirty:
            self._write(key, self._cache[key])
        self._dirty.clear()

    def __len__(self) -> int:
        self.flush()
        return int(self.spill.db().execute(f"SELECT COUNT(*) FROM {self.name}").fetchone()[0])

    def rows(self, by_value: bool = False) -> Iterator[tuple[Any, Any]]:
        """Every (key, value), streamed from disk, ordered by key bytes (or by value bytes, then key)."""
        self.flush()
        order = "v, k" if by_value else "k"
        for raw_key, raw_value in self.spill.db().execute(f"SELECT k, v FROM {self.name} ORDER BY {order}"):
            yield self.key.loads(raw_key), self.value.loads(raw_value)


class DiskDict(MutableMapping[Any, Any]):
    """A dict on a ``CachedTable`` (``SimplifiedIdentity.devices``: ``$device:<id>`` → user id)."""

    def __init__(self, spill: SpillFile, name: str, cache: int = DEFAULT_CACHE, key: Codec = TEXT,
                 value: Codec = TEXT) -> None:
        self.table = CachedTable(spill, name, cache, key, value)

    def __getitem__(self, key: Any) -> Any:
        found = self.table.get(key)
        if found is _ABSENT:
            raise KeyError(key)
        return found

    def get(self, key: Any, default: Any = None) -> Any:
        found = self.table.get(key)
        return default if found is _ABSENT else found

    def __contains__(self, key: Any) -> bool:
        return self.table.get(key) is not _ABSENT

    def __setitem__(self, key: Any, value: Any) -> None:
        self.table.put(key, value)

    def __delitem__(self, key: Any) -> None:
        if self.table.get(key) is _ABSENT:
            raise KeyError(key)
        self.table.put(key, _ABSENT)

    def __iter__(self) -> Iterator[Any]:
        return (key for key, _ in self.table.rows())

    def __len__(self) -> int:
        return len(self.table)

    def items(self) -> Any:  # streamed, not a view: the engine only iterates it
        return self.table.rows()

    def values(self) -> Any:
        return (value for _, value in self.table.rows())

    def items_by_value(self) -> Iterator[tuple[Any, Any]]:
        """Every (key, value) with equal values next to each other (e.g. a user's devices together)."""
        return self.table.rows(by_value=True)


class DiskSet(MutableSet[Any]):
    """A set on a ``CachedTable`` (``OriginalIdentity.identified``/``aliases``, profile keys, links seen)."""

    def __init__(self, spill: SpillFile, name: str, cache: int = DEFAULT_CACHE, key: Codec = TEXT) -> None:
        self.table = CachedTable(spill, name, cache, key, PRESENT)

    @classmethod
    def _from_iterable(cls, values: Any) -> set[Any]:
        return set(values)  # ``cluster_ids & disk_set`` (Set.__rand__) builds a plain set of the few common ids

    def __contains__(self, value: Any) -> bool:
        return self.table.get(value) is not _ABSENT

    def add(self, value: Any) -> None:
        self.table.put(value, True)

    def discard(self, value: Any) -> None:
        if self.table.key.accepts(value):
            self.table.put(value, _ABSENT)

    def __iter__(self) -> Iterator[Any]:
        return (key for key, _ in self.table.rows())

    def __len__(self) -> int:
        return len(self.table)


class ClusterStore(MutableMapping[str, _Cluster]):
    """``OriginalIdentity.clusters`` on disk: member → canonical id, and canonical id → the cluster's ids.

    It holds what the engine keeps, a partition of ids into clusters, each with one of its members
    as canonical id: ``_join`` assigns one new ``_Cluster`` to every member, and clusters are never
    changed after they are made. So one row per cluster is enough, keyed by its canonical id.
    ``_same_cluster`` compares clusters with ``is``: a lookup returns the very object that was
    stored for as long as anything still holds it (a weak map by canonical id) or the cache has it.
    """

    def __init__(self, spill: SpillFile, cache: int = DEFAULT_CACHE) -> None:
        self._members = CachedTable(spill, "cluster_member", cache, TEXT, TEXT)
        self._clusters = CachedTable(spill, "cluster_ids", cache, TEXT, CLUSTER)
        self._alive: weakref.WeakValueDictionary[str, _Cluster] = weakref.WeakValueDictionary()

    def _cluster(self, canonical: str) -> _Cluster:
        cluster = self._alive.get(canonical)
        if cluster is None:
            cluster = self._clusters.get(canonical)
            if cluster is _ABSENT:
                raise MpsimError(f"identity spill is inconsistent: no cluster stored for canonical id {canonical!r}")
            self._alive[canonical] = cluster
        return cluster

    def get(self, member: Any, default: Any = None) -> Any:
        canonical = self._members.get(member)
        return default if canonical is _ABSENT else self._cluster(canonical)

    def __getitem__(self, member: str) -> _Cluster:
        canonical = self._members.get(member)
        if canonical is _ABSENT:
            raise KeyError(member)
        return self._cluster(canonical)

    def __contains__(self, member: Any) -> bool:
        return self._members.get(member) is not _ABSENT

    def __setitem__(self, member: str, cluster: _Cluster) -> None:
        if not isinstance(cluster, _Cluster) or cluster.canonical not in cluster.ids:
            raise TypeError(f"clusters holds _Cluster values whose canonical id is a member, not {cluster!r}")
        canonical = cluster.canonical
        if self._alive.get(canonical) is not cluster:  # the first member of a newly made cluster
            self._clusters.put(canonical, cluster)
            self._alive[canonical] = cluster
        if member != canonical:  # if member led a cluster, that cluster is now part of this one
            self._clusters.put(member, _ABSENT)
            self._alive.pop(member, None)
        self._members.put(member, canonical)

    def __delitem__(self, member: str) -> None:
        raise TypeError("an id never leaves its cluster in OriginalIdentity, so ClusterStore has no deletion")

    def __iter__(self) -> Iterator[str]:
        return (member for member, _ in self._members.rows())

    def __len__(self) -> int:
        return len(self._members)

    def items(self) -> Any:  # streamed, not a view: the engine only iterates it
        """Every (member, cluster), streamed cluster by cluster from the clusters' own table (no sort)."""
        self._members.flush()
        for canonical, stored in self._clusters.rows():
            cluster = self._alive.get(canonical) or stored
            for member in cluster.ids:
                yield member, cluster

    def values(self) -> Any:
        return (cluster for _, cluster in self.items())


@dataclass
class IdentityState:
    """What the identity pass keeps: the identity engine, the profile keys that exist, the links already seen.

    ``in_memory`` uses plain dicts and sets (fast; grows with the history's identities);
    ``IdentitySpill`` puts the same state on disk.
    """

    engine: Any
    existing: Any = field(default_factory=set)
    seen_pairs: Any = field(default_factory=set)

    @classmethod
    def in_memory(cls, mode: str, anon_policy: str = "uuid4+mixpanel") -> IdentityState:
        return cls(State.empty(mode, anon_policy).identity)

    def clustered(self) -> Iterator[tuple[str, str, int]]:
        """``(id, canonical, cluster size)`` for every id in a merged cluster: the engine's own ``clustered``."""
        return self.engine.clustered()

    def clustered_by_bucket(self, bucket: Callable[[str], int]) -> Iterator[tuple[int, list[tuple[str, str, int]]]]:
        """``clustered`` rows grouped by ``bucket(id)``, one bucket at a time, in bucket order."""
        groups: dict[int, list[tuple[str, str, int]]] = {}
        for row in self.clustered():
            groups.setdefault(bucket(row[0]), []).append(row)
        yield from sorted(groups.items())

    def close(self) -> None:
        """Nothing to release in memory."""

    def __enter__(self) -> IdentityState:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class IdentitySpill(IdentityState):
    """The identity pass's state in a temporary SQLite file; memory holds ``cache`` entries per container."""

    def __init__(self, mode: str, anon_policy: str = "uuid4+mixpanel", cache: int = DEFAULT_CACHE,
                 folder: str | None = None) -> None:
        if mode not in ("original", "simplified"):
            raise MpsimError(f"the identity pass spills 'original' or 'simplified' ID merge, not {mode!r}")
        check_spill(cache, folder)
        self.file = SpillFile(folder)
        self.cache = cache
        engine: Any
        # the engine's fields are typed as the dicts and sets Simulator uses; these quack the same (Any)
        if mode == "original":
            clusters: Any = ClusterStore(self.file, cache)
            identified: Any = DiskSet(self.file, "identified", cache)
            aliases: Any = DiskSet(self.file, "aliases", cache)
            engine = OriginalIdentity(anon_policy=anon_policy, clusters=clusters, identified=identified,
                                      aliases=aliases)
        else:
            devices: Any = DiskDict(self.file, "devices", cache)
            engine = SimplifiedIdentity(devices=devices)
        super().__init__(engine, DiskSet(self.file, "existing", cache), DiskSet(self.file, "seen_pairs", cache, PAIR))

    def clustered(self) -> Iterator[tuple[str, str, int]]:
        """The engine's own ``clustered``, over the state on disk.

        Original: ``clusters.items()`` streams from disk. Simplified: ``clustered`` counts each
        user's devices in a dict, so it runs on chunks of ``devices`` that hold whole users (a
        user's rows depend only on that user's devices), one chunk of about ``cache`` devices at a time.
        """
        if isinstance(self.engine, OriginalIdentity):
            yield from self.engine.clustered()
            return
        chunk: dict[str, str] = {}
        last = None
        for device, user in self.engine.devices.items_by_value():
            if len(chunk) >= self.cache and user != last:
                yield from SimplifiedIdentity(devices=chunk).clustered()
                chunk = {}
            chunk[device] = user
            last = user
        if chunk:
            yield from SimplifiedIdentity(devices=chunk).clustered()

    def clustered_by_bucket(self, bucket: Callable[[str], int]) -> Iterator[tuple[int, list[tuple[str, str, int]]]]:
        """``clustered`` rows grouped by ``bucket(id)``, one bucket at a time: sorted on disk, not in memory."""
        db = self.file.db()
        # keyed by (bucket, id): the b-tree keeps them in bucket order, so reading them back needs no sort
        db.execute("CREATE TABLE clustered_rows (b INTEGER, id BLOB, canonical BLOB, size INTEGER, "
                   "PRIMARY KEY (b, id)) WITHOUT ROWID")
        insert = "INSERT INTO clustered_rows VALUES (?, ?, ?, ?)"
        batch: list[tuple[int, bytes, bytes, int]] = []
        for distinct_id, canonical, size in self.clustered():
            batch.append((bucket(distinct_id), _text_bytes(distinct_id), _text_bytes(canonical), size))
            if len(batch) >= self.cache:
                db.executemany(insert, batch)
                batch = []
        db.executemany(insert, batch)
        rows: list[tuple[str, str, int]] = []
        current = -1
        for b, distinct_id, canonical, size in db.execute("SELECT b, id, canonical, size FROM clustered_rows "
                                                           "ORDER BY b"):
            if b != current and rows:
                yield current, rows
                rows = []
            current = b
            rows.append((_bytes_text(distinct_id), _bytes_text(canonical), size))
        if rows:
            yield current, rows
        db.execute("DROP TABLE clustered_rows")

    def close(self) -> None:
        self.file.close()
