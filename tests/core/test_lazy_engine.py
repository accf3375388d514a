"""``import gradstudio`` makes the torch-shaped names on first use (gradstudio/__init__.py):
the studio's modules load no engine module, and the engine behaves as before once
any of its names or modules is touched. Each check runs in a fresh interpreter, since
this test process has long loaded the engine."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

ENGINE = ("gradstudio.tensor", "gradstudio.ops", "gradstudio.autograd", "gradstudio.nn",
          "gradstudio.dtypes", "gradstudio._api")


def fresh(code: str) -> dict:
    """Run ``code`` in a new interpreter; it prints one JSON object on its last line."""
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_studio_modules_the_window_imports_load_no_engine_module():
    out = fresh(f"""
        import json, sys, numpy as np
        before = np.geterr()
        import gradstudio
        import gradstudio.studio.cells, gradstudio.studio.compare, gradstudio.studio.kernel.records
        import gradstudio.studio.kernel.blocking, gradstudio.studio.project, gradstudio.studio.hints
        print(json.dumps({{"version": gradstudio.__version__,
                          "engine": sorted(m for m in sys.modules if m.startswith({ENGINE!r})),
                          "errstate_kept": np.geterr() == before}}))
    """)
    assert out == {"version": "0.1.0", "engine": [], "errstate_kept": True}


def test_the_first_public_name_loads_the_engine_as_import_gradstudio_did():
    out = fresh("""
        import json, numpy as np
        import gradstudio as torch
        x = torch.tensor([1.0, 2.0], requires_grad=True)
        (x * x).sum().backward()
        print(json.dumps({"grad": x.grad.tolist(), "tensor_is_function": callable(torch.tensor)
                          and type(torch.tensor).__name__ == "function",
                          "errstate": np.geterr()["divide"], "exp": torch.exp.__name__}))
    """)
    assert out == {"grad": [2.0, 4.0], "tensor_is_function": True, "errstate": "ignore", "exp": "exp"}


def test_importing_an_engine_module_first_loads_the_whole_api():
    # the engine's modules rely on the API's import order (gradstudio.tensor before
    # autograd.api, the op table bound onto Tensor), and torch.tensor stays the function
    out = fresh("""
        import json, numpy as np
        from gradstudio.autograd.grad_mode import state
        from gradstudio.ops.table import apply
        from gradstudio.tensor import Tensor
        import gradstudio as torch
        import gradstudio.tensor as also
        print(json.dumps({"mul": hasattr(Tensor, "__mul__"), "errstate": np.geterr()["divide"],
                          "tensor": type(torch.tensor).__name__, "also": type(also).__name__,
                          "value": (torch.ones(2) * 3).tolist()}))
    """)
    assert out == {"mul": True, "errstate": "ignore", "tensor": "function", "also": "function",
                   "value": [3.0, 3.0]}


def test_dir_star_import_and_submodules_are_the_eager_packages():
    out = fresh("""
        import json
        import gradstudio as torch
        names = dir(torch)
        star = {}
        exec("from gradstudio import *", star)
        from gradstudio import nn, optim
        import gradstudio.nn.functional as F
        print(json.dumps({"public": sorted(n for n in names if not n.startswith("_")),
                          "star": sorted(n for n in star if not n.startswith("_")),
                          "nn": nn.Linear.__name__, "F": F.linear.__name__,
                          "sgd": optim.SGD.__name__, "missing": hasattr(torch, "no_such_name")}))
    """)
    assert out["public"] == out["star"]
    assert {"tensor", "Tensor", "nn", "optim", "autograd", "float32", "no_grad", "exp"} <= set(out["star"])
    assert (out["nn"], out["F"], out["sgd"], out["missing"]) == ("Linear", "linear", "SGD", False)


def test_only_the_listed_submodules_share_a_name_with_the_api():
    # a new engine module named like a public function would shadow it until the API
    # loads; gradstudio._SHADOWED_SUBMODULES must list it
    import pkgutil
    import types

    import gradstudio
    submodules = {m.name for m in pkgutil.iter_modules(gradstudio.__path__)}
    public = {n for n in dir(gradstudio) if not n.startswith("_")}
    clashes = {n for n in submodules & public if not isinstance(getattr(gradstudio, n), types.ModuleType)}
    assert clashes == set(gradstudio._SHADOWED_SUBMODULES)
