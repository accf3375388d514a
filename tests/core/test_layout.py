"""The Graph panel's layout, without Qt: layers follow the edges, nothing
overlaps, crossings go down, chains stay straight, repetitive chains collapse
into one group (and expand back), the same input gives the same picture."""
from __future__ import annotations

import random

import pytest

from gradstudio.studio.kernel import records as kernel_data
from gradstudio.studio.kernel.schema import GraphData
from gradstudio.studio.figures.layout import (Layout, Vertex, collapse, count_crossings, find_groups, layout, overlaps,
                               vertices_from_graph)
from gradstudio.studio.session import Session


def random_dag(n: int, seed: int) -> list:
    rng = random.Random(seed)
    leaves = max(2, n // 10)
    vs = [Vertex(i, (), "", "leaf", f"w{i}") for i in range(leaves)]
    while len(vs) < n:
        k = len(vs)
        inputs = tuple(rng.randrange(max(0, k - 6), k) if rng.random() < 0.8 else rng.randrange(0, k)
                       for _ in range(rng.choice((1, 2, 2, 3))))
        vs.append(Vertex(k, inputs, rng.choice(("MulBackward0", "AddBackward0", "TanhBackward0"))))
    return vs


def doubling_loop(steps: int) -> list:
    """The tutorial's loop as a real recorded graph: y = x * 2, then y = y * 2 (float64: 2**1000 fits)."""
    session = Session()
    run = session.run_cell("import torch\n"
                           "x = torch.randn(3, dtype=torch.float64, requires_grad=True)\n"
                           "y = x * 2\n"
                           f"for _ in range({steps - 1}):\n"
                           "    y = y * 2\n"
                           "z = y.sum()\n"
                           "z.backward()\n")
    assert run.ok, run.error
    return vertices_from_graph(kernel_data.graph_data(session.backward_calls[-1].graph))


def sizes_for(vs):
    return {v.id: (40 + 7 * len(str(v.id)), 24 if v.kind != "const" else 16) for v in vs}


# --------------------------------------------------------------------------- layering and geometry
@pytest.mark.parametrize("seed", range(4))
def test_every_edge_goes_left_to_right_and_nothing_overlaps(seed):
    vs = random_dag(150, seed)
    result = layout(vs, sizes_for(vs))
    for v in vs:
        for i in v.inputs:
            assert result.layers[i] < result.layers[v.id]
            (x1, _), (x2, _) = result.positions[i], result.positions[v.id]
            assert result.rect(i)[2] < result.rect(v.id)[0], "source column ends before target column"
            assert x1 < x2
    assert overlaps(result) == []
    assert sorted(v for column in result.order for v in column) == sorted(v.id for v in vs)
    for edge in result.edges:               # bends advance column by column
        xs = [p[0] for p in edge.points]
        assert xs == sorted(xs) and len(set(xs)) == len(xs)


def test_edges_are_one_per_argument_in_argument_order():
    vs = [Vertex(0, (), "", "leaf", "x"), Vertex(1, (0, 0), "MulBackward0"), Vertex(2, (), "", "const"),
          Vertex(3, (1, 2), "MulBackward0"), Vertex(4, (3,), "MeanBackward0", "op", "z")]
    result = layout(vs)
    assert [(e.source, e.target, e.slot) for e in result.edges] == [(0, 1, 0), (0, 1, 1), (1, 3, 0),
                                                                    (2, 3, 1), (3, 4, 0)]
    assert result.layers[2] == result.layers[1], "a constant sits next to the op that uses it"
    assert result.layers[4] == max(result.layers.values()), "the root is rightmost"


def test_crossing_reduction_beats_the_input_order_and_the_first_guess():
    # four leaves, four ops over pairs of them, one root: the depth-first order crosses 11 times
    inputs = [(), (), (), (), (0, 2), (1, 3), (2, 1), (0, 2), (4, 5, 6, 7)]
    vs = [Vertex(k, ins, "op" if ins else "", "op" if ins else "leaf") for k, ins in enumerate(inputs)]
    reduced = layout(vs)
    unswept = layout(vs, sweeps=0)
    in_input_order = Layout(layers=reduced.layers,
                            order=[sorted(column) for column in reduced.order])
    assert count_crossings(reduced, vs) == reduced.crossings == 1
    assert unswept.crossings == 11
    assert count_crossings(in_input_order, vs) > reduced.crossings


def test_a_chain_is_a_straight_line():
    vs = doubling_loop(30)
    result = layout(vs, sizes_for(vs))
    chain_ys = [result.positions[v.id][1] for v in vs if v.kind != "const"]
    assert max(chain_ys) - min(chain_ys) < 0.01
    assert overlaps(result) == []


def test_long_edges_get_bends_and_a_shared_input_one_trunk():
    # x feeds every step of y = y * 1.5 + x: its long edges share one row of bends
    vs = [Vertex(0, (), "", "leaf", "x")]
    last = 0
    for _ in range(20):
        c = len(vs)
        vs += [Vertex(c, (), "", "const"), Vertex(c + 1, (last, c), "MulBackward0"),
               Vertex(c + 2, (c + 1, 0), "AddBackward0")]
        last = c + 2
    result = layout(vs)
    from_x = [e for e in result.edges if e.source == 0 and e.target != 2]
    bends = {p for e in from_x for p in e.points[1:-1]}
    assert len(bends) == result.layers[last] - 1 - result.layers[0]
    tight = layout(vs, dummy_budget=5)     # beyond the budget long edges go direct
    assert any(len(e.points) == 2 and tight.layers[e.target] - tight.layers[e.source] > 1 for e in tight.edges)
    assert overlaps(tight) == []


# --------------------------------------------------------------------------- chain collapsing
def test_the_doubling_loop_collapses_into_one_group_and_expands_back():
    vs = doubling_loop(1000)
    groups = find_groups(vs)
    assert len(groups) == 1
    group = groups[0]
    assert group.repeats == 999 and group.label == "MulBackward0 × 999"   # the named y stays outside
    assert len(group.members) == 2 * 999, "each step's own constant goes into the group"
    shown, owner = collapse(vs, groups)
    assert [v.kind for v in shown] == ["leaf", "group", "const", "op", "op"]
    by_id = {v.id: v for v in shown}
    y = next(v for v in shown if v.name == "y")
    assert by_id[y.inputs[0]].kind == "group" and by_id[group.id].inputs == (vs[0].id,)
    assert set(owner) == set(group.members)
    assert collapse(vs, groups, expanded=[group.id]) == (vs, {})
    result = layout(shown)
    assert result.layers[vs[0].id] < result.layers[group.id] < result.layers[y.id]


def test_short_runs_named_vertices_and_motifs():
    def loop(labels, names=()):
        vs, last = [Vertex(0, (), "", "leaf", "x")], 0
        for k, label in enumerate(labels):
            c = len(vs)
            vs += [Vertex(c, (), "", "const"),
                   Vertex(c + 1, (last, c), label, "op", names[k] if k < len(names) else None)]
            last = c + 1
        return vs

    assert find_groups(loop(["MulBackward0"] * 3)) == []
    assert [g.repeats for g in find_groups(loop(["MulBackward0"] * 4))] == [4]
    # a name in the middle splits the run: 5 + named + 6
    named = [None] * 5 + ["h"] + [None] * 6
    assert [g.repeats for g in find_groups(loop(["MulBackward0"] * 12, named))] == [5, 6]
    # a two-op motif repeated
    groups = find_groups(loop(["MulBackward0", "AddBackward0"] * 5 + ["SumBackward0"]))
    assert [(g.motif, g.repeats) for g in groups] == [(("MulBackward0", "AddBackward0"), 5)]
    assert groups[0].label == "MulBackward0 → AddBackward0 × 5"


def test_a_step_used_twice_is_not_a_chain_link():
    vs = [Vertex(0, (), "", "leaf", "x")]
    for k in range(1, 8):
        vs.append(Vertex(k, (k - 1,), "ExpBackward0"))
    vs.append(Vertex(8, (3, 7), "AddBackward0"))    # vertex 3 feeds two ops
    groups = find_groups(vs)
    assert [g.steps for g in groups] == [(4, 5, 6, 7)]


def test_real_tutorial_graph_from_the_session():
    session = Session()
    session.run_cell("import torch\nx = torch.ones(2, 2, requires_grad=True)\n"
                     "y = x * x * 3\nz = y.mean()\nz.backward()\n")
    vs = vertices_from_graph(kernel_data.graph_data(session.backward_calls[0].graph))
    assert [v.label for v in vs if v.kind == "op"] == ["MulBackward0", "MulBackward0", "MeanBackward0"]
    assert find_groups(vs) == []
    result = layout(vs)
    assert max(result.layers, key=result.layers.get) == vs[-1].id


# --------------------------------------------------------------------------- edge cases
def test_deterministic():
    vs = random_dag(300, 7)
    first, second = layout(vs, sizes_for(vs)), layout(list(vs), sizes_for(vs))
    assert first.positions == second.positions and first.order == second.order
    assert [e.points for e in first.edges] == [e.points for e in second.edges]
    assert find_groups(vs) == find_groups(list(vs))


def test_empty_single_and_disconnected_graphs():
    empty = layout([])
    assert empty.positions == {} and empty.edges == [] and (empty.width, empty.height) == (0, 0)
    assert find_groups([]) == [] and collapse([], []) == ([], {})
    assert vertices_from_graph(None) == [] and vertices_from_graph(GraphData(root=0, nodes=[])) == []

    one = layout([Vertex("x", kind="leaf")], {"x": (50, 20)})
    assert one.positions == {"x": (25.0, 10.0)} and (one.width, one.height) == (50, 20)

    vs = [Vertex(0, (), "", "leaf", "a"), Vertex(1, (0,), "ExpBackward0"),
          Vertex(2, (), "", "leaf", "b"), Vertex(3, (2,), "SinBackward0"), Vertex(4, (), "", "leaf", "c")]
    result = layout(vs)
    assert set(result.positions) == {0, 1, 2, 3, 4}
    assert overlaps(result) == []
    assert result.layers[1] == result.layers[3] == 1 and result.layers[4] == 0


def test_unknown_inputs_and_cycles_do_not_break_it():
    vs = [Vertex(0, (2,), "A"), Vertex(1, (0, 99), "B"), Vertex(2, (1,), "C")]     # 0 → 1 → 2 → 0, and 99
    result = layout(vs)
    assert set(result.positions) == {0, 1, 2}
    assert overlaps(result) == []
