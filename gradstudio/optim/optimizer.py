"""``torch.optim.Optimizer``: parameter groups, per-parameter state, zero_grad,
state_dict and torch's printout. Subclasses implement ``step`` on the raw
arrays (an optimiser's update is never recorded), in torch's single-tensor
(foreach=False) order of operations."""
from __future__ import annotations

from collections import defaultdict
from copy import deepcopy

from ..autograd.errors import typename
from ..tensor import Tensor, shared_version_counter


class _RequiredParameter:
    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class: holds ``param_groups`` (dicts with ``params`` and the options) and ``state``."""

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors "
                            f"or dicts, but got {params.type()}")
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict) -> None:
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the "
                            "ordering of tensors in sets will change between runs. Please use a list instead.")
        else:
            param_group["params"] = list(params)
        for p in param_group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + typename(p))
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization "
                                 f"parameter {name}")
            param_group.setdefault(name, default)
        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
        if any(id(p) in seen for p in param_group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is not None:
                    if set_to_none:
                        p._grad = None
                    else:
                        if p._grad.grad_fn is not None:
                            p._grad = p._grad.detach()
                        p._grad._data[...] = 0

    def step(self, closure=None):
        raise NotImplementedError

    def _closure_loss(self, closure):
        if closure is None:
            return None
        from ..autograd.grad_mode import enable_grad
        with enable_grad():
            return closure()

    def state_dict(self) -> dict:
        """``{'state': {index: state}, 'param_groups': [options + 'params': indices]}``."""
        index = {}
        groups = []
        start = 0
        for group in self.param_groups:
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = deepcopy(state_dict)
        groups, saved_groups = self.param_groups, state_dict["param_groups"]
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size "
                             "of optimizer's group")
        id_map = {}
        for group, saved in zip(groups, saved_groups):
            id_map.update(zip(saved["params"], group["params"]))
        self.state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                self.state[param] = {key: (value.to(param.dtype) if isinstance(value, Tensor) and key != "step"
                                           else value) for key, value in v.items()}
        for group, saved in zip(groups, saved_groups):
            params = group["params"]
            group.clear()
            group.update(saved)
            group["params"] = params

    def __repr__(self):
        text = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += "\n"
            text += f"Parameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)

    @staticmethod
    def _grads(group):
        """(param, grad array) for each parameter of ``group`` that has a gradient."""
        for p in group["params"]:
            if p._grad is not None:
                yield p, p._grad._data


def bump(p):
    """An optimizer step is an in-place change: graphs that saved ``p`` must notice
    (``shared_version_counter(p).bump()``, its common case — a parameter with a
    counter of its own — without the second call)."""
    vc = p._vc if p._base is None else None
    (vc if vc is not None else shared_version_counter(p)).bump()


def count_step(step) -> float:
    """``step += 1`` on a parameter's float32 0-d ``step`` state, and the new count: the
    sum is exact, and ``fill`` rounds it as the float32 add would, without a ufunc call
    on a 0-d array."""
    data = step._data
    data.fill(data.item() + 1.0)
    return data.item()


def _check(name: str, value, low: float = 0.0, message: str | None = None):
    if not (isinstance(value, Tensor) or value >= low):
        raise ValueError(message or f"Invalid {name}: {value}")


def _check_betas(betas) -> None:
    """Adam's family: each β in [0, 1), torch's message naming its index."""
    for i, beta in enumerate(betas[:2]):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")

