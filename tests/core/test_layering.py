"""Layers point one way: ui → gradstudio.studio → gradstudio (the engine).

Each check runs in a fresh interpreter and reads ``sys.modules``, so an import
hidden inside a function that the import itself runs is caught too.
"""
from __future__ import annotations

import pathlib
import subprocess
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parents[2]
QT = ('PySide6', 'shiboken6', 'PyQt5', 'PyQt6')


def run(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def modules_under(folder: pathlib.Path, package: str) -> list[str]:
    names = []
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(folder).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        elif parts[-1] == "__main__":
            continue
        names.append(".".join((package, *parts)))
    return names


ENGINE = [m for m in modules_under(ROOT / "gradstudio", "gradstudio") if not m.startswith("gradstudio.studio")]
STUDIO = modules_under(ROOT / "gradstudio" / "studio", "gradstudio.studio")


def test_the_module_lists_are_not_empty():
    assert "gradstudio.autograd.engine" in ENGINE and "gradstudio.ops.table" in ENGINE
    assert "gradstudio.studio.session" in STUDIO and "gradstudio.studio.trace" in STUDIO


def test_the_engine_never_imports_the_studio_layer_or_qt():
    loaded = run(f"""
        import importlib, sys
        for name in {ENGINE!r}:
            importlib.import_module(name)
        print(','.join(m for m in sys.modules
                       if m.startswith(('gradstudio.studio', 'gradstudio.ui')) or m.split('.')[0] in {QT!r}))
    """)
    assert loaded == ""


def test_the_studio_layer_never_imports_qt():
    loaded = run(f"""
        import importlib, sys
        for name in {STUDIO!r}:
            importlib.import_module(name)
        print(','.join(m for m in sys.modules if m.split('.')[0] in {QT!r} or m.startswith('gradstudio.ui')))
    """)
    assert loaded == ""


def test_importing_gradstudio_loads_no_qt_no_sympy_no_matplotlib():
    loaded = run("""
        import sys
        import gradstudio, gradstudio.studio.session, gradstudio.studio.compare, gradstudio.studio.trace
        import gradstudio.studio.check
        heavy = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'PyQt5', 'PyQt6',
                                                                'sympy', 'matplotlib', 'torch')
                 or m.startswith('gradstudio.ui')]
        print(','.join(heavy))
    """)
    assert loaded == ""


def test_running_the_engine_and_symbolic_layer_still_loads_no_qt():
    loaded = run("""
        import sys
        from gradstudio.studio import symbolic, compare
        from gradstudio.studio.session import Session
        s = Session()
        s.run_cell("import torch\\nx = torch.ones(2, requires_grad=True)\\n(x * x).sum().backward()")
        call = s.backward_calls[0]
        compare.check_call(call, symbolic.derive_call(call.graph, None, [l.vertex for l in call.leaves]))
        print(','.join(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6')))
    """)
    assert loaded == ""


def _imported_names(path: pathlib.Path) -> list[tuple[int, str]]:
    """Every module an ``import`` statement in ``path`` names, wherever it stands (inside
    functions too), with relative imports resolved against the file's package."""
    import ast
    package = ".".join(("gradstudio", *path.relative_to(ROOT / "gradstudio").parent.parts))
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def test_the_studio_layer_never_names_the_app_even_in_a_lazy_import():
    """The subprocess checks above see only what importing runs; an import inside a
    function (``from gradstudio.ui.app import main`` in a command) is found here."""
    offending = []
    for path in sorted((ROOT / "gradstudio" / "studio").rglob("*.py")):
        for line, name in _imported_names(path):
            if name == "gradstudio.ui" or name.startswith("gradstudio.ui.") or name.split(".")[0] in QT:
                offending.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert offending == []


def test_the_import_scan_sees_lazy_and_relative_imports(tmp_path, monkeypatch):
    folder = ROOT / "gradstudio" / "studio" / "kernel"
    probe = folder / "_layering_probe_.py"
    probe.write_text("def f():\n    from ...ui import app\n    import PySide6.QtCore\n")
    try:
        names = [name for _, name in _imported_names(probe)]
    finally:
        probe.unlink()
    assert "gradstudio.ui.app" in names and "PySide6.QtCore" in names


def test_the_check_commands_parent_never_loads_the_engine(tmp_path):
    """``gradstudio check``'s time limit counts from the start, and the engine runs in
    its child: importing the engine in the parent as well only spends the limit."""
    script = tmp_path / "plain.py"
    script.write_text("x = 1\n")
    loaded = run(f"""
        import sys
        from gradstudio.studio import check
        check.oracle_available()
        report, code, message = check.run_check({str(script)!r}, use_torch=False, timeout=120)
        assert code == 0, message
        print(','.join(m for m in sys.modules
                       if m.startswith(('gradstudio.autograd', 'gradstudio.ops', 'gradstudio.tensor'))))
    """)
    assert loaded == ""
