"""User and group profile operations (ingestion spec §6, §7)."""

from __future__ import annotations

import pytest

from tests.mixpanel.helpers import NOW_S, engage, group_update, post, sim


def test_set_set_once_and_last_seen():
    s = sim()
    engage(s, "u1", "$set", {"a": 1, "b": "x"}, **{"$time": NOW_S - 3600})
    engage(s, "u1", "$set_once", {"a": 2, "c": 3})
    assert s.profile("u1") == {"a": 1, "b": "x", "c": 3, "$last_seen": "2024-03-02T00:00:00"}
    engage(s, "u1", "$set", {"b": "y"}, **{"$ignore_time": True, "$time": NOW_S - 7200})
    assert s.profile("u1")["$last_seen"] == "2024-03-02T00:00:00" and s.profile("u1")["b"] == "y"


def test_add_union_append_remove_unset():
    s = sim()
    engage(s, "u", "$add", {"n": 2})
    engage(s, "u", "$add", {"n": -0.5})
    engage(s, "u", "$union", {"tags": ["a", "b", "a"]})
    engage(s, "u", "$union", {"tags": ["b", "c"], "one": "x"})
    engage(s, "u", "$append", {"log": 1})
    engage(s, "u", "$append", {"log": [2, 3]})
    engage(s, "u", "$append", {"log": 1})
    engage(s, "u", "$remove", {"log": 1})
    engage(s, "u", "$unset", ["one", "missing"])
    profile = s.profile("u")
    assert profile["n"] == 1.5 and profile["tags"] == ["a", "b", "c"] and profile["log"] == [[2, 3]]
    assert "one" not in profile


def test_union_and_remove_use_json_equality():
    s = sim()
    engage(s, "u", "$union", {"l": [1, "1", True]})
    engage(s, "u", "$remove", {"l": "1"})
    assert s.profile("u")["l"] == [1, True]


def test_add_rejects_non_numbers_and_skips_non_numeric_stored_values():
    s = sim()
    reply = engage(s, "u", "$add", {"n": "5"})
    assert reply.json()["status"] == 0 and "$add.n" in reply.json()["error"]
    assert s.profile("u") is None
    engage(s, "u", "$set", {"n": "text"})
    engage(s, "u", "$add", {"n": 1, "m": 1})
    assert s.profile("u")["n"] == "text" and s.profile("u")["m"] == 1
    assert "not a number" in s.log[-1].records[0].note


def test_what_creates_a_profile():
    s = sim()
    engage(s, "r", "$remove", {"l": 1})
    engage(s, "u", "$unset", ["x"])
    assert s.profile("r") is None and s.profile("u") is None
    engage(s, "a", "$append", {"l": 1})
    assert s.profile("a")["l"] == [1]


def test_several_operations_apply_in_fixed_order_and_delete_runs_alone():
    s = sim()
    post(s, "engage", {"$token": "tok", "$distinct_id": "u", "$unset": ["a"], "$set": {"a": 1, "b": 2}})
    assert s.profile("u") == {"b": 2, "$last_seen": "2024-03-02T00:00:00"}
    post(s, "engage", {"$token": "tok", "$distinct_id": "u", "$delete": "", "$set": {"c": 3}})
    assert s.profile("u") is None


def test_property_limit_rejects_the_whole_update():
    s = sim()
    engage(s, "u", "$set", {f"p{i}": i for i in range(1999)})
    reply = engage(s, "u", "$set", {"x": 1, "y": 2})
    assert reply.json()["status"] == 0 and "2000" in reply.json()["error"]
    assert "x" not in s.profile("u")


def test_profile_strings_truncate_and_invalid_operations():
    s = sim()
    engage(s, "u", "$set", {"long": "z" * 300})
    assert len(s.profile("u")["long"]) == 255
    assert engage(s, "u", "$set", ["not", "an", "object"]).json()["status"] == 0
    assert post(s, "engage", {"$token": "tok", "$distinct_id": "u"}).json()["status"] == 0


def test_numeric_distinct_ids_become_text():
    s = sim()
    engage(s, 42, "$set", {"a": 1})
    assert s.profile("42")["a"] == 1


def test_group_profiles():
    s = sim()
    group_update(s, "company", "acme", "$set", {"name": "Acme", "plan": "pro"})
    group_update(s, "company", "acme", "$set_once", {"name": "Other", "founded": 1999})
    group_update(s, "company", "acme", "$union", {"domains": ["acme.test"]})
    group_update(s, "company", 7, "$set", {"name": "Seven"})
    assert s.group("company", "acme") == {"name": "Acme", "plan": "pro", "founded": 1999, "domains": ["acme.test"]}
    assert s.group("company", 7) == {"name": "Seven"}
    table = s.groups.set_index(["group_key", "group_id"])
    assert table.loc[("company", "acme"), "plan"] == "pro"
    group_update(s, "company", "acme", "$delete", None)
    assert s.group("company", "acme") is None


@pytest.mark.parametrize("op", ["$add", "$append"])
def test_groups_reject_add_and_append(op):
    s = sim()
    reply = group_update(s, "company", "acme", op, {"n": 1})
    assert reply.json()["status"] == 0 and "not supported" in reply.json()["error"]


def test_groups_need_key_and_id():
    s = sim()
    assert post(s, "groups", {"$token": "tok", "$group_id": "x", "$set": {"a": 1}}).json()["status"] == 0
    assert post(s, "groups", {"$token": "tok", "$group_key": "k", "$set": {"a": 1}}).json()["status"] == 0


def test_empty_set_creates_no_profile():
    s = sim()
    engage(s, "u", "$set", {})
    group_update(s, "k", "g", "$set", {})
    assert s.profile("u") is None and s.group("k", "g") is None
