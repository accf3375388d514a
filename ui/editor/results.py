"""Reading a run back onto the design's nodes (no Qt here).

* :func:`graph_from_record` — a recorded backward call's graph (as the kernel
  sends it) as a :class:`~gradstudio.studio.trace.Graph`, for "Open as nodes";
* :func:`node_results` — what the design's own run found per node: value, grad
  and its norm, matched through the variable names the script was written with;
* :func:`live_script` — the script of a live run and :func:`diagnose`'s answer, from
  one compile of the design;
* :func:`diagnose` — the node where a NaN or an infinity first appears from
  finite inputs (a domain error such as log of a negative number), found from the
  design's forward values before anything is sent to the kernel;
* :func:`line_nodes` — which node each line of the written script assigns, so an
  error the kernel reports at a line stays on the node that caused it.

Records are read through :func:`field`, which takes a key of a dict or an
attribute of a typed record alike.
"""
from __future__ import annotations

import re

import numpy as np

from gradstudio.studio import codegen, trace
from gradstudio.studio.codegen import variable_names
from gradstudio.studio.design import DesignError, op_row

MAX_DIAGNOSED_ELEMENTS = 200_000     # larger designs are not evaluated in the window
_ASSIGN = re.compile(r"^([A-Za-z_]\w*) = ")


def field(record, key, default=None):
    if isinstance(record, dict):
        return record.get(key, default)
    return getattr(record, key, default)


def graph_from_record(graph) -> trace.Graph:
    """The recorded graph (its vertices carry kind, name, op id, params, inputs, value)."""
    nodes = field(graph, "nodes") or []
    vertices = []
    for raw in nodes:
        kind = field(raw, "kind")
        value = field(raw, "value")
        if value is None:
            raise DesignError(f"vertex {field(raw, 'id')} was too large to send, so it cannot become a node")
        op = op_row(field(raw, "op_key")) if kind == "op" else None
        value = np.asarray(value)
        if kind == "const" and value.ndim == 0:
            value = float(value)              # a Python number in the script, as recorded
        vertices.append(trace.GraphNode(field(raw, "id"), kind, value, name=field(raw, "name"), op=op,
                                        params=dict(field(raw, "params") or {}),
                                        inputs=tuple(field(raw, "inputs") or ()),
                                        requires_grad=bool(field(raw, "requires_grad"))))
    return trace.Graph(vertices, field(graph, "root"))


def short(value) -> str:
    if value is None:
        return ""
    text = np.array2string(np.asarray(value), precision=4, threshold=12, edgeitems=2)
    return text if len(text) <= 160 else text[:157] + "…"


def node_results(design, call) -> dict:
    """``{node id: {"value", "grad", "grad_norm"}}`` from a recorded call of the design's script
    (the arrays as recorded: :func:`short` writes one when a hover shows it)."""
    graph = field(call, "graph")
    if not graph:
        return {}
    by_name = {}
    for raw in field(graph, "nodes") or []:
        if field(raw, "name"):
            by_name[field(raw, "name")] = raw           # the last vertex with a name is its value
    found = {}
    for node_id, name in variable_names(design).items():
        raw = by_name.get(name)
        if raw is None:
            continue
        found[node_id] = {"value": field(raw, "value"), "grad": field(raw, "grad"),
                          "grad_norm": field(raw, "grad_norm")}
    root = design.root_source()
    if design.root is not None and root in found:
        found[design.root] = dict(found[root])
    return found


def live_script(design) -> tuple:
    """``(script, diagnosed)``: the live run's script (``codegen.design_to_script`` with
    exact values) and :func:`diagnose`'s answer, from one compile of the design (each
    compiled it on its own: a second forward pass of the whole design per edit).
    DesignError for a design that cannot be compiled."""
    graph = design.compile()
    return codegen.design_to_script(design, exact_values=True, compiled=graph), diagnose(design, graph)


def diagnose(design, graph=None) -> dict:
    """``{node id: message}`` for the op nodes where a NaN or an infinity first appears
    from finite inputs (empty if the design cannot be compiled or is too large);
    ``graph``: the design's ``compile()``, when made already."""
    try:
        graph = design.compile() if graph is None else graph
    except DesignError:
        return {}
    if sum(np.size(v.value) for v in graph.nodes) > MAX_DIAGNOSED_ELEMENTS:
        return {}
    ids = design.feeding_root()
    found = {}
    for node_id, vertex in zip(ids, graph.nodes):
        if vertex.kind != "op":
            continue
        inputs_finite = all(np.all(np.isfinite(graph.nodes[i].value)) for i in vertex.inputs)
        value = np.asarray(vertex.value, dtype=np.float64)
        if not inputs_finite or np.all(np.isfinite(value)):
            continue
        label = vertex.op.label or vertex.op.name
        if np.isnan(value).any():
            found[node_id] = (f"{label} gives nan (not a number) for {int(np.isnan(value).sum())} element(s): "
                              f"an input is outside its domain (log and √ need positive values, "
                              f"asin and acos values in [-1, 1]). Change the input's value.")
        else:
            found[node_id] = (f"{label} gives inf for {int(np.isinf(value).sum())} element(s): a division "
                              f"by zero, log of 0 or an overflow. Change the input's value.")
    return found


def line_nodes(script: str, design) -> dict:
    """Line number (1-based) → node id, for the lines that assign a node's variable."""
    by_name = {name: node_id for node_id, name in variable_names(design).items()}
    lines = {}
    for number, line in enumerate(script.splitlines(), start=1):
        match = _ASSIGN.match(line)
        if match and match.group(1) in by_name:
            lines[number] = by_name[match.group(1)]
    return lines
