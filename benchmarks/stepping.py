"""Stepping through backward(): scrubbing a trace, and what recording one costs.

    python benchmarks/stepping.py [--events 1000] [--rounds 5] [--wall]

1. scrub — random access over a trace of about ``--events`` events
   (:class:`gradstudio.studio.stepping.Stepper`, checkpoints every 64 events):
   the time to produce the state at a random step, median and worst over 1,000
   random steps, after the trace arrives as JSON (the target is < 100 ms a step;
   the first access builds the checkpoints up to it, and is reported apart).
2. record — the cost of the step trace in the kernel: each example script run
   by a ``Session`` with ``step_trace`` off and on, and a 300-op chain's backward
   with and without a Recorder, and the trace's ``to_data`` (what the kernel sends).
   Printed as ratios on / off (median of the rounds' ratios, adjacent runs), beside
   the absolute times.

Times are this thread's CPU time (``time.thread_time``): the work is one thread,
and on a shared machine wall-clock ratios swing 0.2–3× from run to run. ``--wall``
measures wall-clock time instead.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import random
import statistics
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
clock = time.thread_time


def chain_trace(events: int) -> dict:
    """A recorded backward call with about ``events`` events (a chain of sin/mul with a
    fan-out at every link), as the JSON the app receives."""
    from gradstudio.studio.session import Session
    from gradstudio.studio.kernel.records import call_data
    links = max(1, events // 9)
    source = ("import torch\nx = torch.ones(3, requires_grad=True)\ny = x\n"
              f"for _ in range({links}):\n    y = (y * 1.001).sin() + y\ny.sum().backward()\n")
    session = Session("<bench>", step_trace=True)
    session.run_script(source)
    return json.loads(json.dumps(call_data(session.backward_calls[-1]).steps))


def scrub(events: int):
    from gradstudio.studio.stepping import Stepper
    trace = chain_trace(events)
    n = len(trace["events"])
    stepper = Stepper(trace)
    start = time.perf_counter()
    stepper.state(n - 1)                 # jump to the end: builds every checkpoint
    first = time.perf_counter() - start
    rng = random.Random(0)
    times = []
    for _ in range(1000):
        k = rng.randrange(-1, n)
        t = time.perf_counter()
        stepper.state(k)
        times.append(time.perf_counter() - t)
    print(f"scrub: {n} events; first jump to the end {first * 1e3:.2f} ms; "
          f"random step median {statistics.median(times) * 1e3:.3f} ms, "
          f"worst {max(times) * 1e3:.3f} ms (target < 100 ms)")


def _session_time(source: str, trace: bool) -> float:
    from gradstudio.studio.session import Session
    t = clock()
    Session("<bench>", step_trace=trace).run_script(source, stop_on_error=False)
    return clock() - t


def _chain_time(recorder: bool, keep: list | None = None) -> float:
    import gradstudio as torch
    from gradstudio.autograd import api
    from gradstudio.autograd.events import Recorder
    x = torch.ones(3, requires_grad=True)
    y = x
    for _ in range(300):
        y = y * 1.0001
    z = y.sum()
    tracer = Recorder() if recorder else None
    t = clock()
    api._backward(z, None, None, False, None, tracer=tracer)
    elapsed = clock() - t
    if keep is not None and tracer is not None:
        keep.append(tracer.trace)
    return elapsed


def to_data(rounds: int):
    """The kernel's cost of turning a 300-op chain's trace into plain data."""
    traces: list = []
    backward = min(_chain_time(True, traces) for _ in range(rounds))
    times = []
    for trace in traces:
        t = clock()
        trace.to_data()
        times.append(clock() - t)
    print(f"to_data chain300: {len(traces[0].events)} events, {min(times) * 1e3:.2f} ms "
          f"({min(times) / backward:.2f}× the recorded backward's {backward * 1e3:.2f} ms)")


def record(rounds: int):
    cases = {p.stem: (lambda flag, s=p.read_text(): _session_time(s, flag))
             for p in sorted((ROOT / "resources" / "examples").glob("*.py")) if p.stem != "__init__"}
    cases["chain300 backward"] = _chain_time
    for name, run in cases.items():
        run(False), run(True)                       # warm up imports and caches
        ratios, offs, ons = [], [], []
        for _ in range(rounds):
            off, on = run(False), run(True)
            ratios.append(on / off)
            offs.append(off)
            ons.append(on)
        print(f"record {name:24s} off {min(offs) * 1e3:7.2f} ms  on {min(ons) * 1e3:7.2f} ms  "
              f"on/off {statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--wall", action="store_true", help="wall-clock time instead of CPU time")
    args = parser.parse_args()
    if args.wall:
        global clock
        clock = time.perf_counter
    scrub(args.events)
    record(args.rounds)
    to_data(args.rounds)


if __name__ == "__main__":
    main()
