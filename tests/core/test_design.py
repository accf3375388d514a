"""The node editor's document (gradstudio.studio.design), without Qt: edits, events,
shapes checked at connect time, compiling to a recorded graph, the file form."""
from __future__ import annotations

import json
import random

import numpy as np
import pytest

from gradstudio.studio import compare, symbolic
from gradstudio.studio.design import Design, DesignError, Link, from_json, palette


def seed_design() -> tuple:
    """The seed tutorial's z = mean(3·x·x) on a 2×2 leaf of ones, as nodes."""
    d = Design()
    x = d.add_node("leaf", name="x", value="ones(2, 2)", requires_grad=True, position=(0, 0))
    xx = d.add_node("op", op="elementwise.MUL", position=(100, 0))
    three = d.add_node("const", value="3", position=(100, 80))
    y = d.add_node("op", op="elementwise.MUL", name="y", position=(200, 0))
    z = d.add_node("op", op="reduction.MEAN", name="z", position=(300, 0))
    out = d.add_node("output", position=(400, 0))
    d.connect(x, xx, 0)
    d.connect(x, xx, 1)
    d.connect(xx, y, 0)
    d.connect(three, y, 1)
    d.connect(y, z, 0)
    d.connect(z, out, 0)
    return d, dict(x=x, xx=xx, three=three, y=y, z=z, out=out)


def test_the_seed_example_built_as_nodes_gives_the_tutorials_gradient_and_formula():
    d, ids = seed_design()
    assert d.shapes[ids["y"]] == (2, 2) and d.shapes[ids["z"]] == () and not d.errors
    call = d.backward_call()
    assert call.status == "ok" and call.root_grad_fn == "MeanBackward0"
    (leaf,) = call.leaves
    assert leaf.name == "x" and np.allclose(leaf.grad, 1.5) and leaf.grad.dtype == np.float32
    formulas = symbolic.derive_call(call.graph, None, [leaf.vertex])
    formula = formulas[leaf.vertex]
    assert formula.formula == "3*2*x/4" and formula.simplified == "3*x/2"
    check = compare.check_call(call, formulas)
    assert check.agree


def test_a_matmul_mismatch_is_refused_at_connect_time_with_both_shapes():
    d = Design()
    a = d.add_node("leaf", name="A", value="ones(3, 2)", requires_grad=True)
    b = d.add_node("const", name="B", value="ones(3, 2)")
    mm = d.add_node("op", op="linalg.MM")
    d.connect(a, mm, 0)
    problem = d.check_link(b, mm, 1)
    assert problem == "(3, 2) @ (3, 2): inner sizes 2 and 3 differ"
    with pytest.raises(DesignError, match="inner sizes 2 and 3 differ"):
        d.connect(b, mm, 1)
    assert len(d.links) == 1


def test_a_value_edit_that_breaks_a_shape_marks_the_node_not_the_edit():
    d, ids = seed_design()
    d.change_node(ids["three"], value="ones(3)")
    assert "do not broadcast" in d.errors[ids["y"]]
    with pytest.raises(DesignError, match="do not broadcast"):
        d.compile()
    d.change_node(ids["three"], value="[1., 2.]")
    assert not d.errors and d.shapes[ids["y"]] == (2, 2)


def test_cycles_missing_slots_and_bad_values_are_refused():
    d, ids = seed_design()
    assert d.check_link(ids["y"], ids["xx"], 0) == "this link would make a cycle"
    assert "has no input 3" in d.check_link(ids["x"], ids["y"], 2)
    assert d.check_link(ids["x"], ids["x"], 0) == "a node cannot feed itself"
    assert d.check_link(ids["z"], ids["x"], 0) == "x has no input 1"
    with pytest.raises(DesignError, match="cannot be called"):
        d.change_node(ids["x"], value="__import__('os').system('true')")
    with pytest.raises(DesignError, match="not a valid name"):
        d.change_node(ids["x"], name="x y")
    with pytest.raises(DesignError, match="needs the parameter 'exponent'"):
        d.add_node("op", op="elementwise.POW")


def test_a_node_with_an_input_left_unwired_says_so_when_compiled():
    """Disconnecting one of x·x's two wires left MUL with one argument: compiling (the
    editor's live run) raised numpy's "multiply() takes from 2 to 3 positional arguments"."""
    d, ids = seed_design()
    (first,) = [l for l in d.inputs_of(ids["xx"]) if l.slot == 0]
    d.disconnect(first)
    assert ids["xx"] not in d.errors                       # being wired is not an error
    with pytest.raises(DesignError, match=r"connect its input 1 \(of 2\)"):
        d.compile()
    d.connect(ids["x"], ids["xx"], 0)
    assert d.backward_call().status == "ok"


def test_every_edit_is_announced_in_the_past_tense():
    d = Design()
    events = []
    d.listeners.append(lambda e: events.append(e.kind))
    x = d.add_node("leaf", value="1.", requires_grad=True)
    n = d.add_node("op", op="elementwise.EXP")
    d.connect(x, n, 0)
    d.move_node(n, (5, 5))
    d.remove_node(x)
    assert events == ["node_added", "shapes_changed", "node_added", "shapes_changed", "link_added",
                      "shapes_changed", "node_moved", "link_removed", "node_removed", "shapes_changed"]


def test_remove_then_restore_is_exact():
    d, ids = seed_design()
    before = json.dumps(d.to_json())
    removed = d.remove_node(ids["x"])
    assert all(ids["x"] not in (l.src, l.dst) for l in d.links)
    d.restore_node(removed)
    assert json.dumps(d.to_json()) == before


def test_the_file_form_round_trips_and_refuses_a_newer_or_corrupt_file():
    d, ids = seed_design()
    data = json.loads(json.dumps(d.to_json(), allow_nan=False))
    again = from_json(data)
    assert again.to_json() == d.to_json() and again.root == ids["out"]
    with pytest.raises(DesignError, match="newer GradStudio"):
        from_json(dict(data, version=99))
    with pytest.raises(DesignError, match="cannot be read"):
        from_json(dict(data, links=[["n1", "n999", 0]]))
    with pytest.raises(DesignError):
        from_json(dict(data, nodes=[{"id": "n1", "kind": "leaf", "value": "ones(10**9)"}]))


def test_random_edits_undone_in_reverse_give_back_the_starting_file():
    """Each edit is undone by the method its docstring names; 1,000 random edits, then
    undo all → the starting file, byte for byte."""
    rng = random.Random(4)
    d, _ = seed_design()
    start = json.dumps(d.to_json())
    undo = []
    unary = ["elementwise.EXP", "elementwise.SIN", "elementwise.TANH", "reduction.SUM"]
    for _ in range(1000):
        ids = list(d.nodes)
        choice = rng.random()
        if choice < 0.25:
            new = d.add_node("op", op=rng.choice(unary), position=(rng.random() * 500, rng.random() * 300))
            undo.append(lambda new=new: d.remove_node(new))
        elif choice < 0.4 and len(ids) > 2:
            removed = d.remove_node(rng.choice(ids))
            undo.append(lambda removed=removed: d.restore_node(removed))
        elif choice < 0.6:
            node = rng.choice(ids)
            old = d.move_node(node, (rng.random() * 500, rng.random() * 300))
            undo.append(lambda node=node, old=old: d.move_node(node, old))
        elif choice < 0.8:
            src, dst = rng.choice(ids), rng.choice(ids)
            arity = d.nodes[dst].arity
            if arity and d.check_link(src, dst, slot := rng.randrange(arity)) is None:
                replaced = d.connect(src, dst, slot)
                def revert(link=Link(src, dst, slot), replaced=replaced):
                    index = d.disconnect(link)
                    if replaced is not None:
                        d.reconnect(replaced, index)
                undo.append(revert)
        elif d.links:
            link = rng.choice(d.links)
            index = d.disconnect(link)
            undo.append(lambda link=link, index=index: d.reconnect(link, index))
    for step in reversed(undo):
        step()
    assert json.dumps(d.to_json()) == start


def test_the_palette_comes_from_the_op_table():
    entries = palette()
    ids = {row.id for _, _, row in entries}
    assert {"elementwise.MUL", "reduction.MEAN", "linalg.MM"} <= ids
    assert all(not row.internal for _, _, row in entries)
