"""Stepping through a backward call: the state of the reverse pass at any step.

A backward call's step trace (:class:`gradstudio.autograd.events.Trace`, as the
plain data its ``to_data`` makes and a call's record carries under ``"steps"``)
lists what the engine did, in torch's order. :class:`Stepper` replays it: the
state after event ``k`` (:class:`State`) says which node runs, the gradient sent
along each edge so far, which nodes were reached, the ready queue and every
node's remaining dependency count, the terms waiting in each input buffer at a
fan-out and their sum, each leaf's ``.grad`` before + this call = after, which
saved tensors are still held and which are freed, and the error and its node.

Replay is from checkpoints (a copy of the state every :data:`CHECKPOINT`
events), so any step is at most that many cheap event applications away:
stepping backwards costs what stepping forwards does.

Also here: breakpoints (:meth:`Stepper.find` — the first NaN/inf, or |g| over a
threshold, and the node whose backward produced it) and predict-then-reveal
(:func:`check_prediction`: the learner's expected gradient, parsed with the
whitelisted :func:`gradstudio.studio.values.parse_value`, compared with a
tolerance; a shape mismatch is explained). Plain data and numpy only.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gradstudio.studio.values import ValueParseError, parse_value

CHECKPOINT = 64          # events between stored states


def why_no_steps(record) -> str:
    """What the step-through says for a call record that carries no trace."""
    from gradstudio.studio.kernel.records import MAX_STEPPED_NODES
    nodes = len(getattr(record, "nodes", None) or [])
    if nodes > MAX_STEPPED_NODES:
        return (f"This graph has {nodes:,} nodes: the step-through is recorded for graphs of up to "
                f"{MAX_STEPPED_NODES} nodes (a bigger trace would be megabytes of events to send).")
    return "No step trace was recorded for this call."


def steps_of(record) -> dict | None:
    """The step trace of a backward call as plain data, or None: the one accessor for
    a call record (a CallData with its ``steps`` field, the app's ``CallRecord``
    holding one in ``.data``) or a session's ``BackwardCall`` (whose ``steps`` is a
    :class:`~gradstudio.autograd.events.Trace`)."""
    if record is None:
        return None
    steps = record.steps if hasattr(record, "steps") else getattr(getattr(record, "data", None), "steps", None)
    if steps is not None and hasattr(steps, "to_data"):
        steps = steps.to_data()
    return steps


# --------------------------------------------------------------------------- values
def value_array(value: dict | None) -> np.ndarray | None:
    """The array a trace value holds (None when it was summarised or absent)."""
    if value is None or "values" not in value:
        return None
    return np.asarray(_numbers(value["values"]), dtype=np.float64).reshape(value["shape"])


def _numbers(values):
    if isinstance(values, list):
        return [_numbers(v) for v in values]
    if isinstance(values, str):          # strict JSON's "nan", "inf", "-inf"
        return float(values)
    return values


def nonfinite(value: dict | None) -> int:
    """How many NaN/inf elements a trace value has."""
    if value is None:
        return 0
    array = value_array(value)
    if array is not None:
        return int(array.size - np.count_nonzero(np.isfinite(array)))
    return int((value.get("summary") or {}).get("nonfinite") or 0)


def max_abs(value: dict | None) -> float | None:
    """The largest |element| of a trace value (finite elements only)."""
    if value is None:
        return None
    array = value_array(value)
    if array is not None:
        finite = array[np.isfinite(array)]
        return float(np.max(np.abs(finite))) if finite.size else None
    summary = value.get("summary") or {}
    ends = [abs(float(summary[k])) for k in ("min", "max") if summary.get(k) is not None]
    return max(ends) if ends else None


def shape_text(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def value_text(value: dict | None, digits: int = 4) -> str:
    """A trace value as a person reads it: the numbers when kept, else a summary."""
    if value is None:
        return "None"
    array = value_array(value)
    if array is not None:
        return np.array2string(array, precision=digits, separator=", ", suppress_small=False,
                               threshold=24, edgeitems=3)
    summary = value.get("summary") or {}
    return (f"shape {shape_text(value['shape'])}: min {summary.get('min')}, max {summary.get('max')}, "
            f"mean {summary.get('mean')}")


# --------------------------------------------------------------------------- state
@dataclass
class State:
    """The reverse pass after event ``step``. Node keys are trace node ids. The
    containers are replaced, never changed in place, once a state is handed out."""

    step: int = -1
    event: dict | None = None
    running: int | None = None          # the node whose backward is being computed
    started: dict = field(default_factory=dict)     # node -> its incoming gradient (value)
    finished: frozenset = frozenset()               # nodes that ran to the end
    remaining: dict = field(default_factory=dict)   # node -> edges it still waits for
    ready: tuple = ()                               # ready nodes, in the order they will run
    buffers: dict = field(default_factory=dict)     # node -> (terms tuple, total value or None
                                                    #   while the last term is not added yet)
    edges: dict = field(default_factory=dict)       # (node, slot) -> edge event
    leaves: dict = field(default_factory=dict)      # node -> accumulated event (before/grad/after)
    freed: frozenset = frozenset()                  # nodes whose saved tensors are gone
    hooks: tuple = ()                               # hook events so far
    captured: dict = field(default_factory=dict)    # node -> gradient autograd.grad took
    error: dict | None = None                       # the error event
    complete: bool = False                          # the last event of a pass that did not fail

    def copy(self) -> State:
        return State(self.step, self.event, self.running, dict(self.started), self.finished,
                     dict(self.remaining), self.ready, dict(self.buffers), dict(self.edges),
                     dict(self.leaves), self.freed, self.hooks, dict(self.captured), self.error,
                     self.complete)

    def reached(self, node: int) -> bool:
        """A gradient got to ``node`` (it is waiting in its buffer, or the node ran)."""
        return node in self.started or node in self.buffers or node in self.captured

    def status(self, node: int) -> str:
        """``failed``, ``running``, ``done``, ``ready``, ``waiting`` (some of its
        gradients arrived) or ``unreached``."""
        if self.error is not None and self.error["node"] == node:
            return "failed"
        if node == self.running:
            return "done" if self.complete else "running"
        if node in self.finished or node in self.captured:
            return "done"
        if node in self.ready:
            return "ready"
        if node in self.buffers:
            return "waiting"
        return "unreached"


class Stepper:
    """Random access to the states of one backward call's trace (plain data)."""

    def __init__(self, trace: dict, checkpoint: int = CHECKPOINT):
        self.trace = trace
        self.nodes = trace.get("nodes") or []
        self.events = trace.get("events") or []
        self.checkpoint = max(1, int(checkpoint))
        self.by_vertex = {n["vertex"]: n["id"] for n in self.nodes if n.get("vertex") is not None}
        # when each node first runs (or is captured): the ready queue's order
        self.runs_at: dict = {}
        # each node's dependency count before the pass: one more than what its first
        # incoming edge left
        self.initial: dict = {}
        for i, e in enumerate(self.events):
            kind = e["kind"]
            if kind in ("node_start", "captured") and e["node"] not in self.runs_at:
                self.runs_at[e["node"]] = i
            elif kind == "edge" and e["next_node"] not in self.initial:
                left = e.get("remaining")
                self.initial[e["next_node"]] = None if left is None else left + 1
        self._states = [self._first()]

    def __len__(self) -> int:
        return len(self.events)

    # -- replay ------------------------------------------------------------------------
    def _first(self) -> State:
        state = State(remaining=dict(self.initial))
        return state

    def state(self, step: int) -> State:
        """The state once events ``0 … step`` happened (``step`` -1: before any)."""
        step = max(-1, min(int(step), len(self.events) - 1))
        slot = (step + 1) // self.checkpoint
        states = self._states
        while len(states) <= slot:       # build checkpoints up to this one, once
            state = states[-1].copy()
            start = state.step + 1
            for i in range(start, start + self.checkpoint):
                self._apply(state, i)
            states.append(state)
        state = states[slot].copy()
        for i in range(state.step + 1, step + 1):
            self._apply(state, i)
        return state

    def _apply(self, s: State, i: int):
        e = self.events[i]
        s.step, s.event = i, e
        kind, node = e["kind"], e["node"]
        if kind == "seed":
            s.buffers[node] = ((e.get("grad"),), e.get("grad"))
            if node not in s.ready:
                s.ready = self._ordered(s.ready + (node,))
            s.remaining.setdefault(node, 0)
        elif kind == "node_start":
            if s.running is not None and s.running != node:
                s.finished = s.finished | {s.running}
            s.running = node
            s.started[node] = e.get("grad")
            s.buffers.pop(node, None)
            s.ready = tuple(n for n in s.ready if n != node)
        elif kind == "captured":
            if s.running is not None:
                s.finished = s.finished | {s.running}
                s.running = None
            s.captured[node] = e.get("grad")
            s.buffers.pop(node, None)
            s.ready = tuple(n for n in s.ready if n != node)
        elif kind == "released":
            s.freed = s.freed | {node}
        elif kind == "edge":
            s.edges[(node, e["slot"])] = e
            target = e["next_node"]
            if e.get("grad") is not None:
                terms, total = s.buffers.get(target, ((), None))
                terms = terms + (e["grad"],)
                # a single term is its own total; a sum arrives as buffer_add next (until
                # then it is None: the old total would read as "a + b = a")
                s.buffers[target] = (terms, e["grad"] if len(terms) == 1 else None)
            left = e.get("remaining")
            if left is not None:
                s.remaining[target] = left
                if left == 0 and target not in s.ready:
                    s.ready = self._ordered(s.ready + (target,))
        elif kind == "buffer_add":
            terms, _ = s.buffers.get(node, ((), None))
            s.buffers[node] = (terms, e.get("total"))
        elif kind == "accumulated":
            s.leaves[node] = e
        elif kind == "hook":
            s.hooks = s.hooks + (e,)
        elif kind == "error":
            s.error = e
            s.running = node
        s.complete = s.error is None and i == len(self.events) - 1

    def _ordered(self, ready: tuple) -> tuple:
        """Ready nodes by when they will run (never-run ones last, as they came)."""
        last = len(self.events)
        return tuple(sorted(ready, key=lambda n: self.runs_at.get(n, last)))

    # -- questions ---------------------------------------------------------------------
    def node(self, node: int) -> dict:
        return self.nodes[node]

    def name(self, node: int) -> str:
        return self.nodes[node]["name"]

    def vertex(self, node: int) -> int | None:
        return self.nodes[node].get("vertex")

    def node_of_vertex(self, vertex: int) -> int | None:
        return self.by_vertex.get(vertex)

    def held(self, state: State) -> list:
        """Nodes that hold saved tensors at ``state`` (freed neither before nor during)."""
        return [n["id"] for n in self.nodes
                if n.get("saves") and not n.get("freed") and n["id"] not in state.freed]

    def freed(self, state: State) -> list:
        """Nodes whose saved tensors are gone at ``state``: by an earlier call, or by
        this one as they finished."""
        return [n["id"] for n in self.nodes
                if n.get("saves") and (n.get("freed") or n["id"] in state.freed)]

    def start_of(self, node: int) -> int | None:
        """The step at which ``node`` starts running (None if it never does)."""
        return self.runs_at.get(node)

    def error_step(self) -> int | None:
        return next((i for i, e in enumerate(self.events) if e["kind"] == "error"), None)

    def next_start(self, step: int) -> int | None:
        """The step of the next node to start after ``step``."""
        return next((i for i in range(step + 1, len(self.events))
                     if self.events[i]["kind"] in ("node_start", "captured")), None)

    def vjp(self, state: State, node: int | None = None) -> dict | None:
        """The vector-Jacobian product of ``node`` (default: the running one) as far as
        ``state`` got: ``{"node", "name", "incoming", "outgoing": [edge events]}``."""
        node = state.running if node is None else node
        if node is None or node not in state.started:
            return None
        out = [e for (n, _), e in sorted(state.edges.items()) if n == node]
        return {"node": node, "name": self.name(node), "incoming": state.started[node],
                "outgoing": out}

    def explain(self, state: State) -> str:
        """One or two sentences on what the last event did."""
        e = state.event
        if e is None:
            return "Before the pass: nothing has run yet."
        kind, name = e["kind"], self.name(e["node"])
        if kind == "seed":
            return (f"The pass starts at {name} with the seed gradient "
                    f"{value_text(e.get('grad'))} (1 for a scalar root, else gradient=).")
        if kind == "node_start":
            if name == "AccumulateGrad":
                return f"AccumulateGrad of the leaf runs: every gradient for it has arrived."
            return (f"{name} runs: all {self.initial.get(e['node']) or 1} of its incoming "
                    f"gradients arrived; it computes the gradient for each input (its VJP).")
        if kind == "edge":
            target = self.name(e["next_node"])
            left = e.get("remaining")
            wait = ("it is now ready" if left == 0 else "it never runs (not needed)" if left is None
                    else f"it still waits for {left} more")
            return f"{name} sends {value_text(e.get('grad'))} to {target} (input {e['input_nr']}): {wait}."
        if kind == "buffer_add":
            return (f"Fan-out: a second gradient reaches {name}; its input buffer adds them: "
                    f"{value_text(e.get('previous'))} + {value_text(e.get('grad'))} = "
                    f"{value_text(e.get('total'))}.")
        if kind == "accumulated":
            before = e.get("previous")
            return ("AccumulateGrad adds this call's gradient to the leaf's .grad: before + this "
                    "call = after." + (" .grad already held a gradient from an earlier call, so "
                                       "the printed .grad is the running total." if before is not None
                                       else " .grad was None before."))
        if kind == "released":
            return (f"{name} finished: its saved tensors are freed (no retain_graph). "
                    f"A later backward() through it fails here.")
        if kind == "captured":
            return f"autograd.grad takes the gradient arriving at {name}; it does not run."
        if kind == "hook":
            changed = "and replaced the gradient" if e.get("replaced") else "and left the gradient as it was"
            return f"A {e.get('hook_kind')} ran on {name} {changed}."
        if kind == "error":
            return f"The pass stops at {name}: it raised {e.get('error_type')}."
        return kind

    def saved_note(self, node: int) -> str:
        """Why a node does or does not need its saved tensors for a second pass."""
        info = self.nodes[node]
        name = info["name"]
        if not info.get("saves"):
            return (f"{name} saves no tensors (its gradient needs only shapes), so a second "
                    f"backward() through it works without retain_graph.")
        what = ", ".join(s["what"] for s in info.get("saved") or []) or "tensors"
        if info.get("freed"):
            return (f"{name} saved {what}; an earlier backward() freed them, so this pass stops "
                    f"here. Pass retain_graph=True to the earlier call to keep them.")
        return f"{name} saves {what} for its gradient; they are freed when it finishes unless retain_graph."

    # -- breakpoints ---------------------------------------------------------------------
    def find(self, start: int, *, nonfinite_values: bool = True, threshold: float | None = None):
        """The first event after ``start`` whose gradient has a NaN/inf (if
        ``nonfinite_values``) or an element above ``threshold`` in absolute value:
        ``Hit`` (step, node whose backward produced it, its vertex, why), or None."""
        for i in range(start + 1, len(self.events)):
            e = self.events[i]
            for key in ("grad", "total"):
                value = e.get(key)
                if value is None:
                    continue
                producer = e["node"] if e["kind"] != "node_start" else self._producer(i)
                if nonfinite_values and nonfinite(value):
                    return Hit(i, producer, self.vertex(producer) if producer is not None else None,
                               f"{nonfinite(value)} NaN/inf in the gradient {_where(self, e, key)}")
                big = max_abs(value)
                if threshold is not None and big is not None and big > threshold:
                    return Hit(i, producer, self.vertex(producer) if producer is not None else None,
                               f"|g| = {big:.4g} > {threshold:g} {_where(self, e, key)}")
        return None

    def _producer(self, step: int) -> int | None:
        """The node whose backward sent the gradient a node starts with (the last edge
        into it), or the node itself for a seed."""
        node = self.events[step]["node"]
        for i in range(step - 1, -1, -1):
            e = self.events[i]
            if e["kind"] == "edge" and e["next_node"] == node:
                return e["node"]
        return node


@dataclass
class Hit:
    step: int
    node: int | None          # trace node whose backward produced the value
    vertex: int | None        # its vertex in the recorded graph: the forward op
    reason: str


def _where(stepper: Stepper, e: dict, key: str) -> str:
    name = stepper.name(e["node"])
    if e["kind"] == "edge":
        return f"{name} sent to {stepper.name(e['next_node'])}"
    if e["kind"] == "accumulated":
        return f"accumulated into the leaf ({'after' if key == 'total' else 'added'})"
    return f"at {name}"


# --------------------------------------------------------------------------- predict
@dataclass
class Verdict:
    ok: bool
    message: str
    expected: np.ndarray | None = None      # what the engine computed
    given: np.ndarray | None = None         # what the learner typed


def check_prediction(text: str, actual: dict | None, *, rtol: float = 1e-3,
                     atol: float = 1e-5) -> Verdict:
    """Compare the gradient a learner typed with the one the engine computed (a trace
    value). A plain number stands for every element (1 for a gradient of ones)."""
    try:
        given = parse_value(text)
    except ValueParseError as error:
        return Verdict(False, f"Could not read that: {error}")
    expected = value_array(actual)
    if expected is None:
        return Verdict(False, "This gradient was too large to keep, so it cannot be compared.",
                       None, given)
    if given.shape != expected.shape:
        if given.ndim == 0:
            given = np.broadcast_to(given, expected.shape)
        else:
            return Verdict(False, f"Shape mismatch: you gave shape {shape_text(given.shape)}, the "
                           f"gradient has shape {shape_text(expected.shape)} — a gradient always "
                           f"has the shape of the tensor it is for.", expected, given)
    close = np.isclose(given, expected, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return Verdict(True, f"Right: {value_text(actual)}.", expected, given)
    wrong = int(close.size - np.count_nonzero(close))
    return Verdict(False, f"Not quite: {wrong} of {close.size} elements differ; the engine "
                   f"computed {value_text(actual)}.", expected, given)


# --------------------------------------------------------------------------- retain_graph
def with_retain_graph(source: str) -> tuple:
    """``source`` with ``retain_graph=True`` added to every ``….backward(…)`` call that
    does not pass retain_graph already, and how many were changed. The text is edited
    where each call's parenthesis closes (``ast`` only parses, nothing is run), so the
    rest of the code stays exactly as written."""
    import ast
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source, 0
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line.encode("utf-8")))
    data = source.encode("utf-8")
    edits = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "backward"
                and not any(k.arg == "retain_graph" for k in node.keywords)
                and not any(k.arg is None for k in node.keywords)):
            end = offsets[node.end_lineno - 1] + node.end_col_offset - 1     # the ")"
            before = data[:end].rstrip()
            # a trailing comma already separates: `f(g,)` gets `f(g, retain_graph=True)`
            comma = bool(node.args or node.keywords) and not before.endswith(b",")
            edits.append((end, ", retain_graph=True" if comma else " retain_graph=True"
                          if before.endswith(b",") else "retain_graph=True"))
    for end, text in sorted(edits, reverse=True):
        data = data[:end] + text.encode("utf-8") + data[end:]
    return data.decode("utf-8"), len(edits)


def rerun_cells(calls: list, failed) -> tuple | None:
    """Which cells to run again, with retain_graph, so that the failed second backward
    ``failed`` (a CallData) passes: from the cell of the first of the earlier
    successful calls through the same graph (the run of calls just before it whose
    graphs match it: same ops, same root value) — that cell built the graph, or
    its graph was still whole there — to the failed call's own cell. ``calls``
    are the earlier records, in order. Returns (first, last) cell numbers, or None
    when the cells are not known."""
    last = failed.cell
    if last is None:
        return None
    mark = _graph_mark(failed)
    first = last
    for call in reversed([c for c in calls if c.index < failed.index]):
        if call.cell is None or call.cell > last or _graph_mark(call) != mark:
            break
        if call.status == "ok":
            first = call.cell
    return first, last


def _graph_mark(record):
    """What identifies a recorded graph (of a CallData) across calls: its ops in order
    and the root's value."""
    graph = record.graph
    nodes = (graph.nodes or []) if graph is not None else []
    value = nodes[graph.root].value if nodes else None
    return (tuple(n.grad_fn or n.kind for n in nodes),
            None if value is None else np.asarray(value).tolist())
