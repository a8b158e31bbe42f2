"""Gradients that are zero but for one block: what a basic-index read (``x[key]`` with ints,
slices and None, and so ``split``, ``chunk``, ``unbind`` and ``narrow``) sends back to its
input. As plain arrays, k pieces read from one tensor give it k zero arrays of its full size,
each with one piece written in, and the engine then sums them (k - 1 more full-size arrays);
as :class:`Placed` gradients the sweep (:func:`xpnn.autograd.engine._run`) writes every
piece into one array of zeros when the input's node needs its gradient (a Transformer
layer's q, k, v split of its packed projection: one (N, L, 3E) array instead of five)."""
from __future__ import annotations


class Placed:
    """The gradient of an array of ``shape``: ``value`` at ``key`` (ints, slices and None,
    one per axis, as :class:`~xpnn.functional.indexing.BasicIndex` keeps it), zero
    elsewhere."""

    __slots__ = ("xp", "shape", "key", "value")

    def __init__(self, xp, shape, key, value):
        self.xp, self.shape, self.key, self.value = xp, shape, key, value

    def dense(self):
        """The gradient as an array (zeros, the value written at the key)."""
        D = self.xp.zeros(self.shape, dtype=self.value.dtype, device=self.value.device)
        self.add_to(D, assign=True)
        return D

    def add_to(self, D, assign=False):
        """Add the value into ``D`` at the key (write it, where ``assign``: D is zero there)."""
        key, value = self.key, self.value
        if None in key:  # a new axis when reading: writing goes through the key without it
            key = tuple(k for k in key if k is not None)
            value = self.xp.reshape(value, tuple(D[key].shape))
        if assign:
            D[key] = value
        else:
            D[key] += value


def dense(g):
    """``g`` as an array (a :class:`Placed` gradient written out; anything else as it is)."""
    return g.dense() if type(g) is Placed else g


def add_grads(a, b):
    """``a + b`` for two gradients of one array, either of which may be :class:`Placed`
    (the sum is a new array). Every element is a sum as the dense arrays would give it: a
    value where only one gradient has one is ``value + 0``, so a -0.0 becomes 0.0, as in
    PyTorch's sum of the dense gradients."""
    pa, pb = type(a) is Placed, type(b) is Placed
    if not (pa or pb):
        return a + b
    if pa and pb:
        xp = a.xp
        D = xp.zeros(a.shape, dtype=xp.result_type(a.value.dtype, b.value.dtype),
                     device=a.value.device)
        a.add_to(D)
        b.add_to(D)
        return D
    if pa:
        a, b = b, a
    D = a + 0.0  # a: an array (it may be held elsewhere: a new one), b: Placed
    if D.dtype != b.value.dtype:
        D = b.xp.astype(D, b.xp.result_type(D.dtype, b.value.dtype))
    b.add_to(D)
    return D
