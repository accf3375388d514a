"""``torch.save`` / ``torch.load``: an object holding tensors (a ``state_dict``, a
checkpoint dict) written to a file and read back, with pickle.

The file is GradStudio's own — a pickle stream after a signature line — not torch's
zip archive: torch cannot read it, and a file torch wrote is refused with a message
saying so. ``weights_only=True``, torch's default since 2.6, unpickles through an
allow-list (tensors, parameters, dtypes, ``Size``, numpy's array reconstruction,
``OrderedDict``, ``Counter``, ``bytearray``, ``set``, ``complex`` and
``add_safe_globals``' additions); any other global fails with
torch's ``UnpicklingError`` text. ``map_location`` is accepted: there is only the CPU.
"""
from __future__ import annotations

import collections
import contextlib
import functools
import os
import pickle
import zipfile

import numpy as np

_SIGNATURE = b"GradStudio tensor file 1\n"
_user_safe_globals: list = []


@functools.cache
def _default_safe_globals() -> dict:
    """(module, name) as pickle writes them -> the object, for what GradStudio's
    tensors, parameters, dtypes and numpy arrays pickle into."""
    import _codecs
    from .dtypes import to_dtype
    from .nn.parameter import _rebuild_parameter
    from .tensor import Size, _rebuild
    core = getattr(np, "_core", None) or np.core  # numpy 2 / numpy 1.26
    allowed = [collections.OrderedDict, collections.Counter, bytearray, set, complex,  # as torch's list
               _rebuild, _rebuild_parameter, to_dtype, Size, np.ndarray,
               np.dtype, core.multiarray._reconstruct, core.numeric._frombuffer, _codecs.encode]
    allowed += [type(np.dtype(name)) for name in ("bool", "int8", "int16", "int32", "int64", "uint8",
                                                  "float16", "float32", "float64")]
    return {(pickle.whichmodule(g, g.__name__), g.__qualname__): g for g in allowed}


def add_safe_globals(safe_globals: list) -> None:
    """Allow these classes or functions in a ``weights_only`` load."""
    _user_safe_globals.extend(safe_globals)


def get_safe_globals() -> list:
    return list(_user_safe_globals)


def clear_safe_globals() -> None:
    _user_safe_globals.clear()


@contextlib.contextmanager
def safe_globals(safe_globals: list):
    """Allow these globals in ``weights_only`` loads inside the ``with`` block only."""
    before = list(_user_safe_globals)
    add_safe_globals(safe_globals)
    try:
        yield
    finally:
        _user_safe_globals[:] = before


def _weights_only_error(module: str, name: str) -> pickle.UnpicklingError:
    full = f"{module}.{name}"
    return pickle.UnpicklingError(
        "Weights only load failed. This file can still be loaded, to do so you have two options, "
        "\x1b[1mdo those steps only if you trust the source of the checkpoint\x1b[0m. \n\t(1) In "
        "PyTorch 2.6, we changed the default value of the `weights_only` argument in `torch.load` "
        "from `False` to `True`. Re-running `torch.load` with `weights_only` set to `False` will "
        "likely succeed, but it can result in arbitrary code execution. Do it only if you got the "
        "file from a trusted source.\n\t(2) Alternatively, to load with `weights_only=True` please "
        "check the recommended steps in the following error message.\n\tWeightsUnpickler error: "
        f"Unsupported global: GLOBAL {full} was not an allowed global by default. Please use "
        f"`torch.serialization.add_safe_globals([{full}])` or the "
        f"`torch.serialization.safe_globals([{full}])` context manager to allowlist this global "
        "if you trust this class/function.\n\nCheck the documentation of torch.load to learn more "
        "about types accepted by default with weights_only "
        "https://pytorch.org/docs/stable/generated/torch.load.html.")


class _WeightsUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        allowed = dict(_default_safe_globals())
        allowed.update(((pickle.whichmodule(g, g.__name__), g.__qualname__), g) for g in _user_safe_globals)
        if (module, name) not in allowed:
            raise _weights_only_error(module, name)
        return allowed[module, name]


@contextlib.contextmanager
def _opened(f, mode: str):
    if isinstance(f, (str, os.PathLike)):
        with open(f, mode) as file:
            yield file
    else:
        yield f


def save(obj, f, pickle_module=pickle, pickle_protocol: int = 2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False) -> None:
    """Write ``obj`` to ``f`` (a path or a binary file)."""
    with _opened(f, "wb") as file:
        file.write(_SIGNATURE)
        pickle_module.dump(obj, file, protocol=pickle_protocol)


def load(f, map_location=None, pickle_module=None, *, weights_only: bool | None = None, mmap=None,
         **pickle_load_args):
    """Read back what :func:`save` wrote to ``f``; only allow-listed globals unless
    ``weights_only=False`` (for a file from a trusted source)."""
    with _opened(f, "rb") as file:
        start = file.tell()
        if file.read(len(_SIGNATURE)) != _SIGNATURE:
            file.seek(start)
            kind = "a zip archive, the format torch.save writes" if zipfile.is_zipfile(file) else "not one"
            raise RuntimeError("GradStudio reads only files that gradstudio.save (torch.save under "
                               f"GradStudio) wrote; this file is {kind}.")
        if weights_only is False:
            return (pickle_module or pickle).load(file, **pickle_load_args)
        return _WeightsUnpickler(file, **pickle_load_args).load()
