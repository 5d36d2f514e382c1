"""The history generator, comparisons at scale and the ``mpsim scale`` commands."""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path

import pytest

pytest.importorskip("dask.dataframe", reason="mpsim.scale needs the scale extra: pip install 'mpsim[scale]'")

from mpsim.cli import main  # noqa: E402
from mpsim.scale.compare import compare, compare_replays  # noqa: E402
from mpsim.scale.generate import generate  # noqa: E402
from mpsim.scale.sources import list_files, read_history  # noqa: E402

NOW = "2024-01-05T00:00:00Z"


def test_generator_is_deterministic_exact_and_in_rudderstacks_layout(tmp_path):
    a = generate(str(tmp_path / "a"), 3000, seed=9, days=2)
    generate(str(tmp_path / "b"), 3000, seed=9, days=2)
    generate(str(tmp_path / "c"), 3000, seed=10, days=2)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.json.gz"))
    assert a.events == 3000 and a.files == len(files_a) and a.end == "2024-01-03T00:00:00.000Z"
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files_a)
    assert [e["messageId"] for e in read_history(str(tmp_path / "a"))] != \
        [e["messageId"] for e in read_history(str(tmp_path / "c"))]
    assert {f.parts[:2] for f in files_a} == {("rudder-logs", "web-source"), ("rudder-logs", "backend-source")}
    assert all(f.parts[2] in ("01-01-2024", "01-02-2024") and f.name.endswith(f".{f.parts[1]}.json.gz")
               for f in files_a)
    events = list(read_history(str(tmp_path / "a")))
    assert len(events) == 3000
    kinds = {e["type"] for e in events}
    assert {"identify", "track", "page", "group"} <= kinds
    ids = [e["messageId"] for e in events]
    assert len(set(ids)) < len(ids)  # resent messages
    assert any(e.get("userId") in ("null", "undefined", "anonymous") for e in events)
    assert any(e["type"] == "track" and "event" not in e for e in events)
    assert any(not _is_uuid(e.get("anonymousId", "00000000-0000-4000-8000-000000000000")) for e in events)
    owners: dict[str, set] = {}
    for e in events:
        if e.get("userId") and e.get("anonymousId"):
            owners.setdefault(e["anonymousId"], set()).add(e["userId"])
    assert any(len(users) > 1 for users in owners.values())  # a device shared by two people
    times = [e["timestamp"] for e in read_history(list_files(str(tmp_path / "a"))[0])]
    assert times == sorted(times)


def _is_uuid(value: str) -> bool:
    try:
        return uuid.UUID(value).version == 4
    except ValueError:
        return False


def test_generator_refuses_to_mix_into_an_existing_history(tmp_path):
    generate(str(tmp_path), 10)
    with pytest.raises(FileExistsError, match="already exists"):
        generate(str(tmp_path), 10)


def _write_history(folder: Path, events: list[dict]) -> str:
    day = folder / "rudder-logs" / "src" / "01-01-2024"
    day.mkdir(parents=True)
    (day / "1704067200.src.json.gz").write_bytes(gzip.compress("".join(json.dumps(e) + "\n" for e in events).encode()))
    return str(folder / "rudder-logs")


def _e(kind: str, n: int, **fields) -> dict:
    stamp = f"2024-01-01T00:{n:02d}:00.000Z"
    return {"type": kind, "messageId": f"m{n}", "timestamp": stamp, **fields}


def test_compare_original_and_simplified_on_a_shared_device(tmp_path):
    device = str(uuid.UUID(int=5, version=4))
    events = [
        _e("track", 1, anonymousId=device, event="Visit"),
        _e("identify", 2, anonymousId=device, userId="alice", traits={"plan": "pro"}),
        _e("track", 3, anonymousId=device, userId="alice", event="Buy"),
        _e("identify", 4, anonymousId=device, userId="bob", traits={"plan": "free"}),  # bob on alice's laptop
        _e("track", 5, anonymousId=device, userId="bob", event="Buy"),
        _e("track", 6, anonymousId="x", userId="undefined", event="Oops"),  # refused on both sides
        _e("alias", 7, previousId="carol", userId="carol-2"),  # RudderStack refuses alias for Simplified projects
    ]
    source = _write_history(tmp_path, events)
    result = compare(source, {"token": "T"}, destination_b={"token": "T", "identityMergeApi": "simplified"},
                     project={"token": "T", "identity_merge": "original"},
                     project_b={"token": "T", "identity_merge": "simplified"}, out=str(tmp_path / "cmp"), now=NOW,
                     scheduler="sync", labels=("original", "simplified"))
    s = result.summary
    # Original: bob's $merge joins the shared device's cluster, and the cluster keeps bob's id (both have a
    # profile, so the identified id wins): alice's visit and purchase become bob's. Simplified keeps them apart.
    assert (s["users_split"], s["users_joined"]) == (1, 0)
    users = result.frame("users")
    assert (users.loc[0, "user"], json.loads(users.loc[0, "becomes"])) == ("bob", ["alice", "bob"])
    moved = result.frame("events")
    moved = moved[moved["change"] == "attributed to another user"].sort_values("source")
    assert list(moved["event"]) == ["Visit", "Buy"]
    assert list(moved["distinct_id_a"]) == ["bob", "bob"] and list(moved["distinct_id_b"]) == ["alice", "alice"]
    assert s["events_moved"] == 2
    assert s["newly_rejected"] == 1 and "alias" in next(iter(s["top_new_rejections"]))
    assert s["no_longer_rejected"] == 0
    assert result.text().startswith("From original to simplified: 1 user split and 0 join; 2 events (66.7%) are attributed "
                                    "to another user; 1 profile changes")
    import matplotlib

    matplotlib.use("Agg")
    ax = result.plot()
    assert [int(p.get_width()) for p in ax.patches] == [1, 0, 2, s["profiles_changed"], 1]
    assert [t.get_text() for t in ax.get_yticklabels()][:3] == ["users split", "users joined",
                                                               "events attributed to another user"]
    assert ax.texts[2].get_text() == " 2 (66.7% of 3)"


def test_cli_generate_replay_compare_lead_with_the_answer(tmp_path, capsys):
    history = tmp_path / "h"
    assert main(["scale", "generate", str(history), "--events", "1500", "--days", "1", "--seed", "3"]) == 0
    assert capsys.readouterr().out.startswith("1,500 RudderStack events in ")
    (tmp_path / "dest.json").write_text(json.dumps({"token": "T"}))
    (tmp_path / "simplified.json").write_text(json.dumps({"token": "T", "identity_merge": "simplified"}))
    assert main(["scale", "replay", str(history), "--config", str(tmp_path / "dest.json"), "--now", "2024-01-02",
                 "--out", str(tmp_path / "r"), "--scheduler", "sync", "--quiet", "--identity-cache", "3",
                 "--spill-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.split(" ")[1:5] == ["events", "in", "Mixpanel", "from"] and "1,500 RudderStack events" in out
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["events_read"] == 1500
    assert main(["scale", "compare", str(history), "--config", str(tmp_path / "dest.json"), "--project-b",
                 str(tmp_path / "simplified.json"), "--now", "2024-01-02", "--out", str(tmp_path / "c"),
                 "--scheduler", "sync", "--quiet", "--identity-cache", "0"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("From a to b: ") and "users split" in out
    assert main(["scale", "replay", str(tmp_path / "none"), "--config", str(tmp_path / "dest.json"), "--out",
                 str(tmp_path / "x"), "--quiet"]) == 2
    assert "no history files found" in capsys.readouterr().err


def test_summaries_count_in_the_singular_for_one():
    from mpsim.scale.compare import comparison_text

    side = {"project": {"identity_merge": "original"}, "events": 1, "users": 1, "profiles": 1, "rejected": 0,
            "dropped": 0}
    one = {"labels": ["a", "b"], "a": side, "b": side, "users_split": 1, "users_joined": 1, "events_matched": 1,
           "events_moved": 1, "events_only_a": 0, "events_only_b": 0, "profiles_changed": 1,
           "top_changed_properties": {}, "no_longer_rejected": 0, "newly_rejected": 1, "top_new_rejections": {}}
    text = comparison_text(one)
    assert text.startswith("From a to b: 1 user split and 1 joins; 1 event (100.0%) is attributed to another user; "
                           "1 profile changes; 1 record is newly rejected")
    assert "1 event, 1 user, 1 profile," in text
    many = comparison_text({**one, "users_split": 2000, "events_moved": 3, "events_matched": 4})
    assert many.startswith("From a to b: 2,000 users split and 1 joins; 3 events (75.0%) are attributed")


def test_compare_of_replays_cut_into_many_buckets_equals_one_bucket(tmp_path):
    # profile diffs walked the outer join with get_partition(n), numbered before Dask planned the join:
    # replays with several buckets (any real history) failed with IndexError
    source = str(tmp_path / "h")
    generate(source, 2500, seed=8, days=1)
    sides = {"destination_b": {"token": "T", "identityMergeApi": "simplified"},
             "project": {"token": "T", "identity_merge": "original"},
             "project_b": {"token": "T", "identity_merge": "simplified"}, "now": NOW, "scheduler": "sync"}
    one = compare(source, {"token": "T"}, out=str(tmp_path / "one"), buckets=1, **sides)
    many = compare(source, {"token": "T"}, out=str(tmp_path / "many"), buckets=4, **sides)
    assert many.summary == one.summary and one.summary["profiles_changed"] > 0
    order = ["distinct_id", "property", "change"]
    a = one.frame("profiles").sort_values(order).reset_index(drop=True)
    b = many.frame("profiles").sort_values(order).reset_index(drop=True)
    assert a.equals(b)


def test_changes_per_bucket_equal_one_table_of_every_id(tmp_path, monkeypatch):
    # compare collected every id's (canonical a, canonical b) pair in one process, and joined events,
    # profiles and rejections in Dask's in-memory shuffle; each is now a shuffle by hash bucket: with many
    # small buckets it must find exactly what the whole tables show
    import pandas as pd

    from mpsim.scale import changes
    from mpsim.scale.replay import load_table

    monkeypatch.setattr(changes, "ROWS_PER_BUCKET", 40)
    source = str(tmp_path / "h")
    generate(source, 4000, seed=8, days=1)
    result = compare(source, {"token": "T"}, destination_b={"token": "T", "identityMergeApi": "simplified"},
                     project={"token": "T", "identity_merge": "original"},
                     project_b={"token": "T", "identity_merge": "simplified"}, out=str(tmp_path / "cmp"), now=NOW,
                     scheduler="threads")
    strip = changes.strip_device
    sides = []
    for side in (result.a, result.b):
        ids = load_table(side.out, "identities")
        sides.append(pd.DataFrame({"distinct_id": strip(ids["distinct_id"]), "canonical": strip(ids["canonical"])}))
    pairs = sides[0].merge(sides[1], on="distinct_id", suffixes=("_a", "_b"))[["canonical_a", "canonical_b"]]
    pairs = pairs.drop_duplicates()
    rows = []
    for change, side, other in (("split", "a", "b"), ("join", "b", "a")):
        for user, group in pairs.groupby(f"canonical_{side}")[f"canonical_{other}"]:
            if len(group) > 1:
                rows.append({"change": change, "user": user, "becomes": json.dumps(sorted(group)[:50]),
                             "count": len(group)})
    want = changes.sort_user_changes(pd.DataFrame(rows))
    got = result.frame("users")
    assert len(list((tmp_path / "cmp" / "changes" / "users").glob("part-*.parquet"))) > 5
    assert set(want["change"]) == {"split", "join"}
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert (result.summary["users_split"], result.summary["users_joined"]) == \
        ((want["change"] == "split").sum(), (want["change"] == "join").sum())
    assert not (tmp_path / "cmp" / "changes" / "_work").exists()
    # every change table cut into many buckets equals the same table joined in one bucket
    monkeypatch.setattr(changes, "ROWS_PER_BUCKET", 10**9)
    whole = compare_replays(result.a, result.b, out=str(tmp_path / "whole"), scheduler="sync")
    assert whole.summary == result.summary and result.summary["events_moved"] > 0
    assert len(list((tmp_path / "whole" / "changes" / "events").glob("*.parquet"))) == 1
    for name in ("users", "events", "profiles", "rejected"):
        got, want = (c.frame(name) for c in (result, whole))
        assert len(got) == len(want) and len(list((tmp_path / "cmp" / "changes" / name).glob("*.parquet"))) > 1
        order = list(got.columns)
        assert got.sort_values(order).reset_index(drop=True).equals(want.sort_values(order).reset_index(drop=True)), name
