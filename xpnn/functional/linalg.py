"""Matrix products: matmul, and linear (matmul + bias fused into one node).

Every 2-D product of the hot ops (linear, conv, recurrent, attention) goes through
:func:`mm2d`, which takes the backend's native kernel from ``MATMUL`` when it has one; those
kernels (NumPy's product cut into blocks over xpnn's CPU threads, CuPy's direct cuBLAS call,
the stacked products of ``BATCHED_MATMUL``) and mm2d's variants are in gemm.py, re-exported
here. Tests that empty ``MATMUL`` or ``BATCHED_MATMUL`` patch gemm.py, which reads them.
"""
from __future__ import annotations

from ..autograd import Function, TensorBase, _mixed, as_tensor
from .broadcast import quiet
from .elementwise import _broadcastable, _saved_for, promote, unbroadcast, unbroadcast_graph
from .complex import conj as conj_t  # Tensors: the recorded backward (a real one as is)
from .complex_base import conj
from .._errors import DtypeError, DtypeNotImplemented, ShapeError
from .shape import reshape
# the native kernels, re-exported where linalg.py held them before the split (conv,
# recurrent, attention, tests)
from .gemm import (BATCHED_MATMUL, GEMM_GRAIN, MATMUL, Reused, _GEMM,  # noqa: F401
                   _bmm_numpy, _gemm_layout, _mm_block, _mm_cupy, _mm_numpy,
                   _mm_numpy_start, _mm_portable, _pair_pays, _product_blocks, _split,
                   _store_product, array_matmul, mm2d, mm2d_pair, mm2d_start, product_loop,
                   reused)

_product = array_matmul


@quiet
class MatMul(Function):
    def forward(self, A, B):
        self.A, self.B = A, B
        self.saved_inputs = _saved_for(self.needs)
        return _product(self.be, A, B)

    def backward(self, dY):
        A, B, xp, be = self.A, self.B, self.xp, self.be
        # Y = A B  =>  dA = dY B^H,  dB = A^H dY  (batch dims summed where broadcast; B^H is
        # B^T for real B)
        dA = unbroadcast(xp, _product(be, dY, xp.matrix_transpose(conj(xp, B))), A.shape) \
            if self.needs[0] else None
        dB = unbroadcast(xp, _product(be, xp.matrix_transpose(conj(xp, A)), dY), B.shape) \
            if self.needs[1] else None
        return dA, dB

    def backward_graph(self, dY):
        A, B = self.inputs
        dA = unbroadcast_graph(dY @ conj_t(B).mT, A.shape) if self.needs[0] else None
        dB = unbroadcast_graph(conj_t(A).mT @ dY, B.shape) if self.needs[1] else None
        return dA, dB


@quiet
class Linear(Function):
    """Y = X W^T + b for X of shape (N, in), W (out, in), b (out,)."""

    fresh_grads = True  # dX, dW, db are each a new matmul/sum result

    def forward(self, X, W, b=None):
        self.X, self.W = X, W
        return mm2d(self.be, X, W.T, b)

    def backward(self, dY):
        X, W, xp, be = self.X, self.W, self.xp, self.be
        X, W = conj(xp, X), conj(xp, W)  # complex: dX = dY conj(W), dW = dY^T conj(X)
        if self.needs[0] and self.needs[1]:
            dX, dW = mm2d_pair(be, dY, W, dY.T, X)
        else:
            dX = mm2d(be, dY, W) if self.needs[0] else None
            dW = mm2d(be, dY.T, X) if self.needs[1] else None
        if len(self.needs) == 2:
            return dX, dW
        return dX, dW, (xp.sum(dY, axis=0) if self.needs[2] else None)

    def backward_graph(self, dY):
        X, W = conj_t(self.inputs[0]), conj_t(self.inputs[1])
        dX = dY @ W if self.needs[0] else None
        dW = dY.T @ X if self.needs[1] else None
        if len(self.needs) == 2:
            return dX, dW
        return dX, dW, (dY.sum(dim=0) if self.needs[2] else None)


def matmul(input, other):
    """Matrix product with NumPy's broadcasting rules (1-D operands promoted and squeezed)."""
    if isinstance(input, TensorBase):
        if not isinstance(other, TensorBase) and hasattr(other, "_sparse_rmatmul"):
            return other._sparse_rmatmul(input, "matmul")  # dense @ sparse COO
    elif hasattr(input, "_sparse_matmul"):
        return input._sparse_matmul(other, "matmul")  # sparse COO @ dense
    if isinstance(input, TensorBase) and isinstance(other, TensorBase) and \
            input._be is other._be and input.dtype != other.dtype:
        raise DtypeError(f"matmul: expected both operands to have the same dtype, got "
                        f"{input.dtype} and {other.dtype} (PyTorch refuses too: no silent "
                        "up- or down-cast); cast one of them")
    a, b = promote(input, other, "matmul", broadcast=False)
    if a.dtype == a.xp.bool:  # PyTorch has no bool product kernel
        raise DtypeNotImplemented(f"matmul: not implemented for bool tensors, got "
                                  f"{a.shape} @ {b.shape}")
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: operands must have at least one dim, got {a.shape} @ "
                         f"{b.shape}")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ShapeError(f"matmul: shapes {a.shape} and {b.shape} do not align "
                         f"({a.shape[-1]} vs {b.shape[-2 if b.ndim > 1 else 0]})")
    for i in range(3, min(a.ndim, b.ndim) + 1):  # batch dims must broadcast
        if a.shape[-i] != b.shape[-i] and a.shape[-i] != 1 and b.shape[-i] != 1:
            raise ShapeError(f"matmul: the batch dims of {tuple(a.shape)} and "
                             f"{tuple(b.shape)} do not "
                             f"broadcast ({a.shape[-i]} vs {b.shape[-i]} at dim "
                             f"{-i}; each pair must be equal or one of them 1)")
    if a.ndim == 1:  # (n,) @ (..., n, m) -> (..., m); (n,) @ (n,) -> ()
        return reshape(matmul(reshape(a, (1, a.shape[0])), b),
                       b.shape[:-2] + (b.shape[-1],) if b.ndim > 1 else ())
    if b.ndim == 1:
        return reshape(MatMul.apply(a, reshape(b, (b.shape[0], 1))), a.shape[:-1])
    return MatMul.apply(a, b)


def linear(input, weight, bias=None):
    """Affine map ``input @ weight.T + bias`` over the last axis, as one graph node.

    Args:
        input: (..., in_features)
        weight: (out_features, in_features)
        bias: (out_features,) or None
    Returns:
        (..., out_features), the dtype of input
    """
    x = as_tensor(input, like=weight if isinstance(weight, TensorBase) else None, op="linear")
    if x._be is not weight._be:  # before the dtype check: torch.float32 != np.float32
        _mixed("linear", (x, weight))
    if weight.ndim == 1:  # PyTorch: a 1-D weight is one output feature, dropped from the shape
        y = matmul(x, weight)
        return y if bias is None else y + bias
    if weight.ndim != 2:
        raise ShapeError(f"linear: weight must be 1-D or 2-D (out_features, in_features), "
                         f"got shape {tuple(weight.shape)}")
    in_features = weight.shape[1]
    if x.ndim == 0 or x.shape[-1] != in_features:
        raise ShapeError(f"linear: input of shape {x.shape} does not fit weight of shape "
                         f"{weight.shape} (expects last dim {in_features})")
    if x.dtype != weight.dtype:
        raise DtypeError(f"linear: input dtype {x.dtype} differs from weight dtype "
                        f"{weight.dtype}; cast the input (no silent up/down-cast)")
    lead = x.shape[:-1]
    if bias is not None and tuple(bias.shape) not in ((weight.shape[0],), (), (1,)):
        out = tuple(lead) + (weight.shape[0],)
        _broadcastable("linear (bias)", tuple(bias.shape), out)
        if bias.ndim > len(out):
            raise ShapeError(f"linear: bias of shape {tuple(bias.shape)} has more dims than "
                             f"the output {out}")
        return matmul(x, weight.T) + bias  # a bias of the output's shape (addmm's form)
    if len(lead) != 1:
        x = reshape(x, (-1, in_features))
    y = Linear.apply(x, weight) if bias is None else Linear.apply(x, weight, bias)
    return y if len(lead) == 1 else reshape(y, lead + (weight.shape[0],))


def mm(input, mat2):
    """Product of two matrices (2-D only), as ``torch.mm``."""
    if not isinstance(input, TensorBase) and hasattr(input, "_sparse_matmul"):
        return input._sparse_matmul(mat2, "mm")  # a sparse COO first operand
    if not isinstance(mat2, TensorBase) and hasattr(mat2, "_sparse_rmatmul"):
        return mat2._sparse_rmatmul(input, "mm")
    a, b = promote(input, mat2, "mm", broadcast=False)
    if a.ndim != 2 or b.ndim != 2:
        raise ShapeError(f"mm: expects two 2-D tensors, got shapes {a.shape} and {b.shape}")
    return matmul(a, b)


def bmm(input, mat2):
    """Batched product of (b, n, m) and (b, m, p) tensors, as ``torch.bmm``."""
    a, b = promote(input, mat2, "bmm", broadcast=False)
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise ShapeError(f"bmm: expects (b, n, m) and (b, m, p) tensors, got shapes {a.shape} "
                         f"and {b.shape}")
    return matmul(a, b)


def outer(input, vec2):
    """Outer product of two 1-D tensors, (n,) x (m,) -> (n, m)."""
    a, b = promote(input, vec2, "outer", broadcast=False)
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"outer: expects two 1-D tensors, got shapes {a.shape} and {b.shape}")
    return MatMul.apply(reshape(a, (-1, 1)), reshape(b, (1, -1)))
