"""``mpsim.playground``: paste RudderStack events, pick destination settings, see what Mixpanel gets.

``PlaygroundModel`` does the work and produces HTML for each output tab; ``Playground`` is the
ipywidgets shell (text areas, a settings form, buttons, tabs) that only moves values in and out.
Tests drive the shell headless by setting widget values and clicking buttons.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets

from ..diff import diff
from ..errors import TransformError
from ..mixpanel import Simulator
from ..request import Request
from ..rudder import transform
from ..validation import validate
from .views import PasteError, clusters_svg, error_html, parse_pasted, requests_html, state_html


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


@dataclass
class Outcome:
    """What one button press produced: HTML for each tab, or an error (and the state untouched)."""

    tabs: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    status: str = ""
    requests: list[Request] = field(default_factory=list)


TABS = ("Requests", "Findings", "State", "Changes", "Identity graph")


class PlaygroundModel:
    """The playground's behaviour, without widgets."""

    def __init__(self, sim: Simulator | None = None, config: dict[str, Any] | None = None, now: Any = None) -> None:
        base = dict((config or {}).get("Config", config or {}))
        self.config = base
        self.now = now
        self._own_sim = sim is None
        self.sim = sim if sim is not None else Simulator(identity_merge=self._mode(), now=now)

    def _mode(self) -> str:
        return "simplified" if self.config.get("identityMergeApi") == "simplified" else "original"

    def _transform_all(self, events: list[dict[str, Any]]) -> list[Request]:
        requests: list[Request] = []
        for index, event in enumerate(events):
            try:
                requests += transform(event, self.config, now=self.now if self.now is not None else self.sim.now_ms)
            except TransformError as exc:
                raise PasteError(f"RudderStack refuses it: {exc.message} ({exc.kind}, status {exc.status_code})",
                                 f"event {index} ({event.get('type', 'no type')})") from None
        return requests

    def run(self, text: str, *, send: bool) -> Outcome:
        """Transform the pasted events; with ``send``, deliver them to the simulator too."""
        try:
            events = parse_pasted(text)
            requests = self._transform_all(events)
        except PasteError as exc:
            return Outcome(error=error_html(exc.reason, exc.where), status="Nothing was sent.")
        outcome = Outcome(requests=requests)
        outcome.tabs["Requests"] = requests_html(requests)
        outcome.tabs["Findings"] = validate(events, now=self.now, config=self.config,
                                            group_keys=None)._repr_html_()
        if not send:
            outcome.status = f"{len(events)} event(s) → {len(requests)} request(s); not sent."
            return outcome
        if self._mode() != self.sim.identity_merge:
            if self._own_sim and not len(self.sim.log):
                self.sim = Simulator(identity_merge=self._mode(), now=self.now)
            else:
                return Outcome(tabs=outcome.tabs, error=error_html(
                    f"the simulated project uses {self.sim.identity_merge} ID merge and already holds data; "
                    "press Reset to switch it to " + self._mode(), "ID merge"), status="Nothing was sent.")
        before = self.sim.snapshot()
        replies = self.sim.send(requests)
        rejected = [r.body for r in replies if not r.ok]
        outcome.tabs["State"] = state_html(self.sim)
        outcome.tabs["Changes"] = diff(before, self.sim.snapshot())._repr_html_()
        outcome.tabs["Identity graph"] = clusters_svg(self.sim)
        outcome.status = (f"{len(events)} event(s) → {len(requests)} request(s) sent; "
                          + (f"Mixpanel rejected part of {len(rejected)}." if rejected else "Mixpanel accepted all."))
        return outcome

    def reset(self) -> Outcome:
        if self._own_sim:
            self.sim = Simulator(identity_merge=self._mode(), now=self.now)
        else:
            self.sim.reset()
        return Outcome(tabs=dict.fromkeys(TABS, ""), status="The simulated project is empty.")


class Playground(widgets.VBox):
    """The ipywidgets app returned by ``mpsim.playground()``."""

    def __init__(self, sim: Simulator | None = None, config: dict[str, Any] | None = None, now: Any = None) -> None:
        self.model = PlaygroundModel(sim, config, now)
        self.events_input = widgets.Textarea(
            placeholder="Paste a RudderStack event, a JSON array of events, or JSON Lines",
            layout=widgets.Layout(width="100%", height="180px"))
        self.form: dict[str, widgets.Widget] = {f.name: self._field_widget(f) for f in FIELDS}
        self.config_input = widgets.Textarea(placeholder="…or paste RudderStack's destination JSON and press Load",
                                             layout=widgets.Layout(width="100%", height="60px"))
        self.load_button = widgets.Button(description="Load settings", icon="upload")
        self.transform_button = widgets.Button(description="Transform", button_style="info", icon="exchange")
        self.send_button = widgets.Button(description="Transform and send", button_style="primary", icon="paper-plane",
                                          layout=widgets.Layout(width="auto"))
        self.reset_button = widgets.Button(description="Reset", button_style="warning", icon="trash")
        self.status = widgets.HTML()
        self.error = widgets.HTML()
        self.outputs = {name: widgets.HTML() for name in TABS}
        self.tabs = widgets.Tab(children=list(self.outputs.values()), titles=list(TABS))
        self._set_form(values_from_config(self.model.config))
        self.load_button.on_click(lambda _: self.load_settings())
        self.transform_button.on_click(lambda _: self._show(self._run(send=False)))
        self.send_button.on_click(lambda _: self._show(self._run(send=True)))
        self.reset_button.on_click(lambda _: self._show(self.model.reset()))
        form = widgets.GridBox(list(self.form.values()),
                               layout=widgets.Layout(grid_template_columns="repeat(3, 33%)"))
        super().__init__([
            widgets.HTML("<b>RudderStack events</b>"), self.events_input,
            widgets.HTML("<b>Mixpanel destination settings</b>"), form,
            widgets.HBox([self.config_input, self.load_button]),
            widgets.HBox([self.transform_button, self.send_button, self.reset_button]),
            self.error, self.status, self.tabs,
        ])

    @property
    def sim(self) -> Simulator:
        return self.model.sim

    @staticmethod
    def _field_widget(f: Field) -> widgets.Widget:
        style = {"description_width": "150px"}
        if f.kind == "bool":
            return widgets.Checkbox(description=f.label, indent=False)
        if f.kind == "choice":
            return widgets.Dropdown(description=f.label, options=list(f.options), style=style)
        placeholder = "comma-separated" if f.kind.startswith("list:") else ""
        return widgets.Text(description=f.label, placeholder=placeholder, style=style)

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
        self.status.value = "Settings loaded."

    def _run(self, *, send: bool) -> Outcome:
        self.model.config = config_from_values(self.form_values(), self.model.config)
        return self.model.run(self.events_input.value, send=send)

    def _show(self, outcome: Outcome) -> None:
        self.error.value = outcome.error or ""
        self.status.value = outcome.status
        for name, content in outcome.tabs.items():
            self.outputs[name].value = content


def playground(sim: Simulator | None = None, config: dict[str, Any] | None = None, now: Any = None) -> Playground:
    """An ipywidgets app: paste events, set destination settings, transform and send, see the state."""
    return Playground(sim, config, now)
