"""Explanations: one user or two (joined, refused, ignored, never sent), profile values, dropped records."""

from __future__ import annotations

import json

import pytest

from tests.mixpanel.helpers import NOW_S, UUID, engage, event, post, post_import, sim


def identify(anon, identified):
    return event("$identify", distinct_id=identified, insert_id=None, **{"$anon_id": anon, "$identified_id": identified})


def test_explain_user_lists_the_cluster_and_the_steps_that_built_it():
    s = sim()
    post(s, "track", [identify(UUID, "u1")])
    post_import(s, [event("$merge", insert_id=None, **{"$distinct_ids": ["u1", "u-old"]})])
    text = str(explanation := s.explain(UUID))
    assert "belongs to the user shown as 'u1', who has 3 ids" in text
    assert "request #1 at 2024-03-02T00:00:00: $identify '4f7c2a9e" in text and "→ 'u1': joined" in text
    assert "request #2" in text and "$merge" in text
    assert list(explanation.to_frame()["operation"]) == ["$identify", "$merge"]
    assert explanation.to_dict()["ids"] == sorted([UUID, "u1", "u-old"])


def test_explain_pair_joined_gives_the_shortest_chain():
    s = sim()
    post(s, "track", [identify(UUID, "u1")])
    post_import(s, [event("$merge", insert_id=None, **{"$distinct_ids": ["u1", "u2"]}),
                    event("$merge", insert_id=None, **{"$distinct_ids": ["u2", "u3"]})])
    answer = s.explain(UUID, "u3")
    assert answer.data["same_user"] is True
    assert [r[2] for r in answer.rows] == ["$identify", "$merge", "$merge"]
    assert str(answer).startswith(f"'{UUID}' and 'u3' are one user, shown as 'u1', joined in 3 steps:")


def test_explain_pair_refused_names_mixpanels_code():
    s = sim()
    post(s, "track", [identify(UUID, "u1"), identify(UUID, "u2")])
    answer = s.explain(UUID, "u2")
    assert answer.data == {**answer.data, "same_user": False, "why": "refused"}
    assert "errAnonDistinctIdAssignedAlready" in str(answer) and "refused" in str(answer)
    assert s.explain("u2").data["refused"][0]["reason"] == "errAnonDistinctIdAssignedAlready"


def test_explain_pair_ignored_in_this_mode():
    s = sim(identity_merge="simplified")
    post_import(s, [event("$merge", insert_id=None, **{"$distinct_ids": ["u1", UUID]})])
    answer = s.explain(UUID, "u1")
    assert answer.data["why"] == "ignored"
    assert "Simplified ID merge ignores $merge" in str(answer)


def test_explain_pair_original_ignores_device_links():
    s = sim()
    post(s, "track", [event(distinct_id="u1", **{"$user_id": "u1", "$device_id": "d1"})])
    answer = s.explain("u1", "d1")
    assert answer.data["why"] == "ignored" and "Original ID merge does not link $user_id with $device_id" in str(answer)


@pytest.mark.parametrize("mode,words", [("original", "identify call with userId 'u2'"),
                                        ("simplified", "$user_id 'u2' and $device_id 'a9'"),
                                        ("legacy", "$create_alias")])
def test_explain_pair_never_sent_says_what_would_join_them(mode, words):
    s = sim(identity_merge=mode)
    post(s, "track", [event(distinct_id="a9"), event(distinct_id="u2", insert_id="i-2")])
    answer = s.explain("a9", "u2")
    assert answer.data["why"] == "never sent" and words in str(answer)


def test_explain_simplified_link_and_refusal():
    s = sim(identity_merge="simplified")
    post(s, "track", [event(distinct_id="u1", **{"$user_id": "u1", "$device_id": "d1"}),
                      event(distinct_id="u2", insert_id="i-2", **{"$user_id": "u2", "$device_id": "d1"})])
    assert "links the device to the user" in str(s.explain("$device:d1", "u1"))
    refused = s.explain("$device:d1", "u2")
    assert refused.data["why"] == "refused" and "errDeviceMappedToOtherUser" in str(refused)


def test_explain_unknown_id():
    assert "was never seen by this project" in str(sim().explain("ghost"))


def test_explain_profile_values_overwrites_and_ignored_operations():
    s = sim()
    engage(s, "u1", "$set", {"plan": "free", "name": "Ada"})
    engage(s, "u1", "$set", {"plan": "pro"})
    engage(s, "u1", "$set_once", {"plan": "trial", "first_seen": "2024"})
    engage(s, "u1", "$unset", ["name"])
    text = str(s.explain_profile("u1"))
    assert "'plan' = \"pro\"" in text
    assert "request #2 at 2024-03-02T00:00:00: $set \"pro\": overwrote \"free\"" in text
    assert "$set_once \"trial\": ignored: $set_once never overwrites an existing value (kept \"pro\")" in text
    assert "'name' is not on the profile" in text and "$unset" in text and "removed it" in text
    one = s.explain_profile("u1", "plan")
    assert {r[0] for r in one.rows} == {"plan"} and len(one.rows) == 3
    assert list(one.to_frame().columns)[:3] == ["property", "current", "request"]
    json.dumps(one.to_dict())


def test_explain_profile_absent_property_points_at_the_near_miss_and_hidden_profiles():
    s = sim()
    engage(s, "u1", "$set", {"$firstName": "Ada"})
    engage(s, "anon-x", "$set", {"$first_name": "Ada"})
    post_import(s, [event("$merge", insert_id=None, **{"$distinct_ids": ["u1", "anon-x"]})])
    text = str(s.explain_profile("u1", "$first_name"))
    assert "'$first_name' is not on the profile" in text
    assert "it was sent to 'anon-x' (request #2)" in text
    assert "a similar property is there: '$firstName'" in text
    assert "went to profiles of their own" in text


def test_explanations_render_as_html_without_mathjax():
    s = sim()
    engage(s, "u1", "$set", {"$email": "a@b.c"})
    for answer in (s.explain("u1"), s.explain("u1", "u2"), s.explain_profile("u1")):
        page = answer._repr_html_()
        assert "mathjax_ignore" in page and "mpsim-explain" in page


def test_dropped_records_are_counted_by_reason_in_words():
    s = sim(residency="eu")
    post(s, "track", [event()], host="api.mixpanel.com")
    post(s, "track", [event(token="other")], host="api-eu.mixpanel.com")
    post_import(s, [event(insert_id="dup"), event(insert_id="dup"), event(time="yesterday", insert_id="i-9")],
                host="api-eu.mixpanel.com")
    dropped = s.dropped()
    assert dropped["sent to another data residency's host: answered 200, nothing kept"] == 1
    assert dropped["sent with another project's token: answered 200, nothing kept"] == 1
    assert any(reason.startswith("rejected as invalid (properties.time") for reason in dropped)
    assert dropped["duplicates (same event, distinct_id, time and $insert_id): only the latest copy counts"] == 1
    assert NOW_S  # the helpers' clock


def test_replay_summary_never_hides_a_dropped_record():
    import mpsim

    events = [{"type": "track", "event": "E", "userId": "u1", "timestamp": "2024-03-01T00:00:00Z"}]
    result = mpsim.replay(events, {"token": "t"}, project={"token": "t", "residency": "eu"},
                          now="2024-03-02T00:00:00Z")
    assert "1 record dropped: sent to another data residency's host: answered 200, nothing kept" in str(result)
    assert "nothing kept" in result._repr_html_()


# --------------------------------------------------------------------------- properties
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

IDS = ["u1", "u2", "u3", UUID, "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "d1", "d2"]
pick = st.sampled_from(IDS)
operation = st.one_of(
    st.tuples(st.just("$identify"), pick, pick),
    st.tuples(st.just("$create_alias"), pick, pick),
    st.tuples(st.just("$merge"), pick, pick),
    st.tuples(st.just("link"), pick, pick),
)


def _send(s, op):
    name, a, b = op
    if name == "$identify":
        post(s, "track", [identify(a, b)])
    elif name == "$create_alias":
        post(s, "track", [event("$create_alias", distinct_id=b, insert_id=None, alias=a)])
    elif name == "$merge":
        post_import(s, [event("$merge", insert_id=None, **{"$distinct_ids": [a, b]})])
    else:
        post(s, "track", [event(distinct_id=a, insert_id=None, **{"$user_id": a, "$device_id": b})])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode=st.sampled_from(["original", "simplified", "legacy"]), ops=st.lists(operation, max_size=8),
       a=pick, b=pick)
def test_explain_agrees_with_the_identity_state(mode, ops, a, b):
    s = sim(identity_merge=mode)
    for op in ops:
        _send(s, op)
    if mode == "simplified" and b in ("d1", "d2"):
        b = f"$device:{b}"
    answer = s.explain(a, b)
    assert answer.data["same_user"] == (s.canonical(a) == s.canonical(b))
    if answer.data["same_user"] and a != b and mode != "legacy":
        # the chain is made of joining steps, each sharing an id with the next, from a to b
        ids = [set(row[3]) for row in answer.rows]
        assert ids and a in ids[0] and b in ids[-1]
        assert all(x & y for x, y in zip(ids, ids[1:], strict=False))
        assert {row[4] for row in answer.rows} == {"joined"}
    if not answer.data["same_user"]:
        assert answer.data["why"] in ("refused", "ignored", "never sent")
    assert sorted(s.explain(a).data["ids"]) == sorted(s.cluster(a))
    json.dumps(answer.to_dict())


def test_simulator_summaries_show_dropped_records():
    s = sim(residency="eu")
    post(s, "track", [event()], host="api.mixpanel.com")
    assert "1 record dropped: see sim.dropped()" in repr(s)
    page = s._repr_html_()
    assert "Dropped records" in page and "another data residency" in page
    assert "dropped" not in repr(sim())


def test_explain_pair_with_a_placeholder_id_names_the_rejected_requests_and_never_suggests_it():
    import mpsim

    config = {"token": "tok", "identityMergeApi": "original"}
    s = mpsim.Simulator(token="tok", identity_merge="original", now="2024-03-02T00:00:00Z")
    for user in ("mum", "null"):
        s.send(mpsim.transform({"type": "identify", "userId": user, "anonymousId": UUID, "messageId": f"m-{user}"},
                               config, now="2024-03-02T00:00:00Z"))
    answer = s.explain("mum", "null")
    text = str(answer)
    assert "'null' is a placeholder id Mixpanel refuses" in text
    assert "never sent" not in text and "userId 'null'" not in text
    assert "rejected: request #3 (/engage, HTTP 400)" in text and "rejected: request #4 (/import" in text
    assert answer.data["why"] == "placeholder" and answer.data["placeholders"] == ["null"]
    alone = s.explain("null")
    assert "placeholder id Mixpanel refuses" in str(alone) and "request #4" in str(alone)
