"""``a ** b`` of complex tensors (a tensor exponent; a number exponent takes PowScalar).

The principal branch, as PyTorch and NumPy: a^b = exp(b log a). Gradients in PyTorch's
convention for a holomorphic function (:mod:`.complex_base`): dY times the conjugate of the
derivative.
"""
from __future__ import annotations

from ..autograd import Function
from .broadcast import quiet, unbroadcast, unbroadcast_graph
from .compare import where
from .complex import conj, real
from .unary import log


@quiet
class ComplexPow(Function):
    """Y = A^B; dA = dY conj(B A^(B-1)) (0 where B == 0: a^0 is constant), dB = dY conj(Y
    log A) (0 where A == 0 and Re(B) >= 0, PyTorch's rule)."""

    def forward(self, A, B):
        self.A, self.B = A, B
        self.Y = A ** B
        return self.Y

    def backward(self, dY):
        A, B, xp = self.A, self.B, self.xp
        zero = xp.zeros((), dtype=dY.dtype, device=dY.device)
        dA = dB = None
        if self.needs[0]:
            dA = xp.where(B == 0, zero, dY * xp.conj(B * A ** (B - 1)))
            dA = unbroadcast(xp, dA, A.shape)
        if self.needs[1]:
            flat = (A == 0) & (xp.real(B) >= 0)
            dB = xp.where(flat, zero, dY * xp.conj(self.Y * xp.log(A)))
            dB = unbroadcast(xp, dB, B.shape)
        return dA, dB

    def backward_graph(self, dY):
        A, B = self.inputs
        dA = dB = None
        if self.needs[0]:
            dA = unbroadcast_graph(where(B == 0, 0.0, dY * conj(B * A ** (B - 1))), A.shape)
        if self.needs[1]:
            dB = where((A == 0) & (real(B) >= 0), 0.0, dY * conj(A ** B * log(A)))
            dB = unbroadcast_graph(dB, B.shape)
        return dA, dB
