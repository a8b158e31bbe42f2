"""Random draws from tensors of parameters: bernoulli and multinomial, poisson and binomial
counts (no gradient), and complex draws (each part drawn in its real dtype), from the
backend's seeded generator or a ``generator=``."""
from __future__ import annotations

import math

from .. import backend as B
from .._errors import ArgumentError, DtypeNotImplemented, DtypeValueError
from ..autograd import TensorBase, as_tensor
from .dtype_refusals import refuse_dtypes
from .scalar_args import number_arg


def _tensor_arg(op, x):
    if not isinstance(x, TensorBase):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    return x


def bernoulli(input, p=None, *, generator=None):
    """0/1 samples, 1 with probability ``input`` (or ``p``), in input's dtype and place, as
    ``torch.bernoulli``; no gradient."""
    x = _tensor_arg("bernoulli", input)
    refuse_dtypes("bernoulli", ("complex",), x)
    be, xp = x._be, x.xp
    floating = be.is_floating(x.dtype)
    if not floating and p is None:  # PyTorch: NotImplementedError
        raise DtypeNotImplemented(f"bernoulli: expected floating probabilities, got "
                                  f"{B.dtype_name(x.dtype)}")
    # with p, input only gives the shape and dtype (any dtype, as PyTorch); p may be 0-d
    prob = x.array if p is None else float(number_arg(p))
    if p is not None and not 0 <= prob <= 1:  # a number: checked without reading data
        raise ArgumentError(f"bernoulli: expects p to be in [0, 1], but got p={p}")
    u = be.uniform(tuple(x.shape), B.dtype_name(x.dtype) if floating else "float32",
                   generator)
    return x._result(xp.astype(u < prob, x.dtype), be)


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Indices drawn from the categorical distribution of each row of ``input`` (C,) or
    (N, C) (non-negative weights, not necessarily summing to 1), as ``torch.multinomial``:
    (num_samples,) or (N, num_samples) int64. Without replacement (and for one sample) by
    the Gumbel top-k trick, with replacement by inverting each row's cumulative sum."""
    x = _tensor_arg("multinomial", input)
    be, xp = x._be, x.xp
    if x.ndim not in (1, 2) or not be.is_floating(x.dtype):
        raise ValueError(f"multinomial: expected a 1-D or 2-D floating tensor of weights, got "
                         f"shape {tuple(x.shape)} dtype {B.dtype_name(x.dtype)}")
    n = int(num_samples)
    if n <= 0:
        raise ValueError(f"multinomial: num_samples must be >= 1, got {num_samples!r}")
    P = x.array if x.ndim == 2 else xp.reshape(x.array, (1, -1))
    C = P.shape[1]
    if be.on_host:  # checked where it is free (on a device it would sync)
        host = B.to_numpy(P)
        if not B.np.isfinite(host).all() or (host < 0).any():
            raise RuntimeError("multinomial: probability tensor contains either inf, nan or "
                               "element < 0")
        if (host.sum(axis=1) <= 0).any():
            raise RuntimeError("multinomial: invalid multinomial distribution (sum of "
                               "probabilities <= 0)")
        if not replacement and n > int((host > 0).sum(axis=1).min()):
            raise RuntimeError(f"multinomial: cannot sample {n} samples without replacement "
                               f"from rows with fewer nonzero weights")
    dt = B.dtype_name(x.dtype)
    if not replacement or n == 1:
        # argmax/top-k of log w + Gumbel noise: a draw without replacement, weight-proportional
        u = be.uniform(tuple(P.shape), dt, generator)
        tiny = float(B.np.finfo(dt).tiny)
        with be.quiet():  # log 0 = -inf: a class of weight 0 is never drawn
            keys = xp.log(P) - xp.log(-xp.log(xp.clip(u, tiny, 1.0)))
        idx = xp.argsort(-keys, axis=1, stable=True)[:, :n]
    else:
        cdf = xp.cumulative_sum(P, axis=1)
        u = be.uniform((P.shape[0], n), dt, generator) * cdf[:, -1:]
        idx = xp.sum(xp.astype(u[:, :, None] >= cdf[:, None, :], xp.int64), axis=2)
        idx = xp.minimum(idx, C - 1)
    idx = xp.astype(idx, xp.int64)
    return x._result(idx if x.ndim == 2 else xp.reshape(idx, (n,)), be)


def complex_draws(be, draw, shape, dt, generator, scale):
    """A complex dtype's draws as PyTorch makes them: the real and imaginary parts each
    drawn in the matching real dtype (times ``scale``)."""
    real = "float64" if dt == "complex128" else "float32"
    re, im = draw(shape, real, generator), draw(shape, real, generator)
    xp, c = be.xp, be.dtype(dt)
    return (xp.astype(re, c) + xp.astype(im, c) * 1j) * scale


# -- count draws -------------------------------------------------------------------------------
def poisson(input, generator=None):
    """Poisson counts with the rates in ``input`` (floating, >= 0), in input's dtype, as
    ``torch.poisson``. No gradient."""
    from ..distributions._counts import poisson_array
    x = _tensor_arg("poisson", input)
    xp, be = x.xp, x._be
    if not be.is_floating(x.dtype):
        raise DtypeNotImplemented(f"poisson: not implemented for {B.dtype_name(x.dtype)}")
    rate = xp.astype(x.array, be.dtype("float64"))
    if be.on_host and math.prod(rate.shape) and bool(xp.any(rate < 0)):
        raise RuntimeError("poisson: invalid Poisson rate, expected rate to be non-negative")
    return x._result(xp.astype(poisson_array(be, xp, rate, generator), x.dtype), be)


def binomial(count, prob, generator=None):
    """Binomial counts of ``count`` trials (floating, whole) each with success probability
    ``prob``, in count's dtype, as ``torch.binomial``. No gradient."""
    from ..distributions._counts import binomial_array
    n = _tensor_arg("binomial", count)
    p = as_tensor(prob, like=n, op="binomial")
    xp, be = n.xp, n._be
    if not be.is_floating(n.dtype) or not be.is_floating(p.dtype):  # PyTorch: ValueError
        raise DtypeValueError(f"binomial: not implemented for count "
                              f"{B.dtype_name(n.dtype)} and prob {B.dtype_name(p.dtype)}")
    f64 = be.dtype("float64")
    N, P = xp.broadcast_arrays(xp.astype(n.array, f64), xp.astype(p.array, f64))
    return n._result(xp.astype(binomial_array(be, xp, N, P, generator), n.dtype), be)
