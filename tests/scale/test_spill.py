"""The identity pass's disk containers behave like the dicts and sets they replace, with any cache size."""

from __future__ import annotations

import os
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpsim.errors import MpsimError
from mpsim.mixpanel.identity import OriginalIdentity, SimplifiedIdentity
from mpsim.scale.spill import PAIR, ClusterStore, DiskDict, DiskSet, IdentitySpill, IdentityState, SpillFile

KEYS = st.sampled_from(["a", "b", "c", "d", "e", "é", "\ud800", "x\x00y", "", "$device:1"])
EXAMPLES = settings(max_examples=60, deadline=None)


@EXAMPLES
@given(cache=st.integers(1, 4), ops=st.lists(st.tuples(
    st.sampled_from(["set", "get", "in", "del", "items", "len"]), KEYS, st.sampled_from(["u1", "u2", "ü"])),
    max_size=60))
def test_disk_dict_is_a_dict(cache, ops):
    plain: dict = {}
    with SpillFile() as spill:
        disk = DiskDict(spill, "devices", cache)
        for op, key, value in ops:
            if op == "set":
                disk[key] = plain[key] = value
            elif op == "get":
                assert disk.get(key) == plain.get(key)
                assert disk.get(key, "none") == plain.get(key, "none")
            elif op == "in":
                assert (key in disk) == (key in plain)
            elif op == "del":
                if key in plain:
                    del plain[key], disk[key]
                else:
                    with pytest.raises(KeyError):
                        del disk[key]
            elif op == "items":
                assert sorted(disk.items()) == sorted(plain.items())
                assert sorted(disk.values()) == sorted(plain.values())
            else:
                assert len(disk) == len(plain)
        assert dict(disk.items()) == plain and sorted(disk) == sorted(plain)
        users = [user for _, user in disk.items_by_value()]
        assert users == sorted(users, key=lambda u: u.encode())  # each user's devices side by side


@EXAMPLES
@given(cache=st.integers(1, 4), ops=st.lists(st.tuples(st.sampled_from(["add", "discard", "in", "and", "len"]),
                                                       KEYS), max_size=60))
def test_disk_set_is_a_set(cache, ops):
    plain: set = set()
    with SpillFile() as spill:
        disk = DiskSet(spill, "identified", cache)
        for op, key in ops:
            if op == "add":
                disk.add(key)
                plain.add(key)
            elif op == "discard":
                disk.discard(key)
                plain.discard(key)
            elif op == "in":
                assert (key in disk) == (key in plain)
            elif op == "and":  # OriginalIdentity.identify: cluster.ids & identified
                probe = {key, "a", "zz"}
                assert probe & disk == probe & plain and isinstance(probe & disk, set)
            else:
                assert len(disk) == len(plain)
        assert set(disk) == plain


@EXAMPLES
@given(cache=st.integers(1, 3), pairs=st.lists(st.tuples(KEYS, KEYS), max_size=30))
def test_a_set_of_pairs_keeps_pairs_apart(cache, pairs):
    with SpillFile() as spill:
        disk = DiskSet(spill, "seen_pairs", cache, PAIR)
        for pair in pairs:
            disk.add(pair)
        assert set(disk) == set(pairs)
        assert all(pair in disk for pair in pairs) and ("a\x00", "b") not in disk


def assert_same_buckets(spill: IdentitySpill, memory) -> None:
    """The spill's rows, sorted into buckets on disk, equal the engine's own rows grouped in memory."""
    def bucket(distinct_id: str) -> int:
        return len(distinct_id) % 3

    got = [(b, sorted(rows)) for b, rows in spill.clustered_by_bucket(bucket)]
    want = [(b, sorted(rows)) for b, rows in IdentityState(memory).clustered_by_bucket(bucket)]
    assert got == want and [b for b, _ in got] == sorted({b for b, _ in got})


ANON = [str(uuid.UUID(int=i, version=4)) for i in range(1, 6)]
IDS = [*ANON, "u1", "u2", "u3", "u4", "not-a-uuid"]
IDENTITY_OPS = st.lists(st.tuples(st.sampled_from(["identify", "alias", "merge", "profile"]), st.sampled_from(IDS),
                                  st.sampled_from(IDS)), max_size=40)


@settings(max_examples=80, deadline=None)
@given(cache=st.integers(1, 4), max_cluster=st.integers(2, 6), ops=IDENTITY_OPS)
def test_original_id_merge_on_disk_decides_every_merge_like_the_engine_in_memory(cache, max_cluster, ops):
    memory = OriginalIdentity(max_cluster=max_cluster)
    profiles: set = set()
    with IdentitySpill("original", cache=cache) as spill:
        disk = spill.engine
        disk.max_cluster = max_cluster
        for seq, (kind, a, b) in enumerate(ops):
            if kind == "profile":
                profiles.add(a)
                spill.existing.add(a)
                continue
            want = getattr(memory, kind)(a, b, seq, profiles.__contains__)
            got = getattr(disk, kind)(a, b, seq, spill.existing.__contains__)
            assert got == want, (kind, a, b)
            assert [disk.canonical(i) for i in IDS] == [memory.canonical(i) for i in IDS]
        assert disk.refusals == memory.refusals
        assert sorted(spill.clustered()) == sorted(memory.clustered())
        assert_same_buckets(spill, memory)
        assert set(disk.identified) == memory.identified and set(disk.aliases) == memory.aliases
        # _same_cluster compares clusters with `is`: two lookups of one cluster give one object
        for a in IDS:
            for b in IDS:
                first = disk.clusters.get(a)
                assert (first is not None and disk.clusters.get(b) is first) == \
                    (memory.clusters.get(a) is not None and memory.clusters.get(b) is memory.clusters.get(a))


@settings(max_examples=60, deadline=None)
@given(cache=st.integers(1, 3), links=st.lists(st.tuples(st.sampled_from(["u1", "u2", "u3", "u4", "u5"]),
                                                         st.sampled_from([str(i) for i in range(12)])), max_size=40))
def test_simplified_id_merge_on_disk_links_and_lists_clusters_like_the_engine_in_memory(cache, links):
    memory = SimplifiedIdentity()
    with IdentitySpill("simplified", cache=cache) as spill:
        for seq, (user, device) in enumerate(links):
            assert spill.engine.link(user, device, seq) == memory.link(user, device, seq)
        assert spill.engine.refusals == memory.refusals
        # clustered() runs on chunks of about `cache` devices holding whole users: same rows
        assert sorted(spill.clustered()) == sorted(memory.clustered())
        assert_same_buckets(spill, memory)
        assert dict(spill.engine.devices.items()) == memory.devices


def test_cluster_store_drops_the_row_of_a_cluster_merged_into_another():
    with SpillFile() as spill:
        store = ClusterStore(spill, cache=1)
        engine = OriginalIdentity(clusters=store)
        engine.merge("a", "b", 1, lambda _: False)
        engine.merge("c", "d", 2, lambda _: False)
        engine.merge("a", "c", 3, lambda _: False)
        store._clusters.flush()
        rows = spill.db().execute("SELECT COUNT(*) FROM cluster_ids").fetchone()[0]
        assert rows == 1 and len(store) == 4 and store["d"].ids == {"a", "b", "c", "d"}
        assert sorted(store) == ["a", "b", "c", "d"]
        engine.merge("e", "f", 4, lambda _: False)
        held = store["a"]
        assert store["e"] is not held  # the cache (one cluster) now holds e's cluster, not a's
        assert store["b"] is held  # still the same object: _same_cluster's `is` holds across evictions
        with pytest.raises(KeyError):
            store["zz"]
        with pytest.raises(TypeError, match="never leaves its cluster"):
            del store["a"]
        assert sorted((m, c.canonical) for m, c in store.items()) == [(m, store[m].canonical) for m in "abcdef"]


def test_bad_keys_values_and_settings_are_refused_with_what_is_wrong(tmp_path):
    with SpillFile(str(tmp_path)) as spill:
        disk = DiskDict(spill, "devices", 2)
        assert disk.get(7) is None and 7 not in disk  # a dict of str keys holds no int
        with pytest.raises(TypeError, match="devices: keys are str, not int"):
            disk[7] = "u"
        with pytest.raises(TypeError, match="devices: values are str, not NoneType"):
            disk["d"] = None
        store = ClusterStore(spill)
        with pytest.raises(TypeError, match="_Cluster values"):
            store["a"] = "b"  # type: ignore[assignment]
        folder = spill.folder
        assert os.path.exists(spill.path)
    assert not os.path.exists(folder)  # the spill file goes when the pass ends
    with pytest.raises(MpsimError, match="at least 1"):
        IdentitySpill("original", cache=0)
    with pytest.raises(MpsimError, match="'original' or 'simplified'"):
        IdentitySpill("legacy")
    with pytest.raises(MpsimError, match="does not exist"):
        IdentitySpill("original", folder=str(tmp_path / "missing"))
    with pytest.raises(MpsimError, match="is closed"):
        spill.db()
