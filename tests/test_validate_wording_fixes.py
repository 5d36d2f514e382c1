"""Findings a new user read wrongly: placeholder ids counted as users, revenue on every priced event,
0-based event numbers, a doubled 'is', and a progress bar with no end counting records twice."""

from __future__ import annotations

import json

import pytest

import mpsim
from mpsim.cli import main
from mpsim.mixpanel.events import FORBIDDEN_IDS
from mpsim.validation.rules import is_purchase_event

NOW = "2024-03-02T00:00:00Z"
A = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def identify(user, anon=A):
    return {"type": "identify", "userId": user, "anonymousId": anon, "timestamp": NOW, "context": {"traits": {}}}


def track(event, user="u1", **props):
    return {"type": "track", "event": event, "userId": user, "anonymousId": A, "timestamp": NOW, "properties": props}


@pytest.mark.parametrize("placeholder", ["null", "undefined", "None", " NULL "])
def test_a_placeholder_user_id_does_not_join_a_real_user(placeholder):
    assert placeholder.strip().lower() in FORBIDDEN_IDS
    findings = mpsim.validate([identify("mum"), identify(placeholder)], config={"token": "t"}, now=NOW)
    assert not findings.by_rule("shared-anonymous-id")
    # the placeholder itself is still reported, record by record
    assert findings.by_rule("rudderstack-placeholder-id")


def test_placeholders_are_not_counted_among_the_users_that_join():
    (finding,) = mpsim.validate([identify("mum"), identify("null"), identify("teen")], config={"token": "t"},
                                now=NOW).by_rule("shared-anonymous-id")
    assert "'mum' and 'teen' become one user" in finding.message and "'null'" not in finding.message
    assert "2 different users" in finding.message


def test_a_placeholder_anonymous_id_is_not_a_shared_device():
    assert not mpsim.validate([identify("mum", "undefined"), identify("teen", "undefined")], config={"token": "t"},
                              now=NOW).by_rule("shared-anonymous-id")


def test_shared_device_event_numbers_count_from_one_and_are_capped():
    events = [identify(f"u{i}") if i % 2 == 0 else track("Viewed", f"u{i - 1}") for i in range(40)]
    events[1::4] = [track("Viewed", "x", anonymousId="other") for _ in events[1::4]]
    for e in events[1::4]:
        e["anonymousId"] = "b1b2c3d4-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    (finding,) = mpsim.validate(events, config={"token": "t"}, now=NOW).by_rule("shared-anonymous-id")
    assert "#" not in finding.message
    assert "events 1, 3-5, 7-9, 11-13," in finding.message and "(+" in finding.message
    assert finding.record == 2


@pytest.mark.parametrize("name", ["Order Completed", "order_completed", "Checkout Completed", "Purchase",
                                  "Payment Succeeded", "Subscription Started", "OrderCompleted", "Completed Order",
                                  "Transaction Completed", "purchased"])
def test_revenue_rule_fires_on_purchase_events_at_the_property_found(name):
    assert is_purchase_event(name)
    (finding,) = mpsim.validate(track(name, price=9.5, quantity=2), now=NOW).by_rule("revenue-without-revenue")
    assert finding.path == "properties.price"
    assert "'price'" in finding.message and "properties.revenue" in finding.message
    assert "$transactions" in finding.message


def test_revenue_rule_names_one_property_per_event():
    found = mpsim.validate([track("Order Completed", price=9.5, total=19)], now=NOW).by_rule("revenue-without-revenue")
    assert [f.path for f in found] == ["$[0].properties.price"]


@pytest.mark.parametrize("name", ["Product Viewed", "Products Searched", "Product Added", "Cart Viewed",
                                  "Checkout Started", "Order Refunded", "Payment Info Entered"])
def test_revenue_rule_is_quiet_on_events_that_are_not_purchases(name):
    assert not is_purchase_event(name)
    assert not mpsim.validate(track(name, price=9.5), now=NOW).by_rule("revenue-without-revenue")


def test_revenue_rule_is_quiet_when_revenue_is_sent():
    assert not mpsim.validate(track("Order Completed", price=9.5, revenue=9.5), now=NOW).by_rule(
        "revenue-without-revenue")


def test_profile_placeholder_distinct_id_reads_as_one_sentence():
    (finding,) = mpsim.validate({"$distinct_id": "anonymous", "$token": "t", "$set": {"a": 1}}, now=NOW).by_rule(
        "profile-distinct-id")
    assert finding.message == '$distinct_id is "anonymous", a placeholder Mixpanel refuses.'


def test_validate_across_records_bar_counts_rules_to_a_known_total(tmp_path, capsys):
    path = tmp_path / "log.jsonl"
    path.write_text("".join(json.dumps(identify(f"u{i}", f"a{i}")) + "\n" for i in range(600)))
    main(["validate", str(path), "--now", NOW])
    err = capsys.readouterr().err
    across = [line for line in err.replace("\r", "\n").splitlines() if "across records" in line]
    assert across and "3/3" in across[-1] and "rule" in across[-1]
    assert "rule/s" in across[-1] and "record/s" not in across[-1]
