"""p-norm distances between all pairs of rows: ``cdist`` (two sets, batched) and ``pdist``
(one set, each pair once), with PyTorch's values and gradients (0 where a distance is 0).

Small inputs take the difference of every pair and its norm (:class:`PNorm`); for p = 2
with more than 25 rows on a side, as PyTorch's default ``compute_mode``, the squared
distance comes from one matrix product, |a|^2 + |b|^2 - 2 a.b (:class:`EuclidMM`).
"""
from __future__ import annotations

import math

from .. import backend as B
from .._errors import ArgumentError, DtypeError, DtypeNotImplemented, ShapeError
from ..autograd import Function, as_tensor
from .broadcast import quiet
from .dtype_refusals import refuse_dtypes
from .scalar_args import number_only
from .elementwise import promote, sub
from .indexing import take
from .shape import broadcast_shapes, expand, unsqueeze

_MM_ROWS = 25  # PyTorch's use_mm_for_euclid_dist_if_necessary: mm above 25 rows


@quiet
class PNorm(Function):
    """Y = ||D||_p over the last axis (p >= 0, inf); dD = dY sign(D) |D|^(p-1) / Y^(p-1),
    0 where Y = 0 (inf: dY at the entries reaching the max; 0: no gradient)."""

    def forward(self, D, p=2.0):
        xp = self.xp
        self.D, self.p = D, p
        A = xp.abs(D)
        if p == 0:
            Y = xp.sum(xp.astype(A != 0, D.dtype), axis=-1)
        elif p == math.inf:
            Y = xp.max(A, axis=-1) if D.shape[-1] else xp.sum(A, axis=-1)
        elif p == 1:
            Y = xp.sum(A, axis=-1)
        elif p == 2:
            Y = xp.sqrt(xp.sum(D * D, axis=-1))
        else:
            Y = xp.sum(A ** p, axis=-1) ** (1.0 / p)
        self.Y = Y
        return Y

    def backward(self, dY):
        xp, D, p, Y = self.xp, self.D, self.p, self.Y
        zero = xp.zeros((), dtype=D.dtype, device=D.device)
        if p == 0:
            return xp.zeros_like(D)
        g, Yx = dY[..., None], Y[..., None]
        if p == math.inf:
            return xp.where(xp.abs(D) == Yx, g * xp.sign(D), zero)
        if p == 1:
            return g * xp.sign(D)
        safe = xp.where(Yx == 0, xp.ones_like(Yx), Yx)
        if p == 2:
            G = g * D / safe
        else:
            with self.be.quiet():
                G = g * xp.sign(D) * xp.abs(D) ** (p - 1) / safe ** (p - 1)
            if p < 1:
                G = xp.where(D == 0, zero, G)
        return xp.where(Yx == 0, zero, G)


@quiet
class EuclidMM(Function):
    """Y[b, i, j] = |X1[b, i] - X2[b, j]| as sqrt(max(|x1|^2 + |x2|^2 - 2 x1.x2, 0));
    with W = dY / Y (0 where Y = 0): dX1 = X1 sum_j W - W X2, dX2 = X2 sum_i W - W^T X1."""

    def forward(self, X1, X2):
        xp = self.xp
        self.X1, self.X2 = X1, X2
        n1 = xp.sum(X1 * X1, axis=-1)[..., :, None]
        n2 = xp.sum(X2 * X2, axis=-1)[..., None, :]
        sq = n1 + n2 - 2 * (X1 @ xp.matrix_transpose(X2))
        self.Y = xp.sqrt(xp.clip(sq, 0, None))
        return self.Y

    def backward(self, dY):
        xp, X1, X2, Y = self.xp, self.X1, self.X2, self.Y
        W = xp.where(Y == 0, xp.zeros((), dtype=Y.dtype, device=Y.device),
                     dY / xp.where(Y == 0, xp.ones_like(Y), Y))
        dX1 = dX2 = None
        if self.needs[0]:
            dX1 = X1 * xp.sum(W, axis=-1)[..., None] - W @ X2
        if self.needs[1]:
            dX2 = X2 * xp.sum(W, axis=-2)[..., None] - xp.matrix_transpose(W) @ X1
        return dX1, dX2


def _check_p(op, p):
    p = number_only(op, "p", p)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or p < 0 or p != p:
        raise ArgumentError(f"{op}: only supports non-negative p values, got {p!r}")
    return float(p)


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """The p-norm distance between every row of ``x1`` and every row of ``x2``, as
    ``torch.cdist``.

    Args:
        x1: (*B, P, M) floating; x2: (*B, R, M), the batch dims broadcast.
        p: p >= 0 (inf: the largest difference; 0: the count of differing entries).
        compute_mode: PyTorch's: "use_mm_for_euclid_dist_if_necessary" (a product for
            p = 2 above 25 rows), "use_mm_for_euclid_dist" or
            "donot_use_mm_for_euclid_dist".
    Returns:
        (*B, P, R) in the inputs' dtype; differentiable (0 where a distance is 0).
    """
    modes = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
             "donot_use_mm_for_euclid_dist")
    if compute_mode not in modes:
        raise ArgumentError(f"cdist: compute_mode must be one of {modes}, got "
                            f"{compute_mode!r}")
    refuse_dtypes("cdist", ("bool", "integer"), x1, x2, names=("x1", "x2"), runtime=True)
    p = _check_p("cdist", p)
    a, b = promote(as_tensor(x1, op="cdist"), as_tensor(x2, op="cdist"), "cdist",
                   broadcast=False)
    if not a._be.is_floating(a.dtype) or B.dtype_name(a.dtype) in ("float16", "bfloat16"):
        # torch: RuntimeError for integers, NotImplementedError for half: both met here
        raise DtypeNotImplemented(f"cdist: only supports floating-point dtypes (float32, "
                                  f"float64), got {B.dtype_name(a.dtype)}")
    if a.ndim < 2 or b.ndim < 2:
        raise ShapeError(f"cdist: only supports at least 2D tensors, X1 got: {a.ndim}D, X2 "
                         f"got: {b.ndim}D")
    if a.shape[-1] != b.shape[-1]:
        raise ShapeError(f"cdist: X1 and X2 must have the same number of columns. X1: "
                         f"{a.shape[-1]} X2: {b.shape[-1]}")
    batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a, b = expand(a, batch + a.shape[-2:]), expand(b, batch + b.shape[-2:])
    rows = max(a.shape[-2], b.shape[-2])
    if p == 2 and (compute_mode == "use_mm_for_euclid_dist" or
                   compute_mode == modes[0] and rows > _MM_ROWS):
        return EuclidMM.apply(a, b)
    return PNorm.apply(sub(unsqueeze(a, -2), unsqueeze(b, -3)), p=p)


def pdist(input, p=2):
    """The p-norm distance of every pair of rows i < j of an (N, M) tensor, in row-major
    order of the pairs: (N (N - 1) / 2,), as ``torch.nn.functional.pdist``;
    differentiable (0 where a distance is 0)."""
    x = as_tensor(input, op="pdist")
    p = _check_p("pdist", p)
    if x.ndim != 2:
        raise ShapeError(f"pdist: only supports 2D tensors, got: {x.ndim}D")
    if not x._be.is_floating(x.dtype):
        raise DtypeError(f"pdist: only supports floating-point dtypes, got "
                        f"{B.dtype_name(x.dtype)}")
    n = x.shape[0]
    i, j = B.np.triu_indices(n, 1)  # host positions from the size alone: no read of data
    rows = [take(x, x._be.asarray(k.astype(B.np.int64)), axis=0) for k in (i, j)]
    return PNorm.apply(sub(*rows), p=p)
