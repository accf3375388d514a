"""torch.autograd.profiler.profile over GradStudio's own ops: events per op and per
backward node, counts, self vs total time, torch's table layout, nothing left
wrapped after the block."""
from __future__ import annotations

import re

import pytest

import gradstudio as torch
from gradstudio.autograd import engine
from gradstudio.ops import table


def _profiled():
    x = torch.ones(3, requires_grad=True)
    rules, forward = engine.apply_rules, table.op_by_id("reduction.SUM").forward
    with torch.autograd.profiler.profile() as prof:
        for _ in range(3):
            (x.exp() * 2).sum().backward()
    assert engine.apply_rules is rules and table.op_by_id("reduction.SUM").forward is forward
    return prof


def test_forward_ops_and_backward_nodes_are_counted():
    events = {e.key: e for e in _profiled().key_averages()}
    assert events["aten::exp"].count == events["aten::sum"].count == 3
    assert events["SumBackward0"].count == events["ExpBackward0"].count == 3
    for event in events.values():
        assert 0 <= event.self_cpu_time_total <= event.cpu_time_total + 1e-9
    # the expand inside SumBackward0's rule is its child: in its total, not its self time
    assert events["aten::expand"].count == 3


def test_table_layout_sorting_and_row_limit():
    text = _profiled().key_averages().table(sort_by="self_cpu_time_total", row_limit=2)
    lines = text.splitlines()
    assert lines[0] == lines[2] == lines[-2] == "-" * 55 + "  " + ("-" * 12 + "  ") * 6
    assert lines[1].split() == ["Name", "Self", "CPU", "%", "Self", "CPU", "CPU", "total", "%", "CPU",
                                "total", "CPU", "time", "avg", "#", "of", "Calls"]
    rows = lines[3:-2]
    assert len(rows) == 2
    selfs = [float(re.findall(r"([\d.]+)%", r)[0]) for r in rows]
    assert selfs == sorted(selfs, reverse=True)
    assert re.fullmatch(r"Self CPU time total: [\d.]+(us|ms|s)", lines[-1])
    with pytest.raises(AttributeError):
        _profiled().key_averages().table(sort_by="no_such_key")


def test_disabled_profile_records_nothing():
    with torch.autograd.profiler.profile(enabled=False) as prof:
        torch.ones(2, requires_grad=True).exp().sum().backward()
    assert len(prof.key_averages()) == 0


@pytest.mark.oracle
def test_the_header_is_torchs():
    real = pytest.importorskip("torch")
    with real.autograd.profiler.profile() as prof:
        (real.ones(3, requires_grad=True) * 2).sum().backward()
    theirs = prof.key_averages().table(row_limit=1).splitlines()
    ours = _profiled().key_averages().table(row_limit=1).splitlines()
    assert ours[:3] == theirs[:3] and ours[-2] == theirs[-2]
    assert len(ours[3]) == len(theirs[3])
