"""An edit in the node editor, end to end: kernel time and GUI-thread time.

Builds a 100-node design on tensors of 1,000 elements (a (10, 100) leaf that
requires grad, a scalar constant, a chain of tanh / sigmoid / mul / add with
fan-in from earlier nodes, a mean, the output), then makes N edits (the
constant's value typed anew, so every run is a new script) and times each one
the way the window runs it (closely: see ``--ipython``):

* GUI thread, before: ``results.live_script`` (one compile of the design: the script
  ``LiveEvaluator`` sends through ``Runner.run_design``, and its local NaN/inf diagnosis);
* kernel: the service code the kernel runs for a design's cell, called
  directly — ``Session.run_cell`` (forward and backward, the graph recorded),
  ``KernelService.cell_finished`` (the records: CellFinished with the call and
  its graph — or, a value edit, its values only: the window keeps the last cell's graph
  structure —, and the named tensors with their reprs) and
  ``KernelService.check_new_calls`` (the symbolic derivation in the warm
  symbolic worker process — timed apart —, finite differences, the comparison:
  CallChecked) — the kernel's wall clock (it waits for its worker) and its own
  CPU;
* GUI thread, after: decoding the messages (``codec``), putting the call and the named
  tensors together as the window's client does (``shared.calls_of`` with the last cell's
  structures kept, ``shared.fill_tensor_values``), reading the run back
  onto the nodes (``results.node_results``) and showing it on the canvas
  (``DesignScene.show_results``).

``--edit wire`` makes each edit structural instead (the last add node's second input
rewired to another earlier node: a new graph each time). ``--ipython`` runs each
cell as the window's kernel does — an in-process IPython shell with ``%load_ext
gradstudio``, its bridge's records path, step traces on — where the default calls
``Session.run_cell`` and the service directly and leaves IPython's own work
(tokenizing, compiling per statement, history) and the step trace out.

The kernel's share is broken down by stage (each stage timed where it is called,
medians over the edits): the records (graph and named tensors), their encoding,
the derivation (``derive: sent ahead`` is its start, before the records are made;
``derive (worker)`` the wait for its answer when the check needs it), the torch
replay, finite differences; ``--profile N``
adds cProfile's top N functions of the kernel's work. The first edit is reported
apart with the same breakdown: it follows ``KernelService.warm_up`` (what the kernel
does when it loads the extension: the symbolic worker, PyTorch imported in a
thread) unless ``--cold``.

"Back in the window" (issue 13's target: forward + backward + compare back in < 50 ms)
is the time from the moment the edit's script is handed to the kernel (after the GUI
wrote it: "script (GUI)") until the kernel has handed to the comm the reply the window
draws from — the cell's ``CellFinished``, which carries the run, the call (values and
gradients on every node) and its provisional check (engine, finite differences, ✓/✗:
what Compare shows first; the editor asks for it with ``numbers_first``). It is printed
on the wall clock and on the kernel's clock (the kernel thread's CPU time over the same
span, which other work on the machine does not stretch), median and quartiles. Not in
it: the comm's transport (a zmq IPC socket on the same machine, in the app) and the
window's decoding and drawing ("apply (GUI)"). The whole check (closed form, PyTorch's
column) follows in a ``CallChecked``: "last record" is the time until it was handed over.

``--jupyter`` measures it end to end instead: the app's kernel process (ipykernel with the
extension, :class:`~gradstudio.studio.kernel.jupyter.JupyterKernel`), a comm opened as the
window opens it, each edit an ``execute_request`` with the editor's metadata; "back in the
window" is then the wall time from sending the request until the ``CellFinished`` comm
message has been read off the IOPub socket and decoded, transport included, and the
kernel's clock its process CPU time per edit, all threads and all of its work for the
edit (``/proc``, 10 ms ticks: a mean over the edits), and the same until the first reply was read
(which includes what the kernel went on to do before the window had read it).

    QT_QPA_PLATFORM=offscreen python benchmarks/editor_edit.py [--edits 20] [--nodes 100] [--profile 25] [--cold]
                                                               [--edit value|wire] [--ipython] [--whole-first]
                                                               [--jupyter]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

CHAIN = ["elementwise.TANH", "elementwise.SIGMOID", "elementwise.MUL", "elementwise.ADD"]


def edit_design(nodes: int = 100):
    """The design and the id of the constant each edit retypes."""
    from gradstudio.studio.design import Design
    d = Design()
    with d.batch():
        x = d.add_node("leaf", name="x", value="rand(10, 100, seed=0)", requires_grad=True, position=(0, 0))
        c = d.add_node("const", name="c", value="0.5", position=(0, 120))
        ids = [x]
        while len(ids) + 3 < nodes:          # + c, mean, output
            i = len(ids)
            op = CHAIN[i % len(CHAIN)]
            node = d.add_node("op", op=op, position=(200.0 * (i // 10 + 1), 110.0 * (i % 10)))
            d.connect(ids[-1], node, 0)
            if op == "elementwise.MUL":
                d.connect(c, node, 1)
            elif op == "elementwise.ADD":
                d.connect(ids[max(0, i - 7)], node, 1)
            ids.append(node)
        mean = d.add_node("op", op="reduction.MEAN", position=(200.0 * (len(ids) // 10 + 2), 0))
        d.connect(ids[-1], mean, 0)
        out = d.add_node("output", position=(200.0 * (len(ids) // 10 + 3), 0))
        d.connect(mean, out, 0)
    assert not d.errors, d.errors
    return d, c


def rewire(design, edit: int):
    """A structural edit: the last add node's second input comes from another earlier node
    (a new graph every time, the same number of nodes)."""
    order = [n for n in design.nodes if design.nodes[n].kind == "op"]
    adds = [n for n in order if design.nodes[n].op == "elementwise.ADD"]
    last = adds[-1]
    earlier = order[:order.index(last) - 1]
    design.connect(earlier[-2 - 3 * edit % len(earlier)], last, 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=10.0, help="the derivation's time limit (s)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="print cProfile's top N functions of the kernel's work over the edits")
    parser.add_argument("--cold", action="store_true", help="no warm-up before the first edit")
    parser.add_argument("--edit", choices=("value", "wire"), default="value",
                        help="value: retype the constant (the default); wire: a structural edit, the "
                             "last add node's second input wired to another earlier node each time")
    parser.add_argument("--ipython", action="store_true",
                        help="run each edit's cell as the window's kernel does: an IPython shell with the "
                             "extension, its bridge's records path and step traces (the default calls "
                             "Session.run_cell and the service directly, without IPython's own work)")
    parser.add_argument("--whole-first", action="store_true",
                        help="the cell's records without the provisional check (as before numbers_first): "
                             "the first reply the window draws from is then the whole CallChecked")
    parser.add_argument("--jupyter", action="store_true",
                        help="end to end through the app's kernel process (see the module docstring)")
    args = parser.parse_args(argv)
    if args.jupyter:
        return _jupyter(args)

    from PySide6.QtWidgets import QApplication
    import gradstudio.ui  # noqa: F401  (PySide6 work-arounds first)
    from gradstudio.studio.kernel import codec, schema, shared
    from gradstudio.studio.kernel.service import KernelService
    from gradstudio.studio.session import Session
    from gradstudio.ui.editor import results
    from gradstudio.ui.editor.document import EditorDocument
    from gradstudio.ui.editor.scene import DesignScene, NodeResult

    load = os.getloadavg()[0]          # other work on the machine slows every figure
    app = QApplication.instance() or QApplication([])  # noqa: F841
    design, constant = edit_design(args.nodes)
    scene = DesignScene(EditorDocument(design))
    sent: list = []
    kept = shared.Kept()             # the window's client keeps the last cell's graph structures
    stages: dict = {}                # stage -> wall seconds in the current edit
    cpu_stages: dict = {}            # stage -> this thread's CPU seconds (what a loaded machine does not inflate)

    def timed(owner, name, stage):
        function = getattr(owner, name)

        def wrapper(*a, **k):
            start, cpu = time.perf_counter(), time.thread_time()
            try:
                return function(*a, **k)
            finally:
                stages[stage] = stages.get(stage, 0.0) + time.perf_counter() - start
                cpu_stages[stage] = cpu_stages.get(stage, 0.0) + time.thread_time() - cpu
        setattr(owner, name, wrapper)

    from gradstudio.studio import compare
    from gradstudio.studio.kernel import records as kernel_records, service as service_module
    timed(kernel_records, "graph_data", "records: graph")
    timed(kernel_records, "tensors_data", "records: tensors")
    timed(shared, "_values", "records: values")       # a call of a structure the window keeps
    timed(compare, "finite_differences", "finite differences")
    timed(service_module, "_torch_gradients", "torch replay")

    handed: dict = {}                # message kind -> (wall, CPU) when it was handed to the comm

    def timed_encode(message):
        start, cpu = time.perf_counter(), time.thread_time()
        try:
            return codec.encode(message)
        finally:
            stages["encoding"] = stages.get("encoding", 0.0) + time.perf_counter() - start
            cpu_stages["encoding"] = cpu_stages.get("encoding", 0.0) + time.thread_time() - cpu
            handed[type(message).__name__] = (time.perf_counter(), time.thread_time())
            if isinstance(message, schema.CellFinished):        # what the first reply cost, stage by stage
                handed["stages"] = dict(cpu_stages)
    warm = time.perf_counter()
    if args.ipython:
        service, run_edit = _ipython_kernel(args.timeout, sent, timed_encode, not args.whole_first)
    else:
        service = KernelService(Session(), lambda message: sent.append(timed_encode(message)))

        def run_edit(script):
            """The service's calls for a design's cell, as the bridge makes them: the cell's run
            and the wall and CPU time of running it (forward and backward)."""
            wall, cpu = time.perf_counter(), time.thread_time()
            run = service.session.run_cell(script, cell=None, first_line=1)
            ran, ran_cpu = time.perf_counter() - wall, time.thread_time() - cpu
            service.cell_finished(run, 1, early_timeout=args.timeout, reuse=True,   # as the bridge calls it
                                  kept_tensors=kept.tensors_id, numbers_first=not args.whole_first)
            service.check_new_calls(run, args.timeout)
            return run, ran, ran_cpu
    if args.cold:
        service.start_worker()
    else:                               # what the kernel does when it loads the extension
        service.warm_up().join()
        service.worker._wait_ready(time.monotonic() + 60)
    warm = time.perf_counter() - warm
    timed(service.worker, "derive", "derive (worker)")
    from gradstudio.studio.symbolic import worker as worker_module
    if hasattr(service.worker, "submit_derive"):   # sent ahead, collected when the check needs it
        timed(service.worker, "submit_derive", "derive: sent ahead")
        timed(worker_module.PendingDerivation, "result", "derive (worker)")
    profile = None
    rows, first, first_splits = [], None, []
    try:
        profiled = 3 if args.profile else 0       # profiled edits come after the timed ones
        for edit in range(args.edits + 1 + profiled):   # the first edit warms up (imports, sympy caches)
            if edit == args.edits + 1 and args.profile:
                import cProfile
                profile = cProfile.Profile()
            if args.edit == "wire":
                rewire(design, edit)
            else:
                design.change_node(constant, value=f"{0.5 + 0.01 * edit:g}")
            gui = time.thread_time()
            script, _diagnosed = results.live_script(design)      # as LiveEvaluator.evaluate_now
            before = time.thread_time() - gui
            sent.clear()
            stages.clear()
            cpu_stages.clear()
            handed.clear()
            if profile is not None:
                profile.enable()
            wall, cpu = time.perf_counter(), time.thread_time()
            run, ran, ran_cpu = run_edit(script)
            kernel_wall, kernel_cpu = time.perf_counter() - wall, time.thread_time() - cpu
            if profile is not None:
                profile.disable()
            assert run.ok, run.error
            first_kind = "CallChecked" if args.whole_first else "CellFinished"
            back = {"first reply": handed[first_kind], "last record": handed["CallChecked"]}
            back = {k: (w - wall, c - cpu) for k, (w, c) in back.items()}
            first_split = {"forward+backward": ran_cpu, **handed.get("stages", {})}
            gui = time.thread_time()
            messages = [codec.decode(text, buffers) for text, buffers in sent]
            finished = next(m for m in messages if isinstance(m, schema.CellFinished))
            checked = next(m for m in messages if isinstance(m, schema.CallChecked))
            assert not checked.check.provisional
            if not args.whole_first:       # the first reply carries what Compare shows first
                (early,) = finished.checks
                assert early.provisional and early.leaves[0].finite_difference is not None, early
            (call,) = shared.calls_of(messages, kept)      # as the window's client reads them
            finished = finished.replace(tensors=shared.fill_tensor_values(list(kept.tensors.values()), [call]))
            found = results.node_results(design, call)
            scene.show_results({n: NodeResult(value=r["value"], grad=r["grad"], grad_norm=r["grad_norm"])
                                for n, r in found.items()})
            after = time.thread_time() - gui
            split = {"forward+backward": ran, **stages}
            split["rest of the kernel"] = kernel_wall - sum(split.values())
            split_cpu = {"forward+backward": ran_cpu, **cpu_stages}
            split_cpu["rest of the kernel"] = kernel_cpu - sum(split_cpu.values())
            if edit == 0:
                first = (kernel_wall, split)
                deferred = sum(t.text_deferred for t in finished.tensors)
                print(f"{len(finished.tensors)} named tensors, {deferred} with their reprs deferred "
                      "(written when the Inspector shows one)")
                check = checked.check
                print(f"{args.nodes} nodes, {len(design.links)} links, x of 1,000 elements; "
                      f"first edit (warm-up) {kernel_wall * 1000:.0f} ms in the kernel; "
                      f"check agrees: {check.agree}, formula: {[l.formula_kind for l in check.leaves]}, "
                      f"symbolic error: {check.symbolic_error}, notes: {[l.note or l.formula_note for l in check.leaves]}")
                continue
            if edit > args.edits:
                continue
            rows.append({"script (GUI)": (before, before), **{k: (v, split_cpu.get(k, 0.0)) for k, v in split.items()},
                         "kernel": (kernel_wall, kernel_cpu), "apply (GUI)": (after, after), **back})
            first_splits.append(first_split)
    finally:
        service.close()
    kernel_wall, split = first
    print(f"first edit {kernel_wall * 1000:.0f} ms in the kernel, "
          f"{'cold (no warm-up)' if args.cold else f'after a warm-up of {warm:.1f} s (the kernel does it at start)'}: "
          + ", ".join(f"{k} {v * 1000:.0f}" for k, v in split.items()))
    print(f"median of {len(rows)} edits, ms (load average {os.getloadavg()[0]:.2f} at the end, "
          f"{load:.2f} at the start; 2 cores):")
    print(f"  {'':18s} {'wall':>8s} {'CPU':>8s}   (CPU: this thread's; the worker's derivation is its wall)")
    for key in rows[0]:
        walls = sorted(r[key][0] * 1000 for r in rows)
        cpus = sorted(r[key][1] * 1000 for r in rows)
        print(f"  {key:18s} {statistics.median(walls):8.1f} {statistics.median(cpus):8.1f}   (max wall {walls[-1]:.1f})")
    if profile is not None:
        import io
        import pstats
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.profile)
        print(f"cProfile of the kernel's work over {profiled} more edits (by own time):")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:20000])
    total = statistics.median(r["kernel"][0] for r in rows) * 1000
    cpu = statistics.median(r["kernel"][1] for r in rows) * 1000
    print(f"the kernel's whole work per edit {total:.1f} ms (its own CPU {cpu:.1f} ms)")
    if not args.whole_first:
        stages_before = {key: statistics.median(split.get(key, 0.0) for split in first_splits) * 1000
                         for key in dict.fromkeys(k for split in first_splits for k in split)}
        print("the first reply's CPU by stage, ms (medians): "
              + ", ".join(f"{k} {v:.1f}" for k, v in stages_before.items() if v >= 0.05))
    for key in ("first reply", "last record"):
        walls = _quartiles([r[key][0] * 1000 for r in rows])
        cpus = _quartiles([r[key][1] * 1000 for r in rows])
        print(f"{key:12s} back in the window: wall {walls[1]:.1f} ms (quartiles {walls[0]:.1f}–{walls[2]:.1f}), "
              f"kernel's clock {cpus[1]:.1f} ms (quartiles {cpus[0]:.1f}–{cpus[2]:.1f})"
              + (f" against the 50 ms target: {'met' if walls[1] < 50 else 'NOT met'} (×{walls[1] / 50:.2f})"
                 if key == "first reply" else ""))


def _jupyter(args):
    """``--jupyter``: the edits through a real kernel process, timed from the window's side."""
    import select
    import uuid
    from gradstudio.studio.kernel import codec, schema, shared
    from gradstudio.studio.kernel.bridge import COMM_TARGET, DATA_KEY
    from gradstudio.studio.kernel.jupyter import JupyterKernel
    from gradstudio.ui.editor import results

    def cpu_seconds(pid) -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")   # utime + stime

    def records(until, deadline=120.0):
        """Decoded comm records, each with the time it was read, until ``until(record)``."""
        found, end = [], time.monotonic() + deadline
        while time.monotonic() < end:
            for message in kernel.read("iopub"):
                if isinstance(message, dict) and message.get("msg_type") == "comm_msg":
                    data = message["content"]["data"].get(DATA_KEY)
                    record = codec.decode(data, message.get("buffers") or [])
                    found.append((time.perf_counter(), record, cpu_seconds(kernel.pid)))
                    if until(record):
                        return found
            select.select([kernel.fileno("iopub")], [], [], 0.05)
        raise TimeoutError(f"the kernel did not answer: {[type(r).__name__ for _, r in found]}")

    load = os.getloadavg()[0]
    design, constant = edit_design(args.nodes)
    kernel = JupyterKernel()
    kernel.start()
    try:
        comm = uuid.uuid4().hex
        kernel.comm_open(COMM_TARGET, comm)
        records(lambda r: isinstance(r, schema.Ready))
        kept, rows = shared.Kept(), []
        for edit in range(args.edits + 2):             # the first two warm up (imports, the worker, torch)
            if args.edit == "wire":
                rewire(design, edit)
            else:
                design.change_node(constant, value=f"{0.5 + 0.01 * edit:g}")
            script, _diagnosed = results.live_script(design)
            meta = {"cell": None, "first_line": 1, "derive": True, "timeout": args.timeout, "reuse": True,
                    "kept": sorted(kept.structures), "tensors": kept.tensors_id,
                    "numbers_first": not args.whole_first,
                    "generated": True}                          # (as Runner.run_design sends them)
            cpu, start = cpu_seconds(kernel.pid), time.perf_counter()
            kernel.execute(script, metadata={DATA_KEY: meta})
            found = records(lambda r: isinstance(r, schema.CallChecked))
            got = {type(r).__name__: t - start for t, r, _ in found}
            first_kind = "CallChecked" if args.whole_first else "CellFinished"
            cpu_first = next(c for _, r, c in found if type(r).__name__ == first_kind) - cpu
            time.sleep(0.05)                           # (the kernel goes idle: its CPU is all counted)
            spent = cpu_seconds(kernel.pid) - cpu
            shared.calls_of([r for _, r, _ in found], kept)
            first = got[first_kind]
            if edit >= 2:
                rows.append((first, got["CallChecked"], spent, cpu_first))
    finally:
        kernel.shutdown()
    print(f"{args.nodes} nodes, {len(rows)} edits through the kernel process "
          f"(load average {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end; 2 cores)")
    cpu = statistics.mean(r[2] for r in rows) * 1000
    for name, column in (("first reply", 0), ("last record", 1)):
        q1, median, q3 = _quartiles([r[column] * 1000 for r in rows])
        print(f"{name:12s} back in the window: wall {median:.1f} ms (quartiles {q1:.1f}–{q3:.1f})"
              + (f" against the 50 ms target: {'met' if median < 50 else 'NOT met'} (×{median / 50:.2f})"
                 if column == 0 else ""))
    print(f"the kernel process's CPU per edit (all of its work, mean): {cpu:.1f} ms; until the first reply "
          f"was read (its work for it, and what it did next meanwhile): {statistics.mean(r[3] for r in rows) * 1000:.1f} ms")


def _quartiles(values: list) -> tuple:
    """(first quartile, median, third quartile)."""
    if len(values) < 2:
        return (values[0],) * 3
    return tuple(statistics.quantiles(values, n=4, method="inclusive"))


def _ipython_kernel(timeout: float, sent: list, encode, numbers_first: bool):
    """An in-process IPython shell with ``%load_ext gradstudio`` whose bridge believes the
    window is connected (a comm that keeps what it is sent, the editor's metadata for a
    design's cell): ``(service, run_edit)`` as the default path has them."""
    import contextlib
    import io
    from IPython.core.interactiveshell import InteractiveShell
    from gradstudio.studio.kernel import extension

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "gradstudio")
    ext = extension._EXTENSIONS[id(shell)]
    bridge = ext.bridge
    ext.session.step_trace = True                 # as the bridge sets it when the window opens its comm

    class Comm:
        def send(self, data, buffers=None):
            pass
    bridge.comm = Comm()
    bridge.send = ext.service.send = lambda message: sent.append(encode(message))
    bridge.cell_metadata = lambda: {"cell": None, "first_line": 1, "derive": True, "timeout": timeout,
                                    "reuse": True, "numbers_first": numbers_first}
    records = bridge.cell_finished
    spent = {}

    def cell_finished(run, *a, **k):
        spent["run"] = run
        start, cpu = time.perf_counter(), time.thread_time()
        try:
            return records(run, *a, **k)
        finally:
            spent["wall"], spent["cpu"] = time.perf_counter() - start, time.thread_time() - cpu
    bridge.cell_finished = cell_finished

    def run_edit(script):
        wall, cpu = time.perf_counter(), time.thread_time()
        with contextlib.redirect_stdout(io.StringIO()):     # IPython's kernel sends it on IOPub
            shell.run_cell(script, store_history=True)
        total, total_cpu = time.perf_counter() - wall, time.thread_time() - cpu
        return spent["run"], total - spent["wall"], total_cpu - spent["cpu"]
    return ext.service, run_edit


if __name__ == "__main__":
    main()
