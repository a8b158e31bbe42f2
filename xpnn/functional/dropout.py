"""Dropout: zero entries with probability p and scale the rest by 1/(1-p) (inverted dropout),
elementwise or whole channels at a time; alpha dropout (for SELU networks) and the
randomized leaky ReLU, the other ops that draw per-entry noise in training. Masks and
slopes come from the backend's own generator."""
from __future__ import annotations

import math
import warnings
from functools import partial

from .. import backend as B
from .. import cpu
from .._errors import ArgumentError, DtypeNotImplemented
from .scalar_args import number_only
from ..autograd import Function, as_tensor
from .broadcast import quiet


def _keep_portable(be, shape, dtype, p, generator):
    return be.uniform(shape, dtype, generator) >= p


# Elements per random stream of a large NumPy mask: a mask of more than twice as many is
# drawn in pieces of about this size, each from its own generator seeded from the caller's,
# on xpnn's CPU threads (one NumPy generator runs on one core: a million elements take
# ~1.1 ms). How a mask is cut follows its size alone, so the masks do not depend on the
# thread count. Measured on two threads (whole -> pieces): 2^20 elements 1.56 -> 0.92 ms,
# 2^19 0.72 -> 0.56 ms; 2^18 in two pieces took longer than whole (~300 -> ~320 us: the
# hand-off and the seeding), so it stays whole.
MASK_PIECE = 1 << 17


def _keep_piece(np, bits_from, cut, out, scale=None):
    """Write the piece ``out`` of a mask from the raw bits of generator ``bits_from``: kept
    where 32 bits, as an integer, are at least ``cut``; as ``scale`` or 0 (``out`` floating)
    where a scale is given, else as bools."""
    n = out.shape[0]
    bits = bits_from.random_raw((n + 1) // 2).view(np.uint32)[:n]
    if scale is None:
        np.greater_equal(bits, np.uint32(cut), out=out)
    else:
        np.multiply(bits >= np.uint32(cut), scale, out=out)


def _seeded_piece(np, kind, seed, cut, out, scale):
    _keep_piece(np, kind(seed), cut, out, scale)


def _draw_numpy(be, p, generator, out, scale=None):
    """Fill ``out`` (flat, n elements) with a mask drawn from the generator's raw bits:
    kept when the bits, as an integer, are at least p * 2^32. That is the uniform-float
    compare at 2^-32 resolution without turning bits into floats, the bulk of a mask's cost
    (a million elements: 1.2 ms instead of 2.0 ms here). Up to twice :data:`MASK_PIECE`
    elements are drawn from the generator itself; a larger mask takes one raw 64-bit seed
    per piece from it and draws each piece from a new generator of its kind seeded with it,
    the pieces on xpnn's CPU threads (the Transformer benchmark draws 4.2 million a step).
    Returns False where p rounds to dropping everything (``out`` untouched)."""
    np = be.lib
    rng = be.generator(generator)
    cut = math.ceil(p * 2 ** 32)
    if cut >= 2 ** 32:
        return False
    n = out.shape[0]
    if n <= 2 * MASK_PIECE:
        _keep_piece(np, rng.bit_generator, cut, out, scale)
        return True
    cpu.tick()
    pieces = cpu.chunks(n, -(-n // MASK_PIECE))
    seeds = rng.bit_generator.random_raw(len(pieces))
    kind = type(rng.bit_generator)
    tasks = [partial(_seeded_piece, np, kind, int(seed), cut, out[a:b], scale)
             for seed, (a, b) in zip(seeds, pieces)]
    cpu.parallel(cpu.pool.grouped(tasks, cpu.workers(n, MASK_PIECE)))
    return True


def _keep_numpy(be, shape, dtype, p, generator):
    """Where to keep (bools), by :func:`_draw_numpy`."""
    np = be.lib
    keep = np.empty(math.prod(shape), dtype=bool)
    if not _draw_numpy(be, p, generator, keep):
        return np.zeros(shape, dtype=bool)
    return np.reshape(keep, shape)


# Native keep-masks by backend name; the others compare uniform floats with p.
KEEP = {"numpy": _keep_numpy}


def _mask_numpy(be, shape, dtype, p, generator):
    """The whole mask (0 or 1/(1-p)) of :func:`dropout_mask` for float32/float64, each piece
    written as it is drawn (:func:`_draw_numpy`): the same values as the keep mask cast and
    scaled, without the two passes over it. None for other dtypes."""
    np = be.lib
    dt = be.dtype(dtype)
    if dt not in (np.float32, np.float64):
        return None
    M = np.empty(math.prod(shape), dtype=dt)
    if not _draw_numpy(be, p, generator, M, np.dtype(dt).type(1 / (1 - p))):
        return np.zeros(shape, dtype=dt)
    return np.reshape(M, shape)


def _mask_cupy(be, shape, dtype, p, generator):
    """The portable mask from the same uniform samples, the compare and scaling in one
    kernel (the portable code launches three); None for other dtypes, decided before any
    sample is drawn so that the portable code draws the same stream."""
    if B.dtype_name(be.dtype(dtype)) not in ("float32", "float64"):
        return None
    u = be.uniform(shape, dtype, generator)
    return be.kernel("xpnn_dropout_mask", "T u, T p, T scale", "T m",
                     "m = (u >= p ? (T)1 : (T)0) * scale;")(u, p, 1 / (1 - p))


# Native whole masks by backend name (None where one does not apply).
MASK = {"cupy": _mask_cupy, "numpy": _mask_numpy}


def dropout_mask(be, shape, dtype, p, generator=None):
    """A mask of ``shape``: 0 with probability p, else 1/(1-p) (also used by attention)."""
    native = MASK.get(be.name)
    mask = native(be, tuple(shape), dtype, p, generator) if native else None
    if mask is not None:
        return mask
    keep = KEEP.get(be.name, _keep_portable)(be, tuple(shape), dtype, p, generator)
    return be.xp.astype(keep, dtype) * (1 / (1 - p))


@quiet
class Dropout(Function):
    """Y = X * M for a mask M of ``mask_shape`` (broadcast over the dims it has as 1)."""

    saved_inputs = ()

    def forward(self, X, p=0.5, mask_shape=None):
        M = dropout_mask(self.be, mask_shape, X.dtype, p)
        if self.record:
            self.M = M
        return X * M

    def backward(self, dY):
        return dY * self.M

    def backward_graph(self, dY):  # the mask is a constant of the graph
        return dY * dY._result(self.M, dY._be)


def _check(op, x, p):
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ValueError(f"{op}: p must be in [0, 1], got {p!r}")
    x = as_tensor(x, op=op)
    if not x._be.is_floating(x.dtype):  # PyTorch: NotImplementedError (or RuntimeError)
        raise DtypeNotImplemented(f"{op}: expected a floating tensor, got "
                                  f"{B.dtype_name(x.dtype)}")
    return x


def _apply(x, p, training, mask_shape):
    if not training or p == 0:
        return x
    if p == 1:
        from .elementwise import mul
        return mul(x, 0.0)
    return Dropout.apply(x, p=p, mask_shape=mask_shape)


def dropout(input, p=0.5, training=True, inplace=False):
    """Inverted dropout (Srivastava et al. 2014); the identity when not training or p == 0.

    Args:
        input: any shape, floating.
        p: probability of zeroing an entry, in [0, 1].
        training: apply it (False: return the input).
        inplace: accepted for PyTorch compatibility; the result is a new tensor.
    """
    x = _check("dropout", input, p)
    return _apply(x, p, training, x.shape)


def _channel_dropout(op, input, p, training, ndim):
    """One draw per (sample, channel), broadcast over the spatial dims (Tompson et al. 2015,
    "spatial dropout"); an unbatched input (C, ...) has one draw per channel."""
    x = _check(op, input, p)
    if x.ndim not in (ndim, ndim - 1):
        raise ValueError(f"{op}: expected a {ndim}-D (N, C, ...) or {ndim - 1}-D (C, ...) "
                         f"input, got shape {x.shape}")
    lead = 2 if x.ndim == ndim else 1
    return _apply(x, p, training, x.shape[:lead] + (1,) * (x.ndim - lead))


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Channel dropout for (N, C, L) inputs, as ``torch.nn.functional.dropout1d``."""
    return _channel_dropout("dropout1d", input, p, training, 3)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Channel dropout for (N, C, H, W) inputs, as ``torch.nn.functional.dropout2d``. A 3-D
    input is read as PyTorch 2 reads it, with its warning: (N, C, L), one draw per (sample,
    channel), as ``dropout1d`` (not as an unbatched (C, H, W))."""
    if getattr(input, "ndim", None) == 3:
        warnings.warn("dropout2d: a 3-D input is taken as (N, C, L) and whole channels are "
                      "dropped per sample (1-D channel dropout); PyTorch plans to read it as "
                      "an unbatched (C, H, W) instead: call dropout1d to keep this meaning",
                      UserWarning, stacklevel=2)
        return _channel_dropout("dropout2d", input, p, training, 3)
    return _channel_dropout("dropout2d", input, p, training, 4)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Channel dropout for (N, C, D, H, W) inputs."""
    return _channel_dropout("dropout3d", input, p, training, 5)


# -- self-normalizing dropout and randomized leaky ReLU -------------------------------------

_SELU_ALPHA = 1.6732632423543772 * 1.0507009873554805  # SELU's negative saturation, -a'


@quiet
class AlphaDropout(Function):
    """Y = a * (X * M + alpha' * (1 - M)) + b for a 0/1 keep mask M: dropped entries go to
    SELU's saturation -alpha', then the affine map (a, b) restores zero mean and unit
    variance (Klambauer et al. 2017, eq. 11); dX = a * M * dY."""

    saved_inputs = ()

    def forward(self, X, p=0.5, mask_shape=None):
        keep = KEEP.get(self.be.name, _keep_portable)(self.be, tuple(mask_shape), X.dtype, p,
                                                      None)
        M = self.xp.astype(keep, X.dtype)
        alpha = _SELU_ALPHA
        a = 1 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
        self.aM = M * a
        # PyTorch's form: X * (a M) + (M - 1) alpha a + alpha a p
        return X * self.aM + ((M - 1) * (alpha * a) + alpha * a * p)

    def backward(self, dY):
        return dY * self.aM

    def backward_graph(self, dY):
        return dY * dY._result(self.aM, dY._be)


def _alpha(op, input, p, training, feature):
    x = _check(op, input, p)
    if not training or p == 0:
        return x
    if p == 1:
        from .elementwise import mul
        return mul(x, 0.0)
    if feature and x.ndim < 2:
        raise ValueError(f"{op}: feature dropout needs an input (N, C, ...) with at least 2 "
                         f"dims, got shape {x.shape}")
    shape = x.shape[:2] + (1,) * (x.ndim - 2) if feature else x.shape
    return AlphaDropout.apply(x, p=p, mask_shape=shape)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout for self-normalizing networks (SELU), as
    ``torch.nn.functional.alpha_dropout``: keeps the input's mean and variance.

    Args:
        input: any shape, floating.
        p: probability of dropping an entry, in [0, 1].
        training: apply it (PyTorch's functional default is False: the identity).
        inplace: accepted for PyTorch compatibility; the result is a new tensor.
    """
    return _alpha("alpha_dropout", input, p, training, False)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels: one draw per (sample, channel) of (N, C, ...), as
    ``torch.nn.functional.feature_alpha_dropout``; arguments as :func:`alpha_dropout`."""
    return _alpha("feature_alpha_dropout", input, p, training, True)


class RReLU(Function):
    """Y = X where X > 0, else X * r with r ~ U(lower, upper) drawn per element (Xu et al.
    2015); dX = dY * (1 or r)."""

    saved_inputs = ()

    def forward(self, X, lower=0.125, upper=1 / 3):
        xp = self.xp
        r = self.be.uniform(X.shape, X.dtype, None) * (upper - lower) + lower
        self.slope = xp.where(X > 0, xp.ones_like(r), r)
        return X * self.slope

    def backward(self, dY):
        return dY * self.slope

    def backward_graph(self, dY):
        return dY * dY._result(self.slope, dY._be)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomized leaky ReLU, as ``torch.nn.functional.rrelu``: in training each negative
    entry is scaled by its own slope drawn from U(lower, upper) (the backend's generator, as
    dropout draws); otherwise by the mean slope (lower + upper) / 2.

    Args:
        input: any shape, floating.
        lower, upper: the slope range, lower <= upper.
        training: draw the slopes (PyTorch's functional default is False).
        inplace: accepted for PyTorch compatibility; the result is a new tensor.
    """
    x = as_tensor(input, op="rrelu")
    if not x._be.is_floating(x.dtype):
        raise DtypeNotImplemented(f"rrelu: expected a floating tensor, got "
                                  f"{B.dtype_name(x.dtype)}")
    lower, upper = (number_only("rrelu", n, v) for n, v in (("lower", lower), ("upper", upper)))
    if not lower <= upper:  # PyTorch: RuntimeError
        raise ArgumentError(f"rrelu: lower bound {lower!r} must be <= upper bound {upper!r}")
    if not training:
        from .activation import leaky_relu
        return leaky_relu(x, (lower + upper) / 2)
    return RReLU.apply(x, lower=float(lower), upper=float(upper))
