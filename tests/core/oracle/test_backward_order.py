"""The backward engine runs nodes in torch's order, node by node.

Random programs (fan-out, shared leaves, constants, several roots, non-scalar
roots with ``gradient=``, ``autograd.grad`` and ``backward(inputs=)`` with a subset of the leaves and
maybe a non-leaf,
``retain_graph`` and a second call) run under PyTorch with a
``Node.register_prehook`` on every node logging which node ran, and under
GradStudio with the engine's event trace (:class:`Recorder`, whose
``node_start`` events are the nodes that ran). The two sequences must be equal,
and so must the gradients. Nodes are named by the program step that made them
(``op3``) or the leaf they accumulate into (``leaf1``), so the comparison is of
identities, not just grad_fn names.
"""
from __future__ import annotations

import numpy as np
import pytest

import gradstudio
from gradstudio.autograd import api as gs_api
from gradstudio.autograd.engine import run_backward
from gradstudio.autograd.events import Recorder

pytestmark = pytest.mark.oracle

GRAPHS = 240
UNARY = ("sin", "exp", "tanh", "neg")
BINARY = ("add", "mul", "sub")


def random_program(seed: int) -> dict:
    """Leaves, a list of ops over earlier values, and what to differentiate how."""
    rng = np.random.default_rng(seed)
    n_leaves = int(rng.integers(1, 5))
    leaves = []
    for _ in range(n_leaves):
        shape = (3,) if rng.random() < 0.8 else ()
        leaves.append((rng.standard_normal(shape).astype(np.float32) * 0.5, bool(rng.random() < 0.85)))
    if not any(requires for _, requires in leaves):
        leaves[0] = (leaves[0][0], True)
    ops = []
    count = n_leaves
    for _ in range(int(rng.integers(2, 14))):
        # favour recent values (depth) but reuse older ones too (fan-out, shared leaves)
        def pick():
            return int(count - 1 - min(int(rng.geometric(0.45)) - 1, count - 1))
        if rng.random() < 0.4:
            ops.append((str(rng.choice(UNARY)), (pick(),)))
        else:
            ops.append((str(rng.choice(BINARY)), (pick(), pick())))
        count += 1
    if rng.random() < 0.35:
        ops.append(("sum", (count - 1,)))
        count += 1
    mode = str(rng.choice(["backward", "backward", "several", "grad", "retain", "inputs"]))
    n_roots = 1 if mode in ("backward", "retain") else int(rng.integers(1, 4))
    candidates = list(range(n_leaves, count))
    roots = [int(r) for r in rng.choice(candidates, size=min(n_roots, len(candidates)),
                                         replace=False)]
    roots.sort(key=lambda r: -r if rng.random() < 0.5 else r)
    inputs = [int(i) for i in range(n_leaves) if rng.random() < 0.6]
    if mode in ("grad", "inputs") and rng.random() < 0.4:
        inputs.append(int(rng.choice(candidates)))  # a non-leaf input too
    return {"leaves": leaves, "ops": ops, "roots": roots, "mode": mode,
            "inputs": inputs or [0], "seed": seed}


def build(lib, program):
    """The program's values under ``lib`` and a label for each node: ``{node: label}``
    is kept as a list of (node, label) because torch's Python nodes may not hash alike."""
    values = [lib.tensor(data, requires_grad=requires) for data, requires in program["leaves"]]
    for kind, args in program["ops"]:
        a = values[args[0]]
        if kind in BINARY:
            b = values[args[1]]
            value = {"add": lambda: a + b, "mul": lambda: a * b, "sub": lambda: a - b}[kind]()
        elif kind == "sum":
            value = a.sum()
        else:
            value = getattr(a, kind)()
        values.append(value)
    return values


def root_gradients(lib, program, values):
    rng = np.random.default_rng(program["seed"] + 10_000)
    return [lib.tensor(rng.standard_normal(values[r].shape).astype(np.float32))
            for r in program["roots"]]


def usable(program, values) -> bool:
    return all(values[r].requires_grad for r in program["roots"]) and any(
        values[i].requires_grad for i in program["inputs"])


def labels_of(program, values):
    """Label for each op node (by the step that made it) and each leaf (by index)."""
    n_leaves = len(program["leaves"])
    ops = {}
    for i, v in enumerate(values[n_leaves:], start=n_leaves):
        if v.grad_fn is not None:
            ops[i] = v.grad_fn
    return ops, values[:n_leaves]


# --------------------------------------------------------------------------- torch
def torch_order(torch, program):
    values = build(torch, program)
    if not usable(program, values):
        return None
    ops, leaves = labels_of(program, values)
    log = []
    for i, fn in ops.items():
        fn.register_prehook(lambda grads, i=i, fn=fn: log.append(f"op{i}:{fn.name()}"))
    seen = []
    stack = list(ops.values())
    while stack:  # every AccumulateGrad reachable, once per leaf
        fn = stack.pop()
        for nxt, _ in fn.next_functions:
            if nxt is None:
                continue
            if type(nxt).__name__ == "AccumulateGrad":
                leaf = next(j for j, t in enumerate(leaves) if t is nxt.variable)
                if leaf not in seen:
                    seen.append(leaf)
                    nxt.register_prehook(lambda grads, leaf=leaf: log.append(
                        f"leaf{leaf}:AccumulateGrad"))
    return run_program(torch, program, values, log=log, calls=lambda run: run())


# --------------------------------------------------------------------------- gradstudio
def gradstudio_order(program):
    values = build(gradstudio, program)
    if not usable(program, values):
        return None
    ops, leaves = labels_of(program, values)
    label = {id(fn): f"op{i}" for i, fn in ops.items()}
    label.update({id(t): f"leaf{j}" for j, t in enumerate(leaves)})
    log = []

    def traced(run):
        recorder = Recorder()
        try:
            return run(recorder)
        finally:
            trace = recorder.trace
            for event in trace.events:
                if event.kind == "node_start":
                    node = recorder.node(event.node)
                    key = id(node.variable) if node.op is None else id(node)
                    log.append(f"{label[key]}:{trace.name(event.node)}")
    return run_program(gradstudio, program, values, log=log, calls=traced)


def run_program(lib, program, values, *, log, calls):
    """Differentiate as the program says; returns (node order, gradients)."""
    roots = [values[r] for r in program["roots"]]
    grads = root_gradients(lib, program, values)
    mode = program["mode"]
    is_gs = lib is gradstudio
    results = []

    def backward(retain, inputs=None):
        if is_gs:
            calls(lambda tracer: gs_api._backward(roots, grads, retain, False, inputs,
                                                  tracer=tracer))
        else:
            calls(lambda: lib.autograd.backward(roots, grads, retain_graph=retain, inputs=inputs))
        log.append("|")

    if mode == "grad":
        inputs = [values[i] for i in program["inputs"] if values[i].requires_grad]
        if is_gs:
            def run(tracer):
                made = gs_api._make_grads(roots, grads)
                return run_backward(gs_api._roots(roots), made, retain_graph=False,
                                    create_graph=False, inputs=inputs, accumulate=False,
                                    tracer=tracer)
            out = calls(run)
        else:
            out = calls(lambda: lib.autograd.grad(roots, inputs, grads, allow_unused=True))
        results = [None if g is None else np.asarray(g.detach().numpy()) for g in out]
    else:
        inputs = None
        if mode == "inputs":
            inputs = [values[i] for i in program["inputs"] if values[i].requires_grad]
        backward(retain=(mode == "retain"), inputs=inputs)
        if mode == "retain":
            backward(retain=False)
        kept = values[:len(program["leaves"])] + [t for t in inputs or () if t.grad_fn is not None]
        results = [None if t.grad is None else np.asarray(t.grad.detach().numpy())
                   for t in kept if t.requires_grad]
    return log, results


def _usable_seeds(count: int) -> list:
    """The first ``count`` seeds whose program has something to differentiate."""
    seeds, seed = [], 0
    while len(seeds) < count:
        program = random_program(seed)
        if usable(program, build(gradstudio, program)):
            seeds.append(seed)
        seed += 1
    return seeds


SEEDS = _usable_seeds(GRAPHS)


@pytest.mark.parametrize("seed", SEEDS)
def test_nodes_run_in_torchs_order(torch, seed):
    program = random_program(seed)
    torch_log, torch_grads = torch_order(torch, program)
    order, grads = gradstudio_order(program)
    assert order == torch_log, program
    assert len(grads) == len(torch_grads)
    for g, t in zip(grads, torch_grads):
        assert (g is None) == (t is None)
        if g is not None:  # float32 sums in the same order, but exp/tanh may differ by ulps
            np.testing.assert_allclose(g, t, rtol=1e-4, atol=1e-5 * max(1.0, np.abs(t).max()))


def test_enough_graphs_exercise_what_the_order_depends_on():
    """The programs cover fan-out, several roots, autograd.grad, retain_graph, and
    several AccumulateGrads ready at once."""
    programs = [random_program(seed) for seed in SEEDS]
    modes = [p["mode"] for p in programs]
    assert len(programs) >= 200
    assert modes.count("grad") >= 30 and modes.count("retain") >= 30
    assert modes.count("inputs") >= 30
    assert sum(len(p["roots"]) > 1 for p in programs) >= 30
    fan_out = sum(any(sum(i in args for _, args in p["ops"]) > 1
                      for i in range(len(p["leaves"]) + len(p["ops"]))) for p in programs)
    assert fan_out >= 150
    # two leaves used by one op: their AccumulateGrads become ready together
    together = sum(any(len(args) == 2 and args[0] != args[1] and max(args) < len(p["leaves"])
                       for _, args in p["ops"]) for p in programs)
    assert together >= 50


def _op_order_unobserved(lib, program):
    """The op nodes in the order a plain ``autograd.backward`` (no tracer: the engine's
    unobserved walk) runs them, logged by a pre-hook on each, and the leaves' grads."""
    values = build(lib, program)
    ops, _ = labels_of(program, values)
    log = []
    for i, fn in ops.items():
        fn.register_prehook(lambda grads, i=i: log.append(i))
    roots = [values[r] for r in program["roots"]]
    lib.autograd.backward(roots, root_gradients(lib, program, values))
    leaves = values[:len(program["leaves"])]
    return log, [None if t.grad is None else t.grad.detach().numpy() for t in leaves]


PLAIN_SEEDS = [seed for seed in SEEDS if random_program(seed)["mode"] in ("backward", "several")]


@pytest.mark.parametrize("seed", PLAIN_SEEDS[:60])
def test_a_plain_backward_runs_nodes_in_torchs_order(torch, seed):
    """The unobserved walk takes nodes newest first without a ready queue: the same order
    torch's queue gives (node hooks see it), and the same gradients."""
    program = random_program(seed)
    order, grads = _op_order_unobserved(gradstudio, program)
    torch_order_, torch_grads = _op_order_unobserved(torch, program)
    assert order == torch_order_, program
    for g, t in zip(grads, torch_grads):
        assert (g is None) == (t is None)
        if g is not None:
            np.testing.assert_allclose(g, t, rtol=1e-4, atol=1e-5 * max(1.0, np.abs(t).max()))
