"""Tensor methods PyTorch programs reach for beyond the families: ``stft``/``istft``
(forwarded to :mod:`xpnn.spectral`), ``cfloat``/``cdouble``, ``is_inference``, the
host-side element loops ``apply_``/``map_``, ``narrow_copy`` and ``new_empty_strided``.
Part of :class:`xpnn.tensor.Tensor` (a mixin: empty ``__slots__``, no import of tensor.py).
"""
from __future__ import annotations

import importlib
import numbers

from . import backend as B
from . import functional as F
from ._errors import ArgumentError, DtypeError, ShapeError
from .autograd import TensorBase


def _spectral():
    # spectral.py builds on creation and fft, which sit above tensor.py in the import
    # order; it is always loaded with xpnn, so it is looked up by path when called
    return importlib.import_module("xpnn.spectral")


def _python_value(kind):
    """The converter of one Python result of ``apply_``/``map_`` to the tensor's kind,
    raising PyTorch's TypeError for a value that is not a number of it."""
    def real(v):
        if not isinstance(v, numbers.Real):
            raise TypeError(f"must be real number, not {type(v).__name__}")
        return v

    def integer(v):
        if not isinstance(v, numbers.Real):
            raise TypeError(f"'{type(v).__name__}' object cannot be interpreted as an "
                            "integer")
        return int(v)

    def cplx(v):
        if not isinstance(v, numbers.Number):
            raise TypeError(f"must be complex number, not {type(v).__name__}")
        return complex(v)

    return {"float": real, "int": integer, "bool": lambda v: bool(integer(v)),
            "complex": cplx}[kind]


class ExtraMethods:
    __slots__ = ()

    # -- spectral --------------------------------------------------------------------------
    def stft(self, n_fft, hop_length=None, win_length=None, window=None, center=True,
             pad_mode="reflect", normalized=False, onesided=None, return_complex=None):
        """``xpnn.stft(self, ...)``: the short-time Fourier transform."""
        return _spectral().stft(self, n_fft, hop_length, win_length, window, center,
                                pad_mode, normalized, onesided, return_complex)

    def istft(self, n_fft, hop_length=None, win_length=None, window=None, center=True,
              normalized=False, onesided=None, length=None, return_complex=False):
        """``xpnn.istft(self, ...)``: the inverse short-time Fourier transform."""
        return _spectral().istft(self, n_fft, hop_length, win_length, window, center,
                                 normalized, onesided, length, return_complex)

    # -- dtypes and modes -------------------------------------------------------------------
    def cfloat(self, memory_format=None):
        """This tensor as complex64 (differentiable, as ``Tensor.cfloat``)."""
        return self.to("complex64")

    def cdouble(self, memory_format=None):
        """This tensor as complex128 (differentiable, as ``Tensor.cdouble``)."""
        return self.to("complex128")

    def is_inference(self):
        """Whether this tensor was made under ``inference_mode`` (a view or detach(): whether
        its base was), as PyTorch's; see :class:`xpnn.inference_mode` for what such tensors
        refuse outside inference mode."""
        return bool(self._inf)

    # -- element loops on the host (CPU only in PyTorch) ------------------------------------
    def _element_loop(self, op, fn, other=None):
        if self.requires_grad or (other is not None and other.requires_grad):
            raise RuntimeError(f"Can't call {op}() on Variable that requires grad. Use "
                               f"var.detach().{op}() instead.")
        if not self._be.on_host:
            raise TypeError(f"{op} is only implemented on CPU tensors (this one is on "
                            f"{self._be.name}:{self._be.device})")
        name = B.dtype_name(self.dtype)
        kind = "bool" if name == "bool" else "complex" if name in B.COMPLEX_DTYPES else \
            "float" if name in B.FLOAT_DTYPES else "int"
        convert = _python_value(kind)
        mine = B.to_numpy(self.array).reshape(-1).tolist()
        if other is None:
            got = [convert(fn(a)) for a in mine]
        else:
            theirs = B.to_numpy(F.expand(other, self.shape).array).reshape(-1).tolist()
            got = [convert(fn(a, b)) for a, b in zip(mine, theirs)]
        host = B.np.asarray(got, dtype="float32" if name == "bfloat16" else name)
        new = self._result(self._be.asarray(host.reshape(self.shape), dtype=name), self._be)
        return self.copy_(new)

    def apply_(self, callable):
        """Replace each entry x by ``callable(x)`` (a Python function of Python numbers),
        as ``Tensor.apply_``: host tensors only (TypeError elsewhere, as PyTorch on CUDA),
        never on a tensor that requires grad (RuntimeError). Slow: one call per entry."""
        return self._element_loop("apply_", callable)

    def map_(self, tensor, callable):
        """Replace each entry x by ``callable(x, y)`` with y the entry of ``tensor``
        (broadcast to this shape, same dtype), as ``Tensor.map_``; the limits of
        :meth:`apply_`."""
        if not isinstance(tensor, TensorBase):
            raise TypeError(f"map_(): argument 'other' (position 1) must be Tensor, not "
                            f"{type(tensor).__name__}")
        if B.dtype_name(tensor.dtype) != B.dtype_name(self.dtype):
            raise DtypeError(f"map_: expected {B.dtype_name(self.dtype)} for 'other' (got "
                             f"{B.dtype_name(tensor.dtype)})")
        if tensor.ndim > self.ndim:
            raise ShapeError(f"map_: other of shape {tuple(tensor.shape)} cannot be "
                             f"broadcast to this tensor's shape {tuple(self.shape)}")
        return self._element_loop("map_", callable, tensor)

    # -- copies and layouts -----------------------------------------------------------------
    def narrow_copy(self, dim, start, length):
        """A copy of ``narrow(dim, start, length)`` (differentiable)."""
        return F.narrow(self, dim, start, length).clone()

    def new_empty_strided(self, size, stride, *, dtype=None, layout=None, device=None,
                          requires_grad=False, pin_memory=False):
        """An uninitialized tensor of ``size`` with this tensor's dtype and place, as
        ``Tensor.new_empty_strided``; ``stride`` is checked (one per dim) but xpnn's arrays
        own their layout: the result is contiguous."""
        size, stride = tuple(size), tuple(stride)
        if len(size) != len(stride):
            raise ShapeError(f"new_empty_strided: dimensionality of sizes ({len(size)}) must "
                             f"match dimensionality of strides ({len(stride)})")
        if any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in stride):
            raise ArgumentError(f"new_empty_strided: strides must be non-negative ints, got "
                                f"{stride}")
        return self.new_empty(size, dtype=dtype, device=device, requires_grad=requires_grad)
