"""Mutated project and recovery files for the fuzz tests (core and window).

A valid project with every known view field and a recovery entry, then one or
more mutations: a field set to a hostile JSON value (huge or non-finite
numbers, wrong types, long or broken text), a field deleted, or the text cut
or spliced. The file is written as Python's ``json`` writes it, NaN and
Infinity included, as a careless or malicious writer would.
"""
from __future__ import annotations

import json

from hypothesis import strategies as st

BASE = {"format": "gradstudio", "version": 1, "script": "# %%\nimport torch\nx = torch.ones(2)\n",
        "view": {"cursor": 5, "graph": {"zoom": 1.25, "follow_latest": False, "call": 0},
                 "plots": {"tab": "sweep", "log_colors": True, "auto_range": False, "lo": -1.5,
                           "hi": 2.0, "points": 41}, "extra": {"kept": [1, 2]}},
        "recovery": {"original": "/tmp/doc.gradstudio", "saved_at": 1700000000.0, "pid": 4194399}}

PATHS = [(), ("format",), ("version",), ("script",), ("view",), ("view", "cursor"),
         ("view", "graph"), ("view", "graph", "zoom"), ("view", "graph", "follow_latest"),
         ("view", "graph", "call"), ("view", "plots"), ("view", "plots", "tab"),
         ("view", "plots", "log_colors"), ("view", "plots", "auto_range"), ("view", "plots", "lo"),
         ("view", "plots", "hi"), ("view", "plots", "points"), ("view", "extra"),
         ("recovery",), ("recovery", "original"), ("recovery", "saved_at"), ("recovery", "pid")]

hostile_numbers = st.one_of(
    st.integers(), st.integers(min_value=-2 ** 80, max_value=2 ** 80),
    st.sampled_from([2 ** 31, 2 ** 31 - 1, 2 ** 63, -2 ** 63, 10 ** 400, 0, -1, 1, 3, 401, 402]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 5e-324, 0.03, 4.0, 4.0000001, 1e9, 1e10]))
hostile_text = st.one_of(st.text(max_size=40), st.sampled_from(["", "norms", "heatmap", "\ud800",
                                                                 "x" * 100_000]))
leaves = st.one_of(st.none(), st.booleans(), hostile_numbers, hostile_text)
hostile_values = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)


def _set(data, path, value, delete=False):
    if not path:
        return value
    node = data
    for key in path[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(key), dict):
            return data
        node = node[key]
    if isinstance(node, dict):
        if delete:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
    return data


@st.composite
def mutated_files(draw, base=BASE) -> str:
    data = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        data = _set(data, path, draw(hostile_values), delete=draw(st.booleans()) and bool(path))
    text = json.dumps(data)            # allow_nan: writes NaN / Infinity tokens on purpose
    how = draw(st.sampled_from(["as is", "as is", "as is", "cut", "splice", "big number"]))
    if how == "cut":
        text = text[:draw(st.integers(0, len(text)))]
    elif how == "splice":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(max_size=5)) + text[at:]
    elif how == "big number":
        text = text.replace("1.25", draw(st.sampled_from(["1e999", "-1e999", "1" + "0" * 400,
                                                          "NaN", "Infinity", "1" + "0" * 5000])))
    return text
