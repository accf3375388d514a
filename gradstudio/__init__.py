"""GradStudio: a numpy autograd engine with PyTorch's semantics.

``import gradstudio as torch`` runs PyTorch autograd tutorial code unchanged
and prints what PyTorch prints. This package is that public, torch-shaped API;
the engine lives in :mod:`gradstudio.tensor`, :mod:`gradstudio.autograd` and
the op table in :mod:`gradstudio.ops`. Nothing here imports Qt, and sympy and
matplotlib are imported only by the symbolic and plotting layers.

The names are made lazily (PEP 562): ``import gradstudio.studio.session`` in the
app's window process runs this file, and must not load the engine's modules or
reset numpy's error state there. The first read of a public name (``torch.tensor``,
``from gradstudio import nn``, ``dir(torch)``, a star-import) imports
:mod:`gradstudio._api` — the whole engine, as ``import gradstudio`` always did —
and copies its namespace here, after which every name is a plain module attribute.
"""
from __future__ import annotations

import importlib as _importlib
import sys as _sys
import types as _types

__version__ = "0.1.0"

# Submodules whose name is also a public name of the API: importing the submodule
# binds it on the package (the import system does), but the name belongs to the API
# (torch.tensor() is the function; the module is gradstudio.tensor in sys.modules,
# which is how the engine refers to it).
_SHADOWED_SUBMODULES = frozenset({"tensor"})


def _load():
    """The loaded API module, or None while it is still being imported in this thread
    (an engine module's ``from .. import x`` then falls back to the submodule)."""
    api = _importlib.import_module(__name__ + "._api")  # waits if another thread imports it
    if not getattr(api, "_READY", False):
        return None
    package = vars(_sys.modules[__name__])
    if "Tensor" not in package:
        package.update((k, v) for k, v in vars(api).items() if not k.startswith("__"))
    return api


def __getattr__(name):
    # Only called for names not yet in the package: before the API is loaded, or
    # a name the API does not have (then AttributeError, as for any module).
    if name.startswith("__") and name != "__all__":  # tools probing dunders load nothing
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _load() is not None:
        package = vars(_sys.modules[__name__])
        if name in package:
            return package[name]
    # "__all__" lands here once the names are copied: a star-import then takes every
    # public name of the package, as it did when this file defined them all
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    _load()
    return sorted(vars(_sys.modules[__name__]))


# Parts of the package that are not the engine: importing them loads no engine module.
_NOT_ENGINE = frozenset({"studio", "ui", "resources", "_api", "__main__"})


class _EngineFirst:
    """Meta-path finder: the first import of an engine module (``gradstudio.tensor``,
    ``gradstudio.ops.table`` …) loads the whole API first, as ``import gradstudio`` used
    to — the engine's modules rely on that order (the op table binds Tensor's methods,
    autograd reads gradstudio.tensor from sys.modules). It steps aside once the API is in."""

    def find_spec(self, fullname, path=None, target=None):
        parts = fullname.split(".")
        if parts[0] != __name__ or len(parts) < 2 or parts[1] in _NOT_ENGINE:
            return None
        if __name__ + "._api" in _sys.modules:  # loaded, or loading (it imports the engine)
            return None
        for finder in _sys.meta_path:
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
        else:
            return None
        spec.loader = _AfterTheAPI(spec.loader)
        return spec


class _AfterTheAPI:
    """Loader of an engine module imported before the API: loads the API (which may
    import this very module), then gives the import system that module, or runs the
    module's own loader if the API did not import it."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        _load()
        module = _sys.modules.get(spec.name)
        if module is not None:
            self._loaded = module
            return module
        self._loaded = None
        return self._loader.create_module(spec)

    def exec_module(self, module):
        if module is not self._loaded:
            self._loader.exec_module(module)

    def __getattr__(self, name):  # get_code, get_source, is_package …: the module's own loader
        return getattr(self._loader, name)


class _Package(_types.ModuleType):
    """The package's module type: keeps a submodule from taking a public name."""

    def __setattr__(self, name, value):
        if name in _SHADOWED_SUBMODULES and isinstance(value, _types.ModuleType):
            return
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package
if not any(type(f) is _EngineFirst for f in _sys.meta_path):
    _sys.meta_path.insert(0, _EngineFirst())
