"""The distribution gaps a sweep against torch 2.13 found: KL pairs between the basic
continuous distributions, Beta's gradients where a concentration is below 1, and
LowRankMultivariateNormal; values, shapes and float64 gradients against torch."""
import numpy as np
import pytest
from conftest import to_np

import xpnn
import xpnn.distributions as D
import xpnn.functional as F

torch = pytest.importorskip("torch")
TD = torch.distributions

EPS64 = float(np.finfo(np.float64).eps)
TOL = 1e4 * EPS64  # float64 values: the same closed forms, summed in other orders
GTOL = 1e-9  # float64 gradients: digamma / trigamma, torch's trigamma is 5e-10 off

# parameters of p with a batch of 3; q's have a batch of (2, 1) or (3,) to test broadcasting
P = {"Normal": {"loc": [0.5, -1.0, 2.0], "scale": [1.5, 0.7, 3.0]},
     "Laplace": {"loc": [0.5, -1.0, 2.0], "scale": [1.5, 0.7, 3.0]},
     "Uniform": {"low": [0.2, 0.0, 1.5], "high": [0.9, 0.5, 4.0]},
     "Exponential": {"rate": [1.5, 0.7, 3.0]},
     "Gamma": {"concentration": [0.5, 2.0, 7.0], "rate": [1.5, 0.7, 3.0]},
     "Beta": {"concentration1": [0.5, 2.0, 7.0], "concentration0": [1.5, 0.7, 3.0]}}
Q = {"Normal": {"loc": [[0.1], [-2.0]], "scale": [[0.8], [2.5]]},
     "Laplace": {"loc": [[0.1], [-2.0]], "scale": [[0.8], [2.5]]},
     "Uniform": {"low": [[-1.0], [0.1]], "high": [[5.0], [1.0]]},
     "Exponential": {"rate": [[0.8], [2.5]]},
     "Gamma": {"concentration": [[0.8], [2.5]], "rate": [[1.2], [0.4]]},
     "Beta": {"concentration1": [[0.8], [2.5]], "concentration0": [[1.2], [0.4]]}}
NEW_PAIRS = [(p, q) for p in P for q in Q
             if (p, q) in {("Beta", "Exponential"), ("Beta", "Gamma"), ("Beta", "Normal"),
                           ("Beta", "Uniform"), ("Exponential", "Uniform"),
                           ("Exponential", "Beta"), ("Exponential", "Gamma"),
                           ("Exponential", "Normal"), ("Gamma", "Uniform"), ("Gamma", "Beta"),
                           ("Gamma", "Exponential"), ("Gamma", "Normal"),
                           ("Laplace", "Uniform"), ("Laplace", "Gamma"),
                           ("Laplace", "Exponential"), ("Laplace", "Beta"),
                           ("Laplace", "Normal"), ("Normal", "Uniform"), ("Normal", "Gamma"),
                           ("Normal", "Exponential"), ("Normal", "Beta"),
                           ("Normal", "Laplace"), ("Uniform", "Beta"),
                           ("Uniform", "Exponential"), ("Uniform", "Gamma"),
                           ("Uniform", "Normal")}]


def _close(x, t, what, tol=TOL):
    t = t.detach().numpy()
    assert tuple(x.shape) == t.shape, f"{what}: shape {tuple(x.shape)} vs {t.shape}"
    assert xpnn.backend.dtype_name(x.dtype) == str(t.dtype), what
    np.testing.assert_allclose(to_np(x), t, rtol=tol, atol=tol, err_msg=what)


def _pair(cls, params, grad=True):
    xs = {k: xpnn.tensor(v, dtype="float64", requires_grad=grad) for k, v in params.items()}
    ts = {k: torch.tensor(v, dtype=torch.float64, requires_grad=grad)
          for k, v in params.items()}
    return getattr(D, cls)(**xs), getattr(TD, cls)(**ts), xs, ts


def test_every_torch_pair_between_xpnn_classes_is_registered():
    ours = {(p.__name__, q.__name__) for p, q in D.kl._KL}
    missing = [(p.__name__, q.__name__) for p, q in TD.kl._KL_REGISTRY
               if hasattr(D, p.__name__) and hasattr(D, q.__name__)
               and (p.__name__, q.__name__) not in ours]
    assert missing == []


@pytest.mark.parametrize("pair", NEW_PAIRS, ids=lambda p: f"{p[0]}-{p[1]}")
def test_kl_pairs_match_torch(pair, backend):
    """KL values (inf where torch's is) with the batches (3,) and (2, 1) broadcast to
    (2, 3), and float64 gradients to p's and q's parameters where torch's KL is finite."""
    cp, cq = pair
    p, tp, pxs, pts = _pair(cp, P[cp])
    q, tq, qxs, qts = _pair(cq, Q[cq])
    kl = D.kl_divergence(p, q)
    try:
        tkl = TD.kl_divergence(tp, tq)
    except IndexError:  # torch's masked assignment of inf does not broadcast: expand first
        tkl = TD.kl_divergence(tp.expand((2, 3)), tq.expand((2, 3)))
    _close(kl, tkl, f"KL {cp} {cq}")
    finite = np.isfinite(tkl.detach().numpy())
    if not finite.any():
        return
    F.where(xpnn.tensor(finite), kl, 0.0).sum().backward()
    torch.where(torch.tensor(finite), tkl, 0.0).sum().backward()
    for name, xs, ts in (("p", pxs, pts), ("q", qxs, qts)):
        for k in xs:
            if ts[k].grad is None:
                continue
            _close(xs[k].grad, ts[k].grad, f"KL {cp} {cq} d/d{name}.{k}", GTOL)


@pytest.mark.parametrize("pair", [("Uniform", "Normal"), ("Exponential", "Gamma"),
                                  ("Normal", "Laplace"), ("Beta", "Normal"),
                                  ("Gamma", "Normal"), ("Uniform", "Gamma")])
def test_kl_float32_stays_float32(pair):
    cp, cq = pair
    p = getattr(D, cp)(**{k: xpnn.tensor(v) for k, v in P[cp].items()})
    q = getattr(D, cq)(**{k: xpnn.tensor(v) for k, v in Q[cq].items()})
    tp = getattr(TD, cp)(**{k: torch.tensor(v) for k, v in P[cp].items()})
    tq = getattr(TD, cq)(**{k: torch.tensor(v) for k, v in Q[cq].items()})
    kl = D.kl_divergence(p, q)
    assert xpnn.backend.dtype_name(kl.dtype) == "float32"
    want = TD.kl_divergence(tp.expand((2, 3)), tq.expand((2, 3))).numpy()
    np.testing.assert_allclose(to_np(kl), want, rtol=1e-5, atol=1e-5)  # ~100 float32 eps


def test_kl_uniform_from_zero_is_finite_and_monte_carlo_agrees():
    """Uniform(0, h) -> Gamma and -> Beta: x log x at 0 is 0 (torch gives NaN there); the
    closed form agrees with a Monte Carlo estimate of E_p[log p - log q]."""
    p = D.Uniform(xpnn.tensor([0.0], dtype="float64"), xpnn.tensor([0.8], dtype="float64"))
    for q in (D.Gamma(xpnn.tensor([2.0], dtype="float64"), xpnn.tensor([1.5], dtype="float64")),
              D.Beta(xpnn.tensor([2.0], dtype="float64"), xpnn.tensor([1.5], dtype="float64"))):
        kl = to_np(D.kl_divergence(p, q))
        xpnn.manual_seed(0)
        x = p.sample((200000,))
        x = F.where(x > 0, x, 1e-12)
        mc = to_np((p.log_prob(x) - q.log_prob(x)).mean(0))
        assert np.isfinite(kl).all()
        np.testing.assert_allclose(kl, mc, atol=0.02)


# -- Beta's gradients where a concentration is below 1 --------------------------------------
def test_beta_gradients_with_a_concentration_below_one(backend):
    """mean, variance, mode, entropy and log_prob at 0, 1/2 and 1 (the support's edges):
    NaN in a gradient only where torch's is NaN, elsewhere torch's value."""
    c1, c0 = [0.5, 1.0, 3.0], [1.5, 0.7, 3.0]
    x1, x0 = (xpnn.tensor(c, dtype="float64", requires_grad=True) for c in (c1, c0))
    t1, t0 = (torch.tensor(c, dtype=torch.float64, requires_grad=True) for c in (c1, c0))
    w = np.array([[0.3, -1.2, 0.7], [1.1, 0.4, -0.5], [0.9, 0.2, -1.3], [-0.6, 1.4, 0.8],
                  [0.25, -0.75, 1.5]])
    value = [0.0, 0.5, 1.0]

    def total(d, v, ws):
        terms = [d.mean, d.variance, d.mode, d.entropy(), d.log_prob(v)]
        return sum(t * wi for t, wi in zip(terms, ws))  # summed by backward(ones): inf - inf
    total(D.Beta(x1, x0), xpnn.tensor(value, dtype="float64"),
          [xpnn.tensor(r, dtype="float64") for r in w]).backward(xpnn.ones(3, dtype="float64"))
    total(TD.Beta(t1, t0), torch.tensor(value, dtype=torch.float64),
          [torch.tensor(r) for r in w]).backward(torch.ones(3, dtype=torch.float64))
    for got, want, name in ((x1.grad, t1.grad, "c1"), (x0.grad, t0.grad, "c0")):
        g, t = to_np(got), want.numpy()
        np.testing.assert_array_equal(np.isnan(g), np.isnan(t), err_msg=name)
        np.testing.assert_allclose(g, t, rtol=GTOL, atol=GTOL, err_msg=name)


@pytest.mark.parametrize("term", ["mode", "log_prob", "entropy", "variance"])
def test_beta_each_term_gradient_matches_torch(term, backend):
    c1, c0 = [0.5, 1.0, 3.0, 0.4], [1.5, 0.7, 3.0, 0.6]
    x1, x0 = (xpnn.tensor(c, dtype="float64", requires_grad=True) for c in (c1, c0))
    t1, t0 = (torch.tensor(c, dtype=torch.float64, requires_grad=True) for c in (c1, c0))
    value = [0.0, 0.5, 1.0, 0.3]

    def term_of(d, v):
        return {"log_prob": lambda: d.log_prob(v), "entropy": d.entropy}.get(
            term, lambda: getattr(d, term))()
    out = term_of(D.Beta(x1, x0), xpnn.tensor(value, dtype="float64"))
    tout = term_of(TD.Beta(t1, t0), torch.tensor(value, dtype=torch.float64))
    _close(out, tout, f"Beta {term}")
    out.backward(xpnn.ones(4, dtype="float64"))  # not sum(): log_prob holds inf and -inf
    tout.backward(torch.ones(4, dtype=torch.float64))
    for got, want, name in ((x1.grad, t1.grad, "c1"), (x0.grad, t0.grad, "c0")):
        g, t = to_np(got), want.numpy()
        np.testing.assert_array_equal(np.isnan(g), np.isnan(t), err_msg=f"{term} {name}")
        np.testing.assert_allclose(g, t, rtol=GTOL, atol=GTOL, err_msg=f"{term} {name}")


# -- LowRankMultivariateNormal --------------------------------------------------------------
RNG = np.random.default_rng(0)
LR = {"loc": RNG.standard_normal((2, 1, 4)).tolist(),  # batch (2, 1) x (3,) -> (2, 3)
      "cov_factor": RNG.standard_normal((3, 4, 2)).tolist(),
      "cov_diag": (0.5 + RNG.random((4,))).tolist()}
LR2 = {"loc": RNG.standard_normal((4,)).tolist(),
       "cov_factor": RNG.standard_normal((4, 3)).tolist(),
       "cov_diag": (0.3 + RNG.random((3, 4))).tolist()}
MVN = {"loc": RNG.standard_normal((3, 4)).tolist(),
       "scale_tril": (np.tril(RNG.standard_normal((4, 4)), -1) * 0.5
                      + np.diag(0.8 + RNG.random(4))).tolist()}


def _grads(xs, ts, what):
    for k in xs:
        if ts[k].grad is not None:
            _close(xs[k].grad, ts[k].grad, f"{what} d/d{k}", GTOL)


def test_lowrank_values_shapes_and_gradients(backend):
    """log_prob (with sample dims), entropy, moments and the three matrices against torch;
    gradients of log_prob + entropy + every matrix to loc, cov_factor and cov_diag."""
    d, td, xs, ts = _pair("LowRankMultivariateNormal", LR)
    assert tuple(d.batch_shape) == tuple(td.batch_shape) == (2, 3)
    assert tuple(d.event_shape) == tuple(td.event_shape) == (4,)
    value = RNG.standard_normal((5, 1, 3, 4))
    lp = d.log_prob(xpnn.tensor(value, dtype="float64"))
    tlp = td.log_prob(torch.tensor(value))
    _close(lp, tlp, "log_prob")
    outs = {"entropy": (d.entropy(), td.entropy())}
    for name in ("mean", "mode", "variance", "stddev", "covariance_matrix",
                 "precision_matrix", "scale_tril"):
        outs[name] = (getattr(d, name), getattr(td, name))
    for name, (x, t) in outs.items():
        _close(x, t, name)
    sum(x.sum() for x, _ in outs.values()).__add__(lp.sum()).backward()
    sum(t.sum() for _, t in outs.values()).__add__(tlp.sum()).backward()
    _grads(xs, ts, "LowRankMVN")


def test_lowrank_equals_multivariate_normal_of_its_covariance(backend):
    d, _, _, _ = _pair("LowRankMultivariateNormal", LR2, grad=False)
    m = D.MultivariateNormal(d.loc, covariance_matrix=d.covariance_matrix)
    v = xpnn.tensor(RNG.standard_normal((2, 3, 4)), dtype="float64")
    np.testing.assert_allclose(to_np(d.log_prob(v)), to_np(m.log_prob(v)), rtol=1e-10)
    np.testing.assert_allclose(to_np(d.entropy()), to_np(m.entropy()), rtol=1e-10)


def test_lowrank_samples(backend):
    """sample/rsample shapes and dtypes (float32 stays float32), expand, and the sample
    covariance of 20,000 float64 draws within 5 standard errors of W W^T + D."""
    d32 = D.LowRankMultivariateNormal(*(xpnn.tensor(LR[k]) for k in LR))
    s = d32.sample((6,))
    assert tuple(s.shape) == (6, 2, 3, 4)
    assert xpnn.backend.dtype_name(s.dtype) == "float32"
    assert xpnn.backend.dtype_name(d32.log_prob(s).dtype) == "float32"
    e = d32.expand((5, 2, 3))
    assert tuple(e.sample().shape) == (5, 2, 3, 4) and tuple(e.entropy().shape) == (5, 2, 3)
    d = D.LowRankMultivariateNormal(*(xpnn.tensor(LR2[k], dtype="float64") for k in LR2))
    n = 20000
    xpnn.manual_seed(1)
    x = to_np(d.sample((n,)))
    cov = to_np(d.covariance_matrix)
    c = x - to_np(d.mean)
    emp = np.einsum("sbi,sbj->bij", c, c) / n
    var = to_np(d.variance)
    se = np.sqrt((cov ** 2 + np.einsum("bi,bj->bij", var, var)) / n)  # Gaussian: Var(x_i x_j)
    np.testing.assert_array_less(np.abs(emp - cov), 5 * se)
    np.testing.assert_array_less(np.abs(x.mean(0) - to_np(d.mean)), 5 * np.sqrt(var / n))


def test_lowrank_rsample_is_reparameterized(host_backend):
    xs = [xpnn.tensor(LR2[k], dtype="float64", requires_grad=True) for k in LR2]

    def draw(loc, w, diag):
        xpnn.manual_seed(7)
        return D.LowRankMultivariateNormal(loc, w, diag, validate_args=False).rsample((2,))
    assert xpnn.gradcheck(draw, *xs)


@pytest.mark.parametrize("pair", [("LowRankMultivariateNormal", "LowRankMultivariateNormal"),
                                  ("MultivariateNormal", "LowRankMultivariateNormal"),
                                  ("LowRankMultivariateNormal", "MultivariateNormal")],
                         ids=["lowrank-lowrank", "mvn-lowrank", "lowrank-mvn"])
def test_lowrank_kl_matches_torch(pair, backend):
    params = {"LowRankMultivariateNormal": [LR, LR2], "MultivariateNormal": [MVN, MVN]}
    p, tp, pxs, pts = _pair(pair[0], params[pair[0]][0])
    q, tq, qxs, qts = _pair(pair[1], params[pair[1]][1])
    kl, tkl = D.kl_divergence(p, q), TD.kl_divergence(tp, tq)
    _close(kl, tkl, f"KL {pair}")
    kl.sum().backward()
    tkl.sum().backward()
    _grads(pxs, pts, "KL p")
    _grads(qxs, qts, "KL q")


def test_lowrank_errors():
    z = xpnn.zeros(3)
    with pytest.raises(ValueError, match="at least one-dimensional"):
        D.LowRankMultivariateNormal(xpnn.tensor(0.0), xpnn.zeros(1, 1), xpnn.ones(1))
    with pytest.raises(ValueError, match="at least two-dimensional"):
        D.LowRankMultivariateNormal(z, xpnn.zeros(3), xpnn.ones(3))
    with pytest.raises(ValueError, match="shape 3 x m"):
        D.LowRankMultivariateNormal(z, xpnn.zeros(2, 1), xpnn.ones(3))
    with pytest.raises(ValueError, match="cov_diag"):
        D.LowRankMultivariateNormal(z, xpnn.zeros(3, 1), xpnn.ones(2))
    with pytest.raises(ValueError, match="cov_diag"):
        D.LowRankMultivariateNormal(z, xpnn.zeros(3, 1), -xpnn.ones(3))
    with pytest.raises(ValueError, match="different event shapes"):
        D.kl_divergence(D.LowRankMultivariateNormal(z, xpnn.zeros(3, 1), xpnn.ones(3)),
                        D.LowRankMultivariateNormal(xpnn.zeros(2), xpnn.zeros(2, 1),
                                                    xpnn.ones(2)))
