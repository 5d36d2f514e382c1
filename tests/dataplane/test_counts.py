"""Data-plane counts add up: events = stored + dropped at the gateway, everywhere they are shown."""

from __future__ import annotations

from mpsim.cli import _stop_lines
from mpsim.mixpanel.control import ControlAPI
from tests.dataplane.helpers import event, plane, post


def _sent_with_bad_keys():
    dp = plane()
    post(dp, "/v1/track", event(messageId="m-1"))
    post(dp, "/v1/batch", {"batch": [event(messageId="m-2"), event(messageId="m-3")]}, key="WRONG")
    post(dp, "/v1/track", event(messageId="m-4"), key=None)
    dp.flush()
    return dp


def test_events_are_stored_plus_dropped_at_the_gateway():
    dp = _sent_with_bad_keys()
    summary = dp.summary()
    assert summary["stored"] == 1 and summary["dropped at gateway"] == 3
    assert summary["events"] == 4 == summary["stored"] + summary["dropped at gateway"]
    assert "'events': 4" in repr(dp)


def test_state_upstreams_use_the_same_counts():
    dp = _sent_with_bad_keys()
    (upstream,) = ControlAPI(dp.sim)._state(None)["upstreams"]
    assert upstream["events"] == 4 and upstream["stored"] == 1 and upstream["dropped at gateway"] == 3


def test_serve_stop_message_says_what_the_data_plane_received_stored_and_dropped():
    dp = _sent_with_bad_keys()
    lines = _stop_lines(dp.sim, dp)
    assert "the RudderStack data plane received 4 events in 3 requests: 1 stored, 1 delivered to Mixpanel, " \
           "3 dropped at gateway" in lines
    assert "Mixpanel holds 1 event, 1 user, 0 user profiles, 0 group profiles" in lines
