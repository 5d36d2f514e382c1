"""Explanations: why ids are (or are not) one user, where a profile value came from, what was dropped.

``sim.explain(a)``, ``sim.explain(a, b)`` and ``sim.explain_profile(id, prop)`` read the simulator's
journal (``mpsim.mixpanel.journal``) and its state through the public reading API, and answer in
words with the request number, time, operation and rule of each step. An ``Explanation`` prints as
text, becomes a pandas table with ``to_frame()``, JSON data with ``to_dict()`` and HTML in notebooks.
"""

from __future__ import annotations

import copy
import json
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..wording import count
from .events import forbidden_id
from .journal import IGNORED, JOINED, REFUSED, IdentityStep, ProfileStep
from .state import iso_seconds

if TYPE_CHECKING:
    import pandas as pd

    from .simulator import Simulator
    from .state import StateViews

IDENTITY_COLUMNS = ["request", "time", "operation", "ids", "outcome", "reason", "rule"]
PROFILE_COLUMNS = ["property", "current", "request", "time", "operation", "sent_to", "value", "before", "effect"]


@dataclass
class Explanation:
    """An answer in words (``answer`` and ``lines``), with the steps behind it as a table."""

    answer: str
    lines: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return "\n".join([self.answer, *("  " + line for line in self.lines)])

    def __repr__(self) -> str:
        return f"Explanation({self.answer!r})"

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        from ..notebook.views import mark_frame

        return mark_frame(pd.DataFrame(self.rows, columns=self.columns))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: the answer, the lines, the steps as records and the facts behind them."""
        rows = [dict(zip(self.columns, row, strict=True)) for row in self.rows]
        return json.loads(json.dumps({"answer": self.answer, "lines": self.lines, "steps": rows, **self.data},
                                     default=str))

    def _repr_html_(self) -> str:
        import html

        from ..notebook.views import Table, output_html, table_html

        body = f"<p><b>{html.escape(self.answer)}</b></p>"
        if self.lines:
            body += "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in self.lines) + "</ul>"
        if self.rows:
            body += table_html(Table(self.columns, self.rows))
        return output_html(body, "explain")


# --------------------------------------------------------------------------- identity
def _when(ms: int) -> str:
    return iso_seconds(ms) if ms else "?"


def _ids(step: IdentityStep) -> str:
    joiner = " → " if step.operation in ("$identify", "$create_alias", "device link") else " + "
    return joiner.join(f"'{i}'" for i in step.ids)


def describe_step(step: IdentityStep) -> str:
    code = f" ({step.reason})" if step.reason else ""
    return f"request #{step.request} at {_when(step.time_ms)}: {step.operation} {_ids(step)}: {step.outcome}{code}: {step.rule}"


def _row(step: IdentityStep) -> list[Any]:
    return [step.request, _when(step.time_ms), step.operation, list(step.ids), step.outcome, step.reason, step.rule]


def _history_lines(sim: Simulator) -> list[str]:
    """The note an explanation ends with when the journal forgot older steps (``journal_limit``)."""
    note = sim.journal.history_note()
    return [note] if note else []


def _touching(sim: Simulator, members: set[str], outcomes: tuple[str, ...]) -> list[IdentityStep]:
    return [s for s in sim.journal.identity if s.outcome in outcomes and members & set(s.ids)]


PLACEHOLDER_FIX = ("send the user's real id instead (a template or SDK bug that sends 'null', 'undefined' and "
                   "the like is the usual cause); never send a placeholder: Mixpanel refuses every record naming one")


def placeholder_refusals(sim: Simulator, value: str) -> list[str]:
    """The records Mixpanel rejected because they named the placeholder ``value``, one line each with its request."""
    mark = f"{value!r} is a placeholder"
    return [f"rejected: request #{seq} (/{endpoint}, HTTP {status}): record {record.index + 1}: {record.message}"
            for seq, endpoint, status, records in sim.log.unstored_numbered()
            for record in records if not record.ok and record.message and mark in record.message]


def _placeholder_explanation(sim: Simulator, ids: list[str], answer: str, data: dict[str, Any]) -> Explanation:
    placeholders = [i for i in dict.fromkeys(ids) if forbidden_id(i)]
    lines: list[str] = []
    for value in placeholders:
        refusals = placeholder_refusals(sim, value)
        lines += refusals or [f"no request naming '{value}' is in the request log"]
    lines.append("fix: " + PLACEHOLDER_FIX)
    lines += _history_lines(sim)
    return Explanation(answer, lines, [], [], {**data, "why": "placeholder", "placeholders": placeholders,
                                               "mode": sim.identity_merge})


def explain_user(sim: Simulator, distinct_id: str) -> Explanation:
    """The user ``distinct_id`` belongs to: canonical id, every id, the steps that built it, refusals."""
    if forbidden_id(distinct_id):
        return _placeholder_explanation(
            sim, [distinct_id],
            f"'{distinct_id}' is a placeholder id Mixpanel refuses: every record naming it was rejected, so it is "
            "no user.", {"id": distinct_id, "canonical": None, "ids": []})
    canonical = sim.canonical(distinct_id)
    members = set(sim.cluster(distinct_id))
    built = _touching(sim, members, (JOINED,))
    refused = _touching(sim, members, (REFUSED,))
    ignored = _touching(sim, members, (IGNORED,))
    seen = distinct_id in sim.clusters().get(canonical, []) or any(members & set(s.ids) for s in sim.journal.identity)
    if not seen and len(members) == 1:
        answer = f"'{distinct_id}' was never seen by this project: no event, profile update or identity step names it."
    elif len(members) == 1:
        answer = f"'{distinct_id}' is a user of its own: no identity step joined it to another id."
    else:
        answer = (f"'{distinct_id}' belongs to the user shown as '{canonical}', who has {len(members)} ids: "
                  + ", ".join(f"'{m}'" for m in sorted(members)) + ".")
    lines = [f"joined: {describe_step(s)}" for s in built]
    lines += [f"refused: {describe_step(s)}" for s in refused]
    lines += [f"ignored: {describe_step(s)}" for s in ignored]
    steps = sorted(built + refused + ignored, key=lambda s: s.seq)
    upstream = [line for source in sim.upstreams for line in source.explain_lines(distinct_id)]
    if upstream and not seen and len(members) == 1:
        answer = (f"'{distinct_id}' never reached Mixpanel: {len(upstream)} event{'s' if len(upstream) != 1 else ''} "
                  "from this id stopped before it.")
    lines += [f"never reached Mixpanel: {line}" for line in upstream]
    lines += _history_lines(sim)
    return Explanation(answer, lines, IDENTITY_COLUMNS, [_row(s) for s in steps],
                       {"id": distinct_id, "canonical": canonical, "ids": sorted(members), "mode": sim.identity_merge,
                        "refused": [s.to_dict() for s in refused], "dropped_before_mixpanel": upstream})


def _chain(steps: list[IdentityStep], start: str, goal: str) -> list[IdentityStep]:
    """The shortest chain of joining steps from ``start`` to ``goal`` (breadth first over ids)."""
    edges: dict[str, list[tuple[str, IdentityStep]]] = {}
    for step in steps:
        for a in step.ids:
            for b in step.ids:
                if a != b:
                    edges.setdefault(a, []).append((b, step))
    previous: dict[str, tuple[str, IdentityStep] | None] = {start: None}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        if current == goal:
            break
        for neighbour, step in edges.get(current, []):
            if neighbour not in previous:
                previous[neighbour] = (current, step)
                queue.append(neighbour)
    if goal not in previous:
        return []
    chain: list[IdentityStep] = []
    node = goal
    while previous[node] is not None:
        back, step = previous[node]  # type: ignore[misc]
        chain.append(step)
        node = back
    return list(reversed(chain))


#: project mode → what would join an anonymous id and a user id, as a RudderStack user would send it
WOULD_JOIN = {
    "original": "an identify call with userId '{b}' and anonymousId '{a}' (RudderStack sends $merge), or "
                "Mixpanel's $identify with $anon_id '{a}' and $identified_id '{b}'",
    "simplified": "an event carrying $user_id '{b}' and $device_id '{a}' (RudderStack sends them with "
                  "'Identity Merge' (identityMergeApi) set to 'simplified')",
    "legacy": "$create_alias with alias '{a}' and distinct_id '{b}' (only events sent afterwards move)",
}


def explain_pair(sim: Simulator, a: str, b: str) -> Explanation:
    """Are ``a`` and ``b`` one user? If so, the shortest chain that joined them; if not, why not."""
    ca, cb = sim.canonical(a), sim.canonical(b)
    if ca == cb:
        chain = _chain([s for s in sim.journal.identity if s.outcome == JOINED], a, b) if a != b else []
        answer = (f"'{a}' and '{b}' are one user, shown as '{ca}'"
                  + (f", joined in {len(chain)} step{'s' if len(chain) != 1 else ''}:" if chain else "."))
        return Explanation(answer, [describe_step(s) for s in chain] + _history_lines(sim), IDENTITY_COLUMNS,
                           [_row(s) for s in chain],
                           {"same_user": True, "canonical": ca, "ids": [a, b], "mode": sim.identity_merge})
    placeholders = [i for i in (a, b) if forbidden_id(i)]
    if placeholders:
        named = " and ".join(f"'{i}'" for i in dict.fromkeys(placeholders))
        return _placeholder_explanation(
            sim, placeholders,
            f"'{a}' and '{b}' are different users: {named} is a placeholder id Mixpanel refuses, so every record "
            "naming it (a $merge or $identify too) was rejected and nothing can join it to another id.",
            {"same_user": False, "canonical": [ca, cb], "ids": [a, b]})
    side_a, side_b = set(sim.cluster(a)), set(sim.cluster(b))
    blocked = [s for s in sim.journal.identity if s.outcome in (REFUSED, IGNORED)
               and side_a & set(s.ids) and side_b & set(s.ids)]
    answer = f"'{a}' and '{b}' are different users (shown as '{ca}' and '{cb}')."
    if blocked:
        lines = [f"{'refused' if s.outcome == REFUSED else 'ignored in this mode'}: {describe_step(s)}" for s in blocked]
        why = "refused" if any(s.outcome == REFUSED for s in blocked) else "ignored"
    else:
        hint = WOULD_JOIN.get(sim.identity_merge, "").format(a=a, b=b)
        never = ("never sent: no request named an id of each user together" if not sim.journal.dropped else
                 "not in the kept history: no step the journal still holds named an id of each user together")
        lines = [f"{never}. What would join them in this {sim.identity_merge} ID merge project: {hint}."]
        why = "never sent" if not sim.journal.dropped else "not in the kept history"
    lines += _history_lines(sim)
    return Explanation(answer, lines, IDENTITY_COLUMNS, [_row(s) for s in blocked],
                       {"same_user": False, "canonical": [ca, cb], "ids": [a, b], "why": why,
                        "mode": sim.identity_merge})


# --------------------------------------------------------------------------- profiles
EFFECT_WORDS = {
    "set": "set", "changed": "overwrote {before}", "unchanged": "sent the same value again",
    "ignored": "ignored", "removed": "removed it", "deleted": "deleted the whole profile",
}
IGNORED_WHY = {
    "$set_once": "$set_once never overwrites an existing value (kept {before})",
    "$unset": "there was nothing to unset",
    "$remove": "there was no list to remove from",
    "$add": "the stored value is not a number",
    "$union": "the stored value is not a list",
    "$append": "the stored value is not a list",
    "$delete": "there was no profile to delete",
}


def _profile_line(step: ProfileStep) -> str:
    before = json.dumps(step.before, default=str)
    if step.effect == "ignored":
        words = "ignored: " + IGNORED_WHY.get(step.operation.replace("groups ", ""), "no effect").format(before=before)
    else:
        words = EFFECT_WORDS.get(step.effect, step.effect).format(before=before)
    sent = f" (sent to '{step.sent_to}')" if step.sent_to != step.profile else ""
    value = "" if step.property is None else f" {json.dumps(step.value, default=str)}"
    return f"request #{step.request} at {_when(step.time_ms)}: {step.operation}{value}{sent}: {words}"


def _similar(name: str, names: list[str]) -> list[str]:
    squash = name.lower().replace("_", "").lstrip("$")
    return [n for n in names if n != name and n.lower().replace("_", "").lstrip("$") == squash]


def explain_profile(sim: Simulator, distinct_id: str, prop: str | None = None) -> Explanation:
    """Per property: the current value, the operation and request that set it, what it overwrote, what was ignored."""
    key = sim.canonical(distinct_id) if sim.identity_merge != "legacy" else distinct_id
    profile = sim.profile(distinct_id) or {}
    members = set(sim.cluster(distinct_id))
    steps = [s for s in sim.journal.profiles if s.profile == key]
    elsewhere = [s for s in sim.journal.profiles if s.profile != key and s.profile in members]
    names = [prop] if prop is not None else list(dict.fromkeys(
        [*profile, *(s.property for s in steps if s.property is not None)]))
    lines: list[str] = []
    rows: list[list[Any]] = []
    for name in names:
        mine = [s for s in steps if s.property == name or (s.property is None and s.operation.endswith("$delete"))]
        current = profile.get(name)
        state = f"= {json.dumps(current, default=str)}" if name in profile else "is not on the profile"
        lines.append(f"'{name}' {state}")
        lines += [f"  {_profile_line(s)}" for s in mine]
        if name not in profile:
            lines += _why_absent(name, mine, elsewhere, list(profile), key)
        # copies: the journal shares its values with the project's state, an explanation is the reader's to change
        rows += copy.deepcopy([[name, current, s.request, _when(s.time_ms), s.operation, s.sent_to, s.value, s.before,
                                s.effect] for s in mine])
    hidden = sorted({s.profile for s in elsewhere})
    if not sim.profile(distinct_id):
        answer = f"'{distinct_id}' has no profile" + (f" (Mixpanel would show the profile of '{key}')"
                                                       if key != distinct_id else "") + "."
    else:
        answer = f"The profile Mixpanel shows for '{distinct_id}' is the profile of '{key}', with {len(profile)} properties."
    if hidden:
        lines.append("updates sent to " + ", ".join(f"'{h}'" for h in hidden) + " went to profiles of their own, "
                     f"which Mixpanel hides behind the profile of '{key}' (profiles are never merged)")
    lines += _history_lines(sim)
    return Explanation(answer, lines, PROFILE_COLUMNS, rows,
                       {"id": distinct_id, "profile": key, "properties": profile, "hidden_profiles": hidden})


def _why_absent(name: str, mine: list[ProfileStep], elsewhere: list[ProfileStep], present: list[str],
                key: str) -> list[str]:
    if mine:
        return []  # the steps above say where it went (unset, deleted, ignored)
    out = []
    sent_elsewhere = [s for s in elsewhere if s.property == name]
    if sent_elsewhere:
        out.append(f"  it was sent to '{sent_elsewhere[-1].profile}' (request #{sent_elsewhere[-1].request}), "
                   f"whose profile is not the one Mixpanel shows for this user ('{key}')")
    else:
        out.append("  no update ever set it on this user")
    out += [f"  a similar property is there: '{n}' (names are case- and spelling-sensitive)"
            for n in _similar(name, present)]
    return out


# --------------------------------------------------------------------------- dropped records
#: a record's note (from the ingestion log) → what happened to it, in words
DROP_REASONS = {
    "host of another data residency": "sent to another data residency's host: answered 200, nothing kept",
    "token does not match the project": "sent with another project's token: answered 200, nothing kept",
    "$token does not match the project": "profile updates with another project's $token: answered 200, nothing kept",
    "$ignore": "marked $ignore: dropped by Mixpanel",
    "$merge is only honoured on /import": "$merge sent to /track: only /import honours it",
}


#: a record note from a pipeline in front of Mixpanel (``Simulator.log_upstream``): counted as it reads
UPSTREAM_NOTE = "RudderStack "


def dropped_records(state: StateViews) -> Counter[str]:
    """Records Mixpanel answered but did not keep, counted by reason in words (duplicates included)."""
    counts: Counter[str] = Counter()
    for status, records in state._state.log.unstored():  # requests whose records were all stored say nothing
        if not records and status >= 400:
            counts[f"whole request refused with HTTP {status}"] += 1
        for record in records:
            if record.note and record.note.startswith(UPSTREAM_NOTE):
                if not record.stored:
                    counts[record.note] += 1
            elif not record.ok:
                where = f"{record.field}: " if record.field else ""
                counts[f"rejected as invalid ({where}{record.message})"] += 1
            elif record.note and not record.stored:
                reason = next((words for prefix, words in DROP_REASONS.items() if record.note.startswith(prefix)),
                              record.note)
                counts[reason] += 1
    duplicates = len(state._state.events) - state.summary()["events"]  # counts, without reading the events
    if duplicates:
        counts["duplicates (same event, distinct_id, time and $insert_id): only the latest copy counts"] += duplicates
    return counts


def dropped_lines(state: StateViews) -> list[str]:
    """One line per reason: ``3 records dropped: sent to another data residency's host: …``."""
    return [f"{count(n, 'record')} dropped: {reason}" for reason, n in dropped_records(state).most_common()]
