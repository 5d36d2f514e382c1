"""Payload and state diffs, the two comparisons users ask for most, and their renderings."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

import mpsim
from mpsim.cli import main

NOW = "2024-03-02T00:00:00Z"
UUID = "4f7c2a9e-1b3d-4e5f-8a6b-7c8d9e0f1a2b"


def test_nested_changes_read_as_paths():
    a = {"$set": {"$email": "a@x", "plan": "free", "n": 1}, "$token": "t"}
    b = {"$set": {"$email": "b@x", "n": "1", "tags": ["x"]}, "$token": "t"}
    d = mpsim.diff(a, b)
    assert [(c.path, c.kind) for c in d] == [("$set.$email", "changed"), ("$set.plan", "removed"),
                                           ("$set.n", "type-changed"), ("$set.tags", "added")]
    assert d[0].before == "a@x" and d[0].after == "b@x"
    assert not mpsim.diff(a, json.loads(json.dumps(a)))


def test_true_is_not_one():
    assert [c.kind for c in mpsim.diff({"a": True}, {"a": 1})] == ["type-changed"]


def test_lists_are_aligned_and_moves_reported():
    d = mpsim.diff({"tags": ["a", "b", "c"]}, {"tags": ["c", "a", "b", "d"]})
    assert [(c.path, c.kind, c.after) for c in d] == [("tags[2]", "moved", "tags[0]"), ("tags[3]", "added", "d")]
    d = mpsim.diff([{"x": 1}, {"y": 2}], [{"x": 1}, {"y": 3}, {"z": 1}])
    assert [(c.path, c.kind) for c in d] == [("[1].y", "changed"), ("[2]", "added")]


def test_requests_diff_like_records():
    event = {"type": "identify", "userId": "u1", "anonymousId": UUID, "traits": {"firstName": "Ada"}}
    old = mpsim.transform(event, {"token": "t"}, now=NOW)
    new = mpsim.transform(event, {"token": "t", "useNewMapping": True}, now=NOW)
    d = mpsim.diff(old, new)
    assert [(c.path, c.kind) for c in d] == [("[0].records[0].$set.$firstName", "removed"),
                                           ("[0].records[0].$set.$first_name", "added")]


def test_snapshot_diff_groups_changes_by_entity():
    sim = mpsim.Simulator(token="t", now=NOW)
    sim.send(mpsim.transform({"type": "track", "event": "Viewed", "anonymousId": UUID, "messageId": "m1",
                              "timestamp": "2024-03-01T00:00:00Z"}, {"token": "t"}, now=NOW))
    before = sim.snapshot()
    sim.send(mpsim.transform({"type": "identify", "userId": "u1", "anonymousId": UUID,
                              "timestamp": "2024-03-01T00:00:00Z", "traits": {"email": "a@b.c"}},
                             {"token": "t"}, now=NOW))
    d = mpsim.diff(before, sim.snapshot())
    frame = d.to_frame()
    assert list(frame.columns) == ["entity", "id", "path", "kind", "before", "after"]
    rows = {(c.entity, c.id, c.path, c.kind) for c in d}
    assert ("identity", UUID, "canonical", "changed") in rows
    assert ("profile", "u1", "$", "added") in rows
    assert ("event", "Viewed [m1]", "properties.distinct_id", "changed") in rows
    assert [c.entity for c in d] == sorted([c.entity for c in d], key=["identity", "profile", "event"].index)


def test_diff_renderings():
    d = mpsim.diff({"a": 1, "b": 2}, {"a": 2, "c": 3})
    page = d._repr_html_()
    # one tinted row per change, coloured by the theme-aware classes of the views' style block
    assert page.count("<tr class='mpsim-") == 3
    assert "<tr class='mpsim-changed'><td>a</td>" in page and "<tr class='mpsim-removed'><td>b</td>" in page
    assert "<tr class='mpsim-added'><td>c</td>" in page and "<th>before</th>" in page
    assert "mathjax_ignore" in page
    assert d.to_text() == "a: 1 → 2\nb: removed 2\nc: added 3"
    assert d.to_text("expected", "got") == "a: expected 1, got 2\nb: missing (expected 2)\nc: unexpected 3"
    assert repr(d) == "Diff(1 added, 1 removed, 1 changed)"
    assert "<p>No differences.</p>" in mpsim.diff({}, {})._repr_html_()


def test_compare_configs_original_vs_simplified():
    from mpsim.samples import sample_session

    session = sample_session()
    config = session["destination"]["Config"]
    result = mpsim.compare_configs(session["events"], config, {**config, "identityMergeApi": "simplified"},
                                   now=session["now"])
    merges = [c for c in result.requests if c.kind == "removed" and "$merge" in json.dumps(c.before)]
    assert len(merges) == 2  # Simplified sends no $merge
    assert any(c.entity == "identity" and c.id == f"$device:{UUID}" for c in result.state)
    assert "<h4>What Mixpanel holds</h4>" in result._repr_html_()


def test_replay_history_shows_what_each_step_changed():
    from mpsim.samples import sample_session

    session = sample_session()
    result = mpsim.replay(session["events"], session["destination"], now=session["now"], history=True)
    step = result.step_diff(2)  # the identify: merge + profile
    assert {c.entity for c in step} >= {"identity", "profile", "event"}
    first = result.step_diff(0)
    assert [c.entity for c in first] == ["identity", "event"]


def test_cli_diff_and_validate(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"$set": {"$email": "a@x"}}))
    b.write_text(json.dumps({"$set": {"$email": "b@x"}}))
    assert main(["diff", str(a), str(b)]) == 1
    assert capsys.readouterr().out.strip().splitlines() == ["1 difference: 1 changed", '$set.$email: "a@x" → "b@x"']
    log = tmp_path / "log.jsonl"
    log.write_text("\n".join(json.dumps(x) for x in [
        {"event": "E", "properties": {"distinct_id": "null", "time": 1709337000, "$insert_id": "a"}},
        {"$token": "t", "$distinct_id": "u", "$set": {"$firstName": "A"}}]))
    assert main(["validate", str(log), "--now", NOW]) == 1
    out = capsys.readouterr().out
    assert "2 records checked: 1 error (1 rule), 1 warning (1 rule)" in out and "placeholder-id" in out and "near-miss-name" in out
    clean = tmp_path / "clean.jsonl"
    clean.write_text(json.dumps({"$token": "t", "$distinct_id": "u", "$set": {"$first_name": "A"}}))
    assert main(["validate", str(clean), "--now", NOW]) == 0


# ---------------------------------------------------------------------- diffs of two states of one project
_ops = st.lists(st.tuples(st.sampled_from(["event", "merge", "set", "group"]), st.integers(0, 3), st.integers(0, 3)),
                min_size=1, max_size=12)


def _apply(s, op, x, y):
    from tests.mixpanel.helpers import engage, event, post, post_import

    if op == "event":
        post_import(s, [event(insert_id=f"i-{y}", distinct_id=f"u{x}", v=x * 10 + y)])
    elif op == "merge":
        post_import(s, [event("$merge", distinct_id=None, insert_id=f"m-{x}-{y}",
                              **{"$distinct_ids": [f"u{x}", f"u{y}"]})])
    elif op == "set":
        engage(s, f"u{x}", "$set", {"plan": y})
    else:
        post(s, "groups", {"$token": "tok", "$group_key": "company", "$group_id": f"c{x}", "$set": {"n": y}})


@settings(max_examples=60, deadline=None)
@given(_ops, _ops)
def test_a_diff_of_two_snapshots_looks_only_at_what_changed_and_finds_all_of_it(first, second):
    from mpsim.diff import _changed_scope, _state_entities, diff_entities
    from tests.mixpanel.helpers import sim

    s = sim(group_keys=["company"])
    for op in first:
        _apply(s, *op)
    before = s.snapshot()
    for op in second:
        _apply(s, *op)
    after = s.snapshot()
    assert _changed_scope(before, after) is not None
    for a, b in ((before, after), (after, before), (before, s), (before, before)):
        full = diff_entities(_state_entities(a), _state_entities(b))
        assert [(r.entity, r.id, r.path, r.kind, r.before, r.after) for r in mpsim.diff(a, b)] == \
            [(r.entity, r.id, r.path, r.kind, r.before, r.after) for r in full]
    assert len(mpsim.diff(after, after)) == 0
