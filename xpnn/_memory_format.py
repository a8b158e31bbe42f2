"""torch's memory formats (``torch.channels_last`` ...), accepted wherever PyTorch takes
``memory_format=``.

Array API arrays have no strides to choose, so every format is the same logical tensor:
``model.to(memory_format=xpnn.channels_last)`` and ``x.contiguous(memory_format=...)`` run
unchanged and change nothing (PyTorch's results do not depend on the format either).
"""
from __future__ import annotations


class _Constant:
    """A named constant of the ``xpnn`` module: prints as ``xpnn.<name>``, and copies and
    pickles are the constant itself."""

    __slots__ = ("_name",)

    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return f"xpnn.{self._name}"

    def __reduce__(self):
        return self._name


class memory_format(_Constant):  # noqa: N801 - PyTorch's name for the type
    """One of PyTorch's memory formats."""

    __slots__ = ()


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")


class layout(_Constant):  # noqa: N801 - PyTorch's name for the type
    """One of PyTorch's tensor layouts: xpnn's tensors are all dense, ``strided``; the sparse
    ones exist to be compared with (``x.layout == xpnn.strided``)."""

    __slots__ = ()


strided = layout("strided")
sparse_coo = layout("sparse_coo")
sparse_csr = layout("sparse_csr")
sparse_csc = layout("sparse_csc")
sparse_bsr = layout("sparse_bsr")
sparse_bsc = layout("sparse_bsc")


def dense_only(op, layout):
    """PyTorch's ``layout=`` of a factory: the factories make dense (strided) tensors only.
    (Their ``pin_memory=`` is accepted and changes nothing, as :meth:`Tensor.pin_memory`:
    pinning only speeds host-to-GPU copies.)"""
    if layout is not None and layout is not strided:
        raise NotImplementedError(f"{op}: layout={layout!r} is not supported; the factories "
                                  "make dense tensors (layout=xpnn.strided); for a sparse "
                                  "one use xpnn.sparse_coo_tensor or Tensor.to_sparse()")
