"""The router (batch) path: chunking, bucketing, limits, gzip, errors and job merging (spec §6)."""

from __future__ import annotations

import json

import mpsim
from tests.helpers import NOW, message

DEST = {"Config": {"token": "tok"}, "ID": "d1"}


def ev(job, user, msg, dest=DEST):
    return {"message": msg, "destination": dest, "metadata": {"jobId": job, "userId": user}}


def batch_records(item):
    return json.loads(item.requests[0].body_text())


def test_2001_tracks_make_two_import_batches():
    items = mpsim.transform_batch([ev(i, f"u{i}", message()) for i in range(1, 2002)], now=NOW)
    assert [len(i.metadata) for i in items] == [2000, 1]
    assert items[0].job_ids[:3] == [1, 2, 3] and items[1].job_ids == [2001]
    assert len(batch_records(items[0])) == 2000


def test_per_user_order_is_kept_across_types():
    kinds = [("track", "A"), ("identify", "B"), ("track", "B"), ("identify", "A"), ("track", "C"), ("track", "A")]
    items = mpsim.transform_batch([ev(i, u, message(t)) for i, (t, u) in enumerate(kinds, 1)], now=NOW)
    assert [i.job_ids for i in items] == [[1, 5], [2, 4], [3, 6]]
    assert [r.path for r in items[1].requests] == ["engage", "import"]
    out = items[1].to_rudder()
    assert isinstance(out["batchedRequest"], list) and out["batched"] is True


def test_gzip_moves_import_batches_to_gzip_payload():
    items = mpsim.transform_batch([ev(1, "A", message()), ev(2, "B", message("identify"))], gzip=True, now=NOW)
    track = items[0].to_rudder()["batchedRequest"]
    assert track["body"]["JSON_ARRAY"] == {} and list(track["body"]) == ["JSON", "JSON_ARRAY", "XML", "FORM", "GZIP"]
    assert json.loads(track["body"]["GZIP"]["payload"])[0]["event"] == "Clicked"
    engage, merge = items[1].to_rudder()["batchedRequest"]
    assert "GZIP" not in engage["body"] and "GZIP" in merge["body"]
    assert "userId" not in track


def test_errors_become_items_sorted_by_job():
    items = mpsim.transform_batch([ev(1, "A", message()), ev(2, "B", message(type="bogus")), ev(3, "C", message())],
                                  now=NOW)
    assert [i.job_ids for i in items] == [[1, 3], [2]]
    err = items[1].to_rudder()
    assert list(err) == ["metadata", "batched", "statusCode", "error", "statTags", "destination"]
    assert err["statusCode"] == 400 and err["error"] == "Event type 'bogus' is not supported"
    assert err["statTags"]["errorType"] == "instrumentation"


def test_mixed_destinations_use_the_first_events_endpoint_and_auth():
    eu = {"Config": {"token": "T2", "dataResidency": "eu"}}
    items = mpsim.transform_batch([ev(1, "A", message(), {"Config": {"token": "T1"}}), ev(2, "B", message(), eu)],
                                  now=NOW)
    (item,) = items
    req = item.requests[0]
    assert req.headers["Authorization"] == "Basic VDE6" and req.host == "api.mixpanel.com"
    assert len(req.records) == 2


def test_201_groups_merge_into_one_item():
    cfg = {"Config": {"token": "tok", "groupKeySettings": [{"groupKey": "groupId"}]}}
    items = mpsim.transform_batch([ev(i, f"u{i}", message("group", groupId=f"g{i}"), cfg) for i in range(1, 202)],
                                  now=NOW)
    (item,) = items
    assert len(item.metadata) == 201
    assert [(r.path, len(r.records)) for r in item.requests] == [("engage", 201), ("groups", 200), ("groups", 1)]


def test_prebuilt_requests_pass_through():
    built = mpsim.transform(message(), DEST, now=NOW)[0].to_rudder()
    built["statusCode"] = 200
    items = mpsim.transform_batch([ev(1, "A", built), ev(2, "B", built), ev(3, "C", message())], now=NOW)
    # a built request's message type is "REST", so it is chunked apart from the track event
    assert [i.job_ids for i in items] == [[1, 2], [3]]
    assert items[0].requests[0].records == items[1].requests[0].records * 2


def test_items_read_like_the_reference_router_output():
    (item,) = mpsim.transform_batch([ev(1, "A", message())], now=NOW)
    assert item["batched"] is True and item.get("error") is None and "batchedRequest" in item.keys()
    assert item["batchedRequest"]["endpointPath"] == "import"


def test_a_batch_leaves_the_cyclic_collector_as_it_was_and_its_output_settled():
    import gc

    events = [ev(i, f"u{i % 7}", message()) for i in range(1, 301)]
    assert gc.isenabled()
    items = mpsim.transform_batch(events, now=NOW)
    assert gc.isenabled()
    # the output holds no cycles: it went straight to the oldest generation, unscanned
    assert any(o is items[0] for o in gc.get_objects(generation=2))
    gc.disable()
    try:
        mpsim.transform_batch(events, now=NOW)
        assert not gc.isenabled()
    finally:
        gc.enable()
    kept = [[i] for i in range(10)]
    gc.freeze()  # a caller that freezes its own objects keeps them frozen
    try:
        frozen = gc.get_freeze_count()
        mpsim.transform_batch(events, now=NOW)
        # (a frozen object may still be freed by reference counting, but nothing was unfrozen)
        assert gc.get_freeze_count() > frozen - 100 and gc.isenabled()
    finally:
        gc.unfreeze()
    assert kept


def test_a_broken_prebuilt_request_still_stops_the_batch_with_its_error():
    import pytest

    broken = {"statusCode": 200, "type": "REST"}  # looks built, has no endpoint
    events = [ev(1, "A", message()), ev(2, "B", broken), ev(3, "C", message(type="bogus"))]
    with pytest.raises(mpsim.MpsimError, match="needs an 'endpoint'"):
        mpsim.transform_batch(events, now=NOW)
