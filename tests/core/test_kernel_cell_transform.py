"""The bridge's stand-in for IPython's transform_cell (gradstudio.studio.kernel.bridge): a window
cell is transformed once per request, a generated one (the node editor's) gets only the post
transforms — and either way the text IPython would have run."""
from __future__ import annotations

import pytest

pytest.importorskip("IPython")

from gradstudio.studio.kernel.bridge import DATA_KEY, Bridge  # noqa: E402


class _Comms:
    def register_target(self, *args):
        pass

    def unregister_target(self, *args):
        pass


class _Kernel:
    """What the bridge asks of ipykernel's kernel: its comms and the request being served."""

    def __init__(self):
        self.comm_manager = _Comms()
        self.parent = {}

    def get_parent(self, channel="shell"):
        return self.parent


@pytest.fixture
def bridge():
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    shell.kernel = _Kernel()
    own = shell.transform_cell
    calls = []

    def counted(raw):
        calls.append(raw)
        return own(raw)
    shell.transform_cell = counted          # IPython's, counted: the bridge wraps what it finds
    found = Bridge(shell, service=type("Service", (), {"send": None})())
    assert found.register()
    found.comm = object()                   # the window is connected
    found.calls, found.own = calls, own
    yield found
    found.unregister()
    assert shell.transform_cell == counted
    del shell.transform_cell, shell.kernel


def serve(bridge, msg_id, **meta):
    bridge.shell.kernel.parent = {"header": {"msg_id": msg_id}, "metadata": {DATA_KEY: meta} if meta else {}}


def design_script():
    from gradstudio.studio import codegen
    from gradstudio.studio.design import Design
    d = Design()
    with d.batch():
        x = d.add_node("leaf", name="x", value="[1.0, -2.0]", requires_grad=True)
        t = d.add_node("op", op="elementwise.TANH")
        d.connect(x, t, 0)
        m = d.add_node("op", op="reduction.MEAN")
        d.connect(t, m, 0)
        d.connect(m, d.add_node("output"), 0)
    return codegen.design_to_script(d, exact_values=True)


@pytest.mark.parametrize("first_line", [1, 4])
def test_a_generated_cell_is_what_ipython_makes_of_it_without_its_syntax_transforms(bridge, first_line):
    script = design_script()
    serve(bridge, "a", first_line=first_line)
    expected = bridge.shell.transform_cell(script)          # IPython's whole transform, once
    assert bridge.calls == [script]
    assert expected.count("\n") == script.count("\n") + first_line - 1 + (not script.endswith("\n"))
    serve(bridge, "b", first_line=first_line, generated=True)
    assert bridge.shell.transform_cell(script) == expected
    assert bridge.calls == [script], "IPython's syntax transforms are not run for a generated cell"


def test_a_window_cell_is_transformed_once_per_request_and_other_cells_every_time(bridge):
    shell, cell = bridge.shell, "x = 1\nx?\n"        # IPython syntax: help on x
    serve(bridge, "a", first_line=1)
    first = shell.transform_cell(cell)
    assert "x = 1" in first and "x?" not in first          # IPython's transform ran
    assert shell.transform_cell(cell) == first and len(bridge.calls) == 1
    serve(bridge, "b", first_line=1)                       # the next request transforms anew
    shell.transform_cell(cell)
    assert len(bridge.calls) == 2
    serve(bridge, "c", first_line=1, generated=True)       # one line: IPython's own path
    shell.transform_cell("y = 2")
    assert bridge.calls[-1] == "y = 2"
    serve(bridge, "d")                                     # not the window's: every call is IPython's
    shell.transform_cell(cell)
    shell.transform_cell(cell)
    assert len(bridge.calls) == 5


def test_unregister_leaves_a_shell_without_a_transform_of_its_own_as_it_was():
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    shell.kernel = _Kernel()
    assert "transform_cell" not in shell.__dict__
    found = Bridge(shell, service=type("Service", (), {"send": None})())
    assert found.register() and shell.transform_cell == found.transform_cell
    found.unregister()
    assert "transform_cell" not in shell.__dict__       # the class's method again, not a copy
    del shell.kernel
