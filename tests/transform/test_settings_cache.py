"""Compiled settings are shared by equal configs (keyed by content) and never by different ones."""

from __future__ import annotations

import copy
import math

import mpsim
from mpsim._js import UNDEFINED
from mpsim.rudder.common import Settings
from tests.helpers import NOW, message


def test_equal_configs_share_one_compiled_settings_and_later_changes_do_nothing():
    config = {"token": "T", "groupKeySettings": [{"groupKey": "company"}], "unread": [1, 2]}
    first = Settings.from_destination({"Config": config})
    assert Settings.from_destination({"Config": copy.deepcopy(config)}) is first
    config["token"] = "changed"
    config["groupKeySettings"][0]["groupKey"] = "changed"
    assert first.token == "T" and first.get("groupKeySettings") == [{"groupKey": "company"}]
    assert Settings.from_destination({"Config": config}).token == "changed"


def test_values_that_print_alike_in_one_encoder_are_told_apart():
    # orjson writes NaN and Infinity as null, 1 and 1.0 differently, True as true: none may share settings
    tokens = [None, math.nan, math.inf, 1, 1.0, True, "1", "null", [1], {"a": 1}]
    compiled = [Settings.from_destination({"token": t}) for t in tokens]
    seen = [s.token for s in compiled]
    assert repr(seen) == repr(tokens)
    auths = [s.import_auth[0] if s.import_auth else None for s in compiled]
    assert len({auths[3], auths[5], auths[6]}) == 2  # "1:" (for 1 and "1") is not "true:"


def test_configs_that_are_not_plain_json_compile_without_the_cache():
    for config in ({"token": UNDEFINED}, {"token": "T", "projectId": object()}):
        a, b = Settings.from_destination(config), Settings.from_destination(dict(config))
        assert a is not b and a.token is b.token
    # what the transformer does not read does not matter, even when it is not JSON: still cached
    odd = {"token": "T", "x": UNDEFINED}
    assert Settings.from_destination(odd) is Settings.from_destination(dict(odd))
    assert Settings.from_destination(odd).config == Settings.from_destination({"token": "T"}).config


def test_the_same_event_under_many_fresh_copies_of_one_destination():
    dest = {"Config": {"token": "T", "propIncrements": [{"property": "n"}]}, "ID": "d"}
    first = mpsim.transform(message(properties={"n": 2}), dest, now=NOW)
    for _ in range(3):
        again = mpsim.transform(message(properties={"n": 2}), copy.deepcopy(dest), now=NOW)
        assert [r.to_rudder() for r in again] == [r.to_rudder() for r in first]
