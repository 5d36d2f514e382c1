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
