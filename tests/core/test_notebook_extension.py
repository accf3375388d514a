"""``%load_ext gradstudio`` in a real Jupyter kernel, driven headlessly by nbclient.

The notebook is executed the way JupyterLab would execute it (an ipykernel
started by jupyter_client), and the assertions read the cells' outputs as
MIME bundles — what any front end receives.
"""
from __future__ import annotations

import json

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from gradstudio.studio.kernel.extension import CHECK_MIME  # noqa: E402


def execute(*sources: str) -> list:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True)
    client.execute()
    return notebook.cells


def bundles(cell) -> list:
    return [o["data"] for o in cell.outputs if o["output_type"] in ("display_data", "execute_result")]


@pytest.fixture(scope="module")
def cells():
    return execute(
        "%load_ext gradstudio",
        "import torch\nx = torch.ones(2, 2, requires_grad=True)\ny = x * x * 3\nz = y.mean()\nz.backward()\nx.grad",
        "y.backward()",
        "%gradstudio off",
        "w = torch.ones(3, requires_grad=True)\n(w * 2).sum().backward()",
        "%gradstudio on\nprint(torch.__name__)",
    )


def test_import_torch_is_gradstudio_in_the_users_cells(cells):
    printed = "".join(o.get("text", "") for o in cells[5].outputs if o["output_type"] == "stream")
    assert printed.endswith("\ngradstudio\n")


def test_a_backward_call_shows_the_check_the_formula_and_the_graph(cells):
    data = bundles(cells[1])
    html = next(d["text/html"] for d in data if "text/html" in d)
    assert "z.backward()" in html and "MeanBackward0" in html and "✓" in html
    assert "3 \\cdot 2 \\cdot x" in html or "3 \\cdot 2" in html, html       # the chain form, for MathJax
    check = next(d[CHECK_MIME] for d in data if CHECK_MIME in d)
    (leaf,) = check["leaves"]
    assert leaf["name"] == "x" and leaf["agree"] is True
    assert leaf["formula"] == "3*2*x/4" and leaf["formula_simplified"] == "3*x/2"
    assert leaf["numeric"] == [[1.5, 1.5], [1.5, 1.5]]
    json.dumps(check, allow_nan=False)   # strict JSON
    svg = next(d["image/svg+xml"] for d in data if "image/svg+xml" in d)
    assert svg.startswith("<svg") and "MeanBackward0" in svg and ">x<" in svg
    # Jupyter's own display of the last expression is untouched: Out[n] is x.grad
    result = next(o for o in cells[1].outputs if o["output_type"] == "execute_result")
    assert result["data"]["text/plain"].startswith("tensor([[1.5000, 1.5000],")


def test_a_failing_backward_keeps_ipythons_traceback_and_adds_the_hint(cells):
    error = next(o for o in cells[2].outputs if o["output_type"] == "error")
    assert error["ename"] == "RuntimeError" and "only for scalar outputs" in error["evalue"]
    html = next(d["text/html"] for d in bundles(cells[2]) if "text/html" in d)
    assert "raised" not in html and "Hint:" in html and "sum()" in html


def test_gradstudio_off_stops_the_display_and_on_resumes_it(cells):
    assert not any("text/html" in d for d in bundles(cells[4]))
    assert "off" in "".join(o.get("text", "") for o in cells[3].outputs)
    assert "shown" in "".join(o.get("text", "") for o in cells[5].outputs)
