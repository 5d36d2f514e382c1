"""Pure view functions for notebooks: data in, HTML or SVG text out. No widgets here.

The playground is a thin shell over these, and every function is usable on its own in a cell
(``IPython.display.HTML(requests_html(reqs))``).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import MpsimError
from ..mixpanel.identity import Refusal
from ..mixpanel.state import StateViews
from ..request import Request

FORM_STYLE = "font-family: var(--jp-code-font-family, monospace); font-size: 12px"


class PasteError(MpsimError):
    """Pasted text that is not one event, a JSON array of events, or JSON Lines."""

    def __init__(self, message: str, where: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.reason = message


def parse_pasted(text: str) -> list[dict[str, Any]]:
    """Events from pasted text: one JSON object, a JSON array of objects, or JSON Lines."""
    stripped = text.strip()
    if not stripped:
        raise PasteError("nothing to read: paste a RudderStack event, a JSON array of events or JSON Lines",
                         "the text box")
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as first:
        lines = [line for line in stripped.splitlines() if line.strip()]
        if len(lines) < 2:
            raise PasteError(f"not valid JSON ({first.msg} at line {first.lineno}, column {first.colno})",
                             "the pasted text") from None
        data = []
        for number, line in enumerate(stripped.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise PasteError(f"not valid JSON ({exc.msg}, column {exc.colno})", f"line {number}") from None
    events = data if isinstance(data, list) else [data]
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise PasteError(f"expected a JSON object (an event), got {type(event).__name__}", f"event {index}")
    return events


def error_html(message: str, where: str | None = None) -> str:
    place = f"<b>{html.escape(where)}</b>: " if where else ""
    return (f"<div class='mpsim-error' style='color:#b00020;border-left:4px solid #b00020;padding:4px 8px'>"
            f"{place}{html.escape(message)}</div>")


def requests_html(requests: Iterable[Request]) -> str:
    """The Mixpanel requests, grouped by endpoint, as pretty JSON."""
    by_path: dict[str, list[Request]] = {}
    for request in requests:
        by_path.setdefault(request.path, []).append(request)
    if not by_path:
        return "<p>No requests yet: paste an event and press Transform.</p>"
    parts = []
    for path in ("import", "engage", "groups"):
        group = by_path.get(path, [])
        if not group:
            continue
        records = [json.loads(r.body_text()) for r in group]
        first = group[0]
        parts.append(f"<h4>/{path} <small>({sum(len(r) for r in records)} records, {len(group)} requests, "
                     f"{html.escape(first.endpoint)})</small></h4>"
                     f"<pre style='{FORM_STYLE}'>{html.escape(json.dumps([x for r in records for x in r], indent=2, ensure_ascii=False))}</pre>")
    return "".join(parts)


def state_html(state: StateViews) -> str:
    """Events, profiles, groups and identity clusters as tables."""
    return state._repr_html_() + identities_html(state)


def identities_html(state: StateViews) -> str:
    frame = state.identities
    if frame.empty:
        return ""
    return "<h4>Identities</h4>" + frame.to_html(index=False)


@dataclass
class _Box:
    label: str
    x: float
    y: float
    canonical: bool = False
    width: float = field(init=False)

    def __post_init__(self) -> None:
        self.width = max(70.0, 7.2 * len(self.label) + 16)


def _box_svg(box: _Box) -> str:
    fill, stroke, weight = ("#fff3c4", "#f29900", "bold") if box.canonical else ("#e8f0fe", "#4285f4", "normal")
    return (f"<rect x='{box.x:.0f}' y='{box.y:.0f}' width='{box.width:.0f}' height='24' rx='6' fill='{fill}' "
            f"stroke='{stroke}'/><text x='{box.x + box.width / 2:.0f}' y='{box.y + 16:.0f}' text-anchor='middle' "
            f"font-size='12' font-family='monospace' font-weight='{weight}'>{html.escape(box.label)}</text>")


def clusters_svg(state: StateViews) -> str:
    """Identity clusters as a picture: each user's ids linked to the canonical id (highlighted),
    and every refused merge as a red dashed link labelled with Mixpanel's reason."""
    clusters = state.clusters()
    refusals: list[Refusal] = state.refused_merges
    if not clusters and not refusals:
        return "<p>No identities yet.</p>"
    parts: list[str] = []
    boxes: dict[str, _Box] = {}
    y = 10.0
    width = 400.0
    for canonical, ids in clusters.items():
        center = _Box(canonical, 10, y, canonical=True)
        boxes[canonical] = center
        members = [i for i in ids if i != canonical]
        x = center.x + center.width + 60
        row_y = y
        for member in members:
            box = _Box(member, x, row_y)
            boxes[member] = box
            parts.append(f"<line x1='{center.x + center.width:.0f}' y1='{center.y + 12:.0f}' x2='{box.x:.0f}' "
                         f"y2='{box.y + 12:.0f}' stroke='#5f6368' stroke-width='1.5'/>")
            parts.append(_box_svg(box))
            width = max(width, box.x + box.width + 10)
            row_y += 32
        parts.append(_box_svg(center))
        y = max(y + 32, row_y) + 12
    if refusals:
        parts.append(f"<text x='10' y='{y + 14:.0f}' font-size='13' font-weight='bold' fill='#c62828'>"
                     f"Refused merges</text>")
        y += 26
        for refusal in refusals:
            left, right = refusal.ids[0], refusal.ids[-1]
            a, b = _Box(left, 10, y), _Box(right, 10, y)
            b.x = a.x + a.width + 260
            parts.append(f"<line x1='{a.x + a.width:.0f}' y1='{y + 12:.0f}' x2='{b.x:.0f}' y2='{y + 12:.0f}' "
                         f"stroke='#c62828' stroke-width='2' stroke-dasharray='6 4'/>")
            parts.append(f"<text x='{a.x + a.width + 130:.0f}' y='{y + 8:.0f}' text-anchor='middle' font-size='11' "
                         f"fill='#c62828'>{html.escape(refusal.reason)}</text>")
            parts.append(_box_svg(a) + _box_svg(b))
            parts.append(f"<text x='10' y='{y + 40:.0f}' font-size='11' fill='#5f6368'>"
                         f"{html.escape(refusal.kind)}: {html.escape(refusal.description)}</text>")
            width = max(width, b.x + b.width + 10)
            y += 56
    height = y + 10
    return (f"<svg class='mpsim-clusters' xmlns='http://www.w3.org/2000/svg' width='{width:.0f}' "
            f"height='{height:.0f}' viewBox='0 0 {width:.0f} {height:.0f}'>" + "".join(parts) + "</svg>")
