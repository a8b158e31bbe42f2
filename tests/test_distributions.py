"""xpnn.distributions against torch.distributions (values, gradients, KL, validation,
sample moments) on every backend, the gamma-family special functions against torch, and a
REINFORCE step written for PyTorch run under ``import xpnn as torch``."""
import contextlib

import numpy as np
import pytest
from conftest import needs_torch, to_np

import xpnn
import xpnn.distributions as D
import xpnn.functional as F

torch = pytest.importorskip("torch")
TD = torch.distributions

EPS64 = float(np.finfo(np.float64).eps)
TOL = 1e4 * EPS64  # float64, the same formulas summed in other orders

A3 = [0.5, 2.0, 7.0]
B3 = [1.5, 0.7, 3.0]
L33 = [[1.0, 0.0, 0.0], [0.5, 2.0, 0.0], [-0.3, 0.2, 0.7]]
COV = (np.array(L33) @ np.array(L33).T).tolist()

# name -> (class name, parameters (lists, float64, requiring grad), a value in the support)
CASES = {
    "Normal": ("Normal", {"loc": [0.5, -1.0, 2.0], "scale": B3}, [0.1, 0.2, -3.0]),
    "Uniform": ("Uniform", {"low": [-1.0, 0.0, 2.0], "high": [1.0, 0.5, 5.0]},
                [0.1, 0.2, 4.9]),
    "Laplace": ("Laplace", {"loc": [0.5, -1.0, 2.0], "scale": B3}, [0.1, 0.2, -3.0]),
    "Exponential": ("Exponential", {"rate": B3}, [0.1, 2.0, 0.0]),
    "Bernoulli:probs": ("Bernoulli", {"probs": [0.2, 0.5, 0.9]}, [1.0, 0.0, 1.0]),
    "Bernoulli:logits": ("Bernoulli", {"logits": [0.3, -2.0, 4.0]}, [1.0, 0.0, 0.0]),
    "Categorical:probs": ("Categorical", {"probs": [[0.2, 0.3, 0.5], [1.0, 2.0, 1.0]]},
                          [2, 0]),
    "Categorical:logits": ("Categorical", {"logits": [[1.0, 2.0, 3.0], [0.0, 0.0, -1.0]]},
                           [1, 2]),
    "OneHotCategorical": ("OneHotCategorical", {"logits": [[1.0, 2.0, 3.0],
                                                           [0.0, 0.0, -1.0]]},
                          [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),
    "Gamma": ("Gamma", {"concentration": A3, "rate": B3}, [0.3, 1.2, 4.0]),
    "Beta": ("Beta", {"concentration1": A3, "concentration0": B3}, [0.3, 0.6, 0.9]),
    "Dirichlet": ("Dirichlet", {"concentration": [A3, B3]}, [0.2, 0.3, 0.5]),
    "MultivariateNormal:cov": ("MultivariateNormal", {"loc": A3, "covariance_matrix": COV},
                               [[0.1, 0.2, 0.3], [1.0, 2.0, 3.0]]),
    "MultivariateNormal:tril": ("MultivariateNormal", {"loc": [A3, B3], "scale_tril": L33},
                                [0.1, 0.2, 0.3]),
    "MultivariateNormal:prec": ("MultivariateNormal", {"loc": B3, "precision_matrix": COV},
                                [0.1, 0.2, 0.3]),
}
# the class's properties and methods torch has, compared where both have them
PROPS = ("mean", "mode", "variance", "stddev")
DISCRETE = ("Categorical", "Bernoulli", "OneHotCategorical")


def _make(case, backend):
    cls, params, value = CASES[case]
    xs = {k: xpnn.tensor(v, backend=backend, dtype="float64", requires_grad=True)
          for k, v in params.items()}
    ts = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
          for k, v in params.items()}
    vdt = "int64" if cls == "Categorical" else "float64"
    xv = xpnn.tensor(value, backend=backend, dtype=vdt)
    tv = torch.tensor(value, dtype=getattr(torch, vdt))
    return getattr(D, cls)(**xs), getattr(TD, cls)(**ts), xs, ts, xv, tv


def _close(x, t, what, tol=TOL):
    t = t.detach().numpy()
    assert tuple(x.shape) == t.shape, f"{what}: shape {tuple(x.shape)} vs {t.shape}"
    np.testing.assert_allclose(to_np(x), t, rtol=tol, atol=tol, err_msg=what)


@pytest.mark.parametrize("case", list(CASES))
def test_values_and_gradients_match_torch(case, backend):
    """log_prob, entropy, cdf and the moments equal torch's, and so do the gradients of
    log_prob + entropy with respect to every parameter; shapes too."""
    d, td, xs, ts, xv, tv = _make(case, backend)
    assert tuple(d.batch_shape) == tuple(td.batch_shape)
    assert tuple(d.event_shape) == tuple(td.event_shape)
    lp, tlp = d.log_prob(xv), td.log_prob(tv)
    _close(lp, tlp, f"{case}: log_prob")
    ent, tent = d.entropy(), td.entropy()
    _close(ent, tent, f"{case}: entropy")
    for name in PROPS:
        try:
            ref = getattr(td, name)
        except NotImplementedError:
            continue
        _close(getattr(d, name), ref, f"{case}: {name}")
    if case in ("Normal", "Uniform", "Laplace", "Exponential"):
        _close(d.cdf(xv), td.cdf(tv), f"{case}: cdf")
        if case != "Normal":  # Normal.icdf needs erfinv, which xpnn lacks
            p = [0.1, 0.5, 0.8]
            _close(d.icdf(xpnn.tensor(p, dtype="float64")),
                   td.icdf(torch.tensor(p, dtype=torch.float64)), f"{case}: icdf")
    (lp.sum() + ent.sum()).backward()
    (tlp.sum() + tent.sum()).backward()
    for k in xs:
        assert xs[k].grad is not None, f"{case}: no gradient for {k}"
        _close(xs[k].grad, ts[k].grad, f"{case}: d/d{k}", tol=1e-9)  # trigamma: see below


@pytest.mark.parametrize("case", list(CASES))
def test_sample_shapes_dtypes_and_float32(case, backend):
    """sample(shape) has shape sample_shape + batch_shape + event_shape and torch's dtype;
    float32 parameters give float32 log_prob and samples."""
    cls, params, value = CASES[case]
    d = getattr(D, cls)(**{k: xpnn.tensor(v, dtype="float32") for k, v in params.items()})
    td = getattr(TD, cls)(**{k: torch.tensor(v) for k, v in params.items()})
    s, ts = d.sample((4, 2)), td.sample((4, 2))
    assert tuple(s.shape) == tuple(ts.shape)
    assert xpnn.backend.dtype_name(s.dtype) == str(ts.dtype).removeprefix("torch.")
    lp = d.log_prob(s)
    assert tuple(lp.shape) == tuple(td.log_prob(ts).shape)
    assert xpnn.backend.dtype_name(lp.dtype) == "float32"
    assert np.isfinite(to_np(lp)).all()
    e = d.expand((5,) + tuple(d.batch_shape))
    assert tuple(e.sample().shape) == (5,) + tuple(d.batch_shape) + tuple(d.event_shape)


MOMENTS = ["Normal", "Uniform", "Laplace", "Exponential", "Bernoulli:probs", "Gamma", "Beta",
           "Dirichlet", "MultivariateNormal:tril", "OneHotCategorical"]


@pytest.mark.parametrize("case", MOMENTS)
def test_sample_moments(case, backend):
    """The mean and variance of 20,000 seeded draws are within 5 standard errors."""
    cls, params, _ = CASES[case]
    d = getattr(D, cls)(**{k: xpnn.tensor(v, dtype="float64") for k, v in params.items()})
    n = 20000
    xpnn.manual_seed(3)
    s = to_np(d.sample((n,)))
    mean, var = to_np(d.mean), to_np(d.variance)
    np.testing.assert_array_less(np.abs(s.mean(0) - mean), 5 * np.sqrt(var / n) + 1e-12)
    fourth = np.mean((s - mean) ** 4, 0)  # the variance estimate's own spread
    np.testing.assert_array_less(np.abs(s.var(0) - var), 5 * np.sqrt(fourth / n) + 1e-12)


def test_categorical_sample_frequencies_and_log_prob_of_ints(backend):
    probs = [[0.1, 0.6, 0.3], [0.5, 0.0, 0.5]]
    d = D.Categorical(probs=xpnn.tensor(probs))
    xpnn.manual_seed(1)
    s = to_np(d.sample((20000,)))
    assert s.dtype == np.int64 and s.shape == (20000, 2)
    for row in range(2):
        freq = np.bincount(s[:, row], minlength=3) / len(s)
        np.testing.assert_allclose(freq, probs[row], atol=0.015)
    assert (s[:, 1] != 1).all()  # a class of probability 0 is never drawn
    lp = d.log_prob(xpnn.tensor([1, 1]))  # probability 0: log of the clamped eps, as torch
    want = TD.Categorical(probs=torch.tensor(probs)).log_prob(torch.tensor([1, 1]))
    np.testing.assert_allclose(to_np(lp), want.numpy(), rtol=1e-6)


@pytest.mark.parametrize("case", ["Normal", "Uniform", "Laplace", "Exponential",
                                  "MultivariateNormal:cov", "MultivariateNormal:tril"])
def test_rsample_is_reparameterized(case, host_backend):
    """rsample with the generator reseeded before each call is a deterministic function of
    the parameters: its float64 finite-difference gradient check passes."""
    cls, params, _ = CASES[case]
    names = list(params)
    xs = [xpnn.tensor(params[k], dtype="float64", requires_grad=True) for k in names]

    def draw(*ts):
        kw = dict(zip(names, ts))
        if "covariance_matrix" in kw:  # a symmetric input: Cholesky reads one triangle
            kw["covariance_matrix"] = (kw["covariance_matrix"] + kw["covariance_matrix"].T) / 2
        xpnn.manual_seed(7)
        return getattr(D, cls)(**kw, validate_args=False).rsample((3,))
    assert D.Normal.has_rsample and getattr(D, cls).has_rsample
    assert xpnn.gradcheck(draw, *xs)


def test_rsample_gradient_matches_torch_on_the_same_noise():
    """Normal.rsample is loc + eps * scale: with torch's eps the gradient is torch's."""
    loc = xpnn.tensor([0.5, -1.0], dtype="float64", requires_grad=True)
    scale = xpnn.tensor([1.5, 0.3], dtype="float64", requires_grad=True)
    xpnn.manual_seed(0)
    s = D.Normal(loc, scale).rsample((4,))
    eps = (to_np(s) - [0.5, -1.0]) / [1.5, 0.3]
    (s ** 2).sum().backward()
    tl = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    tsc = torch.tensor([1.5, 0.3], dtype=torch.float64, requires_grad=True)
    ((tl + torch.tensor(eps) * tsc) ** 2).sum().backward()
    np.testing.assert_allclose(to_np(loc.grad), tl.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(to_np(scale.grad), tsc.grad.numpy(), rtol=1e-12)


KL_PAIRS = [("Normal", {"loc": [0.0, 1.0], "scale": [1.0, 2.0]},
             {"loc": [0.5, -1.0], "scale": [0.7, 1.1]}),
            ("Categorical", {"probs": [[0.2, 0.8, 0.0], [0.3, 0.3, 0.4]]},
             {"logits": [[1.0, 0.0, 2.0], [0.5, 0.5, 0.5]]}),
            ("Bernoulli", {"probs": [0.3, 0.0, 1.0]}, {"logits": [0.2, -1.0, 3.0]}),
            ("Uniform", {"low": [0.0, 0.0], "high": [1.0, 2.0]},
             {"low": [-1.0, 0.5], "high": [2.0, 3.0]}),
            ("Laplace", {"loc": [0.0, 1.0], "scale": [1.0, 2.0]},
             {"loc": [0.5, -1.0], "scale": [0.7, 1.1]}),
            ("Exponential", {"rate": [1.0, 2.0]}, {"rate": [0.5, 3.0]}),
            ("Gamma", {"concentration": A3, "rate": B3}, {"concentration": B3, "rate": A3}),
            ("Beta", {"concentration1": A3, "concentration0": B3},
             {"concentration1": B3, "concentration0": A3}),
            ("Dirichlet", {"concentration": [A3, B3]}, {"concentration": B3}),
            ("OneHotCategorical", {"probs": [0.2, 0.3, 0.5]}, {"probs": [0.6, 0.3, 0.1]}),
            ("MultivariateNormal", {"loc": A3, "scale_tril": L33},
             {"loc": B3, "covariance_matrix": COV})]


@pytest.mark.parametrize("pair", KL_PAIRS, ids=lambda p: p[0])
def test_kl_divergence_matches_torch(pair, backend):
    cls, pa, qa = pair
    xp_ = {k: xpnn.tensor(v, dtype="float64", requires_grad=True) for k, v in pa.items()}
    tp_ = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in pa.items()}
    p, tp = getattr(D, cls)(**xp_), getattr(TD, cls)(**tp_)
    q = getattr(D, cls)(**{k: xpnn.tensor(v, dtype="float64") for k, v in qa.items()})
    tq = getattr(TD, cls)(**{k: torch.tensor(v, dtype=torch.float64) for k, v in qa.items()})
    kl, tkl = D.kl_divergence(p, q), TD.kl_divergence(tp, tq)
    _close(kl, tkl, f"KL {cls}")
    finite = np.isfinite(tkl.detach().numpy())
    F.where(xpnn.tensor(finite), kl, 0.0).sum().backward()
    torch.where(torch.tensor(finite), tkl, 0.0).sum().backward()
    for k in xp_:
        got, want = to_np(xp_[k].grad), tp_[k].grad.numpy()
        ok = np.isfinite(want)
        np.testing.assert_allclose(got[ok], want[ok], rtol=1e-9, atol=1e-9, err_msg=k)


def test_kl_independent_registry_and_missing_pair():
    p = D.Independent(D.Normal(xpnn.zeros(3, 2), xpnn.ones(3, 2)), 1)
    q = D.Independent(D.Normal(xpnn.ones(3, 2), xpnn.ones(3, 2) * 2), 1)
    tp = TD.Independent(TD.Normal(torch.zeros(3, 2), torch.ones(3, 2)), 1)
    tq = TD.Independent(TD.Normal(torch.ones(3, 2), torch.ones(3, 2) * 2), 1)
    _close(D.kl_divergence(p, q), TD.kl_divergence(tp, tq), "Independent", tol=1e-6)
    with pytest.raises(NotImplementedError, match="Gamma.*Laplace"):  # torch lacks it too
        D.kl_divergence(D.Gamma(1.0, 1.0), D.Laplace(0.0, 1.0))

    class MyNormal(D.Normal):
        pass

    @D.register_kl(MyNormal, MyNormal)
    def _kl(p, q):
        return p.loc * 0 + 42.0
    assert to_np(D.kl_divergence(MyNormal(0.0, 1.0), MyNormal(1.0, 1.0))) == 42.0
    assert to_np(D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(0.0, 1.0))) == 0.0


def test_validation_errors(backend):
    """Bad parameters and values outside the support raise ValueError, as in torch, where
    the values live in host memory (on a device the value checks would stall it: skipped);
    with validation off they pass."""
    on_host = xpnn.zeros(1)._be.on_host

    def values_raise(match):
        return pytest.raises(ValueError, match=match) if on_host else contextlib.nullcontext()
    with values_raise("parameter scale.*Normal.*GreaterThan"):
        D.Normal(xpnn.tensor([0.0]), xpnn.tensor([-1.0]))
    with values_raise("parameter probs"):
        D.Bernoulli(probs=xpnn.tensor([1.5]))
    with pytest.raises(ValueError, match="either `probs` or `logits`"):
        D.Categorical(probs=xpnn.tensor([0.5, 0.5]), logits=xpnn.tensor([0.0, 0.0]))
    with values_raise("low"):
        D.Uniform(xpnn.tensor([1.0]), xpnn.tensor([0.0]))
    with values_raise("support"):
        D.Exponential(xpnn.tensor([1.0])).log_prob(xpnn.tensor([-1.0]))
    if on_host:  # on a device the gather itself meets the bad index
        with values_raise("support"):
            D.Categorical(logits=xpnn.zeros(3)).log_prob(xpnn.tensor([3]))
    with pytest.raises(ValueError, match="broadcastable"):
        D.Normal(xpnn.zeros(3), xpnn.ones(3)).log_prob(xpnn.zeros(2))
    with pytest.raises(ValueError, match="Exactly one"):
        D.MultivariateNormal(xpnn.zeros(2))
    with values_raise("covariance_matrix") if on_host else pytest.raises(Exception):
        D.MultivariateNormal(xpnn.zeros(2), covariance_matrix=xpnn.tensor([[1.0, 2.0],
                                                                           [2.0, 1.0]]))
    d = D.Normal(xpnn.tensor([0.0]), xpnn.tensor([-1.0]), validate_args=False)
    assert d.scale.shape == (1,)
    D.Distribution.set_default_validate_args(False)
    try:
        D.Exponential(xpnn.tensor([-1.0])).log_prob(xpnn.tensor([-1.0]))
    finally:
        D.Distribution.set_default_validate_args(True)


def test_numbers_as_parameters_and_repr():
    d = D.Normal(0.0, 1.0)
    assert d.batch_shape == () and xpnn.backend.dtype_name(d.loc.dtype) == "float32"
    assert repr(D.Normal(xpnn.zeros(2), 1.0)) == "Normal(loc: xpnn.Size([2]), scale: " \
        "xpnn.Size([2]))"  # as torch, whose reads "torch.Size([2])"
    lp = D.Normal(xpnn.zeros(2), 1.0).log_prob(xpnn.zeros(2))
    np.testing.assert_allclose(to_np(lp), -0.5 * np.log(2 * np.pi), rtol=1e-6)


# -- the special functions ------------------------------------------------------------------
def _grid():
    x = np.concatenate([np.linspace(-30, 30, 12001), [1e-300, 1e-8, 1e5, 3e5 + 0.5]])
    return x[~((x <= 0) & (np.abs(x - np.round(x)) < 1e-3))]  # near a pole both blow up


@pytest.mark.parametrize("name", ["lgamma", "digamma", "polygamma1", "polygamma2"])
def test_special_functions_match_torch_over_a_wide_range(name, host_backend):
    """float64 over [-30, 30] (poles excluded), tiny and large x: within 5e-14 relative
    (or absolute below 1) of torch, except trigamma, where torch itself is 5e-10 off
    (against SciPy's and mpmath's values) and xpnn 1e-15."""
    x = _grid()
    t = torch.tensor(x)
    fn = {"lgamma": (F.lgamma, torch.lgamma), "digamma": (F.digamma, torch.digamma),
          "polygamma1": (lambda a: F.polygamma(1, a), lambda a: torch.polygamma(1, a)),
          "polygamma2": (lambda a: F.polygamma(2, a), lambda a: torch.polygamma(2, a))}[name]
    got = to_np(fn[0](xpnn.tensor(x, dtype="float64")))
    want = fn[1](t).numpy()
    finite = np.isfinite(want)
    np.testing.assert_array_equal(got[~finite], want[~finite])  # overflow: the same inf
    got, want = got[finite], want[finite]
    err = np.abs(got - want) / np.maximum(1, np.abs(want))
    assert err.max() < (1e-9 if name == "polygamma1" else 5e-14)


def test_special_functions_at_poles_infinities_and_in_float32(backend):
    x = [0.0, -0.0, -1.0, -2.0, float("inf"), float("-inf"), float("nan"), -2.5, 1e-30]
    for f, g in [(F.lgamma, torch.lgamma), (F.digamma, torch.digamma)]:
        got = to_np(f(xpnn.tensor(x, dtype="float64")))
        np.testing.assert_array_equal(np.isnan(got), np.isnan(g(torch.tensor(x,
                                      dtype=torch.float64)).numpy()))
        np.testing.assert_allclose(got, g(torch.tensor(x, dtype=torch.float64)).numpy(),
                                   rtol=5e-14)
    x32 = np.linspace(-9.99, 20, 3001).astype(np.float32)
    for f, g in [(F.lgamma, torch.lgamma), (F.digamma, torch.digamma)]:
        out = f(xpnn.tensor(x32))
        assert xpnn.backend.dtype_name(out.dtype) == "float32"
        want = g(torch.tensor(x32, dtype=torch.float64)).numpy()
        err = np.abs(to_np(out) - want) / np.maximum(1, np.abs(want))
        assert err.max() < 1e-5  # ~100 float32 eps
    assert xpnn.backend.dtype_name(xpnn.lgamma(xpnn.tensor([1, 2])).dtype) == "float32"
    assert xpnn.special.gammaln is F.lgamma and xpnn.special.psi is F.digamma
    np.testing.assert_allclose(to_np(xpnn.tensor([4.0]).lgamma()), [np.log(6)], rtol=1e-6)


@pytest.mark.parametrize("op", ["digamma", "polygamma1"])
def test_trigamma_gradients_match_torch(op, backend):
    """digamma's and trigamma's gradients (trigamma, tetragamma) agree with torch at its
    accuracy (torch's trigamma is 5e-10 off)."""
    host = np.array([[0.3, 1.7, 4.2], [-0.6, -2.4, 11.0]])
    x = xpnn.tensor(host, dtype="float64", requires_grad=True)
    t = torch.tensor(host, requires_grad=True)
    if op == "digamma":
        F.digamma(x).sum().backward(), torch.digamma(t).sum().backward()
    else:
        F.polygamma(1, x).sum().backward(), torch.polygamma(1, t).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), t.grad.numpy(), rtol=1e-9)


def test_polygamma_rejects_bad_n():
    with pytest.raises(RuntimeError, match="polygamma: n must be >= 0"):
        F.polygamma(-1, xpnn.tensor([1.0]))
    with pytest.raises(TypeError, match="polygamma: n must be an int"):
        F.polygamma(1.0, xpnn.tensor([1.0]))


# -- end to end -----------------------------------------------------------------------------
REINFORCE = '''
Categorical = torch.distributions.Categorical
torch.manual_seed(0)
policy = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
def step(policy, states, actions, rewards):
    dist = Categorical(logits=policy(states))
    loss = (-dist.log_prob(actions) * rewards).mean() - 0.01 * dist.entropy().mean()
    loss.backward()
    return loss
'''


@needs_torch
def test_reinforce_step_runs_under_import_xpnn_as_torch(backend):
    """A policy-gradient step written for PyTorch runs with ``torch`` bound to xpnn, and with
    the same weights and sampled actions gives PyTorch's loss and gradients."""
    ours, theirs = {"torch": xpnn}, {"torch": torch}
    exec(REINFORCE, ours)
    exec(REINFORCE, theirs)
    policy, ref = ours["policy"], theirs["policy"]
    with torch.no_grad():
        for p, r in zip(policy.parameters(), ref.parameters()):
            r.copy_(torch.tensor(to_np(p)))
    rng = np.random.default_rng(0)
    states = rng.standard_normal((8, 4)).astype(np.float32)
    xs = xpnn.tensor(states)
    with xpnn.no_grad():
        actions = ours["Categorical"](logits=policy(xs)).sample()
    assert tuple(actions.shape) == (8,)
    rewards = rng.standard_normal(8).astype(np.float32)
    loss = ours["step"](policy, xs, actions, xpnn.tensor(rewards))
    tloss = theirs["step"](ref, torch.tensor(states), torch.tensor(to_np(actions)),
                           torch.tensor(rewards))
    np.testing.assert_allclose(to_np(loss), tloss.item(), rtol=1e-5, atol=1e-6)
    for (name, p), r in zip(policy.named_parameters(), ref.parameters()):
        np.testing.assert_allclose(to_np(p.grad), r.grad.numpy(), rtol=1e-4, atol=1e-6,
                                   err_msg=name)


@pytest.mark.parametrize("cls", ["Beta", "Dirichlet", "Gamma"])
def test_log_prob_gradient_at_concentration_one(cls, backend):
    """At a concentration of 1 the (c - 1) log(x) term is 0 but its derivative log(x) is
    not: torch.xlogy's gradient, which a where() around x log(y) would drop."""
    params = {"Beta": {"concentration1": [1.0, 2.0], "concentration0": [1.0, 0.5]},
              "Dirichlet": {"concentration": [1.0, 2.0, 1.0]},
              "Gamma": {"concentration": [1.0, 2.0], "rate": [1.5, 1.0]}}[cls]
    value = [0.2, 0.3, 0.5] if cls == "Dirichlet" else [0.3, 0.6]
    xs = {k: xpnn.tensor(v, backend=backend, dtype="float64", requires_grad=True)
          for k, v in params.items()}
    ts = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
          for k, v in params.items()}
    getattr(D, cls)(**xs).log_prob(xpnn.tensor(value, backend=backend, dtype="float64")) \
        .sum().backward()
    getattr(TD, cls)(**ts).log_prob(torch.tensor(value, dtype=torch.float64)).sum().backward()
    for k in params:
        _close(xs[k].grad, ts[k].grad, f"{cls} d{k}")
