"""``torch.signal.windows``: bartlett, blackman, cosine, exponential, gaussian,
general_cosine, general_hamming, hamming, hann, kaiser and nuttall, with PyTorch's keyword
arguments (``sym``, ``dtype``, ``device``, ``requires_grad``) and sample positions.

Each window is a function of M evenly spaced positions (``linspace``), as in PyTorch: a
symmetric window (``sym=True``, for filter design) spans M - 1 steps, a periodic one
(``sym=False``, for spectral analysis) M steps (the symmetric window of M + 1 without its
last point). Windows are float32 or float64 only (ValueError otherwise, as PyTorch).
"""
from __future__ import annotations

import math

from .. import backend as B
from .._memory_format import strided
from ..creation import empty, linspace, ones, tensor
from ..functional import cos, exp, sin, sqrt
from ..functional.special_more import i0

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine",
           "general_hamming", "hamming", "hann", "kaiser", "nuttall"]


def _checks(name, M, dtype, layout):
    """The checks every window makes; returns the dtype name (the default when None)."""
    if isinstance(M, bool) or not isinstance(M, int):
        raise TypeError(f"{name}: M must be an int, got {type(M).__name__}")
    if M < 0:
        raise ValueError(f"{name} requires non-negative window length, got M={M}")
    if layout is not None and layout is not strided:
        raise ValueError(f"{name} is implemented for strided tensors only, got: {layout}")
    dt = B.get_default_dtype() if dtype is None else B.dtype_name(dtype)
    if dt not in ("float32", "float64"):
        raise ValueError(f"{name} expects float32 or float64 dtypes, got: xpnn.{dt}")
    return dt


def _trivial(M, dt, device, requires_grad):
    """The empty window (M = 0) and the one-point window (M = 1), or None."""
    if M == 0:
        return empty(0, dtype=dt, device=device, requires_grad=requires_grad)
    if M == 1:
        return ones(1, dtype=dt, device=device, requires_grad=requires_grad)
    return None


def _positions(start, step, M, dt, device):
    return linspace(start, start + (M - 1) * step, M, dtype=dt, device=device)


def _done(w, requires_grad):
    return w.detach().requires_grad_(requires_grad)


def exponential(M, *, center=None, tau=1.0, sym=True, dtype=None, layout=strided,
                device=None, requires_grad=False):
    """exp(-|n - center| / tau); ``center`` defaults to the middle (periodic windows only
    may move it)."""
    dt = _checks("exponential", M, dtype, layout)
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")
    if M == 0:
        return _trivial(M, dt, device, requires_grad)
    if center is None:
        center = (M if not sym and M > 1 else M - 1) / 2.0
    k = _positions(-center / tau, 1 / tau, M, dt, device)
    return _done(exp(-k.abs()), requires_grad)


def cosine(M, *, sym=True, dtype=None, layout=strided, device=None, requires_grad=False):
    """sin(pi (n + 1/2) / M) (the sine window); PyTorch's periodic form divides by M + 1."""
    dt = _checks("cosine", M, dtype, layout)
    if M == 0:
        return _trivial(M, dt, device, requires_grad)
    step = math.pi / (M + 1 if not sym and M > 1 else M)
    return _done(sin(_positions(0.5 * step, step, M, dt, device)), requires_grad)


def gaussian(M, *, std=1.0, sym=True, dtype=None, layout=strided, device=None,
             requires_grad=False):
    """exp(-(n - c)^2 / (2 std^2)) with c the middle of the window."""
    dt = _checks("gaussian", M, dtype, layout)
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")
    if M == 0:
        return _trivial(M, dt, device, requires_grad)
    start = -(M if not sym and M > 1 else M - 1) / 2.0
    step = 1 / (std * math.sqrt(2))
    k = _positions(start * step, step, M, dt, device)
    return _done(exp(-(k * k)), requires_grad)


def kaiser(M, *, beta=12.0, sym=True, dtype=None, layout=strided, device=None,
           requires_grad=False):
    """I0(beta sqrt(1 - (2n/N - 1)^2)) / I0(beta) with N = M - 1 (symmetric) or M."""
    dt = _checks("kaiser", M, dtype, layout)
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")
    trivial = _trivial(M, dt, device, requires_grad)
    if trivial is not None:
        return trivial
    step = 2.0 * beta / (M if not sym else M - 1)
    end = min(beta, -beta + (M - 1) * step)  # rounding must not pass beta (a NaN root)
    k = linspace(-beta, end, M, dtype=dt, device=device)
    b = tensor(float(beta), dtype=dt, device=device)
    return _done(i0(sqrt(b * b - k * k)) / i0(b), requires_grad)


def general_cosine(M, *, a, sym=True, dtype=None, layout=strided, device=None,
                   requires_grad=False):
    """sum_k (-1)^k a[k] cos(2 pi k n / N), N = M - 1 (symmetric) or M."""
    dt = _checks("general_cosine", M, dtype, layout)
    trivial = _trivial(M, dt, device, requires_grad)
    if trivial is not None:
        return trivial
    if not isinstance(a, (list, tuple)):
        raise TypeError("Coefficients must be a list/tuple")
    if not a:
        raise ValueError("Coefficients cannot be empty")
    k = _positions(0.0, 2 * math.pi / (M if not sym else M - 1), M, dt, device)
    w = None
    for i, coef in enumerate(a):
        term = (-1) ** i * coef * cos(i * k)
        w = term if w is None else w + term
    return _done(w, requires_grad)


def general_hamming(M, *, alpha=0.54, sym=True, dtype=None, layout=strided, device=None,
                    requires_grad=False):
    """alpha - (1 - alpha) cos(2 pi n / N): the family of hann (0.5) and hamming (0.54)."""
    return general_cosine(M, a=[alpha, 1.0 - alpha], sym=sym, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)


def hamming(M, *, sym=True, dtype=None, layout=strided, device=None, requires_grad=False):
    """The Hamming window: general_hamming with alpha = 0.54."""
    return general_hamming(M, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def hann(M, *, sym=True, dtype=None, layout=strided, device=None, requires_grad=False):
    """The Hann window: general_hamming with alpha = 0.5."""
    return general_hamming(M, alpha=0.5, sym=sym, dtype=dtype, layout=layout,
                           device=device, requires_grad=requires_grad)


def blackman(M, *, sym=True, dtype=None, layout=strided, device=None, requires_grad=False):
    """The Blackman window: general_cosine with a = [0.42, 0.5, 0.08]."""
    _checks("blackman", M, dtype, layout)
    return general_cosine(M, a=[0.42, 0.5, 0.08], sym=sym, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)


def nuttall(M, *, sym=True, dtype=None, layout=strided, device=None, requires_grad=False):
    """Nuttall's minimum 4-term Blackman-Harris window (Nuttall, 1981)."""
    _checks("nuttall", M, dtype, layout)
    return general_cosine(M, a=[0.3635819, 0.4891775, 0.1365995, 0.0106411], sym=sym,
                          dtype=dtype, layout=layout, device=device,
                          requires_grad=requires_grad)


def bartlett(M, *, sym=True, dtype=None, layout=strided, device=None, requires_grad=False):
    """The triangular window 1 - |2n/N - 1|, N = M - 1 (symmetric) or M."""
    dt = _checks("bartlett", M, dtype, layout)
    trivial = _trivial(M, dt, device, requires_grad)
    if trivial is not None:
        return trivial
    k = _positions(-1.0, 2 / (M if not sym else M - 1), M, dt, device)
    return _done(1 - k.abs(), requires_grad)
