"""Generate the JSON Lines sessions in fixtures/logs/ (deterministic: fixed seed and clock).

Each log is a realistic RudderStack session with the mistakes support tickets are made of; the
comments say which. Run ``python tools/make_logs.py`` after changing it and commit the logs.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "fixtures" / "logs"
START = datetime(2024, 3, 1, 8, 0, tzinfo=timezone.utc)
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36"
PAGES = ["Home", "Pricing", "Docs", "Blog", "Checkout"]
PRODUCTS = [("sku-1", "Trail Shoe", 89.0), ("sku-2", "Rain Jacket", 129.0), ("sku-3", "Socks", 9.5)]


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def web_shop(rng: random.Random) -> list[dict]:
    """Original ID merge, old name mapping (the default): firstName lands as $firstName.

    Mistakes: a server job sends ``userId: "null"``; one source sends the timestamp in seconds
    (RudderStack drops it as older than 5 years); revenue as a string; a ``$Email`` trait.
    """
    events = []
    t = START
    for n in range(60):
        anon = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        user = f"user-{n:03d}"
        ctx = {"ip": f"203.0.113.{n % 250}", "userAgent": UA, "library": {"name": "RudderLabs JavaScript SDK",
                                                                          "version": "3.0.1"}}
        for page in rng.sample(PAGES, 3):
            t += timedelta(seconds=rng.randrange(5, 90))
            events.append({"type": "page", "name": page, "anonymousId": anon, "channel": "web",
                           "messageId": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "timestamp": iso(t),
                           "properties": {"path": "/" + page.lower()}, "context": ctx})
        if rng.random() < 0.6:
            t += timedelta(seconds=30)
            traits = {"email": f"{user}@example.com", "firstName": rng.choice(["Ada", "Grace", "Alan", "Edsger"]),
                      "lastName": rng.choice(["Lovelace", "Hopper", "Turing", "Dijkstra"]), "plan": "free"}
            if n % 17 == 0:
                traits["$Email"] = traits["email"]  # mistake: a reserved name with a case slip
            events.append({"type": "identify", "userId": user, "anonymousId": anon, "channel": "web",
                           "messageId": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "timestamp": iso(t),
                           "context": {**ctx, "traits": traits}})
            sku, name, price = rng.choice(PRODUCTS)
            t += timedelta(seconds=60)
            revenue: object = price if n % 13 else f"{price:.2f}"  # mistake: revenue as a string
            events.append({"type": "track", "event": "Order Completed", "userId": user, "anonymousId": anon,
                           "channel": "web", "messageId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                           "timestamp": iso(t), "properties": {"order_id": f"o-{n}", "revenue": revenue,
                                                               "products": [{"sku": sku, "name": name}]},
                           "context": ctx})
    for n in range(0, 60, 12):
        # mistake: a nightly job with no user sends the literal "null"
        events.append({"type": "track", "event": "Invoice Sent", "userId": "null", "channel": "server",
                       "messageId": f"job-{n}", "timestamp": iso(START + timedelta(hours=12, minutes=n)),
                       "properties": {"invoice": f"inv-{n}"}})
    for n in range(3):
        # mistake: epoch seconds in timestamp; RudderStack reads them as milliseconds (1970)
        events.append({"type": "track", "event": "Legacy Import", "userId": f"user-{n:03d}", "channel": "server",
                       "messageId": f"legacy-{n}", "timestamp": int(START.timestamp()) + n})
    return events


def mobile_simplified(rng: random.Random) -> list[dict]:
    """Simplified ID merge on a shared tablet: users log out and in without a new anonymous id.

    Mistakes: the app keeps one anonymousId for everyone (Mixpanel refuses to link the device to a
    second user); a debug property holds a 300-item list; a free-text field runs past 255 characters.
    """
    events = []
    device = "2f0b6c8e-6c2d-4e63-9e1b-3c1d3e5b7a10"
    ctx = {"device": {"id": device, "type": "ios", "model": "iPad13,1", "manufacturer": "Apple", "token": "apns-1"},
           "os": {"name": "iPadOS", "version": "17.3"}, "app": {"name": "Shop", "version": "4.2.0", "build": "420"},
           "library": {"name": "rudder-ios-library", "version": "1.24.0"}}
    t = START
    for shift, user in enumerate(["clerk-amy", "clerk-bob", "clerk-cho"]):
        t += timedelta(hours=1)
        events.append({"type": "identify", "userId": user, "anonymousId": device, "channel": "mobile",
                       "messageId": f"id-{user}", "timestamp": iso(t),
                       "context": {**ctx, "traits": {"name": user.split("-")[1].title(), "role": "clerk"}}})
        for i in range(50):
            t += timedelta(minutes=rng.randrange(1, 4))
            props: dict = {"register": shift + 1, "total": round(rng.uniform(3, 90), 2)}
            if i == 7 and shift == 1:
                props["debug_trace"] = list(range(300))  # mistake: too many list items
            if i == 9 and shift == 2:
                props["note"] = "customer asked about " * 20  # mistake: longer than 255 characters
            events.append({"type": "track", "event": "Sale Rung Up", "userId": user, "anonymousId": device,
                           "channel": "mobile", "messageId": f"sale-{shift}-{i}", "timestamp": iso(t),
                           "properties": props, "context": ctx})
        events.append({"type": "screen", "name": "Logged Out", "anonymousId": device, "channel": "mobile",
                       "messageId": f"out-{user}", "timestamp": iso(t + timedelta(minutes=1)), "context": ctx})
    return events


def b2b_groups(rng: random.Random) -> list[dict]:
    """B2B app with group analytics. Mistakes: events carry ``company_id`` but the Mixpanel project
    only declares ``groupId``; a group trait uses a reserved-looking ``$plan``."""
    events = []
    t = START
    for c in range(10):
        company = f"co-{c:02d}"
        for u in range(4):
            user = f"{company}-user-{u}"
            t += timedelta(minutes=3)
            events.append({"type": "group", "userId": user, "anonymousId": str(uuid.UUID(int=rng.getrandbits(128),
                                                                                          version=4)),
                           "groupId": company, "messageId": f"g-{user}", "timestamp": iso(t),
                           "traits": {"name": f"Company {c}", "company_id": company, "seats": 10 + c,
                                      "$plan": "team"}})
            for i in range(3):
                t += timedelta(minutes=1)
                events.append({"type": "track", "event": rng.choice(["Report Viewed", "Dashboard Shared"]),
                               "userId": user, "messageId": f"e-{user}-{i}", "timestamp": iso(t),
                               "properties": {"company_id": company}})
    return events


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, make in [("web-shop-original", web_shop), ("mobile-shared-device-simplified", mobile_simplified),
                       ("b2b-groups", b2b_groups)]:
        events = make(random.Random(2024))
        (OUT / f"{name}.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
        print(f"{name}: {len(events)} events")


if __name__ == "__main__":
    main()
