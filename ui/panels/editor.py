"""The Editor dock (the node editor); it lives in ``gradstudio.ui.editor``."""
from gradstudio.ui.editor.panel import EditorPanel

__all__ = ["EditorPanel"]
