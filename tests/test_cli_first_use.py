"""What a new user meets first on the command line: hints that can be run as printed, diffs of
`mpsim transform` outputs of different lengths, missing optional dependencies as one line, and bundle
reports that read as text."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from mpsim.bundles import load_bundle, repro
from mpsim.cli import main

ROOT = Path(__file__).resolve().parents[1]
LOG = ROOT / "fixtures" / "logs" / "b2b-groups.jsonl"
CONFIG = ROOT / "fixtures" / "configs" / "b2b-groups-and-profile-ops.json"
EVENT = ROOT / "fixtures" / "events" / "web-identify-signup.json"
NOW = "2024-03-02T00:00:00Z"


def hint_command(out: str) -> list[str]:
    """The `mpsim validate …` command inside the "(… --verbose lists each finding …)" hint, as argv."""
    line = next(line for line in out.splitlines() if "--verbose lists each finding" in line)
    words = shlex.split(line.strip().lstrip("(").split(" --verbose lists")[0])
    assert words[:2] == ["mpsim", "validate"], line
    return words[1:]


def project_file(tmp_path: Path) -> str:
    path = tmp_path / "project.json"
    path.write_text(json.dumps({"token": "fixture-token", "identity_merge": "simplified"}))
    return str(path)


def test_validate_hint_repeats_config_and_project_so_it_gives_the_same_findings(tmp_path, capsys):
    project = project_file(tmp_path)
    assert main(["validate", str(LOG), "--config", str(CONFIG), "--project", project]) == 1
    out = capsys.readouterr().out
    command = hint_command(out)
    assert command[command.index("--config") + 1] == str(CONFIG)
    assert command[command.index("--project") + 1] == project
    assert main([*command, "--verbose"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == out.splitlines()[0]  # the same counts, rule by rule


def test_simulate_hint_names_the_project_too(tmp_path, capsys):
    project = project_file(tmp_path)
    assert main(["simulate", str(LOG), "--config", str(CONFIG), "--project", project, "--now", NOW]) == 0
    command = hint_command(capsys.readouterr().out)
    assert command[command.index("--project") + 1] == project
    assert command[command.index("--now") + 1] == "2024-03-02T00:00:00Z"  # the ISO form the user can read, not epoch ms
    assert main([*command, "--verbose"]) == 1
    assert "identity-merge-mismatch" in capsys.readouterr().out


def test_diff_of_transform_outputs_with_one_and_two_requests_compares_the_lists(tmp_path, capsys):
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    simplified = tmp_path / "simplified.json"
    simplified.write_text(json.dumps({"token": "T", "identityMergeApi": "simplified"}))
    original = tmp_path / "original.json"
    original.write_text(json.dumps({"token": "T"}))
    for config, target in ((original, two), (simplified, one)):
        assert main(["transform", str(EVENT), "--config", str(config), "--now", NOW]) == 0
        target.write_text(capsys.readouterr().out)
    assert len(json.loads(one.read_text())) == 1 and len(json.loads(two.read_text())) == 2
    assert main(["diff", str(two), str(one)]) == 1
    out = capsys.readouterr().out
    assert "type-changed" not in out.splitlines()[0], out  # not "a list became an object" at the root
    assert "\n[1]: removed" in out


def test_a_missing_optional_dependency_is_one_line_not_a_bug(monkeypatch, capsys):
    import mpsim.mixpanel.tls as tls

    def no_trustme():
        raise ImportError("serve(tls=True) needs trustme: pip install 'mpsim[tls]'")

    monkeypatch.setattr(tls, "_trustme", no_trustme)
    assert main(["serve", "--tls", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err == "mpsim: error: serve(tls=True) needs trustme: pip install 'mpsim[tls]'\n"


def test_repro_report_shows_non_ascii_text_as_written():
    report = repro(load_bundle(ROOT / "fixtures" / "cases" / "group-key-not-declared.json"))
    text = report.text()
    assert "Project Settings → Group Keys" in text
    assert "\\u2192" not in text and "\\u2192" not in report._repr_html_()


def test_five_year_finding_on_a_numeric_timestamp_says_how_it_was_read():
    import mpsim

    event = {"type": "track", "event": "Legacy Import", "userId": "u1", "timestamp": 1709280000}
    finding = mpsim.validate(event, now=NOW).by_rule("rudderstack-five-years")[0]
    assert "reads as milliseconds: 1970-01-20T18:48:00Z (epoch seconds?" in finding.message
    iso = {**event, "timestamp": "2018-03-01T00:00:00Z"}
    assert "'2018-03-01T00:00:00Z' is more than 5 years old" in mpsim.validate(iso, now=NOW).by_rule(
        "rudderstack-five-years")[0].message
