"""Pure view functions for notebooks: data in, HTML text out. No widgets here.

Every piece of HTML mpsim shows goes through :func:`output_html`, for two reasons:

* **Nothing is typeset as maths.** Mixpanel's reserved names start with ``$`` and the notebook front
  ends run MathJax over HTML output (``$first_name … $email`` becomes italic maths). MathJax skips a
  subtree whose element carries its "ignore" class: ``tex2jax_ignore`` for MathJax 2 (nbclassic) and
  ``mathjax_ignore`` for MathJax 3 (JupyterLab 4, Notebook 7). The wrapper carries both. Escaping
  ``$`` as ``&#36;`` would not help: MathJax reads the parsed text, not the markup.
* **Colours come from the front end's theme.** The style block reads JupyterLab's ``--jp-*``
  variables (then VS Code's ``--vscode-*``, then the system colours), so light, dark and high
  contrast themes keep readable text; row colours are translucent tints over the theme background.

pandas frames that mpsim returns are marked with :func:`mark_frame`; in an IPython kernel a display
formatter then renders marked frames with pandas' own ``display.html.use_mathjax`` switched off and
inside the same wrapper. Frames that are not mpsim's are displayed exactly as pandas would.

The playground is a thin shell over these functions, and each is usable on its own in a cell
(``IPython.display.HTML(requests_html(reqs))``).
"""

from __future__ import annotations

import html
import json
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import MpsimError
from ..wording import count, head_tail, summary_line

if TYPE_CHECKING:
    import pandas as pd

    from ..diff import Diff
    from ..mixpanel.events import StoredEvent
    from ..mixpanel.state import StateViews
    from ..request import Request
    from ..validation.findings import Findings

#: The classes MathJax 2 (nbclassic) and MathJax 3 (JupyterLab 4, Notebook 7) skip.
MATH_IGNORE = "tex2jax_ignore mathjax_ignore"

#: A table longer than this is cut to its head and tail (like pandas' ``display.max_rows``)...
MAX_ROWS = 30
#: ...showing this many rows, half from each end (like pandas' ``display.min_rows``).
MIN_ROWS = 20
#: Up to this many rows, a cut table carries the whole table behind "show all".
SHOW_ALL_LIMIT = 500
#: Cells longer than this are cut (the whole text stays in the cell's tooltip).
CELL_CHARS = 120

FORM_STYLE = "font-family: var(--jp-code-font-family, monospace); font-size: 12px"

# One style block per output, scoped to .mpsim-output. Text uses the theme's content colour; row
# colours are translucent tints layered over the (opaque) theme background, so both the light and
# the dark theme keep their contrast and the sticky first column stays opaque. A wide table's
# horizontal scrollbar is styled, which keeps it drawn: overlay scrollbars (macOS, touch screens)
# otherwise hide it until the pointer hovers, and the table just looks clipped.
STYLE = """<style>
.mpsim-output{--mpsim-fg:var(--jp-content-font-color1,var(--vscode-editor-foreground,CanvasText));
--mpsim-muted:var(--jp-content-font-color1,var(--vscode-descriptionForeground,CanvasText));
--mpsim-bg:var(--jp-layout-color0,var(--vscode-editor-background,Canvas));
--mpsim-line:var(--jp-border-color2,rgba(128,128,128,.35));
--mpsim-head:rgba(128,128,128,.16);--mpsim-added:rgba(46,160,67,.22);--mpsim-removed:rgba(218,54,51,.22);
--mpsim-changed:rgba(210,153,34,.24);--mpsim-moved:rgba(56,139,253,.22);--mpsim-error:#d93025;
--mpsim-warning:#e8710a;--mpsim-info:#1a73e8;--mpsim-ok:#1e8e3e;--mpsim-accent:#f29900;--mpsim-link:#4285f4;
color:var(--mpsim-fg);text-align:left;font-family:var(--jp-ui-font-family,system-ui,sans-serif);
font-size:var(--jp-content-font-size1,13px);line-height:1.45}
.mpsim-output h4{margin:.8em 0 .3em;font-size:1.05em;color:var(--mpsim-fg)}
.mpsim-output p,.mpsim-output li{color:var(--mpsim-fg);text-align:left}
.mpsim-output code,.mpsim-output pre{font-family:var(--jp-code-font-family,monospace);font-size:.95em;
color:var(--mpsim-fg);background:none}
.mpsim-output pre{white-space:pre-wrap;word-break:break-word;margin:.3em 0;padding:.5em;
border-left:3px solid var(--mpsim-line)}
.mpsim-output .mpsim-note{color:var(--mpsim-muted);font-style:italic}
.mpsim-output .mpsim-scroll{overflow-x:auto;max-width:100%;margin:.2em 0 .6em}
.mpsim-output .mpsim-scroll::-webkit-scrollbar{height:10px;width:10px;-webkit-appearance:none}
.mpsim-output .mpsim-scroll::-webkit-scrollbar-track{background:var(--mpsim-head)}
.mpsim-output .mpsim-scroll::-webkit-scrollbar-thumb{background:var(--mpsim-line);border-radius:5px;
border:2px solid transparent;background-clip:padding-box;min-width:40px}
.mpsim-output .mpsim-scroll::-webkit-scrollbar-thumb:hover{background-color:var(--mpsim-muted)}
@supports not selector(::-webkit-scrollbar){.mpsim-output .mpsim-scroll{scrollbar-width:thin;
scrollbar-color:var(--mpsim-muted) var(--mpsim-head)}}
.mpsim-output table.mpsim-table{border-collapse:separate;border-spacing:0;margin:0;width:auto;
table-layout:auto;font-size:12px;color:var(--mpsim-fg)}
.mpsim-output table.mpsim-table th,.mpsim-output table.mpsim-table td{text-align:left;vertical-align:top;
padding:3px 8px;border:0;border-bottom:1px solid var(--mpsim-line);white-space:nowrap;max-width:40em;
overflow:hidden;text-overflow:ellipsis;color:var(--mpsim-fg);background-color:var(--mpsim-bg);
line-height:1.35}
.mpsim-output table.mpsim-table th{font-weight:600;
background-image:linear-gradient(var(--mpsim-head),var(--mpsim-head))}
.mpsim-output table.mpsim-table th:first-child,.mpsim-output table.mpsim-table td:first-child{position:sticky;
left:0;z-index:1;border-right:1px solid var(--mpsim-line)}
.mpsim-output table.mpsim-table tr.mpsim-gap td{text-align:left;font-style:italic}
.mpsim-output tr.mpsim-added td{background-image:linear-gradient(var(--mpsim-added),var(--mpsim-added))}
.mpsim-output tr.mpsim-removed td{background-image:linear-gradient(var(--mpsim-removed),var(--mpsim-removed))}
.mpsim-output tr.mpsim-changed td,.mpsim-output tr.mpsim-type-changed td{
background-image:linear-gradient(var(--mpsim-changed),var(--mpsim-changed))}
.mpsim-output tr.mpsim-moved td{background-image:linear-gradient(var(--mpsim-moved),var(--mpsim-moved))}
.mpsim-output details.mpsim-all>summary{cursor:pointer;color:var(--mpsim-fg);text-decoration:underline}
.mpsim-output details.mpsim-all[open]+.mpsim-scroll{display:none}
.mpsim-output .mpsim-badge{display:inline-block;padding:0 6px;border-radius:3px;border-left:4px solid;
color:var(--mpsim-fg);font-weight:600}
.mpsim-output .mpsim-tone-error{border-color:var(--mpsim-error);background:var(--mpsim-removed)}
.mpsim-output .mpsim-tone-warning{border-color:var(--mpsim-warning);background:var(--mpsim-changed)}
.mpsim-output .mpsim-tone-info{border-color:var(--mpsim-info);background:var(--mpsim-moved)}
.mpsim-output .mpsim-tone-ok{border-color:var(--mpsim-ok);background:var(--mpsim-added)}
.mpsim-output .mpsim-callout{border-left:4px solid;padding:4px 8px;margin:.3em 0;color:var(--mpsim-fg)}
.mpsim-output svg .mpsim-box rect{fill:var(--mpsim-bg);stroke:var(--mpsim-link)}
.mpsim-output svg .mpsim-box.mpsim-canonical rect{fill:var(--mpsim-changed);stroke:var(--mpsim-accent);
stroke-width:2}
.mpsim-output svg text{fill:var(--mpsim-fg)}
.mpsim-output svg line{stroke:var(--mpsim-muted)}
.mpsim-output svg line.mpsim-refused{stroke:var(--mpsim-error)}
@media (forced-colors:active){.mpsim-output .mpsim-badge,.mpsim-output .mpsim-callout{border-color:CanvasText}}
</style>"""


def output_html(body: str, kind: str = "view") -> str:
    """Wrap one piece of mpsim HTML: MathJax ignores it, the theme colours it.

    ``kind`` becomes a ``mpsim-<kind>`` class (``findings``, ``diff``, ``state``, ``request``...).
    Every ``_repr_html_`` of mpsim and every view below goes through here.
    """
    return f"<div class='mpsim-output mpsim-{html.escape(kind)} {MATH_IGNORE}'>{STYLE}{body}</div>"


def badge(text: str, tone: str) -> str:
    """A short label with a coloured edge (``tone``: error, warning, info or ok); the text keeps the theme colour."""
    return f"<span class='mpsim-badge mpsim-tone-{html.escape(tone)}'>{html.escape(text)}</span>"


def note(text: str) -> str:
    return f"<p class='mpsim-note'>{html.escape(text)}</p>"


# --------------------------------------------------------------------------- cells and tables
def is_missing(value: Any) -> bool:
    """None, NaN, ``pd.NA`` and ``pd.NaT``: shown as an empty cell."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")


def cell_text(value: Any) -> str:
    """The text of one table cell: blank when missing, JSON for lists, dicts and numbers, ISO for times."""
    if is_missing(value):
        return ""
    if isinstance(value, str):
        return value
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    try:
        return json.dumps(value, ensure_ascii=False, default=str, separators=(", ", ": "))
    except ValueError:
        return repr(value)


def _cell(value: Any) -> str:
    text = cell_text(value)
    if len(text) > CELL_CHARS:
        return f"<td title='{html.escape(text)}'>{html.escape(text[:CELL_CHARS - 1])}…</td>"
    return f"<td>{html.escape(text)}</td>"


@dataclass
class Table:
    """Rows to show as a table. ``rows`` needs only ``len`` and slicing, so a lazy sequence over a
    big store is read for the head and tail only; ``row_class`` names a CSS class per row."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    row_class: Callable[[Sequence[Any]], str] | None = None
    total: int | None = None  # the size of the whole when ``rows`` is already a part of it


def _rows_html(table: Table, rows: Iterable[Sequence[Any]]) -> str:
    out = []
    for row in rows:
        css = table.row_class(row) if table.row_class else ""
        out.append(f"<tr{f' class={css!r}' if css else ''}>" + "".join(_cell(v) for v in row) + "</tr>")
    return "".join(out)


def _table(table: Table, body: str) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    return (f"<div class='mpsim-scroll'><table class='mpsim-table'><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></div>")


def table_html(table: Table, *, max_rows: int = MAX_ROWS, min_rows: int = MIN_ROWS,
               show_all_limit: int = SHOW_ALL_LIMIT) -> str:
    """A left-aligned, horizontally scrollable table with a sticky first column.

    Longer than ``max_rows``, it shows ``min_rows`` rows from both ends (like pandas) and, up to
    ``show_all_limit`` rows, the whole table behind a "show all" switch that needs no JavaScript.
    """
    count = len(table.rows)
    if count <= max_rows:
        return _table(table, _rows_html(table, table.rows[:]))
    head_n = min(min_rows, max_rows) // 2
    tail_n = min(min_rows, max_rows) - head_n
    hidden = count - head_n - tail_n
    gap = (f"<tr class='mpsim-gap'><td colspan='{len(table.columns)}'>… {hidden} more row"
           f"{'s' if hidden != 1 else ''} …</td></tr>")
    cut = _table(table, _rows_html(table, table.rows[:head_n]) + gap + _rows_html(table, table.rows[count - tail_n:]))
    total = table.total if table.total is not None else count
    if count <= show_all_limit:
        whole = (f"<details class='mpsim-all'><summary>show all {total} rows</summary>"
                 f"{_table(table, _rows_html(table, table.rows[:]))}</details>")
        return whole + cut
    return f"<p class='mpsim-note'>{total} rows: the first {head_n} and the last {tail_n} are shown.</p>" + cut


class FrameRows(Sequence[Sequence[Any]]):
    """The rows of a pandas frame, read only where sliced."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame

    def __len__(self) -> int:
        return len(self.frame)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return list(self.frame.iloc[index].itertuples(index=False, name=None))
        return tuple(self.frame.iloc[index])


def frame_table_html(frame: pd.DataFrame, **kw: Any) -> str:
    """A pandas frame through :func:`table_html` (index left out: mpsim's frames have none that matters)."""
    return table_html(Table([str(c) for c in frame.columns], FrameRows(frame)), **kw)


# --------------------------------------------------------------------------- pandas frames mpsim returns
_formatter_installed = False


def mark_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Mark a frame as mpsim's so that notebooks show it without MathJax (see the module docstring).

    The mark is ``frame.attrs["mpsim"]``, which pandas carries through filtering, sorting and copies.
    """
    frame.attrs["mpsim"] = True
    install_frame_formatter()
    return frame


def frame_repr_html(frame: Any) -> str | None:
    """The HTML a notebook shows for a frame: pandas' own, and for mpsim's frames without MathJax."""
    if not getattr(frame, "attrs", {}).get("mpsim"):
        return frame._repr_html_()  # type: ignore[no-any-return]
    import pandas as pd

    with pd.option_context("display.html.use_mathjax", False):
        body = frame._repr_html_()
    return None if body is None else f"<div class='mpsim-frame {MATH_IGNORE}'>{body}</div>"


def install_frame_formatter() -> bool:
    """Register :func:`frame_repr_html` for DataFrames in the running IPython kernel (once); False outside one."""
    global _formatter_installed
    if _formatter_installed:
        return True
    ipython_module = sys.modules.get("IPython")
    shell = ipython_module.get_ipython() if ipython_module is not None else None  # type: ignore[attr-defined]
    if shell is None:
        return False
    import pandas as pd

    shell.display_formatter.formatters["text/html"].for_type(pd.DataFrame, frame_repr_html)
    _formatter_installed = True
    return True


# --------------------------------------------------------------------------- pasted events and errors
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
    return output_html(f"<div class='mpsim-callout mpsim-tone-error'>{place}{html.escape(message)}</div>", "error")


def refused_html(refused: Sequence[tuple[str, str]]) -> str:
    """Events RudderStack refused (label, reason): listed, while the others went on."""
    if not refused:
        return ""
    items = "".join(f"<li><b>{html.escape(label)}</b>: {html.escape(reason)}</li>" for label, reason in refused)
    return output_html(f"<div class='mpsim-callout mpsim-tone-warning'>{len(refused)} event"
                       f"{'s' if len(refused) != 1 else ''} refused by RudderStack (the others went on):"
                       f"<ul>{items}</ul></div>", "refused")


# --------------------------------------------------------------------------- requests
def request_body_html(request: Request) -> str:
    pretty = json.dumps(json.loads(request.body_text()), indent=2, ensure_ascii=False)
    params = "&amp;".join(f"{html.escape(str(k))}={html.escape(str(v))}" for k, v in request.params.items())
    count = len(request.records)
    return (f"<b>{html.escape(request.method)} {html.escape(request.endpoint)}</b>{'?' + params if params else ''}"
            f" <small>({count} record{'s' if count != 1 else ''})</small><pre>{html.escape(pretty)}</pre>")


def request_html(request: Request) -> str:
    """One Mixpanel request: method, URL, parameters and the pretty-printed body."""
    return output_html(request_body_html(request), "request")


def requests_html(requests: Iterable[Request]) -> str:
    """The Mixpanel requests, grouped by endpoint, as pretty JSON."""
    by_path: dict[str, list[Request]] = {}
    for request in requests:
        by_path.setdefault(request.path, []).append(request)
    if not by_path:
        return output_html("<p>No requests yet: paste an event and press Transform.</p>", "requests")
    parts = []
    for path in ("import", "track", "engage", "groups"):
        group = by_path.pop(path, [])
        if group:
            parts.append(_endpoint_html(path, group))
    parts += [_endpoint_html(path, group) for path, group in by_path.items()]
    return output_html("".join(parts), "requests")


def _endpoint_html(path: str, group: list[Request]) -> str:
    records = [json.loads(r.body_text()) for r in group]
    flat = [x for r in records for x in (r if isinstance(r, list) else [r])]
    return (f"<h4>/{html.escape(path)} <small>({len(flat)} records, {len(group)} requests, "
            f"{html.escape(group[0].endpoint)})</small></h4>"
            f"<pre style='{FORM_STYLE}'>{html.escape(json.dumps(flat, indent=2, ensure_ascii=False))}</pre>")


# --------------------------------------------------------------------------- findings and diffs
def findings_html(findings: Findings) -> str:
    """Validation findings: a table with the severity as a badge, errors first within each record."""
    items = list(findings)
    notes = "".join(note(n) for n in getattr(findings, "notes", ()))
    if not items:
        return output_html("<p>No findings: Mixpanel will take this data as it is.</p>" + notes, "findings")
    columns = ["record", "severity", "rule", "path", "value", "message", "fix"]
    body = []
    for f in items:
        body.append("<tr>" + _cell(f.record)
                    + f"<td>{badge(f.severity, f.severity)}</td>"
                    + "".join(_cell(v) for v in (f.rule, f.path, _json_short(f.value), f.message, f.fix)) + "</tr>")
    errors = sum(f.severity == "error" for f in items)
    warnings = sum(f.severity == "warning" for f in items)
    table = Table(columns, [])
    return output_html(f"<p>{errors} error{'s' if errors != 1 else ''}, {warnings} warning"
                       f"{'s' if warnings != 1 else ''}</p>" + notes + _table(table, "".join(body)), "findings")


def _json_short(value: Any, limit: int = 80) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diff_body_html(d: Diff, **kw: Any) -> str:
    if not d.rows:
        return "<p>No differences.</p>"
    entity = any(r.entity for r in d.rows)
    columns = (["entity", "id"] if entity else []) + ["path", "kind", d.labels[0], d.labels[1]]
    rows = _DiffRows(d, entity)
    return table_html(Table(columns, rows, row_class=lambda row: f"mpsim-{row[-3]}"), **kw)


class _DiffRows(Sequence[Sequence[Any]]):
    def __init__(self, d: Diff, entity: bool) -> None:
        self.d, self.entity = d, entity

    def __len__(self) -> int:
        return len(self.d.rows)

    def _row(self, r: Any) -> tuple[Any, ...]:
        sides = tuple(None if v is None and r.kind != "changed" else _json_short(v, 120) for v in (r.before, r.after))
        return ((r.entity, r.id) if self.entity else ()) + (r.path, r.kind) + sides

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._row(r) for r in self.d.rows[index]]
        return self._row(self.d.rows[index])


def diff_html(d: Diff, **kw: Any) -> str:
    """A diff as a table, one tinted row per change (added, removed, changed, moved)."""
    return output_html(diff_body_html(d, **kw), "diff")


# --------------------------------------------------------------------------- simulator state
class EventRows(Sequence[Sequence[Any]]):
    """Stored events as table rows, each one resolved (canonical ``distinct_id``) only when shown."""

    columns = ("time", "event", "distinct_id", "stored_distinct_id", "insert_id", "endpoint", "groups",
               "failure_reason")

    def __init__(self, state: StateViews, events: Sequence[StoredEvent]) -> None:
        self.state, self.events = state, events

    def __len__(self) -> int:
        return len(self.events)

    def _row(self, e: StoredEvent) -> tuple[Any, ...]:
        from ..mixpanel.state import iso_seconds

        view = self.state.event_view(e)
        groups = ", ".join(f"{k}={v}" for k, v in e.groups)
        reason = e.properties.get("$failure_reason") or e.properties.get("$identity_failure_reason")
        return (iso_seconds(e.time_ms), e.name, view["properties"]["distinct_id"], e.distinct_id, e.insert_id,
                e.endpoint, groups or None, reason)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._row(e) for e in self.events[index]]
        return self._row(self.events[index])


class Mapped(Sequence[Any]):
    """``make(item)`` for the items of a sequence, computed only for the items read (a table's head and tail)."""

    def __init__(self, items: Sequence[Any], make: Callable[[Any], Any]) -> None:
        self.items, self.make = items, make

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self.make(item) for item in self.items[index]]
        return self.make(self.items[index])


def remembered(state: StateViews, name: str, make: Callable[[], Any]) -> Any:
    """``make()``, kept by the state until its next change: a view shown again (a notebook re-rendering
    the same output, the playground redrawing after a click that changed nothing) pays nothing twice."""
    return state._cached(f"views:{name}", make)


def profile_records(state: StateViews) -> Sequence[dict[str, Any]]:
    """The visible user profiles as row dicts (``distinct_id`` then the properties), made only when read."""
    return Mapped(remembered(state, "profiles", state._visible_profiles),
                  lambda p: {"distinct_id": p.key, **p.properties})


def group_records(state: StateViews) -> Sequence[dict[str, Any]]:
    """The group profiles as row dicts (``group_key``, ``group_id``, then the properties), made only when read."""
    return Mapped(list(state._state.groups.items()),
                  lambda item: {"group_key": item[0][0], "group_id": item[0][1], **item[1].properties})


def event_records(state: StateViews) -> Sequence[dict[str, Any]]:
    """The events (deduplicated) as the CLI's table rows: time, name, the id shown now and the stored one."""
    import pandas as pd

    return Mapped(state.event_sequence(), lambda e: {
        "time": pd.Timestamp(e.time_ms, unit="ms", tz="UTC"), "event": e.name,
        "distinct_id": state.event_view(e)["properties"]["distinct_id"], "stored_distinct_id": e.distinct_id})


class _HeadTail(Sequence[Any]):
    """A long sequence of which only the head and tail were read: answers the slices a cut table asks for."""

    def __init__(self, head: list[Any], tail: list[Any], size: int) -> None:
        self.head, self.tail, self.size = head, tail, size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: Any) -> Any:
        if not isinstance(index, slice):
            return self[index:index + 1][0] if index >= 0 else self[self.size + index:][0]
        start, stop, step = index.indices(self.size)
        if step == 1 and stop <= len(self.head):
            return self.head[start:stop]
        if step == 1 and start >= self.size - len(self.tail) and stop == self.size:
            return self.tail[start - (self.size - len(self.tail)):]
        raise IndexError("only the head and the tail of this table were read")


def records_table_html(records: Sequence[dict[str, Any]], *, max_rows: int = MAX_ROWS, min_rows: int = MIN_ROWS,
                       show_all_limit: int = SHOW_ALL_LIMIT) -> str:
    """Row dicts (a lazy sequence over a big store) as :func:`table_html`: only the rows shown are read,
    and the columns are the keys those rows have (a frame of every row would read them all)."""
    size = len(records)
    if size <= max(max_rows, show_all_limit):
        source: Sequence[dict[str, Any]] = records[:]
        sample = source
    else:
        head_n = min(min_rows, max_rows) // 2
        tail_n = min(min_rows, max_rows) - head_n
        head, tail = list(records[:head_n]), list(records[size - tail_n:])
        source, sample = _HeadTail(head, tail, size), head + tail
    columns = list(dict.fromkeys(key for record in sample for key in record))
    rows = Mapped(source, lambda record: tuple(record.get(c) for c in columns))
    return table_html(Table(columns, rows), max_rows=max_rows, min_rows=min_rows, show_all_limit=show_all_limit)


def _capped_items(items: Sequence[str], noun: str, where: str, rows: int = MIN_ROWS) -> str:
    """``<li>`` items cut to their head and tail, saying how many more there are and where to find them."""
    head, tail, hidden = head_tail(items, rows)
    gap = [f"<li class='mpsim-note'>… {html.escape(count(hidden, 'more ' + noun))} ({html.escape(where)}) …</li>"]
    return "".join(head + (gap if hidden else []) + tail)


def state_body_html(state: StateViews, *, max_rows: int = MAX_ROWS) -> str:
    """Counts, then events, profiles and groups (head and tail rows), refused merges and dropped records.

    Only the rows shown are built (events decoded, profiles turned into rows), so the cost does not
    grow with the project beyond the counts.
    """
    summary = summary_line(remembered(state, "summary", state.summary))
    parts = [f"<p><b>{html.escape(type(state).__name__)}</b> ({html.escape(state.identity_merge)} ID merge): "
             f"{html.escape(summary)}</p>"]
    events = state.event_sequence()  # decoded row by row: only the head and tail shown are read
    if events:
        parts.append("<h4>Events</h4>" + table_html(Table(EventRows.columns, EventRows(state, events)),
                                                    max_rows=max_rows))
    for title, records in (("Profiles", profile_records(state)), ("Groups", group_records(state))):
        if len(records):
            parts.append(f"<h4>{title}</h4>" + records_table_html(records, max_rows=max_rows))
    refusals = remembered(state, "refused_merges", lambda: state.refused_merges)
    if refusals:
        items = Mapped(refusals, lambda r: (
            f"<li>{html.escape(r.kind)} {html.escape(' + '.join(r.ids))}: <code>{html.escape(r.reason)}</code> "
            f"— {html.escape(r.description)}</li>"))
        parts.append("<h4>Refused merges</h4><ul>" + _capped_items(items, "refused merge", "sim.refused_merges")
                     + "</ul>")
    dropped = remembered(state, "dropped", state.dropped)  # never hidden: Mixpanel kept nothing of these
    if dropped:
        parts.append("<h4>Dropped records</h4><ul>" + "".join(
            f"<li>{count(n, 'record')}: {html.escape(reason)}</li>" for reason, n in dropped.items())
            + "</ul>")
    return "".join(parts)


def simulator_html(state: StateViews) -> str:
    """A simulator or snapshot: counts, then events, profiles, groups and refused merges."""
    return output_html(state_body_html(state), "state")


def state_html(state: StateViews, *, max_rows: int = MAX_ROWS) -> str:
    """Events, profiles, groups, refused merges and identity clusters as tables."""
    body = state_body_html(state, max_rows=max_rows)
    frame = state.identities
    if len(frame):
        body += "<h4>Identities</h4>" + frame_table_html(frame, max_rows=max_rows)
    return output_html(body, "state")


# --------------------------------------------------------------------------- identity picture
#: Users drawn one by one; the rest are counted. Single-id users are listed on one line.
PICTURE_USERS = 30
PICTURE_SINGLES = 40


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
    # attributes are the fallback colours (an SVG file on its own); the wrapper's CSS follows the theme
    fill, stroke, weight = ("#fff3c4", "#f29900", "bold") if box.canonical else ("#e8f0fe", "#4285f4", "normal")
    css = "mpsim-box mpsim-canonical" if box.canonical else "mpsim-box"
    return (f"<g class='{css}'><rect x='{box.x:.0f}' y='{box.y:.0f}' width='{box.width:.0f}' height='24' rx='6' "
            f"fill='{fill}' stroke='{stroke}'/><text x='{box.x + box.width / 2:.0f}' y='{box.y + 16:.0f}' "
            f"text-anchor='middle' font-size='12' font-family='monospace' font-weight='{weight}' fill='#202124'>"
            f"{html.escape(box.label)}</text></g>")


def _legend_svg(y: float, refused: bool) -> tuple[str, float]:
    parts = [_box_svg(_Box("canonical id", 10, y, canonical=True)),
             f"<text x='120' y='{y + 16:.0f}' font-size='12'>what Mixpanel shows for the user</text>",
             _box_svg(_Box("merged id", 330, y)),
             f"<text x='410' y='{y + 16:.0f}' font-size='12'>another id of the same user</text>"]
    if refused:
        parts.append(f"<line class='mpsim-refused' x1='600' y1='{y + 12:.0f}' x2='640' y2='{y + 12:.0f}' "
                     f"stroke='#c62828' stroke-width='2' stroke-dasharray='6 4'/>"
                     f"<text x='648' y='{y + 16:.0f}' font-size='12'>merge Mixpanel refused</text>")
    return "".join(parts), y + 36


def clusters_svg(state: StateViews, *, max_users: int = PICTURE_USERS, only: set[str] | None = None,
                 clusters: dict[str, list[str]] | None = None) -> str:
    """Identity clusters as a picture (HTML holding one SVG): each user's ids linked to the canonical
    id (highlighted), every refused merge as a red dashed link labelled with Mixpanel's reason, and a
    legend. Users with a single id are listed on one line; beyond ``max_users`` users are counted.
    With ``only``, just the users and refused merges involving those ids are drawn; ``clusters`` is
    ``state.clusters()`` when the caller has it already."""
    clusters = state.clusters() if clusters is None else clusters
    refusals = state.refused_merges
    if only is not None:
        clusters = {c: ids for c, ids in clusters.items() if c in only or any(i in only for i in ids)}
        refusals = [r for r in refusals if any(i in only for i in r.ids)]
    if not clusters and not refusals:
        return output_html("<p>No identities yet.</p>", "clusters")
    parts: list[str] = []
    legend, y = _legend_svg(10.0, bool(refusals))
    parts.append(legend)
    width = 820.0 if refusals else 600.0
    merged = [(c, ids) for c, ids in clusters.items() if len(ids) > 1]
    singles = [c for c, ids in clusters.items() if len(ids) == 1]
    for canonical, ids in merged[:max_users]:
        center = _Box(canonical, 10, y, canonical=True)
        x = center.x + center.width + 60
        row_y = y
        for member in (i for i in ids if i != canonical):
            box = _Box(member, x, row_y)
            parts.append(f"<line x1='{center.x + center.width:.0f}' y1='{center.y + 12:.0f}' x2='{box.x:.0f}' "
                         f"y2='{box.y + 12:.0f}' stroke='#5f6368' stroke-width='1.5'/>")
            parts.append(_box_svg(box))
            width = max(width, box.x + box.width + 10)
            row_y += 32
        parts.append(_box_svg(center))
        y = max(y + 32, row_y) + 12
    if len(merged) > max_users:
        parts.append(f"<text x='10' y='{y + 12:.0f}' font-size='12'>… and {len(merged) - max_users} more users "
                     f"with merged ids (sim.clusters() has them all)</text>")
        y += 24
    if singles:
        shown = ", ".join(singles[:PICTURE_SINGLES]) + (f", … ({len(singles) - PICTURE_SINGLES} more)"
                                                        if len(singles) > PICTURE_SINGLES else "")
        parts.append(f"<text x='10' y='{y + 12:.0f}' font-size='12'>{len(singles)} user"
                     f"{'s' if len(singles) != 1 else ''} with a single id: {html.escape(shown)}</text>")
        width = max(width, min(7.0 * len(shown) + 260, 1600))
        y += 24
    if refusals:
        parts.append(f"<text x='10' y='{y + 14:.0f}' font-size='13' font-weight='bold'>Refused merges</text>")
        y += 26
        for refusal in refusals[:max_users]:
            left, right = refusal.ids[0], refusal.ids[-1]
            a, b = _Box(left, 10, y), _Box(right, 10, y)
            b.x = a.x + a.width + 260
            parts.append(f"<line class='mpsim-refused' x1='{a.x + a.width:.0f}' y1='{y + 12:.0f}' x2='{b.x:.0f}' "
                         f"y2='{y + 12:.0f}' stroke='#c62828' stroke-width='2' stroke-dasharray='6 4'/>")
            parts.append(f"<text x='{a.x + a.width + 130:.0f}' y='{y + 8:.0f}' text-anchor='middle' "
                         f"font-size='11'>{html.escape(refusal.reason)}</text>")
            parts.append(_box_svg(a) + _box_svg(b))
            parts.append(f"<text x='10' y='{y + 40:.0f}' font-size='11'>"
                         f"{html.escape(refusal.kind)}: {html.escape(refusal.description)}</text>")
            width = max(width, b.x + b.width + 10)
            y += 56
        if len(refusals) > max_users:
            parts.append(f"<text x='10' y='{y + 12:.0f}' font-size='12'>… and {len(refusals) - max_users} more "
                         f"refused merges (sim.refused_merges)</text>")
            y += 24
    height = y + 10
    svg = (f"<svg class='mpsim-clusters' xmlns='http://www.w3.org/2000/svg' width='{width:.0f}' "
           f"height='{height:.0f}' viewBox='0 0 {width:.0f} {height:.0f}' role='img' "
           f"aria-label='identity clusters'>" + "".join(parts) + "</svg>")
    return output_html(f"<div class='mpsim-scroll'>{svg}</div>", "clusters")
