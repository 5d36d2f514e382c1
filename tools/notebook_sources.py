"""The source cells of notebooks/*.ipynb, kept as Python so they are easy to review and edit.

``python tools/notebook_sources.py`` writes the notebooks (without outputs); then run
``python tools/execute_notebooks.py notebooks/*.ipynb`` to store the outputs nbval compares.
Cells whose output may legitimately vary (widgets, rich HTML tables, plots) start with
``# NBVAL_IGNORE_OUTPUT``: they still run in CI, their output is just not compared.
"""

from __future__ import annotations

from pathlib import Path

import nbformat as nbf

IGNORE = "# NBVAL_IGNORE_OUTPUT\n"
md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
NOTEBOOKS: dict[str, list] = {}

NOTEBOOKS["01-quickstart"] = [
    md("# Quickstart: what does Mixpanel receive, and what does it end up holding?\n\n"
       "Paste a RudderStack event and the destination settings a customer has. `mpsim.transform` returns exactly "
       "the Mixpanel requests RudderStack's Mixpanel destination sends; `mpsim.Simulator` receives them and keeps "
       "the state Mixpanel would keep. The clock is frozen with `now=` so this notebook gives the same output on "
       "every run."),
    code('''import json
import mpsim

NOW = "2024-03-02T00:00:00Z"
event = {
    "type": "track",
    "event": "Order Completed",
    "userId": "user-ada",
    "anonymousId": "4f7c2a9e-1b3d-4e5f-8a6b-7c8d9e0f1a2b",
    "messageId": "1709283900000-9b2e6c1a-0004-4d2e-9f3a-5b6c7d8e9f04",
    "timestamp": "2024-03-01T09:05:00.000Z",
    "channel": "web",
    "properties": {"order_id": "o-1001", "revenue": 98.0, "items": 2},
    "context": {
        "ip": "203.0.113.7",
        "traits": {"email": "ada@example.com", "plan": "pro"},
        "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    },
}
config = {"token": "demo-token", "propIncrements": [{"property": "items"}]}'''),
    md("## The requests\n\nA track event with `revenue` becomes three requests: the revenue transaction and the "
       "increment go to `/engage`, the event itself to `/import`."),
    code('''requests = mpsim.transform(event, config, now=NOW)
for request in requests:
    print(request.method, request.endpoint, request.params)
    print(json.dumps(request.records, indent=2))'''),
    md("Every request renders as HTML when it is the last thing in a cell, and `to_rudder()` gives the exact shape "
       "RudderStack's transformer returns:"),
    code(IGNORE + "requests[-1]"),
    code('print(json.dumps(requests[-1].to_rudder()["body"], indent=2))'),
    md("## Send them to a simulated Mixpanel\n\n`sim.send` delivers the requests without HTTP and returns "
       "Mixpanel's answers; the state reads as pandas tables."),
    code('''sim = mpsim.Simulator(token="demo-token", now=NOW)
for reply in sim.send(requests):
    print(reply.status, reply.body)'''),
    code('''print(sim.events[["time", "event", "distinct_id", "insert_id"]].to_string(index=False))
print()
print(sim.profile("user-ada"))'''),
    code(IGNORE + "sim  # the whole state as HTML"),
    md("## Settings change the payload\n\nIn Simplified ID merge the event carries `$device_id` and `$user_id`, "
       "and `distinct_id` is the user id:"),
    code('''simplified = mpsim.transform(event, {**config, "identityMergeApi": "simplified"}, now=NOW)
props = simplified[-1].records[0]["properties"]
{k: props[k] for k in ("distinct_id", "$device_id", "$user_id")}'''),
    md("## Errors are RudderStack's own\n\nA bad event raises `mpsim.TransformError` with RudderStack's exact "
       "message, its status code and its kind (`instrumentation` for a bad event, `configuration` for bad "
       "settings):"),
    code('''try:
    mpsim.transform({**event, "messageId": 12345}, config, now=NOW)
except mpsim.TransformError as error:
    print(error.status_code, error.kind, "-", error.message)'''),
    md("## The playground\n\nThe same, interactively: paste events, pick settings (or paste the destination JSON), "
       "transform or send, and look at the requests, findings, state, changes and identity graph."),
    code(IGNORE + "mpsim.playground(sim=sim, config=config, now=NOW)"),
]

NOTEBOOKS["02-identity-merge"] = [
    md("# One user journey under Original and Simplified ID merge\n\n"
       "An anonymous visitor browses, signs up, buys, logs out; then a second person signs in **on the same "
       "browser without a new anonymous id**. The same RudderStack events go to two projects, one per ID-merge "
       "mode."),
    code('''import mpsim
from IPython.display import HTML, display
from mpsim.notebook import clusters_svg

NOW = "2024-03-02T00:00:00Z"
BROWSER = "4f7c2a9e-1b3d-4e5f-8a6b-7c8d9e0f1a2b"

def at(minute):
    return f"2024-03-01T09:{minute:02d}:00.000Z"

journey = [
    {"type": "page", "name": "Pricing", "anonymousId": BROWSER, "messageId": "j-1", "timestamp": at(0)},
    {"type": "identify", "userId": "ada", "anonymousId": BROWSER, "messageId": "j-2", "timestamp": at(2),
     "context": {"traits": {"email": "ada@example.com", "name": "Ada Lovelace"}}},
    {"type": "track", "event": "Order Completed", "userId": "ada", "anonymousId": BROWSER, "messageId": "j-3",
     "timestamp": at(3), "properties": {"revenue": 98}},
    {"type": "track", "event": "Logged Out", "userId": "ada", "anonymousId": BROWSER, "messageId": "j-4",
     "timestamp": at(4)},
    {"type": "identify", "userId": "grace", "anonymousId": BROWSER, "messageId": "j-5", "timestamp": at(10),
     "context": {"traits": {"email": "grace@example.com", "name": "Grace Hopper"}}},
    {"type": "track", "event": "Order Completed", "userId": "grace", "anonymousId": BROWSER, "messageId": "j-6",
     "timestamp": at(11), "properties": {"revenue": 15}},
]
original = mpsim.replay(journey, {"token": "tok", "useNewMapping": True}, now=NOW)
simplified = mpsim.replay(journey, {"token": "tok", "useNewMapping": True, "identityMergeApi": "simplified"}, now=NOW)'''),
    md("## Who is who?\n\nIn **Original** ID merge RudderStack turns every identify into a `$merge`, which Mixpanel "
       "accepts without checking the anonymous id: Ada, Grace and the browser become **one user**. In "
       "**Simplified** ID merge the browser links to Ada, and Mixpanel refuses to link it to Grace."),
    code('''for name, result in [("original", original), ("simplified", simplified)]:
    print(f"{name}: {result.sim.clusters()}")
    for refusal in result.sim.refused_merges:
        print(f"  refused {refusal.kind} {refusal.ids}: {refusal.reason} - {refusal.description}")'''),
    code(IGNORE + '''display(HTML("<h4>Original</h4>" + clusters_svg(original.sim)))
display(HTML("<h4>Simplified</h4>" + clusters_svg(simplified.sim)))'''),
    md("## Where did the orders land?"),
    code('''for name, result in [("original", original), ("simplified", simplified)]:
    orders = result.sim.events[result.sim.events["event"] == "Order Completed"]
    print(name)
    print(orders[["event", "distinct_id", "stored_distinct_id"]].to_string(index=False), end="\\n\\n")'''),
    md("## Profiles\n\nProfiles are never merged. In Original mode both identifies updated profiles that now sit "
       "in one cluster, so only one of them is visible:"),
    code('''for name, result in [("original", original), ("simplified", simplified)]:
    print(name, {user: (result.sim.profile(user) or {}).get("$name") for user in ("ada", "grace")})'''),
    md("## Everything that differs\n\n`compare_configs` replays the same events under both settings and diffs "
       "the requests and the resulting state:"),
    code('''comparison = mpsim.compare_configs(journey, {"token": "tok"}, {"token": "tok", "identityMergeApi": "simplified"},
                                   now=NOW)
print(comparison.requests.to_text(limit=6))
print()
print(comparison.state.to_frame().groupby(["entity", "kind"]).size().to_string())'''),
    code(IGNORE + "comparison"),
]

NOTEBOOKS["03-reproduce-a-support-ticket"] = [
    md("# Reproduce a support ticket\n\nA support-case bundle is one JSON file: the customer's RudderStack "
       "destination settings, their Mixpanel project's settings, the events, and what the customer sees. Replaying "
       "it shows the cause; `explain` says *why* in words, with the setting to change; the fix is proven by the "
       "bundle, which then stays in `fixtures/cases/` as a regression test."),
    code('''import json
import mpsim
from mpsim.bundles import load_bundle, repro

bundle = load_bundle("../fixtures/cases/simplified-project-original-destination.json")
print(bundle["ticket"], "-", bundle["title"])
print(bundle["description"])
print("RudderStack destination:", json.dumps(bundle["destination"]["Config"]))
print("Mixpanel project:      ", json.dumps(bundle["project"]))'''),
    md("## Two settings, two products\n\nThe destination is set in RudderStack's dashboard, the project in "
       "Mixpanel. Replayed against the destination alone, mpsim can only *assume* the project matches, and it says "
       "so; the customer's setup then looks healthy:"),
    code('''anonymous_id = bundle["events"][0]["anonymousId"]
assumed = mpsim.replay(bundle["events"], bundle["destination"], now=bundle["now"])
print(assumed)
print("one user?", assumed.sim.canonical(anonymous_id) == assumed.sim.canonical("u-kim"))'''),
    md("## Replay it as reported\n\nWith the project as the customer really has it, the visitor and the user "
       "who signed up stay two people, and the findings name both settings:"),
    code('''result = mpsim.replay(bundle["events"], bundle["destination"], project=bundle["project"], now=bundle["now"])
print(result)
print("one user?", result.sim.canonical(anonymous_id) == result.sim.canonical("u-kim"))
for finding in result.findings.errors:
    print()
    print(finding.rule, "-", finding.message)
    print("fix:", finding.fix)'''),
    md("## Ask why\n\n`sim.explain(a, b)` answers whether two ids are one user: if not, what would have joined "
       "them and why it did not happen (refused, ignored in this mode, never sent); `sim.explain(a)` shows the "
       "user an id belongs to and the steps that built it. Each is text, a table (`.to_frame()`) and HTML."),
    code('''print(result.sim.explain(anonymous_id, "u-kim"))'''),
    code(IGNORE + '''result.sim.explain(anonymous_id, "u-kim")'''),
    md("## Apply the fix\n\nThe bundle's fix sets the destination's Identity Merge to Simplified. Both "
       "configurations go to the *same* project:"),
    code('''fixed_config = {**bundle["destination"]["Config"], **bundle["fix"]["config"]}
comparison = mpsim.compare_configs(bundle["events"], bundle["destination"], fixed_config,
                                   project=bundle["project"], now=bundle["now"])
print(comparison.b.sim.explain(f"$device:{anonymous_id}", "u-kim"))'''),
    md("## The bundle's own verdict\n\n`repro` checks the bundle's expectations as reported and with its fix — the "
       "same as `mpsim repro BUNDLE.json` on the command line. Expectations can name findings and explanations:"),
    code('''print(repro(bundle).text())'''),
    md("## Where did a profile value come from?\n\nAnother ticket: First Name is empty on profiles. "
       "`sim.explain_profile(id, prop)` shows each property's value, the request and operation that set it, what "
       "it overwrote and what was ignored:"),
    code('''names = repro("../fixtures/cases/names-land-as-firstName.json")
print(names.runs[0].replay.sim.explain_profile("u-ada", "$first_name"))
print()
print(names.runs[1].replay.sim.explain_profile("u-ada", "$first_name"))'''),
    md("## A refused merge\n\nPre-signup browsing is not attached to users: the app calls Mixpanel's SDK "
       "`identify()` with its own visitor ids, and Mixpanel refuses the merge, with its reason code:"),
    code('''report = repro("../fixtures/cases/identify-refused-non-uuid-anon-id.json")
sim = report.runs[0].replay.sim
refusal = sim.refused_merges[0]
print(sim.explain(*refusal.ids))'''),
    code(IGNORE + "from IPython.display import HTML\nfrom mpsim.notebook import clusters_svg\nHTML(clusters_svg(sim))"),
]

NOTEBOOKS["04-validate-an-event-log"] = [
    md("# Validate an event log\n\nLint a day of RudderStack events (JSON Lines from `fixtures/logs/`) against "
       "Mixpanel's and RudderStack's rules, and summarise the findings with pandas."),
    code('''import json
import mpsim
from mpsim.replay import read_events

NOW = "2024-03-02T00:00:00Z"
events = list(read_events("../fixtures/logs/web-shop-original.jsonl"))
config = json.load(open("../fixtures/configs/us-original-defaults.json"))
print(len(events), "events;", sorted({e["type"] for e in events}))'''),
    code('''findings = mpsim.validate(events, now=NOW, config=config)
print(repr(findings))
print(findings.summary().to_string(index=False))'''),
    md("## Which events, and why"),
    code('''frame = findings.to_frame()
frame["event_type"] = [events[i]["type"] for i in frame["record"]]
print(frame.pivot_table(index="rule", columns="event_type", values="path", aggfunc="count", fill_value=0).to_string())'''),
    code('''for rule in ["rudderstack-placeholder-id", "rudderstack-five-years", "transactions-amount"]:
    first = findings.by_rule(rule)[0]
    print(f"{rule} (e.g. record {first.record}, {first.path}):")
    print("  ", first.message)
    print("   fix:", first.fix)'''),
    code(IGNORE + '''import matplotlib.pyplot as plt  # imported here: its first run may print a font-cache notice

ax = findings.summary().plot.barh(x="rule", y="count", legend=False, title="Findings by rule")
ax.set_xlabel("findings")
plt.tight_layout()
plt.show()'''),
    md("## What Mixpanel ends up holding\n\nReplaying the log through RudderStack and the simulator shows the "
       "effect of those findings on the data:"),
    code('''result = mpsim.replay(events, config, now=NOW)
print(result.sim.summary())
print(len(result.transform_errors), "events RudderStack refused:",
      sorted({s.error.message for s in result.transform_errors}))
profiles = result.sim.profiles
print("profiles with $firstName:", profiles["$firstName"].notna().sum(), "| with $first_name:",
      profiles.get("$first_name", profiles["distinct_id"].iloc[:0]).notna().sum())'''),
    md("The same check runs from the command line, exiting non-zero when there are errors:\n\n"
       "```bash\nmpsim validate fixtures/logs/web-shop-original.jsonl --config fixtures/configs/us-original-defaults.json\n```"),
]

NOTEBOOKS["05-replay-a-whole-history"] = [
    md("# Replay a whole history at scale\n\nA company's event history lives in object storage as RudderStack "
       "writes it (`rudder-logs/<source>/<MM-DD-YYYY>/*.json.gz`). `mpsim.scale` replays all of it through "
       "RudderStack's transformer into Mixpanel's state on Dask, with the simulator's own rules, and writes the "
       "result as Parquet tables. Here: a generated history of 6,000 events, and the question *what happens if "
       "we switch to Simplified ID merge?*"),
    code('''import tempfile
from mpsim.scale import compare, generate, replay

folder = tempfile.mkdtemp()
history = generate(f"{folder}/history", 6000, seed=5, days=2)
print(history.events, "events in", history.files, "files; the history ends at", history.end)'''),
    code('''destination = {"token": "T", "groupKeySettings": [{"groupKey": "company"}]}
project = {"token": "T", "identity_merge": "original", "group_keys": ["company"]}
result = replay(history.path, destination, project=project, now=history.end, out=f"{folder}/original",
                scheduler="threads")
s = result.summary
print(f"{s['events']} events, {s['users']} users, {s['profiles']} profiles, {s['groups']} groups; "
      f"{s['duplicates']} duplicates removed, {s['rejected']} records rejected")
result.frame("events")[["time", "event", "distinct_id", "stored_distinct_id"]].head()'''),
    md("## Original → Simplified ID merge\n\nThe same history under a Simplified project (and the destination "
       "switched to match): which users split or join, which events move to another user, which profiles "
       "change, which records are newly rejected."),
    code('''comparison = compare(history.path, destination, destination_b={**destination, "identityMergeApi": "simplified"},
                     project=project, project_b={**project, "identity_merge": "simplified"}, now=history.end,
                     out=f"{folder}/compare", scheduler="threads", labels=("original", "simplified"))
print(comparison.text())'''),
    code('''users = comparison.frame("users")
print(users.head().to_string(index=False))
moved = comparison.frame("events")
print(moved["change"].value_counts().to_string())'''),
    code(IGNORE + '''import matplotlib.pyplot as plt

comparison.plot(title="Original → Simplified ID merge on a generated history")
plt.show()'''),
    md("The same from the command line, with a progress bar:\n\n```bash\n"
       "mpsim scale generate /tmp/history --events 1000000\n"
       "mpsim scale compare /tmp/history --config dest.json --project-b simplified.json --now 2024-01-11 --out /tmp/cmp\n```"),
]


NOTEBOOKS["06-test-your-instrumentation-end-to-end"] = [
    md("# Test your instrumentation end to end\n\n"
       "Your app's events come from RudderStack's SDKs and pass RudderStack's data plane before the Mixpanel "
       "destination sees them: write keys, missing ids, the `integrations` object, duplicate messageIds, consent "
       "and clock skew are all decided there. mpsim runs a local data plane next to its simulated Mixpanel, so "
       "you can point your real SDK at it, click through the app, and read what Mixpanel ends up holding — and "
       "why an event did not get there.\n\n"
       "1. start the server with your Mixpanel destination (`rudder=`) and a write key;\n"
       "2. point the SDK at `server.url` (the data plane URL);\n"
       "3. use the app;\n"
       "4. read Mixpanel's state and the data plane's log."),
    code('''import mpsim
from datetime import datetime, timezone

NOW = "2024-03-02T10:00:00Z"          # the server's clock (frozen, so this notebook reads the same every run)
destination = {"Config": {"token": "MY_TOKEN", "identityMergeApi": "simplified"}}
sim = mpsim.Simulator(token="MY_TOKEN", identity_merge="simplified", now=NOW)
server = mpsim.serve(sim, rudder=destination, write_key="WRITE_KEY")
print(server.rudder.write_key, "→ data plane at server.url")'''),
    md("## Point the SDK at it\n\n"
       "Any RudderStack SDK takes the data plane URL. Here the app is a Python backend using `rudder-sdk-python`, "
       "unchanged; in a web page it is\n\n"
       "```js\nrudderanalytics.load(\"WRITE_KEY\", DATA_PLANE_URL, { configUrl: DATA_PLANE_URL });\n```\n\n"
       "(`configUrl` makes the JS SDK v3 load its source config from mpsim too; the npm `/bundled` build needs "
       "nothing from a CDN). For the Node SDK: `new Analytics(\"WRITE_KEY\", { dataPlaneUrl })`."),
    code('''from rudderstack.analytics.client import Client

app = Client("WRITE_KEY", host=server.url, sync_mode=True, max_retries=0)
at = lambda minute: datetime(2024, 3, 2, 9, minute, tzinfo=timezone.utc)   # the device's clock

app.page(anonymous_id="anon-7", name="Pricing", properties={"path": "/pricing"}, timestamp=at(50), message_id="m1")
app.identify("user-42", {"email": "ada@example.com", "name": "Ada Lovelace"}, anonymous_id="anon-7",
             timestamp=at(52), message_id="m2")
app.track("user-42", "Order Completed", {"revenue": 30}, anonymous_id="anon-7", timestamp=at(53), message_id="m3")
# three mistakes people make
app.track("user-42", "Coupon Applied", anonymous_id="anon-7", integrations={"All": False, "MP": True},
          timestamp=at(54), message_id="m4")                                     # "MP" is not "Mixpanel"
app.track("user-42", "Order Completed", {"revenue": 30}, anonymous_id="anon-7", timestamp=at(55),
          message_id="m3")                                                        # a reused messageId
try:
    Client("WRONG_KEY", host=server.url, sync_mode=True, max_retries=0).track("user-42", "Signed Up")
except Exception as error:                                                        # a wrong write key
    print("the SDK was told:", error)'''),
    md("## What Mixpanel holds\n\nThe anonymous page view, the identify and the order are one user; the "
       "profile has the traits; the Python SDK's own `timestamp` is kept (JS and Node events get "
       "`receivedAt − (sentAt − originalTimestamp)` instead)."),
    code('''print(sim.summary())
print(sim.events[["event", "distinct_id", "time"]].to_string(index=False))
print({k: v for k, v in sim.profile("user-42").items() if not k.startswith("$last")})'''),
    md("## What did not reach Mixpanel, and why\n\nThe SDK got `200 ok` for the two silent drops: the data "
       "plane answers before it filters. Every drop is recorded with its gate and reason."),
    code('''print("\\n".join(server.rudder.lines()))'''),
    code('''print(server.rudder.drops_frame()[["gate", "reason", "status", "message_id", "detail"]].to_string(index=False))'''),
    code('''for finding in server.rudder.findings():
    print(finding.rule, "—", finding.fix)'''),
    code('''print("\\n".join(server.rudder.trail("m4")))
print()
print("\\n".join(server.rudder.trail("m3")))'''),
    md("## The simulator tells the same story\n\nThe data plane reports into the simulator: each request it "
       "answered is in `sim.log` (route, masked write key, answer, each event's fate), `sim.dropped()` counts the "
       "drops by gate and reason next to Mixpanel's own, `sim.explain(id)` says which events from an id never "
       "reached Mixpanel and what to change, and the control API's `/_mpsim/findings` and live page `/_mpsim/` "
       "show them too."),
    code('''for reason, n in sim.dropped().items():
    print(n, "×", reason)
print()
print(sim.explain("user-42"))'''),
    md("## Then stop the server\n\nFrom the command line the same data plane is\n\n"
       "```bash\nmpsim serve --rudder DEST.json --write-key WRITE_KEY    # data plane URL: http://127.0.0.1:8080\n```"),
    code('''server.stop()'''),
]


def main() -> None:
    out = Path(__file__).resolve().parents[1] / "notebooks"
    for name, cells in NOTEBOOKS.items():
        nb = nbf.v4.new_notebook()
        nb.cells = cells
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbf.write(nb, out / f"{name}.ipynb")
        print(f"wrote notebooks/{name}.ipynb")


if __name__ == "__main__":
    main()
