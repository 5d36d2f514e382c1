"""The router path: many events → batched Mixpanel requests, as RudderStack's router sends them."""

from __future__ import annotations

import html
import json
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

from .._dates import clock_ms
from .._gc import paused_gc
from .._js import UNDEFINED, truthy
from ..errors import MpsimError, TransformError
from ..request import Request
from .common import Settings
from .mappings import BATCH_LIMITS
from .processor import transform_with

#: Order in which an endpoint is recognised and in which a chunk's batches are output.
BUCKET_ORDER = ("engage", "groups", "import")


@dataclass
class BatchItem:
    """One router output item: a batch of requests for some jobs, or one job's error."""

    metadata: list[dict[str, Any]]
    destination: Any
    requests: list[Request] = field(default_factory=list)
    status_code: int = 200
    error: str | None = None
    stat_tags: dict[str, Any] | None = None
    #: after jobs were merged, ``batchedRequest`` is a list of requests
    merged: bool = False

    @property
    def batched(self) -> bool:
        return self.error is None

    @property
    def job_ids(self) -> list[Any]:
        return [m.get("jobId") for m in self.metadata]

    def to_rudder(self) -> dict[str, Any]:
        if self.error is not None:
            return {"metadata": self.metadata, "batched": False, "statusCode": self.status_code,
                    "error": self.error, "statTags": self.stat_tags, "destination": self.destination}
        batched: Any = [r.to_rudder() for r in self.requests] if self.merged else self.requests[0].to_rudder()
        return {"batchedRequest": batched, "metadata": self.metadata, "batched": True,
                "statusCode": self.status_code, "destination": self.destination}

    # Read like the reference's router item too: item["batchedRequest"], item.get("error").
    def __getitem__(self, key: str) -> Any:
        return self.to_rudder()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.to_rudder().get(key, default)

    def keys(self) -> Any:
        return self.to_rudder().keys()

    def _repr_html_(self) -> str:
        from ..notebook.views import badge, output_html, request_body_html

        head = f"<b>jobs {html.escape(str(self.job_ids))}</b> "
        if self.error is not None:
            return output_html(head + badge(f"{self.status_code}: {self.error}", "error"), "batch")
        return output_html(head + "".join(request_body_html(r) for r in self.requests), "batch")


def _user_key(user: Any) -> Any:
    """A hashable key for ``metadata.userId``; a missing userId is a key of its own."""
    if user is UNDEFINED:
        return None
    if type(user) in (str, int, float, bool) or user is None:
        return (type(user), user)
    return (type(user), json.dumps(user, sort_keys=True, default=str))


def _chunks(events: list[dict[str, Any]]) -> list[list[int]]:
    """Group events (by position) by type while keeping each user's events in order across types
    (spec §6.1).

    An event joins the first chunk of its type that is not before its user's previous chunk. The
    chunks of each string type are indexed by position, so finding that chunk is a binary search,
    not a scan over every chunk since the user's last one.
    """
    chunks: list[tuple[Any, list[int]]] = []
    by_kind: dict[str, list[int]] = {}  # string type → positions of its chunks, ascending
    last: dict[Any, int] = {}
    for position, event in enumerate(events):
        metadata = event.get("metadata") or {}
        user = metadata.get("userId", UNDEFINED) if isinstance(metadata, dict) else UNDEFINED
        user_key = user if type(user) is str else _user_key(user)  # a string never equals the tuple keys
        message = event.get("message")
        kind = message.get("type") if isinstance(message, dict) else None
        start = last.get(user_key, 0)
        index: int | None
        if type(kind) is str:
            positions = by_kind.setdefault(kind, [])
            at = bisect_left(positions, start)
            index = positions[at] if at < len(positions) else None
        else:  # rare: a type that is not a string (it never equals a string type)
            index = next((i for i in range(start, len(chunks)) if chunks[i][0] == kind), None)
        if index is None:
            index = len(chunks)
            chunks.append((kind, []))
            if type(kind) is str:
                positions.append(index)
        chunks[index][1].append(position)
        last[user_key] = index
    return [members for _, members in chunks]


def _bucket(path_or_endpoint: str) -> str | None:
    return next((b for b in BUCKET_ORDER if b in path_or_endpoint), None)


def _batch(members: list[tuple[Request, dict[str, Any], Any]], gzip: bool) -> BatchItem:
    first = members[0][0]
    records: list[dict[str, Any]] = []
    texts: list[str] | None = []
    for request, _, _ in members:
        records.extend(request.records)
        if texts is not None and request._texts is not None:
            texts.extend(request._texts)
        else:
            texts = None
    request = Request(path=first.path, endpoint=first.endpoint, headers=dict(first.headers),
                      params=dict(first.params), records=records, method=first.method,
                      gzip=gzip and "import" in first.endpoint, batched=True, _texts=texts)
    return BatchItem(metadata=[m for _, m, _ in members], destination=members[0][2], requests=[request])


def _merge_pass(items: list[BatchItem], *, tidy_all: bool = True) -> tuple[list[BatchItem], set[int]]:
    """Fold items that share a job id into the first of them (spec §6.7).

    Returns the kept items and the ids of those that took in others. Their metadata is then
    deduplicated and sorted by job, and so is every item's with ``tidy_all`` (the first pass).
    """
    owner: dict[Any, BatchItem] = {}
    kept: list[BatchItem] = []
    grew: set[int] = set()
    for item in items:
        job_ids = item.job_ids
        target = None
        for job in job_ids:
            target = owner.get(job)
            if target is not None:
                break
        if target is None:
            kept.append(item)
            for job in job_ids:
                owner[job] = item
            continue
        target.requests.extend(item.requests)
        target.merged = True
        grew.add(id(target))
        for metadata in item.metadata:
            target.metadata.append(metadata)
            owner.setdefault(metadata.get("jobId"), target)
    for item in kept:
        if tidy_all or id(item) in grew:
            item.metadata = _unique_sorted(item.metadata)
    return kept, grew


def _unique_sorted(metadata: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first metadata of each job, in job order (numbers ascending, then the rest as text).

    Every metadata here is an object (``transform_batch`` checks them first)."""
    jobs: list[Any] = [item.get("jobId") for item in metadata]
    if set(map(type, jobs)) == {int}:  # the usual case: integer job ids, sorted without key tuples
        unique = sorted(set(jobs))
        if jobs == unique:  # already in order, once each
            return metadata
        first = dict(zip(reversed(jobs), reversed(metadata), strict=True))  # each job's first metadata
        return [first[job] for job in unique]
    seen: dict[Any, dict[str, Any]] = {}
    for job, item in zip(jobs, metadata, strict=True):
        seen.setdefault(job, item)
    return sorted(seen.values(), key=_sort_key)


def _item_order(item: BatchItem) -> tuple[int, Any]:
    """Items are output in the order of their smallest job."""
    jobs: list[Any] = [m.get("jobId") for m in item.metadata]
    if jobs and set(map(type, jobs)) == {int}:
        return (0, min(jobs))
    return min(map(_sort_key, item.metadata), default=(2, ""))


def _sort_key(metadata: dict[str, Any]) -> tuple[int, Any]:
    job = metadata.get("jobId")
    return (0, job) if isinstance(job, (int, float)) and not isinstance(job, bool) else (1, str(job))


#: What a ``metadata.jobId`` may be: the router keys jobs by it (spec §6: numeric; strings are kept).
_JOB_ID_TYPES = (int, float, str, bool, type(None))
_PLAIN_JOB_IDS = frozenset(_JOB_ID_TYPES)


def _check_metadata(metadata: Any, index: int) -> None:
    """The router reads ``metadata.jobId`` and ``metadata.userId`` of every input (spec §6)."""
    if metadata is UNDEFINED:
        raise MpsimError(f"events[{index}] has no metadata: the router needs {{jobId, userId}} for every event")
    if not isinstance(metadata, dict):
        raise MpsimError(f"events[{index}].metadata must be an object {{jobId, userId}}, not {type(metadata).__name__}")
    job = metadata.get("jobId")
    if not isinstance(job, _JOB_ID_TYPES):
        raise MpsimError(f"events[{index}].metadata.jobId must be a number (or a string), not {type(job).__name__}")


def transform_batch(events: list[dict[str, Any]], *, gzip: bool = False, now: Any = None) -> list[BatchItem]:
    """Transform and batch events the way RudderStack's router does (spec §6).

    ``events`` are ``{message, destination, metadata}`` objects; ``metadata.jobId`` identifies a
    job and ``metadata.userId`` keeps one user's events in order. ``gzip`` says the caller accepts
    gzip, so /import batches travel as ``body.GZIP.payload``.
    """
    if not isinstance(events, list):
        raise MpsimError(f"events must be a list of {{message, destination, metadata}}, not {type(events).__name__}")
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise MpsimError(f"events[{index}] must be an object {{message, destination, metadata}}, "
                             f"not {type(event).__name__}")
    for index, event in enumerate(events):
        metadata = event.get("metadata", UNDEFINED)
        if type(metadata) is not dict or type(metadata.get("jobId")) not in _PLAIN_JOB_IDS:
            _check_metadata(metadata, index)
    # The transformer builds trees (dicts, lists, requests) and no reference cycles, so the cyclic
    # collector would only re-walk the growing batch, finding nothing to free.
    with paused_gc(settle=True):
        return _transform_batch(events, gzip, clock_ms(now))


def _transform_batch(events: list[dict[str, Any]], gzip: bool, now_ms: float) -> list[BatchItem]:
    items: list[BatchItem] = []
    # Within one call the inputs stay as they are, so a destination object shared by many events
    # is compiled (or looked up by content) once, and each endpoint's bucket is found once.
    settings_by_object: dict[int, Settings] = {}
    bucket_by_endpoint: dict[str, str | None] = {}
    # Each event is transformed in input order (its objects are near each other in memory); what
    # an event gives, or what it raises, is then batched, recorded or raised in chunk order.
    outcomes: list[Any] = []
    for event in events:
        destination: Any = event.get("destination")
        message: Any = event.get("message")
        try:
            status = message.get("statusCode") if isinstance(message, dict) else None
            if status is not None and truthy(status):  # a request built earlier passes through
                outcomes.append([Request.from_rudder(message)])
                continue
            settings = settings_by_object.get(id(destination))
            if settings is None:
                settings = settings_by_object[id(destination)] = Settings.from_destination(destination)
            if not isinstance(message, dict):
                raise TransformError(f"message must be a JSON object, not {type(message).__name__}")
            outcomes.append(transform_with(message, settings, now_ms))
        except Exception as exc:  # noqa: BLE001 - kept, and raised below in chunk order unless a TransformError
            outcomes.append(exc)
    for chunk in _chunks(events):
        buckets: dict[str, list[tuple[Request, dict[str, Any], Any]]] = {"engage": [], "groups": [], "import": []}
        errors: list[BatchItem] = []
        for position in chunk:
            event, outcome = events[position], outcomes[position]
            metadata: Any = event.get("metadata")
            if isinstance(outcome, Exception):
                if not isinstance(outcome, TransformError):
                    raise outcome
                errors.append(BatchItem(metadata=[metadata], destination=event.get("destination"),
                                        status_code=outcome.status_code, error=outcome.message,
                                        stat_tags=outcome.stat_tags))
                continue
            for request in outcome:
                endpoint = request.endpoint
                bucket = bucket_by_endpoint.get(endpoint, UNDEFINED)
                if bucket is UNDEFINED:
                    bucket = bucket_by_endpoint[endpoint] = _bucket(endpoint)
                if bucket is not None:
                    buckets[bucket].append((request, metadata, event.get("destination")))
        for name in BUCKET_ORDER:
            members = buckets[name]
            limit = BATCH_LIMITS[name]
            for start in range(0, len(members), limit):
                items.append(_batch(members[start:start + limit], gzip))
        items.extend(errors)
    items, grew = _merge_pass(items)
    if grew:  # a second pass catches jobs that met only through a merge; it changes nothing otherwise
        items, _ = _merge_pass(items, tidy_all=False)
    items.sort(key=_item_order)
    return items


__all__ = ["BatchItem", "transform_batch"]
