"""The recorded backwards of the pools (their ``backward_graph``), for create_graph.

Max pools: the gradient goes to each window's first maximum, so it is a scatter-add of dY at
those flat positions (``TakeGrad``, whose own gradient is the take back): differentiable in
dY, and as in PyTorch its derivative in the input is zero. Average pools are linear maps A:
their gradient A^T dY is recorded as an :class:`Adjoint` node, whose backward is A again
(the pool's own forward), so derivatives of any order follow. Both are linked to the
pool's input (first_order.link), as PyTorch's backward nodes read it: its derivative there
is zeros, not None.
"""
from __future__ import annotations

import math

from ..autograd import Function
from .first_order import link
from .indexing import Take, TakeGrad
from .shape import reshape


def scatter_to_positions(dY, flat, shape):
    """dY (any shape, one entry per position) added at the flat positions ``flat`` into
    zeros of ``shape``, recorded."""
    dX = TakeGrad.apply(reshape(dY, (-1,)), shape=(math.prod(shape),), indices=flat, axis=0)
    return reshape(dX, tuple(shape))


def take_positions(dY, flat, shape):
    """dY's entries at the flat positions ``flat``, shaped ``shape``, recorded."""
    return reshape(Take.apply(reshape(dY, (-1,)), indices=flat, axis=0), tuple(shape))


def max_pool_positions(node):
    """The flat position in the whole (N, C, H, W) input of each window's first maximum of
    a ``MaxPool`` node, as a 1-D int64 array in (N, C, Ho, Wo) order."""
    xp = node.xp
    N, C, H, W = node.shape
    idx = xp.permute_dims(node._indices(node.Xc, node.Yc, node.taps), (3, 0, 1, 2))
    planes = xp.reshape(xp.arange(N * C, dtype=idx.dtype, device=node.be.device) * (H * W),
                        (N, C, 1, 1))
    return xp.reshape(idx + planes, (-1,))


class Adjoint(Function):
    """Z = A^T G for the linear op A of a node (its backward), recorded; the gradient of Z is
    A dZ (the op's forward on dZ, with ``params``). ``state`` is a copy of the node's saved
    attributes (the engine clears the node itself after its step)."""

    saved_inputs = ()

    def forward(self, G, op=None, params=None, state=None):
        self.op, self.params = op, params
        return state.backward(G)

    def backward(self, dZ):
        fn = self.op.__new__(self.op)
        fn.be, fn.xp, fn.record, fn.needs = self.be, self.xp, False, (False,)
        return fn.forward(dZ, **self.params)

    def backward_graph(self, dZ):
        return self.op.apply(dZ, **self.params)


def adjoint_graph(node, dY, **params):
    """``backward_graph`` of a linear one-input node: A^T dY as an :class:`Adjoint`."""
    state = type(node).__new__(type(node))
    state.__dict__.update({k: v for k, v in node.__dict__.items()
                           if k not in ("inputs", "edges", "versions")})
    # linked to X: PyTorch's avg_pool2d_backward and adaptive_avg_pool2d_backward read it
    return link(Adjoint.apply(dY, op=type(node), params=params, state=state), node.inputs[0])
