"""Cells are counted on Python's lines: U+2028/U+2029 and form feeds do not end a line."""
from gradstudio.studio.session import split_cells


def test_line_and_paragraph_separators_stay_inside_their_line():
    text = "a = '\u2028'\nb = '\u2029'\x0c\n# %% second\nc = 1\n"
    cells = split_cells(text)
    assert [c.first_line for c in cells] == [1, 3]
    assert cells[1].title == "second"
    assert "".join(c.source for c in cells) == text
    compile(cells[0].source.replace("\u2028", "").replace("\u2029", ""), "<cell>", "exec")


def test_crlf_and_cr_end_lines_as_python_does():
    cells = split_cells("x = 1\r\n# %%\ry = 2")
    assert [(c.first_line, c.source) for c in cells] == [(1, "x = 1\r\n"), (2, "# %%\ry = 2")]
