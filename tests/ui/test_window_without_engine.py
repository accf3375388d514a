"""The window process does not load the engine: importing the main window and showing
it (a fresh interpreter, offscreen Qt) imports no gradstudio.tensor / gradstudio.ops
module and leaves numpy's error state as it found it — the engine runs in the kernel."""
from __future__ import annotations

import json
import os
import subprocess
import sys

CHILD = """
import json, sys
import numpy as np
before = np.geterr()
import gradstudio.ui.main_window
imported = sorted(m for m in sys.modules if m.startswith(("gradstudio.tensor", "gradstudio.ops",
                                                          "gradstudio.autograd", "gradstudio._api")))
from gradstudio.ui.app import application
from gradstudio.ui.main_window import MainWindow
from gradstudio.ui.settings import Settings
app = application()
window = MainWindow(Settings())
window.show()
app.processEvents()
shown = sorted(m for m in sys.modules if m.startswith(("gradstudio.tensor", "gradstudio.ops",
                                                       "gradstudio.autograd", "gradstudio._api")))
errstate_kept = np.geterr() == before
window.shutdown()
print(json.dumps({"imported": imported, "shown": shown, "errstate_kept": errstate_kept}))
"""


def test_the_main_window_imports_and_shows_without_the_engine(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out == {"imported": [], "shown": [], "errstate_kept": True}
