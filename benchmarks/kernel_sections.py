"""Where a node-editor edit's time goes inside the app's real kernel process, section by section.

The edits of ``benchmarks/editor_edit.py --jupyter`` (the 100-node design, its constant retyped,
each an ``execute_request`` with the editor's metadata, the window's comm open), with the kernel's
own code wrapped by a silent cell: ipykernel's dispatch and ``execute_input``, IPython's
``transform_cell`` / ``compile.cache`` / ``run_ast_nodes``, the recorded backward, the bridge's and
the service's records, each message's encoding and send (encoding, ipykernel's serialization and
the wait for its IOPub thread) — on ``time.perf_counter`` (CLOCK_MONOTONIC, the same clock in both
processes) and the kernel thread's CPU. Beside them, when the benchmark read each record off IOPub
("client got") and decoded it. Printed: per section (its n-th call in the edit), the median over
the edits of where it starts and ends after the request was sent, its wall time and its CPU.

    python benchmarks/kernel_sections.py [--edits 15] [--nodes 100]
"""
from __future__ import annotations

import argparse
import json
import os
import select
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

# run in the kernel as a silent cell: each wrapped call logs (label, start, end, CPU) in _gs_log
WRAP = r'''
import functools as _functools, inspect as _inspect, time as _time
_gs_log = []
def _gs_wrap(owner, name):
    inner = getattr(owner, name)
    label = f"{getattr(owner, '__name__', type(owner).__name__).rsplit('.', 1)[-1]}.{name.lstrip('_')}"
    typed = name in ("encode", "send")          # these by the message's type
    if _inspect.iscoroutinefunction(inner):
        async def wrapper(*a, **k):
            start, cpu = _time.perf_counter(), _time.thread_time()
            try:
                return await inner(*a, **k)
            finally:
                _gs_log.append((label, start, _time.perf_counter(), _time.thread_time() - cpu))
    else:
        def wrapper(*a, **k):
            start, cpu = _time.perf_counter(), _time.thread_time()
            try:
                return inner(*a, **k)
            finally:
                _gs_log.append((label + (" " + type(a[0]).__name__ if typed else ""),
                                start, _time.perf_counter(), _time.thread_time() - cpu))
    setattr(owner, name, _functools.wraps(inner)(wrapper))
def _gs_install():
    from gradstudio.studio.kernel import bridge, extension, records, service
    shell = get_ipython()
    ext = extension._EXTENSIONS[id(shell)]
    for owner, name in ((type(shell.kernel), "dispatch_shell"), (type(shell.kernel), "_publish_execute_input"),
                        (shell, "transform_cell"), (shell.compile, "cache"), (shell, "run_ast_nodes"),
                        (ext.session, "observe_backward"), (ext.bridge, "cell_finished"),
                        (ext.service, "cell_finished"), (ext.service, "provisional_checks"),
                        (ext.service, "_prefetch"), (ext.service, "check_new_calls"),
                        (records, "tensors_data"), (bridge.codec, "encode")):
        _gs_wrap(owner, name)
    _gs_wrap(ext.bridge, "send")
    ext.service.send = ext.bridge.send
_gs_install()
'''


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=15)
    parser.add_argument("--nodes", type=int, default=100)
    args = parser.parse_args(argv)
    from editor_edit import edit_design
    from gradstudio.studio.kernel import codec, schema, shared
    from gradstudio.studio.kernel.bridge import COMM_TARGET, DATA_KEY
    from gradstudio.studio.kernel.jupyter import JupyterKernel
    from gradstudio.ui.editor import results

    def until_idle(msg_id, want=None, deadline=60.0):
        """(read time, decoded time, record) of the comm records of one request, until it is idle
        and ``want`` (a record type) came; its execute_reply drained."""
        found, idle, end = [], False, time.monotonic() + deadline
        while time.monotonic() < end:
            for message in kernel.read("iopub"):
                if not isinstance(message, dict) or message["parent_header"].get("msg_id") != msg_id:
                    continue
                read = time.perf_counter()
                if message["msg_type"] == "comm_msg":
                    record = codec.decode(message["content"]["data"][DATA_KEY], message.get("buffers") or [])
                    found.append((read, time.perf_counter(), record))
                idle = idle or (message["msg_type"] == "status" and message["content"]["execution_state"] == "idle")
            if idle and (want is None or any(isinstance(r, want) for _, _, r in found)):
                kernel.read("shell")
                return found
            select.select([kernel.fileno("iopub")], [], [], 0.01)
        raise TimeoutError(f"request {msg_id} did not finish")

    def quiet(code):
        until_idle(kernel.execute(code, silent=True, store_history=False))

    design, constant = edit_design(args.nodes)
    log_file = Path(tempfile.mkdtemp(prefix="gradstudio-sections-")) / "log.json"
    load = os.getloadavg()[0]
    kernel = JupyterKernel()
    kernel.start()
    kept, rows = shared.Kept(), []
    try:
        comm = uuid.uuid4().hex
        kernel.comm_open(COMM_TARGET, comm)
        while not any(isinstance(r, schema.Ready) for r in
                      (codec.decode(m["content"]["data"][DATA_KEY], m.get("buffers") or [])
                       for m in kernel.read("iopub") if isinstance(m, dict) and m["msg_type"] == "comm_msg")):
            select.select([kernel.fileno("iopub")], [], [], 0.05)
        for edit in range(args.edits + 3):          # three to warm up, then wrapped
            if edit == 3:
                quiet(WRAP)
            if edit >= 3:
                quiet("_gs_log.clear()")
            design.change_node(constant, value=f"{0.5 + 0.01 * edit:g}")
            script, _ = results.live_script(design)
            meta = {"cell": None, "first_line": 1, "derive": True, "timeout": 10.0, "reuse": True,
                    "kept": sorted(kept.structures), "tensors": kept.tensors_id, "numbers_first": True,
                    "generated": True}
            start = time.perf_counter()
            found = until_idle(kernel.execute(script, metadata={DATA_KEY: meta}), want=schema.CallChecked)
            shared.calls_of([r for _, _, r in found], kept)
            if edit >= 3:
                quiet(f"open({str(log_file)!r}, 'w').write(__import__('json').dumps(_gs_log))")
                rows.append((start, found, json.loads(log_file.read_text())))
    finally:
        kernel.shutdown()
        log_file.unlink(missing_ok=True)
        log_file.parent.rmdir()
    table: dict = {}
    for start, found, log in rows:
        seen: dict = {}
        for label, begin, end, cpu in log:
            seen[label] = seen.get(label, 0) + 1
            table.setdefault(f"{label}#{seen[label]}", []).append((begin - start, end - start, cpu))
        for read, decoded, record in found:
            table.setdefault(f"client got {type(record).__name__}", []).append((read - start, decoded - start, 0.0))
    print(f"{args.nodes} nodes, {len(rows)} edits through the kernel process (load average {load:.2f} at the "
          f"start, {os.getloadavg()[0]:.2f} at the end; 2 cores); ms after the request was sent, medians:")
    print(f"  {'section (n-th call)':40s} {'starts':>7s} {'ends':>7s} {'wall':>6s} {'CPU':>6s}")
    ms = lambda values: statistics.median(values) * 1000   # noqa: E731
    for label, spans in sorted(table.items(), key=lambda item: ms([s[0] for s in item[1]])):
        if ms([s[1] for s in spans]) < 0:          # the wrapping cells' own tails
            continue
        print(f"  {label:40s} {ms([s[0] for s in spans]):7.1f} {ms([s[1] for s in spans]):7.1f} "
              f"{ms([s[1] - s[0] for s in spans]):6.1f} {ms([s[2] for s in spans]):6.1f}")


if __name__ == "__main__":
    main()
