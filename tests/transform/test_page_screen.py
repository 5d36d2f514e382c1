"""page and screen: event names, templates, property precedence (spec §3.4, §4.7)."""

from __future__ import annotations

import pytest

from tests.helpers import error, message, props, records, run


def test_page_default_name_and_properties_win_over_traits():
    (rec,) = records(run(message("page", properties={"a": "propA"}, context={"traits": {"a": "traitA"}})))
    assert rec["event"] == "Loaded a Page"
    assert rec["properties"]["a"] == "propA"


def test_screen_default_name():
    assert records(run(message("screen")))[0]["event"] == "Loaded a Screen"


def test_page_keeps_full_message_id_and_accepts_numbers():
    mid = "1662363980287-168cf720-6227-4b56-a98e-c49bdc7279e9"
    assert props(message("page", messageId=mid))["$insert_id"] == mid
    assert props(message("page", messageId=123))["$insert_id"] == 123


def test_drop_traits_flag_does_not_apply_to_page():
    assert props(message("page", context={"traits": {"t": 1}}), {"dropTraitsInTrackEvent": True})["t"] == 1


def test_top_level_name_and_category_overwrite_properties():
    p = props(message("page", name="Home", category="Docs", properties={"name": "x", "category": "y", "z": 1}))
    assert list(p)[:3] == ["name", "category", "z"]
    assert (p["name"], p["category"]) == ("Home", "Docs")


CFG = {"useUserDefinedPageEventName": True, "userDefinedPageEventTemplate": "Viewed {{ category }} {{ name }} Page"}


@pytest.mark.parametrize("msg_extra,expected", [
    ({}, "Viewed Page"),
    ({"name": "H", "properties": {"category": ""}}, "Viewed  H Page"),
    ({"name": "Home", "properties": {"category": "Docs"}}, "Viewed Docs Home Page"),
    ({"name": "Home", "properties": {"category": 5}}, "Viewed 5 Home Page"),
])
def test_page_template(msg_extra, expected):
    assert records(run(message("page", **msg_extra), CFG))[0]["event"] == expected


def test_template_placeholder_without_surrounding_space_stays_literal():
    cfg = {"useUserDefinedPageEventName": True, "userDefinedPageEventTemplate": "{{category}}/{{name}}"}
    assert records(run(message("page"), cfg))[0]["event"] == "{{category}}/{{name}}"


def test_template_uses_javascript_replacement_patterns():
    cfg = {"useUserDefinedPageEventName": True, "userDefinedPageEventTemplate": "V {{ category }} {{ name }} P"}
    rec = records(run(message("page", name="$&x", properties={"category": "$$"}), cfg))[0]
    assert rec["event"] == "V $ {{ name }}x P"


def test_template_flag_string_false_is_on():
    cfg = {"useUserDefinedPageEventName": "false", "userDefinedPageEventTemplate": "P {{ name }}"}
    assert records(run(message("page", name="n"), cfg))[0]["event"] == "P n"


def test_screen_uses_only_the_screen_template():
    cfg = {**CFG, "useUserDefinedScreenEventName": True, "userDefinedScreenEventTemplate": "S {{ name }}"}
    assert records(run(message("screen", name="Cart"), cfg))[0]["event"] == "S Cart"
    assert records(run(message("screen", name="Cart"), CFG))[0]["event"] == "Loaded a Screen"


def test_template_flag_without_template_is_a_configuration_error():
    err = error(message("page"), {"useUserDefinedPageEventName": True})
    assert err.kind == "configuration" and err.status_code == 400
    assert err.message.startswith("Event name template is not configured.")
