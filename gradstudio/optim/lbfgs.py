"""L-BFGS (torch.optim.LBFGS): a quasi-Newton step from the last ``history_size``
curvature pairs (the two-loop recursion), with a fixed step ``lr`` or torch's strong
Wolfe line search, over all parameters as one flat vector; ``step(closure)``
re-evaluates the loss itself. Not elementwise, so it has no ``_flat`` path: it gathers
the gradients into one vector as torch does.

Its scalars are torch's: the dot products and reductions are float32 0-d tensors in
torch, here numpy float32 scalars (the same promotion with Python numbers, NEP 50), kept
in the state as 0-d tensors (``ro``, ``al``, ``H_diag`` and ``t``); ``t`` and ``H_diag``
stay Python numbers where torch's do. The dot products are BLAS sums in both, in their
own order, so a trajectory agrees with torch's to float32 rounding, not bit for bit.
"""
from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor, make
from . import _arith as A
from .optimizer import Optimizer, _check, bump


class LBFGS(Optimizer):
    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        _check("learning rate", lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size,
                        line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    # the parameters as one flat vector

    def _flat_grad(self) -> np.ndarray:
        return np.concatenate([np.zeros(p._data.size, p._data.dtype) if p._grad is None
                               else p._grad._data.ravel() for p in self._params])

    def _add(self, t, d: np.ndarray) -> None:
        """p ← p + t·d, each parameter its slice of ``d`` (torch's add_ with alpha=t)."""
        offset = 0
        for p in self._params:
            n = p._data.size
            A.add_(p._data, d[offset:offset + n].reshape(p._data.shape), _number(t))
            bump(p)
            offset += n

    def _set(self, arrays) -> None:
        for p, a in zip(self._params, arrays):
            p._data[...] = a
            bump(p)

    def _evaluate(self, closure) -> float:
        return float(self._closure_loss(closure))

    def _directional_evaluate(self, closure, x, t, d):
        """The loss and gradient at x + t·d, the parameters put back to ``x`` after."""
        self._add(t, d)
        loss = self._evaluate(closure)
        grad = self._flat_grad()
        self._set(x)
        return loss, grad

    def step(self, closure):
        with no_grad():  # (torch's step is no_grad; the closure runs with grad enabled)
            return self._step(closure)

    def _step(self, closure):
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = self._closure_loss(closure)
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if np.abs(flat_grad).max() <= tolerance_grad:
            return orig_loss

        d, t = _value(state.get("d")), _value(state.get("t"))
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag, prev_flat_grad = _value(state.get("H_diag")), _value(state.get("prev_flat_grad"))
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:  # steepest descent
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * d.dtype.type(_number(t))
                ys = np.dot(y, s)
                if ys > 1e-10:  # a curvature pair kept only when it is positive
                    if len(old_dirs) == history_size:
                        del old_dirs[0], old_stps[0], ro[0]
                    old_dirs.append(make(y))
                    old_stps.append(make(s))
                    ro.append(make(np.asarray(1.0 / ys)))
                    H_diag = ys / np.dot(y, y)
                d = _two_loop(flat_grad, old_dirs, old_stps, ro, H_diag, state, history_size)
            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss

            # the step length: the first scaled by the gradient's 1-norm
            t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
            gtd = np.dot(flat_grad, d)
            if gtd > -tolerance_change:  # not a descent direction
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_init = [p._data.copy() for p in self._params]
                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    lambda x, t_, d_: self._directional_evaluate(closure, x, t_, d_),
                    x_init, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals)
                self._add(t, d)
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add(t, d)
                opt_cond = False
                if n_iter != max_iter:
                    loss = self._evaluate(closure)
                    flat_grad = self._flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if (n_iter == max_iter or current_evals >= max_eval or opt_cond
                    or np.abs(d * d.dtype.type(_number(t))).max() <= tolerance_change
                    or abs(loss - prev_loss) < tolerance_change):
                break

        state["d"] = make(d)
        state["t"] = _kept(t)
        state["old_dirs"], state["old_stps"], state["ro"] = old_dirs, old_stps, ro
        state["H_diag"] = _kept(H_diag)
        state["prev_flat_grad"] = make(prev_flat_grad)
        state["prev_loss"] = prev_loss
        return orig_loss


def _two_loop(flat_grad, old_dirs, old_stps, ro, H_diag, state, history_size) -> np.ndarray:
    """−H·g from the curvature pairs (y in ``old_dirs``, s in ``old_stps``, ρ = 1/yᵀs):
    the α of the first loop kept in ``state['al']`` as torch keeps them."""
    ys_, ss_, rs_ = [t._data for t in old_dirs], [t._data for t in old_stps], [t._data[()] for t in ro]
    if "al" not in state:
        state["al"] = [None] * history_size
    al = state["al"]
    q = -flat_grad
    alphas = {}
    for i in range(len(ys_) - 1, -1, -1):
        alphas[i] = np.dot(ss_[i], q) * rs_[i]
        al[i] = make(np.asarray(alphas[i]))
        A.add_(q, ys_[i], float(-alphas[i]))
    r = q * (H_diag if isinstance(H_diag, int) else q.dtype.type(H_diag))
    for i in range(len(ys_)):
        be_i = np.dot(ys_[i], r) * rs_[i]
        A.add_(r, ss_[i], float(alphas[i] - be_i))
    return r


def _value(x):
    """A state entry as this step works on it: a tensor's array (a 0-d one as its scalar)."""
    if isinstance(x, Tensor):
        return x._data[()] if x._data.ndim == 0 else x._data
    return x


def _kept(x):
    """A scalar as the state keeps it: torch's 0-d tensors as 0-d tensors, Python numbers as they are."""
    return make(np.asarray(x)) if isinstance(x, np.generic) else x


def _number(x) -> float:
    return x.item() if isinstance(x, np.generic) else x


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser, within ``bounds`` (default: between x1 and x2), of the cubic through
    (x1, f1) and (x2, f2) with slopes g1 and g2; the bounds' midpoint if it has none."""
    low, high = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square < 0:
        return (low + high) / 2.0
    d2 = np.sqrt(d2_square)
    if x1 <= x2:
        min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(min_pos, low), high)


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """torch's line search: bracket a step satisfying the strong Wolfe conditions
    (sufficient decrease c1, curvature c2), then zoom into it by cubic interpolation.
    Returns (loss, flat gradient, step, evaluations)."""
    d_norm = np.abs(d).max()
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = np.dot(g_new, d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:  # bracketing
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # extrapolate, between 1.01·t and 10·t
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        t_prev, t = t, _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                          bounds=(min_step, max_step))
        f_prev, g_prev, gtd_prev = f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = np.dot(g_new, d)
        ls_iter += 1
    if ls_iter == max_ls:  # reached the evaluation limit
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:  # zoom
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        # a point too near a bracket's end, twice or outside it, moves 0.1 of the width in
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = np.dot(g_new, d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals
