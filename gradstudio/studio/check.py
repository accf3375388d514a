"""``gradstudio check``: run a script, check every backward call three ways,
print a table or JSON.

The script and the derivations run in a child process (``python -m
gradstudio.studio.check``) that the parent kills when the time limit is reached,
together with the child's own symbolic worker (one process group): an
infinite loop or a hanging ``simplify`` ends with a clear message and no
stray process. The child reports which cell it is running, so a timeout
says where the script was.

Exit codes: 0 every comparison agrees, 1 something disagrees, 2 the script
could not run (syntax error, an exception outside backward(), timeout).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from multiprocessing.connection import Connection

from gradstudio.studio.oracle import available as oracle_available

EXIT_AGREE, EXIT_DISAGREE, EXIT_CANNOT_RUN = 0, 1, 2
TORCH_KEY = "_torch"


# --------------------------------------------------------------------------- child side
def check_script(text: str, script: str, *, deadline: float, progress=None, use_torch=False,
                 hessian=False) -> tuple:
    """Run ``text`` and check it. Returns (report dict, exit code, script error or None)."""
    from gradstudio.studio.session import Session, split_cells
    from gradstudio.studio.symbolic.worker import SymbolicWorker

    worker = SymbolicWorker()
    worker.start()  # imports sympy in its own process while the script runs
    try:
        report, code, error = _check(text, script, deadline, progress, worker, Session(script), split_cells,
                                     use_torch)
        if hessian:
            _add_hessians(report, session_calls=_LAST_CALLS)
        return report, code, error
    finally:
        worker.close()


def _check(text, script, deadline, progress, worker, session, split_cells, use_torch):
    from gradstudio.studio import compare
    from gradstudio.studio import oracle

    script_error = None
    for cell in split_cells(text):
        if progress is not None:
            progress(("cell", cell.index, cell.first_line))
        run = session.run_cell(cell.source, cell=cell.index, first_line=cell.first_line)
        if run.ok:
            continue
        failed_backward = any(c.status == "error" for c in run.backward_calls)
        if not failed_backward:
            line = f", line {run.error_line}" if run.error_line else ""
            script_error = f"cell {cell.index}{line}: {run.error_type}: {run.error}"
            break
    checks = []
    _LAST_CALLS[:] = session.backward_calls
    for call in session.backward_calls:
        if progress is not None:
            progress(("derive", call.index, call.line))
        formulas, torch_values = {}, {}
        if call.status == "ok" and call.graph is not None and call.leaves:
            leaf_ids = [leaf.vertex for leaf in call.leaves]
            remaining = max(0.5, deadline - time.monotonic())
            formulas = worker.derive(call.graph, call.gradient, leaf_ids, remaining)
            if use_torch:
                torch_values = oracle.torch_gradients(call.graph, call.gradient, leaf_ids)
        checks.append(compare.check_call(call, formulas, torch_gradients=torch_values))
    report = compare.report_json(script, checks)
    # PyTorch's values are not part of the JSON format; they travel beside it for the table.
    report[TORCH_KEY] = {f"{c.call.index}/{leaf.name}": leaf.torch.tolist()
                         for c in checks for leaf in c.leaves if leaf.torch is not None}
    if script_error is not None:
        code = EXIT_CANNOT_RUN
    else:
        code = EXIT_AGREE if all(c.agree for c in checks) else EXIT_DISAGREE
    return report, code, script_error


_LAST_CALLS: list = []   # the backward calls _check just checked (for --hessian)


def _add_hessians(report: dict, session_calls) -> None:
    """``--hessian``: each leaf's Hessian in matrix form, beside its gradient."""
    from gradstudio.studio.symbolic.matrix import hessian_report
    for call, data in zip(session_calls, report["backward_calls"]):
        by_name = {leaf.name: leaf for leaf in call.leaves}
        for leaf in data["leaves"]:
            if call.graph is not None and leaf["name"] in by_name:
                leaf["hessian"] = hessian_report(call.graph, call.gradient, by_name[leaf["name"]].vertex)


def _child_main(path: str, write_fd: int, timeout: float, use_torch: bool, hessian: bool = False):
    connection = Connection(write_fd, readable=False)
    deadline = time.monotonic() + timeout
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        report, code, error = check_script(text, path, deadline=deadline, progress=connection.send,
                                           use_torch=use_torch, hessian=hessian)
        connection.send(("done", report, code, error))
    except BaseException as error:  # reported to the parent, which prints it
        connection.send(("crash", f"{type(error).__name__}: {error}"))
    finally:
        connection.close()


# --------------------------------------------------------------------------- parent side
def run_check(path: str, *, timeout: float = 20.0, use_torch: bool | None = None,
              hessian: bool = False) -> tuple:
    """Check ``path`` in a child process. Returns (report or None, exit code, message)."""
    if not os.path.exists(path):
        return None, EXIT_CANNOT_RUN, f"no such file: {path}"
    read_fd, write_fd = os.pipe()
    process = subprocess.Popen(
        [sys.executable, "-m", "gradstudio.studio.check", path, str(write_fd), str(timeout),
         "torch" if (oracle_available() if use_torch is None else use_torch) else "-",
         "hessian" if hessian else "-"],
        pass_fds=(write_fd,), start_new_session=True, stdout=subprocess.DEVNULL)
    os.close(write_fd)
    connection = Connection(read_fd, writable=False)
    deadline = time.monotonic() + timeout + 2.0   # the child needs a moment to start
    where = "starting"
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not connection.poll(remaining):
                return None, EXIT_CANNOT_RUN, (f"timed out after {timeout:g} s while {where} "
                                               "(an infinite loop? raise --timeout if it is just slow)")
            try:
                message = connection.recv()
            except EOFError:
                return None, EXIT_CANNOT_RUN, "the checking process stopped unexpectedly"
            if message[0] == "cell":
                where = f"running cell {message[1]} (line {message[2]})"
            elif message[0] == "derive":
                where = f"deriving the gradients of backward call #{message[1]} (line {message[2]})"
            elif message[0] == "done":
                _, report, code, error = message
                return report, code, error
            else:
                return None, EXIT_CANNOT_RUN, message[1]
    finally:
        connection.close()
        _kill_group(process)


def _kill_group(process: subprocess.Popen):
    """Kill the child and everything it started (its symbolic worker)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


# --------------------------------------------------------------------------- output
def format_table(report: dict, torch_values: dict | None = None) -> str:
    """The human-readable report (with PyTorch's values when given)."""
    torch_values = torch_values or {}
    lines = [f"gradstudio check {report['script']}"]
    if not report["backward_calls"]:
        lines.append("  (no backward() calls)")
    for call in report["backward_calls"]:
        root = call["root"]
        where = f"cell {call['cell']}, line {call['line']}" if call["cell"] else f"line {call['line']}"
        name = root["name"] or "<expression>"
        grad_fn = f" ({root['grad_fn']})" if root["grad_fn"] else ""
        gradient = ", gradient=…" if call["gradient"] is not None else ""
        lines.append(f"\nbackward #{call['index']}  {where}  {name}.backward({gradient.strip(', ')}){grad_fn}")
        if call["status"] == "error":
            lines.append(f"  raised, as torch does: {call['error']}")
            continue
        for leaf in call["leaves"]:
            mark = "✓" if leaf["agree"] else "✗"
            formula = leaf["formula"] or "—"
            simplified = leaf["formula_simplified"]
            shown = formula if not simplified or simplified == formula else f"{formula} = {simplified}"
            lines.append(f"  {mark} ∂/∂{leaf['name']} {tuple(leaf['shape'])}  [{leaf['formula_kind']}]  {_short(shown, 70)}")
            torch_value = torch_values.get(f"{call['index']}/{leaf['name']}")
            torch_text = f"   torch {_sample(torch_value)}" if torch_value is not None else ""
            lines.append(f"      engine {_sample(leaf['numeric'])}   symbolic {_sample(leaf['symbolic'])}"
                         f"   finite diff {_sample(leaf['finite_difference'])}{torch_text}"
                         f"   max |error| {_err(leaf['max_abs_error'])}")
            if leaf["note"]:
                lines.append(f"      note: {leaf['note']}")
    return "\n".join(lines)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _sample(values) -> str:
    if values is None:
        return "—"
    flat = _flatten(values)
    shown = ", ".join(_num(v) for v in flat[:3])
    return f"[{shown}{', …' if len(flat) > 3 else ''}]" if isinstance(values, list) else shown


def _flatten(values):
    if isinstance(values, list):
        return [x for v in values for x in _flatten(v)]
    return [values]


def _num(v) -> str:
    return "·" if v is None else f"{v:.6g}" if isinstance(v, float) else str(v)


def _err(v) -> str:
    return "—" if v is None else f"{v:.2g}"


def main(argv=None) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="gradstudio check",
                                     description="Run a script and check every backward() call: "
                                                 "engine vs symbolic vs finite differences.")
    parser.add_argument("script")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--timeout", type=float, default=20.0,
                        help="seconds for the script and the derivations (default 20)")
    parser.add_argument("--hessian", action="store_true",
                        help="also give each leaf's Hessian in matrix form (scalar f of a vector leaf)")
    parser.add_argument("--no-torch", action="store_true",
                        help="do not compare with PyTorch even if it is installed")
    args = parser.parse_args(argv)
    report, code, message = run_check(args.script, timeout=args.timeout,
                                      use_torch=False if args.no_torch else None, hessian=args.hessian)
    if report is not None:
        torch_values = report.pop(TORCH_KEY, {})
        print(json.dumps(report) if args.json else format_table(report, torch_values))
    if message:
        print(f"gradstudio check: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    _child_main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "torch",
                len(sys.argv) > 5 and sys.argv[5] == "hessian")
