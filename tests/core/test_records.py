"""The typed records (studio/kernel/schema.py): every record type survives its wire form
unchanged (NaN, inf, big arrays included), and anything that is not exactly a record —
an unknown type, a missing, extra or mistyped field, bytes that are not a message —
raises RecordError and nothing else."""
from __future__ import annotations

import ast
import dataclasses
import json
import pathlib
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gradstudio.studio import wire
from gradstudio.studio.kernel import records, schema
from gradstudio.studio.kernel.schema import RecordError

ROOT = pathlib.Path(__file__).resolve().parents[2]

# --------------------------------------------------------------------------- strategies from the annotations
_DTYPES = ["bool", "int8", "int32", "int64", "uint8", "float16", "float32", "float64", "complex128"]
_plain = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 63, 2 ** 63) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8)


def _arrays():
    return st.sampled_from(_DTYPES).flatmap(lambda dtype: hnp.arrays(
        np.dtype(dtype), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)))


def strategy(annotation: str):
    """A hypothesis strategy for one field annotation (the same mini-language schema reads)."""
    parts = [p.strip() for p in schema._split_top(annotation, "|")]
    if "None" in parts:
        rest = " | ".join(p for p in parts if p != "None")
        return st.none() | strategy(rest)
    text = parts[0]
    simple = {"int": st.integers(-2 ** 63, 2 ** 63), "float": st.floats(), "bool": st.booleans(),
              "str": st.text(max_size=12), "Array": _arrays(), "Plain": _plain,
              "Shape": st.tuples(*[st.integers(0, 5)] * 2) | st.tuples() | st.tuples(st.integers(0, 9))}
    if text in simple:
        return simple[text]
    if text.startswith("list["):
        return st.lists(strategy(text[5:-1]), max_size=3)
    if text.startswith("tuple["):
        return st.lists(strategy(text[6:-6]), max_size=3).map(tuple)
    if text.startswith("dict[str, "):
        return st.dictionaries(st.text(max_size=6), strategy(text[10:-1]), max_size=3)
    return record_of(schema._CLASSES[text])


def record_of(cls):
    fields = {f.name: st.deferred(lambda f=f: strategy(f.type)) for f in dataclasses.fields(cls)}
    return st.fixed_dictionaries(fields).map(lambda values: cls(**values))


ALL = sorted(schema._TYPES.values(), key=lambda cls: cls.type)


def round_trip(value):
    if isinstance(value, schema.Message):
        return schema.decode(*schema.encode(value))
    return schema.decode_value(wire.unpack(*wire.pack(value.to_wire())))


@pytest.mark.parametrize("cls", ALL, ids=lambda cls: cls.type)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_record_type_survives_its_wire_form(cls, data):
    value = data.draw(record_of(cls))
    back = round_trip(value)
    assert type(back) is cls and back == value


def test_every_message_the_kernel_sends_is_a_record_type():
    assert {cls.type for cls in ALL if issubclass(cls, schema.Message)} == {
        "cell_finished", "call_checked", "graph_chunk", "done", "ready", "sweep_result", "kernel_error",
        "tensors", "deriving", "cell_started", "jacobian", "local_derivatives", "hessian", "tensor_text",
        "call_steps", "graph_structure", "call_values"}


def test_nan_inf_and_big_arrays_keep_their_values_dtype_and_shape():
    big = np.random.default_rng(0).standard_normal((600, 700))
    big[0, 0], big[1, 1], big[2, 2] = np.nan, np.inf, -np.inf
    node = schema.NodeData(id=0, kind="leaf", label="x", shape=(600, 700), dtype="float64", value=big,
                           grad=big.astype(np.float32), grad_norm=float("nan"),
                           value_summary=records.summary(big), grad_sample=records.heatmap_sample(big))
    call = schema.CallData(index=3, gradient=np.array([np.inf]), graph=schema.GraphData(root=0, nodes=[node]),
                           steps={"events": [{"kind": "seed", "grad": {"values": ["nan", 1.5]}}]})
    message = schema.CellFinished(run=schema.RunData(cell=1), calls=[call])
    back = schema.decode_frame(schema.encode_frame(message))
    assert back == message
    got = back.calls[0].graph.nodes[0]
    assert got.value.dtype == np.float64 and got.grad.dtype == np.float32 and got.value.shape == (600, 700)
    assert np.isnan(got.value[0, 0]) and got.value[1, 1] == np.inf and np.isnan(got.grad_norm)
    assert back != message.replace(run=schema.RunData(cell=2))          # equality is not vacuous


def test_console_outputs_from_ipython_keep_out_n_and_the_figure_bytes():
    png = np.frombuffer(b"\x89PNG\r\n\x1a\n" + bytes(range(256)), dtype=np.uint8)
    run = schema.RunData(cell=0, outputs=[schema.OutputData("result", "2\n", execution_count=7),
                                          schema.OutputData("image", "<Figure>", png=png)])
    back = schema.decode_frame(schema.encode_frame(schema.CellFinished(run=run))).run
    assert back == run and back.outputs[0].execution_count == 7 and back.outputs[0].png is None
    figure = back.outputs[1]
    assert figure.png.dtype == np.uint8 and figure.png.tobytes() == png.tobytes()
    assert back != run.replace(outputs=[run.outputs[0].replace(execution_count=8), run.outputs[1]])


def tampered(change):
    """The JSON of a small CellFinished, changed by ``change(tree)``, with its buffers."""
    message = schema.CellFinished(
        run=schema.RunData(cell=1, execution_count=2, outputs=[schema.OutputData("stdout", "hi\n")]),
        calls=[schema.CallData(index=0, leaves=[schema.LeafData("x", 0, (2,), np.ones(2))])])
    text, buffers = schema.encode(message)
    tree = json.loads(text)
    change(tree)
    return json.dumps(tree).encode(), buffers


@pytest.mark.parametrize("change, says", [
    (lambda t: t.update(type="cell_finishd"), "unknown record type"),
    (lambda t: t.pop("run"), "lacks run"),
    (lambda t: t.update(extra=1), "unknown fields: extra"),
    (lambda t: t["run"].update(cell="1"), "run.cell must be an int"),
    (lambda t: t["run"].update(cell=True), "run.cell must be an int"),
    (lambda t: t["run"].update(ok=1), "run.ok must be true or false"),
    (lambda t: t["run"]["outputs"][0].update(type="run"), "outputs[0] must be a 'output' record"),
    (lambda t: t["run"]["outputs"][0].pop("text"), "lacks text"),
    (lambda t: t["run"]["outputs"][0].update(execution_count="1"), "execution_count must be an int"),
    (lambda t: t["run"]["outputs"][0].update(png="iVBORw0KGgo="), "png must be an array"),
    (lambda t: t["calls"][0]["leaves"][0].update(shape=[-1]), "must be a shape"),
    (lambda t: t["calls"][0]["leaves"][0].update(name=t["calls"][0]["leaves"][0]["numeric"], numeric="x"),
     "name must be a str, not ndarray"),
    (lambda t: t["run"].update(outputs={}), "run.outputs must be a list"),
    (lambda t: t.update(run=None), "run must be an object"),
])
def test_tampered_json_is_refused_with_one_clear_error(change, says):
    with pytest.raises(RecordError, match=says.replace("[", r"\[").replace("]", r"\]")):
        schema.decode(*tampered(change))


def test_a_value_record_is_not_a_message_and_bytes_that_are_not_one_are_refused():
    summary = schema.Summary((2,), "float64", 2)
    with pytest.raises(RecordError, match="not a message"):
        schema.decode(*wire.pack(summary.to_wire()))
    with pytest.raises(RecordError, match="only a Message"):
        schema.encode(summary)
    with pytest.raises(RecordError):
        schema.decode_frame(pickle.dumps({"type": "done", "id": 1}))        # what the old kernel sent
    frame = schema.encode_frame(schema.Done(id=1))
    with pytest.raises(RecordError, match="cut short"):
        schema.decode_frame(frame[: len(frame) // 2])
    with pytest.raises(RecordError):
        schema.decode(b'{"type": "done", "id": NaN, "request": null, "interrupted": false}', [])
    assert issubclass(RecordError, ValueError)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_corruption_of_a_frame_decodes_or_raises_record_error(data):
    frame = bytearray(schema.encode_frame(schema.CellStarted(cell=1, first_line=3, execution_count=7)))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(frame) - 1))
        frame[i] = data.draw(st.integers(0, 255))
    try:
        message = schema.decode_frame(bytes(frame))
    except RecordError:
        return
    assert isinstance(message, schema.Message)


def test_records_are_frozen():
    node = schema.NodeData(id=0, kind="leaf", label="x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.id = 1
    assert node.replace(id=1).id == 1 and node.id == 0


def test_split_and_join_graph_give_back_the_same_call():
    nodes = [schema.NodeData(id=i, kind="op", label="op") for i in range(450)]
    call = schema.CallData(index=2, graph=schema.GraphData(root=449, nodes=nodes))
    bare, chunks = records.split_graph(call, size=200)
    assert bare.graph.nodes is None and bare.graph.chunks == 3 and [len(c) for c in chunks] == [200, 200, 50]
    assert call.graph.nodes is nodes, "the call itself is not changed"
    assert records.join_graph(bare, chunks) == call
    with pytest.raises(RecordError, match="2 pieces, 3 were announced"):
        records.join_graph(bare, chunks[:2])


def test_a_cells_graphs_travel_in_messages_of_at_most_one_chunk_of_nodes():
    def call(index, size):
        nodes = [schema.NodeData(id=i, kind="op", label="op") for i in range(size)]
        return schema.CallData(index=index, graph=schema.GraphData(root=size - 1, nodes=nodes))
    calls = [call(0, 30), call(1, 30), call(2, 120), call(3, 10), schema.CallData(index=4, graph=None)]
    kept, chunks = records.split_graphs(calls, size=50)
    inline = sum(len(c.graph.nodes) for c in kept if c.graph is not None and c.graph.nodes)
    assert inline <= 50 and all(len(nodes) <= 50 for _, nodes in chunks)
    assert [c.graph.chunks if c.graph else None for c in kept] == [None, 1, 3, None, None]
    assert [index for index, _ in chunks] == [1, 2, 2, 2]
    pieces = {}
    for index, nodes in chunks:
        pieces.setdefault(index, []).append(nodes)
    assert [records.join_graph(c, pieces.get(c.index, [])) for c in kept] == calls


# --------------------------------------------------------------------------- what the window must import
def _top_level_imports(path: pathlib.Path) -> set:
    """Modules a file imports at its top level (not inside functions)."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
    return names


def test_the_record_modules_import_only_numpy_and_the_wire_format():
    allowed = {"__future__", "dataclasses", "math", "typing", "numpy", "gradstudio.studio",
               "gradstudio.studio.wire", "gradstudio.studio.kernel.schema"}
    for name in ("schema.py", "records.py"):
        imported = _top_level_imports(ROOT / "gradstudio" / "studio" / "kernel" / name)
        assert imported <= allowed, f"{name} imports {sorted(imported - allowed)} at its top level"


def test_importing_the_records_and_the_app_model_loads_no_engine_module_of_its_own():
    """``gradstudio/__init__`` is the engine's and loads it eagerly (the speed engineer is
    making that lazy), so this checks what the records and ``ui.model`` add on top of
    ``import gradstudio``: nothing of the engine, nothing of sympy."""
    code = textwrap.dedent("""
        import sys
        import gradstudio
        before = set(sys.modules)
        import gradstudio.studio.kernel.schema, gradstudio.studio.kernel.records
        added = set(sys.modules) - before
        engine = [m for m in added if m.startswith("gradstudio.") and not m.startswith("gradstudio.studio")]
        print(sorted(engine + [m for m in added if m.split(".")[0] == "sympy"]))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_call_carries_its_step_trace_as_plain_data_when_the_session_records_it():
    from gradstudio.studio.session import Session
    source = "import torch\nx = torch.ones(2, requires_grad=True)\n(x * x).sum().backward()\n"
    plain, stepped = Session(), Session(step_trace=True)
    plain.run_cell(source)
    stepped.run_cell(source)
    assert records.call_data(plain.backward_calls[0]).steps is None
    call = records.call_data(stepped.backward_calls[0])
    assert call.steps == stepped.backward_calls[0].steps.to_data()
    assert [e["kind"] for e in call.steps["events"]][:2] == ["seed", "node_start"]
    message = schema.CellFinished(run=schema.RunData(cell=1), calls=[call])
    assert schema.decode_frame(schema.encode_frame(message)).calls[0].steps == call.steps
