"""The second set of xpnn.distributions (counts, heavy tails, transformed, relaxed,
mixtures) against torch.distributions 2.13 on every backend: values and parameter
gradients in float64 and float32, sample shapes, dtypes and moments, reparameterized
gradients, KL divergences, and a tanh-squashed Normal (SAC's policy) log_prob."""
import contextlib

import numpy as np
import pytest
from conftest import to_np

import xpnn
import xpnn.distributions as D
import xpnn.functional as F

torch = pytest.importorskip("torch")
TD = torch.distributions

# float64: the same formulas evaluated in other orders (lgamma/digamma within 5e-14 of
# torch's, see test_distributions.py); float32: a few hundred float32 eps
TOL = {"float64": 1e4 * float(np.finfo(np.float64).eps),
       "float32": 2e3 * float(np.finfo(np.float32).eps)}
GRAD_TOL = {"float64": 1e-9, "float32": 1e3 * float(np.finfo(np.float32).eps) * 10}


class Maker:
    """Makes the parameters of one case in one library (xpnn or torch), remembering those
    that require a gradient, so one builder defines both distributions."""

    def __init__(self, lib, dtype):
        self.lib, self.dtype, self.params = lib, dtype, []

    def __call__(self, v, grad=True):
        if self.lib == "torch":
            t = torch.tensor(v, dtype=getattr(torch, self.dtype), requires_grad=grad)
        else:
            t = xpnn.tensor(v, dtype=self.dtype, requires_grad=grad)
        if grad:
            self.params.append(t)
        return t


def _tanh_normal(d, T):
    return d.TransformedDistribution(d.Normal(T([0.3, -1.0, 2.0]), T([0.5, 1.2, 0.8])),
                                     [d.transforms.TanhTransform(cache_size=1)])


def _affine_sigmoid(d, T):
    t = d.transforms
    return d.TransformedDistribution(d.Normal(T([0.3, -1.0, 2.0]), T([0.5, 1.2, 0.8])),
                                     [t.AffineTransform(T([1.0, -2.0, 0.5]), T([2.0, 0.5, -1.5])),
                                      t.SigmoidTransform()])


def _compose(d, T):
    t = d.transforms
    chain = t.ComposeTransform([t.ExpTransform(), t.PowerTransform(T([0.5, 2.0, 3.0])),
                                t.AffineTransform(1.0, 2.0)])
    return d.TransformedDistribution(d.Normal(T([0.3, -1.0, 0.2]), T([0.5, 1.2, 0.8])), chain)


def _mixture(d, T):
    mix = d.Categorical(logits=T([[0.2, -1.0, 0.5], [1.0, 0.0, -0.5]]))
    comp = d.Normal(T([[-1.0, 0.5, 2.0], [0.0, 1.0, -2.0]]), T([[0.5, 1.0, 2.0],
                                                               [1.5, 0.3, 0.7]]))
    return d.MixtureSameFamily(mix, comp)


def _mixture_2d(d, T):
    mix = d.Categorical(probs=T([0.3, 0.7]))
    comp = d.Independent(d.Normal(T([[0.0, 1.0], [2.0, -1.0]]), T([[1.0, 0.5], [0.3, 2.0]])), 1)
    return d.MixtureSameFamily(mix, comp)


A3, B3 = [0.5, 2.0, 7.0], [1.5, 0.7, 3.0]
# name -> (builder(lib, T), a value in the support)
CASES = {
    "Poisson": (lambda d, T: d.Poisson(T([0.5, 3.0, 12.0])), [0.0, 2.0, 15.0]),
    "Binomial:probs": (lambda d, T: d.Binomial(10, probs=T([0.2, 0.6, 0.9])), [1.0, 5.0, 10.0]),
    "Binomial:logits": (lambda d, T: d.Binomial(T([5.0, 10.0, 20.0], grad=False),
                                                logits=T([0.0, -2.0, 1.5])), [1.0, 0.0, 18.0]),
    "Geometric:probs": (lambda d, T: d.Geometric(probs=T([0.2, 0.5, 0.9])), [0.0, 3.0, 1.0]),
    "Geometric:logits": (lambda d, T: d.Geometric(logits=T([-1.0, 0.3, 2.0])), [2.0, 0.0, 5.0]),
    "NegativeBinomial": (lambda d, T: d.NegativeBinomial(T([2.0, 5.0, 0.5]),
                                                         probs=T([0.3, 0.6, 0.1])),
                         [0.0, 4.0, 2.0]),
    "NegativeBinomial:logits": (lambda d, T: d.NegativeBinomial(T([3.0, 1.5]),
                                                                logits=T([0.2, -1.0])),
                                [7.0, 1.0]),
    "Multinomial:probs": (lambda d, T: d.Multinomial(6, probs=T([[0.2, 0.3, 0.5],
                                                                 [0.1, 0.1, 0.8]])),
                          [[1.0, 2.0, 3.0], [0.0, 0.0, 6.0]]),
    "Multinomial:logits": (lambda d, T: d.Multinomial(4, logits=T([1.0, -0.5, 0.3])),
                           [[1.0, 0.0, 3.0], [2.0, 2.0, 0.0]]),
    "LogNormal": (lambda d, T: d.LogNormal(T([0.5, -1.0, 2.0]), T(B3)), [0.1, 2.0, 30.0]),
    "HalfNormal": (lambda d, T: d.HalfNormal(T(B3)), [0.1, 2.0, 0.0]),
    "HalfCauchy": (lambda d, T: d.HalfCauchy(T(B3)), [0.1, 2.0, 0.0]),
    "Cauchy": (lambda d, T: d.Cauchy(T([0.5, -1.0, 2.0]), T(B3)), [0.1, 0.2, -3.0]),
    "StudentT": (lambda d, T: d.StudentT(T([0.8, 1.5, 5.0]), T([0.5, -1.0, 2.0]), T(B3)),
                 [0.1, 0.2, -3.0]),
    "Chi2": (lambda d, T: d.Chi2(T(A3)), [0.3, 1.2, 4.0]),
    "Gumbel": (lambda d, T: d.Gumbel(T([0.5, -1.0, 2.0]), T(B3)), [0.1, 0.2, -3.0]),
    "Weibull": (lambda d, T: d.Weibull(T(B3), T([0.5, 1.5, 3.0])), [0.1, 2.0, 3.5]),
    "Pareto": (lambda d, T: d.Pareto(T(B3), T([0.5, 1.5, 3.0])), [1.6, 0.7, 4.0]),
    "RelaxedBernoulli": (lambda d, T: d.RelaxedBernoulli(T(0.7), probs=T([0.2, 0.5, 0.9])),
                         [0.1, 0.5, 0.97]),
    "RelaxedBernoulli:logits": (lambda d, T: d.RelaxedBernoulli(T([0.5, 2.0]),
                                                                logits=T([0.3, -1.0])),
                                [0.3, 0.6]),
    "RelaxedOneHotCategorical": (lambda d, T: d.RelaxedOneHotCategorical(
        T(0.6), logits=T([[1.0, 2.0, 0.5], [0.0, -1.0, 0.3]])),
        [[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]]),
    "TanhNormal": (_tanh_normal, [0.3, -0.9, 0.99]),
    "AffineSigmoidNormal": (_affine_sigmoid, [0.3, 0.9, 0.01]),
    "ComposeExpPowerAffine": (_compose, [1.5, 3.0, 1.2]),
    "MixtureSameFamily": (_mixture, [0.3, -1.2]),
    "MixtureSameFamily:Independent": (_mixture_2d, [[0.1, 0.5], [2.0, -1.0]]),
}
PROPS = ("mean", "mode", "variance", "stddev")
METHODS = ("log_prob", "entropy", "cdf", "icdf")
INTEGER_VALUED = ("Poisson", "Binomial", "Geometric", "NegativeBinomial", "Multinomial")


def _build(case, dtype):
    build, value = CASES[case]
    X, T = Maker("xpnn", dtype), Maker("torch", dtype)
    d, td = build(D, X), build(TD, T)
    xv = xpnn.tensor(value, dtype=dtype)
    tv = torch.tensor(value, dtype=getattr(torch, dtype))
    return d, td, X.params, T.params, xv, tv


def _torch_outputs(td, tv):
    """name -> (torch result, how to call it on an xpnn distribution), for everything torch
    has for this distribution."""
    out = {}
    for name in PROPS:
        with contextlib.suppress(NotImplementedError):
            out[name] = (getattr(td, name), lambda d, n=name: getattr(d, n))
    probs = torch.tensor([0.1, 0.5, 0.8], dtype=tv.dtype)[:tv.shape[-1]]
    for name, arg in (("log_prob", tv), ("entropy", None), ("cdf", tv), ("icdf", probs)):
        try:
            r = getattr(td, name)() if arg is None else getattr(td, name)(arg)
        except NotImplementedError:
            continue
        out[name] = (r, (lambda d, n=name: getattr(d, n)()) if arg is None else
                     (lambda d, n=name, a=arg: getattr(d, n)(
                         xpnn.tensor(a.numpy(), dtype=a.numpy().dtype.name))))
    return out


def _close(x, t, what, tol):
    t = t.detach().numpy()
    assert tuple(x.shape) == t.shape, f"{what}: shape {tuple(x.shape)} vs {t.shape}"
    np.testing.assert_allclose(to_np(x), t, rtol=tol, atol=tol, err_msg=what)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", list(CASES))
def test_values_and_gradients_match_torch(case, dtype, backend):
    """Every property and method torch has (mean, mode, variance, stddev, log_prob,
    entropy, cdf, icdf) equals torch's, with its shape and dtype, and so do the gradients
    of their finite entries' sum with respect to every parameter; a method torch lacks
    raises NotImplementedError here too."""
    d, td, xs, ts, xv, tv = _build(case, dtype)
    assert tuple(d.batch_shape) == tuple(td.batch_shape), case
    assert tuple(d.event_shape) == tuple(td.event_shape), case
    assert d.has_rsample == td.has_rsample, case
    outs = _torch_outputs(td, tv)
    assert "log_prob" in outs
    total, ttotal = 0.0, 0.0
    if case == "Chi2":  # torch's Gamma.cdf uses igamma, which xpnn lacks
        del outs["cdf"]
    for name, (ref, call) in outs.items():
        got = call(d)
        assert xpnn.backend.dtype_name(got.dtype) == str(ref.dtype).removeprefix("torch."), \
            f"{case}: {name} dtype"
        # torch takes lgamma(total_count + 1) of an int64 tensor: float32, 8e-8 off
        tol = 1e-7 if case.startswith("Multinomial") and name == "entropy" else TOL[dtype]
        _close(got, ref, f"{case}: {name}", max(tol, TOL[dtype]))
        if ref.requires_grad:
            finite = torch.isfinite(ref)
            total = total + F.where(xpnn.tensor(finite.numpy()), got, 0.0).sum()
            ttotal = ttotal + torch.where(finite, ref, 0.0).sum()
    for name in ("entropy", "cdf", "icdf"):
        if name not in outs and not (case == "Chi2" and name == "cdf"):
            with pytest.raises(NotImplementedError):
                getattr(d, name)() if name == "entropy" else getattr(d, name)(xv)
    ttotal.backward()
    total.backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        if t.grad is None:
            continue
        assert x.grad is not None, f"{case}: no gradient for parameter {i}"
        # where torch's is NaN (Pareto's scale at alpha <= 1: its clamp passes 0 * inf
        # on) xpnn's may be finite; everywhere else they agree
        got, want = to_np(x.grad), t.grad.numpy()
        assert got.shape == want.shape
        ok = ~np.isnan(want)
        np.testing.assert_allclose(got[ok], want[ok], rtol=GRAD_TOL[dtype],
                                   atol=GRAD_TOL[dtype], err_msg=f"{case}: gradient {i}")


@pytest.mark.parametrize("case", list(CASES))
def test_sample_shapes_dtypes_and_expand(case, backend):
    """sample(shape) is sample_shape + batch_shape + event_shape in torch's dtype, inside
    the support (finite log_prob, whole numbers for counts); float32 stays float32;
    expand gives the new batch shape."""
    d, td, _, _, _, _ = _build(case, "float32")
    s, ts = d.sample((4, 2)), td.sample((4, 2))
    assert tuple(s.shape) == tuple(ts.shape), case
    assert xpnn.backend.dtype_name(s.dtype) == str(ts.dtype).removeprefix("torch."), case
    lp = d.log_prob(s)
    assert tuple(lp.shape) == tuple(td.log_prob(ts).shape)
    assert xpnn.backend.dtype_name(lp.dtype) == "float32"
    assert np.isfinite(to_np(lp)).all(), case
    if case.split(":")[0] in INTEGER_VALUED:
        assert (to_np(s) == np.round(to_np(s))).all() and (to_np(s) >= 0).all()
    e = d.expand((5,) + tuple(d.batch_shape))
    assert tuple(e.batch_shape) == (5,) + tuple(d.batch_shape)
    assert tuple(e.sample().shape) == (5,) + tuple(d.batch_shape) + tuple(d.event_shape)
    np.testing.assert_allclose(to_np(e.log_prob(s[0, 0]))[0], to_np(d.log_prob(s[0, 0])),
                               rtol=1e-6)


# the moment checks: the cases above with finite fourth moments, and counts at large means
MOMENTS = {
    "Poisson": lambda d, T: d.Poisson(T([0.5, 3.0, 12.0, 250.0, 0.0])),
    "Binomial": lambda d, T: d.Binomial(T([5.0, 40.0, 1000.0, 1000.0, 0.0, 7.0]),
                                        probs=T([0.3, 0.5, 0.9, 0.02, 0.5, 1.0])),
    "Geometric": lambda d, T: d.Geometric(probs=T([0.2, 0.5, 0.9])),
    "NegativeBinomial": lambda d, T: d.NegativeBinomial(T([2.0, 5.0, 20.0]),
                                                        probs=T([0.3, 0.6, 0.1])),
    "Multinomial": lambda d, T: d.Multinomial(6, probs=T([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])),
    "LogNormal": lambda d, T: d.LogNormal(T([0.5, -1.0]), T([0.3, 0.5])),
    "HalfNormal": lambda d, T: d.HalfNormal(T(B3)),
    "StudentT": lambda d, T: d.StudentT(T([5.0, 9.0]), T([0.5, -1.0]), T([1.5, 0.7])),
    "Chi2": lambda d, T: d.Chi2(T(A3)),
    "Gumbel": lambda d, T: d.Gumbel(T([0.5, -1.0, 2.0]), T(B3)),
    "Weibull": lambda d, T: d.Weibull(T(B3), T([0.8, 1.5, 3.0])),
    "Pareto": lambda d, T: d.Pareto(T(B3), T([5.0, 6.0, 9.0])),
    "MixtureSameFamily": _mixture,
    "MixtureSameFamily:Independent": _mixture_2d,
}


@pytest.mark.parametrize("case", list(MOMENTS))
def test_sample_moments(case, backend):
    """The mean and variance of 20,000 seeded float64 draws are within 5 standard errors
    of the distribution's mean and variance (the variance's error from the fourth
    central moment)."""
    d = MOMENTS[case](D, Maker("xpnn", "float64"))
    n = 20000
    xpnn.manual_seed(3)
    s = to_np(d.sample((n,)))
    mean, var = to_np(d.mean), to_np(d.variance)
    np.testing.assert_array_less(np.abs(s.mean(0) - mean), 5 * np.sqrt(var / n) + 1e-12)
    fourth = np.mean((s - mean) ** 4, 0)
    np.testing.assert_array_less(np.abs(s.var(0) - var), 5 * np.sqrt(fourth / n) + 1e-12)


@pytest.mark.parametrize("case", ["Cauchy", "HalfCauchy", "RelaxedBernoulli",
                                  "RelaxedOneHotCategorical", "TanhNormal"])
def test_sample_quantiles(case, backend):
    """Distributions without usable moments: the fraction of 20,000 draws below a value
    is the cdf there (torch's where ours has none) within 5 binomial standard errors."""
    d, td, _, _, xv, tv = _build(case, "float64")
    n = 20000
    xpnn.manual_seed(5)
    s = to_np(d.sample((n,)))
    tsample = td.sample((200000,)).numpy()  # the reference: torch's own draws
    below = (s <= to_np(xv)).mean(0)
    want = (tsample <= tv.numpy()).mean(0)
    np.testing.assert_array_less(np.abs(below - want),
                                 5 * np.sqrt(want * (1 - want) / n) + 5e-3)


RSAMPLE = ["LogNormal", "HalfNormal", "HalfCauchy", "Cauchy", "Gumbel", "Weibull", "Pareto",
           "RelaxedBernoulli", "RelaxedOneHotCategorical", "TanhNormal",
           "AffineSigmoidNormal", "ComposeExpPowerAffine"]


@pytest.mark.parametrize("case", RSAMPLE)
def test_rsample_gradients_flow(case, host_backend):
    """rsample, with the generator reseeded before each call, is a differentiable function
    of the parameters: the float64 finite-difference gradient check passes."""
    build, _ = CASES[case]
    X = Maker("xpnn", "float64")
    build(D, X)
    xs = X.params

    def draw(*ts):
        it = iter(ts)
        xpnn.manual_seed(7)
        return build(D, lambda v, grad=True: next(it) if grad else
                     xpnn.tensor(v, dtype="float64")).rsample((3,))
    assert xpnn.gradcheck(draw, *xs)


def test_student_t_rsample_flows_to_loc_and_scale_and_refuses_df():
    df = xpnn.tensor([5.0, 8.0], dtype="float64")
    loc = xpnn.tensor([0.5, -1.0], dtype="float64", requires_grad=True)
    scale = xpnn.tensor([1.5, 0.3], dtype="float64", requires_grad=True)
    s = D.StudentT(df, loc, scale).rsample((4,))
    s.sum().backward()
    np.testing.assert_allclose(to_np(loc.grad), [4.0, 4.0])
    z = (to_np(s) - [0.5, -1.0]) / [1.5, 0.3]
    np.testing.assert_allclose(to_np(scale.grad), z.sum(0), rtol=1e-12)
    df = xpnn.tensor([5.0], requires_grad=True)  # round 27: Gamma draws are reparameterized
    D.StudentT(df, 0.0, 1.0).rsample().sum().backward()
    assert df.grad is not None


def test_sac_tanh_normal_log_prob_equals_torch(backend):
    """SAC's policy: a = tanh(u), u ~ N(mu, sigma); log pi(a) with the cached pre-tanh
    sample equals torch's on the same u (also where tanh rounds to +-1 in float32), and
    its gradients with respect to mu and sigma do too."""
    mu = [[0.3, -1.0], [12.0, 0.0]]
    sigma = [[0.5, 1.2], [0.8, 2.0]]
    u = np.array([[0.1, -2.0], [11.5, 9.5]], dtype=np.float32)  # tanh(9.5), tanh(11.5) = 1
    xm, xs = xpnn.tensor(mu, requires_grad=True), xpnn.tensor(sigma, requires_grad=True)
    tm = torch.tensor(mu, requires_grad=True)
    tsg = torch.tensor(sigma, requires_grad=True)
    d = D.TransformedDistribution(D.Normal(xm, xs), [D.transforms.TanhTransform(cache_size=1)])
    td = TD.TransformedDistribution(TD.Normal(tm, tsg), [TD.TanhTransform(cache_size=1)])
    a = d.transforms[0](xpnn.tensor(u))
    ta = td.transforms[0](torch.tensor(u))
    assert to_np(a)[1, 0] == 1.0  # rounded: only the cache keeps atanh finite
    lp, tlp = d.log_prob(a), td.log_prob(ta)
    _close(lp, tlp, "SAC log_prob", 1e-5)
    lp.sum().backward()
    tlp.sum().backward()
    _close(xm.grad, tm.grad, "d/dmu", 1e-5)
    _close(xs.grad, tsg.grad, "d/dsigma", 1e-5)
    # the usual sum over action dims (Independent over the last dim) as SAC writes it
    di = D.Independent(D.Normal(xm.detach(), xs.detach()), 1)
    sq = D.TransformedDistribution(di, D.transforms.TanhTransform(cache_size=1))
    tsq = TD.TransformedDistribution(TD.Independent(TD.Normal(tm.detach(), tsg.detach()), 1),
                                     TD.TanhTransform(cache_size=1))
    assert tuple(sq.event_shape) == tuple(tsq.event_shape) == (2,)
    a = sq.transforms[0](xpnn.tensor(u))
    _close(sq.log_prob(a), tsq.log_prob(tsq.transforms[0](torch.tensor(u))), "SAC sum", 1e-5)


@pytest.mark.parametrize("name,args", [
    ("ExpTransform", ()), ("SigmoidTransform", ()), ("TanhTransform", ()),
    ("AffineTransform", (0.5, -2.0)), ("PowerTransform", (1.5,)), ("AbsTransform", ())])
def test_transforms_match_torch(name, args, backend):
    """Forward, inverse, log_abs_det_jacobian, sign and inv.inv of each transform."""
    x = np.array([0.2, 1.3, 2.5])
    t, tt = getattr(D.transforms, name)(*args), getattr(TD.transforms, name)(*args)
    xx, tx = xpnn.tensor(x, dtype="float64"), torch.tensor(x)
    y, ty = t(xx), tt(tx)
    _close(y, ty, f"{name} forward", 1e-12)
    _close(t.inv(y), tt.inv(ty), f"{name} inverse", 1e-12)
    if name != "AbsTransform":
        _close(t.log_abs_det_jacobian(xx, y), tt.log_abs_det_jacobian(tx, ty), name, 1e-12)
        _close(t.inv.log_abs_det_jacobian(y, xx), tt.inv.log_abs_det_jacobian(ty, tx),
               f"{name}.inv", 1e-12)
        sign = t.sign
        assert (to_np(sign) if isinstance(sign, xpnn.Tensor) else sign) == tt.sign
    assert t.inv.inv is t and t.inv == getattr(D.transforms, name)(*args).inv
    assert t.domain.event_dim == tt.domain.event_dim
    assert t.codomain.event_dim == tt.codomain.event_dim
    sm = D.transforms.SoftmaxTransform()
    v = np.array([[0.2, 1.3, -2.5]])
    _close(sm(xpnn.tensor(v, dtype="float64")), TD.SoftmaxTransform()(torch.tensor(v)),
           "softmax", 1e-12)


KL_PAIRS = [
    ("Poisson", "Poisson", {"rate": [0.5, 3.0]}, {"rate": [1.5, 0.2]}),
    ("Binomial", "Binomial", {"total_count": [10.0, 12.0], "probs": [0.3, 0.6]},
     {"total_count": [10.0, 10.0], "probs": [0.5, 0.2]}),
    ("Geometric", "Geometric", {"probs": [0.3, 0.6]}, {"probs": [0.5, 0.2]}),
    ("Cauchy", "Cauchy", {"loc": [0.0, 1.0], "scale": [1.0, 2.0]},
     {"loc": [0.5, -1.0], "scale": [0.7, 1.1]}),
    ("HalfNormal", "HalfNormal", {"scale": [1.0, 2.0]}, {"scale": [0.7, 1.1]}),
    ("LogNormal", "LogNormal", {"loc": [0.0, 1.0], "scale": [1.0, 2.0]},
     {"loc": [0.5, -1.0], "scale": [0.7, 1.1]}),
    ("Gumbel", "Gumbel", {"loc": [0.0, 1.0], "scale": [1.0, 2.0]},
     {"loc": [0.5, -1.0], "scale": [0.7, 1.1]}),
    ("Pareto", "Pareto", {"scale": [1.0, 2.0], "alpha": [1.5, 3.0]},
     {"scale": [0.5, 2.5], "alpha": [2.0, 1.0]}),
    ("Chi2", "Chi2", {"df": [1.0, 4.0]}, {"df": [3.0, 2.5]}),
    ("Exponential", "Gumbel", {"rate": [1.0, 2.0]}, {"loc": [0.5, -1.0], "scale": [0.7, 1.1]}),
    ("Normal", "Gumbel", {"loc": [0.0, 1.0], "scale": [1.0, 2.0]},
     {"loc": [0.5, -1.0], "scale": [0.7, 1.1]}),
    ("Gumbel", "Normal", {"loc": [0.0, 1.0], "scale": [1.0, 2.0]},
     {"loc": [0.5, -1.0], "scale": [0.7, 1.1]}),
    ("Pareto", "Exponential", {"scale": [1.0, 2.0], "alpha": [1.5, 0.5]}, {"rate": [0.5, 3.0]}),
    ("Bernoulli", "Poisson", {"probs": [0.3, 0.8]}, {"rate": [0.5, 3.0]}),
    ("Poisson", "Binomial", {"rate": [0.5, 3.0]}, {"total_count": [3.0, 4.0],
                                                   "probs": [0.5, 0.2]}),
]


@pytest.mark.parametrize("pair", KL_PAIRS, ids=lambda p: f"{p[0]}-{p[1]}")
def test_kl_divergence_matches_torch(pair, backend):
    cp, cq, pa, qa = pair
    grad = {k: k != "total_count" for k in pa}
    xp_ = {k: xpnn.tensor(v, dtype="float64", requires_grad=grad[k]) for k, v in pa.items()}
    tp_ = {k: torch.tensor(v, dtype=torch.float64, requires_grad=grad[k])
           for k, v in pa.items()}
    p, tp = getattr(D, cp)(**xp_), getattr(TD, cp)(**tp_)
    q = getattr(D, cq)(**{k: xpnn.tensor(v, dtype="float64") for k, v in qa.items()})
    tq = getattr(TD, cq)(**{k: torch.tensor(v, dtype=torch.float64) for k, v in qa.items()})
    kl, tkl = D.kl_divergence(p, q), TD.kl_divergence(tp, tq)
    _close(kl, tkl, f"KL {cp} {cq}", TOL["float64"])
    finite = np.isfinite(tkl.detach().numpy())
    if not finite.any():
        return
    F.where(xpnn.tensor(finite), kl, 0.0).sum().backward()
    torch.where(torch.tensor(finite), tkl, 0.0).sum().backward()
    for k in xp_:
        if grad[k]:
            _close(xp_[k].grad, tp_[k].grad, f"KL d/d{k}", 1e-9)


def test_kl_refusals():
    with pytest.raises(NotImplementedError, match="q.total_count > p.total_count"):
        D.kl_divergence(D.Binomial(3, 0.5), D.Binomial(4, 0.5))
    p = D.TransformedDistribution(D.Normal(0.0, 1.0), D.transforms.ExpTransform())
    q = D.TransformedDistribution(D.Normal(0.0, 1.0), D.transforms.SigmoidTransform())
    with pytest.raises(NotImplementedError, match="different transforms"):
        D.kl_divergence(p, q)


def test_validation_errors(backend):
    """Bad parameters and values outside the support raise ValueError where the values
    live in host memory (on a device the checks would stall it and are skipped); the
    checks torch makes in its constructors raise here too."""
    on_host = xpnn.zeros(1)._be.on_host

    def values_raise(match):
        return pytest.raises(ValueError, match=match) if on_host else contextlib.nullcontext()
    with values_raise("parameter rate.*Poisson"):
        D.Poisson(xpnn.tensor([-1.0]))
    with values_raise("parameter total_count.*Binomial"):
        D.Binomial(xpnn.tensor([2.5]), probs=xpnn.tensor([0.5]))
    with values_raise("parameter probs.*positive"):
        D.Geometric(probs=xpnn.tensor([0.0]))
    with values_raise("parameter scale.*HalfNormal"):
        D.HalfNormal(xpnn.tensor([-1.0]))
    with values_raise("parameter df.*Chi2"):
        D.Chi2(xpnn.tensor([-1.0]))
    with values_raise("parameter alpha.*Pareto"):
        D.Pareto(xpnn.tensor([1.0]), xpnn.tensor([0.0]))
    with values_raise("support"):
        D.Poisson(xpnn.tensor([1.0])).log_prob(xpnn.tensor([1.5]))
    with values_raise("support"):
        D.Pareto(xpnn.tensor([2.0]), xpnn.tensor([1.0])).log_prob(xpnn.tensor([1.0]))
    with values_raise("support"):
        D.HalfNormal(xpnn.tensor([1.0])).log_prob(xpnn.tensor([-1.0]))
    with values_raise("support"):
        D.Multinomial(3, probs=xpnn.tensor([0.5, 0.5])).log_prob(xpnn.tensor([2.0, 2.0]))
    with pytest.raises(ValueError, match="either `probs` or `logits`"):
        D.Binomial(3)
    with pytest.raises(NotImplementedError, match="inhomogeneous total_count"):
        D.Multinomial(xpnn.tensor(3), probs=xpnn.tensor([0.5, 0.5]))
    with pytest.raises(NotImplementedError, match="Inhomogeneous total count"):
        D.Binomial(xpnn.tensor([2.0, 3.0]), probs=xpnn.tensor([0.5, 0.5])).entropy()
    with pytest.raises(ValueError, match="must be a Categorical"):
        D.MixtureSameFamily(D.Normal(0.0, 1.0), D.Normal(xpnn.zeros(2), 1.0))
    with pytest.raises(ValueError, match=r"\(3\) does not equal"):
        D.MixtureSameFamily(D.Categorical(logits=xpnn.zeros(3)), D.Normal(xpnn.zeros(2), 1.0))
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        D.transforms.TanhTransform(cache_size=2)
    D.Poisson(xpnn.tensor([-1.0]), validate_args=False)  # unchecked when asked


def test_binomial_enumerate_support_and_public_names():
    d = D.Binomial(3, probs=xpnn.tensor([0.2, 0.7]))
    td = TD.Binomial(3, probs=torch.tensor([0.2, 0.7]))
    _close(d.enumerate_support(), td.enumerate_support(), "enumerate_support", 0)
    _close(d.enumerate_support(expand=False), td.enumerate_support(expand=False), "", 0)
    for name in ("Poisson", "Binomial", "Geometric", "NegativeBinomial", "Multinomial",
                 "LogNormal", "StudentT", "Cauchy", "HalfNormal", "HalfCauchy", "Gumbel",
                 "Weibull", "Chi2", "Pareto", "TransformedDistribution", "MixtureSameFamily",
                 "RelaxedBernoulli", "RelaxedOneHotCategorical"):
        assert name in D.__all__ and hasattr(TD, name)
    for name in ("ExpTransform", "AffineTransform", "SigmoidTransform", "TanhTransform",
                 "SoftmaxTransform", "ComposeTransform", "PowerTransform", "AbsTransform"):
        assert hasattr(D.transforms, name) and hasattr(TD.transforms, name)
