"""Tensor: a backend array with autograd (``TensorBase``) and PyTorch's methods.

Every math method is one line that calls the op of the same name in ``xpnn.functional``, so
``x.sum(dim=1)`` and ``F.sum(x, dim=1)`` are the same code. In-place methods (``add_``,
``x += y``, ``x[i] = v``) follow PyTorch: under ``no_grad`` or on tensors that record nothing
they change the array (in place where the backend can, by rebinding where it cannot) and bump
the version counter; on a leaf that requires grad they raise; on a recorded non-leaf they are
differentiable (the tensor is rebound to the result's node).

This module holds the class statement, construction, the metadata (shape, dtype, device,
printing) and the loop that makes the ``_`` forms of the math methods; the method families
are mixins in their own modules: tensor_operators.py (``+``, ``<``, ...), tensor_inplace.py
(the in-place machinery, ``add_``, ``fill_``, ``copy_``; ``write_back``), tensor_math.py
(elementwise), tensor_reduce.py (reductions, scans, sorts), tensor_linalg.py, tensor_shape.py,
tensor_index.py (``x[k]``, gather/scatter, ``index_*``, ``masked_*``), tensor_random.py
(``normal_``, ...), tensor_convert.py (``to``, ``item``, ``float()``, storage queries)
and tensor_extra.py (``stft``, ``cfloat``, ``apply_``, ``narrow_copy``, ...).
"""
from __future__ import annotations

import math
import operator

from . import _printing
from . import backend as B
from . import functional as F
from .backend_meta import meta_repr, meta_spec
from .autograd import TensorBase, _init
from ._device_type import typed_device
from ._memory_format import dense_only as _dense
from ._errors import ShapeError
from .functional.shape import _axis, _dims, _exporting, _sizes
from .tensor_convert import ConvertMethods
from .tensor_extra import ExtraMethods
from .tensor_index import IndexMethods
from .tensor_inplace import InplaceMethods, write_back  # noqa: F401 (xpnn.tensor.write_back)
from .tensor_linalg import LinalgMethods
from .tensor_math import MathMethods
from .tensor_operators import OperatorMethods
from .tensor_random import RandomMethods
from .tensor_reduce import ReduceMethods
from .tensor_shape import ShapeMethods


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


class Tensor(OperatorMethods, InplaceMethods, IndexMethods, ShapeMethods, MathMethods,
             ReduceMethods, LinalgMethods, RandomMethods, ConvertMethods, ExtraMethods,
             TensorBase):
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
        if be.is_meta:
            return be.public_device
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

    def __repr__(self):
        """PyTorch's text (see xpnn/_printing.py), with the backend when not NumPy."""
        if self._be.is_meta:
            return meta_repr(self)
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
        host = meta_spec(self) if self._be.is_meta else self.numpy()  # meta: no data
        return _rebuild, (host, self._be.name, B.device_key(self._be), self._rg, type(self))

    def clone(self, *, memory_format=None):
        """A copy of the data that stays in the graph (the gradient flows back)."""
        return F.mul(self, 1) if self._rg else self._result(
            self.xp.asarray(self.array, copy=True), self._be)

    def contiguous(self, memory_format=None):
        """``self``, or a copy where PyTorch's layout would not be contiguous: an expanded
        view (many elements in one place) or a permutation of its base's dims (PyTorch
        copies those, so writes into the result leave the base alone)."""
        view = self._view
        if view is not None and view[1] == "overlap":
            return self.clone()
        if view is not None and view[1] == "permute":
            # size-1 dims move freely; but while xpnn.onnx traces, the traces at other sizes
            # must copy where this one does (a (1, 1, H, D) at T = 1), so every dim counts
            moved = [d for d in view[2] if view[0].shape[d] != 1 or _exporting()]
            if moved != sorted(moved):
                return self.clone()
        return self

    def detach_(self):
        if self._view is not None and self._rg:  # its base would keep the graph (PyTorch)
            raise RuntimeError("detach_: can't detach views in-place; use detach() instead")
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

    def _new(self, op, fill, size, dtype, device, layout, requires_grad):
        """A ``new_*`` tensor: this tensor's dtype, backend and device unless given (PyTorch's
        ``layout=`` dense only; ``pin_memory=`` accepted, as :meth:`pin_memory`)."""
        _dense(op, layout)
        size = _dims("new", size)
        if any(s < 0 for s in size):
            raise ShapeError(f"new_*: trying to create a tensor with negative dimension: "
                             f"{size}")
        be = self._be if device is None else B.resolve_device(self._be, device)
        dt = self.dtype if dtype is None else be.dtype(dtype)
        xp = be.xp
        arr = xp.full(size, fill, dtype=dt, device=be.device) if fill is not None \
            else xp.empty(size, dtype=dt, device=be.device)
        return self._result(arr, be).requires_grad_(requires_grad)

    def new_zeros(self, *args, size=None, dtype=None, device=None, layout=None,
                  pin_memory=False, requires_grad=False):
        return self._new("new_zeros", 0, _sizes("new_zeros", args, "size", size), dtype,
                         device, layout, requires_grad)

    def new_ones(self, *args, size=None, dtype=None, device=None, layout=None,
                 pin_memory=False, requires_grad=False):
        return self._new("new_ones", 1, _sizes("new_ones", args, "size", size), dtype, device,
                         layout, requires_grad)

    def new_empty(self, *args, size=None, dtype=None, device=None, layout=None,
                  pin_memory=False, requires_grad=False):
        return self._new("new_empty", None, _sizes("new_empty", args, "size", size), dtype,
                         device, layout, requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, layout=None,
                 pin_memory=False, requires_grad=False):
        return self._new("new_full", fill_value, (size,), dtype, device, layout,
                         requires_grad)

    def new(self, *args):
        """PyTorch's legacy constructor: ``x.new(2, 3)`` uninitialized of that size,
        ``x.new(data)`` a tensor of ``data``, both of x's dtype and place; ``x.new()`` is
        empty, of shape (0,)."""
        if not args:
            return self.new_empty(0)
        if len(args) == 1 and isinstance(args[0], (float, complex)):  # PyTorch's TypeError
            raise TypeError(f"new(): data must be a sequence (got {type(args[0]).__name__})")
        if len(args) == 1 and not isinstance(args[0], int) and not isinstance(args[0], Size):
            return self.new_tensor(args[0])
        return self.new_empty(*args)


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
              "igamma", "igammac", "baddbmm", "polygamma", "conj_physical"):
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
