"""The explain journal is bounded like the log (``journal_limit``) and explanations say when history was dropped."""

from __future__ import annotations

import pytest

from tests.mixpanel.helpers import UUID, engage, event, post_import, sim


def merge(a: str, b: str) -> dict:
    return event("$merge", insert_id=None, **{"$distinct_ids": [a, b]})


def test_journal_keeps_the_newest_steps_and_counts_the_rest():
    s = sim(journal_limit=32)
    for n in range(100):
        post_import(s, [merge(f"u{n}", f"v{n}")])
    journal = s.journal
    assert 0 < len(journal.identity) <= 32
    assert journal.dropped_identity == 100 - len(journal.identity)
    assert [step.ids[0] for step in journal.identity] == [f"u{n}" for n in range(100 - len(journal.identity), 100)]
    assert journal.dropped_through == journal.identity[0].request - 1


def test_explain_still_answers_from_what_it_holds_and_says_history_was_dropped():
    s = sim(journal_limit=16)
    for n in range(40):
        post_import(s, [merge(f"u{n}", f"v{n}")])
    recent = s.explain("u39", "v39")
    assert recent.data["same_user"] is True and len(recent.rows) == 1
    assert "older history is not shown" in str(recent) and "journal_limit" in str(recent)
    old = s.explain("u0", "v0")  # still one user (the state is whole); the chain is not in the kept history
    assert old.data["same_user"] is True and old.rows == []
    assert "older history is not shown" in str(old)
    apart = s.explain("u0", "v39")
    assert apart.data["why"] == "not in the kept history"


def test_a_whole_journal_says_nothing_about_dropped_history():
    s = sim()
    post_import(s, [merge("u1", "v1")])
    assert "older history" not in str(s.explain("u1", "v1")) and s.journal.dropped == 0
    assert s.explain("u1", "zz").data["why"] == "never sent"


def test_journal_limit_zero_keeps_nothing_and_the_state_is_the_same():
    off, on = sim(journal_limit=0), sim()
    for s in (off, on):
        post_import(s, [merge("u1", UUID), event(distinct_id="u1", plan="pro")])
        engage(s, "u1", "$set", {"plan": "pro"})
    assert off.journal.identity == [] and off.journal.profiles == []
    assert off.journal.dropped == 2
    assert off.snapshot().to_dict() == on.snapshot().to_dict()
    profile = off.explain_profile("u1")
    assert "older history is not shown" in str(profile) and "keeps no steps" in str(profile)


def test_profile_steps_are_bounded_too():
    s = sim(journal_limit=20)
    for n in range(30):
        engage(s, "u1", "$set", {"n": n, "m": n})
    assert len(s.journal.profiles) <= 20 and s.journal.dropped_profiles == 30 * 2 - len(s.journal.profiles)
    assert s.explain_profile("u1", "n").rows[-1][1] == 29  # the current value is read from the state


def test_reset_keeps_the_limit():
    s = sim(journal_limit=5)
    s.reset()
    assert s.journal.limit == 5


@pytest.mark.parametrize("bad", [-1, 1.5, True, "10"])
def test_a_bad_journal_limit_is_refused_by_name(bad):
    with pytest.raises(ValueError, match="journal limit"):
        sim(journal_limit=bad)


def test_journal_values_stay_as_they_were_when_later_operations_change_the_profile():
    """The journal shares values with the profiles (no copies): later operations must never change them."""
    s = sim()
    engage(s, "u1", "$append", {"orders": {"n": 1}})
    engage(s, "u1", "$append", {"orders": {"n": 2}})
    engage(s, "u1", "$union", {"orders": [{"n": 3}]})
    engage(s, "u1", "$remove", {"orders": {"n": 1}})
    engage(s, "u1", "$set", {"orders": "gone"})
    steps = [(st.before, st.after) for st in s.journal.profiles if st.property == "orders"]
    assert steps == [(None, [{"n": 1}]), ([{"n": 1}], [{"n": 1}, {"n": 2}]),
                     ([{"n": 1}, {"n": 2}], [{"n": 1}, {"n": 2}, {"n": 3}]),
                     ([{"n": 1}, {"n": 2}, {"n": 3}], [{"n": 2}, {"n": 3}]), ([{"n": 2}, {"n": 3}], "gone")]
    rows = s.explain_profile("u1", "orders").rows
    rows[0][7] = "changed by the reader"
    if isinstance(rows[1][7], list):
        rows[1][7].append("x")  # an explanation is the reader's: the journal does not change
    assert [(st.before, st.after) for st in s.journal.profiles if st.property == "orders"] == steps
