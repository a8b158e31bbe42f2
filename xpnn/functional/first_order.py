"""Gradients without a derivative of their own, for create_graph=True.

PyTorch records the backward of a few ops (ctc_loss) as a node whose own backward is not
implemented: a create_graph gradient comes back and requires grad, and only differentiating
it again raises RuntimeError ("derivative for ... is not implemented"). An xpnn op with the
same status writes ``backward_graph`` as :func:`first_order_only`, to fail at the same step.

:func:`link` is the other half: a recorded gradient that does not depend on the op's input
(a mask, an index or a shape read from it), tied to that input as PyTorch's backward node is.
"""
from __future__ import annotations

from ..autograd import Function, no_grad


class NoDerivative(Function):
    """Holds a gradient computed without a graph, recorded on the tensors it came from
    (the output gradients and the op's inputs); its backward refuses."""

    saved_inputs = ()

    def forward(self, *tensors, grad=None, op="op"):
        self.op = op
        return grad

    def backward(self, dY):
        raise RuntimeError(f"{self.op}: derivative for the backward of {self.op} is not "
                           "implemented (its gradient cannot be differentiated again, as in "
                           "PyTorch)")

    backward_graph = backward


class Linked(Function):
    """A gradient G recorded as a node of (G, *sources) whose derivative in the sources is
    zero: PyTorch's backward nodes that read an op's input only for a mask, an index or a
    shape (threshold_backward, max_pool2d_with_indices_backward, avg_pool2d_backward,
    reflection_pad1d_backward, nll_loss_backward: ``self: zeros_like(grad)``). A gradient
    taken with create_graph=True then depends on the input as PyTorch's does: it requires
    grad, and whatever made the input gets zeros from it rather than None.

    zeros=False: no gradient at all for the sources (None), as PyTorch's convolution and
    batch-norm backward nodes give for a bias gradient that is a sum of dY alone.
    """
    saved_inputs = ()

    def forward(self, G, *sources, zeros=True):
        self.like = [(s.shape, s.dtype) for s in sources] if zeros else None
        return G

    def backward(self, dZ):
        xp, dev = self.xp, self.be.device
        if self.like is None:
            return (dZ, *[None] * (len(self.needs) - 1))
        return (dZ, *[xp.zeros(s, dtype=t, device=dev) if need else None
                      for (s, t), need in zip(self.like, self.needs[1:])])

    def backward_graph(self, dZ):
        rest = self.backward(dZ.array)[1:]  # zeros: constants, as PyTorch's zeros_like
        return (dZ, *[None if d is None else dZ._result(d, dZ._be) for d in rest])


def link(G, *sources, zeros=True):
    """``G`` (a gradient recorded with create_graph=True) as a :class:`Linked` node of
    ``sources`` (the op's inputs its backward reads for a mask, index or shape only)."""
    if not any(s.requires_grad for s in sources):
        return G
    return Linked.apply(G, *sources, zeros=zeros)


def first_order_only(node, dYs, op):
    """``backward_graph`` of ``node`` for an op without a double backward: its first-order
    gradients (``node.backward`` on arrays), each recorded as a :class:`NoDerivative`."""
    with no_grad():
        dXs = node.backward(*[None if d is None else d.array for d in dYs])
    if type(dXs) is not tuple:
        dXs = (dXs,)
    sources = [d for d in dYs if d is not None] + list(node.inputs)
    return tuple(None if dX is None or not need else
                 NoDerivative.apply(*sources, grad=dX, op=op)
                 for dX, need in zip(dXs, node.needs))
