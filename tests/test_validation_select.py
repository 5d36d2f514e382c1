"""The compiled rule selectors walk records directly; they must find exactly what jsonpath-ng finds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonpath_ng.ext import parse

import mpsim
from mpsim.validation import RULES
from mpsim.validation.select import compile_selector, datum_parts, join_path, matches

NAMES = ["a", "b", "properties", "$set", "$set_once", "x y", "it's", "0", "*"]

documents = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.sampled_from(NAMES), inner, max_size=5),
    max_leaves=20)


def _quote(name: str) -> str:
    return "'" + name.replace("'", "\\'") + "'"


fields = st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True).map(lambda names: ("fields", names))
indices = st.lists(st.integers(-3, 5), min_size=1, max_size=2, unique=True).map(lambda ix: ("index", ix))
steps = st.lists(st.one_of(fields, st.just(("all", "*")), st.just(("all", "[*]")), indices), min_size=1, max_size=4)


def _render(start: str, path: list) -> str:
    parts = [start] if start else []
    for kind, arg in path:
        text = (",".join(map(_quote, arg)) if kind == "fields" else arg if kind == "all"
                else "[" + ",".join(map(str, arg)) + "]")
        if text.startswith("[") and parts:
            parts[-1] += text
        else:
            parts.append(text)
    return ".".join(parts)


@st.composite
def along(draw, path):
    """A document that mostly follows ``path`` (so the walk has many matches to get right), with noise."""
    if not path or draw(st.integers(0, 9)) == 0:
        return draw(documents)
    (kind, arg), rest = path[0], path[1:]
    if kind == "fields":
        doc = draw(st.dictionaries(st.sampled_from(NAMES), documents, max_size=3))
        for name in arg:
            if draw(st.booleans()) or draw(st.booleans()):
                doc[name] = draw(along(rest))
        return doc
    children = draw(st.lists(along(rest), max_size=6))
    shape = draw(st.sampled_from(["list", "tuple", "dict"] if kind == "all" else ["list", "list", "tuple"]))
    if shape == "dict":
        return dict(zip(NAMES, children, strict=False))  # at most len(NAMES) children
    return tuple(children) if shape == "tuple" else children


@st.composite
def expression_and_document(draw):
    start = draw(st.sampled_from(["", "$", "`this`"]))
    path = draw(steps)
    return _render(start, path), draw(along(path))


def _by_jsonpath(expression, document):
    return [(m.value, datum_parts(m)) for m in parse(expression).find(document)]


def _same(found, expected):
    assert [parts for _, parts in found] == [parts for _, parts in expected]
    assert all(a is b for (a, _), (b, _) in zip(found, expected, strict=True))  # the very same values


@settings(max_examples=200, deadline=None)
@given(expression_and_document())
def test_the_walk_finds_what_jsonpath_ng_finds(case):
    expression, document = case
    selector = compile_selector(expression)
    assert selector.walks, expression  # fields, wildcards and indices never need jsonpath-ng at run time
    _same(list(matches(expression, document)), _by_jsonpath(expression, document))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["a[?b > 1]", "a[0:2]", "a..b", "$..*"]), documents)
def test_other_expressions_still_run_through_jsonpath_ng(expression, document):
    assert not compile_selector(expression).walks
    _same(list(matches(expression, document)), _by_jsonpath(expression, document))


def test_every_built_in_rule_is_a_walk():
    expressions = {e for rule in RULES for e in rule.select.values()}
    assert expressions and all(compile_selector(e).walks for e in expressions)


def test_each_expression_is_parsed_once():
    assert compile_selector("properties.*") is compile_selector("properties.*")


@pytest.mark.parametrize("expression, document, path", [
    ("a[*].b", {"a": [{"b": 1}, {"c": 2}, {"b": 3}]}, ["a[0].b", "a[2].b"]),
    ("'$set'.*", {"$set": {"x y": 1, "it's": 2}}, ["'$set'.'x y'", "'$set'.'it\\'s'"]),
])
def test_paths_name_list_positions_and_quote_odd_names(expression, document, path):
    found = [join_path("", parts) for _, parts in matches(expression, document)]
    assert found == path
    for text, (value, _) in zip(found, matches(expression, document), strict=True):
        (again,) = parse(text).find(document)
        assert again.value is value


def test_a_destination_group_key_finding_names_its_position_in_the_list():
    """The path of a finding inside groupKeySettings said 'config.groupKeySettings.groupKey', which finds nothing."""
    findings = mpsim.validate([], config={"token": "t", "groupKeySettings": [{"groupKey": "a"}, {"groupKey": "b"}]},
                              project={"token": "t"}, now=0)
    paths = [f.path for f in findings.by_rule("group-key-undeclared-in-project")]
    assert paths == ["config.groupKeySettings[0].groupKey", "config.groupKeySettings[1].groupKey"]
