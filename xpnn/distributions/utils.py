"""``torch.distributions.utils``: the helpers distribution code imports from there
(``broadcast_all``, ``probs_to_logits``, ``logits_to_probs``, ``clamp_probs``,
``lazy_property``, ``tril_matrix_to_vec``, ``vec_to_tril_matrix``), with PyTorch's
meanings."""
from __future__ import annotations

import math

from .. import backend as B
from .. import functional as F
from ..creation import arange
from .discrete import _clamp_probs
from .distribution import broadcast_all

__all__ = ["broadcast_all", "clamp_probs", "lazy_property", "logits_to_probs",
           "probs_to_logits", "tril_matrix_to_vec", "vec_to_tril_matrix"]


def clamp_probs(probs):
    """``probs`` clamped into [eps, 1 - eps] of its dtype."""
    return _clamp_probs(probs)


def probs_to_logits(probs, is_binary=False):
    """Logits of probabilities: log(p), or log(p) - log(1 - p) for ``is_binary``."""
    p = clamp_probs(probs)
    return p.log() - (-p).log1p() if is_binary else p.log()


def logits_to_probs(logits, is_binary=False):
    """Probabilities of logits: softmax over the last dim, or sigmoid for ``is_binary``."""
    return F.sigmoid(logits) if is_binary else F.softmax(logits, dim=-1)


class lazy_property:
    """A property computed once per instance, on first access, and then stored there."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return self
        value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


def _tril_mask(n, diag, like):
    idx = arange(n, backend=like.backend, device=like.device)
    return idx < idx.view(-1, 1) + (diag + 1)


def tril_matrix_to_vec(mat, diag=0):
    """The entries of ``mat``'s last two dims on and below diagonal ``diag``, row by row."""
    n = mat.shape[-1]
    if not -n <= diag < n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    return mat[..., _tril_mask(n, diag, mat)]


def vec_to_tril_matrix(vec, diag=0):
    """The inverse of :func:`tril_matrix_to_vec`: a lower-triangular (n, n) matrix (zeros
    elsewhere) from its last dim of n(n+1)/2 entries (for ``diag`` 0)."""
    k = vec.shape[-1]
    n = (-(1 + 2 * diag) + math.sqrt((1 + 2 * diag) ** 2 + 8 * k + 4 * abs(diag) *
                                     (diag + 1))) / 2
    eps = float(B.np.finfo(B.dtype_name(vec.dtype)).eps)
    if round(n) - n > eps:
        raise ValueError(f"The size of last dimension is {k} which cannot be expressed as "
                         "the lower triangular part of a square D x D matrix.")
    n = round(n)
    mask = _tril_mask(n, diag, vec)
    flat = vec.new_zeros(tuple(vec.shape[:-1]) + (n * n,))
    index = mask.reshape(-1).nonzero().reshape(-1)
    return flat.index_copy(-1, index, vec).reshape(tuple(vec.shape[:-1]) + (n, n))
