"""The notebook views without a browser: one wrapper for every output, tables, frames, the identity picture."""

from __future__ import annotations

import json
import math
from html.parser import HTMLParser

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mpsim
from mpsim.notebook import views
from mpsim.notebook.views import (
    MATH_IGNORE,
    Table,
    cell_text,
    clusters_svg,
    frame_repr_html,
    mark_frame,
    output_html,
    table_html,
)
from mpsim.rudder.dataplane.pipeline import DataPlane
from tests.test_playground import IDENTIFY as PLAIN_IDENTIFY
from tests.test_playground import NOW, TRACK, UUID

IDENTIFY = {**PLAIN_IDENTIFY, "context": {"traits": {"firstName": "Ada", "$Email": "ada@example.com"}}}


class _TextOutsideWrapper(HTMLParser):
    """Collects text that is not inside an element carrying MathJax's ignore classes."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.outside: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        ignored = bool(self.stack and self.stack[-1]) or {"tex2jax_ignore", "mathjax_ignore"} <= set(classes)
        if tag not in ("br", "hr", "img", "input", "meta", "link", "rect", "line", "path", "circle"):
            self.stack.append(ignored)

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("br", "hr", "img", "input", "meta", "link", "rect", "line", "path", "circle") and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if data.strip() and not (self.stack and self.stack[-1]):
            self.outside.append(data)


def text_outside_wrapper(page: str) -> list[str]:
    parser = _TextOutsideWrapper()
    parser.feed(page)
    return parser.outside


def every_public_object():
    sim = mpsim.Simulator(now=NOW, identity_merge="simplified")
    reqs = mpsim.transform(IDENTIFY, {"token": "t"}, now=NOW)
    sim.send(reqs)
    sim.send(mpsim.transform({**TRACK, "userId": "other"}, {"token": "t"}, now=NOW))
    comparison = mpsim.compare_configs([IDENTIFY], {"token": "t"}, {"token": "t", "useNewMapping": True}, now=NOW)
    return {
        "request": reqs[0], "findings": mpsim.validate(IDENTIFY, now=NOW), "no findings": mpsim.validate(TRACK, now=NOW),
        "diff": mpsim.diff({"$a": 1}, {"$a": 2}), "no diff": mpsim.diff({}, {}), "simulator": sim,
        "snapshot": sim.snapshot(), "comparison": comparison,
        "batch": mpsim.transform_batch([{"message": TRACK, "destination": {"Config": {"token": "t"}},
                                         "metadata": {"jobId": 1}}], now=NOW)[0],
        "replay": mpsim.replay([TRACK, {"type": "Track"}], {"token": "t"}, now=NOW),
        "requests view": views.requests_html(reqs), "state view": views.state_html(sim),
        "identity picture": clusters_svg(sim), "error": views.error_html("bad $x", "$where"),
        "data plane": DataPlane(sim, {"token": "t"}), "explanation": sim.explain(UUID),
        "profile explanation": sim.explain_profile("u1", "$first_name"),
    }


@pytest.mark.parametrize("name", list(every_public_object()))
def test_every_output_is_one_wrapper_that_mathjax_ignores(name):
    obj = every_public_object()[name]
    page = obj if isinstance(obj, str) else obj._repr_html_()
    assert page.startswith("<div class='mpsim-output "), page[:80]
    assert f" {MATH_IGNORE}'>" in page.split(">", 1)[0] + ">"
    assert text_outside_wrapper(page) == []


def test_the_check_catches_text_outside_the_wrapper():
    assert text_outside_wrapper("<p>$first_name</p>" + output_html("<p>$x</p>")) == ["$first_name"]


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(alphabet="$<>&'\"ab \\{}^_", max_size=12),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text("$ab<", max_size=4), inner,
                                                                                max_size=3), max_leaves=8))
def test_any_value_stays_inside_the_wrapper_and_escaped(value):
    for page in (mpsim.diff({"$v": value}, {"$v": [value]})._repr_html_(),
                 output_html(views.frame_table_html(pd.DataFrame({"$col": [value]}, dtype=object)))):
        assert text_outside_wrapper(page) == []
        assert "<script" not in page.lower().replace("&lt;script", "")


def test_missing_values_are_blank_cells():
    for missing in (None, math.nan, pd.NA, pd.NaT):
        assert cell_text(missing) == ""
    page = views.frame_table_html(pd.DataFrame({"a": [1.0, None], "b": [None, "x"], "t": [pd.NaT, pd.NaT]}))
    assert "NaN" not in page and "None" not in page and "NaT" not in page
    assert "<td>1.0</td><td></td><td></td>" in page and "<td></td><td>x</td><td></td>" in page
    assert cell_text({"$set": [1, "a"]}) == '{"$set": [1, "a"]}' and cell_text(True) == "true"


def test_long_tables_show_head_and_tail_and_a_show_all_switch():
    rows = [(i, f"id-{i}") for i in range(50)]
    page = table_html(Table(("n", "id"), rows), max_rows=20)
    assert page.startswith("<details class='mpsim-all'><summary>show all 50 rows</summary>")
    cut = page.split("</details>", 1)[1]
    assert "<td>id-9</td>" in cut and "<td>id-10</td>" not in cut and "<td>id-40</td>" in cut
    assert "… 30 more rows …" in cut and cut.count("<tr>") == 21  # the header and 20 rows
    whole = page.split("</details>", 1)[0]
    assert all(f"<td>id-{i}</td>" in whole for i in range(50))
    big = table_html(Table(("n", "id"), rows), max_rows=20, show_all_limit=40)
    assert "<details" not in big and "50 rows: the first 10 and the last 10 are shown." in big
    assert table_html(Table(("n",), [(1,), (2,)])).count("<tr>") == 3


def test_tables_are_left_aligned_scrollable_with_a_sticky_first_column():
    style = views.STYLE
    assert "text-align:left" in style and "overflow-x:auto" in style
    assert "td:first-child{position:sticky" in style
    page = table_html(Table(("a",), [("x" * 500,)]))
    assert "<div class='mpsim-scroll'><table class='mpsim-table'>" in page
    assert f"title='{'x' * 500}'" in page and "x" * 119 + "…" in page


def test_theme_colours_come_from_the_front_end_variables_with_fallbacks():
    style = views.STYLE
    for variable in ("--jp-content-font-color1", "--jp-layout-color0", "--jp-border-color2",
                     "--vscode-editor-foreground", "--vscode-editor-background"):
        assert f"var({variable}" in style
    assert "CanvasText" in style and "forced-colors" in style
    # no hard-coded text colour anywhere: text always takes the theme's foreground
    for page in (mpsim.validate(IDENTIFY, now=NOW)._repr_html_(), mpsim.diff({"a": 1}, {"a": 2})._repr_html_()):
        assert "color:#" not in page.replace(views.STYLE, "")


def test_mpsim_frames_are_marked_and_shown_without_mathjax():
    sim = mpsim.Simulator(now=NOW)
    sim.send(mpsim.transform(IDENTIFY, {"token": "t"}, now=NOW))
    frames = [sim.events, sim.raw_events, sim.profiles, sim.groups, sim.identities,
              mpsim.validate(IDENTIFY, now=NOW).to_frame(), mpsim.validate(IDENTIFY, now=NOW).summary(),
              mpsim.diff({"a": 1}, {"a": 2}).to_frame(), DataPlane(sim, {"token": "t"}).drops_frame(),
              sim.explain(UUID).to_frame()]
    for frame in frames:
        assert frame.attrs.get("mpsim") is True
        page = frame_repr_html(frame)
        assert page.startswith(f"<div class='mpsim-frame {MATH_IGNORE}'>")
        assert 'class="dataframe tex2jax_ignore mathjax_ignore"' in page
    filtered = sim.profiles[sim.profiles["distinct_id"] == "u1"].sort_values("distinct_id").head(1)
    assert filtered.attrs.get("mpsim") is True  # pandas carries the mark through filtering and sorting
    plain = pd.DataFrame({"$price": ["$1", "$2"]})
    assert frame_repr_html(plain) == plain._repr_html_()  # frames that are not mpsim's stay pandas' own


def test_the_frame_formatter_is_installed_in_an_ipython_kernel(monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setattr(views, "_formatter_installed", False)
    assert not views.install_frame_formatter() or InteractiveShell.initialized()
    shell = InteractiveShell.instance()
    try:
        frame = mark_frame(pd.DataFrame({"$first_name": ["Ada"]}))
        data, _ = shell.display_formatter.format(frame)
        assert data["text/html"].startswith(f"<div class='mpsim-frame {MATH_IGNORE}'>")
        data, _ = shell.display_formatter.format(pd.DataFrame({"$x": [1]}))
        assert "mpsim-frame" not in data["text/html"]
    finally:
        shell.display_formatter.formatters["text/html"].pop(pd.DataFrame, None)
        InteractiveShell.clear_instance()
        views._formatter_installed = False


def test_identity_picture_has_a_legend_and_collapses_single_id_users():
    sim = mpsim.Simulator(now=NOW)
    sim.send(mpsim.transform(IDENTIFY, {"token": "t"}, now=NOW))  # merges UUID into u1
    for name in ("solo-1", "solo-2", "solo-3"):
        sim.send(mpsim.transform({**TRACK, "userId": name, "anonymousId": None, "messageId": name},
                                 {"token": "t"}, now=NOW))
    page = clusters_svg(sim)
    assert "what Mixpanel shows for the user" in page and "another id of the same user" in page
    assert "3 users with a single id: solo-1, solo-2, solo-3" in page
    assert page.count("<g class='mpsim-box mpsim-canonical'>") == 2  # the legend's and u1's
    assert "<p>No identities yet.</p>" in clusters_svg(mpsim.Simulator())


def test_identity_picture_is_capped_and_can_show_only_some_users():
    sim = mpsim.Simulator(now=NOW)
    sim.send(mpsim.Request(path="import", endpoint="https://api.mixpanel.com/import/", headers={}, params={},
                           records=[{"event": "$merge", "properties": {"$distinct_ids": [f"u{i}", f"a{i}"],
                                                                        "token": "t"}} for i in range(40)]))
    page = clusters_svg(sim, max_users=5)
    assert "… and 35 more users with merged ids" in page and page.count("mpsim-box mpsim-canonical") == 6
    only = clusters_svg(sim, only={"a7"})
    assert ">u7<" in only or ">a7<" in only
    assert ">u8<" not in only and ">a8<" not in only


def test_views_are_plain_json_safe_strings():
    page = views.requests_html(mpsim.transform(IDENTIFY, {"token": "t"}, now=NOW))
    assert "/engage" in page and "$firstName" in page
    json.dumps(page)
