"""L-BFGS with an optional strong-Wolfe line search, PyTorch's algorithm.

Unlike the first-order optimizers, L-BFGS needs numbers on the host: the curvature test
``y.s > 1e-10``, the convergence tests and every decision of the line search compare
device values with constants. Those reads (and the closure's loss) are the only host
syncs; the two-loop recursion itself stays on the device.
"""
from __future__ import annotations

import math

from .. import backend as B
from ..tensor import Tensor
from .optimizer import Optimizer, check_hyper

_LINE_SEARCHES = (None, "strong_wolfe")


def _host(value):
    """A loss or a 0-d/one-element array as a Python float (an explicit host transfer)."""
    if isinstance(value, Tensor):
        value = value.array
    if B.is_array(value):
        return float(B.to_numpy(value).reshape(()))
    return float(value)


def _dot(a, b, xp):
    return xp.sum(a * b)


def _check_count(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"LBFGS: {name} must be an int >= 1, got {value!r}")


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1, f'=g1) and (x2, f2, f'=g2), clipped to
    ``bounds`` (default: [x1, x2]); the bounds' midpoint when the cubic has no minimum
    (Nocedal & Wright, "Numerical Optimization", 2nd ed., eq. 3.59)."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(disc)
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(x, lo), hi)


def _strong_wolfe(evaluate, dot, t, d_max, f, g, gtd, c1=1e-4, c2=0.9,
                  tolerance_change=1e-9, max_ls=25):
    """Find a step ``t`` along ``d`` meeting the strong Wolfe conditions (Nocedal & Wright,
    algorithms 3.5 and 3.6: bracketing, then zoom by cubic interpolation).

    Args:
        evaluate: ``t -> (loss, flat gradient)`` at ``x + t * d`` (parameters restored).
        dot: ``flat gradient -> float``, its product with ``d``.
        t: the first trial step.
        d_max: ``max |d|`` (the bracket is too small once ``|width| * d_max`` is tiny).
        f, g, gtd: loss, flat gradient and directional derivative at ``t = 0``.
    Returns:
        (loss, flat gradient, t, evaluations) at the accepted step.
    """
    f_new, g_new = evaluate(t)
    evals, gtd_new = 1, dot(g_new)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done, ls_iter = False, 0
    while ls_iter < max_ls:  # bracketing: grow t until a bracket holds a Wolfe point
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket = [(t_prev, f_prev, g_prev, gtd_prev), (t, f_new, g_new, gtd_new)]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, done = [(t, f_new, g_new, gtd_new)], True
            break
        if gtd_new >= 0:
            bracket = [(t_prev, f_prev, g_prev, gtd_prev), (t, f_new, g_new, gtd_new)]
            break
        t_next = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                    bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = evaluate(t)
        evals, gtd_new, ls_iter = evals + 1, dot(g_new), ls_iter + 1
    if ls_iter == max_ls:  # gtd of these points is never read: zoom stops at once
        bracket = [(0.0, f, g, None), (t, f_new, g_new, None)]

    # zoom: shrink the bracket [low, high] around a point meeting both conditions
    low, high = (0, 1) if bracket[0][1] <= bracket[-1][1] else (1, 0)
    insufficient = False
    while not done and ls_iter < max_ls:
        (t0, f0, _, gtd0), (t1, f1, _, gtd1) = bracket
        if abs(t1 - t0) * d_max < tolerance_change:
            break
        t = _cubic_interpolate(t0, f0, gtd0, t1, f1, gtd1)
        # keep away from the bracket's ends: after two near-boundary trials in a row (or
        # one outside), move to 10% of the width inside the nearest end
        top, bottom = max(t0, t1), min(t0, t1)
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < eps:
            if insufficient or t >= top or t <= bottom:
                t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = evaluate(t)
        evals, gtd_new, ls_iter = evals + 1, dot(g_new), ls_iter + 1
        point = (t, f_new, g_new, gtd_new)
        if f_new > f + c1 * t * gtd or f_new >= bracket[low][1]:
            bracket[high] = point  # no sufficient decrease: the new point caps the bracket
            low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high][0] - bracket[low][0]) >= 0:
                bracket[high] = bracket[low]
            bracket[low] = point
    t, f_new, g_new, _ = bracket[low]
    return f_new, g_new, t, evals


class LBFGS(Optimizer):
    """L-BFGS: Liu & Nocedal, "On the Limited Memory BFGS Method for Large Scale
    Optimization" (Math. Programming 1989), https://doi.org/10.1007/BF01589116; the
    line search follows Nocedal & Wright, "Numerical Optimization" (2006), ch. 3, as in
    PyTorch (after minFunc). Needs a closure: ``opt.step(closure)``.

    Per iteration (at most ``max_iter`` per ``step``), on the flattened gradient ``g``::

        s = t * d;  y = g - g_prev                      (skipped on the first iteration)
        if y.s > 1e-10: remember (y, s, 1/y.s) (the last history_size pairs); H = y.s / y.y
        d = -H_inv g  by the two-loop recursion (first iteration: d = -g)
        t = lr (first iteration: min(1, 1 / sum|g|) * lr), or a strong-Wolfe search
        x = x + t * d
        stop when max|g| <= tolerance_grad, max|t d| <= tolerance_change,
        |loss change| < tolerance_change, or max_iter / max_eval is reached

    Args:
        params: Parameters (one group only).
        lr: step size (>= 0); the line search's first trial step when one is used.
        max_iter: iterations per ``step()`` (int >= 1).
        max_eval: closure evaluations per ``step()`` (int >= 1); ``max_iter * 5 // 4`` by
            default.
        tolerance_grad: stop once every gradient element is this small (>= 0).
        tolerance_change: stop once the step or the loss change is this small (>= 0).
        history_size: curvature pairs kept (int >= 1).
        line_search_fn: None (fixed step ``lr``) or ``"strong_wolfe"``.

    The state (PyTorch's names: ``func_evals``, ``n_iter``, ``d``, ``t``, ``old_dirs``,
    ``old_stps``, ``ro``, ``H_diag``, ``prev_flat_grad``, ``prev_loss``, ``al``) lives in
    ``state[first parameter]``; vectors are flat arrays over all parameters.
    """

    _scalar_slots = ("func_evals", "n_iter", "t", "H_diag", "prev_loss", "ro")
    _count_slots = ()  # its counts stay Python ints (the line search reads the host anyway)

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        _check_count("max_iter", max_iter)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                                      tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change,
                                      history_size=history_size,
                                      line_search_fn=line_search_fn))
        self._params = self.param_groups[0]["params"]
        be = self._params[0]._be
        for i, p in enumerate(self._params):
            if p._be is not be:
                raise TypeError(f"LBFGS: all parameters must share one backend and device; "
                                f"params[0] is on {be.name}:{be.device}, params[{i}] on "
                                f"{p._be.name}:{p._be.device}")
        self._numel = sum(math.prod(p.shape) for p in self._params)

    def _validate(self, group):
        check_hyper("LBFGS", "lr", group["lr"])
        for key in ("max_iter", "max_eval", "history_size"):
            _check_count(key, group[key])
        check_hyper("LBFGS", "tolerance_grad", group["tolerance_grad"])
        check_hyper("LBFGS", "tolerance_change", group["tolerance_change"])
        if group["line_search_fn"] not in _LINE_SEARCHES:
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got "
                             f"{group['line_search_fn']!r}")

    def add_param_group(self, param_group):
        """Add the one group L-BFGS works on; a second group raises ValueError."""
        if self.param_groups:
            raise ValueError("LBFGS: doesn't support per-parameter options (parameter "
                             f"groups); it already has one group, got another: "
                             f"{sorted(k for k in param_group if k != 'params')!r}")
        super().add_param_group(param_group)

    # -- flat views of the parameters -----------------------------------------------
    def _flat_grad(self):
        xp = self._params[0].xp
        return xp.concat([
            xp.reshape(p.grad.array, (-1,)) if p.grad is not None else
            xp.zeros((math.prod(p.shape),), dtype=p.array.dtype, device=p._be.device)
            for p in self._params])

    def _add_grad(self, t, d):
        """``x += t * d`` over the flattened parameters (each bumps its version)."""
        xp, offset = self._params[0].xp, 0
        for p in self._params:
            n = math.prod(p.shape)
            step = xp.reshape(d[offset:offset + n], p.shape) * t
            p.array += step
            p._vc[0] += 1  # a graph that saved p now refuses to backward
            offset += n

    def _evaluate_at(self, closure, x, d):
        """``t -> (loss, flat grad)`` at ``x + t * d``, putting ``x`` back afterwards."""
        def evaluate(t):
            self._add_grad(t, d)
            loss = _host(self._call_closure(closure))
            flat_grad = self._flat_grad()
            for p, saved in zip(self._params, x):
                p._assign(saved)  # writes in place and bumps the version
            return loss, flat_grad
        return evaluate

    # -- the step --------------------------------------------------------------------
    def step(self, closure=None):
        """Run up to ``max_iter`` L-BFGS iterations.

        Args:
            closure: a callable that clears the gradients, re-evaluates the model, calls
                ``backward()`` and returns the loss (required).
        Returns:
            the closure's first loss.
        """
        if closure is None:
            raise TypeError("LBFGS.step: needs a closure that re-evaluates the model and "
                            "returns the loss, e.g. opt.step(closure)")
        group = self.param_groups[0]
        lr, max_iter, max_eval = float(group["lr"]), group["max_iter"], group["max_eval"]
        tol_grad = float(group["tolerance_grad"])
        tol_change = float(group["tolerance_change"])
        history_size = group["history_size"]
        xp = self._params[0].xp

        def dot(a, b):
            return _dot(a, b, xp)

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss = self._call_closure(closure)
        loss = _host(orig_loss)
        evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if _host(xp.max(xp.abs(flat_grad))) <= tol_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag, prev_flat_grad = state.get("H_diag"), state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            # -- the search direction ----------------------------------------------
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro, h_diag = [], [], [], 1.0
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = _host(dot(y, s))
                if ys > 1e-10:  # keep the pair only where the curvature is positive
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / _host(dot(y, y))
                if "al" not in state:
                    state["al"] = [None] * history_size
                al = state["al"]
                # two-loop recursion: d = -H_inv g without forming H (0-d arrays only)
                q = -flat_grad
                for i in range(len(old_dirs) - 1, -1, -1):
                    al[i] = dot(old_stps[i], q) * ro[i]
                    q -= old_dirs[i] * al[i]
                d = r = q * h_diag
                for i in range(len(old_dirs)):
                    be_i = dot(old_dirs[i], r) * ro[i]
                    r += old_stps[i] * (al[i] - be_i)
            prev_flat_grad, prev_loss = flat_grad, loss  # flat_grad is never written to
            # -- the step length --------------------------------------------------
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / _host(xp.sum(xp.abs(flat_grad)))) * lr
            else:
                t = lr
            gtd = _host(dot(flat_grad, d))
            if gtd > -tol_change:  # not a descent direction any more
                break
            if group["line_search_fn"] == "strong_wolfe":
                x = [xp.asarray(p.array, copy=True) for p in self._params]
                loss, flat_grad, t, ls_evals = _strong_wolfe(
                    self._evaluate_at(closure, x, d), lambda g: _host(dot(g, d)), t,
                    _host(xp.max(xp.abs(d))), loss, flat_grad, gtd,
                    tolerance_change=tol_change, max_ls=max_eval - evals)
                self._add_grad(t, d)
                converged = _host(xp.max(xp.abs(flat_grad))) <= tol_grad
            else:
                self._add_grad(t, d)
                ls_evals, converged = 0, False
                if n_iter != max_iter:  # the last iteration's loss would go unused
                    loss = _host(self._call_closure(closure))
                    flat_grad = self._flat_grad()
                    converged = _host(xp.max(xp.abs(flat_grad))) <= tol_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals
            # -- stopping tests ----------------------------------------------------
            if n_iter == max_iter or evals >= max_eval or converged:
                break
            if _host(xp.max(xp.abs(d))) * abs(t) <= tol_change:
                break
            if abs(loss - prev_loss) < tol_change:
                break
        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    # -- state dicts -----------------------------------------------------------------
    def _convert_slot(self, p, idx, slot, value):
        """Lists convert element by element; vectors are flat (all parameters)."""
        if isinstance(value, (list, tuple)):
            return [self._convert_slot(p, idx, slot, v) for v in value]
        if isinstance(value, Tensor):
            value = value.array
        if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        if slot in self._scalar_slots:
            return super()._convert_slot(p, idx, slot, value)
        shape = tuple(value.shape)
        if slot == "al" and shape in ((), (1,)):
            return p._be.asarray(B.to_numpy(value).reshape(()), dtype=p.dtype)
        if shape != (self._numel,):
            raise ValueError(f"LBFGS.load_state_dict: slot {slot!r} has shape {shape}, "
                             f"expected ({self._numel},) (all parameters, flattened)")
        return p._be.asarray(value, dtype=p.dtype)
