"""Mismatch and cross-event findings: each rule with a case that passes and one that fails,
and the words a support engineer needs (the consequence and the exact setting to change)."""

from __future__ import annotations

import pytest

import mpsim
from mpsim.validation import CROSS_RULES

NOW = "2024-03-02T00:00:00Z"
A1 = "4f7c2a9e-1b3d-4e5f-8a6b-7c8d9e0f1a2b"
T = "2024-03-01T10:00:00Z"


def identify(user, anon=A1, **traits):
    return {"type": "identify", "userId": user, "anonymousId": anon, "messageId": f"i-{user}", "timestamp": T,
            "context": {"traits": traits or {"email": f"{user}@example.com"}}}


def track(event="Viewed", user=None, anon=A1, **props):
    message = {"type": "track", "event": event, "anonymousId": anon, "messageId": f"t-{event}-{user}",
               "timestamp": T, "properties": props}
    if user:
        message["userId"] = user
    return message


GROUP = {"type": "group", "userId": "u1", "anonymousId": A1, "groupId": "acme", "messageId": "g1", "timestamp": T,
         "traits": {"company": "acme", "name": "Acme"}}
EVENTS = [track(), identify("u1"), track("Bought", "u1", revenue=10)]

# rule id → (validate() arguments that pass, arguments that fail, words the failing finding must contain)
CASES: dict[str, tuple[dict, dict, list[str]]] = {
    "identity-merge-mismatch": (
        {"obj": EVENTS, "config": {"token": "t"}, "project": {"token": "t", "identity_merge": "original"}},
        {"obj": EVENTS, "config": {"token": "t"}, "project": {"token": "t", "identity_merge": "simplified"}},
        ["'Identity Merge' (identityMergeApi)", "'simplified'", "two users"]),
    "residency-mismatch": (
        {"obj": EVENTS, "config": {"token": "t", "dataResidency": "eu"}, "project": {"token": "t", "residency": "eu"}},
        {"obj": EVENTS, "config": {"token": "t", "dataResidency": "EU"}, "project": {"token": "t", "residency": "eu"}},
        ["'Data Residency' (dataResidency)", "200", "keeps nothing", "only lowercase"]),
    "group-key-undeclared-in-project": (
        {"obj": [GROUP], "config": {"token": "t", "groupKeySettings": [{"groupKey": "company"}]},
         "project": {"token": "t", "group_keys": ["company"]}},
        {"obj": [GROUP], "config": {"token": "t", "groupKeySettings": [{"groupKey": "company"}]},
         "project": {"token": "t", "group_keys": ["company_id"]}},
        ["Project Settings → Group Keys", "'Group Key Settings' (groupKeySettings)", "company_id"]),
    "token-missing": (
        {"obj": EVENTS, "config": {"token": "t"}},
        {"obj": EVENTS, "config": {"identityMergeApi": "original"}},
        ["'Project Token' (token)", "Access Keys"]),
    "token-mismatch": (
        {"obj": EVENTS, "config": {"token": "t"}, "project": {"token": "t"}},
        {"obj": EVENTS, "config": {"token": "t-staging"}, "project": {"token": "t"}},
        ["'Project Token' (token)", "keeps nothing", "401"]),
    "config-key-typo": (
        {"obj": EVENTS, "config": {"token": "t", "dataResidency": "eu"}},
        {"obj": EVENTS, "config": {"token": "t", "dataresidency": "eu"}},
        ["did you mean 'dataResidency'", "'Data Residency' (dataResidency)"]),
    "destination-key-typo": (
        {"obj": EVENTS, "config": {"Config": {"token": "t"}, "Name": "Mixpanel"}},
        {"obj": EVENTS, "config": {"Config": {"token": "t"}, "config": {"useNewMapping": True}}},
        ["did you mean 'Config'", "Rename 'config' to 'Config'"]),
    "unknown-config-key": (
        {"obj": EVENTS, "config": {"token": "t", "apiSecret": "s"}},
        {"obj": EVENTS, "config": {"token": "t", "favouriteColour": "blue"}},
        ["'favouriteColour' is not a setting"]),
    "revenue-without-revenue": (
        {"obj": track("Order Completed", "u1", revenue=42.5, total=42.5)},
        {"obj": track("Order Completed", "u1", total=42.5)},
        ["'total'", "properties.revenue", "$transactions"]),
    "group-key-missing": (
        {"obj": GROUP, "config": {"token": "t", "groupKeySettings": [{"groupKey": "company"}]}},
        {"obj": GROUP, "config": {"token": "t", "groupKeySettings": [{"groupKey": "company_id"}]}},
        ["'company_id'", "'Group Key Settings' (groupKeySettings)"]),
    "shared-anonymous-id": (
        {"obj": [identify("u1"), identify("u2", anon="0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")], "config": {"token": "t"}},
        {"obj": [identify("u1"), track("Out", "u1"), identify("u2")], "config": {"token": "t"}},
        ["'u1', 'u2'", "events 1-3:", "become one user", "rudderanalytics.reset()"]),
    "group-key-never-sent": (
        {"obj": [GROUP, track("Viewed", "u1", company="acme")],
         "config": {"token": "t", "groupKeySettings": [{"groupKey": "company"}]}},
        {"obj": [GROUP, track("Viewed", "u1")], "config": {"token": "t", "groupKeySettings": [{"groupKey": "company"}]}},
        ["'company'", "group reports stay empty", "Project Settings → Group Keys"]),
    "identify-traits-lost": (
        {"obj": [identify("u1")], "config": {"token": "t"}, "project": {"token": "t"}},
        {"obj": [identify("u1")], "config": {"token": "t-old"}, "project": {"token": "t"}},
        ["$email", "'Project Token' (token)"]),
}


def test_every_support_rule_has_a_case():
    from mpsim.validation.rules import RULES

    new = {r.id for r in RULES if "mismatch" in r.tags} | {"revenue-without-revenue", "group-key-missing"}
    assert new | {r.id for r in CROSS_RULES} == set(CASES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_support_rule_passes_and_fails(rule_id):
    good, bad, words = CASES[rule_id]
    good, bad = dict(good), dict(bad)
    assert rule_id not in mpsim.validate(good.pop("obj"), now=NOW, **good).rules()
    found = mpsim.validate(bad.pop("obj"), now=NOW, **bad).by_rule(rule_id)
    assert found, f"{rule_id} did not fire"
    text = f"{found[0].message} fix: {found[0].fix}"
    for word in words:
        assert word in text, (word, text)


def test_mismatch_rules_say_nothing_about_an_assumed_project():
    findings = mpsim.validate(EVENTS, config={"token": "t", "identityMergeApi": "simplified", "dataResidency": "eu"},
                              now=NOW)
    assert not findings.rules() & {"identity-merge-mismatch", "residency-mismatch", "token-mismatch"}


def test_token_mismatch_is_said_once_not_per_record():
    findings = mpsim.validate(EVENTS, config={"token": "t-staging"}, project={"token": "t"}, now=NOW)
    assert len(findings.by_rule("token-mismatch")) == 1
    assert not findings.by_rule("token") and not findings.by_rule("profile-token")


def test_shared_device_in_a_simplified_project_names_the_refusal():
    events = [identify("u1"), identify("u2")]
    (finding,) = mpsim.validate(events, config={"token": "t", "identityMergeApi": "simplified"},
                                project={"token": "t", "identity_merge": "simplified"}, now=NOW).by_rule(
                                    "shared-anonymous-id")
    assert "errDeviceMappedToOtherUser" in finding.message and finding.record == 1


def test_replay_findings_include_cross_event_and_mismatch_findings():
    result = mpsim.replay([identify("u1"), identify("u2")], {"token": "t"},
                          project={"token": "t", "identity_merge": "simplified"}, now=NOW)
    assert {"shared-anonymous-id", "identity-merge-mismatch"} <= result.findings.rules()
    assert "findings:" in str(result)


def test_identify_traits_lost_through_a_residency_mismatch():
    result = mpsim.replay([identify("u1")], {"token": "t"}, project={"token": "t", "residency": "eu"}, now=NOW)
    (lost,) = result.findings.by_rule("identify-traits-lost")
    assert "another residency's host" in lost.message and "'eu'" in lost.message


# --------------------------------------------------------------------------- properties
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from mpsim.project import DESTINATION_LABELS, ProjectError, resolve_project  # noqa: E402

key = st.one_of(st.sampled_from([*DESTINATION_LABELS, "projectToken", "dataresidency", "config", "Token"]),
                st.text(min_size=1, max_size=12))
value = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8), st.lists(st.integers(), max_size=2))


@settings(max_examples=80, deadline=None)
@given(config=st.dictionaries(key, value, max_size=5))
def test_any_destination_config_gets_findings_not_a_crash_and_every_unknown_key_is_named(config):
    findings = mpsim.validate(track(), config=config, project={"token": "t", "residency": "us"}, now=NOW)
    messages = [f.message for f in findings if f.rule in ("config-key-typo", "unknown-config-key", "destination-key-typo")]
    for k in config:
        if k not in DESTINATION_LABELS and k != "Config":
            assert any(f"'{k}' is not" in m for m in messages), (k, messages)


@settings(max_examples=80, deadline=None)
@given(project=st.dictionaries(st.text(min_size=1, max_size=15), value, max_size=4))
def test_any_project_dict_resolves_or_is_one_clear_error(project):
    try:
        resolve_project(project)
    except ProjectError as exc:
        assert "\n" not in str(exc) and ("allowed:" in str(exc) or "must be" in str(exc))
