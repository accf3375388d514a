"""The kernel's derivation cache: a re-run cell's unchanged graph is not derived again,
and a hit is exactly what a fresh derivation gives; any change misses."""
from __future__ import annotations

import time

import numpy as np

from gradstudio.studio import symbolic
from gradstudio.studio.kernel.derivations import DerivationCache
from gradstudio.studio.kernel.service import KernelService
from gradstudio.studio.session import Session

TUTORIAL = ("import torch\nx = torch.ones(2, 2, requires_grad=True)\ny = x * x * 3\n"
            "z = y.mean()\nz.backward()\n")


class InProcessWorker:
    """The symbolic worker's derive, run here (the same derive_call), counting its jobs."""

    def __init__(self, note=None):
        self.jobs = 0
        self.note = note

    def derive(self, graph, gradient, leaf_ids, timeout):
        self.jobs += 1
        formulas = symbolic.derive_call(graph, gradient, list(leaf_ids))
        if self.note:
            for formula in formulas.values():
                formula.note = self.note
        return formulas


def call_of(source: str):
    session = Session("<test>")
    run = session.run_cell(source)
    assert run.ok, run.error
    (call,) = session.backward_calls
    return call


def derive(cache, worker, call):
    return cache.derive(worker, call.graph, call.gradient, [leaf.vertex for leaf in call.leaves], 10.0)


def fields(formulas: dict) -> dict:
    return {vertex: (f.kind, f.formula, f.simplified, f.latex, f.chain_latex, f.element_symbol,
                     list(f.symbols), None if f.values is None else np.asarray(f.values).tolist(), f.note)
            for vertex, f in formulas.items()}


def test_a_rerun_of_the_same_cell_is_a_hit_with_the_fresh_derivation_s_answer():
    cache, worker = DerivationCache(), InProcessWorker()
    first = derive(cache, worker, call_of(TUTORIAL))
    again = derive(cache, worker, call_of(TUTORIAL))      # a new session: new objects, same graph
    assert worker.jobs == 1 and (cache.hits, cache.misses) == (1, 1)
    assert fields(again) == fields(first)
    fresh = InProcessWorker().derive(call_of(TUTORIAL).graph, call_of(TUTORIAL).gradient,
                                     list(first), 10.0)
    assert fields(again) == fields(fresh)
    (formula,) = again.values()
    assert formula.simplified is not None and np.allclose(formula.values, 1.5)


def test_a_hit_is_a_copy_the_comparison_may_annotate():
    cache, worker = DerivationCache(), InProcessWorker()
    call = call_of(TUTORIAL)
    (formula,) = derive(cache, worker, call).values()
    formula.note = "changed by the caller"
    (again,) = derive(cache, worker, call).values()
    assert again.note is None and again is not formula


def test_changed_values_names_or_ops_miss():
    cache, worker = DerivationCache(), InProcessWorker()
    derive(cache, worker, call_of(TUTORIAL))
    changed = {
        "values": TUTORIAL.replace("torch.ones(2, 2,", "torch.full((2, 2), 2.0,"),
        "a name": TUTORIAL.replace("x", "w"),
        "an op": TUTORIAL.replace("x * x * 3", "x * x * x"),
        "a shape": TUTORIAL.replace("torch.ones(2, 2,", "torch.ones(3,"),
    }
    for what, source in changed.items():
        jobs = worker.jobs
        formulas = derive(cache, worker, call_of(source))
        assert worker.jobs == jobs + 1, f"changing {what} must derive again"
    # the new values' answer is the new one, not the cached one
    (formula,) = derive(cache, worker, call_of(changed["values"])).values()
    assert np.allclose(formula.values, 3.0)
    assert cache.hits == 1


def test_answers_cut_short_are_not_kept():
    cache = DerivationCache()
    worker = InProcessWorker(note="symbolic derivation timed out after 0.1 s; the numbers are still compared")
    call = call_of(TUTORIAL)
    derive(cache, worker, call)
    derive(cache, worker, call)
    assert worker.jobs == 2 and len(cache) == 0


def test_the_cache_keeps_only_the_latest_answers():
    cache, worker = DerivationCache(keep=2), InProcessWorker()
    sources = [TUTORIAL.replace("* 3", f"* {k}") for k in (2, 3, 4)]
    for source in sources:
        derive(cache, worker, call_of(source))
    assert len(cache) == 2
    derive(cache, worker, call_of(sources[0]))           # the oldest was dropped
    assert worker.jobs == 4


def test_the_kernel_service_checks_a_rerun_without_a_second_derivation(monkeypatch):
    monkeypatch.setenv("GRADSTUDIO_NO_TORCH", "1")       # the torch column is not what this is about
    sent = []
    session = Session("<test>")
    service = KernelService(session, sent.append)
    service.worker = worker = InProcessWorker()
    for _ in range(2):
        run = session.run_cell(TUTORIAL)
        service.check_new_calls(run, 10.0)
    checks = [m.check for m in sent if type(m).__name__ == "CallChecked"]
    assert worker.jobs == 1 and len(checks) == 2
    first, second = checks
    assert first.index != second.index
    assert [(l.formula, l.simplified, l.latex, l.agree, l.symbolic.tolist()) for l in first.leaves] == \
        [(l.formula, l.simplified, l.latex, l.agree, l.symbolic.tolist()) for l in second.leaves]
    assert second.agree and second.leaves[0].simplified


def test_a_rerun_cell_s_check_rides_in_its_cell_finished(monkeypatch):
    monkeypatch.setenv("GRADSTUDIO_NO_TORCH", "1")
    sent = []
    session = Session("<test>")
    service = KernelService(session, sent.append)
    service.worker = worker = InProcessWorker()

    def run_cell(source=TUTORIAL):
        sent.clear()
        run = session.run_cell(source)
        service.cell_finished(run, 1, early_timeout=10.0)
        service.check_new_calls(run, 10.0)
        return [type(m).__name__ for m in sent], next(m for m in sent if type(m).__name__ == "CellFinished")

    kinds, finished = run_cell()                 # first time: derived after the cell, as ever
    assert finished.checks == [] and kinds == ["CellFinished", "Deriving", "CallChecked"]
    first = sent[-1].check
    kinds, finished = run_cell()                 # again: the check goes with the calls
    assert kinds == ["CellFinished"] and worker.jobs == 1
    (check,) = finished.checks
    (call,) = finished.calls
    assert check.index == call.index != first.index
    assert [(l.simplified, l.agree) for l in check.leaves] == [(l.simplified, l.agree) for l in first.leaves]
    # numbers only (derive off): nothing rides with the cell, the check follows it
    sent.clear()
    run = session.run_cell(TUTORIAL)
    service.cell_finished(run, 1, early_timeout=None)
    service.check_new_calls(run, None)
    assert [type(m).__name__ for m in sent] == ["CellFinished", "CallChecked"] and sent[0].checks == []


def test_a_cell_with_many_calls_or_a_new_graph_is_checked_after_it(monkeypatch):
    monkeypatch.setenv("GRADSTUDIO_NO_TORCH", "1")
    from gradstudio.studio.kernel import service as service_module
    sent = []
    session = Session("<test>")
    service = KernelService(session, sent.append)
    service.worker = InProcessWorker()
    # more calls of different graphs than ride with a cell: all checked after it
    ops = ["w * w", "w + w", "w.exp()", "w.sin()", "w.cos()", "w.tanh()", "w.sigmoid()"]
    assert len(ops) > service_module.QUICK_CALLS
    cell = "import torch\nw = torch.ones(2, requires_grad=True)\n" + "".join(
        f"({op}).sum().backward()\n" for op in ops)

    def run_twice(text):
        """The cell run twice (the second run's graphs derived before); its run and CellFinished."""
        for _ in range(2):
            sent.clear()
            run = session.run_cell(text)
            service.cell_finished(run, 1, early_timeout=10.0)
            service.check_new_calls(run, 10.0)
        return run, next(m for m in sent if type(m).__name__ == "CellFinished")

    run, finished = run_twice(cell)
    assert finished.checks == []
    assert sum(type(m).__name__ == "CallChecked" for m in sent) == len(ops)
    # a loop of one graph is its last call, checked (and, derived before, riding with the cell)
    run, finished = run_twice("for _ in range(9):\n    (w * w).sum().backward()\n")
    assert [check.index for check in finished.checks] == [run.backward_calls[-1].index]
    assert not any(type(m).__name__ == "CallChecked" for m in sent)
    sent.clear()
    run = session.run_cell(TUTORIAL.replace("* 3", "* 5"))     # never derived: after the cell
    service.cell_finished(run, 1, early_timeout=10.0)
    service.check_new_calls(run, 10.0)
    assert sent[0].checks == [] and [type(m).__name__ for m in sent][-1] == "CallChecked"


class PrefetchingWorker(InProcessWorker):
    """An in-process worker that also takes jobs ahead (``submit_derive``), logging when."""

    def __init__(self, log):
        super().__init__()
        self.log = log

    def submit_derive(self, graph, gradient, leaf_ids, timeout):
        self.log.append("submitted")
        worker = self

        class Pending:
            def result(self):
                worker.log.append("collected")
                return worker.derive(graph, gradient, leaf_ids, timeout)
        Pending.worker, Pending.timeout = self, timeout
        return Pending()


def test_a_new_graph_is_sent_to_the_worker_before_its_cell_s_records(monkeypatch):
    monkeypatch.setenv("GRADSTUDIO_NO_TORCH", "1")
    log = []
    session = Session("<test>")
    service = KernelService(session, lambda m: log.append(type(m).__name__))
    service.worker = worker = PrefetchingWorker(log)
    for source in (TUTORIAL, TUTORIAL.replace("torch.ones(2, 2,", "torch.full((2, 2), 2.0,")):
        log.clear()
        run = session.run_cell(source)
        service.cell_finished(run, 1, early_timeout=10.0)
        service.check_new_calls(run, 10.0)
        # the worker derives while the kernel writes and sends the records; one job, collected
        assert log == ["submitted", "CellFinished", "Deriving", "collected", "CallChecked"]
    assert worker.jobs == 2
    # the second cell's values (x = 2): the check shows its own numbers, not the first cell's
    last = session.backward_calls[-1]
    assert np.allclose(last.leaves[0].grad, 3.0)
    log.clear()
    run = session.run_cell(TUTORIAL)                     # derived before: nothing sent ahead
    service.cell_finished(run, 1, early_timeout=10.0)
    service.check_new_calls(run, 10.0)
    assert log == ["CellFinished"] and worker.jobs == 2


def test_a_prefetched_derivation_is_the_one_derive_would_make():
    from gradstudio.studio.symbolic.worker import SymbolicWorker
    first, second = call_of(TUTORIAL), call_of(TUTORIAL.replace("torch.ones(2, 2,", "torch.full((2, 2), 2.0,"))
    with SymbolicWorker() as worker:
        cache = DerivationCache()
        assert not cache.prefetch(worker, first.graph, first.gradient, [first.leaves[0].vertex], 30.0)  # starting
        assert worker._wait_ready(time.monotonic() + 60)
        assert cache.prefetch(worker, first.graph, first.gradient, [first.leaves[0].vertex], 30.0)
        assert worker._connection.poll(60)                  # its answer is in the pipe, not collected
        expected = worker.derive(second.graph, second.gradient, [second.leaves[0].vertex], 30.0)  # asked between
        assert np.allclose(expected[second.leaves[0].vertex].values, 3.0)          # its own answer
        # the prefetched answer was dropped to serve that request (not taken for its answer):
        # derived again when asked for, still right
        got = derive(cache, worker, first)
        assert fields(got) == fields(InProcessWorker().derive(first.graph, first.gradient,
                                                              [first.leaves[0].vertex], 10.0))
        assert cache.prefetch(worker, second.graph, second.gradient, [second.leaves[0].vertex], 30.0)
        assert fields(derive(cache, worker, second)) == fields(expected)            # collected
        assert not cache.prefetch(worker, second.graph, second.gradient, [second.leaves[0].vertex], 30.0)


def test_a_cell_s_call_is_keyed_once(monkeypatch):
    # the key hashes every value of the graph: prefetch, quick check and derivation share it
    monkeypatch.setenv("GRADSTUDIO_NO_TORCH", "1")
    from gradstudio.studio.kernel import derivations
    keyed = []
    original = derivations.key
    monkeypatch.setattr(derivations, "key", lambda *a: keyed.append(1) or original(*a))
    session = Session("<test>")
    service = KernelService(session, lambda m: None)
    service.worker = PrefetchingWorker([])
    for source in (TUTORIAL, TUTORIAL, TUTORIAL.replace("* 3", "* 4")):
        keyed.clear()
        run = session.run_cell(source)
        service.cell_finished(run, 1, early_timeout=10.0)
        service.check_new_calls(run, 10.0)
        assert keyed == [1]
    assert service.worker.jobs == 2


def test_the_worker_is_sent_the_graph_without_the_engine_s_gradients():
    from gradstudio.studio.symbolic import worker as worker_module
    call = call_of(TUTORIAL)
    assert any(vertex.grad is not None for vertex in call.graph.nodes)
    sent = worker_module._for_derivation(call.graph)
    assert all(vertex.grad is None for vertex in sent.nodes)
    assert [(v.id, v.kind, v.name, v.inputs) for v in sent.nodes] == [(v.id, v.kind, v.name, v.inputs)
                                                                       for v in call.graph.nodes]
    assert all(np.array_equal(a.value, b.value) for a, b in zip(sent.nodes, call.graph.nodes))
    assert any(vertex.grad is not None for vertex in call.graph.nodes)      # the call's own graph keeps them
    assert fields(InProcessWorker().derive(sent, call.gradient, [0], 10.0)) == \
        fields(InProcessWorker().derive(call.graph, call.gradient, [0], 10.0))


def test_a_derivation_asked_with_another_time_limit_is_not_the_prefetched_one():
    log = []
    worker, cache, call = PrefetchingWorker(log), DerivationCache(), call_of(TUTORIAL)
    leaves = [leaf.vertex for leaf in call.leaves]
    assert cache.prefetch(worker, call.graph, call.gradient, leaves, 10.0)
    (formula,) = cache.derive(worker, call.graph, call.gradient, leaves, 60.0).values()   # "derive again, longer"
    assert log == ["submitted"] and worker.jobs == 1 and formula.simplified
