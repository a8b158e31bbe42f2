"""The text of a sparse COO tensor (xpnn/_sparse_coo.py), PyTorch's layout: the indices and
the values as tensors without a dtype, then size, nnz, the dtype where it is not implied
(the default float, int64, bool), the layout and the autograd state, wrapped as PyTorch
wraps them."""
from __future__ import annotations

from . import _printing
from . import backend as B
from ._memory_format import sparse_coo


def sparse_repr(S):
    """``repr(S)`` for a :class:`~xpnn._sparse_coo.SparseTensor` ``S``."""
    default = B.dtype_name(B.get_default_dtype())
    # the indices print without a dtype, even empty ones (PyTorch's)
    idx = _printing.tensor_repr(S._i.numpy(), "int64" if S._nnz() else default,
                                default, [], prefix="tensor(indices=tensor(")
    host = S._v.detach().numpy()
    name = B.dtype_name(S.dtype)
    # the values print without their dtype (it follows nnz), with a size when empty
    empty_size = [f"size={tuple(host.shape)}"] if host.size == 0 and host.ndim == 1 else []
    vals = _printing.tensor_repr(host, name, name, empty_size,
                                 prefix="       values=tensor(")
    tail = [f"size={S._size}", f"nnz={S._nnz()}"]
    default_complex = "complex128" if default == "float64" else "complex64"
    if name not in (default, "int64", "bool", default_complex):
        tail.append(f"dtype=xpnn.{name}")
    tail.append(f"layout={sparse_coo!r}")
    if S.backend != "numpy":
        tail.append(f"backend={S.backend!r}")
    if not S._v._be.on_host:
        tail.append(f"device={_printing.device_text(S.device)!r}")
    if S._v.grad_fn is not None:
        tail.append(f"grad_fn=<{_printing.grad_fn_name(S._v._node, 1)}>")
    elif S._v.requires_grad:
        tail.append("requires_grad=True")
    # size starts a line; the rest follow it, wrapped at the line width (PyTorch's rule)
    out = f"{idx},\n{vals}"
    last = 0
    for i, item in enumerate(tail):
        if i == 0 or last + len(item) + 2 > _printing.OPTIONS["linewidth"]:
            out += ",\n       " + item
            last = 7 + len(item)
        else:
            out += ", " + item
            last += len(item) + 2
    return out + ")"
