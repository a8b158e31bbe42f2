"""torch.fft: discrete Fourier transforms, differentiable, on the Array API fft extension
(``xp.fft`` of NumPy, array-api-strict, torch and CuPy alike).

Signatures are PyTorch's: ``n``/``s`` (the length each transformed dim is cropped or
zero-padded to first), ``dim``, and ``norm`` ("backward": no scaling forward and 1/n on
the inverse, "ortho": 1/sqrt(n) both ways, "forward": 1/n forward). Real inputs are
promoted to complex (float32 -> complex64, float64 -> complex128, integers through the
default float dtype).

Gradients follow PyTorch's convention (dL/dx + i dL/dy). A transform with norm m is a
linear map whose adjoint is the opposite transform with the dual norm (backward <->
forward, ortho <-> ortho); cropping's adjoint is zero-padding and padding's is cropping.
``rfftn``/``irfftn``/``hfft``/``ihfft`` are composed of the one-dim real transforms and
the complex ``fftn``/``ifftn``, so their gradients come from those.
"""
from __future__ import annotations

from . import backend as B
from ._errors import ArgumentError, DtypeError, IndexShapeError
from .autograd import Function, TensorBase
from .creation import arange
from .functional.complex import conj
from .functional.elementwise import where
from .functional.rearrange import roll

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
           "rfftn", "irfftn", "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn", "fftfreq",
           "rfftfreq", "fftshift", "ifftshift"]

_DUAL = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _fit(xp, a, axes, sizes):
    """``a`` with each axis in ``axes`` cropped or zero-padded (at the end) to its size."""
    for ax, n in zip(axes, sizes):
        m = a.shape[ax]
        if n < m:
            a = a[(slice(None),) * ax + (slice(0, n), ...)]
        elif n > m:
            shape = list(a.shape)
            shape[ax] = n - m
            a = xp.concat([a, xp.zeros(tuple(shape), dtype=a.dtype, device=a.device)],
                          axis=ax)
    return a


# -- the Functions -------------------------------------------------------------------------------
class FFTN(Function):
    """Y = fftn(X) (``inverse``: ifftn) over ``axes`` after fitting them to ``sizes``;
    dX = the opposite transform of dY with the dual norm, fitted back to X's sizes."""

    saved_inputs = ()

    def forward(self, X, axes=(), sizes=(), norm="backward", inverse=False):
        self.axes, self.norm, self.inverse = axes, norm, inverse
        self.in_sizes = tuple(X.shape[a] for a in axes)
        f = self.xp.fft.ifftn if inverse else self.xp.fft.fftn
        return f(X, s=sizes, axes=axes, norm=norm)

    def backward(self, dY):
        xp = self.xp
        f = xp.fft.fftn if self.inverse else xp.fft.ifftn
        return _fit(xp, f(dY, axes=self.axes, norm=_DUAL[self.norm]), self.axes,
                    self.in_sizes)


class RFFT(Function):
    """Y = rfft(X) along ``axis`` (length n, n//2 + 1 bins out); dX = Re(ifft of dY
    zero-padded to n, dual norm): the adjoint of keeping the first half of the spectrum."""

    saved_inputs = ()

    def forward(self, X, axis=-1, n=1, norm="backward"):
        self.axis, self.n, self.norm, self.size = axis, n, norm, X.shape[axis]
        return self.xp.fft.rfft(X, n=n, axis=axis, norm=norm)

    def backward(self, dY):
        xp, ax = self.xp, self.axis
        full = xp.fft.ifft(_fit(xp, dY, (ax,), (self.n,)), axis=ax, norm=_DUAL[self.norm])
        return _fit(xp, xp.real(full), (ax,), (self.size,))


class IRFFT(Function):
    """X = irfft(Y) along ``axis`` (n real outputs from the first n//2 + 1 bins);
    dY = rfft(dX, dual norm) times 2 on the bins that stand for a conjugate pair too (all
    but bin 0 and, for even n, bin n/2), fitted back to Y's length."""

    saved_inputs = ()

    def forward(self, Y, axis=-1, n=2, norm="backward"):
        self.axis, self.n, self.norm, self.size = axis, n, norm, Y.shape[axis]
        return self.xp.fft.irfft(Y, n=n, axis=axis, norm=norm)

    def backward(self, dX):
        xp, ax, n = self.xp, self.axis, self.n
        G = xp.fft.rfft(dX, n=n, axis=ax, norm=_DUAL[self.norm])
        m = n // 2 + 1
        k = xp.arange(m, device=dX.device)
        one = (k == 0) | (2 * k == n)
        w = xp.where(one, xp.ones((m,), dtype=dX.dtype, device=dX.device),
                     xp.full((m,), 2.0, dtype=dX.dtype, device=dX.device))
        shape = [1] * G.ndim
        shape[ax] = m
        G = G * xp.astype(xp.reshape(w, tuple(shape)), G.dtype)
        return _fit(xp, G, (ax,), (self.size,))


# -- argument handling ----------------------------------------------------------------------------
def _tensor(op, x):
    if not isinstance(x, TensorBase):
        raise TypeError(f"fft.{op}: expected a Tensor as input, got {type(x).__name__}")
    return x


def _norm(op, norm):
    if norm is None:
        return "backward"
    if norm not in _DUAL:
        raise ArgumentError(f"fft.{op}: Invalid normalization mode: {norm!r} (expected "
                            "'backward', 'forward', 'ortho' or None)")
    return norm


def _real_dtype(op, x):
    """The real floating dtype ``x`` computes in (integers: the default float dtype)."""
    name = B.dtype_name(x.dtype)
    if name in B.COMPLEX_DTYPES:
        return "float64" if name == "complex128" else "float32"
    if name in ("float16", "bfloat16"):
        raise DtypeError(f"fft.{op}: Unsupported dtype {name} (xpnn's transforms take "
                         "float32/float64 or complex64/complex128)")
    return name if name in ("float32", "float64") else B.get_default_dtype()


def _as_complex(op, x):
    want = "complex128" if _real_dtype(op, x) == "float64" else "complex64"
    return x if B.dtype_name(x.dtype) == want else x.to(want)


def _as_real(op, x):
    if x._be.is_complex(x.dtype):
        raise DtypeError(f"fft.{op}: {op} expects a real input tensor, but got "
                         f"{B.dtype_name(x.dtype)}")
    want = _real_dtype(op, x)
    return x if B.dtype_name(x.dtype) == want else x.to(want)


def _dim(op, x, d):
    if not isinstance(d, int) or isinstance(d, bool):
        raise TypeError(f"fft.{op}: dim must be an int, got {type(d).__name__}")
    if not -max(x.ndim, 1) <= d < max(x.ndim, 1) or x.ndim == 0:
        raise IndexShapeError(f"fft.{op}: Dimension out of range (expected to be in range of "
                         f"[{-max(x.ndim, 1)}, {max(x.ndim, 1) - 1}], but got {d}) for an "
                         f"input of shape {tuple(x.shape)}")
    return d % x.ndim


def _size(op, n, name="n"):
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ArgumentError(f"fft.{op}: Invalid number of data points ({n}) specified "
                            f"(the {name} given must be ints >= 1)")
    return n


def _dims_sizes(op, x, s, dim, default_dim=None):
    """(axes, sizes) of an n-dim transform: ``dim`` None means the last len(s) dims with
    ``s``, else every dim (or ``default_dim``); ``s`` None keeps the input's sizes."""
    if dim is None:
        dim = default_dim if default_dim is not None else \
            tuple(range(-len(s), 0)) if s is not None else tuple(range(x.ndim))
    dim = (dim,) if isinstance(dim, int) else tuple(dim)
    axes = tuple(_dim(op, x, d) for d in dim)
    if len(set(axes)) != len(axes):
        raise ArgumentError(f"fft.{op}: dims must be unique, got {dim}")
    if s is None:  # an empty dim has no transform, as in PyTorch
        return axes, tuple(_size(op, x.shape[a]) for a in axes)
    s = tuple(s)
    if len(s) != len(axes):
        raise ArgumentError(f"fft.{op}: When given, dim and shape arguments must have the "
                            f"same length (s={s}, dim={dim})")
    return axes, tuple(_size(op, x.shape[a] if n == -1 else n, "s") for a, n in zip(axes, s))


# -- complex to complex ------------------------------------------------------------------------
def _c2c(op, input, s, dim, norm, inverse, default_dim=None):
    x = _tensor(op, input)
    norm = _norm(op, norm)
    axes, sizes = _dims_sizes(op, x, s, dim, default_dim)
    x = _as_complex(op, x)
    if not axes:
        return x
    return FFTN.apply(x, axes=axes, sizes=sizes, norm=norm, inverse=inverse)


def fft(input, n=None, dim=-1, norm=None):
    """The one-dim discrete Fourier transform along ``dim`` (``torch.fft.fft``).

    Args:
        input: a real or complex tensor.
        n: the length the dim is cropped or zero-padded to first (default: its own).
        dim: the dim transformed.
        norm: "backward" (default), "ortho" or "forward".
    Returns:
        a complex tensor (complex64 from float32/complex64, complex128 from the 64-bit
        dtypes), of the input's shape with ``n`` along ``dim``.
    """
    return _c2c("fft", input, None if n is None else (n,), dim, norm, False)


def ifft(input, n=None, dim=-1, norm=None):
    """The inverse of :func:`fft` (``torch.fft.ifft``); the same arguments."""
    return _c2c("ifft", input, None if n is None else (n,), dim, norm, True)


def fft2(input, s=None, dim=(-2, -1), norm=None):
    """:func:`fftn` over two dims, the last two by default (``torch.fft.fft2``)."""
    return _c2c("fft2", input, s, dim, norm, False)


def ifft2(input, s=None, dim=(-2, -1), norm=None):
    """The inverse of :func:`fft2` (``torch.fft.ifft2``)."""
    return _c2c("ifft2", input, s, dim, norm, True)


def fftn(input, s=None, dim=None, norm=None):
    """The n-dim transform over ``dim`` (default: every dim, or the last len(s) with
    ``s``), each cropped or zero-padded to ``s`` first (``torch.fft.fftn``)."""
    return _c2c("fftn", input, s, dim, norm, False)


def ifftn(input, s=None, dim=None, norm=None):
    """The inverse of :func:`fftn` (``torch.fft.ifftn``)."""
    return _c2c("ifftn", input, s, dim, norm, True)


# -- real to complex and back -------------------------------------------------------------------
def rfft(input, n=None, dim=-1, norm=None):
    """The transform of a real signal: the n//2 + 1 non-negative frequencies
    (``torch.fft.rfft``); a complex input raises."""
    x = _as_real("rfft", _tensor("rfft", input))
    norm, ax = _norm("rfft", norm), _dim("rfft", x, dim)
    n = _size("rfft", x.shape[ax] if n is None else n)
    return RFFT.apply(x, axis=ax, n=n, norm=norm)


def irfft(input, n=None, dim=-1, norm=None):
    """The inverse of :func:`rfft` (``torch.fft.irfft``): ``n`` real outputs (default
    2 * (input.size(dim) - 1)) from the non-negative frequencies; the imaginary parts of
    bin 0 (and bin n/2 for even n) are ignored."""
    x = _as_complex("irfft", _tensor("irfft", input))
    norm, ax = _norm("irfft", norm), _dim("irfft", x, dim)
    n = 2 * (x.shape[ax] - 1) if n is None else n
    return IRFFT.apply(x, axis=ax, n=_size("irfft", n), norm=norm)


def rfftn(input, s=None, dim=None, norm=None):
    """The n-dim transform of a real signal (``torch.fft.rfftn``): the last dim in ``dim``
    keeps its n//2 + 1 non-negative frequencies, the others all of theirs."""
    x = _as_real("rfftn", _tensor("rfftn", input))
    norm = _norm("rfftn", norm)
    axes, sizes = _dims_sizes("rfftn", x, s, dim)
    if not axes:
        raise ArgumentError("fft.rfftn: must transform at least one axis")
    y = RFFT.apply(x, axis=axes[-1], n=sizes[-1], norm=norm)
    if len(axes) == 1:
        return y
    return FFTN.apply(y, axes=axes[:-1], sizes=sizes[:-1], norm=norm, inverse=False)


def irfftn(input, s=None, dim=None, norm=None):
    """The inverse of :func:`rfftn` (``torch.fft.irfftn``): the last dim in ``dim`` gives
    ``s[-1]`` real outputs (default 2 * (size - 1))."""
    x = _as_complex("irfftn", _tensor("irfftn", input))
    norm = _norm("irfftn", norm)
    axes, sizes = _dims_sizes("irfftn", x, s, dim)
    if not axes:
        raise ArgumentError("fft.irfftn: must transform at least one axis")
    last = 2 * (x.shape[axes[-1]] - 1) if s is None or s[-1] == -1 else sizes[-1]
    if len(axes) > 1:
        x = FFTN.apply(x, axes=axes[:-1], sizes=sizes[:-1], norm=norm, inverse=True)
    return IRFFT.apply(x, axis=axes[-1], n=_size("irfftn", last, "s"), norm=norm)


def rfft2(input, s=None, dim=(-2, -1), norm=None):
    """:func:`rfftn` over two dims, the last two by default (``torch.fft.rfft2``)."""
    return rfftn(input, s, dim, norm)


def irfft2(input, s=None, dim=(-2, -1), norm=None):
    """The inverse of :func:`rfft2` (``torch.fft.irfft2``)."""
    return irfftn(input, s, dim, norm)


def hfft(input, n=None, dim=-1, norm=None):
    """The transform of a Hermitian-symmetric signal given by its first half: ``n`` real
    outputs (``torch.fft.hfft``); the same as irfft of the conjugate with the dual norm."""
    norm = _norm("hfft", norm)
    return irfft(conj(_as_complex("hfft", _tensor("hfft", input))), n, dim, _DUAL[norm])


def ihfft(input, n=None, dim=-1, norm=None):
    """The inverse of :func:`hfft` (``torch.fft.ihfft``): from a real signal, the
    n//2 + 1 first bins (the conjugate of rfft with the dual norm)."""
    norm = _norm("ihfft", norm)
    return conj(rfft(input, n, dim, _DUAL[norm]))


def hfftn(input, s=None, dim=None, norm=None):
    """The n-dim :func:`hfft` (``torch.fft.hfftn``): the last dim in ``dim`` holds the first
    half of a Hermitian-symmetric signal, ``s[-1]`` real outputs (default 2 * (size - 1));
    irfftn of the conjugate with the dual norm."""
    norm = _norm("hfftn", norm)
    return irfftn(conj(_as_complex("hfftn", _tensor("hfftn", input))), s, dim, _DUAL[norm])


def ihfftn(input, s=None, dim=None, norm=None):
    """The inverse of :func:`hfftn` (``torch.fft.ihfftn``): from a real signal, the
    conjugate of rfftn with the dual norm."""
    norm = _norm("ihfftn", norm)
    return conj(rfftn(input, s, dim, _DUAL[norm]))


def hfft2(input, s=None, dim=(-2, -1), norm=None):
    """:func:`hfftn` over two dims, the last two by default (``torch.fft.hfft2``)."""
    return hfftn(input, s, dim, norm)


def ihfft2(input, s=None, dim=(-2, -1), norm=None):
    """The inverse of :func:`hfft2` (``torch.fft.ihfft2``)."""
    return ihfftn(input, s, dim, norm)


# -- frequencies and shifts ------------------------------------------------------------------------
def fftfreq(n, d=1.0, *, dtype=None, device=None, requires_grad=False, backend=None):
    """The sample frequencies of an n-point transform, [0, 1, ..., -2, -1] / (d n)
    (``torch.fft.fftfreq``), in the default float dtype unless ``dtype``."""
    n = _count("fftfreq", n)
    k = arange(n, dtype=_freq_dtype("fftfreq", dtype), device=device, backend=backend)
    out = where(k >= (n + 1) // 2, k - n, k) / (n * d)
    return out.requires_grad_(requires_grad) if requires_grad else out


def rfftfreq(n, d=1.0, *, dtype=None, device=None, requires_grad=False, backend=None):
    """The n//2 + 1 non-negative sample frequencies of an n-point rfft, [0, ..., n//2] /
    (d n) (``torch.fft.rfftfreq``)."""
    n = _count("rfftfreq", n)
    k = arange(n // 2 + 1, dtype=_freq_dtype("rfftfreq", dtype), device=device,
               backend=backend)
    with k._be.quiet():  # n = 0: PyTorch's [nan] (0 / 0)
        out = k / (n * d)
    return out.requires_grad_(requires_grad) if requires_grad else out


def _count(op, n):
    """fftfreq's n: an int >= 0 (0 gives PyTorch's empty result)."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ArgumentError(f"fft.{op}: n must be an int >= 0, got {n!r}")
    return n


def _freq_dtype(op, dtype):
    name = B.dtype_name(dtype or B.get_default_dtype())
    if not name.startswith(("float", "complex", "bfloat")):
        raise DtypeError(f"fft.{op}: {op} requires a floating point or complex dtype, got "
                         f"{name}")
    return dtype or B.get_default_dtype()


def _shift(op, input, dim, sign):
    x = _tensor(op, input)
    if x.ndim == 0 and dim is None:
        raise ArgumentError(f"fft.{op}: `shifts` required (a 0-d input has no dim to shift)")
    dims = tuple(range(x.ndim)) if dim is None else (dim,) if isinstance(dim, int) else \
        tuple(dim)
    dims = tuple(_dim(op, x, d) for d in dims)
    if not dims:
        return x
    return roll(x, [sign * (x.shape[d] // 2) for d in dims], dims)


def fftshift(input, dim=None):
    """The zero frequency moved to the middle of each dim in ``dim`` (default: all), as
    ``torch.fft.fftshift``; differentiable (a roll)."""
    return _shift("fftshift", input, dim, 1)


def ifftshift(input, dim=None):
    """The inverse of :func:`fftshift` (``torch.fft.ifftshift``)."""
    return _shift("ifftshift", input, dim, -1)
