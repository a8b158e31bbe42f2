"""Parameter initialisation: torch.nn.init's names, signatures and formulas.

Every draw happens on the host, from xpnn's seeded NumPy Generator (``B.host_rng()``, reset
by ``xpnn.manual_seed``) or from the ``generator=`` given, then is copied to the tensor's
backend and device: one seed gives bit-identical weights on every backend. Each ``*_``
function fills its Tensor in place without recording a graph (PyTorch's no_grad semantics;
the version counter moves) and returns it.
"""
from __future__ import annotations

import math
import warnings

from .. import backend as B
from .._errors import ArgumentError, DtypeNotImplemented
from ..tensor import Tensor

np = B.np  # host-side code: the draws are NumPy arrays

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid", "identity")


# -- plumbing -----------------------------------------------------------------------------------
def _check(fn, tensor):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{fn}: expected an xpnn Tensor (or Parameter) to fill, got "
                        f"{type(tensor).__name__}")
    return tensor


def _random_dtype(fn, tensor):
    """Random fills need a floating tensor (torch: NotImplementedError for 'Long')."""
    if not tensor._be.is_floating(tensor.dtype):
        raise DtypeNotImplemented(f"{fn}: random draws fill floating tensors only, got "
                                  f"{B.dtype_name(tensor.dtype)}")


def _rng(fn, generator):
    """The host Generator to draw from: xpnn's seeded one, or ``generator``'s host stream."""
    if generator is None:
        return B.host_rng()
    if not hasattr(generator, "for_backend"):
        raise TypeError(f"{fn}: generator must be an xpnn.Generator, got "
                        f"{type(generator).__name__}")
    return generator.for_backend(B.get_backend("numpy"))


def _fill(tensor, host):
    """Write the host array into ``tensor`` in place (no graph, version bumped); a meta
    tensor has nothing to write."""
    if tensor.is_meta:
        return tensor
    name = B.dtype_name(tensor.dtype)
    if name in ("float32", "float64", "float16"):
        host = host.astype(name)  # round on the host, so every backend gets the same bits
    tensor._assign(tensor._be.asarray(host, dtype=tensor.dtype))
    return tensor


def _number(fn, name, value, low=-math.inf):
    try:
        ok = not isinstance(value, (bool, str)) and float(value) >= low
    except (TypeError, ValueError):
        ok = False
    if not ok or math.isnan(float(value)):
        bound = "" if low == -math.inf else f" >= {low}"
        raise ArgumentError(f"{fn}: {name} must be a number{bound}, got {value!r}")
    return float(value)


# -- gains and fans -----------------------------------------------------------------------------
def calculate_gain(nonlinearity, param=None):
    """The recommended gain for an activation (PyTorch's table).

    linear, conv*, conv_transpose*, sigmoid (and identity): 1; tanh: 5/3; relu: sqrt(2);
    leaky_relu: sqrt(2 / (1 + negative_slope^2)), slope ``param`` (default 0.01);
    selu: 3/4 (Klambauer et al., https://arxiv.org/abs/1706.02515, as PyTorch).

    Args:
        nonlinearity: the activation's name.
        param: leaky_relu's negative slope.
    Returns:
        float
    """
    if nonlinearity in _LINEAR:
        return 1  # an int, as torch
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: leaky_relu's negative_slope (param) must be a "
                             f"number, got {param!r}")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; expected one "
                     f"of {', '.join(_LINEAR[:-1])}, tanh, relu, leaky_relu, selu")


def fans(shape):
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel)."""
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a weight with at least 2 dims, got shape "
                         f"{shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight Tensor: in * kernel size, out * kernel size."""
    return fans(tensor.shape)


def _fan(fn, tensor, mode):
    if not isinstance(mode, str) or mode.lower() not in ("fan_in", "fan_out"):
        raise ValueError(f"{fn}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return fans(tensor.shape)[0 if mode.lower() == "fan_in" else 1]


# -- simple fills -------------------------------------------------------------------------------
def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with U(a, b) draws. Returns ``tensor``."""
    _random_dtype("uniform_", _check("uniform_", tensor))
    a, b = _number("uniform_", "a", a), _number("uniform_", "b", b)
    if a > b:
        raise ArgumentError(f"uniform_: need a <= b, got a={a!r}, b={b!r}")
    if tensor.is_meta:  # no data to fill, no draws spent (PyTorch)
        return tensor
    return _fill(tensor, _rng("uniform_", generator).uniform(a, b, size=tensor.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with N(mean, std^2) draws. Returns ``tensor``."""
    _random_dtype("normal_", _check("normal_", tensor))
    mean, std = _number("normal_", "mean", mean), _number("normal_", "std", std, 0.0)
    if tensor.is_meta:
        return tensor
    return _fill(tensor, _rng("normal_", generator).normal(mean, std, size=tensor.shape))


def constant_(tensor, val):
    """Fill with ``val``. Returns ``tensor``."""
    _check("constant_", tensor)
    return _fill(tensor, np.full(tensor.shape, val, dtype=np.float64))


def zeros_(tensor):
    """Fill with 0. Returns ``tensor``."""
    return constant_(tensor, 0.0)


def ones_(tensor):
    """Fill with 1. Returns ``tensor``."""
    return constant_(tensor, 1.0)


def eye_(tensor):
    """Fill a 2-D tensor with the identity (ones on the diagonal of a rectangle too)."""
    _check("eye_", tensor)
    if len(tensor.shape) != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {tuple(tensor.shape)}")
    return _fill(tensor, np.eye(*tensor.shape))


def dirac_(tensor, groups=1):
    """Fill a 3/4/5-D convolution weight with the Dirac delta: the convolution passes
    each of the first ``min(out / groups, in)`` input channels of every group through.

    Args:
        tensor: weight of shape (out, in / groups, *kernel).
        groups: the convolution's groups; ``out`` must be divisible by it.
    """
    _check("dirac_", tensor)
    shape = tuple(tensor.shape)
    if len(shape) not in (3, 4, 5):
        raise ValueError(f"dirac_: only 3, 4 or 5-D tensors are supported, got shape {shape}")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1 or \
            shape[0] % groups:
        raise ValueError(f"dirac_: groups must be an int >= 1 dividing dim 0 ({shape[0]}), "
                         f"got {groups!r}")
    per_group = shape[0] // groups
    centre = tuple(s // 2 for s in shape[2:])
    host = np.zeros(shape)
    for g in range(groups):
        for d in range(min(per_group, shape[1])):
            host[(g * per_group + d, d) + centre] = 1.0
    return _fill(tensor, host)


# -- scaled random fills ------------------------------------------------------------------------
def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot & Bengio (AISTATS 2010): U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(_check("xavier_uniform_", tensor).shape)
    a = math.sqrt(3.0) * gain * math.sqrt(2.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot & Bengio (AISTATS 2010): N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(_check("xavier_normal_", tensor).shape)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(fn, tensor, a, mode, nonlinearity):
    return calculate_gain(nonlinearity, a) / math.sqrt(_fan(fn, tensor, mode))


def _empty(fn, tensor):
    _check(fn, tensor)
    if 0 in tuple(tensor.shape):
        warnings.warn(f"{fn}: initializing a zero-element tensor is a no-op", UserWarning,
                      stacklevel=3)
        return True
    return False


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He et al., "Delving Deep into Rectifiers" (ICCV 2015),
    https://arxiv.org/abs/1502.01852: U(-b, b), b = gain * sqrt(3 / fan).

    Args:
        tensor: the weight (>= 2-D).
        a: leaky_relu's negative slope (used by the gain).
        mode: ``"fan_in"`` keeps the forward variance, ``"fan_out"`` the backward one.
        nonlinearity: the activation after the layer (see :func:`calculate_gain`).
        generator: an xpnn.Generator to draw from.
    """
    if _empty("kaiming_uniform_", tensor):
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std("kaiming_uniform_", tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He et al. (ICCV 2015): N(0, std^2), std = gain / sqrt(fan); arguments as
    :func:`kaiming_uniform_`."""
    if _empty("kaiming_normal_", tensor):
        return tensor
    std = _kaiming_std("kaiming_normal_", tensor, a, mode, nonlinearity)
    return normal_(tensor, 0.0, std, generator)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with N(mean, std^2) conditioned on [a, b] (``a``, ``b`` in value units).

    Drawn exactly, for any interval, by rejection from the proposal that suits it (a
    normal, a uniform or a shifted exponential: Robert, "Simulation of truncated normal
    variables", Statistics and Computing 1995, https://arxiv.org/abs/0907.4010).
    """
    fn = "trunc_normal_"
    _random_dtype(fn, _check(fn, tensor))
    mean, std = _number(fn, "mean", mean), _number(fn, "std", std, 0.0)
    a, b = _number(fn, "a", a), _number(fn, "b", b)
    if not a < b:
        raise ArgumentError(f"{fn}: need a < b, got a={a!r}, b={b!r}")
    if tensor.is_meta:
        return tensor
    n = math.prod(tensor.shape)
    if std == 0.0:
        host = np.full(n, min(max(mean, a), b))
    else:
        z = _truncated_standard_normal(_rng(fn, generator), (a - mean) / std,
                                       (b - mean) / std, n)
        host = np.clip(mean + std * z, a, b)
    return _fill(tensor, host.reshape(tensor.shape))


def _truncated_standard_normal(rng, lo, hi, n):
    """``n`` draws of N(0, 1) conditioned on [lo, hi] (Robert 1995, section 2)."""
    if hi <= 0.0:  # the left tail: mirror the right one
        return -_truncated_standard_normal(rng, -hi, -lo, n)
    if lo < 0.0:  # the interval holds 0
        if hi - lo >= math.sqrt(2 * math.pi):  # wide: plain normal draws, mostly inside
            mass = (math.erf(hi / math.sqrt(2)) - math.erf(lo / math.sqrt(2))) / 2

            def propose(m):
                z = rng.standard_normal(m)
                return z[(z >= lo) & (z <= hi)]
            return _collect(propose, n, mass)

        def propose(m):  # narrow: uniform draws, accepted with the density's ratio
            z = rng.uniform(lo, hi, m)
            return z[rng.random(m) <= np.exp(-z * z / 2)]
        return _collect(propose, n, 0.5)
    # 0 <= lo < hi: the right tail; an exponential proposal unless the interval is narrow
    root = math.sqrt(lo * lo + 4)
    alpha = (lo + root) / 2  # the best exponential rate for this tail
    if hi > lo + 2 / (lo + root) * math.exp((lo * lo - lo * root) / 4 + 0.5):
        def propose(m):
            z = lo + rng.exponential(1 / alpha, m)
            return z[(z <= hi) & (rng.random(m) <= np.exp(-(z - alpha) ** 2 / 2))]
    else:
        def propose(m):
            z = rng.uniform(lo, hi, m)
            return z[rng.random(m) <= np.exp((lo * lo - z * z) / 2)]
    return _collect(propose, n, 0.5)


def _collect(propose, n, rate):
    """Draw batches from ``propose`` (accepted samples of ``m`` proposals) until ``n``."""
    out, have = np.empty(n), 0
    while have < n:
        need = n - have
        got = propose(int(need / max(rate, 0.05) * 1.2) + 16)[:need]
        out[have:have + got.size] = got
        have += got.size
    return out


def orthogonal_(tensor, gain=1.0, generator=None):
    """Fill with a (semi-)orthogonal matrix: Saxe et al., "Exact solutions to the nonlinear
    dynamics of learning in deep linear neural networks" (ICLR 2014),
    https://arxiv.org/abs/1312.6120. The tensor is viewed as (shape[0], rest); its rows (or
    columns, if fewer) are orthonormal, then scaled by ``gain``.

    The QR factor of a Gaussian matrix, with the signs of R's diagonal folded in so the
    result is uniformly (Haar) distributed.
    """
    fn = "orthogonal_"
    _random_dtype(fn, _check(fn, tensor))
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError(f"{fn}: only tensors with 2 or more dims are supported, got shape "
                         f"{shape}")
    gain = _number(fn, "gain", gain)
    if 0 in shape or tensor.is_meta:
        return tensor
    rows = shape[0]
    cols = math.prod(shape) // rows
    flat = _rng(fn, generator).normal(0.0, 1.0, size=(rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (q * gain).reshape(shape))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """Fill a 2-D tensor with N(0, std^2) draws, then zero ``ceil(sparsity * rows)`` random
    entries of each column: Martens, "Deep learning via Hessian-free optimization"
    (ICML 2010), https://www.cs.toronto.edu/~jmartens/docs/Deep_HessianFree.pdf.

    Args:
        tensor: a 2-D weight.
        sparsity: the fraction of each column set to zero, in [0, 1].
        std: the standard deviation of the non-zero values (>= 0).
        generator: an xpnn.Generator to draw from.
    """
    fn = "sparse_"
    _random_dtype(fn, _check(fn, tensor))
    shape = tuple(tensor.shape)
    if len(shape) != 2:
        raise ValueError(f"{fn}: only 2-D tensors are supported, got shape {shape}")
    sparsity, std = _number(fn, "sparsity", sparsity, 0.0), _number(fn, "std", std, 0.0)
    if sparsity > 1.0:
        raise ValueError(f"{fn}: sparsity must be in [0, 1], got {sparsity!r}")
    rows, cols = shape
    rng = _rng(fn, generator)
    host = rng.normal(0.0, std, size=shape)
    zero_rows = np.argsort(rng.random(shape), axis=0)[:math.ceil(sparsity * rows)]
    np.put_along_axis(host, zero_rows, 0.0, axis=0)  # a random subset of rows per column
    return _fill(tensor, host)


def _deprecated(new, name):
    """PyTorch's deprecated spelling ``nn.init.<name>`` of ``new``: warns, then calls it."""
    def old(*args, **kwargs):
        warnings.warn(f"`nn.init.{name}` is now deprecated in favor of "
                      f"`nn.init.{new.__name__}`.", FutureWarning, stacklevel=2)
        return new(*args, **kwargs)
    old.__name__ = old.__qualname__ = name
    old.__doc__ = f"Deprecated: use :func:`{new.__name__}`."
    return old


# the old names without the trailing underscore (tutorials written before PyTorch 0.4)
uniform, normal, constant, eye, dirac, xavier_uniform, xavier_normal, kaiming_uniform, \
    kaiming_normal, orthogonal, sparse = (
        _deprecated(f, f.__name__[:-1]) for f in (
            uniform_, normal_, constant_, eye_, dirac_, xavier_uniform_, xavier_normal_,
            kaiming_uniform_, kaiming_normal_, orthogonal_, sparse_))
