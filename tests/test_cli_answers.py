"""The CLI leads with the answer (issue 9 items 4, 6, 7): grouped findings, the replay's story first,
capped tables, decoded records, diffs of outputs and saved states, and one-line errors."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mpsim
from mpsim import wording as cli_text
from mpsim.cli import main
from mpsim.replay import read_events

ROOT = Path(__file__).resolve().parents[1]
LOG = ROOT / "fixtures" / "logs" / "web-shop-original.jsonl"
CONFIG = ROOT / "fixtures" / "configs" / "us-original-defaults.json"
NOW = "2024-03-02T00:00:00Z"


def event(n: int, **extra) -> dict:
    return {"type": "track", "event": f"E{n}", "userId": f"u{n % 3}", "anonymousId": f"a{n}", "messageId": f"m{n}",
            "timestamp": "2024-03-01T00:00:00Z", **extra}


def write_lines(path: Path, items: list) -> str:
    path.write_text("".join(json.dumps(x) + "\n" for x in items))
    return str(path)


# ---------------------------------------------------------------------- validate
def test_validate_groups_by_rule_errors_first_with_line_numbers(capsys):
    assert main(["validate", str(LOG)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "258 records checked: 8 errors (2 rules), 74 warnings (3 rules), no notes"
    rule_lines = [line for line in out if line.startswith(("ERROR", "WARNING", "INFO"))]
    assert [line.split()[1] for line in rule_lines] == [
        "rudderstack-placeholder-id", "rudderstack-five-years", "near-miss-name", "case-slip", "transactions-amount"]
    assert "×5" in rule_lines[0] and "lines 251-255" in rule_lines[0] and 'userId "null"' in rule_lines[0]
    assert "(+27 more)" in rule_lines[2]  # record numbers are capped, the rule is one line
    assert len(rule_lines) == 5 and not any("fix:" in line for line in out)
    assert out[-1].startswith("Exit 1: 8 errors")


def test_validate_verbose_lists_each_finding_and_the_fix_under_its_rule(capsys):
    assert main(["validate", str(LOG), "--verbose", "--limit", "2"]) == 1
    out = capsys.readouterr().out
    assert "line 251, at $[250].userId: userId \"null\"" in out
    assert "… 3 more findings of this rule" in out
    assert "fix: Leave the id out until the real one is known." in out
    assert out.count("fix: Leave the id out") == 1


def test_validate_one_error_reads_in_the_singular(tmp_path, capsys):
    path = write_lines(tmp_path / "one.jsonl", [{"event": "E", "properties": {"distinct_id": "null", "time": 1709337000,
                                                                             "$insert_id": "a"}}])
    assert main(["validate", path, "--now", NOW]) == 1
    out = capsys.readouterr().out
    assert out.startswith("1 record checked: 1 error (1 rule), no warnings, no notes")
    assert "ERROR   placeholder-id  ×1   line 1 — " in out
    assert "Exit 1: 1 error —" in out


# ---------------------------------------------------------------------- simulate
def test_simulate_tells_the_story_before_the_tables(tmp_path, capsys):
    events = [event(n) for n in range(30)] + [{"type": "Track", "event": "bad"}]
    path = write_lines(tmp_path / "log.jsonl", events)
    assert main(["simulate", path, "--config", str(CONFIG), "--now", NOW, "--events", "4"]) == 0
    out = capsys.readouterr().out
    order = [out.index(s) for s in ("31 RudderStack events → 30 Mixpanel requests. Mixpanel now holds 30 events, 3 users",
                                    "\nUsers (3)", "\nDropped (1 record)", "\nFindings:", "\nEvents (30, the first 2 and last 2)")]
    assert order == sorted(order)
    assert "event 31 (Track bad): RudderStack refused it: Event type 'Track' is not supported" in out
    table = out[out.index("\nEvents (30"):].splitlines()
    assert "  … 26 more rows …" in table
    assert sum(1 for line in table if " E" in line and "+00:00" in line) == 4


def test_simulate_events_0_prints_no_tables(tmp_path, capsys):
    path = write_lines(tmp_path / "log.jsonl", [event(1)])
    assert main(["simulate", path, "--config", str(CONFIG), "--now", NOW, "--events", "0"]) == 0
    out = capsys.readouterr().out
    assert "1 RudderStack event → 1 Mixpanel request. Mixpanel now holds 1 event, 1 user" in out
    assert "\nEvents" not in out and "time" not in out


def test_simulate_lists_records_mixpanel_rejected_or_discarded(tmp_path, capsys):
    path = write_lines(tmp_path / "log.jsonl", [event(1, properties={"x": 1}), event(2)])
    project = tmp_path / "project.json"
    project.write_text(json.dumps({"token": "another-token"}))
    assert main(["simulate", path, "--config", str(CONFIG), "--project", str(project), "--now", NOW]) == 0
    out = capsys.readouterr().out
    assert "Dropped (2 records)" in out
    assert "event 1 (track E1) → /import: " in out


def test_simulate_save_resume_and_diff_two_saved_states(tmp_path, capsys):
    first = write_lines(tmp_path / "first.jsonl", [event(1), event(2)])
    second = write_lines(tmp_path / "second.jsonl", [event(3, properties={"plan": "pro"})])
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["simulate", first, "--config", str(CONFIG), "--now", NOW, "--save", str(a)]) == 0
    assert f"Saved the state to {a}" in capsys.readouterr().out
    assert main(["simulate", second, "--config", str(CONFIG), "--now", NOW, "--resume", str(a), "--save", str(b)]) == 0
    out = capsys.readouterr().out
    assert "Mixpanel now holds 3 events" in out
    resumed = mpsim.load_snapshot(b)
    whole = mpsim.replay([event(1), event(2), event(3, properties={"plan": "pro"})], json.loads(CONFIG.read_text()),
                         now=NOW)
    assert len(resumed.events) == len(whole.sim.events) == 3
    assert resumed.clusters() == whole.sim.clusters()
    assert main(["diff", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("2 differences: 2 added")
    assert "identity u0: $: added" in out and "event E3 [m3]: $: added" in out
    assert main(["diff", str(a), str(a)]) == 0
    assert capsys.readouterr().out.strip() == "No differences."


# ---------------------------------------------------------------------- transform and diff
def test_transform_reads_json_lines_and_prints_records_per_endpoint(tmp_path, capsys):
    identify = {"type": "identify", "userId": "u1", "anonymousId": "a1", "messageId": "m9",
                "timestamp": "2024-03-01T00:00:00Z", "traits": {"plan": "pro"}}
    path = write_lines(tmp_path / "log.jsonl", [event(1), identify, {"type": "Track"}])
    assert main(["transform", path, "--config", str(CONFIG), "--now", NOW, "--records"]) == 1
    out = capsys.readouterr().out
    blocks = [line for line in out.splitlines() if line.startswith("POST ")]
    assert blocks == ["POST https://api.mixpanel.com/import/?strict=0 — 2 records from events 1-2",
                      "POST https://api.mixpanel.com/engage/?verbose=2 — 1 record from event 2"]
    assert '"$set": {' in out and '"event": "E1"' in out  # decoded, not an escaped string
    assert "event 3 (Track): RudderStack refuses it: Event type 'Track' is not supported" in out
    assert main(["transform", path, "--config", str(CONFIG), "--now", NOW]) == 1
    output = json.loads(capsys.readouterr().out)
    assert len(output) == 4 and output[-1]["error"] == "Event type 'Track' is not supported"


def test_diff_of_two_transform_outputs_names_the_changed_properties(tmp_path, capsys):
    path = write_lines(tmp_path / "e.jsonl", [{"type": "identify", "userId": "u1", "messageId": "m1",
                                               "timestamp": "2024-03-01T00:00:00Z", "traits": {"firstName": "Ada"}}])
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    new_config = tmp_path / "new-config.json"
    new_config.write_text(json.dumps({"Config": {**json.loads(CONFIG.read_text())["Config"], "useNewMapping": True}}))
    for config, target in ((CONFIG, old), (new_config, new)):
        assert main(["transform", path, "--config", str(config), "--now", NOW]) == 0
        target.write_text(capsys.readouterr().out)
    assert main(["diff", str(old), str(new)]) == 1
    out = capsys.readouterr().out
    assert "body.JSON_ARRAY.batch[0].$set.$firstName: removed \"Ada\"" in out
    assert "body.JSON_ARRAY.batch[0].$set.$first_name: added \"Ada\"" in out


def test_library_diff_decodes_batch_strings():
    a = mpsim.transform({"type": "track", "event": "E", "userId": "u", "properties": {"x": 1}}, {"token": "t"}, now=NOW)
    b = mpsim.transform({"type": "track", "event": "E", "userId": "u", "properties": {"x": 2}}, {"token": "t"}, now=NOW)
    changes = mpsim.diff([r.to_rudder() for r in a], [r.to_rudder() for r in b])
    assert [(c.path, c.before, c.after) for c in changes if c.path.endswith(".x")] == [
        ("[0].body.JSON_ARRAY.batch[0].properties.x", 1, 2)]


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"mpsim {mpsim.__version__}"


def test_numeric_now_on_the_command_line(tmp_path, capsys):
    path = write_lines(tmp_path / "e.jsonl", [event(1)])
    for now in ("1709337600", "1709337600000", NOW):
        assert main(["transform", path, "--config", str(CONFIG), "--now", now, "--records"]) == 0
        assert '"time": 1709251200000' in capsys.readouterr().out


# ---------------------------------------------------------------------- one-line errors
def _bundle(**extra) -> dict:
    return {"title": "t", "destination": {"Config": {"token": "t"}}, "events": [{"type": "identify", "userId": "u1"}],
            "expect": [{"profile": "u1", "property": "x", "equals": 1}], **extra}


BAD_INPUTS = {
    "binary": (["validate", "{f}"], lambda p: p.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" * 20), "is a binary file"),
    "utf16-no-bom": (["transform", "{f}"], lambda p: p.write_bytes('{"type": "track"}'.encode("utf-16-le")),
                     "UTF-16 text without a byte-order mark"),
    "latin1": (["validate", "{f}"], lambda p: p.write_bytes('{"name": "Zoë"}'.encode("latin-1")), "is not UTF-8 text"),
    "non-object": (["simulate", "{f}"], lambda p: p.write_text('{"type": "track"}\n42\n'),
                   "line 2: a number, not an event object"),
    "list-in-list": (["transform", "{f}"], lambda p: p.write_text('[[{"type": "track"}]]'), "item 1: a list inside"),
    "trailing-comma": (["transform", "{f}"], lambda p: p.write_text('{\n  "type": "track",\n  "event": "E",\n}\n'),
                       "a trailing comma before '}' on line 3"),
    "trailing-comma-array": (["simulate", "{f}"], lambda p: p.write_text('[{"type": "track"},]'),
                             "a trailing comma before ']' on line 1"),
    "json-lines": (["simulate", "{f}"], lambda p: p.write_text('{"type": "track"}\n{"type": "track",}\n'),
                   "line 2: not valid JSON: a trailing comma"),
    "two-objects": (["transform", "{f}"], lambda p: p.write_text('{"type": "track"} {"type": "identify"}'),
                    "more than one JSON value"),
    "mixpanel-record": (["simulate", "{f}"], lambda p: p.write_text(
        '{"event": "E", "properties": {"distinct_id": "u", "token": "t"}}'),
        "this looks like a Mixpanel /track record: use `mpsim validate --endpoint track` or `Simulator`"),
    "profile-record": (["transform", "{f}"], lambda p: p.write_text('{"$distinct_id": "u", "$set": {"a": 1}}'),
                       "Mixpanel /engage profile record"),
    "config-not-object": (["transform", "{f}", "--config", "{f}"], lambda p: p.write_text("[]"),
                          "must hold one JSON object"),
    "bad-now": (["transform", "{f}", "--now", "yesterday"], lambda p: p.write_text("{}"), "argument --now: 'yesterday'"),
    "port-range": (["serve", "--port", "70000"], None, "argument --port: 70000 is out of range"),
    "unknown-host": (["serve", "--host", "no-such-host.invalid", "--port", "0", "--token", "t"], None, "unknown host"),
    "bundle-now": (["repro", "{f}"], lambda p: p.write_text(json.dumps(_bundle(now="soon"))), "'now' must be"),
    "bundle-fix-config": (["repro", "{f}"], lambda p: p.write_text(json.dumps(_bundle(fix={"config": 5}))),
                          "'fix.config' must be an object"),
    "bundle-mixpanel": (["repro", "{f}"], lambda p: p.write_text(json.dumps(_bundle(events=[{"mixpanel": 5}]))),
                        "'events[0].mixpanel' must be an object"),
    "saved-vs-payload": (["diff", "{f}", "{f}.other"], lambda p: (p.write_text('{"mpsim_state": 1}'),
                                                                 Path(f"{p}.other").write_text("{}")),
                         "is a saved state and"),
    "unknown-command": (["frob"], None, "invalid choice: 'frob'"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_every_cli_error_is_one_line_with_exit_2(case, tmp_path, capsys):
    argv, make, expected = BAD_INPUTS[case]
    path = tmp_path / "input.json"
    if make:
        make(path)
    try:
        code = main([a.replace("{f}", str(path)) for a in argv])
    except SystemExit as exc:  # argparse errors
        code = exc.code
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert code == 2, captured
    assert len(lines) == 1 and lines[0].startswith("mpsim: error: "), captured.err
    assert expected in lines[0]
    assert "Traceback" not in captured.err + captured.out


def test_port_in_use_is_one_line(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == f"mpsim: error: port {port} on 127.0.0.1 is in use: pick another with --port, or --port 0 for a free one"


def test_utf16_and_utf8_bom_files_are_read(tmp_path, capsys):
    for name, data in (("le.json", '{"type": "track", "event": "E", "userId": "u"}'.encode("utf-16")),
                       ("bom.json", b"\xef\xbb\xbf" + b'{"type": "track", "event": "E", "userId": "u"}')):
        path = tmp_path / name
        path.write_bytes(data)
        assert main(["transform", str(path), "--config", str(CONFIG), "--now", NOW, "--records"]) == 0
        assert '"event": "E"' in capsys.readouterr().out


# ---------------------------------------------------------------------- the Python API names the right call
def test_transform_of_a_list_names_transform_batch_and_replay():
    with pytest.raises(mpsim.InstrumentationError, match=r"list of 2 events, not one event: use `transform_batch` or "
                                                         r"`replay`") as info:
        mpsim.transform([event(1), event(2)], {"token": "t"})
    assert info.value.message == "message must be a JSON object, not list"


@pytest.mark.parametrize(("record", "expected"), [
    ({"event": "E", "properties": {"distinct_id": "u", "token": "t"}}, "a Mixpanel /track record"),
    ({"$token": "t", "$distinct_id": "u", "$set": {"a": 1}}, "a Mixpanel /engage profile record"),
    ({"$token": "t", "$group_key": "company", "$group_id": "c", "$set": {}}, "a Mixpanel /groups record"),
    ({"message": {"type": "track"}, "destination": {}, "metadata": {}}, "use `transform_batch`"),
    ({"mpsim_state": 1}, "a saved mpsim state"),
])
def test_transform_of_a_mixpanel_record_names_the_right_call(record, expected):
    with pytest.raises(mpsim.InstrumentationError) as info:
        mpsim.transform(record, {"token": "t"})
    assert expected in str(info.value)
    # RudderStack's own message and output stay exactly RudderStack's
    assert info.value.message == "Event type is required"
    assert info.value.to_rudder()["error"] == "Event type is required"


def test_a_rudderstack_event_without_type_gets_no_wrong_hint():
    with pytest.raises(mpsim.InstrumentationError) as info:
        mpsim.transform({"userId": "u", "event": "E"}, {"token": "t"})
    assert str(info.value) == "Event type is required" and info.value.hint is None


# ---------------------------------------------------------------------- wording
def test_plurals_and_articles():
    assert cli_text.count(1, "event") == "1 event" and cli_text.count(2, "event") == "2 events"
    assert cli_text.count(1, "group profile") == "1 group profile" and cli_text.count(0, "user profile") == "0 user profiles"
    assert cli_text.count(3, "entry") == "3 entries" and cli_text.count(2, "match") == "2 matches"
    assert cli_text.count(0, "error", zero="no errors") == "no errors"
    assert cli_text.article("error") == "an error" and cli_text.article("warning") == "a warning"
    assert cli_text.article("original ID-merge Mixpanel") == "an original ID-merge Mixpanel"
    assert cli_text.article("simplified ID-merge Mixpanel") == "a simplified ID-merge Mixpanel"
    assert cli_text.ranges([5, 1, 2, 3, 9, 10]) == "1-3, 5, 9-10"


@settings(max_examples=80, deadline=None)
@given(st.sets(st.integers(1, 300), max_size=40), st.integers(1, 10))
def test_ranges_cover_exactly_the_numbers(numbers, limit):
    text = cli_text.ranges(numbers, limit)
    shown, _, more = text.partition(" (+")
    covered = set()
    for part in filter(None, shown.split(", ")):
        a, _, b = part.partition("-")
        covered |= set(range(int(a), int(b or a) + 1))
    hidden = int(more.split()[0]) if more else 0
    assert covered <= numbers and len(covered) + hidden == len(numbers)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                           lambda inner: st.lists(inner, min_size=1, max_size=3)
                           | st.dictionaries(st.text(max_size=5), inner, min_size=1, max_size=3), max_leaves=8)


@settings(max_examples=80, deadline=None)
@given(obj=st.dictionaries(st.text(max_size=6), json_values, min_size=1, max_size=4), pretty=st.booleans())
def test_a_trailing_comma_is_named_wherever_it_is(tmp_path_factory, obj, pretty):
    text = json.dumps(obj, indent=2 if pretty else None)
    broken = text[:-1].rstrip() + ",\n}" if pretty else text[:-1] + ",}"
    path = tmp_path_factory.mktemp("trailing") / "e.json"
    path.write_text(broken)
    with pytest.raises(mpsim.MpsimError, match="a trailing comma before '}' on line"):
        list(read_events(path))
