"""Moving a tensor to another backend, device or dtype (``to``): the one op that crosses
namespaces, differentiable both ways."""
from __future__ import annotations

from .. import backend as B
from ..autograd import Function, no_grad
from ..backend_meta import COPY_OUT
from .complex_base import real_like


class Transfer(Function):
    """Y = X on another backend/device/dtype; the gradient goes back the same way."""

    saved_inputs = ()

    def forward(self, X, target=None, dtype=None):
        self.src_dtype = X.dtype
        if dtype is not None and B.is_complex_dtype(self.xp, X.dtype) and \
                B.dtype_name(dtype) not in B.COMPLEX_DTYPES:
            # complex to real keeps the real part (PyTorch); to bool: whether either is
            # nonzero (PyTorch: bool(1j) is True)
            X = X != 0 if B.dtype_name(dtype) == "bool" else self.xp.real(X)
        if target is self.be:
            if dtype is None:
                return X
            with self.be.quiet():  # NaN/inf to an integer, overflow to float16: as torch
                return self.xp.astype(X, target.dtype(dtype))
        return target.asarray(X, dtype=dtype)

    def backward(self, dY):
        if B.backend_of(dY) is self.be:
            return dY if dY.dtype == self.src_dtype else real_like(self.xp, dY, self.src_dtype)
        return self.be.asarray(dY, dtype=B.dtype_name(self.src_dtype))

    def backward_graph(self, dY):
        if dY._be is self.be:
            return to(dY, dtype=self.src_dtype)
        return to(dY, backend=self.be.name, device=self.be.device,
                  dtype=B.dtype_name(self.src_dtype))


def to(x, backend=None, device=None, dtype=None):
    """``x`` on another backend/device/dtype; gradients flow back to the source."""
    target = x._be if backend is None and device is None else B.get_backend(
        backend if backend is not None else x.backend, device)
    if target is x._be and (dtype is None or x.dtype == target.dtype(dtype)):
        return x
    if x._be.is_meta and not target.is_meta:  # PyTorch's NotImplementedError
        raise NotImplementedError(COPY_OUT)
    if dtype is not None and x.requires_grad and not target.is_inexact(target.dtype(dtype)):
        with no_grad():  # an integer or bool result has no gradient: a constant (PyTorch)
            out = Transfer.apply(x, target=target, dtype=dtype)
    else:
        out = Transfer.apply(x, target=target, dtype=dtype)
    out._be = target  # the node ran on the source; its output lives on the target
    return out
