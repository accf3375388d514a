"""torch's numpy-style keyword names: ``x.sum(axis=0, keepdims=True)``,
``y_hat.argmax(axis=1)``, ``torch.cat((a, b), axis=0)`` — spellings the d2l book uses
throughout.

torch's argument parser gives every native function and method two aliases, ``axis``
for ``dim`` and ``keepdims`` for ``keepdim``; the functions torch writes in Python
(``torch.norm``, ``Tensor.norm``, ``hstack``, ``nn.functional.softmax`` …) have none, and
refuse them as any Python function refuses an unknown keyword. :func:`accepting` wraps
a function so the aliases reach it under its own names; :data:`METHODS` and
:data:`FUNCTIONS` are the names torch 2.13 accepts them on (each checked against torch),
wrapped where GradStudio binds them (``gradstudio.ops`` for the methods,
``gradstudio._api`` for the functions). Given both spellings of one argument, torch's
parser reports the alias as unexpected, and so does the wrapper."""
from __future__ import annotations

import functools
import inspect

ALIASES = {"axis": "dim", "keepdims": "keepdim"}

# Tensor methods and torch functions whose dim (and keepdim) take the aliases in torch
_COMMON = ("all", "amax", "amin", "any", "argmax", "argmin", "count_nonzero", "cumsum", "gather",
           "index_select", "log_softmax", "logsumexp", "max", "mean", "min", "narrow", "prod",
           "select", "softmax", "squeeze", "std", "sum", "unsqueeze", "var", "cumprod", "sort",
           "argsort", "topk", "chunk", "unbind", "repeat_interleave", "scatter", "scatter_add")
METHODS = _COMMON
FUNCTIONS = _COMMON + ("unflatten", "cat", "concat", "concatenate", "stack")


def accepting(function):
    """``function`` taking ``axis=``/``keepdims=`` for its own ``dim``/``keepdim`` (the
    ones among them it has); itself if it has neither."""
    names = inspect.signature(function).parameters
    aliases = {alias: name for alias, name in ALIASES.items() if name in names}
    if not aliases:
        return function
    label = function.__name__.lstrip("_")

    @functools.wraps(function)
    def with_numpy_names(*args, **kwargs):
        if kwargs and not aliases.keys().isdisjoint(kwargs):
            for alias, name in aliases.items():
                if alias in kwargs:
                    if name in kwargs:
                        raise TypeError(f"{label}() got an unexpected keyword argument '{alias}'")
                    kwargs[name] = kwargs.pop(alias)
        return function(*args, **kwargs)
    return with_numpy_names
