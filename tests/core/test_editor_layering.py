"""The node editor (ui/editor) reaches the engine only through the studio layer
(``gradstudio.studio.design``): ui → studio → engine. Read from the source with
``ast`` (no Qt is imported here), so an import inside a function is caught too."""
from __future__ import annotations

import ast
import pathlib

EDITOR = pathlib.Path(__file__).resolve().parents[2] / "ui" / "editor"
ALLOWED = ("gradstudio.studio", "gradstudio.ui")


def imported_modules(path: pathlib.Path) -> list:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_the_editor_never_imports_the_engine_directly():
    files = sorted(EDITOR.glob("*.py"))
    assert len(files) > 5
    found = [(path.name, name) for path in files for name in imported_modules(path)
             if (name == "gradstudio" or name.startswith("gradstudio.")) and not name.startswith(ALLOWED)]
    assert found == [], f"go through a gradstudio.studio module instead: {found}"
