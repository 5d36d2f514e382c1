"""``mpsim.playground``: paste RudderStack events, pick destination settings, see what Mixpanel gets.

``PlaygroundModel`` does the work and produces HTML for each output tab; ``Playground`` is the
ipywidgets shell (text areas, a settings form, buttons, tabs) that only moves values in and out.
Tests drive the shell headless by setting widget values and clicking buttons.

It keeps going like ``replay``: events RudderStack refuses are listed with the reason and the others
are sent. When an action fails, the tabs keep the previous results marked as out of date. A click
stays cheap on a big project: the Changes tab compares only what the sent requests touched, and
past ``FULL_VIEW_EVENTS`` stored events the State tab and the identity picture show the last events
and the users the click touched instead of every row.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets

from ..diff import Diff, compare_configs, diff
from ..errors import TransformError
from ..mixpanel import Simulator
from ..project import Project, resolve_project
from ..request import Request
from ..rudder import transform
from ..validation import validate
from ..wording import count
from .increments import ClickDiff, EventCounter, with_clusters
from .views import (
    EventRows,
    PasteError,
    Table,
    clusters_svg,
    diff_body_html,
    error_html,
    frame_table_html,
    output_html,
    parse_pasted,
    refused_html,
    requests_html,
    state_html,
    table_html,
)


@dataclass(frozen=True)
class Field:
    """One destination setting in the form: its name, RudderStack Config key, kind and label."""

    name: str
    key: str
    kind: str  # text | bool | choice | list:<item key>
    label: str
    options: tuple[str, ...] = ()


#: The destination settings the playground's form offers, in form order.
FIELDS: tuple[Field, ...] = (
    Field("token", "token", "text", "Project token"),
    Field("identity_merge", "identityMergeApi", "choice", "ID merge", ("original", "simplified")),
    Field("residency", "dataResidency", "choice", "Data residency", ("us", "eu", "in")),
    Field("group_keys", "groupKeySettings", "list:groupKey", "Group keys"),
    Field("set_once", "setOnceProperties", "list:property", "Set-once traits"),
    Field("union", "unionProperties", "list:property", "Union traits"),
    Field("append", "appendProperties", "list:property", "Append traits"),
    Field("increments", "propIncrements", "list:property", "Increment properties"),
    Field("page_template_on", "useUserDefinedPageEventName", "bool", "Page name template"),
    Field("page_template", "userDefinedPageEventTemplate", "text", "Page template"),
    Field("screen_template_on", "useUserDefinedScreenEventName", "bool", "Screen name template"),
    Field("screen_template", "userDefinedScreenEventTemplate", "text", "Screen template"),
    Field("drop_traits", "dropTraitsInTrackEvent", "bool", "Drop traits in track"),
    Field("new_mapping", "useNewMapping", "bool", "Use new mapping"),
    Field("strict", "strictMode", "bool", "Strict mode"),
)


def config_from_values(values: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A RudderStack Config from form values (keys the form does not show are kept from ``base``)."""
    config = dict(base or {})
    for f in FIELDS:
        value = values.get(f.name)
        if f.kind.startswith("list:"):
            item_key = f.kind.split(":", 1)[1]
            names = [v.strip() for v in (value or "").split(",") if v.strip()]
            if names:
                config[f.key] = [{item_key: n} for n in names]
            else:
                config.pop(f.key, None)
        elif f.kind == "bool":
            if value:
                config[f.key] = True
            else:
                config.pop(f.key, None)
        elif value not in (None, ""):
            config[f.key] = value
        else:
            config.pop(f.key, None)
    return config


def values_from_config(config: dict[str, Any]) -> dict[str, Any]:
    """Form values for a RudderStack destination object or Config."""
    config = config.get("Config", config) if isinstance(config, dict) else {}
    values: dict[str, Any] = {}
    for f in FIELDS:
        value = config.get(f.key)
        if f.kind.startswith("list:"):
            item_key = f.kind.split(":", 1)[1]
            values[f.name] = ", ".join(str(i.get(item_key)) for i in value or [] if isinstance(i, dict))
        elif f.kind == "bool":
            values[f.name] = bool(value) and value != "false"
        elif f.kind == "choice":
            values[f.name] = value if value in f.options else f.options[0]
        else:
            values[f.name] = "" if value is None else str(value)
    return values


#: Up to this many stored events the State tab shows the whole project; beyond, what the click touched.
FULL_VIEW_EVENTS = 2000
#: Events the State tab of a big project shows (the last ones).
LAST_EVENTS = 10
#: Events replayed under both settings for the "Settings change" tab.
COMPARE_EVENTS = 200

TABS = ("Requests", "Findings", "State", "Changes", "Settings change", "Identity graph", "Explain")

#: Put before the title of a tab that shows an earlier result (the tab's content says why).
STALE_MARK = "⚠ out of date: "
STALE_HTML = output_html("<div class='mpsim-callout mpsim-tone-warning mpsim-stale'><b>Out of date:</b> the last "
                         "action failed (see the message above); this is the result of the one before.</div>",
                         "stale")


@dataclass
class Outcome:
    """What one button press produced: HTML for each tab, or an error (and the state untouched).

    ``refused`` lists the events RudderStack refused (label, reason) while the others went on;
    ``stale`` names the tabs that still show an earlier result because this action failed.
    """

    tabs: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    status: str = ""
    requests: list[Request] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    stale: tuple[str, ...] = ()


def event_label(index: int, event: dict[str, Any]) -> str:
    name = event.get("event") or event.get("name") or ""
    return f"event {index} ({event.get('type', 'no type')}{' ' + str(name) if name else ''})"


class PlaygroundModel:
    """The playground's behaviour, without widgets."""

    def __init__(self, sim: Simulator | None = None, config: dict[str, Any] | None = None, now: Any = None,
                 project: dict[str, Any] | Simulator | None = None) -> None:
        base = dict((config or {}).get("Config", config or {}))
        self.config = base
        self.now = now
        if sim is not None and project is not None:
            raise ValueError("give the playground a sim or a project, not both (a Simulator is a project)")
        #: the Mixpanel project, given (a Simulator or its settings) or None: then assumed from the destination
        self.project: Project | None = None if sim is None and project is None else resolve_project(
            sim if sim is not None else project)
        self._own_sim = sim is None
        self.sim = sim if sim is not None else self._new_sim()
        #: what each tab shows now (fresh results only; staleness is added on display)
        self.tabs: dict[str, str] = dict.fromkeys(TABS, "")
        #: the settings of the last successful action, for the "Settings change" tab
        self.last_config: dict[str, Any] | None = None
        self._counter = EventCounter()
        #: the ids of the last Explain, explained again after every send
        self.explained: list[str] = []

    def _mode(self) -> str:
        return "simplified" if self.config.get("identityMergeApi") == "simplified" else "original"

    def _new_sim(self) -> Simulator:
        """An empty project of the playground's own: the given project, or one like the destination."""
        if self.project is not None:
            return self.project.simulator(self.now)
        return Simulator(identity_merge=self._mode(), now=self.now)

    def assumed_note(self) -> str:
        """The one line that says the project was taken from the destination (empty when it was given)."""
        return resolve_project(None, self.config).note if self.project is None else ""

    def transform_each(self, events: list[dict[str, Any]]) -> tuple[list[Request], list[tuple[str, str]]]:
        """The requests of every event RudderStack accepts, and (label, reason) for each it refuses."""
        requests: list[Request] = []
        refused: list[tuple[str, str]] = []
        now = self.now if self.now is not None else self.sim.now_ms
        for index, event in enumerate(events):
            try:
                requests += transform(event, self.config, now=now)
            except TransformError as exc:
                refused.append((event_label(index, event),
                                f"RudderStack refuses it: {exc.message} ({exc.kind}, status {exc.status_code})"))
        return requests, refused

    def _failed(self, error: str) -> Outcome:
        stale = tuple(name for name in TABS if self.tabs[name])
        return Outcome(tabs={name: STALE_HTML + self.tabs[name] if name in stale else "" for name in TABS},
                       error=error, status="Nothing was sent.", stale=stale)

    def run(self, text: str, *, send: bool) -> Outcome:
        """Transform the pasted events; with ``send``, deliver what RudderStack accepts to the simulator."""
        try:
            events = parse_pasted(text)
        except PasteError as exc:
            return self._failed(error_html(exc.reason, exc.where))
        requests, refused = self.transform_each(events)
        # Only a project assumed from the destination follows the destination's ID-merge setting; a given
        # project keeps its own mode, and a mismatch is reported by the findings.
        if send and self.project is None and self._mode() != self.sim.identity_merge:
            if self._own_sim and not len(self.sim.log):
                self.sim = self._new_sim()
            else:
                return self._failed(error_html(
                    f"the simulated project uses {self.sim.identity_merge} ID merge and already holds data; "
                    "press Reset to switch it to " + self._mode(), "ID merge"))
        tabs = {"Requests": refused_html(refused) + requests_html(requests),
                "Findings": validate(events, now=self.now, config=self.config,
                                     project=self.project)._repr_html_()}
        if self.last_config is not None and self.last_config != self.config:
            tabs["Settings change"] = self.settings_change_html(events, self.last_config, self.config)
        self.last_config = dict(self.config)
        refused_note = f"; {count(len(refused), 'event')} refused by RudderStack" if refused else ""
        status = f"{count(len(events), 'event')} → {count(len(requests), 'request')}{refused_note}"
        note = self.assumed_note()
        if note:
            status = f"{status} ({note})"
        if send:
            click = ClickDiff(self.sim, requests)
            replies = self.sim.send(requests)
            changes = click.after()
            rejected = sum(not r.ok for r in replies)
            tabs["State"] = self.state_view(click)
            tabs["Changes"] = output_html("<p>What this send changed in the project:</p>" + diff_body_html(changes),
                                          "diff")
            tabs["Identity graph"] = self.identity_view(click)
            if self.explained:  # the ids explained last, as the project now stands
                tabs["Explain"] = self.explain_html(self.explained)
            status += (" sent; " + (f"Mixpanel rejected part of {count(rejected, 'request')}." if rejected
                                     else "Mixpanel accepted all."))
        else:
            status += "; not sent."
        self.tabs.update(tabs)
        return Outcome(tabs=dict(self.tabs), status=status, requests=requests, refused=refused)

    # ------------------------------------------------------------------ views of one click
    def _big(self) -> bool:
        return (self._counter.raw or 0) > FULL_VIEW_EVENTS

    def state_view(self, click: ClickDiff) -> str:
        """The whole state on a small project; on a big one the counts, the last events and what the click touched."""
        self._counter.update(self.sim, click)
        if not self._big():
            return state_html(self.sim)
        copies = self.sim.event_copies()
        last = self.sim.events_from(copies - LAST_EVENTS)
        clusters = click.clusters_after
        touched = click.ids_before | click.ids_after
        parts = [f"<p><b>{html.escape(type(self.sim).__name__)}</b> ({html.escape(self.sim.identity_merge)} ID "
                 f"merge): {count(self._counter.count, 'event')} ({count(copies, 'stored copy')}), "
                 f"{count(len(clusters), 'user')}, {count(len(self.sim.refused_merges), 'refused merge')}.</p>",
                 f"<p class='mpsim-note'>A big project: shown are the last {LAST_EVENTS} events and the users "
                 "and groups this send touched. Every row is in the simulator (sim.events, sim.profiles, "
                 "sim.groups, sim.identities).</p>",
                 "<h4>Last events</h4>" + table_html(Table(EventRows.columns, EventRows(self.sim, last), total=copies))]
        import pandas as pd

        profiles = [{"distinct_id": i, **(self.sim.profile(i, ignore_alias=True) or {})} for i in sorted(touched)
                    if self.sim.profile(i, ignore_alias=True) is not None]
        if profiles:
            parts.append("<h4>Profiles this send touched</h4>" + frame_table_html(pd.DataFrame(profiles)))
        groups = [{"group_key": k, "group_id": g, **(self.sim.group(k, g) or {})}
                  for k, g in sorted(click.touched.groups) if self.sim.group(k, g) is not None]
        if groups:
            parts.append("<h4>Groups this send touched</h4>" + frame_table_html(pd.DataFrame(groups)))
        identities = [(i, self.sim.canonical(i), len(self.sim.cluster(i))) for i in sorted(touched)]
        if identities:
            parts.append("<h4>Identities this send touched</h4>"
                         + table_html(Table(("distinct_id", "canonical", "cluster_size"), identities)))
        return output_html("".join(parts), "state")

    def identity_view(self, click: ClickDiff) -> str:
        if not self._big():
            return clusters_svg(self.sim)
        only = with_clusters(self.sim, click.ids_before | click.ids_after)
        return (output_html("<p class='mpsim-note'>A big project: the users this send touched.</p>", "note")
                + clusters_svg(self.sim, only=only, clusters=click.clusters_after))

    def settings_change_html(self, events: list[dict[str, Any]], before: dict[str, Any],
                             after: dict[str, Any]) -> str:
        """``compare_configs`` of the pasted events under the previous and the new settings."""
        labels = ("previous settings", "new settings")
        shown = events[:COMPARE_EVENTS]
        comparison = compare_configs(shown, before, after, now=self.now)
        cut = f" (the first {len(shown)} of {len(events)})" if len(shown) < len(events) else ""
        return output_html(
            f"<p>The settings changed since the last run; here is what the change does to the pasted "
            f"{count(len(shown), 'event')}{cut}, each replayed into an empty project under both settings.</p>"
            "<h4>Settings</h4>" + diff_body_html(Diff(diff(before, after).rows, labels))
            + "<h4>Requests Mixpanel receives</h4>" + diff_body_html(Diff(comparison.requests.rows, labels))
            + "<h4>What Mixpanel holds</h4>" + diff_body_html(Diff(comparison.state.rows, labels)),
            "settings-change")

    def explain(self, text: str) -> Outcome:
        """The Explain tab: ``a`` (its user, and the profile Mixpanel shows for it) or ``a, b`` (one user?)."""
        ids = [part for part in text.replace(",", " ").split() if part]
        if not 1 <= len(ids) <= 2:
            return self._failed(error_html("type one distinct id, or two separated by a comma", "Explain"))
        self.explained = ids
        self.tabs["Explain"] = self.explain_html(ids)
        return Outcome(tabs=dict(self.tabs), status=f"Explained {' and '.join(ids)}.")

    def explain_html(self, ids: list[str]) -> str:
        parts = [self.sim.explain(*ids)._repr_html_()]
        if len(ids) == 1 and self.sim.profile(ids[0]) is not None:
            parts.append(self.sim.explain_profile(ids[0])._repr_html_())
        return "".join(parts)

    def reset(self) -> Outcome:
        if self._own_sim:
            self.sim = self._new_sim()
        else:
            self.sim.reset()
        self.tabs = dict.fromkeys(TABS, "")
        self._counter = EventCounter()
        return Outcome(tabs=dict(self.tabs), status="The simulated project is empty.")

    def sample(self) -> tuple[str, dict[str, Any]]:
        """The built-in sample session: its events as JSON Lines and its destination settings."""
        from ..samples import sample_session

        session = sample_session()
        if self.now is None:
            self.now = session["now"]
            if self._own_sim and not len(self.sim.log):
                self.sim = self._new_sim()
        return "\n".join(json.dumps(e) for e in session["events"]), dict(session["destination"]["Config"])


class Playground(widgets.VBox):
    """The ipywidgets app returned by ``mpsim.playground()``."""

    def __init__(self, sim: Simulator | None = None, config: dict[str, Any] | None = None, now: Any = None,
                 project: dict[str, Any] | Simulator | None = None) -> None:
        self.model = PlaygroundModel(sim, config, now, project)
        self.events_input = widgets.Textarea(
            placeholder="Paste a RudderStack event, a JSON array of events, or JSON Lines (or press Load sample)",
            layout=widgets.Layout(width="100%", height="180px"))
        self.form: dict[str, widgets.Widget] = {f.name: self._field_widget(f) for f in FIELDS}
        self.config_input = widgets.Textarea(placeholder="…or paste RudderStack's destination JSON and press Load",
                                             layout=widgets.Layout(width="auto", flex="1 1 auto", height="60px"))
        self.load_button = widgets.Button(description="Load settings", icon="upload")
        self.sample_button = widgets.Button(description="Load sample", icon="file",
                                            tooltip="Fill in the built-in sample session and its settings")
        self.transform_button = widgets.Button(description="Transform", button_style="info", icon="exchange")
        self.send_button = widgets.Button(description="Transform and send", button_style="primary", icon="paper-plane",
                                          layout=widgets.Layout(width="auto"))
        self.reset_button = widgets.Button(description="Reset", button_style="warning", icon="trash")
        self.explain_input = widgets.Text(placeholder="distinct id, or two ids: a, b",
                                          layout=widgets.Layout(width="auto", flex="1 1 auto"))
        self.explain_button = widgets.Button(description="Explain", icon="question",
                                             tooltip="Why is this id the user it is? Are these two ids one user?")
        self.status = widgets.HTML()
        self.error = widgets.HTML()
        self.outputs = {name: widgets.HTML() for name in TABS}
        self.tabs = widgets.Tab(children=list(self.outputs.values()), titles=list(TABS))
        self._set_form(values_from_config(self.model.config))
        self.load_button.on_click(lambda _: self.load_settings())
        self.sample_button.on_click(lambda _: self.load_sample())
        self.transform_button.on_click(lambda _: self._show(self._run(send=False)))
        self.send_button.on_click(lambda _: self._show(self._run(send=True)))
        self.reset_button.on_click(lambda _: self._show(self.model.reset()))
        self.explain_button.on_click(lambda _: self.explain())
        # a responsive grid: as many 300 px columns as fit, each widget filling its cell
        form = widgets.GridBox(list(self.form.values()), layout=widgets.Layout(
            grid_template_columns="repeat(auto-fill, minmax(300px, 1fr))", grid_gap="4px 16px", width="100%"))
        form.add_class("mpsim-form")
        super().__init__([
            widgets.HTML("<b>RudderStack events</b>"), self.events_input,
            widgets.HTML("<b>Mixpanel destination settings</b>"), form,
            widgets.HBox([self.config_input, self.load_button], layout=widgets.Layout(width="100%")),
            widgets.HBox([self.transform_button, self.send_button, self.reset_button, self.sample_button],
                         layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([self.explain_input, self.explain_button], layout=widgets.Layout(width="100%")),
            self.error, self.status, self.tabs,
        ])
        self.add_class("mpsim-playground")

    @property
    def sim(self) -> Simulator:
        return self.model.sim

    @staticmethod
    def _field_widget(f: Field) -> widgets.Widget:
        style = {"description_width": "150px"}
        cell = widgets.Layout(width="auto", min_width="0")
        if f.kind == "bool":
            return widgets.Checkbox(description=f.label, indent=False, layout=cell)
        if f.kind == "choice":
            return widgets.Dropdown(description=f.label, options=list(f.options), style=style, layout=cell)
        placeholder = "comma-separated" if f.kind.startswith("list:") else ""
        return widgets.Text(description=f.label, placeholder=placeholder, style=style, layout=cell)

    def _set_form(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            self.form[name].value = value

    def form_values(self) -> dict[str, Any]:
        return {name: w.value for name, w in self.form.items()}

    def load_settings(self) -> None:
        """Fill the form from the pasted destination JSON."""
        try:
            config = json.loads(self.config_input.value)
            if not isinstance(config, dict):
                raise ValueError("expected a JSON object")
        except ValueError as exc:
            self.error.value = error_html(str(exc), "destination JSON")
            return
        self.model.config = dict(config.get("Config", config))
        self._set_form(values_from_config(self.model.config))
        self.error.value = ""
        self.status.value = _status_html("Settings loaded.")

    def load_sample(self) -> None:
        """Fill in the built-in sample session and its destination settings (nothing is sent yet)."""
        text, config = self.model.sample()
        self.events_input.value = text
        self.model.config = {**self.model.config, **config}
        self._set_form(values_from_config(self.model.config))
        self.error.value = ""
        self.status.value = _status_html("Sample loaded: press Transform and send.")

    def explain(self) -> None:
        """Show ``sim.explain`` for the id(s) typed next to the Explain button, and open its tab."""
        self._show(self.model.explain(self.explain_input.value))
        if not self.error.value:
            self.tabs.selected_index = TABS.index("Explain")

    def _run(self, *, send: bool) -> Outcome:
        self.model.config = config_from_values(self.form_values(), self.model.config)
        return self.model.run(self.events_input.value, send=send)

    def _show(self, outcome: Outcome) -> None:
        """Move an outcome into the widgets; only the tabs whose HTML changed are sent to the front end."""
        self.error.value = outcome.error or ""
        self.status.value = _status_html(outcome.status)
        for index, name in enumerate(TABS):
            content = outcome.tabs.get(name, self.outputs[name].value)
            if self.outputs[name].value != content:
                self.outputs[name].value = content
            title = f"{STALE_MARK}{name}" if name in outcome.stale else name  # first: tab titles are cut short
            if self.tabs.get_title(index) != title:
                self.tabs.set_title(index, title)


def _status_html(text: str) -> str:
    return output_html(f"<p>{html.escape(text)}</p>", "status") if text else ""


def playground(sim: Simulator | None = None, config: dict[str, Any] | None = None, now: Any = None, *,
               project: dict[str, Any] | Simulator | None = None) -> Playground:
    """An ipywidgets app: paste events, set destination settings, transform and send, see the state.

    ``project`` is the Mixpanel project (Simulator settings, e.g. ``{"identity_merge": "simplified"}``),
    apart from the destination settings in the form; without it (and without ``sim``) the project is
    assumed to match the destination and the status line says so.
    """
    return Playground(sim, config, now, project=project)
