"""Tensor: a backend array with autograd (``TensorBase``) and PyTorch's methods.

Every math method is one line that calls the op of the same name in ``xpnn.functional``, so
``x.sum(dim=1)`` and ``F.sum(x, dim=1)`` are the same code. In-place methods (``add_``,
``x += y``, ``x[i] = v``) follow PyTorch: under ``no_grad`` or on tensors that record nothing
they change the array (in place where the backend can, by rebinding where it cannot) and bump
the version counter; on a leaf that requires grad they raise; on a recorded non-leaf they are
differentiable (the tensor is rebound to the result's node).
"""
from __future__ import annotations

import math
import operator

import array_api_compat as compat

from . import _printing
from . import backend as B
from . import functional as F
from .autograd import TensorBase, _init, as_tensor, is_grad_enabled, no_grad
from .functional import indexing as _indexing
from .functional import layout as _layout
from .functional import misc as _misc
from .functional import special_more as _special_more
from .functional import special_gamma as _special_gamma
from .functional import sampling as _sampling
from .functional import matrix as _matrix
from .functional import lu as _lu
from .functional import rearrange as _rearrange
from ._device_type import typed_device
from ._errors import ArgumentError, DtypeError, DtypeNotImplemented, ShapeError
from ._memory_format import strided
from .functional.shape import _axis, _dims


class Size(tuple):
    """A shape, as ``torch.Size``: a tuple of ints with ``numel()`` that prints as
    ``xpnn.Size([2, 3])`` (``print(x.shape)`` reads as PyTorch's ``torch.Size([2, 3])``), and
    stays a Size when sliced, added to a tuple or repeated, as torch's does."""

    def __new__(cls, sizes=()):
        sizes = tuple(sizes)
        if not all(type(n) is int for n in sizes):  # ints only, as torch.Size: a NumPy
            try:  # int, a bool or an integer 0-d tensor becomes an int; a float is refused
                sizes = tuple(operator.index(n) for n in sizes)
            except TypeError:
                bad = next(n for n in sizes if not hasattr(type(n), "__index__"))
                raise TypeError(f"Size: expected a sequence of ints, got an element of type "
                                f"{type(bad).__name__} ({bad!r})") from None
        return tuple.__new__(cls, sizes)

    def numel(self):
        return math.prod(self)

    def __repr__(self):
        return f"xpnn.Size({list(self)})"

    __str__ = __repr__

    def __getitem__(self, key):
        got = tuple.__getitem__(self, key)
        return tuple.__new__(Size, got) if isinstance(key, slice) else got

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, n):
        return tuple.__new__(Size, tuple.__mul__(self, n))

    __rmul__ = __mul__



class HostDevice(str):
    """NumPy's device: the string ``"cpu"`` (NumPy's functions take it, and it equals and
    hashes as ``"cpu"``), with ``torch.device``'s ``type`` and ``index`` and its repr, so
    ``x.device.type == "cpu"`` and ``autocast(device_type=x.device.type)`` work."""

    __slots__ = ()
    type = "cpu"
    index = None

    def __repr__(self):
        return "device(type='cpu')"

    def __reduce__(self):
        return (str, ("cpu",))  # pickles as the plain string


HOST_DEVICE = HostDevice("cpu")

class Tensor(TensorBase):
    """A backend array plus autograd, with PyTorch's methods.

    Make one with :func:`xpnn.tensor` (copies) or :func:`xpnn.as_tensor` (wraps).
    ``x.array`` is the raw backend array, ``x.data`` a Tensor sharing it (cut from the graph),
    ``x.grad`` the gradient Tensor after backward().
    """

    __slots__ = ()

    def __init__(self, *args, requires_grad=False, _be=None):
        if len(args) == 1 and (B.is_array(args[0]) or _be is not None):
            super().__init__(args[0], requires_grad=requires_grad, _be=_be)
            return
        if len(args) == 1 and isinstance(args[0], TensorBase):  # an alias, as torch.Tensor(t)
            super().__init__(args[0].array, requires_grad=requires_grad, _be=args[0]._be)
            return
        # PyTorch's legacy constructor: Tensor(data) copies data in the default float dtype,
        # Tensor(*sizes) is a tensor of those sizes (zeros), Tensor() an empty one
        be, dtype = B.get_backend(), B.get_default_dtype()
        if len(args) == 1 and not isinstance(args[0], int):
            arr = be.asarray(args[0], dtype=dtype)
        else:
            arr = be.xp.zeros(_dims("Tensor", args or (0,)), dtype=be.dtype(dtype),
                              device=be.device)
        super().__init__(arr, requires_grad=requires_grad, _be=be)

    def _result(self, array, be, node=None, idx=0):
        return _init(Tensor.__new__(Tensor), array, be, node, idx)

    # -- metadata ----------------------------------------------------------------------
    @property
    def shape(self):
        return tuple.__new__(Size, self.array.shape)  # ints already: Size's check skipped

    @property
    def device(self):
        """The backend's device object (``torch.device`` for torch); NumPy's is the string
        ``"cpu"`` with PyTorch's ``.type`` and ``.index`` (:class:`HostDevice`)."""
        be = self._be
        if be.name == "numpy":
            return HOST_DEVICE
        return be.device if be.name == "torch" else typed_device(be)

    @property
    def is_cuda(self):
        return self._be.name == "cupy" or (self._be.name == "torch" and
                                           self._be.device.type == "cuda")

    @property
    def is_cpu(self):
        return self._be.on_host

    @property
    def itemsize(self):
        return B.np.dtype(B.dtype_name(self.dtype)).itemsize if \
            B.dtype_name(self.dtype) != "bfloat16" else 2

    def is_floating_point(self):
        return self._be.is_floating(self.dtype)

    def size(self, dim=None):
        """The shape (a ``Size``), or the size of one dim."""
        if dim is None:
            return tuple.__new__(Size, self.array.shape)
        return self.array.shape[_axis("size", dim, self.ndim)]

    def dim(self):
        return self.ndim

    ndimension = dim

    def numel(self):
        return math.prod(self.array.shape)

    nelement = numel

    def element_size(self):
        return self.itemsize

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __contains__(self, element):
        """``v in x``: whether any entry equals ``v`` (a number or a tensor), as PyTorch."""
        if not isinstance(element, (TensorBase, int, float, bool)):
            raise RuntimeError(f"Tensor.__contains__ only supports a Tensor or a number, got "
                               f"{type(element).__name__}")
        return bool(F.eq(self, element).any())

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.array.shape[0]))

    def __hash__(self):
        return id(self)

    def __repr__(self):
        """PyTorch's text (see xpnn/_printing.py), with the backend when not NumPy."""
        suffixes = [] if self.backend == "numpy" else [f"backend={self.backend!r}"]
        if not self._be.on_host:
            suffixes.append(f"device={_printing.device_text(self.device)!r}")
        if self._node is not None:
            suffixes.append(f"grad_fn=<{_printing.grad_fn_name(self._node, self.ndim)}>")
        elif self._rg:
            suffixes.append("requires_grad=True")
        return _printing.tensor_repr(self.numpy(), B.dtype_name(self.dtype),
                                     B.dtype_name(B.get_default_dtype()), suffixes)

    def __format__(self, spec):
        """A 0-d tensor formats as its number (``f"{loss:.4f}"``), as in PyTorch; others take
        no format spec."""
        if self.ndim == 0:
            return format(self.item(), spec)
        if spec:
            raise TypeError(f"unsupported format string {spec!r} passed to Tensor.__format__ "
                            f"(a tensor of shape {tuple(self.shape)}; only 0-d ones format "
                            "as numbers)")
        return repr(self)

    # -- conversion ------------------------------------------------------------------
    def numpy(self, *, force=False):
        """A NumPy copy of the data on the host."""
        return B.to_numpy(self.array).copy()

    def tolist(self):
        return self.numpy().tolist()

    def item(self):
        if self.numel() != 1:  # torch: RuntimeError from item(), ValueError from float()
            raise ShapeError(f"item: a Tensor with {self.numel()} elements cannot be "
                             "converted to a Python number")
        return self.numpy().reshape(()).item()

    def __float__(self):
        return float(self.item())

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

    def __deepcopy__(self, memo):
        """A copy on the same backend and device (no trip through the host), keeping the
        class (a Parameter stays a Parameter), requires_grad and the gradient."""
        if self._node is not None:
            raise RuntimeError("deepcopy: only tensors created by the user (graph leaves) "
                               "support the deepcopy protocol; detach() it first")
        t = type(self).__new__(type(self))
        _init(t, self.xp.asarray(self.array, copy=True), self._be, None, 0)
        t._rg = self._rg
        memo[id(self)] = t
        if self._grad is not None:
            t._grad = self._grad.__deepcopy__(memo)
        return t

    def __reduce__(self):
        return _rebuild, (self.numpy(), self._be.name, B.device_key(self._be), self._rg,
                          type(self))

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
        if isinstance(dtype, str) and dtype.endswith("Tensor"):  # "torch.LongTensor"
            name = dtype.rpartition(".")[2]
            if name not in _LEGACY:
                raise ValueError(f"type: invalid type {dtype!r}")
            dtype = _LEGACY[name]
        return self.to(dtype=getattr(dtype, "legacy_dtype", dtype))

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

    def clone(self, *, memory_format=None):
        """A copy of the data that stays in the graph (the gradient flows back)."""
        return F.mul(self, 1) if self._rg else self._result(
            self.xp.asarray(self.array, copy=True), self._be)

    def contiguous(self, memory_format=None):
        return self

    def detach_(self):
        if self._node is not None:
            self._node, self._idx = None, 0
        self._rg = False
        return self

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        """A copy of ``data`` on this tensor's backend and device (and dtype, unless
        given)."""
        be = self._be if device is None else B.resolve_device(self._be, device)
        if isinstance(data, TensorBase):
            data = data.array
        dt = B.dtype_name(self.dtype if dtype is None else dtype)
        return self._result(be.asarray(data, dtype=dt), be).requires_grad_(requires_grad)

    def _new(self, fill, size, dtype, requires_grad):
        size = _dims("new", size)
        dt = self.dtype if dtype is None else self._be.dtype(dtype)
        xp = self.xp
        arr = xp.full(size, fill, dtype=dt, device=self._be.device) if fill is not None \
            else xp.empty(size, dtype=dt, device=self._be.device)
        return self._result(arr, self._be).requires_grad_(requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new(0, size, dtype, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new(1, size, dtype, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new(None, size, dtype, requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        return self._new(fill_value, (size,), dtype, requires_grad)

    # -- operators ---------------------------------------------------------------------
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
        return F.div(self, other, rounding_mode="floor")

    def __rfloordiv__(self, other):
        return F.div(other, self, rounding_mode="floor")

    def __mod__(self, other):
        return F.remainder(self, other)

    def __rmod__(self, other):
        return F.remainder(other, self)

    def __pow__(self, other):
        return F.pow(self, other)

    def __rpow__(self, other):
        return F.pow(as_tensor(other, like=self), self)

    def __matmul__(self, other):
        return F.matmul(self, other)

    def __rmatmul__(self, other):
        return F.matmul(other, self)

    def __neg__(self):
        return F.neg(self)

    def __pos__(self):
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

    def __getitem__(self, key):
        return _indexing.getitem(self, key)

    def __setitem__(self, key, value):
        if self._graph_inplace("setitem", value):
            old = self._shallow()
            v = as_tensor(value, like=self, op="setitem")
            self._become(_indexing.SetItem.apply(old, v, key=key))
            if self._view is not None:
                write_back(self)
            return
        self._unshared("setitem")
        arr = self._writable()
        v = as_tensor(value, like=self, op="setitem").array
        if v.dtype != arr.dtype:
            v = self.xp.astype(v, arr.dtype)
        self._set_array(_indexing.assign(self._be, arr, key, v))
        self._changed()

    # -- in place ----------------------------------------------------------------------
    def _graph_inplace(self, op, other=None):
        """True if this in-place op must be recorded: on a recorded non-leaf, or with an
        operand that requires grad (the tensor joins the graph, as in PyTorch); raises on a
        leaf that requires grad, as PyTorch does."""
        if not is_grad_enabled() or not (self._rg or isinstance(other, TensorBase) and
                                         other._rg):
            # a diagonal holds a copy: its change (or a change of a view of it) reaches
            # the base by write_back
            return self._under_diagonal()
        if self._rg and self._node is None:
            raise RuntimeError(f"{op}: a leaf Variable that requires grad is being used in an "
                               "in-place operation (wrap it in `with xpnn.no_grad():`)")
        view = self._view
        while view is not None:  # checked before anything changes (see write_back)
            if view[0]._rg and view[0]._node is None:
                raise RuntimeError(f"{op}: a view of a leaf Variable that requires grad is "
                                   "being used in an in-place operation (wrap it in `with "
                                   "xpnn.no_grad():`)")
            view = view[0]._view
        self._unshared(op)
        return True

    def _under_diagonal(self):
        """True for a diagonal view, or a view (of a view...) of one: a copy, not memory
        shared with the base."""
        view = self._view
        while view is not None and view[1] != "diagonal":
            view = view[0]._view
        return view is not None

    def _unshared(self, op):
        """Raise for an in-place write into an expanded view (many elements, one place)."""
        if self._view is not None and self._view[1] == "overlap":
            raise RuntimeError(f"{op}: unsupported operation: more than one element of the "
                               "written-to tensor refers to a single memory location (an "
                               "expanded view); clone() it first")

    def _changed(self):
        """After an unrecorded change of the array in place: the version bumped, and the
        diagonals taken of this tensor or of its memory-sharing views, which hold copies,
        read again (the other views share the memory)."""
        self._vc[0] += 1
        root = self  # the views sharing memory with this tensor (its .data too) hang under
        while True:  # its first base
            if root._view is not None and root._view[1] != "diagonal":
                root = root._view[0]
            elif root._base is not None:
                root = root._base
            else:
                break
        if root._views:
            _refresh_copies(root)

    def _assign(self, arr):
        """Overwrite the data with ``arr`` (nn.init's fills); into a diagonal, or a view of
        one, by copy_, which passes it on to the base."""
        if self._under_diagonal():
            with no_grad():
                self.copy_(self._result(arr, self._be))
            return
        super()._assign(arr)

    def _shallow(self):
        """A new Tensor with this one's array and place in the graph, and its own version
        counter (what the graph keeps when this tensor is rebound)."""
        t = self._result(self.array, self._be, self._node, self._idx)
        t._rg = self._rg
        t._vc = [self._vc[0]]
        return t

    def _become(self, new):
        """Rebind this tensor to ``new``'s array and node (an in-place op on a recorded
        tensor): whatever used the old value keeps it, as its graph edges were fixed."""
        if new.shape != self.shape:
            raise RuntimeError(f"in-place op: output of shape {new.shape} does not match the "
                               f"tensor's shape {self.shape}")
        if new.dtype != self.dtype:
            new = F.to(new, dtype=self.dtype)
        retained = self.retains_grad  # retain_grad() follows the tensor to its new version
        if retained:
            self._node.__dict__.get("_retain", {}).pop(self._idx, None)
        self.array, self._node, self._idx, self._rg = new.array, new._node, new._idx, new._rg
        if retained:
            self.retain_grad()
        self._vc[0] += 1
        if self._views:
            _refresh_views(self)

    def _writable(self):
        """The array, copied first (and rebound) if the backend marks it read-only."""
        arr = self.array
        if not compat.is_writeable_array(arr):
            arr = self.xp.asarray(arr, copy=True)
            self._set_array(arr)
        return arr

    def _operand(self, other, op):
        """``other`` as an array or number this tensor's dtype can absorb in place."""
        if isinstance(other, TensorBase):
            if other._be is not self._be:
                raise TypeError(f"{op}: the operand lives on {other.backend}:{other.device}, "
                                f"this tensor on {self.backend}:{self.device}")
            arr = other.array
            if arr.dtype != self.dtype:
                if not self._be.is_floating(self.dtype) and self._be.is_floating(arr.dtype):
                    raise RuntimeError(f"{op}: result type {B.dtype_name(arr.dtype)} can't be "
                                       f"cast to the desired output type "
                                       f"{B.dtype_name(self.dtype)}")
                arr = self.xp.astype(arr, self.dtype)
            if F.broadcast_shapes(self.shape, other.shape) != self.shape:
                raise RuntimeError(f"{op}: output with shape {self.shape} doesn't match the "
                                   f"broadcast shape {F.broadcast_shapes(self.shape, other.shape)}")
            return arr
        if isinstance(other, B.np.generic):
            other = other.item()
        if isinstance(other, float) and not self._be.is_floating(self.dtype):
            raise RuntimeError(f"{op}: result type Float can't be cast to the desired output "
                               f"type {B.dtype_name(self.dtype)}")
        if isinstance(other, (bool, int, float)):
            return other
        return self._operand(as_tensor(other, like=self, op=op), op)

    def _binary_inplace(self, op, other, fn, iop):
        """self = fn(self, other): recorded through ``fn`` on a recorded tensor, else the
        array's own in-place operator ``iop`` (rebinding where the backend returns a new
        array)."""
        if self._graph_inplace(op, other):
            self._become(fn(self._shallow(), other))
            if self._view is not None:
                write_back(self)
            return self
        self._unshared(op)
        o = self._operand(other, op)
        arr = self._writable()
        res = getattr(arr, iop)(o)
        if res is NotImplemented:
            res = getattr(arr, iop.replace("__i", "__", 1))(o)
        if res is not arr:
            self._set_array(res)
        self._changed()
        return self

    def _unary_inplace(self, op, fn, *args, other=None, **kwargs):
        """self = fn(self): recorded on a recorded tensor (or with an ``other`` operand that
        requires grad), else written into the array."""
        if self._graph_inplace(op, other):
            self._become(fn(self._shallow(), *args, **kwargs))
            if self._view is not None:
                write_back(self)
            return self
        self._unshared(op)
        new = fn(self._result(self.array, self._be), *args, **kwargs).array
        if new.dtype != self.dtype:
            new = self.xp.astype(new, self.dtype)
        arr = self._writable()
        arr[...] = new
        self._changed()
        return self

    def __iadd__(self, other):
        return self._binary_inplace("add_", other, F.add, "__iadd__")

    def __isub__(self, other):
        return self._binary_inplace("sub_", other, F.sub, "__isub__")

    def __imul__(self, other):
        return self._binary_inplace("mul_", other, F.mul, "__imul__")

    def __itruediv__(self, other):
        if not self._be.is_floating(self.dtype):
            raise RuntimeError(f"div_: result type Float can't be cast to the desired output "
                               f"type {B.dtype_name(self.dtype)}")
        return self._binary_inplace("div_", other, F.div, "__itruediv__")

    def __ipow__(self, other):
        return self._binary_inplace("pow_", other, F.pow, "__ipow__")

    def add_(self, other, *, alpha=1):
        """self += alpha * other, in place."""
        return self.__iadd__(other if alpha == 1 else F.mul(other, alpha) if isinstance(
            other, TensorBase) else other * alpha)

    def sub_(self, other, *, alpha=1):
        return self.__isub__(other if alpha == 1 else F.mul(other, alpha) if isinstance(
            other, TensorBase) else other * alpha)

    def mul_(self, other):
        return self.__imul__(other)

    def div_(self, other, *, rounding_mode=None):
        if rounding_mode is not None:
            return self._unary_inplace("div_", F.div, other, rounding_mode=rounding_mode)
        return self.__itruediv__(other)

    def pow_(self, exponent):
        return self.__ipow__(exponent)

    def addcmul_(self, tensor1, tensor2, *, value=1):
        return self.add_(F.mul(F.mul(tensor1, tensor2), value))

    def addcdiv_(self, tensor1, tensor2, *, value=1):
        return self.add_(F.mul(F.div(tensor1, tensor2), value))

    def lerp_(self, end, weight):
        return self.add_(F.mul(F.sub(end, self), weight))

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        """Set every entry to ``value`` (a number or a 0-d tensor)."""
        if self._view is not None and self._view[1] == "overlap":
            # an expansion shows every element of its base (some many times): filling it
            # fills the base, the one write into an expanded tensor torch allows
            base, node = self._view[0], self._view[0]._node
            base.fill_(value)
            if base._node is node:  # unrecorded, and maybe rebound: show the base again
                self._set_array(self.xp.broadcast_to(base.array, tuple(self.shape)))
                self._changed()
            return self
        if isinstance(value, TensorBase):
            if value.ndim:
                raise ShapeError(f"fill_ only supports 0-dimension value tensor but got "
                                 f"tensor with {value.ndim} dimensions.")
            if value._be is self._be:  # in the graph (the gradient reaches value), no sync
                return self._unary_inplace("fill_", _replaced, value, other=value)
            value = value.item()
        return self._unary_inplace("fill_", _replaced, value)

    def copy_(self, src, non_blocking=False):
        """Copy ``src`` (any backend, broadcast to this shape) into this tensor."""
        if not isinstance(src, TensorBase):
            src = as_tensor(src, like=self, op="copy_")
        if src._be is not self._be:
            src = F.to(src, self._be.name, self._be.device)
        src = F.expand(src, self.shape)
        return self._unary_inplace("copy_", _replaced, src, other=src)

    def neg_(self):
        return self._unary_inplace("neg_", F.neg)

    def abs_(self):
        return self._unary_inplace("abs_", F.abs)

    def _float_inplace(self, op, fn):
        """self = fn(self) for an op whose result is floating: an integer or bool tensor
        cannot hold it (PyTorch refuses rather than truncate)."""
        if not self._be.is_floating(self.dtype):
            raise DtypeError(f"{op}: result type Float can't be cast to the desired output "
                             f"type {B.dtype_name(self.dtype)}")
        return self._unary_inplace(op, fn)

    def exp_(self):
        return self._float_inplace("exp_", F.exp)

    def log_(self):
        return self._float_inplace("log_", F.log)

    def sqrt_(self):
        return self._float_inplace("sqrt_", F.sqrt)

    def relu_(self):
        return self._unary_inplace("relu_", F.relu)

    def sigmoid_(self):
        return self._float_inplace("sigmoid_", F.sigmoid)

    def tanh_(self):
        return self._float_inplace("tanh_", F.tanh)

    def masked_fill_(self, mask, value):
        return self._unary_inplace("masked_fill_", F.masked_fill, mask, value)

    def _random_(self, op, draw):
        if self._graph_inplace(op):
            if self._rg:
                raise RuntimeError(f"{op}: cannot fill a recorded tensor with random numbers")
            self._become(self._result(draw(), self._be))  # a diagonal: into its base too
            write_back(self)
            return self
        arr = self._writable()
        arr[...] = draw()
        self._changed()
        return self

    def _continuous(self, op):
        """A continuous distribution's draws only go into a floating tensor (PyTorch)."""
        if not self._be.is_floating(self.dtype):
            raise DtypeNotImplemented(f"{op}: the draws are continuous; expected a floating "
                                      f"tensor, got {B.dtype_name(self.dtype)}")

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        """Fill with N(mean, std^2) samples from the backend's generator."""
        self._continuous("normal_")
        be = self._be
        return self._random_("normal_", lambda: be.normal(self.array.shape, self.dtype,
                                                          generator) * std + mean)

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        """Fill with U(a, b) samples from the backend's generator."""
        self._continuous("uniform_")
        be = self._be
        return self._random_("uniform_", lambda: be.uniform(self.array.shape, self.dtype,
                                                            generator) * (b - a) + a)

    # -- math (each calls the xpnn.functional op of that name) --------------------------
    def abs(self):
        return F.abs(self)

    absolute = abs

    def exp(self):
        return F.exp(self)

    def expm1(self):
        return F.expm1(self)

    def log(self):
        return F.log(self)

    def log1p(self):
        return F.log1p(self)

    def sqrt(self):
        return F.sqrt(self)

    def rsqrt(self):
        return F.rsqrt(self)

    def reciprocal(self):
        return F.reciprocal(self)

    def sin(self):
        return F.sin(self)

    def cos(self):
        return F.cos(self)

    def square(self):
        return F.square(self)

    def neg(self):
        return F.neg(self)

    negative = neg

    def sign(self):
        return F.sign(self)

    def floor(self):
        return F.floor(self)

    def ceil(self):
        return F.ceil(self)

    def round(self, decimals=0):
        return F.round(self, decimals)

    def trunc(self):
        return F.trunc(self)

    def pow(self, exponent):
        return F.pow(self, exponent)

    def add(self, other, *, alpha=1):
        return F.add(self, other, alpha=alpha)

    def sub(self, other, *, alpha=1):
        return F.sub(self, other, alpha=alpha)

    subtract = sub

    def mul(self, other):
        return F.mul(self, other)

    multiply = mul

    def div(self, other, *, rounding_mode=None):
        return F.div(self, other, rounding_mode=rounding_mode)

    divide = div

    def clamp(self, min=None, max=None):
        return F.clamp(self, min, max)

    clip = clamp

    def maximum(self, other):
        return F.maximum(self, other)

    def minimum(self, other):
        return F.minimum(self, other)

    def relu(self):
        return F.relu(self)

    def sigmoid(self):
        return F.sigmoid(self)

    def tanh(self):
        return F.tanh(self)

    def softmax(self, dim=None, dtype=None, *, axis=None):
        return F.softmax(self, dim, dtype=dtype, axis=axis)

    def log_softmax(self, dim=None, dtype=None, *, axis=None):
        return F.log_softmax(self, dim, dtype=dtype, axis=axis)

    def eq(self, other):
        return F.eq(self, other)

    def ne(self, other):
        return F.ne(self, other)

    def lt(self, other):
        return F.lt(self, other)

    def le(self, other):
        return F.le(self, other)

    def gt(self, other):
        return F.gt(self, other)

    def ge(self, other):
        return F.ge(self, other)

    def isnan(self):
        return F.isnan(self)

    def isinf(self):
        return F.isinf(self)

    def isfinite(self):
        return F.isfinite(self)

    def logical_not(self):
        return F.logical_not(self)

    def logical_and(self, other):
        return F.logical_and(self, other)

    def logical_or(self, other):
        return F.logical_or(self, other)

    def where(self, condition, other):
        return F.where(condition, self, other)

    def erf(self):
        return F.erf(self)

    def lgamma(self):
        return F.lgamma(self)

    def digamma(self):
        return F.digamma(self)

    def polygamma(self, n):
        return F.polygamma(n, self)

    def i0(self):
        return _special_more.i0(self)

    def mvlgamma(self, p):
        return _special_more.mvlgamma(self, p)

    def igamma(self, other):
        return _special_gamma.igamma(self, other)

    def igammac(self, other):
        return _special_gamma.igammac(self, other)

    def atan2(self, other):
        return F.atan2(self, other)

    arctan2 = atan2

    def hypot(self, other):
        return F.hypot(self, other)

    def logaddexp(self, other):
        return F.logaddexp(self, other)

    def remainder(self, other):
        return F.remainder(self, other)

    def floor_divide(self, other):
        return F.floor_divide(self, other)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return F.isclose(self, other, rtol, atol, equal_nan)

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        return F.nan_to_num(self, nan, posinf, neginf)

    def clamp_min(self, min):
        return F.clamp_min(self, min)

    def clamp_max(self, max):
        return F.clamp_max(self, max)

    def count_nonzero(self, dim=None):
        return F.count_nonzero(self, dim)

    def lerp(self, end, weight):
        return F.lerp(self, end, weight)

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        return _sampling.multinomial(self, num_samples, replacement, generator=generator)

    def bernoulli(self, p=None, *, generator=None):
        return _sampling.bernoulli(self, p, generator=generator)

    def nonzero(self, *, as_tuple=False):
        return F.nonzero(self, as_tuple=as_tuple)

    def argwhere(self):
        return F.argwhere(self)

    def masked_select(self, mask):
        return F.masked_select(self, mask)

    def masked_fill(self, mask, value):
        return F.masked_fill(self, mask, value)

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

    # reductions
    def sum(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
        return F.sum(self, dim, keepdim, dtype=dtype, axis=axis, keepdims=keepdims)

    def mean(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
        return F.mean(self, dim, keepdim, dtype=dtype, axis=axis, keepdims=keepdims)

    def prod(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
        return F.prod(self, dim, keepdim, dtype=dtype, axis=axis, keepdims=keepdims)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return F.max(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return F.min(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def amax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return F.amax(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def amin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return F.amin(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def argmax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return F.argmax(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def argmin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return F.argmin(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
            keepdims=None):
        return F.var(self, dim, unbiased, keepdim, correction=correction, axis=axis,
                     keepdims=keepdims)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
            keepdims=None):
        return F.std(self, dim, unbiased, keepdim, correction=correction, axis=axis,
                     keepdims=keepdims)

    def logsumexp(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return F.logsumexp(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def norm(self, p="fro", dim=None, keepdim=False, *, axis=None, keepdims=None):
        return F.norm(self, p, dim, keepdim, axis=axis, keepdims=keepdims)

    def all(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return F.all(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def any(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return F.any(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def cumsum(self, dim, *, dtype=None):
        return F.cumsum(self, dim, dtype=dtype)

    def cumprod(self, dim, *, dtype=None):
        return F.cumprod(self, dim, dtype=dtype)

    def logcumsumexp(self, dim):
        return F.logcumsumexp(self, dim)

    def cummax(self, dim):
        return F.cummax(self, dim)

    def cummin(self, dim):
        return F.cummin(self, dim)

    def diff(self, n=1, dim=-1, prepend=None, append=None):
        return F.diff(self, n, dim, prepend, append)

    def median(self, dim=None, keepdim=False):
        return F.median(self, dim, keepdim)

    def nanmedian(self, dim=None, keepdim=False):
        return F.nanmedian(self, dim, keepdim)

    def kthvalue(self, k, dim=-1, keepdim=False):
        return F.kthvalue(self, k, dim, keepdim)

    def mode(self, dim=-1, keepdim=False):
        return F.mode(self, dim, keepdim)

    def quantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        return F.quantile(self, q, dim, keepdim, interpolation=interpolation)

    def nanquantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        return F.nanquantile(self, q, dim, keepdim, interpolation=interpolation)

    def nansum(self, dim=None, keepdim=False, *, dtype=None):
        return F.nansum(self, dim, keepdim, dtype=dtype)

    def nanmean(self, dim=None, keepdim=False, *, dtype=None):
        return F.nanmean(self, dim, keepdim, dtype=dtype)

    def aminmax(self, *, dim=None, keepdim=False):
        return F.aminmax(self, dim=dim, keepdim=keepdim)

    # elementwise extras
    def fmod(self, other):
        return F.fmod(self, other)

    def frac(self):
        return F.frac(self)

    def sgn(self):
        return F.sgn(self)

    def heaviside(self, values):
        return F.heaviside(self, values)

    def logit(self, eps=None):
        return F.logit(self, eps)

    def xlogy(self, other):
        return F.xlogy(self, other)

    def sinc(self):
        return F.sinc(self)

    def deg2rad(self):
        return F.deg2rad(self)

    def rad2deg(self):
        return F.rad2deg(self)

    def signbit(self):
        return F.signbit(self)

    def copysign(self, other):
        return F.copysign(self, other)

    def erfc(self):
        return F.erfc(self)

    def erfinv(self):
        return F.erfinv(self)

    def fmax(self, other):
        return F.fmax(self, other)

    def fmin(self, other):
        return F.fmin(self, other)

    # shape
    def reshape(self, *shape):
        return _new_view(self, F.reshape(self, *shape))

    def view(self, *shape):
        if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list)):
            return self.to(dtype=shape[0])  # view(dtype): a cast here, not a bit view
        return _new_view(self, F.reshape(self, *shape))

    def view_as(self, other):
        return F.reshape(self, other.shape)

    def reshape_as(self, other):
        return F.reshape(self, other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        return F.flatten(self, start_dim, end_dim)

    def unflatten(self, dim, sizes):
        return F.unflatten(self, dim, sizes)

    def permute(self, *dims):
        return F.permute(self, *dims)

    def transpose(self, dim0, dim1):
        return F.transpose(self, dim0, dim1)

    swapaxes = swapdims = transpose

    def t(self):
        return F.t(self)

    @property
    def T(self):
        return F.permute(self, tuple(range(self.ndim))[::-1])

    @property
    def mT(self):
        return F.transpose(self, -2, -1)

    @property
    def mH(self):  # real dtypes only, so the conjugate transpose is mT
        return F.transpose(self, -2, -1)

    def movedim(self, source, destination):
        return F.movedim(self, source, destination)

    def squeeze(self, dim=None):
        return F.squeeze(self, dim)

    def unsqueeze(self, dim):
        return F.unsqueeze(self, dim)

    def expand(self, *sizes):
        return F.expand(self, *sizes)

    def expand_as(self, other):
        return F.expand(self, other.shape)

    def narrow(self, dim, start, length):
        return F.narrow(self, dim, start, length)

    def split(self, split_size, dim=0):
        return F.split(self, split_size, dim)

    def chunk(self, chunks, dim=0):
        return F.chunk(self, chunks, dim)

    def unbind(self, dim=0):
        return F.unbind(self, dim)

    def index_select(self, dim, index):
        return F.index_select(self, dim, index)

    def repeat(self, *sizes):
        """Tile the tensor ``sizes`` times along each dim (PyTorch's ``repeat``: at least
        one count per dim, unlike ``tile``)."""
        sizes = _dims("repeat", sizes)
        if len(sizes) < self.ndim:
            raise ShapeError(f"repeat: {len(sizes)} repeat counts {sizes} for a tensor of "
                             f"shape {self.shape}: give at least one per dim")
        return F.tile(self, sizes)

    def tile(self, *dims):
        return F.tile(self, _dims("tile", dims))

    def repeat_interleave(self, repeats=None, dim=None, *, output_size=None):
        return F.repeat_interleave(self, repeats, dim, output_size=output_size)

    def gather(self, dim, index):
        return F.gather(self, dim, index)

    def scatter(self, dim, index, src=None, value=None, *, reduce=None):
        return F.scatter(self, dim, index, src, value, reduce=reduce)

    def scatter_(self, dim, index, src=None, value=None, *, reduce=None):
        return self._unary_inplace("scatter_", F.scatter, dim, index, src, value,
                                   reduce=reduce)

    def scatter_add(self, dim, index, src):
        return F.scatter_add(self, dim, index, src)

    def scatter_add_(self, dim, index, src):
        return self._unary_inplace("scatter_add_", F.scatter_add, dim, index, src)

    def scatter_reduce(self, dim, index, src, reduce, *, include_self=True):
        return F.scatter_reduce(self, dim, index, src, reduce, include_self=include_self)

    def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
        return self._unary_inplace("scatter_reduce_", F.scatter_reduce, dim, index, src,
                                   reduce, include_self=include_self, other=src)

    def index_add(self, dim, index, source, *, alpha=1):
        return F.index_add(self, dim, index, source, alpha=alpha)

    def index_add_(self, dim, index, source, *, alpha=1):
        return self._unary_inplace("index_add_", F.index_add, dim, index, source, alpha=alpha,
                                   other=source)

    def index_copy(self, dim, index, source):
        return F.index_copy(self, dim, index, source)

    def index_copy_(self, dim, index, source):
        return self._unary_inplace("index_copy_", F.index_copy, dim, index, source,
                                   other=source)

    def index_fill(self, dim, index, value):
        return F.index_fill(self, dim, index, value)

    def index_fill_(self, dim, index, value):
        return self._unary_inplace("index_fill_", F.index_fill, dim, index, value,
                                   other=value)

    def index_put(self, indices, values, accumulate=False):
        return F.index_put(self, indices, values, accumulate)

    def index_put_(self, indices, values, accumulate=False):
        return self._unary_inplace("index_put_", F.index_put, indices, values, accumulate,
                                   other=values)

    def put(self, index, source, accumulate=False):
        return F.put(self, index, source, accumulate)

    def put_(self, index, source, accumulate=False):
        return self._unary_inplace("put_", F.put, index, source, accumulate, other=source)

    def masked_scatter(self, mask, source):
        return F.masked_scatter(self, mask, source)

    def masked_scatter_(self, mask, source):
        return self._unary_inplace("masked_scatter_", F.masked_scatter, mask, source,
                                   other=source)

    def take_along_dim(self, indices, dim=None):
        return F.take_along_dim(self, indices, dim)

    def select(self, dim, index):
        return F.select(self, dim, index)

    def ravel(self):
        return F.ravel(self)

    def rot90(self, k=1, dims=(0, 1)):
        return F.rot90(self, k, dims)

    def tensor_split(self, indices_or_sections=None, dim=0, *, sections=None, indices=None):
        return F.tensor_split(self, indices_or_sections, dim, sections=sections,
                              indices=indices)

    def hsplit(self, indices_or_sections=None, *, sections=None, indices=None):
        return F.hsplit(self, indices_or_sections, sections=sections, indices=indices)

    def vsplit(self, indices_or_sections=None, *, sections=None, indices=None):
        return F.vsplit(self, indices_or_sections, sections=sections, indices=indices)

    def dsplit(self, indices_or_sections=None, *, sections=None, indices=None):
        return F.dsplit(self, indices_or_sections, sections=sections, indices=indices)

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        return F.unique(self, sorted, return_inverse, return_counts, dim)

    def unique_consecutive(self, return_inverse=False, return_counts=False, dim=None):
        return F.unique_consecutive(self, return_inverse, return_counts, dim)

    def bincount(self, weights=None, minlength=0):
        return F.bincount(self, weights, minlength)

    def histc(self, bins=100, min=0, max=0):
        return F.histc(self, bins, min, max)

    def isposinf(self):
        return F.isposinf(self)

    def isneginf(self):
        return F.isneginf(self)

    def msort(self):
        return F.msort(self)

    def tril(self, diagonal=0):
        return F.tril(self, diagonal)

    def triu(self, diagonal=0):
        return F.triu(self, diagonal)

    def tril_(self, diagonal=0):
        return self._unary_inplace("tril_", F.tril, diagonal)

    def triu_(self, diagonal=0):
        return self._unary_inplace("triu_", F.triu, diagonal)

    def diag(self, diagonal=0):
        return F.diag(self, diagonal)

    def diagonal(self, offset=0, dim1=0, dim2=1):
        return F.diagonal(self, offset, dim1, dim2)

    def diagonal_scatter(self, src, offset=0, dim1=0, dim2=1):
        return F.diagonal_scatter(self, src, offset, dim1, dim2)

    # linear algebra (torch's older top-level spellings; xpnn.linalg has the rest)
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

    def topk(self, k, dim=-1, largest=True, sorted=True):
        return F.topk(self, k, dim, largest, sorted)

    def sort(self, dim=-1, descending=False, stable=False):
        return F.sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        return F.argsort(self, dim, descending, stable)

    def flip(self, *dims):
        return F.flip(self, _dims("flip", dims))

    def fliplr(self):
        return F.fliplr(self)

    def flipud(self):
        return F.flipud(self)

    def roll(self, shifts, dims=None):
        return F.roll(self, shifts, dims)

    def prelu(self, weight):
        return F.prelu(self, weight)

    def hardshrink(self, lambd=0.5):
        return F.hardshrink(self, lambd)

    def is_contiguous(self, memory_format=None):
        return True

    def pin_memory(self):
        return self

    def share_memory_(self):
        return self

    def take(self, indices, axis=None):
        return F.take(self, indices, axis)

    def unfold(self, dimension, size, step):
        """Sliding windows along ``dimension`` as a new last dim (``torch.Tensor.unfold``)."""
        return _layout.windows(self, dimension, size, step)

    # -- PyTorch's smaller conveniences -----------------------------------------------------
    def is_signed(self):
        return self.dtype not in (self.xp.uint8, self.xp.bool)

    def is_complex(self):
        return False  # xpnn's dtypes are real

    def isreal(self):
        return F.eq(self, self) | F.isnan(self)  # every real entry is real, NaN included

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

    def positive(self):
        if self.dtype == self.xp.bool:
            raise DtypeError("positive: not supported for bool tensors (as in PyTorch)")
        return self

    def new(self, *args):
        """PyTorch's legacy constructor: ``x.new(2, 3)`` uninitialized of that size,
        ``x.new(data)`` a tensor of ``data``, both of x's dtype and place; ``x.new()`` is
        empty, of shape (0,)."""
        if not args:
            return self.new_empty(0)
        if len(args) == 1 and not isinstance(args[0], int) and not isinstance(args[0], Size):
            return self.new_tensor(args[0])
        return self.new_empty(*args)

    def split_with_sizes(self, split_sizes, dim=0):
        return F.split(self, list(split_sizes), dim)

    def sum_to_size(self, *size):
        """The sum of this tensor down to ``size``, a shape it broadcasts from
        (``torch.Tensor.sum_to_size``)."""
        size = _dims("sum_to_size", size)
        lead = self.ndim - len(size)
        if lead < 0 or any(s != 1 and s != d for s, d in zip(size, self.shape[lead:])):
            raise RuntimeError(f"sum_to_size: size {size} is not expandable to the tensor's "
                               f"size {tuple(self.shape)}")
        dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(size)
                                          if s == 1 and self.shape[lead + i] != 1)
        out = F.sum(self, dim=dims, keepdim=True) if dims else self
        return F.reshape(out, size)

    def fill_diagonal_(self, fill_value, wrap=False):
        """Set the main diagonal to ``fill_value`` (``torch.Tensor.fill_diagonal_``): a
        matrix, or a tensor whose dims are all equal; ``wrap`` continues a tall matrix's
        diagonal below its first N rows."""
        shape = tuple(self.shape)
        if self.ndim < 2 or (self.ndim > 2 and len(set(shape)) != 1):
            raise ValueError(f"fill_diagonal_: expected a matrix or a tensor with all dims "
                             f"equal, got shape {shape}")
        xp, n = self.xp, math.prod(shape)
        step = sum(math.prod(shape[i + 1:]) for i in range(self.ndim))
        stop = n if wrap and self.ndim == 2 else min(shape) * step
        flat = xp.arange(n, dtype=xp.int64, device=self._be.device)
        mask = (flat % step == 0) & (flat < stop)
        return self.masked_fill_(self._result(xp.reshape(mask, shape), self._be), fill_value)

    def _drawn_(self, op, draw, generator):
        """Fill with ``draw(uniform array)`` from the backend's generator."""
        be = self._be
        dt = B.dtype_name(self.dtype) if be.is_floating(self.dtype) else "float64"
        return self._random_(op, lambda: self.xp.astype(
            draw(be.uniform(tuple(self.shape), dt, generator)), self.dtype))

    def random_(self, from_=0, to=None, *, generator=None):
        """Integers drawn uniformly from [from_, to - 1] (``random_(to)``: [0, to - 1];
        neither: [0, 2^mantissa] for floats, [0, max] for integers), in this dtype."""
        if to is None and from_ != 0:
            from_, to = 0, from_
        if to is None:
            to = (2 ** (B.np.finfo(B.dtype_name(self.dtype)).nmant + 1) + 1
                  if self._be.is_floating(self.dtype)
                  else int(B.np.iinfo(B.dtype_name(self.dtype)).max)
                  if self.dtype != self.xp.bool else 2)
        if to <= from_:
            raise RuntimeError(f"random_: expects 'from' < 'to', got from={from_} to={to}")
        be = self._be
        return self._random_("random_", lambda: self.xp.astype(
            be.integers(int(from_), int(to), tuple(self.shape), generator), self.dtype))

    def exponential_(self, lambd=1.0, *, generator=None):
        self._continuous("exponential_")
        return self._drawn_("exponential_", lambda u: -self.xp.log1p(-u) / lambd, generator)

    def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
        self._continuous("cauchy_")
        return self._drawn_("cauchy_", lambda u: median + sigma * self.xp.tan(
            math.pi * (u - 0.5)), generator)

    def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
        self._continuous("log_normal_")
        be = self._be
        return self._random_("log_normal_", lambda: self.xp.exp(be.normal(
            tuple(self.shape), B.dtype_name(self.dtype), generator) * std + mean))

    def geometric_(self, p, *, generator=None):
        return self._drawn_("geometric_", lambda u: self.xp.ceil(
            self.xp.log1p(-u) / math.log1p(-p)), generator)

    def bernoulli_(self, p=0.5, *, generator=None):
        """Fill with 0/1 draws, 1 with probability ``p`` (a number or a tensor)."""
        prob = p.array if isinstance(p, TensorBase) else p
        return self._drawn_("bernoulli_", lambda u: u < prob, generator)

    def _reshaped_(self, op, fn, *args):
        """self = fn(self, *args) for an op that changes the shape (squeeze_, t_, ...): the
        tensor is rebound to the result (in the graph where it is recorded). Views and
        tensors with live views refuse: xpnn could not keep them linked."""
        if self._view is not None or self._views:
            raise RuntimeError(f"{op}: not supported on a view or a tensor that has views in "
                               f"xpnn; use the out-of-place {op[:-1]}()")
        if self._node is None:
            self.array = fn(self.detach(), *args).array
        else:
            new = fn(self._shallow(), *args)
            self.array, self._node, self._idx = new.array, new._node, new._idx
        self._vc[0] += 1
        return self

    def squeeze_(self, dim=None):
        return self._reshaped_("squeeze_", Tensor.squeeze, dim)

    def unsqueeze_(self, dim):
        return self._reshaped_("unsqueeze_", Tensor.unsqueeze, dim)

    def t_(self):
        return self._reshaped_("t_", Tensor.t)

    def transpose_(self, dim0, dim1):
        return self._reshaped_("transpose_", Tensor.transpose, dim0, dim1)

    swapaxes_ = swapdims_ = transpose_

    def resize_(self, *sizes):
        """Reshape to ``sizes`` when the element count stays (PyTorch's resize_ may also grow
        or shrink the storage; xpnn refuses that)."""
        size = _dims("resize_", sizes)
        if math.prod(size) != math.prod(self.shape):
            raise RuntimeError(f"resize_: xpnn resizes only to the same number of elements "
                               f"({math.prod(self.shape)}), got size {size}")
        return self._reshaped_("resize_", Tensor.reshape, size)

    def resize_as_(self, other):
        return self.resize_(tuple(other.shape))


# the one-input functions of xpnn.functional.moremath as methods (x.tan(), x.log2(), ...)
for _name in ("tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh",
              "log2", "log10", "exp2", "arcsin", "arccos", "arctan", "arcsinh", "arccosh",
              "arctanh"):
    setattr(Tensor, _name, lambda self, _fn=getattr(F, _name): _fn(self))


def _method(fn):
    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)
    method.__name__ = method.__qualname__ = fn.__name__
    method.__doc__ = f"``{fn.__name__}(self, ...)``: see xpnn.functional.{fn.__name__}."
    return method


# functions of xpnn.functional that PyTorch also has as Tensor methods (x.gcd(y), ...)
for _name in ("logical_xor", "greater", "greater_equal", "less", "less_equal", "not_equal",
              "multiply", "subtract", "true_divide", "negative", "broadcast_to", "moveaxis",
              "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
              "bitwise_right_shift", "allclose", "equal", "diag_embed", "diagflat", "dist",
              "inner", "float_power", "ldexp", "gcd", "lcm", "logaddexp2", "hypot", "atan2",
              "arctan2", "logaddexp", "remainder", "floor_divide", "nan_to_num", "clamp_min",
              "clamp_max", "erf", "renorm"):
    if hasattr(F, _name) and not hasattr(Tensor, _name):
        setattr(Tensor, _name, _method(getattr(F, _name)))
Tensor.ger, Tensor.fix = Tensor.outer, Tensor.trunc
Tensor.unsafe_chunk, Tensor.unsafe_split = Tensor.chunk, Tensor.split
Tensor.unsafe_split_with_sizes = Tensor.split_with_sizes

# PyTorch's smaller methods (x.cov(), x.frexp(), x.conj(), ...): see xpnn.functional.misc
for _name in ("adjoint", "angle", "conj", "conj_physical", "corrcoef", "cov", "frexp",
              "histogram", "is_conj", "is_neg", "matrix_exp", "nextafter", "orgqr", "resolve_conj",
              "resolve_neg", "select_scatter", "slice_scatter"):
    setattr(Tensor, _name, _method(getattr(_misc, _name)))
Tensor.real = property(_misc.real, doc="The real part: the tensor itself (xpnn is real).")
Tensor.imag = property(_misc.imag, doc="Raises, as PyTorch for a real tensor.")
Tensor.cholesky_solve = _method(_matrix.cholesky_solve)
Tensor.cholesky_inverse = _method(_matrix.cholesky_inverse)
Tensor.triangular_solve = _method(_matrix.triangular_solve)


def _H(self):
    """The conjugate transpose of a matrix (``mT`` of a real 2-D tensor), as ``Tensor.H``."""
    if self.ndim > 2:
        raise RuntimeError(f"H: only supported on matrices (2-D tensors), got a "
                           f"{self.ndim}-D tensor; use mH for batches of matrices")
    return self.t()


Tensor.H = property(_H)


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


Tensor.stride, Tensor.data_ptr = _stride, _data_ptr
Tensor.storage_offset = lambda self: 0
Tensor.layout = property(lambda self: strided, doc="Always ``xpnn.strided`` (dense).")
Tensor.output_nr, Tensor.name = 0, None
for _name in ("is_sparse", "is_sparse_csr", "is_quantized", "is_meta", "is_mkldnn",
              "is_nested", "is_xla", "is_xpu", "is_mps", "is_ipu", "is_vulkan", "is_maia",
              "is_mtia"):
    setattr(Tensor, _name, False)
Tensor.is_pinned = lambda self, device=None: False
Tensor.is_shared = lambda self: False
Tensor.to_dense = lambda self, dtype=None, *, masked_grad=None: \
    self if dtype is None else self.to(dtype)


def _index_reduce(self, dim, index, source, reduce, *, include_self=True):
    """``self`` with the slices of ``source`` along ``dim`` reduced ("prod", "mean", "amax"
    or "amin") into the slices ``index`` names, as ``Tensor.index_reduce``."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise ArgumentError(f"index_reduce: reduce must be one of 'prod', 'mean', 'amax' or "
                            f"'amin', got {reduce!r}")
    d = _axis("index_reduce", dim, self.ndim)
    if index.ndim != 1 or source.ndim != self.ndim or index.shape[0] != source.shape[d]:
        raise IndexError(f"index_reduce: index of shape {tuple(index.shape)} must be 1-D with "
                         f"one entry per slice of source (shape {tuple(source.shape)}) along "
                         f"dim {dim}")
    view = [1] * self.ndim
    view[d] = index.shape[0]
    idx = F.broadcast_to(F.reshape(index, view), source.shape)
    return F.scatter_reduce(self, d, idx, source, reduce, include_self=include_self)


def _index_reduce_(self, dim, index, source, reduce, *, include_self=True):
    return self._unary_inplace("index_reduce_", _index_reduce, dim, index, source, reduce,
                               include_self=include_self, other=source)


Tensor.index_reduce, Tensor.index_reduce_ = _index_reduce, _index_reduce_


def _inplace(name):
    """x.<name>_(...): x = x.<name>(...) in place (recorded where x is, see _unary_inplace);
    a floating result refuses to go into an integer or bool tensor, as in PyTorch."""
    def method(self, *args, **kwargs):
        def fn(t, *a, **k):
            out = getattr(t, name)(*a, **k)
            if out._be.is_floating(out.dtype) and not self._be.is_floating(self.dtype):
                raise RuntimeError(f"{name}_: result type {B.dtype_name(out.dtype)} can't be "
                                   f"cast to the desired output type "
                                   f"{B.dtype_name(self.dtype)}")
            return out
        other = next((a for a in args if isinstance(a, TensorBase)), None)
        return self._unary_inplace(name + "_", fn, *args, other=other, **kwargs)
    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place ``{name}``: the tensor becomes ``self.{name}(...)``."
    return method


# the in-place forms PyTorch has of these methods (made for those xpnn has)
for _name in ("absolute", "acos", "acosh", "addbmm", "addmm", "addmv", "addr", "arccos",
              "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "asin", "asinh",
              "atan", "atan2", "atanh", "bitwise_and",
              "bitwise_left_shift", "bitwise_not", "bitwise_or", "bitwise_right_shift",
              "bitwise_xor", "ceil", "clamp_max", "clamp_min", "copysign", "cos", "cosh",
              "cumprod", "cumsum", "deg2rad", "digamma", "divide", "eq", "erf", "erfc",
              "erfinv", "exp2", "expm1", "fix", "floor", "floor_divide", "fmod",
              "frac", "gcd", "ge", "greater", "greater_equal", "gt", "heaviside", "hypot", "i0",
              "lcm", "ldexp", "le", "lerp", "less", "less_equal", "lgamma", "log10", "log1p",
              "log2", "logical_and", "logical_not", "logical_or", "logical_xor", "logit", "lt",
              "multiply", "nan_to_num", "ne", "negative", "not_equal", "rad2deg", "reciprocal",
              "remainder", "renorm", "round", "rsqrt", "sgn", "sign", "sin", "sinc", "sinh",
              "square", "subtract", "tan", "true_divide", "trunc", "xlogy", "hardtanh",
              "leaky_relu", "elu", "silu", "gelu", "softplus", "mish", "hardswish",
              "hardsigmoid", "relu6", "selu", "celu", "threshold", "mvlgamma", "nextafter",
              "igamma", "igammac"):
    if hasattr(Tensor, _name) and not hasattr(Tensor, _name + "_"):
        setattr(Tensor, _name + "_", _inplace(_name))


def _float_power_(self, exponent, _fn=_inplace("float_power")):
    """In-place float_power: only a float64 tensor can hold its float64 result (PyTorch)."""
    if B.dtype_name(self.dtype) != "float64":
        raise RuntimeError(f"float_power_: the base has dtype {B.dtype_name(self.dtype)} but "
                           f"the operation's result requires float64")
    return _fn(self, exponent)


Tensor.float_power_ = _float_power_
Tensor.clamp_ = Tensor.clip_ = _inplace("clamp")  # float bounds refuse an integer tensor


# x.type("torch.LongTensor"): PyTorch's legacy type names
_LEGACY = {"FloatTensor": "float32", "DoubleTensor": "float64", "HalfTensor": "float16",
           "BFloat16Tensor": "bfloat16", "LongTensor": "int64", "IntTensor": "int32",
           "ShortTensor": "int16", "CharTensor": "int8", "ByteTensor": "uint8",
           "BoolTensor": "bool"}


def _replaced(t, src):
    """``src`` (a number, or a tensor of t's shape) in t's place, in the graph: the gradient
    goes to ``src``, none to ``t`` (``t * 0 + src`` made an inf or NaN in ``t`` a NaN)."""
    old = t.xp.zeros(t.shape, dtype=t.xp.bool, device=t._be.device)
    return F.where(old, t, src)


def _new_view(base, out):
    """``out``, or a new view of ``base`` where the reshape kept its shape and returned
    ``base`` itself: PyTorch's ``x.view(x.shape)`` is another tensor (a hook or retain_grad
    on it must not land on ``x``)."""
    if out is not base:
        return out
    from .autograd import link_view
    from .functional.shape import Reshape
    return link_view(base, Reshape.apply(base, shape=base.shape), "reshape", None)


def write_back(view):
    """After a recorded in-place change of ``view``, a view of another tensor (a basic index,
    a reshape, a permutation or an expansion of it): the same change in that base tensor.
    PyTorch's views share memory with their base; xpnn's recorded in-place ops rebind the
    tensor to a new array and graph node, so the base is rebound too, in the graph: by a
    recorded ``base[key] = view`` for an index (the base copied), by the inverse reshape or
    permutation for the others (no copy). A base that is itself a view passes it on."""
    base, kind, arg = view._view  # not a view of a leaf that requires grad: _graph_inplace
    if kind == "key":
        base[arg] = view  # __setitem__ writes back further
        return
    if kind == "permute":
        new = F.permute(view, [arg.index(d) for d in range(len(arg))])
    elif kind == "diagonal":
        new = F.diagonal_scatter(base, view, *arg)
        if new._node is None:  # nothing recorded: into the base's own memory, which its
            base._writable()[...] = new.array  # memory-sharing views see; a leaf stays one
            base._changed()
            if base._view is not None and base._view[1] == "diagonal":
                write_back(base)
            return
    else:
        new = F.reshape(view, base.shape)
    base._become(new)
    if base._view is not None:
        write_back(base)


def _refresh_views(base):
    """After a recorded in-place change rebound ``base``: its live views (see
    autograd.link_view) taken again from its new value, in the graph, so a view made before
    the change reads the change, as PyTorch's views of shared memory do."""
    for view in list(base._views):
        if view._view is None or view._view[0] is not base:
            continue
        kind, arg = view._view[1:]
        if kind == "key":
            new = _indexing.getitem(base, arg)
        elif kind == "permute":
            new = F.permute(base, arg)
        elif kind == "overlap":
            new = F.expand(base, view.shape)
        elif kind == "diagonal":
            new = _rearrange._diagonal(base, *arg)
        else:
            new = F.reshape(base, view.shape)
        view._become(new)  # which refreshes the view's own views


def _refresh_copies(base):
    """The live diagonal views of ``base`` (and of its views, recursively) read again from
    it, in place, after an unrecorded in-place change of ``base`` (see Tensor._changed)."""
    for view in list(base._views):
        if view._view is None or view._view[0] is not base:
            continue
        if view._view[1] == "diagonal":
            view._writable()[...] = _rearrange._diagonal(base.detach(), *view._view[2]).array
            view._vc[0] += 1
        if view._views:
            _refresh_copies(view)


def _rebuild(host, backend, device, requires_grad, cls):
    """Unpickle a Tensor (or Parameter): the NumPy data put back on its backend and device,
    or on NumPy when that backend or device is missing here."""
    try:
        be = B.get_backend(backend, device)
    except B.BackendError:
        be = B.get_backend("numpy")
    t = cls.__new__(cls)
    _init(t, be.asarray(host), be, None, 0)
    if requires_grad:
        t.requires_grad_(True)
    return t
