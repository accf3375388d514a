"""What the kernel does for the window, whatever carries the messages.

:class:`KernelService` owns, inside the process that runs the user's code, one
:class:`~gradstudio.studio.session.Session` (or the IPython shell's
:class:`~gradstudio.studio.kernel.extension.ShellSession`) and one warm
:class:`~gradstudio.studio.symbolic.worker.SymbolicWorker`, and turns them into
the window's messages (the typed :class:`~gradstudio.studio.kernel.schema.Message` records,
built by :mod:`gradstudio.studio.kernel.records`):

* :meth:`cell_finished` — a cell ended: ``CellFinished`` with its run, its new
  backward calls with their graphs (big graphs first as ``GraphChunk``
  messages, :func:`~gradstudio.studio.kernel.records.split_graphs`; a loop's calls
  first as one ``GraphStructure`` and ``CallValues``, :mod:`~gradstudio.studio.kernel.shared`),
  the named tensors, and the checks that are quick to make: whole ones for a graph
  derived before, else — asked with ``numbers_first``, as the node editor asks for
  its edits — provisional ones (:meth:`provisional_checks`: engine against finite
  differences, which the window shows at once; the closed form and PyTorch's column
  follow in the call's ``CallChecked``);
* :meth:`check_calls` — ``Deriving``, then one ``CallChecked`` per call
  (derivation in the symbolic worker + three-way comparison; a loop's repeated
  graph is derived only on its last calls, see :mod:`gradstudio.studio.derive_plan`;
  a graph derived before, values and all — a re-run cell —, is not derived again,
  see :mod:`gradstudio.studio.kernel.derivations`),
  cancelled ones marked as such after an interrupt;
* :meth:`handle` — the requests that are not cells, each a dict with a ``type``
  and an ``id``, answered by its messages (the transport adds ``Done(id=…)``):

  * ``check`` — ``calls: [index…]``, ``timeout``, optional ``json: true``: derive and compare
    again (with ``json``, each ``CheckData.json`` filled: ``gradstudio check --json``'s
    entry, which a cell's own checks leave out);
  * ``sweep`` — ``call``, ``vertex`` (a leaf), ``element`` (index), optional ``lo``,
    ``hi``, ``points``, ``timeout``: one ``SweepResult`` with f and ∂f/∂element
    (engine, symbolic, finite differences) over the range (:mod:`gradstudio.studio.sweep`);
  * ``jacobian`` — ``call``, ``leaf`` (index in the call's leaves), optional ``v``: one
    ``JacobianResult`` with J, Jᵀv and backward(gradient=v) (:mod:`gradstudio.studio.jacobian`);
  * ``hessian`` — ``call``, ``vertex``: one ``HessianResult``;
  * ``local_derivatives`` — ``call``, optional ``vertices``: one ``LocalDerivatives``,
    each node's VJP written out from its op's symbolic forward (:mod:`gradstudio.studio.symbolic.local`);
  * ``tensors`` — the named tensors; ``tensor_text`` — ``name``: one tensor's reprs;
  * ``steps`` — ``calls: [index…]``: one ``CallSteps`` each (a node-editor cell's calls come
    with ``steps_on_request``: their step traces wait here until the step-through shows them).

It sends through the ``send`` callable it is given: the IPython extension's comm
(:mod:`~gradstudio.studio.kernel.bridge`), which also runs the cells (IPython's
``execute_request``, the editor's cell index and first line in its metadata).

Interrupt: a KeyboardInterrupt while deriving or sweeping cancels that work (the
symbolic worker is replaced, its pipe is in an unknown state) and sets
:attr:`interrupt_pending`, so the rest of the request is skipped. (IPython's
kernel raises KeyboardInterrupt on SIGINT whenever it executes a cell, and the
bridge makes it do so while it serves a comm request too.)
"""
from __future__ import annotations

import itertools
import os
import traceback
from typing import Callable

from gradstudio.studio.kernel import schema
from gradstudio.studio.kernel.derivations import DerivationCache

DEFAULT_DERIVE_TIMEOUT = 10.0
QUICK_CALLS = 4        # a cell with more calls gets its checks after it (a loop: see derive_plan)
QUICK_NODES = 400      # nor is a big graph's finite-difference check made before the cell ends
CANCELLED = "derivation cancelled (interrupted)"


class KernelService:
    """See the module docstring."""

    def __init__(self, session, send: Callable[[schema.Message], None]):
        self.session = session
        self.send = send
        self.worker = None
        self.derivations = DerivationCache()   # a re-run cell's unchanged graph is not derived again
        self.interrupt_pending = False   # an interrupt arrived: skip the rest of the request
        self._checked_early: set = set()  # calls whose checks went with their CellFinished
        self._provisional: dict = {}      # call index -> {leaf vertex: FiniteDifferences} sent ahead
        self._deferred_calls = None       # the last cell's deferred calls, for check_new_calls
        self._next_structure = itertools.count(1).__next__     # ids of the shared graph structures
        self._kept: dict = {}     # structure key -> id the window keeps from the last cell (kernel.shared)
        self._kept_tensors: dict = {}     # name -> TensorData the window keeps from the last cell ...
        self._tensors_id: int | None = None   # ... under this id
        self._next_tensors = itertools.count(1).__next__

    # -- the symbolic worker -------------------------------------------------------------
    def start_worker(self):
        from gradstudio.studio.symbolic.worker import SymbolicWorker
        if self.worker is None:
            self.worker = SymbolicWorker()
        self.worker.start()

    def warm_up(self):
        """Start what the first check needs, so the first backward call (a design's first
        edit above all) does not pay for it: the symbolic worker (sympy imports in its own
        process) and, in a daemon thread, PyTorch for the fourth column (its import is
        seconds of the first check otherwise) and the modules a check uses. Returns the thread."""
        import threading
        self.start_worker()
        thread = threading.Thread(target=_warm_imports, name="gradstudio-warm-up", daemon=True)
        thread.start()
        return thread

    def drop_worker(self):
        """Kill the symbolic worker (after an interrupted derivation its pipe is
        in an unknown state) and start a fresh one."""
        if self.worker is not None:
            self.worker.close()
            self.worker = None
        self.start_worker()

    def close(self):
        if self.worker is not None:
            self.worker.close()
            self.worker = None

    @property
    def symbolic_pid(self) -> int | None:
        return self.worker.pid if self.worker is not None else None

    def ready(self) -> schema.Ready:
        return schema.Ready(pid=os.getpid(), symbolic_pid=self.symbolic_pid)

    # -- requests ------------------------------------------------------------------------
    def handle(self, request: dict) -> bool:
        """Serve a ``check``, ``sweep``, ``jacobian``, ``hessian``, ``local_derivatives``,
        ``tensors``, ``tensor_text`` or ``steps`` request; False if ``request`` is none of them."""
        handler = {"check": self.check, "sweep": self.sweep, "jacobian": self.jacobian,
                   "hessian": self.hessian, "tensors": self.tensors, "tensor_text": self.tensor_text,
                   "local_derivatives": self.local_derivatives, "steps": self.steps}.get(request.get("type"))
        if handler is None:
            return False
        handler(request)
        return True

    def _call(self, index):
        from gradstudio.studio.kernel import records as kernel_data
        call = next((c for c in self.session.backward_calls if c.index == index), None)
        return call if call is not None and kernel_data.checkable(call) else None

    def tensors(self, request=None):
        from gradstudio.studio.kernel import records as kernel_data
        self.send(schema.Tensors(kernel_data.tensors_data(self.session.named_tensors())))

    def tensor_text(self, request):
        """The reprs of one named tensor (its record had them deferred)."""
        from gradstudio.studio.kernel import records as kernel_data
        name = str(request.get("name"))
        found = next((tensor for n, tensor in self.session.named_tensors().values() if n == name), None)
        if found is None:
            self.send(schema.TensorText(name=name, error=f"no tensor named {name!r} in the kernel"))
            return
        value_text, grad_text = kernel_data.tensor_text(found)
        self.send(schema.TensorText(name=name, value_text=value_text, grad_text=grad_text))

    def steps(self, request):
        """The step traces of the calls ``calls: [index…]`` (their records came with
        ``steps_on_request``): one ``CallSteps`` each, ``steps`` None for a call the kernel
        no longer has (or has no trace of)."""
        from gradstudio.studio.kernel import records as kernel_data
        by_index = {c.index: c for c in self.session.backward_calls}
        for index in request.get("calls", []):
            if type(index) is int:
                call = by_index.get(index)
                self.send(schema.CallSteps(call=index, steps=kernel_data.steps_data(call) if call else None))

    def check(self, request):
        from gradstudio.studio.kernel import records as kernel_data
        timeout = float(request.get("timeout", DEFAULT_DERIVE_TIMEOUT))
        by_index = {c.index: c for c in self.session.backward_calls}
        calls = [by_index[i] for i in request.get("calls", []) if i in by_index]
        if request.get("steps"):      # a deferred call's step trace, which its record came without
            for call in calls:
                self.send(schema.CallSteps(call=call.index, steps=kernel_data.steps_data(call)))
        self.check_calls([c for c in calls if kernel_data.checkable(c)], timeout, json=bool(request.get("json")))

    def sweep(self, request):
        """f and ∂f/∂element along one element of a leaf (see gradstudio.studio.sweep)."""
        from gradstudio.studio.kernel import records as kernel_data
        from gradstudio.studio import sweep
        call = self._call(request["call"])
        if call is None:
            self.send(schema.SweepResult(kernel_data.sweep_data(
                request["call"], error="no such backward call with a recorded graph "
                "(the kernel may have been restarted)")))
            return
        try:
            result = sweep.sweep(call.graph, request["vertex"], request.get("element", 0), call.gradient,
                                 lo=request.get("lo"), hi=request.get("hi"),
                                 points=request.get("points", sweep.DEFAULT_POINTS), worker=self.worker,
                                 timeout=float(request.get("timeout", DEFAULT_DERIVE_TIMEOUT)))
            self.send(schema.SweepResult(kernel_data.sweep_data(call.index, result)))
        except KeyboardInterrupt:
            self.interrupt_pending = True
            self.drop_worker()
            self.send(schema.SweepResult(kernel_data.sweep_data(
                call.index, vertex=request["vertex"], error="sweep cancelled (interrupted)")))
        except ValueError as error:
            self.send(schema.SweepResult(kernel_data.sweep_data(
                call.index, vertex=request["vertex"], error=str(error))))

    def jacobian(self, request):
        """J, Jᵀv and backward(gradient=v) for one leaf of a call (gradstudio.studio.jacobian)."""
        from gradstudio.studio import jacobian
        call = self._call(request["call"])
        if call is None:
            self.send(schema.JacobianResult(call=int(request["call"]), error="no such backward call "
                      "with a recorded graph (the kernel may have been restarted)"))
            return
        try:
            data = jacobian.explain_data(call, int(request.get("leaf", 0)), request.get("v"))
            self.send(schema.JacobianResult(call=call.index, **_jacobian_fields(data)))
        except KeyboardInterrupt:
            self.interrupt_pending = True
            self.send(schema.JacobianResult(call=call.index, error="interrupted"))
        except (ValueError, IndexError) as error:
            self.send(schema.JacobianResult(call=call.index, error=str(error)))

    def local_derivatives(self, request):
        """The step-through's VJP of each node of a call, written out from the ops'
        symbolic forwards (gradstudio.studio.symbolic.local); ``vertices`` limits it."""
        from gradstudio.studio import stepping
        from gradstudio.studio.kernel import records as kernel_data
        from gradstudio.studio.symbolic import local
        index = int(request["call"])
        call = self._call(index)
        steps = stepping.steps_of(call) if call is not None else None
        if call is None or not steps:
            self.send(schema.LocalDerivatives(call=index, error="no such backward call with a "
                      "recorded graph and step trace (the kernel may have been restarted)"))
            return
        try:
            found = local.for_trace(call.graph, steps, request.get("vertices"))
            self.send(schema.LocalDerivatives(call=index, derivatives=kernel_data.local_derivatives_data(found)))
        except KeyboardInterrupt:
            self.interrupt_pending = True
            self.send(schema.LocalDerivatives(call=index, error="interrupted"))

    def hessian(self, request):
        """One leaf's Hessian, matrix form beside autograd.functional.hessian
        (gradstudio.studio.symbolic.hessian_check); ``vertex`` is the leaf's vertex id."""
        from gradstudio.studio.symbolic import hessian_check
        vertex = int(request.get("vertex", -1))
        call = self._call(request["call"])
        if call is None or not any(leaf.vertex == vertex for leaf in call.leaves):
            self.send(schema.HessianResult(call=int(request["call"]), vertex=vertex, error="no such leaf of a "
                      "backward call with a recorded graph (the kernel may have been restarted)"))
            return
        try:
            data = hessian_check.explain(call.graph, call.gradient, vertex)
            self.send(schema.HessianResult(call=call.index, vertex=vertex, **data))
        except KeyboardInterrupt:
            self.interrupt_pending = True
            self.send(schema.HessianResult(call=call.index, vertex=vertex, error="interrupted"))
        except Exception as error:  # a replay the engine refuses: said in the dialog, not a kernel error
            self.send(schema.HessianResult(call=call.index, vertex=vertex,
                                           error=f"{type(error).__name__}: {error}"))

    # -- a cell's results ------------------------------------------------------------------
    def forget_structures(self):
        """The window has no structure or named tensor of an earlier cell (its comm is new)."""
        self._kept, self._kept_tensors, self._tensors_id = {}, {}, None

    def cell_finished(self, run, first_line, early_timeout=None, *, reuse: bool = False, kept=None,
                      kept_tensors: int | None = None, numbers_first: bool = False):
        """``CellFinished`` for ``run``, always: if describing its results fails (a
        bug of ours, or no memory left for a record), the cell still ends, with its
        own output and the internal error's message in the console, so neither this
        cell nor the next one is left without output.

        With ``early_timeout`` (the derivation time limit the checks will have), the
        checks that are quick to make — :meth:`quick_checks` — ride in it, and
        :meth:`check_new_calls` leaves those calls out: the window takes a re-run cell's
        calls and their checks in one go instead of building its panels twice.

        ``reuse``: the window keeps the last cell's graph structures
        (:class:`gradstudio.studio.kernel.shared.Kept`): a call alike in all but its values
        to one of the last cell's comes as values only, and the named tensors' values
        that its vertices hold travel once (a node editor's value edit). ``kept``, when
        given, are the structure ids the window says it has: no other is named (a
        window that lost one gets the whole graph again, and both sides agree anew). Likewise
        the named tensors: ``kept_tensors`` is the ``tensors_id`` of the records the window says
        it keeps; a record that is its kept one but for ``value_from`` goes as a name and a
        reference (:func:`~gradstudio.studio.kernel.shared.share_tensors`).

        ``numbers_first`` (with ``early_timeout``): when the checks cannot ride in it whole,
        their provisional part does (:meth:`provisional_checks`), and the derivation, sent
        ahead, goes on in the worker meanwhile; the calls' step traces stay here until the
        window asks for one (``steps_on_request``, :meth:`steps`: writing one out and reading
        it is ~10 ms of a 100-node design's edit, and the step-through shows few of them)."""
        from gradstudio.studio.kernel import records as kernel_data
        from gradstudio.studio.kernel.shared import share, share_tensors, tensor_refs
        self._checked_early, self._deferred_calls, self._provisional = set(), None, {}
        try:
            # (grouping a cell's calls by structure costs ~0.1 ms a call: once per cell)
            deferred = self._deferred_calls = _deferred(run)
            # the worker derives while the records are made and sent (numbers first: after the first
            # reply, which pickling the graph for it would hold up, as its sympy would take a core)
            prefetch = early_timeout is not None
            if prefetch and not numbers_first:
                self._prefetch(run, deferred, early_timeout)
            # a loop's calls: their graph structure once, then their values (kernel.shared)
            known = None
            if reuse:
                known = self._kept if kept is None else {k: i for k, i in self._kept.items() if i in kept}
            steps = not numbers_first      # (else the step traces wait for a ``steps`` request)
            plan = share(run.backward_calls, deferred, self._next_structure, known, steps=steps)
            structures, shared = plan.messages, plan.shared
            data = [kernel_data.call_data(c, _hint(c), deferred=c.index in deferred, structure=plan.ids.get(c.index),
                                          steps=steps)
                    for c in run.backward_calls if c.index not in shared]
            tensors = kernel_data.tensors_data(self.session.named_tensors(),
                                               refs=tensor_refs(plan.keyed) if reuse else None)
            window_has = self._kept_tensors if reuse and kept_tensors == self._tensors_id else None
            sent_tensors, same_tensors = share_tensors(tensors, window_has)
        except Exception as error:  # incl. MemoryError: report it in the cell, keep serving
            details = traceback.format_exc()
            message = (f"Internal error in the kernel while describing this cell's results: "
                       f"{type(error).__name__}: {error}")
            finished = kernel_data.run_data(run, first_line)
            finished = finished.replace(
                outputs=[*finished.outputs, schema.OutputData("error", message + "\n")],
                ok=False, error=message, error_type="InternalError",
                internal_error=kernel_data.cut_text(details, 20_000))
            self._kept, self._kept_tensors, self._tensors_id = {}, {}, None    # (the window keeps none)
            self.send(schema.CellFinished(run=finished, calls=[], tensors=None))
            return
        calls, chunks = kernel_data.split_graphs(data)   # big graphs go first, in pieces
        checks = self.quick_checks(run, early_timeout, deferred) if early_timeout is not None else []
        if not checks and numbers_first and early_timeout is not None:
            checks = self.provisional_checks(run, deferred)
        for message in structures:
            self.send(message)
        for index, nodes in chunks:
            self.send(schema.GraphChunk(call=index, nodes=nodes))
        tensors_id = self._next_tensors() if reuse else None
        self.send(schema.CellFinished(run=kernel_data.run_data(run, first_line), calls=calls, tensors=sent_tensors,
                                      checks=checks, shared=sorted(shared), tensors_id=tensors_id,
                                      kept_tensors=same_tensors))
        self._kept = plan.kept if reuse else {}
        self._kept_tensors, self._tensors_id = ({t.name: t for t in tensors}, tensors_id) if reuse else ({}, None)
        if prefetch and numbers_first:
            self._prefetch(run, deferred, early_timeout)

    def _prefetch(self, run, deferred: set, timeout: float):
        """Start the first derivation :meth:`check_new_calls` will make (see
        :meth:`DerivationCache.prefetch`)."""
        from gradstudio.studio import derive_plan
        from gradstudio.studio.kernel import records as kernel_data
        pending = [c for c in run.backward_calls if kernel_data.checkable(c) and c.index not in deferred]
        if not pending or self.worker is None or self.interrupt_pending:
            return
        skipped = derive_plan.plan(pending)[1]
        first = next((c for c in pending if c.index not in skipped), None)
        if first is None:
            return
        try:
            self.derivations.prefetch(self.worker, first.graph, first.gradient,
                                      [leaf.vertex for leaf in first.leaves], timeout)
        except Exception:  # a head start only: the derivation itself reports what went wrong
            pass

    def quick_checks(self, run, timeout, deferred: set | None = None) -> list:
        """The checks of ``run``'s calls that cost no derivation: a cell of at most
        :data:`QUICK_CALLS` calls, each small (:data:`QUICK_NODES`) and derived before
        (:class:`~gradstudio.studio.kernel.derivations.DerivationCache`). All or none, so
        the window never has half a cell checked; never after an interrupt. Calls a later
        call of the same structure stands for are left for the window to ask about."""
        from gradstudio.studio import derive_plan
        deferred = _deferred(run) if deferred is None else deferred
        pending = self._quick_calls(run, deferred)
        if not pending:
            return []
        skipped = derive_plan.plan(pending)[1]          # as check_calls would skip them
        if not all(self.derivations.knows(c.graph, c.gradient, [leaf.vertex for leaf in c.leaves])
                   for c in pending if c.index not in skipped):
            return []
        checks = [self._check_one(call, timeout, skipped) for call in pending]
        if self.interrupt_pending:          # interrupted meanwhile: the usual messages say so
            return []
        self._checked_early = {call.index for call in pending}
        return checks

    def _quick_calls(self, run, deferred: set) -> list:
        """The calls of ``run`` to check that are few and small enough to check before the
        cell ends (:data:`QUICK_CALLS`, :data:`QUICK_NODES`); none after an interrupt."""
        from gradstudio.studio.kernel import records as kernel_data
        pending = [c for c in run.backward_calls if kernel_data.checkable(c) and c.index not in deferred]
        if not pending or len(pending) > QUICK_CALLS or self.interrupt_pending \
                or any(len(c.graph.nodes) > QUICK_NODES for c in pending):
            return []
        return pending

    def provisional_checks(self, run, deferred: set | None = None) -> list:
        """The provisional checks of ``run``'s calls (engine against finite differences,
        :func:`gradstudio.studio.compare.check_call` with ``provisional``) for its
        ``CellFinished``, under :meth:`quick_checks`' conditions, all or none. Their finite
        differences are kept for the calls' full checks (:meth:`check_new_calls`), which
        reuse them when the closed form covers every element."""
        from gradstudio.studio import compare
        from gradstudio.studio.kernel import records as kernel_data
        deferred = _deferred(run) if deferred is None else deferred
        checks = []
        try:
            for call in self._quick_calls(run, deferred):
                check = compare.check_call(call, provisional=True)
                self._provisional[call.index] = {leaf.vertex: leaf.finite for leaf in check.leaves
                                                 if leaf.finite is not None}
                checks.append(kernel_data.check_data(check))
        except KeyboardInterrupt:
            self.interrupt_pending = True
        if self.interrupt_pending:          # the full checks say it (cancelled)
            self._provisional = {}
            return []
        return checks

    def check_new_calls(self, run, timeout):
        """Check the backward calls ``run`` made that have a graph, but those whose
        checks went with the cell (see :meth:`cell_finished`) and those a later call of
        the same structure stands for (:func:`derive_plan.deferred`: checked when the
        window asks); ``timeout`` None means numbers only (no derivation)."""
        from gradstudio.studio.kernel import records as kernel_data
        early, self._checked_early = self._checked_early, set()
        deferred, self._deferred_calls = self._deferred_calls, None
        if deferred is None:                # (describing the cell failed before it was worked out)
            deferred = _deferred(run)
        pending = [c for c in run.backward_calls
                   if kernel_data.checkable(c) and c.index not in early and c.index not in deferred]
        if pending:
            self.check_calls(pending, timeout)

    def check_calls(self, calls, timeout, *, json: bool = False):
        """Derive and compare each call; ``timeout`` None means numbers only; ``json``: with
        each check's ``json`` (see :func:`~gradstudio.studio.kernel.records.check_data`)."""
        from gradstudio.studio import derive_plan
        from gradstudio.studio.kernel import records as kernel_data
        skipped = derive_plan.plan(calls)[1] if timeout is not None else {}
        for position, call in enumerate(calls):
            if self.interrupt_pending:
                for rest in calls[position:]:
                    self.send(schema.CallChecked(kernel_data.cancelled_check_data(rest, CANCELLED)))
                return
            self.send(schema.CallChecked(self._check_one(call, timeout, skipped, announce=True, json=json)))

    def _check_one(self, call, timeout, skipped: dict, announce: bool = False,
                   json: bool = False) -> schema.CheckData:
        """One call derived (``Deriving`` first when ``announce``) and compared; cancelled
        (and :attr:`interrupt_pending` set) by an interrupt."""
        from gradstudio.studio import compare, derive_plan
        from gradstudio.studio.kernel import records as kernel_data
        try:
            formulas, note = {}, None
            if call.index in skipped:   # a loop's repeated graph: formulas on its last calls
                note = derive_plan.skipped_note(skipped[call.index])
            elif timeout is not None:
                if announce:
                    self.send(schema.Deriving(call=call.index, leaves=[leaf.name for leaf in call.leaves]))
                formulas = self.derivations.derive(self.worker, call.graph, call.gradient,
                                                   [leaf.vertex for leaf in call.leaves], timeout)
            check = derive_plan.noted(compare.check_call(call, formulas, symbolic_error=note,
                                                         torch_gradients=_torch_gradients(call),
                                                         finite=self._provisional.pop(call.index, None)), note)
            return kernel_data.check_data(check, json=json)
        except KeyboardInterrupt:
            self.interrupt_pending = True
            self.drop_worker()
            return kernel_data.cancelled_check_data(call, CANCELLED)


def _warm_imports():
    """The imports of a check, done ahead (see :meth:`KernelService.warm_up`)."""
    import importlib
    for name in ("gradstudio.studio.compare", "gradstudio.studio.derive_plan", "gradstudio.studio.hints",
                 "gradstudio.studio.element_objective", "gradstudio.studio.kernel.records"):
        importlib.import_module(name)
    from gradstudio.studio import oracle
    if not os.environ.get("GRADSTUDIO_NO_TORCH") and oracle.available():
        try:
            oracle._torch()
        except Exception:  # a broken torch: the check says so when it needs it
            pass


def _jacobian_fields(data: dict) -> dict:
    """explain_data's answer as JacobianResult's fields (numbers as numbers, arrays as arrays)."""
    import numpy as np

    def arr(value):
        return None if value is None else np.asarray(value)
    return dict(leaf=data["leaf"], leaves=[name or "" for name in data["leaves"]], m=int(data["m"]), n=int(data["n"]),
                root_shape=tuple(data["root_shape"]), leaf_shape=tuple(data["leaf_shape"]),
                jacobian=arr(data["jacobian"]), v=arr(data["v"]), jtv=arr(data["jtv"]),
                engine=arr(data["engine"]), call_engine=arr(data["call_engine"]), agree=bool(data["agree"]),
                structure=data["structure"], note=data["note"],
                symbolic=_matrix_form(data.get("symbolic")), hessian=arr(data.get("hessian")),
                hessian_symbolic=_matrix_form(data.get("hessian_symbolic")), hessian_note=data.get("hessian_note"))


def _matrix_form(form):
    import numpy as np
    if form is None:
        return None
    values = form.get("values")
    return schema.MatrixFormData(text=form.get("text"), values=None if values is None else np.asarray(values),
                                 agree=form.get("agree"), note=form.get("note"))


def _torch_gradients(call) -> dict:
    """PyTorch's gradients for the call's leaves, when torch is installed (and not
    switched off with GRADSTUDIO_NO_TORCH=1); importing it the first time takes a
    second or two, once per kernel."""
    from gradstudio.studio import oracle
    if os.environ.get("GRADSTUDIO_NO_TORCH") or not oracle.available() or call.graph is None:
        return {}
    try:
        return oracle.torch_gradients(call.graph, call.gradient, [leaf.vertex for leaf in call.leaves])
    except Exception:  # a replay torch refuses (a dtype it lacks…): no fourth column, no failure
        return {}


def _deferred(run) -> set:
    """The calls of ``run`` checked only on request (see derive_plan.deferred)."""
    from gradstudio.studio import derive_plan
    from gradstudio.studio.kernel import records as kernel_data
    return derive_plan.deferred([c for c in run.backward_calls if kernel_data.checkable(c)])


def _hint(call):
    from gradstudio.studio.hints import hint_for
    return hint_for(call.error) if call.error else None
