"""Tensor's in-place machinery and in-place methods (``add_``, ``x += y``, ``fill_``,
``copy_``, ...), as PyTorch: under ``no_grad`` or on tensors that record nothing they change
the array (in place where the backend can, by rebinding where it cannot) and bump the version
counter; on a leaf that requires grad they raise; on a recorded non-leaf they are
differentiable (the tensor is rebound to the result's node, see ``_become``), and a change of
a view reaches its base (``write_back``). The ``_`` forms of the other math methods are made
from these by the loop in tensor.py. Part of :class:`xpnn.tensor.Tensor`."""
from __future__ import annotations

import warnings

import array_api_compat as compat

from . import backend as B
from . import functional as F
from .autograd import (TensorBase, as_tensor, is_grad_enabled, is_inference_mode_enabled,
                       no_grad)
from ._errors import ArgumentError, DtypeError, ShapeError
from .functional import complex as _complex
from .functional.elementwise import is_sparse_coo
from .functional.broadcast import _wrap_int
from .tensor_views import _refresh_copies, _refresh_views, write_back  # noqa: F401


def _replaced(t, src):
    """``src`` (a number, or a tensor of t's shape) in t's place, in the graph: the gradient
    goes to ``src``, none to ``t`` (``t * 0 + src`` made an inf or NaN in ``t`` a NaN)."""
    old = t.xp.zeros(t.shape, dtype=t.xp.bool, device=t._be.device)
    return F.where(old, t, src)


def _refuse_inference_inplace(op):
    raise RuntimeError(f"{op}: Inplace update to inference tensor outside InferenceMode is not "
                       "allowed. You can make a clone to get a normal tensor before doing "
                       "inplace update.")


# in-place writes that cast their values into the tensor's dtype, as PyTorch's (int.fill_(1.5)
# writes 1); the other in-place ops check the result's category (:meth:`_same_shape`)
_CASTING = frozenset({"copy_", "fill_", "index_copy_", "index_fill_", "index_put_",
                      "masked_fill_", "masked_scatter_", "put_", "scatter_"})


def _category(t):
    """0 bool, 1 integer, 2 real floating, 3 complex: PyTorch's in-place casting order."""
    be = t._be
    return 0 if t.dtype == t.xp.bool else 3 if be.is_complex(t.dtype) else \
        2 if be.is_floating(t.dtype) else 1


class InplaceMethods:
    """The in-place machinery and methods of :class:`xpnn.Tensor`."""

    __slots__ = ()

    def _graph_inplace(self, op, other=None):
        """True if this in-place op must be recorded: on a recorded non-leaf, or with an
        operand that requires grad (the tensor joins the graph, as in PyTorch); raises on a
        leaf that requires grad, as PyTorch does, and on an inference tensor outside
        inference_mode."""
        if self._inf is True and not is_inference_mode_enabled():
            _refuse_inference_inplace(op)
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
        if self._inf is True and not is_inference_mode_enabled():
            _refuse_inference_inplace("in-place init")
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
                if not self._be.is_inexact(self.dtype) and self._be.is_inexact(arr.dtype) \
                        or self._be.is_complex(arr.dtype) and not self._be.is_complex(self.dtype):
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
        if isinstance(other, float) and not self._be.is_inexact(self.dtype):
            raise RuntimeError(f"{op}: result type Float can't be cast to the desired output "
                               f"type {B.dtype_name(self.dtype)}")
        if isinstance(other, complex) and not self._be.is_complex(self.dtype):
            raise RuntimeError(f"{op}: result type ComplexFloat can't be cast to the desired "
                               f"output type {B.dtype_name(self.dtype)}")
        if isinstance(other, (bool, int, float)):
            # an int beyond an integer dtype wraps into it (uint8 += -1 subtracts 1: PyTorch)
            from .functional.broadcast import _wrap_int
            return _wrap_int(other, self, op)
        return self._operand(as_tensor(other, like=self, op=op), op)

    def _binary_inplace(self, op, other, fn, iop):
        """self = fn(self, other): recorded through ``fn`` on a recorded tensor, else the
        array's own in-place operator ``iop`` (rebinding where the backend returns a new
        array)."""
        if is_sparse_coo(other) and op in ("add_", "sub_", "mul_"):
            other = other.to_dense()  # dense.add_(sparse) stays dense (PyTorch)
        if self.dtype == self.xp.bool:  # bools take bools only (PyTorch), as logical ops
            if not (isinstance(other, (bool, B.np.bool_)) or isinstance(
                    other, TensorBase) and other.dtype == other.xp.bool):
                got = B.dtype_name(other.dtype) if isinstance(other, TensorBase) else \
                    type(other).__name__
                raise RuntimeError(f"{op}: result type of a {got} operand can't be cast to "
                                   "the desired output type bool")
            return self._unary_inplace(op, fn, other, other=other)
        if self._graph_inplace(op, other):
            self._become(fn(self._shallow(), other))
            if self._view is not None:
                write_back(self)
            return self
        self._unshared(op)
        o = self._operand(other, op)
        arr = self._writable()
        with self._be.quiet():  # inf - inf, 0 * inf, x / 0: NaN/inf silently, as torch
            res = getattr(arr, iop)(o)
            if res is NotImplemented:
                res = getattr(arr, iop.replace("__i", "__", 1))(o)
        if res is not arr:
            self._set_array(res)
        self._changed()
        return self

    def _same_shape(self, op, res):
        """``res``, the result to write into this tensor, where it has this tensor's shape
        and a dtype category it takes (PyTorch's RuntimeErrors: an operand broadcasting it
        larger; a complex result into a real tensor, a float one into an integer tensor, a
        number into a bool one)."""
        if tuple(res.shape) != tuple(self.shape):
            raise RuntimeError(f"{op}: output with shape {list(self.shape)} doesn't match the "
                               f"broadcast shape {list(res.shape)}")
        if res.dtype != self.dtype and op not in _CASTING and _category(res) > _category(self):
            raise RuntimeError(f"{op}: result type {B.dtype_name(res.dtype)} can't be cast to "
                               f"the desired output type {B.dtype_name(self.dtype)}")
        return res

    def _unary_inplace(self, op, fn, *args, other=None, **kwargs):
        """self = fn(self): recorded on a recorded tensor (or with an ``other`` operand that
        requires grad), else written into the array."""
        if self._graph_inplace(op, other):
            self._become(self._same_shape(op, fn(self._shallow(), *args, **kwargs)))
            if self._view is not None:
                write_back(self)
            return self
        self._unshared(op)
        new = self._same_shape(op, fn(self._result(self.array, self._be), *args,
                                      **kwargs)).array
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
        if not self._be.is_inexact(self.dtype):
            raise RuntimeError(f"div_: result type Float can't be cast to the desired output "
                               f"type {B.dtype_name(self.dtype)}")
        return self._binary_inplace("div_", other, F.div, "__itruediv__")

    def __ipow__(self, other):
        if not self._be.is_inexact(self.dtype):  # xpnn's integer powers (negative ones too)
            self._operand(other, "pow_")  # refuses a float exponent, as PyTorch
            return self._unary_inplace("pow_", F.pow, other, other=other)
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
        if isinstance(value, float) and not self._be.is_inexact(self.dtype) and \
                self.dtype != self.xp.bool:  # PyTorch refuses a float beyond the range
            info = B.np.iinfo(B.dtype_name(self.dtype))
            if not info.min <= value <= info.max:
                raise ArgumentError(f"fill_: value {value} cannot be converted to type "
                                    f"{B.dtype_name(self.dtype)} without overflow")
        if type(value) is int and value < 0 and self.dtype == self.xp.uint8 and value >= -255:
            value += 256  # PyTorch wraps -255..-1 into an unsigned byte (fill_(-1): 255)
        return self._unary_inplace("fill_", _replaced, value)

    def copy_(self, src, non_blocking=False):
        """Copy ``src`` (any backend, broadcast to this shape) into this tensor."""
        if not isinstance(src, TensorBase):  # a number converts as a tensor of its own: wraps
            src = as_tensor(_wrap_int(src, self, "copy_"), like=self, op="copy_")
        if src._be is not self._be:
            src = F.to(src, self._be.name, self._be.device)
        if src._be.is_complex(src.dtype) and not self._be.is_complex(self.dtype):
            warnings.warn("copy_: casting complex values to real discards the imaginary part "
                          "(as PyTorch)", UserWarning, stacklevel=2)
            src = _complex.real(src)  # the standard has no complex -> real cast
        src = F.expand(src, self.shape)
        return self._unary_inplace("copy_", _replaced, src, other=src)

    def neg_(self):
        return self._unary_inplace("neg_", F.neg)

    def abs_(self):
        if self._be.is_complex(self.dtype):  # |z| is real: PyTorch refuses it in place
            raise DtypeError(f"abs_: in-place abs is not supported for complex tensors "
                             f"(got {B.dtype_name(self.dtype)})")
        return self._unary_inplace("abs_", F.abs)

    def _float_inplace(self, op, fn):
        """self = fn(self) for an op whose result is floating: an integer or bool tensor
        cannot hold it (PyTorch refuses rather than truncate)."""
        if not self._be.is_inexact(self.dtype):
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
