"""The gradient of prod by PyTorch's rule, exact at zeros and with PyTorch's NaN/inf.

d prod / dx_i is the product of the other entries of x_i's slice. PyTorch takes it as
``prod / x_i`` while the whole input holds no zero, and otherwise as exclusive cumulative
products from both ends (no division, so exact at zeros; a 0 meeting an inf among the
others gives NaN there); a whole-tensor ``torch.prod(x)`` with two or more zeros has a zero
gradient. The choice is made by ``where`` on 0-d arrays: no host sync.
"""
from __future__ import annotations

import math


def others_product(xp, X, axes):
    """For each entry of ``X``, the product of the other entries of its slice over
    ``axes`` (a tuple of axes), by exclusive cumulative products (PyTorch's order)."""
    rest = tuple(a for a in range(X.ndim) if a not in axes)
    order = rest + tuple(axes)
    P = xp.permute_dims(X, order)
    moved = P.shape
    P = xp.reshape(P, moved[:len(rest)] + (math.prod(moved[len(rest):]),))
    one = xp.ones(P.shape[:-1] + (1,), dtype=X.dtype, device=X.device)
    left = xp.cumulative_prod(xp.concat([one, P[..., :-1]], axis=-1), axis=-1)
    flipped = xp.flip(P, axis=-1)
    right = xp.flip(xp.cumulative_prod(xp.concat([one, flipped[..., :-1]], axis=-1),
                                       axis=-1), axis=-1)
    O = xp.reshape(left * right, moved)
    inverse = tuple(order.index(a) for a in range(X.ndim))
    return xp.permute_dims(O, inverse)


def prod_grad(xp, X, Y, axes, whole):
    """d prod / dX (to multiply by the broadcast upstream gradient): ``Y`` the product with
    the reduced axes kept, ``whole`` for torch.prod(x) without a dim."""
    if not axes:  # a 0-d input: prod is the identity
        return xp.ones_like(X)
    if not math.prod(X.shape):
        return xp.zeros_like(X)
    zeros = xp.sum(xp.astype(X == 0, xp.int64))
    d = xp.where(zeros == 0, Y / X, others_product(xp, X, axes))
    if whole:
        d = xp.where(zeros > 1, xp.zeros_like(d), d)
    return d
