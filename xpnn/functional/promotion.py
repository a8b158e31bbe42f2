"""PyTorch's type promotion as functions: ``promote_types``, ``result_type``, ``can_cast``.

They work on dtype names, so any backend's dtypes (``xpnn.float32``, ``torch.int8``,
``numpy.float64``, "int32") go in and an ``xpnn.DType`` comes out. The rules are
PyTorch's (c10's promoteTypes, ATen's ResultTypeState), not NumPy's: a 0-d tensor or a
Python number changes a dimensioned tensor's dtype only when it is of a higher category
(bool < integer < floating).
"""
from __future__ import annotations

from .. import backend as B
from ..autograd import TensorBase

_SIGNED = ("int8", "int16", "int32", "int64")
_BAREBONES = ("uint16", "uint32", "uint64")  # PyTorch promotes these with floats only


def _name(op, dtype):
    try:
        name = B.dtype_name(dtype)
    except TypeError:
        name = None
    if name not in B.DTYPES:
        raise TypeError(f"{op}: expected a dtype, got {dtype!r}")
    return name


def _category(name):
    """0 bool, 1 integer, 2 floating, 3 complex."""
    return 0 if name == "bool" else 2 if name in B.FLOAT_DTYPES else \
        3 if name in B.COMPLEX_DTYPES else 1


def _to_complex(name):
    """c10's toComplexType: float64 -> complex128, the narrower floats complex64."""
    return "complex128" if name == "float64" else "complex64"


def _size(name):
    return B.DType(name).itemsize


def _promote(a, b):
    if a == b:
        return a
    ca, cb = _category(a), _category(b)
    if ca != cb and (a in _BAREBONES or b in _BAREBONES) and max(ca, cb) < 2:
        raise TypeError(f"promote_types: promotion for uint16, uint32, uint64 types is not "
                        f"supported, attempted to promote {a} and {b}")
    if 3 in (ca, cb) and 2 in (ca, cb):  # float64 + complex64 is complex128
        c, r = (a, b) if ca == 3 else (b, a)
        return c if _size(c) >= 2 * _size(r) else _to_complex(r)
    if ca != cb:
        return a if ca > cb else b
    if ca == 2:
        if {a, b} == {"float16", "bfloat16"}:
            return "float32"
        return a if _size(a) > _size(b) else b
    if a in _BAREBONES or b in _BAREBONES:
        raise TypeError(f"promote_types: promotion for uint16, uint32, uint64 types is not "
                        f"supported, attempted to promote {a} and {b}")
    if (a in _SIGNED) == (b in _SIGNED):
        return a if _size(a) > _size(b) else b
    signed, unsigned = (a, b) if a in _SIGNED else (b, a)  # uint8 with a signed type
    return signed if _size(signed) > _size(unsigned) else "int16"


def promote_types(type1, type2):
    """The smallest dtype both ``type1`` and ``type2`` convert to without losing their
    category, as ``torch.promote_types`` (uint8 with int8 is int16; float16 with bfloat16
    float32; an integer with a float the float).

    Returns:
        an ``xpnn.DType``.
    """
    return B.DType(_promote(_name("promote_types", type1), _name("promote_types", type2)))


def _combine(higher, lower):
    """ATen's combine_categories: ``higher`` (a priority level's dtype, or None) unless
    ``lower`` is of a higher category."""
    if higher is None:
        return lower
    if lower is not None and _category(lower) == 3 and _category(higher) == 2:
        return _to_complex(higher)  # a float tensor meeting a complex 0-d or number
    if lower is None or _category(higher) >= 2:
        return higher
    if higher == "bool" or _category(lower) >= 2:
        return _promote(higher, lower)
    return higher


def result_type(tensor1, tensor2):
    """The dtype of an op on ``tensor1`` and ``tensor2`` (Tensors or Python numbers), as
    ``torch.result_type``: dimensioned tensors first, then 0-d tensors, then numbers, each
    level counting only when of a higher category (a Python float is the default dtype).

    Returns:
        an ``xpnn.DType``.
    """
    levels = [None, None, None]  # dimensioned, 0-d, Python number
    for arg in (tensor1, tensor2):
        if isinstance(arg, TensorBase):
            level, name = (0 if arg.ndim else 1), B.dtype_name(arg.dtype)
        elif isinstance(arg, (bool, int, float, complex)):
            level = 2
            name = "bool" if isinstance(arg, bool) else "int64" if isinstance(arg, int) \
                else B.get_default_dtype() if isinstance(arg, float) else \
                _to_complex(B.get_default_dtype())
        else:
            raise TypeError(f"result_type: expected a Tensor or a number, got "
                            f"{type(arg).__name__}")
        levels[level] = name if levels[level] is None else _promote(levels[level], name)
    return B.DType(_combine(levels[0], _combine(levels[1], levels[2])))


def can_cast(from_, to):
    """Whether PyTorch's casting rules allow ``from_`` to ``to`` in an in-place op or an
    ``out=``, as ``torch.can_cast``: not floating to integer or bool, not non-bool to
    bool."""
    a, b = _name("can_cast", from_), _name("can_cast", to)
    ca, cb = _category(a), _category(b)
    return not (ca > cb)
