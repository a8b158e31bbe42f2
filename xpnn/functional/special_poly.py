"""The orthogonal polynomials of torch.special, each f(x, n): chebyshev_polynomial_t/u/v/w
(the four kinds), their shifted forms on [0, 1] (x -> 2x - 1), hermite_polynomial_h
(physicists') and hermite_polynomial_he (probabilists'), laguerre_polynomial_l and
legendre_polynomial_p. n may be a number or a Tensor (broadcast with x); as in PyTorch it
is truncated to an integer, n < 0 gives 0, and there is no gradient.

Chebyshev: closed forms for every n (no loop over n, no host read): with x = cos(theta) on
[-1, 1], T = cos(n theta), U = sin((n+1) theta)/sin(theta), V = cos((n+1/2) theta)/
cos(theta/2), W = sin((n+1/2) theta)/sin(theta/2); outside, with |x| = cosh(t) and the
values written as e^(n t) times a factor in e^(-t) (so they overflow to inf, never to
inf/inf), and V_n(-x) = (-1)^n W_n(x), U_n(-x) = (-1)^n U_n(x), T_n(-x) = (-1)^n T_n(x).
n <= 6 by the recurrence and x = +-1 at their exact values, as PyTorch's kernels do.

Hermite, Laguerre, Legendre: the three-term recurrences (A&S 22.7), each element keeping the
value at its own n through a mask. Their loop runs to the largest n: for a number n that is n
itself; for a Tensor n it is read from the device once (one host sync per call).
"""
from __future__ import annotations

import math

from .._errors import DtypeError
from ..autograd import Function
from ..tensor import TensorBase
from .activation import _input
from .elementwise import _floating, promote, quiet


def _parity_sign(xp, N):
    """(-1)^n for integral float n."""
    return 1 - 2 * (xp.remainder(N, 2.0))


def _chebyshev(xp, X, N, kind):
    one = xp.ones_like(X)
    A = xp.abs(X)
    inside = A < 1
    # [-1, 1]: theta = acos(x)
    C = xp.where(inside, X, xp.zeros_like(X))
    theta = xp.acos(C)
    if kind == "t":
        trig = xp.cos(N * theta)
    elif kind == "u":
        trig = xp.sin((N + 1) * theta) / xp.sin(theta)
    elif kind == "v":
        trig = xp.cos((N + 0.5) * theta) / xp.cos(0.5 * theta)
    else:
        trig = xp.sin((N + 0.5) * theta) / xp.sin(0.5 * theta)
    # |x| > 1: t = acosh|x|; the value at +|x|, then the sign / kind swap for x < 0
    G = xp.where(inside, xp.full_like(X, 2.0), A)
    t = xp.acosh(G)
    e2 = xp.exp(-2 * t)
    et = xp.exp(-t)
    growth = N * t
    if kind == "t":
        pos = growth + xp.log1p(xp.exp(-2 * growth)) - math.log(2)
        neg = pos
    elif kind == "u":
        pos = growth + xp.log1p(-(e2 * xp.exp(-2 * growth))) - xp.log1p(-e2)
        neg = pos
    else:
        tail = xp.exp(-(2 * N + 1) * t)
        v_part = growth + xp.log1p(tail) - xp.log1p(et)       # V_n(|x|)
        w_part = growth + xp.log1p(-tail) - xp.log1p(-et)     # W_n(|x|)
        pos, neg = (v_part, w_part) if kind == "v" else (w_part, v_part)
    sign = _parity_sign(xp, N)
    out = xp.where(X > 0, xp.exp(pos), sign * xp.exp(neg))
    Y = xp.where(inside, trig, out)
    # exact values at x = +-1, n = 0 and n = 1
    first = {"t": X, "u": 2 * X, "v": 2 * X - 1, "w": 2 * X + 1}[kind]
    at_one = {"t": one, "u": N + 1, "v": one, "w": 2 * N + 1}[kind]
    at_minus = {"t": sign, "u": sign * (N + 1), "v": sign * (2 * N + 1), "w": sign}[kind]
    Y = xp.where(X == 1, at_one, xp.where(X == -1, at_minus, Y))
    # +-inf: NaN (PyTorch's recurrence meets inf - inf)
    Y = xp.where(xp.isinf(X), xp.full_like(X, math.nan), Y)
    # n <= 6 by the recurrence, as PyTorch (exact zeros where the products are exact)
    return xp.where(N <= 6, _recurrence(xp, X, N, kind, 6), Y)


def _recurrence(xp, X, N, kind, top):
    """P_n(x) at each element's own n (0 <= n <= top) by the three-term recurrence."""
    one = xp.ones_like(X)
    first = {"h": 2 * X, "he": X, "l": 1 - X, "p": X, "t": X, "u": 2 * X, "v": 2 * X - 1,
             "w": 2 * X + 1}[kind]
    out = xp.where(N == 0, one, xp.zeros_like(X))
    out = xp.where(N == 1, first, out)
    prev, cur = one, first
    for k in range(1, top):
        # P_(k+1) from P_k = cur and P_(k-1) = prev
        if kind in ("t", "u", "v", "w"):
            nxt = 2 * X * cur - prev
        elif kind == "h":
            nxt = 2 * X * cur - (2 * k) * prev
        elif kind == "he":
            nxt = X * cur - k * prev
        elif kind == "l":
            nxt = ((2 * k + 1 - X) * cur - k * prev) / (k + 1)
        else:
            nxt = ((2 * k + 1) * X * cur - k * prev) / (k + 1)
        prev, cur = cur, nxt
        out = xp.where(N == k + 1, cur, out)
    return out


def poly_array(be, X, N, kind, top=None):
    """The polynomial ``kind`` at arrays X, N (N integral-valued, of X's dtype)."""
    xp = be.xp
    X, N = xp.broadcast_arrays(X, N)
    if kind in ("t", "u", "v", "w"):
        Y = _chebyshev(xp, X, N, kind)
    else:
        Y = _recurrence(xp, X, N, kind, top)
    # NaN x gives NaN from n = 1 on; n = 0 gives 1 and n < 0 gives 0 whatever x (PyTorch)
    Y = xp.where(xp.isnan(X), X, Y)
    Y = xp.where(N == 0, xp.ones_like(Y), Y)
    return xp.where(N < 0, xp.zeros_like(Y), Y)


@quiet
class Polynomial(Function):
    """An orthogonal polynomial at (x, n): no gradient (PyTorch defines none)."""

    differentiable = False

    def forward(self, X, N, kind="t", shifted=False, top=None):
        xp = self.xp
        if shifted:
            X = 2 * X - 1
        return poly_array(self.be, X, xp.trunc(N), kind, top)


def _polynomial(name, kind, shifted, input, n):
    if isinstance(n, TensorBase):
        x, nt = promote(input, n, name)
        x, nt = _floating(x), _floating(nt)
        top = None
        if kind not in ("t", "u", "v", "w"):
            # one host read; NaN and +-inf degrees match no k (their values: 0, or NaN)
            finite = nt.nan_to_num(nan=0.0, posinf=0.0, neginf=0.0)
            top = int(finite.max().item()) if nt.numel() else 0
        return Polynomial.apply(x, nt, kind=kind, shifted=shifted, top=top)
    if isinstance(n, bool) or not isinstance(n, (int, float)):
        raise DtypeError(f"{name}: n must be a Tensor or a number, got {type(n).__name__}")
    x = _input(name, input)
    if not math.isfinite(n):
        raise ValueError(f"{name}: n must be finite, got {n}")
    nt = x.new_full((), float(math.trunc(n)))
    return Polynomial.apply(x, nt, kind=kind, shifted=shifted, top=int(n))


def _make(name, kind, shifted, summary):
    def fn(x, n):  # torch.special's argument names
        return _polynomial(name, kind, shifted, x, n)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"{summary}, as ``torch.special.{name}``.\n\n    Args:\n        x: a "
                  "Tensor (or a number when n is a Tensor).\n        n: the degree, a number "
                  "or a Tensor broadcast with x (truncated to an integer; n < 0 gives 0)."
                  "\n    Returns:\n        A floating Tensor (integers give the default float "
                  "dtype); no gradient, as in PyTorch.")
    return fn


chebyshev_polynomial_t = _make("chebyshev_polynomial_t", "t", False,
                               "The Chebyshev polynomial of the first kind T_n(x)")
chebyshev_polynomial_u = _make("chebyshev_polynomial_u", "u", False,
                               "The Chebyshev polynomial of the second kind U_n(x)")
chebyshev_polynomial_v = _make("chebyshev_polynomial_v", "v", False,
                               "The Chebyshev polynomial of the third kind V_n(x)")
chebyshev_polynomial_w = _make("chebyshev_polynomial_w", "w", False,
                               "The Chebyshev polynomial of the fourth kind W_n(x)")
shifted_chebyshev_polynomial_t = _make("shifted_chebyshev_polynomial_t", "t", True,
                                       "The shifted Chebyshev polynomial T*_n(x) = T_n(2x - 1)")
shifted_chebyshev_polynomial_u = _make("shifted_chebyshev_polynomial_u", "u", True,
                                       "The shifted Chebyshev polynomial U*_n(x) = U_n(2x - 1)")
shifted_chebyshev_polynomial_v = _make("shifted_chebyshev_polynomial_v", "v", True,
                                       "The shifted Chebyshev polynomial V*_n(x) = V_n(2x - 1)")
shifted_chebyshev_polynomial_w = _make("shifted_chebyshev_polynomial_w", "w", True,
                                       "The shifted Chebyshev polynomial W*_n(x) = W_n(2x - 1)")
hermite_polynomial_h = _make("hermite_polynomial_h", "h", False,
                             "The physicists' Hermite polynomial H_n(x)")
hermite_polynomial_he = _make("hermite_polynomial_he", "he", False,
                              "The probabilists' Hermite polynomial He_n(x)")
laguerre_polynomial_l = _make("laguerre_polynomial_l", "l", False,
                              "The Laguerre polynomial L_n(x)")
legendre_polynomial_p = _make("legendre_polynomial_p", "p", False,
                              "The Legendre polynomial P_n(x)")
