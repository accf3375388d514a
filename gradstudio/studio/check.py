"""``gradstudio check``: run a script, check every backward call three ways,
print a table or JSON.

The script and the derivations run in a child process (``python -m
gradstudio.studio.check --child …``); the parent only reads what the child
sends and enforces the limits:

- What comes back is data in the :mod:`gradstudio.studio.wire` format, read
  without blocking (``select`` with the deadline) and checked before it is
  believed: junk, a pickle, a half-written frame or a report of the wrong shape
  is "the checking process sent something unreadable" (exit 2), never code run
  in the parent, and never a wait past the time limit.
- The time limit counts from the moment the command started; the parent stops
  waiting at the limit (plus a fraction of a second for a report that is on
  its way) and kills the child with everything it started: its process group,
  every descendant (stopped first, so nothing forks meanwhile) and, because the
  command makes itself a child subreaper, a process that ``fork`` + ``setsid()``
  escaped the group. The child dies with the parent (``PR_SET_PDEATHSIG``), so
  ``timeout 3 gradstudio check …`` or a script that kills its parent leaves
  nothing running; SIGINT / SIGTERM / SIGHUP clean up the same way and exit
  128 + the signal number (Ctrl+C prints one line, "interrupted").
- The child runs under an address-space limit (half the machine's memory, or
  ``--memory GB``); running out is reported as "ran out of memory (limit N GB)".
- The child reports each cell and each derivation as it starts, and
  ``faulthandler`` writes to a file the parent reads, so a crash (an exit code,
  a signal) says what was running and, for a fatal signal, the script's line.

Exit codes: 0 every comparison agrees, 1 something disagrees, 2 the script
could not run (syntax error, an exception outside backward(), timeout, crash,
out of memory); 128 + N when the command itself got signal N.

``--json`` prints strict JSON: a NaN or infinite number is the string
``"NaN"``, ``"Infinity"`` or ``"-Infinity"``.
"""
from __future__ import annotations

import json
import math
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from gradstudio.studio import lifeline, wire
from gradstudio.studio.kernel.launch import memory_limit as kernel_memory_limit
from gradstudio.studio.oracle import available as oracle_available

EXIT_AGREE, EXIT_DISAGREE, EXIT_CANNOT_RUN = 0, 1, 2
TORCH_KEY = "_torch"
UNREADABLE = "the checking process sent something unreadable"
GB = 10 ** 9
# The child stops its derivations this long before the deadline so that its report
# can still arrive; the parent waits this long past the deadline for a report on its way.
REPORT_MARGIN = 0.3
MEMORY_ERRORS = ("MemoryError", "_ArrayMemoryError")
# The child's messages are JSON only (values as lists, no binary buffers); a report
# of a few million numbers fits, and the parent never holds more than this.
WIRE_LIMITS = wire.Limits(json_bytes=256 * 1024 ** 2, buffers=0, buffer_bytes=0)


# --------------------------------------------------------------------------- child side
def check_script(text: str, script: str, *, deadline: float, progress=None, use_torch=False,
                 memory_limit: int | None = None, trace: bool = False, hessian: bool = False) -> tuple:
    """Run ``text`` and check it. Returns (report dict, exit code, script error or None).
    ``memory_limit`` (bytes) is named in the message when the script runs out of memory.
    With ``trace``, each backward call in the report carries its step trace (``"trace"``);
    with ``hessian``, each leaf its Hessian in matrix form (``"hessian"``)."""
    from gradstudio.studio.session import Session, split_cells
    from gradstudio.studio.symbolic.worker import SymbolicWorker

    worker = SymbolicWorker()
    worker.start()  # imports sympy in its own process while the script runs
    try:
        return _check(text, script, deadline, progress, worker, Session(script, step_trace=trace),
                      split_cells, use_torch, memory_limit, hessian)
    finally:
        worker.close()


def _check(text, script, deadline, progress, worker, session, split_cells, use_torch, memory_limit, hessian):
    from gradstudio.studio import compare
    from gradstudio.studio import oracle

    script_error = None
    for cell in split_cells(text):
        if cell.kind == "markdown":
            continue                      # text, never run
        if progress is not None:
            progress(("cell", cell.index, cell.first_line))
        run = session.run_cell(cell.source, cell=cell.index, first_line=cell.first_line)
        if run.ok:
            continue
        failed_backward = any(c.status == "error" for c in run.backward_calls)
        if not failed_backward:
            line = f", line {run.error_line}" if run.error_line else ""
            if run.error_type in MEMORY_ERRORS:
                script_error = f"cell {cell.index}{line}: {out_of_memory(memory_limit)}"
            else:
                script_error = f"cell {cell.index}{line}: {run.error_type}: {run.error}"
            break
    checks = []
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
    for entry, call in zip(report["backward_calls"], session.backward_calls):
        if call.steps is not None:
            entry["trace"] = call.steps.to_data()
        if hessian:
            _add_hessians(entry, call)
    # PyTorch's values are not part of the JSON format; they travel beside it for the table.
    report[TORCH_KEY] = {f"{c.call.index}/{leaf.name}": leaf.torch.tolist()
                         for c in checks for leaf in c.leaves if leaf.torch is not None}
    if script_error is not None:
        code = EXIT_CANNOT_RUN
    else:
        code = EXIT_AGREE if all(c.agree for c in checks) else EXIT_DISAGREE
    return report, code, script_error


def out_of_memory(limit: int | None) -> str:
    return f"ran out of memory (limit {limit / GB:.3g} GB)" if limit else "ran out of memory"


class _Sender:
    """Writes wire frames on the result pipe (the child's side; blocking is fine here).
    Only the child itself speaks: a copy made by the script's ``os.fork()`` that runs on
    into the checker's code stays silent, so its frames cannot interleave with ours."""

    def __init__(self, fd: int):
        self.fd, self.pid = fd, os.getpid()

    def __call__(self, message: dict):
        if os.getpid() != self.pid:
            return
        frame = memoryview(wire.encode_frame(message, limits=WIRE_LIMITS))
        while frame:
            frame = frame[os.write(self.fd, frame):]


def _add_hessians(entry: dict, call) -> None:
    """``--hessian``: each leaf's Hessian in matrix form, beside its gradient."""
    from gradstudio.studio.symbolic.matrix import hessian_report
    by_name = {leaf.name: leaf for leaf in call.leaves}
    for leaf in entry["leaves"]:
        if call.graph is not None and leaf["name"] in by_name:
            leaf["hessian"] = hessian_report(call.graph, call.gradient, by_name[leaf["name"]].vertex)


def _progress(send):
    def report(event):
        kind, index, line = event
        send({"kind": kind, "index": index, "line": line})
    return report


def _child_main(argv: list):
    import argparse
    import faulthandler
    parser = argparse.ArgumentParser(prog="gradstudio.studio.check --child")
    parser.add_argument("script")
    parser.add_argument("--result-fd", type=int, required=True)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--deadline", type=float, required=True, help="time.monotonic() value")
    parser.add_argument("--memory", type=int, required=True, help="bytes")
    parser.add_argument("--fault-file", required=True)
    parser.add_argument("--torch", action="store_true")
    parser.add_argument("--trace", action="store_true")
    parser.add_argument("--hessian", action="store_true")
    options = parser.parse_args(argv)
    lifeline.die_with_parent(options.parent)
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (options.memory, options.memory))
    except (ImportError, ValueError, OSError):  # not permitted here: run without the cap
        pass
    fault_file = open(options.fault_file, "w", encoding="utf-8")
    faulthandler.enable(fault_file, all_threads=False)
    send = _Sender(options.result_fd)
    try:
        try:
            with open(options.script, "rb") as handle:
                text = handle.read().decode("utf-8-sig")  # an editor's BOM is not part of the code
        except UnicodeDecodeError as error:
            send({"kind": "crash", "error": f"{options.script} is not UTF-8 text ({error.reason} at byte "
                                            f"{error.start})"})
            return
        report, code, error = check_script(text, options.script, deadline=options.deadline - REPORT_MARGIN,
                                           progress=_progress(send), use_torch=options.torch,
                                           memory_limit=options.memory, trace=options.trace,
                                           hessian=options.hessian)
        torch_values = report.pop(TORCH_KEY, {})
        send({"kind": "done", "report": report, "code": code, "error": error, "torch": torch_values})
    except MemoryError:
        _last_words(send, out_of_memory(options.memory))
    except BaseException as error:  # reported to the parent, which prints it
        _last_words(send, f"{type(error).__name__}: {error}")
    # The parent kills this process and whatever the script started (a fork that
    # called setsid() too) once it has the report; wait for that, so that they
    # are all still this process's descendants, but not forever.
    time.sleep(5)


def _last_words(send, error: str):
    """Tell the parent why the check failed; if even that fails (no memory left),
    end without a traceback: the parent then reports the exit code."""
    try:
        send({"kind": "crash", "error": error})
    except BaseException:
        os._exit(70)


# --------------------------------------------------------------------------- parent side
class Stopped(BaseException):
    """The command got SIGINT, SIGTERM or SIGHUP (raised by its handler)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def run_check(path: str, *, timeout: float = 20.0, use_torch: bool | None = None,
              memory_limit: int | None = None, started: float | None = None, trace: bool = False,
              hessian: bool = False) -> tuple:
    """Check ``path`` in a child process. Returns (report or None, exit code, message).

    The time limit counts from ``started`` (a ``time.monotonic()`` value; now
    by default). The child and everything it started are gone when this returns."""
    if not os.path.exists(path):
        return None, EXIT_CANNOT_RUN, f"no such file: {path}"
    started = time.monotonic() if started is None else started
    deadline = started + timeout
    memory_limit = memory_limit or kernel_memory_limit()  # as the app's kernel has
    use_torch = oracle_available() if use_torch is None else use_torch
    scratch = tempfile.mkdtemp(prefix="gradstudio-check-")
    fault_path = os.path.join(scratch, "fault.txt")
    read_fd, write_fd = os.pipe()
    process = None
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "gradstudio.studio.check", "--child", path,
             "--result-fd", str(write_fd), "--parent", str(os.getpid()), "--deadline", repr(deadline),
             "--memory", str(memory_limit), "--fault-file", fault_path]
            + (["--torch"] if use_torch else []) + (["--trace"] if trace else [])
            + (["--hessian"] if hessian else []),
            pass_fds=(write_fd,), start_new_session=True, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL)
        os.close(write_fd)
        write_fd = None
        return _follow(process, read_fd, deadline, timeout, fault_path, path)
    finally:
        for fd in (read_fd, write_fd):
            if fd is not None:
                os.close(fd)
        if process is not None:
            _kill(process)
        shutil.rmtree(scratch, ignore_errors=True)


class _Progress:
    """What the child said it was doing, for messages."""

    def __init__(self):
        self.where = "starting"

    def update(self, message: dict):
        if message["kind"] == "cell":
            self.where = f"running cell {message['index']} (line {message['line']})"
        else:
            self.where = f"deriving the gradients of backward call #{message['index']} (line {message['line']})"


def _follow(process, read_fd, deadline, timeout, fault_path, path) -> tuple:
    """Read the child's messages until its report, its end, or the deadline."""
    os.set_blocking(read_fd, False)
    reader = wire.FrameReader(limits=WIRE_LIMITS)
    progress = _Progress()
    exit_watch = _exit_watch(process)
    end_of_pipe = False
    try:
        while True:
            remaining = deadline + REPORT_MARGIN - time.monotonic()
            if remaining <= 0:
                return None, EXIT_CANNOT_RUN, (f"timed out after {timeout:g} s while {progress.where} "
                                               "(an infinite loop? raise --timeout if it is just slow)")
            watched = ([] if end_of_pipe else [read_fd]) + ([exit_watch] if exit_watch is not None else [])
            # Without a pidfd, look at the child every 50 ms: a process the script
            # started may hold the pipe open after the child has died.
            ready, _, _ = select.select(watched, [], [], remaining if exit_watch is not None
                                        else min(remaining, 0.05))
            exited = process.poll() is not None
            if read_fd in ready or (exited and not end_of_pipe):
                data = _read_available(read_fd)
                end_of_pipe = data is None
                try:
                    for value in reader.feed(data or b""):
                        message = _message(value)
                        if message["kind"] == "done":
                            report = message["report"]
                            report[TORCH_KEY] = message["torch"]
                            return report, message["code"], message["error"]
                        if message["kind"] == "crash":
                            return None, EXIT_CANNOT_RUN, message["error"]
                        progress.update(message)
                except wire.WireError as error:
                    return None, EXIT_CANNOT_RUN, f"{UNREADABLE} ({error})"
            if exited:
                return None, EXIT_CANNOT_RUN, _crash_message(process.returncode, progress.where,
                                                             reader.pending, _read_fault(fault_path), path)
    finally:
        if exit_watch is not None:
            os.close(exit_watch)


def _exit_watch(process):
    """A pidfd that becomes readable when the child ends (None where there is none)."""
    try:
        return os.pidfd_open(process.pid)
    except (AttributeError, OSError):
        return None


def _read_available(fd: int, most: int = 16 * 1024 ** 2):
    """What is readable now, up to ``most`` bytes (a child that writes without pause
    must not keep the reader from its deadline): bytes (maybe empty), or None at
    end of file."""
    chunks, size = [], 0
    while size < most:
        try:
            chunk = os.read(fd, 1 << 20)
        except BlockingIOError:
            break
        if not chunk:
            return b"".join(chunks) or None
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _crash_message(returncode, where, pending, fault: str, path: str) -> str:
    line = _script_line(fault, path)
    at = f", at line {line} of the script" if line else ""
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        description = signal.strsignal(-returncode) or ""
        how = f"was killed by {name}" + (f" ({description})" if description and description != name else "")
    elif pending:
        how = f"exited with code {returncode} in the middle of a message"
    else:
        how = f"exited with code {returncode} before it sent its report"
    return f"the checking process {how} while {where}{at}"


def _read_fault(fault_path: str) -> str:
    try:
        with open(fault_path, encoding="utf-8", errors="replace") as handle:
            return handle.read(64 * 1024)
    except OSError:
        return ""


def _script_line(fault: str, path: str) -> int | None:
    """The script's innermost line in a faulthandler dump (most recent call first)."""
    prefix = f'File "{path}", line '
    for text in fault.splitlines():
        text = text.strip()
        if text.startswith(prefix):
            number = text[len(prefix):].split(" ", 1)[0]
            if number.isdigit():
                return int(number)
    return None


def _kill(process: subprocess.Popen):
    """Kill the child and everything it started: its group and every descendant."""
    lifeline.kill_tree(process.pid)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


# --------------------------------------------------------------------------- what the child may say
_INT = (int,)
_TEXT = (str, type(None))


def _message(value) -> dict:
    """``value`` if it is one of the child's messages, in the right shape; else WireError."""
    kind = value.get("kind") if isinstance(value, dict) else None
    if kind in ("cell", "derive"):
        _expect(value, {"kind": str, "index": _INT, "line": _INT})
    elif kind == "crash":
        _expect(value, {"kind": str, "error": str})
    elif kind == "done":
        _expect(value, {"kind": str, "report": dict, "code": _INT, "error": _TEXT, "torch": dict})
        if value["code"] not in (EXIT_AGREE, EXIT_DISAGREE, EXIT_CANNOT_RUN):
            raise wire.WireError(f"exit code {value['code']!r}")
        _check_report(value["report"])
        if not all(isinstance(k, str) and _numbers(v) for k, v in value["torch"].items()):
            raise wire.WireError("PyTorch's values are not numbers")
    else:
        raise wire.WireError(f"a message of unknown kind {str(kind)[:40]!r}")
    return value


def _expect(value: dict, fields: dict):
    if set(value) != set(fields):
        raise wire.WireError(f"a {value.get('kind')!r} message with fields {sorted(value)[:12]}")
    for key, types in fields.items():
        if isinstance(value[key], bool) and bool not in (types if isinstance(types, tuple) else (types,)):
            raise wire.WireError(f"{key!r} is a bool")
        if not isinstance(value[key], types):
            raise wire.WireError(f"{key!r} is a {type(value[key]).__name__}")


_NUMBER = (int, float, type(None))
_OPT_INT = (int, type(None))
_NUMBERS = object()   # a number, None, or nested lists of them
_ANY = object()       # any data (already decoded from strict JSON by the wire)


class _Optional:
    """A key a report may leave out."""

    def __init__(self, schema):
        self.schema = schema
_SHAPE = object()     # a list of ints
_ROOT = {"name": _TEXT, "grad_fn": _TEXT, "shape": _SHAPE}
_LEAF = {"hessian": _Optional(_ANY),
         "name": str, "shape": _SHAPE, "numeric": _NUMBERS, "symbolic": _NUMBERS,
         "finite_difference": _NUMBERS, "formula_kind": str, "formula": _TEXT, "formula_simplified": _TEXT,
         "formula_latex": _TEXT, "element_symbol": _TEXT, "max_abs_error": _NUMBER, "agree": bool,
         "note": _TEXT}
_CALL = {"trace": _Optional(_ANY),
         "index": _INT, "cell": _OPT_INT, "line": _INT, "root": _ROOT, "gradient": _NUMBERS,
         "status": str, "error": _TEXT, "leaves": [_LEAF]}
_REPORT = {"script": str, "backward_calls": [_CALL]}


def _check_report(report):
    _conforms(report, _REPORT, "report")


def _conforms(value, schema, where: str):
    """Raise WireError unless ``value`` has exactly the shape ``schema`` describes."""
    if schema is _NUMBERS:
        ok = _numbers(value)
    elif schema is _SHAPE:
        ok = isinstance(value, list) and all(type(n) is int and n >= 0 for n in value)
    elif schema is _ANY:
        ok = True
    elif isinstance(schema, dict):
        required = {k for k, inner in schema.items() if not isinstance(inner, _Optional)}
        ok = isinstance(value, dict) and required <= set(value) <= set(schema)
        if ok:
            for key in value:
                inner = schema[key]
                _conforms(value[key], inner.schema if isinstance(inner, _Optional) else inner,
                          f"{where}.{key}")
    elif isinstance(schema, list):
        ok = isinstance(value, list)
        if ok:
            for i, item in enumerate(value):
                _conforms(item, schema[0], f"{where}[{i}]")
    else:
        types = schema if isinstance(schema, tuple) else (schema,)
        ok = isinstance(value, types) and (bool in types or not isinstance(value, bool))
    if not ok:
        raise wire.WireError(f"the report's {where} is not what a report holds")


def _numbers(value) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, bool) or not isinstance(item, _NUMBER):
            return False
    return True


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


def format_steps(report: dict) -> str:
    """Each backward call's step trace (``--trace``), one line per event, in the engine's order."""
    lines = []
    for call in report["backward_calls"]:
        trace = call.get("trace")
        if trace is None:
            continue
        names = {n["id"]: f"{n['name']}#{n['id']}" for n in trace["nodes"]}
        lines.append(f"\nsteps of backward #{call['index']} (line {call['line']}):")
        for event in trace["events"]:
            lines.append(f"  {event['step']:>4} {event['kind']:<12}{names[event['node']]}"
                         f"{_step_detail(event, names)}")
        if trace["dropped"]:
            lines.append(f"  … {trace['dropped']} more steps not kept")
    return "\n".join(lines)


def _step_detail(event: dict, names: dict) -> str:
    kind = event["kind"]
    if kind == "edge":
        ready = "ready" if event["remaining"] == 0 else f"waits for {event['remaining']} more"
        return (f" → {names[event['next_node']]} input {event['input_nr']}: "
                f"{_value_text(event.get('grad'))}  ({ready})")
    if kind in ("buffer_add", "accumulated"):
        return (f"  {_value_text(event.get('previous'))} + {_value_text(event.get('grad'))}"
                f" = {_value_text(event.get('total'))}")
    if kind == "hook":
        returned = "returned a new gradient" if event["replaced"] else "returned None"
        return f"  {event['hook_kind']} {event.get('hook_name') or ''} {returned}"
    if kind == "released":
        return "  saved tensors freed"
    if kind == "error":
        return f"  {event['error_type']}: {_short(event['message'], 90)}"
    return f"  {_value_text(event.get('grad'))}"


def _value_text(value) -> str:
    if value is None:
        return "—"
    shape = "×".join(str(n) for n in value["shape"]) or "scalar"
    if "values" in value:
        return f"{_sample(value['values'])} ({shape})"
    summary = value["summary"]
    return f"({shape}, |g| {_num(summary['norm'])})"


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


def strict_json(value):
    """``value`` with every NaN / ±inf float replaced by "NaN" / "Infinity" / "-Infinity",
    so that ``json.dumps(..., allow_nan=False)`` writes it."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, list):
        return [strict_json(v) for v in value]
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    return value


_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class _StopSignals:
    """While installed, SIGINT / SIGTERM / SIGHUP raise :class:`Stopped` — once, and only
    while ``raising``: during the cleanup a signal is only remembered, so the cleanup
    finishes and no traceback comes out of it."""

    def __init__(self):
        self.received: int | None = None
        self.raising = True
        self._previous = {sig: signal.signal(sig, self._handle) for sig in _STOP_SIGNALS}

    def _handle(self, signum, frame):
        if self.received is None:
            self.received = signum
        if self.raising:
            self.raising = False
            raise Stopped(signum)

    def restore(self):
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)


def main(argv=None, *, started: float | None = None) -> int:
    """The ``gradstudio check`` command. It owns its process: it adopts orphans
    (a child subreaper) and, before it returns, kills every process it started.
    The time limit counts from ``started`` (a ``time.monotonic()`` value): the
    command passes its process's start; called from other code, it is now."""
    started = time.monotonic() if started is None else started
    signals = _StopSignals()
    code = EXIT_CANNOT_RUN
    try:
        try:
            lifeline.become_subreaper()
            code = _command(argv, started)
        finally:
            signals.raising = False
            lifeline.kill_tree(os.getpid(), include_root=False)
            lifeline.reap_children()
    except Stopped:
        pass
    signals.restore()
    if signals.received is not None:
        name = ("interrupted" if signals.received == signal.SIGINT
                else f"stopped by {signal.Signals(signals.received).name}")
        print(f"gradstudio check: {name}", file=sys.stderr)
        return 128 + signals.received
    return code


def _command(argv, started: float) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="gradstudio check",
                                     description="Run a script and check every backward() call: "
                                                 "engine vs symbolic vs finite differences.")
    parser.add_argument("script")
    parser.add_argument("--json", action="store_true",
                        help="print the report as strict JSON (NaN and ±inf as the strings "
                             '"NaN", "Infinity", "-Infinity")')
    parser.add_argument("--timeout", type=float, default=20.0,
                        help="seconds for the whole check, counted from the start (default 20)")
    parser.add_argument("--memory", type=float, default=None, metavar="GB",
                        help="memory limit of the process that runs the script "
                             "(default half of this machine's memory)")
    parser.add_argument("--no-torch", action="store_true",
                        help="do not compare with PyTorch even if it is installed")
    parser.add_argument("--trace", action="store_true",
                        help="also record and print every step of each backward pass, in "
                             "the engine's (torch's) order")
    parser.add_argument("--hessian", action="store_true",
                        help="also give each leaf's Hessian in matrix form (scalar f of a scalar, vector or matrix leaf)")
    args = parser.parse_args(argv)
    if not (args.timeout > 0 and math.isfinite(args.timeout)):
        parser.error("--timeout must be a positive number of seconds")
    if args.memory is not None and not (0 < args.memory < 1e9):
        parser.error("--memory must be a positive number of GB")
    report, code, message = run_check(args.script, timeout=args.timeout,
                                      use_torch=False if args.no_torch else None,
                                      memory_limit=int(args.memory * GB) if args.memory else None,
                                      started=started, trace=args.trace, hessian=args.hessian)
    if report is not None:
        torch_values = report.pop(TORCH_KEY, {})
        if args.json:
            print(json.dumps(strict_json(report), allow_nan=False))
        else:
            print(format_table(report, torch_values))
            if args.trace:
                print(format_steps(report))
    if message:
        print(f"gradstudio check: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child_main(sys.argv[2:])
    else:
        raise SystemExit(main(started=time.monotonic() - lifeline.seconds_since_start()))
