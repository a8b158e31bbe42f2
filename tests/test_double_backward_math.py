"""Double backward (create_graph=True) of the remaining elementwise math: tan, the inverse and
hyperbolic trigonometric functions, log2/log10/exp2, remainder/fmod/frac, erfc/erfinv,
logit, sinc, xlogy, copysign, fmax/fmin, lgamma/digamma/polygamma/mvlgamma and the
special functions entr, erfcx, log_ndtr, ndtr, ndtri and xlog1py. The create_graph
gradient and the second derivatives (through the inputs and through the incoming
gradient) against PyTorch 2.13 on every backend, gradgradcheck, and the values at the
points where the formulas need care."""
import math

import numpy as np
import pytest
from conftest import to_np
from test_double_backward import _inputs, _second

import xpnn

torch = pytest.importorskip("torch")

# float64 against torch float64: the same formulas evaluated in a different order, a few
# ulps of values ~1e2 at most
TOL = 1e-10
# torch's polygamma(1, x) (trigamma, the second derivative of lgamma and the first of
# digamma) is accurate to ~5e-10 relative only (measured against mpmath; xpnn's to 2e-16)
TOL_TRIGAMMA = 3e-9


def _u(lo, hi, shape):
    return lambda rng: rng.uniform(lo, hi, shape)


def _signed(lo, hi, shape):  # away from 0 (copysign, remainder divisors)
    return lambda rng: rng.choice([-1.0, 1.0], shape) * rng.uniform(lo, hi, shape)


def sp(m):
    return m.special


# name -> (function of the module (xpnn or torch) and the inputs, input makers)
CASES = {
    "tan": (lambda m, x: m.tan(x), [_u(-1.3, 1.3, (2, 3))]),
    "asin": (lambda m, x: m.asin(x), [_u(-0.9, 0.9, (2, 3))]),
    "acos": (lambda m, x: m.acos(x), [_u(-0.9, 0.9, (2, 3))]),
    "atan": (lambda m, x: m.atan(x), [_u(-3, 3, (2, 3))]),
    "sinh": (lambda m, x: m.sinh(x), [_u(-2, 2, (2, 3))]),
    "cosh": (lambda m, x: m.cosh(x), [_u(-2, 2, (2, 3))]),
    "asinh": (lambda m, x: m.asinh(x), [_u(-3, 3, (2, 3))]),
    "acosh": (lambda m, x: m.acosh(x), [_u(1.2, 4, (2, 3))]),
    "atanh": (lambda m, x: m.atanh(x), [_u(-0.9, 0.9, (2, 3))]),
    "log2": (lambda m, x: m.log2(x), [_u(0.2, 3, (2, 3))]),
    "log10": (lambda m, x: m.log10(x), [_u(0.2, 3, (2, 3))]),
    "exp2": (lambda m, x: m.exp2(x), [_u(-2, 2, (2, 3))]),
    "arctan_method": (lambda m, x: x.arctan() * x, [_u(-3, 3, (4,))]),
    # piecewise linear: multiplied by the inputs so the second derivative is not only 0
    "remainder": (lambda m, a, b: m.remainder(a, b) * a * b,
                  [_u(-5, 5, (2, 3)), _signed(0.5, 2, (3,))]),
    "fmod": (lambda m, a, b: m.fmod(a, b) * a * b,
             [_u(-5, 5, (2, 3)), _signed(0.5, 2, (2, 1))]),
    "frac": (lambda m, x: m.frac(x) * x, [_u(-4, 4, (2, 3))]),
    "fmax": (lambda m, a, b: m.fmax(a * a, b) * b, [_u(-2, 2, (2, 3)), _u(-2, 2, (3,))]),
    "fmin": (lambda m, a, b: m.fmin(a, b * b) * a, [_u(-2, 2, (2, 3)), _u(-2, 2, (2, 1))]),
    "copysign": (lambda m, a, b: m.copysign(a, b) * a * b,
                 [_signed(0.2, 2, (2, 3)), _signed(0.2, 2, (3,))]),
    "erfc": (lambda m, x: m.erfc(x), [_u(-2.5, 2.5, (2, 3))]),
    "erfinv": (lambda m, x: m.erfinv(x), [_u(-0.95, 0.95, (2, 3))]),
    "logit": (lambda m, x: m.logit(x), [_u(0.05, 0.95, (2, 3))]),
    "logit_eps": (lambda m, x: m.logit(x, eps=0.2), [_u(0.05, 0.95, (3, 4))]),
    "sinc": (lambda m, x: m.sinc(x), [_u(-2.5, 2.5, (2, 3))]),
    "xlogy": (lambda m, a, b: m.xlogy(a, b), [_u(-2, 2, (2, 3)), _u(0.2, 3, (3,))]),
    "xlog1py": (lambda m, a, b: sp(m).xlog1py(a, b), [_u(-2, 2, (2, 3)), _u(-0.8, 3, (2, 1))]),
    "lgamma": (lambda m, x: m.lgamma(x), [_u(-3.9, 5, (2, 3))]),
    "digamma": (lambda m, x: m.digamma(x), [_u(0.3, 5, (2, 3))]),
    "polygamma2": (lambda m, x: m.polygamma(2, x), [_u(0.3, 5, (2, 3))]),
    "mvlgamma": (lambda m, x: m.mvlgamma(x, 3), [_u(1.2, 5, (2, 3))]),
    "entr": (lambda m, x: sp(m).entr(x), [_u(0.1, 3, (2, 3))]),
    "erfcx": (lambda m, x: sp(m).erfcx(x), [_u(-2, 5, (2, 3))]),
    "log_ndtr": (lambda m, x: sp(m).log_ndtr(x), [_u(-5, 3, (2, 3))]),
    "ndtr": (lambda m, x: sp(m).ndtr(x), [_u(-3, 3, (2, 3))]),
    "ndtri": (lambda m, x: sp(m).ndtri(x), [_u(0.02, 0.98, (2, 3))]),
}
LOOSE = {"lgamma": TOL_TRIGAMMA, "digamma": TOL_TRIGAMMA, "mvlgamma": TOL_TRIGAMMA}


@pytest.mark.parametrize("name", list(CASES))
def test_second_derivatives_match_torch(name, backend):
    fn, makers = CASES[name]
    tol = LOOSE.get(name, TOL)
    host, xs, ts = _inputs(makers, 0, backend)
    rng = np.random.default_rng(1)
    y_shape = tuple(fn(torch, *ts).shape)
    v_host, w_host = rng.standard_normal(y_shape), [rng.standard_normal(h.shape) for h in host]
    v = xpnn.tensor(v_host, dtype=xpnn.float64, backend=backend, requires_grad=True)
    w = [xpnn.tensor(h, dtype=xpnn.float64, backend=backend) for h in w_host]
    gs, hs = _second(xpnn, fn, xs, v, w)
    tgs, ths = _second(torch, fn, ts, torch.tensor(v_host, requires_grad=True),
                       [torch.tensor(h) for h in w_host])
    for g, tg in zip(gs, tgs):
        assert g.requires_grad and to_np(g).dtype == np.float64 and g.shape == tuple(tg.shape)
        np.testing.assert_allclose(to_np(g), tg.detach().numpy(), rtol=tol, atol=tol)
    for i, (h, th) in enumerate(zip(hs, ths)):
        assert to_np(h).dtype == np.float64 and h.shape == tuple(th.shape)
        np.testing.assert_allclose(to_np(h), th.numpy(), rtol=tol, atol=tol, err_msg=f"{i}")


@pytest.mark.parametrize("name", list(CASES))
def test_gradgradcheck(name, host_backend):
    fn, makers = CASES[name]
    _, xs, _ = _inputs(makers, 2, host_backend)
    assert xpnn.autograd.gradgradcheck(lambda *a: fn(xpnn, *a), *xs)


@pytest.mark.parametrize("name", ["erfcx", "log_ndtr", "tan", "lgamma", "erfinv"])
def test_third_derivative_matches_torch(name, backend):
    """The recorded derivatives are differentiable again (erfcx' and log_ndtr' are ops of
    their own, with their derivatives)."""
    fn, makers = CASES[name]
    tol = LOOSE.get(name, TOL) * 10
    _, (x,), (t,) = _inputs(makers, 5, backend)
    res = []
    for m, a in ((xpnn, x), (torch, t)):
        g = m.autograd.grad(fn(m, a).sum(), a, create_graph=True)[0]
        h = m.autograd.grad(g.sum(), a, create_graph=True)[0]
        res.append(m.autograd.grad((h * h).sum(), a)[0])
    np.testing.assert_allclose(to_np(res[0]), res[1].numpy(), rtol=tol, atol=tol)


def test_sinc_second_derivative_at_zero(backend):
    """sinc''(0) = -pi^2/3 (PyTorch's double backward gives NaN there); the first derivative
    is 0 at 0 as PyTorch's."""
    x = xpnn.tensor([0.0, 1.0], dtype=xpnn.float64, backend=backend, requires_grad=True)
    (g,) = xpnn.autograd.grad(xpnn.sinc(x).sum(), x, create_graph=True)
    (h,) = xpnn.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(to_np(g), [0.0, -1.0], atol=TOL)
    np.testing.assert_allclose(to_np(h), [-math.pi ** 2 / 3, 2.0], rtol=TOL, atol=TOL)


def test_tail_derivatives_keep_their_digits(backend):
    """erfcx'' and log_ndtr'' far out, where 2x erfcx(x) - 2/sqrt(pi) and phi/Phi written
    with erf would cancel: erfcx''(x) ~ 2/sqrt(pi) (1/x^3) (1 - 9/(2 x^2)), log_ndtr''(x)
    -> -1 as x -> -inf."""
    x = xpnn.tensor([1e4], dtype=xpnn.float64, backend=backend, requires_grad=True)
    (g,) = xpnn.autograd.grad(xpnn.special.erfcx(x).sum(), x, create_graph=True)
    (h,) = xpnn.autograd.grad(g.sum(), x)
    z = 1e4
    np.testing.assert_allclose(to_np(h), [2 / math.sqrt(math.pi) / z ** 3 * (1 - 4.5 / z ** 2)],
                               rtol=1e-7)
    x = xpnn.tensor([-60.0], dtype=xpnn.float64, backend=backend, requires_grad=True)
    (g,) = xpnn.autograd.grad(xpnn.special.log_ndtr(x).sum(), x, create_graph=True)
    (h,) = xpnn.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(to_np(h), [-1.0], rtol=1e-3)


def test_copysign_other_gets_zero_gradient(backend):
    """No gradient flows to ``other`` at either order (PyTorch's rule)."""
    a = xpnn.tensor([1.5, -2.0], dtype=xpnn.float64, backend=backend, requires_grad=True)
    b = xpnn.tensor([-1.0, -3.0], dtype=xpnn.float64, backend=backend, requires_grad=True)
    ga, gb = xpnn.autograd.grad((xpnn.copysign(a, b) ** 2).sum(), (a, b), create_graph=True)
    np.testing.assert_allclose(to_np(gb), [0.0, 0.0])
    ha, hb = xpnn.autograd.grad(ga.sum(), (a, b), allow_unused=True, materialize_grads=True)
    np.testing.assert_allclose(to_np(ha), [2.0, 2.0], atol=TOL)
    np.testing.assert_allclose(to_np(hb), [0.0, 0.0])
