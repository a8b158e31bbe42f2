"""Tensor's Python operators (``x + y``, ``x @ w``, ``x < 0``, ...): each calls the
``xpnn.functional`` op of that meaning; ``==`` and ``!=`` compare elementwise, so a Tensor
hashes by identity, as PyTorch's. Part of :class:`xpnn.tensor.Tensor`."""
from __future__ import annotations

from . import functional as F
from ._errors import DtypeError
from .autograd import as_tensor
from .functional.broadcast import _wrap_int


class OperatorMethods:
    """The arithmetic, bitwise and comparison operators of :class:`xpnn.Tensor` (the in-place
    ``+=`` forms are in tensor_inplace.py)."""

    __slots__ = ()

    def __hash__(self):
        return id(self)

    def __add__(self, other):
        return F.add(self, other)

    def __radd__(self, other):
        return F.add(other, self)

    def __sub__(self, other):
        return F.sub(self, other)

    def __rsub__(self, other):
        return F.sub(other, self)

    def __mul__(self, other):
        return F.mul(self, other)

    def __rmul__(self, other):
        return F.mul(other, self)

    def __truediv__(self, other):
        return F.div(self, other)

    def __rtruediv__(self, other):
        return F.div(other, self)

    def __floordiv__(self, other):
        return F.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return F.floor_divide(other, self)

    def __mod__(self, other):
        return F.remainder(self, other)

    def __rmod__(self, other):
        return F.remainder(other, self)

    def __pow__(self, other):
        return F.pow(self, other)

    def __rpow__(self, other):
        # a Python int converts wrapped into an integer dtype (-1 by uint8: 255), as PyTorch
        return F.pow(as_tensor(_wrap_int(other, self, "pow"), like=self), self)

    def __matmul__(self, other):
        return F.matmul(self, other)

    def __rmatmul__(self, other):
        return F.matmul(other, self)

    def __neg__(self):
        return F.neg(self)

    def __pos__(self):
        if self.dtype == self.xp.bool:  # PyTorch refuses unary + of bools
            raise DtypeError("__pos__: the + operator is not supported on a bool tensor, "
                             "as in PyTorch")
        return self

    def __abs__(self):
        return F.abs(self)

    def __invert__(self):
        return F.bitwise_not(self)

    def __and__(self, other):  # bitwise for integers, logical for bools (PyTorch)
        return F.bitwise_and(self, other)

    def __rand__(self, other):
        return F.bitwise_and(other, self)

    def __or__(self, other):
        return F.bitwise_or(self, other)

    def __ror__(self, other):
        return F.bitwise_or(other, self)

    def __xor__(self, other):
        return F.bitwise_xor(self, other)

    def __rxor__(self, other):
        return F.bitwise_xor(other, self)

    def __lshift__(self, other):
        return F.bitwise_left_shift(self, other)

    def __rshift__(self, other):
        return F.bitwise_right_shift(self, other)

    def __rlshift__(self, other):
        return F.bitwise_left_shift(other, self)

    def __rrshift__(self, other):
        return F.bitwise_right_shift(other, self)

    def __lt__(self, other):
        return F.lt(self, other)

    def __le__(self, other):
        return F.le(self, other)

    def __gt__(self, other):
        return F.gt(self, other)

    def __ge__(self, other):
        return F.ge(self, other)

    def __eq__(self, other):
        if other is None:  # PyTorch: False (a slice holding a tensor compares its fields)
            return False
        return F.eq(self, other)

    def __ne__(self, other):
        if other is None:
            return True
        return F.ne(self, other)
