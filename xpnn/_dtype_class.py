"""``torch.dtype`` as a type: ``isinstance(xpnn.float32, xpnn.dtype)`` and
``isinstance(x.dtype, xpnn.dtype)`` hold, whatever the backend of ``x``.

xpnn's dtypes (:class:`~xpnn.dtypes.DType`) are names, and a Tensor's ``dtype`` is its
backend's dtype object (NumPy's ``np.dtype``, torch's ``torch.dtype``, array-api-strict's
``DType``), so :class:`dtype` is a class no one instantiates whose isinstance check accepts
each of those. Python's own types (``float``, ``int``) and NumPy's scalar types
(``np.float32``) are not dtypes here, as they are not in PyTorch.
"""
from __future__ import annotations

from .dtypes import DType, _is_dtype


class _DTypeMeta(type):
    def __instancecheck__(cls, obj):
        if isinstance(obj, DType):
            return True
        if isinstance(obj, (str, type)):  # a name or a class (float, np.float32) is not one
            return False
        return _is_dtype(obj)

    def __repr__(cls):
        return "<class 'xpnn.dtype'>"


class dtype(metaclass=_DTypeMeta):
    """The type of ``xpnn.float32`` and of every backend's dtypes (see the module note).
    Not instantiable, as ``torch.dtype``: dtypes are the module's constants."""

    __slots__ = ()

    def __new__(cls, *args, **kwargs):
        raise TypeError("cannot create 'xpnn.dtype' instances (use xpnn.float32, "
                        "xpnn.int64, ...)")
