"""The rest of torch.special: gammainc/gammaincc (and torch.igamma/igammac, the Tensor
methods), zeta, the Bessel and Airy functions and the orthogonal polynomials, against torch
2.13 on every backend (values, dtypes, edges, which gradients exist) and against mpmath
(40 digits) where torch itself is off.

Worst relative errors measured (float64; see the module docstrings):
  gammainc / gammaincc: 6e-13 against mpmath over a in [1e-4, 1e7] (the large-a tail's own
    conditioning, ~a eps in the exponent); torch 2.13 is off by up to 2e-9 near
    |x - a| = 0.3 a (where its Temme series is truncated), so parity with torch is 5e-9.
  bessel_j0/j1/y0/y1: 2e-16 absolute (1.5e-13 relative to the 1/sqrt(x) envelope); torch
    2.13 is off by up to 2e-7 absolute on [5, 8] (its rational fits there).
  airy_ai: 1e-14 relative to the envelope for |x| < 100 (torch: 8e-5 at x ~ -2.3).
  modified_bessel_k0/k1 (and scaled): 1e-15; i0/i1: 2e-15; spherical_bessel_j0: 2e-16.
  zeta: 2e-14 against torch; the polynomials: 5e-14 relative to the largest value of each
    degree.
"""
import math

import numpy as np
import pytest
from conftest import to_np

import xpnn
import xpnn.special as S

torch = pytest.importorskip("torch")
INF, NAN = math.inf, math.nan
EPS32 = float(np.finfo(np.float32).eps)


def _t64(values):
    return torch.tensor(np.asarray(values, dtype=np.float64), dtype=torch.float64)


def _close(got, want, rtol, atol=0.0):
    """Equal, both NaN, or within rtol |want| + atol; returns the offending indices."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    atol = np.broadcast_to(np.asarray(atol, np.float64), want.shape)
    with np.errstate(invalid="ignore", over="ignore"):
        ok = (got == want) | (np.isnan(got) & np.isnan(want)) | (
            np.abs(got - want) <= rtol * np.abs(want) + atol)
    return np.nonzero(~ok)[0]


def _dtype(t):
    return xpnn.backend.dtype_name(t.dtype)


# -- gammainc / gammaincc --------------------------------------------------------------------
def _gamma_points():
    rng = np.random.default_rng(27)
    a = np.exp(rng.uniform(math.log(1e-4), math.log(1e6), 2500))
    spread = np.where(rng.random(2500) < 0.5, 1.0, 1 / np.sqrt(a))
    x = a * np.exp(rng.uniform(-2.5, 2.5, 2500) * spread)
    x2 = np.exp(rng.uniform(-25, 6, 500))
    a2 = np.exp(rng.uniform(-9, 4, 500))
    edges = [-1.0, 0.0, 1e-300, 1e-5, 0.5, 1.0, 2.5, 30.0, 1e4, 1e300, INF, NAN]
    ea, ex = np.meshgrid(edges, edges)
    return (np.concatenate([a, a2, ea.ravel()]), np.concatenate([x, x2, ex.ravel()]))


GAMMA_A, GAMMA_X = _gamma_points()


@pytest.mark.parametrize("name", ["gammainc", "gammaincc"])
def test_gammainc_matches_torch_float64(name, backend):
    y = getattr(S, name)(xpnn.tensor(GAMMA_A, dtype="float64"),
                         xpnn.tensor(GAMMA_X, dtype="float64"))
    want = getattr(torch.special, name)(_t64(GAMMA_A), _t64(GAMMA_X)).numpy()
    assert _dtype(y) == "float64" and y.shape == GAMMA_A.shape
    # torch's own error reaches 2e-9 (see the module docstring); Q(1e-300, 30) is the
    # subnormal 3e-315 here and 0 in torch
    bad = _close(to_np(y), want, rtol=5e-9, atol=1e-300)
    assert bad.size == 0, list(zip(GAMMA_A[bad], GAMMA_X[bad], to_np(y)[bad], want[bad]))


def test_gammainc_against_mpmath():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    rng = np.random.default_rng(5)
    a = np.exp(rng.uniform(math.log(1e-3), math.log(1e4), 300))
    x = a * np.exp(rng.uniform(-1.5, 1.5, 300) * np.where(rng.random(300) < 0.5, 1, 0.2))
    a = np.concatenate([a, [20.97, 21.04, 217.4, 30.0, 14.78, 0.0039]])
    x = np.concatenate([x, [14.71, 27.33, 151.3, 30.0, 3.43e-9, 0.0041]])
    P = S.gammainc(xpnn.tensor(a, dtype="float64"), xpnn.tensor(x, dtype="float64")).numpy()
    Q = S.gammaincc(xpnn.tensor(a, dtype="float64"), xpnn.tensor(x, dtype="float64")).numpy()
    worst = 0.0
    for i in range(len(a)):
        for got, upper in ((P[i], False), (Q[i], True)):
            lo, hi = (x[i], mp.inf) if upper else (0, x[i])
            try:
                want = mp.gammainc(mp.mpf(a[i]), lo, hi, regularized=True)
            except ValueError:   # mpmath gives up on values far below float64's range
                continue
            if want > 1e-300:
                worst = max(worst, float(abs((got - want) / want)))
    assert worst < 1e-12, worst


@pytest.mark.parametrize("name", ["gammainc", "gammaincc"])
def test_gammainc_gradient_matches_torch(name, backend):
    a = [0.3, 1.0, 2.5, 2.5, 25.0, 25.0, 300.0, 1e-3, 4.0, 4.0, 4.0]
    x = [0.7, 2.0, 0.1, 9.0, 20.0, 31.0, 290.0, 5.0, 0.0, INF, NAN]
    X = xpnn.tensor(x, dtype="float64", requires_grad=True)
    y = getattr(S, name)(xpnn.tensor(a, dtype="float64"), X)
    y.backward(xpnn.ones_like(y))
    T = _t64(x).requires_grad_()
    (g,) = torch.autograd.grad(getattr(torch.special, name)(_t64(a), T).sum(), T)
    bad = _close(to_np(X.grad), g.numpy(), rtol=1e-12)
    assert bad.size == 0, (np.array(x)[bad], to_np(X.grad)[bad], g.numpy()[bad])


def test_gammainc_gradcheck_and_no_gradient_in_a(host_backend):
    for fn in (S.gammainc, S.gammaincc):
        for a, x in ((0.5, [0.2, 1.5]), (3.0, [0.5, 2.0, 7.0]), (40.0, [35.0, 44.0])):
            A = xpnn.tensor([a] * len(x), dtype="float64")
            X = xpnn.tensor(x, dtype="float64", requires_grad=True)
            assert xpnn.gradcheck(lambda t: fn(A, t), X)
        A = xpnn.tensor([2.0], dtype="float64", requires_grad=True)
        y = fn(A, xpnn.tensor([1.0], dtype="float64"))
        with pytest.raises(NotImplementedError, match="derivative for 'igamma"):
            y.sum().backward()


def test_gammainc_float32(backend):
    """float32 stays float32 and is about as accurate as torch's own float32: the values'
    conditioning in a and x is what limits both."""
    a, x = GAMMA_A[:2500], GAMMA_X[:2500]
    a, x = a[(x > 1e-30) & (x < 1e30)], x[(x > 1e-30) & (x < 1e30)]   # float32's range
    a32, x32 = a.astype(np.float32), x.astype(np.float32)
    for name in ("gammainc", "gammaincc"):
        y = getattr(S, name)(xpnn.tensor(a32), xpnn.tensor(x32))
        assert _dtype(y) == "float32"
        ref = getattr(torch.special, name)(_t64(a32), _t64(x32)).numpy()
        t32 = getattr(torch.special, name)(torch.tensor(a32), torch.tensor(x32)).numpy()
        keep = ref > 1e-30
        err = np.abs(to_np(y).astype(np.float64) - ref)[keep]
        # 2x torch's float32 error, or 8 ulps of the exponent log(value) (the prefactor
        # e^(-a (mu - log1p mu)) of a tiny value carries its rounding)
        bound = np.maximum(2 * np.abs(t32.astype(np.float64) - ref)[keep],
                           8 * EPS32 * (1 + np.abs(np.log(ref[keep]))) * ref[keep])
        assert (err <= bound).all(), (a[keep][err > bound], x[keep][err > bound])


def test_igamma_names_and_methods():
    a = xpnn.tensor([0.5, 2.0, 7.0], dtype="float64")
    x = xpnn.tensor([1.0, 1.5, 9.0], dtype="float64")
    ta, tx = _t64([0.5, 2.0, 7.0]), _t64([1.0, 1.5, 9.0])
    for got, want in ((xpnn.igamma(a, x), torch.igamma(ta, tx)),
                      (xpnn.igammac(a, x), torch.igammac(ta, tx)),
                      (a.igamma(x), ta.igamma(tx)), (a.igammac(x), ta.igammac(tx))):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-14)
    b, tb = a.clone(), ta.clone()
    assert b.igamma_(x) is b
    np.testing.assert_allclose(b.numpy(), tb.igamma_(tx).numpy(), rtol=1e-14)
    assert a.clone().igammac_(x).numpy() == pytest.approx(ta.clone().igammac_(tx).numpy())
    # float32 with float64 promotes; integers raise as in torch
    assert _dtype(S.gammainc(xpnn.tensor([1.0]), xpnn.tensor([1.0], dtype="float64"))) \
        == "float64"
    with pytest.raises(NotImplementedError, match="gammainc"):
        S.gammainc(xpnn.tensor([1, 2]), xpnn.tensor([1, 2]))


# -- Bessel and Airy -------------------------------------------------------------------------
BESSEL = ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0",
          "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
          "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "spherical_bessel_j0",
          "airy_ai"]
# torch 2.13's own error on [2, 10] (its rational fits), relative to the 1/sqrt(x)
# envelope: J/Y to 2e-6, Ai to 5e-6 (xpnn's accuracy is checked against mpmath below)
TORCH_ABS = {"bessel_j0": 1e-5, "bessel_j1": 1e-5, "bessel_y0": 1e-5, "bessel_y1": 1e-5,
             "airy_ai": 1e-5}
BESSEL_EDGES = [-INF, -1e10, -1e5, -150.0, -30.0, -2.0, -1e-300, -0.0, 0.0, 1e-300, 1e-5,
                0.5, 2.0, 25.0, 30.0, 150.0, 700.0, 1e5, 1e10, 1e300, INF, NAN]


def _bessel_points():
    rng = np.random.default_rng(11)
    return np.concatenate([rng.uniform(-30, 30, 3000),
                           np.exp(rng.uniform(-30, 6.5, 1500)) * rng.choice([-1, 1], 1500),
                           BESSEL_EDGES])


BESSEL_X = _bessel_points()


@pytest.mark.parametrize("name", BESSEL)
def test_bessel_matches_torch_float64(name, backend):
    x = BESSEL_X
    if name == "airy_ai":
        x = x[np.isnan(x) | (np.abs(x) < 1e5)]   # Ai(-x) at |x| >= 1e5: both ~1e-9 off
    y = getattr(S, name)(xpnn.tensor(x, dtype="float64"))
    want = getattr(torch.special, name)(_t64(x)).numpy()
    assert _dtype(y) == "float64" and y.shape == x.shape
    got = to_np(y)
    # Hankel's phase x - pi/4 for |x| >= 1e10 is rounded differently in torch
    far = np.abs(x) >= 1e9
    env = np.minimum(1.0, 1 / np.sqrt(np.abs(np.nan_to_num(x)) + 1e-300))
    bad = _close(got[~far], want[~far], rtol=1e-13,
                 atol=TORCH_ABS.get(name, 1e-300) * env[~far])
    assert bad.size == 0, list(zip(x[~far][bad], got[~far][bad], want[~far][bad]))
    # the edges: NaN, inf and zeros exactly where torch has them
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.array_equal(np.isinf(got), np.isinf(want))


MPMATH = {
    "bessel_j0": "mp.besselj(0, x)", "bessel_j1": "mp.besselj(1, x)",
    "bessel_y0": "mp.bessely(0, x)", "bessel_y1": "mp.bessely(1, x)",
    "modified_bessel_k0": "mp.besselk(0, x)", "modified_bessel_k1": "mp.besselk(1, x)",
    "scaled_modified_bessel_k0": "mp.besselk(0, x) * mp.exp(x)",
    "scaled_modified_bessel_k1": "mp.besselk(1, x) * mp.exp(x)",
    "airy_ai": "mp.airyai(x)",
}


@pytest.mark.parametrize("name", list(MPMATH))
def test_bessel_against_mpmath(name):
    """Accurate where torch is not: error relative to the function's envelope."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 30
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(0.01, 30, 250), np.exp(rng.uniform(-20, 5, 100)),
                        [1.9, 2.0, 2.1, 5.5, 7.0, 24.9, 25.0, 25.1, 100.0]])
    if name in ("bessel_j0", "bessel_j1", "airy_ai"):
        x = np.concatenate([x, -x])
    got = getattr(S, name)(xpnn.tensor(x, dtype="float64")).numpy()
    want = np.array([float(eval(MPMATH[name], {"mp": mp, "x": mp.mpf(v)})) for v in x])
    env = np.abs(want)
    if name.startswith("bessel"):   # oscillating: near a zero, absolute to the envelope
        env = np.maximum(env, 0.05 * np.minimum(1, np.abs(x) ** -0.5))
    elif name == "airy_ai":
        env = np.maximum(env, 0.05 * np.minimum(1, np.abs(x) ** -0.25))
    keep = np.abs(want) > 1e-300
    err = (np.abs(got - want) / env)[keep]
    # 4e-14, plus the phase's conditioning: x (or zeta = 2/3 |x|^1.5) rounded by eps
    tol = 4e-14 + (4e-15 * np.abs(x[keep]) ** 1.5 if name == "airy_ai"
                   else 4e-16 * np.abs(x[keep]))
    assert (err < tol).all(), (x[keep][np.argmax(err / tol)], err.max())


@pytest.mark.parametrize("name", BESSEL)
def test_bessel_float32_and_no_gradient(name, backend):
    x = np.array([-3.0, -0.5, 0.25, 1.0, 2.5, 6.0, 20.0, 40.0], dtype=np.float32)
    if name in ("bessel_y0", "bessel_y1") or "_k" in name:
        x = np.abs(x)
    t = xpnn.tensor(x, requires_grad=True)
    y = getattr(S, name)(t)
    assert _dtype(y) == "float32" and not y.requires_grad
    ref = getattr(torch.special, name)(_t64(x)).numpy()
    env = np.maximum(np.abs(ref), 1e-2) if name.startswith(("bessel", "airy")) else np.abs(ref)
    assert (np.abs(to_np(y) - ref) <= 64 * EPS32 * env + 1e-6 * (name in TORCH_ABS)).all()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()
    assert _dtype(getattr(S, name)(xpnn.tensor([1, 2]))) == "float32"


# -- the polynomials -------------------------------------------------------------------------
POLY = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
        "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
        "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
        "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
        "laguerre_polynomial_l", "legendre_polynomial_p"]
# (no NaN: torch 2.13 reads garbage for NaN at some degrees, e.g. laguerre_polynomial_l(nan,
# 2) = -5.5e303; xpnn's NaN rules are checked on their own below)
POLY_X = [-INF, -1e5, -3.0, -1.5, -1.0, -1 + 1e-9, -0.7, -0.3, 0.0, 1e-5, 0.2, 0.5, 0.9,
          1 - 1e-9, 1.0, 1.0000001, 1.5, 2.0, 3.0, 7.0, 1e5, INF]
POLY_N = [-3, -1, 0, 1, 2, 3, 5, 6, 7, 8, 12, 20, 31, 50]


def _poly_tol(want, n):
    """rtol 1e-12, plus 5e-14 of the largest |value| of the same degree (cancellation in
    the recurrence or the closed form near a zero)."""
    want = np.asarray(want, np.float64)
    scale = np.zeros_like(want)
    for k in set(n):
        row = n == k
        finite = want[row][np.isfinite(want[row])]
        scale[row] = np.abs(finite).max() if finite.size else 0.0
    return 5e-14 * scale


@pytest.mark.parametrize("name", POLY)
def test_polynomials_match_torch(name, backend):
    X, N = (a.ravel() for a in np.meshgrid(POLY_X, POLY_N))
    # tensor n (float64 and int64), broadcast (n a column, x a row) and number n
    y = getattr(S, name)(xpnn.tensor(X, dtype="float64"), xpnn.tensor(N, dtype="float64"))
    want = getattr(torch.special, name)(_t64(X), _t64(N)).numpy()
    assert _dtype(y) == "float64"
    bad = _close(to_np(y), want, rtol=1e-12, atol=_poly_tol(want, N))
    assert bad.size == 0, list(zip(X[bad], N[bad], to_np(y)[bad], want[bad]))
    y = getattr(S, name)(xpnn.tensor(POLY_X, dtype="float64"),
                         xpnn.tensor(np.array(POLY_N)[:, None]))
    assert y.shape == (len(POLY_N), len(POLY_X))
    np.testing.assert_array_equal(np.isnan(to_np(y)).ravel(), np.isnan(want))
    # NaN gives NaN from degree 1 on, 1 at degree 0 and 0 below (torch's n rules first)
    y = getattr(S, name)(xpnn.tensor([NAN] * 4, dtype="float64"), xpnn.tensor([-1, 0, 1, 9]))
    np.testing.assert_array_equal(to_np(y), [0.0, 1.0, NAN, NAN])
    for n in (0, 3, 7, 7.9, -2):
        y = getattr(S, name)(xpnn.tensor(POLY_X, dtype="float64"), n)
        want = getattr(torch.special, name)(_t64(POLY_X), n).numpy()
        bad = _close(to_np(y), want, rtol=1e-12,
                     atol=_poly_tol(want, np.full(len(POLY_X), int(n))))
        assert bad.size == 0, (n, np.array(POLY_X)[bad], to_np(y)[bad], want[bad])


@pytest.mark.parametrize("name", POLY)
def test_polynomials_dtypes_and_no_gradient(name, backend):
    x = xpnn.tensor([0.25, 0.5], requires_grad=True)
    y = getattr(S, name)(x, 3)
    assert _dtype(y) == "float32" and not y.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()
    assert _dtype(getattr(S, name)(xpnn.tensor([1, 2]), 2)) == "float32"
    assert _dtype(getattr(S, name)(xpnn.tensor([1.0]), xpnn.tensor([2]))) == "float32"
    assert _dtype(getattr(S, name)(xpnn.tensor([1.0]),
                                   xpnn.tensor([2.0], dtype="float64"))) == "float64"
    np.testing.assert_allclose(
        to_np(getattr(S, name)(0.5, xpnn.tensor([2, 4]))),
        getattr(torch.special, name)(0.5, torch.tensor([2, 4])).numpy(), rtol=1e-6)


# -- zeta ------------------------------------------------------------------------------------
ZETA_EDGES = [(-INF, 1.0), (-1.0, 1.0), (0.0, 1.0), (0.5, 1.0), (1.0, 1.0), (2.0, 0.0),
              (2.0, -1.0), (2.0, -1.5), (2.0, 1e-300), (2.0, INF), (3.0, -2.5), (3.0, -0.5),
              (INF, 1.0), (INF, 0.5), (INF, 2.0), (INF, -0.5), (INF, 0.0), (NAN, 1.0),
              (2.0, NAN), (2.5, -0.5), (1.0001, 3.0), (50.0, 0.3), (300.0, 1e3),
              (4.0, -7.5), (4.0, -20.5), (3.0, -1000.25), (2.0, -3.999)]


def test_zeta_matches_torch(backend):
    rng = np.random.default_rng(8)
    s = np.concatenate([np.exp(rng.uniform(math.log(1.0001), math.log(200), 2000)),
                        rng.integers(2, 12, 300).astype(float), [e[0] for e in ZETA_EDGES]])
    q = np.concatenate([np.exp(rng.uniform(-10, 12, 2000)), -rng.uniform(0, 50, 300),
                        [e[1] for e in ZETA_EDGES]])
    y = S.zeta(xpnn.tensor(s, dtype="float64"), xpnn.tensor(q, dtype="float64"))
    want = torch.special.zeta(_t64(s), _t64(q)).numpy()
    assert _dtype(y) == "float64"
    bad = _close(to_np(y), want, rtol=5e-14, atol=1e-300)   # (subnormals: fewer digits)
    assert bad.size == 0, list(zip(s[bad], q[bad], to_np(y)[bad], want[bad]))
    # numbers, integers, float32
    np.testing.assert_allclose(S.zeta(2.0, xpnn.tensor([1.0, 2.0])).numpy(),
                               torch.special.zeta(2.0, torch.tensor([1.0, 2.0])).numpy(),
                               rtol=4 * EPS32)
    z = S.zeta(xpnn.tensor([2, 3]), xpnn.tensor([1, 2]))
    assert _dtype(z) == "float32"
    np.testing.assert_allclose(to_np(z), [math.pi ** 2 / 6, 0.2020569031595943], rtol=4 * EPS32)


def test_zeta_has_no_gradient(host_backend):
    s = xpnn.tensor([2.0, 3.0], dtype="float64", requires_grad=True)
    with pytest.raises(NotImplementedError, match="derivative for 'zeta'"):
        S.zeta(s, 1.5).sum().backward()


def test_every_torch_special_name():
    names = [n for n in dir(torch.special) if not n.startswith("_")
             and callable(getattr(torch.special, n)) and n[0].islower()]
    assert [n for n in names if n not in S.__all__] == []


# -- the sweep of the existing functions -----------------------------------------------------
def test_polygamma_reflection_keeps_its_digits(backend):
    """polygamma(n >= 2) at negative x reflects through derivatives of cot(pi x); at the
    half-integers cot is 0, which cos(fl(pi/2)) / sin only approximates (float32: 8% off at
    -171.5 before the fix). Against mpmath, in float32 and float64."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 30
    x = [-171.5, -100.5, -50.3, -20.7, -7.75, -3.3, -1.001, -0.7, -0.5, -0.25, 0.3, 5.5]
    for n in (0, 1, 2, 3):
        for dtype, tol in (("float32", 4 * EPS32), ("float64", 4e-15)):
            xs = np.array(x, dtype=dtype)
            got = to_np(S.polygamma(n, xpnn.tensor(xs, dtype=dtype))).astype(np.float64)
            want = np.array([float(mp.polygamma(n, mp.mpf(float(v)))) for v in xs])
            assert (np.abs(got - want) <= tol * np.abs(want)).all(), (n, dtype, got, want)
