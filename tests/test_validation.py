"""Every validation rule, with an example that passes and one that fails."""

from __future__ import annotations

import pytest

import mpsim
from mpsim.validation import RULES, Rule

NOW = "2024-03-02T00:00:00Z"
NOW_S = 1709337600
UUID = "4f7c2a9e-1b3d-4e5f-8a6b-7c8d9e0f1a2b"


def ev(**props):
    base = {"token": "tok", "distinct_id": "u1", "time": NOW_S - 60, "$insert_id": "i-1"}
    base.update(props)
    return {"event": "E", "properties": {k: v for k, v in base.items() if v is not DROP}}


def prof(**fields):
    base = {"$token": "tok", "$distinct_id": "u1"}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not DROP}


DROP = object()
RS = {"type": "track", "event": "E", "userId": "u1", "anonymousId": UUID, "messageId": "m1",
      "timestamp": "2024-03-01T00:00:00Z"}

# rule id → (passing object, failing object, validate() keyword arguments)
CASES = {
    "event-name": (ev(), {"event": "", "properties": ev()["properties"]}, {}),
    "properties-object": (ev(), {"event": "E", "properties": "nope"}, {}),
    "near-miss-name": (prof(**{"$set": {"$first_name": "A"}}), prof(**{"$set": {"$firstName": "A"}}), {}),
    "case-slip": (ev(**{"$email": "a@b.c"}), ev(**{"$Email": "a@b.c"}), {}),
    "unknown-dollar-property": (ev(**{"$browser": "Chrome"}), ev(**{"$plan": "pro"}), {}),
    "reserved-type": (prof(**{"$set": {"$email": "a@b.c", "$created": "2024-01-01T00:00:00"}}),
                      prof(**{"$set": {"$created": 1700000000}}), {}),
    "transactions-amount": (prof(**{"$append": {"$transactions": {"$amount": 5, "$time": "2024-01-01"}}}),
                            prof(**{"$append": {"$transactions": {"$time": "2024-01-01"}}}), {}),
    "time-unit": (ev(time=NOW_S), ev(time="2024-03-01T00:00:00Z"), {}),
    "time-window": (ev(time=NOW_S - 6 * 86400), ev(time=NOW_S - 6 * 86400), {"endpoint": "track"}),
    "missing-distinct-id": (ev(), ev(distinct_id=DROP), {"endpoint": "import"}),
    "placeholder-id": (ev(distinct_id="user-1"), ev(distinct_id="undefined"), {}),
    "device-prefix-in-original": (ev(distinct_id="$device:d1"), ev(distinct_id="$device:d1"),
                                  {"identity_merge": "original"}),
    "identify-anon-not-uuid": ({"event": "$identify", "properties": {"$anon_id": UUID, "$identified_id": "u1"}},
                               {"event": "$identify", "properties": {"$anon_id": "anon-1", "$identified_id": "u1"}}, {}),
    "identity-event-ignored": ({"event": "$merge", "properties": {"$distinct_ids": ["a", "b"]}},
                               {"event": "$merge", "properties": {"$distinct_ids": ["a", "b"]}},
                               {"identity_merge": "simplified"}),
    "alias-refused": ({"event": "$create_alias", "properties": {"distinct_id": "u1", "alias": "a1"}},
                      {"event": "$create_alias", "properties": {"distinct_id": "u1", "alias": "u1"}}, {}),
    "insert-id-missing": (ev(), ev(**{"$insert_id": DROP}), {"endpoint": "import"}),
    "insert-id-format": (ev(**{"$insert_id": UUID}), ev(**{"$insert_id": "has spaces in it"}), {}),
    "token": (ev(), ev(token="other"), {"token": "tok"}),
    "profile-token": (prof(**{"$set": {"a": 1}}), prof(**{"$token": DROP, "$set": {"a": 1}}), {}),
    "too-many-properties": (ev(**{f"p{i}": i for i in range(200)}), ev(**{f"p{i}": i for i in range(260)}), {}),
    "nested-limits": (ev(o={"a": {"b": {"c": 1}}}), ev(o={"a": {"b": {"c": {"d": 1}}}}), {}),
    "long-property-name": (ev(**{"n" * 255: 1}), ev(**{"n" * 256: 1}), {}),
    "long-string": (ev(s="x" * 255), ev(s="x" * 256), {}),
    "event-too-large": (ev(blob="x" * 1000), ev(**{f"b{i}": "x" * 8000 for i in range(140)}), {}),
    "group-key-not-declared": ([ev(company="acme"), {"$token": "tok", "$group_key": "company", "$group_id": "acme",
                                                     "$set": {"n": 1}}],
                               [ev(company="acme"), {"$token": "tok", "$group_key": "company", "$group_id": "acme",
                                                     "$set": {"n": 1}}], {"group_keys_ok": ["company"],
                                                                          "group_keys": []}),
    "profile-distinct-id": (prof(**{"$set": {"a": 1}}), prof(**{"$distinct_id": "", "$set": {"a": 1}}), {}),
    "profile-operation": (prof(**{"$add": {"n": 1}}), prof(**{"$add": {"n": "1"}}), {}),
    "profile-too-many-properties": (prof(**{"$set": {f"p{i}": i for i in range(10)}}),
                                    prof(**{"$set": {f"p{i}": i for i in range(2001)}}), {}),
    "group-ids": ({"$token": "tok", "$group_key": "company", "$group_id": "acme", "$set": {"a": 1}},
                  {"$token": "tok", "$group_key": "company", "$set": {"a": 1}}, {}),
    "batch-size": ("request:2000", "request:2001", {}),
    "rudderstack-five-years": (RS, {**RS, "timestamp": "2018-01-01T00:00:00Z"}, {}),
    "rudderstack-placeholder-id": (RS, {**RS, "userId": "null"}, {}),
    "rudderstack-no-ids": (RS, {**{k: v for k, v in RS.items() if k not in ("userId", "anonymousId")}}, {}),
}


def build(obj):
    if isinstance(obj, str) and obj.startswith("request:"):
        n = int(obj.split(":")[1])
        return mpsim.Request(path="import", endpoint="https://api.mixpanel.com/import/", headers={}, params={},
                             records=[ev(**{"$insert_id": f"i-{i}"}) for i in range(n)])
    return obj


def test_every_rule_has_a_case():
    from tests.test_findings_support import CASES as SUPPORT_CASES  # mismatch and cross-event rules

    assert {r.id for r in RULES} == set(CASES) | (set(SUPPORT_CASES) & {r.id for r in RULES})
    assert not set(CASES) & set(SUPPORT_CASES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_passes_and_fails(rule_id):
    good, bad, kwargs = CASES[rule_id]
    good_kwargs = dict(kwargs)
    if "group_keys_ok" in good_kwargs:
        good_kwargs["group_keys"] = good_kwargs.pop("group_keys_ok")
        kwargs = {k: v for k, v in kwargs.items() if k != "group_keys_ok"}
    if rule_id in ("device-prefix-in-original", "identity-event-ignored"):
        good_kwargs["identity_merge"] = "simplified" if rule_id == "device-prefix-in-original" else "original"
    if rule_id == "time-window":
        good_kwargs["endpoint"] = "import"
    assert rule_id not in mpsim.validate(build(good), now=NOW, **good_kwargs).rules()
    found = mpsim.validate(build(bad), now=NOW, **kwargs).by_rule(rule_id)
    assert found, f"{rule_id} did not fire"
    finding = found[0]
    assert finding.message and finding.fix and finding.severity in ("error", "warning", "info")


def test_rudderstack_events_are_checked_after_transformation():
    msg = {"type": "identify", "userId": "u1", "anonymousId": UUID, "traits": {"firstName": "Ada", "lastName": "L"}}
    findings = mpsim.validate(msg, now=NOW)
    (first,) = [f for f in findings if f.value == "Ada"]
    assert first.rule == "near-miss-name" and first.path == "mixpanel[0].'$set'.'$firstName'"
    assert "useNewMapping" in first.fix
    assert not mpsim.validate(msg, now=NOW, config={"token": "t", "useNewMapping": True}).by_rule("near-miss-name")


def test_rudderstack_transform_errors_are_findings():
    findings = mpsim.validate({"type": "alias", "userId": "u1", "previousId": "p"}, now=NOW,
                              config={"token": "t", "identityMergeApi": "simplified"})
    (err,) = findings.by_rule("rudderstack-error")
    assert err.severity == "error" and "Simplified ID merge" in err.message


def test_paths_are_jsonpath_expressions_that_find_the_value():
    from jsonpath_ng.ext import parse

    log = [ev(), ev(**{"$Email": "x@y.z"}), prof(**{"$set": {"$avator": "http://a/b.png"}})]
    findings = mpsim.validate(log, now=NOW)
    for finding in findings:
        (match,) = parse(finding.path).find(log)
        assert match.value == finding.value
    assert [f.record for f in findings] == [1, 2]


def test_findings_table_summary_and_html():
    findings = mpsim.validate([ev(distinct_id="null"), ev(**{"$plan": 1})], now=NOW)
    frame = findings.to_frame()
    assert list(frame.columns) == ["record", "severity", "rule", "path", "value", "message", "fix", "kind"]
    assert list(frame["rule"]) == ["placeholder-id", "unknown-dollar-property"]
    assert findings.summary().to_dict("records") == [
        {"severity": "error", "rule": "placeholder-id", "count": 1},
        {"severity": "warning", "rule": "unknown-dollar-property", "count": 1}]
    page = findings._repr_html_()
    assert "<table class='mpsim-table'>" in page and "mpsim-tone-error'>error</span>" in page
    assert "placeholder-id" in page and "$plan" in page and "mathjax_ignore" in page
    assert "ERROR   [0] placeholder-id at $[0].properties.distinct_id" in str(findings)
    empty = mpsim.validate(ev(), now=NOW)
    assert not empty and "No findings" in empty._repr_html_() and len(empty.summary()) == 0


def test_user_rules_without_editing_mpsim():
    rule = Rule("no-test-users", "warning", {"event": "properties.distinct_id"},
                lambda value, key, ctx: value if str(value).startswith("test-") else None,
                "{detail} looks like a test user.", "Filter test traffic before it reaches Mixpanel.")
    assert mpsim.validate(ev(distinct_id="test-1"), now=NOW, rules=[rule]).by_rule("no-test-users")
    mpsim.validation.register(rule)
    try:
        assert mpsim.validate(ev(distinct_id="test-2"), now=NOW).by_rule("no-test-users")
        with pytest.raises(ValueError, match="already exists"):
            mpsim.validation.register(rule)
    finally:
        mpsim.validation.unregister("no-test-users")
    assert not mpsim.validate(ev(distinct_id="test-3"), now=NOW).by_rule("no-test-users")


def test_a_broken_user_rule_is_reported_not_raised():
    rule = Rule("broken", "warning", {"event": "`this`"}, lambda v, k, c: 1 / 0, "never")
    findings = mpsim.validate(ev(), now=NOW, rules=[rule])
    assert findings.by_rule("rule-failed")[0].message.startswith("rule 'broken' raised ZeroDivisionError")


def test_unknown_objects_and_requests():
    assert mpsim.validate(42, now=NOW).by_rule("unrecognised-record")
    reqs = mpsim.transform({"type": "identify", "userId": "u", "traits": {"lastName": "L"}}, {"token": "t"},
                           now=NOW)
    findings = mpsim.validate(reqs, now=NOW)
    assert findings.by_rule("near-miss-name")[0].path == "$[0].records[0].'$set'.'$lastName'"


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                           st.sampled_from(["event", "properties", "type", "time", "distinct_id", "$set",
                                            "$distinct_id", "$group_key", "$transactions", "userId", "traits",
                                            "$insert_id", "$email", "x"]) | st.text(max_size=4), inner, max_size=5),
                       max_leaves=15)


@settings(max_examples=300, deadline=None)
@given(st.lists(_values, max_size=5), st.sampled_from([None, "track", "import", "engage"]))
def test_validate_takes_anything_and_every_finding_is_well_formed(items, endpoint):
    findings = mpsim.validate(items, now=NOW, endpoint=endpoint)
    for finding in findings:
        assert finding.severity in ("error", "warning", "info") and finding.message and finding.rule
        assert finding.record is not None and 0 <= finding.record < len(items)
        assert finding.rule != "rule-failed", finding.message  # built-in rules never raise
    findings.to_frame()
    findings._repr_html_()
