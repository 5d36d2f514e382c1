"""The Mixpanel project apart from the RudderStack destination: API, CLI and bundles."""

from __future__ import annotations

import json

import pytest

import mpsim
from mpsim.bundles import BundleError, repro
from mpsim.cli import main
from mpsim.project import ProjectError, resolve_project

NOW = "2024-03-02T00:00:00Z"
ANON = "4f7c2a9e-1b3d-4e5f-8a6b-7c8d9e0f1a2b"
DEVICE_EVENTS = [
    {"type": "track", "event": "Viewed", "anonymousId": ANON, "messageId": "m1", "timestamp": "2024-03-01T09:00:00Z"},
    {"type": "identify", "userId": "ada", "anonymousId": ANON, "messageId": "m2", "timestamp": "2024-03-01T09:01:00Z",
     "context": {"traits": {"email": "ada@example.com"}}},
    {"type": "track", "event": "Bought", "userId": "ada", "anonymousId": ANON, "messageId": "m3",
     "timestamp": "2024-03-01T09:02:00Z"},
]
DESTINATION = {"token": "tok"}


def test_replay_without_project_assumes_the_destination_and_says_so():
    result = mpsim.replay(DEVICE_EVENTS, {**DESTINATION, "dataResidency": "eu"}, now=NOW)
    assert result.project.assumed
    assert result.sim.residency == "eu" and result.sim.token == "tok"
    assert "project settings assumed from the destination: original ID merge, EU" in str(result)
    assert "project settings assumed from the destination" in result._repr_html_()


def test_replay_with_a_project_uses_it_not_the_destination():
    # RudderStack sends Original-style $merge; the project is Simplified and ignores it
    result = mpsim.replay(DEVICE_EVENTS, DESTINATION, project={"token": "tok", "identity_merge": "simplified"}, now=NOW)
    assert result.sim.identity_merge == "simplified" and not result.project.assumed
    assert "assumed" not in str(result)
    assert result.sim.canonical(ANON) == ANON  # never joined to ada
    original = mpsim.replay(DEVICE_EVENTS, DESTINATION, now=NOW)
    assert original.sim.canonical(ANON) == "ada"


def test_replay_into_a_given_simulator_project():
    sim = mpsim.Simulator(token="tok", identity_merge="simplified", now=NOW)
    result = mpsim.replay(DEVICE_EVENTS, DESTINATION, project=sim, now=NOW)
    assert result.sim is sim and list(sim.events["event"]) == ["Viewed", "$merge", "Bought"]
    with pytest.raises(ProjectError, match="not both"):
        mpsim.replay(DEVICE_EVENTS, DESTINATION, project={"token": "tok"}, sim=sim)


@pytest.mark.parametrize("project,message", [
    ({"identityMerge": "simplified"}, r"unknown setting 'identityMerge' \(did you mean 'identity_merge'\?\); allowed: token, "),
    ({"Token": "x"}, r"did you mean 'token'"),
    ({"colour": 1}, r"unknown setting 'colour'; allowed: token, identity_merge"),
    ({"identity_merge": "Simplified"}, r"identity_merge must be"),
    ({"residency": "EU"}, r"residency must be"),
    ({"group_keys": "company"}, r"group_keys must be a list"),
    ("simplified", r"must be a dict of Simulator settings"),
])
def test_bad_project_is_a_clear_error(project, message):
    with pytest.raises(ProjectError, match=message):
        mpsim.replay(DEVICE_EVENTS, DESTINATION, project=project)


def test_project_takes_every_simulator_setting():
    project = {"token": "tok", "identity_merge": "legacy", "api_secret": "s", "service_accounts": {"u": "p"},
               "project_id": 7, "residency": "in", "group_keys": ["company"], "anon_id_policy": "any",
               "geo": {"1.2.3.4": {"city": "X"}}}
    sim = resolve_project(project).simulator(NOW)
    assert (sim.identity_merge, sim.residency, sim.api_secret, sim.project_id, sim.declared_group_keys) == \
        ("legacy", "in", "s", "7", ["company"])
    assert resolve_project(sim).settings["residency"] == "in"


def test_compare_configs_against_one_project():
    simplified = {**DESTINATION, "identityMergeApi": "simplified"}
    shared = mpsim.compare_configs(DEVICE_EVENTS, DESTINATION, simplified, project={"identity_merge": "original"},
                                   now=NOW)
    assert shared.a.sim.identity_merge == shared.b.sim.identity_merge == "original" and not shared.notes
    assumed = mpsim.compare_configs(DEVICE_EVENTS, DESTINATION, simplified, now=NOW)
    assert assumed.b.sim.identity_merge == "simplified"
    assert assumed.notes == ["config A: project settings assumed from the destination: original ID merge, US",
                             "config B: project settings assumed from the destination: simplified ID merge, US"]
    assert "config B: project settings assumed" in assumed.to_text() and "config A" in assumed._repr_html_()


def test_validate_notes_an_assumed_project():
    assumed = mpsim.validate(DEVICE_EVENTS, config=DESTINATION, now=NOW)
    assert assumed.notes == ["project settings assumed from the destination: original ID merge, US"]
    assert str(assumed).endswith("original ID merge, US")
    given = mpsim.validate(DEVICE_EVENTS, config=DESTINATION, now=NOW, project={"token": "tok"})
    assert given.notes == []
    assert mpsim.validate(DEVICE_EVENTS, now=NOW).notes == []  # nothing to assume from


def test_replay_findings_are_worked_out_against_the_project():
    result = mpsim.replay(DEVICE_EVENTS, DESTINATION, now=NOW)
    assert result.findings.notes == [result.project.note]


# --------------------------------------------------------------------------- CLI
def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(path)


def test_cli_simulate_with_project_file(tmp_path, capsys):
    events = _write(tmp_path, "events.json", DEVICE_EVENTS)
    config = _write(tmp_path, "dest.json", DESTINATION)
    project = _write(tmp_path, "project.json", {"token": "tok", "identity_merge": "simplified"})
    assert main(["simulate", events, "--config", config, "--project", project, "--now", NOW]) == 0
    out = capsys.readouterr().out
    assert "simplified ID merge" in out and "assumed" not in out
    assert main(["simulate", events, "--config", config, "--now", NOW]) == 0
    assert "project settings assumed from the destination: original ID merge, US" in capsys.readouterr().out


def test_cli_identity_merge_is_the_project_setting(tmp_path, capsys):
    events = _write(tmp_path, "events.json", DEVICE_EVENTS)
    config = _write(tmp_path, "dest.json", DESTINATION)
    assert main(["simulate", events, "--config", config, "--identity-merge", "simplified", "--now", NOW]) == 0
    out = capsys.readouterr().out
    # the project is Simplified; the destination still sends Original-style requests ($merge)
    assert "simplified ID merge" in out and "$merge" in out


def test_cli_validate_and_repro_take_a_project(tmp_path, capsys):
    events = _write(tmp_path, "events.json", DEVICE_EVENTS)
    config = _write(tmp_path, "dest.json", DESTINATION)
    project = _write(tmp_path, "project.json", {"token": "tok"})
    main(["validate", events, "--config", config, "--project", project, "--now", NOW])
    assert "assumed" not in capsys.readouterr().out
    bad = _write(tmp_path, "bad.json", {"tokn": "tok"})
    assert main(["validate", events, "--config", config, "--project", bad, "--now", NOW]) == 2
    assert "unknown setting 'tokn' (did you mean 'token'?)" in capsys.readouterr().err
    bundle = _write(tmp_path, "bundle.json", {
        "title": "t", "destination": {"Config": DESTINATION}, "now": NOW, "events": DEVICE_EVENTS,
        "expect": [{"same_user": [ANON, "ada"]}]})
    assert main(["repro", bundle]) == 0
    simplified = _write(tmp_path, "simplified.json", {"token": "tok", "identity_merge": "simplified"})
    assert main(["repro", bundle, "--project", simplified]) == 1
    assert "NOT MET" in capsys.readouterr().out


# --------------------------------------------------------------------------- bundles
def bundle(**overrides):
    data = {"title": "t", "destination": {"Config": DESTINATION}, "now": NOW, "events": DEVICE_EVENTS,
            "expect": [{"same_user": [ANON, "ada"]}]}
    data.update(overrides)
    return data


def test_bundle_project_block_is_used_by_replay_and_validation():
    report = repro(bundle(project={"token": "tok", "identity_merge": "simplified", "residency": "us"},
                          expect=[{"different_users": [ANON, "ada"]}]))
    assert report.ok
    run = report.runs[0].replay
    assert run.sim.identity_merge == "simplified" and run.findings.notes == []
    assumed = repro(bundle()).runs[0].replay
    assert assumed.project.assumed and assumed.findings.notes == [assumed.project.note]


def test_bundle_fix_project_overrides_the_block():
    report = repro(bundle(project={"identity_merge": "simplified"}, expect=[{"different_users": [ANON, "ada"]}],
                          fix={"project": {"identity_merge": "original"}, "expect": [{"same_user": [ANON, "ada"]}]}))
    assert report.ok and report.runs[1].replay.sim.identity_merge == "original"


@pytest.mark.parametrize("overrides,message", [
    ({"projcet": {}}, r"unknown key 'projcet' \(did you mean 'project'\?\); allowed: title, ticket"),
    ({"project": {"identityMerge": "simplified"}}, r"bundle 'project' has an unknown setting 'identityMerge'"),
    ({"fix": {"config": {}, "expected": []}}, r"'fix' has an unknown key 'expected' \(did you mean 'expect'\?\)"),
    ({"fix": {"project": {"resideny": "eu"}, "expect": []}}, r"'fix.project' has an unknown setting 'resideny'"),
    ({"expect": [{"profile": "u", "property": "p", "equal": 1}]}, r"unknown key 'equal' \(did you mean 'equals'\?\)"),
    ({"expect": [{"colour": "blue"}]}, r"unknown expectation"),
])
def test_unknown_keys_anywhere_in_a_bundle(overrides, message):
    with pytest.raises(BundleError, match=message):
        repro(bundle(**overrides))


def test_compare_configs_copies_a_simulator_project_for_both_sides():
    project = mpsim.Simulator(token="tok", identity_merge="simplified", residency="us", group_keys=["company"])
    result = mpsim.compare_configs(DEVICE_EVENTS, DESTINATION, {**DESTINATION, "useNewMapping": True}, project=project,
                                   now=NOW)
    assert result.a.sim is not project and result.b.sim is not project and not result.notes
    assert result.a.sim.settings["group_keys"] == result.b.sim.settings["group_keys"] == ["company"]
    assert len(project.events) == 0  # the given simulator is a description here, not a target


def test_the_clock_is_not_a_project_setting():
    with pytest.raises(ProjectError, match="'now' is not a project setting"):
        resolve_project({"now": NOW})
