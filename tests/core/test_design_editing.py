"""What the node editor asks of the design (gradstudio.studio.design), without Qt:
the ops offered for a dropped wire, params typed as text, where gradient flows."""
from __future__ import annotations

import pytest

from gradstudio.ops.table import op_by_id
from gradstudio.studio.design import (Design, DesignError, ops_accepting, palette, parse_param,
                                      placeable, starting_params)


def param(row_id: str, name: str):
    return next(p for p in op_by_id(row_id).params if p.name == name)


def test_a_typed_param_is_parsed_by_its_declared_type_never_evaluated():
    assert parse_param(param("elementwise.POW", "exponent"), "2") == 2.0
    assert parse_param(param("reduction.SUM_DIM", "dim"), "[0, 1]") == (0, 1)
    assert parse_param(param("reduction.SUM_DIM", "dim"), "1") == 1
    assert parse_param(param("reduction.SUM_DIM", "keepdim"), "True") is True
    with pytest.raises(DesignError, match="whole number"):
        parse_param(param("reduction.SOFTMAX", "dim"), "0.5")
    with pytest.raises(DesignError, match="True or False"):
        parse_param(param("reduction.SUM_DIM", "keepdim"), "yes")
    with pytest.raises(DesignError, match="cannot be called|not allowed"):
        parse_param(param("elementwise.POW", "exponent"), "__import__('os').getcwd()")
    with pytest.raises(DesignError, match="cannot be typed"):
        parse_param(param("indexing.INDEX", "key"), "0")


def test_an_optional_whole_number_takes_none_or_one_integer():
    divisor = param("nn.AVG_POOL2D", "divisor_override")
    assert parse_param(divisor, "") is None and parse_param(divisor, "None") is None
    assert parse_param(divisor, "3") == 3
    with pytest.raises(DesignError, match="a whole number"):
        parse_param(divisor, "[2, 3]")
    with pytest.raises(DesignError, match="a whole number"):
        parse_param(divisor, "2.5")


def test_every_palette_row_without_an_untypable_param_can_be_placed_with_starting_params():
    d = Design()
    for category, label, row in palette():
        if not placeable(row):
            assert row.arity < 1 or starting_params(row) is None
            continue
        d.add_node("op", op=row.id, params=starting_params(row))     # DesignError would fail the test
    assert len(d.nodes) > 80


def test_a_dropped_wire_is_offered_the_ops_whose_rule_takes_its_shape():
    vector = {row.id for _, _, row in ops_accepting((3,))}
    square = {row.id for _, _, row in ops_accepting((3, 3))}
    assert "elementwise.EXP" in vector and "reduction.SUM" in vector
    assert "matrix_functions.DET" not in vector and "matrix_functions.DET" in square
    # a placeholder param says nothing about the input: those rows stay on offer
    assert "shape.VIEW" in vector and "reduction.SOFTMAX" in vector
    assert {row.id for _, _, row in ops_accepting(None)} >= square


def test_gradient_flows_from_leaves_that_require_it_along_the_links():
    d = Design()
    x = d.add_node("leaf", name="x", value="ones(2)", requires_grad=True)
    c = d.add_node("const", name="c", value="ones(2)")
    mul = d.add_node("op", op="elementwise.MUL")
    exp = d.add_node("op", op="elementwise.EXP")
    d.connect(c, exp, 0)
    d.connect(x, mul, 0)
    d.connect(exp, mul, 1)
    assert d.requiring_grad() == {x, mul}
    d.change_node(x, requires_grad=False)
    assert d.requiring_grad() == set()


def test_a_batch_of_edits_infers_shapes_once_at_its_end():
    d = Design()
    events = []
    d.listeners.append(lambda e: events.append(e.kind))
    with d.batch():
        x = d.add_node("leaf", value="ones(3, 2)")
        mm = d.add_node("op", op="linalg.MM")
        d.connect(x, mm, 0)
        d.connect(x, mm, 1)            # (3, 2) @ (3, 2): shapes are not known yet inside the batch
        assert d.shapes == {} and "shapes_changed" not in events
    assert events.count("shapes_changed") == 1
    assert d.shapes[x] == (3, 2) and d.errors[mm] == "(3, 2) @ (3, 2): inner sizes 2 and 3 differ"
