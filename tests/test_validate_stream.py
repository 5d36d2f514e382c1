"""`mpsim validate` reads JSON Lines a line at a time: same findings, numbering and errors as a whole read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mpsim._files import read_records
from mpsim._lines import LineFile, index_lines
from mpsim.cli import main
from mpsim.errors import MpsimError

NOW = "2024-03-05T00:00:00Z"
BOM = b"\xef\xbb\xbf"


def _log(n: int) -> list[dict]:
    events = []
    for i in range(n):
        user = f"u{i // 4}"
        if i % 4 == 0:
            events.append({"type": "identify", "userId": user, "anonymousId": f"a{i // 8}",
                           "context": {"traits": {"firstName": "Ada", "$Email": "x"}}})
        elif i % 4 == 1:
            events.append({"event": "Signed Up", "properties": {"distinct_id": "null", "time": 1709337600}})
        elif i % 4 == 2:
            events.append({"$group_key": "company", "$group_id": "c1", "$set": {"name": "C"}})
        else:
            events.append({"type": "track", "event": "Buy", "anonymousId": f"a{i // 8}", "properties": {"total": 5}})
    return events


def _jsonl(events: list, *, blank_every: int = 0, newline: str = "\n") -> bytes:
    lines = []
    for i, event in enumerate(events):
        lines.append(json.dumps(event))
        if blank_every and i % blank_every == 0:
            lines.append("   ")
    return (newline.join(lines) + newline).encode()


def _validate(capsys, path: Path, *extra: str) -> tuple[int, str, str]:
    code = main(["validate", str(path), "--now", NOW, *extra])
    captured = capsys.readouterr()
    return code, captured.out.replace(str(path), "LOG"), captured.err


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_streamed_log_reads_exactly_like_the_same_log_read_whole(tmp_path, capsys, newline):
    data = _jsonl(_log(40), blank_every=7, newline=newline)
    streamed, whole = tmp_path / "log.jsonl", tmp_path / "bom.jsonl"
    streamed.write_bytes(data)
    whole.write_bytes(BOM + data)  # a byte-order mark: read whole, by read_records
    assert index_lines(str(streamed), "file") is not None and index_lines(str(whole), "file") is None
    for extra in ([], ["--verbose"], ["--group-keys", "other", "--verbose"],
                  ["--config", str(_write(tmp_path, "d.json", {"token": "t", "groupKeySettings": [{"groupKey": "org"}]}))]):
        first, second = _validate(capsys, streamed, *extra), _validate(capsys, whole, *extra)
        assert first[:2] == second[:2], extra
        assert first[0] == 1 and "lines 3, 7, 12, 16" in first[1]  # numbered by file line, blank lines counted


def test_group_keys_used_late_in_the_log_are_known_from_the_first_record(tmp_path, capsys):
    events = [{"event": "E", "properties": {"distinct_id": "u", "company": "c1", "time": 1709337600}}] * 3
    events.append({"$group_key": "company", "$group_id": "c1", "$set": {}})
    path = tmp_path / "log.jsonl"
    path.write_bytes(_jsonl(events))
    code, out, _ = _validate(capsys, path, "--group-keys", "team", "--verbose")
    assert "group-key-not-declared" in out and "lines 1-3" in out


def _write(tmp_path: Path, name: str, value) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(value))
    return path


@pytest.mark.parametrize("bad, message", [
    (b'{"type": "track", "event": "E", "userId": "u",}', "line 3: not valid JSON: a trailing comma"),
    (b'  {"type": ', "is not valid JSON"),
    (b'{"event": "caf\xe9"}', "is not UTF-8 text"),
])
def test_a_bad_line_in_a_streamed_log_gives_the_whole_read_message(tmp_path, capsys, bad, message):
    good = json.dumps({"type": "track", "event": "E", "userId": "u"}).encode()
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"\n".join([good, good, bad, good]) + b"\n")
    with pytest.raises(MpsimError) as whole:
        read_records(path, "file")
    assert message in str(whole.value)
    assert main(["validate", str(path), "--now", NOW]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mpsim: error: ") and message in err and "Traceback" not in err


def test_a_progress_bar_on_stderr_for_a_long_log_only(tmp_path, capsys):
    path = tmp_path / "log.jsonl"
    path.write_bytes(_jsonl(_log(600)))
    code, out, err = _validate(capsys, path)
    assert "validating" in err and "600/600" in err and "across records" in err
    assert "validating" not in out and out.startswith("600 records checked")
    path.write_bytes(_jsonl(_log(20)))
    assert _validate(capsys, path)[2] == ""


json_values = st.recursive(st.none() | st.booleans() | st.integers(-2**60, 2**60) | st.text(max_size=5),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                                          max_size=3), max_leaves=8)
indents = st.sampled_from([""] * 12 + [" ", "\t", "\u3000", "\u2028"])
ends = st.sampled_from(["\n"] * 12 + ["\r\n", "\n\n", "\n \n", "\n\u3000\n", "\r"])
cuts = st.sampled_from([None] * 20 + [-1, 1])  # now and then a line that is not JSON
layouts = st.lists(st.tuples(json_values, indents, ends, cuts), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layouts)
def test_line_files_match_read_records_or_step_aside(tmp_path, layout):
    """For any layout, the streamed reader gives read_records' values and line numbers, or leaves it the file."""
    text = "".join(indent + json.dumps(value, ensure_ascii=False)[:cut] + end for value, indent, end, cut in layout)
    path = tmp_path / "values.jsonl"
    path.write_bytes(text.encode())
    try:
        whole = read_records(path, "file")
    except MpsimError as exc:
        lines = index_lines(str(path), "file")
        if lines is not None:
            with pytest.raises(MpsimError) as streamed:
                list(lines)
            assert str(streamed.value) == str(exc)
        return
    lines = index_lines(str(path), "file")
    if lines is None:
        return
    assert isinstance(lines, LineFile)
    assert [item.where for item in whole] == [f"line {n}" for n in lines.numbers]
    assert [item.value for item in whole] == list(lines) == [lines[i] for i in range(len(lines))]


def test_lost_identify_traits_are_found_past_the_steps_a_replay_keeps_whole():
    """A long replay keeps only the outcome of clean steps past `keep`; their identify calls were not checked."""
    import mpsim

    events = [{"type": "identify", "userId": f"u{i}", "anonymousId": f"a{i}", "messageId": f"m{i}",
               "timestamp": "2024-03-01T00:00:00Z", "traits": {"plan": "pro"}} for i in range(12)]
    eu = {"token": "t", "dataResidency": "eu"}  # the US project's EU host answers 200 and keeps nothing
    run = mpsim.replay(events, eu, project={"token": "t", "residency": "us"}, now=NOW, keep=5)
    assert run.steps[11].ok and run.steps[11].requests == []  # kept its outcome only
    lost = run.findings.by_rule("identify-traits-lost")
    assert sorted(f.record for f in lost) == list(range(12))
    assert "another residency's host" in lost[-1].message
    again = mpsim.validate(events, config=eu, project={"token": "t", "residency": "us"}, now=NOW).by_rule(
        "identify-traits-lost")
    assert [f.to_dict() for f in again] == [f.to_dict() for f in lost]


def _never_sent_by_definition(items, config):
    """The rule as first written: every track/page/screen event held, each key looked for in all of them."""
    keys = [s["groupKey"] for s in config.get("groupKeySettings", [])]
    events = [e for e in items if isinstance(e, dict) and isinstance(e.get("type"), str) and "mixpanel" not in e
              and e["type"] in ("track", "page", "screen")]
    if not keys or not events:
        return []

    def carries(event, key):
        props = event.get("properties") if isinstance(event.get("properties"), dict) else {}
        context = event.get("context") if isinstance(event.get("context"), dict) else {}
        traits = context.get("traits") if isinstance(context.get("traits"), dict) else {}
        return props.get(key) not in (None, "") or (traits.get(key) not in (None, "") and not (
            config.get("dropTraitsInTrackEvent") and event["type"] == "track"))

    return [(key, len(events)) for key in keys if not any(carries(e, key) for e in events)]


group_events = st.lists(st.fixed_dictionaries({
    "type": st.sampled_from(["track", "page", "screen", "identify", "group"]),
    "properties": st.dictionaries(st.sampled_from(["company", "team", "x"]), st.sampled_from([None, "", "c1", 0])),
    "context": st.fixed_dictionaries({"traits": st.dictionaries(st.sampled_from(["company", "team"]),
                                                                 st.sampled_from([None, "", "c1"]))})}), max_size=8)


@settings(max_examples=150, deadline=None)
@given(group_events, st.lists(st.sampled_from(["company", "team", "org"]), min_size=1, max_size=3, unique=True),
       st.booleans())
def test_group_key_never_sent_in_one_pass_matches_the_definition(events, keys, drop_traits):
    from mpsim.validation.cross import find_group_key_never_sent

    config = {"groupKeySettings": [{"groupKey": k} for k in keys], "dropTraitsInTrackEvent": drop_traits}
    hits = find_group_key_never_sent(events, {"config": config})
    assert [(h.value, h.fields["count"]) for h in hits] == _never_sent_by_definition(events, config)
