"""Tensor's linear-algebra methods: products (``matmul``, ``mm``, ``addmm``, ...) and
torch's older top-level spellings of decompositions and solves (``det``, ``inverse``,
``qr``, ``lu``, ...; xpnn.linalg has the rest). Part of :class:`xpnn.tensor.Tensor`."""
from __future__ import annotations

from . import functional as F
from .functional import lu as _lu
from .functional import matrix as _matrix
from .tensor_math import _method


class LinalgMethods:
    """The linear-algebra methods of :class:`xpnn.Tensor`."""

    __slots__ = ()

    def matmul(self, other):
        return F.matmul(self, other)

    def mm(self, mat2):
        return F.mm(self, mat2)

    def bmm(self, mat2):
        return F.bmm(self, mat2)

    def outer(self, vec2):
        return F.outer(self, vec2)

    def dot(self, other):
        return F.dot(self, other)

    def vdot(self, other):
        return F.vdot(self, other)

    def mv(self, vec):
        return F.mv(self, vec)

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        return F.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def addmv(self, mat, vec, *, beta=1, alpha=1):
        return F.addmv(self, mat, vec, beta=beta, alpha=alpha)

    def addr(self, vec1, vec2, *, beta=1, alpha=1):
        return F.addr(self, vec1, vec2, beta=beta, alpha=alpha)

    def addbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return F.addbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return F.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def addcmul(self, tensor1, tensor2, *, value=1):
        return F.addcmul(self, tensor1, tensor2, value=value)

    def addcdiv(self, tensor1, tensor2, *, value=1):
        return F.addcdiv(self, tensor1, tensor2, value=value)

    def trace(self):
        return F.trace(self)

    def kron(self, other):
        return F.kron(self, other)

    def cross(self, other, dim=None):
        return F.cross(self, other, dim)

    def det(self):
        return _matrix.det(self)

    def logdet(self):
        return _matrix.logdet(self)

    def slogdet(self):
        return _matrix.slogdet(self)

    def inverse(self):
        return _matrix.inverse(self)

    def pinverse(self, rcond=1e-15):
        return _matrix.pinverse(self, rcond)

    def cholesky(self, upper=False):
        return _matrix.cholesky(self, upper)

    def qr(self, some=True):
        return _matrix.qr(self, some)

    def svd(self, some=True, compute_uv=True):
        return _matrix.svd(self, some, compute_uv)

    def matrix_power(self, n):
        return _matrix.matrix_power(self, n)

    def lu(self, pivot=True, get_infos=False):
        return _lu.lu_deprecated(self, pivot, get_infos)

    def lu_solve(self, LU_data, LU_pivots):
        return _lu.lu_solve_deprecated(self, LU_data, LU_pivots)

    ger = outer
    cholesky_solve = _method(_matrix.cholesky_solve)
    cholesky_inverse = _method(_matrix.cholesky_inverse)
    triangular_solve = _method(_matrix.triangular_solve)
