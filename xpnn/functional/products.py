"""Products beyond matmul: dot/vdot, mv, the fused-looking addmm/addmv/addbmm/baddbmm,
addcmul/addcdiv, trace, kron, cross and tensordot, with PyTorch's checks and messages.

Each is built from the differentiable ops (matmul, reshape, permute, the arithmetic), so
its gradient is theirs; only cross has a node of its own.
"""
from __future__ import annotations

import math

from .. import backend as B
from .._errors import DtypeError, DtypeNotImplemented
from ..autograd import Function, as_tensor
from ..autograd.tensor_base import TensorBase
from .complex import conj
from .dtype_refusals import refuse_dtypes
from .elementwise import add, div, mul, promote, unbroadcast
from .linalg import bmm, matmul, mm, outer
from .rearrange import diagonal
from .reduce import sum as _sum
from .shape import broadcast_shapes, broadcast_tensors, permute, reshape


def _same_dtype(op, a, b):
    if a._be is b._be and a.dtype != b.dtype:
        raise RuntimeError(f"{op}: expected both operands to have the same dtype, but found "
                           f"{B.dtype_name(a.dtype)} and {B.dtype_name(b.dtype)}")


def _same_dtype_args(op, x, y, message=None):
    """Tensors ``x`` and ``y`` of different dtypes refused (torch's cross, tensordot and
    linalg functions do not promote); bool refused as torch's kernels (NotImplementedError)."""
    if isinstance(x, TensorBase) and isinstance(y, TensorBase) and x._be is y._be:
        if x.dtype != y.dtype:
            raise DtypeError(message or f"{op}: expected both operands to have the same dtype, "
                             f"but found {B.dtype_name(x.dtype)} and {B.dtype_name(y.dtype)}")
    for t in (x, y):
        if isinstance(t, TensorBase) and B.dtype_name(t.dtype) == "bool":
            raise DtypeNotImplemented(f'"{op}" not implemented for \'Bool\'')


def dot(input, other):
    """The inner product of two 1-D tensors of one dtype and length, as ``torch.dot``."""
    a, b = as_tensor(input, op="dot"), as_tensor(other, op="dot")
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"dot: 1D tensors expected, but got {a.ndim}D and {b.ndim}D "
                           "tensors")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"dot: inconsistent tensor size, expected tensor [{a.shape[0]}] "
                           f"and src [{b.shape[0]}] to have the same number of elements")
    _same_dtype("dot", a, b)
    return matmul(a, b)


def vdot(input, other):
    """The inner product of two 1-D tensors, the first conjugated (for real tensors the same
    as :func:`dot`), as ``torch.vdot``."""
    return dot(conj(as_tensor(input, op="vdot")), other)


def mv(input, vec):
    """The product of an (n, m) matrix and an (m,) vector, (n,), as ``torch.mv``."""
    a, v = as_tensor(input, op="mv"), as_tensor(vec, op="mv")
    if a.ndim != 2 or v.ndim != 1:
        raise RuntimeError(f"mv: expects a 2-D matrix and a 1-D vector, got shapes {a.shape} "
                           f"and {v.shape}")
    if a.shape[1] != v.shape[0]:
        raise RuntimeError(f"mv: size mismatch, got mat ({a.shape[0]}x{a.shape[1]}), vec "
                           f"({v.shape[0]})")
    _same_dtype("mv", a, v)
    return matmul(a, v)


def _scaled_add(op, input, product, beta, alpha):
    """beta * input + alpha * product, where input broadcasts to the product's shape; with
    beta == 0 the input is ignored (its NaNs too), as in PyTorch."""
    out = tuple(product.shape)
    x = as_tensor(input, like=product, op=op)
    try:
        fits = x.ndim <= len(out) and broadcast_shapes(x.shape, out) == out
    except ValueError:
        fits = False
    if not fits:
        raise RuntimeError(f"{op}: input of shape {x.shape} does not broadcast to the "
                           f"product's shape {out}")
    scaled = product if alpha == 1 else mul(product, alpha)
    if beta == 0:
        return scaled
    return add(x if beta == 1 else mul(x, beta), scaled)


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta * input + alpha * (mat1 @ mat2) for (n, m) and (m, p) matrices, as
    ``torch.addmm`` (``input`` broadcasts to (n, p))."""
    return _scaled_add("addmm", input, mm(mat1, mat2), beta, alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """beta * input + alpha * (mat @ vec), as ``torch.addmv``."""
    return _scaled_add("addmv", input, mv(mat, vec), beta, alpha)


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """beta * input + alpha * outer(vec1, vec2), (n, m), as ``torch.addr``."""
    if as_tensor(vec1, op="addr").ndim != 1 or as_tensor(vec2, op="addr").ndim != 1:
        raise RuntimeError("addr: expects two 1-D vectors")
    return _scaled_add("addr", input, outer(vec1, vec2), beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * bmm(batch1, batch2), (b, n, p), as ``torch.baddbmm``."""
    return _scaled_add("baddbmm", input, bmm(batch1, batch2), beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * sum_i batch1[i] @ batch2[i], (n, p), as ``torch.addbmm``: one
    (n, b m) @ (b m, p) product."""
    a, b = promote(batch1, batch2, "addbmm", broadcast=False)
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise RuntimeError(f"addbmm: expects (b, n, m) and (b, m, p) batches, got shapes "
                           f"{a.shape} and {b.shape}")
    k, n, m = a.shape
    wide = reshape(permute(a, (1, 0, 2)), (n, k * m))
    return _scaled_add("addbmm", input, matmul(wide, reshape(b, (k * m, b.shape[2]))), beta,
                       alpha)


def addcmul(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 * tensor2, broadcasting, as ``torch.addcmul``."""
    prod = mul(tensor1, tensor2)
    return add(input, prod if value == 1 else mul(prod, value))


def addcdiv(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 / tensor2, broadcasting, as ``torch.addcdiv`` (integer
    tensor1 and tensor2 raise, as in PyTorch)."""
    t1, t2 = as_tensor(tensor1, op="addcdiv"), as_tensor(tensor2, op="addcdiv")
    if not (t1._be.is_floating(t1.dtype) or t2._be.is_floating(t2.dtype)):
        raise RuntimeError("addcdiv: integer division of tensor1 by tensor2 is not "
                           "supported, as in PyTorch; use addcmul(input, tensor1, "
                           "1 / tensor2) or cast them to a floating dtype")
    quot = div(t1, t2)
    return add(input, quot if value == 1 else mul(quot, value))


def trace(input):
    """The sum of the main diagonal of a 2-D tensor, as ``torch.trace`` (integers give
    int64)."""
    x = as_tensor(input, op="trace")
    if B.dtype_name(x.dtype) == "bool":
        raise DtypeNotImplemented('"trace" not implemented for \'Bool\'')
    if x.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {x.ndim}")
    return _sum(diagonal(x))


def kron(input, other):
    """The Kronecker product, as ``torch.kron``: for inputs of shapes (a0, a1, ...) and
    (b0, b1, ...) (the shorter padded with leading 1s), (a0 b0, a1 b1, ...) with block
    (i0, i1, ...) equal to ``input[i0, i1, ...] * other``."""
    a, b = promote(input, other, "kron", broadcast=False)
    nd = max(a.ndim, b.ndim)
    sa, sb = (1,) * (nd - a.ndim) + a.shape, (1,) * (nd - b.ndim) + b.shape
    # a as (a0, 1, a1, 1, ...) and b as (1, b0, 1, b1, ...): the product interleaves them
    A = reshape(a, tuple(v for n in sa for v in (n, 1)))
    Bm = reshape(b, tuple(v for n in sb for v in (1, n)))
    return reshape(mul(A, Bm), tuple(p * q for p, q in zip(sa, sb)))


def _cross_array(xp, A, B, axis):
    # (a1 b2 - a2 b1, a2 b0 - a0 b2, a0 b1 - a1 b0): the components rolled by one and two
    return xp.roll(A, -1, axis=axis) * xp.roll(B, 1, axis=axis) - \
        xp.roll(A, 1, axis=axis) * xp.roll(B, -1, axis=axis)


class Cross(Function):
    """Y = A x B along ``axis`` (size 3); dA = B x dY, dB = dY x A."""

    def forward(self, A, B, axis=-1):
        self.A, self.B, self.axis = A, B, axis
        return _cross_array(self.xp, A, B, axis)

    def backward(self, dY):
        xp, A, B, axis = self.xp, self.A, self.B, self.axis
        dA = unbroadcast(xp, _cross_array(xp, B, dY, axis), A.shape) if self.needs[0] \
            else None
        dB = unbroadcast(xp, _cross_array(xp, dY, A, axis), B.shape) if self.needs[1] \
            else None
        return dA, dB


def cross(input, other, dim=None):
    """The cross product of 3-vectors along ``dim``, broadcasting the other dims, as
    ``torch.cross``; without ``dim``, along the first dim of size 3 (PyTorch's deprecated
    default, which ``torch.linalg.cross`` replaces with -1)."""
    refuse_dtypes("cross", ("bool",), input, other)  # PyTorch has no bool kernel
    _same_dtype_args("cross", input, other)
    a, b = promote(input, other, "cross")
    if a.ndim != b.ndim:
        raise RuntimeError(f"cross: inputs must have the same number of dimensions, got "
                           f"shapes {a.shape} and {b.shape}")
    shape = broadcast_shapes(a.shape, b.shape)
    if dim is None:
        sizes3 = [i for i, n in enumerate(shape) if n == 3]
        if not sizes3:
            raise RuntimeError(f"cross: no dimension of size 3 in input (shapes {a.shape} "
                               f"and {b.shape})")
        d = sizes3[0]
    else:
        n = len(shape)
        if isinstance(dim, bool) or not isinstance(dim, int) or not -n <= dim < n:
            raise IndexError(f"cross: dim {dim!r} is out of range for {n} dims")
        d = dim % n
    if (a.shape[d], b.shape[d]) != (3, 3):
        raise RuntimeError(f"cross: inputs dimension {d} must have length 3, got "
                           f"{a.shape[d]} and {b.shape[d]}")
    if a.shape != shape or b.shape != shape:
        a, b = broadcast_tensors(a, b)
    return Cross.apply(a, b, axis=d)


def _dim_list(op, dims, nd):
    dims = [dims] if isinstance(dims, int) else list(dims)
    out = []
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, int) or not -nd <= d < nd:
            raise IndexError(f"{op}: dim {d!r} is out of range for a tensor with {nd} dims")
        out.append(d % nd)
    return out


def tensordot(a, b, dims=2):
    """The sum of products over the given dims, as ``torch.tensordot``: ``dims`` an int
    (the last ``dims`` dims of ``a`` against the first of ``b``) or a pair of lists of dims
    of ``a`` and of ``b``. The result has the other dims of ``a``, then those of ``b``."""
    _same_dtype_args("tensordot", a, b, "tensordot: both inputs should have same dtype")
    a, b = promote(a, b, "tensordot", broadcast=False)
    if isinstance(dims, int) and not isinstance(dims, bool):
        if not 0 <= dims <= min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot: dims must be in [0, {min(a.ndim, b.ndim)}] for "
                               f"shapes {a.shape} and {b.shape}, got {dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    elif isinstance(dims, (list, tuple)) and len(dims) == 2:
        da, db = _dim_list("tensordot", dims[0], a.ndim), _dim_list("tensordot", dims[1],
                                                                    b.ndim)
    else:
        raise TypeError(f"tensordot: dims must be an int or a pair of lists of dims, got "
                        f"{dims!r}")
    if len(da) != len(db):
        raise RuntimeError(f"tensordot: both dim lists should have the same length, got {da} "
                           f"and {db}")
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(f"tensordot: contracted dimensions need to match, but first "
                               f"has size {a.shape[i]} in dim {i} and second has size "
                               f"{b.shape[j]} in dim {j}")
    free_a = [i for i in range(a.ndim) if i not in da]
    free_b = [j for j in range(b.ndim) if j not in db]
    k = math.prod(a.shape[i] for i in da)
    A = reshape(permute(a, free_a + da), (-1, k)) if a.ndim else reshape(a, (1, 1))
    Bm = reshape(permute(b, db + free_b), (k, -1)) if b.ndim else reshape(b, (1, 1))
    out = matmul(A, Bm)
    return reshape(out, tuple(a.shape[i] for i in free_a) + tuple(b.shape[j] for j in free_b))
