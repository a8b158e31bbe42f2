"""torch.special's ndtr, log_ndtr, ndtri, erfcx, entr, xlog1py, i0, i0e, i1, i1e and
multigammaln (and torch.i0 / torch.mvlgamma): values and gradients against torch 2.13 on
every backend, at ordinary points, 0, negatives, large arguments, +-inf and NaN; float64
gradient checks; float32 in -> float32 out; the far tails against mpmath where installed."""
import math

import numpy as np
import pytest
from conftest import needs_torch, to_np

import xpnn
import xpnn.special as S

torch = pytest.importorskip("torch")

EPS64 = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)
# float64 against torch's Cephes/own formulas: both ~1e-15, summed differently; 1e3 eps
# covers the O(1)-ulp differences amplified by exp of arguments up to ~700 (log_ndtr, ndtri)
TOL64 = 1e3 * EPS64
# float32 against torch in float32: a few ulps of each side through exp/log of O(10) values
TOL32 = 64 * EPS32
INF, NAN = math.inf, math.nan

# name: (points, (points where xpnn gives the limit and torch NaN, for value or gradient))
POINTS = {
    "ndtr": [-INF, -40., -3., -1., -0.5, 0., 0.3, 1., 5., 9., 40., INF, NAN],
    "log_ndtr": [-100., -40., -20., -5., -1.5, -1., -0.7, 0., 0.4, 1., 3., 8., 20.,
                 INF, NAN],
    "erfcx": [-30., -26., -10., -2., -1.5, -1., -0.2, 0., 0.4, 1., 1.2, 1.6, 3., 10.,
              -INF, NAN],
    "entr": [-INF, -2., -0.5, 0., 1e-300, 1e-5, 0.3, 1., 2.5, 100., 1e200, INF, NAN],
    "i0": [-100., -25., -20., -19.9, -3., -1., -1e-3, 0., 0.5, 2., 10., 19.99, 20., 21., 50.,
           300., 700., NAN],
    "i0e": [-100., -25., -20., -3., -1., 0., 1e-3, 0.5, 2., 10., 19.99, 20., 50., 700.,
            -INF, INF, NAN],
    "i1": [-100., -25., -20., -3., -1., -1e-3, 0., 0.5, 2., 10., 19.99, 20., 21., 50., 300.,
           700.],
    "i1e": [-100., -25., -20., -3., -1., 0., 1e-3, 0.5, 2., 10., 19.99, 20., 50., 700.,
            -INF, INF],
    "ndtri": [0., 1e-300, 1e-100, 1e-20, 1e-5, 0.01, 0.1, 0.2499, 0.25, 0.3, 0.5, 0.5 + 1e-9,
              0.7, 0.75, 0.7501, 0.9, 0.999, 1 - 1e-10, 1., -0.1, 1.1, NAN],
}
# where xpnn gives the mathematical limit and torch 2.13 NaN: (point, value, gradient)
LIMITS = {
    "log_ndtr": [(-INF, -INF, INF)],
    "erfcx": [(INF, 0.0, 0.0)],
    "i0": [(INF, INF, INF), (-INF, INF, -INF)],
    "i1": [(INF, INF, INF), (-INF, -INF, INF), (NAN, NAN, NAN)],
    "i1e": [(NAN, NAN, NAN)],
}
NAMES = list(POINTS)


def _xpnn_eval(name, values, backend, dtype):
    x = xpnn.tensor(values, dtype=dtype, backend=backend, requires_grad=True)
    y = getattr(S, name)(x)
    y.backward(xpnn.ones_like(y))  # not y.sum(): inf + -inf would warn
    return y, x.grad


def _torch_eval(name, values, dtype):
    t = torch.tensor(values, dtype=getattr(torch, dtype), requires_grad=True)
    y = getattr(torch.special, name)(t)
    (g,) = torch.autograd.grad(y.sum(), t)
    return y.detach().numpy(), g.numpy()


@needs_torch
@pytest.mark.parametrize("name", NAMES)
def test_matches_torch_float64(name, backend):
    """Values and derivatives equal torch's at every listed point, in float64."""
    y, g = _xpnn_eval(name, POINTS[name], backend, "float64")
    want_y, want_g = _torch_eval(name, POINTS[name], "float64")
    assert y.shape == (len(POINTS[name]),) and xpnn.backend.dtype_name(y.dtype) == "float64"
    np.testing.assert_allclose(to_np(y), want_y, rtol=TOL64, atol=0)
    np.testing.assert_allclose(to_np(g), want_g, rtol=TOL64, atol=0)


@pytest.mark.parametrize("name", [n for n in NAMES if n in LIMITS])
def test_limits_where_torch_gives_nan(name, backend):
    """At these points torch 2.13 returns NaN (its Cephes code's artifacts); xpnn the
    limits."""
    points, values, grads = zip(*LIMITS[name])
    y, g = _xpnn_eval(name, list(points), backend, "float64")
    np.testing.assert_array_equal(to_np(y), np.array(values))
    np.testing.assert_array_equal(to_np(g), np.array(grads))


@needs_torch
@pytest.mark.parametrize("name", NAMES)
def test_float32_in_float32_out(name, backend):
    """float32 stays float32 (no silent float64), and is as close to the float64 result
    (torch's, rounded) as float32 allows."""
    pts = [p for p in POINTS[name] if not math.isfinite(p) or abs(p) < 3e38]
    if name in ("i0", "i1"):
        pts = [p for p in pts if abs(p) < 85]  # I0, I1 pass float32's range from ~88
    y, g = _xpnn_eval(name, pts, backend, "float32")
    assert xpnn.backend.dtype_name(y.dtype) == "float32"
    assert xpnn.backend.dtype_name(g.dtype) == "float32"
    want_y, want_g = _torch_eval(name, [float(np.float32(p)) for p in pts], "float64")
    y, g = to_np(y).astype(np.float64), to_np(g).astype(np.float64)
    with np.errstate(over="ignore"):
        want_y, want_g = want_y.astype(np.float32), want_g.astype(np.float32)
    np.testing.assert_allclose(y, want_y, rtol=TOL32, atol=0)
    # derivatives: ndtri's e^(x^2/2) turns x's rounding (eps32 relative) into x^2 eps32;
    # i0e' = i1e - i0e and i1e' cancel terms of the function's own size at large x
    x = np.abs(np.array(pts, dtype=np.float64))
    rtol = TOL32 * (1 + np.where(np.isfinite(x), x, 0) ** 2 if name == "ndtri" else 1)
    atol = TOL32 * np.abs(np.nan_to_num(want_y)) if name in ("i0e", "i1e") else 0
    with np.errstate(invalid="ignore"):
        bad = ~((g == want_g) | (np.isnan(g) & np.isnan(want_g))
                | (np.abs(g - want_g) <= rtol * np.abs(want_g) + atol))
    assert not bad.any(), (np.array(pts)[bad], g[bad], want_g[bad])


GRADCHECK_POINTS = {
    "ndtr": [-3.0, -0.4, 0.0, 0.7, 2.5],
    "log_ndtr": [-30.0, -3.0, -1.0001, -0.999, 0.0, 0.7, 2.5],
    "erfcx": [-3.0, -0.4, 0.0, 0.7, 1.49, 1.51, 4.0, 50.0],
    "entr": [0.05, 0.4, 1.0, 3.0],
    "i0": [-25.0, -3.0, -0.4, 0.0, 0.7, 19.9, 20.1, 40.0],
    "i0e": [-25.0, -3.0, -0.4, 0.7, 19.9, 20.1, 40.0],
    "i1": [-25.0, -3.0, -0.4, 0.0, 0.7, 19.9, 20.1, 40.0],
    "i1e": [-25.0, -3.0, -0.4, 0.7, 19.9, 20.1, 40.0],
    "ndtri": [1e-20, 0.01, 0.2, 0.26, 0.5, 0.74, 0.8, 0.99],
}


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_float64(name, host_backend):
    # one point at a time: summed with I0(40) ~ 1e16, the others' differences would drown
    for v in GRADCHECK_POINTS[name]:
        x = xpnn.tensor([v], dtype="float64", requires_grad=True)
        assert xpnn.gradcheck(getattr(S, name), x)


# -- the far tails, against mpmath (40 digits) ----------------------------------------------
def test_tails_against_mpmath():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    f64 = np.float64

    def rel(got, want):
        return abs(float(got) - float(want)) / abs(float(want))

    xs = [-40.0, -100.0, -1e4, -1.5, -0.9]
    got = S.log_ndtr(xpnn.tensor(xs, dtype="float64")).numpy()
    for x, v in zip(xs, got):
        assert rel(v, mp.log(mp.ncdf(x))) < 100 * EPS64
    assert abs(got[0] - (-804.6084420137538)) < 1e-9   # finite, about -804.6
    xs = [1.6, 30.0, 1e5, 1e150]
    got = S.erfcx(xpnn.tensor(xs, dtype="float64")).numpy()
    for x, v in zip(xs[:-1], got):
        assert rel(v, mp.exp(mp.mpf(x) ** 2) * mp.erfc(x)) < 100 * EPS64
    assert rel(got[-1], 1 / (1e150 * math.sqrt(math.pi))) < 100 * EPS64   # no overflow
    ps = [1e-300, 1e-50, 1e-8, 0.3]
    got = S.ndtri(xpnn.tensor(ps, dtype="float64")).numpy()
    for p, v in zip(ps, got):
        assert rel(mp.ncdf(f64(v)), p) < 1e3 * EPS64 * max(1.0, abs(float(v))) ** 2
    got = S.i0e(xpnn.tensor([19.999, 20.0, 1e4], dtype="float64")).numpy()
    for x, v in zip([19.999, 20.0, 1e4], got):
        assert rel(v, mp.besseli(0, x) * mp.exp(-x)) < 10 * EPS64
    # i0 where e^x overflows float64 but I0 does not (torch: inf)
    v = S.i0(xpnn.tensor([710.0], dtype="float64")).numpy()[0]
    assert rel(v, mp.besseli(0, 710)) < 1e3 * EPS64


# (function, x, value or None, derivative): where torch 2.13 loses digits (ndtr through
# 1 + erf; the derivatives of erfcx, log_ndtr, i0e, i1e through cancelling formulas)
BETTER_THAN_TORCH = [
    ("ndtr", -10.0, "mp.ncdf(x)", "mp.npdf(x)"),
    ("ndtr", -38.0, "mp.ncdf(x)", None),   # a subnormal float64; torch: 0
    ("log_ndtr", -1e5, None, "mp.npdf(x) / mp.ncdf(x)"),
    ("erfcx", 30.0, None, "2 * x * mp.exp(x * x) * mp.erfc(x) - 2 / mp.sqrt(mp.pi)"),
    ("erfcx", 1e5, None, "2 * x * mp.exp(x * x) * mp.erfc(x) - 2 / mp.sqrt(mp.pi)"),
    ("i0e", 1e6, None, "(mp.besseli(1, x) - mp.besseli(0, x)) * mp.exp(-x)"),
    ("i0e", -1e10, "mp.besseli(0, x) * mp.exp(x)",
     "(mp.besseli(0, x) + mp.besseli(1, x)) * mp.exp(x)"),
    ("i1e", -1e10, "mp.besseli(1, x) * mp.exp(x)",
     "(mp.besseli(1, x) + mp.besseli(0, x) - mp.besseli(1, x) / x) * mp.exp(x)"),
    ("i1e", 1e6, None, "(mp.besseli(0, x) - mp.besseli(1, x) * (1 + 1 / x)) * mp.exp(-x)"),
]


@pytest.mark.parametrize("name,x,value,deriv", BETTER_THAN_TORCH)
def test_where_torch_loses_digits(name, x, value, deriv, backend):
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 60
    y, g = _xpnn_eval(name, [x], backend, "float64")
    xm = mp.mpf(x)
    for got, expr in ((to_np(y)[0], value), (to_np(g)[0], deriv)):
        if expr is not None:
            want = float(eval(expr, {"mp": mp, "x": xm}))
            # subnormal results keep fewer digits: an absolute 1e-320 besides
            assert abs(got - want) <= 1e3 * EPS64 * abs(want) + 1e-320, (got, want)


# -- xlog1py ---------------------------------------------------------------------------------
@needs_torch
def test_xlog1py_matches_torch(backend):
    a = [0.0, 0.0, 0.0, 1.0, -1.0, -2.0, NAN, 2.0, 3.0, 0.5, 1e-300]
    b = [-1.0, -2.0, NAN, 0.5, -1.0, NAN, 1.0, INF, -0.5, 1e-20, 100.0]
    x = xpnn.tensor(a, dtype="float64", requires_grad=True)
    y = xpnn.tensor(b, dtype="float64", requires_grad=True)
    out = S.xlog1py(x, y)
    out.sum().backward()
    ta = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    tout = torch.special.xlog1py(ta, tb)
    ga, gb = torch.autograd.grad(tout.sum(), (ta, tb))
    np.testing.assert_allclose(to_np(out), tout.detach().numpy(), rtol=4 * EPS64, atol=0)
    np.testing.assert_allclose(to_np(x.grad), ga.numpy(), rtol=4 * EPS64, atol=0)
    np.testing.assert_allclose(to_np(y.grad), gb.numpy(), rtol=4 * EPS64, atol=0)


@needs_torch
def test_xlog1py_broadcasts_and_takes_numbers(backend, rng):
    a, b = rng.standard_normal((3, 1)), rng.uniform(-0.9, 2.0, (4,))
    x = xpnn.tensor(a, dtype="float32", requires_grad=True)
    y = xpnn.tensor(b, dtype="float32", requires_grad=True)
    out = S.xlog1py(x, y)
    out.sum().backward()
    assert out.shape == (3, 4) and xpnn.backend.dtype_name(out.dtype) == "float32"
    ta = torch.tensor(a, dtype=torch.float32, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float32, requires_grad=True)
    torch.special.xlog1py(ta, tb).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), ta.grad.numpy(), rtol=TOL32, atol=TOL32)
    np.testing.assert_allclose(to_np(y.grad), tb.grad.numpy(), rtol=TOL32, atol=TOL32)
    for got, want in ((S.xlog1py(2, y), torch.special.xlog1py(2, tb)),
                      (S.xlog1py(x, 3), torch.special.xlog1py(ta, 3))):
        assert xpnn.backend.dtype_name(got.dtype) == "float32"
        np.testing.assert_allclose(to_np(got), want.detach().numpy(), rtol=TOL32, atol=0)
    ints = S.xlog1py(xpnn.tensor([1, 2]), xpnn.tensor([1, 2]))
    assert xpnn.backend.dtype_name(ints.dtype) == "float32"


def test_xlog1py_gradcheck(host_backend, rng):
    x = xpnn.tensor(rng.standard_normal((3, 1)), dtype="float64", requires_grad=True)
    y = xpnn.tensor(rng.uniform(-0.9, 2.0, (4,)), dtype="float64", requires_grad=True)
    assert xpnn.gradcheck(S.xlog1py, x, y)


# -- multigammaln / mvlgamma -----------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("p", [1, 2, 5])
def test_multigammaln_matches_torch(p, backend):
    a = [(p - 1) / 2 + d for d in (1e-3, 0.3, 1.0, 2.5, 10.0, 150.0)] + [INF, NAN]
    x = xpnn.tensor(a, dtype="float64", requires_grad=True)
    y = S.multigammaln(x, p)
    y.sum().backward()
    t = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    ty = torch.special.multigammaln(t, p)
    (tg,) = torch.autograd.grad(ty.sum(), t)
    np.testing.assert_allclose(to_np(y), ty.detach().numpy(), rtol=TOL64, atol=0)
    np.testing.assert_allclose(to_np(x.grad), tg.numpy(), rtol=TOL64, atol=0)
    x32 = xpnn.tensor(a, dtype="float32")
    assert xpnn.backend.dtype_name(xpnn.mvlgamma(x32, p).dtype) == "float32"
    np.testing.assert_allclose(to_np(xpnn.mvlgamma(x32, p)),
                               torch.mvlgamma(torch.tensor(a, dtype=torch.float32), p).numpy(),
                               rtol=TOL32, atol=TOL32)


def test_multigammaln_gradcheck_and_errors(host_backend):
    x = xpnn.tensor([1.7, 2.0, 4.5, 30.0], dtype="float64", requires_grad=True)
    assert xpnn.gradcheck(lambda t: S.multigammaln(t, 3), x)
    with pytest.raises(RuntimeError, match="greater than or equal to 1"):
        xpnn.mvlgamma(x, 0)
    with pytest.raises(TypeError, match="p must be an int"):
        xpnn.mvlgamma(x, 2.0)
    assert xpnn.backend.dtype_name(xpnn.mvlgamma(xpnn.tensor([3, 4]), 2).dtype) == "float32"


def test_top_level_names():
    """torch.i0 and torch.mvlgamma are the special functions; every new name is in
    xpnn.special.__all__."""
    assert xpnn.i0 is S.i0
    assert xpnn.mvlgamma(xpnn.tensor([3.0]), 2).item() == pytest.approx(
        S.multigammaln(xpnn.tensor([3.0]), 2).item())
    for n in ("ndtr", "log_ndtr", "ndtri", "xlog1py", "entr", "i0", "i0e", "i1", "i1e",
              "multigammaln", "erfcx"):
        assert n in S.__all__ and callable(getattr(S, n))
        assert hasattr(torch.special, n)


def test_tensor_methods_i0_and_mvlgamma_as_torch():
    """``x.i0()``, ``x.mvlgamma(p)`` and their in-place forms, as torch's Tensor methods."""
    values = [1.5, 2.5, 4.0]
    x, t = xpnn.tensor(values, dtype=xpnn.float64), torch.tensor(values, dtype=torch.float64)
    np.testing.assert_allclose(x.i0().numpy(), t.i0().numpy(), rtol=1e-13)
    np.testing.assert_allclose(x.mvlgamma(2).numpy(), t.mvlgamma(2).numpy(), rtol=1e-13)
    y, z = x.clone(), t.clone()
    assert y.i0_() is y and y.mvlgamma_(2) is y
    np.testing.assert_allclose(y.numpy(), z.i0_().mvlgamma_(2).numpy(), rtol=1e-12)
