"""`_repr_html_` of a big project reads only what it shows (issue 11 item 4): head and tail rows, capped
lists, no whole-table frames, and nothing recomputed while the project has not changed."""

from __future__ import annotations

import pytest

import mpsim
from mpsim.mixpanel.state import StateViews
from mpsim.notebook import views

NOW = "2024-03-02T00:00:00Z"
NOW_S = 1709337600


def _request(path: str, records: list[dict]) -> mpsim.Request:
    return mpsim.Request(path=path, endpoint=f"https://api.mixpanel.com/{path}/",
                         headers={"Content-Type": "application/json", "Authorization": "Basic dG9rOg=="},
                         params={"strict": 1} if path == "import" else {}, records=records)


@pytest.fixture(scope="module")
def project() -> mpsim.Simulator:
    """600 users with profiles (one property only the middle user has), 1200 events, 40 refused merges."""
    sim = mpsim.Simulator(token="tok", identity_merge="simplified", now=NOW)
    sim.send(_request("engage", [{"$token": "tok", "$distinct_id": f"user-{u}",
                                  "$set": {"plan": "pro", **({"only_user_150": 1} if u == 150 else {})}}
                                 for u in range(600)]))
    sim.send(_request("import", [{"event": "Viewed", "properties": {
        "distinct_id": f"user-{i % 600}", "time": NOW_S - 60 - i, "$insert_id": f"e{i}", "token": "tok"}}
        for i in range(1200)]))
    sim.send(_request("import", [{"event": "Viewed", "properties": {
        "$user_id": f"user-{u}", "$device_id": "shared", "time": NOW_S - 30, "$insert_id": f"d{u}", "token": "tok"}}
        for u in range(41)]))
    assert len(sim.refused_merges) == 40
    return sim


def test_profiles_and_events_show_head_and_tail_only(project):
    for shown in (project, project.snapshot()):
        page = shown._repr_html_()
        assert "<td>user-0</td>" in page and "<td>user-599</td>" in page and "<td>user-150</td>" not in page
        assert "only_user_150" not in page  # columns are those of the rows shown
        assert "… 580 more rows …" in page and "… 1221 more rows …" in page  # profiles, events
        assert "… 20 more refused merges (sim.refused_merges) …" in page
        assert page.count("errDeviceMappedToOtherUser") == 20


def test_no_whole_table_is_built(project, monkeypatch):
    def whole(self):
        raise AssertionError("a whole table was built")

    for cls in (StateViews, mpsim.Simulator):
        for name in ("events", "profiles", "groups", "raw_events"):
            monkeypatch.setattr(cls, name, property(whole))
        monkeypatch.setattr(cls, "stored_events", whole)
    assert "Profiles" in project._repr_html_() and "Profiles" in project.snapshot()._repr_html_()


def test_a_view_shown_again_reuses_what_it_counted_until_the_project_changes(monkeypatch):
    sim = mpsim.Simulator(token="tok", now=NOW)
    sim.send(_request("engage", [{"$token": "tok", "$distinct_id": "u1", "$set": {"plan": "free"}}]))
    first = sim._repr_html_()
    calls = []
    real = StateViews.summary

    def counting(self):
        calls.append(1)
        return real(self)

    monkeypatch.setattr(StateViews, "summary", counting)
    monkeypatch.setattr(mpsim.Simulator, "summary", counting)
    assert sim._repr_html_() == first and calls == []  # nothing changed: nothing counted again
    sim.send(_request("engage", [{"$token": "tok", "$distinct_id": "u1", "$set": {"plan": "pro"}},
                                 {"$token": "tok", "$distinct_id": "u2", "$set": {"plan": "free"}}]))
    again = sim._repr_html_()
    assert calls and "<td>pro</td>" in again and "2 profiles" in again and "1 profile" not in again
    sim.send(_request("import", [{"event": "E", "properties": {"distinct_id": "u2", "time": NOW_S - 5,
                                                               "$insert_id": "i1", "token": "tok"}}]))
    assert "1 event, 2 users" in sim._repr_html_()


def test_records_table_reads_only_the_rows_it_shows():
    reads = []
    records = views.Mapped(range(2000), lambda i: reads.append(i) or {"n": i, **({"odd": 1} if i == 1000 else {})})
    page = views.records_table_html(records, max_rows=30, min_rows=20)
    assert sorted(reads) == [*range(10), *range(1990, 2000)]
    assert "odd" not in page and "2000 rows: the first 10 and the last 10 are shown." in page
    small = views.Mapped(range(40), lambda i: {"n": i, **({"odd": 1} if i == 20 else {})})
    whole = views.records_table_html(small, max_rows=30, min_rows=20)
    assert "show all 40 rows" in whole and "<th>odd</th>" in whole  # the switch shows every row, every column
