"""The core never loads Qt (or the ui package), and stays light to import."""
from __future__ import annotations

import subprocess
import sys
import textwrap


def run(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_importing_gradstudio_loads_no_qt_no_sympy_no_matplotlib():
    loaded = run("""
        import sys
        import gradstudio, gradstudio.studio.session, gradstudio.studio.compare, gradstudio.studio.trace, gradstudio.studio.check
        heavy = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'PyQt5', 'PyQt6',
                                                                'sympy', 'matplotlib', 'torch')
                 or m.startswith('gradstudio.ui')]
        print(','.join(heavy))
    """)
    assert loaded == ""


def test_running_the_engine_and_symbolic_layer_still_loads_no_qt():
    loaded = run("""
        import sys
        from gradstudio.studio import symbolic
        from gradstudio.studio import compare
        from gradstudio.studio.session import Session
        s = Session()
        s.run_cell("import torch\\nx = torch.ones(2, requires_grad=True)\\n(x * x).sum().backward()")
        call = s.backward_calls[0]
        compare.check_call(call, symbolic.derive_call(call.graph, None, [l.vertex for l in call.leaves]))
        print(','.join(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6')))
    """)
    assert loaded == ""
