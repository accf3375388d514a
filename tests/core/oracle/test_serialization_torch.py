"""torch.save / torch.load and torch.accelerator against PyTorch: what the Quickstart
tutorial does with them (a state_dict saved, loaded with weights_only=True and put back
into a fresh model), what a weights_only load refuses and the error it raises, and an
accelerator-less machine's answers."""
from __future__ import annotations

import io
import pickle

import pytest

import gradstudio

pytestmark = pytest.mark.oracle


def _save_and_load(lib, obj, **load_args):
    buffer = io.BytesIO()
    lib.save(obj, buffer)
    buffer.seek(0)
    return lib.load(buffer, **load_args)


def test_a_state_dict_round_trips_into_a_fresh_model(tmp_path):
    model = gradstudio.nn.Sequential(gradstudio.nn.Linear(3, 4), gradstudio.nn.ReLU(), gradstudio.nn.Linear(4, 2))
    path = tmp_path / "model.pth"
    gradstudio.save(model.state_dict(), path)
    fresh = gradstudio.nn.Sequential(gradstudio.nn.Linear(3, 4), gradstudio.nn.ReLU(), gradstudio.nn.Linear(4, 2))
    assert repr(fresh.load_state_dict(gradstudio.load(str(path), weights_only=True))) == "<All keys matched successfully>"
    for (name, want), (_, got) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert got.tolist() == want.tolist() and got.dtype == want.dtype, name


def test_loaded_objects_print_as_torch_prints_them(torch):
    def objects(lib):
        return {"step": 3, "lr": [0.1, (0.9, "m")], "w": lib.tensor([[1.5, -2.0]]), "n": lib.arange(3),
                "p": lib.nn.Parameter(lib.ones(2)), "g": lib.ones(2, requires_grad=True),
                "dtype": lib.float64, "shape": lib.Size([2, 3])}
    assert repr(_save_and_load(gradstudio, objects(gradstudio))) == repr(_save_and_load(torch, objects(torch)))


def test_weights_only_refuses_other_globals_with_torchs_error(torch):
    def message(lib, **load_args):
        with pytest.raises(pickle.UnpicklingError) as caught:
            _save_and_load(lib, {"w": lib.ones(1), "f": io.open}, **load_args)
        return str(caught.value)
    assert message(gradstudio) == message(torch)
    assert message(gradstudio, weights_only=True) == message(torch, weights_only=True)
    assert _save_and_load(gradstudio, {"f": io.open}, weights_only=False)["f"] is io.open


def test_safe_globals_allow_a_global_within_the_block(torch):
    with gradstudio.serialization.safe_globals([io.open]):
        assert _save_and_load(gradstudio, {"f": io.open})["f"] is io.open
    with pytest.raises(pickle.UnpicklingError):
        _save_and_load(gradstudio, {"f": io.open})


def test_a_file_torch_wrote_is_refused_with_a_message_that_says_so(torch, tmp_path):
    path = tmp_path / "torch.pth"
    torch.save({"w": torch.ones(1)}, path)
    with pytest.raises(RuntimeError, match="zip archive, the format torch.save writes"):
        gradstudio.load(path)


def test_accelerator_answers_as_on_a_machine_without_one(torch):
    for name in ("is_available", "current_accelerator", "device_count"):
        assert getattr(gradstudio.accelerator, name)() == getattr(torch.accelerator, name)()
    for name in ("current_device_index", "synchronize"):
        with pytest.raises(RuntimeError) as want:
            getattr(torch.accelerator, name)()
        with pytest.raises(RuntimeError) as got:
            getattr(gradstudio.accelerator, name)()
        assert str(got.value) == str(want.value)
