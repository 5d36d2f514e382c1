"""Support-case bundles: repro, expectations, and shipped bundles as regression tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mpsim.bundles import BundleError, assert_bundle, bundle_params, repro
from mpsim.cli import main

CASES = Path(__file__).resolve().parents[1] / "fixtures" / "cases"
NOW = "2024-03-02T00:00:00Z"


@bundle_params(CASES)
def test_shipped_bundle(bundle):
    report = assert_bundle(bundle)
    assert report.runs[0].outcomes


def test_there_are_several_shipped_bundles():
    assert len(list(CASES.glob("*.json"))) >= 5


def small_bundle(**overrides):
    bundle = {"title": "t", "destination": {"Config": {"token": "tok"}}, "now": NOW,
              "events": [{"type": "identify", "userId": "u1", "anonymousId": "a1", "timestamp": "2024-03-01T00:00:00Z",
                          "context": {"traits": {"firstName": "Ada"}}}],
              "expect": [{"profile": "u1", "property": "$first_name", "equals": "Ada"}]}
    bundle.update(overrides)
    return bundle


def test_unmet_expectation_is_reported_with_the_actual_value():
    report = repro(small_bundle())
    assert not report.ok
    assert "NOT MET profile u1 has $first_name = \"Ada\" (actual: null)" in report.text()
    with pytest.raises(AssertionError, match="0 of 1 expectations met"):
        assert_bundle(small_bundle())
    assert "✘" in report._repr_html_()


def test_fix_config_is_applied():
    report = repro(small_bundle(expect=[{"profile": "u1", "property": "$firstName", "equals": "Ada"}],
                                fix={"config": {"useNewMapping": True},
                                     "expect": [{"profile": "u1", "property": "$first_name", "equals": "Ada"}]}))
    assert report.ok and [r.label for r in report.runs] == ["as reported", "with the fix"]


@pytest.mark.parametrize("expectation,met", [
    ({"same_user": ["a1", "u1"]}, True),
    ({"different_users": ["a1", "u1"]}, False),
    ({"profile": "u1", "exists": True}, True),
    ({"events": 1, "event": "$merge"}, True),
    ({"no_refused_merges": True}, True),
    ({"no_transform_errors": True}, True),
    ({"finding": "near-miss-name"}, True),
])
def test_expectation_kinds(expectation, met):
    report = repro(small_bundle(expect=[expectation]))
    assert report.runs[0].outcomes[0].met is met


def test_bad_bundles_name_the_problem(tmp_path):
    with pytest.raises(BundleError, match="unknown expectation"):
        repro(small_bundle(expect=[{"colour": "blue"}]))
    with pytest.raises(BundleError, match="is incomplete"):
        repro(small_bundle(expect=[{"profile": "u1"}]))
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(BundleError, match="needs 'events'"):
        repro(bad)


def test_cli_repro(tmp_path, capsys):
    assert main(["repro", *map(str, sorted(CASES.glob("*.json")))]) == 0
    assert "SUP-1042 First and last names are empty on profiles" in capsys.readouterr().out
    failing = tmp_path / "failing.json"
    failing.write_text(json.dumps(small_bundle()))
    assert main(["repro", str(failing)]) == 1


@pytest.mark.parametrize("expectation,met", [
    ({"explain": ["a1", "u1"], "contains": "one user"}, True),
    ({"explain": ["a1", "u1"], "contains": "different users"}, False),
    ({"explain": "u1", "contains": "belongs to the user shown as 'u1'"}, True),
    ({"explain_profile": "u1", "property": "$firstName", "contains": "$set \"Ada\": set"}, True),
    ({"explain_profile": "u1", "property": "$first_name", "contains": "$set \"Ada\": set"}, False),
    ({"dropped": "another data residency", "count": 0}, True),
    ({"dropped": "another data residency"}, False),
])
def test_explanation_and_dropped_expectations(expectation, met):
    report = repro(small_bundle(expect=[expectation]))
    assert report.runs[0].outcomes[0].met is met


def test_dropped_expectation_counts_records_of_another_residency():
    report = repro(small_bundle(project={"token": "tok", "residency": "eu"},
                                expect=[{"dropped": "another data residency", "count": 2}]))
    assert report.ok, report.text()


#: the seven ticket classes of issue 8, each reproduced as reported and with its fix
TICKETS = ["simplified-project-original-destination", "names-land-as-firstName", "revenue-sent-as-total",
           "group-key-not-declared", "eu-project-data-vanishes", "old-events-dropped-by-rudderstack",
           "family-tablet-merges-two-people"]


@pytest.mark.parametrize("name", TICKETS)
def test_ticket_bundles_name_the_cause_and_prove_the_fix(name):
    bundle = json.loads((CASES / f"{name}.json").read_text())
    assert "project" in bundle and bundle["fix"]["expect"]
    report = assert_bundle(bundle)
    assert [run.label.split(" (")[0] for run in report.runs] == ["as reported", "with the fix"]
    named = [o for o in report.runs[0].outcomes if o.met and ({"finding", "explain", "explain_profile"} & o.expectation.keys())]
    assert named, "the cause must be named by a finding or an explanation"
    # the finding or explanation that names the cause contains the setting to change
    settings = ("identityMergeApi", "useNewMapping", "properties.revenue", "Project Settings → Group Keys",
                "dataResidency", "/import", "rudderanalytics.reset()")
    texts = [f"{f.message} {f.fix}" for f in report.runs[0].replay.findings] + \
        [str(o.actual) for o in report.runs[0].outcomes]
    assert any(s in t for s in settings for t in texts)
