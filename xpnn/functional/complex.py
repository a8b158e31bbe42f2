"""The complex API (``torch.real``, ``imag``, ``conj``, ``angle``, ``polar``, ``complex``,
``view_as_real``, ``view_as_complex``, ``is_complex``), for real and complex tensors.

Gradients follow PyTorch's convention: for a real loss L of z = x + iy the gradient of z is
dL/dx + i dL/dy. ``real``, ``imag``, ``view_as_real`` and ``view_as_complex`` return copies
where PyTorch returns views (writing into the result does not change the input); values
and gradients are the same.
"""
from __future__ import annotations

import builtins
import math

from .. import backend as B
from .._errors import DtypeError, ShapeError
from ..autograd import Function, TensorBase
from .broadcast import _broadcastable, unbroadcast, unbroadcast_graph
from .transfer import to


def _tensor(op, x):
    if not isinstance(x, TensorBase):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    return x


def _is_complex(x):
    return x._be.is_complex(x.dtype)


def _complex_dtype(xp, real_dtype):
    return xp.complex128 if real_dtype == xp.float64 else xp.complex64


def _join(xp, re, im, dtype):
    """re + i im as ``dtype`` (the standard has no complex(re, im)). ``im * 1j`` is a complex
    product, NaN + i inf for an infinite ``im`` (NaN + i NaN for a NaN): those parts come
    from constants, so ``re`` stays (PyTorch's ``complex``)."""
    def const(v):
        return xp.asarray(builtins.complex(0, v), dtype=dtype, device=im.device)
    finite = xp.isfinite(im)
    part = xp.where(finite, xp.astype(xp.where(finite, im, 0.), dtype) * 1j, xp.where(
        im > 0, const(math.inf), xp.where(im < 0, const(-math.inf), const(math.nan))))
    return part + xp.astype(re, dtype)  # (torch's a + b multiplies b by alpha=1: b finite)


def is_complex(input):
    """Whether ``input`` has a complex dtype (``torch.is_complex``)."""
    return _is_complex(_tensor("is_complex", input))


# -- parts -------------------------------------------------------------------------------------
class Real(Function):
    """Y = Re(Z); dZ = dY + 0i."""

    saved_inputs = ()

    def forward(self, Z):
        self.dtype = Z.dtype
        return self.xp.real(Z)

    def backward(self, dY):
        return self.xp.astype(dY, self.dtype)

    def backward_graph(self, dY):
        return to(dY, dtype=self.dtype)


class Imag(Function):
    """Y = Im(Z); dZ = 0 + i dY."""

    saved_inputs = ()

    def forward(self, Z):
        self.dtype = Z.dtype
        return self.xp.imag(Z)

    def backward(self, dY):
        return self.xp.astype(dY, self.dtype) * 1j

    def backward_graph(self, dY):
        return to(dY, dtype=self.dtype) * 1j


class Conj(Function):
    """Y = conj(Z); dZ = conj(dY)."""

    saved_inputs = ()

    def forward(self, Z):
        return self.xp.conj(Z)

    def backward(self, dY):
        return self.xp.conj(dY)

    def backward_graph(self, dY):
        return Conj.apply(dY)


def real(input):
    """The real part, as ``torch.real``: a real tensor itself; of a complex tensor a real
    tensor of the matching width (a copy, where PyTorch gives a view)."""
    x = _tensor("real", input)
    return Real.apply(x) if _is_complex(x) else x


def imag(input):
    """The imaginary part of a complex tensor (a copy, where PyTorch gives a view); a real
    tensor raises, as in PyTorch."""
    x = _tensor("imag", input)
    if not _is_complex(x):
        raise DtypeError(f"imag: imag is not implemented for tensors with non-complex dtypes "
                         f"(got {B.dtype_name(x.dtype)})")
    return Imag.apply(x)


def conj(input):
    """The complex conjugate (``torch.conj``); a real tensor is returned as it is."""
    x = _tensor("conj", input)
    return Conj.apply(x) if _is_complex(x) else x


def conj_physical(input):
    """The conjugate, materialized (``torch.conj_physical``): xpnn's conj always is."""
    x = _tensor("conj_physical", input)
    return Conj.apply(x) if _is_complex(x) else x


def resolve_conj(input):
    return _tensor("resolve_conj", input)


def resolve_neg(input):
    return _tensor("resolve_neg", input)


def is_conj(input):
    """False: xpnn's conj computes the conjugate, it sets no lazy conjugate bit."""
    _tensor("is_conj", input)
    return False


def is_neg(input):
    _tensor("is_neg", input)
    return False


# -- angle ---------------------------------------------------------------------------------------
class Angle(Function):
    """Real X: pi for negative entries, 0 for the others, NaN kept; the derivative is 0.
    Complex Z: atan2(Im Z, Re Z); dZ = dY * i Z / |Z|^2 (0 at Z = 0)."""

    def forward(self, X):
        xp = self.xp
        self.X = X
        if self.be.is_complex(X.dtype):
            return xp.atan2(xp.imag(X), xp.real(X))
        Y = xp.astype(X < 0, X.dtype) * math.pi
        return xp.where(xp.isnan(X), X, Y)

    def backward(self, dY):
        xp, Z = self.xp, self.X
        if not self.be.is_complex(Z.dtype):
            return xp.zeros_like(Z)
        r2 = xp.real(Z) ** 2 + xp.imag(Z) ** 2
        safe = xp.where(r2 == 0, xp.ones_like(r2), r2)
        # d atan2(y, x) = (-y dx + x dy) / r^2: the gradient (-y + i x) / r^2 = i z / r^2
        g = xp.astype(dY / safe, Z.dtype) * (Z * 1j)
        return xp.where(r2 == 0, xp.zeros_like(g), g)


def angle(input):
    """The argument of each entry, as ``torch.angle``: atan2(imag, real) for complex tensors
    (a real result); for real tensors pi for negatives, 0 otherwise, NaN kept (integers give
    the default float dtype), with a zero gradient."""
    x = _tensor("angle", input)
    if not x._be.is_inexact(x.dtype):
        x = x.to(B.get_default_dtype())
    return Angle.apply(x)


# -- building complex tensors ------------------------------------------------------------------
class Complex(Function):
    """Z = R + i I; dR = Re(dZ), dI = Im(dZ) (summed over broadcast axes)."""

    saved_inputs = ()

    def forward(self, R, I):
        xp = self.xp
        self.shapes = (R.shape, I.shape)
        return _join(xp, R, I, _complex_dtype(xp, R.dtype))

    def backward(self, dZ):
        xp, (sr, si) = self.xp, self.shapes
        dR = unbroadcast(xp, xp.real(dZ), sr) if self.needs[0] else None
        dI = unbroadcast(xp, xp.imag(dZ), si) if self.needs[1] else None
        return dR, dI

    def backward_graph(self, dZ):
        sr, si = self.shapes
        dR = unbroadcast_graph(Real.apply(dZ), sr) if self.needs[0] else None
        dI = unbroadcast_graph(Imag.apply(dZ), si) if self.needs[1] else None
        return dR, dI


def _same_float(op, a, b, names):
    _tensor(op, a)
    _tensor(op, b)
    for t, name in zip((a, b), names):
        if not t._be.is_floating(t.dtype) or B.dtype_name(t.dtype) not in ("float32",
                                                                           "float64"):
            raise DtypeError(f"{op}: expected {name} to be float32 or float64, got "
                             f"{B.dtype_name(t.dtype)}")
    if a.dtype != b.dtype:
        raise DtypeError(f"{op}: expected {names[0]} and {names[1]} to have the same dtype, "
                         f"got {B.dtype_name(a.dtype)} and {B.dtype_name(b.dtype)}")
    _broadcastable(op, tuple(a.shape), tuple(b.shape))


def complex(real, imag):
    """``real + i imag`` (``torch.complex``): two float32 (or float64) tensors of one dtype,
    broadcast together, give complex64 (complex128)."""
    _same_float("complex", real, imag, ("real", "imag"))
    return Complex.apply(real, imag)


def polar(abs, angle):
    """``abs * (cos(angle) + i sin(angle))`` (``torch.polar``), differentiable in both.

    The gradient of ``abs`` is PyTorch's, Re(conj(dZ) * sgn(Z)): the plain derivative times
    sign(abs), so 0 where abs is 0 (a ReLU'd magnitude) and negated where abs < 0."""
    _same_float("polar", abs, angle, ("abs", "angle"))
    # value abs exactly (|a| + (a - |a|) is exact in floating point), derivative sign(abs)
    magnitude = abs.abs()
    signed = magnitude + (abs - magnitude).detach()
    return Complex.apply(signed * angle.cos(), signed * angle.sin())


class ViewAsReal(Function):
    """(..., ) complex -> (..., 2) real; dZ = dY[..., 0] + i dY[..., 1]."""

    saved_inputs = ()

    def forward(self, Z):
        xp = self.xp
        self.dtype = Z.dtype
        return xp.stack([xp.real(Z), xp.imag(Z)], axis=-1)

    def backward(self, dY):
        return _join(self.xp, dY[..., 0], dY[..., 1], self.dtype)

    def backward_graph(self, dY):
        return ViewAsComplex.apply(dY)


class ViewAsComplex(Function):
    """(..., 2) real -> (...,) complex; dX = stack(Re dZ, Im dZ)."""

    saved_inputs = ()

    def forward(self, X):
        xp = self.xp
        return _join(xp, X[..., 0], X[..., 1], _complex_dtype(xp, X.dtype))

    def backward(self, dZ):
        xp = self.xp
        return xp.stack([xp.real(dZ), xp.imag(dZ)], axis=-1)

    def backward_graph(self, dZ):
        return ViewAsReal.apply(dZ)


def view_as_real(input):
    """A complex tensor of shape (...) as a real one of shape (..., 2) holding the real and
    imaginary parts (``torch.view_as_real``; a copy in xpnn, a view in PyTorch)."""
    x = _tensor("view_as_real", input)
    if not _is_complex(x):
        raise DtypeError(f"view_as_real: view_as_real is only supported for complex tensors, "
                         f"got {B.dtype_name(x.dtype)}")
    return ViewAsReal.apply(x)


def view_as_complex(input):
    """A float32/float64 tensor of shape (..., 2) as a complex one of shape (...)
    (``torch.view_as_complex``; a copy in xpnn, a view in PyTorch)."""
    x = _tensor("view_as_complex", input)
    if B.dtype_name(x.dtype) not in ("float32", "float64"):
        raise DtypeError(f"view_as_complex: view_as_complex is only supported for float and "
                         f"double tensors, but got a tensor of scalar type: "
                         f"{B.dtype_name(x.dtype)}")
    if x.ndim == 0 or x.shape[-1] != 2:
        raise ShapeError(f"view_as_complex: Tensor must have a last dimension of size 2, got "
                         f"shape {tuple(x.shape)}")
    return ViewAsComplex.apply(x)
