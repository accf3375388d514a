"""``torch.autograd.profiler.profile``: time GradStudio's own ops, printed in
torch's table layout.

While a ``profile`` is entered, every op-table row's numpy forward is timed as
``aten::<name>`` and every node the backward pass runs as its grad_fn name
(``MulBackward0``); nested work (the tensor ops of a backward rule under
``create_graph=True``) counts to the outer event's total but not to its self
time, as in torch. Nothing is timed — and nothing costs — outside the block:
the rows' forwards and the engine's rule step are wrapped on entry and put back
on exit. ``key_averages().table(sort_by=…, row_limit=…)`` prints what torch
prints: Name, Self CPU %, Self CPU, CPU total %, CPU total, CPU time avg,
# of Calls, and the self total.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

_SORT_KEYS = {"self_cpu_time_total": "self_cpu_time_total", "cpu_time_total": "cpu_time_total",
              "cpu_time": "cpu_time", "count": "count", None: None}


@dataclass
class FunctionEventAvg:
    key: str
    count: int = 0
    cpu_time_total: float = 0.0        # microseconds, as torch counts
    self_cpu_time_total: float = 0.0

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / self.count if self.count else 0.0


class EventList(list):
    def table(self, sort_by=None, row_limit: int = 100, max_name_column_width: int = 55, **kwargs) -> str:
        return _table(self, sort_by, row_limit, max_name_column_width)

    def total_average(self) -> FunctionEventAvg:
        total = FunctionEventAvg("Total")
        for event in self:
            total.count += event.count
            total.cpu_time_total += event.cpu_time_total
            total.self_cpu_time_total += event.self_cpu_time_total
        return total


def _op_name(op) -> str:
    if op.api:
        return f"aten::{op.api[0]}"
    return "aten::" + (op.id.rsplit(".", 1)[-1].lower() if op.id else op.name)


class profile:  # noqa: N801 — torch's name
    """``with torch.autograd.profiler.profile() as prof: …`` then
    ``print(prof.key_averages().table(sort_by="self_cpu_time_total"))``."""

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False, use_device=None,
                 record_shapes: bool = False, with_flops: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_modules: bool = False, use_kineto: bool = True,
                 use_cpu: bool = True, experimental_config=None, acc_events: bool = False,
                 custom_trace_id_callback=None):
        self.enabled = enabled
        self._averages: dict = {}
        self._stack: list = []       # [child time] of the events running now
        self._restore: list = []

    # -- recording ----------------------------------------------------------------------------
    def _timed(self, name, function):
        averages, stack = self._averages, self._stack

        def timed(*args, **kwargs):
            stack.append(0.0)
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                total = (time.perf_counter() - start) * 1e6
                children = stack.pop()
                if stack:
                    stack[-1] += total
                event = averages.get(name)
                if event is None:
                    event = averages[name] = FunctionEventAvg(name)
                event.count += 1
                event.cpu_time_total += total
                event.self_cpu_time_total += total - children
        return timed

    def __enter__(self):
        if not self.enabled:
            return self
        from ..ops.table import rows
        from . import engine
        for op in rows():
            if op.forward is not None:
                self._restore.append((op, "forward", op.forward))
                object.__setattr__(op, "forward", self._timed(_op_name(op), op.forward))
        rules = engine.apply_rules
        names = {}

        def apply_rules(node, grad):
            name = node.name()
            timed = names.get(name)
            if timed is None:
                timed = names[name] = self._timed(name, rules)
            return timed(node, grad)
        self._engine_rules = rules
        engine.apply_rules = apply_rules
        return self

    def __exit__(self, *exc):
        for owner, attribute, value in reversed(self._restore):
            object.__setattr__(owner, attribute, value)   # rows are frozen: their one way in
        self._restore.clear()
        if getattr(self, "_engine_rules", None) is not None:
            from . import engine
            engine.apply_rules, self._engine_rules = self._engine_rules, None
        return False

    # -- results --------------------------------------------------------------------------------
    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0) -> EventList:
        return EventList(self._averages.values())

    def table(self, sort_by=None, row_limit: int = 100, **kwargs) -> str:
        return self.key_averages().table(sort_by=sort_by, row_limit=row_limit, **kwargs)

    @property
    def self_cpu_time_total(self) -> float:
        return sum(e.self_cpu_time_total for e in self._averages.values())

    def __str__(self):
        return self.table()


def _format_time(us: float) -> str:
    """torch.autograd.profiler_util._format_time."""
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _table(events, sort_by, row_limit, name_width) -> str:
    if sort_by not in _SORT_KEYS:
        raise AttributeError(f"'FunctionEventAvg' object has no attribute '{sort_by}'")
    events = list(events)
    every = sum(e.self_cpu_time_total for e in events)   # percentages are of all events, shown or not
    if sort_by is not None:
        events.sort(key=lambda e: getattr(e, sort_by), reverse=True)
    if row_limit is not None and row_limit > 0:
        events = events[:row_limit]
    headers = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "# of Calls"]
    widths = [name_width] + [12] * 6
    line = "".join("-" * w + "  " for w in widths)

    def row(cells):
        return "".join(str(c).rjust(w) + "  " for c, w in zip(cells, widths))

    def name(text):
        return text if len(text) <= name_width else text[:name_width - 3] + "..."
    percent = (lambda t: f"{100 * t / every:.2f}%") if every else (lambda t: "0.00%")
    out = [line, row(headers), line]
    for e in events:
        out.append(row([name(e.key), percent(e.self_cpu_time_total), _format_time(e.self_cpu_time_total),
                        percent(e.cpu_time_total), _format_time(e.cpu_time_total), _format_time(e.cpu_time),
                        e.count]))
    out.append(line)
    out.append(f"Self CPU time total: {_format_time(every)}")
    return "\n".join(out) + "\n"
