"""Gradients without a derivative of their own, for create_graph=True.

PyTorch records the backward of a few ops (ctc_loss) as a node whose own backward is not
implemented: a create_graph gradient comes back and requires grad, and only differentiating
it again raises RuntimeError ("derivative for ... is not implemented"). An xpnn op with the
same status writes ``backward_graph`` as :func:`first_order_only`, to fail at the same step.
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
