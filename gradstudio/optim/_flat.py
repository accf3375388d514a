"""A parameter group laid out flat: its parameters side by side in one array, and each
per-parameter state buffer (``momentum_buffer``, ``exp_avg``…) likewise, so an
optimizer step runs its update once on the flat arrays instead of once per parameter —
what torch's multi-tensor (foreach) kernels do, for a numpy engine, where each of the
dozen array operations of an update costs about as much per call as per element for a
layer's parameters.

The update is elementwise, so on the flat arrays it computes every element exactly as
the per-parameter loop does (the same operations, scalars and order): bit for bit the
same parameters and state.

A group of up to ``MAX_ELEMENTS`` elements is laid out at a step where every parameter
has its state (the optimizer's first step runs per parameter and creates it) and every
array can move: it owns its memory, is contiguous, of the group's one dtype, and nothing
else holds it — no view of it, no other tensor around it (``p.data`` or ``p.detach()``
kept, a ``state_dict()`` taken earlier). Each array is copied into its slice of the flat
array and its tensor keeps that slice, shaped as before, so the parameter,
``opt.state[p]`` and the flat arrays are the same memory. Every step checks that the
layout still holds (the same parameters and state tensors around the same arrays:
``p.data = …``, ``load_state_dict``, a state entry replaced all undo it) and gathers the
gradients into one array; when a check fails (a parameter without a gradient, another
dtype) the step runs per parameter, and a broken layout is laid out again when it can
be.
"""
from __future__ import annotations

import sys
from itertools import repeat
from operator import attrgetter, eq, is_, is_not, methodcaller

import numpy as np

from ..tensor import Tensor
from .optimizer import bump

# A group of more elements stays per parameter: there the calls cost little beside the
# elementwise work, and the flat gradients and temporaries (Adam's: 24 bytes an element
# more, against its per-shape ones) would cost memory a large model needs.
MAX_ELEMENTS = 1 << 22

ndarray = np.ndarray
_getrefcount = sys.getrefcount
_DATA = attrgetter("_data")
_GRAD = attrgetter("_grad")
_SHAPE = attrgetter("shape")
_DTYPE = attrgetter("dtype")
_RAVEL = ndarray.ravel
_ITEM = ndarray.item
_GET_STEP = methodcaller("get", "step")


class FlatGroup:
    """One group's flat arrays: ``param``, ``grad`` (this step's gradients, gathered by
    :meth:`gathered`) and ``state[role]``; ``params`` and ``states`` (their state dicts)
    in the group's order."""

    __slots__ = ("group", "roles", "params", "views", "states", "tensors", "role_views",
                 "param", "grad", "state", "shapes", "dtype", "scratch")

    def holds(self, group, state_of, roles) -> bool:
        """Whether the layout is still the group's: the same parameters around the same
        arrays, the same state dicts holding the same tensors around theirs."""
        params = group["params"]
        if (group is not self.group or roles != self.roles or len(params) != len(self.params)
                or not all(map(is_, params, self.params))
                or not all(map(is_, map(_DATA, params), self.views))
                or not all(map(is_, map(state_of.get, params), self.states))):
            return False
        for role in roles:
            tensors = self.tensors[role]
            if not (all(map(is_, map(methodcaller("get", role), self.states), tensors))
                    and all(map(is_, map(_DATA, tensors), self.role_views[role]))):
                return False
        return True

    def stepped(self) -> None:
        """The parameters were changed in place: graphs that saved one must notice."""
        for p in self.params:
            bump(p)

    def gathered(self) -> bool:
        """This step's gradients copied into ``grad``; False if a parameter has none, or
        one of another dtype or shape (the step then runs per parameter)."""
        grads = list(map(_GRAD, self.params))
        if not all(map(is_not, grads, repeat(None))):
            return False
        arrays = list(map(_DATA, grads))
        if not (all(map(eq, map(_DTYPE, arrays), repeat(self.dtype)))
                and all(map(eq, map(_SHAPE, arrays), self.shapes))):
            return False
        np.concatenate(list(map(_RAVEL, arrays)), out=self.grad)
        return True


def flat_group(optimizer, group, roles: tuple):
    """``group``'s :class:`FlatGroup` with this step's gradients gathered, laying it out
    (again) if needed; None when this step must run per parameter. ``roles``: the state
    entries of the parameter's shape the update changes."""
    layouts = optimizer.__dict__.get("_flat")
    if layouts is None:
        layouts = optimizer.__dict__["_flat"] = {}
    state_of = optimizer.state
    old = layouts.get(id(group))
    if old is not None and old.holds(group, state_of, roles):
        layout = old
    else:
        layout = _lay_out(group, state_of, roles, old)  # (old, its lists, alive until then)
        if layout is None:
            layouts.pop(id(group), None)
            return None
        layouts[id(group)] = layout
    return layout if layout.gathered() else None


def next_step(layout: FlatGroup):
    """Every parameter's ``step`` state counted on by one, and the new count (rounded to
    float32, as the state holds it); None, with nothing counted, if the counts differ (a
    step's scalars then differ by parameter: it runs per parameter)."""
    steps = list(map(_GET_STEP, layout.states))
    if not all(map(is_, map(type, steps), repeat(Tensor))):
        return None
    values = set(map(_ITEM, map(_DATA, steps)))
    if len(values) != 1:
        return None
    step = values.pop() + 1.0
    for t in steps:
        t._data.fill(step)  # step_t += 1: the sum is exact, and fill rounds it as the add would
    return steps[0]._data.item()


def common(layout: FlatGroup, key: str):
    """The one value of every parameter's 0-d ``key`` state (NAdam's ``mu_product``,
    ASGD's ``eta`` and ``mu``) as a float; None if the values differ or one is missing
    (the update's scalars would then differ by parameter: it runs per parameter)."""
    tensors = list(map(methodcaller("get", key), layout.states))
    if not all(map(is_, map(type, tensors), repeat(Tensor))):
        return None
    values = set(map(_ITEM, map(_DATA, tensors)))
    return values.pop() if len(values) == 1 else None


def fill(layout: FlatGroup, key: str, value: float) -> None:
    """Every parameter's 0-d ``key`` state set to ``value`` (rounded to its dtype)."""
    for state in layout.states:
        state[key]._data.fill(value)


def scratch(layout: FlatGroup, dtypes: tuple) -> tuple:
    """Arrays of the flat length, one per dtype in ``dtypes``, made once per layout (an
    update's temporaries)."""
    work = layout.scratch
    if work is None or len(work) != len(dtypes):
        n = layout.param.shape[0]
        work = layout.scratch = tuple(np.empty(n, dtype=d) for d in dtypes)
    return work


def _movable(tensor, dtype, old) -> bool:
    """Whether ``tensor``'s array can move into a flat array (see the module's text): one
    that owns its memory, or one of the ``old`` layout's slices (ids of its arrays). Its
    references when nobody else holds it: the tensor's, ``a`` here, getrefcount's, and
    the old layout's list for one of its slices."""
    a = tensor._data
    if type(a) is not ndarray or tensor._base is not None:
        return False
    held = 3 if a.base is None else 4 if id(a) in old else 0
    return (a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable
            and _getrefcount(a) <= held)


def _lay_out(group, state_of, roles, old):
    """A new layout of ``group``, moving its arrays; None (nothing moved) unless all of
    them can move. ``old``: the group's layout that no longer holds, if any (its slices
    may move again)."""
    params = list(group["params"])
    if len(params) < 2 or sum(p._data.size for p in params) > MAX_ELEMENTS:
        return None  # nothing to gain
    dtype = params[0]._data.dtype
    states = [state_of.get(p) for p in params]
    if roles and any(s is None for s in states):
        return None
    tensors = {}
    for role in roles:
        tensors[role] = [s.get(role) for s in states]
        if any(t is None or type(t._data) is not ndarray or t._data.shape != p._data.shape
               for t, p in zip(tensors[role], params)):
            return None
    # (the caller holds ``old`` until this returns: its lists are one of the references
    # _movable counts, and the ids stay theirs)
    slices = set() if old is None else {id(a) for a in old.views + sum(old.role_views.values(), [])}
    moving = params + [t for role in roles for t in tensors[role]]
    if len(set(map(id, moving))) != len(moving):
        return None  # a tensor in two places (two parameters' one buffer): it has one array
    for t in moving:
        if not _movable(t, dtype, slices):
            return None
    layout = FlatGroup()
    layout.group, layout.roles, layout.params, layout.states = group, roles, params, states
    layout.tensors, layout.dtype, layout.scratch = tensors, dtype, None
    layout.shapes = [p._data.shape for p in params]
    layout.param, layout.views = _move(params, dtype)
    layout.state, layout.role_views = {}, {}
    for role in roles:
        layout.state[role], layout.role_views[role] = _move(tensors[role], dtype)
    layout.grad = np.empty_like(layout.param)
    return layout


def _move(tensors, dtype):
    """One flat array holding the tensors' values side by side, each tensor now around
    its slice of it: (the flat array, the tensors' new arrays)."""
    sizes = [t._data.size for t in tensors]
    flat = np.empty(sum(sizes), dtype=dtype)
    views = []
    start = 0
    for t, size in zip(tensors, sizes):
        view = flat[start:start + size].reshape(t._data.shape)
        view[...] = t._data
        t._data = view
        views.append(view)
        start += size
    return flat, views
