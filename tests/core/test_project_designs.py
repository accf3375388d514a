"""The node editor's designs as the project file's own versioned section."""
from __future__ import annotations

import json
import pathlib

import pytest

from gradstudio.studio import project as P
from gradstudio.studio.design import from_json as design_from_json

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "resources" / "examples" / "designs"


def example(name: str) -> dict:
    return json.loads(next(EXAMPLES.glob(f"*{name}*.json")).read_text())["design"]


def project_with_designs() -> P.Project:
    return P.Project(script="x = 1\n", view={"cursor": 3},
                     designs=[P.DesignEntry("seed", example("seed")), P.DesignEntry("neuron", example("sigmoid"))],
                     current_design=1)


def test_designs_are_a_section_of_their_own_with_its_version_and_come_back(tmp_path):
    path = tmp_path / "p.gradstudio"
    original = project_with_designs()
    P.save(original, str(path))
    data = json.loads(path.read_text())
    assert data["designs"]["version"] == P.DESIGNS_VERSION and data["designs"]["current"] == 1
    assert [d["title"] for d in data["designs"]["documents"]] == ["seed", "neuron"]
    assert "editor" not in data["view"]
    loaded = P.load(str(path))
    assert loaded == original
    assert design_from_json(loaded.designs[0].design).to_json() == design_from_json(example("seed")).to_json()


def test_a_project_without_designs_writes_no_designs_section(tmp_path):
    path = tmp_path / "p.gradstudio"
    P.save(P.Project(script="x = 1\n"), str(path))
    assert "designs" not in json.loads(path.read_text())


def test_a_file_from_before_the_section_opens_with_its_designs_moved_into_it():
    old = {"format": "gradstudio", "version": 1, "script": "",
           "view": {"editor": {"designs": [{"title": "seed", "design": example("seed")}], "current": 0},
                    "graph": {"zoom": 1.0}}}
    loaded = P.from_json(json.dumps(old))
    assert [e.title for e in loaded.designs] == ["seed"] and loaded.current_design == 0
    assert loaded.view == {"graph": {"zoom": 1.0}}, "the designs left the view state"


@pytest.mark.parametrize("damage, message", [
    (lambda d: d["designs"].update(version=2), "newer GradStudio (designs version 2"),
    (lambda d: d["designs"]["documents"][1]["design"].update(version=7), "newer GradStudio (version 7"),
    (lambda d: d["designs"]["documents"][0]["design"]["links"].append(["n1", "nope", 0]), "'seed'"),
    (lambda d: d["designs"]["documents"][0]["design"]["nodes"][1].update(op="no.SUCH"), "no.SUCH"),
    (lambda d: d["designs"].update(documents="x"), "designs.documents"),
    (lambda d: d.update(designs=[]), "\"designs\" must be an object"),
])
def test_a_newer_or_damaged_designs_section_is_named_and_the_file_is_left_alone(tmp_path, damage, message):
    path = tmp_path / "p.gradstudio"
    P.save(project_with_designs(), str(path))
    data = json.loads(path.read_text())
    damage(data)
    path.write_text(json.dumps(data))
    before = path.read_bytes()
    with pytest.raises(P.ProjectError) as raised:
        P.load(str(path))
    assert message in str(raised.value) and "Nothing was changed" in str(raised.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.gradstudio"]


def test_recovery_copies_keep_the_designs(tmp_path):
    path = P.new_recovery_path(str(tmp_path))
    P.write_recovery(path, project_with_designs(), None)
    assert P.read_recovery(path).project.designs == project_with_designs().designs
