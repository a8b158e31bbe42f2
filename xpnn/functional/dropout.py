"""Dropout: zero entries with probability p and scale the rest by 1/(1-p) (inverted dropout)."""
from __future__ import annotations

from ..autograd import Function, as_tensor


class Dropout(Function):
    def forward(self, X, p=0.5):
        keep = self.be.uniform(X.shape, X.dtype) >= p  # mask from the backend's own generator
        self.M = self.xp.astype(keep, X.dtype) * (1 / (1 - p))
        return X * self.M

    def backward(self, dY):
        return dY * self.M


def dropout(x, p=0.5, training=True):
    """Inverted dropout (Srivastava et al. 2014); the identity when not training or p == 0.

    Args:
        x: any shape, floating.
        p: probability of zeroing an entry, in [0, 1].
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p!r}")
    x = as_tensor(x)
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0.0
    return Dropout.apply(x, p=p)
