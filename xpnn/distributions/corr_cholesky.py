"""CorrCholeskyTransform (as ``torch.distributions.transforms``): unconstrained vectors onto
Cholesky factors of correlation matrices by tanh and stick breaking, with the helpers that
move a matrix's lower triangle to a vector and back (differentiable, by index_select and a
0/1 placement matrix)."""
from __future__ import annotations

import math

from .. import functional as F
from ..creation import eye
from . import constraints
from ._transform_base import _finfo, _Stateless

__all__ = ["CorrCholeskyTransform"]


def _tril_positions(n, offset):
    """Flat positions (row-major in an n x n matrix) of the entries (i, j), j <= i + offset,
    in row-major order."""
    return [i * n + j for i in range(n) for j in range(n) if j <= i + offset]


def _tril_to_vec(m, offset):
    """The lower-triangle entries (j <= i + offset) of the last two dims, row-major."""
    n = m.shape[-1]
    flat = m.reshape(tuple(m.shape[:-2]) + (n * n,))
    idx = _index(m, _tril_positions(n, offset))
    return F.index_select(flat, -1, idx)


def _index(like, values):
    from ..creation import tensor
    return tensor(values, dtype="int64", backend=like.backend, device=like.device)


def _vec_to_tril(v, n, offset):
    """An n x n matrix with ``v`` in the lower triangle j <= i + offset (row-major), 0
    elsewhere: v times a 0/1 placement matrix, so exact and differentiable."""
    pos = _tril_positions(n, offset)
    place = v.new_zeros((len(pos), n * n))
    place[_index(v, list(range(len(pos)))), _index(v, pos)] = 1.0
    return (v @ place).reshape(tuple(v.shape[:-1]) + (n, n))


def _corr_dim(m, what):
    n = int(round((1 + math.sqrt(1 + 8 * m)) / 2))
    if n * (n - 1) // 2 != m:
        raise ValueError(f"{what}: the last dim {m} is not a triangular number D (D - 1) / 2")
    return n


class CorrCholeskyTransform(_Stateless):
    """R^(D(D-1)/2) onto Cholesky factors of D x D correlation matrices (lower triangular,
    positive diagonal, rows of unit norm), as ``torch.distributions.CorrCholeskyTransform``:
    tanh maps x into (-1, 1) (filling the strictly lower triangle row by row), then each row
    is a stick broken by those fractions: y_ij = r_ij prod_(k<j) sqrt(1 - r_ik^2)."""

    domain = constraints.real_vector
    bijective = True

    @property
    def codomain(self):
        return constraints.corr_cholesky

    def _call(self, x):
        eps = float(_finfo(x).eps)
        r = x.tanh().clamp(min=-1 + eps, max=1 - eps)
        n = _corr_dim(x.shape[-1], "CorrCholeskyTransform")
        r = _vec_to_tril(r, n, -1)
        keep = F.cumprod((1 - r * r).sqrt(), dim=-1)
        ones = keep[..., :1] * 0 + 1
        scale = F.cat([ones, keep[..., :-1]], -1)
        return (r + eye(n, dtype=x.dtype, backend=x.backend, device=x.device)) * scale

    def _inverse(self, y):
        left = 1 - F.cumsum(y * y, dim=-1)
        ones = left[..., :1] * 0 + 1
        shifted = F.cat([ones, left[..., :-1]], -1)
        t = _tril_to_vec(y, -1) / _tril_to_vec(shifted, -1).sqrt()
        t = t.clamp(min=-1 + float(_finfo(y).eps), max=1 - float(_finfo(y).eps))
        return 0.5 * (F.log1p(t) - F.log1p(-t))

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        left = 1 - F.cumsum(y * y, dim=-1)
        stick = 0.5 * _tril_to_vec(left, -2).log().sum(-1)
        tanh = -2 * (x + F.softplus(-2 * x) - math.log(2.0)).sum(-1)
        return stick + tanh

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("CorrCholeskyTransform: too few dimensions on input")
        n = _corr_dim(shape[-1], "CorrCholeskyTransform")
        return tuple(shape[:-1]) + (n, n)

    def inverse_shape(self, shape):
        if len(shape) < 2 or shape[-1] != shape[-2]:
            raise ValueError(f"CorrCholeskyTransform: expected square matrices, got {shape}")
        n = shape[-1]
        return tuple(shape[:-2]) + (n * (n - 1) // 2,)
