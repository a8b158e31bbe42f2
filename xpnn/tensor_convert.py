"""Tensor's conversions and storage queries: to Python and NumPy (``item``, ``tolist``,
``numpy``, ``float(x)``), to other dtypes and devices (``to``, ``type``, ``float()``,
``cuda()``), and PyTorch's questions about the storage (``stride``, ``data_ptr``,
``is_contiguous``, ``layout``, ``is_sparse``, ...), which for xpnn's dense row-major tensors
have fixed answers. Part of :class:`xpnn.tensor.Tensor`."""
from __future__ import annotations

import math

from . import backend as B
from . import functional as F
from ._errors import ShapeError
from .backend_meta import COPY_OUT, ITEM, TO_NUMPY
from ._memory_format import sparse_coo, strided
from ._sparse_build import from_dense
from .functional.shape import _axis

# x.type("torch.LongTensor"): PyTorch's legacy type names
_LEGACY = {"FloatTensor": "float32", "DoubleTensor": "float64", "HalfTensor": "float16",
           "BFloat16Tensor": "bfloat16", "LongTensor": "int64", "IntTensor": "int32",
           "ShortTensor": "int16", "CharTensor": "int8", "ByteTensor": "uint8",
           "BoolTensor": "bool"}


def _stride(self, dim=None):
    """The strides in elements of the tensor's row-major layout (xpnn's tensors are
    contiguous: :meth:`is_contiguous` is True), as ``Tensor.stride``."""
    shape, out, step = tuple(self.shape), [], 1
    for n in reversed(shape):
        out.append(step)
        step *= max(n, 1)
    out = tuple(reversed(out))
    return out if dim is None else out[_axis("stride", dim, len(shape))]


def _data_ptr(self):
    """The address of the tensor's first element in its backend's memory (NumPy, PyTorch,
    CuPy); tensors sharing memory share it, as in PyTorch."""
    a = self.array
    while hasattr(a, "_array") and not hasattr(a, "__array_interface__"):
        a = a._array  # array-api-strict wraps a NumPy array
    if hasattr(a, "__array_interface__"):
        return a.__array_interface__["data"][0]
    if hasattr(a, "data_ptr"):
        return a.data_ptr()
    return a.data.ptr  # CuPy


class ConvertMethods:
    """The conversions and storage queries of :class:`xpnn.Tensor`."""

    __slots__ = ()

    def numpy(self, *, force=False):
        """A NumPy copy of the data on the host."""
        if self._be.is_meta:
            raise TypeError(TO_NUMPY)
        return B.to_numpy(self.array).copy()

    def tolist(self):
        if self._be.is_meta:
            raise NotImplementedError(COPY_OUT)
        return self.numpy().tolist()

    def item(self):
        if self.numel() != 1:  # torch: RuntimeError from item(), ValueError from float()
            raise ShapeError(f"item: a Tensor with {self.numel()} elements cannot be "
                             "converted to a Python number")
        if self._be.is_meta:
            raise RuntimeError(ITEM)
        return self.numpy().reshape(()).item()

    def __float__(self):
        return float(self.item())

    def __complex__(self):
        return complex(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._be.is_floating(self.dtype) or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    def __bool__(self):
        if self.numel() != 1:
            raise RuntimeError(f"Boolean value of a Tensor of shape {self.shape} with more "
                               "than one value is ambiguous")
        return bool(self.item())

    def __array__(self, dtype=None, copy=None):
        out = self.numpy()
        return out if dtype is None else out.astype(dtype)

    def __dlpack__(self, *args, **kwargs):
        return self.array.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.array.__dlpack_device__()

    def to(self, *args, **kwargs):
        """This tensor on another device/backend and/or dtype (differentiable).

        Forms (PyTorch's, plus backend names): ``to(device)``, ``to(dtype)``,
        ``to(device, dtype)``, ``to(other_tensor)``, ``to("torch")``,
        ``to(backend=..., device=..., dtype=...)``. On the NumPy/CuPy pair "cpu" is NumPy and
        "cuda[:i]" CuPy; on torch they are torch's devices.
        """
        be, dtype = B.resolve_to(self._be, args, kwargs, "Tensor.to")
        out = F.to(self, be.name, be.device, dtype)
        return out.clone() if out is self and kwargs.get("copy") else out

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else
                       f"cuda:{device}" if isinstance(device, int) else device)

    def type(self, dtype=None):
        if dtype is None:  # PyTorch's legacy type name, "torch.FloatTensor"
            name = B.dtype_name(self.dtype)
            legacy = next((k for k, v in _LEGACY.items() if v == name), name)
            return f"torch.{'cuda.' if self.is_cuda else ''}{legacy}"
        cuda = getattr(dtype, "is_cuda", None)  # a legacy class names its device too
        if isinstance(dtype, str) and dtype.endswith("Tensor"):  # "torch.LongTensor"
            name = dtype.rpartition(".")[2]
            if name not in _LEGACY:
                raise ValueError(f"type: invalid type {dtype!r}")
            cuda, dtype = dtype.startswith(("torch.cuda.", "cuda.")), _LEGACY[name]
        dtype = getattr(dtype, "legacy_dtype", dtype)
        if cuda is not None and cuda != self.is_cuda:  # torch.cuda.FloatTensor <-> host
            return self.to("cuda" if cuda else "cpu", dtype=dtype)
        return self.to(dtype=dtype)

    def astype(self, dtype):
        return self.to(dtype=dtype)

    def float(self):
        return self.to(dtype="float32")

    def double(self):
        return self.to(dtype="float64")

    def half(self):
        return self.to(dtype="float16")

    def bfloat16(self):
        return self.to(dtype="bfloat16")

    def long(self):
        return self.to(dtype="int64")

    def int(self):
        return self.to(dtype="int32")

    def short(self):
        return self.to(dtype="int16")

    def char(self):
        return self.to(dtype="int8")

    def byte(self):
        return self.to(dtype="uint8")

    def bool(self):
        return self.to(dtype="bool")

    def type_as(self, other):
        return self.to(dtype=other.dtype)

    def is_contiguous(self, memory_format=None):
        return True

    def pin_memory(self):
        return self

    def share_memory_(self):
        return self

    def is_signed(self):
        return self.dtype not in (self.xp.uint8, self.xp.bool)

    def is_complex(self):
        return self._be.is_complex(self.dtype)

    def is_same_size(self, other):
        return tuple(self.shape) == tuple(other.shape)

    def is_nonzero(self):
        """The truth of a one-element tensor (``torch.is_nonzero``); refuses other sizes."""
        n = math.prod(self.shape)
        if n != 1:
            what = "no values" if n == 0 else "more than one value"
            raise RuntimeError(f"is_nonzero: Boolean value of Tensor with {what} is ambiguous")
        return bool(self.item())

    @property
    def nbytes(self):
        return math.prod(self.shape) * self.itemsize

    def get_device(self):
        """-1 on the CPU, else the device's index (``torch.Tensor.get_device``)."""
        if not self.is_cuda:
            return -1
        d = self._be.device
        index = getattr(d, "index", None)
        return int(getattr(d, "id", 0) if index is None else index)

    stride, data_ptr = _stride, _data_ptr
    storage_offset = lambda self: 0
    layout = property(lambda self: strided, doc="Always ``xpnn.strided`` (dense).")
    output_nr, name = 0, None
    is_pinned = lambda self, device=None: False
    is_shared = lambda self: False
    to_dense = lambda self, dtype=None, *, masked_grad=None: \
        self if dtype is None else self.to(dtype)

    def to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
        """The nonzero entries as a sparse COO tensor (see xpnn/_sparse_coo.py); only the COO
        layout exists in xpnn."""
        if layout not in (None, sparse_coo):
            raise NotImplementedError(f"to_sparse: layout {layout!r} is not implemented in "
                                      "xpnn (COO only)")
        return from_dense(self, sparse_dim)

    def to_sparse_coo(self):
        return from_dense(self)

    @property
    def is_meta(self):
        """Whether this tensor is on the "meta" device (a shape and dtype, no data)."""
        return self._be.is_meta


# PyTorch's storage kinds and devices xpnn's tensors never are
for _name in ("is_sparse", "is_sparse_csr", "is_quantized", "is_mkldnn",
              "is_nested", "is_xla", "is_xpu", "is_mps", "is_ipu", "is_vulkan", "is_maia",
              "is_mtia"):
    setattr(ConvertMethods, _name, False)
