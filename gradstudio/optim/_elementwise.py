"""The step of the optimizers whose state is a float32 ``step`` count and, per role, an
array of the parameter's shape (Adadelta, Adamax, RAdam, Rprop), and whose update is
one elementwise function of the parameter, its gradient and those arrays: run on the
group's flat arrays when the group is laid out flat (see ``_flat``), else per
parameter. The optimizer gives the update, its options and the roles' first values."""
from __future__ import annotations

import numpy as np

from ..tensor import make
from . import _flat
from .optimizer import bump, count_step


def step(optimizer, closure, roles: tuple, options, update, *, reads_step: bool = True, initial=None):
    """One ``optimizer.step(closure)``: ``update(data, grad, *role arrays, [step,] *options(group))``
    for every group, ``step`` (the new count) passed when ``reads_step``. ``initial``: role →
    ``(param, grad array, group) → array`` for a role that does not start at zeros."""
    loss = optimizer._closure_loss(closure)
    initial = initial or {}
    for group in optimizer.param_groups:
        settings = options(group)
        flat = _flat.flat_group(optimizer, group, roles)
        if flat is not None:
            if reads_step:
                count = _flat.next_step(flat)  # None when the counts differ: per parameter
            else:  # the scalars do not depend on the step: it is only counted
                count = [count_step(state["step"]) for state in flat.states]
            if count is not None:
                counted = (count,) if reads_step else ()
                update(flat.param, flat.grad, *(flat.state[role] for role in roles), *counted, *settings)
                flat.stepped()
                continue
        for p, grad in optimizer._grads(group):
            state = optimizer.state[p]
            if not state:
                state["step"] = make(np.array(0.0, dtype=np.float32))
                for role in roles:
                    first = initial.get(role)
                    state[role] = make(np.zeros_like(p._data) if first is None else first(p, grad, group))
            count = count_step(state["step"])
            counted = (count,) if reads_step else ()
            update(p._data, grad, *(state[role]._data for role in roles), *counted, *settings)
            bump(p)
    return loss
