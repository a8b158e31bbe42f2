"""Gradient clipping by global norm and by value, PyTorch's formulas.

Clipping rebinds each ``p.grad`` to a new array instead of scaling it in place: backward may
hand the same gradient array to two leaves (``a + b``), or a read-only broadcast view, and an
in-place product would then scale one buffer twice or fail.
"""
from __future__ import annotations

import math

from .. import backend as B
from ..tensor import Tensor


def _non_negative(fn_name, name, value):
    """``value`` as a float >= 0 (NaN refused), or a ValueError naming it."""
    value = float(value)
    if not value >= 0.0:
        raise ValueError(f"{fn_name}: {name} must be >= 0, got {value!r}")
    return value


def _with_grads(parameters, fn_name):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    params = list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{fn_name}: parameters[{i}] is a {type(p).__name__}, not a Tensor")
    return params, [p for p in params if p.grad is not None]


def _norm_part(g):
    """What a gradient's norm is taken over: the Tensor itself, or a sparse gradient's
    coalesced values (Embedding(sparse=True); torch 2.13's CPU build refuses those)."""
    return g if isinstance(g, Tensor) else g.detach().coalesce()._values()


def _vector_norm(xp, x, order):
    """The ``order``-norm of all elements of ``x`` as a 0-d array of x's dtype."""
    if hasattr(xp, "linalg"):
        return xp.asarray(xp.linalg.vector_norm(x, ord=order))  # NumPy returns a scalar
    x = xp.abs(x)  # namespaces without the linalg extension
    if order == math.inf:
        return xp.max(x)
    if order == -math.inf:
        return xp.min(x)
    if order == 0:  # the count of non-zeros, as torch.linalg.vector_norm
        return xp.sum(xp.astype(x != 0, x.dtype))
    return xp.sum(x ** order) ** (1.0 / order)


def _norm_type(fn, norm_type):
    """``norm_type`` as a float; any order torch.linalg.vector_norm takes (0, negative,
    +-inf) is accepted, as torch; NaN is refused."""
    norm_type = float(norm_type)
    if math.isnan(norm_type):
        raise ValueError(f"{fn}: norm_type must be a number or +-inf, got {norm_type!r}")
    return norm_type


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type``-norm of the tensors' norms: the norm of all of them concatenated.

    Args:
        tensors: a Tensor or an iterable of Tensors (usually the gradients).
        norm_type: the norm's order p, ``math.inf`` for the max-abs norm (0: the count of
            non-zeros; negative orders and ``-math.inf`` as torch.linalg.vector_norm).
        error_if_nonfinite: raise if the norm is nan or inf (this reads it on the host;
            otherwise nothing leaves the device).
        foreach: accepted for PyTorch's signature; one code path serves every backend.
    Returns:
        0-d Tensor of the tensors' promoted dtype, on their device (float32 0 for none),
        not recorded by autograd.
    """
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"get_total_norm: tensors[{i}] is a {type(t).__name__}, not a "
                            "Tensor")
    norm_type = _norm_type("get_total_norm", norm_type)
    if not tensors:
        be = B.get_backend(None)
        return Tensor(be.xp.zeros((), dtype=be.dtype("float32"), device=be.device))
    return _total_norm("get_total_norm", tensors, norm_type, error_if_nonfinite)


def _total_norm(fn, tensors, norm_type, error_if_nonfinite):
    """get_total_norm's work on a non-empty list, errors naming ``fn``."""
    be = tensors[0]._be
    xp = be.xp
    for t in tensors:
        if t._be is not be:
            raise TypeError(f"{fn}: gradients live on different backends/devices "
                            f"({be.name}:{be.device} vs {t._be.name}:{t._be.device})")
    # each norm in its tensor's dtype, the total in their promoted dtype (float32 and
    # float64 gradients give a float64 total, as torch's stack of the norms)
    dtypes = {t.dtype for t in tensors}
    dtype = dtypes.pop() if len(dtypes) == 1 else xp.result_type(*dtypes)
    with be.quiet():  # a negative order of a zero is 0 ** -p = inf, then 1 / inf = 0
        norms = [_vector_norm(xp, t.array, norm_type) for t in tensors]
        norms = [n if n.dtype == dtype else xp.astype(n, dtype) for n in norms]
        total = norms[0] if len(norms) == 1 else _vector_norm(xp, xp.stack(norms),
                                                               norm_type)
    if error_if_nonfinite and not bool(B.to_numpy(xp.isfinite(total))):
        raise RuntimeError(f"{fn}: the total norm of order {norm_type} of the gradients is "
                           f"{float(total)}, so they cannot be clipped; pass "
                           "error_if_nonfinite=False to clip anyway")
    return Tensor(total)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients by ``min(1, max_norm / (total_norm + 1e-6))``, given their total
    norm (from :func:`get_total_norm`, maybe all-reduced across ranks first).

    Args:
        parameters: a Tensor or an iterable of Tensors whose ``.grad`` to scale (those
            without a gradient are skipped).
        max_norm: the largest allowed total norm (>= 0).
        total_norm: a 0-d Tensor (or a number): the gradients' total norm.
        foreach: accepted for PyTorch's signature.
    Returns:
        None
    """
    _, with_grad = _with_grads(parameters, "clip_grads_with_norm_")
    max_norm = _non_negative("clip_grads_with_norm_", "max_norm", max_norm)
    if not with_grad:
        return
    xp = with_grad[0]._be.xp
    total = total_norm.array if isinstance(total_norm, Tensor) else \
        xp.asarray(float(total_norm), dtype=with_grad[0].grad.dtype,
                   device=with_grad[0]._be.device)
    coef = xp.clip(max_norm / (total + 1e-6), max=1.0)  # no host sync: always multiply
    with with_grad[0]._be.quiet():  # an inf gradient times a zero coef is nan, unwarned
        for p in with_grad:
            G = p.grad
            if not isinstance(G, Tensor):  # a sparse gradient: its values scaled
                v = G._v.array
                v = v * (coef if v.dtype == coef.dtype else xp.astype(coef, v.dtype))
                p.grad._v = G._v._result(v, G._v._be)
                continue
            g = G.array  # in place, as torch's: a reference kept to p.grad sees the clip
            G._assign(g * (coef if g.dtype == coef.dtype else xp.astype(coef, g.dtype)))


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    The total norm is the ``norm_type``-norm of the per-parameter norms (the norm of all
    gradients concatenated); every gradient is multiplied by
    ``min(1, max_norm / (total_norm + 1e-6))``. Parameters without a gradient are skipped.
    (:func:`get_total_norm`, then :func:`clip_grads_with_norm_`.)

    Args:
        parameters: a Tensor or an iterable of Tensors whose ``.grad`` to clip.
        max_norm: the largest allowed total norm (>= 0).
        norm_type: the norm's order p, or ``math.inf`` for the max-abs norm (any order
            torch.linalg.vector_norm takes, as torch).
        error_if_nonfinite: raise if the total norm is nan or inf (this reads it on the
            host; otherwise nothing leaves the device).
        foreach: accepted for PyTorch's signature.
    Returns:
        0-d Tensor (the gradients' promoted dtype, their device): the total norm before
        clipping.
    """
    params, with_grad = _with_grads(parameters, "clip_grad_norm_")
    max_norm = _non_negative("clip_grad_norm_", "max_norm", max_norm)
    norm_type = _norm_type("clip_grad_norm_", norm_type)
    if not with_grad:
        be = params[0]._be if params else B.get_backend(None)
        return Tensor(be.xp.zeros((), dtype=be.dtype("float32"), device=be.device))
    total = _total_norm("clip_grad_norm_", [_norm_part(p.grad) for p in with_grad], norm_type,
                        error_if_nonfinite)
    clip_grads_with_norm_(with_grad, max_norm, total)
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element into ``[-clip_value, clip_value]``, in place (a
    reference kept to ``p.grad`` sees the clipped values, as in PyTorch).

    Args:
        parameters: a Tensor or an iterable of Tensors whose ``.grad`` to clip.
        clip_value: the bound (>= 0).
        foreach: accepted for PyTorch's signature; one code path serves every backend.
    Returns:
        None
    """
    _, with_grad = _with_grads(parameters, "clip_grad_value_")
    clip_value = _non_negative("clip_grad_value_", "clip_value", clip_value)
    for p in with_grad:
        p.grad._assign(p._be.xp.clip(p.grad.array, -clip_value, clip_value))
