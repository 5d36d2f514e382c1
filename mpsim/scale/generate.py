"""Realistic RudderStack event histories of any size, in RudderStack's object-storage layout.

``rudder-logs/<source_id>/<MM-DD-YYYY>/<epoch>.<source_id>.json.gz``: gzipped JSON Lines of raw
events, one file per source and hour. A population of users lives through the history: anonymous
visits on one or more devices (some shared by several people), sign-ups and logins (identify),
logouts (a new anonymous id), renamed accounts (alias), companies (group), and the mistakes real
data carries (placeholder ids, resent messages, events without a name, clocks in the future,
non-UUID anonymous ids, ids as numbers). Deterministic by seed; memory holds one hour of events
and the population, never the history.
"""

from __future__ import annotations

import gzip
import json
import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

#: What a session's events are, with weights (the rest of a session's shape is in ``_session``).
TRACK_EVENTS = (("Product Viewed", 30), ("Product Added", 10), ("Cart Viewed", 6), ("Checkout Started", 4),
                ("Order Completed", 2), ("Search", 12), ("Video Played", 5), ("Share", 2))
PAGES = ("Home", "Pricing", "Docs", "Blog", "Product", "Cart", "Account")
PLANS = ("free", "starter", "pro", "enterprise")
#: mistakes and their probability per event (or per identity event where it says so)
MISTAKES = {
    "resend": 0.02,            # the SDK sends the same message again (same messageId): Mixpanel dedups
    "placeholder_id": 0.002,   # userId "null" / "undefined" from a template bug
    "no_event_name": 0.002,    # track without a name: RudderStack refuses it
    "future": 0.001,           # a client clock a day ahead: Mixpanel refuses it
    "numeric_id": 0.01,        # a backend sends the user id as a number
    "non_uuid_anon": 0.05,     # share of devices with a non-UUID anonymous id (Original mode refuses $identify)
    "shared_device": 0.06,     # share of users who also use a device of another user
}


@dataclass
class _Device:
    anonymous_id: str
    user_agent: str
    owners: list[int] = field(default_factory=list)


@dataclass
class _User:
    number: int
    user_id: str
    devices: list[int]
    signup_hour: int
    company: int
    logged_in: set[int] = field(default_factory=set)  # devices this user is logged in on
    renamed: bool = False


@dataclass(frozen=True)
class HistorySpec:
    """What to generate: ``events`` in total over ``days`` from ``start``, across ``sources``."""

    events: int
    seed: int = 0
    start: str = "2024-01-01"
    days: int | None = None
    sources: tuple[str, ...] = ("web-source", "backend-source")
    events_per_user: int = 40

    @property
    def hours(self) -> int:
        days = self.days or max(1, math.ceil(self.events / 100_000))
        return days * 24

    @property
    def start_time(self) -> datetime:
        return datetime.fromisoformat(self.start).replace(tzinfo=timezone.utc)

    @property
    def end_time(self) -> datetime:
        return self.start_time + timedelta(hours=self.hours)


_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
)


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


class _World:
    """The population and its state, advanced one hour at a time."""

    def __init__(self, spec: HistorySpec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        n_users = max(2, spec.events // spec.events_per_user)
        self.users: list[_User] = []
        self.devices: list[_Device] = []
        self.message = 0
        for number in range(n_users):
            devices = [self._new_device(number) for _ in range(1 + (self.rng.random() < 0.35)
                                                             + (self.rng.random() < 0.1))]
            company = self.rng.randrange(max(1, n_users // 25))
            self.users.append(_User(number, f"user-{number:07d}", devices,
                                    self.rng.randrange(spec.hours), company))
        for user in self.users:  # shared devices: a family laptop, a shop terminal
            if self.rng.random() < MISTAKES["shared_device"]:
                other = self.users[self.rng.randrange(n_users)]
                device = other.devices[0]
                if device not in user.devices:
                    user.devices.append(device)
                    self.devices[device].owners.append(user.number)
        # activity is skewed: a few users make many events
        self.weights = [1.0 / (1 + (i % 97)) ** 0.6 for i in range(n_users)]
        self.rng.shuffle(self.weights)

    def _new_device(self, owner: int) -> int:
        if self.rng.random() < MISTAKES["non_uuid_anon"]:
            anonymous_id = f"anon-{self.rng.getrandbits(48):012x}"
        else:
            anonymous_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        self.devices.append(_Device(anonymous_id, self.rng.choice(_AGENTS), [owner]))
        return len(self.devices) - 1

    def _next_message_id(self) -> str:
        self.message += 1
        return f"{self.spec.seed:x}-{self.message:012x}"

    def hour(self, hour: int, count: int) -> dict[str, list[dict[str, Any]]]:
        """``count`` events in hour ``hour``, per source, in time order."""
        rng = self.rng
        begin = self.spec.start_time + timedelta(hours=hour)
        events: list[tuple[float, str, dict[str, Any]]] = []
        while len(events) < count:
            user = self.users[rng.choices(range(len(self.users)), self.weights)[0]] \
                if len(self.users) < 5000 else self.users[int(len(self.users) * rng.random() ** 1.6)]
            for offset, source, event in self._session(user, hour, begin):
                events.append((offset, source, event))
        events = events[:count]
        events.sort(key=lambda item: item[0])
        out: dict[str, list[dict[str, Any]]] = {s: [] for s in self.spec.sources}
        for _, source, event in events:
            out[source].append(event)
        return out

    def _base(self, kind: str, t: datetime, device: _Device, user: _User | None, rng: random.Random) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": kind,
            "messageId": self._next_message_id(),
            "anonymousId": device.anonymous_id,
            "channel": "web",
            "originalTimestamp": _iso(t),
            "timestamp": _iso(t),
            "sentAt": _iso(t + timedelta(milliseconds=rng.randrange(50, 900))),
            "receivedAt": _iso(t + timedelta(milliseconds=rng.randrange(900, 3000))),
            "context": {
                "library": {"name": "RudderLabs JavaScript SDK", "version": "3.7.0"},
                "userAgent": device.user_agent,
                "ip": f"10.{user.number % 250 if user else 0}.{rng.randrange(250)}.{rng.randrange(1, 250)}",
                "locale": "en-US",
            },
        }
        if user is not None:
            event["userId"] = user.user_id
        return event

    def _session(self, user: _User, hour: int, begin: datetime) -> Iterator[tuple[float, str, dict[str, Any]]]:
        rng = self.rng
        web, backend = self.spec.sources[0], self.spec.sources[-1]
        device_index = rng.choice(user.devices)
        device = self.devices[device_index]
        known = hour >= user.signup_hour
        logged_in = device_index in user.logged_in
        offset = rng.random() * 3000
        length = max(1, int(rng.expovariate(1 / 8)))

        def at(seconds: float) -> datetime:
            return begin + timedelta(seconds=min(3599.0, seconds), microseconds=rng.randrange(1000) * 1000)

        clock = offset
        if known and not logged_in and rng.random() < 0.6:  # login (or sign-up) on this device
            event = self._base("identify", at(clock), device, user, rng)
            event["context"]["traits"] = {"email": f"{user.user_id}@example.com", "plan": rng.choice(PLANS),
                                          "firstName": f"First{user.number}", "lastName": f"Last{user.number}"}
            if hour == user.signup_hour:
                event["context"]["traits"]["createdAt"] = _iso(at(clock))
            user.logged_in.add(device_index)
            logged_in = True
            yield clock, web, event
            clock += rng.random() * 30
            if user.company and rng.random() < 0.3:
                group = self._base("group", at(clock), device, user, rng)
                group["groupId"] = f"company-{user.company:05d}"
                group["traits"] = {"company": group["groupId"], "name": f"Company {user.company}",
                                   "employees": 5 + user.company % 400}
                yield clock, web, group
        for _ in range(length):
            clock += rng.expovariate(1 / 40)
            me = user if logged_in else None
            if rng.random() < 0.35:
                event = self._base("page", at(clock), device, me, rng)
                page = rng.choice(PAGES)
                event["name"] = page
                event["properties"] = {"path": f"/{page.lower()}", "url": f"https://shop.example.com/{page.lower()}",
                                       "title": page, "referrer": ""}
            else:
                event = self._base("track", at(clock), device, me, rng)
                name = rng.choices([n for n, _ in TRACK_EVENTS], [w for _, w in TRACK_EVENTS])[0]
                event["event"] = name
                event["properties"] = {"product_id": f"p{rng.randrange(500)}", "price": round(rng.random() * 200, 2),
                                       "currency": "USD"}
                if me is not None and user.company and rng.random() < 0.5:
                    event["properties"]["company"] = f"company-{user.company:05d}"
                if name == "Order Completed":
                    event["properties"]["revenue"] = event["properties"]["price"]
            self._mistakes(event, rng)
            yield clock, web, event
            if rng.random() < MISTAKES["resend"]:
                yield clock + 0.001, web, json.loads(json.dumps(event))
        if logged_in and rng.random() < 0.08:  # server-side event for this user, from the backend source
            event = self._base("track", at(clock + 1), device, user, rng)
            del event["anonymousId"]
            event["event"] = "Subscription Renewed"
            event["properties"] = {"plan": rng.choice(PLANS), "amount": rng.choice((9, 29, 99))}
            if rng.random() < MISTAKES["numeric_id"]:
                event["userId"] = user.number
            yield clock + 1, backend, event
        if logged_in and rng.random() < 0.004 and not user.renamed:  # the account's id changes
            event = self._base("alias", at(clock + 2), device, user, rng)
            event["previousId"] = user.user_id
            user.user_id = f"member-{user.number:07d}"
            event["userId"] = user.user_id
            user.renamed = True
            yield clock + 2, web, event
        if logged_in and rng.random() < 0.1:  # logout: the SDK resets and the device gets a new anonymous id
            user.logged_in.discard(device_index)
            if rng.random() < 0.5:
                device.anonymous_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def _mistakes(self, event: dict[str, Any], rng: random.Random) -> None:
        roll = rng.random()
        if roll < MISTAKES["placeholder_id"]:
            event["userId"] = rng.choice(("null", "undefined", "anonymous"))
        elif roll < MISTAKES["placeholder_id"] + MISTAKES["no_event_name"] and event["type"] == "track":
            del event["event"]
        elif roll < MISTAKES["placeholder_id"] + MISTAKES["no_event_name"] + MISTAKES["future"]:
            future = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")) + timedelta(days=400)
            event["timestamp"] = event["originalTimestamp"] = _iso(future)


def history_files(spec: HistorySpec) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """``(relative path, events)`` for each file of the history, in order (one hour per step)."""
    world = _World(spec)
    hours = spec.hours
    per_hour = [spec.events // hours + (1 if h < spec.events % hours else 0) for h in range(hours)]
    for hour, count in enumerate(per_hour):
        if not count:
            continue
        begin = spec.start_time + timedelta(hours=hour)
        for source, events in world.hour(hour, count).items():
            if events:
                day = begin.strftime("%m-%d-%Y")
                yield f"rudder-logs/{source}/{day}/{int(begin.timestamp())}.{source}.json.gz", events


@dataclass
class Generated:
    """What ``generate`` wrote: where, how many events and files, and the moment just after the history."""

    path: str
    events: int
    files: int
    end: str


def generate(out: str | Path, events: int, *, seed: int = 0, start: str = "2024-01-01", days: int | None = None,
             sources: tuple[str, ...] = ("web-source", "backend-source")) -> Generated:
    """Write a history of exactly ``events`` events under ``out`` (a local folder or any fsspec URL).

    Same arguments, same bytes: gzip files are written without timestamps.
    """
    if events < 1:
        raise ValueError(f"events must be a positive number, not {events!r}")
    _refuse_existing(f"{str(out).rstrip('/')}/rudder-logs")
    spec = HistorySpec(events, seed, start, days, tuple(sources))
    written = files = 0
    for relative, batch in history_files(spec):
        payload = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in batch).encode()
        _write(f"{str(out).rstrip('/')}/{relative}", gzip.compress(payload, compresslevel=5, mtime=0))
        written += len(batch)
        files += 1
    return Generated(str(out), written, files, _iso(spec.end_time))


def _refuse_existing(folder: str) -> None:
    """A history is never mixed into another one: files left from an earlier run would join it silently."""
    import os

    if "://" in folder:
        import fsspec

        fs, _, (path,) = fsspec.get_fs_token_paths(folder)
        exists = fs.exists(path)
    else:
        exists = os.path.exists(folder)
    if exists:
        raise FileExistsError(f"{folder} already exists: generate into an empty folder (or remove it first)")


def _write(target: str, data: bytes) -> None:
    if "://" in target:
        import fsspec  # only for remote targets; local files need nothing beyond the standard library

        with fsspec.open(target, "wb") as handle:
            handle.write(data)
        return
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
