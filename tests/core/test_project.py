"""Project files: atomic save, validation of what is loaded, notebooks, recovery."""
from __future__ import annotations

import json
import os

import pytest

from gradstudio.studio import project as P


def test_round_trip(tmp_path):
    path = tmp_path / "a.gradstudio"
    original = P.Project(script="# %%\nx = 1\nprint('é')\n", view={"cursor": 12, "docks": ["a"]})
    P.save(original, str(path))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "gradstudio" and data["version"] == 1
    loaded = P.load(str(path))
    assert loaded == original


def test_save_py_writes_the_script(tmp_path):
    path = tmp_path / "s.py"
    P.save(P.Project(script="x = 1\n"), str(path))
    assert path.read_text() == "x = 1\n"
    assert P.load(str(path)).script == "x = 1\n"


def test_atomic_save_failure_leaves_original(tmp_path, monkeypatch):
    path = tmp_path / "keep.gradstudio"
    P.save(P.Project(script="old"), str(path))
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(P.ProjectError, match="No space left"):
        P.save(P.Project(script="new " * 1000), str(path))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.gradstudio"]


def test_atomic_save_failure_during_write(tmp_path, monkeypatch):
    path = tmp_path / "keep.gradstudio"
    P.save(P.Project(script="old"), str(path))
    before = path.read_bytes()

    def boom(fd):
        raise OSError(5, "Input/output error")
    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(P.ProjectError):
        P.save(P.Project(script="new"), str(path))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.gradstudio"]


def test_save_keeps_permissions(tmp_path):
    path = tmp_path / "p.gradstudio"
    P.save(P.Project(script="a"), str(path))
    os.chmod(path, 0o640)
    P.save(P.Project(script="b"), str(path))
    assert (os.stat(path).st_mode & 0o777) == 0o640


@pytest.mark.parametrize("content, message", [
    ("{not json", "damaged or not JSON"),
    ("", "damaged or not JSON"),
    ("[1, 2]", "not a GradStudio project"),
    ('{"format": "other", "version": 1}', "not a GradStudio project"),
    ('{"format": "gradstudio"}', "invalid version"),
    ('{"format": "gradstudio", "version": "1"}', "invalid version"),
    ('{"format": "gradstudio", "version": true}', "invalid version"),
    ('{"format": "gradstudio", "version": 0}', "invalid version"),
    ('{"format": "gradstudio", "version": 1, "script": 5}', "\"script\" must be text"),
    ('{"format": "gradstudio", "version": 1, "script": "", "view": []}', "\"view\" must be an object"),
    ('{"format": "gradstudio", "version": 1, "script": "", "view": {"a": NaN}}', "damaged"),
    ("[" * 100000, "nested too deeply|damaged"),
])
def test_bad_projects_are_refused_clearly(tmp_path, content, message):
    path = tmp_path / "bad.gradstudio"
    path.write_text(content)
    with pytest.raises(P.ProjectError, match=message):
        P.load(str(path))
    assert path.read_text() == content


def test_newer_version_is_refused_and_untouched(tmp_path):
    path = tmp_path / "future.gradstudio"
    content = json.dumps({"format": "gradstudio", "version": 2, "script": "x", "graph": {}})
    path.write_text(content)
    with pytest.raises(P.ProjectError) as info:
        P.load(str(path))
    assert "made by a newer GradStudio (version 2); this one reads version 1" in str(info.value)
    assert path.read_text() == content


def test_oversized_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(P, "MAX_BYTES", 1000)
    path = tmp_path / "big.py"
    path.write_text("x = 1\n" * 1000)
    with pytest.raises(P.ProjectError, match="too large"):
        P.load(str(path))


def test_non_utf8_script(tmp_path):
    path = tmp_path / "latin.py"
    path.write_bytes(b"x = '\xe9'\n")
    with pytest.raises(P.ProjectError, match="not UTF-8"):
        P.load(str(path))


def test_missing_file(tmp_path):
    with pytest.raises(P.ProjectError, match="cannot read"):
        P.load(str(tmp_path / "nope.gradstudio"))


def test_ipynb_code_cells(tmp_path):
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "source": ["# Title\n"], "metadata": {}},
        {"cell_type": "code", "source": ["import torch\n", "x = torch.ones(2)"], "metadata": {},
         "outputs": [], "execution_count": 1},
        {"cell_type": "code", "source": "%matplotlib inline\nprint(x)\n", "metadata": {},
         "outputs": [], "execution_count": None},
    ]}
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(nb))
    script = P.load(str(path)).script
    assert script == ("# %% [markdown]\n# # Title\n\n# %%\nimport torch\nx = torch.ones(2)\n\n"
                      "# %%\n# %matplotlib inline\nprint(x)\n")
    from gradstudio.studio.session import split_cells
    cells = split_cells(script)
    assert [c.source.splitlines()[1] for c in cells] == ["# # Title", "import torch", "# %matplotlib inline"]
    assert [(c.kind, c.index) for c in cells] == [("markdown", None), ("code", 1), ("code", 2)]


@pytest.mark.parametrize("content", ['{"cells": 3}', "nope", '{"worksheets": []}',
                                     '{"cells": [{"cell_type": "code", "source": [1]}]}'])
def test_bad_notebooks(tmp_path, content):
    path = tmp_path / "bad.ipynb"
    path.write_text(content)
    with pytest.raises(P.ProjectError):
        P.load(str(path))


def test_recovery_files(tmp_path):
    directory = tmp_path / "state"
    path = P.new_recovery_path(str(directory))
    P.write_recovery(path, P.Project(script="draft"), "/somewhere/doc.gradstudio")
    # our own (live) autosave is not offered as a crash leftover
    assert P.find_recoveries(str(directory)) == []
    found = P.find_recoveries(str(directory), include_live=True)
    assert found[0].original == "/somewhere/doc.gradstudio" and found[0].project.script == "draft"
    # one written by a process that is gone is offered
    data = json.loads(open(path).read())
    data["recovery"]["pid"] = 2 ** 22 + 12345
    dead = directory / "recovery-dead-1.gradstudio"
    dead.write_text(json.dumps(data))
    (directory / "recovery-junk.gradstudio").write_text("{broken")
    found = P.find_recoveries(str(directory))
    assert [os.path.basename(r.path) for r in found] == ["recovery-dead-1.gradstudio"]
    P.remove_file(found[0].path)
    P.remove_file(found[0].path)   # twice is fine
    assert not dead.exists()


def test_loading_never_runs_the_script(tmp_path):
    canary = tmp_path / "canary"
    script = f"open({str(canary)!r}, 'w').write('ran')\n"
    for name, content in [("a.py", script),
                          ("a.gradstudio", P.to_json(P.Project(script=script)))]:
        (tmp_path / name).write_text(content)
        assert P.load(str(tmp_path / name)).script == script
    assert not canary.exists()


# --------------------------------------------------------------------------- typed view state
def _project_text(view, **extra) -> str:
    data = {"format": "gradstudio", "version": 1, "script": "x = 1\n", "view": view}
    data.update(extra)
    return json.dumps(data)


@pytest.mark.parametrize("view, field", [
    ({"plots": {"points": 2147483648}}, "view.plots.points"),
    ({"plots": {"points": 2}}, "view.plots.points"),
    ({"plots": {"points": 40.5}}, "view.plots.points"),
    ({"plots": {"lo": 1e300}}, "view.plots.lo"),
    ({"plots": {"tab": "nope"}}, "view.plots.tab"),
    ({"plots": {"log_colors": 1}}, "view.plots.log_colors"),
    ({"plots": "text"}, "view.plots"),
    ({"graph": {"zoom": 0}}, "view.graph.zoom"),
    ({"graph": {"call": -1}}, "view.graph.call"),
    ({"cursor": -5}, "view.cursor"),
    ({"cursor": True}, "view.cursor"),
])
def test_out_of_range_view_state_is_refused_naming_the_field(tmp_path, view, field):
    path = tmp_path / "v.gradstudio"
    path.write_text(_project_text(view))
    with pytest.raises(P.ProjectError) as info:
        P.load(str(path))
    assert f'"{field}"' in str(info.value) and str(info.value).startswith("v.gradstudio is damaged")


def test_a_400_digit_zoom_is_a_project_error_not_an_overflow(tmp_path):
    path = tmp_path / "z.gradstudio"
    path.write_text(_project_text({}).replace('"view": {}', '"view": {"graph": {"zoom": 1' + "0" * 400 + "}}"))
    with pytest.raises(P.ProjectError, match='"view.graph.zoom" is out of range|view.graph.zoom'):
        P.load(str(path))


def test_valid_view_state_loads_as_plain_checked_values(tmp_path):
    path = tmp_path / "ok.gradstudio"
    view = {"cursor": 3, "graph": {"zoom": 1, "follow_latest": False, "call": None},
            "plots": {"tab": "sweep", "points": 401, "lo": -2, "hi": 2.5}, "docks": ["kept"]}
    path.write_text(_project_text(view))
    loaded = P.load(str(path)).view
    assert loaded == {"cursor": 3, "graph": {"zoom": 1.0, "follow_latest": False},
                      "plots": {"tab": "sweep", "points": 401, "lo": -2.0, "hi": 2.5}, "docks": ["kept"]}
    assert type(loaded["graph"]["zoom"]) is float


@pytest.mark.parametrize("number", ["1e999", "-1e999", "Infinity", "NaN", "-Infinity"])
def test_non_finite_numbers_are_refused_anywhere(tmp_path, number):
    path = tmp_path / "inf.gradstudio"
    path.write_text(_project_text({}).replace('"view": {}', '"view": {"other": [1, {"deep": %s}]}' % number))
    with pytest.raises(P.ProjectError, match="damaged or not JSON"):
        P.load(str(path))


def test_saving_never_writes_nan_or_infinity(tmp_path):
    path = tmp_path / "s.gradstudio"
    for bad in (float("inf"), float("nan")):
        with pytest.raises(P.ProjectError, match=r'"project.view.graph.zoom" must be a finite number'):
            P.save(P.Project(script="x", view={"graph": {"zoom": bad}}), str(path))
        assert not path.exists()
    with pytest.raises(P.ProjectError, match="view.graph.zoom"):
        P.clean_view_section("graph", {"zoom": float("inf")})
    assert P.clean_view_section("graph", {"zoom": 2, "call": None}) == {"zoom": 2.0}


# --------------------------------------------------------------------------- saving
def test_a_lone_surrogate_is_a_project_error_naming_the_line(tmp_path):
    for name in ("s.gradstudio", "s.py", "s.ipynb"):
        path = tmp_path / name
        with pytest.raises(P.ProjectError, match=r"U\+D800.*line 2"):
            P.save(P.Project(script="x = 1\ny = '\ud800'\n"), str(path))
        assert not path.exists()
    assert os.listdir(tmp_path) == []


def test_a_huge_bad_value_gives_a_short_message(tmp_path):
    path = tmp_path / "big.gradstudio"
    path.write_text(json.dumps({"format": "gradstudio", "version": "9" * 5_000_000}))
    with pytest.raises(P.ProjectError) as info:
        P.load(str(path))
    assert "invalid version" in str(info.value) and len(str(info.value)) < 300
    path.write_text(_project_text({"plots": {"tab": "t" * 5_000_000}}))
    with pytest.raises(P.ProjectError) as info:
        P.load(str(path))
    assert "view.plots.tab" in str(info.value) and len(str(info.value)) < 300


def _dead_pid() -> int:
    pid = 2 ** 22 + 777
    assert not P._pid_running(pid)
    return pid


def test_stale_temp_files_of_killed_saves_are_removed_by_the_next_save(tmp_path):
    path = tmp_path / "doc.gradstudio"
    dead = tmp_path / f".~doc.gradstudio.{_dead_pid()}.k1llED_.tmp"
    live = tmp_path / f".~doc.gradstudio.{os.getppid()}.inprogress.tmp"     # a running process's
    other_doc = tmp_path / f".~other.gradstudio.{_dead_pid()}.abc.tmp"
    mine_by_name = tmp_path / "notes.tmp"
    for leftover in (dead, live, other_doc, mine_by_name):
        leftover.write_text("partial")
    P.save(P.Project(script="x"), str(path))
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["doc.gradstudio", live.name, other_doc.name, mine_by_name.name])


def test_saving_through_a_symlink_writes_the_target_and_keeps_the_link(tmp_path):
    real = tmp_path / "real" / "doc.gradstudio"
    real.parent.mkdir()
    P.save(P.Project(script="old"), str(real))
    link = tmp_path / "link.gradstudio"
    link.symlink_to(real)
    P.save(P.Project(script="new"), str(link))
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert P.load(str(real)).script == "new"
    assert os.listdir(tmp_path / "real") == ["doc.gradstudio"]


# --------------------------------------------------------------------------- recovery
def _recovery(directory, name, info, script="draft"):
    path = directory / name
    path.write_text(json.dumps({"format": "gradstudio", "version": 1, "script": script,
                                "view": {}, "recovery": info}))
    return path


@pytest.mark.parametrize("bad", [
    {"original": None, "saved_at": 1.0, "pid": 2 ** 63},
    {"original": None, "saved_at": 1e20, "pid": 12},
    {"original": None, "saved_at": -1.0, "pid": 12},
    {"original": None, "saved_at": "yesterday", "pid": 12},
    {"original": 5, "saved_at": 1.0, "pid": 12},
    "text",
])
def test_one_bad_recovery_file_never_hides_the_good_ones(tmp_path, bad):
    good = _recovery(tmp_path, "recovery-1-good.gradstudio",
                     {"original": "/x/doc.gradstudio", "saved_at": 1000.0, "pid": _dead_pid()}, "good")
    broken = _recovery(tmp_path, "recovery-2-bad.gradstudio", bad, "bad")
    scan = P.scan_recoveries(str(tmp_path))
    assert [r.project.script for r in scan.found] == ["good"]
    assert scan.found[0].path == str(good)
    [(aside, reason)] = scan.damaged
    assert aside == str(broken) + ".damaged" and "recovery" in reason
    assert not broken.exists() and os.path.exists(aside), "set aside, not deleted"
    # set aside once: the next scan neither offers nor reports it again
    assert P.scan_recoveries(str(tmp_path)).damaged == []


# --------------------------------------------------------------------------- notebooks
NOTEBOOK_CELLS = [("markdown", "# Gradients\n\nA *teacher's* explanation.\n\n    indented code"),
                  ("code", "import torch\nx = torch.ones(2, requires_grad=True)"),
                  ("markdown", "Now the backward pass:"),
                  ("code", "%matplotlib inline\n# %d is a comment, not a magic\n(x * x).sum().backward()"),
                  ("code", "%%timeit\nx * 2"),
                  ("code", "")]


def _notebook(tmp_path, cells=NOTEBOOK_CELLS, name="lesson.ipynb"):
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "teach", "display_name": "Teaching", "language": "python"}
    for kind, source in cells:
        nb.cells.append(nbformat.v4.new_markdown_cell(source) if kind == "markdown"
                        else nbformat.v4.new_code_cell(source))
    path = tmp_path / name
    path.write_text(nbformat.writes(nb))
    return path


def _cells_of(path):
    import nbformat
    nb = nbformat.read(str(path), as_version=4)
    return [(c.cell_type, c.source) for c in nb.cells], nb


def test_notebook_round_trip_keeps_code_and_markdown_cells_in_order(tmp_path):
    path = _notebook(tmp_path)
    script = P.load(str(path)).script
    assert script.startswith("# %% [markdown]\n# # Gradients\n#\n# A *teacher's* explanation.\n")
    assert "# %matplotlib inline\n# %d is a comment" in script
    from gradstudio.studio.session import split_cells
    assert [c.kind for c in split_cells(script)] == [k for k, _ in NOTEBOOK_CELLS]
    out = tmp_path / "again.ipynb"
    P.save(P.Project(script=script), str(out))
    cells, nb = _cells_of(out)
    assert cells == NOTEBOOK_CELLS
    import nbformat
    nbformat.validate(nb)
    assert P.load(str(out)).script == script


def test_saving_a_notebook_keeps_outputs_of_unchanged_cells_and_its_metadata(tmp_path):
    import nbformat
    path = _notebook(tmp_path)
    nb = nbformat.read(str(path), as_version=4)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    nb.cells[1].execution_count = 7
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", name="stdout", text="stale\n")]
    nbformat.write(nb, str(path))
    script = P.load(str(path)).script.replace("(x * x).sum()", "(x ** 3).sum()")
    P.save(P.Project(script=script), str(path))
    _, saved = _cells_of(path)
    assert saved.cells[1].outputs[0].text == "hello\n" and saved.cells[1].execution_count == 7
    assert saved.cells[3].outputs == [] and "(x ** 3)" in saved.cells[3].source
    assert saved.metadata["kernelspec"]["name"] == "teach"


def test_a_script_becomes_a_valid_notebook(tmp_path):
    path = tmp_path / "s.ipynb"
    P.save(P.Project(script="import torch\n# %% Two\nx = 1\n# %% [markdown]\n# Hi\n"), str(path))
    cells, _ = _cells_of(path)
    assert cells == [("code", "import torch"), ("code", "x = 1"), ("markdown", "Hi")]


@pytest.mark.parametrize("content, message", [
    ('{"nbformat": 5, "nbformat_minor": 0, "cells": []}', "newer Jupyter"),
    ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code"}]}',
     "not a valid notebook"),
    ('{"cells": []}', "no \"nbformat\" version"),
])
def test_bad_notebooks_say_why(tmp_path, content, message):
    path = tmp_path / "bad.ipynb"
    path.write_text(content)
    with pytest.raises(P.ProjectError, match=message):
        P.load(str(path))


def test_a_killed_autosave_leaves_no_temp_file_after_the_next_start(tmp_path):
    dead = _dead_pid()
    killed = tmp_path / f".~recovery-{dead}-0a1b2c3d.gradstudio.{dead}.x9_Yz.tmp"
    live = tmp_path / f".~recovery-1-ab.gradstudio.{os.getppid()}.x9_Yz.tmp"
    users = tmp_path / f".~notes.txt.{dead}.abc.tmp"
    for leftover in (killed, live, users):
        leftover.write_text("{half")
    assert P.scan_recoveries(str(tmp_path)).found == []
    assert sorted(os.listdir(tmp_path)) == sorted([live.name, users.name])
