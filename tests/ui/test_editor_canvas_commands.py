"""The editor's undo commands (ui/editor/commands.py) over a real design: every
gesture one step, undo and redo exact to the byte."""
from __future__ import annotations

import json
import random

import pytest

from gradstudio.studio.design import Design, palette
from gradstudio.ui.editor import clipboard
from gradstudio.ui.editor.document import EditorDocument

ELEMENTWISE = [r for c, l, r in palette() if r.id in ("elementwise.MUL", "elementwise.ADD", "elementwise.EXP",
                                                       "elementwise.TANH", "reduction.MEAN", "reduction.SUM",
                                                       "linalg.MM", "elementwise.POW")]
VALUES = ["ones(2, 2)", "3", "[1., 2.]", "ones(3, 2)", "eye(2)", "2.5", "rand(2, 2, seed=1)", "nonsense(", ""]


def random_edit(doc: EditorDocument, rng: random.Random):
    """One random gesture through the document (refused ones leave no step)."""
    design = doc.design
    ids = list(design.nodes)
    choice = rng.random()
    if choice < 0.2 or len(ids) < 3:
        kind = rng.choice(["leaf", "const", "op", "op", "op", "output"])
        position = (rng.randrange(0, 800, 10), rng.randrange(0, 600, 10))
        if kind == "op":
            doc.add_op(rng.choice(ELEMENTWISE), position)
        else:
            doc.add_node(kind, value=rng.choice(VALUES[:7]) if kind in ("leaf", "const") else "",
                         requires_grad=kind == "leaf", position=position)
    elif choice < 0.45:
        src, dst = rng.choice(ids), rng.choice(ids)
        arity = design.nodes[dst].arity
        if arity:
            doc.connect(src, dst, rng.randrange(arity))
    elif choice < 0.52 and design.links:
        doc.disconnect(rng.choice(design.links))
    elif choice < 0.6:
        doc.delete(rng.sample(ids, min(len(ids), rng.choice([1, 1, 2]))))
    elif choice < 0.68:
        node = rng.choice(ids)
        if design.nodes[node].kind in ("leaf", "const"):
            doc.set_value(node, rng.choice(VALUES))
        elif design.nodes[node].kind == "op" and design.nodes[node].row.params:
            param = design.nodes[node].row.params[0]
            doc.set_param(node, param.name, rng.choice(["2", "0", "1.5", "x"]))
    elif choice < 0.73:
        doc.toggle_requires_grad(rng.choice(ids))
    elif choice < 0.8:
        doc.move({n: (design.nodes[n].position, (rng.randrange(0, 900), rng.randrange(0, 900)))
                  for n in rng.sample(ids, min(3, len(ids)))})
    elif choice < 0.84:
        outputs = [n for n in ids if design.nodes[n].kind == "output"]
        doc.set_root(rng.choice(outputs + [None]))
    elif choice < 0.88:
        doc.duplicate(rng.sample(ids, min(len(ids), 3)))
    elif choice < 0.92:
        doc.group(rng.sample(ids, min(len(ids), 2)), rng.choice(["g1", "g2", None]))
    elif choice < 0.93 and design.groups:
        doc.ungroup(rng.choice(list(design.groups)))
    elif choice < 0.94 and design.groups:
        name = rng.choice(list(design.groups))
        (doc.expand if name in design.collapsed else doc.collapse)(name)
    elif choice < 0.96 and design.links:
        op = doc.add_op(rng.choice(ELEMENTWISE), (500, 500))[0]
        if op:
            doc.insert_on_wire(op, rng.choice(design.links))
    elif choice < 0.98:
        doc.change(rng.choice(ids), name=rng.choice(["", "a", "loss", "bad name"]))
    else:
        doc.auto_layout()


def test_a_thousand_random_edits_undo_to_the_first_byte_and_redo_to_the_last(qtbot):
    rng = random.Random(13)
    from gradstudio.ui.editor.scene import DesignScene
    doc = EditorDocument()
    scene = DesignScene(doc)          # follows every edit: collapsed groups hide and show their members
    doc.add_node("leaf", name="x", value="ones(2, 2)", requires_grad=True)
    doc.undo_stack.clear()
    start = doc.save()
    for _ in range(1000):
        random_edit(doc, rng)
    end = doc.save()
    assert doc.design.collapsed, "the edits collapsed some group"
    hidden = {n for g in doc.design.collapsed for n in doc.design.groups[g]}
    assert {n for n, item in scene.nodes.items() if not item.isVisible()} == hidden
    assert set(scene.collapsed) == doc.design.collapsed
    steps = doc.undo_stack.count()
    assert steps > 500 and len(doc.design.nodes) > 5 and start != end
    while doc.undo_stack.canUndo():
        doc.undo_stack.undo()
    assert doc.save() == start
    while doc.undo_stack.canRedo():
        doc.undo_stack.redo()
    assert doc.save() == end
    # the shapes and errors the design infers follow too: a fresh load agrees
    from gradstudio.studio.design import from_json
    loaded = from_json(json.loads(end))
    assert loaded.shapes == doc.design.shapes and loaded.errors == doc.design.errors


def test_removing_a_node_is_one_step_made_of_its_link_removals(qtbot):
    doc = EditorDocument()
    x = doc.add_node("leaf", name="x", value="ones(2, 2)", requires_grad=True)[0]
    mul = doc.add_op(next(r for r in ELEMENTWISE if r.id == "elementwise.MUL"), (100, 0))[0]
    doc.connect(x, mul, 0)
    doc.connect(x, mul, 1)
    before = doc.save()
    doc.delete([x])
    command = doc.undo_stack.command(doc.undo_stack.count() - 1)
    (remove,) = command.steps
    assert [type(s).__name__ for s in remove.steps] == ["Disconnect", "Disconnect", "_RemoveBareNode"]
    assert not doc.design.links
    doc.undo_stack.undo()
    assert doc.save() == before


def test_a_refused_link_leaves_no_step_and_names_both_shapes(qtbot):
    doc = EditorDocument()
    a = doc.add_node("leaf", name="A", value="ones(3, 2)", requires_grad=True)[0]
    b = doc.add_node("const", name="B", value="ones(3, 2)")[0]
    mm = doc.add_op(next(r for r in ELEMENTWISE if r.id == "linalg.MM"), (0, 0))[0]
    assert doc.connect(a, mm, 0) is None
    steps = doc.undo_stack.count()
    assert doc.connect(b, mm, 1) == "(3, 2) @ (3, 2): inner sizes 2 and 3 differ"
    assert doc.undo_stack.count() == steps and len(doc.design.links) == 1


def test_paste_lands_offset_keeps_internal_links_renames_clashes_and_works_between_documents(qtbot):
    doc = EditorDocument()
    x = doc.add_node("leaf", name="x", value="ones(2)", requires_grad=True, position=(0, 0))[0]
    e = doc.add_op(next(r for r in ELEMENTWISE if r.id == "elementwise.EXP"), (100, 0))[0]
    doc.connect(x, e, 0)
    text = clipboard.fragment(doc.design, [x, e])
    new, error = doc.paste(text)
    assert error is None and len(new) == 2
    positions = [doc.design.nodes[n].position for n in doc.design.nodes]
    assert len(set(positions)) == len(positions)            # never on top
    assert doc.design.nodes[new[0]].name == "x_2"
    assert any(l.src == new[0] and l.dst == new[1] for l in doc.design.links)
    again, _ = doc.paste(text)                               # a second paste goes further still
    assert doc.design.nodes[again[0]].position == (80.0, 80.0)
    other = EditorDocument()
    pasted, error = other.paste(text)
    assert error is None and other.design.nodes[pasted[0]].name == "x" and len(other.design.links) == 1
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert list(doc.design.nodes) == [x, e]
    assert doc.paste("not json")[1] == "the clipboard holds no GradStudio nodes"


def test_undoing_the_removal_of_a_groups_last_member_writes_the_same_file(qtbot):
    doc = EditorDocument()
    x = doc.add_node("leaf", name="x", value="1", position=(0, 0))[0]
    y = doc.add_node("leaf", name="y", value="2", position=(0, 90))[0]
    doc.group([x], "first")
    doc.group([y], "second")
    before = doc.save()
    doc.delete([x])                        # "first" loses its only member and goes
    assert list(doc.design.groups) == ["second"]
    doc.undo_stack.undo()                  # and comes back after "second" in the dict
    assert doc.save() == before


def test_a_nan_stays_on_the_node_that_made_it_and_run_results_find_their_nodes(qtbot):
    from gradstudio.studio import codegen
    from gradstudio.ui.editor import results
    doc = EditorDocument()
    x = doc.add_node("leaf", name="x", value="[-1., 2.]", requires_grad=True)[0]
    log = doc.place("op:elementwise.LOG", (100, 0), connect_from=x)[0]
    total = doc.place("op:reduction.SUM", (200, 0), connect_from=log)[0]
    out = doc.place("output", (300, 0), connect_from=total)[0]
    found = results.diagnose(doc.design)
    assert list(found) == [log] and "nan" in found[log] and "1 element" in found[log]
    script = codegen.design_to_script(doc.design)
    lines = results.line_nodes(script, doc.design)
    assert sorted(lines.values()) == sorted([x, log, total])
    assert script.splitlines()[min(k for k, v in lines.items() if v == log) - 1].startswith("t1 = torch.log(x)")
    # a recorded call of that script, as the kernel sends it, matched back by variable names
    call = {"graph": {"root": 2, "nodes": [
        {"id": 0, "name": "x", "value": [-1.0, 2.0], "grad": [-1.0, 0.5], "grad_norm": 1.118},
        {"id": 1, "name": "t1", "value": [float("nan"), 0.69], "grad": [1.0, 1.0], "grad_norm": 1.414},
        {"id": 2, "name": "t2", "value": 0.5, "grad": 1.0, "grad_norm": 1.0}]}}
    shown = results.node_results(doc.design, call)
    assert shown[x]["grad_norm"] == 1.118 and shown[out] == shown[total] and "0.5" in results.short(shown[x]["grad"])
