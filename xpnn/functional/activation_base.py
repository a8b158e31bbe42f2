"""What the activation files share: the input checks and promotion, the legacy implicit
``dim`` of softmax, ``inplace=True``, and a stable sigmoid on arrays."""
from __future__ import annotations

from .. import backend as B
from ..autograd import as_tensor
from .complex_base import refuse_complex
from .shape import _axis
from .transfer import to
from .._errors import DtypeNotImplemented


def _sigmoid(xp, X):
    # exp of -|x| never overflows; the two branches are the same function mirrored
    E = xp.exp(-xp.abs(X))
    return xp.where(X >= 0, 1 / (1 + E), E / (1 + E))


def _input(op, x, promote=True):
    """The input as a Tensor; integers become the default float dtype where PyTorch promotes
    (``promote=True``) and raise a TypeError where PyTorch refuses (``promote=False``)."""
    x = as_tensor(x, op=op)
    if x._be.is_floating(x.dtype):
        return x
    refuse_complex(op, x)  # xpnn's activations are real (PyTorch has some complex forms)
    if not promote:
        raise DtypeNotImplemented(f"{op}: expected a floating tensor, got "
                                  f"{B.dtype_name(x.dtype)} (cast it with .float())")
    return x._result(x.xp.astype(x.array, x._be.dtype(B.get_default_dtype())), x._be)


def _dim(op, x, dim, axis, dtype):
    d = dim if axis is None else axis
    if d is None:  # PyTorch's legacy implicit dim: 1 for 2-D and larger inputs, else 0
        d = 0 if x.ndim in (0, 1, 3) else 1
    d = _axis(op, d, x.ndim)  # (0 for a 0-d tensor's -1 or 0, as PyTorch)
    if dtype is not None:  # a cast in the graph (no-op where x has that dtype already)
        x = to(x, dtype=dtype)
    return x, d


def _in_place(fn, input, *args, **kwargs):
    """``inplace=True``: ``input`` becomes ``fn(input, ...)`` and is returned, as in PyTorch
    (recorded in the graph where ``input`` is; refused on a leaf that requires grad)."""
    if not hasattr(input, "_unary_inplace"):
        return fn(input, *args, **kwargs)
    return input._unary_inplace(fn.__name__ + "_", lambda t: fn(t, *args, **kwargs))
