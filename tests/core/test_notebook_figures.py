"""The notebook's check table and graph SVG fit the output area they are shown in.

Rendered in a headless browser, a graph wider than the notebook's output area
used to scroll sideways and the error column broke "1.4e-07" over two lines;
these assert the markup that prevents both."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from gradstudio.studio.compare import check_call
from gradstudio.studio.figures.html import call_html
from gradstudio.studio.figures.svg import graph_svg
from gradstudio.studio.session import Session


def _call(source: str):
    session = Session()
    run = session.run_cell("import torch\n" + source)
    assert run.ok, run.error
    return session.backward_calls[-1]


def test_the_graph_svg_scales_down_to_a_narrow_output_area():
    call = _call("x = torch.ones(3, requires_grad=True)\ny = x\nfor _ in range(6):\n    y = (y * 2).exp().log()\n"
                 "y.sum().backward()\n")
    root = ET.fromstring(graph_svg(call.graph))
    width, height = float(root.get("width")), float(root.get("height"))
    assert width > 800                       # wider than a notebook column: it has to scale
    assert root.get("viewBox").split() == ["0", "0", f"{width:.0f}", f"{height:.0f}"]
    assert "max-width:100%" in root.get("style") and "height:auto" in root.get("style")


def test_the_error_column_never_wraps_an_exponent():
    call = _call("x = torch.ones(2, 2, requires_grad=True)\n(x * x * 3).mean().backward()\n")
    html = call_html(check_call(call))
    assert '<span style="white-space:nowrap">' in html
    cell = html.split('<span style="white-space:nowrap">', 1)[1].split("</span>", 1)[0]
    assert "e-" in cell or "e+" in cell
