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
