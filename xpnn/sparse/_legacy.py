"""The legacy typed constructors ``torch.sparse.FloatTensor`` / ``DoubleTensor`` /
``LongTensor`` that older graph code (NGCF, LightGCN's reference code) calls: deprecated
spellings of ``torch.sparse_coo_tensor``, with PyTorch's warning. As in torch 2.13, given
indices and values they keep the values' dtype; only the empty form ``(*size)`` takes the
type's dtype."""
from __future__ import annotations

import operator
import warnings

from .. import backend as B
from ..autograd import TensorBase
from ..creation import zeros


def _legacy(type_name, dtype_name):
    def ctor(*args, device=None):
        from . import sparse_coo_tensor
        op = f"sparse.{type_name}"
        if args and isinstance(args[0], TensorBase):
            if len(args) not in (2, 3) or not isinstance(args[1], TensorBase):
                raise TypeError(f"{op}: expected (indices, values[, size]) tensors, got "
                                f"{tuple(type(a).__name__ for a in args)}")
            indices, values = args[0], args[1]
            if indices.dtype != indices.xp.int64:
                raise RuntimeError(f"{op}: indices must be an int64 tensor, got "
                                   f"{B.dtype_name(indices.dtype)}")
            size = tuple(args[2]) if len(args) == 3 else None
            shape_text = "shape, " if size is not None else ""
            warnings.warn(f"torch.sparse.SparseTensor(indices, values, {shape_text}*, device=) "
                          "is deprecated.  Please use torch.sparse_coo_tensor(indices, values, "
                          f"{shape_text}dtype=, device=).", UserWarning, stacklevel=2)
            return sparse_coo_tensor(indices, values, size, device=device)
        size = tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) \
            else args
        try:
            size = tuple(operator.index(n) for n in size)
        except TypeError:
            raise TypeError(f"{op}: expected (indices, values[, size]) tensors or a size, got "
                            f"{tuple(type(a).__name__ for a in args)}") from None
        warnings.warn("torch.sparse.SparseTensor(shape, *, device=) is deprecated.  Please use "
                      "torch.sparse_coo_tensor(shape, dtype=, device=).", UserWarning,
                      stacklevel=2)
        return sparse_coo_tensor(zeros((len(size), 0), dtype="int64", device=device),
                                 zeros((0,), dtype=dtype_name, device=device), size)
    ctor.__name__ = ctor.__qualname__ = type_name
    ctor.__doc__ = (f"torch.sparse.{type_name}(indices, values[, size]) or "
                    f"({type_name}(*size): an empty {dtype_name} one), deprecated as in "
                    "PyTorch (a UserWarning): :func:`xpnn.sparse_coo_tensor`.")
    return ctor


FloatTensor = _legacy("FloatTensor", "float32")
DoubleTensor = _legacy("DoubleTensor", "float64")
LongTensor = _legacy("LongTensor", "int64")
