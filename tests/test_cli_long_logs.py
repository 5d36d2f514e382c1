"""`mpsim simulate` on a long log (issue 11 item 4): a bar for every phase, and only the head and tail of
each list and table, so the output does not grow with the log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mpsim
from mpsim.cli import main
from mpsim.validation import Finding, Findings
from mpsim.wording import capped_lines, capped_records, findings_by_rule, head_tail

NOW = "2024-03-02T00:00:00Z"
DEST = {"token": "tok", "identityMergeApi": "simplified"}


def session(n: int, *, shared_device: bool = False) -> list[dict]:
    """``n`` events: per user a page, an identify and a track; a shared device makes refused merges."""
    events = []
    for i in range(n):
        user, kind = i // 3, i % 3
        anon = "shared-device" if shared_device else f"anon-{user}"
        base = {"anonymousId": anon, "messageId": f"m{i}", "timestamp": "2024-03-01T00:00:00Z"}
        if kind == 0:
            events.append({"type": "page", "name": "Home", **base})
        elif kind == 1:
            events.append({"type": "identify", "userId": f"user-{user}", **base, "traits": {"plan": "pro"}})
        else:
            events.append({"type": "track", "event": "Buy", "userId": f"user-{user}", **base,
                           "properties": {"price": 5}})
    return events


def simulate(tmp_path: Path, capsys, events: list[dict], *args: str, config: dict = DEST) -> tuple[str, str]:
    log, dest = tmp_path / "log.jsonl", tmp_path / "dest.json"
    log.write_text("".join(json.dumps(e) + "\n" for e in events))
    dest.write_text(json.dumps(config))
    assert main(["simulate", str(log), "--config", str(dest), "--now", NOW, *args]) == 0
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_every_phase_shows_a_bar_on_stderr_for_a_long_log(tmp_path, capsys):
    out, err = simulate(tmp_path, capsys, session(600))
    for phase in ("reading and replaying", "validating", "across records", "summarising"):
        assert phase in err, phase
    assert "600/600" in err
    assert "replaying" not in out and out.startswith("600 RudderStack events")


def test_a_short_log_shows_no_bars(tmp_path, capsys):
    _, err = simulate(tmp_path, capsys, session(30))
    assert err == ""


def test_lists_and_tables_show_head_and_tail_so_output_does_not_grow(tmp_path, capsys):
    small, _ = simulate(tmp_path, capsys, session(300, shared_device=True))
    big, _ = simulate(tmp_path, capsys, session(1500, shared_device=True))
    assert len(big.splitlines()) == len(small.splitlines())
    assert abs(len(big) - len(small)) < 0.1 * len(small)
    users = big[big.index("\nUsers (500)"):].splitlines()[2:13]
    assert users[0].startswith("  user-0") and "  … 490 more users …" in users and users[-1].startswith("  user-499")
    assert "Refused merges (499)" in big and "… 489 more refused merges …" in big
    assert "Events (1000, the first 5 and last 5)" in big
    assert "--events all every row" in big


def test_dropped_records_show_head_and_tail_in_words(tmp_path, capsys):
    """Dropped lines said '… 9980 mores' and showed only the head."""
    events = [{"type": "Track", "event": f"bad-{i}", "messageId": f"m{i}"} for i in range(50)]
    out, _ = simulate(tmp_path, capsys, events)
    dropped = out[out.index("\nDropped (50 records)"):].splitlines()[2:23]
    assert "event 1 (Track bad-0)" in dropped[0] and "event 50 (Track bad-49)" in dropped[-1]
    assert "  … 30 more dropped records …" in dropped
    assert "mores" not in out


def test_events_all_prints_every_row(tmp_path, capsys):
    out, _ = simulate(tmp_path, capsys, session(60, shared_device=True), "--events", "all")
    assert "more rows" not in out and "more users" not in out and "Events (40)" in out
    assert all(f"user-{u}" in out for u in range(20))
    assert "--events all every row" not in out


def test_events_rejects_words_other_than_all(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["simulate", "x.jsonl", "--events", "some"])
    assert "is not a number of rows (or 'all')" in capsys.readouterr().err


def test_a_bad_line_late_in_a_streamed_log_is_one_clear_error(tmp_path, capsys):
    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in session(20)) + "42\n")
    assert main(["simulate", str(log), "--now", NOW]) == 2
    err = capsys.readouterr().err
    assert "events file" in err and "line 21: a number, not an event object" in err and "Traceback" not in err


def test_the_tables_read_only_the_rows_they_show(tmp_path, capsys, monkeypatch):
    """The story never builds the full events or profiles frame (100k rows for 10 printed)."""
    from mpsim.mixpanel.state import StateViews

    def whole(self):
        raise AssertionError("a whole table was built")

    for cls in (StateViews, mpsim.Simulator):
        for name in ("events", "profiles", "groups"):
            monkeypatch.setattr(cls, name, property(whole))
    out, _ = simulate(tmp_path, capsys, session(90))
    assert "Events (60, the first 5 and last 5)" in out and "User profiles (30, the first 5 and last 5)" in out


# ---------------------------------------------------------------------- wording
def test_head_tail_reads_only_the_ends():
    class Counting(list):
        reads = 0

        def __getitem__(self, index):
            found = super().__getitem__(index)
            Counting.reads += len(found) if isinstance(index, slice) else 1
            return found

    items = Counting(range(1000))
    assert head_tail(items, 5) == ([0, 1, 2], [998, 999], 995) and Counting.reads == 5
    assert head_tail(items, 2000) == (list(range(1000)), [], 0)
    assert capped_lines(["a", "b", "c", "d"], 2, "user") == ["  a", "  … 2 more users …", "  d"]
    assert capped_lines(["a", "b", "c"], 2, "user") == ["  a", "  … 1 more user …", "  c"]


def test_capped_records_have_the_columns_of_the_rows_shown():
    records = [{"id": i, **({"only_in_the_middle": 1} if i == 50 else {})} for i in range(100)]
    text = capped_records(records, 4)
    assert "only_in_the_middle" not in text and "… 96 more rows …" in text
    assert text.splitlines()[1].split() == ["0"] and text.splitlines()[-1].split() == ["99"]


def test_findings_repr_counts_in_the_singular():
    one = Findings([Finding("r", "error", "$", None, "m", "f", 0, "event"),
                    Finding("w", "warning", "$", None, "m", "f", 0, "event")])
    assert repr(one) == "Findings(1 error, 1 warning, 2 in all)"
    assert repr(Findings([])) == "Findings(0 errors, 0 warnings, 0 in all)"


def test_a_finding_without_record_numbers_has_no_stray_gap():
    lines = findings_by_rule([Finding("token-missing", "error", "$", None, "No token.", "", None, "setup"),
                              Finding("placeholder-id", "error", "$", None, "Bad id.", "", 3, "event")])
    assert "ERROR   token-missing   ×1 — No token." in lines
    assert "ERROR   placeholder-id  ×1   record 4 — Bad id." in lines
    assert all("  —" not in line for line in lines)


def test_replay_findings_are_the_same_with_progress_reporting():
    from mpsim._progress import reporting

    events = session(30, shared_device=True)
    plain = mpsim.validate(events, now=NOW, config=DEST)
    with reporting() as bars:
        reported = mpsim.validate(events, now=NOW, config=DEST)
    assert [f.to_dict() for f in reported] == [f.to_dict() for f in plain] and len(bars) == 2
