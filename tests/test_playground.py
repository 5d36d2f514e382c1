"""The playground, driven headless: set widget values, click buttons, read the outputs."""

from __future__ import annotations

import json

import mpsim
from mpsim.notebook import FIELDS, config_from_values, parse_pasted, values_from_config
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
    assert graph.startswith("<svg") and UUID in graph and "u1" in graph
    assert pg.sim.canonical(UUID) == "u1"


def test_bad_json_and_transform_errors_are_shown_and_state_is_untouched():
    pg = app(config={"token": "tok"})
    pg.events_input.value = json.dumps(TRACK)
    pg.send_button.click()
    before = len(pg.sim.log)
    pg.events_input.value = '{"type": "track",'
    pg.send_button.click()
    assert "not valid JSON" in pg.error.value and "Traceback" not in pg.error.value
    pg.events_input.value = json.dumps([TRACK, {"type": "Track"}])
    pg.send_button.click()
    assert "<b>event 1 (Track)</b>" in pg.error.value and "is not supported" in pg.error.value
    assert len(pg.sim.log) == before and "Nothing was sent" in pg.status.value


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
    assert clusters_svg(mpsim.Simulator()) == "<p>No identities yet.</p>"
