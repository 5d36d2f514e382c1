"""The playground, driven headless: set widget values, click buttons, read the outputs."""

from __future__ import annotations

import json

import mpsim
from mpsim.notebook import FIELDS, config_from_values, parse_pasted, values_from_config
from mpsim.notebook.playground import STALE_HTML, STALE_MARK, TABS
from mpsim.notebook.views import PasteError, clusters_svg

NOW = "2024-03-02T00:00:00Z"
UUID = "4f7c2a9e-1b3d-4e5f-8a6b-7c8d9e0f1a2b"
IDENTIFY = {"type": "identify", "userId": "u1", "anonymousId": UUID, "timestamp": "2024-03-01T00:00:00Z",
            "context": {"traits": {"firstName": "Ada", "lastName": "Lovelace"}}}
TRACK = {"type": "track", "event": "Viewed", "anonymousId": UUID, "messageId": "m1",
         "timestamp": "2024-03-01T00:00:00Z"}


def app(**kw):
    return mpsim.playground(now=NOW, **kw)


def test_transform_only_shows_requests_and_findings_without_touching_state():
    pg = app()
    pg.events_input.value = json.dumps(IDENTIFY)
    pg.form["token"].value = "tok"
    pg.transform_button.click()
    assert "/engage" in pg.outputs["Requests"].value and "$firstName" in pg.outputs["Requests"].value
    assert "near-miss-name" in pg.outputs["Findings"].value
    assert pg.error.value == "" and "not sent" in pg.status.value
    assert len(pg.sim.log) == 0


def test_send_updates_state_changes_and_identity_graph():
    pg = app(config={"token": "tok"})
    pg.events_input.value = "\n".join(json.dumps(e) for e in (TRACK, IDENTIFY))  # JSON Lines
    pg.form["new_mapping"].value = True
    pg.send_button.click()
    assert "Mixpanel accepted all" in pg.status.value
    assert "$first_name" in pg.outputs["Requests"].value
    assert "Ada" in pg.outputs["State"].value and "<h4>Identities</h4>" in pg.outputs["State"].value
    changes = pg.outputs["Changes"].value
    assert "identity" in changes and "canonical" in changes
    graph = pg.outputs["Identity graph"].value
    assert "<svg class='mpsim-clusters'" in graph and UUID in graph and "u1" in graph
    assert pg.sim.canonical(UUID) == "u1"


def test_bad_json_and_transform_errors_are_shown_and_state_is_untouched():
    pg = app(config={"token": "tok"})
    pg.events_input.value = json.dumps(TRACK)
    pg.send_button.click()
    before = len(pg.sim.log)
    pg.events_input.value = '{"type": "track",'
    pg.send_button.click()
    assert "not valid JSON" in pg.error.value and "Traceback" not in pg.error.value
    assert len(pg.sim.log) == before and "Nothing was sent" in pg.status.value


def test_refused_events_are_listed_with_the_reason_and_the_others_are_sent():
    pg = app(config={"token": "tok"})
    pg.events_input.value = json.dumps([TRACK, {"type": "Track"}, {**TRACK, "messageId": "m2", "event": "Bought"}])
    pg.send_button.click()
    requests_tab = pg.outputs["Requests"].value
    assert "<b>event 1 (Track)</b>" in requests_tab and "is not supported" in requests_tab
    assert "1 event refused by RudderStack (the others went on)" in requests_tab
    assert pg.error.value == "" and "1 event refused by RudderStack" in pg.status.value
    assert list(pg.sim.events["event"]) == ["Viewed", "Bought"]


def test_load_settings_from_destination_json_and_reset():
    pg = app()
    pg.config_input.value = json.dumps({"Config": {"token": "T", "identityMergeApi": "simplified",
                                                   "groupKeySettings": [{"groupKey": "company"}],
                                                   "useNewMapping": True}})
    pg.load_button.click()
    assert pg.form["identity_merge"].value == "simplified" and pg.form["group_keys"].value == "company"
    pg.events_input.value = json.dumps(TRACK)
    pg.send_button.click()
    assert pg.sim.identity_merge == "simplified" and len(pg.sim.events) == 1
    pg.form["identity_merge"].value = "original"
    pg.send_button.click()
    assert "press Reset" in pg.error.value
    pg.reset_button.click()
    assert pg.sim.identity_merge == "original" and len(pg.sim.events) == 0
    pg.config_input.value = "[1, 2"
    pg.load_button.click()
    assert "destination JSON" in pg.error.value


def test_refused_merges_appear_in_the_graph_with_reason():
    sim = mpsim.Simulator(identity_merge="simplified", now=NOW)
    pg = app(sim=sim, config={"token": "tok", "identityMergeApi": "simplified"})
    pg.events_input.value = json.dumps([{**TRACK, "userId": "amy", "anonymousId": "tab"},
                                        {**TRACK, "userId": "bob", "anonymousId": "tab", "messageId": "m2"}])
    pg.send_button.click()
    graph = pg.outputs["Identity graph"].value
    assert "Refused merges" in graph and "errDeviceMappedToOtherUser" in graph and "stroke-dasharray" in graph


def test_form_and_config_round_trip():
    config = {"token": "t", "identityMergeApi": "simplified", "dataResidency": "eu",
              "setOnceProperties": [{"property": "a"}, {"property": "b"}], "useNewMapping": True,
              "userDefinedPageEventTemplate": "P {{ name }}", "apiSecret": "kept"}
    values = values_from_config(config)
    assert values["set_once"] == "a, b" and values["new_mapping"] is True and values["residency"] == "eu"
    assert config_from_values(values, config) == config
    assert {f.key for f in FIELDS} >= {"token", "identityMergeApi", "dataResidency", "groupKeySettings",
                                       "dropTraitsInTrackEvent", "useNewMapping", "strictMode"}


def test_parse_pasted_names_the_bad_line():
    assert len(parse_pasted('{"type": "track"}\n{"type": "page"}')) == 2
    assert len(parse_pasted('[{"type": "track"}]')) == 1
    for text, where in [("", "the text box"), ('{"a": 1}\n{oops', "line 2"), ("[1]", "event 0")]:
        try:
            parse_pasted(text)
        except PasteError as exc:
            assert exc.where == where
        else:
            raise AssertionError(text)


def test_rich_html_for_every_public_object():
    sim = mpsim.Simulator(now=NOW)
    reqs = mpsim.transform(IDENTIFY, {"token": "t"}, now=NOW)
    sim.send(reqs)
    objects = [reqs[0], mpsim.validate(IDENTIFY, now=NOW), mpsim.diff({"a": 1}, {"a": 2}), sim, sim.snapshot(),
               mpsim.transform_batch([{"message": TRACK, "destination": {"Config": {"token": "t"}},
                                       "metadata": {"jobId": 1}}], now=NOW)[0],
               mpsim.replay([TRACK], {"token": "t"}, now=NOW)]
    for obj in objects:
        page = obj._repr_html_()
        assert page.startswith("<") and len(page) > 40, type(obj)
    assert "<p>No identities yet.</p>" in clusters_svg(mpsim.Simulator())


def test_a_failed_action_marks_every_shown_tab_out_of_date_until_the_next_success():
    pg = app(config={"token": "tok"})
    pg.events_input.value = json.dumps(IDENTIFY)
    pg.send_button.click()
    fresh = pg.outputs["State"].value
    pg.events_input.value = "{oops"
    pg.send_button.click()
    assert "not valid JSON" in pg.error.value
    for index, name in enumerate(TABS):
        if name in ("Settings change", "Explain"):  # never filled: nothing to mark
            assert pg.outputs[name].value == "" and pg.tabs.get_title(index) == name
            continue
        assert pg.tabs.get_title(index) == f"{STALE_MARK}{name}"
        assert pg.outputs[name].value.startswith(STALE_HTML)
    assert pg.outputs["State"].value == STALE_HTML + fresh  # marked once, not stacked
    pg.send_button.click()
    assert pg.outputs["State"].value.count("Out of date") == 1
    pg.events_input.value = json.dumps(TRACK)
    pg.send_button.click()
    assert pg.error.value == "" and all(pg.tabs.get_title(i) == name for i, name in enumerate(TABS))
    assert "Out of date" not in pg.outputs["State"].value


def test_the_settings_change_tab_shows_what_the_change_did_to_requests_and_state():
    pg = app(config={"token": "tok"})
    pg.events_input.value = json.dumps(IDENTIFY)
    pg.transform_button.click()
    assert pg.outputs["Settings change"].value == ""  # nothing to compare with yet
    pg.form["new_mapping"].value = True
    pg.transform_button.click()
    tab = pg.outputs["Settings change"].value
    assert "useNewMapping" in tab and "previous settings" in tab and "new settings" in tab
    requests_part, state_part = tab.split("<h4>Requests Mixpanel receives</h4>")[1].split("<h4>What Mixpanel holds</h4>")
    assert "$firstName" in requests_part and "$first_name" in requests_part
    assert "profile" in state_part and "$first_name" in state_part
    pg.transform_button.click()  # same settings again: the tab keeps the last change
    assert pg.outputs["Settings change"].value == tab


def test_load_sample_fills_events_and_settings_then_sends():
    from mpsim.samples import sample_session

    pg = mpsim.playground()
    pg.sample_button.click()
    session = sample_session()
    assert len(parse_pasted(pg.events_input.value)) == len(session["events"])
    assert pg.form["token"].value == "demo-token" and pg.form["new_mapping"].value is True
    assert pg.form["group_keys"].value == "company_id"
    pg.send_button.click()
    assert "Mixpanel accepted all" in pg.status.value, pg.status.value
    assert len(pg.sim.events) > 5 and pg.sim.profiles["distinct_id"].tolist()


def test_changes_tab_matches_a_full_state_diff_event_by_event():
    """The click diff reads only what the requests touched; on the sample session it finds the same
    identity, profile, group and event changes as diffing two whole snapshots."""
    from mpsim.notebook.increments import ClickDiff
    from mpsim.samples import sample_session

    session = sample_session()
    config = session["destination"]["Config"]
    sim = mpsim.Simulator(token=config["token"], now=session["now"])
    for event in session["events"]:
        requests = mpsim.transform(event, config, now=session["now"])
        before, click = sim.snapshot(), ClickDiff(sim, requests)
        sim.send(requests)
        fast = {(c.entity, c.id, c.path, c.kind) for c in click.after()}
        full = {(c.entity, c.id, c.path, c.kind) for c in mpsim.diff(before, sim)}
        assert fast == full, event


def test_a_big_project_shows_the_last_events_and_what_the_click_touched(monkeypatch):
    import importlib

    module = importlib.import_module("mpsim.notebook.playground")  # (the package's `playground` is the function)
    monkeypatch.setattr(module, "FULL_VIEW_EVENTS", 3)
    pg = app(config={"token": "tok"})
    pg.events_input.value = "\n".join(json.dumps({**TRACK, "userId": f"user-{i}", "anonymousId": None,
                                                  "messageId": f"m{i}"}) for i in range(6))
    pg.send_button.click()
    pg.events_input.value = json.dumps(IDENTIFY)
    pg.send_button.click()
    state = pg.outputs["State"].value
    assert "A big project" in state and "7 events (7 stored copies)" in state
    assert "Profiles this send touched" in state and "Ada" in state and "user-0" not in state.split("Last events")[0]
    assert "Identities this send touched" in state and UUID in state
    graph = pg.outputs["Identity graph"].value
    assert "users this send touched" in graph and UUID in graph and ">user-1<" not in graph
    assert "canonical" in pg.outputs["Changes"].value and "$merge" not in pg.outputs["Changes"].value.split("event")[0]


def test_event_counter_follows_duplicates_and_sends_from_outside_the_playground():
    from mpsim.notebook.increments import ClickDiff, EventCounter

    config = {"token": "tok"}
    sim = mpsim.Simulator(token="tok", now=NOW)
    counter = EventCounter()
    batches = [[TRACK], [TRACK, {**TRACK, "messageId": "m2"}], [IDENTIFY, {**TRACK, "userId": "u1"}],
               [{**TRACK, "messageId": "m2"}]]  # TRACK and m2 are sent again: Mixpanel deduplicates them
    for index, events in enumerate(batches):
        requests = [r for e in events for r in mpsim.transform(e, config, now=NOW)]
        click = ClickDiff(sim, requests)
        sim.send(requests)
        click.after()
        assert counter.update(sim, click) == sim.summary()["events"], index
        if index == 1:  # someone sends from another cell: the next click counts again
            sim.send(mpsim.transform({**TRACK, "messageId": "outside"}, config, now=NOW))
    assert counter.count == len(sim.events) < sim.event_copies()


def test_cheap_event_reads_match_the_stored_events():
    sim = mpsim.Simulator(token="tok", now=NOW)
    sim.send(mpsim.transform(IDENTIFY, {"token": "tok"}, now=NOW))
    for i in range(5):
        sim.send(mpsim.transform({**TRACK, "messageId": f"m{i}", "userId": f"u{i % 2}"}, {"token": "tok"}, now=NOW))
    snapshot = sim.snapshot()
    sim.send(mpsim.transform({**TRACK, "messageId": "later"}, {"token": "tok"}, now=NOW))
    for state in (sim, snapshot):
        everything = state.stored_events(deduplicate=False)
        assert state.event_copies() == len(everything)
        assert state.events_from(3) == everything[3:] and state.events_from(-5) == everything
        assert state.events_of({"u1"}) == [e for e in everything if e.distinct_id == "u1"]
    assert snapshot.event_copies() == sim.event_copies() - 1


def test_without_a_project_the_status_says_it_was_assumed_from_the_destination():
    pg = app()
    pg.events_input.value = json.dumps(IDENTIFY)
    pg.form["token"].value = "tok"
    pg.send_button.click()
    assert "project settings assumed from the destination: original ID merge" in pg.status.value


def test_a_given_project_keeps_its_mode_and_the_mismatch_is_a_finding():
    # The ticket behind issue 8: the project was switched to Simplified, the destination left on Original.
    pg = app(project={"token": "tok", "identity_merge": "simplified"})
    pg.events_input.value = json.dumps(IDENTIFY)
    pg.form["token"].value = "tok"
    pg.send_button.click()
    assert pg.sim.identity_merge == "simplified"  # not switched to the destination's Original
    assert "assumed" not in pg.status.value
    assert "identity-merge-mismatch" in pg.outputs["Findings"].value
    pg.reset_button.click()
    assert pg.sim.identity_merge == "simplified"


def test_explain_tab_shows_why_ids_are_one_user():
    pg = app()
    pg.events_input.value = "\n".join(json.dumps(e) for e in (IDENTIFY, TRACK))
    pg.form["token"].value = "tok"
    pg.send_button.click()
    pg.explain_input.value = f"u1, {UUID}"
    pg.explain_button.click()
    shown = pg.outputs["Explain"].value
    assert pg.error.value == "" and "u1" in shown and UUID in shown and "$merge" in shown
    assert pg.tabs.selected_index == TABS.index("Explain")
    pg.explain_input.value = "u1"
    pg.explain_button.click()
    assert "$name" in pg.outputs["Explain"].value  # the profile Mixpanel shows for u1, property by property
    second_device = "5e8d3b0f-2c4e-4f60-9b7c-8d9e0f1a2b3c"
    pg.events_input.value = json.dumps({**IDENTIFY, "anonymousId": second_device})
    pg.send_button.click()  # a send explains the same ids again, as the project now stands
    assert second_device in pg.outputs["Explain"].value
    pg.explain_input.value = "a b c"
    pg.explain_button.click()
    assert "type one distinct id, or two" in pg.error.value
    assert pg.outputs["Explain"].value.startswith(STALE_HTML)


def test_sim_and_project_together_is_a_clear_error():
    import pytest

    with pytest.raises(ValueError, match="a sim or a project, not both"):
        mpsim.playground(sim=mpsim.Simulator(), project={"identity_merge": "simplified"})


def test_state_summary_counts_read_in_the_singular_for_one():
    # Regression: the State tab said "1 groups" for the sample session's one company.
    from mpsim.wording import summary_line

    assert summary_line({"events": 7, "users": 1, "profiles": 2, "groups": 1, "refused_merges": 0}) == (
        "7 events, 1 user, 2 profiles, 1 group, 0 refused merges")
    pg = app()
    pg.sample_button.click()
    pg.send_button.click()
    assert "1 group," in pg.outputs["State"].value and "1 groups" not in pg.outputs["State"].value
